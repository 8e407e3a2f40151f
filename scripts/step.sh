#!/usr/bin/env bash
# step.sh STEP [ARGS…]: rerun one step (a tool, e.g. db-up, or its make target, e.g. db) on
# $STACK (default stack.json) with its flags from scripts/steps.tsv, its <VAR>_ARGS and ARGS,
# and save the result.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -ge 1 ]] || { echo "usage: $0 STEP [ARGS…]" >&2; exit 2; }
exec "$BIN/stack-run" step "$@"
