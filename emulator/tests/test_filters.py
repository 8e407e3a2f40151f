"""Describe filters behave as AWS's: a lookup by tag finds only what carries the tag."""

import unittest

from support import emu


class NatGatewayFilters(unittest.TestCase):
    def setUp(self):
        emu.reset()

    def test_a_tag_filter_lists_only_the_gateways_with_that_tag(self):
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc)
        ids = {}
        for app in ("backstage", "portal2"):
            eip = ec2.allocate_address(Domain="vpc")["AllocationId"]
            ids[app] = ec2.create_nat_gateway(
                SubnetId=subnet, AllocationId=eip,
                TagSpecifications=[{"ResourceType": "natgateway",
                                    "Tags": [{"Key": "stagehand:app", "Value": app}]}],
            )["NatGateway"]["NatGatewayId"]

        def listed(**filters):
            out = ec2.describe_nat_gateways(
                Filter=[{"Name": k.replace("_", ":"), "Values": v} for k, v in filters.items()])
            return sorted(n["NatGatewayId"] for n in out["NatGateways"])

        self.assertEqual(listed(**{"tag_stagehand:app": ["portal2"]}), [ids["portal2"]])
        self.assertEqual(listed(**{"tag_stagehand:app": ["other"]}), [])
        self.assertEqual(listed(**{"tag-key": ["stagehand:app"]}), sorted(ids.values()))
        self.assertEqual(listed(**{"vpc-id": [vpc]}), sorted(ids.values()))


if __name__ == "__main__":
    unittest.main()
