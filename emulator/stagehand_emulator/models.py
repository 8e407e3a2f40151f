"""AWS's own service models (shipped with botocore), pruned to what validation needs.

A full model is slow to load (EC2's takes seconds: most of it is documentation and output
shapes), and every test starts its own emulator. The first time a service is needed, its
model is loaded once and pruned to the operations' input shapes without documentation; the
pruned model is kept in a cache directory keyed by botocore's version, where every later
emulator finds it in milliseconds.

    service_model("ec2") -> moto.core.model.ServiceModel (or None when botocore has none)
"""

import json
import os
import threading
from pathlib import Path

import botocore
from botocore.exceptions import DataNotFoundError
from botocore.loaders import create_loader
from moto.core.model import ServiceModel

FORMAT = "2"  # bump when prune() keeps something else
CACHE = Path(
    os.environ.get("STAGEHAND_EMULATOR_MODEL_CACHE")
    or Path(__file__).resolve().parent.parent / ".cache" / "models"
) / f"{botocore.__version__}-{FORMAT}"

# Signing name (the credential scope of a request) -> botocore's service name.
SIGNING_TO_SERVICE = {
    "elasticloadbalancing": "elbv2",  # ELB v1 shares the signing name; see service_for()
    "logs": "logs",
    "ecr": "ecr",
}

_lock = threading.Lock()
_models = {}


def service_for(signing_name, params):
    """botocore's name for the service a request is for."""
    if signing_name == "elasticloadbalancing":
        return "elbv2" if params.get("Version", "2015-12-01") == "2015-12-01" else "elb"
    return SIGNING_TO_SERVICE.get(signing_name, signing_name)


def service_model(name):
    """The pruned model of `name`, or None when botocore has no model of that name."""
    with _lock:
        if name not in _models:
            pruned = _load_pruned(name)
            _models[name] = ServiceModel(pruned, name) if pruned is not None else None
        return _models[name]


def _load_pruned(name):
    path = CACHE / f"{name}.json"
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        pass
    try:
        full = create_loader().load_service_model(name, "service-2")
    except DataNotFoundError:
        return None
    pruned = prune(full)
    try:
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "w") as f:
            json.dump(pruned, f)
        os.replace(tmp, path)  # atomic: emulators starting together never read half a file
    except OSError:
        pass  # a read-only tree only costs the load next time
    return pruned


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k != "documentation"}
    return value


def prune(model):
    """The operations with their input shapes (transitively), without documentation."""
    shapes = model["shapes"]
    keep = {}

    def walk(name):
        if name in keep:
            return
        shape = _strip(shapes[name])
        keep[name] = shape
        refs = list(shape.get("members", {}).values())
        refs += [shape[k] for k in ("member", "key", "value") if k in shape]
        for ref in refs:
            walk(ref["shape"])

    operations = {}
    for op_name, op in model["operations"].items():
        kept = {k: _strip(v) for k, v in op.items()
                if k in ("name", "http", "input", "errors", "deprecated")}
        operations[op_name] = kept
        if "input" in op:
            walk(op["input"]["shape"])
        for err in op.get("errors", []):
            keep.setdefault(err["shape"], {"type": "structure", "members": {}, "exception": True})
    return {"metadata": model["metadata"], "operations": operations, "shapes": keep}
