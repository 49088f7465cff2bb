# Two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv run test lint typecheck imports unit bench clean system-deps

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

venv: $(STAMP)

## Start both services on SQLite with development keys and demo data.
run: venv
	@bash scripts/run-dev.sh

## Lint, type-check and run every test (database tests also on PostgreSQL when TEST_DATABASE_URL is set),
## one worker process per core, each test file whole in one worker (its module fixtures made once).
test: venv system-deps lint typecheck imports
	$(PY) -m pytest -n auto --dist loadfile --durations=30

## chromium, chromium-driver, poppler-utils, fonts-noto-core, fonts-noto-cjk, fonts-dejavu-core (apt-get, when root and missing).
system-deps:
	@bash scripts/system-deps.sh

lint: venv
	$(PY) -m ruff check .

typecheck: venv
	$(PY) -m mypy

## Import boundaries ([tool.importlinter] in pyproject.toml): verifier never imports issuer, vc/keys stay pure.
imports: venv
	$(VENV)/bin/lint-imports --no-cache

bench: venv
	$(PY) -m pip install --quiet -e '.[test,bench]'
	$(PY) bench/verify_speed.py
	$(PY) bench/verify_http.py
	$(PY) bench/issue_speed.py
	$(PY) bench/issue_instructions.py
	$(PY) bench/issue_profile.py
	$(PY) bench/bulk_speed.py
	$(PY) bench/storage.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache *.egg-info
