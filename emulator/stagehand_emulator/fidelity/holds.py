"""Provisioning states held for a set time, as AWS holds them.

moto makes an Aurora cluster `available` and an ALB `active` at once; AWS takes minutes.
POST /_stagehand/holds {"rds_cluster_s": 5, "rds_instance_s": 5, "alb_s": 3} makes resources
created after the call report their provisioning state for that long, so waiters are tested.

Every hold is registered through `register` by the module that honours it; POST with a key
nobody registered is refused (400), so a mistyped key fails the test that sends it instead of
silently testing nothing. GET /_stagehand/holds lists the keys with their meaning.
"""

import time

from moto.elbv2 import models as elbv2
from moto.rds import models as rds

_holds = {}
_docs = {}


class UnknownHold(ValueError):
    pass


def register(key, doc, default=0.0):
    """Declare a hold: `key` (seconds) and what it holds. Modules call this in install()."""
    _holds.setdefault(key, float(default))
    _docs[key] = doc


def seconds(key):
    """The hold in force for `key` (seconds)."""
    if key not in _holds:
        raise UnknownHold(key)
    return _holds[key]


def configure(spec):
    if not isinstance(spec, dict):
        raise UnknownHold("the body must be an object of key: seconds")
    unknown = sorted(k for k in spec if k not in _holds)
    if unknown:
        raise UnknownHold(
            f"unknown hold key(s) {', '.join(unknown)}; known: {', '.join(sorted(_holds))}"
        )
    for key, value in spec.items():
        value = float(value)
        if value < 0:
            raise UnknownHold(f"hold {key} must be zero or more seconds")
        _holds[key] = value


def current():
    return dict(_holds)


def described():
    return {k: {"seconds": _holds[k], "holds": _docs.get(k, "")} for k in sorted(_holds)}


register("rds_cluster_s", "an Aurora cluster reports `creating` after CreateDBCluster")
register("rds_instance_s", "an Aurora instance reports `creating` after CreateDBInstance")
register("alb_s", "a load balancer reports `provisioning` after CreateLoadBalancer")


def _held(obj, key):
    born = getattr(obj, "_stagehand_born", None)
    return born is not None and time.monotonic() - born < seconds(key)


def install():
    # Stamp each resource at creation with the hold in force then.
    for cls, key, attr, busy in (
        (rds.DBCluster, "rds_cluster_s", "status", "creating"),
        (rds.DBInstance, "rds_instance_s", "status", "creating"),
    ):
        _wrap_init(cls)
        _hold_attr(cls, key, attr, busy)

    _wrap_init(elbv2.FakeLoadBalancer)
    original_activate = elbv2.FakeLoadBalancer.activate

    def activate(self):
        if not _held(self, "alb_s"):
            original_activate(self)

    elbv2.FakeLoadBalancer.activate = activate


def _wrap_init(cls):
    original = cls.__init__

    def __init__(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self._stagehand_born = time.monotonic()

    cls.__init__ = __init__


def _hold_attr(cls, key, attr, busy):
    """Serve `busy` for `attr` while the hold lasts; the real value shows afterwards.

    Wraps moto's own property when the class has one (DBCluster.status reads `_status`),
    else keeps the value in the instance.
    """
    inner = cls.__dict__.get(attr)
    store = f"_stagehand_{attr}"

    def read(self):
        if isinstance(inner, property):
            return inner.fget(self)
        return self.__dict__.get(store)

    def write(self, value):
        if isinstance(inner, property) and inner.fset is not None:
            inner.fset(self, value)
        else:
            self.__dict__[store] = value

    def getter(self):
        value = read(self)
        if value == "available" and _held(self, key):
            return busy
        return value

    setattr(cls, attr, property(getter, write))
