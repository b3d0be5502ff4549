"""Scoring one article against a topic pack: paragraphs, what each names, and the points of each guideline rule."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from newsmon.core.records import TopicMatch, TopicResult
from newsmon.enrich.textnorm import fold_aligned, normalize_language
from newsmon.enrich.topic.entities import entity_ids, mentions_in
from newsmon.enrich.topic.pack import Concept, TopicPack

_SELF_EVIDENT_KINDS = frozenset({"checkpoint", "facility"})
# A capital names a city where things happen (a flight lands, exiles meet, a court sits), not the
# country as an actor; it stands for its country only where the article names the country too. Border
# districts, towns, camps and the airport that balloons close are the pair's own subject and count.
_CAPITAL_KINDS = frozenset({"capital"})
_PARAGRAPH_RE = re.compile(r"[^\n]+")
# A line that stops mid-sentence and a next line that starts in lower case are one paragraph hard-wrapped
# at a fixed width (wire copy: "The board of state-owned\nLithuanian Railways on Monday voted to stop…").
_WRAPPED_LINE_END_RE = re.compile(r"[^\s.!?…:;\"»”)\]]\s*$")
_WRAPPED_LINE_START_RE = re.compile(r"\s*[^\W\d_A-ZА-ЯЁІЎЄЇҐ]")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?…])\s+")
# The end of a sentence, not of an initial ("A. Lukašenka") or an abbreviation before a lower-case word.
_LEDE_END_RE = re.compile(r"(?<!\b[^\W\d_])[.!?…]+[\"»”]?\s+(?=[\"„«“(]?[A-ZÀ-ÞĀ-ŽА-ЯЁІЎЄЇҐ\d])")
# A wire dateline opens a lead with a place in capitals and an agency or a dash: "KYIV, Ukraine (AP) —",
# "VILNIUS (TASS):", "МОСКВА, 1 сен - РИА Новости". The country in it is where the story was filed,
# not what it is about. Only words without a lower-case word of four letters or more qualify.
_DATELINE_RE = re.compile(r"\s*([^\n]{1,60}?)(?:\s[—–-]{1,2}\s|\([^()\n]{2,25}\)\s*[—–:-]\s)")
# Russian and Belarusian agencies: a place in capitals, a date, the agency between slashes ("ВИЛЬНЮС, 5 марта. /ТАСС/.").
_AGENCY_DATELINE_RE = re.compile(r"\s*[A-ZА-ЯЁІЎ][A-ZА-ЯЁІЎ -]{2,30},[^\n/]{1,25}/[^/\n]{2,25}/\.?\s")
_CAPITALS_RE = re.compile(r"[A-ZÀ-ÞĀ-ŽА-ЯЁІЎ]{3,}(?![^\W\d_])")  # "VILNIUS", "ВИЛЬНЮС": a place in capitals
_LOWER_WORD_RE = re.compile(r"\b[^\W\d_A-ZА-ЯЁ][^\W\d_]{3,}")
# A list of three or more capitalised names, the last joined by a conjunction of one of the pack's
# languages: "Poland, Latvia and Lithuania", "Литва, Латвия и Польша", "Polen, Litauen und Lettland".
# A side named only as one member of such a list is one country among several, not half of the pair.
_NAME_RE = r"[A-ZÀ-ÞĀ-ŽА-ЯЁІЎЄЇҐ][^\W\d_]+"
_LIST_CONJUNCTIONS = r"(?:and|or|ir|bei|ar|un|vai|i|oraz|lub|a|и|или|а|і|та|й|або|ды|ці|und|oder)"
_NAME_WORD_RE = re.compile(_NAME_RE)
_NAME_LIST_RE = re.compile(rf"{_NAME_RE}(?:,\s+{_NAME_RE})+,?\s+{_LIST_CONJUNCTIONS}\s+(?:the\s+)?{_NAME_RE}")
# Heads of state, governments or ministries before a list of their countries: the list is of signatories.
_OFFICES = (r"(?:presidents|prime\s+ministers|premiers|ministers(?:\s+of\s+\w+)?|heads|leaders|"
            r"Präsidenten|Ministerpräsidenten|Regierungschefs|Minister|Innenminister|Außenminister|"
            r"prezydenci|premierzy|ministrowie|szefowie|президенты|премьеры|премьер-министры|министры|главы|лидеры|"
            r"prezidentai|premjerai|ministrai|vadovai)")
_SIGNATORIES_RE = re.compile(rf"(?i:{_OFFICES})\s+(?:of\s+|von\s+|der\s+)?(?P<list>{_NAME_RE}(?:,\s+{_NAME_RE})+,?\s+"
                             rf"{_LIST_CONJUNCTIONS}\s+(?:the\s+)?{_NAME_RE})")
_DATELINE_UNITS = 3  # only the first paragraphs can start with a dateline
_MAX_PARAGRAPH_CHARS = 600  # longer "paragraphs" are whole articles on one line (the dev set's longest is 564)
_CHUNK_CHARS = 300
_BORDER_SUBTOPIC = "border_crossings"  # the pack's subtopic whose cues are words for the border itself
_BORDER_PHRASE_CHARS = 60  # "an der Grenze des Landes zum autoritär regierten Belarus": the border with a side, in one phrase
_PAIR_PHRASE_CHARS = 40  # "границы Литвы с Беларусью", "from Belarus into Lithuania": the pair in one phrase

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
# Two countries named together with no subject of their relations (border, migrants, transit, sanctions,
# diplomacy ...) and no checkpoint or agency: a festival of Belarusian films in Vilnius, a transfer in sport.
_NO_SUBJECT = -1.0
_STRONG_EACH = 1.0  # checkpoints, border agencies, Astravets, Belaruskali
_STRONG_MAX = 2.0
_PASSING_MENTION = -2.5  # one side named only once and nothing strong: "named in passing"
_SPARSE_LONG_ARTICLE = -2.0  # a long article where the pair shows up in few paragraphs
_OTHER_BORDER_ARTICLE = -1.5  # another border/country outweighs Lithuania across the article
# A side is outweighed by another country named more than it, or by its rivals together named more
# than twice as much: "the borders with Lithuania and Poland, and with Ukraine" ties Poland with
# Lithuania and is about both borders; a Polish premier's tour of Estonia and Latvia is not Lithuania's story.
_RIVALS_TOGETHER = 2.0
_OTHER_BORDER_TITLE = -2.0  # the headline is about another border with Belarus
_CONTEXT = -4.0  # a negative of kind context (sport) is the setting: even a Lithuania–Belarus match is sport
_CONTEXT_MIN_HITS = 2
_OTHER_COUNTRY_FIRST = -1.5  # the headline (or lead) opens on another neighbour: its border is the subject
# A crossing point of the shared border (an anchor with `names_border: true`) names both countries:
# Medininkai is where Lithuania meets Belarus. Where a paragraph does not name the other side, the
# checkpoint stands for it with this weight.
_CHECKPOINT_OTHER_SIDE = 0.5
_SHARE_BONUS = 2.0  # times the share of paragraphs about both: short focused excerpts score high
_MIN_PARAGRAPH_CHARS = 40  # shorter lines are datelines, captions, bylines, not paragraphs
_PASSING_MIN_PARAGRAPHS = 4  # from this length, one mention of a side is a passing mention wherever it is
_SHORT_ARTICLE_PARAGRAPHS = 6  # up to this length every paragraph's subtopic cues count
_LONG_ARTICLE_PARAGRAPHS = 8
_SPARSE_SHARE = 0.15  # a long article needs this share of paragraphs about both, or a headline about both

Hit = tuple[int, int, int]  # (term index, start, end)
Rule = Iterator[tuple[float, str]]  # the points a guideline rule gives, each with its reason


class _Unit:
    """The title or one paragraph of the text, with what was found in it."""

    # A plain slotted class: long articles have dozens of paragraphs and this is built per article.
    __slots__ = ("actor_sides", "checkpoint_sides", "content", "dateline_end", "dateline_sides", "end", "field",
                 "filed_from_end", "first_country", "first_country_start", "listed_sides", "negative_weight", "rival_starts", "self_evident",
                 "side_starts", "side_weight", "signatory_spans", "start", "strong", "subtopic_hits", "subtopic_starts")

    def __init__(self, field_name: str, start: int, end: int, content: str) -> None:
        self.field = field_name
        self.content = content  # the whole field, which start and end index
        self.start = start
        self.end = end
        self.side_weight: dict[str, float] = {}
        self.negative_weight: dict[str, float] = {}
        self.strong: set[str] = set()
        self.self_evident: set[str] = set()
        self.subtopic_hits: dict[str, float] = {}
        self.subtopic_starts: list[tuple[int, str]] = []  # (offset, subtopic) of each subtopic cue
        self.checkpoint_sides: set[str] = set()  # sides of the border crossings named here
        self.actor_sides: set[str] = set()  # sides named here as a country, its people, officials or bodies
        self.side_starts: list[tuple[int, str, bool]] = []  # (offset, side, whether a country name) of each side term
        self.signatory_spans: list[tuple[int, int]] = []  # lists of the countries that sign a statement
        self.listed_sides: set[str] = set()  # sides named here only as members of a list of countries
        # (offset, side it competes with, concept id, weight) of each other country
        self.rival_starts: list[tuple[int, str, str, float]] = []
        self.first_country: str | None = None
        self.first_country_start = -1
        self.dateline_end = start  # where a wire dateline ("KYIV, Ukraine (AP) —") ends, if there is one
        self.dateline_sides: set[str] = set()  # sides named only as where the story was filed
        # Where a dateline that is surely a wire's ends (a place in capitals, or an agency in brackets):
        # only there is a side's name where the story was filed; "Lithuania – Belarus relations …" is a side.
        self.filed_from_end = start

    def has(self, side: str) -> bool:
        return side in self.side_weight

    def names_pair_in_one_phrase(self, side: str) -> bool:
        """Whether a term of side is a few words from the other side's, in one sentence ("границы Литвы с Беларусью")."""
        return any(named == side and other != side and abs(start - other_start) <= _PAIR_PHRASE_CHARS
                   and not _SENTENCE_END_RE.search(self.content, min(start, other_start), max(start, other_start))
                   for start, named, _ in self.side_starts for other_start, other, _ in self.side_starts)

    def names_border_with(self, side: str) -> bool:
        """Whether a term of side follows a word for the border a few words before it, in one sentence ("an der Grenze zu Belarus")."""
        return any(named == side and 0 <= start - cue_start <= _BORDER_PHRASE_CHARS and subtopic == _BORDER_SUBTOPIC
                   and not _SENTENCE_END_RE.search(self.content, cue_start, start)
                   for start, named, _ in self.side_starts for cue_start, subtopic in self.subtopic_starts)

    def in_first_sentence(self, side: str) -> bool:
        """Whether the first sentence of this unit names side."""
        sentence_end = _LEDE_END_RE.search(self.content, self.start, self.end)
        end = sentence_end.start() if sentence_end else self.end
        return any(start < end for start, named, _ in self.side_starts if named == side)

    def record(self, concept: Concept, start: int) -> None:
        """Count one hit of concept, starting at offset start, in this unit."""
        if (self.first_country is None and (concept.kind == "country" or concept.competes_with)
                and start >= self.dateline_end):
            self.first_country = concept.id
            self.first_country_start = start
        if concept.role == "side":
            if start < self.filed_from_end:
                self.dateline_sides.add(concept.group)
                return  # where the story was filed from ("VILNIUS, Lithuania (AP) —"), not a side it is about
            self.side_starts.append((start, concept.group, concept.kind == "country"))
            self.side_weight[concept.group] = self.side_weight.get(concept.group, 0.0) + concept.weight
            if concept.strong:
                self.strong.add(concept.id)
                if concept.kind in _SELF_EVIDENT_KINDS:
                    self.self_evident.add(concept.id)
            if concept.names_border:
                self.checkpoint_sides.add(concept.group)
            if concept.kind not in _CAPITAL_KINDS:
                self.actor_sides.add(concept.group)
        elif concept.role == "negative":
            if start < self.dateline_end:
                return  # where the story was filed from, not a competing subject
            self.negative_weight[concept.id] = self.negative_weight.get(concept.id, 0.0) + concept.weight
            if concept.competes_with:
                self.rival_starts.append((start, concept.competes_with, concept.id, concept.weight))
        else:
            self.subtopic_hits[concept.id] = self.subtopic_hits.get(concept.id, 0.0) + concept.weight
            self.subtopic_starts.append((start, concept.id))


