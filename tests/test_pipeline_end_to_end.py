"""The whole pipeline on the demo site: real HTTP, real trafilatura, real SQLite, real SMTP."""

from __future__ import annotations

import json
import smtplib
import unicodedata
from dataclasses import replace
from datetime import UTC

from sqlalchemy import func, select

from newsmon.app.demo import content as demo_content
from newsmon.app.demo.fixture_server import Route
from newsmon.app.stages.alert import send_alerts
from newsmon.app.stages.index import cluster_and_index
from newsmon.app.stages.run import run_once
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery
from newsmon.store.schema import alert_outbox


def _index(settings):
    return open_index(settings, open_engine(settings.database_url))


def _hits(settings, q, **kw):
    return _index(settings).search(SearchQuery(q=q, **kw))


def test_demo_run_indexes_every_good_article_and_mails_one_alert_per_story(demo_env):
    summary = run_once(demo_env.settings)

    assert summary.index["indexed"] == len(demo_content.ARTICLES)
    assert _index(demo_env.settings).count() == len(demo_content.ARTICLES)
    subjects = sorted(str(m["Subject"]) for m in demo_env.smtp.messages)
    # Story A arrives from two outlets but is one story: one mail for it, one for the Lithuanian report.
    assert len(subjects) == 2, subjects
    assert any("Medininkai" in s for s in subjects)
    assert any("Šalčininkų" in s for s in subjects)
    file_alerts = [json.loads(line) for line in demo_env.alerts_file.read_text().splitlines()]
    assert len(file_alerts) == 2


def test_two_outlets_copies_of_one_story_share_a_cluster_and_the_mail_says_so(demo_env):
    run_once(demo_env.settings)
    hits = _hits(demo_env.settings, "Medininkai balloons", languages=("en",))
    assert {h.source for h in hits} == {"baltic-wire", "north-daily"}
    assert len({h.cluster_id for h in hits}) == 1
    assert all(h.cluster_size == 2 for h in hits)
    mail = next(m for m in demo_env.smtp.messages if "Medininkai" in str(m["Subject"]))
    assert "also reported by 1 other outlet" in mail.get_body(preferencelist=("plain",)).get_content()


def test_running_the_same_ingest_twice_creates_nothing_and_sends_nothing(demo_env):
    run_once(demo_env.settings)
    count, mails = _index(demo_env.settings).count(), len(demo_env.smtp.messages)
    page_fetches = len(demo_env.server.fetched("/baltic-wire/medininkai"))

    second = run_once(demo_env.settings, force=True)

    assert second.poll.get("staged", 0) == 0
    assert second.index.get("indexed", 0) == 0
    assert _index(demo_env.settings).count() == count
    assert len(demo_env.smtp.messages) == mails
    assert len(demo_env.server.fetched("/baltic-wire/medininkai")) == page_fetches  # no article refetched


def test_rerunning_index_and_alert_stages_alone_is_a_no_op(demo_env):
    run_once(demo_env.settings)
    mails = len(demo_env.smtp.messages)
    assert cluster_and_index(demo_env.settings).get("indexed", 0) == 0
    assert send_alerts(demo_env.settings).get("sent", 0) == 0
    assert len(demo_env.smtp.messages) == mails


def test_reader_comments_of_the_lithuanian_page_never_reach_the_stored_text(demo_env):
    run_once(demo_env.settings)
    page = next(a for a in demo_content.ARTICLES if a.comments)
    hit = _hits(demo_env.settings, "Šalčininkų", languages=("lt",))[0]
    stored = _index(demo_env.settings).get(hit.id)
    assert "Medininkų" in stored["text"]
    for comment in page.comments:
        assert comment.split(":", 1)[1].strip()[:30] not in stored["text"]
    assert "Komentarai" not in stored["text"]
    assert _hits(demo_env.settings, "Jonas77 OR Vilnietė OR Komentuoti") == []


def test_diacritic_free_spelling_finds_the_article_spelled_with_diacritics(demo_env):
    run_once(demo_env.settings)
    hits = _hits(demo_env.settings, "salcininku")
    assert any(h.title.startswith("Šalčininkų") for h in hits)
    assert any("Šalčininkai" in h.snippet for h in _hits(demo_env.settings, "salcininkai"))


