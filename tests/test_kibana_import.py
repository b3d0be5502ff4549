"""`newsmon kibana import` against a loopback server answering like Kibana's saved objects and settings APIs."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Iterator
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from newsmon.app.cli import main

NDJSON = Path(__file__).resolve().parents[1] / "kibana" / "newsmon.ndjson"


class FakeKibanaReplies:
    """Recorded requests and the replies to give, per path."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.replies: dict[str, tuple[int, Any]] = {}


@pytest.fixture
def kibana(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeKibanaReplies]:
    state = FakeKibanaReplies()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            path, _, query = self.path.partition("?")
            state.requests.append({"path": path, "query": query, "headers": dict(self.headers), "body": body})
            status, payload = state.replies.get(path) or _default_reply(path, body, self.headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    monkeypatch.setenv("NEWSMON_KIBANA_URL", f"http://127.0.0.1:{server.server_address[1]}")
    monkeypatch.setenv("NEWSMON_ES_USERNAME", "elastic")
    monkeypatch.setenv("NEWSMON_ES_PASSWORD", "changeme-in-dotenv")
    yield state
    server.shutdown()
    server.server_close()


def _uploaded_file(body: bytes, headers: Any) -> bytes:
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + headers["Content-Type"].encode() + b"\r\n\r\n" + body)
    (part,) = list(message.iter_parts())
    assert part.get_param("name", header="content-disposition") == "file"
    return part.get_payload(decode=True)


def _default_reply(path: str, body: bytes, headers: Any) -> tuple[int, Any]:
    if path.endswith("/api/saved_objects/_import"):
        lines = [json.loads(x) for x in _uploaded_file(body, headers).splitlines() if x.strip()]
        return 200, {"success": True, "successCount": len(lines),
                     "successResults": [{"type": o["type"], "id": o["id"]} for o in lines]}
    if path.endswith("/api/kibana/settings"):
        return 200, {"settings": json.loads(body)["changes"]}
    return 404, {"statusCode": 404, "error": "Not Found", "message": "Not Found"}


def test_import_uploads_every_saved_object_with_overwrite_and_sets_lucene_and_and(
        kibana: FakeKibanaReplies, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kibana", "import"]) == 0
    upload, settings = kibana.requests
    assert upload["path"] == "/api/saved_objects/_import" and upload["query"] == "overwrite=true"
    assert upload["headers"]["kbn-xsrf"]
    assert upload["headers"]["Authorization"] == "Basic " + base64.b64encode(b"elastic:changeme-in-dotenv").decode()
    assert _uploaded_file(upload["body"], upload["headers"]) == NDJSON.read_bytes()
    changes = json.loads(settings["body"])["changes"]
    assert json.loads(changes["query:queryString:options"]) == {"default_operator": "AND", "analyze_wildcard": True}
    assert changes["search:queryLanguage"] == "lucene" and changes["defaultIndex"] == "newsmon-articles"
    out = capsys.readouterr().out
    assert f"imported {len(NDJSON.read_text().splitlines())} saved object(s)" in out
    assert "1 dashboard" in out and "1 index-pattern" in out


def test_import_into_a_space_uses_the_space_prefix(kibana: FakeKibanaReplies) -> None:
    assert main(["kibana", "import", "--space", "newsroom", "--no-settings"]) == 0
    assert [r["path"] for r in kibana.requests] == ["/s/newsroom/api/saved_objects/_import"]


def test_wrong_credentials_give_one_line_naming_the_settings_and_exit_2(
        kibana: FakeKibanaReplies, capsys: pytest.CaptureFixture[str]) -> None:
    kibana.replies["/api/saved_objects/_import"] = (
        401, {"statusCode": 401, "error": "Unauthorized", "message": "[security_exception]: unable to authenticate"})
    assert main(["kibana", "import"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "refused the credentials (HTTP 401" in err and "NEWSMON_KIBANA_USERNAME" in err


def test_objects_kibana_rejects_are_listed_and_exit_2(
        kibana: FakeKibanaReplies, capsys: pytest.CaptureFixture[str]) -> None:
    kibana.replies["/api/saved_objects/_import"] = (200, {
        "success": False, "successCount": 19,
        "errors": [{"id": "newsmon-overview", "type": "dashboard", "title": "x",
                    "error": {"type": "missing_references",
                              "references": [{"type": "lens", "id": "newsmon-lens-top-sources"}]}}],
    })
    assert main(["kibana", "import"]) == 2
    err = capsys.readouterr().err
    assert "dashboard/newsmon-overview: missing_references (missing lens/newsmon-lens-top-sources)" in err
    assert len(kibana.requests) == 1  # settings are not touched after a failed import


def test_unreachable_kibana_is_one_line_telling_how_to_start_it_and_exit_3(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("NEWSMON_KIBANA_URL", f"http://127.0.0.1:{port}")
    assert main(["kibana", "import"]) == 3  # unavailable, as for the state DB and Elasticsearch
    err = capsys.readouterr().err
    assert err.startswith(f"newsmon: cannot reach Kibana at http://127.0.0.1:{port}/api/saved_objects/_import")
    assert "docker compose up -d kibana" in err and err.count("\n") == 1


def test_a_missing_export_file_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["kibana", "import", "--file", str(tmp_path / "none.ndjson")]) == 2
    assert "cannot read" in capsys.readouterr().err
