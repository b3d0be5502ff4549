"""Event-level stories: translations of one event join one story, other events stay apart, arrival order never matters."""

from __future__ import annotations

import importlib.util
import io
import json
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine
from story_fixtures import CLOSURE_EN, CLOSURE_LT, CLOSURE_RU, article, closure_articles, reaction_article

from newsmon.app.commands.dedup import answer_lines
from newsmon.enrich.story_signals import name_key, story_signals
from newsmon.store.clusters import assign_clusters
from newsmon.store.schema import metadata
from newsmon.store.stories import assign_stories, list_stories, stories_of

NOW = datetime(2025, 10, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]


def _engine():
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    return engine


def _assign(engine, batches):
    with engine.begin() as conn:
        for batch in batches:
            assign_stories(conn, assign_clusters(conn, batch, NOW), NOW)
        ids = [a.id for batch in batches for a in batch]
        return stories_of(conn, ids)


def test_dates_numbers_and_names_read_alike_in_english_lithuanian_and_russian():
    signals = [story_signals(*texts) for texts in (CLOSURE_EN, CLOSURE_LT, CLOSURE_RU)]
    for s in signals:
        assert "11-30" in s.dates
        assert "1000 truck" in s.quantities
    assert name_key("Рыженков") == name_key("Ryzhenkov") == name_key("Ryženkov")
    assert set(story_signals("", "Am 26. Oktober, 27.10.2025, 1,6 тыс. грузовиков").dates) == {"10-26", "10-27"}
    assert "1600 truck" in story_signals("", "на границе 1,6 тыс. грузовиков").quantities


def test_one_event_in_three_languages_is_one_story_named_after_its_oldest_article():
    closure = closure_articles()
    story_of = _assign(_engine(), [closure])
    assert set(story_of.values()) == {closure[1].id}  # the Lithuanian report was published first


def test_a_same_day_reaction_sharing_places_and_countries_stays_its_own_story():
    closure, reaction = closure_articles(), reaction_article()
    story_of = _assign(_engine(), [[*closure, reaction]])
    assert story_of[reaction.id] == reaction.id
    assert story_of[closure[2].id] != reaction.id


def test_stories_and_their_ids_do_not_depend_on_the_order_articles_arrive_in():
    everything = [*closure_articles(), reaction_article()]
    expected = _assign(_engine(), [everything])
    for seed in range(4):
        shuffled = list(everything)
        random.Random(seed).shuffle(shuffled)
        assert _assign(_engine(), [[a] for a in shuffled]) == expected


def test_a_translation_bridging_two_stories_merges_them_under_the_older_id():
    en = closure_articles()[0]
    # The Lithuanian and Russian reports share one name, too little alone; the English one shares two things with each.
    lt_alone = article("a2lt", ("Lietuva uždaro pasienio punktus", "Premjerė Inga Ruginienė sakė, kad liko apie 1 000 "
                                "sunkvežimių."), "lt", "lrt", hours=0)
    ru_alone = article("a3ru", ("Литва закрывает границу", "По словам премьера Ругинене, граница будет закрыта до "
                                "30 ноября."), "ru", "belta", hours=3)
    engine = _engine()
    first = _assign(engine, [[lt_alone], [ru_alone]])
    assert first[lt_alone.id] != first[ru_alone.id]
    merged = _assign(engine, [[en]])
    assert merged[en.id] == lt_alone.id
    with engine.connect() as conn:
        assert stories_of(conn, [ru_alone.id])[ru_alone.id] == lt_alone.id


def test_story_listing_groups_members_by_language_and_outlet_affiliation():
    engine = _engine()
    _assign(engine, [closure_articles()])
    [listing] = list_stories(engine, min_languages=3)
    assert listing.summary.languages == ("en", "lt", "ru")
    assert set(listing.by_language["ru"]) == {"state-controlled"}
    assert set(listing.by_language["lt"]) == {"public broadcaster"}
    assert set(listing.by_language["en"]) == {"international"}


def test_newsmon_dedup_prints_each_lines_story_and_takes_its_language():
    lines = [json.dumps({"url": a.url, "title": a.title, "text": a.text, "published_at": a.published_at.isoformat(),
                         "language": a.language, "entities": list(a.entities)}) for a in closure_articles()]
    engine = _engine()
    with engine.begin() as conn:
        out, bad = answer_lines(io.StringIO("\n".join(lines)), conn, NOW)
    assert bad == 0
    assert len({o["story_id"] for o in out}) == 1
    assert len({o["cluster_id"] for o in out}) == 3
    with engine.begin() as conn:
        out, _ = answer_lines(io.StringIO('{"url": "https://x.example/a", "text": "t", "language": 3}'), conn, NOW)
    assert out == [{"line": 1, "error": "language must be a string"}]


def _eval_module():
    spec = importlib.util.spec_from_file_location("eval_stories", REPO / "bench" / "eval_stories.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_crosslingual_story_figures_stay_at_their_floors():
    # Floors under the figures measured when the thresholds were frozen (docs/stories.md): they are far from
    # the F1 0.85, which signals without a text model do not reach on this set.
    ev = _eval_module()
    docs, pairs = ev.read_jsonl(ev.DATA / "docs.jsonl"), ev.read_jsonl(ev.DATA / "pairs.jsonl")
    held = ev.held_back_events(docs)
    story_of = ev.assign(ev.to_articles(docs), ev.SEED)
    report = ev.evaluate(docs, pairs, story_of, held)
    precision, recall, f1 = report.parts["all"]["ALL"].prf()
    assert precision >= 0.88 and recall >= 0.47 and f1 >= 0.62
    held_precision, _, held_f1 = report.parts["held-back"]["ALL"].prf()
    assert held_precision >= 0.95 and held_f1 >= 0.54
    assert report.same_day_false_merges["held-back"] == 0
    assert report.same_day_false_merges["all"] <= 3