def _send_accents_as_separate_marks(server):
    # What some CMSs and Mac-made copy do, in their pages and feeds: "ų" as "u" + U+0328, "ź" as "z" + U+0301 (NFD).
    for path, route in list(server.routes.items()):
        if isinstance(route, Route) and (route.content_type or "").startswith(("text/html", "application/atom", "application/rss")):
            server.routes[path] = replace(route, body=unicodedata.normalize("NFD", route.body.decode("utf-8")).encode())


def test_articles_typed_with_separate_accent_marks_are_tagged_and_found_as_if_typed_normally(demo_env):
    _send_accents_as_separate_marks(demo_env.server)
    run_once(demo_env.settings)
    lithuanian = _hits(demo_env.settings, "Šalčininkų", languages=("lt",))[0]
    assert lithuanian.title == "Šalčininkų pasienio punkte – dešimties valandų eilės"
    naming_the_checkpoint = {h.source for h in _hits(demo_env.settings, "entity:place/salcininkai")}
    assert naming_the_checkpoint == {"pasienio-zinios", "baltic-wire", "north-daily", "minsk-herald", "wilno-tydzien"}
    assert _hits(demo_env.settings, "entity:place/kuznica")


def test_broken_feed_missing_page_and_pdf_are_counted_skips_and_the_run_goes_on(demo_env):
    summary = run_once(demo_env.settings)
    assert summary.poll["skipped_reasons"] == {"feed_unparseable.not_a_feed": 1, "page_fetch_failed.http_404": 1,
                                               "page_fetch_failed.bad_content_type": 1}
    assert summary.poll["feeds_failed"] == 1 and summary.poll["skipped"] == 3
    examples = {e["key"]: e["detail"] for e in summary.poll["examples"]}
    assert examples["feed_unparseable.not_a_feed"].startswith("feed broken: unusable feed: not a feed")
    assert "HTTP 404" in examples["page_fetch_failed.http_404"] and "removed-story" in examples["page_fetch_failed.http_404"]
    assert "application/pdf" in examples["page_fetch_failed.bad_content_type"]
    assert summary.index["indexed"] == len(demo_content.ARTICLES)


def test_poland_belarus_border_story_is_searchable_but_not_tagged_lithuania_belarus(demo_env):
    run_once(demo_env.settings)
    hit = _hits(demo_env.settings, "Białowieża fence")[0]
    assert hit.on_topic is False
    assert _hits(demo_env.settings, "fence", on_topic=True) == []


def test_a_page_without_any_date_keeps_its_publish_date_unknown(demo_env):
    run_once(demo_env.settings)
    hit = _hits(demo_env.settings, "Solecznikach")[0]
    assert hit.published_at is None


def test_search_filters_by_language_and_since_dating_undated_articles_by_their_fetch(demo_env):
    from datetime import datetime

    run_once(demo_env.settings)
    assert {h.language for h in _hits(demo_env.settings, "*", languages=("ru",))} == {"ru"}
    recent = _hits(demo_env.settings, "*", since=datetime(2026, 11, 20, tzinfo=UTC))
    # The Polish page has no date: it counts from when it was fetched (today), so --since keeps it.
    assert {h.source for h in recent} == {"pasienio-zinios", "minsk-herald", "wilno-tydzien"}
    older = _hits(demo_env.settings, "*", since=datetime(2026, 11, 20, tzinfo=UTC),
                  until=datetime(2026, 11, 21, tzinfo=UTC))
    assert {h.source for h in older} == {"pasienio-zinios", "minsk-herald"}


