#!/usr/bin/env bash
# plan.sh: chain --plan through every step (read-only calls only) from $STACK (or from
# nothing) and print one summary: resources to create, to update, and unchanged.
# Nothing is written; the planned document goes to $PLAN_OUT if set.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
doc_in >"$work/doc"
create=0 update=0 delete=0 unchanged=0
for tool in secrets-init slr-check core-up db-up alb-up svc-up pipeline-up; do
  extra=()
  case "$tool" in
    slr-check) extra=(--create) ;;
    pipeline-up) extra=("${pipeline_args[@]}") ;;
  esac
  var="$(echo "${tool%%-*}" | tr '[:lower:]' '[:upper:]')"
  rc=0
  # shellcheck disable=SC2046
  "$BIN/$tool" --plan "${extra[@]}" $(args_of "$var") <"$work/doc" >"$work/next" 2>"$work/err" || rc=$?
  cat "$work/err" >&2
  if [[ $rc -ne 0 ]]; then
    echo "$WHO: $tool --plan failed (exit $rc)" >&2
    exit "$rc"
  fi
  mv "$work/next" "$work/doc"
  line="$(grep -E "^$tool: plan: " "$work/err" | tail -1)"
  read -r c u d n <<<"$(sed -E 's/.*plan: ([0-9]+) to create, ([0-9]+) to update, ([0-9]+) to delete, ([0-9]+) unchanged.*/\1 \2 \3 \4/' <<<"$line")"
  create=$((create + c)) update=$((update + u)) delete=$((delete + d)) unchanged=$((unchanged + n))
done
[[ -n "${PLAN_OUT:-}" ]] && cp "$work/doc" "$PLAN_OUT"
echo "plan: $create to create, $update to update, $delete to delete, $unchanged unchanged"
if [[ $((create + update + delete)) -eq 0 ]]; then
  echo "$WHO: no changes" >&2
fi
