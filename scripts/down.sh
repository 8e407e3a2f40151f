#!/usr/bin/env bash
# down.sh: tear the stack down, each step's --destroy in reverse order, saving the document
# after each (a section goes as its resources go). Stops at the first failure.
# Extra flags per step as for up.sh (e.g. DB_ARGS="--skip-final-snapshot",
# SVC_ARGS="--force --delete-logs", SECRETS_ARGS="--force-delete-without-recovery").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

if [[ ! -s "$STACK" ]]; then
  echo "$WHO: no document at $STACK; each tool can still find its resources: set STACK to an empty file to destroy by name" >&2
  exit 2
fi
for tool in pipeline-up svc-up alb-up db-up core-up slr-check secrets-init; do
  var="$(echo "${tool%%-*}" | tr '[:lower:]' '[:upper:]')"
  # shellcheck disable=SC2046
  step "$tool" --destroy $(args_of "$var")
done
echo "$WHO: the stack is down; $STACK keeps only the stack's identity" >&2
