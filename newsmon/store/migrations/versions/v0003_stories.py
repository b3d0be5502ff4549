"""Revision 0003: event-level stories above copy clusters (stories, story_members, story_keys).

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Articles clustered before this revision have no story: they stay out of `newsmon stories`, and a new
    # article of the same event starts a story of its own (docs/stories.md).
    op.create_table(
        "stories",
        sa.Column("story_id", sa.String(64), primary_key=True),
        sa.Column("first_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_article_id", sa.String(64), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("languages", sa.JSON, nullable=False),
        sa.Column("outlets", sa.JSON, nullable=False),
    )
    op.create_index("ix_stories_last_seen_at", "stories", ["last_seen_at"])
    op.create_table(
        "story_members",
        sa.Column("article_id", sa.String(64), primary_key=True),
        sa.Column("story_id", sa.String(64), nullable=False),
        sa.Column("cluster_id", sa.String(64), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("source", sa.String(256)),
        sa.Column("affiliation", sa.String(32)),
        sa.Column("title", sa.Text),
        sa.Column("url", sa.Text),
        sa.Column("signals", sa.JSON, nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
    )
    for column in ("story_id", "cluster_id", "seen_at"):
        op.create_index(f"ix_story_members_{column}", "story_members", [column])
    op.create_table(
        "story_keys",
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("day", sa.Integer, primary_key=True),
        sa.Column("article_id", sa.String(64), primary_key=True),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("story_keys")
    op.drop_table("story_members")
    op.drop_table("stories")
