# stagehand: `make demo` (the stack on the local emulator) and `make test`.
SHELL := /bin/bash
CARGO ?= cargo
STACK ?= stack.json
BIN := target/debug

.PHONY: help build emulator test demo demo-down fmt lint
.DEFAULT_GOAL := help

help: ## this list
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

build: ## build every tool (debug, one cargo invocation, locked dependencies)
	$(CARGO) build --workspace --locked

emulator: ## install the local AWS emulator (pinned moto) into emulator/.venv
	@scripts/emulator.sh install

test: emulator build ## run every test (unit tests and tools against per-test emulators)
	@if command -v cargo-nextest >/dev/null 2>&1; then \
	  $(CARGO) nextest run --workspace --locked --no-fail-fast; \
	else \
	  $(CARGO) test --workspace --locked --no-fail-fast; \
	fi

demo: emulator build ## bring the stack up on the local emulator and print it
	@scripts/demo.sh

demo-down: ## stop the demo's emulator
	@scripts/emulator.sh stop

fmt: ## format the code
	$(CARGO) fmt --all

lint: ## formatting and clippy, as CI would want them
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --locked -- -D warnings
