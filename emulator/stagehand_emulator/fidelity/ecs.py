"""ECS: services' deployments roll out as AWS's do, with tasks that start and stop, and can be
made to fail.

moto makes a service's only deployment COMPLETED at once (when MOTO_ECS_SERVICE_RUNNING covers
the desired count), never starts a new deployment on UpdateService, runs no task for a service,
drops the CreateService settings it does not model (enableExecuteCommand,
deploymentConfiguration with the circuit breaker, healthCheckGracePeriodSeconds), answers
DescribeTaskDefinition for a family with its newest revision even when that one is INACTIVE,
and ignores ListTasks' serviceName.

Here, as on AWS:
  * CreateService, and UpdateService with a new task definition, network configuration, load
    balancers, service registries or forceNewDeployment, start a PRIMARY deployment
    IN_PROGRESS (an earlier PRIMARY turns ACTIVE). Halfway through hold `rollout_s` (default 1 s,
    or env STAGEHAND_EMULATOR_ECS_ROLLOUT_S) its tasks start (fidelity/ecs_tasks.py: the
    agent's IAM and image checks, a network interface, their IPs `initial` in the service's
    target groups, startup log lines); at `rollout_s` the targets are `healthy`, the deployment
    is COMPLETED, the older deployments' tasks stop (their targets drain for `rollout_s`) and
    the older deployments are gone.
  * A task that cannot start stops with ECS's reason (stopCode TaskFailedToStart). The
    deployment then ends FAILED at `rollout_s`, as the deployment circuit breaker ends it; with
    the breaker's rollback on and an earlier COMPLETED deployment, a rollback deployment with
    the earlier task definition becomes PRIMARY and rolls out; the failed one stays listed as
    ACTIVE/FAILED until then.
  * A desiredCount change on a completed deployment starts or stops tasks; DeleteService stops
    them all.
  * CreateService keeps enableExecuteCommand, deploymentConfiguration (with AWS's defaults
    200/100 and the circuit breaker off) and healthCheckGracePeriodSeconds.
  * DescribeTaskDefinition of a bare family names its latest ACTIVE revision.
  * ListTasks(serviceName=...) lists that service's tasks only.

Making rollouts fail (for tests of a tool's failure path):
POST /_stagehand/ecs/fail-rollout {"service": NAME, "times": 1, "reason": "...", "cluster": C}
makes the next `times` deployments of that service (any cluster unless "cluster" is given;
rollbacks excepted) fail: their tasks start and their essential container exits at once
(stoppedReason "Essential container in task exited", exit code 1, the container reason
`reason` when given). "times": 0 disarms. GET lists what is armed. The service need not exist
yet.
"""

import os
import sys
import traceback

from moto.ecs import models, responses
from moto.moto_api._internal import mock_random

from . import ecs_tasks, holds, sim

ROLLOUT = "rollout_s"


def _default_rollout_s():
    try:
        return float(os.environ.get("STAGEHAND_EMULATOR_ECS_ROLLOUT_S", "1"))
    except ValueError:
        return 1.0


# 1 s by default (not 0), as before this hold existed: tools' tests watch a rollout IN_PROGRESS.
holds.register(
    ROLLOUT,
    "an ECS deployment is IN_PROGRESS this long (its tasks start halfway, then its targets turn "
    "healthy and it is COMPLETED); replaced tasks' targets drain as long",
    default=_default_rollout_s(),
)

_services = {}  # id(service) -> (backend, service), services with deployments to advance
_armed = {}  # service name, or "cluster/name" -> {"times": n, "reason": str|None}


def reset():
    with sim.lock:
        _services.clear()
        _armed.clear()


def _now():
    return models.utcnow()


def _event(service, message):
    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": _now(), "message": message})


def _take_failure(service):
    """The armed failure for a new deployment of `service` (consumed), or None."""
    for key in (f"{service.cluster_name}/{service.name}", service.name):
        armed = _armed.get(key)
        if armed and armed["times"] != 0:
            armed["times"] -= 1
            if armed["times"] == 0:
                del _armed[key]
            return armed["reason"] or ""
    return None


def _new_deployment(service, task_definition, rollback=False):
    dep_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    now = _now()
    born = sim.now()
    rollout = holds.seconds(ROLLOUT)
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
        "_launch_at": born + rollout / 2,
        "_done_at": born + rollout,
        "_launched": False,
        "_failure": None,
        "_rollback": rollback,
        "_crash": None if rollback else _take_failure(service),
    }


def _public(dep):
    return {k: v for k, v in dep.items() if not k.startswith("_")}


def _start_deployment(backend, service):
    deps = service._stagehand_deployments
    for dep in deps:
        if dep["status"] == "PRIMARY":
            dep["status"] = "ACTIVE"
            dep["updatedAt"] = _now()
    deps.insert(0, _new_deployment(service, service.task_definition))
    service._sh_last_started = deps[0]["id"]
    _services[id(service)] = (backend, service)
    _advance_now(backend, service)
    sim.wake()


