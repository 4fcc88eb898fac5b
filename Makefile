# The two commands that matter: `make demo` and `make test`. Both set everything up from nothing.
SHELL := /bin/bash
.DEFAULT_GOAL := help
.SHELLFLAGS := -eu -o pipefail -c

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CDK := npx --no-install cdk
STAGES ?= dev,staging,prod,sandbox
OWNER ?= $(USER)
RUN_DIR ?= runs/demo
BENCH_INTENT ?= runs/bench-intent

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PIP_DISABLE_PIP_VERSION_CHECK := 1
# Let Python keep the bytecode of what it imports (.venv and __pycache__, both ignored by git): with
# PYTHONDONTWRITEBYTECODE set, every process re-compiled aws_cdk, pandas & co. from source (~2.4 s CPU each).
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help setup synth test lint typecheck pytest cfn-lint demo bench deploy synth-delivery deploy-delivery sandbox-deploy sandbox-destroy clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-16s %s\n", $$1, $$2}'

$(VENV)/.setup-done: requirements.txt requirements-pipeline.txt requirements-dev.txt constraints.txt pyproject.toml scripts/setup_env.py
	$(PYTHON) scripts/setup_env.py --python $(PYTHON) --skip-node
	touch $@

node_modules/.setup-done: package.json package-lock.json
	$(PYTHON) scripts/setup_env.py --skip-python
	touch $@

setup: $(VENV)/.setup-done node_modules/.setup-done ## create .venv (uv, pinned) and node_modules (npm ci) from the pinned files

synth: setup ## synthesize every stage into cdk.out with the cdk-nag packs (fails on any unsuppressed finding)
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices -c stages=$(STAGES)
	$(PY) -m scripts.platform_report --cdk-out cdk.out

lint: setup ## ruff lint and format check
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: setup ## mypy on the files listed in pyproject.toml (app, stacks, pipeline code, SDK, scripts, benchmarks)
	$(PY) -m mypy

pytest: setup ## the test suite (synth once per session, cfn-lint, moto, hypothesis, deploy smoke)
	scripts/run_pytest.sh $(PYTEST_ARGS)

test: lint typecheck pytest ## everything CI runs: lint + type check + pytest (incl. cfn-lint and the deploy smoke)

demo: synth ## set up, synth all stages with cdk-nag, run the adherence pipeline on the shipped data, print a report
	rm -rf $(RUN_DIR)
	$(VENV)/bin/mlops run adherence --out $(RUN_DIR)
	$(PY) -m scripts.platform_report --cdk-out cdk.out --run $(RUN_DIR)
	$(PY) -m benchmarks.drift_shifts --run $(RUN_DIR) --shift age --rows 2000 --out $(RUN_DIR)/drift-sample/age-shifted.csv
	status=0; $(VENV)/bin/mlops drift --baseline $(RUN_DIR) --data $(RUN_DIR)/drift-sample/age-shifted.csv \
		--report $(RUN_DIR)/drift-sample/report.json || status=$$?; \
	if [ $$status -eq 1 ]; then echo "drift check: the age-shifted sample drifts, as it should (exit 1)"; \
	else echo "drift check: exit $$status, expected 1 (drift) for the age-shifted sample"; exit 1; fi
	rm -rf $(RUN_DIR)-intent
	$(VENV)/bin/mlops run intent --dataset clinc150 --config config/pipelines/intent-quick.yaml --out $(RUN_DIR)-intent
	$(VENV)/bin/mlops predict intent --model $(RUN_DIR)-intent/model \
		"what's my checking account balance" "set an alarm for 7 am tomorrow" "who painted the mona lisa"

bench: setup ## benchmarks that print figures: set-up, type check, suite, synth per resource, adherence pipeline, drift check quality
	$(PY) -m benchmarks.platform_figures $(if $(REFERENCE),--reference $(REFERENCE))
	$(PY) -m benchmarks.adherence_run
	$(PY) -m benchmarks.drift_quality

.PHONY: bench-intent
bench-intent: setup ## intent model: full training on CLINC150 and BANKING77, every goal figure, latency re-timed and explained (long)
	nice -n 10 $(PY) -m benchmarks.intent_run --out $(BENCH_INTENT)
	$(PY) -m benchmarks.intent_latency $(BENCH_INTENT)/clinc150
	$(PY) -m benchmarks.intent_kernels $(BENCH_INTENT)/clinc150

deploy: setup ## deploy one stage to the account of your AWS credentials: make deploy STAGE=dev
	$(CDK) deploy -c stages=$(STAGE) '$(shell echo $(STAGE) | sed 's/./\U&/')/*' --require-approval broadening

synth-delivery: setup ## synth every stage and the Delivery pipeline (opt-in: 15 more suppressions, see README "Delivery")
	rm -rf cdk.out
	$(CDK) synth --quiet --no-notices -c stages=$(STAGES) -c delivery=true
	$(PY) -m scripts.platform_report --cdk-out cdk.out

deploy-delivery: synth-delivery ## deploy the Delivery pipeline once to the tooling account (refused with the example connection)
	$(PY) -c 'import app; raise SystemExit(app.delivery_deploy_check())'
	$(CDK) deploy Delivery --app cdk.out --require-approval broadening

sandbox-deploy: setup ## deploy your personal sandbox: make sandbox-deploy OWNER=alice
	$(CDK) deploy -c stages=sandbox -c owner=$(OWNER) 'Sandbox-*/*' --require-approval never

sandbox-destroy: setup ## destroy your sandbox (its buckets must be empty)
	$(CDK) destroy -c stages=sandbox -c owner=$(OWNER) 'Sandbox-*/*' --force

clean: ## remove build outputs (keeps .venv and node_modules)
	rm -rf cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis
