"""Simulated ECS tasks: what Fargate and the ECS agent do when a service's task starts and stops.

A task that starts (fidelity/ecs.py decides when):
  * gets a requester-managed network interface in one of the service's subnets, with the
    service's security groups (awsvpc); once the task stops, the interface lingers for hold
    `eni_linger_s` (as AWS's do, holding the subnet and security groups) and is then released;
  * passes the agent's checks, in the order the agent makes its calls, with the task execution
    role (fidelity/iam_policy.py evaluates its inline, attached and boundary policies): ECR
    authorization, each secret (secretsmanager:GetSecretValue) and parameter
    (ssm:GetParameters) of the containers, the image pull from ECR (the image must exist), the
    awslogs stream (logs:CreateLogStream, logs:PutLogEvents, the group must exist). The first
    refusal stops the task with the reason ECS gives (ResourceInitializationError,
    CannotPullContainerError); a policy condition the evaluator cannot evaluate stops it too,
    with a reason that says so (fidelity/assumed_roles.py reports it);
  * registers its IP in the service's target groups: `initial` until the deployment's health
    checks pass (the caller says when), then `healthy`; a stopped task's target is `draining`
    for as long as the caller says, then gone;
  * writes a few Backstage-like startup lines, with its task id, to its awslogs stream
    (<prefix>/<container>/<task id>).

Tasks are moto Task objects (so ListTasks / DescribeTasks / StopTask serve them), with a status
the simulation sets (moto's own advances one state per describe).
"""

import copy

from moto.core.utils import utcnow
from moto.ec2.models import ec2_backends
from moto.ecs import models
from moto.elbv2 import models as elbv2
from moto.moto_api._internal import mock_random
from moto.secretsmanager.models import secretsmanager_backends
from moto.ssm.models import ssm_backends

from . import assumed_roles, cwlogs, ecr_images, holds, sim

ENI_LINGER = "eni_linger_s"
holds.register(
    ENI_LINGER,
    "a requester-managed network interface (a Fargate task's, an Aurora instance's, an ALB's, a "
    "NAT gateway's) outlives its owner by this long, holding its subnet and security groups",
)

# An AWS-owned requester, as describe-network-interfaces shows for interfaces AWS manages.
REQUESTER = "amazon-ecs"

_lingering = []  # [release_at, ec2 backend, eni id, stopped_at]
_draining = []  # [until, target group, target id]


class SimTask(models.Task):
    """A task whose status is what the simulation sets."""

    @property
    def status(self):
        return self.__dict__.get("_sh_status", "PROVISIONING")

    @status.setter
    def status(self, value):
        self.__dict__["_sh_status"] = value


def reset():
    with sim.lock:
        _lingering.clear()
        _draining.clear()


def service_tasks(backend, service, status=None):
    group = f"service:{service.name}"
    return [
        t for t in backend.tasks.get(service.cluster_name, {}).values()
        if isinstance(t, SimTask) and t.group == group and (status is None or t.status == status)
    ]


# ------------------------------------------------------------------ starting
def start(backend, service, deployment_id, task_def, healthy_at, crash=None):
    """Start one task of `service` for `deployment_id`; returns it (RUNNING, or STOPPED with
    the reason it could not start). `crash`: the essential container exits at once with this
    container reason ("" for none), as a crashing app's would."""
    cluster = backend.clusters[service.cluster_name]
    shim = copy.copy(task_def)
    shim.network_mode = "none"  # the interface is made here, in the service's subnets
    task = SimTask(
        cluster, shim, None, None, backend,
        group=f"service:{service.name}",
        launch_type=service.launch_type or "FARGATE",
        started_by=deployment_id,
        tags=[],
        platform_version=service.platform_version,
    )
    task.task_definition_arn = task_def.arn
    task.status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.created_at = utcnow()
    task.cpu = task_def.cpu
    task.memory = task_def.memory
    task.version = 1
    task.health_status = "UNKNOWN"
    task.enable_execute_command = bool(getattr(service, "enable_execute_command", False))
    task.containers = [_container(task, task_def, d) for d in task_def.container_definitions]
    task._sh_targets = []
    _attach_interface(backend, service, task)
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task

    problem = agent_checks(backend, task_def, task)
    if problem is not None:
        reason, container_reason = problem
        stop(task, reason, "TaskFailedToStart", drain_s=0, container_reason=container_reason)
        return task
    task.status = "RUNNING"
    task.pull_started_at = task.pull_stopped_at = task.started_at = utcnow()
    task.connectivity = "CONNECTED"
    task.connectivity_at = task.started_at
    for c in task.containers:
        c.last_status = "RUNNING"
    _write_startup_logs(backend, task_def, task)
    if crash is not None:
        _log(backend, task_def, task, ["Error: the backend exited during startup (exit code 1)"])
        stop(task, "Essential container in task exited", "EssentialContainerExited", drain_s=0,
             container_reason=crash or None, exit_code=1)
        return task
    _register_targets(service, task, healthy_at)
    return task


