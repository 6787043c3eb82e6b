# Two commands do all the set-up on a fresh Linux machine with Python 3.11+:
#   make run   -> .venv + runtime install, then the app
#   make test  -> .venv + dev install, then the whole test suite
# Stamps make a re-run skip pip when pyproject.toml has not changed.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.stamp-run
DEVSTAMP := $(VENV)/.stamp-dev
ARGS ?=

.PHONY: run test lint bench clean

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "segstudio needs Python 3.11 or newer (found " + sys.version.split()[0] + ")")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(DEVSTAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev,bench]'
	@touch $@ $(STAMP)

run: $(STAMP)
	$(VENV)/bin/segstudio $(ARGS)

test: $(DEVSTAMP)
	$(PY) -m pytest $(ARGS)

lint: $(DEVSTAMP)
	$(VENV)/bin/ruff check segstudio tests main.py

bench: $(DEVSTAMP)
	$(VENV)/bin/segstudio bench $(ARGS)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
