"""A linear pre-parse scan of feed and page markup: the counts that bound what the parsers will cost.

feedparser (expat's attribute lookup, and its loose sgml parser) and lxml (libxml2's duplicate-attribute
check) spend time proportional to the *square* of one element's attribute count, and feedparser spends
10-40 µs on every tag: 20,000 attributes on one element cost 4.8 s in feedparser, 40,000 cost 9.3 s in
lxml, and 2.4 million empty tags in a 10 MB feed 25 s. lxml cannot be interrupted inside its C parse, so
the document is measured first and refused (or, for a feed, cut after the last item that fits).

The scan reads the markup once, left to right, the way the parser's tokenizer does. For pages that is
HTML5 tokenization as libxml2 2.14 (lxml 6) implements it: a tag opens only with `<` + an ASCII letter,
whitespace is exactly tab/LF/FF/CR/space, attribute values are quoted or unquoted as HTML5 says (a quoted
value may hold `<` and `>`), comments end at `-->`, `--!>` or an abrupt `<!-->`, and the bodies of raw-text
elements (script with its escaped states, style, title, textarea, xmp, iframe, noembed, noframes) and
everything after `<plaintext>` are text. Getting these rules right matters in one direction: if the scan
took some text for a tag with a quoted value, that value could hide a real tag from it.
`tests/test_markup_scan.py` checks the scan's attribute counts against lxml's on such markup.

For feeds (XML, already decoded to text as feedparser decodes it) expat's rules apply, with any Unicode
whitespace separating attributes as in feedparser's loose parser; tags inside CDATA and escaped tags
(`&lt;p&gt;`) count too, because feedparser parses that HTML again to sanitise it. A CPU deadline around
feedparser (ingest/deadline.py) catches what this approximation could miss.

Every step is an anchored match or a str.find that moves forward, and every quantifier is possessive, so
the scan is linear in the document; it stops at the first limit exceeded, so its own Python-level work
is bounded by the limits, not by the document.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# ---------------------------------------------------------------- HTML5 (pages)

_WS = "[\t\n\f\r ]"
_NOT_WS = "[^\t\n\f\r />]"
# Before-attribute-name: whitespace and stray slashes; then a name (its first character may be '=',
# '"', "'" or '<': parse errors that HTML5 still turns into an attribute name); then an optional value.
_HTML_ATTRIBUTE = re.compile(
    rf"(?:{_WS}|/(?!>))*+{_NOT_WS}[^\t\n\f\r />=]*+"
    rf"(?:{_WS}*+={_WS}*+(?:\"[^\"]*+\"|'[^']*+'|[^\t\n\f\r >]*+))?+"
)
# A whole start or end tag: name, attribute list, a self-closing slash, the closing '>' (empty at the end
# of the document: an unfinished tag swallows the rest).
_HTML_TAG = re.compile(rf"</?([A-Za-z][^\t\n\f\r />]*+)((?:{_HTML_ATTRIBUTE.pattern})*+)(?:{_WS}|/(?!>))*+(/?)(>?)")
_HTML_COMMENT_END = re.compile(r"--!?>")
# Elements whose content HTML5 (and libxml2, even inside <svg>) reads as text up to their end tag.
_RAW_TEXT_ELEMENTS = frozenset({"style", "title", "textarea", "xmp", "iframe", "noembed", "noframes"})


# An "appropriate end tag": the name, then whitespace, '/' or '>' (so `</scriptx` does not end a script).
# The literal `</` before the case-insensitive name lets the regex engine scan for it at C speed through
# long script and style bodies (a whole-pattern re.IGNORECASE or an alternation would not).
_RAW_TEXT_END = {name: re.compile(rf"</(?i:{name})(?={_WS}|/|>)") for name in (*_RAW_TEXT_ELEMENTS, "script")}
_SCRIPT_START = re.compile(rf"<(?i:script)(?={_WS}|/|>)")
_RAW_TEXT_OPENERS = _RAW_TEXT_ELEMENTS | {"script", "plaintext"}
# Elements with at most this many attributes cost libxml2 at most 16 comparisons per attribute, less than
# its own per-attribute work: they are not charged to `max_attribute_pairs`, and most of a page can then be
# read by one regex match at C speed (_PLAIN_RUN) instead of the tag loop.
CHEAP_ATTRIBUTES = 16
_ATTRIBUTES_UP_TO_CHEAP = rf"(?:{_HTML_ATTRIBUTE.pattern}){{0,{CHEAP_ATTRIBUTES}}}+(?:{_WS}|/(?!>))*+"
_RAW_NAMES = "|".join(sorted(_RAW_TEXT_ELEMENTS))
# Text and markup tokenized exactly as _scan_html would: start and end tags with at most CHEAP_ATTRIBUTES
# attributes, comments, bogus comments, raw-text elements up to their end tag, scripts without `<!--`
# escapes, a '<' that opens nothing. It stops (at a construct boundary) before anything else: a tag with
# more attributes, an escaped script, <plaintext>, markup left open at the end of the document.
_PLAIN_RUN = re.compile(
    "(?:"
    r"[^<]++"
    r"|</[A-Za-z][A-Za-z0-9]*+>"  # the commonest tag first: a plain end tag
    rf"|</[A-Za-z][^\t\n\f\r />]*+{_ATTRIBUTES_UP_TO_CHEAP}/?>"
    rf"|<(?!(?i:{_RAW_NAMES}|script|plaintext)(?:{_WS}|/|>))[A-Za-z][^\t\n\f\r />]*+{_ATTRIBUTES_UP_TO_CHEAP}/?>"
    r"|<!--(?:-?>|(?:[^-]++|-(?!-!?>))*+--!?>)"
    r"|<(?:!(?!--)|\?)[^>]*+>|</(?![A-Za-z])[^>]*+>"
    + "".join(rf"|<(?i:{name})(?={_WS}|/|>){_ATTRIBUTES_UP_TO_CHEAP}(?:/>|>(?:[^<]++|<(?!/(?i:{name})(?:{_WS}|/|>)"
              rf"{'|!--' if name == 'script' else ''}))*+(?=</(?i:{name})(?:{_WS}|/|>)))"
              for name in (*sorted(_RAW_TEXT_ELEMENTS), "script"))
    + r"|<(?![A-Za-z!?/])"
    ")*+"
)

# ---------------------------------------------------------------- XML (feeds)

# expat starts a tag at any XML name character, non-ASCII ones included.
_XML_TAG_NAME = re.compile(r"<([^\s<>/!?=\"']++[^\s/>]*+)")
# A '<' outside a quoted value ends the tag for expat (an error) and for the loose parser (a new tag); the
# loose parser takes a quoted value (which may then hold '<') only when whitespace, '/', '>' or a next
# `name=` follows it.
_XML_ATTRIBUTE = re.compile(
    r"\s*+(?:[^\s/<>\"'=]++(?:\s*+=\s*+(?:\"[^\"]*+\"(?=[\s/>]|\w+=)|'[^']*+'(?=[\s/>]|\w+=)|[^\s<>]*+))?+"
    r"|[\"'=][^\s<>]*+)"
)
_XML_STRAY_SLASH = re.compile(r"\s*+/(?!>)")
_XML_TAG_END = re.compile(r"\s*+(/?)>")
# expat ends a comment at `-->`, feedparser's loose parser already at `--` + spaces + `>`.
_XML_COMMENT_END = re.compile(r"--\s*+>")
# Case-insensitive: the loose parser accepts `&LT;`; numeric references may carry leading zeros.
_ESCAPED_LT = re.compile(r"&(?:lt|#0*60|#x0*3c);", re.IGNORECASE)
_ITEM_NAMES = frozenset({"item", "entry"})  # feedparser lower-cases names in its loose parser
_CLOSE_SEARCH_DEPTH = 8
_MAX_TRACKED_DEPTH = 256
_ITEM_TAG = re.compile(r"<(?:[^\s<>/!?=\"':]++:)?+(?:item|entry)[\s/>]")


@dataclass(frozen=True)
class MarkupLimits:
    """What one document may hold before it is refused (or, for a feed, cut before the item that exceeds it)."""

    max_tags: int  # start and end tags, comments, declarations; for feeds also tags in CDATA and escaped tags
    max_attributes: int  # on one element
    max_attribute_pairs: int  # the sum over elements of attributes²: the parsers' quadratic work (pages:
    # over elements with more than CHEAP_ATTRIBUTES, the only ones whose quadratic work can dominate)
    max_items: int | None = None  # feed items/entries read


@dataclass(frozen=True)
class MarkupScan:
    """What the scan found before it ended, at the end of the document or at the first limit exceeded."""

    tags: int = 0
    most_attributes: int = 0
    attribute_pairs: int = 0
    item_starts: tuple[int, ...] = ()  # offsets of item/entry start tags at the depth of the first one
    item_parents: tuple[str, ...] = ()  # elements open around the first item, outermost first
    over_limit: str | None = None  # the first limit exceeded, as a phrase for an error message
    over_limit_at: int | None = None  # offset where it was exceeded
    over_limit_kind: str | None = None  # which limit: "tags", "attributes", "attribute_pairs" or "items"
    cut_at: int | None = None  # feeds: where to cut so that only complete items remain (the start of the
    # item the limit was exceeded in, else where it was exceeded)


@dataclass
class _Tally:
    limits: MarkupLimits
    tags: int = 0
    most_attributes: int = 0
    attribute_pairs: int = 0
    over_limit: str | None = None
    over_limit_at: int | None = None
    over_limit_kind: str | None = None
    item_starts: list[int] = field(default_factory=list)
    item_parents: tuple[str, ...] = ()
    cut_at: int | None = None

    def over(self, kind: str, what: str, at: int) -> bool:
        self.over_limit_kind, self.over_limit, self.over_limit_at = kind, what, at
        return True

    def over_tags(self, at: int) -> bool:
        return self.over("tags", f"more than {self.limits.max_tags} tags", at)

    def over_attributes(self, name: str, at: int) -> bool:
        return self.over("attributes", f"an element <{name[:40]}> with more than {self.limits.max_attributes} attributes", at)

    def over_pairs(self, at: int) -> bool:
        return self.over("attribute_pairs", f"more than {self.limits.max_attribute_pairs} attribute pairs "
                         "(the sum of each element's attribute count squared)", at)

    def add_tags(self, n: int, at: int) -> bool:
        """Count n tags; True when that exceeds the limit."""
        self.tags += n
        return self.tags > self.limits.max_tags and self.over_tags(at)

    def add_element(self, name: str, attributes: int, at: int) -> bool:
        """Count one element's attributes; True when a limit is exceeded."""
        if attributes > self.limits.max_attributes:
            return self.over_attributes(name, at)
        self.most_attributes = max(self.most_attributes, attributes)
        self.attribute_pairs += attributes * attributes
        return self.attribute_pairs > self.limits.max_attribute_pairs and self.over_pairs(at)

    def result(self) -> MarkupScan:
        return MarkupScan(self.tags, self.most_attributes, self.attribute_pairs, tuple(self.item_starts),
                          self.item_parents, self.over_limit, self.over_limit_at, self.over_limit_kind, self.cut_at)


