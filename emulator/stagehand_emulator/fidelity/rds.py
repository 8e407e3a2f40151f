"""RDS: Aurora clusters act as AWS's do where db-up depends on it.

- Serverless v1 is retired: CreateDBCluster with EngineMode=serverless is refused.
- ModifyDBCluster is refused while the cluster is not available (creating, modifying),
  with AWS's InvalidDBClusterStateFault.
- DeleteDBCluster needs FinalDBSnapshotIdentifier unless SkipFinalSnapshot is true, and
  removes the cluster's automated snapshots (AWS deletes automated backups with the cluster
  unless DeleteAutomatedBackups=false); moto kept them, tagged, forever.
- DeleteDBSubnetGroup is refused while a cluster or an instance uses the group
  (InvalidDBSubnetGroupStateFault); moto deleted it from under them.
- ModifyDBSubnetGroup keeps the group: moto popped it and never put it back.
- DescribeDBEngineVersions (moto has none) serves the Aurora PostgreSQL versions of the
  limits table (limits.py), each with its Serverless v2 capacity range as AWS reports it
  (DBEngineVersion.ServerlessV2FeaturesSupport {MinCapacity, MaxCapacity}); versions without
  Serverless v2 have no such member. CreateDBCluster refuses what that table refuses.
"""

from moto.core.responses import ActionResult
from moto.rds import exceptions, models, responses

from .. import limits


class _Fault(exceptions.RDSClientError):
    def __init__(self, code, message):
        super().__init__(code, message)


def install():
    responses.RDSResponse.describe_db_engine_versions = describe_db_engine_versions
    _refuse_serverless_v1()
    _modify_only_when_available()
    _delete_cluster_like_aws()
    _subnet_groups_like_aws()


def _refuse_serverless_v1():
    original = models.RDSBackend.create_db_cluster

    def create_db_cluster(self, kwargs):
        if (kwargs.get("engine_mode") or "").lower() == "serverless":
            raise _Fault(
                "InvalidParameterCombination",
                "The engine mode serverless you requested is currently unavailable.",
            )
        return original(self, kwargs)

    models.RDSBackend.create_db_cluster = create_db_cluster


def _modify_only_when_available():
    original = models.RDSBackend.modify_db_cluster

    def modify_db_cluster(self, kwargs):
        cluster = self.clusters.get(kwargs.get("db_cluster_identifier"))
        if cluster is not None and cluster.status != "available":
            raise _Fault(
                "InvalidDBClusterStateFault",
                f"DB cluster {cluster.db_cluster_identifier} is not available for modification with status {cluster.status}",
            )
        return original(self, kwargs)

    models.RDSBackend.modify_db_cluster = modify_db_cluster


def _delete_cluster_like_aws():
    original_response = responses.RDSResponse.delete_db_cluster

    def delete_db_cluster_response(self):
        skip = str(self.params.get("SkipFinalSnapshot", "false")).lower() == "true"
        final = self.params.get("FinalDBSnapshotIdentifier")
        if not skip and not final:
            raise _Fault(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier is required unless SkipFinalSnapshot is specified.",
            )
        if skip and final:
            raise _Fault(
                "InvalidParameterCombination",
                "FinalDBSnapshotIdentifier can not be specified when deleting a cluster with SkipFinalSnapshot enabled.",
            )
        keep_automated = str(self.params.get("DeleteAutomatedBackups", "true")).lower() == "false"
        result = original_response(self)
        if not keep_automated:
            cluster_id = (self.params.get("DBClusterIdentifier") or "").lower()
            snaps = self.backend.cluster_snapshots
            for sid in [
                sid
                for sid, s in snaps.items()
                if s.snapshot_type == "automated"
                and s.cluster.db_cluster_identifier == cluster_id
            ]:
                del snaps[sid]
        return result

    responses.RDSResponse.delete_db_cluster = delete_db_cluster_response


def _subnet_groups_like_aws():
    original_delete = models.RDSBackend.delete_subnet_group

    def delete_subnet_group(self, subnet_name):
        users = [
            f"database cluster: {c.db_cluster_identifier}"
            for c in self.clusters.values()
            if c.db_subnet_group_name == subnet_name
        ] + [
            f"database instance: {d.db_instance_identifier}"
            for d in self.databases.values()
            if d.__dict__.get("_db_subnet_group_name") == subnet_name
        ]
        if users:
            raise _Fault(
                "InvalidDBSubnetGroupStateFault",
                f"Cannot delete the subnet group '{subnet_name}' because at least one {users[0]} is still using it.",
            )
        return original_delete(self, subnet_name)

    models.RDSBackend.delete_subnet_group = delete_subnet_group

    original_modify = models.RDSBackend.modify_db_subnet_group

    def modify_db_subnet_group(self, subnet_name, description, subnets):
        group = original_modify(self, subnet_name, description, subnets)
        self.subnet_groups[subnet_name] = group
        return group

    models.RDSBackend.modify_db_subnet_group = modify_db_subnet_group


def engine_version(version):
    """One DBEngineVersion as DescribeDBEngineVersions answers it."""
    major = version.split(".")[0]
    out = {
        "Engine": "aurora-postgresql",
        "EngineVersion": version,
        "DBParameterGroupFamily": f"aurora-postgresql{major}",
        "DBEngineDescription": "Aurora (PostgreSQL)",
        "DBEngineVersionDescription": f"Aurora PostgreSQL (Compatible with PostgreSQL {version})",
        "ValidUpgradeTarget": [],
        "ExportableLogTypes": ["postgresql"],
        "SupportsLogExportsToCloudwatchLogs": True,
        "SupportsReadReplica": True,
        "SupportedEngineModes": ["provisioned"],
        "SupportedFeatureNames": [],
        "Status": "available",
        "SupportsParallelQuery": False,
        "SupportsGlobalDatabases": True,
        "MajorEngineVersion": major,
        "SupportsBabelfish": True,
        "SupportsCertificateRotationWithoutRestart": True,
        "SupportsLocalWriteForwarding": int(major) >= 14,
        "SupportsIntegrations": False,
    }
    supported = limits.serverless_v2_range(version)
    if supported is not None:
        out["ServerlessV2FeaturesSupport"] = {"MinCapacity": supported[0], "MaxCapacity": supported[1]}
    return out


def describe_db_engine_versions(self):
    engine = self.params.get("Engine")
    wanted = self.params.get("EngineVersion")
    family = self.params.get("DBParameterGroupFamily")
    versions = []
    if engine in (None, "aurora-postgresql"):
        versions = limits.aurora_postgresql_versions()
        if str(self.params.get("DefaultOnly", "false")).lower() == "true":
            versions = [limits.DEFAULT_AURORA_POSTGRESQL]
        if wanted:
            # A full version matches itself; a major version ("16") all of its minors.
            versions = [v for v in versions if v == wanted or v.split(".")[0] == wanted]
        if family:
            versions = [v for v in versions if f"aurora-postgresql{v.split('.')[0]}" == family]
        for f in self.params.get("Filters") or []:
            values = set(f.get("Values") or [])
            if f.get("Name") == "engine-version":
                versions = [v for v in versions if v in values]
            elif f.get("Name") == "engine-mode" and "provisioned" not in values:
                versions = []
    return ActionResult({"DBEngineVersions": [engine_version(v) for v in versions]})
