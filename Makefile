# Two commands for a newcomer: `make serve` runs the gateway locally, `make test` runs every test.
# Each creates the virtual environment it needs (.venv) on first use.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt requirements-dev-nodeps.txt | cksum | cut -d' ' -f1)

.PHONY: serve test unit integration bench venv clean

venv: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt requirements-dev-nodeps.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -r requirements-dev-nodeps.txt
	@rm -f $(VENV)/.installed-* && touch $@

serve: $(STAMP)
	$(PY) -m local.serve $(ARGS)

test: $(STAMP)
	$(PY) -m pytest -q $(ARGS)

unit: $(STAMP)
	$(PY) -m pytest -q tests/unit $(ARGS)

integration: $(STAMP)
	$(PY) -m pytest -q tests/integration $(ARGS)

# Benchmarks against LiteLLM (never part of `make test`); writes bench/RESULTS.md. ARGS="--quick" for a short run.
bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
