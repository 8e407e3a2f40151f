"""ELBv2: load balancers act like AWS's where alb-up depends on it.

moto differs from AWS in three ways that matter:

- DeleteLoadBalancer ignores `deletion_protection.enabled`. AWS refuses with
  OperationNotPermitted ("Load balancer '<arn>' cannot be deleted because deletion protection
  is enabled").
- CreateLoadBalancer with a name already in use makes a second load balancer (moto checks
  for a duplicate ARN, which carries a random id, so it never matches). AWS's CreateLoadBalancer
  is idempotent: with the same settings it returns the existing load balancer; with other
  settings it fails with DuplicateLoadBalancerName.
- CreateListener on a port that already has a listener: with the same settings AWS returns
  the existing listener (the call is idempotent), with others it fails with DuplicateListener;
  moto made a second listener on the port. CreateTargetGroup with the name of an existing group
  and the same settings returns that group; moto refused every repeat
  (DuplicateTargetGroupName is for other settings).
- A load balancer has a requester-managed network interface in each of its subnets, in its
  security groups (interfaces.py): EC2 DeleteSecurityGroup and DeleteSubnet fail with
  DependencyViolation while they are there, and they outlive the load balancer by the hold
  `eni_linger_s`. SetSecurityGroups and SetSubnets move them as AWS does.
"""

import copy
import json

from moto.core.exceptions import ServiceException
from moto.elbv2 import models as elbv2
from moto.elbv2.exceptions import (
    DuplicateListenerError,
    DuplicateLoadBalancerName,
    DuplicateTargetGroupName,
)

from . import interfaces


class OperationNotPermitted(ServiceException):
    code = "OperationNotPermitted"


class DuplicateLoadBalancerNameDifferent(DuplicateLoadBalancerName):
    message = "A load balancer with the same name exists, but with different settings."


def _same_settings(lb, subnet_ids, subnet_mappings, security_groups, scheme, lb_type, ip_type):
    wanted_subnets = set(subnet_ids or []) | {
        m["SubnetId"] for m in (subnet_mappings or []) if "SubnetId" in m
    }
    return (
        {s.id for s in lb.subnets} == wanted_subnets
        and set(lb.security_groups or []) == set(security_groups or [])
        and (lb.scheme or "internet-facing") == (scheme or "internet-facing")
        and (lb.type or "application") == (lb_type or "application")
        and (lb.ip_address_type or "ipv4") == (ip_type or "ipv4")
    )


def _plain(value):
    """A comparable form of request data (moto's dicts, ints given as strings)."""
    if hasattr(value, "original_dict"):
        value = value.original_dict()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return None if value is None else str(value)


def _actions(actions):
    return json.dumps(_plain([elbv2.FakeAction(copy.deepcopy(_plain(a))).data for a in actions or []]),
                      sort_keys=True)


# CreateTargetGroup argument -> the target group's attribute it sets.
TG_SETTINGS = {
    "vpc_id": "vpc_id", "protocol": "protocol", "protocol_version": "protocol_version",
    "port": "port", "healthcheck_protocol": "health_check_protocol",
    "healthcheck_port": "health_check_port", "healthcheck_path": "health_check_path",
    "healthcheck_interval_seconds": "health_check_interval_seconds",
    "healthcheck_timeout_seconds": "health_check_timeout_seconds",
    "healthcheck_enabled": "health_check_enabled",
    "healthy_threshold_count": "healthy_threshold_count",
    "unhealthy_threshold_count": "unhealthy_threshold_count", "matcher": "matcher",
    "target_type": "target_type", "ip_address_type": "ip_address_type",
}


def _same_target_group(existing, kwargs):
    """Every setting the request gives matches the existing group (what it leaves out takes
    the defaults the existing group was made with)."""
    for arg, attr in TG_SETTINGS.items():
        asked = kwargs.get(arg)
        if asked is None:
            continue
        have = getattr(existing, attr, None)
        if attr == "health_check_enabled":
            asked = str(asked).lower() == "true"
        if _plain(asked) != _plain(have):
            return False
    return True


