"""Revision 0005: story updates, held-back alerts and a log of sent messages in the alert outbox.

alert_outbox gains copy_id (a story update is a row per later copy; '' marks the story's alert, so the
unique key becomes rule + story + copy and a story still alerts once per rule), held_until and held_reason
(quiet hours, rate limits, mutes); alert_sends records each message a channel took, which max_per_hour counts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode: SQLite rebuilds the table (copy, drop, rename) inside the upgrade's transaction; every row is
    # kept, and each existing row, an alert, gets copy_id ''.
    with op.batch_alter_table("alert_outbox") as batch:
        batch.add_column(sa.Column("copy_id", sa.String(64), nullable=False, server_default=""))
        batch.add_column(sa.Column("held_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("held_reason", sa.Text(), nullable=True))
        batch.drop_constraint("uq_outbox_rule_cluster", type_="unique")
        batch.create_unique_constraint("uq_outbox_rule_story_copy", ["rule", "cluster_id", "copy_id"])
    op.create_table(
        "alert_sends",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("stories", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(300), nullable=False),
    )
    op.create_index("ix_alert_sends_rule_channel_sent_at", "alert_sends", ["rule", "channel", "sent_at"])


def downgrade() -> None:
    op.drop_index("ix_alert_sends_rule_channel_sent_at", table_name="alert_sends")
    op.drop_table("alert_sends")
    # Story updates cannot live under the old key (one row per rule and story): they go, the alerts stay.
    outbox = sa.table("alert_outbox", sa.column("copy_id", sa.String))
    op.execute(outbox.delete().where(outbox.c.copy_id != ""))
    with op.batch_alter_table("alert_outbox") as batch:
        batch.drop_constraint("uq_outbox_rule_story_copy", type_="unique")
        batch.create_unique_constraint("uq_outbox_rule_cluster", ["rule", "cluster_id"])
        batch.drop_column("held_reason")
        batch.drop_column("held_until")
        batch.drop_column("copy_id")
