#!/usr/bin/env bash
# bench.sh: the performance comparison with the Terraform peer (DESIGN.md "Performance").
# On a fresh emulator: up, a no-op rerun of up, plan, and down — each timed (wall seconds)
# and with the API calls it made counted by the emulator (mutating = not Describe/Get/List…;
# bench_mutating = the peer's count_calls.py rule). Repeats RUNS times (default 3).
#
# Peer (shared/bench/peer-terraform, same moto, these machines): apply 90–96 s (271 calls, 85
# mutating), no-change plan 13–17 s (132 calls), destroy 82–87 s (262 calls).
# The bar: up ≤ 9 s, a no-op rerun of the chain in a twentieth (≤ 4.5 s of apply's, ≤ 0.75 s
# of plan's) with 0 mutating and ≤ 66 read calls, down ≤ 8.5 s.
# Phases: up (scripts/up.sh), rerun (up.sh again), chain (the seven tools piped once, no
# final wait), plan (scripts/plan.sh), down (scripts/down.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
export STAGEHAND_STATE; STAGEHAND_STATE="$(mktemp -d)"
work="$STAGEHAND_STATE"
trap 'STAGEHAND_STATE="$work" scripts/emulator.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

scripts/emulator.sh start 2>/dev/null
eval "$(scripts/emulator.sh env)"
export GITHUB_TOKEN=ghp_bench_placeholder REPO_OWNER=example-org REPO_NAME=backstage-app
export DB_ARGS="--skip-final-snapshot" SVC_ARGS="--force --delete-logs" PIPELINE_ARGS="--delete-logs" SECRETS_ARGS="--force-delete-without-recovery"
url="$AWS_ENDPOINT_URL"

# phase NAME COMMAND…  prints "phase=NAME wall_s=… calls=… mutating=… read=… bench_mutating=…"
phase() {
  local name="$1"; shift
  local mark t0 t1 rc=0
  mark="$(curl -sf "$url/_stagehand/mark" | sed -E 's/.*"mark": ([0-9]+).*/\1/')"
  t0=$(date +%s.%N)
  "$@" >"$work/$name.out" 2>"$work/$name.err" || rc=$?
  t1=$(date +%s.%N)
  curl -sf "$url/_stagehand/calls?since=$mark" >"$work/$name.calls.json"
  python3 - "$name" "$t0" "$t1" "$rc" "$work/$name.calls.json" <<'PY'
import json, sys
name, t0, t1, rc, path = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4], sys.argv[5]
c = json.load(open(path))
print(f"phase={name} wall_s={t1 - t0:.2f} calls={c['total']} mutating={c['mutating']} "
      f"read={c['read_only']} bench_mutating={c['bench_mutating']} rc={rc}")
PY
  if [[ $rc -ne 0 ]]; then
    echo "# $name failed (exit $rc):" >&2
    tail -5 "$work/$name.err" | sed 's/^/#   /' >&2
    return 1
  fi
}

# The seven tools piped once, as DESIGN.md writes the chain (up.sh adds the final db-up wait).
chain_once() {
  local bin="$ROOT/target/debug"
  "$bin/secrets-init" <"$STACK" | "$bin/slr-check" --create | "$bin/core-up" | "$bin/db-up" \
    | "$bin/alb-up" | "$bin/svc-up" | "$bin/pipeline-up" --repo-owner "$REPO_OWNER" --repo-name "$REPO_NAME" >/dev/null
}

for run in $(seq 1 "$RUNS"); do
  curl -sf -o /dev/null -X POST "$url/moto-api/reset"
  export STACK="$work/stack-$run.json"
  rm -f "$STACK"
  echo "# run $run"
  phase up scripts/up.sh
  phase rerun scripts/up.sh
  phase chain chain_once
  phase plan scripts/plan.sh
  phase down scripts/down.sh
done
