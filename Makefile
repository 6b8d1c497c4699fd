# Live Control Room — `make run` and `make test` set up everything they need themselves.
SHELL := /bin/bash
PY ?= $(shell for p in python3 python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' >/dev/null 2>&1 \
	&& { command -v $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
DEPS_STAMP := $(VENV)/.stamp-deps
FRONTEND := frontend
NODE_STAMP := $(FRONTEND)/node_modules/.stamp-deps
# The API client is generated from the backend's OpenAPI schema, so the consoles are
# rebuilt when the backend (app/) changes too. Generated files are not sources.
FRONTEND_SOURCES := $(shell find $(FRONTEND)/src $(FRONTEND)/scripts $(FRONTEND)/index.html \
	$(FRONTEND)/vite.config.ts $(FRONTEND)/tsconfig*.json $(FRONTEND)/package.json -type f \
	-not -name openapi.json -not -name schema.d.ts 2>/dev/null) $(shell find app -name '*.py' 2>/dev/null)
FRONTEND_BUILT := $(FRONTEND)/dist/index.html
HAS_FRONTEND := $(wildcard $(FRONTEND)/package.json)

.PHONY: run test setup frontend lint typecheck demo bench clean help
.DEFAULT_GOAL := help

help:
	@echo "make run   – set up (venv, deps, frontend build) and start the service on http://127.0.0.1:8000"
	@echo "make test  – set up and run lint, type checks and every test (needs PostgreSQL + Redis)"
	@echo "make demo  – seed a demo stream with team users (passwords printed)"
	@echo "make bench – run the benchmarks in bench/"

run: setup frontend
	$(BIN)/controlroom serve

demo: setup
	$(BIN)/controlroom demo

test: setup frontend lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

setup: $(DEPS_STAMP)

$(DEPS_STAMP): requirements.lock pyproject.toml
	@test -n "$(PY)" || { echo "Python 3.11+ is required"; exit 1; }
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

ifeq ($(HAS_FRONTEND),)
frontend:
	@true
else
frontend: $(FRONTEND_BUILT)

$(NODE_STAMP): $(FRONTEND)/package.json $(FRONTEND)/package-lock.json
	cd $(FRONTEND) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(FRONTEND_BUILT): $(DEPS_STAMP) $(NODE_STAMP) $(FRONTEND_SOURCES)
	cd $(FRONTEND) && npm run build --silent
	@touch $@
endif

lint: setup
	$(BIN)/ruff check app tests alembic bench
	$(BIN)/ruff format --check app tests alembic bench

typecheck: setup
	$(BIN)/mypy app tests bench
ifneq ($(HAS_FRONTEND),)
	cd $(FRONTEND) && npm run --silent typecheck
endif

bench: setup
	@for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) $(FRONTEND)/node_modules $(FRONTEND)/dist .mypy_cache .ruff_cache .pytest_cache
