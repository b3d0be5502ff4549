"""The one Lucene query grammar of newsmon: `newsmon search` (both backends) and alert rules.

`parse_query` decides what is valid. It accepts only the part of Kibana's Lucene syntax (Elasticsearch
`query_string`) that the embedded SQLite index, the in-process alert matcher and Elasticsearch all
read the same way, and refuses everything else with a message that says what to write instead.
`compile_query` turns a valid query into a small tree of our own (`AllOf`, `AnyOf`, `Negated`,
`TextTerm`, `KeywordTerm`, `DateRange`) that the SQLite translator and the rule matcher both walk, so
the two cannot read a construct differently; Elasticsearch gets the checked string
(newsmon/store/es_query.py). The grammar, for users, is in docs/search-queries.md.

The implicit operator between terms is AND on every backend (Elasticsearch gets
`default_operator: AND`, and the Kibana saved objects set the same for the Lucene bar), because
`Medininkai closed` should mean both words for an alert, not either.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from luqum.exceptions import ParseError
from luqum.parser import lexer, parser
from luqum.tree import (
    AndOperation,
    Boost,
    FieldGroup,
    From,
    Fuzzy,
    Group,
    Item,
    Not,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Proximity,
    Range,
    Regex,
    SearchField,
    To,
    UnknownOperation,
    Word,
)

from newsmon.core.entity_ids import ENTITY_ID_HELP, is_entity_id
from newsmon.core.errors import UserError

# Fields a query may name. Text fields are full-text searched; the rest are exact (keyword) filters.
TEXT_FIELDS = ("title", "text", "summary")
KEYWORD_FIELDS = (
    "source",
    "source_affiliation",
    "source_country",
    "language",
    "subtopics",
    "entities",
    "cluster_id",
    "dup_reason",
    "on_topic",
    "topic",
    "id",
)
DATE_FIELDS = ("published_at", "fetched_at")
FIELD_ALIASES = {"affiliation": "source_affiliation", "lang": "language", "subtopic": "subtopics", "entity": "entities"}
# Keyword values are compared exactly, as Elasticsearch's keyword fields do; these fields are written
# in one case by newsmon itself, so a value in the other case is a typo that would silently find nothing.
_LOWER_CASE_FIELDS = ("source", "source_affiliation", "language", "subtopics", "entities", "topic", "dup_reason",
                      "cluster_id", "id")
_UPPER_CASE_FIELDS = ("source_country",)

# Limits. A query is typed by a person or written into alerts.yaml; these are far above any such
# query and far below what makes a search slow or a parser recurse.
MAX_QUERY_CHARS = 2000
# Brackets, NOT/-/+ and field: each nest one level. luqum parses any depth (ply is table-driven), but
# its trees are then walked recursively: deepcopy fails with RecursionError from about 300 levels, str()
# near 2,000, and so would every evaluator here; the depth is checked on the tokens, before parsing.
MAX_NESTING = 20
MAX_TERMS = 100
# Each prefix* makes FTS5 expand the prefix over the index's whole term dictionary, and the snippet
# of each hit then walks every expansion of every prefix, so the cost grows with the square of the
# count. bench/bench_query.py, 40 articles, two runs on a busy 2-core machine: 20 prefixes 0.04-0.08 s,
# 80 0.6-0.8 s, 160 2.2 s, 320 6.5-9.3 s (plain words: 320 take 0.05-0.06 s). 20 keeps a search well
# under a tenth of a second.
MAX_PREFIX_TERMS = 20

_HELP = "words, \"phrases\", prefix*, field:value, field:(a OR b), [from TO to] ranges on dates, AND/OR/NOT, (groups)"


class QuerySyntaxError(UserError, ValueError):
    """A query string that is not in newsmon's query grammar, or is over one of its limits."""


# -- the compiled form both in-process evaluators walk ----------------------------------------------


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Node, ...]


@dataclass(frozen=True)
class Negated:
    part: Node


