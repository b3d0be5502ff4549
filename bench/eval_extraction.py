"""Extraction quality on ../shared/corpus/extraction: newsmon vs bare trafilatura.extract, same pages, same run.

Text metric (scrapinghub-aeb, fundus-eval, fundus-testdata) is the ScrapingHub article-extraction-benchmark
metric: case-sensitive `\\w+` tokens, word 4-gram shingle multisets, per-page precision/recall from shingle
counts, mean precision and mean recall over pages, F1 of the two means. trafilatura-eval only has
must-contain / must-not-contain snippets, so it is scored the way trafilatura's own benchmark scores it
(snippet counts summed over pages). Both sides are compared in one Unicode form (NFC): some references keep
a page's separate accent marks (NFD), and `ä` typed either way is the same text to a reader. Dates: exact
calendar day where the ground truth has a date.

    .venv/bin/python bench/eval_extraction.py [--datasets a,b] [--every N] [--out FILE] [--no-bare]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import re
import sys
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

DATASETS = ("scrapinghub-aeb", "fundus-eval", "fundus-testdata", "trafilatura-eval")
SHINGLE_N = 4
_TOKEN_RE = re.compile(r"\w+", re.UNICODE | re.MULTILINE | re.IGNORECASE | re.DOTALL)


def shared_dir() -> Path:
    """The team's shared data directory: $NEWSMON_SHARED_DIR or ../shared beside the repository."""
    env = os.environ.get("NEWSMON_SHARED_DIR")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def corpus_dir() -> Path:
    return shared_dir() / "corpus" / "extraction"


@dataclass
class EvalPage:
    """One corpus page with its ground truth, in the shape every dataset is reduced to."""

    dataset: str
    id: str
    html_path: Path
    url: str
    body: str | None = None  # full reference text (shingle metric)
    with_snippets: list[str] = field(default_factory=list)
    without_snippets: list[str] = field(default_factory=list)
    published: str | None = None  # ISO date or datetime string from the ground truth
    language: str | None = None
    authors: list[str] | None = None  # fundus-testdata only

    def html(self) -> bytes:
        raw = self.html_path.read_bytes()
        return gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw

    @property
    def http_url(self) -> str | None:
        return self.url if self.url.startswith(("http://", "https://")) else None


# --- metric -------------------------------------------------------------------------------------------


def _shingles(text: str | None) -> Counter:
    # In NFD, `\w+` cuts a word at each separate accent mark ("Ma", "dchen"): compare words, not Unicode forms.
    tokens = _TOKEN_RE.findall(unicodedata.normalize("NFC", text or ""))
    n = min(len(tokens), SHINGLE_N)
    return Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))


def shingle_counts(true: str, pred: str | None) -> tuple[int, int, int]:
    """(tp, fp, fn) over word-4-gram shingle multisets, as the ScrapingHub benchmark computes them."""
    t, p = _shingles(true), _shingles(pred)
    return sum((t & p).values()), sum((p - t).values()), sum((t - p).values())


def precision_recall(tp: int, fp: int, fn: int) -> tuple[float, float]:
    if fp == fn == 0:
        return 1.0, 1.0
    if tp == 0:
        return 0.0, 0.0
    return tp / (tp + fp), tp / (tp + fn)