def _container(task, task_def, definition):
    c = models.Container(task_def)
    c.container_arn = f"arn:aws:ecs:{task.region_name}:{task._account_id}:container/{task.cluster_name}/{task.id}/{mock_random.uuid4()}"
    c.task_arn = task.task_arn
    c.name = definition.get("name")
    c.image = definition.get("image")
    c.cpu = str(definition.get("cpu", 0))
    c.memory = str(definition["memory"]) if definition.get("memory") is not None else None
    c.last_status = "PENDING"
    c.health_status = "UNKNOWN"
    c.exit_code = None
    c.exitCode = None
    ref = ecr_images.parse(c.image)
    image = ecr_images.find(ref) if ref else None
    if image is not None:
        c.image_digest = image.image_digest
    return c


def _attach_interface(backend, service, task):
    conf = (service.network_configuration or {}).get("awsvpcConfiguration") or {}
    subnets = conf.get("subnets") or []
    if not subnets:
        return
    ec2 = ec2_backends[task._account_id][task.region_name]
    # Spread tasks over the subnets, as ECS spreads them over the zones.
    count = len(backend.tasks.get(task.cluster_name, {}))
    subnet_id = subnets[count % len(subnets)]
    try:
        subnet = ec2.get_subnet(subnet_id)
    except Exception:  # noqa: BLE001 - a subnet gone since: no interface, as ECS could make none
        return
    attachment = str(mock_random.uuid4())
    eni = ec2.create_network_interface(
        subnet=subnet,
        private_ip_address=None,
        group_ids=conf.get("securityGroups") or [],
        description=f"arn:aws:ecs:{task.region_name}:{task._account_id}:attachment/{attachment}",
    )
    eni.requester_managed = True
    eni.requester_id = REQUESTER
    eni.status = "in-use"
    eni.interface_type = "interface"
    ip = eni.private_ip_address
    dns = f"ip-{ip.replace('.', '-')}.{task.region_name}.compute.internal"
    task.availability_zone = subnet.availability_zone
    task._sh_eni = eni.id
    task._sh_ip = ip
    task.attachments = [{
        "id": attachment,
        "type": "ElasticNetworkInterface",
        "status": "ATTACHED",
        "details": [
            {"name": "subnetId", "value": subnet_id},
            {"name": "networkInterfaceId", "value": eni.id},
            {"name": "macAddress", "value": eni.mac_address},
            {"name": "privateDnsName", "value": dns},
            {"name": "privateIPv4Address", "value": ip},
        ],
    }]
    for c in task.containers:
        c.network_interfaces = [{"attachmentId": attachment, "privateIpv4Address": ip}]


# ------------------------------------------------------------------ the agent's checks
_RETRIEVAL = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: "
_LOGGER = "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log stream: "


def _request_id():
    return str(mock_random.uuid4())


