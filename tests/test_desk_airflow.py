"""The desk inside a real `airflow api-server`: loaded from newsmon's entry point, Airflow's login in front of it."""

from __future__ import annotations

import httpx
import pytest

from newsmon import __version__


def bearer(airflow_desk, user: str = "admin") -> dict[str, str]:
    return {"Authorization": f"Bearer {airflow_desk.token(user)}"}


def test_the_plugin_is_loaded_from_newsmons_entry_point_and_linked_from_the_navigation(airflow_desk):
    plugins = httpx.get(f"{airflow_desk.url}/api/v2/plugins", headers=bearer(airflow_desk)).json()["plugins"]
    (desk,) = [p for p in plugins if p["name"] == "newsmon_desk"]
    assert desk["source"].startswith(f"newsmon=={__version__}")
    assert desk["fastapi_apps"][0]["url_prefix"] == "/newsmon"
    assert desk["external_views"][0]["href"] == "newsmon/" and desk["external_views"][0]["url_route"] == "newsmon-desk"


@pytest.mark.parametrize("path", ["/newsmon/", "/newsmon/alerts", "/newsmon/feeds", "/newsmon/story/0123abcd"])
def test_a_page_without_a_session_is_refused_with_a_redirect_to_airflows_login_form(airflow_desk, path):
    reply = httpx.get(f"{airflow_desk.url}{path}")
    assert reply.status_code == 303
    login = httpx.URL(reply.headers["location"])
    assert login.path == "/auth/login" and login.params["next"] == f"{airflow_desk.url}{path}"
    assert "Not signed in" not in reply.text and "Šalčininkai" not in reply.text


@pytest.mark.parametrize("path", ["/newsmon/api/search?q=salcininkai", "/newsmon/api/alerts", "/newsmon/api/feeds"])
def test_the_json_api_refuses_a_request_without_a_token_and_one_with_a_forged_token(airflow_desk, path):
    plain = httpx.get(f"{airflow_desk.url}{path}")
    assert plain.status_code == 401 and plain.json() == {"detail": "Not signed in to Airflow"}
    forged = httpx.get(f"{airflow_desk.url}{path}", cookies={"_token": "not-a-jwt"})
    assert forged.status_code == 401
    assert httpx.post(f"{airflow_desk.url}/newsmon/api/alerts/1/retry").status_code == 401


def test_a_token_from_airflows_login_opens_the_api_and_as_the_ui_cookie_the_pages(airflow_desk):
    token = airflow_desk.token()
    (story,) = httpx.get(f"{airflow_desk.url}/newsmon/api/search", params={"q": "salcininkai"},
                         headers={"Authorization": f"Bearer {token}"}).json()["stories"]
    assert story["outlets"] == ["Baltic Wire", "North Daily"]
    page = httpx.get(f"{airflow_desk.url}/newsmon/", params={"q": "salcininkai"}, cookies={"_token": token})
    assert page.status_code == 200 and "signed in as admin" in page.text
    # Links and assets carry the mount prefix; assets need no session.
    assert 'href="/newsmon/static/desk.css"' in page.text and f'href="/newsmon/story/{story["key"]}"' in page.text
    assert httpx.get(f"{airflow_desk.url}/newsmon/static/htmx.min.js").status_code == 200


def test_a_viewer_may_read_the_desk_but_not_retry_an_alert_and_an_admins_retry_leaves_it_pending(airflow_desk):
    viewer, admin = bearer(airflow_desk, "reader"), bearer(airflow_desk)
    failed = httpx.get(f"{airflow_desk.url}/newsmon/api/alerts", headers=viewer).json()["failed"]
    target = failed[-1]["id"]
    refused = httpx.post(f"{airflow_desk.url}/newsmon/api/alerts/{target}/retry", headers=viewer)
    assert refused.status_code == 403 and "newsmon_ingest" in refused.json()["detail"]
    done = httpx.post(f"{airflow_desk.url}/newsmon/api/alerts/{target}/retry", headers=admin)
    assert done.status_code == 200 and done.json()["item"]["status"] == "pending"


def test_the_api_description_is_served_under_the_prefix_without_a_session(airflow_desk):
    spec = httpx.get(f"{airflow_desk.url}/newsmon/openapi.json").json()
    assert spec["servers"] == [{"url": "/newsmon"}] and "/api/search" in spec["paths"]
    assert 'href="/newsmon/openapi.json"' in httpx.get(f"{airflow_desk.url}/newsmon/docs").text


def test_the_desks_address_without_its_trailing_slash_leads_to_the_desk_not_to_airflows_page(airflow_desk):
    reply = httpx.get(f"{airflow_desk.url}/newsmon", params={"q": "salcininkai"})
    assert reply.status_code == 308 and reply.headers["location"] == "/newsmon/?q=salcininkai"
    assert httpx.get(f"{airflow_desk.url}/newsmonx").status_code == 200  # other paths stay Airflow's
