"""Stores for the desk's tests, made by newsmon's own stage functions with fixed times, so pages look the same every run.

`build_store` holds the demo's articles and outlets (the newsmon team's own texts): tagged with the real
topic pack, clustered into copies and stories by the real dedup, indexed in the embedded index, matched and delivered by the real
alert outbox (one rule to a file, one to an SMTP port nothing listens on, one daily digest not yet due),
and feed states as polls leave them (ok, moved, failing, gone). `build_hostile_store` puts markup in
every text a publisher or a feed server controls. `build_translations_store` holds one event reported in three
languages (tests/story_fixtures.py).
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from story_fixtures import closure_articles, reaction_article

from newsmon.alerts.outbox import deliver_pending, enqueue_matches
from newsmon.app.commands.demo import demo_settings
from newsmon.app.demo import content as demo
from newsmon.core.config import load_alert_rules
from newsmon.core.records import Article, FeedState
from newsmon.core.settings import Settings, load_settings
from newsmon.enrich.dedup import content_hash, fingerprint
from newsmon.enrich.topic import load_topic_pack, tag
from newsmon.ingest.urls import article_id, canonical_url
from newsmon.store.backends import open_index
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import insert_ignore, open_engine
from newsmon.store.feedstate import save_feed_state
from newsmon.store.schema import seen_entries
from newsmon.store.stories import assign_stories

SITE = "https://demo.newsmon.example"
INGESTED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # when the fixture's pipeline "ran"
DESK_NOW = INGESTED_AT + timedelta(hours=3)  # the desk's clock in the tests
# Port 9 (discard) on loopback: nothing listens there, so every delivery is refused at once, with the same text.
DEAD_SMTP = "smtp://127.0.0.1:9/?to=desk@example.org&from=newsmon@example.org"
ALERTS_YAML = f"""rules:
  - name: checkpoints
    query: medininkai OR salcininkai OR checkpoint* OR "border crossing"
    on_topic: true
    channels: [file:alerts.jsonl]
  - name: balloons
    query: balloon* OR aerostat* OR воздушн*
    channels: ["{DEAD_SMTP}"]
  - name: polish press
    query: "*"
    languages: [pl]
    channels: [file:digest.jsonl]
    mode: daily
  - name: astravets
    query: astravets OR astravyets OR ostrowiec
    channels: [{{url: "file:alerts.jsonl", quiet_hours: {{start: "22:00", end: "07:00"}}}}]
    enabled: false
"""
GONE_FEED = "  - id: old-gazette\n    name: Old Gazette\n    url: " + SITE + "/old-gazette/rss.xml\n    language: en\n" \
            "    evidence: the fixture's feed that answered 410 Gone\n"


def _settings(workdir: Path) -> Settings:
    settings = demo_settings(load_settings(), workdir, base_url=SITE, smtp_port=None)
    settings.alerts_file.write_text(ALERTS_YAML, encoding="utf-8")
    with settings.feeds_file.open("a", encoding="utf-8") as feeds:
        feeds.write(GONE_FEED)
    return settings


def demo_articles(settings: Settings) -> list[Article]:
    """The demo site's articles as the poll stage would stage them (no fetching: the texts are ours)."""
    pack = load_topic_pack(settings.topics_dir / "lt-by.yaml")
    articles = []
    for page in demo.ARTICLES:
        url = SITE + demo.article_path(page)
        text = "\n\n".join(page.paragraphs)
        published = datetime.fromisoformat(page.published) if page.published else None
        topic = tag(pack, page.title, text, page.lang)
        country, affiliation = demo.FEED_META[page.outlet]
        articles.append(Article(
            id=article_id(canonical_url(url)), url=url, canonical_url=canonical_url(url), source=page.outlet,
            source_affiliation=affiliation, source_country=country, feed_url=SITE + demo.feed_path(page.outlet),
            title=page.title, text=text, fetched_at=(published or INGESTED_AT) + timedelta(minutes=7),
            published_at=published, language=page.lang, content_hash=content_hash(text), topic=topic,
            entities=topic.entities, fingerprint=tuple(fingerprint(text)),
        ))
    return articles


def index_and_alert(settings: Settings, articles: list[Article]) -> list[Article]:
    """Cluster, index, enqueue alerts and deliver them (eight times, so the refused ones are given up)."""
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        clustered = assign_stories(conn, assign_clusters(conn, articles, INGESTED_AT), INGESTED_AT)
    index = open_index(settings, engine)
    index.put_articles(clustered)
    rules = load_alert_rules(settings.alerts_file)
    with engine.begin() as conn:
        enqueue_matches(conn, rules, clustered, INGESTED_AT)
    for attempt in range(8):
        deliver_pending(engine, rules, settings, INGESTED_AT + timedelta(hours=2 * attempt))
    engine.dispose()
    return clustered


def _feed_states(settings: Settings) -> list[tuple[FeedState, int]]:
    """(state, entries seen per day over the last three days) for each feed, as polls would have left them."""
    def ok(feed_id: str, per_day: int, **changes: object) -> tuple[FeedState, int]:
        state = FeedState(feed_id=feed_id, url=f"{SITE}{demo.feed_path(feed_id)}", interval_s=1800,
                          last_polled_at=INGESTED_AT, last_success_at=INGESTED_AT,
                          next_poll_at=INGESTED_AT + timedelta(minutes=30), configured_url=f"{SITE}{demo.feed_path(feed_id)}")
        return replace(state, **changes), per_day

    return [
        ok("baltic-wire", 12),
        # A 301 moved it: newsmon polls the new address and says so.
        ok("north-daily", 5, url=f"{SITE}/north-daily/feed/rss.xml"),
        ok("pasienio-zinios", 8),
        ok("minsk-herald", 6, failures=3, last_success_at=INGESTED_AT - timedelta(hours=5),
           last_error="HTTP 503 Service Unavailable", next_poll_at=INGESTED_AT + timedelta(hours=2), interval_s=3600),
        ok("wilno-tydzien", 3),
        ok("misc", 1),
        ok("broken", 0, failures=6, last_success_at=None, interval_s=600, next_poll_at=INGESTED_AT + timedelta(hours=5),
           last_error="not a feed: an HTML page (Service temporarily unavailable)"),
        ok("old-gazette", 0, url=f"{SITE}/old-gazette/rss.xml", configured_url=f"{SITE}/old-gazette/rss.xml",
           failures=1, next_poll_at=None, last_success_at=INGESTED_AT - timedelta(days=2),
           disabled_reason=f"410 Gone at {SITE}/old-gazette/rss.xml on 2026-11-18: fix or remove the feed in feeds.yaml",
           last_error="HTTP 410 Gone"),
    ]


