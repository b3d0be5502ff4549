"""YAML config files (feeds, alert rules) validated on load; errors name the file, line, field and fix."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from newsmon.records import Feed
from newsmon.yaml_keys import DuplicateKeyError, UniqueKeyLoader


class ConfigError(ValueError):
    """A config file that cannot be used; the message says where and how to fix it."""


AFFILIATIONS = ("public_broadcaster", "independent", "state_controlled", "international", "wire")


def _unique(items: list, attribute: str, message: str) -> list:
    seen: set[str] = set()
    for item in items:
        key = getattr(item, attribute)
        if key in seen:
            raise ValueError(message.format(key))
        seen.add(key)
    return items


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FeedConfig(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=128)
    name: str
    url: str
    language: str | None = Field(default=None, pattern=r"^[a-z]{2}$")
    country: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    affiliation: Literal["public_broadcaster", "independent", "state_controlled", "international", "wire"] | None = None
    enabled: bool = True
    note: str | None = None

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value


class FeedsFile(_Strict):
    feeds: list[FeedConfig]

    @field_validator("feeds")
    @classmethod
    def _unique_ids(cls, feeds: list[FeedConfig]) -> list[FeedConfig]:
        return _unique(feeds, "id", "feed id {!r} appears twice; ids must be unique")


class AlertRule(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]*$", max_length=128)
    query: str
    on_topic: bool | None = None
    subtopics: list[str] = []
    languages: list[str] = []
    sources: list[str] = []
    min_relevance: float = Field(default=0.0, ge=0.0, le=1.0)
    channels: list[str] = Field(min_length=1)
    mode: Literal["instant", "hourly", "daily"] = "instant"
    enabled: bool = True

    @field_validator("query")
    @classmethod
    def _lucene(cls, value: str) -> str:
        from newsmon.query import QuerySyntaxError, parse_query

        try:
            parse_query(value)
        except QuerySyntaxError as exc:
            raise ValueError(str(exc)) from exc
        return value

    @field_validator("channels")
    @classmethod
    def _channel_urls(cls, channels: list[str]) -> list[str]:
        for url in channels:
            if "://" not in url and not url.startswith(("file:", "mailto:")):
                raise ValueError(
                    f"channel {url!r} is not a URL: use file:alerts.jsonl, smtp://host:port/?to=a@example.org, "
                    "mailto:a@example.org, or an Apprise URL such as json://host/path"
                )
        return channels


class AlertsFile(_Strict):
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
