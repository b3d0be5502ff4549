"""Article extraction: trafilatura for the text, publisher metadata and the feed entry for title/authors/dates."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urljoin, urlsplit

from lxml.etree import ElementDefaultClassLookup
from lxml.html import HtmlComment, HtmlElement, HtmlEntity, HTMLParser, HtmlProcessingInstruction, fromstring

from newsmon.core.outcomes import ExtractionFailure
from newsmon.core.records import Extracted, FeedEntry
from newsmon.core.text import (
    MAX_SITE_NAME_CHARS,
    clean_name,
    clean_names,
    clean_summary,
    clean_title,
    compose_accents,
    drop_invisible,
    strip_controls,
)
from newsmon.ingest.extract_chunks import recover_split_body
from newsmon.ingest.extract_clean import clean_text
from newsmon.ingest.extract_dates import day_is_printed, publisher_local_day
from newsmon.ingest.extract_input import InputRejected, html_text_from_input
from newsmon.ingest.extract_meta import clean_authors, normalise_language, parse_local_datetime, read_page_meta
from newsmon.ingest.markup_scan import MarkupLimits, scan_page

if TYPE_CHECKING:  # trafilatura is imported on first use (_libraries)
    from trafilatura.settings import Extractor

log = logging.getLogger("newsmon.extract")

# trafilatura logs every discarded page at WARNING; our skips are counted and reported instead.
logging.getLogger("trafilatura").setLevel(logging.ERROR)
logging.getLogger("htmldate").setLevel(logging.ERROR)

# htmldate's extensive search (our last resort for pages that state no date) hands free-text date
# expressions its own parsers cannot read ("15 августа 2016, 13:43") to dateparser, set up for all of
# dateparser's ~200 locales, so each string is tried in every language: up to 0.4 s per page. A page
# writes its dates in its own language, so the parser gets that language and English (or, when the
# page's language is unknown, the languages of the monitored and major European outlets): the same
# strings then parse in milliseconds. htmldate looks the parser up through this module-level function
# on every call, and the page's language reaches it through a context variable.
DATE_PARSER_HOOK = "get_external_parser"  # the htmldate.extractors function we replace
DATEPARSER_LANGUAGES = ("en", "lt", "ru", "be", "uk", "pl", "lv", "et", "de", "fr", "es", "it", "pt", "nl", "fi", "sv", "cs")
_page_language: ContextVar[str | None] = ContextVar("newsmon_page_language", default=None)


@cache
def _date_parser_for(language: str | None):  # dateparser is imported only when first needed
    from dateparser import DateDataParser

    if language in DATEPARSER_LANGUAGES:
        languages = list(dict.fromkeys([language, "en"]))
    else:
        languages = list(DATEPARSER_LANGUAGES)
    return DateDataParser(
        languages=languages,
        settings={  # htmldate 1.11's own settings
            "NORMALIZE": True,
            "PARSERS": ["custom-formats", "absolute-time"],
            "PREFER_DATES_FROM": "past",
            "PREFER_LOCALE_DATE_ORDER": True,
            "RETURN_AS_TIMEZONE_AWARE": False,
            "STRICT_PARSING": True,
        },
    )


def _free_text_date_parser():
    return _date_parser_for(_page_language.get())


# trafilatura's balanced mode compares its own extraction with readability's on every page (and with
# justext's when the own one looks unclean or short), which is a sixth of our CPU per page; on 717 of the
# 745 comparisons over the evaluation corpus the own extraction was kept. The comparison can only replace
# an extraction that is short, empty, unclean, without paragraph text, table-dominated or much shorter than
# the page's own text, so it is run only when one of those holds (_comparison_may_change). Only for our
# options (_options_class): any other caller of trafilatura in the process gets its full comparison.
# The gate wraps the step that calls the comparison rather than the comparison itself: that step copies the
# whole page tree for the comparison before calling it, which is 0.7 ms per page that a skipped comparison
# does not need.
COMPARISON_HOOK = "_extract_and_compare"  # the trafilatura.core name we wrap (cascade stages 1 and 2)
# An extraction shorter than this (chars) always gets the comparison: short texts are where readability
# most often finds the real body (a teaser or a lead paragraph kept by the own extractor).
CONFIDENT_MIN_CHARS = 500
# ... and so does one that holds less than this share of the page's <p> text (readability then tends to
# find text the own extractor missed). Tuned on scrapinghub-aeb and fundus-testdata: 0.6 and 500 are the
# round values at which no page whose result the comparison changes is left out (docs/extraction.md).
CONFIDENT_PAGE_SHARE = 0.6


class _Libraries(NamedTuple):
    trafilatura: ModuleType
    utils: ModuleType  # trafilatura.utils: load_html's repair and parse helpers
    find_date: Callable[..., str | None]  # htmldate's
    options: Extractor  # our options for every page


@cache
def _libraries() -> _Libraries:
    """trafilatura and htmldate, imported on the first extraction: the two take about 0.15 s to import, which
    the CLI's start-up and every command that extracts nothing need not pay. htmldate gets our date parser
    here, before any of our calls can reach it, and trafilatura's options are built once."""
    import htmldate.extractors
    import trafilatura
    import trafilatura.core
    import trafilatura.utils

    _gate_the_comparison(trafilatura.core)
    if hasattr(htmldate.extractors, DATE_PARSER_HOOK):
        setattr(htmldate.extractors, DATE_PARSER_HOOK, _free_text_date_parser)
    else:  # tests/test_extract_dates.py fails on this; in production extraction goes on, only slower
        log.warning("htmldate %s has no extractors.%s: free-text dates are tried in all dateparser locales (slow)",
                    getattr(htmldate, "__version__", "?"), DATE_PARSER_HOOK)
    return _Libraries(trafilatura, trafilatura.utils, htmldate.find_date, _trafilatura_options())


