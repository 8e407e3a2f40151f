"""stagehand's local AWS emulator: moto's server behind a thin fidelity layer.

The layer counts calls (by service and action, mutating or read-only), injects faults
(throttling, 5xx, dropped connections, lost answers) and latency, checks every request
against AWS's own service model and the limits AWS documents in prose (validation.py,
limits.py), holds resources in their provisioning states, and fills the gaps in moto that
stagehand depends on (see fidelity/). Control endpoints live under /_stagehand/.

Tests of the layer itself: emulator/.venv/bin/python -m unittest discover -s emulator/tests
"""
