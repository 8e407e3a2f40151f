"""Requester-managed network interfaces hold subnets, security groups and VPCs, and linger."""

import unittest

from support import emu
from test_validation import error


def linger_passes():
    """Let every lingering interface's hold run out (as if the time had passed)."""
    from stagehand_emulator.fidelity import interfaces

    with interfaces._lock:
        for eni_id, (backend, _, went) in list(interfaces._leaving.items()):
            interfaces._leaving[eni_id] = (backend, 0, went)


class Network:
    def __init__(self):
        self.ec2 = emu.client("ec2")
        self.vpc = self.ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        self.subnets = [
            self.ec2.create_subnet(VpcId=self.vpc, CidrBlock=f"10.0.{i}.0/24",
                                   AvailabilityZone=z)["Subnet"]["SubnetId"]
            for i, z in enumerate(("us-west-2a", "us-west-2b"))
        ]

    def group(self, name):
        return self.ec2.create_security_group(GroupName=name, Description=name, VpcId=self.vpc)["GroupId"]

    def interfaces(self):
        return self.ec2.describe_network_interfaces(
            Filters=[{"Name": "vpc-id", "Values": [self.vpc]}])["NetworkInterfaces"]


class Interfaces(unittest.TestCase):
    def setUp(self):
        emu.reset()
        self.net = Network()

    def aurora(self, group):
        rds = emu.client("rds")
        self.db = emu.unique("db")
        rds.create_db_subnet_group(DBSubnetGroupName=self.db, DBSubnetGroupDescription="d",
                                   SubnetIds=self.net.subnets)
        rds.create_db_cluster(DBClusterIdentifier=self.db, Engine="aurora-postgresql",
                              EngineVersion="16.6", MasterUsername="postgres",
                              MasterUserPassword="Passw0rd-1", DBSubnetGroupName=self.db,
                              VpcSecurityGroupIds=[group],
                              ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 2})
        rds.create_db_instance(DBInstanceIdentifier=f"{self.db}-1", DBClusterIdentifier=self.db,
                               Engine="aurora-postgresql", DBInstanceClass="db.serverless")
        return rds

    def test_an_aurora_instance_holds_its_groups_and_subnet_after_it_is_gone(self):
        emu.control("POST", "holds", {"eni_linger_s": 600})
        group = self.net.group("db")
        rds = self.aurora(group)
        (eni,) = self.net.interfaces()
        self.assertTrue(eni["RequesterManaged"])
        self.assertEqual(eni["RequesterId"], "amazon-rds")
        self.assertEqual(eni["Description"], "RDSNetworkInterface")
        self.assertEqual([g["GroupId"] for g in eni["Groups"]], [group])
        ec2 = self.net.ec2
        self.assertEqual(error(lambda: ec2.delete_security_group(GroupId=group))[0], "DependencyViolation")

        rds.delete_db_instance(DBInstanceIdentifier=f"{self.db}-1", SkipFinalSnapshot=True)
        self.assertEqual(len(self.net.interfaces()), 1)  # lingers
        code, message, _ = error(lambda: ec2.delete_security_group(GroupId=group))
        self.assertEqual((code, message), ("DependencyViolation", f"resource {group} has a dependent object"))
        self.assertEqual(error(lambda: ec2.delete_subnet(SubnetId=eni["SubnetId"]))[0], "DependencyViolation")
        linger_passes()
        self.assertEqual(self.net.interfaces(), [])
        ec2.delete_security_group(GroupId=group)

    def test_modify_db_cluster_moves_the_instances_interface(self):
        old, new = self.net.group("old"), self.net.group("new")
        rds = self.aurora(old)
        rds.modify_db_cluster(DBClusterIdentifier=self.db, VpcSecurityGroupIds=[new], ApplyImmediately=True)
        (eni,) = self.net.interfaces()
        self.assertEqual([g["GroupId"] for g in eni["Groups"]], [new])
        self.net.ec2.delete_security_group(GroupId=old)

    def test_a_load_balancer_has_an_interface_per_subnet_that_outlives_it(self):
        emu.control("POST", "holds", {"eni_linger_s": 600})
        group, other = self.net.group("alb"), self.net.group("alb2")
        elb = emu.client("elbv2")
        name = emu.unique("web")
        lb = elb.create_load_balancer(Name=name, Subnets=self.net.subnets,
                                      SecurityGroups=[group])["LoadBalancers"][0]
        enis = self.net.interfaces()
        self.assertEqual(sorted(e["SubnetId"] for e in enis), sorted(self.net.subnets))
        lb_id = lb["LoadBalancerArn"].rsplit("/", 1)[-1]
        self.assertEqual({e["Description"] for e in enis}, {f"ELB app/{name}/{lb_id}"})
        self.assertEqual({e["RequesterId"] for e in enis}, {"amazon-elb"})
        elb.set_security_groups(LoadBalancerArn=lb["LoadBalancerArn"], SecurityGroups=[other])
        self.assertEqual({g["GroupId"] for e in self.net.interfaces() for g in e["Groups"]}, {other})
        self.net.ec2.delete_security_group(GroupId=group)

        elb.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
        self.assertEqual(error(lambda: self.net.ec2.delete_security_group(GroupId=other))[0],
                         "DependencyViolation")
        linger_passes()
        self.net.ec2.delete_security_group(GroupId=other)
        for subnet in self.net.subnets:
            self.net.ec2.delete_subnet(SubnetId=subnet)

    def test_lowering_the_hold_shortens_the_linger_of_interfaces_already_leaving(self):
        emu.control("POST", "holds", {"eni_linger_s": 600})
        group = self.net.group("db")
        rds = self.aurora(group)
        rds.delete_db_instance(DBInstanceIdentifier=f"{self.db}-1", SkipFinalSnapshot=True)
        ec2 = self.net.ec2
        self.assertEqual(error(lambda: ec2.delete_security_group(GroupId=group))[0], "DependencyViolation")
        emu.control("POST", "holds", {"eni_linger_s": 0})
        self.assertEqual(self.net.interfaces(), [])
        ec2.delete_security_group(GroupId=group)

    def test_raising_the_hold_does_not_lengthen_a_linger(self):
        group = self.net.group("db")
        rds = self.aurora(group)
        rds.delete_db_instance(DBInstanceIdentifier=f"{self.db}-1", SkipFinalSnapshot=True)
        emu.control("POST", "holds", {"eni_linger_s": 600})
        self.assertEqual(self.net.interfaces(), [])

    def test_without_a_linger_interfaces_go_with_their_owner(self):
        group = self.net.group("db")
        rds = self.aurora(group)
        rds.delete_db_instance(DBInstanceIdentifier=f"{self.db}-1", SkipFinalSnapshot=True)
        self.assertEqual(self.net.interfaces(), [])
        self.net.ec2.delete_security_group(GroupId=group)

    def test_a_nat_gateways_interface_lingers(self):
        emu.control("POST", "holds", {"eni_linger_s": 600})
        ec2 = self.net.ec2
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=self.net.vpc)
        eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
        nat = ec2.create_nat_gateway(SubnetId=self.net.subnets[0], AllocationId=eip)["NatGateway"]
        (eni,) = self.net.interfaces()
        self.assertEqual((eni["RequesterManaged"], eni["InterfaceType"]), (True, "nat_gateway"))
        ec2.delete_nat_gateway(NatGatewayId=nat["NatGatewayId"])
        ec2.release_address(AllocationId=eip)
        self.assertEqual(error(lambda: ec2.delete_subnet(SubnetId=self.net.subnets[0]))[0],
                         "DependencyViolation")
        linger_passes()
        ec2.delete_subnet(SubnetId=self.net.subnets[0])

    def test_groups_and_vpcs_with_dependents_are_not_deleted(self):
        ec2 = self.net.ec2
        db, app = self.net.group("db"), self.net.group("app")
        ec2.authorize_security_group_ingress(GroupId=db, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 5432, "ToPort": 5432,
            "UserIdGroupPairs": [{"GroupId": app}]}])
        self.assertEqual(error(lambda: ec2.delete_security_group(GroupId=app))[0], "DependencyViolation")
        for subnet in self.net.subnets:
            ec2.delete_subnet(SubnetId=subnet)
        self.assertEqual(error(lambda: ec2.delete_vpc(VpcId=self.net.vpc))[0], "DependencyViolation")
        ec2.delete_security_group(GroupId=db)
        ec2.delete_security_group(GroupId=app)
        ec2.delete_vpc(VpcId=self.net.vpc)

    def test_a_security_group_needs_an_existing_vpc(self):
        code, message, _ = error(lambda: self.net.ec2.create_security_group(
            GroupName="g", Description="d", VpcId="vpc-0123456789abcdef0"))
        self.assertEqual(code, "InvalidVpcID.NotFound")
        self.assertIn("vpc-0123456789abcdef0", message)


if __name__ == "__main__":
    unittest.main()
