# `make run` and `make test` do all setup: a Python 3.11 venv from the pinned envs/.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The report test opens report.html in Debian's Chromium; another browser: CHROMIUM=/path make test
CHROMIUM ?= /usr/bin/chromium
ROOT := $(filter 0,$(shell id -u))
SUDO := $(if $(ROOT),,sudo)
APT_INSTALL := $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends
comma := ,
# Features the tests must exercise (tests/helpers.py): where one is missing they fail instead of
# skipping. Chromium always (`make test` installs it); as root also SLURM (tests/test_slurm.py
# installs SLURM and munge with apt-get and starts a single-node cluster, stopped after) and the
# network namespaces of the strategies experiment. FACEBENCH_REQUIRE=chromium make test: neither.
FACEBENCH_REQUIRE ?= chromium$(if $(ROOT),$(comma)slurm$(comma)netns)

.PHONY: python setup browser network-tools run report test test-fast test-slurm dry-run-paper lint bench-analysis clean

# Python 3.11 with its venv module (ensurepip): installed with apt-get where missing (Debian,
# Ubuntu), else one line saying what is needed.
PYTHON_OK = $(PYTHON) -c 'import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 11))' 2> /dev/null
python:
	@if ! $(PYTHON_OK) && command -v apt-get > /dev/null; then \
		echo "make: installing python3.11 and python3.11-venv with apt-get"; \
		$(SUDO) apt-get update -qq && $(APT_INSTALL) python3.11 python3.11-venv > /dev/null || true; fi
	@$(PYTHON_OK) || { echo "make: needs Python 3.11 with its venv module as $(PYTHON)" \
		"(Debian/Ubuntu: apt-get install python3.11 python3.11-venv)" >&2; exit 1; }

$(STAMP): envs/requirements.txt pyproject.toml | python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r envs/requirements.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update -qq
	$(APT_INSTALL) chromium

browser: $(CHROMIUM)

# The strategies experiment builds emulated links in network namespaces (root): iproute2's ip
# and tc build them, nftables gives them packet loss; both are installed when any tool is
# missing. Without root nothing is installed and the experiment reports "not measured".
network-tools:
	@if [ -n "$(ROOT)" ] && ! { command -v nft && command -v ip && command -v tc; } > /dev/null; then \
		apt-get update -qq && $(APT_INSTALL) nftables iproute2; fi

# The default configuration (the paper's pipeline) with the fast preset beside it.
run: setup network-tools
	@start=$$(date +%s); $(BIN)/snakemake --configfile config/fast.yaml && \
	echo "make run: workflow took $$(( $$(date +%s) - start )) s"

report: setup
	$(BIN)/snakemake --configfile config/fast.yaml --report report.html

lint: setup
	$(BIN)/ruff check src tests workflow/scripts envs
	$(BIN)/ruff format --check src tests workflow/scripts envs
	$(BIN)/snakefmt --check workflow/Snakefile workflow/rules
	$(BIN)/snakemake --lint
	$(BIN)/python envs/make_conda_env.py --check

test: lint browser network-tools
	FACEBENCH_REQUIRE=$(FACEBENCH_REQUIRE) FACEBENCH_CHROMIUM=$(CHROMIUM) $(BIN)/pytest
	@$(MAKE) --no-print-directory dry-run-paper

# Linters and the tests that need no end-to-end workflow run (pytest marks those `e2e`).
test-fast: lint
	$(BIN)/pytest -m "not e2e"

# The SLURM end-to-end test alone (root); it first builds the CI run it reuses.
test-slurm: setup
	FACEBENCH_REQUIRE=slurm $(BIN)/pytest -m slurm

# Dry runs of config/paper.yaml in a scratch directory (nothing is written into the repo), with
# the default profile (this host's devices) and the SLURM one (every device sent to its
# partition): prints each one's number of run_inference jobs and the seconds it took.
dry-run-paper: setup
	@for profile in default slurm; do \
	scratch=$$(mktemp -d); start=$$(date +%s%N); \
	if ! $(BIN)/snakemake -n --snakefile workflow/Snakefile --directory $$scratch \
		--workflow-profile $(CURDIR)/workflow/profiles/$$profile \
		--configfile $(CURDIR)/config/config.yaml $(CURDIR)/config/paper.yaml \
		> $$scratch/dry-run.log 2>&1; then \
		tail -n 30 $$scratch/dry-run.log; rm -rf $$scratch; exit 1; fi; \
	ms=$$(( ($$(date +%s%N) - start) / 1000000 )); \
	jobs=$$(awk '$$1 == "total" { exit } $$1 ~ /^run_inference/ && $$2 ~ /^[0-9]+$$/ { printf "%s%s %s", sep, $$2, $$1; sep = ", " }' \
		$$scratch/dry-run.log); \
	echo "config/paper.yaml dry run, $$profile profile: $${jobs:-no} jobs in $$((ms / 1000)).$$((ms % 1000 / 100)) s"; \
	rm -rf $$scratch; done

# The analysis (aggregation, tables, claims, figures) on a synthetic data set the size of the
# paper's (294 runs, > 600 K frame rows): prints seconds per stage and peak memory.
bench-analysis: setup
	$(BIN)/python -m facebench.analysis.scale --paper-table6 resources/paper/table6_reconstructed.csv

clean:
	rm -rf $(VENV) .snakemake logs results