def _gate_the_comparison(core: ModuleType) -> None:
    """Wrap trafilatura's extract-then-compare step so that our pages skip the comparison (and the tree copy
    made for it) when it cannot change their result (see COMPARISON_HOOK); once per process."""
    step = getattr(core, COMPARISON_HOOK, None)
    extract_content, compare = getattr(core, "extract_content", None), getattr(core, "compare_extraction", None)
    if step is None or extract_content is None or compare is None:
        # tests/test_extract_passes.py fails on this; extraction goes on, only slower
        log.warning("trafilatura %s has no core.%s: every page gets the full readability comparison",
                    getattr(sys.modules.get("trafilatura"), "__version__", "?"), COMPARISON_HOOK)
        return
    if getattr(step, "newsmon_gated", False):
        return
    from trafilatura.external import SANITIZED_XPATH

    def gated(cleaned_tree, cleaned_tree_backup, tree, options):
        if not isinstance(options, _options_class()):
            return step(cleaned_tree, cleaned_tree_backup, tree, options)
        # trafilatura's own step, line for line, with the comparison behind the gate
        body, text = extract_content(cleaned_tree, options)
        if not options.fast and _comparison_may_change(tree, body, text, options, SANITIZED_XPATH):
            body, text = compare(cleaned_tree_backup, copy(tree), body, text, options)
        return body, text

    gated.newsmon_gated = True
    setattr(core, COMPARISON_HOOK, gated)


def warm_fallbacks() -> None:
    """Load what trafilatura's justext fallback builds on its first use: the stoplists of every language
    (0.08 s of CPU). The extraction pool's forkserver calls this once before it forks, so that no worker
    pays it again on its first doubtful page; elsewhere it is left to the first page that needs it."""
    _libraries()
    import trafilatura.external

    if getattr(trafilatura.external, "JT_STOPLIST", "absent") is None:
        trafilatura.external.jt_stoplist_init()


def _comparison_may_change(raw_tree: HtmlElement, body, text: str, options: Extractor, sanitized_xpath: str) -> bool:
    """Whether trafilatura's comparison could replace the own extraction `body`/`text` of this page.

    Its rules (trafilatura.external.compare_extraction): justext is consulted when the text is short or
    the body holds unclean elements; readability wins when the own text is empty, has no paragraph text,
    is table-dominated, or is less than half of readability's. The last one is only known after running
    readability, so the page's <p> text stands in for it."""
    if options.focus != "balanced" or len(text) < max(CONFIDENT_MIN_CHARS, options.min_extracted_size):
        return True
    if body.xpath(sanitized_xpath) or not body.xpath(".//p//text()"):
        return True
    if len(body.findall(".//table")) > len(body.findall(".//p")):
        return True
    page_paragraph_chars = sum(len(p.text_content()) for p in raw_tree.iter("p"))
    return len(text) < CONFIDENT_PAGE_SHARE * page_paragraph_chars


