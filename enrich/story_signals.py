"""What survives translation, for event-level stories: dates mentioned and numbers with their units (pure)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from newsmon.core.text import compose_accents
from newsmon.enrich.textnorm import drop_separate_marks, fold

# Folded month names (lower case, diacritics off) of the project's languages and a few more that wires
# use (fr, it, es): full forms or stems, checked as prefixes of a folded word next to a day number.
# A stem is only taken where no common word of those languages starts with it next to a number.
_MONTH_STEMS: dict[int, tuple[str, ...]] = {
    1: ("january", "januar", "janvar", "janvier", "gennai", "enero", "январ", "янв", "січ", "студзен", "styczn", "stycz",
        "sausio", "sausis"),
    2: ("february", "februar", "fevrier", "febbrai", "febrer", "феврал", "лют", "lutego", "luty", "vasario", "vasaris"),
    3: ("march", "marz", "mars", "marts", "marta", "marca", "marzo", "марта", "март", "берез", "сакав", "kovo", "kovas"),
    4: ("april", "aprili", "avril", "aprile", "abril", "апрел", "квіт", "красав", "kwietn", "balandz"),
    5: ("may", "mai", "maij", "maggio", "mayo", "мая", "май", "мае", "трав", "maja", "maj", "geguz"),
    6: ("june", "juni", "junij", "juin", "giugn", "junio", "июн", "черв", "чэрв", "czerw", "birzel"),
    7: ("july", "juli", "julij", "juillet", "lugli", "julio", "июл", "лип", "ліп", "lipc", "lipiec", "liepos", "liepa"),
    8: ("august", "aout", "agost", "август", "серп", "жнiун", "жніун", "sierp", "rugpjuc", "rugpjutis"),
    9: ("september", "septembr", "septemb", "septiembre", "settembre", "сентяб", "верес", "верас", "wrzes", "rugsej"),
    10: ("october", "oktober", "oktobr", "octobre", "ottobre", "octubre", "октяб", "жовт", "кастрыч", "pazdzier",
         "spalio", "spalis"),
    11: ("november", "novembr", "novemb", "noviembre", "ноябр", "листопад", "лістапад", "listopad", "lapkric", "lapkritis"),
    12: ("december", "dezember", "decembr", "decemb", "dicembre", "diciembre", "декаб", "груд", "снеж", "grudni", "grudzien",
         "gruodz"),
}
_SHORT_MONTH_WORDS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "jun": 6, "jul": 7, "aug": 8, "sep": 9, "sept": 9,
                      "oct": 10, "okt": 10, "nov": 11, "dec": 12, "dez": 12}

# Units a count is given in, by folded word stems across languages: what "1,000 trucks", "1000 фур",
# "1000 sunkvežimių" and "1000 ciężarówek" have in common. A number followed by none of them is kept bare.
_UNIT_STEMS: dict[str, tuple[str, ...]] = {
    "truck": ("truck", "lorr", "фур", "грузовик", "грузовых", "вантаж", "sunkvez", "vilkik", "ciezarow", "ciezarowek",
              "tir", "lkw", "camion", "kravas", "fuur"),
    "vehicle": ("vehicle", "car", "автомоб", "машин", "транспортн", "automobil", "transporto", "samochod", "pojazd",
                "fahrzeug", "veicol", "vehicul"),
    "prisoner": ("prisoner", "political prisoner", "политзаключ", "заключ", "узник", "политическ", "вязн", "в'язн", "вʼязн",
                 "в’язн", "політв", "палітв", "kalin", "wiezn", "gefangen", "haftling", "prigionier", "detenut", "presos",
                 "prisonnier", "prizonier", "polit"),
    "person": ("people", "person", "человек", "людей", "людзей", "осіб", "особ", "zmon", "osob", "menschen", "personen",
               "persone", "personas", "personnes", "citizen", "граждан", "громадян", "pilie", "obywatel", "burger"),
    "migrant": ("migrant", "мигрант", "мігрант", "мiгрант", "refugee", "беженц", "біжен", "pabegel", "uchodz"),
    "balloon": ("balloon", "шар", "куль", "кул", "balion", "ballon", "pallon", "globo", "balon"),
    "drone": ("drone", "дрон", "беспилот", "безпілот", "беспілот", "dron", "drona"),
    "euro": ("euro", "евро", "євро", "еўра", "eur", "€"),
    "dollar": ("dollar", "доллар", "долар", "dolar", "usd", "$"),
    "km": ("km", "км", "kilomet", "километр", "кілометр"),
    "percent": ("%", "percent", "per cent", "процент", "відсот", "адсот", "procent", "prozent", "procen", "proc", "percento"),
    "tonne": ("tonne", "ton", "тонн", "тон", "tonn", "tona", "tonu"),
    "day": ("day", "дн", "дзён", "сут", "dien", "dni", "dzien", "tag", "giorn", "dias", "jour"),
    "hour": ("hour", "час", "годин", "гадзін", "valand", "godzin", "stund", "ore", "horas", "heure"),
    "checkpoint": ("checkpoint", "crossing", "пункт", "кпп", "пропуск", "punkt", "perej", "grenzuber", "valich", "postas"),
}
_MULTIPLIERS = {
    1_000: ("thousand", "тыс", "тис", "тысяч", "тисяч", "тысяч", "tukst", "tys", "tysiac", "tysiecy", "tausend", "mila",
            "mille", "mil", "tuhat"),
    1_000_000: ("million", "millionen", "млн", "мільйон", "миллион", "mln", "milion", "milijon", "milioni", "millon",
                "miljon"),
}
_UNIT_LOOKAHEAD_WORDS = 2  # "52 political prisoners", "1 000 вантажних автомобілів": an adjective may come between

# The patterns that find numbers, dates and names begin by matching their first character and look behind it
# afterwards ("\d(?<!\w\d)" is "\b\d"): a pattern that opens on a character class lets the regex engine skip
# to the next digit or capital in C, where one that opens on a look-behind or \b is tried at every position
# (a third of the cost of the three number scans and the name scan on a 5,000-character article).
# A number in running text: grouped thousands (1,000 / 1.000 / 1 000 with plain or narrow no-break spaces),
# then an optional decimal part; hh:mm clock times and dd.mm.yyyy dates are taken apart first.
_NUMBER_RE = re.compile(r"(\d(?<![\w.,]\d)(?:\d{0,2}(?:[,.\u00a0\u202f ]\d{3})+|\d*))(?:[.,](\d+))?(?![\w])")
_CLOCK_RE = re.compile(r"\d(?<!\w\d)\d?[:.]\d{2}\s*(?:[ap]\.?m\.?|h|val|час|год|uhr)?\b|\d(?<!\w\d)\d?:\d{2}\b",
                       re.IGNORECASE)
# yyyy-mm-dd (groups 1-3: the year's last three digits, month, day) or dd.mm.yyyy (groups 4-6: the day's second
# digit if any, month, year).
_NUMERIC_DATE_RE = re.compile(r"\d(?<!\w\d)(?:(\d{3})-(\d{2})-(\d{2})\b|(\d?)\.(\d{1,2})\.(\d{4}|\d{2})\b)")
_WORD_RE = re.compile(r"[^\W\d_]+(?:['’ʼ][^\W\d_]+)?|[%€$]")
_TOKEN_RE = re.compile(r"\d+(?:[,.\u00a0\u202f ]\d{3})*(?:[.,]\d+)?|[^\W\d_]+(?:['’ʼ][^\W\d_]+)?|[%€$.;:!?]")
_CLAUSE_END_RE = re.compile(r"[\d;:!?()\n]|\.\s+(?=[A-ZА-ЯЁІЇЄЎ])")
_YEAR_RANGE = range(1900, 2100)
_MIN_BARE_NUMBER = 10  # "two checkpoints", "three days": small bare numbers are everywhere


# Cyrillic → Latin, then the spelling differences transliterations disagree on folded away (kh/h, ts/c, y/i,
# w/v …), so Рыженков, Ryzhenkov and Ryženkov, or Коул and Coale's first letters, meet in one key.
_CYRILLIC = dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюяіїєўґ",
                     ["a", "b", "v", "g", "d", "e", "e", "zh", "z", "i", "i", "k", "l", "m", "n", "o", "p", "r", "s",
                      "t", "u", "f", "kh", "ts", "ch", "sh", "sh", "", "y", "", "e", "yu", "ya", "i", "i", "e", "u", "g"],
                     strict=True))
_SPELLING = (("kh", "h"), ("ts", "c"), ("zh", "z"), ("sh", "s"), ("ch", "c"), ("y", "i"), ("j", "i"), ("w", "v"))
NAME_KEY_CHARS = 5
# A capitalised word inside a sentence (not its first word): a name, most of the time, in every language here.
# The look-behinds after the capital say: not at the text's start, no letter or digit before it, and not
# right after a sentence end and a space.
_CAPITAL = "[A-ZА-ЯЁІЇЄЎҐŁŚŻŹĆŃÓŠŽČĖĄĘŪ]"
_NAME_RE = re.compile(rf"({_CAPITAL}(?<=\W{_CAPITAL})(?<![.!?\n]\s{_CAPITAL})[\w'’ʼ-]{{3,}})")
# Name keys that nearly every article of the monitored region carries (the two countries, their capitals, the
# Belarusian ruler, "Ministry"): shared by same-day articles about different events, so they are no evidence.
# Entity ids are checked against the same keys, word by word, whatever id scheme the tagger uses.
COMMON_NAME_KEYS = frozenset({"belar", "lithu", "litva", "litvi", "litou", "litau", "litew", "lietu", "biela",
                              "bialo", "vilni", "vilno", "vilna", "vilen", "minsk", "lukas", "lukaz", "minis",
                              "europ", "alexa", "alaks", "aliak"})


@dataclass(frozen=True)
class StorySignals:
    """What an article shares with its translations: dates it mentions ("10-29": 29 October), numbers with units
    ("1000 truck", "52") and name keys ("ryzen" for Рыженков / Ryzhenkov)."""

    dates: tuple[str, ...] = ()
    quantities: tuple[str, ...] = ()
    names: tuple[str, ...] = ()


def story_signals(title: str, text: str) -> StorySignals:
    """Dates, quantities and names in the title and text, each listed once, in order of first appearance."""
    joined = _signal_text(title, text)
    dates: dict[str, None] = {}
    quantities: dict[str, None] = {}
    date_spans = _date_spans(joined, dates)
    cleared = _blank(joined, date_spans + [m.span() for m in _CLOCK_RE.finditer(joined)])
    for value, unit in _quantities(cleared):
        quantities[f"{value} {unit}" if unit else value] = None
    names = dict.fromkeys(key for m in _NAME_RE.finditer(joined) if (key := name_key(m.group(1))) not in COMMON_NAME_KEYS)
    return StorySignals(tuple(dates), tuple(quantities), tuple(names))


def _signal_text(title: str, text: str) -> str:
    """Title and text as the patterns read them: accents composed (NFC), and the marks that have no composed
    letter (Russian stress marks, "Ми́нске") dropped. Extraction gives NFC, but `newsmon dedup` input and articles
    staged before it did need not be; a separate mark splits a name for the name pattern, and folding drops it,
    which shifts the folded text's offsets against the text's (a currency sign, the span of a date)."""
    return drop_separate_marks(compose_accents(f"{title}\n{text}" if title else text))


@lru_cache(maxsize=1 << 16)
def name_key(word: str) -> str:
    """The script- and spelling-independent first letters of a name (Рыженков → "rizen", Ryzhenkov → "rizen")."""
    latin = "".join(_CYRILLIC.get(c, c) for c in fold(word))
    for spelled, plain in _SPELLING:
        latin = latin.replace(spelled, plain)
    return latin[:NAME_KEY_CHARS]


def is_common_entity(entity_id: str) -> bool:
    """Whether an entity id names one of the region's ubiquitous entities (Lithuania, Belarus, Vilnius …)."""
    words = re.findall(r"[^\W\d_]+", entity_id.rsplit("/", 1)[-1])
    return any(name_key(w) in COMMON_NAME_KEYS for w in words)