def _units(field_name: str, text: str) -> list[_Unit]:
    """Paragraphs (lines) of text; an over-long one is cut at sentence ends into paragraph-sized parts.

    Some extractors return a whole article as one line, and one "paragraph" naming both countries
    somewhere in 5,000 characters must not count as a paragraph about both.
    """
    units: list[_Unit] = []
    for start, end in _paragraph_spans(text):
        if end - start > _MAX_PARAGRAPH_CHARS:
            for sentence_end in _SENTENCE_END_RE.finditer(text, start + _CHUNK_CHARS, end - _CHUNK_CHARS // 2):
                if sentence_end.start() - start >= _CHUNK_CHARS:
                    units.append(_Unit(field_name, start, sentence_end.start(), text))
                    start = sentence_end.end()
        units.append(_Unit(field_name, start, end, text))
    for unit in units[:_DATELINE_UNITS]:
        dateline = _DATELINE_RE.match(text, unit.start, unit.end)
        if dateline and not _LOWER_WORD_RE.search(dateline.group(1)):
            unit.dateline_end = dateline.end()
            if field_name == "text" and (_CAPITALS_RE.match(dateline.group(1)) or "(" in dateline.group()):
                unit.filed_from_end = dateline.end()
        elif field_name == "text" and (agency_dateline := _AGENCY_DATELINE_RE.match(text, unit.start, unit.end)):
            unit.dateline_end = unit.filed_from_end = agency_dateline.end()
    return units


def _inside_negatives_dropped(hits: list[Hit], pack: TopicPack) -> list[Hit]:
    """hits without the side hits that lie inside a negative cue's phrase.

    "State Border Guard Service of Ukraine" names Ukraine's service, not Lithuania's, although
    "State Border Guard Service" is in it.
    """
    negatives = [(start, end) for term_index, start, end in hits
                 if pack.concepts[pack.terms[term_index].concept].role == "negative"]
    if not negatives:
        return hits
    return [hit for hit in hits
            if pack.concepts[pack.terms[hit[0]].concept].role != "side"
            or not any(start <= hit[1] and hit[2] <= end and (start, end) != (hit[1], hit[2]) for start, end in negatives)]


def _paragraph_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of each non-blank line, hard-wrapped lines of one paragraph joined into one span."""
    current: tuple[int, int] | None = None
    for line in _PARAGRAPH_RE.finditer(text):
        if not line.group().strip():
            continue
        if current is not None and (line.start() == current[1] + 1 and _WRAPPED_LINE_END_RE.search(text, current[0], current[1])
                                    and _WRAPPED_LINE_START_RE.match(line.group())):
            current = (current[0], line.end())
            continue
        if current is not None:
            yield current
        current = line.span()
    if current is not None:
        yield current


def _dedupe_overlaps(hits: list[Hit], pack: TopicPack) -> list[Hit]:
    """Text-ordered hits, keeping the longest of overlapping hits of the same concept id."""
    hits.sort(key=lambda hit: (hit[1], -hit[2]))
    result: list[Hit] = []
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
    side_a, side_b = pack.sides
    fields = [(name, content, fold_aligned(content)) for name, content in (("title", title or ""), ("text", text or ""))
              if content]
    hits_by_field = [_inside_negatives_dropped(pack.matcher.find(folded), pack) for _, _, folded in fields]
    entities = entity_ids([m for (field_name, content, _), hits in zip(fields, hits_by_field, strict=True)
                           for m in mentions_in(pack, field_name, content, hits)])
    # Gazetteer entries are found for `entities` only; the scoring below never sees them.
    hits_by_field = [[h for h in hits if pack.concepts[pack.terms[h[0]].concept].role != "entity"]
                     for hits in hits_by_field]
    groups_seen = {pack.concepts[pack.terms[h[0]].concept].group for hits in hits_by_field for h in hits}
    if any(pack.concepts[pack.terms[h[0]].concept].names_border for hits in hits_by_field for h in hits):
        groups_seen |= {side_a, side_b}
    if side_a not in groups_seen or side_b not in groups_seen:
        return _one_side_missing(pack, fields, hits_by_field, language, groups_seen, entities)
    matched: list[TopicMatch] = []
    units: list[_Unit] = []
    for (field_name, content, _), field_hits in zip(fields, hits_by_field, strict=True):
        units += _field_units(pack, field_name, content, field_hits, matched)
    score, reasons = _score(units, side_a, side_b, pack)
    relevance = 1.0 / (1.0 + math.exp(-(score - _ON_TOPIC_SCORE)))
    on_topic = score >= _ON_TOPIC_SCORE
    subtopics = _subtopics(units, pack, side_a, side_b) if on_topic else ()
    explanation = "; ".join(reasons)
    if language:
        explanation = f"language {language}; " + explanation
    return TopicResult(topic=pack.name, on_topic=on_topic, relevance=round(relevance, 3), subtopics=subtopics,
                       entities=entities, matched=tuple(matched), explanation=explanation)


def _match(pack: TopicPack, field_name: str, content: str, hit: Hit) -> tuple[TopicMatch, Concept]:
    term_index, start, end = hit
    concept = pack.concepts[pack.terms[term_index].concept]
    found = TopicMatch(term=concept.id, surface=content[start:end], start=start, end=end, field=field_name,
                       kind=f"{concept.role}:{concept.group}")
    return found, concept


def _one_side_missing(pack: TopicPack, fields: list[tuple[str, str, str]], hits_by_field: list[list[Hit]],
                      language: str | None, groups_seen: set[str], entities: tuple[str, ...]) -> TopicResult:
    """The common case in a feed: one side is absent, so nothing else needs scoring.

    Subtopic cues only explain on-topic articles; here they would be noise in `matched`.
    """
    side_a, side_b = pack.sides
    missing = pack.side_labels[side_a if side_a not in groups_seen else side_b]
    matched = [
        found
        for (field_name, content, _), hits in zip(fields, hits_by_field, strict=True)
        for hit in _dedupe_overlaps(hits, pack)
        for found, concept in (_match(pack, field_name, content, hit),)
        if concept.role != "subtopic"
    ]
    explanation = f"{missing} not mentioned"
    if language:
        explanation = f"language {language}; " + explanation
    return TopicResult(topic=pack.name, on_topic=False, relevance=0.0, entities=entities,
                       matched=tuple(matched), explanation=explanation)


def _field_units(pack: TopicPack, field_name: str, content: str, hits: list[Hit],
                 matched: list[TopicMatch]) -> list[_Unit]:
    """The units of one field with its hits counted in them; every hit is appended to matched."""
    field_units = _units(field_name, content)
    units_iter = iter(field_units)
    unit = next(units_iter, None)
    for hit in _dedupe_overlaps(hits, pack):
        start = hit[1]
        while unit is not None and start >= unit.end:
            unit = next(units_iter, None)
        found, concept = _match(pack, field_name, content, hit)
        matched.append(found)
        if unit is not None:
            unit.record(concept, start)
    for unit in field_units:
        _signatories_set_aside(content, unit)
        if len(unit.side_weight) > 1 and not unit.checkpoint_sides:
            unit.listed_sides = _listed_sides(content, unit)
        for side in unit.checkpoint_sides:
            other = pack.sides[1] if side == pack.sides[0] else pack.sides[0]
            if other not in unit.side_weight:
                unit.side_weight[other] = _CHECKPOINT_OTHER_SIDE
    return field_units


def _signatory_spans(content: str, unit: _Unit) -> list[tuple[int, int]]:
    """Where unit holds lists of signatories; only a unit naming another country can hold one (the regex is slow)."""
    if not unit.rival_starts or not unit.side_starts:
        return []
    return [(m.start("list"), m.end("list")) for m in _SIGNATORIES_RE.finditer(content, unit.start, unit.end)]


def _signatories_set_aside(content: str, unit: _Unit) -> None:
    """Count the other countries of a list of signatories ("the presidents of Poland, Lithuania, Latvia and Estonia") as co-signers.

    A joint statement that Lithuania signs makes it one of the actors: its co-signers neither outweigh it
    nor make the statement open on another country, and Lithuania in the list is not a round-up.
    """
    spans = unit.signatory_spans = _signatory_spans(content, unit)
    if not spans or not any(a <= start < b for start, _, _ in unit.side_starts for a, b in spans):
        return
    inside = [r for r in unit.rival_starts if any(a <= r[0] < b for a, b in spans)]
    for _, _, concept_id, weight in inside:
        unit.negative_weight[concept_id] -= weight
    unit.rival_starts = [r for r in unit.rival_starts if r not in inside]
    if any(a <= unit.first_country_start < b for a, b in spans):
        unit.first_country = None


def _listed_sides(content: str, unit: _Unit) -> set[str]:
    """The sides that unit names only by their country names inside round-up lists ("Poland, Latvia and Lithuania").

    Places in a list ("the Vilnius, Trakai and Šalčininkai districts") are where something happened, not a round-up.
    """
    listed: set[str] = set()
    spans: list[tuple[int, int]] = []
    for match in _NAME_LIST_RE.finditer(content, unit.start, unit.end):
        a, b = match.span()
        if any(x <= a < y for x, y in unit.signatory_spans):
            continue  # the countries that sign a statement are its actors, not a round-up
        sides = {side for start, side, country in unit.side_starts if country and a <= start < b}
        # "On Tuesday, Lithuania and Belarus agreed": a list holding both sides is the pair, and one of
        # three names is a round-up only beside a rival neighbour ("Poland, Latvia and Lithuania") or
        # among four or more names ("Germany, Lithuania, Sweden and the Czech Republic").
        rivals = {side for start, side, _, _ in unit.rival_starts if a <= start < b}
        if len(sides) == 1 and (sides & rivals or len(_NAME_WORD_RE.findall(match.group())) >= 4):
            listed |= sides
            spans.append((a, b))
    named_otherwise = {side for start, side, country in unit.side_starts
                       if not country or not any(a <= start < b for a, b in spans)}
    return listed - named_otherwise


class _Article:
    """The units of one article that name both sides, read by the scoring rules."""

    def __init__(self, units: list[_Unit], a: str, b: str, pack: TopicPack) -> None:
        self.units = units
        self.a = a
        self.b = b
        self.pack = pack
        self.title = next((u for u in units if u.field == "title"), None)
        text_units = [u for u in units if u.field == "text"]
        # A feed summary may be one short line; then that line is the paragraph.
        paragraphs = [u for u in text_units if u.end - u.start >= _MIN_PARAGRAPH_CHARS] or text_units
        if self.title is not None and paragraphs and _same_as_title(paragraphs[0], self.title):
            paragraphs = paragraphs[1:]  # many pages repeat the headline as the first line of the text
        self.paragraphs = paragraphs
        self.lead = paragraphs[0] if paragraphs else None
        self.total_a = sum(u.side_weight.get(a, 0.0) for u in units)
        self.total_b = sum(u.side_weight.get(b, 0.0) for u in units)
        self.competing = {c.id: c.competes_with for c in pack.concepts if c.role == "negative" and c.competes_with}
        # Checkpoints and the Astravets plant stand for the pair wherever they appear; an agency or a
        # company counts only where the other side is named too (Lithuanian border guards helping Latvia
        # are not a Lithuania–Belarus story).
        self.strong: set[str] = set().union(*(u.self_evident for u in units),
                                            *(u.strong for u in units if u.has(a) and u.has(b)))

    def label(self, side: str) -> str:
        return self.pack.side_labels[side]

    def other_weight(self, unit: _Unit, side: str | None = None) -> float:
        """How much unit names other countries (those standing in for side, or for either)."""
        return sum(w for k, w in unit.negative_weight.items()
                   if k in self.competing and (side is None or self.competing[k] == side))

    def top_rival_weight(self, units: list[_Unit], side: str) -> float:
        """How much the most-named single country competing with side is named across units."""
        totals: dict[str, float] = {}
        for unit in units:
            for k, w in unit.negative_weight.items():
                if self.competing.get(k) == side:
                    totals[k] = totals.get(k, 0.0) + w
        return max(totals.values(), default=0.0)

    def outweighed(self, units: list[_Unit], side: str, weight: float) -> bool:
        """Whether the countries competing with side, named in units, outweigh side's weight there."""
        return (self.top_rival_weight(units, side) > weight
                or sum(self.other_weight(u, side) for u in units) > _RIVALS_TOGETHER * weight)

    def both(self, unit: _Unit | None) -> bool:
        # A paragraph where another country is named at least as much as one side is about that
        # country's border (Poland–Belarus, Latvia–Belarus, Lithuania–Kaliningrad), not about the pair;
        # one where a side is only a member of a list of countries is a round-up.
        a, b = self.a, self.b
        return (unit is not None and unit.has(a) and unit.has(b) and not unit.listed_sides
                and not self.outweighed([unit], a, unit.side_weight.get(a, 0.0))
                and not self.outweighed([unit], b, unit.side_weight.get(b, 0.0)))

    def names_actors(self, unit: _Unit) -> bool:
        """Whether unit names each side as a country, its people, officials or bodies, or names a crossing of their border.

        A headline or lead that names one side only by a city ("Opposition meets in Vilnius", "a flight
        to Vilnius lands in Minsk") sets the story in a place; it does not frame it as the pair's.
        """
        return bool(unit.checkpoint_sides) or (self.a in unit.actor_sides and self.b in unit.actor_sides)

    def share_both(self) -> float:
        return len([u for u in self.paragraphs if self.both(u)]) / len(self.paragraphs)


def _score(units: list[_Unit], a: str, b: str, pack: TopicPack) -> tuple[float, list[str]]:
    article = _Article(units, a, b, pack)
    if article.total_a == 0 or article.total_b == 0:
        missing = a if article.total_a == 0 else b
        where = " outside the dateline" if any(missing in u.dateline_sides for u in units) else ""
        return 0.0, [f"{pack.side_labels[missing]} not mentioned{where}"]
    capital_only = [side for side in (a, b) if not any(side in u.actor_sides for u in units)]
    if capital_only and not article.strong:
        return 0.0, [f"{pack.side_labels[capital_only[0]]} named only by its capital, never as a country, "
                     "its people, officials, bodies or other places"]
    score = 0.0
    reasons: list[str] = []
    # The rules in this order: the points are summed in it, and the explanation lists them in it.
    for rule in (_title_and_lead, _paragraphs_about_both, _strong_anchors, _passing_mention, _sparse_long_article,
                 _other_borders, _opening_country, _contexts):
        for points, reason in rule(article):
            score += points
            reasons.append(reason)
    return score, reasons


def _title_and_lead(article: _Article) -> Rule:
    a, b, title, lead = article.a, article.b, article.title, article.lead
    if article.both(title) and article.names_actors(title):
        yield _TITLE_BOTH, "title names both sides"
    elif title is not None and lead is not None and (
        (title.has(a) and lead.has(b)) or (title.has(b) and lead.has(a))
    ):
        yield _TITLE_ONE_LEAD_OTHER, "title and lead name one side each"
    elif title is not None and (title.has(a) or title.has(b)):
        yield _TITLE_ONE, "title names one side"
    if article.both(lead) and article.names_actors(lead):
        yield _LEAD_BOTH, "lead paragraph names both sides"
    elif lead is not None and lead.listed_sides:
        listed = ", ".join(article.label(side) for side in sorted(lead.listed_sides))
        yield 0.0, f"the lead names {listed} only in a list of countries"
    elif article.both(lead):
        yield 0.0, "the lead names one side only by its capital"


def _paragraphs_about_both(article: _Article) -> Rule:
    paragraphs = article.paragraphs
    body_both = [u for u in paragraphs[1:] if article.both(u)]
    if body_both:
        yield min(_BODY_BOTH_MAX, _BODY_BOTH_EACH * len(body_both)), f"{len(body_both)} more paragraph(s) name both sides"
    if paragraphs:
        share = article.share_both()
        if share:
            yield _SHARE_BONUS * share, f"{share:.0%} of paragraphs name both sides"
    cue_subtopics = _subject_cues(article)
    if cue_subtopics:
        yield _SUBJECT_CUE, "a paragraph about both names " + ", ".join(sorted(cue_subtopics))
    elif (any(article.both(u) for u in (article.title, *paragraphs)) and not article.strong
          and not _excerpt_cues(article)):
        yield _NO_SUBJECT, "penalty: no paragraph about both names a subject of their relations"


def _subject_cues(article: _Article) -> set[str]:
    """The subtopics whose cues are named in the title or a paragraph about both sides."""
    return {s for u in (article.title, *article.paragraphs) if article.both(u) for s in u.subtopic_hits}


def _excerpt_cues(article: _Article) -> set[str]:
    """In a short excerpt, the subtopics whose cues are named in any paragraph that names a side.

    An excerpt of a few paragraphs is about its subject throughout: "Belarus is holding the trucks",
    then "Lithuania shut the border", is the pair's border even though no one paragraph names both and it.
    """
    if len(article.paragraphs) > _SHORT_ARTICLE_PARAGRAPHS:
        return set()
    return {s for u in article.paragraphs if u.has(article.a) or u.has(article.b) for s in u.subtopic_hits}


def _strong_anchors(article: _Article) -> Rule:
    strong = article.strong
    if strong:
        yield min(_STRONG_MAX, _STRONG_EACH * len(strong)), "border/bilateral anchors: " + ", ".join(sorted(strong))


def _passing_mention(article: _Article) -> Rule:
    total_a, total_b = article.total_a, article.total_b
    rare = article.a if total_a <= total_b else article.b
    title, lead = article.title, article.lead
    # Named once, a side is in the story's frame only in the headline or the lede sentence; later in a
    # short excerpt it is an aside ("Lithuania was hit first", "independent of Russia and Belarus"),
    # unless it is named as the country across the border in a paragraph about both ("the country's
    # border with Belarus"): that is the pair's border, however long the article.
    if not article.strong and min(total_a, total_b) <= 1.0 and (
        len(article.paragraphs) >= _PASSING_MIN_PARAGRAPHS
        or not ((title is not None and title.has(rare)) or (lead is not None and lead.in_first_sentence(rare))
                or any(u.names_pair_in_one_phrase(rare) for u in article.paragraphs))
    ) and not any(article.both(u) and u.names_border_with(rare) for u in article.paragraphs):
        yield _PASSING_MENTION, f"penalty: {article.label(rare)} named only once"


def _sparse_long_article(article: _Article) -> Rule:
    paragraphs = article.paragraphs
    if any(u.checkpoint_sides for u in article.units):
        return  # a crossing of the shared border is the pair, in whichever paragraph it is named
    if len(paragraphs) >= _LONG_ARTICLE_PARAGRAPHS and not article.both(article.title):
        share = article.share_both()
        if share < _SPARSE_SHARE:
            yield _SPARSE_LONG_ARTICLE, f"penalty: only {share:.0%} of {len(paragraphs)} paragraphs name both sides"


def _other_borders(article: _Article) -> Rule:
    a, b, title = article.a, article.b, article.title
    for side, total, other_side in ((a, article.total_a, b), (b, article.total_b, a)):
        # Only where the other side is named too: Ukraine in a Ukrainian outlet's aside does not
        # compete with Lithuania, Ukraine next to Belarus in a border story does.
        if article.outweighed([u for u in article.units if u.has(other_side)], side, total):
            yield _OTHER_BORDER_ARTICLE, f"penalty: another country is named more than {article.label(side)}"
        if title is not None and article.other_weight(title, side) > 0 and not title.has(side):
            yield _OTHER_BORDER_TITLE, f"penalty: the title is about another neighbour of {article.label(other_side)}"


def _opening_country(article: _Article) -> Rule:
    first = _first_country(article.title, article.lead)
    if first is not None and first in article.competing:
        side, title = article.competing[first], article.title
        if title is not None and title.first_country == first and not title.has(side):
            return  # the headline about another neighbour is penalised once, by _other_borders
        if any(article.both(u) and u.subtopic_hits for u in article.paragraphs[1:]):
            return  # a full later paragraph on the pair's own subject: the guideline's "at least a full paragraph"
        yield (_OTHER_COUNTRY_FIRST,
               f"penalty: the story opens on {first}, not on {article.label(article.competing[first])}")


def _contexts(article: _Article) -> Rule:
    context_hits: dict[str, float] = {}
    for unit in article.units:
        for key, weight in unit.negative_weight.items():
            if key not in article.competing:
                context_hits[key] = context_hits.get(key, 0.0) + weight
    # Named once, sport is the setting only where nothing of the pair's relations is named either
    # ("Žalgiris signs a Belarusian centre"); a border story may mention a match in passing.
    min_hits = _CONTEXT_MIN_HITS if article.strong or _subject_cues(article) else 1
    for context, hits in sorted(context_hits.items()):
        if hits >= min_hits:
            yield _CONTEXT, f"penalty: {context} context"


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
