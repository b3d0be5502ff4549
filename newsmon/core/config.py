"""YAML config files (feeds, alert rules) validated on load; errors name the file, line, field and fix."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal
from urllib.parse import unquote

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator

from newsmon.core.channel_urls import describe_channel
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
    channels: list[str] = Field(min_length=1)
    mode: Literal["instant", "hourly", "daily"] = "instant"
    # story: one alert per event-level story (copies and translations); cluster: one per copy cluster.
    group_by: Literal["story", "cluster"] = "story"
    # true: alert when a story the rule matches reaches a new language or a state-controlled outlet, instead
    # of when it first appears (newsmon/alerts/pickup.py).
    pickup: bool = False
    enabled: bool = True

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

    @field_validator("channels")
    @classmethod
    def _channel_urls(cls, channels: list[str]) -> list[str]:
        for number, url in enumerate(channels, 1):
            if "://" not in url and not url.startswith(("file:", "mailto:")):
                raise ValueError(
                    f"channel {number} is not a URL: use file:alerts.jsonl, smtp://host:port/?to=a@example.org, "
                    "mailto:a@example.org, or an Apprise URL such as json://host/path"
                )
            # A line break (even as %0D%0A) in from=, to= or any other part would end up inside a mail or HTTP
            # header, where it either injects a header or makes every delivery fail.
            if any(ord(c) < 32 or ord(c) == 127 for c in url + unquote(url)):
                raise ValueError(
                    f"channel {number} ({describe_channel(url)}) contains a line break or another control "
                    "character (perhaps as %0A or %0D); remove it"
                )
        return channels


class AlertsFile(_Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, hide_input_in_errors=True)

    rules: list[AlertRule]

    @field_validator("rules")
    @classmethod
    def _unique_names(cls, rules: list[AlertRule]) -> list[AlertRule]:
        return _unique(rules, "name", "rule name {!r} appears twice; names must be unique (alerts are keyed by it)")


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


def _load(path: Path, model: type[BaseModel], what: str) -> Any:
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
        top = "feeds" if model is FeedsFile else "rules"
        raise ConfigError(f"{path}: the file is empty; start it with `{top}:` followed by a list")
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


def load_alert_rules(path: Path) -> list[AlertRule]:
    """Alert rules of config/alerts.yaml; a missing file means no rules."""
    if not path.exists():
        return []
    parsed: AlertsFile = _load(path, AlertsFile, "alert rules")
    return parsed.rules
