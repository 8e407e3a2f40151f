"""ECS: services' deployments roll out as AWS's do, and can be made to fail.

moto makes a service's only deployment COMPLETED at once (when MOTO_ECS_SERVICE_RUNNING covers
the desired count), never starts a new deployment on UpdateService, drops the CreateService
settings it does not model (enableExecuteCommand, deploymentConfiguration with the circuit
breaker, healthCheckGracePeriodSeconds), answers DescribeTaskDefinition for a family with its
newest revision even when that one is INACTIVE, and ignores ListTasks' serviceName.

Here, as on AWS:
  * CreateService starts a PRIMARY deployment IN_PROGRESS with no task running; after
    ROLLOUT_S seconds (env STAGEHAND_EMULATOR_ECS_ROLLOUT_S, default 1) it is COMPLETED, the
    desired count runs and older deployments are gone.
  * UpdateService with a new task definition, network configuration, load balancers, service
    registries or forceNewDeployment starts a new PRIMARY deployment (the old one turns ACTIVE).
  * CreateService keeps enableExecuteCommand, deploymentConfiguration (with AWS's defaults
    200/100 and the circuit breaker off) and healthCheckGracePeriodSeconds.
  * DescribeTaskDefinition of a bare family names its latest ACTIVE revision.
  * ListTasks(serviceName=...) lists that service's tasks only.

Making a rollout fail (for tests of a tool's failure path), with no control endpoint: tag the
service `stagehand-emulator:rollout=FAILED` (TagResource, or a tool's own tags at create). Each
deployment started while the tag is present ends with rolloutState FAILED after ROLLOUT_S, as
the deployment circuit breaker ends it: two STOPPED tasks of that deployment (startedBy = the
deployment id) carry stoppedReason "Essential container in task exited" and a container reason
(the tag `stagehand-emulator:stopped-reason` overrides it). With the circuit breaker's rollback
on and an earlier deployment to go back to, a rollback deployment with the earlier task
definition becomes PRIMARY and completes; the failed one stays listed as ACTIVE/FAILED until then.
"""

import copy
import os
import time

from moto.ecs import models, responses
from moto.moto_api._internal import mock_random

FAIL_TAG = "stagehand-emulator:rollout"
REASON_TAG = "stagehand-emulator:stopped-reason"
DEFAULT_REASON = (
    "CannotPullContainerError: pull image manifest has been retried 5 time(s): "
    "failed to resolve ref: not found"
)


def _rollout_s():
    try:
        return float(os.environ.get("STAGEHAND_EMULATOR_ECS_ROLLOUT_S", "1"))
    except ValueError:
        return 1.0


def _now():
    return models.utcnow()


def _tags(service):
    return {t.get("key"): t.get("value") for t in (service.tags or [])}


def _new_deployment(service, task_definition, rollback=False):
    dep_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    now = _now()
    return {
        "createdAt": now,
        "desiredCount": service.desired_count,
        "failedTasks": 0,
        "id": dep_id,
        "launchType": service.launch_type,
        "pendingCount": service.desired_count,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": f"ECS deployment {dep_id} in progress.",
        "runningCount": 0,
        "platformVersion": service.platform_version,
        "networkConfiguration": service.network_configuration or None,
        "platformFamily": "EC2" if service.launch_type == "EC2" else "FARGATE",
        "status": "PRIMARY",
        "taskDefinition": task_definition,
        "updatedAt": now,
        "_born": time.monotonic(),
        "_rollback": rollback,
        "_fails": (not rollback) and _tags(service).get(FAIL_TAG, "").upper() == "FAILED",
    }


def _public(dep):
    return {k: v for k, v in dep.items() if not k.startswith("_")}


def _start_deployment(service):
    for dep in service._stagehand_deployments:
        if dep["status"] == "PRIMARY":
            dep["status"] = "ACTIVE"
            dep["updatedAt"] = _now()
    service._stagehand_deployments.insert(0, _new_deployment(service, service.task_definition))
    service.running_count = 0 if not service._stagehand_deployments[1:] else service.running_count
    service.pending_count = service.desired_count


