"""The desk's pages and JSON over the fixture store, served alone on loopback (Airflow's sign-in replaced)."""

from __future__ import annotations

import re

import httpx
import pytest
from desk_data import DEAD_SMTP, DESK_NOW
from desk_server import serve_desk

from newsmon.core.channel_urls import describe_channel
from newsmon.core.settings import load_settings


def get(desk, path: str, **kwargs) -> httpx.Response:
    return httpx.get(f"{desk.url}{path}", timeout=30, **kwargs)


def stories(desk, **params) -> list[dict]:
    reply = get(desk, "/api/search", params=params)
    assert reply.status_code == 200, reply.text
    return reply.json()["stories"]


def story_rows(html: str) -> list[str]:
    return re.findall(r'<li class="story" data-story="([^"]+)">', html)


# ---------------------------------------------------------------- search


def test_searching_without_diacritics_finds_the_story_written_with_them(desk):
    (story,) = stories(desk, q="salcininkai")
    assert "Šalčininkai" in " ".join(c["snippet"] for c in story["copies"])
    page = get(desk, "/", params={"q": "salcininkai"}).text
    assert "<mark>Šalčininkai</mark>" in page


def test_two_outlets_copies_of_one_story_are_one_row_naming_both_outlets(desk):
    (story,) = stories(desk, q="medininkai balloons", lang="en")
    assert story["outlets"] == ["Baltic Wire", "North Daily"] and story["size"] == 2
    assert [(c["outlet"], c["language"], c["affiliation"]) for c in story["copies"]] == [
        ("Baltic Wire", "en", "wire"), ("North Daily", "en", "international")]
    html = get(desk, "/", params={"q": "medininkai balloons", "lang": "en"}).text
    assert story_rows(html) == [story["key"]]
    assert html.count('<span class="outlet">') == 2


@pytest.mark.parametrize(("params", "outlets"), [
    ({"lang": "lt"}, {"Pasienio žinios"}),
    ({"source": "minsk-herald"}, {"Minsk Herald"}),
    ({"affiliation": "state_controlled"}, {"Minsk Herald"}),
    ({"affiliation": "public_broadcaster", "on_topic": "true"}, {"Pasienio žinios"}),
    ({"subtopic": "airspace", "lang": "en"}, {"Baltic Wire", "North Daily"}),
    ({"entity": "place/ashmyany"}, {"Baltic Wire", "North Daily"}),
    ({"entity": "place/minsk place/kuznica"}, set()),
    ({"entity": "place/minsk place/vilnius"}, {"Baltic Wire", "North Daily", "Minsk Herald"}),
    ({"since": "2026-11-20T07:00:00Z"}, {"Minsk Herald", "Tydzień Wileński"}),
])
def test_each_filter_of_the_search_form_narrows_the_stories(desk, params, outlets):
    found = stories(desk, **params)
    assert {o for s in found for o in s["outlets"]} == outlets


def test_a_relative_since_counts_back_from_the_desks_clock(desk):
    # The desk's clock is three hours after the fixture's pipeline ran: 6h reaches the articles of that morning.
    assert {o for s in stories(desk, since="6h") for o in s["outlets"]} == {"Minsk Herald", "Pasienio žinios",
                                                                            "Tydzień Wileński"}


def test_an_empty_query_lists_the_newest_stories_first(desk):
    found = stories(desk)
    dates = [s["copies"][0]["published_at"] or "" for s in found]
    assert len(found) == 5 and dates[1:] == sorted(dates[1:], reverse=True)
    assert found[0]["copies"][0]["published_at"] is None  # undated: counted from when it was fetched, the latest


def test_pages_of_stories_link_to_each_other_and_keep_the_filters(desk):
    one = get(desk, "/api/search", params={"lang": "en", "per_page": 1}).json()
    two = get(desk, "/api/search", params={"lang": "en", "per_page": 1, "page": 2}).json()
    assert (len(one["stories"]), len(two["stories"]), one["has_next"], two["has_next"]) == (1, 1, True, False)
    assert one["stories"][0]["key"] != two["stories"][0]["key"]
    assert 'rel="next"' not in get(desk, "/", params={"lang": "en"}).text  # two English stories fit one page
    paged = get(desk, "/", params={"lang": "en", "sort": "date", "page": 2}).text
    assert 'href="/?lang=en&amp;sort=date&amp;page=1"' in paged and story_rows(paged) == []


