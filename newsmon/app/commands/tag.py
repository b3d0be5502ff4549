"""`newsmon tag`: JSON lines of articles in (title, text, language) → topic tags out, with --explain."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from newsmon.core.errors import UserError
from newsmon.core.settings import Settings
from newsmon.core.text import json_dumps
from newsmon.enrich.lang import detect_language
from newsmon.enrich.topic import TopicPack, TopicPackError, load_topic_pack, load_topic_packs, tag

_CONTEXT_CHARS = 40  # characters shown either side of a match with --explain


def register(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Reads one JSON object per line with `text` and optional `title`, `language` and `id`; "
        "writes one JSON object per line with on_topic, relevance, subtopics, entities and matched "
        "(term, surface form, offsets). A line that cannot be tagged (not JSON, no text) is answered in its place "
        "with {\"line\", \"error\"} (and its id), and the others are tagged."
    )
    p.add_argument("input", nargs="?", default="-", help="JSON-lines file (default: standard input)")
    p.add_argument("--explain", action="store_true",
                   help="add the scoring explanation and the text around every match")
    p.add_argument("--topic", help="topic id to use when several packs are installed (default: the first)")
    p.add_argument("--pack", type=Path, help="a topic pack file instead of the configured topics folder")
    p.set_defaults(func=run)


def _load_pack(args: argparse.Namespace, settings: Settings) -> TopicPack:
    try:
        packs = [load_topic_pack(args.pack)] if args.pack else load_topic_packs(settings.topics_dir)
    except TopicPackError as exc:
        raise UserError(str(exc)) from exc
    if not packs:
        raise UserError(f"no topic pack (*.yaml) in {settings.topics_dir}; pass --pack FILE")
    if args.topic:
        chosen = [p for p in packs if p.name == args.topic]
        if not chosen:
            raise UserError(f"--topic {args.topic}: no such pack; installed: {', '.join(p.name for p in packs)}")
        return chosen[0]
    return packs[0]


def _tag_line(pack: TopicPack, item: dict, explain: bool) -> dict:
    title = item.get("title")
    text = item.get("text")
    language = detect_language(f"{title or ''}\n{text}", hint=item.get("language"))
    result = tag(pack, title, text, language)
    out: dict[str, Any] = {}
    if "id" in item:
        out["id"] = item["id"]
    out.update({
        "topic": result.topic, "language": language, "on_topic": result.on_topic, "relevance": result.relevance,
        "subtopics": list(result.subtopics), "entities": list(result.entities),
        "matched": [{"term": m.term, "surface": m.surface, "start": m.start, "end": m.end, "field": m.field,
                     "kind": m.kind} for m in result.matched],
    })
    if explain:
        out["explanation"] = result.explanation
        for match, entry in zip(result.matched, out["matched"], strict=True):
            source = (title or "") if match.field == "title" else text
            left = source[max(0, match.start - _CONTEXT_CHARS):match.start].replace("\n", " ")
            right = source[match.end:match.end + _CONTEXT_CHARS].replace("\n", " ")
            entry["context"] = f"…{left}[{match.surface}]{right}…"
    return out


def _problem(item: Any) -> str | None:
    if not isinstance(item, dict):
        return "expected a JSON object"
    if not isinstance(item.get("text"), str):
        return "`text` is missing or not a string"
    if item.get("title") is not None and not isinstance(item["title"], str):
        return "`title` must be a string or null"
    if item.get("language") is not None and not isinstance(item["language"], str):
        return "`language` must be a string or null"
    return None


def _error_line(number: int, item: Any, error: str) -> dict[str, Any]:
    out: dict[str, Any] = {"line": number, "error": error}
    if isinstance(item, dict) and "id" in item:
        out["id"] = item["id"]
    return out


def tag_stream(pack: TopicPack, lines: IO[str], out: IO[str], explain: bool) -> int:
    """One output line per input line, in order: the tags, or {"line", "error"} for a line that cannot be
    tagged. Returns the number of such lines."""
    bad = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            item, problem = None, f"not JSON ({exc.msg})"
        else:
            problem = _problem(item)
        if problem:
            bad += 1
            out.write(json_dumps(_error_line(number, item, problem)) + "\n")
            continue
        out.write(json_dumps(_tag_line(pack, item, explain)) + "\n")
    return bad


def run(args: argparse.Namespace, settings: Settings) -> int:
    pack = _load_pack(args, settings)
    source = "stdin" if args.input == "-" else args.input
    try:
        bad = _tag_input(args, pack)
    except BrokenPipeError:
        # The reader (e.g. `| head`) stopped early; that is not an error of ours.
        sys.stderr.close()
        return 0
    if bad:
        print(f"newsmon tag: {bad} line(s) of {source} could not be tagged; their output lines say why "
              '({"line", "error"})', file=sys.stderr)
    return 0


def _tag_input(args: argparse.Namespace, pack: TopicPack) -> int:
    if args.input == "-":
        return tag_stream(pack, sys.stdin, sys.stdout, args.explain)
    path = Path(args.input)
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        return tag_stream(pack, handle, sys.stdout, args.explain)
