"""ELBv2: load balancers act like AWS's where alb-up depends on it.

moto differs from AWS in three ways that matter:

- DeleteLoadBalancer ignores `deletion_protection.enabled`. AWS refuses with
  OperationNotPermitted ("Load balancer '<arn>' cannot be deleted because deletion protection
  is enabled").
- CreateLoadBalancer with a name already in use makes a second load balancer (moto checks
  for a duplicate ARN, which carries a random id, so it never matches). AWS's CreateLoadBalancer
  is idempotent: with the same settings it returns the existing load balancer; with other
  settings it fails with DuplicateLoadBalancerName.
- EC2 DeleteSecurityGroup succeeds while a load balancer still uses the group. On AWS the
  load balancer's network interfaces are in the group, so the delete fails with
  DependencyViolation until the load balancer is gone.
"""

from moto.core.exceptions import ServiceException
from moto.ec2.exceptions import DependencyViolationError
from moto.ec2.models.security_groups import SecurityGroupBackend
from moto.elbv2 import models as elbv2
from moto.elbv2.exceptions import DuplicateLoadBalancerName


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
        return original_create(
            self, name, security_groups, subnet_ids, subnet_mappings=subnet_mappings,
            scheme=scheme, loadbalancer_type=loadbalancer_type,
            ip_address_type=ip_address_type, tags=tags,
        )

    backend.create_load_balancer = create_load_balancer

    original_delete = backend.delete_load_balancer

    def delete_load_balancer(self, arn):
        lb = self.load_balancers.get(arn)
        if lb is not None and str(lb.attrs.get("deletion_protection.enabled", "false")).lower() == "true":
            raise OperationNotPermitted(
                f"Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            )
        return original_delete(self, arn)

    backend.delete_load_balancer = delete_load_balancer

    original_delete_sg = SecurityGroupBackend.delete_security_group

    def delete_security_group(self, name=None, group_id=None):
        group = None
        if group_id:
            group = self.get_security_group_from_id(group_id)
        elif name:
            group = self.get_security_group_by_name_or_id(name)
        if group is not None:
            lbs = elbv2.elbv2_backends[self.account_id][self.region_name].load_balancers
            if any(group.id in (lb.security_groups or []) for lb in lbs.values()):
                raise DependencyViolationError(
                    f"resource {group.id} has a dependent object"
                )
        return original_delete_sg(self, name=name, group_id=group_id)

    SecurityGroupBackend.delete_security_group = delete_security_group
