"""`newsmon extract`: one page as text or JSON, and JSON lines in the same order as they came in."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from newsmon.app.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "extract"
LT_PAGE = FIXTURES / "lt_portal_comments.html"


def test_json_output_has_every_documented_field(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(LT_PAGE), "--url", "https://pasienis.example/naujienos/x", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {
        "title", "text", "authors", "published_at", "modified_at", "language",
        "canonical_url", "site_name", "image", "word_count",
    }
    assert data["published_at"] == "2025-10-27T21:40:00+00:00"
    assert data["authors"] == ["Rūta Vaitkutė", "Tomas Žukas"]
    assert data["word_count"] == len(data["text"].split())
    assert "Kiek dar galima" not in data["text"]


def test_text_output_starts_with_the_metadata_then_the_article(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", str(LT_PAGE)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("title: Medininkų punkte vėl stovi šimtai vilkikų\n")
    assert "\nlanguage: lt\n" in out
    assert "Vairuotojai pasakoja" in out


def test_missing_file_is_one_line_on_stderr_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract", "/no/such/page.html"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such file" in err


def test_page_without_article_is_exit_2_with_the_reason(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    empty = tmp_path / "empty.html"
    empty.write_bytes(b"")
    assert main(["extract", str(empty)]) == 2
    assert "empty page" in capsys.readouterr().err


def test_no_source_and_no_jsonl_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["extract"]) == 2
    assert "PATH_OR_URL" in capsys.readouterr().err


def test_jsonl_keeps_input_order_and_reports_skips_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    zipped = tmp_path / "page.html.gz"
    zipped.write_bytes(gzip.compress((FIXTURES / "ru_portal_disqus.html").read_bytes()))
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    lines = [
        {"path": str(LT_PAGE), "url": "https://pasienis.example/naujienos/x"},
        {"path": str(binary)},
        {"path": str(tmp_path / "missing.html")},
        {"path": str(zipped), "url": "https://region.example/news/1"},
    ]
    stdin = "\n".join(json.dumps(item) for item in lines) + "\nnot json\n"
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    assert main(["extract", "--jsonl"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["path"] for row in rows] == [item["path"] for item in lines] + [None]
    assert rows[0]["title"] == "Medininkų punkte vėl stovi šimtai vilkikų"
    assert rows[1] == {"path": str(binary), "error": "binary content: PNG image"}
    assert rows[2] == {"path": str(tmp_path / "missing.html"), "error": "file not found"}
    assert rows[3]["language"] == "ru" and "Давно пора" not in rows[3]["text"]
    assert rows[4]["error"].startswith("bad input line 5")


def test_installed_command_runs_as_a_process() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "newsmon", "extract", str(FIXTURES / "no_date.html"), "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["published_at"] is None


def test_url_is_fetched_through_the_safe_client_and_extracted(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import http.server
    import threading
    from functools import partial

    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(FIXTURES))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setenv("NEWSMON_ALLOW_LOOPBACK", "true")
        monkeypatch.setenv("NEWSMON_RESPECT_ROBOTS", "false")
        monkeypatch.setenv("NEWSMON_PER_HOST_MIN_INTERVAL_S", "0")
        url = f"http://127.0.0.1:{server.server_address[1]}/ru_windows1251.html"
        assert main(["extract", url, "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert "более двухсот грузовиков" in data["text"]
        assert main(["extract", url.replace("ru_windows1251", "missing"), "--json"]) == 2
        assert "could not fetch" in capsys.readouterr().err
    finally:
        server.shutdown()
        server.server_close()