def agent_checks(backend, task_def, task):
    """None when the task can start; else (stoppedReason, container reason or None)."""
    account, region = task._account_id, task.region_name
    partition = assumed_roles.partition_of(region)
    images = [(d.get("name"), d.get("image")) for d in task_def.container_definitions]
    ecr_refs = [(name, image, ecr_images.parse(image)) for name, image in images]
    ecr_refs = [(n, i, r) for n, i, r in ecr_refs if r is not None]
    secrets = [s for d in task_def.container_definitions for s in (d.get("secrets") or [])]
    awslogs = [d for d in task_def.container_definitions
               if (d.get("logConfiguration") or {}).get("logDriver") == "awslogs"]
    needs_role = bool(ecr_refs or secrets or awslogs)

    role_arn = getattr(task_def, "execution_role_arn", None)
    checker = None
    if needs_role:
        if not role_arn:
            return (_RETRIEVAL + "the task definition has no task execution role (executionRoleArn), "
                    "which pulling from ECR, reading secrets and sending awslogs need", None)
        checker = assumed_roles.AssumedRole(account, region, role_arn, "ecs-tasks.amazonaws.com", task.id,
                                            task.task_arn)
        refused = checker.refusal()
        if refused:
            return (f"ECS was unable to assume the role '{role_arn}' that was provided for this task. "
                    "Please verify that the role being passed has the proper trust relationship and "
                    f"permissions and that your IAM user has permissions to pass this role. ({refused})", None)

    # 1. Registry auth and secrets: one resource-retrieval step before anything is pulled.
    if ecr_refs:
        denied = checker.check("ecr:GetAuthorizationToken", "*")
        if denied:
            return (_RETRIEVAL + "unable to retrieve ecr registry auth: service call has been retried 3 "
                    f"time(s): AccessDeniedException: {denied} status code: 400, request id: {_request_id()}", None)
    for secret in secrets:
        problem = _check_secret(checker, account, region, partition, secret.get("valueFrom", ""))
        if problem:
            return problem, None

    # 2. The image pull.
    for _name, image, ref in ecr_refs:
        action_denied = None
        for action in ("ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"):
            action_denied = action_denied or checker.check(action, ecr_images.repository_arn(ref, partition))
        if action_denied:
            host = image.split("/", 1)[0]
            reason = (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
                      f"resolve ref {image}: pulling from host {host} failed with status code "
                      f"[manifests {ref.get('tag') or ref.get('digest')}]: 403 Forbidden")
            return reason, reason
        if ecr_images.find(ref) is None:
            reason = (f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to "
                      f"resolve ref {image}: {image}: not found")
            return reason, reason

    # 3. The log driver, when the container is created.
    for d in awslogs:
        options = (d.get("logConfiguration") or {}).get("options") or {}
        group = options.get("awslogs-group", "")
        logs_region = options.get("awslogs-region", region)
        stream = _stream_name(options, d.get("name"), task.id)
        if not cwlogs.group_exists(account, logs_region, group):
            if str(options.get("awslogs-create-group", "")).lower() == "true":
                denied = checker.check("logs:CreateLogGroup", f"arn:{partition}:logs:{logs_region}:{account}:log-group:{group}:*")
                if denied:
                    return (f"{_LOGGER}AccessDeniedException: {denied} status code: 400, request id: "
                            f"{_request_id()} : exit status 1", None)
                cwlogs.create_group(account, logs_region, group)
            else:
                return (f"{_LOGGER}ResourceNotFoundException: The specified log group does not exist. : "
                        "exit status 1", None)
        resource = f"arn:{partition}:logs:{logs_region}:{account}:log-group:{group}:log-stream:{stream}"
        for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
            denied = checker.check(action, resource)
            if denied:
                return (f"{_LOGGER}AccessDeniedException: {denied} status code: 400, request id: "
                        f"{_request_id()} : exit status 1", None)
    return None


