# Two commands are the whole set-up: `make run` and `make test` (the whole suite, what CI runs).
# `make test-fast` leaves out the real-browser and the slow tests: the lane to run while you work.
# Each creates .venv on first use and installs requirements.txt into it.
# `make weights` downloads the pretrained models ahead of class (SET=cpu, the recommended set; SET=all: every model).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-fast bench weights clean

SET ?= cpu

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/streamlit run app.py

test: $(STAMP)
	$(BIN)/python -m pytest -q

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not browser and not slow"

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

weights: $(STAMP)
	$(BIN)/python -m core.zoo.fetch --set $(SET)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis tests/artifacts
