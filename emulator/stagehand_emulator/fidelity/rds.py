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
- An Aurora instance has a requester-managed network interface in its cluster's subnet
  group, in the cluster's security groups (interfaces.py): it holds them until it is gone,
  and outlives the instance by the hold `eni_linger_s`. ModifyDBCluster's
  VpcSecurityGroupIds moves it, as on AWS.
- Each cluster's current master password (CreateDBCluster, ModifyDBCluster
  MasterUserPassword, RestoreDBClusterFromSnapshot: the snapshot's) is kept by moto and never
  shown by a describe; tests read it from GET /_stagehand/rds/master-password?cluster=ID ->
  {"cluster": ID, "password": VALUE} (404 when no such cluster).
- RestoreDBClusterFromSnapshot keeps the ServerlessV2ScalingConfiguration,
  VpcSecurityGroupIds and DBSubnetGroupName it is given, and like AWS ("created from the
  source snapshot with a default configuration") does not carry them over from the source
  cluster when they are not given: no Serverless v2 scaling, the VPC's default security
  group, the default subnet group. moto copied the source cluster's.
- DescribeDBEngineVersions (moto has none) serves the Aurora PostgreSQL versions of the
  limits table (limits.py), each with its Serverless v2 capacity range as AWS reports it
  (DBEngineVersion.ServerlessV2FeaturesSupport {MinCapacity, MaxCapacity}); versions without
  Serverless v2 have no such member. CreateDBCluster refuses what that table refuses.
"""

from moto.core.responses import ActionResult
from moto.ec2.models import ec2_backends
from moto.rds import exceptions, models, responses

from .. import limits
from . import interfaces


class _Fault(exceptions.RDSClientError):
    def __init__(self, code, message):
        super().__init__(code, message)


def install():
    responses.RDSResponse.describe_db_engine_versions = describe_db_engine_versions
    _refuse_serverless_v1()
    _modify_only_when_available()
    _delete_cluster_like_aws()
    _subnet_groups_like_aws()
    _instance_interfaces()
    _restore_with_default_configuration()


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


def _instance_interfaces():
    backend_cls = models.RDSBackend
    original_create = backend_cls.create_db_instance

    def create_db_instance(self, db_kwargs):
        db = original_create(self, db_kwargs)
        cluster = self.clusters.get(db.db_cluster_identifier or "")
        name = cluster.db_subnet_group_name if cluster else db.__dict__.get("_db_subnet_group_name")
        group = self.subnet_groups.get(name or "")
        subnets = getattr(group, "_subnets", None)
        if subnets:
            groups = cluster.vpc_security_group_ids if cluster else db.vpc_security_group_ids
            db._sh_eni = interfaces.attach(ec2_backends[self.account_id][self.region_name],
                                           subnets[0].id, groups, "RDSNetworkInterface", "rds")
        return db

    backend_cls.create_db_instance = create_db_instance

    original_delete = backend_cls.delete_db_instance

    def delete_db_instance(self, db_instance_identifier, *args, **kwargs):
        db = original_delete(self, db_instance_identifier, *args, **kwargs)
        eni = db.__dict__.pop("_sh_eni", None)
        if eni is not None:
            interfaces.release_later(eni)
        return db

    backend_cls.delete_db_instance = delete_db_instance

    original_modify = backend_cls.modify_db_cluster

    def modify_db_cluster(self, kwargs):
        cluster = original_modify(self, kwargs)
        if kwargs.get("vpc_security_group_ids"):
            cluster_id = cluster.db_cluster_identifier
            for db in self.databases.values():
                eni = db.__dict__.get("_sh_eni")
                if eni is not None and db.db_cluster_identifier == cluster_id:
                    interfaces.set_groups(eni, kwargs["vpc_security_group_ids"])
        return cluster

    backend_cls.modify_db_cluster = modify_db_cluster


def _restore_with_default_configuration():
    original = models.RDSBackend.restore_db_cluster_from_snapshot

    def restore_db_cluster_from_snapshot(self, from_snapshot_id, overrides):
        overrides = dict(overrides)
        overrides.setdefault("db_subnet_group_name", None)
        if not overrides.get("db_subnet_group_name"):
            overrides["db_subnet_group_name"] = "default"
        cluster = original(self, from_snapshot_id, overrides)
        if not overrides.get("serverless_v2_scaling_configuration"):
            cluster.serverless_v2_scaling_configuration = None
        if not overrides.get("vpc_security_group_ids"):
            cluster.vpc_security_group_ids = _default_group(self, cluster.db_subnet_group_name)
        return cluster

    models.RDSBackend.restore_db_cluster_from_snapshot = restore_db_cluster_from_snapshot


def _default_group(backend, subnet_group_name):
    """The default security group of the VPC the subnet group is in (else the default VPC)."""
    ec2 = ec2_backends[backend.account_id][backend.region_name]
    group = backend.subnet_groups.get(subnet_group_name or "")
    vpc_id = getattr(group, "vpc_id", None) or ec2.default_vpc.id
    default = ec2.get_default_security_group(vpc_id)
    return [default.id] if default is not None else []


def master_password(method, body, query):
    """GET /_stagehand/rds/master-password?cluster=ID: the cluster's current master password."""
    wanted = (query.get("cluster") or "").lower()
    if method != "GET" or not wanted:
        return 400, {"error": "GET with ?cluster=<DBClusterIdentifier>"}
    for regions in list(models.rds_backends.values()):
        for backend in list(regions.values()):
            cluster = backend.clusters.get(wanted)
            if cluster is not None:
                return 200, {"cluster": cluster.db_cluster_identifier,
                             "password": cluster.__dict__.get("_master_user_password")}
    return 404, {"error": f"no DB cluster {wanted}"}


CONTROL_ROUTES = {"rds/master-password": master_password}
