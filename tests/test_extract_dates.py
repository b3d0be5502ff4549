"""Publication dates: aware UTC when the page states a full day, the publisher's own calendar day for
reports, and None whenever a day would be guessed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import htmldate
import htmldate.extractors
import pytest

from newsmon.ingest import extract
from newsmon.ingest.extract import extract_with_report
from newsmon.ingest.extract_dates import day_is_printed
from newsmon.ingest.extract_meta import parse_datetime

NOW = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-10-28T00:40:00+03:00", datetime(2025, 10, 27, 21, 40, tzinfo=UTC)),
        ("2025-10-28T10:00:00Z", datetime(2025, 10, 28, 10, 0, tzinfo=UTC)),
        ("2025-10-28", datetime(2025, 10, 28, tzinfo=UTC)),
        ("Tue, 28 Oct 2025 01:00:00 EET", datetime(2025, 10, 27, 23, 0, tzinfo=UTC)),
        ("28.10.2025 14:05", datetime(2025, 10, 28, 14, 5, tzinfo=UTC)),
        ("10/28/2025", datetime(2025, 10, 28, tzinfo=UTC)),
    ],
)
def test_full_dates_become_aware_utc(text: str, expected: datetime) -> None:
    assert parse_datetime(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "2025",  # year only
        "2025-10",  # no day
        "October 2025",  # no day
        "03/06/2025",  # March or June, depending on the country
        "2031-01-01",  # in the future
        "1970-01-01T00:00:00Z",  # epoch zero from a broken CMS
        "Monday",
        "",
        "updated recently",
    ],
)
def test_dates_without_a_certain_day_are_none(text: str) -> None:
    assert parse_datetime(text, now=NOW) is None


# Enough article text that extraction does not skip the page as a teaser.
_BODY = "".join(
    f"<p>Paragraph {i} of the council report describes the new budget lines for schools and roads in detail.</p>"
    for i in range(8)
)


def _page(head: str = "", before_body: str = "", after_body: str = "") -> str:
    return (
        f"<html><head><title>Council budget</title>{head}</head><body><article><h1>Council budget</h1>"
        f"{before_body}{_BODY}{after_body}</article></body></html>"
    )


def _json_ld(published: str) -> str:
    return (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Council budget", '
        f'"datePublished": "{published}"}}</script>'
    )


def test_a_utc_structured_date_takes_the_local_day_of_the_same_instant_printed_with_its_offset() -> None:
    html = _page(_json_ld("2024-03-06T02:30:00Z"), '<time datetime="2024-03-05T21:30:00-05:00">March 5</time>')
    result, report = extract_with_report(html, "https://news.example.com/council-budget")
    assert result.published_at == datetime(2024, 3, 6, 2, 30, tzinfo=UTC)  # the instant is stored as stated
    assert report.published_local_day == date(2024, 3, 5)


def test_a_utc_date_on_a_country_domain_gets_that_countrys_local_day() -> None:
    html = _page('<meta property="article:published_time" content="2024-03-05T22:30:00Z">')
    result, report = extract_with_report(html, "https://naujienos.example.lt/biudzetas")
    assert result.published_at == datetime(2024, 3, 5, 22, 30, tzinfo=UTC)
    assert report.published_local_day == date(2024, 3, 6)  # 00:30 in Vilnius


def test_a_utc_date_on_a_generic_domain_keeps_its_utc_day() -> None:
    html = _page('<meta property="article:published_time" content="2024-03-05T22:30:00Z">')
    _, report = extract_with_report(html, "https://news.example.com/council-budget")
    assert report.published_local_day == date(2024, 3, 5)


def test_midnight_utc_reads_as_a_bare_date_and_is_not_moved_by_the_domain() -> None:
    html = _page(_json_ld("2024-03-05T00:00:00Z"))
    _, report = extract_with_report(html, "https://noticias.example.com.br/orcamento")
    assert report.published_local_day == date(2024, 3, 5)


def test_a_date_without_a_zone_keeps_its_written_day_on_a_country_domain() -> None:
    html = _page(_json_ld("2024-03-05T23:30:00"))
    _, report = extract_with_report(html, "https://noticias.example.com.ar/presupuesto")
    assert report.published_local_day == date(2024, 3, 5)


def test_a_page_with_only_a_copyright_year_gets_no_date() -> None:
    html = _page(after_body="<footer><p>© 2019 Example Media. All rights reserved.</p></footer>")
    result, report = extract_with_report(html, "https://news.example.com/council-budget")
    assert result.published_at is None
    assert report.published_source is None


def test_a_printed_full_date_without_structured_data_is_found() -> None:
    html = _page(before_body="<p class='byline'>By the city desk, published 14 February 2023</p>")
    result, report = extract_with_report(html, "https://news.example.com/council-budget")
    assert result.published_at is not None and result.published_at.date() == date(2023, 2, 14)
    assert report.published_source == "htmldate"


def test_a_date_printed_only_in_the_running_text_is_found_by_the_last_resort_search() -> None:
    html = _page(before_body="<div>Mittwoch, 2. Februar 2022</div>")
    result, report = extract_with_report(html, "https://news.example.com/cup-preview")
    assert result.published_at is not None and result.published_at.date() == date(2022, 2, 2)
    assert report.published_source == "htmldate"


def test_a_russian_date_line_is_read_when_the_page_states_no_date_elsewhere() -> None:
    body = "".join(f"<p>Абзац {i}: совет обсудил новый бюджет школ и дорог, решение примут весной.</p>" for i in range(8))
    html = (
        "<html><head><title>Бюджет</title></head><body><article><p class='rubric'>Литва</p>"
        f"<p class='date'>3 марта 2023, 10:15</p><h1>Бюджет совета</h1>{body}</article></body></html>"
    )
    result, _ = extract_with_report(html, "https://news.example.com/byudzhet")
    assert result.published_at is not None and result.published_at.date() == date(2023, 3, 3)


def test_free_text_dates_reach_htmldate_through_the_page_language_parser_hook() -> None:
    # htmldate hands free-text dates to the function its extractors module names; newsmon replaces it with
    # a parser set up for the page's language (0.4 s less per page). If htmldate renames or stops calling
    # that function, extraction would silently go slow: this test fails instead.
    body = "".join(f"<p>Абзац {i}: совет обсудил новый бюджет школ и дорог, решение примут весной.</p>" for i in range(8))
    html = (f"<html lang='ru'><head><title>Бюджет</title></head><body><article><p class='date'>17 ноября 2021, 09:05</p>"
            f"<h1>Бюджет совета</h1>{body}</article></body></html>")  # a date string no other test uses: htmldate caches
    calls = extract._date_parser_for.cache_info()
    result, _ = extract_with_report(html, "https://news.example.com/byudzhet-2")
    assert getattr(htmldate.extractors, extract.DATE_PARSER_HOOK, None) is extract._free_text_date_parser, (
        f"htmldate {htmldate.__version__} has no extractors.{extract.DATE_PARSER_HOOK}: update the hook in ingest/extract.py"
    )
    after = extract._date_parser_for.cache_info()
    assert after.hits + after.misses > calls.hits + calls.misses, "htmldate never asked newsmon's date parser"
    assert result.published_at is not None and result.published_at.date() == date(2021, 11, 17)


@pytest.mark.parametrize(
    ("html", "day"),
    [
        ('<time datetime="2023-02-14">Tuesday</time>', date(2023, 2, 14)),
        ("<p>14.02.2023</p>", date(2023, 2, 14)),
        ("<p>2/14/2023</p>", date(2023, 2, 14)),
        ("<p><span>14.</span> <span>Februar</span> 2023</p>", date(2023, 2, 14)),
        ("<p>14 de febrero de 2023</p>", date(2023, 2, 14)),
        ("<p>February 14th, 2023</p>", date(2023, 2, 14)),
        ("<p>2023 m. vasario 14 d.</p>", date(2023, 2, 14)),
    ],
)
def test_printed_days_are_recognised_in_numeric_and_month_name_forms(html: str, day: date) -> None:
    assert day_is_printed(html, day)


@pytest.mark.parametrize(
    "html",
    [
        "<footer>© 2023</footer>",  # a year alone
        '<a href="/archive/2023-02-14/other-story">Yesterday</a>',  # another page's date in a link
        "<p>14.03.2023</p>",  # another month
    ],
)
def test_a_year_a_linked_date_or_another_day_is_not_the_printed_day(html: str) -> None:
    assert not day_is_printed(html, date(2023, 2, 14))
