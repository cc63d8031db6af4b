# Two commands for a fresh machine: `make report` and `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
CORES ?= all

.PHONY: report test lint audit verify bench clean mutation

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --no-deps -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	touch $@

venv: $(VENV)/.installed

report: $(VENV)/.installed
	$(BIN)/snakemake --cores $(CORES) --profile profiles/default

test: $(VENV)/.installed
	$(BIN)/python -m pytest

# Bring the workflow up to date, print published vs reproduced; non-zero if any claim fails.
# With no claims file (audit.claims absent or null) it says so and exits 0.
audit: $(VENV)/.installed
	@$(BIN)/python -m aiha.audit --has-claims config.yaml; rc=$$?; \
	if [ $$rc = 0 ]; then \
	  $(BIN)/snakemake --cores $(CORES) --profile profiles/default results/audit/claims.tsv && \
	  $(BIN)/python -m aiha.audit results/audit/claims.tsv; \
	elif [ $$rc != 3 ]; then exit $$rc; fi

# Two clean rebuilds of the current commit in two directories: identical bytes.
verify: $(VENV)/.installed
	tools/verify_rebuild.sh

lint: $(VENV)/.installed
	$(BIN)/snakemake --lint
	$(BIN)/snakefmt --check Snakefile workflow/rules

clean:
	rm -rf results/* .snakemake
	touch results/.gitkeep

# Benchmarks (not tests, about 15 min): figures written into benchmarks/README.md.
bench: $(VENV)/.installed
	$(BIN)/python benchmarks/floor.py
	$(BIN)/python benchmarks/cytometry_bench.py
	$(BIN)/python benchmarks/workflow_bench.py

# Mutation testing of the domain core against the unit tests only (not part of
# make test; hours on 2 cores): config in pyproject.toml [tool.mutmut], figures
# recorded in benchmarks/mutation.md. MUTANTS narrows it, e.g. MUTANTS='aiha.response.*'.
MUTATION_CORES ?= 2
MUTANTS ?=
mutation: $(VENV)/.installed
	$(BIN)/mutmut run --max-children $(MUTATION_CORES) $(MUTANTS)
	$(BIN)/python benchmarks/mutation_summary.py
