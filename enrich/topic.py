"""Topic tagging from a YAML topic pack: load and validate the pack, then score an article against it."""

from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsmon.core.errors import UserError
from newsmon.core.records import TopicMatch, TopicResult
from newsmon.core.yaml_keys import DuplicateKeyError, refuse_duplicate_keys
from newsmon.enrich.textnorm import fold_aligned, normalize_language, repair_mixed_scripts, stem_dictionary_form

ANCHOR_KINDS = frozenset({"country", "place", "person", "organisation", "checkpoint", "facility"})
NEGATIVE_KINDS = frozenset({"other_border", "context"})

# Longest inflection ending allowed after a stem. Lithuanian locatives (-iuose), Russian adjectives
# (-ского) and Latvian plurals (-ajiem) need up to six letters.
_MAX_ENDING_CHARS = 6
# Shortest ending allowance per language: English adds -s, German -s/-en/-ischen, Russian,
# Ukrainian and Belarusian case endings have up to three letters (-ами, -ого, -імі), Lithuanian,
# Latvian and Polish up to four (-iuose, -ijai, -iego).
_ENDING_FLOOR_CHARS = {"en": 1, "de": 3, "lt": 4, "lv": 4, "pl": 4, "ru": 3, "uk": 3, "be": 3}
# Stems shorter than this are too ambiguous to extend with any ending ("pol", "log").
_MIN_STEM_CHARS = 4
# Between the words of a multi-word term: a space, a hyphen, quotes, "'" — never a line break.
_MAX_GAP_CHARS = 3
_WORD_RE = re.compile(r"\w+")
_NEXT_WORD_RE = re.compile(rf"[^\w\n]{{1,{_MAX_GAP_CHARS}}}(\w+)")
_WEAK_CUE_WEIGHT = 0.5  # a subtopic's weak_terms (generic words such as "border") count half
_SELF_EVIDENT_KINDS = frozenset({"checkpoint", "facility"})
_PARAGRAPH_RE = re.compile(r"[^\n]+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+")
# A wire dateline opens a lead with a place in capitals and an agency or a dash: "KYIV, Ukraine (AP) —",
# "VILNIUS (TASS):", "МОСКВА, 1 сен - РИА Новости". The country in it is where the story was filed,
# not what it is about. Only words without a lower-case word of four letters or more qualify.
_DATELINE_RE = re.compile(r"\s*([^\n]{1,60}?)(?:\s[—–-]{1,2}\s|\([^()\n]{2,25}\)\s*[—–:-]\s)")
_LOWER_WORD_RE = re.compile(r"\b[^\W\d_A-ZА-ЯЁ][^\W\d_]{3,}")
_DATELINE_UNITS = 3  # only the first paragraphs can start with a dateline
_MAX_PARAGRAPH_CHARS = 600  # longer "paragraphs" are whole articles on one line (the dev set's longest is 564)
_CHUNK_CHARS = 300


class TopicPackError(UserError, ValueError):
    """A topic pack file is missing, unreadable or invalid; the message names the file, line, field and fix."""

    def __init__(self, path: Path | str, problem: str, *, line: int | None = None, field: str | None = None,
                 fix: str | None = None) -> None:
        self.path = str(path)
        self.line = line
        self.field = field
        self.problem = problem
        self.fix = fix
        where = self.path + (f":{line}" if line else "")
        what = f"{field}: {problem}" if field else problem
        super().__init__(f"{where}: {what}" + (f" — {fix}" if fix else ""))


# --------------------------------------------------------------------------- YAML with line numbers


class _LineDict(dict):
    line: int = 0
    key_lines: dict[str, int]


class _LineList(list):
    line: int = 0
    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that remembers the line of every mapping, sequence and sequence item."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    refuse_duplicate_keys(loader, node)
    loader.flatten_mapping(node)
    result = _LineDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[str(key)] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


# --------------------------------------------------------------------------- pack records


@dataclass(frozen=True)
class WordPattern:
    """One word of a term: a folded stem and how many letters of inflection may follow it."""

    prefix: str
    max_ending: int
    exact: bool


@dataclass(frozen=True)
class Term:
    """One surface term of a concept as written in the pack, compiled into word patterns."""

    text: str
    language: str
    words: tuple[WordPattern, ...]
    concept: int  # index into TopicPack.concepts


@dataclass(frozen=True)
class Concept:
    """An anchor, negative cue or subtopic: the unit that scoring counts."""

    id: str
    role: str  # "side" | "negative" | "subtopic"
    group: str  # side id, negative kind, or subtopic id
    kind: str  # anchor kind, negative kind or "subtopic"
    weight: float = 1.0
    strong: bool = False
    min_hits: int = 1
    competes_with: str | None = None  # negative cues: the side this other country stands in for


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: a pack is loaded once and shared
class TopicPack:
    """A validated, compiled topic pack. `.name` is the topic id (e.g. "lt-by")."""

    name: str
    title: str
    path: Path
    version: int
    languages: tuple[str, ...]
    sides: tuple[str, ...]
    side_labels: dict[str, str]
    concepts: tuple[Concept, ...]
    terms: tuple[Term, ...]
    subtopic_ids: tuple[str, ...]
    _matcher: _Matcher = field(default=None, repr=False, compare=False)  # type: ignore[assignment]


