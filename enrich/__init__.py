"""Pure enrichment: language, topic tagging, entities, dedup fingerprints. No I/O here."""
