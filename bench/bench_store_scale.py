"""The embedded store at scale: search p50/p95 per typical query, clustering cost per new article, size per table.

Usage:
    .venv/bin/python bench/bench_store_scale.py --docs 100000                 # build a store, then measure
    .venv/bin/python bench/bench_store_scale.py --docs 1000000 --db /tmp/s.db # the 1 M figure (hours, ~20 GB)
    .venv/bin/python bench/bench_store_scale.py --db /tmp/s.db --reuse        # measure an existing store again
    .venv/bin/python bench/bench_store_scale.py --docs 1000000 --db /tmp/s.db --resume  # finish an interrupted build

Documents are synthetic but shaped like the monitored outlets' articles: languages in the proportions of
config/feeds.yaml (en, lt, ru, pl, be, de, lv), lengths log-normal around 450 words (5 % under 120, a
long tail to 3,000), a Zipf vocabulary per language with real function words at the top, the desk's
anchor terms (Vilnius, Lukashenko, border, Šalčininkai …) and phrases at the rates such outlets carry
them, 8 % copies of recent stories (same cluster), 5 % without a publication date, 2,000 articles a day
ending now. Which paths build what:

- search_docs + search_fts: the real `SqliteIndex.put_articles`, in batches like index runs (its time is
  reported as indexing throughput);
- articles (the staged/indexed rows with their full document JSON), clusters, seen_entries (the last
  90 days, as maintenance keeps them), runs (20,000, as record_run keeps them), alert_outbox: bulk
  inserts of the real row shapes, because only their size matters;
- dedup_docs: bulk rows without signatures for articles older than the LSH window (what maintenance leaves),
  and the real `fingerprint` + `assign_clusters` path for the last --lsh-docs articles, so the band
  tables hold what a deployment holds.

Then it times every typical query type (words, phrases, prefixes, OR, field filters, --since, --on-topic;
relevance and date order) through `SqliteIndex.search` as `newsmon search` calls it, the clustering cost
per new article at this size (real path, rolled back), `newsmon maintenance` on the store, and the size of
every table (SQLite's dbstat). Speed figures are wall-clock on a shared machine: run twice.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import sys
import time
from collections import deque
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from newsmon.core.documents import article_to_document  # noqa: E402
from newsmon.core.records import Article, TopicResult  # noqa: E402
from newsmon.enrich.dedup import content_hash, fingerprint  # noqa: E402
from newsmon.store.db import open_engine  # noqa: E402
from newsmon.store.index import SearchQuery  # noqa: E402
from newsmon.store.sqlite_index import SqliteIndex  # noqa: E402

SEED = 16
PER_DAY = 2000
COPY_SHARE = 0.08
UNDATED_SHARE = 0.05
BATCH = 2000
SEEN_KEEP_DAYS = 90
RUNS_KEPT = 20_000

# Share of articles per language, and the letters its made-up words are drawn from.
LANGUAGES = {
    "en": (0.34, "abcdefghijklmnopqrstuvwxyz"),
    "lt": (0.24, "aąbcčdeęėfghiįyjklmnoprsštuųūvzž"),
    "ru": (0.20, "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"),
    "pl": (0.08, "aąbcćdeęfghijklłmnńoóprsśtuwyzźż"),
    "be": (0.07, "абвгдеёжзійклмнопрстуўфхцчшыьэюя"),
    "de": (0.04, "abcdefghijklmnopqrstuvwxyzäöüß"),
    "lv": (0.03, "aābcčdeēfgģhiījkķlļmnņoprsštuūvzž"),
}
FUNCTION_WORDS = {
    "en": "the of and to in a is that for on with as was by at it from he said be",
    "lt": "ir kad yra su į iš o bet jau dar taip tai kaip nuo per buvo bus apie ar",
    "ru": "и в не на что с по как это из о к за у от для же но был так",
    "pl": "i w nie na się z że do to jest o jak po od za przez dla już ale",
    "be": "і ў не на што з па як гэта ад да за для але быў так ужо пра",
    "de": "der die und in den von zu das mit sich des auf für ist im dem nicht ein",
    "lv": "un ir ar uz par no kā bet arī lai tas ka pie ja vai tikai jau",
}
# Anchor terms with the share of a language's articles that carry them (the Lithuanian side first, then
# the Belarusian side: an article with both is on topic), and phrases that appear as units.
ANCHORS = {
    "en": ({"Lithuania": 0.35, "Vilnius": 0.2, "Medininkai": 0.006, "Šalčininkai": 0.004},
           {"Belarus": 0.35, "Minsk": 0.15, "Lukashenko": 0.1, "Astravets": 0.004},
           {"border": 0.2, "sanctions": 0.08, "balloons": 0.02, "checkpoint": 0.03, "migrants": 0.06,
            "border guards": 0.05, "Vilnius airport": 0.02, "State Border Guard Service": 0.02}),
    "lt": ({"Lietuva": 0.35, "Vilnius": 0.2, "Medininkai": 0.006, "Šalčininkai": 0.005},
           {"Baltarusija": 0.3, "Minskas": 0.1, "Lukašenka": 0.08, "Astravo": 0.004},
           {"pasienis": 0.12, "sankcijos": 0.06, "balionai": 0.02, "pasieniečiai": 0.04, "Vilniaus oro uostas": 0.02}),
    "ru": ({"Литва": 0.35, "Вильнюс": 0.15}, {"Беларусь": 0.35, "Минск": 0.2, "Лукашенко": 0.15},
           {"граница": 0.12, "санкции": 0.06, "шары": 0.01, "пограничники": 0.04}),
    "pl": ({"Litwa": 0.3, "Wilno": 0.15}, {"Białoruś": 0.35, "Mińsk": 0.1, "Łukaszenka": 0.1},
           {"granica": 0.15, "sankcje": 0.05, "balony": 0.01, "straż graniczna": 0.03}),
    "be": ({"Літва": 0.3, "Вільня": 0.15}, {"Беларусь": 0.4, "Мінск": 0.2, "Лукашэнка": 0.15},
           {"мяжа": 0.1, "санкцыі": 0.05}),
    "de": ({"Litauen": 0.3, "Wilna": 0.1}, {"Belarus": 0.3, "Minsk": 0.1, "Lukaschenko": 0.1},
           {"Grenze": 0.15, "Sanktionen": 0.05}),
    "lv": ({"Lietuva": 0.2, "Viļņa": 0.05}, {"Baltkrievija": 0.3, "Minska": 0.1}, {"robeža": 0.1}),
}
OUTLETS_PER_LANGUAGE = 6
SUBTOPICS = ("border", "migration", "airspace", "diplomacy", "military", "energy", "sanctions", "transit")

# Typical desk queries per type: (query, extra filters). Each runs in relevance and in date order.
QUERIES: dict[str, list[tuple[str, dict]]] = {
    "word": [("lukashenko", {}), ("vilnius", {}), ("border", {}), ("medininkai", {}), ("salcininkai", {}),
             ("astravets", {}), ("sanctions belarus", {}), ("лукашенко", {})],
    "phrase": [('"border guards"', {}), ('"vilnius airport"', {}), ('"state border guard service"', {}),
               ('"straz graniczna"', {})],
    "prefix": [("balloon*", {}), ("salcinink*", {}), ("lukash*", {}), ("sankc*", {}), ("granic*", {})],
    "or": [("medininkai OR salcininkai", {}), ("balloons OR balionai OR шары OR balony", {})],
    "field": [("source:en-1", {}), ("language:lt", {}), ("source:en-1 AND border", {}),
              ("language:ru AND лукашенко", {}), ("title:lukashenko", {})],
    "since": [("vilnius", {"since_days": 7}), ("border", {"since_days": 7}), ("language:lt", {"since_days": 7}),
              ("lukashenko", {"since_days": 1})],
    "on_topic": [("vilnius", {"on_topic": True}), ("lukashenko", {"on_topic": True}), ("border", {"on_topic": True})],
}


@dataclass
class Vocabulary:
    words: list[str]
    cumulative: list[float]


def _vocabularies(rng: random.Random, size: int = 40_000) -> dict[str, Vocabulary]:
    result = {}
    for language, (_share, letters) in LANGUAGES.items():
        made_up = {"".join(rng.choices(letters, k=max(2, int(rng.gauss(7, 2.5))))) for _ in range(size)}
        words = FUNCTION_WORDS[language].split() + sorted(made_up)
        # Zipf over ranks, function words first: the few very common words real text has (FTS5 keeps them all).
        result[language] = Vocabulary(words, list(accumulate(1.0 / (rank + 1) for rank in range(len(words)))))
    return result


def _words(rng: random.Random) -> int:
    return min(3000, max(40, int(rng.lognormvariate(math.log(450), 0.6))))


class Generator:
    """Chronological synthetic articles: `count` of them, PER_DAY a day, the last one published now."""

    def __init__(self, count: int, now: datetime) -> None:
        self.rng = random.Random(SEED)
        self.vocab = _vocabularies(self.rng)
        self.count = count
        self.start = now - timedelta(days=count / PER_DAY)
        self.languages = list(LANGUAGES)
        self.weights = [LANGUAGES[lang][0] for lang in self.languages]
        self.recent: deque[Article] = deque(maxlen=3000)

    def at(self, index: int) -> datetime:
        return self.start + timedelta(days=index / PER_DAY)

    def _sentence(self, language: str, n: int, anchors: list[str]) -> str:
        vocab = self.vocab[language]
        words = self.rng.choices(vocab.words, cum_weights=vocab.cumulative, k=n)
        for term in anchors:
            for _ in range(self.rng.randint(1, 3)):
                words.insert(self.rng.randrange(len(words) + 1), term)
        return " ".join(words)

    def article(self, index: int) -> Article:
        rng = self.rng
        fetched_at = self.at(index)
        if self.recent and rng.random() < COPY_SHARE:
            original = rng.choice(self.recent)
            outlet = f"{original.language}-{rng.randrange(OUTLETS_PER_LANGUAGE)}"
            text = "VILNIUS (BNS) " + original.text[: int(len(original.text) * rng.uniform(0.6, 1.0))]
            return replace(original, id=f"{index:012x}", url=f"https://{outlet}.example/n/{index}",
                           canonical_url=f"https://{outlet}.example/n/{index}", source=outlet, text=text,
                           content_hash=content_hash(text), fetched_at=fetched_at,
                           published_at=fetched_at - timedelta(minutes=rng.randint(1, 90)),
                           duplicate_of=original.id, dup_reason="near")
        language = rng.choices(self.languages, weights=self.weights)[0]
        lt_side, by_side, other = ANCHORS[language]
        chosen = {side: [t for t, p in terms.items() if rng.random() < p] for side, terms in
                  (("lt", lt_side), ("by", by_side), ("other", other))}
        terms = [t for side in chosen.values() for t in side]
        n_words = _words(rng)
        paragraphs, left = [], n_words
        while left > 0:
            n = min(left, rng.randint(30, 90))
            paragraphs.append(self._sentence(language, n, [t for t in terms if rng.random() < n / n_words]))
            left -= n
        text = "\n\n".join(paragraphs)
        title = self._sentence(language, rng.randint(6, 12), terms[:2])
        on_topic = bool(chosen["lt"] and chosen["by"])
        outlet = f"{language}-{rng.randrange(OUTLETS_PER_LANGUAGE)}"
        article_id = f"{index:012x}"
        url = f"https://{outlet}.example/n/{index}"
        topic = TopicResult("lt-by", on_topic, round(rng.uniform(0.4, 1.0), 3) if on_topic else round(rng.uniform(0, 0.3), 3),
                            tuple(rng.sample(SUBTOPICS, rng.randint(1, 2))) if on_topic else (),
                            tuple(t for t in terms if t[0].isupper())[:4])
        article = Article(
            id=article_id, url=url, canonical_url=url, source=outlet, title=title, text=text, fetched_at=fetched_at,
            content_hash=content_hash(text), source_affiliation="independent", source_country=language.upper(),
            feed_url=f"https://{outlet}.example/rss", summary=paragraphs[0][:300], language=language,
            published_at=None if rng.random() < UNDATED_SHARE else fetched_at - timedelta(minutes=rng.randint(1, 120)),
            topic=topic, entities=topic.entities, cluster_id=article_id,
        )
        self.recent.append(article)
        return article


# ---------------------------------------------------------------- build


def _article_row(article: Article) -> dict:
    return {"id": article.id, "canonical_url": article.canonical_url, "feed_id": article.source,
            "source": article.source, "content_hash": article.content_hash, "published_at": article.published_at,
            "staged_at": article.fetched_at, "status": "indexed", "cluster_id": article.cluster_id,
            "duplicate_of": article.duplicate_of, "dup_reason": article.dup_reason, "alerted": True,
            "doc": article_to_document(article)}


def _dedup_row(article: Article, seq: int) -> dict:
    return {"article_id": article.id, "seq": seq, "cluster_id": article.cluster_id, "duplicate_of": article.duplicate_of,
            "dup_reason": article.dup_reason, "content_hash": article.content_hash, "shingles": article.word_count,
            "signature": None, "seen_at": article.published_at or article.fetched_at, "source": article.source,
            "assigned_at": article.fetched_at}


def build(db: Path, count: int, lsh_docs: int, now: datetime, done_before: int = 0) -> dict:
    from newsmon.store.clusters import assign_clusters
    from newsmon.store.schema import alert_outbox, articles, clusters, dedup_docs, runs, seen_entries

    engine = open_engine(f"sqlite:///{db}")
    index = SqliteIndex(engine)
    gen = Generator(count, now)
    timings = {"generate_s": 0.0, "put_articles_s": 0.0, "bulk_rows_s": 0.0, "fingerprint_s": 0.0, "assign_s": 0.0}
    cluster_rows: dict[str, dict] = {}
    seen_since = now - timedelta(days=SEEN_KEEP_DAYS)
    window_start = count - lsh_docs
    started = time.perf_counter()
    if done_before:  # an interrupted build: the same articles again, for the generator's state and the cluster rows
        if done_before > window_start:
            raise SystemExit(f"cannot resume inside the clustering window (article {window_start:,} on): build anew")
        for i in range(done_before):
            _count_cluster_row(cluster_rows, gen.article(i))
        print(f"  resumed after {done_before:,} stored documents ({time.perf_counter() - started:.0f} s to regenerate)",
              file=sys.stderr, flush=True)
    for first in range(done_before, count, BATCH):
        t0 = time.perf_counter()
        batch = [gen.article(i) for i in range(first, min(count, first + BATCH))]
        t1 = time.perf_counter()
        timings["generate_s"] += t1 - t0
        old = [a for i, a in enumerate(batch, first) if i < window_start]
        fresh = [a for i, a in enumerate(batch, first) if i >= window_start]
        if fresh:  # the real clustering path: fingerprints, LSH bands, cluster rows
            t2 = time.perf_counter()
            fresh = [replace(a, cluster_id=None, duplicate_of=None, dup_reason=None, fingerprint=fingerprint(a.text))
                     for a in fresh]
            t3 = time.perf_counter()
            with engine.begin() as conn:
                fresh = assign_clusters(conn, fresh, now)
            timings["fingerprint_s"] += t3 - t2
            timings["assign_s"] += time.perf_counter() - t3
        batch = old + fresh
        t4 = time.perf_counter()
        index.put_articles(batch)
        t5 = time.perf_counter()
        timings["put_articles_s"] += t5 - t4
        with engine.begin() as conn:
            conn.execute(articles.insert(), [_article_row(a) for a in batch])
            if old:
                conn.execute(dedup_docs.insert(), [_dedup_row(a, i + 1) for i, a in enumerate(old, first)])
                for a in old:
                    _count_cluster_row(cluster_rows, a)
            seen = [{"feed_id": a.source, "entry_key": a.id, "outcome": "staged", "article_id": a.id, "seen_at": a.fetched_at}
                    for a in batch if a.fetched_at >= seen_since]
            if seen:
                conn.execute(seen_entries.insert(), seen)
        timings["bulk_rows_s"] += time.perf_counter() - t5
        done = first + len(batch)
        if done % (BATCH * 25) == 0 or done == count:
            rate = done / (time.perf_counter() - started)
            print(f"  {done:>9,} documents, {rate:,.0f}/s overall", file=sys.stderr, flush=True)
    with engine.begin() as conn:
        rows = [{**r, "outlets": sorted(r["outlets"])} for r in cluster_rows.values()]
        for start in range(0, len(rows), 5000):
            conn.execute(clusters.insert(), rows[start:start + 5000])
        counts = {"feeds_polled": 3, "entries_new": 12, "pages_fetched": 12, "staged": 11, "skipped": 1,
                  "skipped_reasons": {"extraction.no_main_text": 1},
                  "examples": [{"key": "extraction.no_main_text", "detail": "feed en-1: https://en-1.example/n/1 " * 3}]}
        conn.execute(runs.insert(), [{"stage": "poll", "started_at": now, "finished_at": now, "counts": counts}
                                     for _ in range(RUNS_KEPT)])
        conn.execute(alert_outbox.insert(), [
            {"rule": f"rule-{i % 5}", "cluster_id": f"c{i}", "article_id": f"c{i}", "mode": "instant", "status": "sent",
             "attempts": 1, "created_at": now, "sent_at": now, "payload": {"title": "t" * 80, "url": "https://x.example/" * 4,
                                                                          "snippet": "s" * 300}}
            for i in range(5 * 180 * 10)])  # five rules, ten stories a day each, 180 days kept
    timings["total_s"] = time.perf_counter() - started
    return {k: round(v, 1) for k, v in timings.items()}


def _count_cluster_row(cluster_rows: dict[str, dict], a: Article) -> None:
    row = cluster_rows.setdefault(a.cluster_id, {"cluster_id": a.cluster_id, "first_seen_at": a.fetched_at,
                                                 "first_article_id": a.id, "size": 0, "outlets": set()})
    row["size"] += 1
    row["outlets"].add(a.source)


def _resume_point(db: Path, count: int) -> tuple[int, datetime]:
    """How many articles an interrupted build stored (each batch commits its articles last) and its `now`."""
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        done = conn.execute("SELECT count(*) FROM articles").fetchone()[0]
        first = conn.execute("SELECT fetched_at FROM search_docs WHERE id = :id", {"id": f"{0:012x}"}).fetchone()
    finally:
        conn.close()
    if not done or first is None:
        raise SystemExit(f"{db} holds no article of a build to resume")
    return done, datetime.fromisoformat(first[0]) + timedelta(days=count / PER_DAY)


def _newest_article_at(db: Path) -> datetime:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        (newest,) = conn.execute("SELECT fetched_at FROM search_docs ORDER BY rowid DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return datetime.fromisoformat(newest)


# ---------------------------------------------------------------- measure


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def measure_queries(db: Path, now: datetime, repeats: int) -> list[dict]:
    index = SqliteIndex(open_engine(f"sqlite:///{db}"))
    rows = []
    for kind, queries in QUERIES.items():
        for sort in ("relevance", "date"):
            times, hits = [], []
            for q, extra in queries:
                query = SearchQuery(q=q, sort=sort, limit=20, on_topic=extra.get("on_topic"),
                                    since=now - timedelta(days=extra["since_days"]) if "since_days" in extra else None)
                index.search(query)  # warm: what an analyst's second query meets
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    found = index.search(query)
                    times.append(1000 * (time.perf_counter() - t0))
                hits.append(len(found))
            rows.append({"type": kind, "sort": sort, "queries": len(queries), "p50_ms": round(_percentile(times, 0.5), 1),
                         "p95_ms": round(_percentile(times, 0.95), 1), "max_ms": round(max(times), 1),
                         "slowest": queries[max(range(len(times)), key=times.__getitem__) // repeats][0],
                         "hits": hits})
    return rows


def measure_clustering(db: Path, now: datetime, articles_n: int = 400, batch: int = 100) -> dict:
    """Fingerprint + assign_clusters for new articles (a fifth of them copies of recent ones), rolled back."""
    from newsmon.store.clusters import assign_clusters

    engine = open_engine(f"sqlite:///{db}")
    gen = Generator(articles_n + 3000, now + timedelta(days=2))
    gen.rng = random.Random(SEED + 1)
    for i in range(3000):
        gen.article(i)  # fills gen.recent with plausible originals (not stored: copies become new stories)
    new = [gen.article(3000 + i) for i in range(articles_n)]
    new = [replace(a, id=f"new{i:08d}", cluster_id=None, duplicate_of=None, dup_reason=None) for i, a in enumerate(new)]
    fp_s = assign_s = 0.0
    with engine.connect() as conn:
        trans = conn.begin()
        for start in range(0, len(new), batch):
            t0 = time.perf_counter()
            chunk = [replace(a, fingerprint=fingerprint(a.text)) for a in new[start:start + batch]]
            t1 = time.perf_counter()
            assign_clusters(conn, chunk, now)
            fp_s += t1 - t0
            assign_s += time.perf_counter() - t1
        trans.rollback()
    return {"new_articles": articles_n, "batch": batch, "fingerprint_ms_per_article": round(1000 * fp_s / articles_n, 2),
            "assign_ms_per_article": round(1000 * assign_s / articles_n, 2)}


def measure_sizes(db: Path) -> dict:
    import sqlite3

    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
        tables = {name: sql for name, sql in conn.execute("SELECT name, tbl_name FROM sqlite_master")}
        sizes: dict[str, int] = {}
        for name, size in rows:
            owner = tables.get(name, name)
            owner = "search_fts (FTS5 index)" if owner.startswith("search_fts") else owner
            sizes[owner] = sizes.get(owner, 0) + int(size)
        total = sum(sizes.values())
        doc_bytes = {
            "articles.doc": conn.execute("SELECT SUM(length(doc)) FROM articles").fetchone()[0] or 0,
            "search_docs.doc": conn.execute("SELECT SUM(length(doc)) FROM search_docs").fetchone()[0] or 0,
            "search_docs text+title+summary": conn.execute(
                "SELECT SUM(length(text) + length(title) + IFNULL(length(summary), 0)) FROM search_docs").fetchone()[0] or 0,
            "search_docs folded copies": conn.execute(
                "SELECT SUM(length(text_f) + length(title_f) + IFNULL(length(summary_f), 0)) FROM search_docs").fetchone()[0] or 0,
        }
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in (
            "search_docs", "articles", "dedup_docs", "clusters", "seen_entries", "runs", "alert_outbox", "feed_state",
            "dedup_bands", "dedup_bands_mid", "dedup_bands_recent", "dedup_common_bands", "newsmon_meta")}
    finally:
        conn.close()
    files = {p.name: p.stat().st_size for p in db.parent.glob(db.name + "*")}
    return {"file_bytes": files, "total_bytes": total,
            "tables": {k: {"mib": round(v / 2**20, 1), "share": round(v / total, 3)} for k, v in sizes.items() if v > 2**16},
            "bytes_of_json_and_text_mib": {k: round(v / 2**20, 1) for k, v in doc_bytes.items()}, "rows": counts}


def measure_maintenance(db: Path, now: datetime) -> dict:
    from newsmon.app.maintenance import run_maintenance
    from newsmon.core.settings import load_settings

    settings = load_settings(state_url=f"sqlite:///{db}", state_dir=db.parent)
    t0 = time.perf_counter()
    counts = run_maintenance(settings, now)
    return {"seconds": round(time.perf_counter() - t0, 1), **counts}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--lsh-docs", type=int, help="articles clustered on the real path (default: 30 days' worth, "
                                                      "at most --docs)")
    parser.add_argument("--db", type=Path, help="store file (default: a new one under /tmp)")
    parser.add_argument("--reuse", action="store_true", help="measure the store at --db without building it")
    parser.add_argument("--resume", action="store_true", help="finish the interrupted build of --docs at --db, then measure")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs of each query")
    parser.add_argument("--maintenance", action="store_true", help="also time `newsmon maintenance` on the store")
    parser.add_argument("--json", type=Path, help="also write every figure to this file")
    args = parser.parse_args(argv)
    db = args.db or Path(f"/tmp/newsmon-scale-{args.docs}/newsmon.db")
    db.parent.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    stamp = db.with_name(db.name + ".built-at")
    if args.reuse and stamp.exists():
        now = datetime.fromisoformat(stamp.read_text().strip())  # --since windows as at build time
    elif args.reuse:  # a build stopped part-way: its newest article is "now", so --since 1d still finds a day
        now = _newest_article_at(db)
    done_before = 0
    if args.resume:
        if stamp.exists():
            parser.error(f"{db} was built completely: pass --reuse to measure it")
        done_before, now = _resume_point(db, args.docs)
    report: dict = {"store": str(db), "now": now.isoformat()}
    if not args.reuse:
        if db.exists() and not args.resume:
            parser.error(f"{db} exists: pass --reuse to measure it, or remove it to build a new one")
        lsh_docs = min(args.docs, args.lsh_docs if args.lsh_docs is not None else 30 * PER_DAY)
        print(f"building {args.docs:,} documents into {db} ({lsh_docs:,} through the real clustering path)",
              file=sys.stderr)
        report["build"] = build(db, args.docs, lsh_docs, now, done_before)
        report["build"]["resumed_after"] = done_before
        stamp.write_text(now.isoformat())
        report["build"]["put_articles_docs_per_s"] = round((args.docs - done_before) / report["build"]["put_articles_s"], 0)
    report["queries"] = measure_queries(db, now, args.repeats)
    report["clustering"] = measure_clustering(db, now)
    if args.maintenance:
        report["maintenance"] = measure_maintenance(db, now)
    report["sizes"] = measure_sizes(db)
    _print(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
    return 0


def _print(report: dict) -> None:
    sizes = report["sizes"]
    print(f"store: {report['store']}, {sizes['rows']['search_docs']:,} documents")
    if "build" in report:
        print("build:", ", ".join(f"{k} {v}" for k, v in report["build"].items()))
    print(f"{'query type':10} {'sort':9} {'n':>2} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8}  slowest / hits per query")
    for row in report["queries"]:
        print(f"{row['type']:10} {row['sort']:9} {row['queries']:>2} {row['p50_ms']:>8} {row['p95_ms']:>8} "
              f"{row['max_ms']:>8}  {row['slowest']!r} / {row['hits']}")
    print("clustering per new article:", report["clustering"])
    if "maintenance" in report:
        print("maintenance:", report["maintenance"])
    print("files:", {k: f"{v / 2**20:,.0f} MiB" for k, v in sizes["file_bytes"].items()})
    for name, size in sizes["tables"].items():
        print(f"  {name:32} {size['mib']:>10,.1f} MiB  {100 * size['share']:5.1f} %")
    print("JSON and text bytes (MiB):", sizes["bytes_of_json_and_text_mib"])
    print("rows:", sizes["rows"])
    print(f"median of all p95: {statistics.median(r['p95_ms'] for r in report['queries'])} ms")


if __name__ == "__main__":
    raise SystemExit(main())