def test_an_unreachable_smtp_server_keeps_the_alert_queued_until_it_is_back(demo_env):
    # Point the rule at a closed port first: nothing is lost, the outbox keeps the row for a retry.
    with smtplib.socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed_port = sock.getsockname()[1]
    alerts_yaml = demo_env.settings.alerts_file
    alerts_yaml.write_text(alerts_yaml.read_text().replace(f":{demo_env.smtp.port}/", f":{closed_port}/"))
    first = run_once(demo_env.settings)
    assert first.alerts["retry_later"] == 2 and first.alerts["sent"] == 0
    engine = open_engine(demo_env.settings.database_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).where(alert_outbox.c.status == "pending")).scalar_one() == 2

    alerts_yaml.write_text(alerts_yaml.read_text().replace(f":{closed_port}/", f":{demo_env.smtp.port}/"))
    with engine.begin() as conn:  # the backoff has passed
        conn.execute(alert_outbox.update().values(next_attempt_at=None))
    again = send_alerts(demo_env.settings)
    assert again["sent"] == 2
    assert len(demo_env.smtp.messages) == 2
    # The file channel had already taken both alerts on the first try: it is not written twice.
    assert len(demo_env.alerts_file.read_text().splitlines()) == 2



HOSTILE_FEEDS = {
    # A JSON Feed nested 100,000 deep: json raised RecursionError out of the whole run.
    "deep-json": ('{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1", "x": '
                  + "[" * 100_000 + "]" * 100_000 + "}]}").encode(),
    # One element with 20,000 attributes: feedparser needed seconds for it, 500,000 would take hours.
    "many-attributes": ("<?xml version='1.0'?><rss version='2.0'><channel><title>t</title><item><guid>g</guid><link "
                        + " ".join(f'a{i}="x"' for i in range(20_000)) + ">https://example.org/a</link></item></channel></rss>").encode(),
}


def test_hostile_feeds_among_good_ones_back_off_while_the_good_ones_are_indexed_and_alerted(demo_env):
    from newsmon.app.demo.fixture_server import Route
    from newsmon.store.feedstate import load_feed_state

    feeds_yaml = demo_env.settings.feeds_file
    hostile = "".join(f"  - id: {name}\n    name: Hostile {name}\n    url: {demo_env.server.base_url}/hostile/{name}\n"
                      "    language: en\n    evidence: a test fixture on loopback\n" for name in HOSTILE_FEEDS)
    # Listed first, so that before this was fixed no good feed of the batch was ever polled.
    feeds_yaml.write_text(feeds_yaml.read_text().replace("feeds:\n", "feeds:\n" + hostile, 1))
    for name, body in HOSTILE_FEEDS.items():
        demo_env.server.routes[f"/hostile/{name}"] = Route(body, "application/feed+json" if "json" in name else "application/rss+xml")

    summary = run_once(demo_env.settings)

    assert summary.index["indexed"] == len(demo_content.ARTICLES)
    assert len(demo_env.smtp.messages) == 2
    assert {"feed_unparseable.too_deeply_nested": 1, "feed_unparseable.too_complex": 1}.items() <= summary.poll[
        "skipped_reasons"].items()
    details = [e["detail"] for e in summary.poll["examples"]]
    assert "feed deep-json: unusable feed: not a feed: JSON nested too deeply to read" in details
    assert any(d.startswith("feed many-attributes: unusable feed: refused before parsing") for d in details)
    assert summary.poll["feeds_failed"] == 3  # the two hostile feeds and the demo's broken one
    with open_engine(demo_env.settings.database_url).connect() as conn:
        for name in HOSTILE_FEEDS:
            state = load_feed_state(conn, name)
            assert state.failures == 1 and state.next_poll_at > state.last_polled_at  # backing off


def test_polled_articles_are_found_by_the_canonical_id_of_an_entity_they_name(demo_env):
    run_once(demo_env.settings)
    hits = _hits(demo_env.settings, "entity:place/medininkai")
    assert {h.source for h in hits} >= {"baltic-wire", "north-daily"}
    stored = _index(demo_env.settings).get(hits[0].id)
    assert "place/medininkai" in stored["entities"]
    assert all("/" in entity for entity in stored["entities"])  # typed ids, never display names
    # The Poland–Belarus story is off-topic and still carries the entities it names.
    off_topic = _index(demo_env.settings).get(_hits(demo_env.settings, "Białowieża fence")[0].id)
    assert {"place/warsaw", "place/kuznica"} <= set(off_topic["entities"]), off_topic["entities"]
