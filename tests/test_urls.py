"""Canonical URLs: every address variant of one article gets one id; different articles never share one."""

from __future__ import annotations

import re

import pytest

from newsmon.ingest.urls import UrlError, article_id, canonical_url

LRT = "https://www.lrt.lt/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai"
DELFI = "https://www.delfi.lt/news/daily/lithuania/balionai-uzdare-vilniaus-oro-uosta.d?id=97654321"
BELTA = "https://www.belta.by/politics/view/lukashenko-o-granitse-s-litvoj-712345-2025/"
REUTERS = "https://www.reuters.com/world/europe/lithuania-closes-belarus-border-after-balloons-2025-10-27/"


def same_id(a: str, b: str) -> bool:
    return article_id(canonical_url(a)) == article_id(canonical_url(b))


@pytest.mark.parametrize(
    ("variant", "base"),
    [
        (LRT + "?utm_source=facebook&utm_medium=social&utm_campaign=share", LRT),
        (LRT + "?fbclid=IwAR3xYz", LRT),
        (LRT + "#comments", LRT),
        ("https://www.lrt.lt:443/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai", LRT),
        ("http://www.lrt.lt/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai", LRT),
        ("https://lrt.lt/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai", LRT),
        ("https://m.lrt.lt/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai", LRT),
        (LRT + "/amp", LRT),
        (LRT + "/", LRT),
        ("https://WWW.LRT.LT/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai", LRT),
        (
            "https://www-lrt-lt.cdn.ampproject.org/c/s/www.lrt.lt/naujienos/lietuvoje/2/2712345/pasienyje-su-baltarusija-apgrezti-migrantai",
            LRT,
        ),
        (DELFI + "&utm_source=rss&utm_medium=feed", DELFI),
        ("https://m.delfi.lt/news/daily/lithuania/balionai-uzdare-vilniaus-oro-uosta.d?id=97654321", DELFI),
        (BELTA + "?print=1", BELTA),
        ("https://www.belta.by/politics/view/lukashenko-o-granitse-s-litvoj-712345-2025", BELTA),
        (REUTERS + "?taid=6720a1b2&utm_campaign=trueAnthem", REUTERS),
        ("https://tass.ru/mezhdunarodnaya-panorama/25512345?from=rss", "https://tass.ru/mezhdunarodnaya-panorama/25512345"),
        (
            "https://udf.name/news/main_news/232437-litovcy-na-video-zafiksirovali/amp.html",
            "https://udf.name/news/main_news/232437-litovcy-na-video-zafiksirovali",
        ),
        (
            "https://m.economictimes.com/nri/latest-updates/lithuanias-capital-airport-suspends-traffic/amp_articleshow/124733512.cms",
            "https://www.economictimes.com/nri/latest-updates/lithuanias-capital-airport-suspends-traffic/articleshow/124733512.cms",
        ),
        (
            "http://oklahoman.com/article/feed/10116510/belarus-opens-nuclear-plant?custom_click=rss&utm_source=feedburner",
            "https://www.oklahoman.com/article/feed/10116510/belarus-opens-nuclear-plant",
        ),
        (
            "https://lt.wikipedia.org/wiki/%C5%A0al%C4%8Dininkai",
            "https://lt.wikipedia.org/wiki/Šalčininkai",
        ),
    ],
)
def test_address_variants_of_one_article_get_one_id(variant: str, base: str) -> None:
    assert same_id(variant, base), (canonical_url(variant), canonical_url(base))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (LRT, LRT.replace("2712345", "2712346")),
        (DELFI, DELFI.replace("97654321", "97654322")),
        (LRT, "https://www.lrt.lt/en/news-in-english/19/2712345/pasienyje-su-baltarusija-apgrezti-migrantai"),
        (LRT, LRT.replace("www.lrt.lt", "www.lrt.by")),
        ("https://www.delfi.lt/article.php?id=87599619", "https://www.delfi.lt/article.php?id=87599620"),
        ("https://ru.delfi.lt/news/politics/x-95000001", "https://www.delfi.lt/news/politics/x-95000001"),
        ("https://www.15min.lt/naujiena/aktualu/lietuva/a-56-2450011", "https://www.15min.lt/naujiena/aktualu/lietuva/a-56-2450012"),
        ("https://example.com:8080/news/1", "https://example.com/news/1"),
    ],
)
def test_different_articles_never_share_an_id(a: str, b: str) -> None:
    assert not same_id(a, b), canonical_url(a)


def test_article_id_is_32_hex_digits_and_stable() -> None:
    identifier = article_id(canonical_url(LRT))
    assert re.fullmatch(r"[0-9a-f]{32}", identifier), identifier
    # The id is the search document's _id: if it changed between releases, every article would be indexed twice.
    assert identifier == "46bb1737a5412631e13118e8969cabfa"
    assert identifier == article_id(canonical_url(LRT + "?utm_source=x"))


def test_trustworthy_page_canonical_on_the_same_site_wins() -> None:
    fetched = "https://m.delfi.lt/lietuvoje/article.php?id=87599619"
    declared = "https://www.delfi.lt/news/daily/lithuania/migrantai-pasienyje.d?id=87599619"
    assert canonical_url(fetched, page_canonical=declared) == canonical_url(declared)


def test_page_canonical_pointing_at_the_home_page_is_ignored() -> None:
    assert canonical_url(LRT, page_canonical="https://www.lrt.lt/") == canonical_url(LRT)


def test_page_canonical_pointing_at_a_section_page_is_ignored() -> None:
    assert canonical_url(LRT, page_canonical="https://www.lrt.lt/naujienos/lietuvoje") == canonical_url(LRT)


def test_page_canonical_on_another_outlet_is_ignored_so_a_republisher_keeps_its_own_id() -> None:
    republished = "https://www.example-aggregator.com/world/lithuania-closes-border-123"
    assert canonical_url(republished, page_canonical=REUTERS) == canonical_url(republished)


def test_unusable_page_canonical_falls_back_to_the_fetched_url() -> None:
    assert canonical_url(LRT, page_canonical="javascript:void(0)") == canonical_url(LRT)


@pytest.mark.parametrize("bad", ["", "not a url", "ftp://files.example.com/a.txt", "mailto:desk@example.com"])
def test_non_http_urls_are_rejected_with_a_named_error(bad: str) -> None:
    with pytest.raises(UrlError, match="http"):
        canonical_url(bad)
