"""Topic packs are data: a broken pack fails with file, line, field and a fix; a new topic is a new YAML file."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from newsmon.enrich.topic import TopicPackError, load_topic_pack, load_topic_packs, tag
from newsmon.enrich.topic.entities import entity_ids, find_entities

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """\
id: ee-ru
name: Estonia–Russia border
languages: [en, ru]
sides:
  ee: Estonia
  ru: Russia
anchors:
  - id: Estonia
    side: ee
    kind: country
    terms:
      en: [Estonia, Estonian]
      ru: [Эстония, эстонский]
  - id: Narva
    side: ee
    kind: checkpoint
    strong: true
    terms:
      en: [Narva]
  - id: Russia
    side: ru
    kind: country
    terms:
      en: [Russia, Russian]
      ru: [Россия, российский]
subtopics:
  border_crossings:
    terms:
      en: [border, checkpoint]
"""


def write(tmp_path: Path, text: str, name: str = "pack.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_second_topic_is_just_another_yaml_file(tmp_path: Path) -> None:
    shutil.copy(REPO / "config" / "topics" / "lt-by.yaml", tmp_path / "lt-by.yaml")
    write(tmp_path, MINIMAL, "ee-ru.yaml")
    packs = load_topic_packs(tmp_path)
    assert [p.name for p in packs] == ["ee-ru", "lt-by"]
    estonia = packs[0]
    result = tag(estonia, "Estonia closes Narva checkpoint", "Estonia closed the Narva checkpoint on the border "
                 "with Russia after Russian guards removed buoys.", "en")
    assert result.on_topic
    assert result.topic == "ee-ru"
    assert result.subtopics == ("border_crossings",)


def test_shipped_pack_loads_with_its_id_and_all_ten_subtopics() -> None:
    pack = load_topic_pack(REPO / "config" / "topics" / "lt-by.yaml")
    assert pack.name == "lt-by"
    assert set(pack.subtopic_ids) == {
        "border_crossings", "migration", "smuggling", "airspace", "freight_transit", "diplomacy",
        "security_military", "energy_nuclear", "sanctions", "exiles_opposition",
    }
    assert set(pack.languages) == {"en", "lt", "lv", "pl", "ru", "uk", "be", "de"}


def test_every_anchor_of_the_shipped_pack_is_findable_by_its_own_terms() -> None:
    pack = load_topic_pack(REPO / "config" / "topics" / "lt-by.yaml")
    for term in pack.terms:
        concept = pack.concepts[term.concept]
        if concept.role == "entity":
            continue  # gazetteer entries are not scored; the next test finds them
        found = {m.term for m in tag(pack, None, f"{term.text} Lithuania Belarus", None).matched}
        assert concept.id in found, f"{concept.id}: term {term.text!r} ({term.language}) does not match itself"


def test_every_entity_term_of_the_shipped_pack_finds_its_own_entity_and_no_other() -> None:
    pack = load_topic_pack(REPO / "config" / "topics" / "lt-by.yaml")
    for term in pack.terms:
        entity = pack.concepts[term.concept].entity
        if entity is not None:
            found = entity_ids(find_entities(pack, None, term.text))
            assert found == (entity,), f"{entity}: term {term.text!r} ({term.language}) finds {found}"


def test_unknown_side_names_line_field_and_fix(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("side: ru\n", "side: rus\n"))
    with pytest.raises(TopicPackError) as caught:
        load_topic_pack(path)
    error = caught.value
    assert error.line == MINIMAL.splitlines().index("    side: ru") + 1
    assert error.field == "anchors[Russia].side"
    assert "use one of ee, ru" in str(error)
    assert str(path) in str(error)


def test_unknown_kind_is_refused_with_the_allowed_kinds(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("kind: checkpoint", "kind: crossing"))
    with pytest.raises(TopicPackError, match=r"unknown kind `crossing`.*checkpoint"):
        load_topic_pack(path)


def test_term_in_an_undeclared_language_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("      en: [Narva]", "      et: [Narva]"))
    with pytest.raises(TopicPackError, match=r"language `et` is not in the pack's `languages`") as caught:
        load_topic_pack(path)
    assert caught.value.line == MINIMAL.splitlines().index("      en: [Narva]") + 1


def test_broken_yaml_reports_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL.replace("      en: [Narva]", "      en: [Narva"))
    with pytest.raises(TopicPackError, match="not valid YAML") as caught:
        load_topic_pack(path)
    assert caught.value.line is not None


def test_missing_sides_and_a_third_side_are_refused(tmp_path: Path) -> None:
    no_sides = MINIMAL.replace("sides:\n  ee: Estonia\n  ru: Russia\n", "")
    with pytest.raises(TopicPackError, match="missing `sides`"):
        load_topic_pack(write(tmp_path, no_sides))
    three = MINIMAL.replace("  ru: Russia\n", "  ru: Russia\n  lv: Latvia\n")
    with pytest.raises(TopicPackError, match="exactly two sides"):
        load_topic_pack(write(tmp_path, three, "three.yaml"))


def test_empty_term_list_and_bad_weight_are_refused(tmp_path: Path) -> None:
    with pytest.raises(TopicPackError, match="non-empty list"):
        load_topic_pack(write(tmp_path, MINIMAL.replace("en: [Narva]", "en: []")))
    with pytest.raises(TopicPackError, match="weight must be a number"):
        load_topic_pack(write(tmp_path, MINIMAL.replace("    strong: true\n", "    strong: true\n    weight: heavy\n"),
                              "weight.yaml"))


def test_other_border_negative_must_say_which_side_it_competes_with(tmp_path: Path) -> None:
    text = MINIMAL + "negatives:\n  - id: Latvia\n    kind: other_border\n    terms:\n      en: [Latvia]\n"
    with pytest.raises(TopicPackError, match="competes_with"):
        load_topic_pack(write(tmp_path, text))


def test_two_packs_with_one_id_are_refused(tmp_path: Path) -> None:
    write(tmp_path, MINIMAL, "a.yaml")
    write(tmp_path, MINIMAL, "b.yaml")
    with pytest.raises(TopicPackError, match="also used by"):
        load_topic_packs(tmp_path)


def test_missing_pack_file_and_folder_say_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(TopicPackError, match="cannot read the topic pack"):
        load_topic_pack(tmp_path / "nope.yaml")
    with pytest.raises(TopicPackError, match="does not exist"):
        load_topic_packs(tmp_path / "no-folder")


def test_an_edited_pack_is_reloaded_not_served_from_cache(tmp_path: Path) -> None:
    path = write(tmp_path, MINIMAL)
    assert load_topic_pack(path).title == "Estonia–Russia border"
    path.write_text(MINIMAL.replace("name: Estonia–Russia border", "name: Estonia and Russia, edited"),
                    encoding="utf-8")
    assert load_topic_pack(path).title == "Estonia and Russia, edited"


def test_a_key_written_twice_is_refused_with_its_line_instead_of_keeping_the_last(tmp_path: Path) -> None:
    # Without the check the second `en:` would silently replace [Estonia, Estonian].
    text = MINIMAL.replace("      ru: [Эстония, эстонский]\n", "      en: [Eesti]\n      ru: [Эстония, эстонский]\n", 1)
    path = write(tmp_path, text)
    with pytest.raises(TopicPackError, match=r"key `en` appears twice in one mapping \(first at line 12\)") as caught:
        load_topic_pack(path)
    assert caught.value.line == text.splitlines().index("      en: [Eesti]") + 1
    assert str(path) in str(caught.value)
