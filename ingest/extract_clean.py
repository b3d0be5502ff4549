"""Line-level clean-up of extracted text: repeated headline, "read also"/related blocks, share and legal lines."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Longest line we would ever treat as a cross-link or boilerplate; longer lines are prose.
MAX_BOILERPLATE_LINE_CHARS = 220

# "Read also: <headline>" cross-links, in the languages of the monitored outlets and the benchmark sites.
_CROSSLINK_PREFIX_RE = re.compile(
    r"^[\s(\[|•–—-]*(?:"
    r"read more|read also|also read|read next|read the full story|see also|related(?: article| story| stories| articles| coverage| video)?"
    r"|more on this|watch|listen|recommended|editor'?s picks?|don'?t miss"
    r"|(?:taip pat )?skaitykite(?: taip pat)?|susiję(?: straipsniai)?|daugiau skaitykite|dar skaitykite"
    r"|читайте(?: также| еще| ещё)?|также читайте|смотрите(?: также)?|по теме|подробнее|чытайце(?: таксама)?|глядзіце таксама"
    r"|czytaj(?: też| także| więcej| również)?|zobacz(?: też| także| również)?|przeczytaj(?: też| także)?"
    r"|lesen sie (?:auch|mehr)|mehr zum thema|auch interessant|das könnte sie auch interessieren"
    r"|lire aussi|à lire aussi|a lire aussi|lire également|voir aussi"
    r"|leggi anche|leer también|lea también|lee también|leia também|veja também|lees ook|läs också|les også|lue myös"
    r"|lasiet arī|loe ka|читати також|дивіться також"
    r"|lea más|lee más|lea|mire|mira|vea también|ver también|ver más|(?:también )?(?:le|te) puede interesar"
    r"|contenido relacionado|noticias relacionadas|leia mais|saiba mais|veja mais"
    r"|zum weiterlesen|weiterlesen|mehr themen|mehr dazu|dowiedz się więcej|więcej informacji|pour lire la suite|à voir aussi"
    r")\b\s*[:：»>|–—-]",
    re.IGNORECASE,
)
# Headings that introduce a block of links to other stories; the heading and the list after it go.
_RELATED_HEADINGS = {
    "related",
    "related articles",
    "related stories",
    "related news",
    "related content",
    "related coverage",
    "related topics",
    "you may also like",
    "you might also like",
    "you may be interested in",
    "more from",
    "more stories",
    "more news",
    "most read",
    "most popular",
    "trending",
    "trending now",
    "recommended",
    "recommended for you",
    "read more",
    "read next",
    "don't miss",
    "dont miss",
    "also read",
    "see also",
    "top stories",
    "latest news",
    "skaitykite taip pat",
    "taip pat skaitykite",
    "susiję straipsniai",
    "susijusios naujienos",
    "populiariausi",
    "naujausi",
    "daugiau naujienų",
    "читайте также",
    "по теме",
    "похожие новости",
    "похожие материалы",
    "популярное",
    "самое читаемое",
    "главное",
    "последние новости",
    "новости по теме",
    "чытайце таксама",
    "czytaj także",
    "czytaj też",
    "zobacz także",
    "zobacz też",
    "polecane",
    "najczęściej czytane",
    "lesen sie auch",
    "mehr zum thema",
    "das könnte sie auch interessieren",
    "meistgelesen",
    "lire aussi",
    "à lire aussi",
    "sur le même sujet",
    "leggi anche",
    "lee también",
    "lea también",
    "leia também",
    "lees ook",
    "le puede interesar",
    "te puede interesar",
    "también te puede interesar",
    "contenido relacionado",
    "noticias relacionadas",
    "zum weiterlesen",
    "mehr themen",
    "weitere artikel",
    "das könnte sie interessieren",
    "vous aimerez aussi",
    "à voir aussi",
    "veja também",
    "tags",
    "temos",
    "žymės",
    "теги",
    "тэги",
    "tagi",
    "schlagworte",
}
# Sharing prompts, subscription widgets and legal footers: never article text.
_WIDGET_LINE_RE = re.compile(
    r"^(?:"
    r"share (?:this|on|via)\b.*|like this story\?.*share it.*|share\s*$|tweet\s*$|email\s*$|print(?: article)?\s*$"
    r"|order reprints\s*$|(?:copyright\s*)?©.{0,120}$|copyright \d{4}.{0,120}$|all rights reserved\.?\s*$"
    r"|thanks? (?:you )?for signing up!?\s*$|sign up for .{0,80}newsletter.{0,40}$|subscribe to .{0,60}newsletters?.{0,40}$"
    r"|(?:dalintis|pasidalinti|поделиться|udostępnij|teilen)\s*:?\s*$"
    r"|advertisement\s*$|reklama\s*$|реклама\s*$|anzeige\s*$|publicité\s*$"
    r"|(?:\d+\s+)?(?:comments?|komentarai|komentarų|комментари[йи]|komentarze|kommentare)\s*(?:\(\d+\))?\s*$"
    r"|tell us what you think.{0,20}$|leave a (?:comment|reply).{0,40}$|post a comment.{0,20}$"
    r"|.{0,80}\b(?:newsletters?|naujienlaiš\w*|рассылк\w*)\b.{0,80}$"
    r"|.{0,60}\b(?:click here to subscribe|subscribe (?:now|today|here)|sign up (?:now|here|today))\b.{0,80}$"
    r"|follow (?:us|\w+(?: \w+)?) on (?:twitter|facebook|instagram|telegram|x)\b.{0,120}$"
    r"|(?:síguenos|siguenos|siga-nos|folgen sie uns|folge uns|suivez-nous|sekite mus|obserwuj nas)\b.{0,160}$"
    r"|.{0,80}\b(?:to (?:view|read|continue reading) (?:the full|this) (?:story|article)|already a subscriber"
    r"|pour lire la suite|pour accéder en illimité|jetzt abonnieren|abonnez-vous|suscríbete|hazte miembro"
    r"|subscription today|our standards|keep an eye on your inbox)\b.{0,120}$"
    r"|also on [\w-]+\.[a-z]{2,}\s.{0,200}$"
    r"|.{0,80}\b(?:visos teisės saugomos|все права защищены|wszelkie prawa zastrzeżone|materiał chroniony prawem"
    r"|alle rechte vorbehalten|todos los derechos reservados|tous droits réservés|tutti i diritti riservati)\b.{0,120}$"
    r"|.{0,40}\b(?:bloggers? like this|bloggern gefällt das)\b.{0,20}$"
    r"|.{0,40}\berror processing your\b.{0,60}$"
    r"|.{0,120}\b(?:coment\w*|comment\w*|komentar\w*|комментар\w*)\b.{0,120}\b(?:moderat\w*|moderad\w*|approv\w*|aprovad\w*"
    r"|patvirtin\w*|одобр\w*)\b.{0,120}$"
    r")",
    re.IGNORECASE,
)
# Photo credits and caption bylines that survive as their own lines.
_CREDIT_LINE_RE = re.compile(
    r"^(?:photo|image|picture|credit|photograph|foto|nuotr\.?|nuotrauka|фото|fot\.|zdjęcie|bild|crédits? photos?"
    r"|créditos?(?: de)? (?:foto|imagen))\s*(?:credit)?\s*[:：©].{0,160}$",
    re.IGNORECASE,
)
# "Jane Doe is a senior editor at ...": the author box that closes (or opens) many English-language articles.
_AUTHOR_BIO_RE = re.compile(
    r"^(?:[A-Z][\w'’.-]+\s){1,3}(?:is|was|has been)\s(?:a|an|the)\s[^.]{0,120}?"
    r"\b(?:editor|writer|reporter|correspondent|journalist|columnist|contributor|author|producer|analyst|intern)s?\b"
)
_EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")
# Headings such as "More from The Nation" or "Daugiau iš LRT": a related-heading phrase plus a short name.
_RELATED_PREFIX_RE = re.compile(
    r"^(?:more from|more in|more on|more about|daugiau iš|daugiau apie|ещё из|больше о|więcej z|więcej o|mehr aus"
    r"|mehr zum thema|mehr themen|top-themen|más sobre|plus de)\b",
    re.IGNORECASE,
)
_LIST_ITEM_RE = re.compile(r"^\s*(?:[-•*–]|\d{1,2}[.)])\s+")
_SENTENCE_END_RE = re.compile(r"[.!?…:;\"”»]\s*$")
_DATE_TOKEN_RE = re.compile(r"\b(?:1[89]|20)\d{2}\b|\b\d{1,2}[:.]\d{2}\b|\b\d{1,2}[./-]\d{1,2}[./-]\d{2,4}\b")
# Words that accompany a date stamp: months, weekdays, "updated/published", am/pm, in the outlets' languages.
_DATE_WORDS_RE = re.compile(
    r"(?i)\b(?:updated?|published|posted|last|modified|on|at|am|pm|a\.m|p\.m|gmt|utc|cet|eet|est|edt|bst|"
    r"jan\w*|feb\w*|mar\w*|apr\w*|may|jun\w*|jul\w*|aug\w*|sep\w*|oct\w*|nov\w*|dec\w*|"
    r"mon\w*|tue\w*|wed\w*|thu\w*|fri\w*|sat\w*|sun\w*|"
    r"atnaujinta|paskelbta|sausio|vasario|kovo|balandžio|gegužės|birželio|liepos|rugpjūčio|rugsėjo|spalio|lapkričio|gruodžio|"
    r"обновлено|опубликовано|января|февраля|марта|апреля|мая|июня|июля|августа|сентября|октября|ноября|декабря|"
    r"de|às|um|uhr|le|à|il|del|m|d|г|в)\b\.?"
)
_PUNCT_RE = re.compile(r"[\W_]+", re.UNICODE)


def _norm(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold()
    return _PUNCT_RE.sub(" ", text).strip()


def _is_title_line(line: str, titles: list[str]) -> bool:
    got = _norm(line)
    if not got:
        return False
    for title in titles:
        # Page titles often carry " | Site" or " - Section": the headline line is the title's prefix.
        if got == title or (len(got) >= 20 and title.startswith(got) and len(got) >= 0.5 * len(title)):
            return True
    return False


def drop_leading_title(lines: list[str], titles: Iterable[str | None]) -> list[str]:
    """Remove the headline that trafilatura repeats at the top of the text (the title is its own field)."""
    wanted = [_norm(t) for t in titles if t and _norm(t)]
    if not wanted:
        return lines
    for index, line in enumerate(lines[:3]):
        if _is_title_line(line, wanted):
            return lines[:index] + lines[index + 1 :]
    return lines


def _is_keyword_list(line: str) -> bool:
    # "border, Belarus, migrants, Medininkai": a tag list, not a sentence.
    items = [item.strip() for item in line.split(",")]
    return len(items) >= 3 and not _SENTENCE_END_RE.search(line) and all(0 < len(item.split()) <= 6 for item in items)


def _is_shouted_crosslink(line: str) -> bool:
    # Inline cross-links set in capitals ("CLICK HERE TO GET THE FOX NEWS APP", "MAN ARRESTED AFTER ...");
    # capitalised subheads are shorter or end in a question, and caseless scripts never match.
    if len(line) < 40 or line.upper() != line or len(line.split()) < 9:
        return False
    cased = [ch for ch in line if ch.lower() != ch.upper()]
    return (
        len(line.split()) >= 9
        and len(cased) >= 25
        and all(ch.isupper() for ch in cased)
        and not line.rstrip().endswith("?")
    )


def _is_contact_or_bio(line: str) -> bool:
    stripped = line.strip()
    return len(stripped) <= 500 and bool(_EMAIL_RE.search(stripped) or _AUTHOR_BIO_RE.match(stripped))


def drop_trailing_contact_lines(lines: list[str]) -> list[str]:
    """Drop author boxes and contact lines ("Send tips to x@y.com", "X is a reporter at ...") at either end."""
    end = len(lines)
    while end > 0 and (not lines[end - 1].strip() or (_is_contact_or_bio(lines[end - 1]) and len(lines) - end < 3)):
        end -= 1
    start = 0
    while start < min(end, 2) and _AUTHOR_BIO_RE.match(lines[start].strip()) and len(lines[start]) <= 500:
        start += 1
    return lines[start:end]


def drop_boilerplate_lines(lines: list[str]) -> tuple[list[str], int]:
    """Remove cross-link lines, related-story blocks and widget/legal lines; returns (kept, removed count)."""
    kept: list[str] = []
    removed = 0
    in_related_block = False
    for line in lines:
        stripped = line.strip()
        short = len(stripped) <= MAX_BOILERPLATE_LINE_CHARS
        # After a "related" heading, links to other stories follow: list items or short unpunctuated headlines.
        if in_related_block and (
            not stripped
            or _LIST_ITEM_RE.match(stripped)
            or (len(stripped) < 150 and not _SENTENCE_END_RE.search(stripped))
            or _is_keyword_list(stripped)
        ):
            removed += 1
            continue
        in_related_block = False
        if short and (_norm(stripped) in _RELATED_HEADINGS or (len(stripped) < 60 and _RELATED_PREFIX_RE.match(stripped))):
            in_related_block = True
            removed += 1
            continue
        unlisted = _LIST_ITEM_RE.sub("", stripped)
        if short and (
            _CROSSLINK_PREFIX_RE.match(unlisted)
            or _WIDGET_LINE_RE.match(unlisted)
            or _CREDIT_LINE_RE.match(unlisted)
            or _is_shouted_crosslink(unlisted)
        ):
            removed += 1
            continue
        kept.append(line)
    return kept, removed


def drop_dateline_lines(lines: list[str]) -> list[str]:
    """Remove short date/byline stamps ("UPDATED: Tue., Nov. 19, 2019", "2025-10-28 10:15") near either end."""
    edge = 3
    keep = []
    for index, line in enumerate(lines):
        near_edge = index < edge or index >= len(lines) - edge
        if near_edge and _is_dateline(line):
            continue
        keep.append(line)
    return keep


def _is_dateline(line: str) -> bool:
    stripped = line.strip()
    if not stripped or len(stripped) > 70 or not _DATE_TOKEN_RE.search(stripped):
        return False
    rest = _DATE_WORDS_RE.sub(" ", _DATE_TOKEN_RE.sub(" ", stripped))
    return len(re.findall(r"[^\W\d_]{2,}", rest)) <= 2


def clean_text(text: str, titles: Iterable[str | None]) -> str:
    """The article text without its repeated headline and without cross-link/widget lines."""
    lines = [line.rstrip() for line in text.splitlines()]
    lines = drop_leading_title(lines, titles)
    lines = drop_dateline_lines(lines)
    lines, _ = drop_boilerplate_lines(lines)
    lines = drop_trailing_contact_lines(lines)
    # Collapse the blank runs the removals leave behind.
    out: list[str] = []
    for line in lines:
        if line.strip() or (out and out[-1].strip()):
            out.append(line)
    return "\n".join(out).strip()
