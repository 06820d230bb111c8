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

# Two test processes, as CI has two cores; tests/conftest.py says which tests share one.
TEST_WORKERS ?= 2
test: $(BIN)/followback chromium
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup

# tests/analysts/test_report.py renders the report in headless Chromium (Debian's packages).
# apt-get runs only when it is missing; as root (CI) or through sudo.
.PHONY: chromium
chromium:
	@test -x /usr/bin/chromium || { \
		SUDO=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; }

lint: $(BIN)/followback
	$(BIN)/ruff check pipeline dags tests deploy benchmarks scripts
	$(BIN)/ruff format --check pipeline dags tests deploy benchmarks scripts

clean:
	rm -rf data .pytest_cache

# Fault injection (tests/reliability): prints faults injected / survived, rows lost, secrets leaked.
.PHONY: reliability
reliability: $(BIN)/followback
	$(BIN)/pytest -q tests/reliability

# The docker-compose.yml topology run natively (no Docker engine needed), end to end; see
# deploy/cluster_smoke.py. Not part of `make test`: .ci/run calls it afterwards. The outer timeout
# is a backstop behind the script's own deadline and leaves it time to stop what it started.
.PHONY: cluster-smoke
cluster-smoke: $(VENV)/.cluster-installed
	timeout --kill-after=60 600 $(BIN)/python -m deploy.cluster_smoke --deadline 540

$(VENV)/.cluster-installed: pyproject.toml $(BIN)/followback
	timeout 300 $(BIN)/pip install --quiet -e '.[dev,cluster]'
	touch $@

# Benchmarks of big accounts (benchmarks/RESULTS.md): all sizes take over an hour. A sanity run:
# `make bench BENCH_ARGS=--quick`; a long one in parts: BENCH_ARGS="--budget-minutes 35", then
# BENCH_ARGS="--budget-minutes 35 --resume".
.PHONY: bench
bench: $(BIN)/followback
	$(BIN)/python -m benchmarks.bench $(BENCH_ARGS)
