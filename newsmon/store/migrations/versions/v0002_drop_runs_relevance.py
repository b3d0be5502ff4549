"""Revision 0002: drop runs.relevance, which nothing ever wrote or read.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table (copy, drop, rename) inside the upgrade's transaction.
    with op.batch_alter_table("runs") as batch:
        batch.drop_column("relevance")
    # newsmon before migrations refused a DB whose schema_version is above 1 ("upgrade newsmon"); raising
    # it keeps such an old newsmon from adding the dropped column back and writing to a schema it does not know.
    meta = sa.table("newsmon_meta", sa.column("key", sa.String), sa.column("value", sa.String))
    op.execute(meta.delete().where(meta.c.key == "schema_version"))
    op.execute(meta.insert().values(key="schema_version", value="2"))


def downgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("relevance", sa.Float(), nullable=True))
    meta = sa.table("newsmon_meta", sa.column("key", sa.String), sa.column("value", sa.String))
    op.execute(meta.update().where(meta.c.key == "schema_version").values(value="1"))
