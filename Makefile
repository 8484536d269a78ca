# `make run` and `make test` do all setup: a Python 3.11 venv from the pinned envs/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PROFILE := --workflow-profile workflow/profiles/default

.PHONY: setup run report test lint clean

$(STAMP): envs/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r envs/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

run: setup
	@start=$$(date +%s); $(BIN)/snakemake --cores all $(PROFILE) && \
	echo "make run: workflow took $$(( $$(date +%s) - start )) s"

report: setup
	$(BIN)/snakemake --cores 1 $(PROFILE) --report report.html

lint: setup
	$(BIN)/ruff check src tests workflow/scripts
	$(BIN)/ruff format --check src tests workflow/scripts
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --cores 1

test: lint
	$(BIN)/pytest

clean:
	rm -rf $(VENV) .snakemake logs results