def install():
    backend = elbv2.ELBv2Backend

    original_create_listener = backend.create_listener

    def create_listener(self, load_balancer_arn, protocol, port, ssl_policy, certificate,
                        actions, alpn_policy=None, tags=None):
        lb = self.load_balancers.get(load_balancer_arn)
        for listener in (lb.listeners.values() if lb is not None else []):
            if str(listener.port) != str(port):
                continue
            same = (
                listener.protocol == (protocol or "").upper()
                and (listener.certificate or None) == (certificate or None)
                and (listener.protocol != "HTTPS" or listener.ssl_policy == ssl_policy)
                and _actions([a.data for a in listener.default_actions]) == _actions(actions)
            )
            if same:
                return listener
            raise DuplicateListenerError()
        return original_create_listener(self, load_balancer_arn, protocol, port, ssl_policy,
                                        certificate, actions, alpn_policy=alpn_policy, tags=tags)

    backend.create_listener = create_listener

    original_create_tg = backend.create_target_group

    def create_target_group(self, name, **kwargs):
        existing = next((tg for tg in self.target_groups.values() if tg.name == name), None)
        if existing is None:
            return original_create_tg(self, name, **kwargs)
        if _same_target_group(existing, kwargs):
            return existing
        raise DuplicateTargetGroupName()

    backend.create_target_group = create_target_group

    original_create = backend.create_load_balancer

    def create_load_balancer(
        self,
        name,
        security_groups,
        subnet_ids,
        subnet_mappings=None,
        scheme="internet-facing",
        loadbalancer_type=None,
        ip_address_type="ipv4",
        tags=None,
    ):
        for lb in self.load_balancers.values():
            if lb.name == name:
                if _same_settings(
                    lb, subnet_ids, subnet_mappings, security_groups, scheme,
                    loadbalancer_type, ip_address_type,
                ):
                    return lb
                raise DuplicateLoadBalancerNameDifferent()
        lb = original_create(
            self, name, security_groups, subnet_ids, subnet_mappings=subnet_mappings,
            scheme=scheme, loadbalancer_type=loadbalancer_type,
            ip_address_type=ip_address_type, tags=tags,
        )
        lb._sh_enis = {s.id: _attach(self, lb, s.id) for s in lb.subnets}
        return lb

    backend.create_load_balancer = create_load_balancer

    original_set_groups = backend.set_security_groups

    def set_security_groups(self, arn, sec_groups):
        original_set_groups(self, arn, sec_groups)
        for eni in getattr(self.load_balancers[arn], "_sh_enis", {}).values():
            interfaces.set_groups(eni, sec_groups)

    backend.set_security_groups = set_security_groups

    original_set_subnets = backend.set_subnets

    def set_subnets(self, arn, subnets, subnet_mappings):
        result = original_set_subnets(self, arn, subnets, subnet_mappings)
        lb = self.load_balancers[arn]
        enis = lb.__dict__.setdefault("_sh_enis", {})
        wanted = {s.id for s in lb.subnets}
        for subnet_id in set(enis) - wanted:
            interfaces.release_later(enis.pop(subnet_id))
        for subnet_id in wanted - set(enis):
            enis[subnet_id] = _attach(self, lb, subnet_id)
        return result

    backend.set_subnets = set_subnets

    original_delete = backend.delete_load_balancer

    def delete_load_balancer(self, arn):
        lb = self.load_balancers.get(arn)
        if lb is not None and str(lb.attrs.get("deletion_protection.enabled", "false")).lower() == "true":
            raise OperationNotPermitted(
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            )
        result = original_delete(self, arn)
        if lb is not None:
            for eni in getattr(lb, "_sh_enis", {}).values():
                interfaces.release_later(eni)
        return result

    backend.delete_load_balancer = delete_load_balancer


def _attach(backend, lb, subnet_id):
    kind = {"network": "net", "gateway": "gwy"}.get(lb.type or "application", "app")
    lb_id = lb.arn.rsplit("/", 1)[-1]
    return interfaces.attach(backend.ec2_backend, subnet_id, lb.security_groups or [],
                             f"ELB {kind}/{lb.name}/{lb_id}", "elb")
