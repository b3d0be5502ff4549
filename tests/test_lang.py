"""Language detection for articles whose feed or page does not say (or says something impossible)."""

from __future__ import annotations

import pytest

from newsmon.enrich.lang import detect_language

SAMPLES = {
    "lt": "Pasieniečiai praėjusią parą neįleido į šalį dar kelių dešimčių užsieniečių, bandžiusių neteisėtai kirsti sieną.",
    "lv": "Robežsargi pagājušajā diennaktī novērsa vairāku desmitu cilvēku mēģinājumus nelikumīgi šķērsot robežu.",
    "pl": "Straż graniczna poinformowała w niedzielę, że w ciągu ostatniej doby zatrzymano kilkudziesięciu cudzoziemców.",
    "ru": "Пограничники за прошедшие сутки не допустили незаконного пересечения границы несколькими десятками человек.",
    "uk": "Прикордонники за минулу добу не допустили незаконного перетину кордону кількома десятками людей.",
    "be": "Памежнікі за мінулыя суткі не дапусцілі незаконнага перасячэння мяжы некалькімі дзесяткамі чалавек.",
    "de": "Die Grenzschützer haben nach eigenen Angaben am Wochenende mehrere Dutzend Menschen an der Einreise gehindert.",
    "en": "Border guards said on Sunday that they had stopped several dozen people from crossing the frontier illegally.",
}


@pytest.mark.parametrize("language", sorted(SAMPLES))
def test_detects_each_monitored_language(language: str) -> None:
    assert detect_language(SAMPLES[language]) == language


def test_declared_language_wins_when_the_script_fits() -> None:
    assert detect_language(SAMPLES["lt"], hint="lt-LT") == "lt"
    assert detect_language(SAMPLES["ru"], hint="be") == "be"


def test_declared_latin_language_on_cyrillic_text_is_not_trusted() -> None:
    assert detect_language(SAMPLES["ru"], hint="lt") == "ru"


def test_too_little_text_gives_no_language_instead_of_a_guess() -> None:
    assert detect_language("12:45 —") is None
    assert detect_language("") is None