def _count_attributes(pattern: re.Pattern[str], text: str, pos: int, limit: int) -> tuple[int, int]:
    """(attributes, end position) of the attribute list at `pos`; stops counting just past `limit`."""
    n = 0
    while n <= limit:
        match = pattern.match(text, pos)
        if match is None or match.end() == pos:
            break
        pos, n = match.end(), n + 1
    return n, pos


def _find_end(text: str, needle: str | re.Pattern[str], start: int) -> int:
    """Position just after the next `needle` from `start`, or the end of the text."""
    if isinstance(needle, str):
        found = text.find(needle, start)
        return len(text) if found < 0 else found + len(needle)
    match = needle.search(text, start)
    return len(text) if match is None else match.end()


# ---------------------------------------------------------------- pages


def _first(*positions: int) -> int:
    found = [p for p in positions if p >= 0]
    return min(found) if found else -1


def _skip_script(text: str, pos: int) -> int:
    """Position of the `</script` that ends the script data starting at `pos`.

    HTML5 script data has escaped (`<!--`) and double-escaped (`<!--<script>`) states in which end tags
    behave differently (§13.2.5.4-.31); libxml2 implements them, so a script can outlast its first
    `</script>`.
    """
    end_tag, n = _RAW_TEXT_END["script"], len(text)
    state = "data"
    while True:
        end = end_tag.search(text, pos)
        end_at = end.start() if end else n
        if state == "data":
            escape = text.find("<!--", pos, end_at)
            if escape < 0:
                return end_at
            state, pos = "escaped", escape + 2  # from the dashes: `<!-->` leaves at once
        elif state == "escaped":
            leave, start = text.find("-->", pos, end_at), _SCRIPT_START.search(text, pos, end_at)
            nxt = _first(leave, start.start() if start else -1)
            if nxt < 0:
                return end_at
            state, pos = ("data", leave + 3) if nxt == leave else ("double", nxt + 7)
        else:
            leave = text.find("-->", pos, end_at)
            if leave >= 0:
                state, pos = "data", leave + 3
            elif end is None:
                return n
            else:
                state, pos = "escaped", end.end()


