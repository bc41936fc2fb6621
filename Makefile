# Closeloop: `make run` serves the app with demo data, `make test` runs the suite.
# Needs only Python 3.11 and make; everything else goes into .venv.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
STAMP := $(VENV)/.installed

.PHONY: run test bench install lint clean fuzz

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is needed ($(PYTHON) not found)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@CLOSELOOP_DEMO=$${CLOSELOOP_DEMO-1} PORT=$(PORT) $(BIN)/python -m closeloop.run

test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The API fuzzing with more cases than `make test` runs; CI bounds it with a time limit.
FUZZ_EXAMPLES ?= 8
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest closeloop/testing/tests/test_api_fuzz.py -q $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) var/test_*.sqlite3*