def _check_secret(checker, account, region, partition, value_from):
    if ":secretsmanager:" in value_from:
        parts = value_from.split(":")
        arn = ":".join(parts[:7])
        secret_region, secret_account = parts[3], parts[4]
        backend = secretsmanager_backends[secret_account][secret_region]
        secret = backend.secrets.get(arn)
        resource = secret.arn if secret is not None else arn
        tags = {t["Key"]: t["Value"] for t in (getattr(secret, "tags", None) or [])} if secret else {}
        context = {"secretsmanager:SecretId": resource}
        for k, v in tags.items():
            context[f"aws:ResourceTag/{k}"] = v
            context[f"secretsmanager:ResourceTag/{k}"] = v
        denied = checker.check("secretsmanager:GetSecretValue", resource, context,
                               complete=("aws:ResourceTag/", "secretsmanager:ResourceTag/"))
        head = (_RETRIEVAL + "unable to retrieve secret from asm: service call has been retried 1 time(s): "
                f"failed to fetch secret {value_from} from secrets manager: ")
        if denied:
            return f"{head}AccessDeniedException: {denied} status code: 400, request id: {_request_id()}"
        if secret is None:
            return (f"{head}ResourceNotFoundException: Secrets Manager can't find the specified secret. "
                    f"status code: 400, request id: {_request_id()}")
        if secret.is_deleted():
            return (f"{head}InvalidRequestException: You can't perform this operation on the secret because "
                    f"it was marked for deletion. status code: 400, request id: {_request_id()}")
        return None
    # An SSM parameter: its ARN, or its name in the task's region.
    if value_from.startswith("arn:"):
        parts = value_from.split(":", 5)
        param_region, param_account = parts[3], parts[4]
        name = parts[5][len("parameter"):]
        arn = value_from
    else:
        param_region, param_account, name = region, account, value_from
        arn = f"arn:{partition}:ssm:{region}:{account}:parameter{name if name.startswith('/') else '/' + name}"
    head = _RETRIEVAL + "unable to retrieve secrets from ssm: service call has been retried 1 time(s): "
    denied = checker.check("ssm:GetParameters", arn)
    if denied:
        return f"{head}AccessDeniedException: {denied} status code: 400, request id: {_request_id()}"
    try:
        found = ssm_backends[param_account][param_region].get_parameter(name)
    except Exception:  # noqa: BLE001 - moto raises for a bad version or label
        found = None
    if found is None:
        return f"{head}invalid parameters: {name}"
    return None


# ------------------------------------------------------------------ logs
def _stream_name(options, container, task_id):
    prefix = options.get("awslogs-stream-prefix")
    return f"{prefix}/{container}/{task_id}" if prefix else task_id


def _log(backend, task_def, task, lines):
    for d in task_def.container_definitions:
        conf = d.get("logConfiguration") or {}
        if conf.get("logDriver") != "awslogs":
            continue
        options = conf.get("options") or {}
        cwlogs.write(task._account_id, options.get("awslogs-region", task.region_name),
                     options.get("awslogs-group", ""), _stream_name(options, d.get("name"), task.id), lines)


def _write_startup_logs(backend, task_def, task):
    image = task.containers[0].image if task.containers else ""
    port = next((p.get("containerPort") for d in task_def.container_definitions
                 for p in (d.get("portMappings") or []) if p.get("containerPort")), 7007)
    _log(backend, task_def, task, [
        f"Backstage backend starting in task {task.id} (image {image})",
        '{"level":"info","message":"Loading config from MergedConfigSource{FileConfigSource{path=\\"/app/app-config.yaml\\"}, '
        'FileConfigSource{path=\\"/app/app-config.production.yaml\\"}, EnvConfigSource{count=8}}","service":"backstage","type":"config"}',
        '{"level":"info","message":"Performing database migration","plugin":"catalog","service":"backstage"}',
        '{"level":"info","message":"Plugin initialization complete","service":"backstage","type":"initialization"}',
        f'{{"level":"info","message":"Listening on :{port}","service":"rootHttpRouter"}}',
    ])


# ------------------------------------------------------------------ targets
def _register_targets(service, task, healthy_at):
    ip = getattr(task, "_sh_ip", None)
    if ip is None:
        return
    lbs = elbv2.elbv2_backends[task._account_id][task.region_name]
    for lb in service.load_balancers or []:
        tg = lbs.target_groups.get(lb.get("targetGroupArn"))
        if tg is None:
            continue
        tg.targets[ip] = {
            "Id": ip,
            "Port": lb.get("containerPort") or tg.port,
            "AvailabilityZone": getattr(task, "availability_zone", None),
            "_sh_healthy_at": healthy_at,
            "_sh_drain_until": None,
        }
        task._sh_targets.append(tg)


