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
# final wait), step_<target> (scripts/step.sh on the saved document: one tool's no-op run),
# plan (scripts/plan.sh), down (scripts/down.sh).
#
# LATENCY_MS=N   adds N ms to every AWS call (the emulator's latency control) for the measured
#                phases, and runs the Terraform peer (shared/bench/peer-terraform/run.sh, or
#                $PEER_RUN) against the same emulator with the same latency, in the same run;
#                then prints the ratios stagehand/peer (issue 19's bar at 50 ms: each ≤ 0.1×).
# PEER=0|1       skip / force the peer (default: run it when LATENCY_MS is set).
# REAL_TIMES=1   AWS-typical provisioning times scaled by 1/60 (holds below; kit's poll cap
#                15 s scaled alike), and reports the time until the portal serves (up.sh from
#                nothing returns after its final wait: pipeline run and rollout done, target
#                healthy) next to the critical path computed from the same holds and the step
#                table (issue 19's bar: within 10%).
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
export DB_ARGS="--skip-final-snapshot" SVC_ARGS="--delete-logs" PIPELINE_ARGS="--delete-logs" SECRETS_ARGS="--force-delete-without-recovery"
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
  "$bin/secrets-init" <"$STACK" | "$bin/slr-check" --create | "$bin/ecr-up" | "$bin/core-up" | "$bin/db-up" \
    | "$bin/alb-up" | "$bin/svc-up" | "$bin/pipeline-up" --repo-owner "$REPO_OWNER" --repo-name "$REPO_NAME" >/dev/null
}

# latency MS: every AWS call (not the control API, not moto-api) waits MS before its answer.
latency() {
  curl -sf -o /dev/null -X POST -d "{\"ms\": $1}" "$url/_stagehand/latency"
}
latency "$LATENCY_MS"
echo "# latency_ms=$LATENCY_MS"

# AWS-typical times (NAT 90 s, ALB 180 s, Aurora cluster 300 s and writer 480 s, a pipeline's
# GitHub source 6 s, a Backstage image build 600 s, an ECS rollout 180 s) scaled by 1/60.
REAL_HOLDS='{"nat_gateway_s": 1.5, "alb_s": 3, "rds_cluster_s": 5, "rds_instance_s": 8, "source_s": 0.1, "build_s": 10, "rollout_s": 3}'
if [[ "${REAL_TIMES:-0}" == 1 ]]; then
  curl -sf -o /dev/null -X POST -d "$REAL_HOLDS" "$url/_stagehand/holds"
  # The tools' waits poll with backoff up to 15 s between polls, which suits minutes of AWS
  # time; on the 1/60 clock the cap is scaled alike.
  export STAGEHAND_WAIT_MAX_INTERVAL_MS=250
  echo "# real_times holds=$REAL_HOLDS"
fi

for run in $(seq 1 "$RUNS"); do
  curl -sf -o /dev/null -X POST "$url/moto-api/reset"
  # Warm the emulator: after a reset moto builds each service's backend on its first call
  # (IAM's loads every AWS managed policy, over a second), a cost AWS does not have; the
  # peer's run.sh warms IAM likewise (its preflight GetPolicy). A plan writes nothing.
  STACK="$work/warm.json" scripts/plan.sh >/dev/null 2>&1 || true
  export STACK="$work/stack-$run.json"
  rm -f "$STACK"
  echo "# run $run"
  phase up scripts/up.sh
  phase rerun scripts/up.sh
  phase chain chain_once
  # Each step alone on the saved document: a no-op run of one tool (issue 19's per-tool
  # figure: how many round trips its observe costs).
  for target in $(awk '!/^#/ && NF {print $3}' scripts/steps.tsv); do
    phase "step_$target" scripts/step.sh "$target"
  done
  phase plan scripts/plan.sh
  phase down scripts/down.sh
done 2>&1 | tee "$work/stagehand.txt"

# The critical path from the holds and the step table: a step starts once the steps it needs
# have returned; a hold it waits for inside the chain delays what needs it, one it leaves to
# up.sh's final pass (--no-wait in the chain column, or no wait at all) runs on in the
# background; the portal serves when the last hold ends. Which holds each step starts:
#   core-up: the NAT gateway; db-up: the cluster and its writer, created together (the longer);
#   alb-up: the load balancer; pipeline-up: its first execution (the build, then the rollout,
#   which starts once the build is done and the service exists: the again column's sections).
if [[ "${REAL_TIMES:-0}" == 1 ]]; then
  python3 - "$REAL_HOLDS" "$work/stagehand.txt" <<'PY'
import json, re, statistics, sys
h = json.loads(sys.argv[1])
starts = {
    "core-up": h["nat_gateway_s"],
    "db-up": max(h["rds_cluster_s"], h["rds_instance_s"]),
    "alb-up": h["alb_s"],
    "pipeline-up": h["source_s"] + h["build_s"] + h["rollout_s"],
}
# pipeline-up waits inline only with --wait; the others unless the chain gives --no-wait.
steps = {}
for line in open("scripts/steps.tsv"):
    if line.startswith("#") or not line.strip():
        continue
    tool, section, _t, _v, needs, flags, chain, _f, _d, again = line.split()[:10]
    flags = f"{flags} {chain}"
    inline = "--no-wait" not in flags and (tool != "pipeline-up" or "--wait" in flags)
    steps[section] = (tool, [] if needs == "-" else needs.split(","), inline,
                      [] if again == "-" else again.split(","))
done = {}
def returns(section):  # when the step returns (its start plus what it waits for inline)
    if section not in done:
        tool, needs, inline, _a = steps[section]
        start = max((returns(n) for n in needs if n in steps), default=0.0)
        done[section] = (start, start + (starts.get(tool, 0.0) if inline else 0.0))
    return done[section][1]
ends = {}
for section, (tool, _n, _i, again) in steps.items():
    returns(section)
    ends[tool] = done[section][0] + starts.get(tool, 0.0)
    if tool == "pipeline-up":  # the rollout waits for the build and for the service
        built = done[section][0] + h["source_s"] + h["build_s"]
        ends[tool] = max([built] + [returns(a) for a in again]) + h["rollout_s"]
critical = max(ends.values())
path = max(ends, key=ends.get)
ups = [float(m.group(1)) for m in (re.match(r"phase=up wall_s=([0-9.]+)", l) for l in open(sys.argv[2])) if m]
serves = statistics.median(ups)
print(f"real_times: portal_serves_s={serves:.2f} critical_path_s={critical:.2f} (ends with {path}) "
      f"ratio={serves / critical:.3f} (bar: <= 1.10)")
PY
fi

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
