"""What one alert message says, whatever the channel: its stories, each as the reader sees it.

The outbox (newsmon/alerts/outbox.py) builds a Message from the rows it delivers; the renderer
(newsmon/alerts/render.py) turns it into a mail's text and HTML parts, a chat message or a JSON document.
Nothing here knows about channels or the state DB.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

EntryKind = Literal["alert", "update", "pickup"]
MessageKind = Literal["instant", "digest", "followup"]


@dataclass(frozen=True)
class Outlet:
    """An outlet as feeds.yaml names it: the feed id, the outlet's name, its language and affiliation."""

    feed_id: str
    name: str
    language: str | None = None
    affiliation: str | None = None  # state_controlled, independent, public_broadcaster, international, wire, …


@dataclass(frozen=True)
class Segment:
    """A piece of a passage; `hit` marks the words a rule's own terms matched."""

    text: str
    hit: bool = False


@dataclass(frozen=True)
class StoryEntry:
    """One story of a message: the article that alerted (or, for an update, the copy that arrived later)."""

    key: str  # the outbox key: `story:<id>`, or a copy-cluster id for rules grouped by cluster
    article_id: str
    title: str
    url: str
    outlet: Outlet
    published_at: datetime | None
    language: str | None
    subtopics: tuple[str, ...] = ()
    # The sentence(s) around the rule's matches, each split into segments; empty when the rule has no text terms.
    passages: tuple[tuple[Segment, ...], ...] = ()
    # The story's other outlets (not copies: an outlet that carries a story twice is listed once).
    other_outlets: tuple[Outlet, ...] = ()
    kind: EntryKind = "alert"
    # A pickup's or a story update's sentence: "now reported by 5 outlets, including BelTA (state-controlled, ru)".
    note: str | None = None


@dataclass(frozen=True)
class Message:
    """One message to every channel of one rule. `key` is its idempotency key: a resend of the same message
    (a retry, a rerun after a crash) has the same key on every channel, so a receiver can drop a repeat."""

    rule: str
    kind: MessageKind
    key: str
    entries: tuple[StoryEntry, ...]
    created_at: datetime
    more: int = 0  # stories held beyond those shown ("+N more")
    period: str | None = None  # a digest's period as its rule names it ("hourly", "daily"): the subject says it

    @property
    def message_id(self) -> str:
        """The mail Message-ID carrying the same key."""
        return f"<{self.key}@newsmon>"
