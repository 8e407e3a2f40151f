# stagehand: `make demo` (the stack on the local emulator) and `make test`.
#
# up / down / plan and the per-step targets run against whatever AWS configuration the
# environment holds (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL); the document is $(STACK).
SHELL := /bin/bash
CARGO ?= cargo
export STACK ?= stack.json
ARGS ?=

.PHONY: help build emulator test demo demo-down up down plan bench fmt lint \
        secrets slr core db alb svc pipeline
.DEFAULT_GOAL := help

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12

build: ## build every tool (debug, one cargo invocation, locked dependencies)
	$(CARGO) build --workspace --locked

emulator: ## install the local AWS emulator (pinned moto) into emulator/.venv
	@scripts/emulator.sh install

test: emulator build ## run every test (unit tests, tools and whole chains against per-test emulators)
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --locked --no-fail-fast; \
	fi

demo: emulator build ## bring the whole stack up on the local emulator and show it
	@scripts/demo.sh

demo-down: ## tear the demo stack down and stop its emulator
	@scripts/demo.sh down

up: build ## bring the stack up (needs GITHUB_TOKEN, REPO_OWNER, REPO_NAME)
	@scripts/up.sh

down: build ## tear the stack down, in reverse order
	@scripts/down.sh

plan: build ## show what up would change, with read-only calls only
	@scripts/plan.sh

bench: emulator build ## time up / no-op rerun / plan / down on a fresh emulator, with call counts
	@scripts/bench.sh

secrets: ## rerun secrets-init on $(STACK) (extra flags: ARGS=…)
	@scripts/step.sh secrets-init $(ARGS)
slr: ## rerun slr-check --create on $(STACK)
	@scripts/step.sh slr-check --create $(ARGS)
core: ## rerun core-up on $(STACK)
	@scripts/step.sh core-up $(ARGS)
db: ## rerun db-up on $(STACK)
	@scripts/step.sh db-up $(ARGS)
alb: ## rerun alb-up on $(STACK)
	@scripts/step.sh alb-up $(ARGS)
svc: ## rerun svc-up on $(STACK)
	@scripts/step.sh svc-up $(ARGS)
pipeline: ## rerun pipeline-up on $(STACK) (REPO_OWNER/REPO_NAME or ARGS)
	@scripts/step.sh pipeline-up $(if $(REPO_OWNER),--repo-owner $(REPO_OWNER)) $(if $(REPO_NAME),--repo-name $(REPO_NAME)) $(ARGS)

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## formatting and clippy
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --locked -- -D warnings

.PHONY: portal portal-down
portal: emulator build ## run the example Backstage app locally with the demo stack's task environment (brings the demo up if needed)
	@scripts/portal.sh
portal-down: ## stop what make portal started (backend, PostgreSQL, and the demo if it brought it up)
	@scripts/portal.sh down
