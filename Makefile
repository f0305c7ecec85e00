# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export BPM_DEMO ?= 1

.PHONY: run test test-postgres venv dev-deps browser bench bench-quick lint clean

$(BIN)/bpm: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $(BIN)/bpm

venv: $(BIN)/bpm

dev-deps: venv
	$(BIN)/pip install --quiet -e '.[dev]'

# Debian's chromium for the browser tests (no browser downloads work here).
browser:
	@if [ ! -x /usr/bin/chromium ] || ! command -v jq >/dev/null || ! fc-list 2>/dev/null | grep -qi "noto sans cjk"; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium fonts-noto-cjk jq curl >/dev/null \
	    || echo "WARNING: could not install Debian chromium; browser tests will be skipped"; \
	fi

run: venv
	$(BIN)/bpm init
	$(BIN)/bpm deploy --shipped --user designer
	$(BIN)/bpm demo-users
	$(BIN)/bpm run --host $(HOST) --port $(PORT)

test: dev-deps browser
	$(BIN)/python -m pytest

test-postgres: dev-deps
	BPM_TEST_POSTGRES_URL=$${BPM_TEST_POSTGRES_URL:-postgresql+psycopg://postgres@127.0.0.1:5432/postgres} \
	  $(BIN)/python -m pytest -m postgres

# BENCH_ARGS, e.g. "--output /tmp/bench.md" (CI) or "--only inbox,timers --no-postgres".
bench: dev-deps
	$(BIN)/python -m bench.run $(BENCH_ARGS)

bench-quick: dev-deps
	$(BIN)/python -m bench.run --quick $(BENCH_ARGS)

lint: dev-deps
	$(BIN)/ruff check engine web tests
	$(BIN)/mypy engine

clean:
	rm -rf $(VENV) instance .pytest_cache
