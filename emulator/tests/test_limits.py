"""The documented limits the models leave to prose (limits.py), refused as AWS refuses them."""

import unittest

from support import emu
from test_validation import error

from stagehand_emulator import limits


def network(zones=("us-west-2a", "us-west-2b")):
    ec2 = emu.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=z)["Subnet"]["SubnetId"]
        for i, z in enumerate(zones)
    ]
    return vpc, subnets


class Limits(unittest.TestCase):
    def setUp(self):
        emu.reset()

    def test_alb_needs_subnets_in_two_zones(self):
        _, one_zone = network(("us-west-2a", "us-west-2a"))
        elb = emu.client("elbv2")
        name = emu.unique("web")
        code, message, _ = error(lambda: elb.create_load_balancer(Name=name, Subnets=one_zone))
        self.assertEqual(code, "ValidationError")
        self.assertIn("two different Availability Zones", message)
        _, two_zones = network()
        elb.create_load_balancer(Name=name, Subnets=two_zones)

    def test_alb_and_target_group_names(self):
        _, subnets = network()
        elb = emu.client("elbv2")
        for bad in ("x" * 33, "web_1", "-web", "internal-web"):
            code, _, _ = error(lambda: elb.create_load_balancer(Name=bad, Subnets=subnets))
            self.assertEqual(code, "ValidationError", bad)
        code, _, _ = error(lambda: elb.create_target_group(Name="tg-", Protocol="HTTP", Port=80,
                                                           VpcId=network()[0], TargetType="ip"))
        self.assertEqual(code, "ValidationError")

    def test_db_subnet_group_covers_two_zones(self):
        _, one_zone = network(("us-west-2a", "us-west-2a"))
        rds = emu.client("rds")
        code, message, _ = error(lambda: rds.create_db_subnet_group(
            DBSubnetGroupName="db", DBSubnetGroupDescription="d", SubnetIds=one_zone))
        self.assertEqual(code, "DBSubnetGroupDoesNotCoverEnoughAZs")
        self.assertIn("us-west-2a", message)

    def test_aurora_versions_and_capacity_follow_describe_db_engine_versions(self):
        rds = emu.client("rds")
        versions = rds.describe_db_engine_versions(Engine="aurora-postgresql")["DBEngineVersions"]
        by_version = {v["EngineVersion"]: v.get("ServerlessV2FeaturesSupport") for v in versions}
        self.assertEqual(by_version["16.6"], {"MinCapacity": 0.0, "MaxCapacity": 256.0})
        self.assertEqual(by_version["13.9"], {"MinCapacity": 0.5, "MaxCapacity": 128.0})
        self.assertIsNone(by_version["12.22"])

        def create(version, lo, hi, name=None):
            name = name or emu.unique("db")
            return rds.create_db_cluster(
                DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion=version,
                MasterUsername="postgres", MasterUserPassword="Passw0rd-ok",
                ServerlessV2ScalingConfiguration={"MinCapacity": lo, "MaxCapacity": hi})

        self.assertEqual(error(lambda: create("99.9", 0.5, 2))[0], "InvalidParameterCombination")
        self.assertEqual(error(lambda: create("12.22", 0.5, 2))[0], "InvalidParameterCombination")
        self.assertEqual(error(lambda: create("13.9", 0.5, 256))[0], "InvalidParameterValue")
        self.assertEqual(error(lambda: create("13.9", 0, 8))[0], "InvalidParameterValue")
        self.assertEqual(error(lambda: create("16.6", 0.25, 8))[0], "InvalidParameterValue")
        self.assertEqual(error(lambda: create("16.6", 4, 2))[0], "InvalidParameterValue")
        create("16.6", 0, 256)
        old = emu.unique("db")
        create("13.9", 0.5, 128, name=old)
        code, _, _ = error(lambda: rds.modify_db_cluster(
            DBClusterIdentifier=old, ApplyImmediately=True,
            ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 200}))
        self.assertEqual(code, "InvalidParameterValue")

    def test_master_password_rules(self):
        rds = emu.client("rds")
        for bad in ("sh0rt", "x" * 42, "has space1", "with/slash", 'quo"te12', "at@sign12", "ünïcödé12"):
            code, message, _ = error(lambda: rds.create_db_cluster(
                DBClusterIdentifier="db", Engine="aurora-postgresql", EngineVersion="16.6",
                MasterUsername="postgres", MasterUserPassword=bad))
            self.assertEqual(code, "InvalidParameterValue", bad)
            self.assertNotIn(bad, message)
        rds.create_db_cluster(DBClusterIdentifier=emu.unique("db"), Engine="aurora-postgresql",
                              EngineVersion="16.6", MasterUsername="postgres",
                              MasterUserPassword="x" * 41)

    def test_log_retention_values(self):
        logs = emu.client("logs")
        group = emu.unique("/ecs/app")
        logs.create_log_group(logGroupName=group)
        code, _, _ = error(lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=2))
        self.assertEqual(code, "InvalidParameterException")
        logs.put_retention_policy(logGroupName=group, retentionInDays=7)

    def test_fargate_cpu_memory_pairs(self):
        ecs = emu.client("ecs")

        def register(cpu, memory):
            return ecs.register_task_definition(
                family="app", requiresCompatibilities=["FARGATE"], networkMode="awsvpc",
                cpu=cpu, memory=memory,
                containerDefinitions=[{"name": "app", "image": "nginx", "essential": True}])

        code, message, _ = error(lambda: register("256", "4096"))
        self.assertEqual(code, "ClientException")
        self.assertIn("No Fargate configuration exists for given values: 256 CPU, 4096 memory", message)
        self.assertEqual(error(lambda: register("8192", "18432"))[0], "ClientException")
        register("512", "1024")
        register("1 vCPU", "2 GB")
        register("8192", "20480")

    def test_security_group_names_and_descriptions(self):
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        for name, description in (("sg-web", "d"), ("web%", "d"), ("web", "tab\there"), ("wëb", "d")):
            code, _, _ = error(lambda: ec2.create_security_group(
                GroupName=name, Description=description, VpcId=vpc))
            self.assertEqual(code, "InvalidParameterValue", name)
        group = ec2.create_security_group(GroupName="web ._-:/()#,@[]+=&;{}!$*", Description="ok",
                                          VpcId=vpc)["GroupId"]
        code, _, _ = error(lambda: ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[{
            "IpProtocol": "tcp", "FromPort": 80, "ToPort": 80,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "50% of the web"}]}]))
        self.assertEqual(code, "InvalidParameterValue")

    def test_bucket_names(self):
        s3 = emu.client("s3")
        for bad in ("Upper", "ab", "a..b", "192.168.1.1", "xn--bucket", "bucket-s3alias", "-bucket"):
            code, _, _ = error(lambda: s3.create_bucket(
                Bucket=bad, CreateBucketConfiguration={"LocationConstraint": "us-west-2"}))
            self.assertEqual(code, "InvalidBucketName", bad)
        self.assertTrue(limits.bucket_name_ok("backstage-artifacts-123456789012"))

    def test_secret_scheduled_for_deletion(self):
        sm = emu.client("secretsmanager")
        name = emu.unique("postgresdb_passwd")
        sm.create_secret(Name=name, SecretString="v")
        sm.delete_secret(SecretId=name, RecoveryWindowInDays=7)
        code, message, _ = error(lambda: sm.create_secret(Name=name, SecretString="v"))
        self.assertEqual(code, "InvalidRequestException")
        self.assertIn("scheduled for deletion", message)
        sm.restore_secret(SecretId=name)

    def test_limits_switch_off_on_their_own(self):
        emu.control("POST", "validation", {"limits": False})
        s3 = emu.client("s3")
        s3.create_bucket(Bucket=emu.unique("Upper-Case"),
                         CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        state = emu.control("GET", "validation")
        self.assertEqual((state["enabled"], state["limits"]), (True, False))


if __name__ == "__main__":
    unittest.main()