@cache
def _options_class() -> type[Extractor]:
    from trafilatura.settings import Extractor

    class NewsmonOptions(Extractor):
        """trafilatura's options, as our pages get them: the comparison gate applies to these only."""

        __slots__ = ()

    return NewsmonOptions


def _trafilatura_options() -> Extractor:
    """What we ask of trafilatura, for every page: the main text as Python objects, without comments.

    Balanced mode only. trafilatura escalates a short result to recall mode itself (with a justext
    candidate beside it); a second recall pass of our own on top of that changed 2 of the 711 corpus pages,
    both for the worse, and cost a second extraction on 3 % of pages (docs/extraction.md)."""
    return _options_class()(
        output_format="python",
        comments=False,
        tables=_TABLES,
        images=False,  # also drops <figcaption>: captions describe the photo, not the story
        links=False,
        with_metadata=False,
    )


def _options_for(url: str) -> Extractor:
    """Our options for one page: the page's URL is the only field that differs between calls."""
    options = copy(_libraries().options)
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")  # as Extractor(url=...) sets it
    return options


# Below this many characters the "article" is a teaser, a paywall stub or an error page.
MIN_TEXT_CHARS = 120
# The largest of 711 real pages in the evaluation corpus has under 10,000 elements; trafilatura's time
# grows with element count (600,000 flat divs take ~40 s), so pages beyond 3x that are refused.
MAX_ELEMENTS = 30_000
# libxml2 checks each attribute against the element's earlier ones, so one element with 40,000 attributes
# takes lxml 9.3 s, inside one C call that nothing can interrupt. Pages are therefore measured before
# lxml sees them (ingest/markup_scan.py, a linear scan that reads tags as lxml's HTML5 tokenizer does).
# Over the 711 corpus pages the maxima are 19,424 tags, 99 attributes on one element and 64,629 attribute
# pairs (the sum of each element's attribute count squared); the limits leave 6x, 10x and 30x of room,
# and at them lxml's quadratic work stays under 5 ms.
PAGE_MARKUP_LIMITS = MarkupLimits(max_tags=4 * MAX_ELEMENTS, max_attributes=1000, max_attribute_pairs=2_000_000)
# Deeply nested markup needs no check of ours: libxml2 (without huge_tree, as trafilatura parses) stops
# nesting at 255 levels, well inside Python's recursion limit; a RecursionError is still caught as a skip.

# Reader-comment widgets of the commenting systems common on Lithuanian, Russian-language and
# international portals (own markup, Disqus, Facebook, VK, Cackle, HyperComments, Tolstoy, Coral,
# Commento, Remark42, Livefyre, Viafoura, OpenWeb/Spot.IM, WordPress), plus "komentarai"/"комментарии".
_COMMENT_MARKERS = (
    "comment",
    "komentar",
    "коммент",
    "disqus",
    "fb-comments",
    "vk_comments",
    "mc-container",
    "cackle",
    "hypercomments",
    "hc_",
    "tolstoycomments",
    "tolstoy-comments",
    "coral",
    "commento",
    "remark42",
    "livefyre",
    "viafoura",
    "spot-im",
    "spotim",
    "openweb",
    "respond",
    "reply",
    "discussion",
    "forum-posts",
)
_COMMENT_TAGS = frozenset({"div", "section", "aside", "ol", "ul", "form", "iframe", "footer", "article", "li"})
_COMMENT_RE = re.compile("|".join(re.escape(m) for m in _COMMENT_MARKERS))
_COMMENT_ATTRS = frozenset({"data-spotim-module", "data-coral", "data-hypercomments"})
_ID_AND_CLASS = frozenset({"id", "class"})


# Containers whose id/class mentions comments but which hold the article on some CMSs
# ("comment" columns of opinion sections, "commentary").
_COMMENT_FALSE_POSITIVES = (
    "commentary",
    "commentaire",
    "no-comments",
    "comment-count",
    "comments-count",
    "commentcount",
    "live-match-comment",  # a journalist's live commentary is the article
    "live-comment",
    "livecomment",
)


