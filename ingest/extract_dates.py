"""The publisher's calendar day of a publication instant, and whether a page prints a given day.

Structured dates are often serialised in UTC, while readers saw the day in the publisher's own zone:
a story published at 21:30 in Buenos Aires on 3 May is "2022-05-04T00:30Z" in its JSON-LD. The instant
stays as stated; only the local day (what the page showed) is recovered, from the same instant written
with its offset elsewhere on the page, else from the zone of the host's country-code domain.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from functools import cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from newsmon.ingest.extract_meta import UNZONED

# A datetime with a non-zero UTC offset, as <time datetime>, JSON and meta tags write it.
_OFFSET_DATETIME_RE = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.\d{1,9})?([+-](?:0\d|1[0-4]):?[0-5]\d)(?!\d)"
)
# Two spellings of one instant differ at most by dropped seconds.
_SAME_INSTANT = timedelta(minutes=1)

# Country-code domains and the zone of the capital (national news follows the capital's clock). Generic
# domains (.com, .org) and ccTLDs sold as brands (.co, .io, .tv, .me, .fm, .ai) say nothing about a zone.
_CCTLD_ZONES = {
    "lt": "Europe/Vilnius", "lv": "Europe/Riga", "ee": "Europe/Tallinn", "by": "Europe/Minsk",
    "pl": "Europe/Warsaw", "ru": "Europe/Moscow", "ua": "Europe/Kyiv", "md": "Europe/Chisinau",
    "de": "Europe/Berlin", "at": "Europe/Vienna", "ch": "Europe/Zurich", "li": "Europe/Vaduz",
    "fr": "Europe/Paris", "be": "Europe/Brussels", "nl": "Europe/Amsterdam", "lu": "Europe/Luxembourg",
    "it": "Europe/Rome", "es": "Europe/Madrid", "pt": "Europe/Lisbon", "ie": "Europe/Dublin",
    "uk": "Europe/London", "dk": "Europe/Copenhagen", "se": "Europe/Stockholm", "no": "Europe/Oslo",
    "fi": "Europe/Helsinki", "is": "Atlantic/Reykjavik", "cz": "Europe/Prague", "sk": "Europe/Bratislava",
    "hu": "Europe/Budapest", "ro": "Europe/Bucharest", "bg": "Europe/Sofia", "gr": "Europe/Athens",
    "hr": "Europe/Zagreb", "si": "Europe/Ljubljana", "rs": "Europe/Belgrade", "ba": "Europe/Sarajevo",
    "tr": "Europe/Istanbul", "ge": "Asia/Tbilisi", "am": "Asia/Yerevan", "kz": "Asia/Almaty",
    "il": "Asia/Jerusalem", "in": "Asia/Kolkata", "cn": "Asia/Shanghai", "hk": "Asia/Hong_Kong",
    "tw": "Asia/Taipei", "jp": "Asia/Tokyo", "kr": "Asia/Seoul", "au": "Australia/Sydney",
    "nz": "Pacific/Auckland", "za": "Africa/Johannesburg", "ca": "America/Toronto",
    "mx": "America/Mexico_City", "br": "America/Sao_Paulo", "ar": "America/Argentina/Buenos_Aires",
    "uy": "America/Montevideo", "cl": "America/Santiago", "pe": "America/Lima", "ve": "America/Caracas",
    "ec": "America/Guayaquil", "bo": "America/La_Paz", "py": "America/Asuncion",
}  # fmt: skip


def _is_stated_utc(moment: datetime) -> bool:
    offset = moment.utcoffset()
    return offset is not None and not offset and moment.tzinfo is not UNZONED


def offset_of_same_instant(html: str, moment: datetime) -> tzinfo | None:
    """The first non-zero offset with which the page writes `moment` again (±1 minute), else None."""
    # Offsets reach ±14 h, so the local date is the UTC date or a neighbour: str.find on those three
    # literals is far cheaper than running the datetime pattern over the whole page.
    for delta in (-1, 0, 1):
        literal = (moment + timedelta(days=delta)).date().isoformat()
        start = html.find(literal)
        while start != -1:
            match = _OFFSET_DATETIME_RE.match(html, start)
            if match is not None:
                try:
                    other = datetime.fromisoformat(f"{match[1]}T{match[2]}{match[3]}")
                except ValueError:
                    other = None
                if other is not None and other.utcoffset() and abs(other - moment) <= _SAME_INSTANT:
                    return other.tzinfo
            start = html.find(literal, start + len(literal))
    return None


@cache
def _zone(name: str) -> tzinfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None  # no tz database on this host: the UTC day stays


def zone_of_host(url: str | None) -> tzinfo | None:
    """The capital's zone of the host's country-code domain (lrt.lt → Europe/Vilnius); None for .com etc."""
    host = urlsplit(url or "").hostname or ""
    name = _CCTLD_ZONES.get(host.rsplit(".", 1)[-1])
    return _zone(name) if name else None


def publisher_local_day(moment: datetime, html: str, url: str | None) -> date:
    """The calendar day readers of the publisher saw for `moment` (a page-stated publication datetime).

    A stated offset is the publisher's own and is kept. For a datetime stated in UTC, the same instant
    written with an offset elsewhere on the page decides; failing that, the zone of a country-code
    domain. Exactly midnight UTC is how many CMSs write a bare date, so that day is not moved by a guess.
    """
    if not _is_stated_utc(moment):
        return moment.date()
    same = offset_of_same_instant(html, moment)
    if same is not None:
        return moment.astimezone(same).date()
    zone = zone_of_host(url)
    if zone is None or moment.timetz().replace(tzinfo=None) == time(0):
        return moment.date()
    return moment.astimezone(zone).date()


# Month-name stems (en, de, fr, es, it, pt, nl, lt, lv, pl, ru, uk, be, fi, sv, tr): a printed month is
# a word starting with one of them. Only used next to a day and a year, so short stems stay harmless.
_MONTH_STEMS = (
    ("jan", "jän", "ene", "gen", "saus", "stycz", "tammi", "oca", "янв", "січ", "студз"),
    ("feb", "fév", "fev", "vasar", "vasario", "lut", "helmi", "şub", "фев", "лют"),
    ("mar", "mär", "kov", "maalis", "мар", "берез", "сакав"),
    ("apr", "avr", "abr", "bal", "kwie", "huhti", "nis", "апр", "квіт", "красав"),
    ("may", "mai", "mei", "mag", "gegu", "maj", "touko", "мая", "май", "трав"),
    ("jun", "juin", "giu", "birž", "czer", "kesä", "haz", "июн", "черв", "чэрв"),
    ("jul", "juil", "lug", "liep", "lip", "heinä", "tem", "июл", "лип", "ліп"),
    ("aug", "aoû", "aou", "ago", "rugp", "sierp", "elo", "ağu", "авг", "серп", "жнів"),
    ("sep", "set", "rugs", "wrze", "syys", "eyl", "сен", "верес", "верас"),
    ("oct", "okt", "out", "ott", "spal", "paźdz", "pazdz", "loka", "eki", "окт", "жовт", "кастр"),
    ("nov", "lapkr", "listop", "marras", "kas", "ноя", "листоп", "ліст"),
    ("dec", "dez", "dic", "déc", "gruod", "grud", "joulu", "ara", "дек", "груд", "снеж"),
)
_TAG_RE = re.compile(r"<[^>]*>")
# Links and embeds name other pages, whose dates (…/20190619/…) are not this page's.
_LINK_ATTR_RE = re.compile(r"""\b(?:href|src|srcset|action)\s*=\s*(?:"[^"]*"|'[^']*')""", re.IGNORECASE)