# Every month stem with its month (the first month that lists it), so that a word's prefixes are looked up
# instead of every stem being tried on every new word.
_MONTH_OF_STEM: dict[str, int] = {}
for _month, _stems in _MONTH_STEMS.items():
    for _stem in _stems:
        _MONTH_OF_STEM.setdefault(_stem, _month)
_LONGEST_MONTH_STEM = max(map(len, _MONTH_OF_STEM))


@lru_cache(maxsize=1 << 16)
def month_of(word: str) -> int | None:
    """The month a folded word names (октября → 10, lapkričio → 11, 30-osios → None).

    A stem of four letters or more names its month at the start of any word, a shorter one only with at
    most three letters after it; where stems of several months fit, the earliest month is the answer.
    """
    if word in _SHORT_MONTH_WORDS:
        return _SHORT_MONTH_WORDS[word]
    if len(word) < 3:
        return None
    months = [month for size in range(1, min(len(word), _LONGEST_MONTH_STEM) + 1)
              if (month := _MONTH_OF_STEM.get(word[:size])) is not None and (size >= 4 or len(word) - size <= 3)]
    return min(months, default=None)


def _date_spans(text: str, dates: dict[str, None]) -> list[tuple[int, int]]:
    """Record every day-and-month the text names; return the spans used, so their numbers are not counts."""
    spans: list[tuple[int, int]] = []
    for match in _NUMERIC_DATE_RE.finditer(text):
        if match.group(1) is not None:
            month, day = int(match.group(2)), int(match.group(3))
        else:
            day, month = int(match.group()[0] + match.group(4)), int(match.group(5))
        if 1 <= month <= 12 and 1 <= day <= 31:
            dates[f"{month:02d}-{day:02d}"] = None
            spans.append(match.span())
    tokens = _TOKEN_RE.findall(fold(text))  # no capturing groups: the whole matches
    starts: list[tuple[int, int]] | None = None  # token spans in the unfolded text, found once a date needs them
    for i, token in enumerate(tokens):
        if not (token.isdigit() and len(token) <= 2 and 1 <= int(token) <= 31):
            continue
        month = _month_near(tokens, i)
        if month is not None:
            dates[f"{month:02d}-{int(token):02d}"] = None
            if starts is None:
                starts = [m.span() for m in _TOKEN_RE.finditer(text)]
            spans.append(starts[i])
    return spans


