"""Requester-managed network interfaces: what AWS's services put into a VPC, and leave behind.

An Aurora instance, a load balancer, a NAT gateway and a Fargate task each has network
interfaces in the VPC's subnets, in the owner's security groups, managed by the service
(RequesterManaged, RequesterId amazon-rds / amazon-elb / ...). When the owner is deleted they
outlive it for minutes; until they go, the subnet, its security groups and the VPC cannot be
deleted (DependencyViolation). moto makes none of them. POST /_stagehand/holds
{"eni_linger_s": 5} sets how long an interface outlives its owner (default 0: it goes with it).
Lowering the hold shortens the linger of interfaces already waiting to go (never lengthens
it), so a test can end a long linger once it has seen a tool wait.

For the service modules (rds.py, elbv2.py, ec2.py; ecs.py for Fargate tasks):

    eni = interfaces.attach(ec2_backend, subnet_id, group_ids, description, owner)
    interfaces.set_groups(eni, group_ids)   # the owner's security groups changed
    interfaces.release_later(eni)           # the owner is gone; the interface lingers

The checks that depend on them (DeleteSubnet, DeleteSecurityGroup, DeleteVpc) are in ec2.py;
`settle(backend)` removes the interfaces whose time is up and is called before each.
"""

import threading
import time

from . import holds

HOLD_KEY = "eni_linger_s"
holds.register(HOLD_KEY, "a requester-managed network interface outlives its owner (Aurora "
               "instance, load balancer, NAT gateway, Fargate task), holding its subnet and "
               "security groups")

# The RequesterId AWS shows for each owning service.
OWNERS = {
    "rds": "amazon-rds",
    "elb": "amazon-elb",
    "ecs": "amazon-ecs",  # Fargate tasks' interfaces
    "nat": "amazon-vpc",
}

_lock = threading.Lock()
_leaving = {}  # eni id -> (backend, monotonic time it goes, monotonic time its owner went)


def attach(backend, subnet_id, group_ids, description, owner, interface_type="interface"):
    """A requester-managed interface in `subnet_id` with `group_ids` (unknown ids are left
    out, as moto would invent groups for them). `owner` is a key of OWNERS or a RequesterId."""
    known = [g for g in (group_ids or []) if backend.get_security_group_from_id(g) is not None]
    # No groups: the VPC's default group, as the services do.
    eni = backend.create_network_interface(
        subnet_id, None, group_ids=known or None, description=description)
    eni.requester_managed = True
    eni.requester_id = OWNERS.get(owner, owner)
    eni.status = "in-use"
    eni.interface_type = interface_type
    return eni


def set_groups(eni, group_ids):
    backend = eni.ec2_backend
    eni._group_set = [g for g in (backend.get_security_group_from_id(i) for i in group_ids or []) if g]


def release_later(eni):
    """The owner is gone: the interface goes after the hold in force now."""
    backend = eni.ec2_backend
    linger = holds.seconds(HOLD_KEY)
    if linger <= 0:
        _remove(backend, eni.id)
        return
    now = time.monotonic()
    with _lock:
        _leaving[eni.id] = (backend, now + linger, now)


def _remove(backend, eni_id):
    eni = backend.enis.pop(eni_id, None)
    if eni is not None:
        for ip in eni.private_ip_addresses:
            try:
                eni.subnet.del_subnet_ip(ip["PrivateIpAddress"])
            except Exception:  # noqa: BLE001 - an address moto never reserved
                pass


def settle(backend):
    """Remove the interfaces whose linger is over."""
    now = time.monotonic()
    linger = holds.seconds(HOLD_KEY)
    with _lock:
        due = [i for i, (b, at, went) in _leaving.items()
               if b is backend and min(at, went + linger) <= now]
        for eni_id in due:
            del _leaving[eni_id]
    for eni_id in due:
        _remove(backend, eni_id)


def lingering(backend):
    """Interfaces still waiting to go (their owner is deleted)."""
    with _lock:
        return {i for i, (b, _, _) in _leaving.items() if b is backend}


def reset():
    with _lock:
        _leaving.clear()