# Tables stay: trafilatura-eval shows real article tables lost without them; the benchmarks' data boxes
# (tickers, name lists) cost less than that (measured in bench/eval_extraction.py, see docs/extraction.md).
_TABLES = True


class ExtractionSkip(Exception):
    """A page with no extractable article: counted by the pipeline as a skip with this reason.

    `category` is the stable kind (an ExtractionFailure: skip counters count it, so they do not fragment);
    `reason` its short wording ("no main text", "binary content: PDF document" …) and `detail` the
    numbers for this page.
    """

    def __init__(self, url: str, reason: str, detail: str = "", *,
                 category: ExtractionFailure = ExtractionFailure.OTHER) -> None:
        suffix = f" ({detail})" if detail else ""
        super().__init__(f"no article extracted from {url}: {reason}{suffix}")
        self.url = url
        self.reason = reason
        self.detail = detail
        self.category = category


def _is_comment_block(node: HtmlElement) -> bool:
    marker = f"{node.get('id', '')} {node.get('class', '')}".lower()
    if any(fp in marker for fp in _COMMENT_FALSE_POSITIVES):
        return False
    # Never drop the element that wraps the whole article body.
    return node.tag not in {"body", "html", "main"}


def _looks_like_comments(node: HtmlElement) -> bool:
    # Runs on every container of every page: attribute names come as one list, and the common element
    # with only an id and/or class is settled by the one regular-expression search.
    names = node.keys()
    if not names or node.tag not in _COMMENT_TAGS:
        return False
    get = node.get
    if _COMMENT_RE.search(f"{get('id', '')} {get('class', '')}".lower()):
        return True
    if _ID_AND_CLASS.issuperset(names):
        return False
    if not _COMMENT_ATTRS.isdisjoint(names) or get("itemprop") == "comment":
        return True
    return "schema.org/Comment" in get("itemtype", "") or "disqus.com" in get("src", "")


def prune_comment_sections(tree: HtmlElement) -> int:
    """Remove reader-comment widgets from the tree in place; returns how many blocks were removed."""
    # iter() with a tag list filters in C (an XPath over id/class substrings measured slower in libxml2).
    candidates = [node for node in tree.iter(*_COMMENT_TAGS) if _looks_like_comments(node)]
    if not candidates:
        return 0
    total_paragraphs = sum(1 for _ in tree.iter("p"))
    removed = 0
    for node in candidates:
        if node.getparent() is None or not _is_comment_block(node):
            continue
        # A block that holds most of the page's paragraphs is the article itself, not its comments.
        if total_paragraphs > 5 and sum(1 for _ in node.iter("p")) > 0.6 * total_paragraphs:
            continue
        node.drop_tree()
        removed += 1
    return removed


def _unwrap_embedded_posts(tree: HtmlElement) -> None:
    # Embedded X/Twitter and Telegram posts are quotes the story is built on (an official's statement);
    # trafilatura drops them as social widgets, so they become plain blockquotes first.
    for node in tree.iter("blockquote"):
        marker = (node.get("class") or "").lower()
        if "twitter-tweet" in marker or "telegram-post" in marker or "x-post" in marker:
            node.attrib.pop("class", None)


def _absolute(url: str, href: str | None) -> str | None:
    if not href:
        return None
    absolute = urljoin(url, href.strip())
    return absolute if urlsplit(absolute).scheme in {"http", "https"} else None


def _title_candidates(tree: HtmlElement, meta_title: str | None) -> list[str]:
    titles = [meta_title] if meta_title else []
    for path in (".//h1", ".//title"):
        node = tree.find(path)
        if node is not None:
            text = " ".join(node.text_content().split())
            if text:
                titles.append(text)
    return titles


def _refuse_costly_markup(text: str, url: str) -> None:
    """Raise ExtractionSkip when lxml would spend unbounded time on this (repaired) page's markup."""
    scan = scan_page(text, PAGE_MARKUP_LIMITS)
    if scan.over_limit is None:
        return
    if scan.over_limit_kind == "tags":
        reason, category = "too many elements", ExtractionFailure.TOO_MANY_ELEMENTS
    else:
        reason, category = "too many attributes", ExtractionFailure.TOO_MANY_ATTRIBUTES
    raise ExtractionSkip(url, reason, f"{scan.over_limit}, found before parsing", category=category)


