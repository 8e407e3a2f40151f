#!/usr/bin/env bash
# make demo: start the local emulator and run the stack's tools against it, then print the
# document. Leaves the emulator running for a look around; `make demo-down` stops it.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/emulator.sh start
eval "$(scripts/emulator.sh env)"
export GITHUB_TOKEN="${GITHUB_TOKEN:-ghp_demo_placeholder_token_not_real}"
STACK="${STACK:-stack.json}"
BIN=target/debug

$BIN/secrets-init </dev/null | $BIN/slr-check --create >"$STACK.next"
mv "$STACK.next" "$STACK"
echo
cat "$STACK"
echo
echo "The document is in $STACK. Look around the emulator with, for example:"
echo "  aws --endpoint-url $AWS_ENDPOINT_URL --region $AWS_REGION secretsmanager list-secrets"
echo "Tear down with: make demo-down"
