"""Text folding, tokenising and stemming shared by the topic tagger and the alert matcher."""

from __future__ import annotations

import re
import threading
import unicodedata
from functools import lru_cache

# Languages with a Snowball algorithm (snowballstemmer package). The other languages the project
# monitors (lv, uk, be) have no Snowball algorithm; they get a light ending stripper below.
SNOWBALL_ALGORITHMS: dict[str, str] = {
    "en": "english",
    "de": "german",
    "lt": "lithuanian",
    "pl": "polish",
    "ru": "russian",
}

# Folded (lower-case, diacritics removed, й→и, ў→у, ї→і) inflection endings, longest first.
# Sources: standard grammars of Latvian, Ukrainian and Belarusian nominal/adjectival declension.
_LIGHT_ENDINGS: dict[str, tuple[str, ...]] = {
    "lv": (
        "ajiem", "ajam", "ajai", "ajos", "ajas", "ijas", "ijai", "iem", "ija", "iju", "iji", "ais",
        "am", "ai", "as", "os", "us", "ei", "es", "is", "em", "im", "um",
        "a", "e", "i", "u", "s", "o",
    ),
    # uk and be keep the adjectival -ськ-/-ск- in the stem: cutting it would leave польськии → поль,
    # which also begins пользу. -сю: the instrumental of -сь nouns doubles the consonant
    # (Білорусь → Білоруссю, Беларусь → Беларуссю).
    "uk": (
        "ого", "ому", "ими", "ами", "ями", "ові", "еві",
        "ою", "ею", "сю", "ах", "ях", "ам", "ям", "ів", "ии", "іи", "оі", "их", "им", "ім", "ом", "ем",
        "а", "я", "у", "ю", "і", "и", "е", "о", "ь",
    ),
    "be": (
        "ага", "аму", "ымі", "амі", "ямі", "імі",
        "сю", "ая", "ае", "ую", "ыя", "ія", "ых", "ым", "іх", "ім", "ах", "ях", "ам", "ям", "ау", "оу", "еу",
        "ои", "аи", "еи", "ою", "ом", "ем",
        "а", "я", "у", "ю", "і", "ы", "е", "о", "ь",
    ),
}
_ENDINGS_LONGEST_FIRST = {lang: tuple(sorted(set(endings), key=len, reverse=True)) for lang, endings in _LIGHT_ENDINGS.items()}
_MIN_STEM_CHARS = 3

# Letters whose Unicode decomposition does not strip to a base letter but which readers treat as
# one (Polish ł, Croatian/Vietnamese đ, Nordic ø, Turkish dotless ı).
_EXTRA_FOLDS = {"ł": "l", "Ł": "l", "đ": "d", "Đ": "d", "ø": "o", "Ø": "o", "ı": "i", "ħ": "h", "Ħ": "h"}

# Code point ranges covering Latin, Latin extended and Cyrillic scripts (what the project's
# languages use). Outside them fold() falls back to str.lower().
_FOLD_RANGES = ((0x00C0, 0x0250), (0x0370, 0x0530), (0x1E00, 0x1F00))

_WORD_RE = re.compile(r"\w+")


def _build_fold_table() -> dict[int, str]:
    table: dict[int, str] = {}
    for code in range(0x41, 0x5B):
        table[code] = chr(code + 32)
    for lo, hi in _FOLD_RANGES:
        for code in range(lo, hi):
            char = chr(code)
            if char in _EXTRA_FOLDS:
                table[code] = _EXTRA_FOLDS[char]
                continue
            lower = char.lower()
            if len(lower) != 1:
                lower = char
            base = "".join(c for c in unicodedata.normalize("NFKD", lower) if not unicodedata.combining(c))
            # Keep the one-character-per-character mapping so offsets in folded text are offsets
            # in the original; a letter that decomposes into two letters keeps its lower case.
            folded = base.lower() if len(base) == 1 else lower
            if folded != char:
                table[code] = folded
    return table


_FOLD_TABLE = _build_fold_table()
_COMBINING_RE = re.compile(r"[\u0300-\u036f]")


