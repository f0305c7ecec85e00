# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export BPM_DEMO ?= 1

.PHONY: run test test-postgres venv dev-deps browser modeler bench bench-quick lint clean

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

# The browser modeler's npm packages (bpmn-js, camunda-bpmn-moddle), pinned in package-lock.json and served from
# node_modules; without npm the modeler page says it is not installed and everything else works.
modeler:
	@if ! command -v npm >/dev/null; then \
	  echo "WARNING: npm not found; the browser modeler will say it is not installed"; \
	elif [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then \
	  npm ci --no-audit --no-fund --loglevel=error || echo "WARNING: npm ci failed; the browser modeler will say it is not installed"; \
	fi

run: venv modeler
	$(BIN)/bpm init
	$(BIN)/bpm deploy --shipped --user designer
	$(BIN)/bpm demo-users
	$(BIN)/bpm run --host $(HOST) --port $(PORT)

test: dev-deps browser modeler
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