def _stop_tasks(backend, service, dep):
    """Two STOPPED tasks of the failed deployment, with the reasons ECS gives."""
    reason = _tags(service).get(REASON_TAG) or DEFAULT_REASON
    cluster = backend.clusters.get(service.cluster_name)
    try:
        task_def = backend.describe_task_definition(dep["taskDefinition"])
    except Exception:  # noqa: BLE001 - no definition, no tasks to show
        return
    for _ in range(2):
        task = _make_task(backend, cluster, task_def, service, dep)
        if task is None:
            return
        task.desired_status = "STOPPED"
        task.status = "STOPPED"
        task.stopped_reason = "Essential container in task exited"
        for container in task.containers:
            container.last_status = "STOPPED"
            container.reason = reason
            container.exit_code = 1
            container.exitCode = 1
            # AWS types these as strings (moto gives the definition's integers), and a
            # container belongs to its task, not to the task definition.
            if container.cpu is not None:
                container.cpu = str(container.cpu)
            if container.memory is not None:
                container.memory = str(container.memory)
            container.task_arn = task.task_arn
        backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task


def _make_task(backend, cluster, task_def, service, dep):
    # moto's awsvpc path makes an ENI (and breaks on its missing private DNS name); a stopped
    # task has released its ENI anyway, so the task is built without one.
    shim = copy.copy(task_def)
    shim.network_mode = "none"
    task = models.Task(
        cluster,
        shim,
        None,
        None,
        backend,
        group=f"service:{service.name}",
        launch_type=service.launch_type or "FARGATE",
        started_by=dep["id"],
        tags=[],
    )
    task.task_definition_arn = task_def.arn
    return task


def _advance(backend, service):
    deps = getattr(service, "_stagehand_deployments", None)
    if deps is None:
        return
    now = time.monotonic()
    rollout = _rollout_s()
    primary = next((d for d in deps if d["status"] == "PRIMARY"), None)
    if primary is not None and primary["rolloutState"] == "IN_PROGRESS" and now - primary["_born"] >= rollout:
        if primary["_fails"]:
            primary["rolloutState"] = "FAILED"
            primary["rolloutStateReason"] = (
                f"ECS deployment circuit breaker: tasks failed to start. Deployment {primary['id']} failed."
            )
            primary["failedTasks"] = max(service.desired_count, 1)
            primary["runningCount"] = 0
            primary["updatedAt"] = _now()
            try:
                _stop_tasks(backend, service, primary)
            except Exception:  # noqa: BLE001 - the failure stands even if moto cannot model the tasks
                pass
            cb = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
            previous = next((d for d in deps if d is not primary and d["rolloutState"] == "COMPLETED"), None)
            if cb.get("rollback") and previous is not None:
                primary["status"] = "ACTIVE"
                back = _new_deployment(service, previous["taskDefinition"], rollback=True)
                deps.remove(previous)
                deps.insert(0, back)
                service.task_definition = previous["taskDefinition"]
                service.events.insert(0, {
                    "id": str(mock_random.uuid4()), "createdAt": _now(),
                    "message": f"(service {service.name}) (deployment {primary['id']}) deployment failed: tasks failed to start. Rolling back to deployment {back['id']}.",
                })
            else:
                service.running_count = 0
        else:
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["runningCount"] = service.desired_count
            primary["pendingCount"] = 0
            primary["updatedAt"] = _now()
            deps[:] = [primary]
            service.running_count = service.desired_count
            service.pending_count = 0
            service.events.insert(0, {
                "id": str(mock_random.uuid4()), "createdAt": _now(),
                "message": f"(service {service.name}) has reached a steady state.",
            })
    service.deployments = [_public(d) for d in deps]


