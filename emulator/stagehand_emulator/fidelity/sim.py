"""The emulator's own clock: what AWS does on its own, after the API call that started it.

Rollouts, task starts, builds, pipeline executions and lingering network interfaces advance
here, in one background thread, as deadlines pass (the holds set how long each takes).

moto's backends live in this process and are not thread-safe, so one re-entrant lock guards
them: every AWS request moto handles takes it (BaseResponse.call_action is wrapped), and so does
each tick of the worker. Before a request is handled, whatever has come due is settled, so an
answer never lags the clock by a tick.

A module adds a stepper with `every_tick(fn)`: fn(now) brings its state up to `now`
(time.monotonic() seconds) and returns True while it still has work in flight (the worker then
ticks again soon). Call `wake()` after starting new work.
"""

import sys
import threading
import time
import traceback

from moto.core.responses import BaseResponse

lock = threading.RLock()
TICK_S = 0.02  # while work is in flight; idle, the worker sleeps until woken

_steppers = []
_last_error = {}
_wake = threading.Event()
_started = False


def every_tick(fn):
    _steppers.append(fn)
    return fn


def now():
    return time.monotonic()


def settle():
    """Advance every stepper to now, under the lock; True while any work is in flight."""
    busy = False
    at = time.monotonic()
    with lock:
        for fn in list(_steppers):
            try:
                busy = bool(fn(at)) or busy
            except Exception as e:  # noqa: BLE001 - one stepper's bug must not stop the clock
                if _last_error.get(fn) != repr(e):  # once, not at every tick
                    _last_error[fn] = repr(e)
                    traceback.print_exc(file=sys.stderr)
    return busy


def wake():
    _wake.set()


def _run():
    while True:
        _wake.clear()
        busy = settle()
        _wake.wait(TICK_S if busy else None)


def install():
    original = BaseResponse.call_action

    def call_action(self):
        with lock:
            settle()
            return original(self)

    BaseResponse.call_action = call_action


def start():
    """Start the simulation's thread (once): after install, and after a zygote's fork."""
    global _started
    if not _started:
        _started = True
        threading.Thread(target=_run, name="stagehand-sim", daemon=True).start()
