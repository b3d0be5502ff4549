"""Extraction on the team's own fixture pages: article text only, metadata reconciled, dates never invented."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest

from newsmon.core.records import FeedEntry
from newsmon.ingest.extract import ExtractionSkip, extract_article, extract_with_report

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
URL = "https://pasienis.example/naujienos/medininku-punktas-vilkikai"

# Reader comments written into the fixtures, as they appear in the HTML.
COMMENT_SENTENCES = {
    "lt_portal_comments.html": [
        "Kiek dar galima kęsti tuos balionus",
        "Gaila vairuotojų, jie čia niekuo dėti",
        "Vežėjai patys žinojo riziką",
        "Skelbti komentarą",
    ],
    "ru_portal_disqus.html": [
        "Давно пора было закрыть",
        "Опять страдают простые водители",
        "сколько ещё продлится эта история",
        "Кто вообще верит этим заявлениям",
    ],
    "comment_widgets_en.html": [
        "Facebook reader",
        "VK reader",
        "Coral reader",
        "OpenWeb reader",
        "WordPress reader",
        "Leave a Reply",
    ],
}


def _page(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name", sorted(COMMENT_SENTENCES))
def test_reader_comments_never_reach_the_stored_text(name: str) -> None:
    result = extract_article(_page(name), URL)
    for sentence in COMMENT_SENTENCES[name]:
        assert sentence not in result.text
    assert result.word_count > 40


def test_lithuanian_article_keeps_every_paragraph_and_drops_page_furniture() -> None:
    result = extract_article(_page("lt_portal_comments.html"), URL)
    for sentence in (
        "Medininkų pasienio kontrolės punkte antradienio rytą",
        "Vairuotojai pasakoja eilėje praleidę jau antrą parą",
        "kontrabandinių balionų skrydžiais",
        "per Šalčininkų punktą",
        "prašo valstybės kompensacijų",
    ):
        assert sentence in result.text
    for furniture in (
        "slapukus",  # cookie banner
        "Skaitykite taip pat",  # read-also cross-link
        "Astravo elektrinė vėl sustabdyta",  # related-articles list
        "Asociatyvi nuotrauka",  # photo caption
        "Visos teisės saugomos",  # footer
        "Pradžia",  # navigation
    ):
        assert furniture not in result.text
    assert not result.text.startswith("Medininkų punkte vėl stovi")  # headline is the title field, not text


def test_json_ld_metadata_fills_title_authors_dates_and_links() -> None:
    result, report = extract_with_report(_page("lt_portal_comments.html"), URL)
    assert result.title == "Medininkų punkte vėl stovi šimtai vilkikų"
    assert result.authors == ("Rūta Vaitkutė", "Tomas Žukas")
    # 00:40 in Vilnius (+03:00) is 21:40 UTC the previous evening; the page's own day is kept for reports.
    assert result.published_at == datetime(2025, 10, 27, 21, 40, tzinfo=UTC)
    assert report.published_local_day.isoformat() == "2025-10-28"
    assert report.published_source == "json-ld"
    assert result.modified_at == datetime(2025, 10, 28, 7, 15, tzinfo=UTC)
    assert result.language == "lt"
    assert result.canonical_url == "https://pasienis.example/naujienos/medininku-punktas-vilkikai"
    assert result.image == "https://pasienis.example/img/medininkai.jpg"
    assert result.site_name == "Pasienio žinios"


def test_russian_page_reads_article_meta_date_and_author_and_drops_read_also_line() -> None:
    result = extract_article(_page("ru_portal_disqus.html"), "https://region.example/news/1")
    assert result.published_at == datetime(2025, 10, 29, 15, 20, tzinfo=UTC)
    assert result.authors == ("Андрей Ковалёв",)
    assert result.language == "ru"
    assert "Читайте также" not in result.text
    assert "файлы cookie" not in result.text
    assert "недружественным шагом" in result.text


@pytest.mark.parametrize("name", ["lt_portal_comments.html", "ru_portal_disqus.html"])
def test_a_page_typed_with_separate_accent_marks_is_extracted_as_if_typed_normally(name: str) -> None:
    # Some CMSs and Mac-made copy send "ų" as "u" + U+0328 and "й" as "и" + U+0306 (Unicode NFD).
    typed = _page(name)
    marked = unicodedata.normalize("NFD", typed.decode("utf-8")).encode("utf-8")
    assert marked != typed
    assert extract_article(marked, URL) == extract_article(typed, URL)


def test_page_without_any_date_gets_none_not_today() -> None:
    result = extract_article(_page("no_date.html"), "https://guide.example/border")
    assert result.published_at is None
    assert result.modified_at is None


def test_feed_entry_date_title_and_authors_fill_what_the_page_does_not_say() -> None:
    entry = FeedEntry(
        entry_id="guide-1",
        link="https://guide.example/border",
        title="Border crossing points explained",
        published_at=datetime(2025, 11, 2, 8, 30, tzinfo=UTC),
        authors=("Border Desk",),
        language="en",
    )
    result, report = extract_with_report(_page("no_date.html"), "https://guide.example/border", entry=entry)
    assert result.published_at == datetime(2025, 11, 2, 8, 30, tzinfo=UTC)
    assert report.published_source == "feed"
    assert result.authors == ("Border Desk",)
    # A bare <title> often carries " | Site name"; the feed's title ranks above it (og:/JSON-LD rank above both).
    assert result.title == "Border crossing points explained"


def test_page_date_wins_over_feed_entry_date() -> None:
    entry = FeedEntry(entry_id="x", link=URL, published_at=datetime(2025, 10, 30, tzinfo=UTC))
    result = extract_article(_page("lt_portal_comments.html"), URL, entry=entry)
    assert result.published_at == datetime(2025, 10, 27, 21, 40, tzinfo=UTC)


def test_windows_1251_page_is_decoded_by_its_declared_charset() -> None:
    result = extract_article(_page("ru_windows1251.html"), "https://region.example/news/2")
    assert "более двухсот грузовиков" in result.text
    assert result.title == "Очередь фур на границе"


def test_utf8_page_mislabelled_latin1_keeps_lithuanian_letters() -> None:
    result = extract_article(_page("lt_utf8_declared_latin1.html"), "https://lt.example/a")
    assert "Šalčininkų pasienio punkte šeštadienį" in result.text
    assert "Ã" not in result.text


def test_http_header_charset_overrides_a_wrong_meta_charset() -> None:
    body = _page("ru_windows1251.html").replace(b"windows-1251", b"utf-8")
    result = extract_article(body, "https://region.example/news/2", headers={"Content-Type": "text/html; charset=cp1251"})
    assert "более двухсот грузовиков" in result.text


def test_page_with_only_navigation_is_a_skip_with_a_reason() -> None:
    html = "<html><body><nav><a href='/'>Home</a> <a href='/news'>News</a></nav><p>Subscribe.</p></body></html>"
    with pytest.raises(ExtractionSkip) as caught:
        extract_article(html, "https://empty.example/")
    assert caught.value.url == "https://empty.example/"
    assert "no main text" in caught.value.reason


def test_author_credits_are_split_into_names_without_emails_or_initials() -> None:
    html = (
        '<html><head><meta name="author" content="Rūta Vaitkutė ir Tomas Žukas (tž), redakcija@pasienis.example">'
        "</head><body><article>"
        + "".join(
            f"<p>{n} diena: vilkikų eilė prie Medininkų punkto vėl ilgėja, o vežėjai skaičiuoja nuostolius.</p>"
            for n in range(1, 5)
        )
        + "</article></body></html>"
    )
    assert extract_article(html, URL).authors == ("Rūta Vaitkutė", "Tomas Žukas")


FORM_AND_DECLARATIONS_PAGE = """<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE html><html lang="lt"><head><meta charset="utf-8"><title>Registracija</title>
<?php echo "left in the page by a CMS"; ?></head><body><!-- a comment lxml drops -->
<form action="/search"><label for="q">Paieška</label><input id="q" name="q" value="pasienis">
<select name="s"><option value="1" selected>Naujienos</option></select><textarea name="t">Jūsų žinutė</textarea></form>
<article><p>Vilkikų eilė prie Medininkų sumažėjo.</p></article></body></html>"""


@pytest.mark.parametrize("name", [*sorted(p.name for p in FIXTURES.glob("*.html")), "form-and-declarations"])
def test_pages_are_parsed_into_the_same_tree_as_trafilatura_parses_them(name: str) -> None:
    import trafilatura.utils
    from lxml.etree import tostring

    from newsmon.ingest.extract import _parse
    from newsmon.ingest.extract_input import html_text_from_input

    html = FORM_AND_DECLARATIONS_PAGE.encode() if name == "form-and-declarations" else _page(name)
    text = html_text_from_input(html, None)
    ours = _parse(text, URL)
    theirs = trafilatura.utils.load_html(text)
    assert tostring(ours, encoding="unicode") == tostring(theirs, encoding="unicode")