def _advance_now(backend, service):
    """Advance within the API call that started the work (the answer shows it), never failing it."""
    try:
        _advance(backend, service, sim.now())
    except Exception:  # noqa: BLE001 - the clock's next tick reports it
        traceback.print_exc(file=sys.stderr)


def _task_definition(backend, arn):
    try:
        return backend.describe_task_definition(arn)
    except Exception:  # noqa: BLE001 - deregistered and gone: nothing to start
        return None


def _launch(backend, service, dep, count, healthy_at):
    """Start `count` tasks of `dep`; returns the first failure's reason, or None."""
    td = _task_definition(backend, dep["taskDefinition"])
    if td is None:
        return f"unable to find task definition {dep['taskDefinition']}"
    started = []
    failure = None
    for _ in range(count):
        task = ecs_tasks.start(backend, service, dep["id"], td, healthy_at, crash=dep["_crash"])
        if task.status == "STOPPED":
            dep["failedTasks"] += 1
            failure = failure or task.stopped_reason
            if dep["failedTasks"] >= 2:  # enough to tell; the circuit breaker counts them
                break
        else:
            started.append(task.id)
    if started:
        _event(service, f"(service {service.name}) has started {len(started)} tasks: "
                        + " ".join(f"(task {t})" for t in started) + ".")
    return failure


def _stop(service, tasks, primary, drain_s):
    for task in tasks:
        ecs_tasks.stop(task, f"Scaling activity initiated by (deployment {primary['id']})",
                       "ServiceSchedulerInitiated", drain_s)
    if tasks:
        _event(service, f"(service {service.name}) has stopped {len(tasks)} running tasks: "
                        + " ".join(f"(task {t.id})" for t in tasks) + ".")


def _advance(backend, service, now):
    """Bring the service's deployments and tasks up to `now`; True while a rollout is under way."""
    deps = getattr(service, "_stagehand_deployments", None)
    if deps is None or service.status != "ACTIVE":
        return False
    drain = holds.seconds(ROLLOUT)
    primary = next((d for d in deps if d["status"] == "PRIMARY"), None)
    if primary is not None and primary["rolloutState"] == "IN_PROGRESS":
        if not primary["_launched"] and now >= primary["_launch_at"]:
            primary["_launched"] = True
            primary["_failure"] = _launch(backend, service, primary, service.desired_count, primary["_done_at"])
            primary["updatedAt"] = _now()
        if primary["_launched"] and now >= primary["_done_at"]:
            if primary["_failure"] is not None:
                _fail(backend, service, deps, primary)
            else:
                _complete(backend, service, deps, primary, now, drain)
    elif primary is not None and primary["rolloutState"] == "COMPLETED":
        _scale(backend, service, primary, now, drain)
    _counts(backend, service, deps)
    return any(d["rolloutState"] == "IN_PROGRESS" for d in deps)


def _outcome(service, dep, state):
    service.__dict__.setdefault("_sh_outcomes", {})[dep["id"]] = state


def _complete(backend, service, deps, primary, now, drain):
    _outcome(service, primary, "COMPLETED")
    primary["rolloutState"] = "COMPLETED"
    primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
    primary["updatedAt"] = _now()
    mine = [t for t in ecs_tasks.service_tasks(backend, service, "RUNNING") if t.started_by == primary["id"]]
    for task in mine:
        ecs_tasks.mark_healthy(task, now)
    others = [t for t in ecs_tasks.service_tasks(backend, service, "RUNNING") if t.started_by != primary["id"]]
    _stop(service, others, primary, drain)
    deps[:] = [primary]
    _event(service, f"(service {service.name}) has reached a steady state.")


def _fail(backend, service, deps, primary):
    _outcome(service, primary, "FAILED")
    primary["rolloutState"] = "FAILED"
    primary["rolloutStateReason"] = (
        f"ECS deployment circuit breaker: tasks failed to start. Deployment {primary['id']} failed."
    )
    primary["updatedAt"] = _now()
    _event(service, f"(service {service.name}) (deployment {primary['id']}) deployment failed: tasks failed to start.")
    cb = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
    previous = next((d for d in deps if d is not primary and d["rolloutState"] == "COMPLETED"), None)
    if cb.get("rollback") and previous is not None:
        primary["status"] = "ACTIVE"
        back = _new_deployment(service, previous["taskDefinition"], rollback=True)
        deps.remove(previous)
        deps.insert(0, back)
        service.task_definition = previous["taskDefinition"]
        _event(service, f"(service {service.name}) (deployment {primary['id']}) deployment failed: tasks "
                        f"failed to start. Rolling back to deployment {back['id']}.")


def _scale(backend, service, primary, now, drain):
    """A completed deployment follows desiredCount changes."""
    running = [t for t in ecs_tasks.service_tasks(backend, service, "RUNNING") if t.started_by == primary["id"]]
    wanted = service.desired_count
    primary["desiredCount"] = wanted
    if len(running) < wanted and primary.get("_scaled_to") != wanted:
        primary["_scaled_to"] = wanted  # one attempt per change; a task that cannot start stays stopped
        _launch(backend, service, primary, wanted - len(running), now)
    elif len(running) > wanted:
        _stop(service, running[wanted:], primary, drain)
        primary["_scaled_to"] = wanted


