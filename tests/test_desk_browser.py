"""A real headless Chromium reads the desk: search, a story, the retry button, feeds; and signs in through Airflow.

The pages of the desk alone (fixed clock, fixed store, fixed window) are the screenshots of docs/desk.md:
the run writes docs/desk/*.png, and an unchanged desk leaves them byte-for-byte the same.
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

import httpx
from desk_server import PASSWORD
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

SHOTS = Path(__file__).resolve().parents[1] / "docs" / "desk"
WIDTH, MIN_HEIGHT, MAX_HEIGHT = 1280, 720, 2400


def wait(driver, condition, timeout_s: float = 20):
    return WebDriverWait(driver, timeout_s).until(condition)


def _viewport(driver, height: int) -> None:
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                           {"width": WIDTH, "height": height, "deviceScaleFactor": 1, "mobile": False})


def _capture(driver, height: int) -> bytes:
    """A PNG of the page in a WIDTH x height viewport."""
    _viewport(driver, height)
    try:
        shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return base64.b64decode(shot["data"])


def shoot(driver, name: str) -> None:
    """The whole page (up to MAX_HEIGHT) at a fixed width into docs/desk/<name>.png."""
    # Measured in a viewport of known size: the page's height counts the viewport's, which the window
    # (or the last shot) may have left taller, and the picture would change from run to run.
    _viewport(driver, MIN_HEIGHT)
    height = driver.execute_script("return document.documentElement.scrollHeight")
    png = _capture(driver, max(MIN_HEIGHT, min(MAX_HEIGHT, int(height))))
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / f"{name}.png").write_bytes(png)


def shoot_viewport(driver, name: str) -> None:
    """The window as it is (Airflow's UI scrolls inside its frame, so a taller page shows nothing more)."""
    png = _capture(driver, MIN_HEIGHT)
    # Airflow's own UI draws a few pixels differently on every run: the picture is rewritten only when
    # it is missing or asked for, so a test run leaves the checkout clean.
    target = SHOTS / f"{name}.png"
    if not target.exists() or os.environ.get("NEWSMON_DESK_AIRFLOW_SHOTS") == "1":
        target.write_bytes(png)


def rows(driver) -> list:
    return driver.find_elements(By.CSS_SELECTOR, "li.story")


def search(driver, url: str, q: str) -> None:
    driver.get(f"{url}/")
    box = wait(driver, EC.presence_of_element_located((By.NAME, "q")))
    box.clear()
    box.send_keys(q)
    driver.find_element(By.CSS_SELECTOR, "form.search button[type=submit]").click()
    wait(driver, EC.url_contains("q="))


# ---------------------------------------------------------------- the desk alone


def test_searching_salcininkai_in_the_browser_finds_the_story_spelled_with_diacritics(chromium, desk):
    search(chromium, desk.url, "salcininkai")
    (row,) = rows(chromium)
    assert row.find_element(By.TAG_NAME, "h2").text == "Lithuania shuts Medininkai crossing after balloon incursions from Belarus"
    assert [m.text for m in row.find_elements(By.TAG_NAME, "mark")] == ["Šalčininkai"]
    chromium.execute_script("document.activeElement.blur()")
    shoot(chromium, "search")


def test_a_story_with_two_copies_shows_as_one_row_with_two_outlets_and_its_page_lists_both(chromium, desk):
    search(chromium, desk.url, "medininkai balloons")
    (row,) = [r for r in rows(chromium) if "Medininkai" in r.find_element(By.TAG_NAME, "h2").text]
    copies = row.find_elements(By.CSS_SELECTOR, "ul.copies li")
    assert [c.find_element(By.CLASS_NAME, "outlet").text for c in copies] == ["Baltic Wire", "North Daily"]
    assert [c.find_element(By.CLASS_NAME, "lang").text for c in copies] == ["en", "en"]
    assert "2 articles from 2 outlets in en" in row.text
    row.find_element(By.CSS_SELECTOR, "h2 a").click()
    wait(chromium, EC.url_contains("/story/"))
    members = chromium.find_elements(By.CSS_SELECTOR, "table.members tbody tr")
    assert [m.find_element(By.CLASS_NAME, "outlet").text for m in members] == ["Baltic Wire", "North Daily"]
    why = chromium.find_element(By.CSS_SELECTOR, "details.why[open]")
    assert "Lithuania side" in why.text
    assert {"Lithuania", "Medininkai", "Belarus"} <= {m.text for m in why.find_elements(By.TAG_NAME, "mark")}
    shoot(chromium, "story")


def test_a_failed_alert_retried_from_the_alerts_page_is_pending_in_the_outbox(chromium, desk_copy):
    chromium.get(f"{desk_copy.url}/alerts")
    wait(chromium, lambda d: d.execute_script("return !!window.htmx"))  # the button posts through htmx
    shoot(chromium, "alerts")
    failed = chromium.find_elements(By.CSS_SELECTOR, "table#failed tbody tr")
    target = failed[0].get_attribute("id").removeprefix("outbox-")
    chromium.find_element(By.ID, f"retry-{target}").click()
    wait(chromium, EC.text_to_be_present_in_element((By.CSS_SELECTOR, f"#outbox-{target} td.status"), "pending"))
    assert chromium.current_url == f"{desk_copy.url}/alerts"  # only the row changed
    assert not chromium.find_elements(By.ID, f"retry-{target}")
    outbox = httpx.get(f"{desk_copy.url}/api/alerts").json()
    assert int(target) in [i["id"] for i in outbox["pending"]]
    chromium.refresh()
    wait(chromium, EC.presence_of_element_located((By.CSS_SELECTOR, f"table#pending #outbox-{target}")))


def test_the_feeds_page_shows_each_feeds_health_in_the_browser(chromium, desk):
    chromium.get(f"{desk.url}/feeds")
    health = {r.get_attribute("id"): r.find_element(By.CLASS_NAME, "health").text
              for r in chromium.find_elements(By.CSS_SELECTOR, "table.feeds tbody tr")}
    assert (health["feed-baltic-wire"], health["feed-minsk-herald"], health["feed-old-gazette"]) == ("ok", "failing x3", "gone")
    shoot(chromium, "feeds")


def test_the_api_page_renders_from_the_desk_itself(chromium, desk):
    chromium.get(f"{desk.url}/docs")
    paths = [p.text for p in chromium.find_elements(By.CSS_SELECTOR, "section.operation code.path")]
    assert "/api/alerts/{outbox_id}/retry" in paths and "/api/search" in paths
    shoot(chromium, "api")


def test_an_event_reported_in_three_languages_is_one_row_and_its_page_groups_them_by_language(chromium,
                                                                                            desk_translations):
    search(chromium, desk_translations.url, "salcininkai")
    (row,) = rows(chromium)
    copies = row.find_elements(By.CSS_SELECTOR, "ul.copies li")
    assert [c.find_element(By.CLASS_NAME, "lang").text for c in copies] == ["en", "lt", "ru"]
    assert "3 articles from 3 outlets in en, lt, ru" in row.text
    row.find_element(By.CSS_SELECTOR, "h2 a").click()
    wait(chromium, EC.url_contains("/story/"))
    groups = chromium.find_elements(By.CSS_SELECTOR, "table.members tbody.language")
    assert [g.get_attribute("data-language") for g in groups] == ["lt", "en", "ru"]
    shoot(chromium, "story-languages")


# ---------------------------------------------------------------- inside Airflow


def test_a_browser_without_a_session_is_refused_and_signs_in_through_airflows_form(chromium, airflow_desk):
    chromium.delete_all_cookies()
    chromium.get(f"{airflow_desk.url}/newsmon/alerts")
    wait(chromium, EC.url_contains("/auth/login?next="))  # refused: Airflow's own login form
    assert not chromium.find_elements(By.CSS_SELECTOR, "table.outbox")
    chromium.get(f"{airflow_desk.url}/newsmon/?q=salcininkai")
    wait(chromium, EC.presence_of_element_located((By.NAME, "username"))).send_keys("admin")
    chromium.find_element(By.NAME, "password").send_keys(PASSWORD)
    wait(chromium, EC.element_to_be_clickable((By.CSS_SELECTOR, "button[type=submit]"))).click()
    wait(chromium, EC.url_to_be(f"{airflow_desk.url}/newsmon/?q=salcininkai"))  # back where the reader was going
    assert "signed in as admin" in chromium.find_element(By.CSS_SELECTOR, "nav.top").text
    assert len(rows(chromium)) == 1


def test_the_desk_is_in_airflows_navigation_and_opens_inside_the_ui(chromium, airflow_desk):
    chromium.get(f"{airflow_desk.url}/")  # signed in by the test above
    link = wait(chromium, EC.presence_of_element_located((By.CSS_SELECTOR, "a[href$='/plugin/newsmon-desk']")))
    link.click()
    frame = wait(chromium, EC.presence_of_element_located((By.CSS_SELECTOR, "iframe[src*='newsmon/']")))
    chromium.switch_to.frame(frame)
    try:
        wait(chromium, EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Search"))
        chromium.switch_to.default_content()
        shoot_viewport(chromium, "in-airflow")
        chromium.switch_to.frame(frame)
        chromium.find_element(By.LINK_TEXT, "Feeds").click()
        wait(chromium, EC.text_to_be_present_in_element((By.TAG_NAME, "h1"), "Feeds"))
    finally:
        chromium.switch_to.default_content()
    wait(chromium, EC.url_contains("/plugin/newsmon-desk/newsmon/feeds"))  # the UI follows the desk's page
