"""Aurora: the master password the emulator keeps, and restores from snapshots."""

import unittest

from support import emu
from test_limits import network

SCALING = {"MinCapacity": 0.5, "MaxCapacity": 4.0}


class Aurora(unittest.TestCase):
    def setUp(self):
        emu.reset()
        self.rds = emu.client("rds")
        self.ec2 = emu.client("ec2")
        self.vpc, subnets = network()
        self.subnet_group = emu.unique("dbsub")
        self.rds.create_db_subnet_group(DBSubnetGroupName=self.subnet_group,
                                        DBSubnetGroupDescription="d", SubnetIds=subnets)
        self.group = self.ec2.create_security_group(GroupName=emu.unique("db"), Description="d",
                                                    VpcId=self.vpc)["GroupId"]

    def cluster(self, password="Passw0rd-1"):
        name = emu.unique("db")
        self.rds.create_db_cluster(
            DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion="16.6",
            MasterUsername="postgres", MasterUserPassword=password,
            DBSubnetGroupName=self.subnet_group, VpcSecurityGroupIds=[self.group],
            ServerlessV2ScalingConfiguration=SCALING)
        return name

    def password(self, cluster, expect=200):
        return emu.control("GET", f"rds/master-password?cluster={cluster}", expect=expect)

    def test_the_current_password_is_served_and_never_described(self):
        name = self.cluster("Passw0rd-1")
        self.assertEqual(self.password(name), {"cluster": name, "password": "Passw0rd-1"})
        self.rds.modify_db_cluster(DBClusterIdentifier=name, MasterUserPassword="Passw0rd-2",
                                   ApplyImmediately=True)
        self.assertEqual(self.password(name)["password"], "Passw0rd-2")
        described = str(self.rds.describe_db_clusters(DBClusterIdentifier=name))
        self.assertNotIn("Passw0rd", described)
        self.password("no-such-cluster", expect=404)

    def test_a_restore_keeps_the_snapshots_password_and_what_it_is_given(self):
        name = self.cluster("Passw0rd-1")
        self.rds.create_db_cluster_snapshot(DBClusterIdentifier=name,
                                            DBClusterSnapshotIdentifier=f"{name}-snap")
        self.rds.modify_db_cluster(DBClusterIdentifier=name, MasterUserPassword="Passw0rd-2",
                                   ApplyImmediately=True)
        self.rds.delete_db_cluster(DBClusterIdentifier=name, SkipFinalSnapshot=True)
        self.password(name, expect=404)
        restored = self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=name, SnapshotIdentifier=f"{name}-snap", Engine="aurora-postgresql",
            EngineVersion="16.6", DBSubnetGroupName=self.subnet_group,
            VpcSecurityGroupIds=[self.group],
            ServerlessV2ScalingConfiguration={"MinCapacity": 1.0, "MaxCapacity": 8.0})["DBCluster"]
        self.assertEqual(self.password(name)["password"], "Passw0rd-1")
        described = self.rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]
        for cluster in (restored, described):
            self.assertEqual(cluster["ServerlessV2ScalingConfiguration"],
                             {"MinCapacity": 1.0, "MaxCapacity": 8.0})
            self.assertEqual([g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]], [self.group])
            self.assertEqual(cluster["DBSubnetGroup"], self.subnet_group)

    def test_a_restore_without_settings_gets_the_default_configuration(self):
        name = self.cluster()
        self.rds.delete_db_cluster(DBClusterIdentifier=name, FinalDBSnapshotIdentifier=f"{name}-final")
        restored = self.rds.restore_db_cluster_from_snapshot(
            DBClusterIdentifier=name, SnapshotIdentifier=f"{name}-final",
            Engine="aurora-postgresql")["DBCluster"]
        self.assertNotIn("ServerlessV2ScalingConfiguration", restored)
        default_vpc = self.ec2.describe_vpcs(Filters=[{"Name": "isDefault", "Values": ["true"]}])["Vpcs"][0]
        default_group = self.ec2.describe_security_groups(Filters=[
            {"Name": "vpc-id", "Values": [default_vpc["VpcId"]]},
            {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"][0]["GroupId"]
        self.assertEqual([g["VpcSecurityGroupId"] for g in restored["VpcSecurityGroups"]], [default_group])


if __name__ == "__main__":
    unittest.main()
