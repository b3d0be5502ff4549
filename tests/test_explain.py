"""Why an article was tagged, read back from its stored document: the decision, each term, and where it is."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.core.documents import article_to_document
from newsmon.core.records import Article
from newsmon.enrich.explain import explain_document, kind_label
from newsmon.enrich.topic import load_topic_pack, tag

PACK = Path(__file__).resolve().parents[1] / "config" / "topics" / "lt-by.yaml"
TITLE = "Lithuania closes the Šalčininkai checkpoint"
TEXT = ("Lorries queued for ten hours on Thursday.\n\n"
        "The border guard said the crossing to Belarus stays shut after balloons from Belarus closed Vilnius airport.")


@pytest.fixture(scope="module")
def pack():
    return load_topic_pack(PACK)


def _doc(pack) -> dict:
    topic = tag(pack, TITLE, TEXT, "en")
    article = Article(id="a1", url="https://example.org/a1", canonical_url="https://example.org/a1", source="x",
                      title=TITLE, text=TEXT, fetched_at=datetime(2026, 11, 20, tzinfo=UTC), content_hash="h",
                      language="en", topic=topic)
    return article_to_document(article)


def test_the_explanation_names_each_matched_term_with_its_field_and_the_words_around_it(pack):
    why = explain_document(_doc(pack), labels=pack.side_labels)
    assert why.on_topic and why.relevance > 0.5
    assert [m.field for m in why.matches][:2] == ["title", "title"]  # title first, then the text in order
    checkpoint = next(m for m in why.matches if m.surface == "Šalčininkai")
    assert (checkpoint.field, checkpoint.kind) == ("title", "side:lt")
    assert checkpoint.before == "Lithuania closes the " and checkpoint.after == " checkpoint"
    belarus = next(e for e in why.evidence if e.kind == "side:by")
    assert belarus.count == 2 and belarus.fields == ("text",)
    assert belarus.first.before.endswith("the crossing to ") and belarus.first.after.startswith(" stays shut")


def test_the_summary_gives_the_decision_and_the_evidence_of_each_side_in_the_packs_words(pack):
    summary = explain_document(_doc(pack), labels=pack.side_labels).summary
    assert summary.startswith("on topic (relevance ")
    assert "Lithuania side: Lithuania, Šalčininkai" in summary and "Belarus side: Belarus" in summary
    assert "subtopics: border crossings" in summary
    assert kind_label("subtopic:border_crossings") == "subtopic border crossings"


def test_a_match_whose_offsets_no_longer_fit_the_text_keeps_its_words_but_shows_no_context(pack):
    doc = _doc(pack)
    doc["text"] = "Rewritten after tagging."
    why = explain_document(doc)
    moved = [m for m in why.matches if m.field == "text"]
    assert moved and all(m.before == m.after == "" for m in moved)
    assert {m.surface for m in moved} >= {"Belarus"}


def test_an_untagged_document_says_no_term_was_found():
    why = explain_document({"title": "Weather", "text": "Sunny.", "on_topic": False, "relevance": 0.0, "matched": []})
    assert why.matches == () and why.summary == "not on topic (relevance 0.00): no term of the topic pack found"