def _after_raw_text_start(text: str, name: str, pos: int) -> int:
    """Where tokenizing resumes after the start tag of `name` ending at `pos` (after its raw text, if any)."""
    if name == "script":
        return _skip_script(text, pos)
    if name in _RAW_TEXT_ELEMENTS:
        found = _RAW_TEXT_END[name].search(text, pos)
        return found.start() if found else len(text)
    if name == "plaintext":
        return len(text)
    return pos


def _scan_html(text: str, tally: _Tally) -> None:
    # Runs on every page fetched, so the common case is one C-speed regex match (_PLAIN_RUN) per stretch of
    # plain markup, and the tag loop below reads only what it cannot: elements with more than
    # CHEAP_ATTRIBUTES attributes, escaped scripts, <plaintext>, unfinished markup. When the page has
    # fewer '<' than the tag limit, tags need no counting one by one.
    limits = tally.limits
    max_tags, max_attributes, max_pairs = limits.max_tags, limits.max_attributes, limits.max_attribute_pairs
    short_span = 2 * max_attributes  # every attribute takes at least two characters: findall stays short
    find, match_tag, findall, plain_run = text.find, _HTML_TAG.match, _HTML_ATTRIBUTE.findall, _PLAIN_RUN.match
    n = len(text)
    fast = text.count("<") <= max_tags
    tags = text.count("<") if fast else 0
    most = pairs = 0
    pos = 0
    try:
        while pos < n:
            if fast:
                pos = plain_run(text, pos).end()
            lt = find("<", pos)
            if lt < 0:
                return
            if not fast:
                tags += 1
                if tags > max_tags:
                    tally.over_tags(lt)
                    return
            tag = match_tag(text, lt)
            if tag is None:
                pos = _skip_html_markup(text, lt)
                if pos == lt + 1 and not fast:
                    tags -= 1  # a '<' that opens nothing is text
                continue
            name, span, self_closing, closed = tag.groups()
            if span:  # end tags' attributes count too: lxml tokenizes them
                attributes = len(findall(span)) if len(span) <= short_span else _count_attributes(
                    _HTML_ATTRIBUTE, span, 0, max_attributes)[0]
                if attributes > max_attributes:
                    tally.over_attributes(name, lt)
                    return
                most = attributes if attributes > most else most
                if attributes > CHEAP_ATTRIBUTES:
                    pairs += attributes * attributes
                    if pairs > max_pairs:
                        tally.over_pairs(lt)
                        return
            pos = tag.end() if closed else n  # an unfinished tag swallows the rest of the document
            if not self_closing and text[lt + 1] != "/":  # libxml2 honours `<script/>`: no raw text after it
                lowered = name.lower()
                if lowered in _RAW_TEXT_OPENERS:
                    pos = _after_raw_text_start(text, lowered, pos)
    finally:
        tally.tags += tags
        tally.most_attributes = max(tally.most_attributes, most)
        tally.attribute_pairs += pairs


