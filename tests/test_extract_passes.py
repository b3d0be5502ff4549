"""Extraction makes one trafilatura pass per page: trafilatura's own escalation handles short results, and its
readability comparison runs only where it can change the text."""

from __future__ import annotations

import gzip
import json

import pytest
from shared_notes import require, shared_dir

from newsmon.ingest import extract
from newsmon.ingest.extract import extract_article

SHORT_ARTICLE = """<!doctype html><html lang="en"><head><title>Medininkai queue grows</title></head><body>
<nav><a href="/">Home</a> <a href="/border">Border</a> <a href="/politics">Politics</a></nav>
<article><h1>Medininkai queue grows</h1>
<p>Lorries waited for up to thirty hours at the Medininkai checkpoint on Thursday, Lithuania's border
guard said, after two other crossings to Belarus stayed closed for a third day.</p>
</article><footer>© Border desk</footer></body></html>"""

# Pages of the shared trafilatura-eval set on which a second, recall-mode pass of ours (under 600
# characters of text) added boilerplate that the set's ground truth lists as "must not contain".
RECALL_PASS_REGRESSIONS = (
    "https://www.biobiochile.cl/noticias/nacional/region-de-los-rios/2022/05/04/"
    "gremios-de-los-camioneros-no-descartan-nueva-movilizacion-realizaran-consulta-nacional.shtml",
    "https://www3.nhk.or.jp/news/easy/k10011959621000/k10011959621000.html",
)


def test_a_short_article_is_extracted_in_one_trafilatura_pass(monkeypatch):
    import trafilatura

    calls = []
    bare_extraction = trafilatura.bare_extraction

    def counted(*args, **kwargs):
        calls.append(kwargs.get("url"))
        return bare_extraction(*args, **kwargs)

    monkeypatch.setattr(trafilatura, "bare_extraction", counted)
    extracted = extract_article(SHORT_ARTICLE.encode(), "https://border.example/queue")
    assert "thirty hours at the Medininkai checkpoint" in extracted.text
    assert len(calls) == 1