def test_a_query_the_grammar_refuses_is_explained_on_the_page_and_as_json(desk):
    page = get(desk, "/", params={"q": '"unclosed phrase'})
    assert page.status_code == 400 and "unbalanced quote" in page.text
    assert '"unclosed phrase' in page.text.replace("&#34;", '"')  # the form keeps what was typed
    api = get(desk, "/api/search", params={"q": "author:x"})
    assert api.status_code == 400 and "unknown field 'author'" in api.json()["detail"]
    assert get(desk, "/api/search", params={"since": "yesterday"}).json()["detail"].startswith("since: ")


def test_snippet_highlights_in_json_are_offsets_into_the_plain_snippet(desk):
    (story,) = stories(desk, q="salcininkai")
    lead = story["copies"][0]
    assert "\x02" not in lead["snippet"] and lead["highlights"]
    assert {lead["snippet"][a:b] for a, b in lead["highlights"]} == {"Šalčininkai"}


# ---------------------------------------------------------------- story


def test_the_story_page_lists_every_member_and_why_each_was_tagged(desk):
    (found,) = stories(desk, q="medininkai balloons", lang="en")
    story = get(desk, f"/api/stories/{found['key']}").json()
    assert [(m["outlet"], m["language"], m["published_at"]) for m in story["members"]] == [
        ("Baltic Wire", "en", "2026-11-19T18:40:00Z"), ("North Daily", "en", "2026-11-19T21:05:00Z")]
    why = story["members"][0]["explanation"]
    assert why["on_topic"] and why["summary"].startswith("on topic (relevance")
    medininkai = next(e for e in why["evidence"] if e["term"] == "Medininkai")
    assert (medininkai["label"], medininkai["first"]["field"], medininkai["first"]["surface"]) == (
        "Lithuania side", "title", "Medininkai")
    html = get(desk, f"/story/{found['key']}").text
    assert "Why these were tagged" in html and "<mark>Medininkai</mark>" in html
    assert html.count('<tr id="member-') == 2


def test_one_event_in_three_languages_is_one_row_and_its_page_lists_the_members_by_language(desk_translations):
    desk = desk_translations
    (row,) = stories(desk, q="salcininkai")  # only the English report writes the word so
    assert row["size"] == 3 and row["languages"] == ["en", "lt", "ru"] and row["story_id"] == row["key"]
    assert [(c["outlet"], c["language"], c["matched"]) for c in row["copies"]] == [
        ("wire", "en", True), ("lrt", "lt", False), ("belta", "ru", False)]
    story = get(desk, f"/api/stories/{row['key']}").json()
    assert [m["language"] for m in story["members"]] == ["lt", "en", "ru"]  # oldest first
    assert [(g["language"], [(o["outlet"], o["group"]) for o in g["outlets"]]) for g in story["by_language"]] == [
        ("lt", [("lrt", "public broadcaster")]), ("en", [("wire", "international")]),
        ("ru", [("belta", "state-controlled")])]  # one each: in the order the story reached them
    assert all(m["explanation"]["evidence"] for m in story["members"])
    page = get(desk, f"/story/{row['key']}").text
    assert page.count('<tbody class="language"') == 3 and page.count('<tr id="member-') == 3


def test_an_unknown_story_is_a_404_page_and_a_404_answer(desk):
    assert get(desk, "/story/0123abcd").status_code == 404
    assert get(desk, "/api/stories/0123abcd").status_code == 404
    assert get(desk, "/api/stories/not%20a%20key").status_code == 404


# ---------------------------------------------------------------- alerts and feeds