@dataclass(frozen=True)
class TextTerm:
    """Words that must appear in this order, next to each other (one word is the common case).

    `field` None means any of TEXT_FIELDS. With `prefix`, the last word is a prefix (`migr*`)."""

    field: str | None
    text: str
    prefix: bool = False


@dataclass(frozen=True)
class KeywordTerm:
    """An exact (case-sensitive) value of a keyword field, or a prefix of one (`source:lrt*`)."""

    field: str
    value: str
    prefix: bool = False


@dataclass(frozen=True)
class DateRange:
    """Bounds as written (ISO date, datetime or date maths), resolved per evaluation by resolve_bound."""

    field: str
    low: str | None
    include_low: bool
    high: str | None
    include_high: bool


Node = AllOf | AnyOf | Negated | TextTerm | KeywordTerm | DateRange


def canonical_field(name: str) -> str:
    return FIELD_ALIASES.get(name, name)


@lru_cache(maxsize=512)
def parse_query(query: str) -> Item:
    """Parse and check `query`; raise QuerySyntaxError naming the query and what to write instead.

    `*` alone (every article) parses to Word('*'); callers treat it as match-all.
    """
    text = query.strip()
    if not text:
        raise QuerySyntaxError("empty query: give words, \"a phrase\", field:value, AND/OR/NOT")
    if text == "*":
        return Word("*")
    if len(text) > MAX_QUERY_CHARS:
        _refuse(query, f"{len(text)} characters long, the limit is {MAX_QUERY_CHARS} — "
                       "split it into several rules or searches")
    _check_tokens(text, query)
    try:
        tree = parser.parse(text)
    except (ParseError, TypeError, ValueError, ArithmeticError) as exc:
        raise QuerySyntaxError(f"cannot parse query {query!r}: {exc}; check quotes, brackets and AND/OR/NOT") from exc
    _Checker(query).check(tree, None)
    return tree


@lru_cache(maxsize=512)
def compile_query(query: str) -> Node | None:
    """The checked query as AllOf/AnyOf/Negated/TextTerm/KeywordTerm/DateRange; None for `*` (everything)."""
    tree = parse_query(query)
    if isinstance(tree, Word) and tree.value == "*":
        return None
    return _compile(tree, None)


# -- before luqum: size, nesting and the constructs luqum reads differently from Elasticsearch --------


def _shown(query: str) -> str:
    return repr(query) if len(query) <= 80 else repr(query[:80]) + "…"


def _tokens(text: str, query: str) -> list[Any]:
    lex = lexer.clone()
    lex.input(text)
    try:
        return list(lex)
    except ParseError as exc:
        position = getattr(lex, "lexpos", 0)
        if text[position:position + 1] == '"' or text.count('"') % 2:
            raise QuerySyntaxError(
                f"query {_shown(query)}: unbalanced quote — close the \"phrase\", or write \\\" for a literal quote"
            ) from exc
        raise QuerySyntaxError(f"cannot parse query {query!r}: {exc}; check quotes, brackets and AND/OR/NOT") from exc


_PREFIX_TOKENS = ("NOT", "MINUS", "PLUS")
_BOOST_VALUE = re.compile(r"^\d+(\.\d+)?$")


