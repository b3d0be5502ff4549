"""Evaluate the feed-parsing boundary on ../shared/corpus/feeds: crashes, hangs, typed skips, title/link agreement.

Run: `.venv/bin/python bench/eval_feeds.py [--shared DIR] [--mismatches N] [--json]`.
Every file under corpus/feeds goes through newsmon.ingest.feeds.parse_feed (as the poller would call it, with no
HTTP headers). For files whose source project ships an expected parse (`expected_output` in
manifest.jsonl: feed-rs `*.serde.json`, rss-parser `expected-output/*.json`), each expected entry's
title and link are compared with ours, entry by entry in document order.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import re
import signal
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from newsmon.ingest.feeds import FeedParseError, parse_feed  # noqa: E402

PER_FILE_DEADLINE_S = 10
_SPACE = re.compile(r"\s+")


def shared_dir(cli_value: str | None = None) -> Path:
    return Path(cli_value or os.environ.get("NEWSMON_SHARED_DIR") or ROOT.parent / "shared")


class Hang(Exception):
    pass


def _alarm(_signum: int, _frame: object) -> None:
    raise Hang()


@dataclass
class FileOutcome:
    path: str
    kind: str  # usable | skip | crash | hang
    detail: str = ""
    entries: list[Any] = field(default_factory=list)
    seconds: float = 0.0


def parse_one(path: Path, rel: str, base_url: str | None = None) -> FileOutcome:
    body = path.read_bytes()
    started = time.monotonic()
    signal.alarm(PER_FILE_DEADLINE_S)
    try:
        parsed = parse_feed(body, url=base_url or f"file:{rel}")
        outcome = FileOutcome(rel, "usable", "; ".join(parsed.problems)[:200], list(parsed.entries))
    except FeedParseError as exc:
        outcome = FileOutcome(rel, "skip", exc.reason)
    except Hang:
        outcome = FileOutcome(rel, "hang", f"no result within {PER_FILE_DEADLINE_S} s")
    except Exception as exc:  # counting uncaught exceptions is the point of this script
        outcome = FileOutcome(rel, "crash", f"{type(exc).__name__}: {exc}")
    finally:
        signal.alarm(0)
    outcome.seconds = time.monotonic() - started
    return outcome


def norm(value: str | None) -> str:
    if value is None:
        return ""
    return _SPACE.sub(" ", html.unescape(value)).strip()


def expected_entries(group: str, doc: dict) -> list[tuple[str | None, str | None]]:
    """(title, link) per expected entry, in document order, from the source project's expected output."""
    if group == "feed-rs":
        rows = []
        for entry in doc.get("entries", []):
            title = (entry.get("title") or {}).get("content")
            links = entry.get("links") or []
            alternate = [link for link in links if link.get("rel") in (None, "alternate")]
            link = (alternate or links or [{}])[0].get("href")
            rows.append((title, link))
        return rows
    if group == "rss-parser":
        return [(item.get("title"), item.get("link")) for item in (doc.get("feed") or {}).get("items", [])]
    raise ValueError(f"no expected-output reader for group {group}")


def plain(value: str | None) -> str:
    """Title as text: tags removed, entities decoded (twice: CDATA often holds escaped markup), spaces collapsed."""
    text = html.unescape(html.unescape(value or ""))
    return _SPACE.sub(" ", re.sub(r"<[^>]+>", " ", text)).strip()


def same_link(ours: str | None, theirs: str | None, base: str) -> bool:
    """Equivalent URLs, or theirs is a relative reference whose resolution against our URL is our URL."""
    if equivalent_url(ours, base) == equivalent_url(theirs, base):
        return True
    return bool(ours and theirs) and not urlsplit(theirs.strip()).scheme and equivalent_url(urljoin(ours, theirs.strip()), "") == equivalent_url(ours, "")


def equivalent_url(value: str | None, base: str) -> str:
    """RFC 3986 §6.2.2 equivalence: resolved against the same base, scheme/host lower-case, empty path = '/'."""
    if not value:
        return ""
    parts = urlsplit(urljoin(base, value.strip()) if base else value.strip())
    host = (parts.hostname or "").lower()
    if parts.port and parts.port != {"http": 80, "https": 443}.get(parts.scheme.lower()):
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme.lower(), host, parts.path or "/", parts.query, parts.fragment))


