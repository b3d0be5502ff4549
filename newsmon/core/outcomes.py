"""Outcome enums with stable string values, and the one vocabulary of counter names every stage returns.

A counter key is always a name from here: a `Count`, a `SkipReason`, or a skip reason with the category
of what failed (`page_fetch_failed.http_404`). Free text (URLs, feed ids, server messages) goes to the
log and to the bounded `examples` list of a stage's counts, never into a key, so counters never
fragment per URL. `python -m newsmon.core.outcomes` prints the table docs/ARCHITECTURE.md carries.
"""

from __future__ import annotations

from enum import StrEnum


class _Described(StrEnum):
    """A StrEnum whose members carry a one-line meaning: `NAME = "value", "meaning"`."""

    meaning: str

    def __new__(cls, value: str, meaning: str = "") -> _Described:
        member = str.__new__(cls, value)
        member._value_ = value
        member.meaning = meaning
        return member


class FetchFailure(_Described):
    """Why a fetch produced no usable response (`FetchError.category`)."""

    INVALID_URL = "invalid_url", "the URL cannot be fetched: malformed, not http(s), no host, or embedded credentials"
    REFUSED_TARGET = "refused_target", "the host resolves only to addresses newsmon never contacts (private, loopback, metadata)"
    ROBOTS_DISALLOWED = "robots_disallowed", "the site's robots.txt disallows the URL for newsmon"
    ROBOTS_UNREACHABLE = "robots_unreachable", "the site's robots.txt could not be read (5xx, network): its pages wait"
    HOST_BACKOFF = "host_backoff", "the host asked to wait (429/503 with Retry-After) earlier this run: not sent"
    DNS = "dns", "the host name does not resolve"
    CONNECT = "connect", "no connection could be made (refused, unreachable)"
    TLS = "tls", "the TLS handshake or the certificate check failed"
    TIMEOUT = "timeout", "no answer within the connect, read or total deadline"
    NETWORK = "network", "the connection broke, or the server spoke broken HTTP"
    HTTP_404 = "http_404", "the server answered 404 Not Found"
    HTTP_410 = "http_410", "the server answered 410 Gone"
    HTTP_429 = "http_429", "the server answered 429 Too Many Requests"
    HTTP_4XX = "http_4xx", "the server answered another 4xx status"
    HTTP_5XX = "http_5xx", "the server answered a 5xx status"
    HTTP_OTHER = "http_other", "a status that is neither success, redirect nor error (1xx, 300, 305 …)"
    BAD_REDIRECT = "bad_redirect", "a redirect without a Location header"
    REDIRECT_LOOP = "redirect_loop", "a redirect back to a URL already visited"
    TOO_MANY_REDIRECTS = "too_many_redirects", "more redirects than NEWSMON_MAX_REDIRECTS"
    BAD_CONTENT_TYPE = "bad_content_type", "a Content-Type that is never a feed or a page (image, PDF, archive …)"
    TOO_LARGE = "too_large", "the body (declared, received or decompressed) exceeds its cap"
    DECOMPRESSION = "decompression", "the Content-Encoding is corrupt, stacked or unsupported"
    OTHER = "other", "a failure raised without a category (a bug: give that raise one)"

    @classmethod
    def for_status(cls, status: int | None) -> FetchFailure:
        """The category of a non-2xx, non-redirect HTTP status."""
        if status is None:
            return cls.OTHER
        named = {404: cls.HTTP_404, 410: cls.HTTP_410, 429: cls.HTTP_429}
        if status in named:
            return named[status]
        if 400 <= status < 500:
            return cls.HTTP_4XX
        if 500 <= status < 600:
            return cls.HTTP_5XX
        return cls.HTTP_OTHER


class FeedFailure(_Described):
    """Why a fetched document is not a usable feed (`FeedParseError.category`)."""

    EMPTY = "empty", "the document is empty"
    CORRUPT_GZIP = "corrupt_gzip", "a gzip-compressed feed that does not unpack"
    TOO_LARGE = "too_large", "the feed unpacks to more than the feed size cap"
    NOT_A_FEED = "not_a_feed", "neither RSS, Atom, RDF nor JSON Feed (an HTML page, invalid JSON, ill-formed XML)"
    NO_ENTRIES = "no_entries", "a feed none of whose entries can be identified"
    TOO_COMPLEX = "too_complex", "its markup passes the parsing limits before the end of the first item"
    TOO_DEEPLY_NESTED = "too_deeply_nested", "nested too deeply to parse"
    TOO_SLOW = "too_slow", "parsing passed its CPU-time deadline"
    PARSER_FAILED = "parser_failed", "the parser raised on this document"


