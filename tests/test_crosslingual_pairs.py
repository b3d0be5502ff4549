"""The cross-lingual evaluation set keeps out sealed pages and its pairs and mentions fit its documents."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from shared_notes import require

BUILD = Path(__file__).resolve().parents[1] / "bench" / "data" / "crosslingual" / "build.py"


def load_build() -> ModuleType:
    spec = importlib.util.spec_from_file_location("crosslingual_build", BUILD)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the file executes
    spec.loader.exec_module(module)
    return module


def test_no_crosslingual_page_is_listed_in_the_sealed_exclusion_list():
    build = load_build()
    require(build.shared_dir() / "sealed" / "crosslingual-exclude.sha256", "the sealed exclusion list")
    excluded = build.read_exclusions()
    docs = build.read_jsonl(build.HERE / "docs.jsonl")
    listed = [d["id"] for d in docs if build.url_hash(d["url"]) in excluded or build.text_hash(d["text"]) in excluded]
    assert listed == []


def test_every_crosslingual_pair_and_mention_fits_the_documents_it_names():
    build = load_build()
    docs = build.read_jsonl(build.HERE / "docs.jsonl")
    by_id = build.docs_by_id(docs)
    problems = build.check_docs(docs, None)
    problems += build.check_pairs(build.read_jsonl(build.HERE / "pairs.jsonl"), by_id)
    problems += build.check_mentions(build.read_jsonl(build.HERE / "mentions.jsonl"), by_id)
    assert problems == []


def test_the_shipped_crosslingual_files_are_what_the_sources_build(tmp_path):
    build = load_build()
    assert build.build(tmp_path) == []
    for name in ("docs.jsonl", "pairs.jsonl", "mentions.jsonl"):
        assert (tmp_path / name).read_bytes() == (build.HERE / name).read_bytes(), f"{name} differs from sources/"
