"""What the desk reads from the stages below: feed health with failures and moves, what each alert rule fired, and which story an alert is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from newsmon.alerts.outbox import list_outbox
from newsmon.app.desk.views import alert_story_key, rule_activity
from newsmon.core.records import Feed, FeedState
from newsmon.store.db import open_engine
from newsmon.store.feedstate import save_feed_state
from newsmon.store.health import feed_health
from newsmon.store.schema import alert_outbox

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def test_feed_health_counts_failed_polls_and_names_where_a_moved_feed_went(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'state.db'}")
    feeds = [Feed(id="moved", url="https://a.example/rss", name="A"), Feed(id="failing", url="https://b.example/rss", name="B"),
             Feed(id="new", url="https://c.example/rss", name="C")]
    with engine.begin() as conn:
        save_feed_state(conn, FeedState(feed_id="moved", url="https://a.example/feed/rss", last_success_at=NOW))
        save_feed_state(conn, FeedState(feed_id="failing", url="https://b.example/rss", failures=4, last_error="HTTP 503"))
    health = {h.id: h for h in feed_health(engine, feeds, NOW)}
    assert (health["moved"].moved_to, health["moved"].failures) == ("https://a.example/feed/rss", 0)
    assert (health["failing"].health, health["failing"].failures, health["failing"].moved_to) == ("failing x4", 4, None)
    assert (health["new"].failures, health["new"].moved_to) == (0, None)


def test_rule_activity_counts_recent_alerts_per_rule_and_lists_the_newest_first(tmp_path):
    engine = open_engine(f"sqlite:///{tmp_path / 'state.db'}")
    with engine.begin() as conn:
        for n, (rule, days_ago) in enumerate([("border", 10), ("border", 2), ("border", 1), ("airport", 3)]):
            conn.execute(alert_outbox.insert().values(
                rule=rule, cluster_id=f"c{n}", article_id=f"a{n}", mode="instant", status="sent", attempts=1,
                created_at=NOW - timedelta(days=days_ago), payload={"title": f"story {n}"}))
        # A later copy of story 2, queued as an update of that alert: not an alert of its own.
        conn.execute(alert_outbox.insert().values(
            rule="border", cluster_id="c2", copy_id="another-outlet", article_id="a9", mode="instant", status="pending",
            attempts=0, created_at=NOW, payload={"title": "story 2, another outlet"}))
    activity = rule_activity(list_outbox(engine, limit=100), ["border", "airport", "quiet"], NOW - timedelta(days=7),
                             latest=2)
    assert (activity["border"].fired, activity["airport"].fired, activity["quiet"].fired) == (2, 1, 0)
    assert activity["border"].last_fired_at == NOW - timedelta(days=1)
    assert [e.title for e in activity["border"].latest] == ["story 2", "story 1"]
    assert activity["quiet"].last_fired_at is None and activity["quiet"].latest == ()


def test_an_alert_key_names_the_story_the_desk_links_to():
    assert alert_story_key("story:abc123") == "abc123"
    assert alert_story_key("pickup:abc123:language:ru") == "abc123"
    assert alert_story_key("cluster0001") == "cluster0001"  # a rule grouped by copy cluster
