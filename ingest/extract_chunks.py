"""Recover article bodies that the CMS split into several sibling containers (ads between them)."""

from __future__ import annotations

from lxml.html import HtmlElement

# A recovered chunk must read like article prose: enough text, long paragraphs, few links.
MIN_CHUNK_CHARS = 200
MIN_MEAN_PARAGRAPH_CHARS = 80
MAX_LINK_SHARE = 0.2
# How far up from the body container the split chunks may share a parent (grid wrappers add levels).
MAX_SHARED_ANCESTOR_LEVELS = 3
_PREFIX_CHARS = 60


def _squash(text: str) -> str:
    return " ".join(text.split())


def _container_of(paragraph: HtmlElement) -> HtmlElement | None:
    for ancestor in paragraph.iterancestors():
        if ancestor.tag in {"div", "section"} and ancestor.get("class"):
            return ancestor
        if ancestor.tag in {"article", "main", "body"}:
            return None
    return None


def _paragraph_texts(container: HtmlElement) -> list[str]:
    return [t for t in (_squash(p.text_content()) for p in container.iter("p")) if t]


def _reads_like_prose(container: HtmlElement, texts: list[str]) -> bool:
    total = sum(len(t) for t in texts)
    if total < MIN_CHUNK_CHARS or total / len(texts) < MIN_MEAN_PARAGRAPH_CHARS:
        return False
    linked = sum(len(_squash(a.text_content())) for a in container.iter("a"))
    return linked <= MAX_LINK_SHARE * total


def _ancestors(node: HtmlElement, levels: int) -> list[HtmlElement]:
    out = []
    for ancestor in node.iterancestors():
        out.append(ancestor)
        if len(out) >= levels:
            break
    return out


def recover_split_body(tree: HtmlElement, text: str) -> str:
    """Append paragraphs from later sibling chunks of the container the extracted text came from.

    Only chunks with the same tag and class as the body container, under a common ancestor close by,
    that read like prose and come after it in the document, are added; anything else leaves `text` as is.
    """
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return text
    first = _squash(lines[0])[:_PREFIX_CHARS]
    container = None
    for paragraph in tree.iter("p"):
        if _squash(paragraph.text_content()).startswith(first):
            container = _container_of(paragraph)
            break
    if container is None:
        return text
    cls = container.get("class", "")
    near = set(_ancestors(container, MAX_SHARED_ANCESTOR_LEVELS))
    siblings = [
        node
        for node in tree.iter(container.tag)
        if node is not container and node.get("class", "") == cls and near & set(_ancestors(node, MAX_SHARED_ANCESTOR_LEVELS))
    ]
    if not siblings:
        return text
    order = {node: index for index, node in enumerate(tree.iter())}
    have = _squash(text)
    added: list[str] = []
    for node in sorted(siblings, key=order.__getitem__):
        if order[node] < order[container]:
            continue  # earlier chunks would need reordering; trafilatura started where the story starts
        texts = _paragraph_texts(node)
        if not texts or not _reads_like_prose(node, texts):
            continue
        added.extend(t for t in texts if t[:_PREFIX_CHARS] not in have)
    if not added or sum(len(t) for t in added) > 3 * len(text):
        return text
    return text.rstrip() + "\n" + "\n".join(added)
