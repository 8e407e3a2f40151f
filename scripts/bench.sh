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
#
# LATENCY_MS=N   adds N ms to every AWS call (the emulator's latency control) for the measured
#                phases, and runs the Terraform peer (shared/bench/peer-terraform/run.sh, or
#                $PEER_RUN) against the same emulator with the same latency, in the same run;
#                then prints the ratios stagehand/peer (issue 19's bar at 50 ms: each ≤ 0.1×).
# PEER=0|1       skip / force the peer (default: run it when LATENCY_MS is set).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
RUNS="${RUNS:-3}"
export STAGEHAND_STATE; STAGEHAND_STATE="$(mktemp -d)"
work="$STAGEHAND_STATE"
trap 'STAGEHAND_STATE="$work" scripts/emulator.sh stop >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

LATENCY_MS="${LATENCY_MS:-0}"
PEER="${PEER:-$([[ "$LATENCY_MS" != 0 ]] && echo 1 || echo 0)}"
PEER_RUN="${PEER_RUN:-/work/shared/bench/peer-terraform/run.sh}"
# The peer counts its calls with moto's recorder, which writes where this names.
MOTO_RECORDER_FILEPATH="$work/moto_recording" scripts/emulator.sh start 2>/dev/null
eval "$(scripts/emulator.sh env)"
export GITHUB_TOKEN=ghp_bench_placeholder REPO_OWNER=example-org REPO_NAME=backstage-app
export DB_ARGS="--skip-final-snapshot" SVC_ARGS="--force --delete-logs" SECRETS_ARGS="--force-delete-without-recovery"
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

# latency MS: every AWS call (not the control API, not moto-api) waits MS before its answer.
latency() {
  curl -sf -o /dev/null -X POST -d "{\"ms\": $1}" "$url/_stagehand/latency"
}
latency "$LATENCY_MS"
echo "# latency_ms=$LATENCY_MS"

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
done 2>&1 | tee "$work/stagehand.txt"

# The peer on the same emulator, under the same latency (its run.sh resets the emulator
# first and counts with moto's recorder).
if [[ "$PEER" == 1 ]]; then
  echo "# peer: $PEER_RUN (apply, no-change plan, destroy)"
  MOTO_URL="$url" TFPEER_TMP="$work/tfpeer" "$PEER_RUN" 2>"$work/peer.err" \
    | sed 's/^phase=/phase=peer_/' | tee "$work/peer.txt" || {
    echo "# the peer failed:" >&2; tail -5 "$work/peer.err" | sed 's/^/#   /' >&2; exit 1; }
  # Ratios of the median of stagehand's runs to the peer's phase.
  python3 - "$work/stagehand.txt" "$work/peer.txt" <<'PY'
import re, statistics, sys
def walls(path):
    out = {}
    for line in open(path):
        m = re.match(r"phase=(\S+) wall_s=([0-9.]+)", line)
        if m:
            out.setdefault(m.group(1), []).append(float(m.group(2)))
    return {k: statistics.median(v) for k, v in out.items()}
ours, peer = walls(sys.argv[1]), walls(sys.argv[2])
for label, mine, theirs in [("no-op up.sh / peer plan", "rerun", "peer_plan"),
                            ("plan.sh / peer plan", "plan", "peer_plan"),
                            ("up.sh from nothing / peer apply", "up", "peer_apply"),
                            ("down.sh / peer destroy", "down", "peer_destroy")]:
    if mine in ours and theirs in peer:
        r = ours[mine] / peer[theirs]
        print(f"ratio {label}: {ours[mine]:.2f} s / {peer[theirs]:.2f} s = {r:.3f}x")
PY
fi
