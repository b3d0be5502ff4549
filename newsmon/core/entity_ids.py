"""The canonical entity id scheme (`person/lukashenko`, `place/kamenny-log`, `org/vsat`): topic packs, queries, search."""

from __future__ import annotations

import re

ENTITY_TYPES = ("person", "place", "org")
# `type/slug`: the slug is lower-case ASCII words joined by "-". One id per real-world entity across
# languages, scripts and spellings (config/topics/README.md, "Entities").
ENTITY_ID_RE = re.compile(r"(person|place|org)/[a-z0-9]+(-[a-z0-9]+)*")
ENTITY_ID_HELP = ("type/slug: a type of person, place or org, then lower-case ASCII words joined by '-', "
                  "e.g. person/lukashenko or place/kamenny-log")


def is_entity_id(value: str) -> bool:
    return ENTITY_ID_RE.fullmatch(value) is not None
