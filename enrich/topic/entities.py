"""Entities of an article: the pack's entity terms (anchors and gazetteer) found in it, as typed canonical ids."""

from __future__ import annotations

from dataclasses import dataclass

from newsmon.enrich.textnorm import fold_aligned
from newsmon.enrich.topic.pack import TopicPack

Hit = tuple[int, int, int]  # (term index, start, end), as Matcher.find gives them


@dataclass(frozen=True)
class EntityMention:
    """One mention of a gazetteer entity: its id (`person/lukashenko`) and where it stands in the field."""

    entity: str
    surface: str
    start: int
    end: int
    field: str = "text"


def mentions_in(pack: TopicPack, field_name: str, content: str, hits: list[Hit]) -> list[EntityMention]:
    """The entity mentions among one field's hits, leftmost-longest: "Vilnius airport" is the airport, not the city.

    Only terms that name an entity take part, so a subtopic phrase or a country name around a name
    never hides it. Where two entities match the same words, a term listed as an exact form beats a
    stem that only happens to fit ("=Тихановский" is the husband, though Тихановская's stem fits too).
    """
    candidates = []
    for term_index, start, end in hits:
        term = pack.terms[term_index]
        entity = pack.concepts[term.concept].entity
        if entity is not None:
            stemmed = not all(word.exact for word in term.words)
            candidates.append((start, -end, stemmed, entity))
    found: list[EntityMention] = []
    covered_to = -1
    for start, negative_end, _, entity in sorted(candidates):
        if start < covered_to:
            continue
        covered_to = -negative_end
        found.append(EntityMention(entity, content[start:covered_to], start, covered_to, field_name))
    return found


def find_entities(pack: TopicPack, title: str | None, text: str) -> list[EntityMention]:
    """Every entity mention in the title, then the text, with offsets into the field it was found in."""
    found: list[EntityMention] = []
    for field_name, content in (("title", title or ""), ("text", text or "")):
        if content:
            found += mentions_in(pack, field_name, content, pack.matcher.find(fold_aligned(content)))
    return found


def entity_ids(mentions: list[EntityMention]) -> tuple[str, ...]:
    """The distinct entity ids of mentions, in order of first mention."""
    return tuple(dict.fromkeys(m.entity for m in mentions))