def _repair(text: str) -> tuple[str, bool]:
    """(repaired text, dubious): the first half of trafilatura's load_html, for a str.

    load_html repairs the text (control characters dropped, a self-closed <html/> opened), then parses
    it. It is split here, with trafilatura's own helpers in its order, so that the markup scan reads
    exactly what lxml parses and the repair (a pass over the whole page) is done once.
    """
    beginning = text[:50].lower()
    utils = _libraries().utils
    return utils.repair_faulty_html(text, beginning), utils.is_dubious_html(beginning)


@cache
def _html_parser() -> HTMLParser:
    """trafilatura's HTML parser (utils.HTML_PARSER, same options), with lxml's element-class lookup in C.

    lxml.html's own lookup is a Python method that runs each time Python touches an element of the tree,
    over a million times on the 711 corpus pages; about 0.8 ms of CPU per page. It gives form fields
    (<input>, <select>, <textarea>, <label>, <form>) classes of their own, whose helpers neither we nor
    trafilatura, htmldate and justext use: every element is an HtmlElement here, the text is the same."""
    parser = HTMLParser(collect_ids=False, default_doctype=False, encoding="utf-8", remove_comments=True,
                        remove_pis=True)
    parser.set_element_class_lookup(ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction, entity=HtmlEntity))
    return parser


def _parse_repaired(repaired: str, dubious: bool) -> HtmlElement | None:
    """The second half of load_html: lxml on the repaired text, retried on its bytes."""
    utils = _libraries().utils
    retried = False
    try:
        tree = fromstring(repaired, parser=_html_parser())
    except ValueError:  # "Unicode strings with encoding declaration are not supported"
        tree, retried = utils.fromstring_bytes(repaired), True
    except Exception:  # as in load_html: any other lxml failure on the str is retried on its bytes below
        tree = None
    if (tree is None or len(tree) < 1) and not retried:
        tree = utils.fromstring_bytes(repaired)
    if tree is not None and dubious and len(tree) < 2:  # not (well-formed) HTML at all
        return None
    return tree


def _parse(text: str, url: str) -> HtmlElement:
    repaired, dubious = _repair(text)
    _refuse_costly_markup(repaired, url)
    tree = _parse_repaired(repaired, dubious)  # lxml's errors end there as None
    if tree is None:
        raise ExtractionSkip(url, "unparseable HTML", category=ExtractionFailure.UNPARSEABLE_HTML)
    elements = int(tree.xpath("count(//*)"))
    if elements > MAX_ELEMENTS:
        raise ExtractionSkip(url, "too many elements", f"{elements} elements, limit {MAX_ELEMENTS}",
                            category=ExtractionFailure.TOO_MANY_ELEMENTS)
    return tree


def _main_text(tree: HtmlElement, url: str) -> str:
    try:
        document = _libraries().trafilatura.bare_extraction(tree, url=url, options=_options_for(url))
    except RecursionError as err:
        raise ExtractionSkip(url, "markup too deeply nested to extract",
                            category=ExtractionFailure.TOO_DEEPLY_NESTED) from err
    return (document.text or "").strip() if document is not None else ""


def _htmldate(tree: HtmlElement, url: str, now: datetime, *, extensive: bool = False) -> datetime | None:
    # htmldate only yields a calendar day: midnight of that day, with no zone stated.
    try:
        found = _libraries().find_date(
            tree,
            url=url or None,
            original_date=True,
            extensive_search=extensive,  # free text and copyright lines: see _date_read_from_page
            outputformat="%Y-%m-%d",
            max_date=now.strftime("%Y-%m-%d"),
        )
    except (ValueError, RecursionError):
        return None
    return parse_local_datetime(found, now=now)


def _date_read_from_page(
    tree: HtmlElement, html: str, url: str, now: datetime, language: str | None = None
) -> datetime | None:
    """htmldate's day for a page without structured or feed dates; None rather than a guess.

    The fast search reads the URL, <time>, meta and date lines. A 1 January is usually a copyright year
    read as a date, so it counts only when the page prints that full day. When the fast search finds
    nothing, the extensive search (free text, copyright lines) gets a look, and its day counts only when
    the page prints it in full: a copyright year or a number that merely looks like a date never becomes
    a publication date.
    """
    found = _htmldate(tree, url, now)
    if found is not None:
        if (found.month, found.day) == (1, 1) and not day_is_printed(html, found.date()):
            return None
        return found
    token = _page_language.set(language)
    try:
        found = _htmldate(tree, url, now, extensive=True)
    finally:
        _page_language.reset(token)
    if found is not None and not day_is_printed(html, found.date()):
        return None
    return found