def classify_title(ours: str, theirs: str) -> str:
    if not theirs and ours:
        return "title: they have none, we have one"
    if not ours and theirs:
        return "title: we have none"
    if re.sub(r"<[^>]+>", " ", theirs).split() == ours.split():
        return "title: they keep HTML markup, we strip it"
    return "title: text differs"


def classify_link(ours: str, theirs: str) -> str:
    if not theirs and ours:
        return "link: they have none, we have one"
    if not ours and theirs:
        return "link: we have none"
    if ours.startswith(("http://", "https://")) and not theirs.startswith(("http://", "https://")):
        return "link: they keep it relative, we resolve it"
    return "link: differs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shared", help="shared data dir (default ../shared or NEWSMON_SHARED_DIR)")
    parser.add_argument("--corpus", help="a feeds corpus directory with manifest.jsonl (overrides --shared)")
    parser.add_argument("--mismatches", type=int, default=3, help="examples to print per mismatch class")
    args = parser.parse_args()
    corpus = Path(args.corpus) if args.corpus else shared_dir(args.shared) / "corpus" / "feeds"
    if not corpus.is_dir():
        print(f"skipped: no feed corpus at {corpus} (set NEWSMON_SHARED_DIR)")
        return 0
    summary = evaluate(corpus, mismatches=args.mismatches)
    return 0 if summary["crashes"] == 0 and summary["hangs"] == 0 else 1


