# The two README commands: `make demo` and `make test`. Both create .venv and
# install the package with the exact pins of constraints.txt when needed.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_DIR ?= demo
PYTEST_ARGS ?=

export MLFLOW_DISABLE_TELEMETRY := true
export RAY_USAGE_STATS_ENABLED := 0

.PHONY: install demo test test-slow test-slurm bench clean

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "error: $(PYTHON) not found; install Python 3.11 or run 'make PYTHON=/path/to/python3.11'"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml constraints.txt
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	@touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/python scripts/demo.py --dir $(DEMO_DIR)

test: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 -m "not slow and not slurm" $(PYTEST_ARGS)

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m "slow and not slurm" $(PYTEST_ARGS)

# A real single-node SLURM (Debian's slurm-wlm and munge, as root), the chain submitted to it, then stopped.
SLURM_DIR ?= /tmp/fvc-slurm
test-slurm: $(STAMP)
	bash scripts/slurm_local.sh start $(SLURM_DIR)
	SLURM_CONF=$(SLURM_DIR)/slurm.conf $(BIN)/python -m pytest -q -s -m slurm $(PYTEST_ARGS); \
		rc=$$?; bash scripts/slurm_local.sh stop $(SLURM_DIR); exit $$rc

bench: $(STAMP)
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(DEMO_DIR) .pytest_cache build dist

# Mutation testing of the core modules (data/splits.py, training/metrics.py, the CV loop, predict.py) on
# their fast tests; configured in pyproject.toml [tool.mutmut]. Not part of `make test`: it takes hours on
# 2 loaded cores (README, "Mutation testing": about 75 min for the loop, 3 h for predict, 1 h for splits and
# metrics). MUTANTS narrows it to one module: make mutation MUTANTS='fvc.experiment.loop*'
MUTANTS ?=
.PHONY: mutation
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test,dev]"
	rm -rf mutants
	FVC_HYPOTHESIS_EXAMPLES=20 nice -n 10 $(BIN)/mutmut run --max-children 2 $(MUTANTS)
	$(BIN)/python scripts/mutation_report.py
