# geodx — `make run` runs the demo province, `make test` runs the tests.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
DEMO   := build/demo
OUT    := build/demo-out
PORT   ?= 8000

.PHONY: setup run test bench lint typecheck clean browser

setup: $(BIN)/geodx

$(BIN)/geodx: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

# Build the synthetic demo province, compute it (printing the report), then serve it
# on 127.0.0.1:$(PORT) with its maps (Ctrl+C stops the server).
run: setup
	$(BIN)/geodx demo --out $(DEMO)
	$(BIN)/geodx run $(DEMO) --out $(OUT)
	$(BIN)/geodx serve $(DEMO) --out $(OUT) --host 127.0.0.1 --port $(PORT)

# Debian's Chromium for the map tests (headless; they are skipped when it is missing).
browser:
	@test -x /usr/bin/chromium || (apt-get update && apt-get install -y chromium) \
		|| echo "warning: could not install chromium; browser tests will be skipped"

test: setup browser
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -m bench

lint: setup
	$(BIN)/ruff check geodx layers api tests bench
	$(BIN)/ruff format --check geodx layers api tests bench

typecheck: setup
	$(BIN)/mypy

clean:
	rm -rf build .pytest_cache .mypy_cache .ruff_cache
