"""Story clusters in the state DB: copies join one cluster, different stories do not, across runs and workers."""

from __future__ import annotations

import dataclasses
import json
import random
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from shared_notes import require, shared_dir
from sqlalchemy import Engine, create_engine, func, select
from test_dedup_fixtures import (
    ASTRAVETS,
    BALLOONS,
    BALLOONS_OTHER_ARTICLE,
    BALLOONS_UPDATE_EXTRA,
    BASE_AT,
    FENCE,
    LT_BALLOONS,
    RU_BALLOONS,
    article,
    wire_copy,
)

import newsmon.store.clusters as clusters_mod
import newsmon.store.clusters_persist as clusters_persist
from newsmon.core.records import Article
from newsmon.store.clusters import assign_clusters, cluster_info
from newsmon.store.db import open_engine
from newsmon.store.schema import (
    BAND_TABLES,
    clusters,
    dedup_bands,
    dedup_bands_recent,
    dedup_common_bands,
    dedup_docs,
    metadata,
)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = create_engine(f"sqlite:///{tmp_path / 'state.db'}")
    metadata.create_all(engine)
    return engine


def assign(engine: Engine, articles: list[Article]) -> list[Article]:
    with engine.begin() as conn:
        return assign_clusters(conn, articles, BASE_AT + timedelta(hours=1))


def story_copies() -> list[Article]:
    """One story as five outlets carry it, plus three unrelated stories."""
    return [
        article("https://www.lrt.lt/naujienos/lietuvoje/2/2712345/balionai", BALLOONS, minutes=0, source="LRT"),
        article(
            "https://www.delfi.lt/news/daily/lithuania/balionai.d?id=97654321",
            wire_copy(BALLOONS, "VILNIUS, Oct 28 (BNS) –", "Copying this BNS report without written consent is prohibited."),
            minutes=5,
            source="Delfi",
        ),
        article("https://www.15min.lt/naujiena/aktualu/lietuva/balionai-56-2450011", BALLOONS.upper(), minutes=7, source="15min"),
        article(
            "https://www.lrt.lt/naujienos/lietuvoje/2/2712399/balionai-atnaujinta",
            BALLOONS_UPDATE_EXTRA + "\n\n" + BALLOONS,
            minutes=90,
            source="LRT",
        ),
        article("https://www.tvp.info/balony-litwa-1", " ".join(BALLOONS.split()[:80]) + " …", minutes=12, source="TVP"),
        article("https://www.lrt.lt/naujienos/lietuvoje/2/2712400/tvora", FENCE, minutes=20, source="LRT"),
        article("https://www.delfi.lt/news/daily/lithuania/astravas.d?id=97654400", ASTRAVETS, minutes=25, source="Delfi"),
        article("https://www.15min.lt/naujiena/aktualu/lietuva/oro-uostas-56-2450100", BALLOONS_OTHER_ARTICLE, minutes=30, source="15min"),
    ]


def test_copies_updates_and_truncations_of_one_story_share_one_cluster(engine: Engine) -> None:
    result = {a.url: a for a in assign(engine, story_copies())}
    arts = list(result.values())
    story, others = arts[:5], arts[5:]
    assert {a.cluster_id for a in story} == {story[0].id}
    assert [a.dup_reason for a in story] == [None, "near", "exact", "near", "near"]
    assert all(a.duplicate_of for a in story[1:])
    assert len({a.cluster_id for a in others} | {story[0].cluster_id}) == 4


def test_a_different_article_on_the_same_event_is_its_own_story(engine: Engine) -> None:
    by_text = {a.text: a for a in assign(engine, story_copies())}
    assert by_text[BALLOONS_OTHER_ARTICLE].cluster_id != by_text[BALLOONS].cluster_id
    assert by_text[BALLOONS_OTHER_ARTICLE].dup_reason is None


