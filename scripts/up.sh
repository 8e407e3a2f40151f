#!/usr/bin/env bash
# up.sh [--yes] [--no-wait]: bring the whole stack up, saving the document ($STACK, default
# stack.json) after each step. First the whole chain's plan (read-only calls) is shown, and on a
# terminal confirmed (--yes or AUTO_APPROVE=1 skips the question); then every step runs as soon
# as the sections it needs exist (scripts/steps.tsv), side by side where it can; then it waits
# for the database, the pipeline's first run and the rollout (--no-wait or NO_WAIT=1 skips
# that), and prints the portal's URL. Rerunning resumes: finished steps change nothing.
#
# A fresh stack needs GITHUB_TOKEN (or an existing token secret), REPO_OWNER and REPO_NAME;
# a saved document remembers every setting. Extra flags per step: SECRETS_ARGS, SLR_ARGS,
# CORE_ARGS, DB_ARGS, ALB_ARGS, SVC_ARGS, PIPELINE_ARGS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
exec "$BIN/stack-run" up "$@"