def _counts(backend, service, deps):
    running = ecs_tasks.service_tasks(backend, service, "RUNNING")
    for dep in deps:
        mine = sum(1 for t in running if t.started_by == dep["id"])
        dep["runningCount"] = mine
        dep["pendingCount"] = 0 if dep["_launched"] or dep["rolloutState"] != "IN_PROGRESS" else max(dep["desiredCount"] - mine, 0)
    service.running_count = len(running)
    service.pending_count = sum(d["pendingCount"] for d in deps)
    service.deployments = [_public(d) for d in deps]


@sim.every_tick
def _step(now):
    busy = False
    for key, (backend, service) in list(_services.items()):
        if service.status != "ACTIVE":
            _services.pop(key, None)
            continue
        try:
            busy = _advance(backend, service, now) or busy
        except Exception:  # noqa: BLE001 - e.g. its cluster or task definition is gone: stop watching
            _services.pop(key, None)
            traceback.print_exc(file=sys.stderr)
    return busy


# ------------------------------------------------------------------ what the pipeline's deploy uses
def deployment_state(service, deployment_id):
    """rolloutState of that deployment (kept after it leaves the service's list), or None when
    another deployment replaced it before it ended."""
    for dep in getattr(service, "_stagehand_deployments", []):
        if dep["id"] == deployment_id:
            return dep["rolloutState"]
    return getattr(service, "_sh_outcomes", {}).get(deployment_id)


def arm(service, times, reason):
    """Make the next `times` deployments of `service` fail (as POST /_stagehand/ecs/fail-rollout)."""
    _armed[f"{service.cluster_name}/{service.name}"] = {"times": times, "reason": reason}


def last_started(service):
    """The id of the deployment the last CreateService / UpdateService started (a rollback may
    already have replaced it as PRIMARY)."""
    return getattr(service, "_sh_last_started", None)


def failed_reasons(backend, service, deployment_id):
    return sorted({t.stopped_reason for t in ecs_tasks.service_tasks(backend, service, "STOPPED")
                   if t.started_by == deployment_id and t.stopped_reason})


# ------------------------------------------------------------------ control
def _fail_rollout(method, body, query):
    with sim.lock:
        if method == "GET":
            return "200 OK", {"armed": dict(_armed)}
        unknown = sorted(set(body) - {"service", "times", "reason", "cluster"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: cluster, reason, service, times")
        name = body.get("service")
        if not isinstance(name, str) or not name:
            raise ValueError('"service" (the ECS service name) is required')
        name = name.split("/")[-1]
        times = body.get("times", 1)
        if not isinstance(times, int) or times < -1:
            raise ValueError('"times" is a count (-1: every deployment, 0: disarm)')
        reason = body.get("reason")
        if reason is not None and not isinstance(reason, str):
            raise ValueError('"reason" is a string')
        cluster = body.get("cluster")
        key = f"{cluster.split('/')[-1]}/{name}" if cluster else name
        if times == 0:
            _armed.pop(key, None)
        else:
            _armed[key] = {"times": times, "reason": reason}
        return "200 OK", {"armed": dict(_armed)}


CONTROL_ROUTES = {"ecs/fail-rollout": _fail_rollout}


# ------------------------------------------------------------------ patches
def install():
    backend_cls = models.EC2ContainerServiceBackend

    # --- CreateService: the settings moto drops, and a deployment that rolls out.
    original_create_response = responses.EC2ContainerServiceResponse.create_service

    def create_service(self):
        result = original_create_response(self)
        backend = self.ecs_backend
        service = backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
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
        service.running_count = 0
        _start_deployment(backend, service)
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
        snapshot = (before.task_definition, before.network_configuration, before.load_balancers,
                    before.service_registries)
        running, pending = before.running_count, before.pending_count
        wanted_td = props.get("task_definition")
        if wanted_td:
            # The service keeps the full ARN of the revision, as on AWS.
            props["task_definition"] = self.describe_task_definition(wanted_td).arn
        service = original_update(self, props)
        # moto sets runningCount to the new desiredCount at once; tasks decide it here.
        service.running_count, service.pending_count = running, pending
        after = (service.task_definition, service.network_configuration, service.load_balancers,
                 service.service_registries)
        if hasattr(service, "_stagehand_deployments"):
            if force or after != snapshot:
                _start_deployment(self, service)
            else:
                _services[id(service)] = (self, service)
                _advance_now(self, service)
        return service

    backend_cls.update_service = update_service

    # --- DeleteService: its tasks stop.
    original_delete = backend_cls.delete_service

    def delete_service(self, cluster_name, service_name, force):
        service = original_delete(self, cluster_name, service_name, force)
        primary = next((d for d in getattr(service, "_stagehand_deployments", []) if d["status"] == "PRIMARY"),
                       {"id": "ecs-svc/0"})
        _stop(service, ecs_tasks.service_tasks(self, service, "RUNNING"), primary, 0)
        service.running_count = 0
        _services.pop(id(service), None)
        return service

    backend_cls.delete_service = delete_service

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
