#!/usr/bin/env bash
# plan.sh: chain --plan through every step (read-only calls only) from $STACK (or from nothing)
# and print one summary line: resources to create, to update, to delete, and unchanged (from
# each step's --plan-json). Nothing is written; the planned document goes to $PLAN_OUT if set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec "$BIN/stack-run" plan "$@"
