"""A bad rule in alerts.yaml is reported naming its rule and field; the other rules keep working."""

from __future__ import annotations

import json
import re

import pytest

from newsmon.app.cli import main
from newsmon.app.stages.run import run_once
from newsmon.core.config import ConfigError, check_alert_rules, load_alert_rules

BAD_RULES = {  # rule name → (the line that spoils it, what the error must say)
    "broken-query": ("query: 'medininkai AND'", r"rules\.1\.query: rule 'broken-query': cannot parse query"),
    "unknown-field": ("query: 'titel:medininkai'", r"rules\.2\.query: rule 'unknown-field': .*unknown field 'titel'"),
    "unknown-scheme": ("channels: ['carrierpigeon://loft/desk']",
                       r"rules\.3\.channels\.0: rule 'unknown-scheme': channel 1 .*unknown channel scheme 'carrierpigeon://'"),
    "bad-zone": ("quiet_hours: {start: '22:00', end: '07:00', timezone: Europe/Vilnus}",
                 r"rules\.4\.quiet_hours\.timezone: rule 'bad-zone': .*unknown time zone 'Europe/Vilnus'"),
    "written-secret": ("channels: ['tgram://123456789:AAHnewsmonMadeUpBotSecretQ7xZ0k3Lw9/987654']",
                       r"rules\.5\.channels\.0: rule 'written-secret': channel 1 \(tgram:\) has its token .*"
                       r"\$\{NEWSMON_WRITTEN_SECRET_TGRAM\}"),
}


def _write(path, good_channel: str) -> None:
    lines = ["rules:", "  - name: good", "    query: medininkai", f"    channels: ['{good_channel}']"]
    for name, (line, _) in BAD_RULES.items():
        fields = {"query": "medininkai", "channels": "['file:x.jsonl']"}
        key, value = line.split(": ", 1)
        fields[key] = value
        lines += [f"  - name: {name}", *(f"    {k}: {v}" for k, v in fields.items())]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_each_bad_rule_is_named_with_its_field_and_the_good_rule_is_kept(tmp_path):
    path = tmp_path / "alerts.yaml"
    _write(path, "file:good.jsonl")
    checked = check_alert_rules(path, environ={})
    assert [r.name for r in checked.rules] == ["good"]
    assert len(checked.problems) == len(BAD_RULES)
    for (_, expected), problem in zip(BAD_RULES.values(), checked.problems, strict=True):
        assert problem.startswith(f"{path}:")
        assert re.search(expected, problem), problem
    assert "AAHnewsmonMadeUpBotSecret" not in "\n".join(checked.problems)
    with pytest.raises(ConfigError, match="written-secret"):
        load_alert_rules(path, environ={})


def test_a_secret_given_as_an_environment_variable_is_taken_and_an_unset_one_is_named(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - {name: desk, query: a, channels: ['smtp://desk:${NEWSMON_DESK_PW}@127.0.0.1:25/?to=d@example.org']}\n")
    [rule] = load_alert_rules(path, environ={"NEWSMON_DESK_PW": "s3cret"})
    assert [c.url for c in rule.channels] == ["smtp://desk:s3cret@127.0.0.1:25/?to=d@example.org"]
    with pytest.raises(ConfigError, match=r"rules\.0\.channels\.0: rule 'desk': .*NEWSMON_DESK_PW is not set"):
        load_alert_rules(path, environ={})
    path.write_text("rules:\n  - {name: desk, query: a, channels: ['json://127.0.0.1/${HOME}']}\n")
    with pytest.raises(ConfigError, match=r"HOME\} is not a NEWSMON_ variable"):
        load_alert_rules(path, environ={"HOME": "/root"})


def test_the_pipeline_runs_the_good_rule_counts_the_bad_ones_and_check_names_them(demo_env, monkeypatch, capsys):
    _write(demo_env.settings.alerts_file, f"file:{demo_env.alerts_file}")
    summary = run_once(demo_env.settings)
    assert summary.alerts["rules_invalid"] == len(BAD_RULES)
    assert summary.alerts["sent"] >= 1
    alerted = [json.loads(line)["rule"] for line in demo_env.alerts_file.read_text().splitlines()]
    assert set(alerted) == {"good"}

    for key, value in demo_env.env().items():
        monkeypatch.setenv(key, value)
    assert main(["alerts", "check"]) == 2
    captured = capsys.readouterr()
    assert "1 rule(s) OK" in captured.out and "5 rule(s) left out" in captured.err
    for name in BAD_RULES:
        assert f"rule '{name}'" in captured.err
