"""What a person at a terminal sees: the Dagster instance the CLI records runs in, progress lines,
the findings summary, query output formats and the UI launcher."""
