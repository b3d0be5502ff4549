"""Alert rules match the way users expect: folded, inflection-aware, with filters; delivered to real receivers."""

from __future__ import annotations

import json
import threading
import unicodedata
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from newsmon.alerts.channels import deliver
from newsmon.alerts.match import ArticleView, rule_matches
from newsmon.alerts.message import Message, Outlet, StoryEntry
from newsmon.core.config import AlertRule
from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import load_settings
from newsmon.ingest.extract import extract_article

AT = datetime(2026, 11, 20, tzinfo=UTC)


def _view(title, text, language="lt", on_topic=True, subtopics=("border_crossings",), relevance=0.9):
    return ArticleView(Article(id="x", url="https://example.org/x", canonical_url="https://example.org/x",
                               source="lrt-lt", title=title, text=text, fetched_at=AT, content_hash="h",
                               language=language, topic=TopicResult("lt-by", on_topic, relevance, subtopics)))


def _rule(query, **kw):
    return AlertRule(name="r", query=query, channels=["file:a.jsonl"], **kw)


def test_a_diacritic_free_rule_matches_an_inflected_lithuanian_place_name():
    view = _view("Eilės Šalčininkuose", "Sunkvežimiai laukia prie Šalčininkų pasienio punkto.")
    assert rule_matches(_rule("salcininku"), view)
    assert rule_matches(_rule("Šalčininkų AND punkto"), view)


def test_an_alert_rule_typed_normally_matches_a_page_typed_with_separate_accent_marks():
    # "ų" sent as "u" + U+0328, "č" as "c" + U+030C (Unicode NFD), as some CMSs and Mac-made copy do.
    page = (Path(__file__).parent / "fixtures" / "extract" / "lt_portal_comments.html").read_text(encoding="utf-8")
    marked = extract_article(unicodedata.normalize("NFD", page).encode(), "https://pasienis.example/naujienos/1")
    view = _view(marked.title, marked.text)
    assert rule_matches(_rule('"per Šalčininkų punktą"'), view)
    assert rule_matches(_rule("title:šimtai AND Susisiekimo ministerija"), view)


def test_boolean_operators_phrases_and_fields_follow_lucene():
    view = _view("Balloons over Vilnius", "Smuggling balloons from Belarus closed Vilnius airport.", language="en")
    assert rule_matches(_rule('"Vilnius airport"'), view)
    assert not rule_matches(_rule('"airport Vilnius"'), view)
    assert rule_matches(_rule("title:balloons AND NOT drones"), view)
    assert not rule_matches(_rule("title:airport"), view)
    assert rule_matches(_rule("smuggl*"), view)
    assert rule_matches(_rule("language:en AND subtopics:border_crossings"), view)


def test_filters_keep_off_topic_and_low_relevance_articles_out():
    view = _view("Border", "Border queues at Medininkai.", language="en", on_topic=False, relevance=0.2)
    assert not rule_matches(_rule("medininkai", on_topic=True), view)
    assert not rule_matches(_rule("medininkai", min_relevance=0.5), view)
    assert rule_matches(_rule("medininkai"), view)
    assert not rule_matches(_rule("medininkai", languages=["lt"]), view)


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list] = []

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def webhook():
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()


def test_a_json_webhook_channel_posts_the_alert_to_a_real_receiver(webhook):
    port = webhook.server_address[1]
    entry = StoryEntry(key="story:x", article_id="x", title="Medininkai closed", url="https://example.org/x",
                       outlet=Outlet("lrt-en", "LRT English"), published_at=AT, language="en")
    message = Message(rule="checkpoints", kind="instant", key="checkpoints.story:x", entries=(entry,), created_at=AT)
    deliver(f"json://127.0.0.1:{port}/hooks/newsmon", message, load_settings())
    path, payload = _Receiver.received[0]
    assert path == "/hooks/newsmon"
    # The envelope Apprise's json:// posted stays, beside the versioned document.
    assert payload["title"] == "[newsmon] checkpoints: Medininkai closed" and "Medininkai closed" in payload["message"]
    assert payload["schema"] == "newsmon.alert/1" and payload["stories"][0]["outlet"]["name"] == "LRT English"


def test_rules_with_date_maths_and_field_groups_match_and_broken_dates_are_refused_on_load(tmp_path):
    from newsmon.core.config import ConfigError, load_alert_rules

    view = _view("Balloons over Vilnius", "Balloons from Belarus.", language="en")
    view.article.__class__  # noqa: B018 (the view is built from a real Article)
    recent = ArticleView(view.article.__class__(**{**view.article.__dict__, "published_at": datetime.now(UTC)}))
    assert rule_matches(_rule("balloons AND published_at:[now-7d TO *]"), recent)
    assert not rule_matches(_rule("balloons AND published_at:[now-7d TO *]"), view)  # no date: never in range
    assert rule_matches(_rule("title:(drones OR balloons)"), view)
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - name: r\n    query: 'published_at:[yesterday TO *]'\n    channels: [file:a.jsonl]\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml:3: rules.0.query: .*date 'yesterday'"):
        load_alert_rules(path)


def test_two_rules_with_one_name_are_refused(tmp_path):
    from newsmon.core.config import ConfigError, load_alert_rules

    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n"
                    "  - {name: desk, query: a, channels: ['file:a.jsonl']}\n"
                    "  - {name: desk, query: b, channels: ['file:b.jsonl']}\n")
    with pytest.raises(ConfigError, match="'desk' appears twice"):
        load_alert_rules(path)
