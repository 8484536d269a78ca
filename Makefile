# `make run` and `make test` do all setup: a Python 3.11 venv from the pinned envs/.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The report test opens report.html in Debian's Chromium; another browser: CHROMIUM=/path make test
CHROMIUM ?= /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: setup browser run report test test-fast dry-run-paper lint bench-analysis clean

$(STAMP): envs/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r envs/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends chromium

browser: $(CHROMIUM)

run: setup
	@start=$$(date +%s); $(BIN)/snakemake && \
	echo "make run: workflow took $$(( $$(date +%s) - start )) s"

report: setup
	$(BIN)/snakemake --report report.html

lint: setup
	$(BIN)/ruff check src tests workflow/scripts envs
	$(BIN)/ruff format --check src tests workflow/scripts envs
	$(BIN)/snakefmt --check workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint
	$(BIN)/python envs/make_conda_env.py --check

test: lint browser
	FACEBENCH_CHROMIUM=$(CHROMIUM) $(BIN)/pytest
	@$(MAKE) --no-print-directory dry-run-paper

# Linters and the tests that need no end-to-end workflow run (pytest marks those `e2e`).
test-fast: lint
	$(BIN)/pytest -m "not e2e"

# Dry run of config/paper.yaml in a scratch directory (nothing is written into the repo):
# prints its number of run_inference jobs and the seconds the dry run took.
dry-run-paper: setup
	@scratch=$$(mktemp -d); start=$$(date +%s%N); \
	if ! $(BIN)/snakemake -n --snakefile workflow/Snakefile --directory $$scratch \
		--configfile $(CURDIR)/config/paper.yaml > $$scratch/dry-run.log 2>&1; then \
		tail -n 30 $$scratch/dry-run.log; rm -rf $$scratch; exit 1; fi; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	jobs=$$(awk '$$1 == "run_inference" { print $$2; exit }' $$scratch/dry-run.log); \
	echo "config/paper.yaml dry run: $${jobs:-0} run_inference jobs in $$((ms / 1000)).$$((ms % 1000 / 100)) s"; \
	rm -rf $$scratch

# The analysis (aggregation, tables, claims, figures) on a synthetic data set the size of the
# paper's (294 runs, > 600 K frame rows): prints seconds per stage and peak memory.
bench-analysis: setup
	$(BIN)/python -m facebench.analysis.scale --paper-table6 resources/paper/table6_reconstructed.csv

clean:
	rm -rf $(VENV) .snakemake logs results