def test_the_alerts_page_shows_the_rules_what_they_fired_and_the_failed_and_pending_outbox(desk):
    alerts = get(desk, "/api/alerts").json()
    rules = {r["name"]: r for r in alerts["rules"]}
    assert list(rules) == ["checkpoints", "balloons", "polish press", "astravets"]
    assert (rules["checkpoints"]["fired_recently"], rules["balloons"]["fired_recently"]) == (2, 2)
    assert rules["balloons"]["channels"] == [describe_channel(DEAD_SMTP)]
    assert not rules["astravets"]["enabled"]
    assert alerts["totals"] == {"failed": 2, "pending": 1, "sent": 2}
    assert {i["rule"] for i in alerts["failed"]} == {"balloons"}
    assert all("Connection refused" in i["last_error"] for i in alerts["failed"])
    assert [i["rule"] for i in alerts["pending"]] == ["polish press"]
    html = get(desk, "/alerts").text
    assert html.count('id="retry-') == 2 and "127.0.0.1:9" not in html  # channels shown without their address


def test_a_rule_whose_channel_has_its_own_quiet_hours_is_listed_with_that_channel(desk):
    rules = {r["name"]: r for r in get(desk, "/api/alerts").json()["rules"]}
    assert rules["astravets"]["channels"] == ["file:alerts.jsonl"]


def test_every_alert_on_the_alerts_page_links_to_the_story_it_was_about(desk):
    alerts = get(desk, "/api/alerts").json()
    items = [*alerts["failed"], *alerts["pending"], *(e for r in alerts["rules"] for e in r["latest"])]
    assert items
    for item in items:
        story = get(desk, f"/api/stories/{item['story_key']}")
        assert story.status_code == 200, item
        assert item["title"] in {m["title"] for m in story.json()["members"]}


def test_the_retry_button_queues_a_failed_alert_again_and_htmx_gets_the_new_row(desk_copy):
    failed = get(desk_copy, "/api/alerts").json()["failed"][0]
    row = httpx.post(f"{desk_copy.url}/alerts/{failed['id']}/retry", headers={"HX-Request": "true"})
    assert row.status_code == 200 and row.text.startswith(f'<tr id="outbox-{failed["id"]}" class="status-pending">')
    assert 'id="retry-' not in row.text
    after = get(desk_copy, "/api/alerts").json()
    assert failed["id"] in [i["id"] for i in after["pending"]] and after["totals"]["failed"] == 1
    (pending,) = [i for i in after["pending"] if i["id"] == failed["id"]]
    assert pending["attempts"] == 0


def test_retry_without_javascript_goes_back_to_the_alerts_page_and_the_api_says_what_it_did(desk_copy):
    first, second = (i["id"] for i in get(desk_copy, "/api/alerts").json()["failed"])
    form = httpx.post(f"{desk_copy.url}/alerts/{first}/retry")
    assert form.status_code == 303 and form.headers["location"] == "/alerts"
    api = httpx.post(f"{desk_copy.url}/api/alerts/{second}/retry").json()
    assert (api["queued"], api["item"]["status"]) == (1, "pending")
    again = httpx.post(f"{desk_copy.url}/api/alerts/{second}/retry").json()
    assert (again["queued"], again["item"]["status"]) == (0, "pending")  # only failed alerts are queued again
    assert httpx.post(f"{desk_copy.url}/api/alerts/99999/retry").status_code == 404


def test_a_reader_who_may_not_change_dag_runs_sees_no_retry_button_and_is_refused(desk_copy):
    desk_copy.reader.may_retry = False
    failed = get(desk_copy, "/api/alerts").json()["failed"][0]
    assert 'id="retry-' not in get(desk_copy, "/alerts").text
    refused = httpx.post(f"{desk_copy.url}/api/alerts/{failed['id']}/retry")
    assert refused.status_code == 403 and "newsmon_ingest" in refused.json()["detail"]
    assert get(desk_copy, "/api/alerts").json()["totals"]["failed"] == 2


