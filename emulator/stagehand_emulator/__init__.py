"""stagehand's local AWS emulator: moto's server behind a thin fidelity layer.

The layer counts calls (by service and action, mutating or read-only), injects faults and
latency, holds resources in their provisioning states, and fills the gaps in moto that
stagehand depends on (see fidelity/). Control endpoints live under /_stagehand/.
"""