def _check_tokens(text: str, query: str) -> None:
    """Limits and token-level refusals, on luqum's (non-recursive) lexer output, before its parser runs."""
    tokens = _tokens(text, query)
    stack: list[str] = []  # "(" for a bracket, "u" for NOT/-/+/field: waiting for their operand
    deepest = 0
    terms = prefixes = 0
    in_range = False
    previous = None
    for i, tok in enumerate(tokens):
        kind = tok.type
        following = tokens[i + 1].type if i + 1 < len(tokens) else None
        if in_range:
            in_range = kind != "RBRACKET"
            if not in_range:
                _operand_done(stack)
            previous = kind
            continue
        if kind in _PREFIX_TOKENS:
            if previous == "COLUMN":
                _refuse(query, f"{tok.value} right after field: — put it before the field: NOT title:word or -title:word")
            if previous in _PREFIX_TOKENS:
                _refuse(query, "two operators in a row — Elasticsearch takes one NOT, - or + per term: "
                               "write a for NOT NOT a, and NOT a for NOT -a")
            if kind != "NOT" and text[tok.lexpos + 1:tok.lexpos + 2].isspace():
                sign = text[tok.lexpos]
                _refuse(query, f"{sign} followed by a space — Elasticsearch reads a lone {sign} as a word: write "
                               f"{sign}word with no space" + (", or NOT word" if sign == "-" else ""))
            stack.append("u")
        elif kind == "LPAREN":
            stack.append("(")
        elif kind == "RPAREN":
            while stack and stack.pop() != "(":
                pass
            _operand_done(stack)
        elif kind == "LBRACKET":
            in_range = True
            terms += 1
        elif kind in ("GREATERTHAN", "LESSTHAN"):
            stack.append("u")
        elif kind == "TERM" and following == "COLUMN":
            if previous == "COLUMN":
                _refuse(query, "a field inside a field — write one field:value per term")
            stack.append("u")
        elif kind in ("TERM", "PHRASE", "TO"):
            terms += 1
            if kind == "TERM" and _ends_with_wildcard(tok.value.value):
                prefixes += 1
            _operand_done(stack)
        elif kind == "REGEX":
            _refuse(query, f"regex {tok.value} is not supported — write prefix* or list the forms with OR")
        elif kind == "APPROX":
            _refuse(query, _approx_message(previous))
        elif kind == "BOOST":
            if previous == "BOOST" or tok.value.value is None or not _BOOST_VALUE.match(str(tok.value.value)):
                _refuse(query, "^ needs one number after it, as in title:border^2")
        deepest = max(deepest, len(stack))
        if deepest > MAX_NESTING:
            _refuse(query, f"brackets, NOT/-/+ and field: nest more than {MAX_NESTING} levels deep (the limit) — "
                           "flatten it: a AND b AND c instead of (a AND (b AND c))")
        previous = kind
    if terms > MAX_TERMS:
        _refuse(query, f"{terms} terms, the limit is {MAX_TERMS} — split it into several rules or searches")
    if prefixes > MAX_PREFIX_TERMS:
        _refuse(query, f"{prefixes} prefix* terms, the limit is {MAX_PREFIX_TERMS} (each prefix is expanded over "
                       "the whole index) — write more of each word, or split the query")


def _refuse(query: str, message: str) -> None:
    raise QuerySyntaxError(f"query {_shown(query)}: {message}")


def _operand_done(stack: list[str]) -> None:
    while stack and stack[-1] == "u":
        stack.pop()


def _approx_message(previous: str | None) -> str:
    if previous == "PHRASE":
        return ("proximity (\"a b\"~N) is not supported: write the exact \"phrase\", or the words with AND "
                "to find them anywhere in the article")
    return ("fuzzy matching (word~) is not supported: write the word, or prefix* for endings that vary "
            "(diacritics and case never matter)")


def _ends_with_wildcard(raw: str) -> bool:
    chars = _unescaped_chars(raw)
    return bool(chars) and chars[-1] == ("*", False)


def _unescaped_chars(raw: str) -> list[tuple[str, bool]]:
    """(char, was_escaped) pairs of a luqum Word value such as `a\\:b*`."""
    out: list[tuple[str, bool]] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\" and i + 1 < len(raw):
            out.append((raw[i + 1], True))
            i += 2
        else:
            out.append((raw[i], False))
            i += 1
    return out


def unescape(raw: str) -> str:
    """The literal text of a Lucene term or phrase body: `\\x` becomes `x`."""
    return "".join(c for c, _ in _unescaped_chars(raw))


_WORD_CHARS = re.compile(r"\w+")


def word_count(text: str) -> int:
    """How many words the index sees in `text` (the same `\\w+` tokens on SQLite and in the matcher)."""
    return len(_WORD_CHARS.findall(text))


