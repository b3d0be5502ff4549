"""Topic packs: read a YAML pack with line numbers, validate every field, and compile it into a TopicPack."""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from newsmon.core.entity_ids import ENTITY_ID_HELP, ENTITY_ID_RE
from newsmon.core.errors import UserError
from newsmon.core.yaml_keys import DuplicateKeyError, refuse_duplicate_keys
from newsmon.enrich.topic.match import WORD_RE, Matcher, Term, compile_word

ANCHOR_KINDS = frozenset({"country", "capital", "place", "person", "organisation", "checkpoint", "facility"})
NEGATIVE_KINDS = frozenset({"other_border", "context"})
# The entity type an anchor of each kind may carry: a checkpoint or a power plant is a place.
_KIND_ENTITY_TYPE = {"capital": "place", "place": "place", "checkpoint": "place", "facility": "place", "country": "place",
                     "person": "person", "organisation": "org"}
_WEAK_CUE_WEIGHT = 0.5  # a subtopic's weak_terms (generic words such as "border") count half


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


# libyaml's parser where PyYAML was built with it: the pack is read by every poll task, and the pure-Python
# scanner took 0.2-0.4 s of that; nodes carry the same line marks either way.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_SafeLoader):  # type: ignore[misc,valid-type]
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
    entity: str | None = None  # the canonical entity id its terms name (anchors and gazetteer entries)
    names_border: bool = False  # anchors: a crossing of the shared border, so it names both sides


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
    matcher: Matcher = field(repr=False, compare=False)
    entity_names: dict[str, str] = field(default_factory=dict, repr=False, compare=False)  # id → display name


# --------------------------------------------------------------------------- loading


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


@dataclass
class _Builder:
    """The concepts and compiled terms of a pack being parsed, in file order (term.concept indexes concepts)."""

    path: Path
    languages: tuple[str, ...]
    sides: tuple[str, ...]
    concepts: list[Concept] = field(default_factory=list)
    terms: list[Term] = field(default_factory=list)
    entity_names: dict[str, str] = field(default_factory=dict)
    entity_lines: dict[str, int | None] = field(default_factory=dict)

    def claim_entity(self, entity: str, name: str, where: str, line: int | None) -> None:
        """Record that entity is named by the entry at where; one entry per entity id in a pack."""
        if entity in self.entity_lines:
            first = self.entity_lines[entity]
            raise TopicPackError(self.path, f"entity `{entity}` is already given to another entry"
                                 + (f" (line {first})" if first else ""), line=line, field=f"{where}.entity",
                                 fix="one entry per entity: move these terms to the first entry")
        self.entity_lines[entity] = line
        self.entity_names[entity] = name

    def add(self, concept: Concept, raw_terms: Any, where: str, line: int | None) -> None:
        self.concepts.append(concept)
        self.terms += _compile_terms(raw_terms, len(self.concepts) - 1, self.path, where, self.languages, line)


def _parse_pack(path: Path) -> TopicPack:
    raw = _read_yaml(path)
    topic_id, title, version = _identity(raw, path)
    languages = _languages(raw, path)
    sides, side_labels = _sides(raw, path)
    builder = _Builder(path, languages, sides)
    _add_anchors(raw, builder)
    _add_negatives(raw, builder)
    subtopic_ids = _add_subtopics(raw, builder)
    _add_gazetteer(raw, builder)
    terms = tuple(builder.terms)
    return TopicPack(name=topic_id, title=str(title), path=path, version=version, languages=languages,
                     sides=sides, side_labels=side_labels, concepts=tuple(builder.concepts), terms=terms,
                     subtopic_ids=tuple(subtopic_ids), matcher=Matcher(terms), entity_names=builder.entity_names)


def _read_yaml(path: Path) -> _LineDict:
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
    return raw


def _identity(raw: _LineDict, path: Path) -> tuple[str, Any, int]:
    """(topic id, display name, version) of the pack."""
    topic_id = _require(raw, "id", path, "pack", str, "add `id: <topic-id>`, e.g. `id: lt-by`")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_-]*", topic_id):
        raise TopicPackError(path, f"`{topic_id}` is not a usable topic id", line=raw.key_lines.get("id"),
                             field="id", fix="use lower-case letters, digits, '-' or '_'")
    title = raw.get("name", topic_id)
    version = raw.get("version", 1)
    if not isinstance(version, int):
        raise TopicPackError(path, "expected an integer", line=raw.key_lines.get("version"), field="version",
                             fix="write e.g. `version: 1`")
    return topic_id, title, version