def f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _squash(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def snippet_counts(pred: str | None, with_: list[str], without: list[str]) -> tuple[int, int, int, int]:
    """(tp, fn, fp, tn) for trafilatura's snippet benchmark: wanted snippets found, unwanted ones found."""
    got = _squash(pred or "")
    tp = sum(_squash(s) in got for s in with_)
    fp = sum(_squash(s) in got for s in without)
    return tp, len(with_) - tp, fp, len(without) - fp


# --- corpus -------------------------------------------------------------------------------------------


def _fundus_body(expected: dict) -> str:
    body = expected.get("body") or {}
    parts: list[str] = list(body.get("summary") or [])
    for section in body.get("sections") or []:
        parts.extend(section.get("headline") or [])
        parts.extend(section.get("paragraphs") or [])
    return "\n".join(parts)


def load_pages(datasets: Iterable[str] = DATASETS, every: int = 1) -> list[EvalPage]:
    """Pages of the shared split in manifest order; `every`=N keeps each N-th page of each dataset."""
    base = corpus_dir()
    manifest = base / "manifest.jsonl"
    if not manifest.is_file():
        raise FileNotFoundError(f"{manifest} not found: set NEWSMON_SHARED_DIR to the shared data directory")
    wanted = set(datasets)
    truth: dict[str, dict] = {}
    for name, file in (
        ("scrapinghub-aeb", "ground-truth.json"),
        ("fundus-eval", "ground_truth.json"),
        ("fundus-testdata", "ground_truth.json"),
        ("trafilatura-eval", "evaldata.json"),
    ):
        if name in wanted:
            truth[name] = json.loads((base / name / file).read_text(encoding="utf-8"))
    pages: list[EvalPage] = []
    seen: Counter = Counter()
    for line in manifest.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        name = row["dataset"]
        if name not in wanted:
            continue
        seen[name] += 1
        if (seen[name] - 1) % every:
            continue
        page = EvalPage(dataset=name, id=row["id"], html_path=base / row["html"], url=row.get("url") or "")
        gt = truth[name]
        if name == "scrapinghub-aeb":
            page.body = gt[row["id"]]["articleBody"]
        elif name == "fundus-eval":
            page.body = "\n".join(gt[row["id"]]["body"])
        elif name == "fundus-testdata":
            item = gt[row["id"]]
            page.body = _fundus_body(item["expected"])
            page.published = item["expected"].get("publishing_date")
            page.language = item.get("country")
            page.authors = list(item["expected"].get("authors") or [])
        else:
            item = gt[row["url"]]
            page.with_snippets = list(item.get("with") or [])
            page.without_snippets = list(item.get("without") or [])
            page.published = item.get("date")
            page.language = item.get("html_lang")
        pages.append(page)
    return pages


# --- systems ------------------------------------------------------------------------------------------


@dataclass
class Output:
    text: str | None
    published_at: datetime | None = None
    published_local_day: date | None = None
    published_source: str | None = None
    title: str | None = None
    authors: tuple[str, ...] | None = None
    skip: str | None = None
    seconds: float = 0.0


def run_newsmon(page: EvalPage, html: bytes) -> Output:
    from newsmon.ingest.extract import ExtractionSkip, extract_with_report

    started = time.perf_counter()
    try:
        result, report = extract_with_report(html, page.http_url or "")
    except ExtractionSkip as skip:
        return Output(text=None, skip=skip.reason, seconds=time.perf_counter() - started)
    return Output(
        text=result.text,
        published_at=result.published_at,
        published_local_day=report.published_local_day,
        published_source=report.published_source,
        title=result.title,
        authors=result.authors,
        seconds=time.perf_counter() - started,
    )


def run_bare(page: EvalPage, html: bytes) -> Output:
    import trafilatura

    started = time.perf_counter()
    text = trafilatura.extract(html, url=page.http_url)
    return Output(text=text, seconds=time.perf_counter() - started)


def reader_comments(page: EvalPage, html: bytes) -> str:
    """Reader-comment text of the page as trafilatura's comment extractor finds it (the leak oracle)."""
    import trafilatura

    document = trafilatura.bare_extraction(html, url=page.http_url, include_comments=True)
    return (document.comments or "") if document is not None else ""


def comment_leak(page: EvalPage, comments: str, text: str | None) -> tuple[int, int]:
    """(comment shingles found in the output, comment shingles) — shingles the reference text also has are ignored."""
    reference = page.body if page.body is not None else "\n".join(page.with_snippets)
    only_comments = _shingles(comments) - _shingles(reference)
    if not only_comments:
        return 0, 0
    return sum((only_comments & _shingles(text)).values()), sum(only_comments.values())


SYSTEMS: dict[str, Callable[[EvalPage, bytes], Output]] = {"newsmon": run_newsmon, "trafilatura": run_bare}
# Bare trafilatura.extract returns text only, so it has no dates to score.
SYSTEMS_WITH_DATES = frozenset({"newsmon"})


# --- dates --------------------------------------------------------------------------------------------


def truth_days(published: str) -> set[date]:
    """Calendar days that count as correct: the publisher's local day, and its UTC day when a zone is given."""
    text = published.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return {date.fromisoformat(text[:10])}
    days = {parsed.date()}
    if parsed.tzinfo is not None:
        days.add(parsed.astimezone(UTC).date())
    return days


def date_verdict(page: EvalPage, out: Output) -> str | None:
    """'correct' | 'wrong' | 'missing' against the ground-truth day; None when the truth has no date.

    Our UTC day or the day in the publisher's own offset (what the page printed) must be a truth day.
    """
    if not page.published:
        return None
    if out.published_at is None:
        return "missing"
    ours = {out.published_at.astimezone(UTC).date()}
    if out.published_local_day is not None:
        ours.add(out.published_local_day)
    return "correct" if ours & truth_days(page.published) else "wrong"


def date_audit(page: EvalPage, html: bytes) -> dict:
    """For a wrong or missing date: is the truth day printed on the page, and does the page's own
    structured datePublished (JSON-LD, meta, itemprop) name another day? Both point at ground-truth
    noise (an "Updated" day, a day from outside the page) rather than at a date we failed to read.
    """
    from newsmon.ingest.extract import _parse
    from newsmon.ingest.extract_dates import day_is_printed, publisher_local_day
    from newsmon.ingest.extract_input import html_text_from_input
    from newsmon.ingest.extract_meta import read_page_meta

    text = html_text_from_input(html, None)
    truth = truth_days(page.published or "")
    printed = any(day_is_printed(text, day) for day in truth)
    meta = read_page_meta(_parse(text, page.url), page.http_url)
    stated = meta.published_at
    contradicts = stated is not None and not truth & {
        stated.date(),
        stated.astimezone(UTC).date(),
        publisher_local_day(stated, text, page.http_url),
    }
    return {"truth_printed": printed, "truth_contradicts_date_published": contradicts}


# --- evaluation ---------------------------------------------------------------------------------------


def score_page(
    page: EvalPage, out: Output, comments: str | None = None, *, with_dates: bool = True, html: bytes | None = None
) -> dict:
    row: dict = {"dataset": page.dataset, "id": page.id, "skip": out.skip, "seconds": round(out.seconds, 4)}
    if comments:
        leaked, total = comment_leak(page, comments, out.text)
        if total:
            row.update(comment_shingles=total, comment_shingles_leaked=leaked)
    if page.body is not None:
        tp, fp, fn = shingle_counts(page.body, out.text)
        precision, recall = precision_recall(tp, fp, fn)
        row.update(tp=tp, fp=fp, fn=fn, precision=precision, recall=recall)
    else:
        tp, fn, fp, tn = snippet_counts(out.text, page.with_snippets, page.without_snippets)
        row.update(tp=tp, fn=fn, fp=fp, tn=tn)
    if page.authors and out.authors is not None:
        # Same set of names, ignoring case and order: what a user filtering by author would notice.
        row["authors_exact"] = sorted(a.casefold() for a in out.authors) == sorted(a.casefold() for a in page.authors)
    verdict = date_verdict(page, out) if with_dates else None
    if verdict is not None or out.published_at is not None:
        row.update(
            date_truth=page.published,
            date_found=out.published_at.isoformat() if out.published_at else None,
            date_source=out.published_source,
            date_verdict=verdict,
        )
    if verdict in {"wrong", "missing"} and html is not None:
        row["date_audit"] = date_audit(page, html)
    return row


def summarise(rows: list[dict]) -> dict:
    """Dataset-level figures for one system's rows of one dataset."""
    if not rows:
        return {}
    summary: dict = {"pages": len(rows), "skips": sum(1 for r in rows if r["skip"])}
    if "precision" in rows[0]:
        precision = sum(r["precision"] for r in rows) / len(rows)
        recall = sum(r["recall"] for r in rows) / len(rows)
        summary.update(metric="shingle", precision=precision, recall=recall, f1=f1(precision, recall))
    else:
        tp, fn, fp, _tn = (sum(r[k] for r in rows) for k in ("tp", "fn", "fp", "tn"))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        summary.update(metric="snippet", precision=precision, recall=recall, f1=f1(precision, recall))
    verdicts = Counter(r.get("date_verdict") for r in rows if r.get("date_verdict"))
    dated = sum(verdicts.values())
    if dated:
        summary.update(
            dated_pages=dated,
            date_correct=verdicts["correct"],
            date_wrong=verdicts["wrong"],
            date_missing=verdicts["missing"],
            date_accuracy=verdicts["correct"] / dated,
        )
        audits = [r["date_audit"] for r in rows if "date_audit" in r]
        if audits:
            summary.update(
                date_misses_audited=len(audits),
                date_truth_not_printed=sum(not a["truth_printed"] for a in audits),
                date_truth_contradicts_date_published=sum(a["truth_contradicts_date_published"] for a in audits),
                date_truth_unsupported=sum(
                    not a["truth_printed"] or a["truth_contradicts_date_published"] for a in audits
                ),
            )
    with_authors = [r for r in rows if "authors_exact" in r]
    if with_authors:
        summary["author_accuracy"] = sum(r["authors_exact"] for r in with_authors) / len(with_authors)
    commented = [r for r in rows if r.get("comment_shingles")]
    if commented:
        summary.update(
            pages_with_comments=len(commented),
            comment_leak=sum(r["comment_shingles_leaked"] for r in commented) / sum(r["comment_shingles"] for r in commented),
            pages_leaking_comments=sum(1 for r in commented if r["comment_shingles_leaked"]),
        )
    summary["seconds"] = sum(r["seconds"] for r in rows)
    return summary


def evaluate(
    pages: list[EvalPage], systems: Iterable[str] = ("newsmon", "trafilatura"), *, comments: bool = True
) -> dict:
    """Run each system on each page (alternating, so both see the same machine load) and score them."""
    names = list(systems)
    rows: dict[str, list[dict]] = {name: [] for name in names}
    for page in pages:
        html = page.html()
        found_comments = reader_comments(page, html) if comments else None
        for name in names:
            out = SYSTEMS[name](page, html)
            rows[name].append(score_page(page, out, found_comments, with_dates=name in SYSTEMS_WITH_DATES, html=html))
    summary: dict[str, dict[str, dict]] = {}
    for name in names:
        for dataset in dict.fromkeys(p.dataset for p in pages):
            summary.setdefault(dataset, {})[name] = summarise([r for r in rows[name] if r["dataset"] == dataset])
        lt_rows = [r for r, p in zip(rows[name], pages, strict=True) if p.dataset.startswith("fundus") and p.language == "lt"]
        if lt_rows:
            summary.setdefault("fundus (lt pages)", {})[name] = summarise(lt_rows)
    return {"summary": summary, "pages": rows}


def print_table(result: dict) -> None:
    header = (
        f"{'dataset':<20} {'system':<12} {'pages':>5} {'skips':>5} {'P':>6} {'R':>6} {'F1':>6} {'dF1':>6}"
        f"  {'date acc':>8} {'wrong':>5} {'miss':>5}  {'comment leak (pages)':>20}"
    )
    print(header)
    print("-" * len(header))
    for dataset, systems in result["summary"].items():
        base_f1 = systems.get("trafilatura", {}).get("f1")
        for name, s in systems.items():
            delta = f"{s['f1'] - base_f1:+.3f}" if base_f1 is not None and name != "trafilatura" else ""
            dates = (
                f"{s['date_accuracy']:>8.3f} {s['date_wrong']:>5} {s['date_missing']:>5}"
                if "date_accuracy" in s
                else " " * 20
            )
            if "comment_leak" in s:
                dates += f"  {s['comment_leak']:>7.1%} ({s['pages_leaking_comments']}/{s['pages_with_comments']})"
            print(
                f"{dataset:<20} {name:<12} {s['pages']:>5} {s['skips']:>5} {s['precision']:>6.3f} {s['recall']:>6.3f}"
                f" {s['f1']:>6.3f} {delta:>6}  {dates}"
            )
    print("shingle metric: mean P / mean R over pages, F1 of the means (ScrapingHub AEB); snippet metric: trafilatura-eval")
    for dataset, systems in result["summary"].items():
        if "author_accuracy" in systems.get("newsmon", {}):
            print(f"{dataset}: author names exact (set, case-insensitive) on pages that credit one: "
                  f"{systems['newsmon']['author_accuracy']:.3f}")
    for dataset, systems in result["summary"].items():
        s = systems.get("newsmon", {})
        if "date_misses_audited" in s:
            print(
                f"{dataset}: date misses: {s['date_misses_audited']}, truth day not printed on the page: "
                f"{s['date_truth_not_printed']}, truth contradicts the page's datePublished: "
                f"{s['date_truth_contradicts_date_published']} (either: {s['date_truth_unsupported']})"
            )
    print("comment leak: share of reader-comment shingles (trafilatura's comment extractor, minus reference text)")
    print("found in the output; (pages leaking / pages with comments)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated dataset names")
    parser.add_argument("--every", type=int, default=1, help="keep every N-th page of each dataset")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "results" / "eval_extraction.json")
    parser.add_argument("--no-bare", action="store_true", help="skip the bare trafilatura baseline")
    parser.add_argument("--no-comments", action="store_true", help="skip the reader-comment leak check")
    args = parser.parse_args(argv)
    try:
        pages = load_pages(args.datasets.split(","), every=args.every)
    except FileNotFoundError as err:
        print(f"eval_extraction: {err}", file=sys.stderr)
        return 2
    systems = ("newsmon",) if args.no_bare else ("newsmon", "trafilatura")
    result = evaluate(pages, systems, comments=not args.no_comments)
    print_table(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    print(f"per-page results: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["EvalPage", "asdict", "evaluate", "load_pages", "shingle_counts"]
