# geodx — `make run` runs the demo province, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := build/demo
OUT    := build/demo-out
HISTORY := build/history.sqlite
PORT   ?= 8000

# Two stamps: `make setup`/`run` install what running needs; `make test`/`lint`/
# `typecheck`/`bench` add the dev extras (pytest, playwright, ruff, mypy, ...).
RUN_STAMP := $(VENV)/.geodx-run-stamp
DEV_STAMP := $(VENV)/.geodx-dev-stamp

.PHONY: setup dev run shell test bench bench-partitions bench-country lint typecheck clean browser postgres

setup: $(RUN_STAMP)

dev: $(DEV_STAMP)

$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Build the synthetic demo province, compute it (printing the report), then serve it
# on 127.0.0.1:$(PORT) with its maps (Ctrl+C stops the server).
# Two vintages go into $(HISTORY) (the end of 2024, then mid-2025), so /history shows a trend.
run: setup
	$(BIN)/geodx demo --out $(DEMO)
	$(BIN)/geodx run $(DEMO)/region-2024.toml --out $(OUT)-2024 --quiet \
		--as-of 2024-12-31 --history $(HISTORY)
	$(BIN)/geodx run $(DEMO) --out $(OUT) --as-of 2025-06-30 --history $(HISTORY)
	@echo "geodx is $(BIN)/geodx (not on PATH); 'make shell' opens a shell where it is."
	$(BIN)/geodx serve $(DEMO) --out $(OUT) --host 127.0.0.1 --port $(PORT) \
		--history $(HISTORY)

# Debian's Chromium for the map tests (headless; they are skipped when it is missing).
browser:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium) \
		|| echo "warning: could not install chromium; browser tests will be skipped"

# A shell with .venv/bin first on PATH: `geodx run …` works as typed (exit to leave).
shell: setup
	@echo "geodx $$($(BIN)/geodx --version | cut -d' ' -f2) on PATH; type 'exit' to leave."
	@PATH="$(abspath $(BIN)):$$PATH" VIRTUAL_ENV="$(abspath $(VENV))" $${SHELL:-/bin/sh} -i

# Debian's PostgreSQL for the history store's server test (a throwaway cluster in a
# temporary folder; the test is skipped when initdb is missing).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
		|| (apt-get update && apt-get install -y --no-install-recommends postgresql) \
		|| echo "warning: could not install postgresql; its test will be skipped"

test: dev browser postgres
	$(BIN)/python -m pytest -q

# Writes bench/results/latest.json and the figures block of bench/README.md; then the
# service's figures beside those of the commit before issue 6 (bench/results/load/).
bench: dev
	$(BIN)/python -m bench
	$(BIN)/python -m bench.load --only-compare
	$(BIN)/python -m bench.scenario
	$(BIN)/python -m bench.brief
	$(BIN)/python -m bench.lookup --plan

# The partitioned engines (local, dask) beside the single pass on 1M and 10M households.
bench-partitions: dev
	$(BIN)/python -m bench.partitions

# The national demo region (real 2025 communes, census carried, synthetic networks from
# ../shared/data; skipped without it): its build, geodx run with the default engine and
# with Dask, and the 1M/10M memory ratio (bench/results/country.json).
bench-country: dev  # COUNTRY_ARGS="--region build/country --no-dask": no build, reuse it
	$(BIN)/python -m bench.country $(COUNTRY_ARGS)

lint: dev
	$(BIN)/ruff check geodx layers api app data tests bench
	$(BIN)/ruff format --check geodx layers api app data tests bench

typecheck: dev
	$(BIN)/mypy

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
