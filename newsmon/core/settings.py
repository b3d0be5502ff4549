"""One settings object built from NEWSMON_* environment variables, with defaults for a fresh clone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from newsmon.core.channel_urls import channel_url_problem
from newsmon.core.errors import UserError

PROJECT_ROOT = Path(__file__).resolve().parents[2]  # the folder that holds newsmon/: a checkout, or site-packages


def _default_home() -> Path:
    # A source checkout keeps config/ beside the package; an installed copy uses the working dir.
    return PROJECT_ROOT if (PROJECT_ROOT / "config").is_dir() else Path.cwd()


class Settings(BaseSettings):
    """Every knob of newsmon. Each field is read from NEWSMON_<FIELD_NAME> (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="NEWSMON_", extra="ignore")

    home: Path = Field(default_factory=_default_home)
    state_dir: Path | None = None  # default: <home>/var
    config_dir: Path | None = None  # default: <home>/config
    state_url: str | None = None  # default: sqlite file in state_dir

    search_backend: Literal["sqlite", "elasticsearch"] = "sqlite"
    es_url: str = "http://localhost:9200"
    es_api_key: str | None = None
    es_username: str | None = None
    es_password: str | None = None
    es_ca_certs: Path | None = None
    es_alias: str = "newsmon-articles"
    es_timeout_s: float = 30.0
    kibana_url: str = "http://localhost:5601"
    kibana_username: str | None = None
    kibana_password: str | None = None
    kibana_api_key: str | None = None
    kibana_ca_certs: Path | None = None

    # HTTP safety and politeness
    user_agent: str = "newsmon/0.1 (+https://github.com/newsmon/newsmon; news monitoring)"
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 20.0
    total_timeout_s: float = 60.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_decompressed_bytes: int = 30 * 1024 * 1024
    max_redirects: int = 5
    allow_private_addresses: bool = False
    allow_loopback: bool = False
    per_host_min_interval_s: float = 1.0
    per_host_concurrency: int = 2
    respect_robots: bool = True

    topic: str = "lt-by"  # the topic pack (config/topics/<id>.yaml) articles are tagged with

    # Extraction on every core: a poll's pages are extracted and tagged in this many worker processes
    # (default: the cores newsmon may use; 0: in the poll task's own process). A poll with fewer pages than
    # extract_pool_min_pages stays in its own process: starting the workers costs about as much as that.
    extract_workers: int | None = Field(None, ge=0)
    extract_pool_min_pages: int = Field(40, ge=1)

    # Scheduling
    feed_batch_size: int = 20
    min_poll_interval_s: int = 300
    max_poll_interval_s: int = 6 * 3600
    default_poll_interval_s: int = 600
    max_entries_per_poll: int = 100
    max_backoff_s: int = 86400  # longest wait after repeated failures of one feed
    max_host_block_s: float = 3600.0  # longest a 429/503 Retry-After may block a host
    # Slots of the Airflow pool newsmon_http: tasks making outbound HTTP (poll, alert, digests) at once,
    # across every DAG. The start-up (scripts/airflow_stack.py, compose's airflow-init) sets the pool from it.
    http_pool_slots: int = Field(4, ge=1)

    # Maintenance (newsmon_maintenance DAG, `newsmon maintenance`)
    seen_entries_keep_days: int = Field(90, ge=1)
    sent_alerts_keep_days: int = Field(180, ge=1)
    lsh_window_days: int = Field(30, ge=1)

    # Alerts
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_s: float = 20.0
    mail_from: str = "newsmon@localhost"
    # Where the daily feed-health report goes (newsmon_maintenance's report_feed_health): channel URLs as in
    # alerts.yaml, separated by spaces or as a JSON list. Empty: the report is only logged and shown by
    # `newsmon feeds status`.
    operator_channels: Annotated[list[str], NoDecode] = Field(default_factory=list)

    @field_validator("operator_channels", mode="before")
    @classmethod
    def _channel_list(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            try:
                return json.loads(text) if text.startswith("[") else text.split()
            except ValueError as exc:
                raise ValueError("not a JSON list of channel URLs; or give the URLs separated by spaces") from exc
        return value

    @field_validator("operator_channels")
    @classmethod
    def _channel_urls(cls, channels: list[str]) -> list[str]:
        for number, url in enumerate(channels, 1):
            if (problem := channel_url_problem(url, number)) is not None:
                raise ValueError(problem)
        return channels

    @property
    def state_path(self) -> Path:
        return self.state_dir or self.home / "var"

    @property
    def config_path(self) -> Path:
        return self.config_dir or self.home / "config"

    @property
    def database_url(self) -> str:
        return self.state_url or f"sqlite:///{self.state_path / 'newsmon.db'}"

    @property
    def feeds_file(self) -> Path:
        return self.config_path / "feeds.yaml"

    @property
    def alerts_file(self) -> Path:
        return self.config_path / "alerts.yaml"

    @property
    def topics_dir(self) -> Path:
        return self.config_path / "topics"


class SettingsError(UserError):
    """A NEWSMON_* variable (or an override) with a value newsmon cannot use."""


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment; keyword overrides win (tests and the demo use them)."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        first = exc.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "?"
        raise SettingsError(f"bad setting NEWSMON_{name}: {first['msg']}") from exc
