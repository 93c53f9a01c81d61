"""Command-line programs behind scripts/ (importable, so tests can call them)."""
