"""EC2: NAT gateways and what hangs on them behave as AWS's do.

moto makes a NAT gateway `available` at once and `deleted` at once, and never frees what it
holds; AWS takes minutes each way and frees its Elastic IP and network interface only once it
is deleted. core-up waits for both, so this module makes the emulator act like AWS:

- A NAT gateway is `pending` and then `available`; a deleted one is `deleting` and then
  `deleted`, and only then is its Elastic IP disassociated and its network interface removed.
  POST /_stagehand/holds {"nat_gateway_s": 2} sets how long each lasts (default 0: moto's
  instant behaviour, with the same end state).
- A public NAT gateway in a VPC with no internet gateway attached fails (state `failed`,
  Gateway.NotAttached), as AWS's does.
- CreateNatGateway and CreateRouteTable honour ClientToken: a request repeated with the same
  token (a retry, or a rerun of a killed run) returns the first request's resource instead of
  a second one (IdempotentParameterMismatch when the repeat asks for something else).
- DeleteSubnet refuses while network interfaces remain in the subnet, ReleaseAddress while
  the address is associated, DetachInternetGateway while the VPC has mapped public addresses,
  and DeleteVpc while an internet gateway is attached (moto allows all four).
- A NAT gateway's network interface is requester-managed and outlives the gateway by the
  hold `eni_linger_s` (interfaces.py), as the interfaces of Aurora instances, load balancers
  and Fargate tasks do.
- DeleteSecurityGroup refuses while a network interface is in the group or another group's
  rule refers to it; DeleteVpc while network interfaces or security groups other than the
  default remain (DependencyViolation, as AWS answers; moto deleted them).
- CreateSecurityGroup in a VPC that does not exist fails with InvalidVpcID.NotFound (moto
  made the group anyway).
- DescribeNatGateways honours the `tag:<key>`, `tag-key` and `tag-value` filters (moto
  ignored them and listed every gateway, so a lookup by tag found other stacks' gateways).
"""

import threading
import time

from moto.ec2.exceptions import DependencyViolationError, EC2ClientError
from moto.ec2.models import (
    elastic_ip_addresses,
    elastic_network_interfaces,
    internet_gateways,
    nat_gateways,
    security_groups,
    subnets,
    vpcs,
)
from moto.ec2.responses import nat_gateways as nat_responses
from moto.ec2.responses import route_tables as route_table_responses

from . import holds, interfaces

HOLD_KEY = "nat_gateway_s"
holds.register(HOLD_KEY, "a NAT gateway is `pending` after its create and `deleting` after its delete")
_create_lock = threading.Lock()


def _hold():
    return holds.seconds(HOLD_KEY)


# ------------------------------------------------------------------ NAT gateway states
def _get_state(self):
    failed = self.__dict__.get("_sh_failed")
    if failed:
        return "failed"
    stored = self.__dict__.get("_sh_state", "available")
    now = time.monotonic()
    if stored == "deleted":
        if now - self.__dict__.get("_sh_deleting_since", 0) < self.__dict__.get("_sh_delete_hold", 0):
            return "deleting"
        _release(self)
        return "deleted"
    if now - self.__dict__.get("_sh_born", 0) < self.__dict__.get("_sh_create_hold", 0):
        return "pending"
    return stored


def _set_state(self, value):
    if "_sh_state" not in self.__dict__:
        # moto's __init__: the gateway is born; it shows `pending` for the hold.
        self.__dict__["_sh_born"] = time.monotonic()
        self.__dict__["_sh_create_hold"] = _hold()
    elif value == "deleted" and self.__dict__.get("_sh_state") != "deleted":
        self.__dict__["_sh_deleting_since"] = time.monotonic()
        self.__dict__["_sh_delete_hold"] = _hold()
    self.__dict__["_sh_state"] = value


def _release(nat):
    """What AWS frees once a gateway is gone: its address association and its interface."""
    if nat.__dict__.get("_sh_released"):
        return
    nat.__dict__["_sh_released"] = True
    backend = nat.ec2_backend
    eni = getattr(nat, "_eni", None)
    for eip in list(getattr(backend, "addresses", [])):
        if eni is not None and eip.eni is eni:
            eip.eni = None
            eip.instance = None
            eip.association_id = None
    if eni is not None:
        eni.public_ip = None
        interfaces.release_later(eni)


