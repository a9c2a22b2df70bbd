# The README's first two commands: `make run` (the app) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: install run test bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[dev,dask]'
	touch $@

install: $(VENV)/.installed

run: install
	$(BIN)/streamlit run app.py --server.headless true

test: install
	$(BIN)/python -m pytest

clean:
	rm -rf $(VENV) .pytest_cache
