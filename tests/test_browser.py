"""The headless browser the page tests use reaches loopback pages and resolves no outside name."""

from __future__ import annotations

import pytest
from selenium.common.exceptions import WebDriverException

from newsmon.app.demo.fixture_server import FixtureServer, Route

PAGE = "<html><head><title>Sveiki</title></head><body><h1>Šalčininkai</h1></body></html>"


def test_the_test_browser_renders_a_loopback_page_and_resolves_no_outside_name(chromium) -> None:
    with FixtureServer({"/hello.html": Route(PAGE.encode())}) as server:
        chromium.get(f"{server.base_url}/hello.html")
        assert chromium.title == "Sveiki"
        assert chromium.find_element("tag name", "h1").text == "Šalčininkai"
    with pytest.raises(WebDriverException, match="ERR_NAME_NOT_RESOLVED"):
        chromium.get("http://example.org/")
