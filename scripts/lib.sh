# Shared by up.sh, down.sh and plan.sh: where the tools and the document are, and how one
# step runs on the document (saved after every step, so a failed step can be fixed and
# rerun alone, and a rerun of the script resumes from the document).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${STAGEHAND_BIN:-$ROOT/target/debug}"
STACK="${STACK:-stack.json}"
WHO="$(basename "$0" .sh)"

for tool in secrets-init slr-check core-up db-up alb-up svc-up pipeline-up stack-doc; do
  [[ -x "$BIN/$tool" ]] || { echo "$WHO: $BIN/$tool is not built; run 'make build' (or set STAGEHAND_BIN)" >&2; exit 2; }
done

# The document to start from: the saved one, else a new one (empty input).
doc_in() {
  if [[ -s "$STACK" ]]; then cat "$STACK"; fi
}

# step TOOL ARGS…  run TOOL on the document and save its output in place of the document.
step() {
  local tool="$1"; shift
  local rc=0
  doc_in | "$BIN/$tool" "$@" >"$STACK.next" || rc=$?
  if [[ $rc -ne 0 ]]; then
    rm -f "$STACK.next"
    echo "$WHO: $tool failed (exit $rc); $STACK holds every step before it. Fix the cause, then rerun '$tool $*' on $STACK or run $WHO again (it resumes)." >&2
    exit "$rc"
  fi
  mv "$STACK.next" "$STACK"
}

# Extra flags per step, from the environment (word-split on purpose): e.g. DB_ARGS="--max-acu 4".
args_of() { local v="${1}_ARGS"; echo "${!v:-}"; }

# pipeline-up's source flags, from REPO_OWNER / REPO_NAME / REPO_BRANCH / CONNECTION_ARN.
pipeline_args=()
if [[ -n "${REPO_OWNER:-}" ]]; then pipeline_args+=(--repo-owner "$REPO_OWNER"); fi
if [[ -n "${REPO_NAME:-}" ]]; then pipeline_args+=(--repo-name "$REPO_NAME"); fi
if [[ -n "${REPO_BRANCH:-}" ]]; then pipeline_args+=(--branch "$REPO_BRANCH"); fi
if [[ -n "${CONNECTION_ARN:-}" ]]; then pipeline_args+=(--connection-arn "$CONNECTION_ARN"); fi
