"""Entities with identities: gazetteer terms in the topic pack give every article typed canonical ids."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest

from newsmon.enrich.topic import TopicPack, TopicPackError, load_topic_pack, tag
from newsmon.enrich.topic.entities import entity_ids, find_entities

REPO = Path(__file__).resolve().parents[1]
PACK_PATH = REPO / "config" / "topics" / "lt-by.yaml"

SMALL = """\
id: ee-ru
languages: [en, ru]
sides:
  ee: Estonia
  ru: Russia
anchors:
  - id: Estonia
    side: ee
    kind: country
    terms: {en: [Estonia]}
  - id: Narva
    side: ee
    kind: checkpoint
    entity: place/narva
    strong: true
    terms: {en: [Narva], ru: [Нарва]}
  - id: Russia
    side: ru
    kind: country
    terms: {en: [Russia]}
gazetteer:
  - entity: org/ppa
    name: Police and Border Guard Board
    terms: {en: [Police and Border Guard Board, =PPA]}
"""


@pytest.fixture(scope="module")
def pack() -> TopicPack:
    return load_topic_pack(PACK_PATH)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def line_of(text: str, fragment: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_every_spelling_of_lukashenko_is_one_person_id(pack: TopicPack) -> None:
    for spelling in ("Lukashenko", "Лукашенко", "Лукашэнка", "Łukaszenka", "Lukašenka", "Lukaschenko",
                     "Лукашенку", "Lukašenkos", "Łukaszence"):
        assert entity_ids(find_entities(pack, None, f"{spelling} spoke on Monday.")) == ("person/lukashenko",), spelling


def test_both_sides_of_a_crossing_are_two_places(pack: TopicPack) -> None:
    text = "Трафік на пункті пропуску Мядінінкай (з білоруського боку — Кам'яний Лог) зупинено."
    assert entity_ids(find_entities(pack, None, text)) == ("place/medininkai", "place/kamenny-log")


def test_vilnius_airport_is_the_airport_and_the_longer_name_wins(pack: TopicPack) -> None:
    found = find_entities(pack, None, "Balloons closed Vilnius airport; Vilnius asked Minsk to stop them.")
    assert [(m.entity, m.surface) for m in found] == [
        ("place/vilnius-airport", "Vilnius airport"), ("place/vilnius", "Vilnius"), ("place/minsk", "Minsk")]


def test_the_astravets_plant_and_the_town_are_told_apart_by_their_names(pack: TopicPack) -> None:
    found = entity_ids(find_entities(pack, None, "Белорусская АЭС стоит у Островца."))
    assert found == ("place/astravets-npp", "place/astravets")


def test_country_names_are_not_entities(pack: TopicPack) -> None:
    result = tag(pack, "Lithuania and Belarus", "Lithuania closed its border with Belarus.", "en")
    assert result.entities == ()


def test_an_off_topic_article_still_carries_its_entities(pack: TopicPack) -> None:
    result = tag(pack, None, "The Belarusian KGB detained two bloggers in Grodno, Viasna said.", "en")
    assert not result.on_topic
    assert result.entities == ("org/kgb-by", "place/grodno")


def test_entities_are_ids_in_order_of_first_mention_title_first(pack: TopicPack) -> None:
    result = tag(pack, "Nausėda on Astravets", "President Gitanas Nausėda met the VSAT chief; Lukashenko replied.",
                 "en")
    assert result.entities == ("person/nauseda", "place/astravets", "org/vsat", "person/lukashenko")


def test_gazetteer_entries_are_reported_but_never_scored(tmp_path: Path) -> None:
    with_gazetteer = load_topic_pack(write(tmp_path, SMALL))
    without = load_topic_pack(write(tmp_path / "..", SMALL.split("gazetteer:")[0]))
    text = "Estonia and Russia: the Police and Border Guard Board (PPA) closed Narva."
    scored = tag(with_gazetteer, None, text, "en")
    assert scored.entities == ("org/ppa", "place/narva")
    assert scored.relevance == tag(without, None, text, "en").relevance
    assert "org/ppa" not in {m.term for m in scored.matched}


@pytest.mark.parametrize(("bad", "message"), [
    ("entity: Place/Narva", "is not an entity id"),
    ("entity: town/narva", "is not an entity id"),
    ("entity: person/narva", "is a person, but the anchor's kind `checkpoint` names a place"),
])
def test_a_bad_entity_id_names_the_file_line_and_the_scheme(tmp_path: Path, bad: str, message: str) -> None:
    text = SMALL.replace("entity: place/narva", bad)
    path = write(tmp_path, text)
    with pytest.raises(TopicPackError, match=message) as caught:
        load_topic_pack(path)
    assert caught.value.line == line_of(text, bad)
    assert str(caught.value).startswith(f"{path}:{caught.value.line}: anchors[Narva].entity")


def test_one_entity_given_to_two_entries_is_refused_with_both_lines(tmp_path: Path) -> None:
    text = SMALL + "  - entity: place/narva\n    terms: {ru: [Ивангород]}\n"
    with pytest.raises(TopicPackError, match=rf"already given to another entry \(line {line_of(text, 'place/narva')}\)") \
            as caught:
        load_topic_pack(write(tmp_path, text))
    assert caught.value.line == len(text.splitlines()) - 1


def test_a_gazetteer_entry_without_an_id_or_terms_is_refused(tmp_path: Path) -> None:
    with pytest.raises(TopicPackError, match="missing `entity`"):
        load_topic_pack(write(tmp_path, SMALL.replace("  - entity: org/ppa\n", "  - id: org/ppa\n")))
    with pytest.raises(TopicPackError, match=r"gazetteer\[org/ppa\]: needs a `terms` mapping"):
        load_topic_pack(write(tmp_path, SMALL.split("    terms: {en: [Police")[0]))


def test_entity_ids_on_the_labelled_mentions_stay_above_their_floors() -> None:
    sys.path.insert(0, str(REPO / "bench"))
    try:
        from eval_entities import evaluate
    finally:
        sys.path.remove(str(REPO / "bench"))
    report = evaluate(PACK_PATH)
    assert report.gold_mentions >= 100
    documents, mentions = report.doc_level["all"], report.mention_level["all"]
    assert documents.precision >= 0.92 and documents.recall >= 0.82, (report.missed, report.spurious)
    assert mentions.precision >= 0.90 and mentions.recall >= 0.84, (report.missed, report.spurious)
    # Each language of the set on its own, so one language cannot sink while the others carry the mean.
    for language in ("de", "en", "lt", "pl", "ru", "uk"):
        assert report.doc_level[language].precision >= 0.85, language
        assert report.doc_level[language].recall >= 0.70, language


def test_names_border_must_be_true_or_false(tmp_path: Path) -> None:
    text = SMALL.replace("    strong: true\n", "    strong: true\n    names_border: yes please\n")
    with pytest.raises(TopicPackError, match="expected true or false") as caught:
        load_topic_pack(write(tmp_path, text))
    assert caught.value.field == "anchors[Narva].names_border"
    assert caught.value.line == line_of(text, "names_border")
