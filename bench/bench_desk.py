"""Desk page times on a 100 k-document embedded store: p50/p95 of search pages over HTTP, target p95 <= 200 ms.

Usage:
    .venv/bin/python bench/bench_desk.py                       # build a 100 k store in a temp dir, then time
    .venv/bin/python bench/bench_desk.py --store /tmp/desk100k # keep the store there (built once, reused after)
    .venv/bin/python bench/bench_desk.py --docs 10000 --repeat 5

Documents are synthetic but shaped like the feeds': six languages in the shares of the feed list, lengths
drawn around the median news article (~350 words, long tail to 2,000), words from the seeded Zipf
vocabulary of bench_dedup.py, and in a third of them the place names, people and words the desk is used
to look for (Šalčininkai, Medininkai, Lukashenko, balloons …), in the title and the text. A fifth are
copies of a recent article by another outlet (same copy cluster and story), and a tenth of the others
report an event another outlet covered in another language (same story). The desk runs as in Airflow, on a
loopback uvicorn, with the sign-in replaced; each timed request is a full page: search, grouping by story,
folding copies, highlighting, rendering.
"""

from __future__ import annotations

import argparse
import bisect
import math
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
import uvicorn  # noqa: E402

from bench.bench_dedup import _vocabulary  # noqa: E402
from newsmon.app.desk.auth import airflow_user, may_retry  # noqa: E402
from newsmon.app.desk.web import create_app  # noqa: E402
from newsmon.core.records import Article, TopicResult  # noqa: E402
from newsmon.core.settings import Settings, load_settings  # noqa: E402
from newsmon.store.db import open_engine  # noqa: E402
from newsmon.store.schema import stories, story_members  # noqa: E402
from newsmon.store.sqlite_index import SqliteIndex  # noqa: E402

SEED = 13
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LANGUAGES = (("lt", 0.30), ("en", 0.25), ("ru", 0.20), ("pl", 0.10), ("be", 0.10), ("de", 0.05))
AFFILIATIONS = ("public_broadcaster", "independent", "state_controlled", "international", "wire", "government")
OUTLETS = 60
TOPICAL_SHARE = 0.33
COPY_SHARE = 0.20
TRANSLATED_SHARE = 0.10
BATCH = 2000
# Words an analyst searches for, as each language writes them (the embedded index folds diacritics).
TOPICAL = {
    "lt": ["Šalčininkai", "Šalčininkų", "Medininkai", "Medininkų", "Lukašenka", "Baltarusija", "Baltarusijos",
           "balionai", "pasienio", "kontrabanda", "Vilniaus", "oro", "uostas", "Astravo"],
    "en": ["Šalčininkai", "Medininkai", "Lukashenko", "Belarus", "Belarusian", "balloons", "border", "checkpoint",
           "smuggling", "Vilnius", "airport", "Astravets", "sanctions", "migrants"],
    "ru": ["Шальчининкай", "Мядининкай", "Лукашенко", "Беларусь", "Беларуси", "шары", "граница", "контрабанда",
           "Вильнюс", "аэропорт", "Островец", "санкции"],
    "pl": ["Soleczniki", "Miedniki", "Łukaszenka", "Białoruś", "Białorusi", "balony", "granica", "przemyt",
           "Wilno", "lotnisko"],
    "be": ["Салечнікі", "Мядзінінкай", "Лукашэнка", "Беларусь", "шары", "мяжа", "кантрабанда", "Вільня"],
    "de": ["Šalčininkai", "Medininkai", "Lukaschenko", "Belarus", "Ballons", "Grenze", "Schmuggel", "Vilnius",
           "Flughafen"],
}
SUBTOPICS = ("border_crossings", "smuggling", "airspace", "migration", "diplomacy", "freight_transit", "energy_nuclear")
QUERIES = [
    ("salcininkai", {"q": "salcininkai"}),
    ("lukashenko OR лукашенко", {"q": "lukashenko OR лукашенко"}),
    ("border AND belarus", {"q": "border AND belarus"}),
    ('"Vilnius airport"', {"q": '"Vilnius airport"'}),
    ("balion* OR balloon*", {"q": "balion* OR balloon*"}),
    ("title:medininkai, on topic, lt", {"q": "title:medininkai", "on_topic": "true", "lang": "lt"}),
    ("belarus, since 7d, by date", {"q": "belarus", "since": "7d", "sort": "date"}),
    ("belarus, state controlled", {"q": "belarus", "affiliation": "state_controlled"}),
    ("newest (no query)", {}),
    ("belarus, page 3", {"q": "belarus", "page": "3"}),
]