def install():
    backend_cls = models.EC2ContainerServiceBackend

    # --- CreateService: the settings moto drops, and a deployment that rolls out.
    original_create_response = responses.EC2ContainerServiceResponse.create_service

    def create_service(self):
        result = original_create_response(self)
        service = self.ecs_backend._get_service(
            self._get_param("cluster", "default"), self._get_param("serviceName")
        )
        service.enable_execute_command = bool(self._get_param("enableExecuteCommand", False))
        config = self._get_param("deploymentConfiguration") or {}
        config.setdefault("maximumPercent", 200)
        config.setdefault("minimumHealthyPercent", 100)
        config.setdefault("deploymentCircuitBreaker", {"enable": False, "rollback": False})
        service.deployment_configuration = config
        grace = self._get_param("healthCheckGracePeriodSeconds")
        if grace is not None:
            service.health_check_grace_period_seconds = int(grace)
        service._stagehand_deployments = []
        _start_deployment(service)
        service.running_count = 0
        service.deployments = [_public(d) for d in service._stagehand_deployments]
        return result

    responses.EC2ContainerServiceResponse.create_service = create_service

    # --- UpdateService: a new deployment when what the tasks run changes.
    original_update = backend_cls.update_service

    def update_service(self, props):
        cluster_str = props.get("cluster", "default")
        name = props.get("service", "").split("/")[-1]
        force = bool(props.pop("force_new_deployment", False))
        try:
            before = self._get_service(cluster_str, name)
        except Exception:  # noqa: BLE001 - let moto answer ServiceNotFound
            return original_update(self, props)
        snapshot = (
            before.task_definition,
            before.network_configuration,
            before.load_balancers,
            before.service_registries,
        )
        wanted_td = props.get("task_definition")
        if wanted_td:
            # The service keeps the full ARN of the revision, as on AWS.
            props["task_definition"] = self.describe_task_definition(wanted_td).arn
        service = original_update(self, props)
        after = (
            service.task_definition,
            service.network_configuration,
            service.load_balancers,
            service.service_registries,
        )
        if hasattr(service, "_stagehand_deployments"):
            if force or after != snapshot:
                _start_deployment(service)
            else:
                for dep in service._stagehand_deployments:
                    if dep["status"] == "PRIMARY":
                        dep["desiredCount"] = service.desired_count
                if all(d["rolloutState"] == "COMPLETED" for d in service._stagehand_deployments):
                    service.running_count = service.desired_count
            service.deployments = [_public(d) for d in service._stagehand_deployments]
        return service

    backend_cls.update_service = update_service

    # --- DescribeServices: deployments advance with time.
    original_describe = backend_cls.describe_services

    def describe_services(self, cluster_str, names):
        found, failures = original_describe(self, cluster_str, names)
        for service in found:
            if service.status == "ACTIVE":
                _advance(self, service)
        return found, failures

    backend_cls.describe_services = describe_services

    # --- DescribeTaskDefinition(family): the latest ACTIVE revision.
    original_describe_td = backend_cls.describe_task_definition

    def describe_task_definition(self, task_definition_str):
        name = task_definition_str.split("/")[-1]
        if ":" not in name and name in self.task_definitions:
            active = [r for r, td in self.task_definitions[name].items() if td.status == "ACTIVE"]
            if not active:
                raise models.TaskDefinitionNotFoundException()
            return self.task_definitions[name][max(active)]
        return original_describe_td(self, task_definition_str)

    backend_cls.describe_task_definition = describe_task_definition

    # --- ListTasks(serviceName): that service's tasks.
    original_list_tasks = backend_cls.list_tasks

    def list_tasks(self, cluster_str=None, container_instance=None, family=None,
                   started_by=None, service_name=None, desiredStatus=None):
        tasks = original_list_tasks(self, cluster_str, container_instance, family,
                                    started_by, service_name, desiredStatus)
        if service_name:
            group = f"service:{service_name.split('/')[-1]}"
            tasks = [t for t in tasks if t.group == group]
        return tasks

    backend_cls.list_tasks = list_tasks