def _day_patterns(day: date) -> tuple[re.Pattern[str], re.Pattern[str]]:
    y, m, d = day.year, rf"0?{day.month}", rf"0?{day.day}"
    year = rf"(?:{y}|{y % 100:02d})"
    numeric = re.compile(
        rf"(?<!\d){y}(?:[-/.]{m}[-/.]|年{m}月|\s*\.\s*{m}\s*\.\s*){d}(?!\d)"  # 2019-06-13, 2019年6月13日
        rf"|(?<!\d){d}\s?[./-]\s?{m}\s?[./-]\s?{year}(?!\d)"  # 13.06.2019, 13/6/19
        rf"|(?<![\d/]){m}/{d}/{year}(?!\d)"  # 6/13/2019
        rf"|(?<!\d){y}{day.month:02d}{day.day:02d}(?!\d)"  # 20190613 in URLs and ids
    )
    month = "|".join(_MONTH_STEMS[day.month - 1])
    named = re.compile(
        rf"(?<!\d){d}(?:st|nd|rd|th|\.|er|º)?\s*(?:of\s+|de\s+|d')?(?:{month})\w*\.?,?\s*(?:de\s+|del\s+)?{y}(?!\d)"
        rf"|(?<!\w)(?:{month})\w*\.?\s+{d}(?:st|nd|rd|th|\.)?,?\s+{y}(?!\d)"
        rf"|(?<!\d){y}(?:\s*m\.|\.)?\s+(?:{month})\w*\s+{d}(?!\d)",  # 2023 m. vasario 14 d., 2023. február 14.
        re.IGNORECASE,
    )
    return numeric, named


def day_is_printed(html: str, day: date) -> bool:
    """Whether the page writes this full day (year, month and day) in its text or attributes.

    Numeric forms (2019-06-13, 13.06.2019, 6/13/2019, 20190613) are searched in the raw HTML minus
    link targets, month-name forms ("13 June 2019", "June 13, 2019", "13. Juni 2019", "3 de mayo de
    2022", "2019 m. birželio 13 d.") in the text with the tags taken out. A year alone (a copyright line) never counts.
    """
    numeric, named = _day_patterns(day)
    if numeric.search(_LINK_ATTR_RE.sub(" ", html)):
        return True
    return named.search(" ".join(_TAG_RE.sub(" ", html).split())) is not None


__all__ = ["day_is_printed", "offset_of_same_instant", "publisher_local_day", "zone_of_host"]
