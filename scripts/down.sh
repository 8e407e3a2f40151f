#!/usr/bin/env bash
# down.sh [--yes]: tear the stack down, each step's --destroy in reverse order, saving the
# document after each (a section goes as its resources go). Asks on a terminal (--yes or
# AUTO_APPROVE=1 skips the question); resumes after a failure; a no-op on a stack that is down.
# Extra flags per step as for up.sh (e.g. DB_ARGS="--skip-final-snapshot",
# SVC_ARGS="--delete-logs" PIPELINE_ARGS="--delete-logs" for the task and build logs,
# SECRETS_ARGS="--force-delete-without-recovery").
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec "$BIN/stack-run" down "$@"
