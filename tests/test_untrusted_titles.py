"""Titles, names and subjects from publishers are bounded and free of invisible controls; the text stays searchable."""

from __future__ import annotations

import json

from newsmon.app.demo.fixture_server import Route
from newsmon.app.stages.run import run_once
from newsmon.core.text import MAX_SUBJECT_TITLE_CHARS, MAX_TITLE_CHARS, clean_title, drop_invisible, strip_controls
from newsmon.ingest.extract import extract_article
from newsmon.ingest.feeds import parse_feed
from newsmon.store.backends import open_index
from newsmon.store.db import open_engine
from newsmon.store.index import SearchQuery

RLO, PDF, ZWSP, ZWJ = "\u202e", "\u202c", "\u200b", "\u200d"
PARAGRAPHS = (
    f"Lithuanian border guards closed the Medininkai checkpoint again on Monday after Lukašen{ZWJ}ka said "
    "Belarus would send more migrants towards the frontier with Lithuania.",
    "Hauliers waiting at the crossing were sent on to Šalčininkai, where the queue of lorries grew past "
    "eight kilometres by the evening, the State Border Guard Service said in Vilnius.",
    "The interior ministry said the closure would last at least three days and that the Belarusian side "
    "had not answered its request for talks about the people pushed towards the border.",
)


def _page(headline: str) -> bytes:
    ld = json.dumps({"@context": "https://schema.org", "@type": "NewsArticle", "headline": headline,
                     "author": {"@type": "Person", "name": f"Rūta {RLO}Petraitė{PDF}"},
                     "publisher": {"@type": "Organization", "name": f"Pasienio{ZWSP} žinios"},
                     "description": f"Medininkų punktas vėl uždarytas, sako Lukašen{ZWJ}ka."}, ensure_ascii=False)
    body = "".join(f"<p>{p}</p>" for p in PARAGRAPHS)
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Border news</title>'
            f'<script type="application/ld+json">{ld}</script></head>'
            f"<body><article><h1>Medininkai checkpoint closed</h1>{body}</article></body></html>").encode()


def test_a_megabyte_json_ld_headline_becomes_a_bounded_title_and_alert_subject_without_invisible_controls(demo_env):
    base = demo_env.server.base_url
    headline = f"Lukašen{ZWJ}ka {RLO}orders{PDF} Medininkai{ZWSP} checkpoint shut " + " again" * 200_000
    demo_env.server.routes["/odd/huge.html"] = Route(_page(headline))
    demo_env.server.routes["/odd/rss.xml"] = Route(
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Odd</title><link>{base}/odd/</link>'
        f"<item><title>Border news</title><link>{base}/odd/huge.html</link></item></channel></rss>".encode(),
        "application/rss+xml")
    demo_env.settings.feeds_file.write_text(f"feeds:\n  - id: odd\n    name: Odd\n    url: {base}/odd/rss.xml\n"
                                            "    language: en\n    country: LT\n    evidence: a test fixture on loopback\n")

    run_once(demo_env.settings)

    index = open_index(demo_env.settings, open_engine(demo_env.settings.database_url))
    [hit] = index.search(SearchQuery(q="title:lukasenka"))
    assert len(hit.title) <= MAX_TITLE_CHARS
    assert hit.title.startswith("Lukašenka orders Medininkai checkpoint shut again again")
    [message] = demo_env.smtp.messages
    subject = str(message["Subject"])
    assert subject.startswith("[newsmon] checkpoints: Lukašenka orders Medininkai checkpoint shut again")
    assert len(subject) <= len("[newsmon] checkpoints: ") + MAX_SUBJECT_TITLE_CHARS
    assert not {RLO, PDF, ZWSP, ZWJ} & set(subject)
    assert [h.id for h in index.search(SearchQuery(q="text:lukasenka"))] == [hit.id]
    doc = index.get(hit.id)
    assert doc["authors"] == ["Rūta Petraitė"] and doc["site_name"] == "Pasienio žinios"


def test_a_zero_width_joiner_inside_a_word_of_the_summary_or_text_goes_and_its_letters_stay():
    extracted = extract_article(_page("Medininkai checkpoint closed again"), "https://example.lt/odd/page.html")
    assert extracted.summary == "Medininkų punktas vėl uždarytas, sako Lukašenka."
    assert "after Lukašenka said" in extracted.text
    assert all(word in extracted.text for word in ("Medininkai", "Šalčininkai", "eight kilometres"))


def test_feed_titles_lose_bidi_overrides_zero_width_characters_and_controls_but_keep_every_letter():
    feed = parse_feed(
        (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Vilniaus {RLO}diena{PDF}</title>'
         f"<item><title>Šalčinin{ZWSP}kų punkte {RLO}eilės{PDF}\x1b[2J ilgėja</title><link>https://example.lt/a/1</link>"
         f"</item></channel></rss>").encode(), url="https://example.lt/rss")
    assert feed.title == "Vilniaus diena"
    assert feed.entries[0].title == "Šalčininkų punkte eilės ilgėja"


def test_title_cleaning_cuts_at_a_word_and_keeps_short_titles_whole():
    assert clean_title("  Vilnius\n\tand   Minsk  ") == "Vilnius and Minsk"
    assert clean_title(f"{ZWSP}{RLO}{PDF}") is None
    long_title = clean_title("pasienis " * 500)
    assert len(long_title) <= MAX_TITLE_CHARS and long_title.endswith("pasienis…")
    assert strip_controls("Eilės\x1b]52;c;ZWNobyBoaQ==\x07 ilgėja\r\n") == "Eilės ilgėja\n"
    assert drop_invisible(f"Lukašen{ZWJ}ka") == "Lukašenka"
