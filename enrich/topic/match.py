"""The term matcher of a topic pack: how a listed word matches inflected tokens, and every term found in a text."""

from __future__ import annotations

import re
from dataclasses import dataclass

from newsmon.enrich.textnorm import fold_aligned, repair_mixed_scripts, stem_dictionary_form

# Longest inflection ending allowed after a stem. Lithuanian locatives (-iuose), Russian adjectives
# (-ского) and Latvian plurals (-ajiem) need up to six letters.
_MAX_ENDING_CHARS = 6
# Shortest ending allowance per language: English adds -s, German -s/-en/-ischen, Russian,
# Ukrainian and Belarusian case endings have up to three letters (-ами, -ого, -імі), Lithuanian,
# Latvian and Polish up to four (-iuose, -ijai, -iego).
_ENDING_FLOOR_CHARS = {"en": 1, "de": 3, "lt": 4, "lv": 4, "pl": 4, "ru": 3, "uk": 3, "be": 3}
# Stems shorter than this are too ambiguous to extend with any ending ("pol", "log").
_MIN_STEM_CHARS = 4
# Between the words of a multi-word term: a space, a hyphen, quotes, "'" — never a line break.
_MAX_GAP_CHARS = 3
WORD_RE = re.compile(r"\w+")
_NEXT_WORD_RE = re.compile(rf"[^\w\n]{{1,{_MAX_GAP_CHARS}}}(\w+)")


@dataclass(frozen=True)
class WordPattern:
    """One word of a term: a folded stem and how many letters of inflection may follow it."""

    prefix: str
    max_ending: int
    exact: bool


@dataclass(frozen=True)
class Term:
    """One surface term of a concept as written in the pack, compiled into word patterns."""

    text: str
    language: str
    words: tuple[WordPattern, ...]
    concept: int  # index into TopicPack.concepts


def compile_word(word: str, language: str, exact: bool) -> WordPattern:
    """The pattern of one listed word: its stem plus an ending allowance, or the word itself when exact."""
    folded = fold_aligned(word)
    if exact:
        return WordPattern(folded, 0, True)
    stemmed = stem_dictionary_form(word, language)
    # A stemmer may rewrite the end of a word (English y→i); keep only the part the word really starts with.
    common = 0
    for a, b in zip(stemmed, folded, strict=False):
        if a != b:
            break
        common += 1
    prefix = folded[:common]
    if len(prefix) < _MIN_STEM_CHARS:
        # Too short to extend freely: the whole word with at most two letters of ending.
        return WordPattern(folded, 2, False)
    # The dictionary form's own ending, two letters more, and at least what the language's case
    # endings need: "Minskas" allows Minsko/Minske/Minskui but not "Minskowski".
    floor = _ENDING_FLOOR_CHARS.get(language, 3)
    own_ending = len(folded) - len(prefix)
    # English barely inflects: one letter past the listed form (balloon → balloons, not Minsk → minskat).
    slack = 1 if language == "en" else 2
    # The cap never cuts below the listed form itself, where a stemmer went deep (ginkluotosios → ginkl).
    max_ending = min(max(_MAX_ENDING_CHARS, own_ending), max(floor, own_ending + slack))
    return WordPattern(prefix, max_ending, False)


