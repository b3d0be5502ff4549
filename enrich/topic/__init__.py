"""Topic tagging from a YAML topic pack: pack loading (pack.py), term matching (match.py), scoring (score.py), entities (entities.py)."""

from __future__ import annotations

from newsmon.enrich.topic.entities import EntityMention, find_entities
from newsmon.enrich.topic.pack import TopicPack, TopicPackError, load_topic_pack, load_topic_packs
from newsmon.enrich.topic.score import tag

__all__ = ["EntityMention", "TopicPack", "TopicPackError", "find_entities", "load_topic_pack", "load_topic_packs",
           "tag"]
