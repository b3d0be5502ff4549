"""`newsmon extract`: show what newsmon stores for one page (file or URL), or for JSON lines of pages on stdin."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import IO, Any

from newsmon.core.errors import UserError
from newsmon.core.records import Extracted
from newsmon.core.settings import Settings
from newsmon.core.text import json_dumps, printable
from newsmon.ingest.extract import ExtractionSkip, extract_article
from newsmon.ingest.extract_input import MAX_HTML_BYTES
from newsmon.ingest.http import FetchError, SafeClient

_FIELDS = (
    "title",
    "authors",
    "published_at",
    "modified_at",
    "language",
    "canonical_url",
    "site_name",
    "image",
    "word_count",
)


def register(p: argparse.ArgumentParser) -> None:
    p.description = (
        "Prints title, authors, dates (UTC), language, canonical URL, site name, image, word count "
        "and the article text. With --jsonl, reads one JSON object per line ({\"path\": ..., \"url\": ...}; "
        "gzip files allowed) from standard input and writes one JSON object per input line, in order; "
        "a page without an article gives {\"path\", \"error\"} (plus \"detail\" when there are specifics)."
    )
    p.add_argument("source", nargs="?", metavar="PATH_OR_URL", help="an HTML file (may be gzip) or an http(s) URL")
    p.add_argument("--url", help="the page's own URL, to resolve relative links and read dates from it (files only)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--jsonl", action="store_true", help="batch mode: JSON lines of {path, url} on stdin")
    p.set_defaults(func=run)


def extracted_to_dict(result: Extracted) -> dict[str, Any]:
    """JSON-ready form of one extraction (dates as ISO 8601 UTC, None when unknown)."""
    out: dict[str, Any] = {}
    for name in _FIELDS:
        value = getattr(result, name)
        if name in {"published_at", "modified_at"}:
            value = value.isoformat() if value is not None else None
        elif name == "authors":
            value = list(value)
        out[name] = value
    out["text"] = result.text
    return out


def _read_file(path: Path) -> bytes:
    size_bytes = path.stat().st_size
    if size_bytes > MAX_HTML_BYTES:
        raise ExtractionSkip(str(path), "too large", f"{size_bytes} bytes, limit {MAX_HTML_BYTES}")
    return path.read_bytes()


def _extract_path(path: Path, url: str | None) -> Extracted:
    return extract_article(_read_file(path), url or "")


def _extract_url(url: str, settings: Settings) -> Extracted:
    with SafeClient(settings) as client:
        page = client.fetch(url)
    return extract_article(page.body, page.final_url or url, headers=page.headers)


def _print_text(result: Extracted, out: IO[str]) -> None:
    data = extracted_to_dict(result)
    for name in _FIELDS:
        value = data[name]
        if isinstance(value, list):
            value = "; ".join(value)
        out.write(f"{name}: {'' if value is None else printable(value)}\n")
    out.write("\n" + printable(result.text, multiline=True) + "\n")


def _run_jsonl(stdin: IO[str], out: IO[str]) -> int:
    for number, line in enumerate(stdin, start=1):
        if not line.strip():
            continue
        path_value: Any = None
        try:
            item = json.loads(line)
            if not isinstance(item, dict) or not isinstance(item.get("path"), str):
                raise ValueError('expected an object with a "path" string')
            path_value = item["path"]
            url = item.get("url") if isinstance(item.get("url"), str) else None
            row = {"path": path_value, "url": url, **extracted_to_dict(_extract_path(Path(path_value), url))}
        except ExtractionSkip as skip:
            row = {"path": path_value, "error": skip.reason}
            if skip.detail:
                row["detail"] = skip.detail
        except FileNotFoundError:
            row = {"path": path_value, "error": "file not found"}
        except (IsADirectoryError, PermissionError) as err:
            row = {"path": path_value, "error": f"cannot read file: {err.strerror}"}
        except ValueError as err:
            row = {"path": path_value, "error": f"bad input line {number}: {err}"}
        out.write(json_dumps(row) + "\n")
        out.flush()
    return 0


def run(args: argparse.Namespace, settings: Settings) -> int:
    if args.jsonl:
        if args.source:
            raise UserError("extract --jsonl reads {path, url} lines from standard input; drop PATH_OR_URL")
        return _run_jsonl(sys.stdin, sys.stdout)
    if not args.source:
        raise UserError("extract needs PATH_OR_URL (an HTML file or an http(s) URL), or --jsonl")
    try:
        if args.source.startswith(("http://", "https://")):
            try:
                result = _extract_url(args.source, settings)
            except FetchError as err:
                raise UserError(f"could not fetch {args.source}: {err.reason}") from err
        else:
            path = Path(args.source)
            if not path.is_file():
                raise UserError(f"{args.source}: no such file (give an HTML file path or an http(s) URL)")
            result = _extract_path(path, args.url)
    except ExtractionSkip as skip:
        detail = f" ({skip.detail})" if skip.detail else ""
        raise UserError(f"no article in {args.source}: {skip.reason}{detail}") from skip
    if args.json:
        print(json_dumps(extracted_to_dict(result), indent=1))
    else:
        _print_text(result, sys.stdout)
    return 0
