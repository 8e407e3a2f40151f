# stagehand: `make demo` (the stack on the local emulator) and `make test`.
#
# up / down / plan and the per-step targets run against whatever AWS configuration the
# environment holds (AWS_PROFILE, AWS_REGION, AWS_ENDPOINT_URL); the document is $(STACK).
SHELL := /bin/bash
CARGO ?= cargo
# A test that runs make inherits what cargo sets for a test (CARGO_MANIFEST_DIR, CARGO_PKG_*,
# OUT_DIR…). ring's build script reruns when those change, and with it every crate above it:
# each `make` from a test rebuilt the workspace, and the next plain build rebuilt it back.
unexport CARGO_MANIFEST_DIR CARGO_MANIFEST_PATH CARGO_MANIFEST_LINKS CARGO_PKG_NAME \
  CARGO_PKG_VERSION CARGO_PKG_VERSION_MAJOR CARGO_PKG_VERSION_MINOR CARGO_PKG_VERSION_PATCH \
  CARGO_PKG_VERSION_PRE CARGO_PKG_AUTHORS CARGO_PKG_DESCRIPTION CARGO_PKG_HOMEPAGE \
  CARGO_PKG_REPOSITORY CARGO_PKG_LICENSE CARGO_PKG_LICENSE_FILE CARGO_PKG_RUST_VERSION \
  CARGO_PKG_README CARGO_CRATE_NAME CARGO_BIN_NAME CARGO_PRIMARY_PACKAGE CARGO_TARGET_TMPDIR \
  OUT_DIR
export STACK ?= stack.json
ARGS ?=
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),target)

.PHONY: help build emulator test demo demo-down up down plan bench fmt lint steps install status logs exec rollback
.DEFAULT_GOAL := help

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 12
	@echo "and one target per step (rerun it on \$$STACK; ARGS=… adds flags):"
	@awk '!/^#/ && NF {printf "  %-10s %s (extra flags also from %s_ARGS)\n", $$3, $$1, $$4}' scripts/steps.tsv

steps: ## the step table: tool, section, make target, flags variable, what it needs
	@awk '!/^#/ && NF' scripts/steps.tsv

build: ## build every tool and test (debug, one cargo invocation, locked dependencies)
	$(CARGO) build --workspace --all-targets --locked

status: build ## read-only health of the stack on $(STACK): resources, drift, database, service, pipeline, URL (exit 1: unhealthy)
	@$(TARGET_DIR)/debug/stack-status --in "$(STACK)" $(ARGS)

logs: build ## the service's log lines with their task ids (ARGS="--since 1h --follow --filter ERROR")
	@$(TARGET_DIR)/debug/svc-ops --in "$(STACK)" logs $(ARGS)

exec: build ## a shell in a running task through ECS Exec (ARGS="--command 'ls /app'")
	@$(TARGET_DIR)/debug/svc-ops --in "$(STACK)" exec $(ARGS)

rollback: build ## roll the service back to the previous task-definition revision (ARGS="--to 3") and save $(STACK)
	@$(TARGET_DIR)/debug/svc-ops --in "$(STACK)" rollback $(ARGS) > "$(STACK).next" \
	  && mv "$(STACK).next" "$(STACK)" || { status=$$?; rm -f "$(STACK).next"; exit $$status; }

PREFIX ?= /usr/local
# release builds by default; PROFILE=dev installs the debug build (no second build)
PROFILE ?= release
install: ## install every tool, its bash/zsh/fish completions and man page under $(PREFIX)
	$(CARGO) build --workspace --locked --profile $(PROFILE)
	@scripts/install.sh "$(PREFIX)" "$(TARGET_DIR)/$(if $(filter dev,$(PROFILE)),debug,$(PROFILE))"

emulator: ## install the local AWS emulator (pinned moto) into emulator/.venv
	@scripts/emulator.sh install

test: emulator build ## run every test (the emulator's own, unit tests, tools and whole chains against per-test emulators)
	@status=0; \
	echo "emulator: Python tests of the fidelity layer (emulator/tests)" >&2; \
	emulator/run_tests.sh || status=1; \
	if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --locked --no-fail-fast || status=1; \
	else \
	  $(CARGO) test --workspace --locked --no-fail-fast || status=1; \
	fi; \
	exit $$status

demo: emulator build ## bring the whole stack up on the local emulator and show it
	@scripts/demo.sh

demo-down: ## tear the demo stack down and stop its emulator
	@scripts/demo.sh down

up: build ## plan, confirm, bring the stack up and wait for the portal (a fresh stack needs GITHUB_TOKEN, REPO_OWNER, REPO_NAME)
	@scripts/up.sh

down: build ## tear the stack down, in reverse order
	@scripts/down.sh

plan: build ## show what up would change, with read-only calls only
	@scripts/plan.sh

bench: emulator build ## time up / no-op rerun / plan / down on a fresh emulator, with call counts
	@scripts/bench.sh

# One target per step, from the step table (scripts/steps.tsv): `make db ARGS="--max-acu 4"`
# reruns db-up on $(STACK) with its DB_ARGS and ARGS, and saves the document.
STEP_TARGETS := $(shell awk '!/^\#/ && NF {print $$3}' scripts/steps.tsv)
.PHONY: $(STEP_TARGETS)
$(STEP_TARGETS): build
	@scripts/step.sh $@ $(ARGS)

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
