# Shared by the scripts: where the tools are. The steps, their order and their flags are in
# scripts/steps.tsv, which stack-run (tools/stack-run) reads.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="${STAGEHAND_BIN:-$ROOT/target/debug}"
export STAGEHAND_BIN="$BIN"
WHO="$(basename "$0" .sh)"
if [[ ! -x "$BIN/stack-run" ]]; then
  echo "$WHO: $BIN/stack-run is not built; run 'make build' (or set STAGEHAND_BIN)" >&2
  exit 2
fi