def mark_healthy(task, at):
    """The deployment's health checks pass at `at` (monotonic seconds)."""
    ip = getattr(task, "_sh_ip", None)
    for tg in getattr(task, "_sh_targets", []):
        target = tg.targets.get(ip)
        if target is not None and "_sh_healthy_at" in target:
            target["_sh_healthy_at"] = min(target["_sh_healthy_at"], at)


def _health_state(target, now):
    if target.get("_sh_drain_until") is not None:
        return "draining"
    return "initial" if now < target["_sh_healthy_at"] else "healthy"


def healthy(task, now=None):
    ip = getattr(task, "_sh_ip", None)
    now = sim.now() if now is None else now
    return all(_health_state(tg.targets[ip], now) == "healthy"
               for tg in getattr(task, "_sh_targets", []) if ip in tg.targets)


# ------------------------------------------------------------------ stopping
def stop(task, reason, stop_code, drain_s, container_reason=None, exit_code=None):
    """Stop `task` as ECS stops it: its targets drain for `drain_s`, its interface lingers."""
    if task.status == "STOPPED":
        return
    now = utcnow()
    task.status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = stop_code
    task.stopping_at = task.execution_stopped_at = task.stopped_at = now
    for c in task.containers:
        c.last_status = "STOPPED"
        if container_reason:
            c.reason = container_reason
        if exit_code is not None:
            c.exit_code = c.exitCode = exit_code
    at = sim.now()
    ip = getattr(task, "_sh_ip", None)
    for tg in getattr(task, "_sh_targets", []):
        target = tg.targets.get(ip)
        if target is None:
            continue
        if drain_s > 0:
            target["_sh_drain_until"] = at + drain_s
            _draining.append([at + drain_s, tg, ip])
        else:
            tg.targets.pop(ip, None)
    for attachment in task.attachments:
        attachment["status"] = "DELETED"
    eni = getattr(task, "_sh_eni", None)
    if eni is not None:
        ec2 = ec2_backends[task._account_id][task.region_name]
        linger = holds.seconds(ENI_LINGER)
        if linger > 0:
            _lingering.append([at + linger, ec2, eni, at])
            sim.wake()
        else:
            ec2.enis.pop(eni, None)


@sim.every_tick
def _step(now):
    # A hold lowered since the task stopped shortens the linger (interfaces.py).
    linger = holds.seconds(ENI_LINGER)
    for item in list(_lingering):
        if now >= min(item[0], item[3] + linger):
            item[1].enis.pop(item[2], None)
            _lingering.remove(item)
    for item in list(_draining):
        if now >= item[0]:
            target = item[1].targets.get(item[2])
            if target is not None and target.get("_sh_drain_until") is not None:
                item[1].targets.pop(item[2], None)
            _draining.remove(item)
    return bool(_lingering or _draining)


# ------------------------------------------------------------------ patches
def install():
    original_health = elbv2.FakeTargetGroup.health_for

    def health_for(self, target, ec2_backend):
        t = self.targets.get(target["Id"])
        if t is None or "_sh_healthy_at" not in t:
            return original_health(self, target, ec2_backend)
        state = _health_state(t, sim.now())
        port = t["Port"]
        if state == "draining":
            return elbv2.FakeHealthStatus(t["Id"], port, self.health_check_port, "draining",
                                          "Target.DeregistrationInProgress",
                                          "Target deregistration is in progress")
        if state == "initial":
            return elbv2.FakeHealthStatus(t["Id"], port, self.health_check_port, "initial",
                                          "Elb.RegistrationInProgress",
                                          "Target registration is in progress")
        return elbv2.FakeHealthStatus(t["Id"], port, self.health_check_port, "healthy")

    elbv2.FakeTargetGroup.health_for = health_for
