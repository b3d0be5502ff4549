"""Article extraction: trafilatura for the text, publisher metadata and the feed entry for title/authors/dates."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import urljoin, urlsplit

import trafilatura
from lxml.etree import ParserError, XPath
from lxml.html import HtmlElement
from trafilatura.utils import load_html

from ingest.extract_input import InputRejected, html_text_from_input
from ingest.extract_meta import normalise_language, parse_datetime, read_page_meta
from newsmon.records import Extracted, FeedEntry

# trafilatura logs every discarded page at WARNING; our skips are counted and reported instead.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)

# Below this many characters the "article" is a teaser, a paywall stub or an error page.
MIN_TEXT_CHARS = 120
# lxml trees deeper than this come from broken or hostile markup; trafilatura's recursion would not cope.
MAX_TREE_DEPTH = 400

# Reader-comment widgets of the commenting systems common on Lithuanian, Russian-language and
# international portals (own markup, Disqus, Facebook, VK, Cackle, HyperComments, Tolstoy, Coral,
# Commento, Remark42, Livefyre, Viafoura, OpenWeb/Spot.IM, WordPress), plus "komentarai"/"комментарии".
_COMMENT_MARKERS = (
    "comment",
    "komentar",
    "коммент",
    "disqus",
    "fb-comments",
    "vk_comments",
    "mc-container",
    "cackle",
    "hypercomments",
    "hc_",
    "tolstoycomments",
    "tolstoy-comments",
    "coral",
    "commento",
    "remark42",
    "livefyre",
    "viafoura",
    "spot-im",
    "spotim",
    "openweb",
    "respond",
    "reply",
    "discussion",
    "forum-posts",
)
_COMMENTS_PRUNE = XPath(
    ".//*[(self::div or self::section or self::aside or self::ol or self::ul or self::form or self::iframe"
    " or self::footer or self::article or self::li)"
    " and ("
    + " or ".join(
        f"contains(translate(@id, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '{m}')"
        f" or contains(translate(@class, 'ABCDEFGHIJKLMNOPQRSTUVWXYZ', 'abcdefghijklmnopqrstuvwxyz'), '{m}')"
        for m in _COMMENT_MARKERS
    )
    + " or @data-spotim-module or @data-coral or @data-hypercomments or @itemprop='comment'"
    " or contains(@itemtype, 'schema.org/Comment') or contains(@src, 'disqus.com')"
    ")]"
)
# Containers whose id/class mentions comments but which hold the article on some CMSs
# ("comment" columns of opinion sections, "commentary").
_COMMENT_FALSE_POSITIVES = ("commentary", "commentaire", "komentaras-autor", "no-comments", "comment-count", "comments-count")


class ExtractionSkip(Exception):
    """A page with no extractable article: counted by the pipeline as a skip with this reason."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"no article extracted from {url}: {reason}")
        self.url = url
        self.reason = reason


def _tree_depth_exceeds(tree: HtmlElement, limit: int) -> bool:
    # Iterative walk: a recursive one would itself blow the stack on the markup we are guarding against.
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in node)
    return False


def _is_comment_block(node: HtmlElement) -> bool:
    marker = f"{node.get('id', '')} {node.get('class', '')}".lower()
    if any(fp in marker for fp in _COMMENT_FALSE_POSITIVES) and "comments" not in marker.replace("no-comments", ""):
        return False
    # Never drop the element that wraps the whole article body.
    return node.tag not in {"body", "html", "main"}


def prune_comment_sections(tree: HtmlElement) -> int:
    """Remove reader-comment widgets from the tree in place; returns how many blocks were removed."""
    removed = 0
    for node in _COMMENTS_PRUNE(tree):
        if node.getparent() is None or not _is_comment_block(node):
            continue
        # A block that holds most of the page's paragraphs is the article itself, not its comments.
        if len(node.xpath(".//p")) > 0.6 * max(1, len(tree.xpath("//p"))) and len(tree.xpath("//p")) > 5:
            continue
        node.drop_tree()
        removed += 1
    return removed


def _split_authors(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    return tuple(dict.fromkeys(a.strip() for a in raw.split(";") if a.strip()))


def _absolute(url: str, href: str | None) -> str | None:
    if not href:
        return None
    absolute = urljoin(url, href.strip())
    return absolute if urlsplit(absolute).scheme in {"http", "https"} else None


def _parse(text: str, url: str) -> HtmlElement:
    try:
        tree = load_html(text)
    except (ParserError, ValueError, TypeError) as err:
        raise ExtractionSkip(url, f"unparseable HTML ({err})") from err
    if tree is None:
        raise ExtractionSkip(url, "unparseable HTML")
    if _tree_depth_exceeds(tree, MAX_TREE_DEPTH):
        raise ExtractionSkip(url, f"markup nested deeper than {MAX_TREE_DEPTH} levels")
    return tree


def _main_text(tree: HtmlElement, url: str) -> str:
    try:
        document = trafilatura.bare_extraction(
            tree,
            url=url,
            include_comments=False,
            include_tables=True,
            include_images=False,
            include_links=False,
            with_metadata=False,
        )
    except RecursionError as err:
        raise ExtractionSkip(url, "markup too deeply nested to extract") from err
    return (document.text or "").strip() if document is not None else ""


def _htmldate(tree: HtmlElement, url: str, now: datetime) -> datetime | None:
    from htmldate import find_date

    try:
        found = find_date(
            tree,
            url=url,
            original_date=True,
            extensive_search=False,  # the extensive search guesses from free text and copyright lines
            outputformat="%Y-%m-%d",
            max_date=now.strftime("%Y-%m-%d"),
        )
    except (ValueError, RecursionError):
        return None
    return parse_datetime(found, now=now)


def extract_article(
    html: bytes | str,
    url: str,
    *,
    entry: FeedEntry | None = None,
    headers: Mapping[str, str] | None = None,
) -> Extracted:
    """Extract the article text and metadata from one fetched page (comments always excluded).

    Raises ExtractionSkip(url, reason) for pages that hold no article: empty, binary, not HTML,
    too large, too deeply nested, or without main text.
    """
    try:
        text = html_text_from_input(html, headers)
    except InputRejected as err:
        raise ExtractionSkip(url, err.reason) from err
    tree = _parse(text, url)
    now = datetime.now(UTC)
    meta = read_page_meta(tree, url, now=now)
    prune_comment_sections(tree)
    body = _main_text(tree, url)
    if len(body) < MIN_TEXT_CHARS:
        raise ExtractionSkip(url, f"no main text ({len(body)} characters extracted)")

    published_at = meta.published_at
    if published_at is None and entry is not None:
        published_at = entry.published_at
    if published_at is None:
        published_at = _htmldate(tree, url, now)
    modified_at = meta.modified_at or (entry.updated_at if entry is not None else None)
    if modified_at is not None and published_at is not None and modified_at < published_at:
        modified_at = None

    title = meta.title or (entry.title if entry is not None else None)
    if not title:
        node = tree.find(".//title")
        title = " ".join((node.text_content() if node is not None else "").split()) or None
    authors = meta.authors or (entry.authors if entry is not None else ())
    language = meta.language or normalise_language(entry.language if entry is not None else None)
    return Extracted(
        title=title,
        text=body,
        authors=tuple(authors),
        published_at=published_at,
        modified_at=modified_at,
        language=language,
        canonical_url=_absolute(url, meta.canonical_url),
        site_name=meta.site_name,
        image=_absolute(url, meta.image),
        summary=meta.description or (entry.summary if entry is not None else None),
    )


__all__ = ["ExtractionSkip", "extract_article", "prune_comment_sections"]
