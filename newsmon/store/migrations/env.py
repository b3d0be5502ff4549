"""Alembic environment: run the revisions on the connection newsmon.store.migrate hands over (no alembic.ini)."""

from __future__ import annotations

from alembic import context

from newsmon.store.schema import metadata

# newsmon.store.migrate opens the connection, takes the schema lock and owns the transaction; this file
# only runs the revisions inside it, so the check, the adoption of an old DB and the upgrade commit together.
connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    # SQLite cannot alter most of a table in place: batch mode rebuilds it (copy, drop, rename).
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
