# The README's first two commands: `make run` (the app) and `make test` (the whole suite).
# `make test-fast`: the same without the browser, subprocess and slow tests (under a minute).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
LOCK := requirements.lock

.PHONY: install run test test-fast docs bench clean lock audit

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

# Exactly the pinned versions of requirements.lock, then grader itself without resolving again.
$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/activate
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -r $(LOCK)
	$(BIN)/python -m pip install --no-deps -e .
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/streamlit run app.py --server.headless true

test: install
	$(BIN)/python -m pytest

# Re-pin after changing the dependencies in pyproject.toml (needs the package index).
lock: | $(BIN)/activate
	$(BIN)/python -m pip install -q uv
	$(BIN)/uv pip compile pyproject.toml --extra app --extra dev --extra dask --universal --python-version 3.11 \
		--no-header --no-annotate -o $(LOCK).new
	{ sed -n '1,3p' $(LOCK); cat $(LOCK).new; } > $(LOCK).tmp && rm $(LOCK).new && mv $(LOCK).tmp $(LOCK)

# Known vulnerabilities in the pinned versions; --strict fails if any package could not be checked.
audit: install
	$(BIN)/python -m pip install -q pip-audit
	$(BIN)/pip-audit --strict --no-deps --disable-pip -r $(LOCK)

test-fast: install
	$(BIN)/python -m pytest -q -m "not e2e and not slow and not subprocess"

docs: install  # generated reference pages (a test fails when they drift from the code)
	$(BIN)/python -m grader.reference docs

clean:
	rm -rf $(VENV) .pytest_cache