# --------------------------------------------------------------------------- loading


def _require(mapping: Any, key: str, path: Path, where: str, kind: type | tuple[type, ...], fix: str) -> Any:
    if not isinstance(mapping, dict) or key not in mapping:
        line = getattr(mapping, "line", None)
        raise TopicPackError(path, f"missing `{key}`", line=line, field=where, fix=fix)
    value = mapping[key]
    if not isinstance(value, kind):
        line = getattr(mapping, "key_lines", {}).get(key, getattr(mapping, "line", None))
        expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise TopicPackError(path, f"expected {expected}, got {type(value).__name__}", line=line,
                             field=f"{where}.{key}", fix=fix)
    return value


def _compile_word(word: str, language: str, exact: bool) -> WordPattern:
    folded = fold_aligned(word)
    if exact:
        return WordPattern(folded, 0, True)
    stemmed = stem_dictionary_form(word, language)
    # A stemmer may rewrite the end of a word (English y→i); keep only the part the word really starts with.
    common = 0
    for a, b in zip(stemmed, folded, strict=False):
        if a != b:
            break
        common += 1
    prefix = folded[:common]
    if len(prefix) < _MIN_STEM_CHARS:
        # Too short to extend freely: the whole word with at most two letters of ending.
        return WordPattern(folded, 2, False)
    # The dictionary form's own ending, two letters more, and at least what the language's case
    # endings need: "Minskas" allows Minsko/Minske/Minskui but not "Minskowski".
    floor = _ENDING_FLOOR_CHARS.get(language, 3)
    own_ending = len(folded) - len(prefix)
    # English barely inflects: one letter past the listed form (balloon → balloons, not Minsk → minskat).
    slack = 1 if language == "en" else 2
    # The cap never cuts below the listed form itself, where a stemmer went deep (ginkluotosios → ginkl).
    max_ending = min(max(_MAX_ENDING_CHARS, own_ending), max(floor, own_ending + slack))
    return WordPattern(prefix, max_ending, False)


def _compile_terms(raw_terms: Any, concept_index: int, path: Path, where: str, languages: tuple[str, ...],
                   line: int | None) -> list[Term]:
    if not isinstance(raw_terms, dict) or not raw_terms:
        raise TopicPackError(path, "needs a `terms` mapping of language → list of terms", line=line, field=where,
                             fix="add e.g. `terms: {en: [Lithuania], lt: [Lietuva]}`")
    terms: list[Term] = []
    for language, items in raw_terms.items():
        item_line = raw_terms.key_lines.get(str(language), line) if isinstance(raw_terms, _LineDict) else line
        if language not in languages:
            raise TopicPackError(path, f"language `{language}` is not in the pack's `languages`", line=item_line,
                                 field=f"{where}.terms", fix=f"use one of {', '.join(languages)} or add it to `languages`")
        if not isinstance(items, list) or not items:
            raise TopicPackError(path, "expected a non-empty list of terms", line=item_line,
                                 field=f"{where}.terms.{language}", fix="write the terms as `[Term one, Term two]`")
        for position, item in enumerate(items):
            term_line = items.item_lines[position] if isinstance(items, _LineList) else item_line
            if not isinstance(item, str) or not item.strip().lstrip("="):
                raise TopicPackError(path, f"term #{position + 1} is {item!r}, not a word", line=term_line,
                                     field=f"{where}.terms.{language}", fix="quote it or remove it")
            text = item.strip()
            exact = text.startswith("=")
            words = _WORD_RE.findall(text.lstrip("="))
            if not words:
                raise TopicPackError(path, f"term {item!r} has no letters", line=term_line,
                                     field=f"{where}.terms.{language}", fix="remove it")
            patterns = tuple(_compile_word(w, str(language), exact) for w in words)
            terms.append(Term(text=text.lstrip("="), language=str(language), words=patterns, concept=concept_index))
    return terms


_load_lock = threading.Lock()
_pack_cache: dict[tuple[str, int, int], TopicPack] = {}


def load_topic_pack(path: Path) -> TopicPack:
    """Read, validate and compile one pack file; cached by path and modification time.

    Raises TopicPackError naming the file, line and field, with a fix, for anything invalid.
    """
    path = Path(path)
    try:
        stat = path.stat()
    except OSError as exc:
        raise TopicPackError(path, f"cannot read the topic pack ({exc.strerror})",
                             fix="check the path, or set NEWSMON_CONFIG_DIR to the folder holding topics/") from exc
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    with _load_lock:
        cached = _pack_cache.get(key)
    if cached is not None:
        return cached
    pack = _parse_pack(path)
    with _load_lock:
        _pack_cache[key] = pack
    return pack


def load_topic_packs(directory: Path) -> list[TopicPack]:
    """Every `*.yaml`/`*.yml` pack in directory, sorted by file name; topic ids must be unique."""
    directory = Path(directory)
    if not directory.is_dir():
        raise TopicPackError(directory, "topic pack folder does not exist",
                             fix="create it with at least one pack (see config/topics/lt-by.yaml)")
    files = sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")])
    packs = [load_topic_pack(p) for p in files]
    seen: dict[str, Path] = {}
    for pack in packs:
        if pack.name in seen:
            raise TopicPackError(pack.path, f"topic id `{pack.name}` is also used by {seen[pack.name]}",
                                 field="id", fix="give each pack its own `id`")
        seen[pack.name] = pack.path
    return packs