def _skip_html_markup(text: str, lt: int) -> int:
    """After a comment, bogus comment or ignored `</>` at `lt`; lt + 1 when the '<' opens nothing."""
    if text.startswith("<!--", lt):
        return _find_end(text, _HTML_COMMENT_END, lt + 2)  # from the dashes: `<!-->` is a whole comment
    if text.startswith("</>", lt):
        return lt + 3
    if text.startswith(("<!", "<?", "</"), lt):
        return _find_end(text, ">", lt + 2)  # declaration, processing instruction or `</3`: a bogus comment
    return lt + 1


# ---------------------------------------------------------------- feeds


class _XmlScan:
    def __init__(self, text: str, tally: _Tally) -> None:
        self.text, self.tally = text, tally
        self.stack: list[str] = []
        self.item_depth: int | None = None
        self._escaped = _ESCAPED_LT.finditer(text)
        self._next_escaped = self._advance()

    def _advance(self) -> int:
        match = next(self._escaped, None)
        return match.start() if match else -1

    def _escaped_before(self, end: int) -> bool:
        while 0 <= self._next_escaped < end:
            if self.tally.add_tags(1, self._next_escaped):
                return True
            self._next_escaped = self._advance()
        return False

    def run(self) -> None:
        text, tally, n = self.text, self.tally, len(self.text)
        pos = 0
        while pos < n:
            lt = text.find("<", pos)
            if self._escaped_before(n if lt < 0 else lt) or lt < 0 or tally.add_tags(1, lt):
                return
            after = self._markup(lt)
            if after is None:
                return
            pos = after

    def note_cut(self) -> None:
        """Where a feed over the limits can be cut: before the item the scan stopped in, if it was in one."""
        tally = self.tally
        if tally.over_limit_at is None:
            return
        inside_item = self.item_depth is not None and len(self.stack) > self.item_depth and tally.item_starts
        tally.cut_at = tally.item_starts[-1] if inside_item else tally.over_limit_at

    def _markup(self, lt: int) -> int | None:
        text, tally = self.text, self.tally
        if text.startswith("<!--", lt):
            return _find_end(text, _XML_COMMENT_END, lt + 4)
        if text.startswith("<![CDATA[", lt):
            end = text.find("]]>", lt + 9)
            end = len(text) if end < 0 else end
            # feedparser parses the HTML inside CDATA (sanitising, resolving links): its tags count.
            return None if tally.add_tags(text.count("<", lt + 9, end), lt) else end + 3
        if text.startswith(("<?", "<!"), lt):
            return _find_end(text, ">", lt + 2)
        if text.startswith("</", lt):
            end = _find_end(text, ">", lt + 2)
            self._close(text[lt + 2:end - 1].strip())
            return end
        return self._start_tag(lt)

    def _close(self, name: str) -> None:
        # Only the innermost few levels are searched, so a deep or ill-nested document stays linear.
        top = self.stack[-_CLOSE_SEARCH_DEPTH:]
        if name in top:
            del self.stack[len(self.stack) - 1 - top[::-1].index(name):]

    def _start_tag(self, lt: int) -> int | None:
        text, tally = self.text, self.tally
        match = _XML_TAG_NAME.match(text, lt)
        if match is None:
            return lt + 1  # a '<' that opens no tag (the loose parser reads it as text)
        name, pos, attributes = match.group(1), match.end(), 0
        while attributes <= tally.limits.max_attributes:
            found, pos = _count_attributes(_XML_ATTRIBUTE, text, pos, tally.limits.max_attributes - attributes)
            attributes += found
            slash = _XML_STRAY_SLASH.match(text, pos)
            if slash is None:
                break
            pos = slash.end()
        if tally.add_element(name, attributes, lt):
            return None
        end = _XML_TAG_END.match(text, pos)
        pos = end.end() if end else pos
        self_closing = bool(end and end.group(1))
        if self_closing and tally.add_tags(1, lt):  # <x/> costs feedparser a start and an end
            return None
        if name.rsplit(":", 1)[-1].lower() in _ITEM_NAMES and not self._item(lt):
            return None
        if not self_closing and len(self.stack) < _MAX_TRACKED_DEPTH:
            self.stack.append(name)
        return pos

    def _item(self, lt: int) -> bool:
        """Record an item start; False when it is one more than the limit."""
        tally, depth = self.tally, len(self.stack)
        if self.item_depth is None:
            self.item_depth, tally.item_parents = depth, tuple(self.stack)
        if depth != self.item_depth:
            return True  # an element named item/entry inside an item is not another item
        limit = tally.limits.max_items
        if limit is not None and len(tally.item_starts) >= limit:
            return not tally.over("items", f"more than {limit} items", lt)
        tally.item_starts.append(lt)
        return True


# ---------------------------------------------------------------- API


def scan_page(text: str, limits: MarkupLimits) -> MarkupScan:
    """Measure an HTML page against `limits` in one linear pass, as lxml's HTML5 tokenizer reads it."""
    tally = _Tally(limits)
    _scan_html(text, tally)
    return tally.result()


def scan_feed(text: str, limits: MarkupLimits) -> MarkupScan:
    """Measure an XML feed (decoded text) against `limits` in one linear pass, noting where items start."""
    tally = _Tally(limits)
    scan = _XmlScan(text, tally)
    scan.run()
    scan.note_cut()
    return tally.result()


def count_item_tags(text: str, start: int) -> int:
    """How many item/entry start tags follow `start` (counted in C, for "N items not read")."""
    return _ITEM_TAG.subn("", text[start:])[1]


def closing_tags(parents: tuple[str, ...]) -> str:
    """End tags that close `parents`, innermost first: what a feed cut after an item needs to stay well-formed."""
    return "".join(f"</{name}>" for name in reversed(parents))


__all__ = ["MarkupLimits", "MarkupScan", "closing_tags", "count_item_tags", "scan_feed", "scan_page"]
