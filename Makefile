# The two commands a fresh machine needs: `make compare` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: compare test lint report notebook clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

compare: $(STAMP)
	$(BIN)/lab compare $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

report: $(STAMP)
	$(BIN)/lab report $(ARGS)

notebook: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[notebook]'
	$(BIN)/lab notebook

lint: $(STAMP)
	$(BIN)/ruff check servers lab tests
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
