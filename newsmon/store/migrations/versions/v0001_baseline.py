"""Revision 0001: the schema newsmon had before migrations (every table, and on SQLite the FTS5 search index).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

from alembic import op

from newsmon.store.migrations.baseline import SQLITE_SEARCH_DDL, baseline_metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The frozen tables of baseline.py, so a pre-migration DB adopted at this revision is checked against
    # exactly what this revision creates.
    baseline_metadata().create_all(op.get_bind(), checkfirst=False)
    if op.get_bind().dialect.name == "sqlite":
        for ddl in SQLITE_SEARCH_DDL:
            op.execute(ddl)


def downgrade() -> None:
    raise NotImplementedError("revision 0001 is the first schema; start a new state DB instead")