class ExtractionFailure(_Described):
    """Why a page holds no extractable article (`ExtractionSkip.category`)."""

    EMPTY_PAGE = "empty_page", "the page is empty"
    TOO_LARGE = "too_large", "more HTML than the extraction cap"
    CORRUPT_GZIP = "corrupt_gzip", "a gzip-compressed page that does not unpack"
    NOT_HTML = "not_html", "not an HTML page (content type, JSON, no markup)"
    BINARY_CONTENT = "binary_content", "binary content (PDF, image, control bytes) where HTML should be"
    UNPARSEABLE_HTML = "unparseable_html", "lxml cannot parse the page"
    TOO_MANY_ELEMENTS = "too_many_elements", "more elements than the extraction limit"
    TOO_MANY_ATTRIBUTES = "too_many_attributes", "an element with more attributes than the extraction limit"
    TOO_DEEPLY_NESTED = "too_deeply_nested", "markup nested too deeply to extract"
    NO_MAIN_TEXT = "no_main_text", "no article text of the minimum length was found"
    OTHER = "other", "a skip raised without a category (a bug: give that raise one)"


class PollOutcome(_Described):
    """What one poll of one feed came to (`PollResult.outcome`); each is counted once per feed as feeds_<…>."""

    FETCHED = "fetched", "fetched and parsed: its entries were read"
    NOT_MODIFIED = "not_modified", "the server answered 304 Not Modified"
    SAME_BODY = "same_body", "the body is the same as at the last poll (a server ignoring validators)"
    MOVED = "moved", "answered through permanent redirects (301/308): the new URL is stored and polled from now on"
    GONE = "gone", "410 Gone: disabled until feeds.yaml gives the feed a new URL"
    FAILED = "failed", "fetching or parsing failed: the feed backs off"
    DISABLED = "disabled", "disabled in feeds.yaml or by an earlier 410: not fetched"


class EntryOutcome(_Described):
    """What became of one feed entry; stored in seen_entries.outcome (a skip as `skipped:<reason>`)."""

    STAGED = "staged", "extracted, enriched and staged for clustering"
    DUPLICATE = "duplicate", "its canonical URL is stored already"
    SKIPPED = "skipped", "a counted skip, never tried again"
    RETRY = "retry", "its page failed for a passing reason: not marked seen, tried again by the next poll"


class Stage(_Described):
    """The name a stage records in the `runs` table (`newsmon runs` lists them)."""

    PLAN = "plan", "which feeds are due, in host batches"
    POLL = "poll", "one batch of feeds: fetch, parse, fetch pages, extract, enrich, stage"
    INDEX = "index", "cluster staged articles into stories and create them in the search index"
    ALERT = "alert", "match rules against newly indexed articles, deliver instant alerts"
    DIGEST_HOURLY = "digest_hourly", "deliver the hourly digests"
    DIGEST_DAILY = "digest_daily", "deliver the daily digests"
    PRUNE_SEEN_ENTRIES = "prune_seen_entries", "maintenance: forget old feed entry keys"
    PRUNE_SENT_ALERTS = "prune_sent_alerts", "maintenance: delete old sent and dropped alerts"
    PRUNE_LSH_BANDS = "prune_lsh_bands", "maintenance: drop old near-duplicate bands"
    PRUNE_STORY_KEYS = "prune_story_keys", "maintenance: drop the story-candidate keys of old days"
    COUNT_STUCK_ARTICLES = "count_stuck_articles", "maintenance: count articles the search index refused"
    OPTIMIZE_DATABASE = "optimize_database", "maintenance: refresh planner statistics"
    REPORT_FEED_HEALTH = "report_feed_health", "maintenance: send feeds that went silent, fail, moved or are gone to the operator"