# Characters that still change after str.lower(): accented Latin letters, ł, й, ё, ў, ї ...
# Folding lower-cases in C first and then rewrites only these, which is several times faster than
# str.translate over every character.
_CHANGED_AFTER_LOWER = "".join(
    sorted(chr(code) for code, value in _FOLD_TABLE.items() if chr(code).lower() == chr(code) and value != chr(code))
)
_CHANGED_AFTER_LOWER_RE = re.compile("[" + re.escape(_CHANGED_AFTER_LOWER) + "]")


def _fold_char(match: re.Match[str]) -> str:
    return _FOLD_TABLE[ord(match.group())]


# Latin and Cyrillic letters that look the same in lower case. A word written mostly in one script
# with a few look-alikes from the other (a scraping or typing accident, or spam evading filters:
# "Бeларусь" with a Latin e) is repaired to its majority script. Only these pairs are safe: other
# letters differ visibly, and a word that needs them is left alone.
_LATIN_TO_CYRILLIC = str.maketrans("aeopcxyi", "аеорсхуі")
_CYRILLIC_TO_LATIN = str.maketrans("аеорсхуі", "aeopcxyi")
_LATIN_LOOKALIKES = frozenset("aeopcxyi")
_CYRILLIC_LOOKALIKES = frozenset("аеорсхуі")
_MIXED_PAIR_RE = re.compile(r"[\u0400-\u04ff][a-z]|[a-z][\u0400-\u04ff]")
_MIXED_WORD_RE = re.compile(r"\w*(?:[\u0400-\u04ff][a-z]|[a-z][\u0400-\u04ff])\w*")
_CYRILLIC_LETTER_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_LETTER_RE = re.compile(r"[a-z]")


def _repair_mixed_word(match: re.Match[str]) -> str:
    word = match.group()
    latin = _LATIN_LETTER_RE.findall(word)
    cyrillic = _CYRILLIC_LETTER_RE.findall(word)
    if len(cyrillic) >= len(latin) and _LATIN_LOOKALIKES.issuperset(latin):
        return word.translate(_LATIN_TO_CYRILLIC)
    if len(latin) > len(cyrillic) and _CYRILLIC_LOOKALIKES.issuperset(cyrillic):
        return word.translate(_CYRILLIC_TO_LATIN)
    return word


def repair_mixed_scripts(folded: str) -> str:
    """Rewrite words of folded text that mix Latin and Cyrillic look-alikes in their majority script.

    Same length as the input. The tagger applies it once per distinct word, fold() to every text.
    """
    if _MIXED_PAIR_RE.search(folded):
        return _MIXED_WORD_RE.sub(_repair_mixed_word, folded)
    return folded


def fold_aligned(text: str) -> str:
    """Lower-case and strip diacritics character by character: result[i] comes from text[i]."""
    lowered = text.lower()
    if len(lowered) != len(text):
        # A few letters lower-case to two characters (İ); the table keeps those in place.
        return text.translate(_FOLD_TABLE)
    return _CHANGED_AFTER_LOWER_RE.sub(_fold_char, lowered)


def fold(text: str) -> str:
    """Case- and diacritic-insensitive form: `Šalčininkų` → `salcininku`, `Лукашэнка` → `лукашэнка`.

    A word mixing Latin and Cyrillic look-alike letters (`Бeларусь` with a Latin e) is written in its
    majority script.

    Precomposed letters keep their position (the same length as the input); combining marks that
    arrive as separate characters are dropped, which only then shortens the text.
    """
    folded = fold_aligned(text)
    if _COMBINING_RE.search(folded):
        folded = _COMBINING_RE.sub("", unicodedata.normalize("NFC", folded).translate(_FOLD_TABLE))
    return repair_mixed_scripts(folded)


def fold_keeps_offsets(text: str) -> bool:
    """Whether fold(text) is as long as text, each character folded in place (no separate combining marks)."""
    return _COMBINING_RE.search(text) is None


def drop_separate_marks(text: str) -> str:
    """text without the separate combining marks that fold drops (Russian stress marks, accents left uncomposed),
    so that fold keeps every offset of the result."""
    return text if fold_keeps_offsets(text) else _COMBINING_RE.sub("", text)


def tokenize(text: str) -> list[str]:
    """Word tokens of text as written (not folded); hyphenated compounds split into their parts."""
    return _WORD_RE.findall(text)


