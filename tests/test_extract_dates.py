"""Publisher date strings: aware UTC when the text states a full day, None whenever a day would be guessed."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ingest.extract_meta import parse_datetime

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