class SkipReason(_Described):
    """Why an item (feed, entry, page, document) was skipped; some carry the category of what failed."""

    FEED_UNKNOWN = "feed_unknown", "a feed id asked for is not in feeds.yaml"
    FEED_FETCH_FAILED = "feed_fetch_failed", "the feed could not be fetched (`.<fetch failure>`)"
    FEED_UNPARSEABLE = "feed_unparseable", "the feed document is unusable (`.<feed failure>`)"
    FEED_CRASHED = "feed_crashed", "polling the feed raised an unexpected error (traceback in the task log)"
    ENTRY_NO_LINK = "entry_no_link", "the entry has no link"
    ENTRY_BAD_LINK = "entry_bad_link", "the entry's link is not fetchable (not http(s), no host, bad port)"
    PAGE_RETRY_LATER = "page_retry_later", "the page failed for a passing reason; the next poll tries it again (`.<fetch failure>`)"
    PAGE_FETCH_FAILED = "page_fetch_failed", "the page could not be fetched, for good (`.<fetch failure>`)"
    EXTRACTION = "extraction", "the page holds no extractable article (`.<extraction failure>`)"
    PAGE_TOO_SLOW = "page_too_slow", "processing the page needed more CPU time than its limit"
    PAGE_CRASHED = "page_crashed", "a library crashed on the page (traceback in the task log)"
    PAGE_UNFINISHED = "page_unfinished", "processing the page was stopped (worker timeout, kill) too often; given up"
    INDEX_REFUSED = "index_refused", "the search index refused the document; it stays staged for the next run"


# The category enum that follows `<reason>.` in a skip key; reasons not listed take none.
SKIP_CATEGORIES: dict[SkipReason, type[_Described]] = {
    SkipReason.FEED_FETCH_FAILED: FetchFailure,
    SkipReason.FEED_UNPARSEABLE: FeedFailure,
    SkipReason.PAGE_RETRY_LATER: FetchFailure,
    SkipReason.PAGE_FETCH_FAILED: FetchFailure,
    SkipReason.EXTRACTION: ExtractionFailure,
}


def _values(kind: type[StrEnum]) -> set[str]:
    return {member.value for member in kind}


def skip_key(reason: SkipReason, category: StrEnum | None = None) -> str:
    """The counter key of a skip: the reason, or `reason.category` for reasons that carry a category."""
    kind = SKIP_CATEGORIES.get(reason)
    if kind is None:
        if category is not None:
            raise ValueError(f"skip reason {reason} takes no category, got {category!r}")
        return str(reason)
    if not isinstance(category, kind):
        raise ValueError(f"skip reason {reason} needs a {kind.__name__}, got {category!r}")
    return f"{reason}.{category}"


def is_skip_key(key: str) -> bool:
    """True when `key` is a skip key `skip_key` can produce."""
    reason, _, category = key.partition(".")
    if reason not in _values(SkipReason):
        return False
    kind = SKIP_CATEGORIES.get(SkipReason(reason))
    return not category if kind is None else category in _values(kind)


