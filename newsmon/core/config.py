"""YAML config files (feeds, alert rules) validated on load; errors name the file, line, field and fix."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from newsmon.core.channel_urls import channel_url_problem, describe_channel, expand_channel, scheme_problem
from newsmon.core.errors import UserError
from newsmon.core.query import QuerySyntaxError, compile_query
from newsmon.core.records import Feed
from newsmon.core.yaml_keys import DuplicateKeyError, UniqueKeyLoader


class ConfigError(UserError, ValueError):
    """A config file that cannot be used; the message says where and how to fix it."""


AFFILIATIONS = ("public_broadcaster", "independent", "state_controlled", "international", "wire", "government")


def _unique(items: list, attribute: str, message: str) -> list:
    seen: set[str] = set()
    for item in items:
        key = getattr(item, attribute)
        if key in seen:
            raise ValueError(message.format(key))
        seen.add(key)
    return items


def _code(value: object, case: Callable[[str], str], what: str) -> object:
    """A two-letter code in the case newsmon stores it; anything else is refused saying what to write."""
    if not isinstance(value, str):
        return value  # None stays None; other types get pydantic's own message
    code = case(value.strip())
    if not re.fullmatch(r"[a-zA-Z]{2}", code):
        raise ValueError(f"{value!r} is not {what}")
    return code


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=128)
    name: str
    url: str
    language: str | None = None  # ISO 639-1, stored lower case
    country: str | None = None  # ISO 3166 alpha-2 of the outlet, stored upper case
    affiliation: Literal["public_broadcaster", "independent", "state_controlled", "international", "wire",
                          "government"] | None = None
    enabled: bool = True
    note: str | None = None
    # Where the URL is shown to work (another project's feed list, the outlet's own page), with a date.
    evidence: str | None = None
    # Sent instead of NEWSMON_USER_AGENT to this feed's server only; the note says why it needs one.
    user_agent: str | None = Field(default=None, min_length=1, pattern=r"^[\x20-\x7e]+$")
    user_agent_note: str | None = None

    @field_validator("language", mode="before")
    @classmethod
    def _language_code(cls, value: object) -> object:
        return _code(value, str.lower, "a two-letter ISO 639-1 language code such as lt, be, ru, en")

    @field_validator("country", mode="before")
    @classmethod
    def _country_code(cls, value: object) -> object:
        # Search filters compare exactly (source_country:LT), so `lt` is stored as LT rather than refused.
        return _code(value, str.upper, "a two-letter ISO 3166 country code such as LT, BY, PL")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @model_validator(mode="after")
    def _evidence_and_user_agent(self) -> FeedConfig:
        if self.enabled and not (self.evidence or "").strip():
            raise ValueError(
                f"enabled feed {self.id!r} names no evidence: add `evidence:` saying where this URL is shown to "
                "work (a repository/path or page URL, and the date), or set `enabled: false` with a note why")
        if self.user_agent is not None and not (self.user_agent_note or "").strip():
            raise ValueError(
                f"feed {self.id!r} sets user_agent without user_agent_note: say why this server needs a User-Agent "
                "other than NEWSMON_USER_AGENT (e.g. \"answers 403 to non-browser clients, seen in <source>\")")
        if self.user_agent_note is not None and self.user_agent is None:
            raise ValueError(f"feed {self.id!r} has user_agent_note but no user_agent; remove the note or set user_agent")
        return self


class FeedsFile(_Strict):
    feeds: list[FeedConfig]

    @field_validator("feeds")
    @classmethod
    def _unique_ids(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        return _unique(feeds, "id", "feed id {!r} appears twice; ids must be unique")


def _clock(value: object) -> object:
    # YAML 1.1 reads an unquoted 22:00 as the sexagesimal number 1320 (22 * 60): take it as the time it was.
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 24 * 60:
        return time(value // 60, value % 60)
    return value


class QuietHours(_Strict):
    """A daily window (start to end, in a named time zone; it may run past midnight) in which a rule (or one of its
    channels) sends nothing."""

    start: time
    end: time
    timezone: str = "Europe/Vilnius"

    @field_validator("start", "end", mode="before")
    @classmethod
    def _sexagesimal(cls, value: object) -> object:
        return _clock(value)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}: use an IANA name such as Europe/Vilnius or UTC") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AlertChannel(_Strict):
    """One channel of a rule: its URL and, if it has any, its own quiet hours and limit (they hold this channel only)."""

    # The URL holds tokens and passwords: a validation error must never print the value it refused.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    url: str
    quiet_hours: QuietHours | None = None
    max_per_hour: int | None = Field(default=None, ge=1)


class AlertRule(_Strict):
    # Channel URLs hold tokens and passwords: a validation error must never print the value it refused.
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$", max_length=128)
    query: str
    on_topic: bool | None = None
    subtopics: list[str] = []
    languages: list[str] = []
    sources: list[str] = []
    min_relevance: float = Field(default=0.0, ge=0.0, le=1.0)
    # Each a URL, or {url: …, quiet_hours: …, max_per_hour: …} for a channel with its own window or limit.
    channels: list[AlertChannel] = Field(min_length=1)
    mode: Literal["instant", "hourly", "daily"] = "instant"
    # story: one alert per event-level story (copies and translations); cluster: one per copy cluster.
    group_by: Literal["story", "cluster"] = "story"
    # true: alert when a story the rule matches reaches a new language or a state-controlled outlet, instead
    # of when it first appears (newsmon/alerts/pickup.py).
    pickup: bool = False
    enabled: bool = True
    # What happens to later copies of a story the rule has alerted (newsmon/alerts/outbox.py): digest = a
    # "story update" in the rule's next digest (the daily one for instant rules); followup = one follow-up
    # message per delivery run; none = nothing.
    updates: Literal["digest", "followup", "none"] = "digest"
    quiet_hours: QuietHours | None = None
    max_per_hour: int | None = Field(default=None, ge=1)
    # What quiet hours, max_per_hour and mute_until do with the alerts they stop: hold them and send them as
    # one digest when the window ends, or drop them (kept in the outbox as `dropped`, never sent).
    hold: Literal["hold", "drop"] = "hold"
    urgent: bool = False  # true: quiet hours do not apply (max_per_hour and mute_until still do)
    mute_until: datetime | None = None

    @field_validator("mute_until")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("mute_until needs a UTC offset, e.g. 2026-12-04T08:00:00+02:00 or 2026-12-04T06:00:00Z")
        return value

    @field_validator("query")
    @classmethod
    def _lucene(cls, value: str, info: ValidationInfo) -> str:
        # compile_query (parse, check, compile: what the matcher will run) raises only QuerySyntaxError (the
        # limits keep RecursionError and OverflowError out), so a bad rule is reported with its file and line
        # when the rules load, instead of crashing the alert stage later.
        try:
            compile_query(value)
        except QuerySyntaxError as exc:
            rule = info.data.get("name")
            raise ValueError(f"rule {rule!r}: {exc}" if rule else str(exc)) from exc
        return value

    @field_validator("channels", mode="before")
    @classmethod
    def _plain_urls(cls, channels: object) -> object:
        # A channel written as a bare URL string is the common case: a channel with no options of its own.
        if not isinstance(channels, list):
            return channels
        for number, channel in enumerate(channels, 1):
            if not isinstance(channel, (str, dict, AlertChannel)):
                raise ValueError(f"channel {number} is neither a URL nor a mapping such as "
                                 "{url: ..., quiet_hours: ..., max_per_hour: ...}")
        return [{"url": c} if isinstance(c, str) else c for c in channels]

    @field_validator("channels")
    @classmethod
    def _channel_urls(cls, channels: list[AlertChannel]) -> list[AlertChannel]:
        for number, channel in enumerate(channels, 1):
            url = channel.url
            if (problem := channel_url_problem(url, number) or scheme_problem(url, number)) is not None:
                raise ValueError(problem)
        return channels


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the YAML node at a pydantic error location (best effort)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == key), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            break
        line = node.start_mark.line + 1
    return line


def _read_yaml(path: Path, top: str) -> tuple[Any, yaml.Node]:
    """The data and node tree of a YAML config file; ConfigError (with file and line) when it cannot be read."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(f"{path}: file not found; create it (see config/ in the newsmon repo for examples)") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it as UTF-8 text: {exc}") from exc
    try:
        data = yaml.load(raw, Loader=UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
        tree = yaml.compose(raw)
    except DuplicateKeyError as exc:
        raise ConfigError(f"{path}:{exc.line}: key {exc.key!r} appears twice in one entry (first at line "
                          f"{exc.first_line}); YAML would silently keep only the last, so remove or merge one") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{mark.line + 1}" if mark else ""
        raise ConfigError(f"{path}{where}: not valid YAML ({getattr(exc, 'problem', exc)}); fix the indentation or quoting") from exc
    if data is None:
        raise ConfigError(f"{path}: the file is empty; start it with `{top}:` followed by a list")
    return data, tree


def _load(path: Path, model: type[BaseModel], what: str) -> Any:
    data, tree = _read_yaml(path, "feeds" if model is FeedsFile else "rules")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = tuple(err["loc"])
            line = _line_of(tree, loc)
            field = ".".join(str(p) for p in loc) or "(top level)"
            problems.append(f"{path}:{line or '?'}: {field}: {err['msg']}")
        raise ConfigError(f"invalid {what} file:\n  " + "\n  ".join(problems)) from exc


def load_feeds(path: Path) -> list[Feed]:
    """The feeds of config/feeds.yaml as Feed records (disabled ones included, with enabled=False)."""
    parsed: FeedsFile = _load(path, FeedsFile, "feeds")
    return [Feed(**feed.model_dump()) for feed in parsed.feeds]


@dataclass(frozen=True)
class RuleSet:
    """The usable rules of alerts.yaml and, for each rule that is not, what is wrong (file, line, rule, field)."""

    rules: list[AlertRule]
    problems: list[str]


def _expanded(raw: Any, environ: Mapping[str, str]) -> tuple[Any, list[tuple[tuple[Any, ...], str]]]:
    """The rule with ${NEWSMON_…} references in its channel URLs replaced; the channels refused, by location.

    A refused channel is kept as written, so the other channels keep their positions in error locations."""
    if not isinstance(raw, dict) or not isinstance(raw.get("channels"), list):
        return raw, []
    name = raw.get("name") if isinstance(raw.get("name"), str) else None
    channels, problems = [], []
    for number, channel in enumerate(raw["channels"], 1):
        with_options = isinstance(channel, dict)
        url = channel.get("url") if with_options else channel
        if not isinstance(url, str):
            channels.append(channel)
            continue
        try:
            url = expand_channel(url, number, environ, name)
        except ValueError as exc:
            problems.append((("channels", number - 1, *(["url"] if with_options else [])), str(exc)))
        channels.append({**channel, "url": url} if with_options else url)
    return {**raw, "channels": channels}, problems


def _channel_named(loc: tuple[Any, ...], msg: str, channels: Any) -> str:
    """An error inside a channel's own options names the channel as describe_channel shows it, never its secret."""
    if len(loc) < 3 or loc[0] != "channels" or not isinstance(channels, list) or not isinstance(loc[1], int):
        return msg
    entry = channels[loc[1]] if loc[1] < len(channels) else None
    url = entry.get("url") if isinstance(entry, dict) else None
    shown = f"channel {loc[1] + 1}" + (f" ({describe_channel(url)})" if isinstance(url, str) else "")
    return f"{shown}: {msg}"


def check_alert_rules(path: Path, environ: Mapping[str, str] | None = None) -> RuleSet:
    """Every rule of alerts.yaml checked on its own, so one bad rule leaves the others working.

    Raises ConfigError for what spoils the whole file (unreadable, not YAML, no `rules:` list, two rules of one
    name). Channel URLs have their ${NEWSMON_…} references expanded from `environ` (the process environment by
    default); a secret written into the file is refused, since anyone who reads the file or its history sees it."""
    if not path.exists():
        return RuleSet([], [])
    environ = os.environ if environ is None else environ
    data, tree = _read_yaml(path, "rules")
    if not isinstance(data, dict) or set(data) != {"rules"} or not isinstance(data["rules"], list):
        raise ConfigError(f"{path}: expected `rules:` followed by a list of rules (and nothing else at the top level)")
    rules, problems = [], []
    for index, raw in enumerate(data["rules"]):
        expanded, refused = _expanded(raw, environ)
        name = raw.get("name") if isinstance(raw, dict) else None
        where = f"rule {name!r}" if isinstance(name, str) else f"rule {index + 1}"
        found = [(("rules", index, *loc), msg) for loc, msg in refused]
        try:
            rule = AlertRule.model_validate(expanded)
        except ValidationError as exc:
            # A refused channel's own errors are its refusal; errors about the list as a whole are then its echo.
            spoiled = {loc[:2] for loc, _ in refused} | ({("channels",)} if refused else set())
            channels = expanded.get("channels") if isinstance(expanded, dict) else None
            found += [(("rules", index, *err["loc"]),
                       _channel_named(tuple(err["loc"]), err["msg"].removeprefix("Value error, "), channels))
                      for err in exc.errors() if tuple(err["loc"][:2]) not in spoiled]
        else:
            if not found:
                rules.append(rule)
        for loc, msg in found:
            field = ".".join(str(p) for p in loc)
            msg = msg.removeprefix("Value error, ")
            named = msg if msg.startswith(where) else f"{where}: {msg}"
            problems.append(f"{path}:{_line_of(tree, loc) or '?'}: {field}: {named}")
    try:
        _unique(rules, "name", "rule name {!r} appears twice; names must be unique (alerts are keyed by it)")
    except ValueError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    return RuleSet(rules, problems)


def load_alert_rules(path: Path, environ: Mapping[str, str] | None = None) -> list[AlertRule]:
    """Alert rules of config/alerts.yaml, every one valid or a ConfigError listing what is wrong; no file, no rules."""
    checked = check_alert_rules(path, environ)
    if checked.problems:
        raise ConfigError("invalid alert rules file:\n  " + "\n  ".join(checked.problems))
    return checked.rules
