# The two commands of the README: `make demo` and `make test`. Each sets up what it needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
DEBIAN_PACKAGES := fonts-noto-cjk libharfbuzz-subset0 poppler-utils chromium wrk
# The Spark target needs a Java runtime (Spark 4: Java 17 or 21); installed only when java is missing.
SPARK_DEBIAN_PACKAGES := default-jre-headless

.PHONY: demo test test-fast setup system-packages bench lint typecheck spark spark-system-packages

# The documents' CJK font subset (certificates/fonts.py) is built once here, into
# $SHEBAO_HOME/cache/fonts; rebuilt only when missing, damaged or lacking a served name's character.
setup: system-packages $(VENV)/.installed
	$(BIN)/python -m certificates.fonts

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test]'
	touch $@

# Debian packages (CJK fonts, fast font subsetting, pdftoppm/pdfsig, Chromium for browser tests).
system-packages:
	@missing=$$(for p in $(DEBIAN_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

demo: setup
	$(BIN)/shebao demo

# The Spark extra (dbt-spark, pyspark; ~490 MB) and Java: only when asked for (docs/scale-out.md).
# `make test` asks for it, so the Spark equality test runs in CI; `make demo` does not.
spark: setup spark-system-packages $(VENV)/.spark-installed

$(VENV)/.spark-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/uv pip install -q --python $(BIN)/python -e '.[test,spark]'
	touch $@

spark-system-packages:
	@if ! command -v java >/dev/null 2>&1; then \
	  echo "installing Debian packages: $(SPARK_DEBIAN_PACKAGES)"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $(SPARK_DEBIAN_PACKAGES) >/dev/null; \
	fi

test: setup spark lint typecheck
	$(BIN)/python -m pytest -q

# ruff (lint + format check) on the Python, sqlfluff on the dbt SQL.
lint: setup lint-sql
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: setup
	$(BIN)/mypy

# The fast part for a developer: no pipeline build, no browser, nothing slow (markers in pyproject.toml).
test-fast: setup
	$(BIN)/python -m pytest -q -m "not slow and not browser and not dbt"

# Benchmark harness (not one of the two README commands; see benchmarks/README.md).
bench: setup
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

# SQL style of the dbt project (rules in .sqlfluff, dbt templater, DuckDB dialect). The
# templater compiles the project, and the profile needs a warehouse path: a scratch file in
# a temporary folder, never the real warehouse; dbt's compiled output goes there too.
.PHONY: lint-sql
lint-sql: setup
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	SHEBAO_WAREHOUSE=$$tmp/lint.duckdb DBT_TARGET_PATH=$$tmp/target DBT_LOG_PATH=$$tmp/logs \
	$(BIN)/sqlfluff lint dbt_project/models dbt_project/macros dbt_project/tests
