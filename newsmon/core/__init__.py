"""The ground layer: records, settings, config files, the query language, errors, text helpers; imports nothing else of ours."""
