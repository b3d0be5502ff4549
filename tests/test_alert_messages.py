"""What an alert says and how each channel gets it: one text + HTML mail, a JSON document with the same key, chat."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from webhook_receiver import webhook_receiver

from newsmon.alerts import render
from newsmon.alerts.highlight import passages
from newsmon.alerts.match import ArticleView
from newsmon.alerts.message import Message, Outlet, Segment, StoryEntry
from newsmon.alerts.outbox import deliver_pending, enqueue_matches
from newsmon.app.demo.fixture_server import FixtureServer, Route
from newsmon.app.demo.smtp_sink import SmtpSink
from newsmon.core.config import AlertRule
from newsmon.core.records import Article, TopicResult
from newsmon.core.settings import Settings, load_settings
from newsmon.store.db import open_engine

AT = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)
REPO = Path(__file__).resolve().parents[1]
HOSTILE_TITLE = "Medininkai <script>alert(1)</script> closed\r\nBcc: everyone@example.org"
TEXT = ("Vilniuje lyja. Eilės prie Medininkų punkto ilgėja, sako pasieniečiai. "
        "Kiti punktai dirba. <b>Šalčininkų</b> punkte eilių nėra.")


@pytest.fixture
def webhook():
    with webhook_receiver() as server:
        yield server


def _settings(tmp_path: Path) -> Settings:
    return load_settings(home=tmp_path, config_dir=tmp_path, state_dir=tmp_path / "var", state_url=None,
                         search_backend="sqlite")


def _article(title: str = HOSTILE_TITLE, text: str = TEXT, url: str = "https://example.org/a1") -> Article:
    return Article(id="a1", url=url, canonical_url=url, source="pasienio-zinios", title=title, text=text,
                   fetched_at=AT, published_at=AT, content_hash="h1", language="lt", cluster_id="c1",
                   topic=TopicResult("lt-by", True, 0.9, ("border_crossings",)))


def _send(tmp_path: Path, channels: list[str], article: Article | None = None, query: str = "medininkai") -> None:
    settings = _settings(tmp_path)
    engine = open_engine(settings.database_url)
    rule = AlertRule(name="desk", query=query, channels=channels)
    with engine.begin() as conn:
        assert enqueue_matches(conn, [rule], [article or _article()], AT).enqueued == 1
    assert deliver_pending(engine, [rule], settings, AT).sent == 1


def _parts(mail: EmailMessage) -> tuple[str, str]:
    return (mail.get_body(preferencelist=("plain",)).get_content(),
            mail.get_body(preferencelist=("html",)).get_content())


# ---------------------------------------------------------------- mail through a real SMTP server


def test_an_alert_mail_is_one_multipart_alternative_with_a_text_and_an_html_part(tmp_path):
    with SmtpSink() as sink:
        _send(tmp_path, [f"smtp://127.0.0.1:{sink.port}/?to=desk@example.org"])
        [mail] = sink.messages
    assert mail.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in mail.iter_parts()] == ["text/plain", "text/html"]
    text, html = _parts(mail)
    assert "**Medininkų**" in text
    assert "<mark>Medininkų</mark>" in html


def test_the_html_part_marks_the_rules_inflected_words_and_shows_article_markup_only_as_text(tmp_path):
    with SmtpSink() as sink:
        _send(tmp_path, [f"smtp://127.0.0.1:{sink.port}/?to=desk@example.org"], query="medininkai OR salcininkai")
        [mail] = sink.messages
    text, html = _parts(mail)
    assert "<mark>Medininkų</mark>" in html and "<mark>Šalčininkų</mark>" in html
    assert "<script" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;" in html
    assert "<script>alert(1)</script>" in text  # plain text is not markup: the reader sees what the publisher wrote


def test_a_title_with_script_and_a_line_break_arrives_as_a_harmless_one_line_subject(tmp_path):
    with SmtpSink() as sink:
        _send(tmp_path, [f"smtp://127.0.0.1:{sink.port}/?to=desk@example.org"])
        [mail] = sink.messages
    assert mail["Bcc"] is None
    assert str(mail["Subject"]) == "[newsmon] desk: Medininkai <script>alert(1)</script> closed Bcc: everyone@example.org"
    text, html = _parts(mail)
    assert "\nBcc:" not in text and "closed Bcc: everyone@example.org" in text
    assert "closed Bcc: everyone@example.org" in html


def test_a_javascript_link_links_nowhere_in_the_mail(tmp_path):
    with SmtpSink() as sink:
        _send(tmp_path, [f"smtp://127.0.0.1:{sink.port}/?to=desk@example.org"],
              _article(url="javascript:alert(document.cookie)"))
        [mail] = sink.messages
    text, html = _parts(mail)
    assert "href=" not in html
    assert "link not shown (not a web address): javascript:alert(document.cookie)" in text


# ---------------------------------------------------------------- one key on every channel


def test_the_webhook_and_file_documents_carry_the_same_key_as_the_mails_message_id(tmp_path, webhook):
    port = webhook.server_address[1]
    with SmtpSink() as sink:
        _send(tmp_path, [f"smtp://127.0.0.1:{sink.port}/?to=desk@example.org", f"json://127.0.0.1:{port}/hooks/desk",
                         "file:alerts.jsonl"])
        [mail] = sink.messages
    [posted], [headers] = webhook.received, webhook.headers
    [line] = (tmp_path / "var" / "alerts.jsonl").read_text(encoding="utf-8").splitlines()
    stored = json.loads(line)
    assert mail["Message-ID"] == posted["message_id"] == stored["message_id"] == f"<{posted['key']}@newsmon>"
    assert posted["key"] == stored["key"] == headers["Idempotency-Key"]
    assert posted["schema"] == stored["schema"] == "newsmon.alert/1"
    [story] = posted["stories"]
    assert story["title"] == HOSTILE_TITLE  # the document keeps the publisher's text; escaping is the receiver's
    assert {"text": "Medininkų", "hit": True} in story["passages"][0]


def test_a_webhook_answering_an_error_keeps_the_alert_for_a_retry(tmp_path):
    settings = _settings(tmp_path)
    engine = open_engine(settings.database_url)
    with FixtureServer({"/other": Route(b"")}) as server:  # a real server that takes no POST: 501
        rule = AlertRule(name="desk", query="medininkai", channels=[f"json://{urlsplit(server.base_url).netloc}/hooks/desk"])
        with engine.begin() as conn:
            enqueue_matches(conn, [rule], [_article()], AT)
        counts = deliver_pending(engine, [rule], settings, AT)
    assert (counts.sent, counts.retry_later) == (0, 1)
    assert "the webhook answered HTTP 501" in counts.errors[0][1]


# ---------------------------------------------------------------- passages


def _rule(query: str) -> AlertRule:
    return AlertRule(name="r", query=query, channels=["file:a.jsonl"])


def _hits(query: str, article: Article | None = None) -> list[list[str]]:
    return [[s.text for s in p if s.hit] for p in passages(_rule(query), ArticleView(article or _article()))]


def test_passages_are_the_sentences_holding_the_rules_words_matched_like_the_rule():
    found = passages(_rule("medininkai"), ArticleView(_article()))
    assert found == ((Segment("Eilės prie "), Segment("Medininkų", True), Segment(" punkto ilgėja, sako pasieniečiai.")),)


def test_phrases_and_prefixes_are_highlighted_as_the_rule_matches_them():
    assert _hits('"prie medininku"') == [["prie Medininkų"]]
    assert _hits("medinink* OR salcin*") == [["Medininkų"], ["Šalčininkų"]]


def test_a_negated_word_is_never_highlighted():
    assert _hits("medininkai AND NOT salcininkai") == [["Medininkų"]]
    assert _hits("NOT vilnius") == []


def test_at_most_two_sentences_are_quoted_and_a_title_only_match_quotes_the_title():
    article = _article(text="Medininkai. Medininkai again. Medininkai once more.")
    assert len(passages(_rule("medininkai"), ArticleView(article))) == 2
    assert _hits("title:closed") == [["closed"]]


# ---------------------------------------------------------------- rendering a Message

BELTA = Outlet("belta", "BelTA", "ru", "state_controlled")
LRT = Outlet("lrt-en", "LRT English", "en", "public_broadcaster")


def _entry(**kw) -> StoryEntry:
    values = {"key": "story:a1", "article_id": "a1", "title": "Lithuania closes Medininkai", "url": "https://lrt.lt/a1",
              "outlet": LRT, "published_at": datetime(2026, 11, 20, 22, 30, tzinfo=UTC), "language": "en",
              "subtopics": ("border_crossings",),
              "passages": ((Segment("Queues at "), Segment("Medininkai", True), Segment(" grew.")),),
              "other_outlets": (BELTA,)}
    return StoryEntry(**{**values, **kw})


def _message(*entries: StoryEntry, kind: str = "instant", more: int = 0) -> Message:
    return Message(rule="desk", kind=kind, key="desk.story:a1", entries=entries or (_entry(),), created_at=AT,
                   more=more, period="daily" if kind == "digest" else None)


def test_a_story_shows_its_outlet_by_name_and_affiliation_and_its_time_in_utc_and_vilnius():
    text = render.text(_message())
    assert "LRT English (public broadcaster) · 2026-11-20 22:30 UTC (2026-11-21 00:30 Vilnius) · en" in text
    assert "also reported by 1 other outlet: BelTA (ru, state-controlled)" in text
    assert "subtopics: border_crossings" in text


def test_a_digest_is_one_message_grouping_each_story_with_its_update_and_saying_how_many_more():
    update = _entry(article_id="a2", kind="update", outlet=BELTA, title="Литва закрыла Мядининкай", passages=(),
                    note="now reported by 2 outlets, including BelTA (state-controlled, ru)")
    other = _entry(key="story:b1", article_id="b1", title="Balloons over Vilnius", other_outlets=())
    message = _message(_entry(), other, update, kind="digest", more=3)
    text, html = render.text(message), render.html(message)
    assert render.subject(message) == "[newsmon] desk: 2 stories +3 more (daily digest)"
    assert text.index("1. Lithuania closes") < text.index("Story update: now reported by 2 outlets") < text.index(
        "2. Balloons over Vilnius")
    assert "+3 more stories in this period, not shown here." in text and "+3 more stories in this period" in html
    assert html.count("<h2") == 3


def test_chat_bodies_escape_publisher_markup_in_the_format_each_service_reads():
    title = "Closed [click](https://evil.example) *now* <b>x</b>"
    message = _message(_entry(title=title, url="javascript:alert(1)"))
    markdown = render.chat(message, "markdown")
    assert r"\[click\](https://evil.example) \*now\* \<b\>x\</b\>" in markdown and "**Medininkai**" in markdown
    telegram = render.chat(message, "html")
    assert "&lt;b&gt;x&lt;/b&gt;" in telegram and "<b><u>Medininkai</u></b>" in telegram and "href" not in telegram
    assert render.chat_format("slack://T/B/C") == render.chat_format("workflow://h/w") == "markdown"
    assert render.chat_format("tgram://1:x/2") == "html" and render.chat_format("discord://a/b") == "text"


# ---------------------------------------------------------------- the example in docs/alerts.md


def _example() -> Message:
    first = StoryEntry(
        key="story:3f9c", article_id="3f9c", title="Lithuania shuts Medininkai and Šalčininkai checkpoints until 30 November",
        url="https://www.lrt.lt/en/news-in-english/19/3f9c", outlet=LRT,
        published_at=datetime(2026, 11, 20, 7, 15, tzinfo=UTC), language="en",
        subtopics=("border_crossings", "balloons"),
        passages=((Segment("The government closed the "), Segment("Medininkai", True), Segment(" and "),
                   Segment("Šalčininkai", True), Segment(" crossings after smuggling balloons crossed again.")),),
        other_outlets=(BELTA, Outlet("pasienio-zinios", "Pasienio žinios", "lt", "independent")))
    update = StoryEntry(
        key="story:3f9c", article_id="7d21", title="Литва закрыла пункты пропуска «Мядининкай» и «Шальчининкай»",
        url="https://www.belta.by/world/view/7d21", outlet=BELTA,
        published_at=datetime(2026, 11, 20, 9, 40, tzinfo=UTC), language="ru", kind="update",
        note="now reported by 3 outlets, including BelTA (state-controlled, ru)")
    return Message(rule="checkpoints", kind="digest", key="checkpoints.daily.2026-11-20", entries=(first, update),
                   created_at=datetime(2026, 11, 21, 6, 0, tzinfo=UTC), more=2, period="daily")


def test_the_example_mail_in_the_docs_is_the_text_part_the_renderer_writes():
    docs = (REPO / "docs" / "alerts.md").read_text(encoding="utf-8")
    assert f"```text\n{render.text(_example())}```" in docs


def test_the_example_mails_html_part_renders_in_a_real_browser_with_the_rules_words_marked(chromium):
    html = render.html(_example())
    with FixtureServer({"/mail.html": Route(html.encode("utf-8"))}) as server:
        chromium.set_window_size(820, 560)
        chromium.get(f"{server.base_url}/mail.html")
        marked = [m.text for m in chromium.find_elements("tag name", "mark")]
        png = chromium.get_screenshot_as_png()
    assert marked == ["Medininkai", "Šalčininkai"]
    (REPO / "docs" / "alerts").mkdir(exist_ok=True)
    (REPO / "docs" / "alerts" / "example-mail.png").write_bytes(png)