def _parse_pack(path: Path) -> TopicPack:
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_LineLoader)  # noqa: S506 - SafeLoader subclass
    except DuplicateKeyError as exc:
        raise TopicPackError(path, f"key `{exc.key}` appears twice in one mapping (first at line {exc.first_line})",
                             line=exc.line, field=str(exc.key),
                             fix="remove one or merge them: YAML would silently keep only the last") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise TopicPackError(path, f"not valid YAML ({getattr(exc, 'problem', exc)})",
                             line=mark.line + 1 if mark else None, fix="fix the YAML syntax at that line") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise TopicPackError(path, f"cannot read the topic pack ({exc})", fix="save it as UTF-8 text") from exc
    if not isinstance(raw, dict):
        raise TopicPackError(path, "the pack must be a YAML mapping", line=1,
                             fix="start with `id: <topic-id>` (see config/topics/lt-by.yaml)")
    topic_id = _require(raw, "id", path, "pack", str, "add `id: <topic-id>`, e.g. `id: lt-by`")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", topic_id):
        raise TopicPackError(path, f"`{topic_id}` is not a usable topic id", line=raw.key_lines.get("id"),
                             field="id", fix="use lower-case letters, digits, '-' or '_'")
    title = raw.get("name", topic_id)
    version = raw.get("version", 1)
    if not isinstance(version, int):
        raise TopicPackError(path, "expected an integer", line=raw.key_lines.get("version"), field="version",
                             fix="write e.g. `version: 1`")
    languages = tuple(_require(raw, "languages", path, "pack", list, "add e.g. `languages: [en, lt, ru]`"))
    for language in languages:
        if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}", language):
            raise TopicPackError(path, f"`{language}` is not an ISO 639-1 code", line=raw.key_lines.get("languages"),
                                 field="languages", fix="use two-letter codes such as en, lt, ru")
    sides_raw = _require(raw, "sides", path, "pack", dict, "add `sides: {a: First country, b: Second country}`")
    if len(sides_raw) != 2:
        raise TopicPackError(path, f"expected exactly two sides, got {len(sides_raw)}", line=sides_raw.line,
                             field="sides", fix="a bilateral topic names two sides, e.g. `{lt: Lithuania, by: Belarus}`")
    sides = tuple(str(s) for s in sides_raw)
    side_labels = {str(k): str(v) for k, v in sides_raw.items()}

    concepts: list[Concept] = []
    terms: list[Term] = []
    anchors = _require(raw, "anchors", path, "pack", list, "add an `anchors:` list (see config/topics/README.md)")
    seen_ids: set[str] = set()
    for index, anchor in enumerate(anchors):
        where = f"anchors[{index}]"
        line = anchors.item_lines[index] if isinstance(anchors, _LineList) else None
        if not isinstance(anchor, dict):
            raise TopicPackError(path, "expected a mapping with id, side, kind, terms", line=line, field=where,
                                 fix="write `- id: ...` followed by `side:`, `kind:` and `terms:`")
        anchor_id = _require(anchor, "id", path, where, str, "give the anchor an `id` (its display name)")
        where = f"anchors[{anchor_id}]"
        if anchor_id in seen_ids:
            raise TopicPackError(path, f"duplicate anchor id `{anchor_id}`", line=anchor.line, field=where,
                                 fix="merge the two entries or rename one")
        seen_ids.add(anchor_id)
        side = _require(anchor, "side", path, where, str, f"set `side:` to one of {', '.join(sides)}")
        if side not in sides:
            raise TopicPackError(path, f"side `{side}` is not declared under `sides`",
                                 line=anchor.key_lines.get("side"), field=f"{where}.side",
                                 fix=f"use one of {', '.join(sides)}")
        kind = _require(anchor, "kind", path, where, str, f"set `kind:` to one of {', '.join(sorted(ANCHOR_KINDS))}")
        if kind not in ANCHOR_KINDS:
            raise TopicPackError(path, f"unknown kind `{kind}`", line=anchor.key_lines.get("kind"),
                                 field=f"{where}.kind", fix=f"use one of {', '.join(sorted(ANCHOR_KINDS))}")
        weight = _weight(anchor, path, where)
        strong = anchor.get("strong", False)
        if not isinstance(strong, bool):
            raise TopicPackError(path, "expected true or false", line=anchor.key_lines.get("strong"),
                                 field=f"{where}.strong", fix="write `strong: true` or remove the line")
        concepts.append(Concept(id=anchor_id, role="side", group=side, kind=kind, weight=weight, strong=strong))
        terms += _compile_terms(anchor.get("terms"), len(concepts) - 1, path, where, languages, anchor.line)

    negatives = raw.get("negatives", [])
    if not isinstance(negatives, list):
        raise TopicPackError(path, "expected a list", line=raw.key_lines.get("negatives"), field="negatives",
                             fix="write `negatives:` followed by `- id: ...` entries, or remove it")
    for index, negative in enumerate(negatives):
        line = negatives.item_lines[index] if isinstance(negatives, _LineList) else None
        where = f"negatives[{index}]"
        negative_id = _require(negative, "id", path, where, str, "give the negative cue an `id`")
        where = f"negatives[{negative_id}]"
        kind = _require(negative, "kind", path, where, str, f"set `kind:` to one of {', '.join(sorted(NEGATIVE_KINDS))}")
        if kind not in NEGATIVE_KINDS:
            raise TopicPackError(path, f"unknown kind `{kind}`", line=negative.key_lines.get("kind"),
                                 field=f"{where}.kind", fix=f"use one of {', '.join(sorted(NEGATIVE_KINDS))}")
        competes_with = negative.get("competes_with")
        if kind == "other_border" and competes_with not in sides:
            raise TopicPackError(path, f"competes_with is {competes_with!r}", line=negative.line,
                                 field=f"{where}.competes_with",
                                 fix=f"name the side this country can stand in for: one of {', '.join(sides)}")
        concepts.append(Concept(id=negative_id, role="negative", group=kind, kind=kind,
                                weight=_weight(negative, path, where), competes_with=competes_with))
        terms += _compile_terms(negative.get("terms"), len(concepts) - 1, path, where, languages, line)

    subtopics = raw.get("subtopics", {})
    if not isinstance(subtopics, dict):
        raise TopicPackError(path, "expected a mapping of subtopic id → cues", line=raw.key_lines.get("subtopics"),
                             field="subtopics", fix="write `subtopics:` then `  border_crossings: {terms: {...}}`")
    subtopic_ids: list[str] = []
    for subtopic_id, spec in subtopics.items():
        where = f"subtopics.{subtopic_id}"
        line = subtopics.key_lines.get(str(subtopic_id))
        if not isinstance(spec, dict):
            raise TopicPackError(path, "expected a mapping with `terms`", line=line, field=where,
                                 fix="write `terms: {en: [...], ...}` under it")
        min_hits = spec.get("min_hits", 1)
        if not isinstance(min_hits, int) or min_hits < 1:
            raise TopicPackError(path, f"min_hits must be a positive integer, got {min_hits!r}",
                                 line=spec.key_lines.get("min_hits", line), field=f"{where}.min_hits",
                                 fix="write e.g. `min_hits: 1`")
        concepts.append(Concept(id=str(subtopic_id), role="subtopic", group=str(subtopic_id), kind="subtopic",
                                min_hits=min_hits))
        subtopic_ids.append(str(subtopic_id))
        terms += _compile_terms(spec.get("terms"), len(concepts) - 1, path, where, languages, line)
        if "weak_terms" in spec:
            concepts.append(Concept(id=str(subtopic_id), role="subtopic", group=str(subtopic_id), kind="subtopic",
                                    weight=_WEAK_CUE_WEIGHT, min_hits=min_hits))
            terms += _compile_terms(spec["weak_terms"], len(concepts) - 1, path, f"{where}.weak_terms", languages,
                                    spec.key_lines.get("weak_terms", line))

    pack = TopicPack(name=topic_id, title=str(title), path=path, version=version, languages=languages,
                     sides=sides, side_labels=side_labels, concepts=tuple(concepts), terms=tuple(terms),
                     subtopic_ids=tuple(subtopic_ids))
    object.__setattr__(pack, "_matcher", _Matcher(pack.terms))
    return pack