# -- after luqum: what each node means, field by field -------------------------------------------------


_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class _Checker:
    """Refuse, with the reason and what to write instead, what the three evaluators would not read alike."""

    def __init__(self, query: str) -> None:
        self.query = query

    def fail(self, message: str) -> None:
        _refuse(self.query, message)

    def check(self, node: Item, field: str | None) -> None:
        if isinstance(node, SearchField):
            self.search_field(node, field)
        elif isinstance(node, (OrOperation, AndOperation, UnknownOperation)):
            self.operation(node)
            for child in node.children:
                self.check(child, field)
        elif isinstance(node, (Not, Prohibit, Plus, Group, FieldGroup, Boost)):
            self.check(node.children[0], field)
        elif isinstance(node, (Range, From, To)):
            self.range(node, field)
        elif isinstance(node, Word):
            self.word(node, field)
        elif isinstance(node, Phrase):
            self.phrase(node, field)
        elif isinstance(node, (Fuzzy, Proximity)):
            self.fail(_approx_message("PHRASE" if isinstance(node, Proximity) else "TERM"))
        elif isinstance(node, Regex):
            self.fail(f"regex {node} is not supported — write prefix* or list the forms with OR")
        else:
            self.fail(f"{str(node).strip()!r} ({type(node).__name__.lower()}) is not supported: use {_HELP}")

    def search_field(self, node: SearchField, outer: str | None) -> None:
        if node.name == "_exists_":
            self.fail("_exists_ is not supported: for articles with a date write published_at:[* TO *]")
        name = canonical_field(node.name)
        if name not in TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS:
            known = ", ".join(TEXT_FIELDS + KEYWORD_FIELDS + DATE_FIELDS)
            self.fail(f"unknown field {node.name!r} — known fields: {known}")
        if outer is not None:
            self.fail(f"field {node.name}: inside {outer}:(…): write each field:value outside the other field's brackets")
        self.check(node.expr, name)

    def operation(self, node: Item) -> None:
        # Lucene's classic parser has no precedence: with default_operator AND it reads `a AND b OR c`
        # as `+a b c` (just a) and `a OR NOT b` as `a -b`; luqum, and so SQLite and the rule matcher,
        # read them as (a AND b) OR c and a OR (NOT b). Brackets make both read the same.
        is_or = isinstance(node, OrOperation)
        for child in node.children:
            if is_or and isinstance(child, (AndOperation, UnknownOperation)):
                self.fail("AND (or a space) and OR mixed without brackets: Elasticsearch does not give AND "
                          "precedence; write (a AND b) OR c, or a AND (b OR c)")
            if not is_or and isinstance(child, OrOperation) and not _only_exclusions_beside(node, child):
                self.fail("AND (or a space) and OR mixed without brackets: Elasticsearch does not give AND "
                          "precedence; write (a b) OR c, or a (b OR c)")
            if is_or and isinstance(child, (Not, Prohibit)):
                self.fail(f"NOT inside OR ({str(child).strip()}): Elasticsearch reads a OR NOT b as a AND NOT b; "
                          "write a OR (NOT b) if that is what you mean, or a NOT b")

    def word(self, node: Word, field: str | None) -> None:
        raw = node.value
        if raw == "*":
            self.fail("* alone matches every article only as the whole query; remove it, or write field:value")
        if raw in ("&&", "||"):
            self.fail(f"{raw} is not supported: write {'AND' if raw == '&&' else 'OR'}")
        chars = _unescaped_chars(raw)
        for i, (char, escaped) in enumerate(chars):
            if escaped:
                continue
            if char == '"':
                self.fail(f"unbalanced quote in {raw!r}: close the \"phrase\", or write \\\" for a literal quote")
            if char == "!":
                self.fail(f"! in {raw!r}: Elasticsearch reads ! as NOT; write NOT word (or \\! for a literal !)")
            if char == "/" and (field is None or field in TEXT_FIELDS + DATE_FIELDS):
                # In a keyword value (entity:person/lukashenko) it is part of the value, and
                # newsmon/store/es_query.py escapes it for Elasticsearch.
                self.fail(f"/ in {raw!r} starts a regular expression in Elasticsearch; write \\/ or put the words "
                          "in \"quotes\"")
            if char == ":":
                self.fail(f": in {raw!r}: write \\: for a literal colon, or a [from TO to] range for a time")
            if char == "?":
                self.fail(f"wildcard ? in {raw!r} is not supported: use a trailing * (e.g. migr*)")
            if char == "*" and i != len(chars) - 1:
                self.fail(f"wildcard {raw!r} is not supported: only a trailing * works (e.g. migr*); "
                          "a * at the start or inside a word does not")
        prefix = _ends_with_wildcard(raw)
        value = unescape(raw[:-1] if prefix else raw)
        if field is None or field in TEXT_FIELDS:
            self.text_value(raw, value, prefix)
        elif field in DATE_FIELDS:
            if prefix or not _DAY.match(value):
                self.fail(f"{field}:{raw} — a date field takes a whole day (2025-06-01) or a range such as "
                          f"{field}:[now-7d TO *] or {field}:[2025-06-01 TO 2025-06-30]")
        else:
            self.keyword_value(field, value, raw, prefix)

    def text_value(self, raw: str, value: str, prefix: bool) -> None:
        words = word_count(value)
        if words == 0:
            self.fail(f"{raw!r} has no letters or digits to search for; remove it")
        if prefix and words > 1:
            self.fail(f"prefix {raw!r} spans several words: a prefix* works on one word (e.g. a b*)")

    def keyword_value(self, field: str, value: str, raw: str, prefix: bool = False) -> None:
        if field == "on_topic" and value not in ("true", "false"):
            self.fail(f"on_topic takes true or false, not {raw!r}")
        if field == "entities" and not prefix and not is_entity_id(value):
            self.fail(f"entities holds canonical ids, not {raw!r}: write {ENTITY_ID_HELP} "
                      "(the ids are listed in config/topics/lt-by.yaml), or a prefix such as entity:person/*")
        if field in _LOWER_CASE_FIELDS and value != value.lower():
            self.fail(f"{field} values are lower case: write {field}:{value.lower()}")
        if field in _UPPER_CASE_FIELDS and value != value.upper():
            self.fail(f"{field} values are upper case: write {field}:{value.upper()}")
        if not value:
            self.fail(f"{field}: needs a value")

    def phrase(self, node: Phrase, field: str | None) -> None:
        body = node.value[1:-1]
        text = unescape(body)
        if field is None or field in TEXT_FIELDS:
            if any(c in "*?" and not escaped for c, escaped in _unescaped_chars(body)):
                self.fail(f"wildcards do not work inside quotes ({node.value}): write \"a b\" or a b*")
            if word_count(text) == 0:
                self.fail(f"{node.value} has no letters or digits to search for; remove it")
        elif field in DATE_FIELDS:
            if not _DAY.match(text):
                self.fail(f"{field}:{node.value} — a date field takes a whole day (2025-06-01) or a range")
        else:
            self.keyword_value(field, text, node.value)

    def range(self, node: Range | From | To, field: str | None) -> None:
        if field not in DATE_FIELDS:
            self.fail(f"ranges work on {', '.join(DATE_FIELDS)} only, not on {field or 'words'} ({str(node).strip()})")
        for bound, round_up in _bounds(node):
            if not isinstance(bound, (Word, Phrase)):
                self.fail(f"range bound {str(bound).strip()!r}: use 2025-06-01, 2025-06-01T08:00:00Z or now-7d")
            text = _bound_text(bound)
            if isinstance(node, (From, To)) and isinstance(bound, Phrase):
                sign = (">" if isinstance(node, From) else "<") + ("=" if node.include else "")
                self.fail(f"{str(node).strip()}: Elasticsearch reads a quoted value after > or < as a phrase; "
                          f"write {field}:{sign}{text}")
            if isinstance(node, (From, To)) and any(c in "/:" for c, e in _unescaped_chars(bound.value) if not e):
                self.fail(f"{str(node).strip()}: Elasticsearch cannot read / or : after > or <; write "
                          f"{field}:[{text} TO *] or {field}:[* TO {text}]")
            if text != "*":
                resolve_bound(text, round_up=round_up, query=self.query)