def test_translations_are_separate_stories(engine: Engine) -> None:
    # Cross-language matching is out of scope: each language's version is its own cluster.
    result = assign(
        engine,
        [
            article("https://www.lrt.lt/a/1", BALLOONS),
            article("https://www.lrt.lt/b/2", LT_BALLOONS),
            article("https://ru.lrt.lt/c/3", RU_BALLOONS),
        ],
    )
    assert len({a.cluster_id for a in result}) == 3


def test_cluster_records_size_first_seen_and_outlets_for_also_reported_by(engine: Engine) -> None:
    assigned = assign(engine, story_copies())
    with engine.connect() as conn:
        info = cluster_info(conn, [assigned[0].cluster_id])[assigned[0].cluster_id]
    assert info["size"] == 5
    assert info["outlets"] == ["15min", "Delfi", "LRT", "TVP"]
    assert info["outlet_count"] == 4
    assert info["first_seen_at"] == BASE_AT
    assert info["first_article_id"] == assigned[0].id


def test_assignment_does_not_depend_on_the_order_articles_were_staged(tmp_path: Path) -> None:
    articles = story_copies()
    outcomes = []
    for attempt in range(3):
        engine = create_engine(f"sqlite:///{tmp_path / f'state{attempt}.db'}")
        metadata.create_all(engine)
        shuffled = articles[:]
        random.Random(attempt).shuffle(shuffled)
        outcomes.append(sorted((a.id, a.cluster_id, a.duplicate_of, a.dup_reason) for a in assign(engine, shuffled)))
    assert outcomes[0] == outcomes[1] == outcomes[2]


def _snapshot(engine: Engine) -> tuple:
    with engine.connect() as conn:
        return (
            sorted(tuple(r) for r in conn.execute(select(clusters.c.cluster_id, clusters.c.size, clusters.c.outlets))),
            conn.execute(select(func.count()).select_from(dedup_docs)).scalar_one(),
            sum(conn.execute(select(func.count()).select_from(table)).scalar_one() for table in BAND_TABLES),
        )


def test_rerunning_a_run_changes_nothing(engine: Engine) -> None:
    articles = story_copies()
    first = assign(engine, articles)
    before = _snapshot(engine)
    again = assign(engine, list(reversed(articles)))
    assert _snapshot(engine) == before
    assert {a.id: a.cluster_id for a in again} == {a.id: a.cluster_id for a in first}
    assert {a.id: a.dup_reason for a in again} == {a.id: a.dup_reason for a in first}


