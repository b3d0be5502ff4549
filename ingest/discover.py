"""Feed discovery: the feeds a site advertises (<link rel="alternate">), else a few well-known paths, each verified."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from newsmon.core.errors import UserError
from newsmon.ingest.feeds import FeedParseError, parse_feed
from newsmon.ingest.http import FetchError

FEED_TYPES = frozenset({
    "application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/feed+json",
    "application/json", "application/xml", "text/xml",
})
# Tried only when the page advertises nothing; in this order, stopping at the first real feed.
WELL_KNOWN_PATHS = ("/feed", "/rss", "/rss.xml", "/feed.xml", "/atom.xml", "/index.xml", "/feed/", "/rss/")
MAX_ADVERTISED = 8


class DiscoveryError(UserError):
    """No feed could be found for a site; the reason says what was tried."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


@dataclass(frozen=True)
class DiscoveredFeed:
    url: str
    title: str | None
    entries: int
    how: str  # "the URL itself" | "advertised" | "well-known path"
    language: str | None = None


class _LinkFinder(HTMLParser):
    """Collects <link rel=alternate type=feed> hrefs, <base href> and <html lang> from the page head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str | None]] = []
        self.base: str | None = None
        self.lang: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "") for k, v in attrs}
        if tag == "html" and values.get("lang"):
            self.lang = values["lang"].split("-", 1)[0].lower()[:2] or None
        elif tag == "base" and values.get("href") and self.base is None:
            self.base = values["href"]
        elif tag == "link":
            rels = values.get("rel", "").lower().split()
            kind = values.get("type", "").split(";", 1)[0].strip().lower()
            if "alternate" in rels and kind in FEED_TYPES and values.get("href"):
                self.links.append((values["href"].strip(), values.get("title") or None))


def _verify(client: Any, url: str) -> tuple[str | None, int, str | None]:
    page = client.fetch(url, kind="feed")
    parsed = parse_feed(page.body, url=page.final_url, headers=page.headers)
    return parsed.title, len(parsed.entries), parsed.language


def discover_feeds(client: Any, site_url: str) -> tuple[list[DiscoveredFeed], str | None]:
    """Feeds of `site_url` (verified by parsing them) and the page's language; raises DiscoveryError if none."""
    try:
        page = client.fetch(site_url, kind="page")
    except FetchError as exc:
        raise DiscoveryError(site_url, f"cannot fetch the site: {exc.reason}") from exc
    try:
        parsed = parse_feed(page.body, url=page.final_url, headers=page.headers)
    except FeedParseError:
        parsed = None
    if parsed is not None:
        return [DiscoveredFeed(page.final_url, parsed.title, len(parsed.entries), "the URL itself", parsed.language)], parsed.language
    finder = _LinkFinder()
    try:
        finder.feed(page.body[:2_000_000].decode(_charset(page.headers), errors="replace"))
    except Exception:  # html.parser can raise on pathological markup: treat it as a page without links
        finder.links = []
    base = urljoin(page.final_url, finder.base) if finder.base else page.final_url
    found: list[DiscoveredFeed] = []
    problems: list[str] = []
    seen: set[str] = set()
    for href, title in finder.links[:MAX_ADVERTISED]:
        url = urljoin(base, href)
        if url in seen or urlsplit(url).scheme not in ("http", "https"):
            continue
        seen.add(url)
        try:
            feed_title, n_entries, language = _verify(client, url)
        except (FetchError, FeedParseError) as exc:
            problems.append(f"{url}: {exc.reason}")
            continue
        found.append(DiscoveredFeed(url, feed_title or title, n_entries, "advertised", language or finder.lang))
    if found:
        return found, finder.lang
    root = f"{urlsplit(page.final_url).scheme}://{urlsplit(page.final_url).netloc}"
    for path in WELL_KNOWN_PATHS:
        url = root + path
        if url in seen:
            continue
        try:
            feed_title, n_entries, language = _verify(client, url)
        except (FetchError, FeedParseError) as exc:
            problems.append(f"{url}: {exc.reason}")
            continue
        return [DiscoveredFeed(url, feed_title, n_entries, "well-known path", language or finder.lang)], finder.lang
    advertised = f"{len(finder.links)} advertised" if finder.links else "no <link rel=alternate> feed"
    raise DiscoveryError(site_url, f"no feed found ({advertised}; tried {', '.join(WELL_KNOWN_PATHS)}); "
                                   f"last problem: {problems[-1] if problems else 'none'}")


def _charset(headers: Any) -> str:
    content_type = str(headers.get("content-type", "")).lower()
    if "charset=" in content_type:
        charset = content_type.split("charset=", 1)[1].split(";", 1)[0].strip().strip('"')
        try:
            "".encode(charset)
            return charset
        except LookupError:
            pass
    return "utf-8"
