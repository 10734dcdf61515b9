# `make help` lists the targets. Everything installs from this repository's own files.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin
# The PostgreSQL server `make bench-export` measures on (it creates databases there).
BENCH_POSTGRES_URL ?= postgresql://postgres@127.0.0.1:5432/test
FLASK := $(BIN)/flask --app wsgi

.DEFAULT_GOAL := help
# Test processes (pytest-xdist): three for two cores, as a third of the suite's time is spent
# waiting on browsers, servers and subprocesses (on 2 cores with work stealing: 3 took 266 s,
# 4 279 s; 2 with the default scheduling 346 s, earlier that day).
# TEST_WORKERS=0 runs in this process. "worksteal": a process out of tests takes some of the
# busiest one's (tests/helpers/schedule.py).
TEST_WORKERS ?= $(shell $(PYTHON) -c 'import os; print(max(2, len(os.sched_getaffinity(0)) * 3 // 2))')

.PHONY: help install system-packages requirements run worker test coverage lint bench bench-export clean translations compile-translations add-language

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-20s %s\n", $$1, $$2}'

# The pins (made from pyproject.toml), then the project itself in place: the `petition`
# command, with the checkout's templates, migrations and catalogs used where they are.
$(BIN)/.installed: pyproject.toml requirements.txt requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -r requirements-dev.txt
	$(BIN)/pip install --quiet --no-deps --no-build-isolation --editable .
	touch $@

# The keywords that mark a string for translation; tests/i18n/test_catalogs.py uses the same.
BABEL_KEYWORDS := -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 -k Np_:1,2
POT := translations/messages.pot
PO_FILES := $(wildcard translations/*/LC_MESSAGES/messages.po)
MO_FILES := $(PO_FILES:.po=.mo)

# Compiled catalogs are build output (.gitignore'd): made from the .po files on install.
translations/%/LC_MESSAGES/messages.mo: translations/%/LC_MESSAGES/messages.po $(BIN)/.installed
	$(BIN)/pybabel -q compile -i $< -o $@ -l $*

# axe-core for the accessibility tests, at the version package-lock.json pins. Without npm
# (scripts/install-system-packages brings it) those tests skip and say so.
node_modules/.installed: package.json package-lock.json
	@if command -v npm >/dev/null 2>&1; then \
		npm ci --no-audit --no-fund --loglevel=error && touch $@; \
	else \
		echo "npm missing: the accessibility tests will skip (sudo scripts/install-system-packages)"; \
	fi

install: $(BIN)/.installed $(MO_FILES) node_modules/.installed ## Create .venv, install the pinned requirements, compile the catalogs

translations: $(BIN)/.installed ## Extract marked strings into the catalogs (then translate the new ones and make install)
	$(BIN)/pybabel -q extract -F babel.cfg $(BABEL_KEYWORDS) --no-location --no-wrap --sort-output \
		--project=petition --copyright-holder="the petition service's authors" -o $(POT) .
	$(BIN)/pybabel -q update -i $(POT) -d translations --no-wrap --no-fuzzy-matching --ignore-obsolete
	$(MAKE) --no-print-directory compile-translations

add-language: $(BIN)/.installed ## Start a catalog for a new language: make add-language CODE=fr
	@test -n "$(CODE)" || { echo "usage: make add-language CODE=fr"; exit 2; }
	$(BIN)/pybabel -q init -i $(POT) -d translations -l $(CODE) --no-wrap
	@echo "Now translate translations/$(CODE)/LC_MESSAGES/messages.po, then: make install"

compile-translations: $(BIN)/.installed ## Compile every catalog (.po -> .mo)
	$(BIN)/pybabel -q compile -d translations

run: install ## Serve on http://127.0.0.1:5000 with the worker (SQLite; mail at /dev/mail)
	$(FLASK) db upgrade
	$(FLASK) petition import content/*.md
	./scripts/run-dev

system-packages: ## Install the Debian packages the tests need, when missing and this user can
	./scripts/install-system-packages --if-possible

requirements: ## Write requirements*.txt from pyproject.toml (the one list of pins)
	$(PYTHON) -m scripts.requirements

# System packages first: `install` runs npm, which they may bring.
test: system-packages install ## Run the whole test suite in parallel (SQLite; PostgreSQL and Redis when reachable)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal

# Line and branch coverage slows every test by about 1.7 times (measured side by side), so
# the change-test loop runs without it and this target reports it.
coverage: system-packages install ## The whole suite with a coverage report (slower)
	$(BIN)/pytest -n $(TEST_WORKERS) --dist worksteal --cov=petition --cov-report=term:skip-covered

lint: install ## ruff, ruff format --check, mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/python -m scripts.requirements --check

bench-export: install ## Time export + verify of 10k, 100k, 1M signatures (SQLite, PostgreSQL; peak memory)
	$(BIN)/python bench/export.py
	$(BIN)/python bench/export.py --postgresql $(BENCH_POSTGRES_URL)

clean: ## Remove the virtualenv and local data
	rm -rf $(VENV) instance .pytest_cache .mypy_cache .ruff_cache .coverage node_modules dist build $(MO_FILES)

bench: install ## Load benchmarks side by side with reference endpoints (installs wrk)
	./scripts/install-system-packages
	$(BIN)/python -m bench.run
