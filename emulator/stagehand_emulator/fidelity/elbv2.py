"""ELBv2: load balancers act like AWS's where alb-up depends on it.

moto differs from AWS in three ways that matter:

- DeleteLoadBalancer ignores `deletion_protection.enabled`. AWS refuses with
  OperationNotPermitted ("Load balancer '<arn>' cannot be deleted because deletion protection
  is enabled").
- CreateLoadBalancer with a name already in use makes a second load balancer (moto checks
  for a duplicate ARN, which carries a random id, so it never matches). AWS's CreateLoadBalancer
  is idempotent: with the same settings it returns the existing load balancer; with other
  settings it fails with DuplicateLoadBalancerName.
- A load balancer has a requester-managed network interface in each of its subnets, in its
  security groups (interfaces.py): EC2 DeleteSecurityGroup and DeleteSubnet fail with
  DependencyViolation while they are there, and they outlive the load balancer by the hold
  `eni_linger_s`. SetSecurityGroups and SetSubnets move them as AWS does.
"""

from moto.core.exceptions import ServiceException
from moto.elbv2 import models as elbv2
from moto.elbv2.exceptions import DuplicateLoadBalancerName

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


def install():
    backend = elbv2.ELBv2Backend

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
