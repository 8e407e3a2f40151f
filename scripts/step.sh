#!/usr/bin/env bash
# step.sh TOOL [ARGS…]: rerun one step on $STACK (default stack.json) and save the result.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $# -ge 1 ]] || { echo "usage: $0 TOOL [ARGS…]" >&2; exit 2; }
step "$@"
