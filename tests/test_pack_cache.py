"""The compiled topic pack is kept in the state directory: reused while the pack file and the code are the same, rebuilt otherwise."""

from __future__ import annotations

import pickle
import textwrap
from pathlib import Path

import pytest

from newsmon.app.stages.poll import PACK_CACHE_DIR, load_pack
from newsmon.core.settings import Settings, load_settings
from newsmon.enrich.topic import TopicPack, TopicPackError, load_topic_pack, tag
from newsmon.store import pack_cache

PACK = """\
id: lv-by
name: Latvia–Belarus border
languages: [en]
sides:
  lv: Latvia
  by: Belarus
anchors:
  - id: Latvia
    side: lv
    kind: country
    terms:
      en: [Latvia, Latvian]
  - id: Silene
    side: lv
    kind: checkpoint
    strong: true
    terms:
      en: [Silene]
  - id: Belarus
    side: by
    kind: country
    terms:
      en: [Belarus, Belarusian]
subtopics:
  border_crossings:
    terms:
      en: [border, checkpoint]
"""
TITLE = "Latvia closes the Silene checkpoint"
TEXT = "Latvia closed the Silene checkpoint on the border with Belarus; Belarusian guards watched the queue."


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    (tmp_path / "config" / "topics").mkdir(parents=True)
    (tmp_path / "config" / "topics" / "lv-by.yaml").write_text(PACK, encoding="utf-8")
    pack_cache._memo.clear()  # each test starts as a fresh poll task would
    yield load_settings(config_dir=tmp_path / "config", state_dir=tmp_path / "var", topic="lv-by")
    pack_cache._memo.clear()


def cache_file(settings: Settings) -> Path:
    return settings.state_path / PACK_CACHE_DIR / "topic-pack-lv-by.pickle"


def pack_file(settings: Settings) -> Path:
    return settings.topics_dir / "lv-by.yaml"


def new_poll_task() -> None:
    """What another poll task starts with: nothing in memory, only the cache file."""
    pack_cache._memo.clear()


def refuse_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(path: Path) -> TopicPack:
        raise AssertionError(f"{path} was parsed although its cache is valid")

    monkeypatch.setattr(pack_cache, "load_topic_pack", parse)


def test_next_poll_task_loads_the_compiled_pack_from_the_cache_and_tags_the_same(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    parsed = load_pack(settings)
    assert cache_file(settings).is_file()
    new_poll_task()
    refuse_parsing(monkeypatch)
    cached = load_pack(settings)
    assert cached is not parsed
    assert tag(cached, TITLE, TEXT, "en") == tag(parsed, TITLE, TEXT, "en")
    assert tag(cached, TITLE, TEXT, "en").on_topic


def test_one_process_gets_the_same_pack_object_for_the_same_file(settings: Settings) -> None:
    # newsmon run shares its extraction workers between batches only while the pack is the same object.
    assert load_pack(settings) is load_pack(settings)


def test_edited_pack_file_is_picked_up_by_the_next_poll_task(settings: Settings) -> None:
    assert not tag(load_pack(settings), "Latvia and Belarus talk about Vientuli", "Vientuli stays shut.", "en").subtopics
    pack_file(settings).write_text(PACK.replace("[border, checkpoint]", "[border, checkpoint, Vientuli]"),
                                   encoding="utf-8")
    new_poll_task()
    edited = load_pack(settings)
    assert tag(edited, "Latvia and Belarus talk about Vientuli", "Vientuli stays shut.", "en").subtopics == (
        "border_crossings",)
    new_poll_task()
    assert tag(load_pack(settings), "Latvia and Belarus talk about Vientuli", "Vientuli stays shut.", "en").subtopics


def test_edited_pack_file_is_picked_up_within_one_process(settings: Settings) -> None:
    before = load_pack(settings)
    pack_file(settings).write_text(PACK.replace("name: Latvia–Belarus border", "name: Latvia and Belarus"),
                                   encoding="utf-8")
    after = load_pack(settings)
    assert (before.title, after.title) == ("Latvia–Belarus border", "Latvia and Belarus")


def test_stale_cache_from_another_pack_or_code_is_rebuilt_not_used(settings: Settings) -> None:
    other = tmp_pack(settings, PACK.replace("name: Latvia–Belarus border", "name: an older pack"))
    cache_file(settings).parent.mkdir(parents=True)
    with cache_file(settings).open("wb") as handle:  # what an older pack file (or older newsmon) left there
        handle.write(pack_cache.cache_key(other).encode())
        pickle.dump(load_topic_pack(other), handle)
    assert load_pack(settings).title == "Latvia–Belarus border"
    new_poll_task()
    assert load_pack(settings).title == "Latvia–Belarus border"
    assert cache_file(settings).read_bytes().startswith(pack_cache.cache_key(pack_file(settings)).encode())


def test_cache_key_changes_when_the_compiling_code_changes(settings: Settings, monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    before = pack_cache.cache_key(pack_file(settings))
    code = tmp_path / "code"
    (code / "enrich").mkdir(parents=True)
    (code / "core").mkdir()
    (code / "enrich" / "textnorm.py").write_text("STEM = 1\n")
    monkeypatch.setattr(pack_cache, "_PACKAGE_DIR", code)
    first = pack_cache.cache_key(pack_file(settings))
    (code / "enrich" / "textnorm.py").write_text("STEM = 2\n")
    assert len({before, first, pack_cache.cache_key(pack_file(settings))}) == 3


@pytest.mark.parametrize("garbage", [b"not a pickle at all", b"\x80\x05\x95", pickle.dumps({"terms": []})],
                         ids=["garbled", "truncated", "not-a-pack"])
def test_corrupt_cache_is_rebuilt_and_the_pack_still_loads(settings: Settings, garbage: bytes) -> None:
    cache_file(settings).parent.mkdir(parents=True)
    key = pack_cache.cache_key(pack_file(settings)).encode()
    cache_file(settings).write_bytes(key + garbage)
    pack = load_pack(settings)
    assert tag(pack, TITLE, TEXT, "en").on_topic
    new_poll_task()
    with cache_file(settings).open("rb") as handle:
        assert handle.read(len(key)) == key
        assert isinstance(pickle.load(handle), TopicPack)


def test_unwritable_cache_place_costs_only_the_parsing(settings: Settings) -> None:
    settings.state_path.mkdir(parents=True)
    (settings.state_path / PACK_CACHE_DIR).write_text("a file where the cache folder belongs")
    assert tag(load_pack(settings), TITLE, TEXT, "en").on_topic


def test_broken_pack_file_still_fails_with_its_line_although_a_cache_exists(settings: Settings) -> None:
    load_pack(settings)
    pack_file(settings).write_text(PACK.replace("    side: lv\n    kind: checkpoint", "    side: ee\n    kind: checkpoint"),
                                   encoding="utf-8")
    new_poll_task()
    with pytest.raises(TopicPackError, match=r"lv-by\.yaml"):
        load_pack(settings)


def tmp_pack(settings: Settings, text: str) -> Path:
    path = settings.topics_dir.parent / "older" / "lv-by.yaml"
    path.parent.mkdir()
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path
