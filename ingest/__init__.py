"""Safe fetching, feed polling and parsing, page extraction, URL canonicalisation."""