@dataclass(frozen=True)
class ExtractionReport:
    """How the result was reached: for the evaluation script and `newsmon extract --json`, not for storage."""

    published_source: str | None
    published_local_day: date | None
    comment_blocks_removed: int


def extract_with_report(
    html: bytes | str,
    url: str,
    *,
    entry: FeedEntry | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[Extracted, ExtractionReport]:
    """extract_article plus a report of where the date came from and what was pruned."""
    try:
        text = html_text_from_input(html, headers)
    except InputRejected as err:
        raise ExtractionSkip(url, err.reason, err.detail, category=err.category) from err
    tree = _parse(text, url)
    now = datetime.now(UTC)
    meta = read_page_meta(tree, url or None, now=now)
    comment_blocks = prune_comment_sections(tree)
    _unwrap_embedded_posts(tree)
    # NFC before the line clean-up, whose phrases ("Skaitykite taip pat") are written with composed letters.
    raw_text = compose_accents(recover_split_body(tree, _main_text(tree, url)))
    # trafilatura already drops invisible characters; recovered chunks come straight from the tree.
    body = drop_invisible(strip_controls(clean_text(raw_text, _title_candidates(tree, meta.title))))
    if len(body) < MIN_TEXT_CHARS:
        raise ExtractionSkip(url, "no main text", f"{len(body)} characters extracted, minimum {MIN_TEXT_CHARS}",
                            category=ExtractionFailure.NO_MAIN_TEXT)

    # Order of trust for the publication date: what the publisher states in structured markup, then the
    # feed entry, then htmldate's reading of the page (URL, <time>, visible date lines); never the clock.
    published_local, source = meta.published_at, meta.published_source
    if published_local is None and entry is not None and entry.published_at is not None:
        published_local, source = entry.published_at, "feed"
    if published_local is None:
        published_local = _date_read_from_page(tree, text, url, now, meta.language)
        source = "htmldate" if published_local is not None else None
    published_at = published_local.astimezone(UTC) if published_local is not None else None
    local_day = published_local.date() if published_local is not None else None
    if published_local is not None and source not in {"feed", "htmldate"}:
        local_day = publisher_local_day(published_local, text, url)
    modified_at = meta.modified_at or (entry.updated_at if entry is not None else None)
    if modified_at is not None and published_at is not None and modified_at < published_at:
        modified_at = None

    title = meta.title or (entry.title if entry is not None else None)
    if not title:
        node = tree.find(".//title")
        title = " ".join((node.text_content() if node is not None else "").split()) or None
    authors = meta.authors or clean_authors(entry.authors if entry is not None else ())
    language = meta.language or normalise_language(entry.language if entry is not None else None)
    extracted = Extracted(
        title=clean_title(title),
        text=body,
        authors=clean_names(authors),
        published_at=published_at,
        modified_at=modified_at.astimezone(UTC) if modified_at is not None else None,
        language=language,
        canonical_url=_absolute(url, meta.canonical_url),
        site_name=clean_name(meta.site_name, MAX_SITE_NAME_CHARS),
        image=_absolute(url, meta.image),
        summary=clean_summary(meta.description or (entry.summary if entry is not None else None)),
    )
    report = ExtractionReport(
        published_source=source,
        published_local_day=local_day,
        comment_blocks_removed=comment_blocks,
    )
    return extracted, report


def extract_article(
    html: bytes | str,
    url: str,
    *,
    entry: FeedEntry | None = None,
    headers: Mapping[str, str] | None = None,
) -> Extracted:
    """Extract the article text and metadata from one fetched page (comments always excluded).

    Raises ExtractionSkip(url, reason) for pages that hold no article: empty, binary, not HTML,
    too large, too deeply nested, or without main text.
    """
    return extract_with_report(html, url, entry=entry, headers=headers)[0]


__all__ = ["ExtractionReport", "ExtractionSkip", "extract_article", "extract_with_report", "prune_comment_sections",
           "warm_fallbacks"]