def _zipf(rng: random.Random, words: list[str], cumulative: list[float], k: int) -> list[str]:
    total = cumulative[-1]
    return [words[bisect.bisect(cumulative, rng.random() * total)] for _ in range(k)]


def _length(rng: random.Random) -> int:
    return max(80, min(2000, int(rng.lognormvariate(math.log(350), 0.55))))


def documents(count: int, rng: random.Random):
    """(Article, cluster id) for `count` synthetic articles, a fifth of them copies of a recent one."""
    words, cumulative = _vocabulary(rng)
    langs, weights = zip(*LANGUAGES, strict=True)
    recent: list[Article] = []
    for n in range(count):
        source = n % OUTLETS
        at = NOW - timedelta(minutes=n * 5 * 60 * 24 * 60 // max(count, 1) // 60)  # spread over ~60 days
        if recent and rng.random() < COPY_SHARE:
            original = rng.choice(recent[-500:])
            text = "VILNIUS (BNS) " + original.text
            article = Article(
                id=f"d{n}", url=f"https://outlet{source}.example/{n}", canonical_url=f"https://outlet{source}.example/{n}",
                source=f"outlet{source}", source_affiliation=AFFILIATIONS[source % len(AFFILIATIONS)],
                title=original.title, text=text, fetched_at=at, published_at=at, content_hash=f"h{n}",
                language=original.language, topic=original.topic, entities=original.entities,
                cluster_id=original.cluster_id, duplicate_of=original.id, dup_reason="near",
                story_id=original.story_id)
            yield article
            continue
        language = rng.choices(langs, weights)[0]
        body = _zipf(rng, words, cumulative, _length(rng))
        title = _zipf(rng, words, cumulative, rng.randint(6, 14))
        topical = rng.random() < TOPICAL_SHARE
        entities: tuple[str, ...] = ()
        subtopics: tuple[str, ...] = ()
        if topical:
            terms = TOPICAL[language]
            for _ in range(rng.randint(3, 9)):
                body.insert(rng.randrange(len(body)), rng.choice(terms))
            title.insert(rng.randrange(len(title)), rng.choice(terms))
            entities = tuple(dict.fromkeys(rng.choice(terms) for _ in range(3)))
            subtopics = tuple(dict.fromkeys(rng.choice(SUBTOPICS) for _ in range(2)))
        paragraphs = [" ".join(body[i:i + 60]) + "." for i in range(0, len(body), 60)]
        article = Article(
            id=f"d{n}", url=f"https://outlet{source}.example/{n}", canonical_url=f"https://outlet{source}.example/{n}",
            source=f"outlet{source}", source_affiliation=AFFILIATIONS[source % len(AFFILIATIONS)],
            title=" ".join(title).capitalize(), text="\n\n".join(paragraphs), fetched_at=at, published_at=at,
            content_hash=f"h{n}", language=language, entities=entities, cluster_id=f"d{n}",
            # A report of an event another outlet covered in another language joins that one's story.
            story_id=rng.choice(recent[-300:]).story_id if recent and rng.random() < TRANSLATED_SHARE else f"d{n}",
            topic=TopicResult("lt-by", topical, 0.8 if topical else 0.05, subtopics, entities))
        recent.append(article)
        yield article


def write_stories(engine, articles) -> None:
    """The stories of the synthetic articles, as newsmon.store.stories would have written them (without the
    signals its pair decisions compare, which the desk never reads)."""
    members, summaries = [], {}
    for a in articles:
        members.append({"article_id": a.id, "story_id": a.story_id, "cluster_id": a.cluster_id, "seen_at": a.published_at,
                        "language": a.language, "source": a.source, "affiliation": a.source_affiliation,
                        "title": a.title, "url": a.url, "signals": {}, "assigned_at": NOW})
        s = summaries.setdefault(a.story_id, {"story_id": a.story_id, "first_seen_at": a.published_at,
                                              "first_article_id": a.id, "last_seen_at": a.published_at, "size": 0,
                                              "languages": set(), "outlets": set()})
        s["size"] += 1
        s["languages"].add(a.language)
        s["outlets"].add(a.source)
        if a.published_at < s["first_seen_at"]:
            s["first_seen_at"], s["first_article_id"] = a.published_at, a.id
        s["last_seen_at"] = max(s["last_seen_at"], a.published_at)
    rows = [{**s, "languages": sorted(s["languages"]), "outlets": sorted(s["outlets"])} for s in summaries.values()]
    with engine.begin() as conn:
        conn.execute(story_members.insert(), members)
        conn.execute(stories.insert(), rows)


def build_store(directory: Path, count: int) -> Settings:
    settings = load_settings(home=directory, config_dir=directory / "config", state_dir=directory / "var",
                             state_url=None, search_backend="sqlite")
    (directory / "config").mkdir(parents=True, exist_ok=True)
    feeds = ["feeds:"] + [f"  - id: outlet{n}\n    name: Outlet {n}\n    url: https://outlet{n}.example/rss\n"
                          f"    language: {LANGUAGES[n % len(LANGUAGES)][0]}\n    affiliation: {AFFILIATIONS[n % 6]}\n"
                          "    evidence: benchmark outlet" for n in range(OUTLETS)]
    (directory / "config" / "feeds.yaml").write_text("\n".join(feeds) + "\n", encoding="utf-8")
    (directory / "config" / "alerts.yaml").write_text("rules: []\n", encoding="utf-8")
    (directory / "config" / "topics").mkdir(exist_ok=True)
    shutil.copy(REPO / "config" / "topics" / "lt-by.yaml", directory / "config" / "topics" / "lt-by.yaml")
    index = SqliteIndex(open_engine(settings.database_url))
    if index.count() >= count:
        print(f"reusing the store in {directory} ({index.count():,} documents)")
        return settings
    started = time.perf_counter()
    batch: list[Article] = []
    for article in documents(count, random.Random(SEED)):
        batch.append(article)
        if len(batch) == BATCH:
            index.put_articles(batch)
            batch.clear()
    if batch:
        index.put_articles(batch)
    write_stories(index.engine, documents(count, random.Random(SEED)))
    size_mib = sum(p.stat().st_size for p in (directory / "var").glob("newsmon.db*")) / 2**20
    print(f"built {index.count():,} documents in {time.perf_counter() - started:.0f} s ({size_mib:.0f} MiB)")
    return settings


def serve(settings: Settings) -> tuple[str, uvicorn.Server, threading.Thread]:
    app = create_app(settings=settings, clock=lambda: NOW, login_url=lambda back: back)
    app.dependency_overrides[airflow_user] = lambda: "bench"
    app.dependency_overrides[may_retry] = lambda: False
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return f"http://127.0.0.1:{port}", server, thread


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--store", type=Path, help="build the store here once and reuse it (default: a temp dir)")
    parser.add_argument("--repeat", type=int, default=20, help="timed requests per query (after one warm-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="newsmon-bench-desk-") as tmp:
        settings = build_store(args.store or Path(tmp), args.docs)
        url, server, thread = serve(settings)
        everything: list[float] = []
        print("\n| query | stories | p50 ms | p95 ms | max ms |\n|---|---:|---:|---:|---:|")
        with httpx.Client(base_url=url, timeout=60) as client:
            for label, params in QUERIES:
                first = client.get("/", params=params)
                first.raise_for_status()
                stories = first.text.count('<li class="story"')
                times = []
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    reply = client.get("/", params=params)
                    times.append((time.perf_counter() - started) * 1000)
                    reply.raise_for_status()
                everything += times
                print(f"| {label} | {stories} | {statistics.median(times):.0f} | {percentile(times, 0.95):.0f} | "
                      f"{max(times):.0f} |")
            key = client.get("/api/search", params={"q": "salcininkai"}).json()["stories"][0]["key"]
            story_times = []
            for _ in range(args.repeat):
                started = time.perf_counter()
                client.get(f"/story/{key}").raise_for_status()
                story_times.append((time.perf_counter() - started) * 1000)
        server.should_exit = True
        thread.join(10)
    p95 = percentile(everything, 0.95)
    print(f"\nall search pages: p50 {statistics.median(everything):.0f} ms, p95 {p95:.0f} ms over {len(everything)} "
          f"requests on {args.docs:,} documents (target p95 <= 200 ms: {'met' if p95 <= 200 else 'NOT met'})")
    print(f"story page: p50 {statistics.median(story_times):.0f} ms, p95 {percentile(story_times, 0.95):.0f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
