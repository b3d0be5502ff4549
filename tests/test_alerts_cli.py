"""`newsmon alerts`: users can check their rules and see what the outbox holds."""

from __future__ import annotations

from newsmon.app.cli import main
from newsmon.app.stages.run import run_once


def _env(monkeypatch, demo_env):
    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)


def test_alerts_check_lists_each_rule_with_its_channels_without_credentials(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    rules = demo_env.settings.alerts_file
    rules.write_text(rules.read_text().replace("smtp://127.0.0.1", "smtp://user:secret@127.0.0.1"))
    assert main(["alerts", "check"]) == 0
    out = capsys.readouterr().out
    assert "checkpoints" in out and "1 rule(s) OK" in out
    assert "secret" not in out


def test_alerts_outbox_shows_the_sent_alerts_after_a_run(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    run_once(demo_env.settings)
    capsys.readouterr()
    assert main(["alerts", "outbox", "--status", "sent"]) == 0
    out = capsys.readouterr().out
    assert "sent: 2" in out and "checkpoints" in out


def test_alerts_check_names_the_file_line_and_rule_of_a_query_that_used_to_crash_it(demo_env, monkeypatch, capsys):
    _env(monkeypatch, demo_env)
    rules = demo_env.settings.alerts_file
    nested = "(" * 3000 + "medininkai" + ")" * 3000
    rules.write_text(rules.read_text() + f"  - name: nested\n    query: '{nested}'\n    channels: ['file:x.jsonl']\n")
    line = rules.read_text().splitlines().index(f"    query: '{nested}'") + 1
    assert main(["alerts", "check"]) == 2
    err = capsys.readouterr().err
    assert f"{rules}:{line}: rules." in err and "rule 'nested'" in err and "the limit is 2000" in err