def evaluate(corpus: Path, *, mismatches: int = 3, out: Any = print) -> dict[str, Any]:
    """Run the whole evaluation, print the tables through `out`, return the headline numbers."""
    print = out  # the tables go wherever the caller wants them
    signal.signal(signal.SIGALRM, _alarm)
    manifest = [json.loads(line) for line in (corpus / "manifest.jsonl").read_text().splitlines() if line.strip()]
    by_dest = {row["dest"]: row for row in manifest}
    expected_files = {row["expected_output"] for row in manifest if row.get("expected_output")}

    outcomes: dict[str, FileOutcome] = {}
    for path in sorted(p for p in corpus.rglob("*") if p.is_file()):
        rel = path.relative_to(corpus).as_posix()
        # A poller always knows the feed's URL and resolves relative links against it; for a file the
        # channel's own link is the closest stand-in for that URL.
        channel_link = (by_dest.get(rel) or {}).get("channel_link") or ""
        outcomes[rel] = parse_one(path, rel, channel_link if channel_link.startswith(("http://", "https://")) else None)

    kinds = Counter(o.kind for o in outcomes.values())
    print(f"feed corpus: {corpus}")
    print(f"files through parse_feed: {len(outcomes)}  usable {kinds['usable']}  typed skips {kinds['skip']}  "
          f"uncaught exceptions {kinds['crash']}  hangs {kinds['hang']}  "
          f"slowest {max(o.seconds for o in outcomes.values()):.2f} s")
    feed_files = {k: v for k, v in outcomes.items() if k in by_dest}
    other = {k: v for k, v in outcomes.items() if k not in by_dest}
    print(f"  of which manifest feed files: {len(feed_files)} (usable {sum(o.kind == 'usable' for o in feed_files.values())}, "
          f"skips {sum(o.kind == 'skip' for o in feed_files.values())}); other files (expected outputs, docs): {len(other)} "
          f"(expected-output JSON {sum(k in expected_files for k in other)})")
    skip_reasons = Counter(re.sub(r"\(.*", "", o.detail).strip()[:70] for o in feed_files.values() if o.kind == "skip")
    print("typed skip reasons among manifest feed files:")
    for reason, n in skip_reasons.most_common():
        print(f"  {n:5}  {reason}")
    for o in outcomes.values():
        if o.kind in ("crash", "hang"):
            print(f"  {o.kind.upper()}: {o.path}: {o.detail}")

    # ---- agreement with expected outputs
    per_group: dict[str, Counter] = defaultdict(Counter)
    mismatch_classes: Counter = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    for row in manifest:
        if not row.get("expected_output"):
            continue
        group = row["group"]
        outcome = outcomes.get(row["dest"])
        raw = (corpus / row["expected_output"]).read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # one upstream expected file is stored in ISO-8859-1
        expected = expected_entries(group, json.loads(text))
        ours = outcome.entries if outcome and outcome.kind == "usable" else []
        stats = per_group[group]
        stats["files"] += 1
        for index, (title, link) in enumerate(expected):
            stats["entries"] += 1
            if index >= len(ours):
                stats["missing"] += 1
                mismatch_classes["entry missing"] += 1
                if len(examples["entry missing"]) < mismatches:
                    examples["entry missing"].append(f"{row['dest']} #{index} ({outcome.kind if outcome else '?'}: {outcome.detail if outcome else ''})")
                continue
            entry = ours[index]
            title_ok = norm(entry.title) == norm(title)
            link_ok = norm(entry.link) == norm(link)
            stats["title_ok"] += title_ok
            stats["link_ok"] += link_ok
            stats["both_ok"] += title_ok and link_ok
            if "\ufffd" in (title or ""):
                stats["expected_corrupt"] += 1
                mismatch_classes["expected title contains U+FFFD (their decoder mangled the charset): excluded"] += 1
                continue
            base = row["channel_link"] if row["channel_link"].startswith(("http://", "https://")) else ""
            equiv_ok = plain(entry.title) == plain(title) and same_link(entry.link, link, base)
            stats["equiv_ok"] += equiv_ok
            if not equiv_ok:
                name = "NOT EQUIVALENT: " + (classify_title(plain(entry.title), plain(title)) if plain(entry.title) != plain(title)
                                            else classify_link(equivalent_url(entry.link, base), equivalent_url(link, base)))
                mismatch_classes[name] += 1
                if len(examples[name]) < mismatches:
                    examples[name].append(f"{row['dest']} #{index}: ours {entry.title!r} {entry.link!r} vs expected {title!r} {link!r}")
            for ok, field_name in ((title_ok, "title"), (link_ok, "link")):
                if not ok:
                    name = (classify_title(norm(entry.title), norm(title)) if field_name == "title"
                            else classify_link(norm(entry.link), norm(link)))
                    mismatch_classes[name] += 1
                    if len(examples[name]) < mismatches:
                        mine = entry.title if name.startswith("title") else entry.link
                        theirs = title if name.startswith("title") else link
                        examples[name].append(f"{row['dest']} #{index}: ours {str(mine)[:70]!r} vs expected {str(theirs)[:70]!r}")
        if len(ours) > len(expected):
            stats["extra"] += len(ours) - len(expected)

    print()
    print("agreement with the source projects' expected parses (entry by entry)")
    print("  strict = identical strings (whitespace collapsed); equivalent = same title text (tags/entities")
    print("  decoded) and same URL under RFC 3986 equivalence after resolving both against the same base;")
    print("  entries whose expected title holds U+FFFD (corrupt expected output) are left out of 'equiv %'.")
    header = (f"{'group':12} {'files':>5} {'entries':>7} {'title ok':>9} {'link ok':>8} {'strict ok':>9} {'strict %':>8} "
              f"{'corrupt':>7} {'equiv ok':>8} {'equiv %':>7} {'missing':>7} {'extra':>5}")
    print(header)
    total = Counter()

    def line(name: str, st: Counter) -> str:
        strict_pct = 100.0 * st["both_ok"] / max(st["entries"], 1)
        equiv_pct = 100.0 * st["equiv_ok"] / max(st["entries"] - st["expected_corrupt"], 1)
        return (f"{name:12} {st['files']:5} {st['entries']:7} {st['title_ok']:9} {st['link_ok']:8} {st['both_ok']:9} "
                f"{strict_pct:7.1f}% {st['expected_corrupt']:7} {st['equiv_ok']:8} {equiv_pct:6.1f}% {st['missing']:7} {st['extra']:5}")

    for group, stats in sorted(per_group.items()):
        total.update(stats)
        print(line(group, stats))
    print(line("ALL", total))
    pct = 100.0 * total["equiv_ok"] / max(total["entries"] - total["expected_corrupt"], 1)
    if mismatch_classes:
        print("mismatch classes:")
        for name, n in mismatch_classes.most_common():
            print(f"  {n:5}  {name}")
            for example in examples[name]:
                print(f"         e.g. {example}")
    ok = kinds["crash"] == 0 and kinds["hang"] == 0
    print(f"\nresult: {'PASS' if ok and pct >= 99.0 else 'FAIL'} (0 crashes, 0 hangs, ≥ 99 % of expected entries equivalent)")
    return {"files": len(outcomes), "usable": kinds["usable"], "skips": kinds["skip"], "crashes": kinds["crash"],
            "hangs": kinds["hang"], "equivalent_pct": pct,
            "strict_pct": 100.0 * total["both_ok"] / max(total["entries"], 1),
            "untyped_skips": sum(1 for o in outcomes.values() if o.kind == "skip" and not o.detail)}


if __name__ == "__main__":
    sys.exit(main())
