"""Alembic migrations of the state DB: env.py, the revisions in versions/, the frozen pre-migration schema."""

from __future__ import annotations

# Every revision, oldest first. Opening the state DB compares its revision with these without importing
# Alembic (a tenth of a second on every command); tests/test_state_upgrade.py checks them against versions/.
REVISIONS = ("0001", "0002", "0003", "0004", "0005")
HEAD = REVISIONS[-1]
