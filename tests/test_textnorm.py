"""Folding, tokenising and stemming: what makes `salcininkai` find `Šalčininkų` in tags and alerts."""

from __future__ import annotations

import unicodedata

import pytest

from newsmon.enrich.textnorm import (
    drop_separate_marks,
    fold,
    fold_aligned,
    fold_keeps_offsets,
    normalize_language,
    stem,
    tokenize,
)


@pytest.mark.parametrize(
    ("text", "folded"),
    [
        ("Šalčininkų", "salcininku"),
        ("Białoruś", "bialorus"),
        ("Łukaszenka", "lukaszenka"),
        ("Лукашэнка", "лукашэнка"),
        ("Каменный Лог", "каменныи лог"),
        ("Ёлка", "елка"),
        ("Viļņā", "vilna"),
        ("Weißrussland", "weißrussland"),
    ],
)
def test_fold_ignores_case_and_diacritics(text: str, folded: str) -> None:
    assert fold(text) == folded


def test_fold_keeps_every_character_in_place_so_offsets_survive() -> None:
    text = "İSTANBUL, Šalčininkų rajone — Лукашэнка: «Białoruś»."
    folded = fold_aligned(text)
    assert len(folded) == len(text)
    start = text.index("Šalčininkų")
    assert folded[start:start + len("Šalčininkų")] == "salcininku"


def test_fold_drops_separate_combining_marks() -> None:
    assert fold("S\u030calc\u030cininkai") == "salcininkai"


def test_tokenize_splits_hyphenated_compounds_and_keeps_letters() -> None:
    assert tokenize("литовско-белорусской границы, 2021 г.") == ["литовско", "белорусской", "границы", "2021", "г"]


@pytest.mark.parametrize(
    ("language", "forms"),
    [
        ("lt", ["Lietuva", "Lietuvos", "Lietuvoje", "Lietuvą", "Lietuvai"]),
        ("lt", ["Šalčininkai", "Šalčininkų", "Šalčininkuose"]),
        ("lt", ["Baltarusija", "Baltarusijos", "Baltarusijoje", "Baltarusiją"]),
        ("ru", ["Беларусь", "Беларуси", "Беларусью"]),
        ("ru", ["Литва", "Литвы", "Литве", "Литву"]),
        ("ru", ["белорусский", "белорусской", "белорусских"]),
        ("pl", ["Białoruś", "Białorusi", "Białorusią"]),
        ("pl", ["Litwa", "Litwie", "Litwą", "Litwy"]),
        ("pl", ["Łukaszenka", "Łukaszenki"]),
        ("uk", ["Білорусь", "Білорусі", "Білоруссю"]),
        ("uk", ["Литва", "Литви", "Литві", "Литву"]),
        ("be", ["Беларусь", "Беларусі", "Беларуссю"]),
        ("be", ["Літва", "Літвы", "Літве", "Літву"]),
        ("lv", ["Baltkrievija", "Baltkrievijas", "Baltkrievijā", "Baltkrieviju"]),
        ("lv", ["Lietuva", "Lietuvas", "Lietuvā", "Lietuvai"]),
        ("de", ["Litauen", "Litauens"]),
        ("en", ["balloon", "balloons"]),
    ],
)
def test_inflected_forms_share_one_stem(language: str, forms: list[str]) -> None:
    stems = {stem(form, language) for form in forms}
    assert len(stems) == 1, stems


def test_stem_of_folded_token_equals_stem_of_original_as_the_alert_matcher_uses_it() -> None:
    for language, word in [("lt", "Šalčininkų"), ("ru", "белорусской"), ("pl", "Białorusią"), ("lv", "Baltkrievijā")]:
        assert stem(fold(word), language) == stem(word, language)
    assert stem("salcininkai", "lt") == stem("Šalčininkų", "lt")


def test_unknown_language_stems_cyrillic_as_russian_and_only_folds_latin() -> None:
    assert stem("Беларуси", None) == stem("Беларусь", None)
    assert stem("Šalčininkų", None) == "salcininku"


def test_stem_never_returns_a_stem_shorter_than_three_letters_for_light_languages() -> None:
    assert stem("мяжа", "be") == "мяж"
    assert stem("ab", "be") == "ab"


@pytest.mark.parametrize(("raw", "code"), [("en-GB", "en"), ("LT", "lt"), ("ru_RU", "ru"), ("", None), (None, None)])
def test_language_codes_are_normalised(raw: str | None, code: str | None) -> None:
    assert normalize_language(raw) == code


@pytest.mark.parametrize(
    ("language", "forms"),
    [
        ("uk", ["кордон", "кордону", "кордоном"]),
        ("uk", ["мігрант", "мігрантів", "мігрантами"]),
        ("lv", ["robeža", "robežas", "robežu"]),
        ("lv", ["kontrabanda", "kontrabandas"]),
    ],
)
def test_latvian_and_ukrainian_common_words_meet_through_the_dictionary_lemma(language: str, forms: list[str]) -> None:
    assert len({stem(form, language) for form in forms}) == 1


def test_dictionary_forms_stem_the_same_with_or_without_the_lemmatiser() -> None:
    from newsmon.enrich.textnorm import stem_dictionary_form

    for language, word in [("uk", "Литва"), ("uk", "Білорусь"), ("lv", "Baltkrievija"), ("lv", "Lietuva")]:
        assert stem_dictionary_form(word, language) == stem(word, language)


def test_words_mixing_look_alike_latin_and_cyrillic_letters_fold_to_their_majority_script() -> None:
    assert fold("Бeларусь") == fold("Беларусь")  # Latin e inside a Cyrillic word
    assert fold("Lithuаnia") == "lithuania"  # Cyrillic а inside a Latin word
    assert fold("Вильнюсz") == "вильнюсz"  # z has no Cyrillic look-alike: left alone
    assert len(fold("Лукашенкo сказал")) == len("Лукашенкo сказал")


def test_fold_keeps_every_offset_unless_combining_marks_arrive_as_separate_characters():
    composed = "Šalčininkų rajone, Лукашэнка"
    decomposed = unicodedata.normalize("NFD", composed)
    assert fold_keeps_offsets(composed) and len(fold(composed)) == len(composed)
    assert not fold_keeps_offsets(decomposed) and len(fold(decomposed)) < len(decomposed)
    stressed = "Ми\u0301нске"  # a stress mark has no composed letter to join
    assert drop_separate_marks(stressed) == "Минске" and fold_keeps_offsets(drop_separate_marks(stressed))