class Count(StrEnum):
    """Every counter name a stage returns (and records in `runs`), with the stage it belongs to and its meaning."""

    stage: str
    meaning: str

    def __new__(cls, value: str, stage: str = "", meaning: str = "") -> Count:
        member = str.__new__(cls, value)
        member._value_ = value
        member.stage = stage
        member.meaning = meaning
        return member

    FEEDS_DUE = "feeds_due", "plan", "feeds due now (every enabled feed with `--force`)"
    BATCHES = "batches", "plan", "host batches the due feeds were split into (one poll task each)"
    FEEDS_POLLED = "feeds_polled", "poll", "feeds fetched and parsed; their entries were read"
    FEEDS_UNCHANGED = "feeds_unchanged", "poll", "feeds answering 304 Not Modified or the same body as last time"
    FEEDS_MOVED = "feeds_moved", "poll", "feeds answering through a permanent redirect: new URL stored, new entries read"
    FEEDS_GONE = "feeds_gone", "poll", "feeds answering 410 Gone: disabled until feeds.yaml gives a new URL"
    FEEDS_FAILED = "feeds_failed", "poll", "feeds whose fetch or parse failed (or whose polling crashed): backing off"
    FEEDS_DISABLED = "feeds_disabled", "poll", "feeds asked for but disabled (feeds.yaml, or an earlier 410): not fetched"
    ENTRIES_NEW = "entries_new", "poll", "entries not seen before (or left unfinished), processed this poll"
    ENTRIES_NOT_READ = "entries_not_read", "poll", "items past the feed parsing limits, never read"
    ENTRIES_DEFERRED = "entries_deferred", "poll", "new entries past NEWSMON_MAX_ENTRIES_PER_POLL, left for the next poll"
    PAGES_FETCHED = "pages_fetched", "poll", "article pages fetched"
    PAGES_RETRY_LATER = "pages_retry_later", "poll", "pages that failed for a passing reason, tried again next poll"
    DUPLICATES_URL = "duplicates_url", "poll", "entries whose canonical URL is stored already (not staged twice)"
    STAGED = "staged", "poll", "articles staged for clustering and indexing"
    SKIPPED = "skipped", "poll, index", "items skipped; `skipped_reasons` splits them by skip key"
    CLUSTERED = "clustered", "index", "staged articles assigned to a story cluster"
    DUPLICATES_EXACT = "duplicates_exact", "index", "articles whose normalised text equals an earlier article's"
    DUPLICATES_NEAR = "duplicates_near", "index", "near-duplicates of an earlier article (MinHash-LSH, verified)"
    INDEXED = "indexed", "index", "documents created in the search index"
    INDEX_DUPLICATES = "index_duplicates", "index", "documents the index already held (409: a rerun)"
    INDEX_FAILED_KEPT_STAGED = "index_failed_kept_staged", "index", "documents the index refused; kept for the next run"
    MATCHED = "matched", "alert", "(rule, article) pairs whose rule matched"
    ENQUEUED = "enqueued", "alert", "outbox rows created: one per (rule, story)"
    ALREADY_ALERTED = "already_alerted", "alert", "matches of a story the rule had alerted already"
    STORY_UPDATES = "story_updates", "alert", "later copies of an alerted story queued as a story update (one per outlet)"
    RULES_INVALID = "rules_invalid", "alert, digest", "rules of alerts.yaml left out for an error (the others ran)"
    SENT = "sent", "alert, digest", "outbox rows delivered to every channel of their rule"
    HELD = "held", "alert, digest", "outbox rows held back by quiet hours, max_per_hour or mute_until (sent later)"
    DROPPED = "dropped", "alert, digest", "outbox rows stopped by quiet hours, max_per_hour or mute_until of a rule with hold: drop"
    RETRY_LATER = "retry_later", "alert, digest", "outbox rows kept for a retry with backoff"
    FAILED = "failed", "alert, digest", "outbox rows given up (permanent error or too many attempts)"
    SEEN_ENTRIES_PRUNED = "seen_entries_pruned", "maintenance", "feed entry keys older than the retention, forgotten"
    SENT_ALERTS_PRUNED = "sent_alerts_pruned", "maintenance", "sent or dropped outbox rows older than the retention, deleted"
    LSH_PRUNED = "lsh_pruned", "maintenance", "near-duplicate bands older than the LSH window, dropped"
    STORY_KEYS_PRUNED = ("story_keys_pruned", "maintenance",
                         "story-candidate keys of days before the LSH window, dropped (stories and members stay)")
    STUCK_INDEX_ERRORS = "stuck_index_errors", "maintenance", "articles the search index refused, waiting for a retry"
    ANALYZED = "analyzed", "maintenance", "1 when planner statistics were refreshed"
    VACUUMED = "vacuumed", "maintenance", "1 when the SQLite file was compacted"
    FEEDS_NEEDING_ATTENTION = ("feeds_needing_attention", "maintenance",
                               "feeds whose verdict is silent, failing, moved or gone (`newsmon feeds status`)")
    FEED_VERDICTS_CHANGED = ("feed_verdicts_changed", "maintenance",
                             "feeds whose verdict changed since the last operator report (these are reported)")
    OPERATOR_REPORTS_SENT = "operator_reports_sent", "maintenance", "operator channels that took the feed-health report"


# Keys of a stage's counts that hold no counter: the split of `skipped`, and a bounded list of
# {"reason": skip key, "detail": free text} examples (what a user needs to find the feed or page).
SKIPPED_REASONS = "skipped_reasons"
EXAMPLES = "examples"


def is_counter_key(key: str) -> bool:
    """True when `key` may appear at the top level of a stage's counts."""
    return key in _values(Count) or key in (SKIPPED_REASONS, EXAMPLES)


def vocabulary_markdown() -> str:
    """The "Counters" section of docs/ARCHITECTURE.md: every name, where it comes from, what it means."""
    lines = ["| counter | stage | meaning |", "|---|---|---|"]
    lines += [f"| `{c}` | {c.stage} | {c.meaning} |" for c in Count]
    lines += ["", "| skip reason (key in `skipped_reasons`) | meaning |", "|---|---|"]
    lines += [f"| `{r}` | {r.meaning} |" for r in SkipReason]
    for kind in (FetchFailure, FeedFailure, ExtractionFailure, PollOutcome, Stage):
        lines += ["", f"| `{kind.__name__}` | meaning |", "|---|---|"]
        lines += [f"| `{m}` | {m.meaning} |" for m in kind]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(vocabulary_markdown(), end="")
