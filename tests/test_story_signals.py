"""Story signals: the dates, counts with units and names that an article shares with its translations."""

from __future__ import annotations

from newsmon.enrich.story_signals import story_signals


def test_clock_times_and_numeric_dates_are_dates_never_counts():
    signals = story_signals("", "On 5.10.2025 at 12:30 some 1 000 trucks waited; by 2025-10-06 14:05 it was 1,200 lorries.")
    assert signals.dates == ("10-05", "10-06")
    assert signals.quantities == ("1000 truck", "1200 truck")


def test_a_day_next_to_a_month_name_in_any_language_is_a_date():
    signals = story_signals("Lapkričio 3 d. prie sienos", "Od 12 listopada, с 26 октября, since October 27.")
    assert signals.dates == ("11-03", "11-12", "10-26", "10-27")


def test_a_count_takes_the_unit_after_it_or_the_currency_sign_before_it():
    signals = story_signals("", "Bilietas kainavo €1 500, o vežėjai sumokėjo $300 už 12 vilkikų ir 3 tūkst. migrantų.")
    assert signals.quantities == ("1500 euro", "300 dollar", "12 truck", "3000 migrant")


def test_small_bare_numbers_and_years_are_not_counts():
    assert story_signals("", "In 2024 two of 7 were shut, then 3; 45 stayed open.").quantities == ("45",)


def test_names_are_capitalised_words_inside_a_sentence_not_its_first_word():
    signals = story_signals("", "Koval met Ryzhenkov in Kaunas. Nausėda said nothing (Tsikhanouskaya did).")
    assert signals.names == ("rizen", "kauna", "cihan")