def _squash(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("url", RECALL_PASS_REGRESSIONS, ids=["biobiochile", "nhk-easy"])
def test_a_short_corpus_article_carries_none_of_the_snippets_its_ground_truth_excludes(url):
    base = require(shared_dir() / "corpus" / "extraction", "the shared extraction corpus")
    truth = json.loads((base / "trafilatura-eval" / "evaldata.json").read_text(encoding="utf-8"))[url]
    row = next(json.loads(line) for line in (base / "manifest.jsonl").read_text(encoding="utf-8").splitlines()
               if json.loads(line)["url"] == url)
    html = gzip.decompress((base / row["html"]).read_bytes())
    text = _squash(extract_article(html, url).text)
    assert [s for s in truth["with"] if _squash(s) in text] == truth["with"]
    assert [s for s in truth["without"] if _squash(s) in text] == []


# The article element holds a lead paragraph only; the story itself is in plain <div>s beside it, which
# trafilatura's own extractor does not read in balanced mode and its readability comparison does.
TEASER_ARTICLE = """<!doctype html><html lang="en"><head><title>Šalčininkai lane reopens</title></head><body>
<nav><a href="/">Home</a> <a href="/border">Border</a></nav>
<article class="lead"><h1>Šalčininkai lane reopens</h1>
<p>A second lane at the Šalčininkai crossing to Belarus reopened on Monday morning, the customs office said,
after a week in which only one lane served lorries and buses alike. Drivers who had waited since Friday were
the first through, and officials said the queue should shrink by the evening if the weather holds.</p></article>
<div class="story-body">
<div>The customs office said the number of lorries waiting at the crossing, which had reached about four hundred
on Sunday night, fell to under two hundred by noon, and that buses were again being cleared in their own lane.</div>
<div>Drivers told reporters they had waited for up to thirty hours, sleeping in their cabs, and that food and water
had run short at the parking area on the Lithuanian side, where the municipality had set up two extra toilets.</div>
<div>The second lane had been closed for repairs to its inspection pit, the office said, and the works took three
days longer than planned because a part had to be brought from Kaunas, which the contractor had not foreseen.</div>
<div>Hauliers' associations asked the government to publish waiting times online, as Latvia and Poland do, so that
companies could send lorries to the crossing with the shortest queue instead of learning of the wait on arrival.</div>
<div>The interior ministry said such a service was being tested and would start before the summer, and that it
would show the queues at Medininkai and Šalčininkai as well as the expected time to cross at each of them.</div>
</div>
<footer>© Border desk</footer></body></html>"""

CLEAR_ARTICLE = """<!doctype html><html lang="en"><head><title>Vilnius and Minsk talk rail freight</title></head><body>
<nav><a href="/">Home</a> <a href="/economy">Economy</a></nav>
<article><h1>Vilnius and Minsk talk rail freight</h1>
<p>Lithuanian Railways said on Tuesday that talks with its Belarusian counterpart on the transit of fertiliser
had ended without an agreement, and that no date had been set for a further round in Vilnius or in Minsk.</p>
<p>The company said the transit contract, which ran out in February, would not be renewed while the sanctions
on potash exports stayed in force, and that the freight wagons held at the border would be returned this month.</p>
<p>The transport ministry said the loss of the transit would cost the railway about a fifth of its freight
revenue this year, and that the company would look for new cargo at Klaipėda port to make up for some of it.</p>
</article><footer>© Economy desk</footer></body></html>"""


def test_a_page_whose_article_element_holds_only_a_teaser_still_gets_the_whole_story():
    text = extract_article(TEASER_ARTICLE.encode(), "https://border.example/lane").text
    assert "fell to under two hundred by noon" in text
    assert "expected time to cross at each of them" in text


def _count_readability_runs(monkeypatch) -> list[str]:
    import trafilatura.external

    runs: list[str] = []
    try_readability = trafilatura.external.try_readability

    def counted(tree):
        runs.append("readability")
        return try_readability(tree)

    monkeypatch.setattr(trafilatura.external, "try_readability", counted)
    return runs


def test_a_clear_article_skips_the_readability_comparison_but_other_trafilatura_callers_keep_it(monkeypatch):
    import trafilatura

    runs = _count_readability_runs(monkeypatch)
    ours = extract_article(CLEAR_ARTICLE.encode(), "https://economy.example/rail").text
    assert "a fifth of its freight revenue" in ours
    assert runs == []
    assert "a fifth of its freight revenue" in trafilatura.extract(CLEAR_ARTICLE)
    assert runs == ["readability"]


def test_trafilatura_still_has_the_comparison_that_extraction_gates():
    import trafilatura.core

    extract_article(CLEAR_ARTICLE.encode(), "https://economy.example/rail")
    compare = getattr(trafilatura.core, extract.COMPARISON_HOOK, None)
    assert getattr(compare, "newsmon_gated", False), (
        f"trafilatura {trafilatura.__version__} has no core.{extract.COMPARISON_HOOK} to gate: "
        "update _gate_the_comparison in ingest/extract.py"
    )


# Corpus pages whose text trafilatura's readability/justext comparison changes (26 of the 711): on each,
# the comparison must still run and give the same text as when it runs on every page.
COMPARISON_CHANGES = {
    "scrapinghub-aeb": ("6a72de37e8f98f4eee6c0821e593b35ce536cef6c8b424c5e1dd747ebe6621ba",
                        "b3c19dd5f0612d098788fa5173e491b3280da6226b492f8fe110f4ab1896cca8",
                        "f6ac15a4d98511396da23e4428deb5605422b1c8bbc8284e771f6896bdccf57f"),
    "fundus-testdata": ("de/BusinessInsiderDE_2024_01_29.html.gz", "de/Focus_2023_04_28.html.gz",
                        "de/ZDF_2024_04_22.html.gz", "es/MallorcaMagazin_2025_04_16.html.gz",
                        "ind/TimesOfIndia_2024_09_02.html.gz", "ind/TimesOfIndia_2026_04_16.html.gz",
                        "tr/AnadoluAjansi_2026_04_20.html.gz", "uk/Nature_2025_11_04.html.gz",
                        "us/WashingtonTimes_2023_04_28.html.gz"),
    "trafilatura-eval": (
        "http://bummfilm.de/page/index.php?scroll=%DCber",
        "http://www.parcoabruzzo.it/dettaglio.php?id=58354",
        "http://www.villacc.de/ferienvilla/119/Villa-Galaxy",
        "https://economictimes.indiatimes.com/tech/hardware/the-iphone-se-is-in-india-heres-all-we-know/"
        "not-a-flagship/slideshow/76280131.cms",
        "https://security.googleblog.com/2020/05/enhanced-safe-browsing-protection-now.html",
        "https://stardewvalleywiki.com/Penny",
        "https://wiadomosci.gazeta.pl/wiadomosci/7,114883,27025667,"
        "ziemniaki-na-szostej-surowka-na-dziesiatej-jak-pomoc-zeby.html#s=BoxMMt2",
        "https://www.axios.com/newsletters/axios-future-7120a6cf-cf67-4e01-9f15-f73f114e8d27.html",
        "https://www.dw.com/fr/la-perte-des-terres-fertiles-et-les-%C3%A9l%C3%A9phants-en-guin%C3%A9e-conakry/a-6533123",
        "https://www.fifplay.com/fifa-21-game-settings/",
        "https://www.independent.co.uk/news/uk/politics/coronavirus-false-reporting-contact-fine-penalty-b671230.html",
        "https://www.popsugar.co.uk/smart-living/Cheap-Homemade-Halloween-Costumes-42432483/amp",
        "https://www.vergleich.de/auto-leasen-finanzieren-oder-kaufen.html",
        "https://www.emotion.de/psychologie-partnerschaft/persoenlichkeit/"
        "selfcare-fuer-faule-99-wege-dein-selbstbewusstsein-aufzupaeppeln",
    ),
}


def _text_or_skip(html: bytes, url: str) -> str:
    try:
        return extract_article(html, url).text
    except extract.ExtractionSkip as skip:
        return f"skip: {skip.reason}"


def _comparison_change_inputs() -> tuple[list[dict], list[tuple[bytes, str]]]:
    base = require(shared_dir() / "corpus" / "extraction", "the shared extraction corpus")
    rows = [json.loads(line) for line in (base / "manifest.jsonl").read_text(encoding="utf-8").splitlines()]
    pages = [row for row in rows if row["id"] in COMPARISON_CHANGES.get(row["dataset"], ())]
    assert len(pages) == sum(len(ids) for ids in COMPARISON_CHANGES.values())
    inputs = [(gzip.decompress(raw) if (raw := (base / row["html"]).read_bytes())[:2] == b"\x1f\x8b" else raw,
               row.get("url") if (row.get("url") or "").startswith("http") else "") for row in pages]
    return pages, inputs


def test_corpus_pages_the_comparison_changes_get_the_same_text_as_with_the_comparison_on_every_page(monkeypatch):
    pages, inputs = _comparison_change_inputs()
    gated = [_text_or_skip(html, url) for html, url in inputs]
    monkeypatch.setattr(extract, "_comparison_may_change", lambda *args: True)
    always = [_text_or_skip(html, url) for html, url in inputs]
    assert [row["id"] for row, a, b in zip(pages, gated, always, strict=True) if a != b] == []


def test_with_the_gate_open_our_pages_get_exactly_trafilaturas_own_extract_and_compare_step(monkeypatch):
    # The gate re-states trafilatura's step (main extractor, then the comparison) to skip the comparison's
    # tree copy; opened on every page it must give what trafilatura's own step gives, on the corpus pages
    # whose text the comparison changes.
    pages, inputs = _comparison_change_inputs()
    monkeypatch.setattr(extract, "_comparison_may_change", lambda *args: True)
    through_the_gate = [_text_or_skip(html, url) for html, url in inputs]

    class NotOurs:  # trafilatura's own step runs for options that are not ours
        pass

    monkeypatch.setattr(extract, "_options_class", lambda: NotOurs)
    own_step = [_text_or_skip(html, url) for html, url in inputs]
    assert [row["id"] for row, a, b in zip(pages, through_the_gate, own_step, strict=True) if a != b] == []


def test_the_warm_extraction_server_loads_justexts_stoplists_before_any_worker_needs_them(monkeypatch):
    import trafilatura.external

    from newsmon.app.stages.page_work import warm_up

    monkeypatch.setattr(trafilatura.external, "JT_STOPLIST", None)
    warm_up()
    assert trafilatura.external.JT_STOPLIST, "each worker would build justext's stoplists on its first doubtful page"
