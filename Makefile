# Two commands for a newcomer: `make serve` runs the gateway locally, `make test` runs every test.
# Each creates the virtual environment it needs (.venv) on first use. Deploying: docs/deploying.md.

# python3 if it is 3.11+, else the first python3.1x that runs (local/venv.sh refuses anything older, clearly).
PYTHON ?= $(firstword $(foreach p,python3 python3.13 python3.12 python3.11,$(if $(shell $(p) -c 'import sys; print(sys.version_info >= (3, 11) or "")' 2>/dev/null),$(p))) python3)
VENV ?= .venv
PY := $(VENV)/bin/python
SERVE_REQUIREMENTS := requirements.txt requirements-asgi.txt requirements-token-data.txt requirements-serve.txt
TEST_REQUIREMENTS := $(SERVE_REQUIREMENTS) requirements-dev.txt requirements-dev-nodeps.txt
SERVE_STAMP := .serve-$(shell cat $(SERVE_REQUIREMENTS) | cksum | cut -d' ' -f1)
TEST_STAMP := .installed-$(shell cat $(TEST_REQUIREMENTS) | cksum | cut -d' ' -f1)
STAMP := $(VENV)/$(TEST_STAMP)

.PHONY: serve serve-venv test unit integration bench venv clean image push doctor smoke

# The whole test set (local/venv.sh checks the Python version first and rebuilds a broken .venv on its own).
venv: $(STAMP)

$(STAMP): $(TEST_REQUIREMENTS)
	@sh local/venv.sh $(PYTHON) $(VENV) $(TEST_STAMP) requirements-dev.txt nodeps:requirements-dev-nodeps.txt
	@rm -f $(VENV)/.installed-* && touch $@

# Serving needs only the runtime set, uvicorn and the embedded PostgreSQL (a .venv with the test set has them).
serve-venv:
	@test -f $(STAMP) || sh local/venv.sh $(PYTHON) $(VENV) $(SERVE_STAMP) nodeps:requirements-serve.txt

serve: serve-venv
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
