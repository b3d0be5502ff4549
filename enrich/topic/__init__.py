"""Topic tagging from a YAML topic pack: pack loading (pack.py), term matching (match.py), scoring (score.py)."""

from __future__ import annotations

from newsmon.enrich.topic.pack import TopicPack, TopicPackError, load_topic_pack, load_topic_packs
from newsmon.enrich.topic.score import tag

__all__ = ["TopicPack", "TopicPackError", "load_topic_pack", "load_topic_packs", "tag"]
