"""`newsmon kibana import`: load kibana/newsmon.ndjson through Kibana's saved objects API and set Lucene defaults."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

from newsmon.core.errors import Unavailable, UserError
from newsmon.core.settings import PROJECT_ROOT, Settings
from newsmon.store.elastic import redact_url

DEFAULT_NDJSON = PROJECT_ROOT / "kibana" / "newsmon.ndjson"
KIBANA_TIMEOUT_S = 30.0
# Advanced settings so the Lucene bar behaves like `newsmon search` and alert rules: all words must match.
ADVANCED_SETTINGS = {
    "search:queryLanguage": "lucene",
    "query:queryString:options": json.dumps({"default_operator": "AND", "analyze_wildcard": True}),
    "defaultIndex": "newsmon-articles",
}


class KibanaError(UserError):
    """Kibana refused the request (credentials, URL, space, the objects themselves); the message says what to fix."""


class KibanaUnavailable(Unavailable):
    """Kibana could not be reached, timed out or failed on its side; the message says what to check."""


def register(p: argparse.ArgumentParser) -> None:
    actions = p.add_subparsers(dest="kibana_action", metavar="ACTION", required=True)
    imp = actions.add_parser("import", help="load the saved objects (overwriting earlier copies) and Lucene defaults")
    imp.add_argument("--file", type=Path, default=DEFAULT_NDJSON, help="NDJSON export to load (default: %(default)s)")
    imp.add_argument("--space", default=None, help="Kibana space id (default: the default space)")
    imp.add_argument("--no-settings", action="store_true",
                     help="do not set the advanced settings (Lucene bar, AND default operator, default data view)")
    imp.set_defaults(func=run)


def kibana_options(settings: Settings) -> tuple[str, dict[str, str], tuple[str, str] | None, str | bool]:
    """Base URL, headers, basic auth and TLS verification for Kibana; credentials fall back to the ES ones."""
    url = settings.kibana_url.rstrip("/")
    api_key = settings.kibana_api_key or settings.es_api_key
    username = settings.kibana_username or settings.es_username
    password = settings.kibana_password or settings.es_password
    ca_certs = settings.kibana_ca_certs or settings.es_ca_certs
    headers = {"kbn-xsrf": "newsmon"}
    auth = None
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    elif username and password:
        auth = (username, password)
    return url, headers, auth, str(ca_certs) if ca_certs else True


def run(args: argparse.Namespace, settings: Settings) -> int:
    path: Path = args.file
    try:
        payload = path.read_bytes()
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}; pass --file with a Kibana NDJSON export") from exc
    url, headers, auth, verify = kibana_options(settings)
    base = f"{url}/s/{args.space}" if args.space else url
    with httpx.Client(headers=headers, auth=auth, verify=verify, timeout=KIBANA_TIMEOUT_S) as client:
        result = _import(client, base, path.name, payload)
        if not args.no_settings:
            _settings(client, base)
    counts = Counter(item.get("type", "?") for item in result.get("successResults", []))
    print(f"imported {result.get('successCount', 0)} saved object(s) into {base}: "
          + ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())))
    if not args.no_settings:
        print("advanced settings: Lucene query bar, default operator AND, default data view newsmon-articles")
    print(f"open {base}/app/dashboards#/view/newsmon-overview")
    return 0


def _request(client: httpx.Client, method: str, target: str, **kwargs: Any) -> httpx.Response:
    url = redact_url(target)  # for messages only
    try:
        response = client.request(method, target, **kwargs)
    except httpx.ConnectError as exc:
        raise KibanaUnavailable(f"cannot reach Kibana at {url}: {exc}; start it (docker compose up -d kibana), wait "
                                "until it is healthy, and check NEWSMON_KIBANA_URL") from exc
    except httpx.TimeoutException as exc:
        raise KibanaUnavailable(
            f"Kibana at {url} did not answer within {KIBANA_TIMEOUT_S:.0f}s; is it still starting?") from exc
    except httpx.HTTPError as exc:
        raise KibanaUnavailable(f"request to Kibana at {url} failed: {exc}") from exc
    if response.status_code in (401, 403):
        raise KibanaError(
            f"Kibana at {url} refused the credentials (HTTP {response.status_code}: {_message(response)}); set "
            "NEWSMON_KIBANA_USERNAME/NEWSMON_KIBANA_PASSWORD or NEWSMON_KIBANA_API_KEY (default: the NEWSMON_ES_* ones)"
        )
    if response.status_code == 404:
        raise KibanaError(f"Kibana has no {url} (HTTP 404): check NEWSMON_KIBANA_URL and --space")
    if response.status_code >= 500:
        raise KibanaUnavailable(f"Kibana at {url} failed with HTTP {response.status_code}: {_message(response)}; "
                                "check that it is healthy and try again")
    if response.status_code >= 400:
        raise KibanaError(f"Kibana at {url} answered HTTP {response.status_code}: {_message(response)}")
    return response


def _import(client: httpx.Client, base: str, filename: str, payload: bytes) -> dict[str, Any]:
    response = _request(client, "POST", f"{base}/api/saved_objects/_import", params={"overwrite": "true"},
                        files={"file": (filename, payload, "application/ndjson")})
    result = response.json()
    if not result.get("success", False):
        problems = [f"{e.get('type')}/{e.get('id')}: {e.get('error', {}).get('type', 'error')}"
                    f"{_missing(e.get('error', {}))}" for e in result.get("errors", [])]
        raise KibanaError(f"Kibana rejected {len(problems)} saved object(s): " + "; ".join(problems[:5]))
    return result


def _settings(client: httpx.Client, base: str) -> None:
    _request(client, "POST", f"{base}/api/kibana/settings", json={"changes": ADVANCED_SETTINGS})


def _missing(error: dict[str, Any]) -> str:
    refs = [f"{ref.get('type')}/{ref.get('id')}" for ref in error.get("references") or []]
    return f" (missing {', '.join(refs)})" if refs else ""


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    return str(body.get("message") or body.get("error") or body)[:300]