def test_a_retry_posted_from_another_sites_page_is_refused(desk_copy):
    failed = get(desk_copy, "/api/alerts").json()["failed"][0]
    refused = httpx.post(f"{desk_copy.url}/alerts/{failed['id']}/retry", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    assert get(desk_copy, "/api/alerts").json()["totals"]["failed"] == 2


def test_the_feeds_page_shows_health_failures_backoff_moves_and_gone_feeds(desk):
    feeds = {f["id"]: f for f in get(desk, "/api/feeds").json()["feeds"]}
    assert feeds["baltic-wire"]["health"] == "ok" and feeds["baltic-wire"]["items_per_day"] == 11.5
    assert feeds["north-daily"]["moved_to"] == "https://demo.newsmon.example/north-daily/feed/rss.xml"
    assert (feeds["minsk-herald"]["health"], feeds["minsk-herald"]["failures"]) == ("failing x3", 3)
    assert feeds["old-gazette"]["gone"] and "410 Gone" in feeds["old-gazette"]["last_error"]
    assert {i: f["verdict"] for i, f in feeds.items() if f["verdict"] != "ok"} == {
        "north-daily": "moved", "minsk-herald": "failing", "broken": "failing", "old-gazette": "gone"}
    assert "permanent redirect" in feeds["north-daily"]["why"]
    html = get(desk, "/feeds").text
    assert html.count('<tr id="feed-') == 8 and "backing off" in html and ">gone<" in html and ">moved<" in html


# ---------------------------------------------------------------- sign-in, assets, the API description


def test_signed_out_pages_go_to_the_login_form_and_the_api_answers_401(desk_copy):
    desk_copy.reader = None
    page = get(desk_copy, "/alerts")
    assert page.status_code == 303 and page.headers["location"] == f"/auth/login?next={desk_copy.url}/alerts"
    api = get(desk_copy, "/api/search", params={"q": "x"})
    assert api.status_code == 401 and api.headers["www-authenticate"] == "Bearer"
    # A refused button sends the reader back to the page it was on, not to the POST's URL.
    post = httpx.post(f"{desk_copy.url}/alerts/1/retry", headers={"Referer": f"{desk_copy.url}/alerts"})
    assert post.status_code == 303 and post.headers["location"] == f"/auth/login?next={desk_copy.url}/alerts"


def test_assets_come_from_the_package_and_pages_link_them_under_the_desks_prefix(desk):
    page = get(desk, "/").text
    for asset in ("desk.css", "htmx.min.js", "desk.svg"):
        assert f'"/static/{asset}"' in page
        assert get(desk, f"/static/{asset}").status_code == 200
    assert "https://" not in re.sub(r'href="https://[^"]*"', "", page.split("<main>")[0])  # nothing from a CDN


def test_the_json_views_are_described_by_openapi_and_on_the_api_page(desk):
    spec = get(desk, "/openapi.json").json()
    assert set(spec["paths"]) == {"/api/search", "/api/stories/{key}", "/api/alerts", "/api/alerts/{outbox_id}/retry",
                                  "/api/feeds"}
    search = spec["paths"]["/api/search"]["get"]
    assert {p["name"] for p in search["parameters"]} >= {"q", "since", "lang", "source", "affiliation", "subtopic",
                                                         "entity", "on_topic", "page"}
    assert search["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/SearchResult")
    docs = get(desk, "/docs").text
    assert "/api/alerts/{outbox_id}/retry" in docs and 'href="/openapi.json"' in docs
    assert "cdn" not in docs.lower() and "swagger" not in docs.lower()  # rendered here, nothing fetched


def test_a_state_db_that_cannot_be_opened_is_a_503_page_and_answer_naming_the_setting(desk_store, tmp_path):
    broken = load_settings(home=tmp_path, config_dir=desk_store.config_path, state_dir=tmp_path,
                           state_url=f"sqlite:///{tmp_path}", search_backend="sqlite")  # a folder, not a file
    served = serve_desk(broken, lambda: DESK_NOW)
    try:
        page = get(served, "/", params={"q": "salcininkai"})
        assert page.status_code == 503 and "is not usable" in page.text and "NEWSMON_STATE_URL" in page.text
        api = get(served, "/api/feeds")
        assert api.status_code == 503 and "is not usable" in api.json()["detail"]
    finally:
        served.stop()
