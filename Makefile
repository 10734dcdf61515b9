# `make help` lists the targets. Everything installs from this repository's own files.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
FLASK := $(BIN)/flask --app wsgi

.DEFAULT_GOAL := help
.PHONY: help install run worker test lint bench bench-export clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(BIN)/.installed ## Create .venv and install the pinned requirements

run: install ## Serve on http://127.0.0.1:5000 with the worker (SQLite; mail at /dev/mail)
	$(FLASK) db upgrade
	$(FLASK) petition import content/*.md
	./scripts/run-dev

test: install ## Run the whole test suite (SQLite; PostgreSQL and Redis when reachable)
	$(BIN)/pytest

lint: install ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

bench-export: install ## Time export + verify of 10k, 100k, 1M signatures (SQLite; peak memory)
	$(BIN)/python bench/export.py

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .coverage

bench: install ## Load benchmarks side by side with reference endpoints (needs wrk)
	$(BIN)/python -m bench.run
