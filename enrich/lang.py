"""Language of an article: the feed's or page's own declaration when plausible, else py3langid."""

from __future__ import annotations

import re
import threading

from newsmon.enrich.textnorm import normalize_language

# Languages written in Cyrillic. A declared language whose script disagrees with the text (a
# Russian-language edition of a Lithuanian site that still says lang="lt") is not trusted.
CYRILLIC_LANGUAGES = frozenset({"ru", "uk", "be", "bg", "sr", "mk", "kk", "ky", "mn", "tg"})
_CYRILLIC_RE = re.compile(r"[\u0400-\u04ff]")
_LATIN_RE = re.compile(r"[A-Za-z\u00c0-\u024f]")
_SAMPLE_CHARS = 3000  # enough for a stable guess; longer texts only cost time
_MIN_LETTERS = 12  # below this a guess is noise, so the answer is "unknown"
_MIN_PROBABILITY = 0.5

_lock = threading.Lock()
_identifier = None


def _get_identifier():
    global _identifier
    if _identifier is None:
        with _lock:
            if _identifier is None:
                # Loaded on first use, never at import: the DAG parser imports this module.
                from py3langid.langid import MODEL_FILE, LanguageIdentifier

                _identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    return _identifier


def _script(sample: str) -> str | None:
    cyrillic = len(_CYRILLIC_RE.findall(sample))
    latin = len(_LATIN_RE.findall(sample))
    if cyrillic + latin < _MIN_LETTERS:
        return None
    return "cyrillic" if cyrillic > latin else "latin"


def _hint_fits_script(hint: str, script: str | None) -> bool:
    if script is None:
        return True
    return (hint in CYRILLIC_LANGUAGES) == (script == "cyrillic")


def detect_language(text: str, hint: str | None = None) -> str | None:
    """ISO 639-1 code of text. A declared hint (`lt`, `en-GB`) wins unless the text's script contradicts it.

    Returns None when the text is too short or the guess is not confident; never invents a language.
    """
    sample = text[:_SAMPLE_CHARS]
    script = _script(sample)
    code = normalize_language(hint)
    if code is not None and len(code) in (2, 3) and code.isalpha() and _hint_fits_script(code, script):
        return code
    if script is None:
        return None
    language, probability = _get_identifier().classify(sample)
    if probability < _MIN_PROBABILITY:
        return None
    return str(language)
