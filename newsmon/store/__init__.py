"""State DB and search index backends."""
