"""Provisioning states held for a set time, as AWS holds them.

moto makes an Aurora cluster `available` and an ALB `active` at once; AWS takes minutes.
POST /_stagehand/holds {"rds_cluster_s": 5, "rds_instance_s": 5, "alb_s": 3} makes resources
created after the call report their provisioning state for that long, so waiters are tested.
"""

import time

from moto.elbv2 import models as elbv2
from moto.rds import models as rds

_holds = {"rds_cluster_s": 0.0, "rds_instance_s": 0.0, "alb_s": 0.0}


def configure(spec):
    for key in _holds:
        if key in spec:
            _holds[key] = float(spec[key])


def current():
    return dict(_holds)


def _held(obj, key):
    born = getattr(obj, "_stagehand_born", None)
    return born is not None and time.monotonic() - born < _holds.get(key, 0)


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
