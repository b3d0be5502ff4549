"""The revisions of the state DB schema, one file each (Alembic reads them from this folder)."""
