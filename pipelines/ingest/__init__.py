"""Landing folder -> DuckDB schema raw (see loader's docstring for the rules)."""
