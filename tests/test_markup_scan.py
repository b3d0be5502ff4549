"""The pre-parse markup scan never sees fewer attributes on an element than lxml parses, and stops at its limits."""

from __future__ import annotations

import random

import pytest
from trafilatura.utils import load_html, repair_faulty_html

from newsmon.ingest.markup_scan import CHEAP_ATTRIBUTES, MarkupLimits, closing_tags, scan_feed, scan_page

UNLIMITED = MarkupLimits(max_tags=10**9, max_attributes=10**9, max_attribute_pairs=10**18)
# Markup on which tokenizers disagree: raw-text elements and their end tags, script escape states, comment
# endings, bogus comments, quotes that do or do not delimit values, characters that are or are not spaces.
FRAGMENTS = (
    "<script>", "</script>", "<script/>", "<!--<script>", "</script >", "</SCRIPT>", "</scriptx>", "<script><!--",
    "<style>", "</style>", "</STYLE >", "<title>", "</title>", "<title/>", "<textarea>", "</textarea>", "<xmp>",
    "</xmp>", "<iframe>", "</iframe>", "<noembed>", "</noembed>", "<noframes>", "</noframes>", "<noscript>",
    "</noscript>", "<plaintext>", "<svg>", "</svg>", "<math>", "<![CDATA[", "]]>", "<!--", "-->", "--!>", "<!-->",
    "<!--->", "<?", "<!", "<!DOCTYPE html>", "<", "</", ">", "<3 ", "<é ", '<a href="', '"', "'", "<b x='",
    '<p a="x"b="y" ', "</p ", '</a b=">">', "<img/src=\"", "<a href=x>", "<div\f", "<a\t", "=", "/", " ", "\v", "\r",
    "\n", "\f", "\u00a0", "\x00", "`", "&lt;", "<select>", "<table>", "<td>", "<template>", "x",
)
HOSTILE_PREFIXES = ("", 'a=">" ', '"q" ', "b='<' ", "/ ", "=x ")


def lxml_most_attributes(html: str) -> int:
    tree = load_html(html)
    return 0 if tree is None else max((len(e.attrib) for e in tree.iter() if isinstance(e.tag, str)), default=0)


def scan_most_attributes(html: str) -> int:
    return scan_page(repair_faulty_html(html, html[:50].lower()), UNLIMITED).most_attributes


HOSTILE = "<div " + " ".join(f"h{i}" for i in range(50)) + ">"


@pytest.mark.parametrize("markup", [
    f'<script><!--<script></script><a b="</script>{HOSTILE}">',  # the script outlasts its first </script>
    f'<script></scriptx><a b="</script>{HOSTILE}">',  # `</scriptx` does not end a script
    f'<title><a b="</title>{HOSTILE}">',  # titles are raw text
    f'<textarea/><a b="</textarea>{HOSTILE}">',  # libxml2 honours the self-closing slash
    f"<!-- --!>{HOSTILE}",  # `--!>` ends a comment
    f"<!-->{HOSTILE}",  # so does an abrupt `<!-->`
    f'<3 a="{HOSTILE}">',  # `<3` opens no tag: the quote is text
    f'<\x00p a="{HOSTILE}">',  # the NUL is removed before parsing: `<p a="` is a tag after all
    f'<p a=">" b="<">{HOSTILE}',  # quoted brackets
], ids=["double-escaped script", "scriptx", "title", "self-closed textarea", "--!>", "<!-->", "<3", "NUL", "brackets"])
def test_markup_that_fools_naive_tokenizers_hides_no_element_from_the_scan(markup):
    html = f"<html><body>{markup}<p>end</p></body></html>"
    parsed = lxml_most_attributes(html)
    assert parsed < 50 or scan_most_attributes(html) >= parsed


@pytest.mark.parametrize("seed", range(4))
def test_no_tokenizer_trick_hides_an_element_from_the_scan(seed):
    rng = random.Random(seed)
    hidden_from_lxml = seen_by_both = 0
    for _ in range(2_500):
        parts = [rng.choice(FRAGMENTS) for _ in range(rng.randint(0, 14))]
        hostile = "<div " + rng.choice(HOSTILE_PREFIXES) + " ".join(f"h{i}" for i in range(50)) + ">"
        parts.insert(rng.randint(0, len(parts)), hostile)
        html = "<html><body>" + "".join(parts) + "".join(rng.choice(FRAGMENTS) for _ in range(4)) + "</body></html>"
        parsed = lxml_most_attributes(html)
        if parsed > CHEAP_ATTRIBUTES:  # the scan counts elements one by one only past that
            assert scan_most_attributes(html) >= parsed, repr(html)
        hidden_from_lxml += parsed < 50
        seen_by_both += parsed >= 50
    assert hidden_from_lxml > 100 and seen_by_both > 100  # the tricks really ran both ways


def attributes(n: int) -> str:
    return " ".join(f"a{i}" for i in range(n))


def test_a_page_scan_stops_at_the_first_limit_it_exceeds():
    limits = MarkupLimits(max_tags=1_000, max_attributes=30, max_attribute_pairs=1_000)
    assert scan_page("<p>x</p>" * 10_000, limits).over_limit_kind == "tags"
    assert scan_page(f"<p {attributes(31)}>", limits).over_limit_kind == "attributes"
    assert scan_page(f"<p {attributes(20)}>" * 3, limits).over_limit_kind == "attribute_pairs"
    # Elements with few attributes cost lxml little quadratic work: they are not charged for it.
    assert scan_page(f"<p {attributes(CHEAP_ATTRIBUTES)}>" * 100, limits).over_limit is None


def test_a_feed_scan_finds_where_to_cut_so_that_only_whole_items_remain():
    feed = "<rss><channel><title>t</title>" + "<item><title>a</title></item>" * 5 + "</channel></rss>"
    scan = scan_feed(feed, MarkupLimits(max_tags=10**6, max_attributes=100, max_attribute_pairs=10**6, max_items=3))
    assert scan.over_limit_kind == "items" and len(scan.item_starts) == 3
    cut = feed[:scan.cut_at] + closing_tags(scan.item_parents)
    assert cut == "<rss><channel><title>t</title>" + "<item><title>a</title></item>" * 3 + "</channel></rss>"