def _only_exclusions_beside(node: Item, alternatives: Item) -> bool:
    # `a OR b NOT c` is the one unbracketed mix both read alike: (a OR b) AND NOT c. A positive term
    # next to the OR would be required by Elasticsearch and make the OR's terms optional.
    return all(child is alternatives or isinstance(child, (Not, Prohibit)) for child in node.children)


def _bounds(node: Range | From | To) -> list[tuple[Item, bool]]:
    """(bound, round_up) pairs: Elasticsearch rounds gt and lte bounds up, gte and lt bounds down."""
    if isinstance(node, Range):
        return [(node.low, not node.include_low), (node.high, node.include_high)]
    if isinstance(node, From):
        return [(node.a, not node.include)]
    return [(node.a, node.include)]


def _bound_text(bound: Item) -> str:
    # Elasticsearch drops the quotes of a quoted range bound.
    return unescape(bound.value[1:-1] if isinstance(bound, Phrase) else bound.value).strip()


# -- compiling the checked luqum tree ------------------------------------------------------------------


def _compile(node: Item, field: str | None) -> Node:
    if isinstance(node, (AndOperation, UnknownOperation)):
        return AllOf(tuple(_compile(c, field) for c in node.children))
    if isinstance(node, OrOperation):
        return AnyOf(tuple(_compile(c, field) for c in node.children))
    if isinstance(node, (Not, Prohibit)):
        return Negated(_compile(node.children[0], field))
    if isinstance(node, (Plus, Group, FieldGroup, Boost)):
        # + is the default (AND) and ^ only changes Elasticsearch's ranking, never what matches.
        return _compile(node.children[0], field)
    if isinstance(node, SearchField):
        return _compile(node.expr, canonical_field(node.name))
    if isinstance(node, Range):
        low, high = _bound_text(node.low), _bound_text(node.high)
        return DateRange(str(field), None if low == "*" else low, node.include_low,
                         None if high == "*" else high, node.include_high)
    if isinstance(node, From):
        return DateRange(str(field), _bound_text(node.a), node.include, None, True)
    if isinstance(node, To):
        return DateRange(str(field), None, True, _bound_text(node.a), node.include)
    if isinstance(node, Phrase):
        text = unescape(node.value[1:-1])
        prefix = False
    elif isinstance(node, Word):
        prefix = _ends_with_wildcard(node.value)
        text = unescape(node.value[:-1] if prefix else node.value)
    else:  # parse_query refused every other node
        raise QuerySyntaxError(f"cannot compile {node!r}")
    if field in DATE_FIELDS:
        # Like Elasticsearch's term query on a date field: the whole day.
        return DateRange(field, text, True, text, True)
    if field is None or field in TEXT_FIELDS:
        return TextTerm(field, text, prefix)
    return KeywordTerm(field, text, prefix)


