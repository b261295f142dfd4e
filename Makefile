# The two commands a fresh machine needs: `make compare` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: compare test lint report notebook mutate clean lock

# Every install goes through constraints.txt: the versions the README's numbers were measured with.
INSTALL := $(BIN)/python -m pip install --quiet -c constraints.txt
LOCK_VENV := .lock-venv

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(INSTALL) -e '.[test]'
	touch $(STAMP)

# Refresh constraints.txt: the newest versions pyproject.toml allows, in a fresh environment.
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '.[test,notebook,mutate,peers]'
	{ head -3 constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > constraints.new
	mv constraints.new constraints.txt
	rm -rf $(LOCK_VENV)

compare: $(STAMP)
	$(BIN)/lab compare $(ARGS)

test: $(STAMP)
	$(BIN)/python -m pytest $(ARGS)

report: $(STAMP)
	$(BIN)/lab report $(ARGS)

notebook: $(STAMP)
	$(INSTALL) -e '.[notebook]'
	$(BIN)/lab notebook

# Mutation testing (for developers; CI runs the suite): mutmut breaks servers/core and the lab's
# measuring logic one change at a time and runs the fast tier against each; see MUTANTS.md.
mutate: $(STAMP)
	$(INSTALL) -e '.[mutate]'
	rm -rf mutants
	QPSLAB_DERANDOMIZE=1 $(BIN)/mutmut run --max-children $$(nproc) > mutants.log 2>&1 || (tail -5 mutants.log; exit 1)
	$(BIN)/python tools/mutation_report.py

lint: $(STAMP)
	$(BIN)/ruff check oscalls servers lab tests tools benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV)
