"""Six small articles and a table of queries over them: what each query finds, and what Elasticsearch is sent.

Shared by test_query_grammar.py (SQLite index and rule matcher, Elasticsearch request body) and
test_es_live.py (the same table on a real cluster). Each word a query uses appears in one form only,
so the matcher's stemming cannot make it find more than the embedded index.
"""

from __future__ import annotations

from datetime import UTC, datetime

from newsmon.core.records import Article, TopicResult

FETCHED_AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _article(key: str, title: str, text: str, *, source: str, published_at: datetime | None,
             affiliation: str | None = None, country: str | None = None, on_topic: bool = True,
             subtopics: tuple[str, ...] = (), entities: tuple[str, ...] = ()) -> Article:
    article_id = key * 64
    return Article(id=article_id, url=f"https://example.org/{key}", canonical_url=f"https://example.org/{key}",
                   source=source, source_affiliation=affiliation, source_country=country, title=title, text=text,
                   fetched_at=FETCHED_AT, content_hash=article_id, language="en", published_at=published_at,
                   cluster_id=article_id, entities=entities,
                   topic=TopicResult("lt-by", on_topic, 0.8 if on_topic else 0.1, subtopics))


ARTICLES = {
    "a": _article("a", "Medininkai checkpoint closed",
                  "Lithuania shut the Medininkai crossing on the Belarus border after a queue of trucks.",
                  source="lrt-en", affiliation="public_broadcaster", country="LT",
                  published_at=datetime(2026, 11, 20, 8, 0, tzinfo=UTC), subtopics=("border_crossings",),
                  entities=("place/medininkai", "org/vsat")),
    # Published in the last second of 19 November, and with no affiliation on record.
    "b": _article("b", "Balloons over Vilnius airport", "Smuggling balloons from Belarus stopped Vilnius airport overnight.",
                  source="baltic-wire", published_at=datetime(2026, 11, 19, 23, 59, 59, tzinfo=UTC),
                  subtopics=("airspace", "smuggling")),
    "c": _article("c", "Šalčininkai queue grows", "Drivers waited at Šalčininkai for the Vilnius-Minsk road to reopen.",
                  source="lrt-en", affiliation="public_broadcaster", country="LT",
                  published_at=datetime(2026, 11, 17, 6, 30, tzinfo=UTC), subtopics=("border_crossings",)),
    # No publish date.
    "d": _article("d", "Minsk and Vilnius talks", "Officials from Minsk met in Vilnius; no agreement on the border.",
                  source="belta", affiliation="state_controlled", country="BY", published_at=None,
                  subtopics=("diplomacy",)),
    "e": _article("e", "Weather in Riga", "Rain in Riga and snow later this week.", source="lsm", country="LV",
                  published_at=datetime(2026, 6, 1, 12, 0, tzinfo=UTC), on_topic=False),
    "f": _article("f", "Astravets plant restart", "The Astravets nuclear plant near the frontier restarted a reactor.",
                  source="belta", affiliation="state_controlled", country="BY",
                  published_at=datetime(2026, 11, 18, 10, 0, tzinfo=UTC), subtopics=("energy",),
                  entities=("place/astravets-npp", "person/lukashenko")),
}

ALL = "abcdef"
DATED = "abcef"

# (query, keys of the articles it finds, the query_string Elasticsearch gets; None: the query unchanged)
CASES: list[tuple[str, str, str | None]] = [
    ("medininkai", "a", None),
    ("vilnius airport", "b", None),
    ("vilnius OR riga", "bcde", None),
    ('"vilnius airport"', "b", None),
    ('"Medininkai checkpoint"', "a", None),
    # Words joined by punctuation are next to each other on every backend: d has both words apart.
    ("Vilnius-Minsk", "c", '"Vilnius-Minsk"'),
    (r"vilnius\-minsk", "c", '"vilnius-minsk"'),
    ("belarus NOT balloons", "a", None),
    ("+belarus -balloons", "a", None),
    ("NOT belarus", "cdef", None),
    ("(vilnius OR minsk) AND border", "d", None),
    ("vilnius OR (NOT belarus)", "bcdef", None),
    ("(vilnius riga) OR astravets", "f", None),
    ("vilnius OR belarus NOT balloons", "acd", None),
    ("NOT balloons vilnius OR belarus", "acd", None),
    ("salcininkai", "c", None),
    ("smuggl*", "b", None),
    ("checkpoint*", "a", None),
    ("title:balloons", "b", None),
    ("title:(checkpoint OR talks)", "ad", None),
    ("title:medininkai^2 OR text:astravets", "af", None),
    ("title:Vilnius-Minsk", "", 'title:"Vilnius-Minsk"'),
    ("source:baltic-wire", "b", None),
    ("source:baltic*", "b", None),
    ("NOT source_affiliation:state_controlled", "abce", None),
    ("affiliation:state_controlled", "df", "source_affiliation:state_controlled"),
    ("source_country:BY", "df", None),
    ("on_topic:false", "e", None),
    ("subtopics:airspace", "b", None),
    ("lang:en AND subtopic:(energy OR diplomacy)", "df", "language:en AND subtopics:(energy OR diplomacy)"),
    # Entity ids hold a "/", which starts a regular expression in query_string: it goes escaped.
    ("entity:person/lukashenko", "f", r"entities:person\/lukashenko"),
    ("entities:place/astravets-npp", "f", r"entities:place\/astravets-npp"),
    ("entity:place/astravets", "", r"entities:place\/astravets"),  # the town is not the plant
    (r"entity:place\/medininkai", "a", r"entities:place\/medininkai"),
    ('entity:"place/medininkai"', "a", 'entities:"place/medininkai"'),
    ("entity:place/*", "af", r"entities:place\/*"),
    ("entity:(org/vsat OR person/lukashenko) AND checkpoint", "a",
     r"entities:(org\/vsat OR person\/lukashenko) AND checkpoint"),
    ("NOT entity:person/lukashenko", "abcde", r"NOT entities:person\/lukashenko"),
    ("published_at:2026-11-19", "b", None),
    ("published_at:[2026-11-19 TO 2026-11-19]", "b", None),
    ("published_at:[2026-11-18 TO 2026-11-19}", "f", None),
    ("published_at:{2026-11-18 TO *]", "ab", None),
    ("published_at:>=2026-11-19", "ab", None),
    ("published_at:<2026-11-19", "cef", None),
    ("published_at:[2026-11-19T23:59:59Z TO 2026-11-20T08:00:00Z]", "ab", None),
    ("published_at:[* TO *]", DATED, None),
    ("published_at:[now-36500d TO now+36500d]", DATED, None),
    ("NOT published_at:[* TO *]", "d", None),
    ("fetched_at:2026-11-20", ALL, None),
]