# -- dates -------------------------------------------------------------------------------------------------


_DATE_MATH = re.compile(r"^now((?:[+-]\d+[yMwdhHms])*)(?:/([yMwdhHms]))?$")
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:\d{2})?$"
)


def resolve_bound(value: str, *, round_up: bool, now: datetime | None = None, query: str | None = None) -> datetime:
    """A range bound as Elasticsearch reads it, UTC-aware.

    ISO dates and datetimes (`2025-06-01`, `2025-06-01T08:00:00Z`) and date maths (`now`, `now-7d`,
    `now-1M/d`: calendar months and years, rounding to y M w d h m s). Rounding up (for > and for
    inclusive upper bounds) goes to the last instant of the unit, and a datetime with missing parts is
    completed to its last instant (`2025-06-30` as an upper bound is the whole of 30 June), as
    Elasticsearch's date parser does; rounding down goes to the first instant.
    """
    text = value.strip()
    where = f" in query {query!r}" if query else ""
    maths = _DATE_MATH.match(text)
    if maths:
        try:
            return _date_maths(maths, now or datetime.now(UTC), round_up)
        except (OverflowError, ValueError) as exc:
            raise QuerySyntaxError(
                f"date maths {value!r}{where} goes outside the years 1–9999 that dates can have (the limit): "
                "use a smaller amount, e.g. now-3650d"
            ) from exc
    written = _DATE_TIME.match(text)
    if written:
        try:
            return _iso_bound(written, round_up)
        except (OverflowError, ValueError) as exc:
            raise QuerySyntaxError(f"date {value!r}{where} is not a calendar date or time: {exc}") from exc
    raise QuerySyntaxError(
        f"date {value!r}{where}: use 2025-06-01, 2025-06-01T08:00:00Z or date maths like now-7d, now-1d/d"
    )


