"""Replay benchmark: N real pages through the whole newsmon pipeline vs bare trafilatura.extract, same run.

The pages are served by a loopback HTTP server behind a generated RSS feed, so the pipeline pays for
everything it does in production: feed fetch and parse, page fetch, extraction with metadata, language,
topic tagging, dedup fingerprints, clustering, FTS5 indexing and alert matching. The baseline is
`trafilatura.extract(html, url=url)` on the same page bytes, in-process. Prints pages/s for both and the
ratio (no target yet: this is the yardstick later changes are measured against).

    python bench/bench_replay.py [--pages 100] [--corpus ../shared/corpus/extraction]

Without the shared corpus it replays the demo site's pages (few, so the numbers are rough).
"""

from __future__ import annotations

import argparse
import gzip
import html
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def load_pages(corpus: Path, n: int, seed: int = 7) -> list[tuple[str, bytes]]:
    manifest = corpus / "manifest.jsonl"
    if not manifest.exists():
        from newsmon.app.demo import content as demo_content

        base = "http://127.0.0.1:1"
        return [(base + demo_content.article_path(a), demo_content.render_page(a, base)) for a in demo_content.ARTICLES]
    rows = [json.loads(line) for line in manifest.read_text().splitlines() if line.strip()]
    random.Random(seed).shuffle(rows)
    pages = []
    for row in rows[:n]:
        raw = (corpus / row["html"]).read_bytes()
        pages.append((row["url"], gzip.decompress(raw) if row["html"].endswith(".gz") else raw))
    return pages


def bare_trafilatura(pages: list[tuple[str, bytes]]) -> float:
    import trafilatura

    start = time.perf_counter()
    for url, body in pages:
        trafilatura.extract(body, url=url)
    return time.perf_counter() - start


def full_pipeline(pages: list[tuple[str, bytes]]) -> tuple[float, dict]:
    from newsmon.app.demo.fixture_server import FixtureServer, Route
    from newsmon.app.stages.run import run_once
    from newsmon.core.settings import load_settings

    with FixtureServer() as server, tempfile.TemporaryDirectory() as tmp:
        items = []
        for i, (_url, body) in enumerate(pages):
            path = f"/p/{i}.html"
            server.routes[path] = Route(body)
            items.append(f"<item><title>page {i}</title><link>{server.base_url}{path}</link><guid>{i}</guid></item>")
        server.routes["/feed.xml"] = Route(
            ('<?xml version="1.0"?><rss version="2.0"><channel><title>replay</title>'
             + "".join(items) + "</channel></rss>").encode(), "application/rss+xml")
        server.routes["/robots.txt"] = Route(b"User-agent: *\nAllow: /\n", "text/plain")
        config = Path(tmp) / "config"
        (config / "topics").mkdir(parents=True)
        for pack in (REPO / "config" / "topics").glob("*.yaml"):
            (config / "topics" / pack.name).write_bytes(pack.read_bytes())
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - id: replay\n    name: Replay\n    url: {html.escape(server.base_url)}/feed.xml\n    language: en\n"
            "    evidence: served by this benchmark's loopback site\n")
        (config / "alerts.yaml").write_text(
            "rules:\n  - name: lt-by\n    query: '*'\n    on_topic: true\n    channels: [file:alerts.jsonl]\n")
        settings = load_settings(home=Path(tmp), config_dir=config, state_dir=Path(tmp) / "var", allow_loopback=True,
                                 per_host_min_interval_s=0.0, per_host_concurrency=8, max_entries_per_poll=len(pages))
        start = time.perf_counter()
        summary = run_once(settings, force=True)
        elapsed = time.perf_counter() - start
    return elapsed, {"poll": summary.poll, "index": summary.index, "alerts": summary.alerts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=100)
    shared = Path(os.environ.get("NEWSMON_SHARED_DIR") or REPO.parent / "shared")
    parser.add_argument("--corpus", type=Path, default=shared / "corpus" / "extraction")
    args = parser.parse_args()
    pages = load_pages(args.corpus, args.pages)
    bare_trafilatura(pages[:3])  # warm imports and caches for both sides
    # one-time import costs are not per-page costs
    import newsmon.alerts.outbox
    import newsmon.enrich.topic
    import newsmon.ingest.extract
    import newsmon.store.clusters  # noqa: F401
    bare_s = bare_trafilatura(pages)
    full_s, counts = full_pipeline(pages)
    n = len(pages)
    print(f"pages: {n}")
    print(f"bare trafilatura.extract : {bare_s:7.2f} s  {n / bare_s:7.1f} pages/s")
    print(f"newsmon full pipeline    : {full_s:7.2f} s  {n / full_s:7.1f} pages/s  (HTTP, extraction+metadata, "
          "topic, dedup, FTS5 index, alerts)")
    print(f"ratio pipeline/bare pages/s: {bare_s / full_s:.2f}")
    print(f"indexed: {counts['index'].get('indexed', 0)}, skipped: {counts['poll'].get('skipped', 0)} "
          f"{counts['poll'].get('skipped_reasons', {})}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