def _languages(raw: _LineDict, path: Path) -> tuple[str, ...]:
    languages = tuple(_require(raw, "languages", path, "pack", list, "add e.g. `languages: [en, lt, ru]`"))
    for language in languages:
        if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2,3}", language):
            raise TopicPackError(path, f"`{language}` is not an ISO 639-1 code", line=raw.key_lines.get("languages"),
                                 field="languages", fix="use two-letter codes such as en, lt, ru")
    return languages


def _sides(raw: _LineDict, path: Path) -> tuple[tuple[str, ...], dict[str, str]]:
    """The two side ids and their display labels."""
    sides_raw = _require(raw, "sides", path, "pack", dict, "add `sides: {a: First country, b: Second country}`")
    if len(sides_raw) != 2:
        raise TopicPackError(path, f"expected exactly two sides, got {len(sides_raw)}", line=sides_raw.line,
                             field="sides", fix="a bilateral topic names two sides, e.g. `{lt: Lithuania, by: Belarus}`")
    return tuple(str(s) for s in sides_raw), {str(k): str(v) for k, v in sides_raw.items()}


def _add_anchors(raw: _LineDict, builder: _Builder) -> None:
    path = builder.path
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
        builder.add(_anchor_concept(anchor, anchor_id, where, builder), anchor.get("terms"), where, anchor.line)


def _anchor_concept(anchor: _LineDict, anchor_id: str, where: str, builder: _Builder) -> Concept:
    path, sides = builder.path, builder.sides
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
    strong, names_border = (_flag(anchor, key, path, where) for key in ("strong", "names_border"))
    entity = _entity_id(anchor, path, where, _KIND_ENTITY_TYPE[kind], required=False)
    if entity is not None:
        builder.claim_entity(entity, anchor_id, where, anchor.key_lines.get("entity", anchor.line))
    return Concept(id=anchor_id, role="side", group=side, kind=kind, weight=weight, strong=strong, entity=entity,
                   names_border=names_border)


def _flag(entry: _LineDict, key: str, path: Path, where: str) -> bool:
    value = entry.get(key, False)
    if not isinstance(value, bool):
        raise TopicPackError(path, "expected true or false", line=entry.key_lines.get(key), field=f"{where}.{key}",
                             fix=f"write `{key}: true` or remove the line")
    return value


def _entity_id(entry: _LineDict, path: Path, where: str, expected_type: str | None, *, required: bool) -> str | None:
    """The entry's `entity:` id, checked against the id scheme (and the type its kind allows)."""
    if "entity" not in entry:
        if required:
            raise TopicPackError(path, "missing `entity`", line=entry.line, field=where,
                                 fix="give the entry its canonical id, e.g. `entity: org/kgb-by`")
        return None
    entity = entry["entity"]
    line = entry.key_lines.get("entity", entry.line)
    if not isinstance(entity, str) or not ENTITY_ID_RE.fullmatch(entity):
        raise TopicPackError(path, f"{entity!r} is not an entity id", line=line, field=f"{where}.entity",
                             fix=f"write {ENTITY_ID_HELP}")
    entity_type = entity.split("/", 1)[0]
    if expected_type is not None and entity_type != expected_type:
        raise TopicPackError(path, f"entity `{entity}` is a {entity_type}, but the anchor's kind "
                             f"`{entry.get('kind')}` names a {expected_type}", line=line, field=f"{where}.entity",
                             fix=f"write {expected_type}/{entity.split('/', 1)[1]}, or correct the kind")
    return entity


def _add_negatives(raw: _LineDict, builder: _Builder) -> None:
    path = builder.path
    negatives = raw.get("negatives", [])
    if not isinstance(negatives, list):
        raise TopicPackError(path, "expected a list", line=raw.key_lines.get("negatives"), field="negatives",
                             fix="write `negatives:` followed by `- id: ...` entries, or remove it")
    for index, negative in enumerate(negatives):
        line = negatives.item_lines[index] if isinstance(negatives, _LineList) else None
        negative_id = _require(negative, "id", path, f"negatives[{index}]", str, "give the negative cue an `id`")
        where = f"negatives[{negative_id}]"
        kind = _require(negative, "kind", path, where, str, f"set `kind:` to one of {', '.join(sorted(NEGATIVE_KINDS))}")
        if kind not in NEGATIVE_KINDS:
            raise TopicPackError(path, f"unknown kind `{kind}`", line=negative.key_lines.get("kind"),
                                 field=f"{where}.kind", fix=f"use one of {', '.join(sorted(NEGATIVE_KINDS))}")
        competes_with = negative.get("competes_with")
        if kind == "other_border" and competes_with not in builder.sides:
            raise TopicPackError(path, f"competes_with is {competes_with!r}", line=negative.line,
                                 field=f"{where}.competes_with",
                                 fix=f"name the side this country can stand in for: one of {', '.join(builder.sides)}")
        concept = Concept(id=negative_id, role="negative", group=kind, kind=kind,
                          weight=_weight(negative, path, where), competes_with=competes_with)
        builder.add(concept, negative.get("terms"), where, line)


