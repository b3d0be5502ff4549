"""Markup in titles, article text (snippets), outlet names, alert titles and feed errors is shown as text everywhere.

Publishers and feed servers write those texts; on the desk they must never become tags, scripts or links.
Every page is read as HTML (escaped) and in a real browser (shown as the characters, no element made of
them); every JSON view returns them unchanged, as data.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from desk_data import BAD_URL, FEED_ERROR, OUTLET, TITLE, UNTRUSTED, build_hostile_store
from desk_server import serve_desk
from markupsafe import escape
from selenium.webdriver.common.by import By

from newsmon.app.desk.views import MARK_CLOSE, MARK_OPEN


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    import desk_data

    served = serve_desk(build_hostile_store(tmp_path_factory.mktemp("hostile")), lambda: desk_data.DESK_NOW)
    yield served
    served.stop()


def pages(hostile) -> dict[str, str]:
    (story,) = httpx.get(f"{hostile.url}/api/search", params={"q": "salcininkai"}).json()["stories"]
    return {"search": "/?q=salcininkai", "newest": "/", "story": f"/story/{story['key']}", "alerts": "/alerts",
            "feeds": "/feeds"}


def test_every_page_escapes_the_markup_of_titles_snippets_outlets_alerts_and_feed_errors(hostile):
    shown = {name: httpx.get(f"{hostile.url}{path}").text for name, path in pages(hostile).items()}
    for name, page in shown.items():
        for text in UNTRUSTED:
            assert text not in page, f"{name} page holds raw markup {text!r}"
        assert page.count("<script") == 1, f"{name} page runs a script besides htmx"
        assert "<iframe" not in page and "<img" not in page and "javascript:" not in page, name
    expected = {"search": (TITLE, OUTLET), "newest": (TITLE, OUTLET), "story": (TITLE, OUTLET),
                "alerts": (TITLE,), "feeds": (OUTLET, FEED_ERROR)}
    for name, texts in expected.items():
        for text in texts:
            assert str(escape(text)) in shown[name], f"{name} lacks {text!r} as text"


def test_the_browser_shows_the_markup_as_characters_and_builds_no_element_from_it(hostile, chromium):
    for name, path in pages(hostile).items():
        chromium.get(f"{hostile.url}{path}")
        body = chromium.find_element(By.TAG_NAME, "main")
        assert chromium.find_elements(By.CSS_SELECTOR, "main script, main img, main iframe, main b, main i") == [], name
        links = [a.get_attribute("href") or "" for a in body.find_elements(By.TAG_NAME, "a")]
        assert not [link for link in links if link.startswith("javascript:")], name
        text = body.text
        if name in ("search", "newest", "story", "alerts"):
            assert '<script>alert("title")</script>' in text, name
        if name in ("search", "newest", "story", "feeds"):
            assert OUTLET in text, name
        if name == "feeds":
            assert FEED_ERROR in text


def test_the_json_views_return_the_untrusted_texts_unchanged_as_data(hostile):
    (story,) = httpx.get(f"{hostile.url}/api/search", params={"q": "salcininkai"}).json()["stories"]
    assert story["title"] == TITLE and story["outlets"] == [OUTLET]
    lead = story["copies"][0]
    assert "<i>checkpoint</i>" in lead["snippet"] and not {MARK_OPEN, MARK_CLOSE} & set(lead["snippet"])
    assert {lead["snippet"][a:b] for a, b in lead["highlights"]} == {"Šalčininkai"}
    full = httpx.get(f"{hostile.url}/api/stories/{story['key']}").json()
    assert {m["title"] for m in full["members"]} == {TITLE} and {m["url"] for m in full["members"]} >= {BAD_URL}
    alerts = httpx.get(f"{hostile.url}/api/alerts").json()
    assert {item["title"] for item in alerts["failed"]} == {TITLE}
    (feed,) = httpx.get(f"{hostile.url}/api/feeds").json()["feeds"]
    assert (feed["name"], feed["last_error"]) == (OUTLET, FEED_ERROR)
    reply = httpx.get(f"{hostile.url}/api/feeds")
    assert reply.headers["content-type"] == "application/json"