def parse_date_bound(value: str, now: datetime | None = None) -> datetime:
    """A range bound rounded down (see resolve_bound)."""
    return resolve_bound(value, round_up=False, now=now)


def _date_maths(match: re.Match[str], at: datetime, round_up: bool) -> datetime:
    for sign, amount, unit in re.findall(r"([+-])(\d+)([yMwdhHms])", match.group(1)):
        at = _shift(at, int(amount) if sign == "+" else -int(amount), unit)
    unit = match.group(2)
    if unit is None:
        return at
    start = _round_down(at, unit)
    return _shift(start, 1, unit) - timedelta(microseconds=1) if round_up else start


def _shift(at: datetime, amount: int, unit: str) -> datetime:
    if unit in ("y", "M"):
        months = at.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = at.year + months // 12, months % 12 + 1
        day = min(at.day, calendar.monthrange(year, month)[1]) if 1 <= year <= 9999 else at.day
        return at.replace(year=year, month=month, day=day)
    seconds = {"w": 7 * 86400, "d": 86400, "h": 3600, "H": 3600, "m": 60, "s": 1}[unit]
    return at + timedelta(seconds=amount * seconds)


def _round_down(at: datetime, unit: str) -> datetime:
    at = at.replace(microsecond=0)
    if unit == "s":
        return at
    at = at.replace(second=0)
    if unit == "m":
        return at
    at = at.replace(minute=0)
    if unit in ("h", "H"):
        return at
    at = at.replace(hour=0)
    if unit == "w":
        return at - timedelta(days=at.weekday())
    if unit == "M":
        return at.replace(day=1)
    if unit == "y":
        return at.replace(month=1, day=1)
    return at


def _iso_bound(match: re.Match[str], round_up: bool) -> datetime:
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    top = round_up
    micro = int((fraction + "000000")[:6]) if fraction else (999999 if top else 0)
    parsed = datetime(
        int(year), int(month), int(day),
        int(hour) if hour else (23 if top else 0),
        int(minute) if minute else (59 if top else 0),
        int(second) if second else (59 if top else 0),
        micro,
        tzinfo=UTC,
    )
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        parsed -= sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return parsed


def with_keyword_filters(query: str, field: str, values: tuple[str, ...]) -> str:
    """query narrowed to articles whose keyword field holds every one of values (`newsmon search --entity`).

    Each value is quoted, so a `/` in an entity id is never read as the start of a regular expression,
    and the user's query is bracketed, so its own AND/OR cannot mix with the filters.
    """
    if not values:
        return query
    filters = " AND ".join(f'{field}:"{_quoted(value)}"' for value in values)
    text = query.strip()
    return filters if text in ("", "*") else f"({text}) AND {filters}"


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')