def _weight(entry: dict, path: Path, where: str) -> float:
    weight = entry.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 5:
        raise TopicPackError(path, f"weight must be a number in (0, 5], got {weight!r}",
                             line=getattr(entry, "key_lines", {}).get("weight"), field=f"{where}.weight",
                             fix="use e.g. `weight: 1.0`")
    return float(weight)


# --------------------------------------------------------------------------- matching


class _Matcher:
    """Finds every pack term in folded text.

    The text is split at white space in C, and the set of distinct chunks minus the chunks already
    known to hold no term start (also a C-level set operation) leaves a few dozen chunks per article
    for Python to look at. Each chunk's verdict is memoised, so a word is stemmed and compared with
    the pack once per process, not once per article.
    """

    _MEMO_LIMIT = 500_000

    def __init__(self, terms: tuple[Term, ...]) -> None:
        self.terms = terms
        self.index: dict[str, list[tuple[int, WordPattern]]] = {}
        key_lengths: set[int] = set()
        for term_index, term in enumerate(terms):
            first = term.words[0]
            key = first.prefix[:_MIN_STEM_CHARS]
            key_lengths.add(len(key))
            self.index.setdefault(key, []).append((term_index, first))
        self.key_lengths = tuple(sorted(key_lengths))
        self.max_words = max((len(t.words) for t in terms), default=1)
        # chunk → ((offset of a word in the chunk, word, terms it may start), ...)
        self.memo: dict[str, tuple[_ChunkWord, ...]] = {}
        self.no_match: set[str] = set()
        self.phrase_memo: dict[tuple[str, ...], tuple[tuple[int, int], ...]] = {}

    @staticmethod
    def word_matches(word: WordPattern, token: str) -> bool:
        if word.exact:
            return token == word.prefix
        return token.startswith(word.prefix) and len(token) - len(word.prefix) <= word.max_ending

    def _first_word_terms(self, token: str) -> tuple[int, ...]:
        found: list[int] = []
        for length in self.key_lengths:
            if len(token) < length:
                break
            for term_index, word in self.index.get(token[:length], ()):
                if self.word_matches(word, token):
                    found.append(term_index)
        return tuple(found)

    def _chunk_words(self, chunk: str) -> tuple[_ChunkWord, ...]:
        words = []
        # Look-alike letters from the other script ("Бeларусь") are repaired here, once per distinct
        # chunk, rather than over every text; offsets do not move.
        for match in _WORD_RE.finditer(repair_mixed_scripts(chunk)):
            candidates = self._first_word_terms(match.group())
            if candidates:
                # One hit per concept is enough: "Belarus" is listed in several languages.
                by_concept: dict[int, int] = {}
                for i in candidates:
                    if len(self.terms[i].words) == 1:
                        by_concept.setdefault(self.terms[i].concept, i)
                singles = tuple(by_concept.values())
                phrases = tuple(i for i in candidates if len(self.terms[i].words) > 1)
                longest = max((len(self.terms[i].words) for i in phrases), default=1)
                words.append(_ChunkWord(match.start(), match.group(), singles, phrases, longest - 1))
        return tuple(words)

    def _phrases_after(self, word: _ChunkWord, following: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
        """(term index, number of words) of the multi-word terms that word and the following words complete."""
        key = (word.token, *following)
        found = self.phrase_memo.get(key)
        if found is None:
            matched: list[tuple[int, int]] = []
            for term_index in word.phrases:
                rest = self.terms[term_index].words[1:]
                if len(rest) <= len(following) and all(
                    self.word_matches(pattern, token) for pattern, token in zip(rest, following, strict=False)
                ):
                    matched.append((term_index, len(rest) + 1))
            found = self.phrase_memo[key] = tuple(matched)
        return found

    def find(self, folded: str) -> list[tuple[int, int, int]]:
        """(term index, start, end) for every term occurrence in folded text (unordered)."""
        memo, no_match = self.memo, self.no_match
        if len(memo) + len(no_match) + len(self.phrase_memo) > self._MEMO_LIMIT:
            memo.clear()
            no_match.clear()
            self.phrase_memo.clear()
        hits: list[tuple[int, int, int]] = []
        for chunk in set(folded.split()) - no_match:
            words = memo.get(chunk)
            if words is None:
                words = self._chunk_words(chunk)
                if not words:
                    no_match.add(chunk)
                    continue
                memo[chunk] = words
            for chunk_start in _chunk_occurrences(folded, chunk):
                for word in words:
                    start = chunk_start + word.offset
                    end = start + len(word.token)
                    for term_index in word.singles:
                        hits.append((term_index, start, end))
                    if word.phrases:
                        following = _following_words(folded, end, word.max_following)
                        phrases = self._phrases_after(word, tuple(token for token, _ in following))
                        for term_index, size in phrases:
                            hits.append((term_index, start, following[size - 2][1]))
        return hits


@dataclass(frozen=True)
class _ChunkWord:
    """A word inside a white-space chunk that may start pack terms."""

    offset: int
    token: str
    singles: tuple[int, ...]  # one-word terms it is
    phrases: tuple[int, ...]  # multi-word terms it may start
    max_following: int  # how many following words the longest of those needs


def _chunk_occurrences(text: str, chunk: str) -> list[int]:
    """Offsets where chunk stands in text as a whole white-space-delimited chunk (as str.split() cut it)."""
    found: list[int] = []
    size = len(chunk)
    position = text.find(chunk)
    while position != -1:
        end = position + size
        if (position == 0 or text[position - 1].isspace()) and (end == len(text) or text[end].isspace()):
            found.append(position)
        position = text.find(chunk, position + 1)
    return found


def _following_words(text: str, position: int, count: int) -> list[tuple[str, int]]:
    """Up to count (word, end offset) pairs after position, each separated by a short non-break gap."""
    words: list[tuple[str, int]] = []
    while len(words) < count:
        match = _NEXT_WORD_RE.match(text, position)
        if match is None:
            break
        position = match.end()
        words.append((match.group(1), position))
    return words


# --------------------------------------------------------------------------- scoring


class _Unit:
    """The title or one paragraph of the text, with what was found in it."""

    # A plain slotted class: long articles have dozens of paragraphs and this is built per article.
    __slots__ = ("dateline_end", "end", "field", "first_country", "negative_weight", "self_evident", "side_weight",
                 "start", "strong", "subtopic_hits")

    def __init__(self, field_name: str, start: int, end: int) -> None:
        self.field = field_name
        self.start = start
        self.end = end
        self.side_weight: dict[str, float] = {}
        self.negative_weight: dict[str, float] = {}
        self.strong: set[str] = set()
        self.self_evident: set[str] = set()
        self.subtopic_hits: dict[str, float] = {}
        self.first_country: str | None = None
        self.dateline_end = start  # where a wire dateline ("KYIV, Ukraine (AP) —") ends, if there is one

    def has(self, side: str) -> bool:
        return side in self.side_weight


def _units(field_name: str, text: str) -> list[_Unit]:
    """Paragraphs (lines) of text; an over-long one is cut at sentence ends into paragraph-sized parts.

    Some extractors return a whole article as one line, and one "paragraph" naming both countries
    somewhere in 5,000 characters must not count as a paragraph about both.
    """
    units: list[_Unit] = []
    for paragraph in _PARAGRAPH_RE.finditer(text):
        if not paragraph.group().strip():
            continue
        start, end = paragraph.span()
        if end - start > _MAX_PARAGRAPH_CHARS:
            for sentence_end in _SENTENCE_END_RE.finditer(text, start + _CHUNK_CHARS, end - _CHUNK_CHARS // 2):
                if sentence_end.start() - start >= _CHUNK_CHARS:
                    units.append(_Unit(field_name, start, sentence_end.start()))
                    start = sentence_end.end()
        units.append(_Unit(field_name, start, end))
    for unit in units[:_DATELINE_UNITS]:
        dateline = _DATELINE_RE.match(text, unit.start, unit.end)
        if dateline and not _LOWER_WORD_RE.search(dateline.group(1)):
            unit.dateline_end = dateline.end()
    return units


def _dedupe_overlaps(hits: list[tuple[int, int, int]], pack: TopicPack) -> list[tuple[int, int, int]]:
    """Text-ordered hits, keeping the longest of overlapping hits of the same concept id."""
    hits.sort(key=lambda hit: (hit[1], -hit[2]))
    result: list[tuple[int, int, int]] = []
    end_by_concept: dict[tuple[str, str], int] = {}
    for hit in hits:
        found = pack.concepts[pack.terms[hit[0]].concept]
        concept = (found.role, found.id)  # a subtopic's terms and weak_terms are one concept here
        if hit[1] < end_by_concept.get(concept, -1):
            continue  # inside a longer hit of the same concept ("Belarusian border guards" vs "border guards")
        end_by_concept[concept] = hit[2]
        result.append(hit)
    return result


def tag(pack: TopicPack, title: str | None, text: str, language: str | None = None) -> TopicResult:
    """Score one article against pack: on_topic, relevance 0–1, subtopics, entities and the matches behind them.

    Offsets in `matched` index into the given title (field="title") or text (field="text").
    """
    language = normalize_language(language)
    terms = pack.terms
    concepts = pack.concepts
    side_a, side_b = pack.sides
    fields = [(name, content, fold_aligned(content)) for name, content in (("title", title or ""), ("text", text or ""))
              if content]
    hits_by_field = [pack._matcher.find(folded) for _, _, folded in fields]
    groups_seen = {concepts[terms[h[0]].concept].group for hits in hits_by_field for h in hits}
    if side_a not in groups_seen or side_b not in groups_seen:
        # The common case in a feed: one side is absent, so nothing else needs scoring. Subtopic
        # cues only explain on-topic articles; here they would be noise in `matched`.
        missing = pack.side_labels[side_a if side_a not in groups_seen else side_b]
        matched = [
            TopicMatch(term=concept.id, surface=content[start:end], start=start, end=end, field=field_name,
                       kind=f"{concept.role}:{concept.group}")
            for (field_name, content, _), hits in zip(fields, hits_by_field, strict=True)
            for term_index, start, end in _dedupe_overlaps(hits, pack)
            if (concept := concepts[terms[term_index].concept]).role != "subtopic"
        ]
        entities = tuple(dict.fromkeys(m.term for m in matched if m.kind.startswith("side:")))
        explanation = f"{missing} not mentioned"
        if language:
            explanation = f"language {language}; " + explanation
        return TopicResult(topic=pack.name, on_topic=False, relevance=0.0, entities=entities,
                           matched=tuple(matched), explanation=explanation)
    matched: list[TopicMatch] = []
    units: list[_Unit] = []
    for (field_name, content, _), field_hits in zip(fields, hits_by_field, strict=True):
        field_units = _units(field_name, content)
        units_iter = iter(field_units)
        unit = next(units_iter, None)
        for term_index, start, end in _dedupe_overlaps(field_hits, pack):
            while unit is not None and start >= unit.end:
                unit = next(units_iter, None)
            concept = concepts[terms[term_index].concept]
            matched.append(TopicMatch(term=concept.id, surface=content[start:end], start=start, end=end,
                                      field=field_name, kind=f"{concept.role}:{concept.group}"))
            if unit is None:
                continue
            if (unit.first_country is None and (concept.kind == "country" or concept.competes_with)
                    and start >= unit.dateline_end):
                unit.first_country = concept.id
            if concept.role == "side":
                unit.side_weight[concept.group] = unit.side_weight.get(concept.group, 0.0) + concept.weight
                if concept.strong:
                    unit.strong.add(concept.id)
                    if concept.kind in _SELF_EVIDENT_KINDS:
                        unit.self_evident.add(concept.id)
            elif concept.role == "negative":
                if start < unit.dateline_end:
                    continue  # where the story was filed from, not a competing subject
                unit.negative_weight[concept.id] = unit.negative_weight.get(concept.id, 0.0) + concept.weight
            else:
                unit.subtopic_hits[concept.id] = unit.subtopic_hits.get(concept.id, 0.0) + concept.weight
        units += field_units

    score, reasons = _score(units, side_a, side_b, pack)
    relevance = 1.0 / (1.0 + math.exp(-(score - _ON_TOPIC_SCORE)))
    on_topic = score >= _ON_TOPIC_SCORE
    subtopics = _subtopics(units, pack, side_a, side_b) if on_topic else ()
    entities = tuple(dict.fromkeys(
        m.term for m in matched if m.kind.startswith("side:")
    ))
    explanation = "; ".join(reasons)
    if language:
        explanation = f"language {language}; " + explanation
    return TopicResult(topic=pack.name, on_topic=on_topic, relevance=round(relevance, 3), subtopics=subtopics,
                       entities=entities, matched=tuple(matched), explanation=explanation)


# Scoring constants, in points; an article is on-topic at _ON_TOPIC_SCORE points and relevance is a
# logistic curve centred there. Tuned on the development set as a whole (bench/eval_topic.py), never
# per item; each one stands for a rule of the labelling guideline.
_ON_TOPIC_SCORE = 2.75
_TITLE_BOTH = 2.5  # the headline is about both countries
_TITLE_ONE_LEAD_OTHER = 1.5  # headline names one side, the lead the other
_TITLE_ONE = 0.5  # headline names one side: the article is at least about one of them
_LEAD_BOTH = 2.0  # the first substantive paragraph is about both
_BODY_BOTH_EACH = 1.0  # every further paragraph about both ("at least a full paragraph")
_BODY_BOTH_MAX = 4.0
_SUBJECT_CUE = 1.0  # a paragraph about both also names a bilateral subject (border, migrants, balloons...)
_STRONG_EACH = 1.0  # checkpoints, border agencies, Astravets, Belaruskali
_STRONG_MAX = 2.0
_PASSING_MENTION = -2.0  # one side named only once and nothing strong: "named in passing"
_SPARSE_LONG_ARTICLE = -2.0  # a long article where the pair shows up in few paragraphs
_OTHER_BORDER_ARTICLE = -1.5  # another border/country outweighs Lithuania across the article
_OTHER_BORDER_TITLE = -2.0  # the headline is about another border with Belarus
_CONTEXT = -4.0  # a negative of kind context (sport) is the setting: even a Lithuania–Belarus match is sport
_CONTEXT_MIN_HITS = 2
_OTHER_COUNTRY_FIRST = -1.5  # the headline (or lead) opens on another neighbour: its border is the subject
_SHARE_BONUS = 2.0  # times the share of paragraphs about both: short focused excerpts score high
_MIN_PARAGRAPH_CHARS = 40  # shorter lines are datelines, captions, bylines, not paragraphs
_PASSING_MIN_PARAGRAPHS = 4  # from this length, one mention of a side is a passing mention wherever it is
_SHORT_ARTICLE_PARAGRAPHS = 6  # up to this length every paragraph's subtopic cues count
_LONG_ARTICLE_PARAGRAPHS = 8
_SPARSE_SHARE = 0.2  # a long article needs this share of paragraphs about both, or a headline about both


def _score(units: list[_Unit], a: str, b: str, pack: TopicPack) -> tuple[float, list[str]]:
    reasons: list[str] = []
    title = next((u for u in units if u.field == "title"), None)
    text_units = [u for u in units if u.field == "text"]
    # A feed summary may be one short line; then that line is the paragraph.
    paragraphs = [u for u in text_units if u.end - u.start >= _MIN_PARAGRAPH_CHARS] or text_units
    if title is not None and paragraphs and _same_as_title(paragraphs[0], title):
        paragraphs = paragraphs[1:]  # many pages repeat the headline as the first line of the text
    total_a = sum(u.side_weight.get(a, 0.0) for u in units)
    total_b = sum(u.side_weight.get(b, 0.0) for u in units)
    if total_a == 0 or total_b == 0:
        missing = pack.side_labels[a] if total_a == 0 else pack.side_labels[b]
        return 0.0, [f"{missing} not mentioned"]
    competing = {c.id: c.competes_with for c in pack.concepts if c.role == "negative" and c.competes_with}

    def other_weight(unit: _Unit, side: str | None = None) -> float:
        return sum(w for k, w in unit.negative_weight.items()
                   if k in competing and (side is None or competing[k] == side))

    def both(unit: _Unit | None) -> bool:
        # A paragraph where another country is named at least as much as one side is about that
        # country's border (Poland–Belarus, Latvia–Belarus, Lithuania–Kaliningrad), not about the pair.
        return (unit is not None and unit.has(a) and unit.has(b)
                and other_weight(unit, a) <= unit.side_weight.get(a, 0.0)
                and other_weight(unit, b) <= unit.side_weight.get(b, 0.0))

    score = 0.0
    lead = paragraphs[0] if paragraphs else None
    if both(title):
        score += _TITLE_BOTH
        reasons.append("title names both sides")
    elif title is not None and lead is not None and (
        (title.has(a) and lead.has(b)) or (title.has(b) and lead.has(a))
    ):
        score += _TITLE_ONE_LEAD_OTHER
        reasons.append("title and lead name one side each")
    elif title is not None and (title.has(a) or title.has(b)):
        score += _TITLE_ONE
        reasons.append("title names one side")
    if both(lead):
        score += _LEAD_BOTH
        reasons.append("lead paragraph names both sides")
    body_both = [u for u in paragraphs[1:] if both(u)]
    if body_both:
        score += min(_BODY_BOTH_MAX, _BODY_BOTH_EACH * len(body_both))
        reasons.append(f"{len(body_both)} more paragraph(s) name both sides")
    if paragraphs:
        share = len([u for u in paragraphs if both(u)]) / len(paragraphs)
        if share:
            score += _SHARE_BONUS * share
            reasons.append(f"{share:.0%} of paragraphs name both sides")
    both_units = [u for u in (title, *paragraphs) if both(u)]
    cue_subtopics = {s for u in both_units for s in u.subtopic_hits}
    if cue_subtopics:
        score += _SUBJECT_CUE
        reasons.append("a paragraph about both names " + ", ".join(sorted(cue_subtopics)))
    # Checkpoints and the Astravets plant stand for the pair wherever they appear; an agency or a
    # company counts only where the other side is named too (Lithuanian border guards helping Latvia
    # are not a Lithuania–Belarus story).
    strong = set().union(*(u.self_evident for u in units), *(u.strong for u in units if u.has(a) and u.has(b)))
    if strong:
        score += min(_STRONG_MAX, _STRONG_EACH * len(strong))
        reasons.append("border/bilateral anchors: " + ", ".join(sorted(strong)))
    rare = a if total_a <= total_b else b
    if not strong and min(total_a, total_b) <= 1.0 and (
        len(paragraphs) >= _PASSING_MIN_PARAGRAPHS
        or not any(u is not None and u.has(rare) for u in (title, lead))
    ):
        score += _PASSING_MENTION
        reasons.append(f"penalty: {pack.side_labels[rare]} named only once")
    if len(paragraphs) >= _LONG_ARTICLE_PARAGRAPHS and not both(title):
        share = len([u for u in paragraphs if both(u)]) / len(paragraphs)
        if share < _SPARSE_SHARE:
            score += _SPARSE_LONG_ARTICLE
            reasons.append(f"penalty: only {share:.0%} of {len(paragraphs)} paragraphs name both sides")
    for side, total, other_side in ((a, total_a, b), (b, total_b, a)):
        # Only where the other side is named too: Ukraine in a Ukrainian outlet's aside does not
        # compete with Lithuania, Ukraine next to Belarus in a border story does.
        if sum(other_weight(u, side) for u in units if u.has(other_side)) > total:
            score += _OTHER_BORDER_ARTICLE
            reasons.append(f"penalty: another country is named more than {pack.side_labels[side]}")
        if title is not None and other_weight(title, side) > 0 and not title.has(side):
            score += _OTHER_BORDER_TITLE
            reasons.append(f"penalty: the title is about another neighbour of {pack.side_labels[other_side]}")
    first = _first_country(title, lead)
    if first is not None and first in competing:
        score += _OTHER_COUNTRY_FIRST
        reasons.append(f"penalty: the story opens on {first}, not on {pack.side_labels[competing[first]]}")
    context_hits: dict[str, float] = {}
    for unit in units:
        for key, weight in unit.negative_weight.items():
            if key not in competing:
                context_hits[key] = context_hits.get(key, 0.0) + weight
    for context, hits in sorted(context_hits.items()):
        if hits >= _CONTEXT_MIN_HITS:
            score += _CONTEXT
            reasons.append(f"penalty: {context} context")
    return score, reasons


def _first_country(title: _Unit | None, lead: _Unit | None) -> str | None:
    """The first country-like concept named in the title, else in the lead: the story's grammatical subject."""
    for unit in (title, lead):
        if unit is not None and unit.first_country is not None:
            return unit.first_country
    return None


def _same_as_title(paragraph: _Unit, title: _Unit) -> bool:
    return (paragraph.end - paragraph.start) <= (title.end - title.start) + 5 and paragraph.side_weight == title.side_weight


def _subtopics(units: list[_Unit], pack: TopicPack, a: str, b: str) -> tuple[str, ...]:
    text_units = [u for u in units if u.field == "text"]
    paragraphs = [u for u in text_units if u.end - u.start >= _MIN_PARAGRAPH_CHARS] or text_units
    # A short excerpt is about the topic throughout; in a long article only the title and the
    # paragraphs that name a side speak about it.
    whole = len(paragraphs) <= _SHORT_ARTICLE_PARAGRAPHS
    counts: dict[str, float] = {}
    for unit in units:
        if whole or unit.field == "title" or unit.has(a) or unit.has(b):
            for subtopic, hits in unit.subtopic_hits.items():
                counts[subtopic] = counts.get(subtopic, 0.0) + hits
    min_hits = {c.id: c.min_hits for c in pack.concepts if c.role == "subtopic"}
    return tuple(s for s in pack.subtopic_ids if counts.get(s, 0.0) >= min_hits[s])
