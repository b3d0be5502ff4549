"""One query grammar: the same articles on the embedded index and in alert rules, the same query to Elasticsearch.

What Elasticsearch's query_string would read differently is refused with what to write instead, and
no query crashes a search, `alerts check` or the alert stage: depth, size and date limits are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import get_args

import pytest
from es_recorder import EsRecorder
from query_cases import ARTICLES, CASES

from newsmon.alerts.match import ArticleView, rule_matches
from newsmon.core.config import AlertRule, ConfigError, load_alert_rules
from newsmon.core.query import (
    MAX_NESTING,
    MAX_PREFIX_TERMS,
    MAX_QUERY_CHARS,
    MAX_TERMS,
    Node,
    QuerySyntaxError,
    compile_query,
    resolve_bound,
)
from newsmon.core.settings import load_settings
from newsmon.store.db import open_engine
from newsmon.store.elastic import ElasticIndex
from newsmon.store.es_query import build_search_body
from newsmon.store.index import SearchQuery
from newsmon.store.sqlite_index import SqliteIndex

KEY_OF = {article.id: key for key, article in ARTICLES.items()}


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    idx = SqliteIndex(open_engine(f"sqlite:///{tmp_path_factory.mktemp('grammar') / 'state.db'}"))
    idx.put_articles(list(ARTICLES.values()))
    return idx


def sqlite_finds(index: SqliteIndex, q: str) -> str:
    return "".join(sorted(KEY_OF[hit.id] for hit in index.search(SearchQuery(q=q, limit=50))))


def rule_finds(q: str) -> str:
    rule = AlertRule(name="r", query=q, channels=["file:a.jsonl"])
    return "".join(key for key, article in sorted(ARTICLES.items()) if rule_matches(rule, ArticleView(article)))


def sent_to_elasticsearch(q: str) -> dict:
    return build_search_body(SearchQuery(q=q))["query"]["bool"]["must"][0]["query_string"]


@pytest.mark.parametrize(("q", "found", "es_query"), CASES, ids=[c[0] for c in CASES])
def test_a_query_finds_the_same_articles_in_search_and_in_rules_and_reaches_elasticsearch_unchanged(
        index, q, found, es_query):
    assert sqlite_finds(index, q) == found
    assert rule_finds(q) == found
    sent = sent_to_elasticsearch(q)
    assert sent["query"] == (es_query or q)
    assert sent["default_operator"] == "AND"


# (query, what the error says) — each is read one way by luqum (so by SQLite and the rule matcher)
# and another by Elasticsearch's query_string, or by no backend at all.
REFUSED = [
    ("!medininkai", "write NOT word"),
    ("medininkai AND !drones", "write NOT word"),
    ('medininkai"', "unbalanced quote"),
    ('"medininkai', "unbalanced quote"),
    ("medininkai~", "fuzzy matching"),
    ("medininkai~2", "fuzzy matching"),
    ('"Vilnius airport"~3', "proximity"),
    ("medininkai && drones", "write AND"),
    ("medininkai || drones", "write OR"),
    ("a AND b OR c", r"write \(a AND b\) OR c"),
    ("a b OR c", r"write \(a b\) OR c"),
    ("a OR b c", r"write \(a b\) OR c"),
    ("a OR b NOT c d", r"write \(a b\) OR c"),
    ("a OR b c OR d", "brackets"),
    ("a OR NOT b", r"a OR \(NOT b\)"),
    ("NOT a OR b", r"a OR \(NOT b\)"),
    ("NOT NOT medininkai", "two operators in a row"),
    ("- medininkai", "with no space"),
    ("title:-medininkai", "before the field"),
    ("/ball.*/", "regex"),
    ("b?rder", "trailing"),
    ("*order", "trailing"),
    ("bor*er", "trailing"),
    ("vilnius AND *", "whole query"),
    ('"balloon* airport"', "inside quotes"),
    ("vilnius-min*", "one word"),
    ("24/7", r"\\/"),
    ("&", "no letters or digits"),
    ("medininkai^", "one number"),
    ("_exists_:title", "published_at:\\[\\* TO \\*\\]"),
    ("title:text:medininkai", "field inside a field"),
    ("title:(source:lrt-en)", "outside the other field"),
    ("author:smith", "unknown field 'author'"),
    ("source:LRT-EN", "write source:lrt-en"),
    ("entity:Lukashenko", "canonical ids.*person/lukashenko"),
    ('entity:"Medininkai"', "canonical ids.*place/kamenny-log"),
    ("entity:person/Lukashenko", "canonical ids"),
    ("border/closure", r"\\/"),
    ("title:border/closure", r"\\/"),
    ("source_country:lt", "write source_country:LT"),
    ("on_topic:yes", "true or false"),
    ("title:[a TO b]", "ranges work on"),
    ("published_at:2026-11", "whole day"),
    ("published_at:>=now/d", r"published_at:\[now/d TO \*\]"),
    ('published_at:>"2026-11-19"', "write published_at:>2026-11-19"),
    ("published_at:[yesterday TO *]", "date 'yesterday'"),
]


@pytest.mark.parametrize(("q", "says"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_construct_elasticsearch_reads_differently_is_refused_everywhere_with_what_to_write(index, q, says):
    with pytest.raises(QuerySyntaxError, match=says):
        index.search(SearchQuery(q=q))
    with pytest.raises(ValueError, match=says):
        AlertRule(name="r", query=q, channels=["file:a.jsonl"])
    with EsRecorder() as es:
        with pytest.raises(QuerySyntaxError, match=says):
            ElasticIndex.from_settings(load_settings(es_url=es.url)).search(SearchQuery(q=q))
        assert es.requests == []


def _kinds(node: object) -> set[type]:
    found = {type(node)}
    for f in fields(node):  # type: ignore[arg-type]
        value = getattr(node, f.name)
        for child in value if isinstance(value, tuple) else (value,):
            if type(child) in get_args(Node):
                found |= _kinds(child)
    return found


@dataclass(frozen=True)
class _NodeOfTomorrow:
    """A node kind compile_query might gain one day."""


def test_every_kind_of_query_node_is_read_alike_by_search_and_rules_and_an_unknown_one_is_an_error(index, monkeypatch):
    # The shared cases run on both evaluators (first test above); together they hold every kind of node.
    compiled = [compile_query(q) for q, _, _ in CASES]
    assert set().union(*(_kinds(node) for node in compiled if node is not None)) == set(get_args(Node))
    monkeypatch.setattr("newsmon.alerts.match.compile_query", lambda q: _NodeOfTomorrow())
    monkeypatch.setattr("newsmon.store.sqlite_index.compile_query", lambda q: _NodeOfTomorrow())
    rule = AlertRule(name="r", query="medininkai", channels=["file:a.jsonl"])
    with pytest.raises(TypeError, match="cannot evaluate query node"):
        rule_matches(rule, ArticleView(next(iter(ARTICLES.values()))))
    with pytest.raises(TypeError, match="cannot translate query node"):
        index.search(SearchQuery(q="medininkai"))


def test_bang_no_longer_finds_the_articles_that_contain_the_word(index):
    # Elasticsearch reads !medininkai as NOT medininkai; the embedded index used to return the opposite.
    with pytest.raises(QuerySyntaxError, match="Elasticsearch reads ! as NOT"):
        index.search(SearchQuery(q="!medininkai"))
    assert sqlite_finds(index, "NOT medininkai") == rule_finds("NOT medininkai") == "bcdef"


# -- limits: errors that name the limit and the query, never RecursionError or OverflowError ----------


def test_date_maths_beyond_the_calendar_is_an_error_naming_the_limit(index):
    q = "published_at:[now-1000000000d TO *]"
    for run in (lambda: index.search(SearchQuery(q=q)), lambda: build_search_body(SearchQuery(q=q))):
        with pytest.raises(QuerySyntaxError, match=r"now-1000000000d.*years 1–9999"):
            run()
    with pytest.raises(QuerySyntaxError, match="years 1–9999"):
        index.search(SearchQuery(q="published_at:[now+9000y TO *]"))


@pytest.mark.parametrize("q", ["(" * 500 + "medininkai" + ")" * 500, "NOT " * 3000 + "medininkai",
                               "title:" * 300 + "medininkai", "-" * 3000 + "medininkai", "((((a)))) " * 150])
def test_deeply_nested_or_repeated_operators_are_an_error_not_a_recursion_error(index, q):
    with pytest.raises(QuerySyntaxError, match=r"query '"):
        index.search(SearchQuery(q=q))
    with pytest.raises(QuerySyntaxError):
        build_search_body(SearchQuery(q=q))


def test_nesting_up_to_the_limit_works_and_one_more_level_names_the_limit(index):
    assert sqlite_finds(index, "(" * MAX_NESTING + "medininkai" + ")" * MAX_NESTING) == "a"
    with pytest.raises(QuerySyntaxError, match=f"more than {MAX_NESTING} levels"):
        index.search(SearchQuery(q="(" * (MAX_NESTING + 1) + "medininkai" + ")" * (MAX_NESTING + 1)))


def test_more_prefix_terms_than_the_cap_are_an_error_naming_the_cap_and_the_query(index):
    allowed = " OR ".join(f"wor{chr(97 + i)}*" for i in range(MAX_PREFIX_TERMS))
    assert sqlite_finds(index, allowed) == ""
    too_many = allowed + " OR medin*"
    with pytest.raises(QuerySyntaxError, match=rf"^query 'wora\* OR .*: {MAX_PREFIX_TERMS + 1} prefix\* terms, the limit "
                                               rf"is {MAX_PREFIX_TERMS}"):
        index.search(SearchQuery(q=too_many))
    with pytest.raises(ValueError, match="prefix"):
        AlertRule(name="r", query=too_many, channels=["file:a.jsonl"])


def test_queries_over_the_length_or_term_limits_are_an_error_naming_the_limit(index):
    many = " OR ".join(f"w{i}" for i in range(MAX_TERMS + 1))
    with pytest.raises(QuerySyntaxError, match=f"{MAX_TERMS + 1} terms, the limit is {MAX_TERMS}"):
        index.search(SearchQuery(q=many))
    long = "medininkai " * (MAX_QUERY_CHARS // 11 + 1)
    with pytest.raises(QuerySyntaxError, match=f"characters long, the limit is {MAX_QUERY_CHARS}"):
        index.search(SearchQuery(q=long))


@pytest.mark.parametrize(("query", "what"), [
    ("published_at:[now-1000000000d TO *]", "years 1–9999"),
    ("NOT " * 3000 + "medininkai", "limit is 2000"),
    ("(" * 500 + "medininkai" + ")" * 500, "levels deep"),
    ("!medininkai", "NOT"),
])
def test_a_rule_that_used_to_crash_alert_loading_names_the_file_line_and_rule(tmp_path, query, what):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n"
                    "  - {name: fine, query: medininkai, channels: ['file:a.jsonl']}\n"
                    f"  - name: broken\n    query: '{query}'\n    channels: ['file:a.jsonl']\n")
    with pytest.raises(ConfigError, match=rf"alerts.yaml:4: rules.1.query: .*rule 'broken': .*{what}"):
        load_alert_rules(path)


# -- dates as Elasticsearch reads them ------------------------------------------------------------------


def test_date_bounds_round_and_count_months_like_elasticsearch():
    now = datetime(2026, 3, 31, 10, 20, tzinfo=UTC)
    assert resolve_bound("now-1M", round_up=False, now=now) == datetime(2026, 2, 28, 10, 20, tzinfo=UTC)
    assert resolve_bound("now-1y/M", round_up=False, now=now) == datetime(2025, 3, 1, tzinfo=UTC)
    assert resolve_bound("now/M", round_up=True, now=now) == datetime(2026, 3, 31, 23, 59, 59, 999999, tzinfo=UTC)
    assert resolve_bound("now/w", round_up=False, now=now) == datetime(2026, 3, 30, tzinfo=UTC)  # a Monday
    assert resolve_bound("2026-06-30", round_up=True) == datetime(2026, 6, 30, 23, 59, 59, 999999, tzinfo=UTC)
    assert resolve_bound("2026-06-30T08:00", round_up=True) == datetime(2026, 6, 30, 8, 0, 59, 999999, tzinfo=UTC)
    assert resolve_bound("2026-06-30", round_up=False) == datetime(2026, 6, 30, tzinfo=UTC)


def test_now_rounded_to_a_week_month_or_year_starts_that_week_month_or_year_not_today():
    now = datetime(2026, 3, 19, 15, 45, tzinfo=UTC)  # a Thursday
    assert resolve_bound("now/w", round_up=False, now=now) == datetime(2026, 3, 16, tzinfo=UTC)
    assert resolve_bound("now/M", round_up=False, now=now) == datetime(2026, 3, 1, tzinfo=UTC)
    assert resolve_bound("now/y", round_up=False, now=now) == datetime(2026, 1, 1, tzinfo=UTC)
    end = timedelta(microseconds=1)
    assert resolve_bound("now/w", round_up=True, now=now) == datetime(2026, 3, 23, tzinfo=UTC) - end
    assert resolve_bound("now/y", round_up=True, now=now) == datetime(2027, 1, 1, tzinfo=UTC) - end
    assert resolve_bound("now/d", round_up=False, now=now) == datetime(2026, 3, 19, tzinfo=UTC)


def test_an_alert_rule_on_an_entity_id_loads_from_yaml_and_fires_only_for_articles_naming_it(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n"
                    "  - name: lukashenko at the border\n"
                    "    query: entity:person/lukashenko AND NOT entity:place/medininkai\n"
                    "    channels: ['file:a.jsonl']\n"
                    "  - {name: typo, query: 'entity:Lukashenko', channels: ['file:a.jsonl']}\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml:5: .*rule 'typo': .*canonical ids"):
        load_alert_rules(path)
    path.write_text("\n".join(path.read_text().splitlines()[:4]) + "\n")
    (rule,) = load_alert_rules(path)
    assert [key for key, article in sorted(ARTICLES.items()) if rule_matches(rule, ArticleView(article))] == ["f"]
