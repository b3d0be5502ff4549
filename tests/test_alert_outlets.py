"""An alert's "also reported by N other outlet(s)" counts the story's other outlets, not its copies."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from newsmon.alerts.outbox import deliver_pending, enqueue_matches
from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.core.config import AlertRule
from newsmon.core.documents import article_to_document
from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import load_settings
from newsmon.enrich.dedup import content_hash, fingerprint
from newsmon.store.clusters import assign_clusters
from newsmon.store.db import open_engine
from newsmon.store.schema import articles

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
STORY = ("Lithuania closed the Medininkai checkpoint on its border with Belarus after smuggling balloons drifted "
         "into its airspace and halted flights at Vilnius airport for several hours on Thursday evening. ") * 3
OTHER = ("Lorry drivers waited more than ten hours at the Šalčininkai checkpoint as traffic from the closed "
         "Medininkai crossing was sent south, and hauliers asked the government in Vilnius for a timetable. ") * 3


def _copy(n: int, source: str, text: str) -> Article:
    url = f"https://{source}.example.org/news/{n}"
    return Article(id=f"a{n}", url=url, canonical_url=url, source=source, title=f"Report {n} on Medininkai",
                   text=text, fetched_at=AT + timedelta(minutes=n), content_hash=content_hash(text),
                   fingerprint=fingerprint(text), language="en", topic=TopicResult("lt-by", True, 0.9))


def _mail_bodies(tmp_path: Path, copies: list[Article]) -> dict[str, str]:
    """Cluster and store the copies as ingestion does, alert the first of each story; mail body per story."""
    settings = load_settings(home=tmp_path, config_dir=tmp_path, state_dir=tmp_path / "var", state_url=None)
    engine = open_engine(settings.database_url)
    with engine.begin() as conn:
        clustered = assign_clusters(conn, copies, AT)
        conn.execute(articles.insert(), [
            {"id": a.id, "canonical_url": a.canonical_url, "source": a.source, "content_hash": a.content_hash,
             "staged_at": AT, "status": "indexed", "cluster_id": a.cluster_id, "doc": article_to_document(a)}
            for a in clustered])
    firsts = [a for a in clustered if a.duplicate_of is None]
    with SmtpSink() as sink:
        rule = AlertRule(name="desk", query="medininkai", channels=[f"smtp://127.0.0.1:{sink.port}/?to=d@example.org"])
        with engine.begin() as conn:
            assert enqueue_matches(conn, [rule], firsts, AT).enqueued == len(firsts)
        assert deliver_pending(engine, [rule], settings, AT).sent == len(firsts)
        messages = list(sink.messages)
    by_story = {}
    for message in messages:
        body = message.get_body(preferencelist=("plain",)).get_content()
        by_story[next(a.cluster_id for a in firsts if a.title in body)] = body
    return by_story


def test_the_alert_counts_the_other_outlets_of_the_story_not_its_copies(tmp_path):
    copies = [_copy(1, "north-daily", STORY), replace(_copy(2, "north-daily", STORY), title="Report 2 (updated)"),
              _copy(3, "baltic-wire", STORY), _copy(4, "north-daily", OTHER), _copy(5, "north-daily", OTHER)]
    bodies = _mail_bodies(tmp_path, copies)
    assert len(bodies) == 2
    assert "also reported by 1 other outlet: baltic-wire" in bodies["a1"]  # baltic-wire; the second north-daily copy is no outlet
    assert "also reported by" not in bodies["a4"]  # two copies, both from the outlet that is alerted
