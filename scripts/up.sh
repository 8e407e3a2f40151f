#!/usr/bin/env bash
# up.sh: bring the whole stack up, one step after another, saving the document ($STACK,
# default stack.json) after each. Rerunning resumes: finished steps change nothing.
#
# Needs GITHUB_TOKEN (or an existing token secret), REPO_OWNER and REPO_NAME (the Backstage
# app's GitHub repository; REPO_BRANCH defaults to main, CONNECTION_ARN switches the source to
# a CodeStar connection). Extra flags per step: SECRETS_ARGS, SLR_ARGS, CORE_ARGS, DB_ARGS,
# ALB_ARGS, SVC_ARGS, PIPELINE_ARGS.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# shellcheck disable=SC2046
step secrets-init $(args_of SECRETS)
# shellcheck disable=SC2046
step slr-check --create $(args_of SLR)
# shellcheck disable=SC2046
step core-up $(args_of CORE)

# The database takes minutes on AWS: start it without waiting, build the ALB meanwhile, and
# join the two documents.
trap 'rm -f "$STACK.db" "$STACK.alb"' EXIT
db_rc=0 alb_rc=0
# shellcheck disable=SC2046
doc_in | "$BIN/db-up" --no-wait $(args_of DB) >"$STACK.db" & db_pid=$!
# shellcheck disable=SC2046
doc_in | "$BIN/alb-up" $(args_of ALB) >"$STACK.alb" & alb_pid=$!
wait "$db_pid" || db_rc=$?
wait "$alb_pid" || alb_rc=$?
if [[ $db_rc -eq 0 && $alb_rc -eq 0 ]]; then
  "$BIN/stack-doc" join "$STACK.db" "$STACK.alb" >"$STACK.next" && mv "$STACK.next" "$STACK"
else
  # Keep what did succeed, so the rerun resumes from there.
  [[ $db_rc -eq 0 ]] && mv "$STACK.db" "$STACK"
  [[ $alb_rc -eq 0 ]] && mv "$STACK.alb" "$STACK"
  failed=(); [[ $db_rc -ne 0 ]] && failed+=(db-up); [[ $alb_rc -ne 0 ]] && failed+=(alb-up)
  echo "$WHO: ${failed[*]} failed; $STACK holds every step that finished. Fix the cause and run $WHO again (it resumes)." >&2
  exit $(( db_rc > alb_rc ? db_rc : alb_rc ))
fi

# shellcheck disable=SC2046
step svc-up $(args_of SVC)
# shellcheck disable=SC2046
step pipeline-up "${pipeline_args[@]}" $(args_of PIPELINE)
# The final wait: the database available (a rerun of db-up waits and changes nothing).
# shellcheck disable=SC2046
step db-up $(args_of DB)

url="$("$BIN/stack-doc" get pipeline.url "$STACK")"
echo "$WHO: the stack is up; the document is $STACK" >&2
echo "$url"