def record_feed_states(settings: Settings) -> None:
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        for state, per_day in _feed_states(settings):
            save_feed_state(conn, state)
            # A first poll's backlog, then entries over three days (items/day leaves the backlog out).
            seen = [INGESTED_AT - timedelta(days=3)] * 4
            seen += [INGESTED_AT - timedelta(days=3) + timedelta(hours=1 + 72 * i / max(per_day * 3, 1))
                     for i in range(per_day * 3)]
            for n, at in enumerate(seen):
                insert_ignore(conn, seen_entries, {"feed_id": state.feed_id, "entry_key": f"{state.feed_id}-{n:04d}",
                                                   "outcome": "staged", "article_id": None, "seen_at": at})
    engine.dispose()


def build_translations_store(workdir: Path) -> Settings:
    """A store holding one event reported in English, Lithuanian and Russian (one story), and a reaction to it."""
    settings = _settings(workdir)
    pack = load_topic_pack(settings.topics_dir / "lt-by.yaml")
    articles = [replace(a, topic=tag(pack, a.title, a.text, a.language)) for a in [*closure_articles(), reaction_article()]]
    index_and_alert(settings, articles)
    return settings


TRANSLATIONS_NOW = closure_articles()[0].fetched_at + timedelta(days=1)


def build_store(workdir: Path) -> Settings:
    """The desk's fixture store in workdir (config/ and var/); returns settings that point at it."""
    settings = _settings(workdir)
    index_and_alert(settings, demo_articles(settings))
    record_feed_states(settings)
    return settings


def copy_store(template: Settings, workdir: Path) -> Settings:
    """A copy of a built store that a test may change (retry an alert) without touching the others' copy."""
    for folder in ("config", "var"):
        shutil.copytree(template.home / folder, workdir / folder)
    return load_settings(home=workdir, config_dir=workdir / "config", state_dir=workdir / "var", state_url=None,
                         search_backend="sqlite")


# ---------------------------------------------------------------- markup wherever a publisher or server writes text

TITLE = 'Šalčininkai <script>alert("title")</script> & <b>bold</b> checkpoint'
TEXT = ('<img src=x onerror=alert("text")> Lorries queue at Šalčininkai <i>checkpoint</i> on the border with Belarus. '
        "Lithuania said Minsk must stop the balloons. </textarea><iframe src=//evil.example></iframe>")
BAD_URL = "javascript:alert('url')"
OUTLET = '<a href="//evil.example">Evil</a> "Times" & Co'
FEED_ERROR = '<script>alert("feed")</script> answered <b>500</b>'
UNTRUSTED = (TITLE, OUTLET, FEED_ERROR, '<img src=x onerror=alert("text")>', "<i>checkpoint</i>")


def build_hostile_store(workdir: Path) -> Settings:
    """A store whose titles, texts (so snippets), outlet name, alert titles and feed error all hold markup."""
    config = workdir / "config"
    (config / "topics").mkdir(parents=True)
    shutil.copy(load_settings().topics_dir / "lt-by.yaml", config / "topics" / "lt-by.yaml")
    (config / "feeds.yaml").write_text(
        "feeds:\n  - id: evil-times\n    name: '" + OUTLET.replace("'", "''") + "'\n"
        f"    url: {SITE}/evil/rss.xml\n    language: en\n    affiliation: independent\n"
        "    evidence: the escaping test's own feed\n", encoding="utf-8")
    (config / "alerts.yaml").write_text(f'rules:\n  - name: everything\n    query: "*"\n    channels: ["{DEAD_SMTP}"]\n',
                                        encoding="utf-8")
    settings = load_settings(home=workdir, config_dir=config, state_dir=workdir / "var", state_url=None,
                             search_backend="sqlite")
    pack = load_topic_pack(settings.topics_dir / "lt-by.yaml")
    articles = []
    for n in range(2):  # two copies, so the folded copy and the story page show the markup too
        canonical = canonical_url(f"{SITE}/evil/{n}.html?x=<b>")
        text = TEXT + " Copy " * n
        topic = tag(pack, TITLE, text, "en")
        articles.append(Article(
            id=article_id(canonical), url=BAD_URL if n else canonical, canonical_url=canonical, source="evil-times",
            source_affiliation="independent", title=TITLE, text=text, fetched_at=INGESTED_AT, published_at=INGESTED_AT,
            language="en", content_hash=content_hash(text), topic=topic, entities=topic.entities,
            fingerprint=tuple(fingerprint(text)),
        ))
    index_and_alert(settings, articles)
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        save_feed_state(conn, FeedState(feed_id="evil-times", url=f"{SITE}/evil/rss.xml", failures=2,
                                        last_error=FEED_ERROR, last_polled_at=INGESTED_AT,
                                        next_poll_at=INGESTED_AT + timedelta(hours=1)))
    engine.dispose()
    return settings