def _add_subtopics(raw: _LineDict, builder: _Builder) -> list[str]:
    """Add every subtopic (and its weak cues) to builder; returns the subtopic ids in file order."""
    path = builder.path
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
        cue = Concept(id=str(subtopic_id), role="subtopic", group=str(subtopic_id), kind="subtopic", min_hits=min_hits)
        subtopic_ids.append(str(subtopic_id))
        builder.add(cue, spec.get("terms"), where, line)
        if "weak_terms" in spec:
            weak = Concept(id=str(subtopic_id), role="subtopic", group=str(subtopic_id), kind="subtopic",
                           weight=_WEAK_CUE_WEIGHT, min_hits=min_hits)
            builder.add(weak, spec["weak_terms"], f"{where}.weak_terms", spec.key_lines.get("weak_terms", line))
    return subtopic_ids


def _add_gazetteer(raw: _LineDict, builder: _Builder) -> None:
    """Entities that are not topic anchors (ministries, districts, officials): found and reported, never scored."""
    path = builder.path
    entries = raw.get("gazetteer", [])
    if not isinstance(entries, list):
        raise TopicPackError(path, "expected a list", line=raw.key_lines.get("gazetteer"), field="gazetteer",
                             fix="write `gazetteer:` followed by `- entity: org/...` entries, or remove it")
    for index, entry in enumerate(entries):
        line = entries.item_lines[index] if isinstance(entries, _LineList) else None
        where = f"gazetteer[{index}]"
        if not isinstance(entry, dict):
            raise TopicPackError(path, "expected a mapping with entity and terms", line=line, field=where,
                                 fix="write `- entity: org/...` followed by `name:` and `terms:`")
        entity = _entity_id(entry, path, where, None, required=True)
        where = f"gazetteer[{entity}]"
        name = entry.get("name", entity)
        if not isinstance(name, str) or not name.strip():
            raise TopicPackError(path, f"name is {name!r}", line=entry.key_lines.get("name", entry.line),
                                 field=f"{where}.name", fix="write the entity's display name, or remove the line")
        builder.claim_entity(str(entity), name, where, entry.key_lines.get("entity", entry.line))
        concept = Concept(id=str(entity), role="entity", group=str(entity).split("/", 1)[0], kind="entity",
                          entity=entity)
        builder.add(concept, entry.get("terms"), where, entry.line)


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


def _weight(entry: dict, path: Path, where: str) -> float:
    weight = entry.get("weight", 1.0)
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not 0 < weight <= 5:
        raise TopicPackError(path, f"weight must be a number in (0, 5], got {weight!r}",
                             line=getattr(entry, "key_lines", {}).get("weight"), field=f"{where}.weight",
                             fix="use e.g. `weight: 1.0`")
    return float(weight)


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
            terms.append(_compile_term(item, str(language), concept_index, path, f"{where}.terms.{language}",
                                       position, term_line))
    return terms


def _compile_term(item: Any, language: str, concept_index: int, path: Path, where: str, position: int,
                  line: int | None) -> Term:
    if not isinstance(item, str) or not item.strip().lstrip("="):
        raise TopicPackError(path, f"term #{position + 1} is {item!r}, not a word", line=line, field=where,
                             fix="quote it or remove it")
    text = item.strip()
    exact = text.startswith("=")
    words = WORD_RE.findall(text.lstrip("="))
    if not words:
        raise TopicPackError(path, f"term {item!r} has no letters", line=line, field=where, fix="remove it")
    patterns = tuple(compile_word(w, language, exact) for w in words)
    return Term(text=text.lstrip("="), language=language, words=patterns, concept=concept_index)
