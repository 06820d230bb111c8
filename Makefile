# `make demo` and `make test` create the virtual environment themselves on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: demo test lint clean

$(BIN)/followback: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

demo: $(BIN)/followback
	$(BIN)/followback demo

test: $(BIN)/followback
	$(BIN)/pytest -q

lint: $(BIN)/followback
	$(BIN)/ruff check pipeline dags tests
	$(BIN)/ruff format --check pipeline dags tests

clean:
	rm -rf data .pytest_cache
