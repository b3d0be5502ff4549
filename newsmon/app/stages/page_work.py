"""One fetched page → an enriched Article or a counted skip: the work an extraction worker (or the poll task) does."""

from __future__ import annotations

import traceback
from dataclasses import dataclass

from newsmon.core.outcomes import ExtractionFailure, SkipReason
from newsmon.core.records import Article, Extracted, Feed, FeedEntry, Page
from newsmon.core.text import MAX_SITE_NAME_CHARS, clean_name, clean_names, clean_summary, clean_title
from newsmon.enrich.dedup import text_identity
from newsmon.enrich.lang import detect_language
from newsmon.enrich.story_signals import StorySignals, story_signals
from newsmon.enrich.topic import TopicPack, tag
from newsmon.ingest.deadline import CpuDeadlineExceeded, cpu_deadline
from newsmon.ingest.extract import ExtractionSkip, extract_article, warm_fallbacks
from newsmon.ingest.urls import article_id, canonical_url

# The backstop behind the markup scan (ingest/markup_scan.py) for the Python side of processing one page
# (trafilatura's passes, htmldate, dateparser, tagging): a page that needs more CPU time than this is a
# counted skip. The slowest of the 711 corpus pages needs 0.3 s.
PAGE_PROCESSING_CPU_S = 10.0


@dataclass(frozen=True)
class PageJob:
    """A fetched page and where it came from: everything processing needs, and nothing of the state DB."""

    feed: Feed
    entry: FeedEntry
    page: Page


@dataclass(frozen=True)
class PageDone:
    """What processing made of a page: an article (with its MinHash fingerprint and story signals, computed here
    so that the serial cluster step does not), or the skip to count (reason, category, detail)."""

    article: Article | None = None
    signals: StorySignals | None = None
    skip: SkipReason | None = None
    category: ExtractionFailure | None = None
    detail: str = ""
    trace: str | None = None  # the traceback of a library crash, for the task log of the poll task


def process_page(job: PageJob, pack: TopicPack) -> PageDone:
    """Extract and enrich one page. Every problem with the page itself is a PageDone with a skip."""
    where = f"feed {job.feed.id}: {job.page.final_url}"
    try:
        with cpu_deadline(PAGE_PROCESSING_CPU_S):
            extracted = extract_article(job.page.body, job.page.final_url, entry=job.entry, headers=job.page.headers)
            article = enrich(job, extracted, pack)
            signals = story_signals(article.title, article.text)
    except ExtractionSkip as exc:
        return PageDone(skip=SkipReason.EXTRACTION, category=exc.category,
                        detail=f"{where}: {exc.reason} {exc.detail}".strip())
    except CpuDeadlineExceeded as exc:
        return PageDone(skip=SkipReason.PAGE_TOO_SLOW, detail=f"{where}: took {exc} (limit {PAGE_PROCESSING_CPU_S:g} s)")
    except Exception as exc:  # a page that crashes a library is a bad item, not a reason to stop the feed
        return PageDone(skip=SkipReason.PAGE_CRASHED, detail=f"{where}: {type(exc).__name__}; see the task log",
                        trace=traceback.format_exc())
    return PageDone(article=article, signals=signals)


def enrich(job: PageJob, extracted: Extracted, pack: TopicPack) -> Article:
    """The article of an extracted page: canonical identity, cleaned fields, language and topic."""
    feed, entry, page = job.feed, job.entry, job.page
    canonical = canonical_url(page.final_url, page_canonical=extracted.canonical_url)
    # Feed entries reach here without extraction's clean-up of summary and authors; cleaning is idempotent.
    title = clean_title(extracted.title or entry.title) or ""
    language = extracted.language or entry.language or detect_language(f"{title}\n{extracted.text}", hint=feed.language)
    topic = tag(pack, title, extracted.text, language)
    digest, signature = text_identity(extracted.text)
    return Article(
        id=article_id(canonical),
        url=page.final_url,
        canonical_url=canonical,
        source=feed.id,
        source_affiliation=feed.affiliation,
        source_country=feed.country,
        feed_url=feed.url,
        title=title,
        text=extracted.text,
        summary=clean_summary(extracted.summary or entry.summary),
        authors=clean_names(extracted.authors or entry.authors),
        published_at=extracted.published_at or entry.published_at,
        modified_at=extracted.modified_at,
        fetched_at=page.fetched_at,
        language=language,
        site_name=clean_name(extracted.site_name, MAX_SITE_NAME_CHARS),
        image=extracted.image,
        content_hash=digest,
        topic=topic,
        entities=topic.entities,
        fingerprint=signature,
    )


# A page with no date anywhere, in a language the date parser must be set up for: extracting it once takes
# trafilatura, htmldate's extensive search and dateparser through the one-time set-up a worker would
# otherwise pay on its first real pages.
_WARM_UP_PAGE = """<!doctype html><html lang="lt"><head><title>Pasienio punktas</title></head><body>
<nav><a href="/">Pradžia</a> <a href="/naujienos">Naujienos</a></nav><article><h1>Pasienio punktas</h1>
<p>Vilkikų eilė prie Medininkų pasienio kontrolės punkto su Baltarusija ketvirtadienį vėl išaugo, pranešė
Valstybės sienos apsaugos tarnyba. Vairuotojai laukė daugiau nei parą, o Vilniuje kalbėta apie balionus.</p>
<p>Paskelbta rugpjūčio 15 d., 13:43. Vežėjų asociacijos paprašė abiejų šalių vyriausybių susitarti.</p>
</article><footer>Visos teisės saugomos</footer></body></html>"""
_WARM_UP_URL = "https://warm-up.invalid/naujienos/1"


def warm_up(pack: TopicPack | None = None) -> None:
    """Extract (and, given a pack, tag) one built-in page: the libraries' lazy one-time set-up is then done,
    down to justext's stoplists, the public-suffix list of URL canonicalisation (≈ 40 ms that every worker
    would otherwise pay on its first page), the MinHash permutations and the story-signal patterns."""
    extracted = extract_article(_WARM_UP_PAGE.encode(), _WARM_UP_URL)
    warm_fallbacks()
    canonical_url(_WARM_UP_URL, page_canonical=extracted.canonical_url)
    text_identity(extracted.text)
    story_signals(extracted.title or "", extracted.text)
    if pack is not None:
        warm_tagger(pack)


def warm_tagger(pack: TopicPack) -> None:
    """Tag the built-in page's text with the pack: sets up its stemmers (a worker forked from a warm server
    needs only this, not a second extraction)."""
    tag(pack, "Pasienio punktas", _WARM_UP_PAGE, "lt")
