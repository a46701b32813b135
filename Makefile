# Two commands for a newcomer: `make serve` runs the gateway locally, `make test` runs every test.
# Each creates the virtual environment it needs (.venv) on first use. Deploying: docs/deploying.md.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-token-data.txt requirements-dev.txt requirements-dev-nodeps.txt | cksum | cut -d' ' -f1)

.PHONY: serve test unit integration bench venv clean image push doctor smoke

venv: $(STAMP)

$(STAMP): requirements.txt requirements-token-data.txt requirements-dev.txt requirements-dev-nodeps.txt
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

# Benchmarks against LiteLLM (never part of `make test`): prints the results, the comparison with LiteLLM and with the
# committed bench/RESULTS.json, and writes bench/RESULTS.md. `make bench ARGS=--quick` is a short run written to
# bench/quick/ (`make bench --quick` would be an option to make itself, not to the benchmark). docs/benchmarks.md.
bench: $(STAMP)
	$(PY) -m bench $(ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis

# What your OCI identity reaches (docs/deploying.md, "Doctor"); ARGS="--capture FILE" records the raw exchanges.
doctor: $(STAMP)
	$(PY) -m deploy.doctor $(ARGS)

# The deployed endpoint end to end; `terraform output smoke_command` prints the exact command.
smoke: $(STAMP)
	$(PY) -m deploy.smoke $(ARGS)

# --- Deploying (docs/deploying.md) ----------------------------------------------------------------------------------
# REGISTRY is <region key>.ocir.io/<namespace>/<repository prefix>, e.g. fra.ocir.io/mytenancy/genai-gw. Both
# Dockerfile targets are built: the function image and the streaming (ASGI) image, tagged <TAG>-asgi.
REGISTRY ?=
IMAGE_NAME ?= oci-genai-gateway
TAG ?= $(shell git describe --tags --always --dirty 2>/dev/null || date -u +%Y%m%d%H%M%S)
PLATFORM ?= linux/amd64
IMAGES_TFVARS ?= terraform/images.auto.tfvars.json
FUNCTION_IMAGE = $(REGISTRY)/$(IMAGE_NAME):$(TAG)
STREAMING_IMAGE = $(REGISTRY)/$(IMAGE_NAME):$(TAG)-asgi

image:
	@test -n "$(REGISTRY)" || { echo "make image: set REGISTRY=<region key>.ocir.io/<namespace>/genai-gw (docs/deploying.md)" >&2; exit 2; }
	docker build --platform $(PLATFORM) -t $(FUNCTION_IMAGE) .
	docker build --platform $(PLATFORM) --target asgi -t $(STREAMING_IMAGE) .

# Pushes both images, then records their digests for Terraform: the next `terraform apply` rolls them out.
push: image
	docker push $(FUNCTION_IMAGE)
	docker push $(STREAMING_IMAGE)
	$(PYTHON) -m deploy.images $(IMAGES_TFVARS) $(FUNCTION_IMAGE) $(STREAMING_IMAGE)
