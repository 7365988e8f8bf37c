# Pearl: every target works on a fresh clone (it creates .venv when missing).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PEARL := $(BIN)/pearl
PEARL_PORT ?= 8000
export PEARL_PORT

.PHONY: demo test lint install install-dev serve clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Installs are stamped so repeated `make` runs don't reinstall; constraints.txt pins every version.
$(VENV)/.installed: $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/pip install --quiet -c constraints.txt -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/pip install --quiet -c constraints.txt -e ".[dev]"
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

demo: install
	$(PEARL) migrate --noinput
	$(PEARL) demo

serve: install
	$(PEARL) migrate --noinput
	$(PEARL) serve --port $(PEARL_PORT)

test: install-dev
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check pearl tests benchmarks conftest.py
	$(BIN)/mypy pearl
	PEARL_DATA_DIR=$${PEARL_DATA_DIR:-$$(mktemp -d)} $(PEARL) makemigrations --check --dry-run

clean:
	rm -rf $(VENV) var
