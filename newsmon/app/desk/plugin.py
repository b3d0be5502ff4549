"""The Airflow plugin: mounts the desk at /newsmon/ on the api-server and adds it to the UI's navigation."""

from __future__ import annotations

from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

from newsmon.app.desk.web import AddTrailingSlash, create_app

PREFIX = "/newsmon"


class NewsmonDeskPlugin(AirflowPlugin):
    """Registered through the `airflow.plugins` entry point in pyproject.toml: wherever newsmon is installed."""

    name = "newsmon_desk"
    fastapi_apps: ClassVar[list[dict[str, Any]]] = [{"app": create_app(), "url_prefix": PREFIX, "name": "newsmon desk"}]
    fastapi_root_middlewares: ClassVar[list[dict[str, Any]]] = [
        {"middleware": AddTrailingSlash, "kwargs": {"prefix": PREFIX}, "name": "newsmon desk: /newsmon → /newsmon/"}
    ]
    # With url_route the UI shows href in an iframe at /plugin/newsmon-desk and copies the iframe's path into
    # its own URL, so /plugin/newsmon-desk/newsmon/alerts is a link to the desk's alerts page inside the UI.
    external_views: ClassVar[list[dict[str, Any]]] = [
        {
            "name": "Desk",  # the side bar shows about 8 characters
            "href": "newsmon/",  # relative: the UI's <base href> is Airflow's base_url, with or without a path
            "url_route": "newsmon-desk",
            "destination": "nav",
            "icon": "newsmon/static/desk.svg",
        }
    ]
