#!/usr/bin/env bash
# make demo: start the local emulator, bring the whole stack up on it with a placeholder
# GitHub token and repository, and show what was created. Leaves the emulator running for a
# look around. `scripts/demo.sh down` (make demo-down) tears the stack down and stops it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export STACK="${STACK:-$ROOT/stack.json}"

if [[ "${1:-}" == "down" ]]; then
  if scripts/emulator.sh url >/dev/null 2>&1; then
    eval "$(scripts/emulator.sh env)"
    if [[ -s "$STACK" ]]; then
      DB_ARGS="--skip-final-snapshot" SVC_ARGS="--delete-logs" PIPELINE_ARGS="--delete-logs" \
      SECRETS_ARGS="--force-delete-without-recovery" scripts/down.sh
    fi
  fi
  scripts/emulator.sh stop
  rm -f "$STACK"
  exit 0
fi

scripts/emulator.sh start
eval "$(scripts/emulator.sh env)"
export GITHUB_TOKEN="${GITHUB_TOKEN:-ghp_demo_placeholder_not_a_real_token}"
export REPO_OWNER="${REPO_OWNER:-example-org}" REPO_NAME="${REPO_NAME:-backstage-app}"

# The demo applies without asking: the emulator is its own.
url="$(AUTO_APPROVE=1 scripts/up.sh)"
echo
echo "What was created (from $STACK):"
target/debug/stack-doc table "$STACK" | sed 's/^/  /'
echo
# The URL serves the portal once the pipeline's first deploy runs; until then say what is
# pending (stack-status names it: the pipeline's run, the service's tasks, the targets).
if status="$(target/debug/stack-status --in "$STACK" 2>/dev/null)"; then
  echo "Application URL: $url"
else
  echo "Application URL: $url (not serving yet; pending:)"
  sed -n '/^UNHEALTHY:/,$p' <<<"$status" | tail -n +2
  echo "  make status shows where it stands"
fi
echo
echo "The emulator keeps running at $AWS_ENDPOINT_URL. Look around with, for example:"
echo "  aws --endpoint-url $AWS_ENDPOINT_URL --region $AWS_REGION ecs describe-services --cluster core-infra --services backstage"
echo "  aws --endpoint-url $AWS_ENDPOINT_URL --region $AWS_REGION rds describe-db-clusters"
echo "or aim the tools at it:  eval \"\$(scripts/emulator.sh env)\"; make plan"
echo "Tear down with: make demo-down"
