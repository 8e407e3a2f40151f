#!/usr/bin/env bash
# The emulator's own Python tests (emulator/tests), one process per module, side by side:
# each module starts its own in-process emulator, and separate processes keep one module's
# clock thread and moto state away from another's. Exit 1 if any module fails.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"
python=.venv/bin/python
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
pids=()
for test in tests/test_*.py; do
  module=$(basename "$test" .py)
  ( timeout 600 "$python" -m unittest discover -q -s tests -p "$module.py" >"$logs/$module.log" 2>&1
    echo $? >"$logs/$module.rc" ) &
  pids+=($!)
done
wait "${pids[@]}"
status=0
for rc in "$logs"/*.rc; do
  module=$(basename "$rc" .rc)
  if [[ $(cat "$rc") != 0 ]]; then
    echo "emulator tests: $module failed:" >&2
    tail -40 "$logs/$module.log" >&2
    status=1
  fi
done
[[ $status == 0 ]] && echo "emulator tests: $(ls "$logs"/*.rc | wc -l) modules passed" >&2
exit $status
