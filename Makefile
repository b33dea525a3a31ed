# The single entry point. `make run` and `make test` work on a fresh clone with python3 + make.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export AWS_DEFAULT_REGION ?= eu-west-1
export AWS_EC2_METADATA_DISABLED := true
export PYTHONPATH := $(CURDIR)

.PHONY: install run test load upload wheelhouse lint typecheck unit package check bench soak fmt clean deploy browser-deps

$(STAMP): requirements.txt requirements-dev.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV) (first run takes about a minute)..."
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade "pip<26.3"
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	@$(BIN)/python -m devstack.run

fmt: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

unit: $(STAMP)
	$(BIN)/pytest -q -m 'not slow'

# Offline packaging: `make wheelhouse` once (with network), then `make package` needs none.
wheelhouse: $(STAMP)
	$(BIN)/python -m pip download --quiet --dest wheelhouse --only-binary=:all: \
		--platform manylinux2014_x86_64 --implementation cp --python-version 3.11 \
		-r requirements.txt

package: $(STAMP)
	@rm -rf out && mkdir -p out
	$(if $(wildcard wheelhouse/*.whl),PIP_FIND_LINKS=$(CURDIR)/wheelhouse PIP_NO_INDEX=1,) \
	$(BIN)/chalice package --stage dev --pkg-format cloudformation \
		--merge-template infra/resources.yaml --template-format yaml out/
	$(BIN)/python -m devstack.precompile out/deployment.zip
	$(BIN)/cfn-lint out/sam.yaml
	@$(BIN)/python -m devstack.check_package out

# The browser tests use Debian's chromium (Playwright cannot download browsers here).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing Debian chromium for the browser tests (once)..."; \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium \
	      >/dev/null) || echo "chromium could not be installed: browser tests will be skipped"; \
	  else echo "chromium is missing: browser tests will be skipped"; fi; }

test: $(STAMP) browser-deps lint typecheck
	$(BIN)/pytest -q
	$(MAKE) --no-print-directory package

check: test

upload: $(STAMP)
	$(BIN)/python -m devstack.upload $(FILE)

load: $(STAMP)
	$(BIN)/python -m devstack.load

soak: $(STAMP)
	RELANCE_SOAK_SEEDS=200 RELANCE_SOAK_STEPS=400 $(BIN)/pytest -q tests/faults

bench: $(STAMP)
	$(BIN)/python -m bench.run

clean:
	rm -rf out .pytest_cache .mypy_cache .ruff_cache .local

deploy: package
	@echo "See README.md > Deploy to AWS: sam deploy --template-file out/sam.yaml ..."
