"""Config files are validated on load, and errors point at the file, the line and the fix."""

from __future__ import annotations

import pytest

from newsmon.app.cli import main
from newsmon.core.config import ConfigError, load_alert_rules, load_feeds
from newsmon.core.settings import load_settings


def test_shipped_feeds_and_alert_rules_load():
    settings = load_settings()
    feeds = load_feeds(settings.feeds_file)
    assert len(feeds) >= 1 and len({f.id for f in feeds}) == len(feeds)
    assert load_alert_rules(settings.alerts_file)


def test_every_enabled_shipped_feed_names_its_evidence_and_every_user_agent_override_says_why():
    feeds = load_feeds(load_settings().feeds_file)
    assert all(f.evidence and f.evidence.strip() for f in feeds if f.enabled)
    assert all(f.user_agent_note for f in feeds if f.user_agent)
    # A disabled feed says why it is off, so the next person knows what to check.
    assert all(f.note for f in feeds if not f.enabled)


def test_an_enabled_feed_without_evidence_is_refused_naming_file_line_and_feed_but_a_disabled_one_is_not(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: lrt-en\n    name: LRT English\n    url: https://www.lrt.lt/en/news-in-english?rss\n"
        "    evidence: seen in a public feed list\n"
        "  - id: elta\n    name: ELTA\n    url: https://www.elta.lt/rss\n    enabled: false\n"
        "  - id: guessed\n    name: Guessed\n    url: https://news.example.lt/rss\n"
    )
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    message = str(err.value)
    assert f"{path}:10: feeds.2:" in message and "enabled feed 'guessed' names no evidence" in message
    assert "elta" not in message and "lrt-en" not in message


def test_a_user_agent_override_without_a_note_is_refused_naming_the_feed(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: tass\n    name: TASS\n    url: https://tass.ru/rss/v2.xml\n    evidence: a public feed list\n"
        "    user_agent: Mozilla/5.0 (X11; Linux x86_64)\n"
    )
    with pytest.raises(ConfigError, match=rf"{path}:2: feeds.0: .*feed 'tass' sets user_agent without user_agent_note"):
        load_feeds(path)


def test_a_feeds_evidence_and_user_agent_reach_the_feed_record(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: tass\n    name: TASS\n    url: https://tass.ru/rss/v2.xml\n    evidence: a public feed list\n"
        "    user_agent: Mozilla/5.0 (X11; Linux x86_64)\n    user_agent_note: answers 403 to feedparser\n"
    )
    (feed,) = load_feeds(path)
    assert (feed.evidence, feed.user_agent, feed.user_agent_note) == (
        "a public feed list", "Mozilla/5.0 (X11; Linux x86_64)", "answers 403 to feedparser")


def test_a_feed_with_an_unknown_affiliation_is_reported_with_file_line_and_allowed_values(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: lrt-en\n    name: LRT English\n    url: https://www.lrt.lt/en/rss\n    affiliation: public_broadcaster\n"
        "    evidence: a public feed list\n"
        "  - id: example\n    name: Example\n    url: https://example.org/rss\n    affiliation: state-run\n"
        "    evidence: a public feed list\n"
    )
    with pytest.raises(ConfigError) as err:
        load_feeds(path)
    message = str(err.value)
    assert f"{path}:10: feeds.1.affiliation" in message
    assert "state_controlled" in message


def test_broken_yaml_names_the_line(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text("feeds:\n  - id: a\n    name: [unclosed\n")
    with pytest.raises(ConfigError, match=rf"{path}:\d+: not valid YAML"):
        load_feeds(path)


def test_an_alert_rule_with_a_broken_query_is_rejected_before_any_run(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - name: x\n    query: '(medininkai OR'\n    channels: [file:a.jsonl]\n")
    with pytest.raises(ConfigError, match=r"alerts.yaml:3: rules.0.query: .*cannot parse query"):
        load_alert_rules(path)


def test_cli_reports_a_bad_feeds_file_in_one_line_and_exits_2(tmp_path, monkeypatch, capsys):
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - id: Bad Id\n    name: x\n    url: ftp://x\n")
    monkeypatch.setenv("NEWSMON_CONFIG_DIR", str(tmp_path))
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path / "var"))
    assert main(["run", "--once"]) == 2
    err = capsys.readouterr().err
    assert "feeds.yaml:2: feeds.0.id" in err and "feeds.0.url" in err and "Traceback" not in err


def test_cli_search_with_bad_syntax_exits_2_with_the_reason(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NEWSMON_STATE_DIR", str(tmp_path))
    assert main(["search", "title:(border"]) == 2
    assert "cannot parse query" in capsys.readouterr().err


def test_a_bad_setting_names_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("NEWSMON_SEARCH_BACKEND", "solr")
    assert main(["search", "x"]) == 2
    assert "NEWSMON_SEARCH_BACKEND" in capsys.readouterr().err


def test_a_feed_with_a_key_written_twice_is_refused_with_file_line_and_key(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: lrt-en\n    name: LRT English\n    url: https://www.lrt.lt/en/rss\n"
        "    url: https://www.lrt.lt/en/news/rss\n"
    )
    with pytest.raises(ConfigError, match=rf"^{path}:5: key 'url' appears twice in one entry \(first at line 4\)"):
        load_feeds(path)


def test_an_alert_rule_with_a_key_written_twice_is_refused_before_any_run(tmp_path):
    path = tmp_path / "alerts.yaml"
    path.write_text("rules:\n  - name: border\n    query: Medininkai\n    mode: instant\n"
                    "    channels: [file:alerts.jsonl]\n    query: Šalčininkai\n")
    with pytest.raises(ConfigError, match=rf"^{path}:6: key 'query' appears twice"):
        load_alert_rules(path)


def test_yaml_merge_keys_may_still_be_overridden_by_the_entry(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n  - &lrt {id: lrt-en, name: LRT, url: 'https://www.lrt.lt/en/rss', language: en, evidence: a test fixture}\n"
        "  - <<: *lrt\n    id: lrt-lt\n    url: https://www.lrt.lt/rss\n    language: lt\n"
    )
    assert [(f.id, f.language) for f in load_feeds(path)] == [("lrt-en", "en"), ("lrt-lt", "lt")]


def test_a_feeds_country_and_language_in_any_case_are_stored_as_the_codes_search_uses(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: lrt-en\n    name: LRT English\n    url: https://www.lrt.lt/en/news-in-english?rss\n"
        "    evidence: a public feed list\n    country: lt\n    language: EN\n"
    )
    (feed,) = load_feeds(path)
    assert (feed.country, feed.language) == ("LT", "en")  # source_country:LT and language:en find its articles


def test_a_country_that_is_not_a_two_letter_code_is_refused_with_an_example_not_a_pattern(tmp_path):
    path = tmp_path / "feeds.yaml"
    path.write_text(
        "feeds:\n"
        "  - id: lrt-en\n    name: LRT English\n    url: https://www.lrt.lt/en/news-in-english?rss\n"
        "    evidence: a public feed list\n    country: Lithuania\n"
    )
    with pytest.raises(ConfigError, match=rf"{path}:6: feeds.0.country: .*'Lithuania' is not a two-letter") as err:
        load_feeds(path)
    assert "pattern" not in str(err.value)