class Matcher:
    """Finds every pack term in folded text.

    The text is split at white space in C, and the set of distinct chunks minus the chunks already
    known to hold no term start (also a C-level set operation) leaves a few dozen chunks per article
    for Python to look at. Each chunk's verdict is memoised, so a word is stemmed and compared with
    the pack once per process, not once per article.
    """

    _MEMO_LIMIT = 500_000

    def __init__(self, terms: tuple[Term, ...]) -> None:
        self.terms = terms
        self.index: dict[str, list[tuple[int, WordPattern]]] = {}
        key_lengths: set[int] = set()
        for term_index, term in enumerate(terms):
            first = term.words[0]
            key = first.prefix[:_MIN_STEM_CHARS]
            key_lengths.add(len(key))
            self.index.setdefault(key, []).append((term_index, first))
        self.key_lengths = tuple(sorted(key_lengths))
        self.max_words = max((len(t.words) for t in terms), default=1)
        # chunk → ((offset of a word in the chunk, word, terms it may start), ...)
        self.memo: dict[str, tuple[_ChunkWord, ...]] = {}
        self.no_match: set[str] = set()
        self.phrase_memo: dict[tuple[str, ...], tuple[tuple[int, int], ...]] = {}

    @staticmethod
    def word_matches(word: WordPattern, token: str) -> bool:
        if word.exact:
            return token == word.prefix
        return token.startswith(word.prefix) and len(token) - len(word.prefix) <= word.max_ending

    def _first_word_terms(self, token: str) -> tuple[int, ...]:
        found: list[int] = []
        for length in self.key_lengths:
            if len(token) < length:
                break
            for term_index, word in self.index.get(token[:length], ()):
                if self.word_matches(word, token):
                    found.append(term_index)
        return tuple(found)

    def _chunk_words(self, chunk: str) -> tuple[_ChunkWord, ...]:
        words = []
        # Look-alike letters from the other script ("Бeларусь") are repaired here, once per distinct
        # chunk, rather than over every text; offsets do not move.
        for match in WORD_RE.finditer(repair_mixed_scripts(chunk)):
            candidates = self._first_word_terms(match.group())
            if candidates:
                # One hit per concept is enough: "Belarus" is listed in several languages.
                by_concept: dict[int, int] = {}
                for i in candidates:
                    if len(self.terms[i].words) == 1:
                        by_concept.setdefault(self.terms[i].concept, i)
                singles = tuple(by_concept.values())
                phrases = tuple(i for i in candidates if len(self.terms[i].words) > 1)
                longest = max((len(self.terms[i].words) for i in phrases), default=1)
                words.append(_ChunkWord(match.start(), match.group(), singles, phrases, longest - 1))
        return tuple(words)

    def _phrases_after(self, word: _ChunkWord, following: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
        """(term index, number of words) of the multi-word terms that word and the following words complete."""
        key = (word.token, *following)
        found = self.phrase_memo.get(key)
        if found is None:
            matched: list[tuple[int, int]] = []
            for term_index in word.phrases:
                rest = self.terms[term_index].words[1:]
                if len(rest) <= len(following) and all(
                    self.word_matches(pattern, token) for pattern, token in zip(rest, following, strict=False)
                ):
                    matched.append((term_index, len(rest) + 1))
            found = self.phrase_memo[key] = tuple(matched)
        return found

    def find(self, folded: str) -> list[tuple[int, int, int]]:
        """(term index, start, end) for every term occurrence in folded text (unordered)."""
        memo, no_match = self.memo, self.no_match
        if len(memo) + len(no_match) + len(self.phrase_memo) > self._MEMO_LIMIT:
            memo.clear()
            no_match.clear()
            self.phrase_memo.clear()
        hits: list[tuple[int, int, int]] = []
        for chunk in set(folded.split()) - no_match:
            words = memo.get(chunk)
            if words is None:
                words = self._chunk_words(chunk)
                if not words:
                    no_match.add(chunk)
                    continue
                memo[chunk] = words
            for chunk_start in _chunk_occurrences(folded, chunk):
                self._hits_at(folded, chunk_start, words, hits)
        return hits

    def _hits_at(self, folded: str, chunk_start: int, words: tuple[_ChunkWord, ...],
                 hits: list[tuple[int, int, int]]) -> None:
        """Append the hits of one occurrence of a chunk (its words, and the phrases they start)."""
        for word in words:
            start = chunk_start + word.offset
            end = start + len(word.token)
            for term_index in word.singles:
                hits.append((term_index, start, end))
            if word.phrases:
                following = _following_words(folded, end, word.max_following)
                phrases = self._phrases_after(word, tuple(token for token, _ in following))
                for term_index, size in phrases:
                    hits.append((term_index, start, following[size - 2][1]))


@dataclass(frozen=True)
class _ChunkWord:
    """A word inside a white-space chunk that may start pack terms."""

    offset: int
    token: str
    singles: tuple[int, ...]  # one-word terms it is
    phrases: tuple[int, ...]  # multi-word terms it may start
    max_following: int  # how many following words the longest of those needs


def _chunk_occurrences(text: str, chunk: str) -> list[int]:
    """Offsets where chunk stands in text as a whole white-space-delimited chunk (as str.split() cut it)."""
    found: list[int] = []
    size = len(chunk)
    position = text.find(chunk)
    while position != -1:
        end = position + size
        if (position == 0 or text[position - 1].isspace()) and (end == len(text) or text[end].isspace()):
            found.append(position)
        position = text.find(chunk, position + 1)
    return found


def _following_words(text: str, position: int, count: int) -> list[tuple[str, int]]:
    """Up to count (word, end offset) pairs after position, each separated by a short non-break gap."""
    words: list[tuple[str, int]] = []
    while len(words) < count:
        match = _NEXT_WORD_RE.match(text, position)
        if match is None:
            break
        position = match.end()
        words.append((match.group(1), position))
    return words
