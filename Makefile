# The two commands a fresh machine needs: `make compare` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: compare test lint report notebook mutate clean

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

# Mutation testing (for developers; CI runs the suite): mutmut breaks servers/core and the lab's
# measuring logic one change at a time and runs the fast tier against each; see MUTANTS.md.
mutate: $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[mutate]'
	rm -rf mutants
	$(BIN)/mutmut run --max-children $$(nproc) > mutants.log 2>&1 || (tail -5 mutants.log; exit 1)
	$(BIN)/python tools/mutation_report.py

lint: $(STAMP)
	$(BIN)/ruff check oscalls servers lab tests tools benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
