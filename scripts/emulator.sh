#!/usr/bin/env bash
# The local AWS emulator (moto behind stagehand's fidelity layer) for the demo and by hand.
#
#   scripts/emulator.sh install   create emulator/.venv with the pinned moto (idempotent)
#   scripts/emulator.sh start     start it on 127.0.0.1 (a free port, or $STAGEHAND_EMULATOR_PORT)
#   scripts/emulator.sh stop      stop it, by the pid it recorded
#   scripts/emulator.sh env       print the export lines that aim AWS tools at it
#   scripts/emulator.sh url       print its URL
#
# State lives in .stagehand/ (pid, url, log). Tests start their own emulators instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${STAGEHAND_STATE:-$ROOT/.stagehand}"
VENV="$ROOT/emulator/.venv"
PYTHON_BIN="${PYTHON:-python3}"

install() {
  local stamp="$VENV/.installed"
  if [[ -f "$stamp" ]] && cmp -s "$stamp" "$ROOT/emulator/requirements.lock"; then
    return 0
  fi
  echo "emulator: installing the pinned moto into emulator/.venv" >&2
  rm -rf "$VENV"
  "$PYTHON_BIN" -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r "$ROOT/emulator/requirements.lock"
  cp "$ROOT/emulator/requirements.lock" "$stamp"
}

running() {
  [[ -f "$STATE/emulator.pid" ]] && kill -0 "$(cat "$STATE/emulator.pid")" 2>/dev/null
}

start() {
  install
  mkdir -p "$STATE"
  if running; then
    echo "emulator: already running at $(cat "$STATE/emulator.url") (pid $(cat "$STATE/emulator.pid"))" >&2
    return 0
  fi
  rm -f "$STATE/emulator.port"
  (cd "$ROOT/emulator" && exec "$VENV/bin/python" -m stagehand_emulator \
      --port "${STAGEHAND_EMULATOR_PORT:-0}" --port-file "$STATE/emulator.port" \
      </dev/null >"$STATE/emulator.log" 2>&1) &
  echo $! >"$STATE/emulator.pid"
  # moto imports every service's models: seconds on an idle machine, more on a loaded one.
  for _ in $(seq 1 600); do
    if [[ -f "$STATE/emulator.port" ]]; then
      local url="http://127.0.0.1:$(cat "$STATE/emulator.port")"
      if curl -sf -o /dev/null "$url/_stagehand/health"; then
        echo "$url" >"$STATE/emulator.url"
        echo "emulator: running at $url (pid $(cat "$STATE/emulator.pid"))" >&2
        return 0
      fi
    fi
    running || { echo "emulator: exited while starting; see $STATE/emulator.log" >&2; tail -5 "$STATE/emulator.log" >&2; exit 1; }
    sleep 0.1
  done
  echo "emulator: did not answer within 60 s; see $STATE/emulator.log" >&2
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$STATE/emulator.pid")"
    echo "emulator: stopped" >&2
  fi
  rm -f "$STATE/emulator.pid" "$STATE/emulator.url" "$STATE/emulator.port"
}

url() {
  running || { echo "emulator: not running; start it with scripts/emulator.sh start" >&2; exit 1; }
  cat "$STATE/emulator.url"
}

env_lines() {
  local u; u="$(url)"
  cat <<EOT
export AWS_ENDPOINT_URL=$u
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=${AWS_REGION:-us-west-2}
export AWS_EC2_METADATA_DISABLED=true
EOT
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  url) url ;;
  env) env_lines ;;
  *) echo "usage: $0 install|start|stop|url|env" >&2; exit 2 ;;
esac
