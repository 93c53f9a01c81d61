"""Data preparation (GLUE, and the tokenisers it needs); plain Python, importable and tested."""