def _is_day(token: str) -> bool:
    return token.isdigit() and len(token) <= 2 and 1 <= int(token) <= 31


def _month_near(tokens: list[str], i: int) -> int | None:
    """The month named right after the day number at i ("26 октября", "26. Oktober", "26th of October"), else
    right before it ("October 26", "spalio 26 d."), unless that month already belongs to a day before it."""
    after = i + 1
    if after < len(tokens) and tokens[after] in {".", "of", "de", "di", "du", "th", "st", "nd", "rd", "oji", "osios"}:
        after += 1
    if after < len(tokens) and (month := month_of(tokens[after])) is not None:
        return month
    before = i - 1
    if before >= 0 and (month := month_of(tokens[before])) is not None:
        if before == 0 or not _is_day(tokens[before - 1]):
            return month
    return None


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """text with every span (they may overlap) replaced by as many spaces: offsets do not move."""
    pieces: list[str] = []
    done = 0
    for start, end in sorted(spans):
        start = max(start, done)
        if end > start:
            pieces += (text[done:start], " " * (end - start))
            done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _quantities(text: str) -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    # Of the folded text only the two characters before each number are read (a currency sign): folding keeps
    # every offset of story_signals' text (_signal_text), so folding those two alone gives them.
    for match in _NUMBER_RE.finditer(text):
        value = _number_value(match.group(1), match.group(2))
        if value is None:
            continue
        window = slice(max(0, match.start() - 2), match.start())
        before = fold(text[window]).strip()
        # The unit is in the same clause: stop at the next number, clause mark or sentence ("2025 r. 1 000 фур").
        tail = _CLAUSE_END_RE.split(text[match.end() : match.end() + 60], maxsplit=1)[0]
        after = _WORD_RE.findall(fold(tail))
        value, after = _apply_multiplier(value, after)
        unit = _unit(after[:_UNIT_LOOKAHEAD_WORDS], before)
        if unit is None and (value < _MIN_BARE_NUMBER or (value == int(value) and int(value) in _YEAR_RANGE)):
            continue
        found.append((_format_value(value), unit))
    return found


