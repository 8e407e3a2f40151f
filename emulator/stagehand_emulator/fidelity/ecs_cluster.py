"""ECS clusters: creating and deleting them behaves as AWS's does.

- CreateCluster with the name of an ACTIVE cluster returns that cluster unchanged (AWS is
  idempotent on the name); moto replaced it with a new, empty one, losing its services.
- DeleteCluster refuses while the cluster has services that are not INACTIVE
  (ClusterContainsServicesException) or running tasks (ClusterContainsTasksException); moto
  deleted it regardless.
- While the ECS service-linked role is too new to be assumed (the hold `slr_lag_s`, see
  iam.py), CreateCluster and PutClusterCapacityProviders with capacity providers fail as on
  AWS: InvalidParameterException "Unable to assume the service linked role. Please verify
  that the ECS service linked role exists." In an account without the role, ECS makes it
  with the cluster (as AWS does), and its lag starts then; this only while `slr_lag_s` is
  set, so without the hold an account keeps exactly the roles a test made.

(Services themselves are fidelity/ecs.py's business; this module touches clusters only.)
"""

from moto.ecs import models
from moto.ecs.exceptions import ECSException, InvalidParameterException

from . import iam

ECS_PRINCIPAL = "ecs.amazonaws.com"


def _make_role_when_missing(account):
    """ECS creates its service-linked role with an account's first cluster."""
    from moto.iam.models import iam_backends

    from . import holds

    if holds.seconds(iam.HOLD_KEY) <= 0:
        return
    backend = iam_backends[account]["aws"]
    path = f"/aws-service-role/{ECS_PRINCIPAL}/"
    if not any(role.path == path for role in backend.roles.values()):
        backend.create_service_linked_role(ECS_PRINCIPAL, "Role to enable Amazon ECS to manage your cluster.", "")


def _refuse_while_role_lags(backend, capacity_providers):
    if capacity_providers:
        _make_role_when_missing(backend.account_id)
    if capacity_providers and iam.lagging(backend.account_id, ECS_PRINCIPAL):
        raise InvalidParameterException(
            "Unable to assume the service linked role. Please verify that the ECS service "
            "linked role exists."
        )


def install():
    original_create = models.EC2ContainerServiceBackend.create_cluster

    def create_cluster(self, cluster_name, *args, **kwargs):
        existing = self.clusters.get(cluster_name)
        if existing is not None and existing.status == "ACTIVE":
            return existing
        providers = kwargs.get("capacity_providers") or (args[3] if len(args) > 3 else None)
        _refuse_while_role_lags(self, providers)
        return original_create(self, cluster_name, *args, **kwargs)

    models.EC2ContainerServiceBackend.create_cluster = create_cluster

    original_put = models.EC2ContainerServiceBackend.put_cluster_capacity_providers

    def put_cluster_capacity_providers(self, cluster_name, capacity_providers, *args, **kwargs):
        _refuse_while_role_lags(self, capacity_providers)
        return original_put(self, cluster_name, capacity_providers, *args, **kwargs)

    models.EC2ContainerServiceBackend.put_cluster_capacity_providers = put_cluster_capacity_providers

    original_delete = models.EC2ContainerServiceBackend.delete_cluster

    def delete_cluster(self, cluster_str):
        cluster = self._get_cluster(cluster_str)
        active = [
            s
            for key, s in self.services.items()
            if key.startswith(f"{cluster.name}:") and getattr(s, "status", "ACTIVE") != "INACTIVE"
        ]
        if active:
            raise ECSException(
                "ClusterContainsServicesException",
                "The Cluster cannot be deleted while Services are active.",
            )
        running = [
            t
            for t in self.tasks.get(cluster.name, {}).values()
            if getattr(t, "last_status", None) not in (None, "STOPPED", "DEPROVISIONING")
        ]
        if running:
            raise ECSException(
                "ClusterContainsTasksException",
                "The Cluster cannot be deleted while Tasks are active.",
            )
        return original_delete(self, cluster_str)

    models.EC2ContainerServiceBackend.delete_cluster = delete_cluster