class _StemmerPool(threading.local):
    """Snowball stemmer objects keep state while stemming, so each thread gets its own."""

    def __init__(self) -> None:
        self.stemmers: dict[str, object] = {}

    def get(self, language: str):
        stemmer = self.stemmers.get(language)
        if stemmer is None:
            import snowballstemmer  # imported here: nothing loads at import time of enrich/

            stemmer = snowballstemmer.stemmer(SNOWBALL_ALGORITHMS[language])
            self.stemmers[language] = stemmer
        return stemmer


_POOL = _StemmerPool()
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")


def _strip_ending(folded: str, language: str) -> str:
    for ending in _ENDINGS_LONGEST_FIRST[language]:
        if folded.endswith(ending) and len(folded) - len(ending) >= _MIN_STEM_CHARS:
            return folded[: -len(ending)]
    return folded


_RU_FOLDED_SHORT_I_RE = re.compile(r"(?<=[аеиоуыэюя])и$")


def _prepare_russian(lower: str) -> str:
    """Undo what folding does to Russian word endings before the Snowball algorithm sees them.

    Folding turns й into и, and word-final vowel+й (-ой, -ый, -ий, -ая) is a common ending while
    vowel+и is rare, so the й is restored there. A final soft sign is dropped because Snowball reads
    -сь as a reflexive verb ending and would cut Беларусь to белар but Беларуси to беларус.
    """
    lower = _RU_FOLDED_SHORT_I_RE.sub("й", lower.replace("ё", "е"))
    return lower[:-1] if lower.endswith("ь") else lower


def normalize_language(language: str | None) -> str | None:
    """`en-GB`, `EN`, `ru_RU` → the ISO 639-1 code; empty → None."""
    if not language:
        return None
    code = language.strip().lower().replace("_", "-").split("-", 1)[0]
    return code or None


@lru_cache(maxsize=200_000)
def stem(token: str, language: str | None) -> str:
    """Folded stem of one token, so inflected forms of a name or word compare equal.

    `stem("Šalčininkų", "lt") == stem("Šalčininkai", "lt") == "salcinink"`. en, de, lt, pl and ru use
    their Snowball algorithm. lv and uk, which have no Snowball algorithm, take the dictionary lemma
    from simplemma when it knows the word (кордону → кордон, Viļņā → Viļņa) and then strip common
    endings, so known and unknown forms meet; be, which neither library covers, strips endings only.
    With no language, Cyrillic words are stemmed as Russian and other words are only folded.
    """
    return _stem(token, language, lemmatize=True)


@lru_cache(maxsize=20_000)
def stem_dictionary_form(token: str, language: str | None) -> str:
    """stem() for a word already in its dictionary form (topic pack terms).

    The lemma of a dictionary form is the form itself, so this skips the lemmatiser's dictionaries
    (about 90 MB and two seconds to load for uk and lv) and gives the same result as stem().
    """
    return _stem(token, language, lemmatize=False)


# Languages whose simplemma dictionary is used for lemmas (no Snowball algorithm exists for them).
_LEMMA_LANGUAGES = frozenset({"lv", "uk"})


def _stem(token: str, language: str | None, lemmatize: bool) -> str:
    lang = normalize_language(language)
    lower = token.lower()
    if lang is None and _CYRILLIC_RE.search(lower):
        lang = "ru"
    if lang == "ru":
        lower = _prepare_russian(lower)
    if lang in SNOWBALL_ALGORITHMS:
        return fold(_POOL.get(lang).stemWord(lower))
    if lemmatize and lang in _LEMMA_LANGUAGES:
        lower = _known_lemma(lower, lang).lower()
    folded = fold(lower)
    if lang in _LIGHT_ENDINGS:
        return _strip_ending(folded, lang)
    return folded


def _known_lemma(word: str, language: str) -> str:
    import simplemma  # imported on first use: its dictionaries are large

    # Only dictionary words: simplemma's guesses for unknown words (names, mostly) are less
    # predictable than the ending stripper that follows.
    if simplemma.is_known(word, lang=language):
        return str(simplemma.lemmatize(word, lang=language))
    return word