def _settle(backend):
    """Bring every gateway's side effects up to date (states are computed when read), and
    let the interfaces whose linger is over go."""
    for nat in list(getattr(backend, "nat_gateways", {}).values()):
        _ = nat.state
    interfaces.settle(backend)


def _in_use(backend, group_id):
    """Why a security group cannot be deleted yet, or None."""
    for eni in backend.enis.values():
        if any(g.id == group_id for g in eni.group_set):
            return eni.id
    for vpc_groups in backend.groups.values():
        for other in vpc_groups.values():
            if other.id == group_id:
                continue
            for rule in list(other.ingress_rules) + list(other.egress_rules):
                if (rule.source_group or {}).get("GroupId") == group_id:
                    return other.id
    return None


def _igw_attached(backend, vpc_id):
    return any(g.vpc is not None and g.vpc.id == vpc_id for g in backend.internet_gateways.values())


def _tag_matches(resource, name, values):
    """An EC2 tag filter as AWS applies it: any of the values matches."""
    found = resource.get_filter_value(name)
    found = found if isinstance(found, list) else [found]
    return any(v in values for v in found if v is not None)


# ------------------------------------------------------------------ patches
def install():
    nat_gateways.NatGateway.state = property(_get_state, _set_state)

    original_create = nat_gateways.NatGatewayBackend.create_nat_gateway

    def create_nat_gateway(self, subnet_id, allocation_id, tags=None, connectivity_type="public"):
        nat = original_create(self, subnet_id, allocation_id, tags, connectivity_type)
        eni = getattr(nat, "_eni", None)
        if eni is not None:
            eni.requester_managed = True
            eni.requester_id = interfaces.OWNERS["nat"]
            eni.status = "in-use"
            eni.interface_type = "nat_gateway"
            eni.description = f"Interface for NAT Gateway {nat.id}"
        if (connectivity_type or "public") == "public" and not _igw_attached(self, nat.vpc_id):
            nat.__dict__["_sh_failed"] = True
            nat.failure_code = "Gateway.NotAttached"
            nat.failure_message = f"Network {nat.vpc_id} has no Internet gateway attached"
            _release(nat)
        return nat

    nat_gateways.NatGatewayBackend.create_nat_gateway = create_nat_gateway

    original_describe = nat_gateways.NatGatewayBackend.describe_nat_gateways

    def describe_nat_gateways(self, filters, nat_gateway_ids):
        found = original_describe(self, filters, nat_gateway_ids)
        for name, values in (filters or {}).items():
            if name.startswith("tag:") or name in ("tag-key", "tag-value"):
                found = [n for n in found if _tag_matches(n, name, values)]
        return found

    nat_gateways.NatGatewayBackend.describe_nat_gateways = describe_nat_gateways

    original_response = nat_responses.NatGateways.create_nat_gateway

    def create_nat_gateway_response(self):
        token = self._get_param("ClientToken")
        if not token:
            return original_response(self)
        backend = self.ec2_backend
        with _create_lock:
            tokens = backend.__dict__.setdefault("_sh_nat_tokens", {})
            known = tokens.get(token)
            if known is not None and known in backend.nat_gateways:
                from moto.core.responses import ActionResult

                return ActionResult({"NatGateway": backend.nat_gateways[known], "ClientToken": token})
            before = set(backend.nat_gateways)
            result = original_response(self)
            for nat_id in set(backend.nat_gateways) - before:
                tokens[token] = nat_id
            return result

    nat_responses.NatGateways.create_nat_gateway = create_nat_gateway_response

    original_create_route_table = route_table_responses.RouteTables.create_route_table

    def create_route_table_response(self):
        token = self._get_param("ClientToken")
        if not token:
            return original_create_route_table(self)
        backend = self.ec2_backend
        asked = (self._get_param("VpcId"), repr(self._get_param("TagSpecifications", [])))
        with _create_lock:
            tokens = backend.__dict__.setdefault("_sh_route_table_tokens", {})
            known = tokens.get(token)
            if known is not None and known[0] in backend.route_tables:
                if known[1] != asked:
                    raise EC2ClientError(
                        "IdempotentParameterMismatch",
                        "The client token you have provided is associated with a resource "
                        "that was created with different parameters.",
                    )
                from moto.core.responses import ActionResult

                return ActionResult({"RouteTable": backend.route_tables[known[0]], "ClientToken": token})
            before = set(backend.route_tables)
            result = original_create_route_table(self)
            for table_id in set(backend.route_tables) - before:
                tokens[token] = (table_id, asked)
            return result

    route_table_responses.RouteTables.create_route_table = create_route_table_response

    original_describe_addresses = elastic_ip_addresses.ElasticAddressBackend.describe_addresses

    def describe_addresses(self, *args, **kwargs):
        _settle(self)
        return original_describe_addresses(self, *args, **kwargs)

    elastic_ip_addresses.ElasticAddressBackend.describe_addresses = describe_addresses

    original_release = elastic_ip_addresses.ElasticAddressBackend.release_address

    def release_address(self, address=None, allocation_id=None):
        _settle(self)
        eips = self.address_by_ip([address]) if address else self.address_by_allocation([allocation_id])
        for eip in eips:
            if eip.association_id or eip.eni is not None or eip.instance is not None:
                raise EC2ClientError(
                    "InvalidIPAddress.InUse", f"Address {eip.allocation_id or eip.public_ip} is in use."
                )
        return original_release(self, address=address, allocation_id=allocation_id)

    elastic_ip_addresses.ElasticAddressBackend.release_address = release_address

    original_delete_subnet = subnets.SubnetBackend.delete_subnet

    def delete_subnet(self, subnet_id):
        _settle(self)
        if any(getattr(e.subnet, "id", None) == subnet_id for e in self.enis.values()):
            raise DependencyViolationError(
                f"The subnet '{subnet_id}' has dependencies and cannot be deleted."
            )
        return original_delete_subnet(self, subnet_id)

    subnets.SubnetBackend.delete_subnet = delete_subnet

    original_detach = internet_gateways.InternetGatewayBackend.detach_internet_gateway

    def detach_internet_gateway(self, internet_gateway_id, vpc_id):
        _settle(self)
        for eip in getattr(self, "addresses", []):
            eni = eip.eni
            if eni is not None and getattr(eni.subnet, "vpc_id", None) == vpc_id:
                raise DependencyViolationError(
                    f"Network {vpc_id} has some mapped public address(es). Please unmap those "
                    "public address(es) before detaching the gateway."
                )
        return original_detach(self, internet_gateway_id, vpc_id)

    internet_gateways.InternetGatewayBackend.detach_internet_gateway = detach_internet_gateway

    original_delete_vpc = vpcs.VPCBackend.delete_vpc

    def delete_vpc(self, vpc_id):
        _settle(self)
        enis = [e for e in self.enis.values() if getattr(e.subnet, "vpc_id", None) == vpc_id]
        groups = [g for g in self.groups.get(vpc_id, {}).values() if g.name != "default"]
        if _igw_attached(self, vpc_id) or enis or groups:
            raise DependencyViolationError(
                f"The vpc '{vpc_id}' has dependencies and cannot be deleted."
            )
        return original_delete_vpc(self, vpc_id)

    vpcs.VPCBackend.delete_vpc = delete_vpc

    sg_backend = security_groups.SecurityGroupBackend
    original_create_sg = sg_backend.create_security_group

    def create_security_group(self, name, description, vpc_id=None, *args, **kwargs):
        if vpc_id and vpc_id not in self.vpcs:
            raise EC2ClientError("InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")
        return original_create_sg(self, name, description, vpc_id, *args, **kwargs)

    sg_backend.create_security_group = create_security_group

    original_delete_sg = sg_backend.delete_security_group

    def delete_security_group(self, name=None, group_id=None):
        _settle(self)
        group = None
        if group_id:
            group = self.get_security_group_from_id(group_id)
        elif name:
            group = self.get_security_group_by_name_or_id(name)
        if group is not None and _in_use(self, group.id):
            raise DependencyViolationError(f"resource {group.id} has a dependent object")
        return original_delete_sg(self, name=name, group_id=group_id)

    sg_backend.delete_security_group = delete_security_group

    eni_backend = elastic_network_interfaces.NetworkInterfaceBackend
    original_all_enis = eni_backend.get_all_network_interfaces

    def get_all_network_interfaces(self, *args, **kwargs):
        _settle(self)
        return original_all_enis(self, *args, **kwargs)

    eni_backend.get_all_network_interfaces = get_all_network_interfaces