def test_a_copy_arriving_in_a_later_run_joins_the_existing_story(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = open_engine(url)
    first = assign(engine, story_copies()[:1])[0]
    engine.dispose()
    # A new process: nothing in memory, only the state DB.
    engine = open_engine(url)
    later = article(
        "https://www.belta.by/society/view/shary-712345-2025/",
        wire_copy(BALLOONS, "MINSK, Oct 29 –", "Subscribe to our channel to get the news first."),
        minutes=600,
    )
    assert assign(engine, [later])[0].cluster_id == first.cluster_id


def test_short_texts_never_merge_unrelated_stories(engine: Engine) -> None:
    paywall = "Subscribe to read the full article."
    result = assign(engine, [article("https://www.lrt.lt/a/1", paywall), article("https://www.delfi.lt/b/2", paywall)])
    assert result[0].cluster_id != result[1].cluster_id


def test_outlet_template_text_does_not_make_bucket_lookups_grow(engine: Engine) -> None:
    header = "Home | Politics | Region | Opinion | Video. Latest news from the Baltic states, updated every hour by our newsroom."
    footer = "Share this article. Comments are moderated. All rights reserved. Subscribe to the newsletter for the morning briefing."
    rng = random.Random(3)
    vocabulary = BALLOONS.split() + FENCE.split() + ASTRAVETS.split()
    many = [
        article(f"https://www.example-outlet.lt/news/{i}", f"{header}\n\n{' '.join(rng.choices(vocabulary, k=120))}\n\n{footer}", minutes=i)
        for i in range(clusters_mod.BUCKET_CAP * 2)
    ]
    assign(engine, many)
    with engine.connect() as conn:
        largest = conn.execute(
            select(func.count())
            .select_from(dedup_bands_recent)
            .group_by(dedup_bands_recent.c.band_key)
            .order_by(func.count().desc())
            .limit(1)
        ).scalar_one()
    assert largest <= clusters_mod.BUCKET_CAP


def test_outlet_template_bands_stop_being_looked_up_yet_a_copy_inside_the_template_is_still_found(engine: Engine) -> None:
    header = "Home | Politics | Region | Opinion | Video. Latest news from the Baltic states, updated every hour by our newsroom."
    footer = "Share this article. Comments are moderated. All rights reserved. Subscribe to the newsletter for the morning briefing."
    rng = random.Random(5)
    vocabulary = BALLOONS.split() + FENCE.split() + ASTRAVETS.split()
    bodies = [" ".join(rng.choices(vocabulary, k=120)) for _ in range(clusters_mod.BUCKET_CAP * 3)]
    many = [
        article(f"https://www.example-outlet.lt/news/{i}", f"{header}\n\n{body}\n\n{footer}", minutes=i)
        for i, body in enumerate(bodies)
    ]
    for start in range(0, len(many), 20):  # several runs, as in production
        assign(engine, many[start : start + 20])
    with engine.connect() as conn:
        common = conn.execute(select(func.count()).select_from(dedup_common_bands)).scalar_one()
        stories = conn.execute(select(func.count()).select_from(clusters)).scalar_one()
    assert common > 0
    assert stories == len(many)  # the shared template never joined two different articles

    original = many[7]
    words = bodies[7].split()
    words[10], words[60] = "Lithuanian", "Minsk"  # a lightly edited copy on the same outlet template
    copy = article("https://www.example-outlet.lt/news/copy", f"{header}\n\n{' '.join(words)}\n\n{footer}", minutes=500)
    (result,) = assign(engine, [copy])
    assert (result.cluster_id, result.dup_reason) == (original.id, "near")


def _stage_in_worker(url: str, item: Article, started: threading.Event | None, hold_s: float, out: dict) -> None:
    engine = open_engine(url)
    try:
        with engine.begin() as conn:
            # Like the pipeline: read the staged rows first, in the same transaction.
            conn.execute(select(func.count()).select_from(dedup_docs)).scalar_one()
            assigned = assign_clusters(conn, [item], BASE_AT)
            if started is not None:
                started.set()
                # Keep the transaction open: the other worker decides while this one has not committed.
                threading.Event().wait(hold_s)
        out[item.id] = assigned[0]
    finally:
        engine.dispose()


def test_two_workers_staging_copies_of_one_story_concurrently_make_one_cluster(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_engine(url).dispose()
    copy_a = article("https://www.lrt.lt/naujienos/1/2700001/balionai", BALLOONS, minutes=0)
    copy_b = article(
        "https://www.delfi.lt/news/a.d?id=1", wire_copy(BALLOONS, "VILNIUS (ELTA).", "Reprinting is prohibited."), minutes=1
    )
    results: dict[str, Article] = {}
    started = threading.Event()
    first = threading.Thread(target=_stage_in_worker, args=(url, copy_a, started, 0.5, results))
    first.start()
    assert started.wait(10)
    second = threading.Thread(target=_stage_in_worker, args=(url, copy_b, None, 0, results))
    second.start()
    first.join(20)
    second.join(20)
    assert set(results) == {copy_a.id, copy_b.id}
    assert results[copy_a.id].cluster_id == results[copy_b.id].cluster_id == copy_a.id
    assert results[copy_b.id].dup_reason == "near"
    engine = open_engine(url)
    with engine.connect() as conn:
        info = cluster_info(conn, [copy_a.id])
        assert conn.execute(select(func.count()).select_from(clusters)).scalar_one() == 1
    assert info[copy_a.id]["size"] == 2


def test_copies_in_one_run_cluster_by_publication_time_not_staging_order(engine: Engine) -> None:
    early = dataclasses.replace(article("https://www.lrt.lt/a/1", BALLOONS, minutes=50), published_at=BASE_AT)
    late_but_staged_first = article("https://www.delfi.lt/b/2", BALLOONS.upper(), minutes=10, published=True)
    result = {a.id: a for a in assign(engine, [late_but_staged_first, early])}
    assert result[early.id].dup_reason is None
    assert result[late_but_staged_first.id].duplicate_of == early.id


@pytest.mark.slow
def test_shared_real_pairs_keep_f1_above_the_floor() -> None:
    base = shared_dir() / "corpus" / "dedup"
    require(base / "pairs.jsonl", "shared dedup corpus")
    texts = {}
    with open(base / "docs.jsonl", encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            texts[row["id"]] = row["text"]
    tp = fp = fn = 0
    with open(base / "pairs.jsonl", encoding="utf-8") as handle:
        pairs = [json.loads(line) for line in handle]
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    for pair in pairs:
        if pair["bucket"] == "partial":
            continue
        a = article(f"https://a.example/{pair['doc_a']}", texts[pair["doc_a"]], minutes=0)
        b = article(f"https://b.example/{pair['doc_b']}", texts[pair["doc_b"]], minutes=1)
        with engine.connect() as conn:
            transaction = conn.begin()
            first, second = assign_clusters(conn, [a, b], BASE_AT)
            transaction.rollback()
        same, predicted = pair["bucket"] in {"exact", "near"}, first.cluster_id == second.cluster_id
        tp += same and predicted
        fp += (not same) and predicted
        fn += same and not predicted
    f1 = 2 * tp / (2 * tp + fp + fn)
    assert f1 >= 0.95, f"pair F1 {f1:.3f} (tp={tp} fp={fp} fn={fn}); run bench/eval_dedup.py for the per-bucket table"


def test_pruning_old_lsh_state_keeps_exact_matches_and_clusters_but_frees_the_bands(engine: Engine) -> None:
    old = article("https://www.lrt.lt/naujienos/1/2700001/balionai", BALLOONS, minutes=0)
    fence = article("https://www.lrt.lt/naujienos/1/2700002/tvora", FENCE, minutes=1)
    assign(engine, [old, fence])
    with engine.begin() as conn:
        pruned = clusters_mod.prune_lsh(conn, BASE_AT + timedelta(days=1))
    assert pruned == 2
    assert _snapshot(engine)[2] == 0
    later_exact = article("https://www.delfi.lt/news/a.d?id=5", BALLOONS.upper(), minutes=3000)
    later_near = article("https://www.15min.lt/naujiena/b-56-7", wire_copy(FENCE, "VILNIUS (BNS) –", "All rights reserved."), minutes=3000)
    result = {a.id: a for a in assign(engine, [later_exact, later_near])}
    assert result[later_exact.id].cluster_id == old.id and result[later_exact.id].dup_reason == "exact"
    # Outside the window a reworded copy starts a new story: the price of a bounded band table.
    assert result[later_near.id].cluster_id == later_near.id
    again = {a.id: a.cluster_id for a in assign(engine, [old, fence])}
    assert again == {old.id: old.id, fence.id: fence.id}


def test_story_detection_is_the_same_when_band_rows_were_merged_between_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    articles = story_copies()
    one_run = create_engine(f"sqlite:///{tmp_path / 'one.db'}")
    metadata.create_all(one_run)
    expected = sorted((a.id, a.cluster_id, a.dup_reason) for a in assign(one_run, articles))
    monkeypatch.setattr(clusters_persist, "MERGE_EVERY_DOCS", 2)
    monkeypatch.setattr(clusters_persist, "MID_MERGES", 2)
    many_runs = create_engine(f"sqlite:///{tmp_path / 'many.db'}")
    metadata.create_all(many_runs)
    ordered = sorted(articles, key=lambda a: (a.fetched_at, a.id))
    got = sorted((a.id, a.cluster_id, a.dup_reason) for item in ordered for a in assign(many_runs, [item]))
    assert got == expected
    with many_runs.connect() as conn:
        assert conn.execute(select(func.count()).select_from(dedup_bands)).scalar_one() > 0