def _number_value(whole: str, fraction: str | None) -> float | None:
    digits = re.sub(r"[,.\u00a0\u202f ]", "", whole)
    if not digits.isdigit() or len(digits) > 12:
        return None
    value = float(digits)
    if fraction:
        value += float(f"0.{fraction}")
    return value


def _apply_multiplier(value: float, after: list[str]) -> tuple[float, list[str]]:
    if after:
        for factor, words in _MULTIPLIERS.items():
            if any(after[0].startswith(w) for w in words):
                return value * factor, after[1:]
    return value, after


def _unit(words: list[str], before: str) -> str | None:
    if before.endswith(("€", "$")):
        return "euro" if before.endswith("€") else "dollar"
    for word in words:
        if (unit := _unit_of_word(word)) is not None:
            return unit
    return None


# Unit stems by their place in _UNIT_STEMS (the first unit that lists one wins): stems of three characters or
# more match the start of a word, shorter ones ("%", "$", "дн") only the whole word.
_UNITS = tuple(_UNIT_STEMS)
_UNIT_OF_PREFIX: dict[str, int] = {}
_UNIT_OF_SHORT_WORD: dict[str, int] = {}
for _order, _stems in enumerate(_UNIT_STEMS.values()):
    for _stem in _stems:
        (_UNIT_OF_PREFIX if len(_stem) >= 3 else _UNIT_OF_SHORT_WORD).setdefault(_stem, _order)
_LONGEST_UNIT_STEM = max(map(len, _UNIT_OF_PREFIX))


@lru_cache(maxsize=1 << 16)
def _unit_of_word(word: str) -> str | None:
    # Cached: the same words follow numbers again and again.
    orders = [order for size in range(3, min(len(word), _LONGEST_UNIT_STEM) + 1)
              if (order := _UNIT_OF_PREFIX.get(word[:size])) is not None]
    if (order := _UNIT_OF_SHORT_WORD.get(word)) is not None:
        orders.append(order)
    return _UNITS[min(orders)] if orders else None


def _format_value(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"
