"""A plain notice to an operator (the feed-health report): a subject, a text and a JSON document, no stories."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Notice:
    """One notice to every operator channel. `key` is its idempotency key, as a Message's is: a resend of the
    same notice has the same key (the mail's Message-ID, the webhook's Idempotency-Key, the document's `key`)."""

    rule: str
    subject: str
    text: str
    key: str
    payload: dict[str, Any] = field(default_factory=dict)

    @property
    def message_id(self) -> str:
        return f"<{self.key}@newsmon>"

    def document_json(self) -> str:
        """One JSON line: the payload, with the key, rule, subject and text beside it."""
        document = {**self.payload, "key": self.key, "rule": self.rule, "title": self.subject, "message": self.text}
        return json.dumps(document, ensure_ascii=False)
