"""The actions of a pipeline execution, run as CodePipeline runs them (fidelity/executions.py
advances the executions): Source yields the commit, Build runs a CodeBuild build
(fidelity/builds.py), Deploy does what the ECS standard deploy action does. Each runs with the
pipeline's role (fidelity/assumed_roles.py); see executions.py for what each checks.
"""

import json
import sys
import time
import traceback

from moto.codebuild.models import codebuild_backends
from moto.ecs.models import ecs_backends

from . import artifacts, assumed_roles, builds, ecs, holds

INJECTED = "failure injected through POST /_stagehand/pipeline/fail"

# The time a Source action takes. AWS's fetch of the repository (GitHub, or through a
# CodeStar connection) and upload of its zip take seconds; by default the emulator is not
# faster than that (a build hold of 0 must not let an execution reach Deploy before a
# DisableStageTransition sent right after CreatePipeline). The bench's REAL_TIMES scales it.
SOURCE = "source_s"
holds.register(SOURCE, "a pipeline's Source action fetches the repository this long (AWS: seconds)",
               default=1.0)


def run(runs, execution, action):
    """Advance one InProgress action: it stays InProgress, or succeeds, or fails with why."""
    provider = action.type.get("provider")
    try:
        if provider in ("GitHub", "CodeStarSourceConnection", "CodeCommit"):
            _source(runs, execution, action)
        elif provider == "CodeBuild":
            _build(runs, execution, action)
        elif provider == "ECS":
            _deploy(runs, execution, action)
        else:
            action.fail(f"the stagehand emulator does not run {provider} actions")
    except _ActionError as e:
        action.fail(str(e))
    except Exception as e:  # noqa: BLE001 - a resource gone under the action, or an emulator bug
        traceback.print_exc(file=sys.stderr)
        action.fail(f"{provider} action failed: {type(e).__name__}: {e}")


class _ActionError(Exception):
    pass


# ------------------------------------------------------------------ artifacts and the role
def _role(runs, execution):
    """The pipeline's role, as CodePipeline assumes it for this execution's actions."""
    if "role" not in execution.__dict__:
        arn = f"arn:{assumed_roles.partition_of(runs.region)}:codepipeline:{runs.region}:{runs.account}:{runs.name}"
        execution.role = assumed_roles.AssumedRole(runs.account, runs.region, execution.pipeline.get("roleArn"),
                                                   "codepipeline.amazonaws.com", execution.id.replace("-", "")[:20],
                                                   arn)
    role = execution.role
    refused = role.refusal()
    if refused:
        raise _ActionError(f"CodePipeline is not authorized to perform AssumeRole on role {role.role_arn} ({refused})")
    return role


def _allowed(role, action, resource, what):
    denied = role.check(action, resource)
    if denied:
        raise _ActionError(f"Insufficient permissions: the pipeline's role cannot {what}: {denied}")


def _bucket(execution):
    bucket = (execution.pipeline.get("artifactStore") or {}).get("location")
    if not bucket:
        raise _ActionError("the pipeline has no artifact store")
    return bucket


def _artifact_names(declarations):
    return [d["name"] if isinstance(d, dict) else d for d in declarations or []]


def _store(runs, execution, action, artifact, files):
    role = _role(runs, execution)
    where = artifacts.location(runs.name, artifact, _bucket(execution))
    denied = artifacts.denial(role, "s3:PutObject", where)
    if denied:
        raise _ActionError(f"Insufficient permissions: the pipeline's role cannot write artifact {artifact} to "
                           f"the artifact bucket: {denied}")
    try:
        artifacts.store(runs.account, where, files)
    except artifacts.ArtifactError as e:
        raise _ActionError(f"could not store artifact {artifact}: {e}") from None
    execution.artifacts[artifact] = where
    action.outputs.append({"name": artifact, "s3location": where})


def _read(runs, execution, action, artifact, path):
    where = execution.artifacts.get(artifact)
    if where is None:
        raise _ActionError(f"input artifact {artifact} was not produced by an earlier action")
    action.inputs.append({"name": artifact, "s3location": where})
    denied = artifacts.denial(_role(runs, execution), "s3:GetObject", where)
    if denied:
        raise _ActionError(f"Insufficient permissions: the pipeline's role cannot read artifact {artifact}: {denied}")
    try:
        return artifacts.read(runs.account, where, path)
    except artifacts.ArtifactError as e:
        raise _ActionError(f"Exception while reading {path} from artifact {artifact}: {e}") from None


def take_failure(runs, stage):
    left = runs.failures.get(stage, 0)
    if left == 0:
        return False
    runs.failures[stage] = left - 1 if left > 0 else left
    if runs.failures[stage] == 0:
        del runs.failures[stage]
    return True


# ------------------------------------------------------------------ the actions
def _source(runs, execution, action):
    if time.time() - action.started < holds.seconds(SOURCE):
        return  # still fetching
    config = action.declaration.get("configuration") or {}
    if action.type.get("provider") == "GitHub" and not config.get("OAuthToken"):
        raise _ActionError("Could not access the GitHub repository: the OAuthToken is empty")
    connection = config.get("ConnectionArn")
    if connection:
        service = connection.split(":")[2] if connection.count(":") >= 2 else "codestar-connections"
        _allowed(_role(runs, execution), f"{service}:UseConnection", connection,
                 f"use the connection {connection}")
    out = (action.declaration.get("outputArtifacts") or [{"name": "SourceArtifact"}])[0]["name"]
    _store(runs, execution, action, out, {"COMMIT": execution.commit + "\n"})
    action.external_id = execution.commit
    action.external_url = execution.source_revision()["revisionUrl"]
    action.succeed(execution.message)


def _build(runs, execution, action):
    config = action.declaration.get("configuration") or {}
    project = config.get("ProjectName", "")
    backend = codebuild_backends[runs.account][runs.region]
    out = (_artifact_names(action.declaration.get("outputArtifacts")) or ["BuildArtifact"])[0]
    if "build" not in action.state:
        role = _role(runs, execution)
        project_arn = f"arn:{role.partition}:codebuild:{runs.region}:{runs.account}:project/{project}"
        _allowed(role, "codebuild:StartBuild", project_arn, f"start a build of {project}")
        _allowed(role, "codebuild:BatchGetBuilds", project_arn, f"follow the builds of {project}")
        source = None
        for name in _artifact_names(action.declaration.get("inputArtifacts")):
            where = execution.artifacts.get(name)
            if where:
                action.inputs.append({"name": name, "s3location": where})
                source = source or where
        if project not in backend.codebuild_projects:
            raise _ActionError(f"Error calling startBuild: Project cannot be found: {project_arn}")
        fail = INJECTED if take_failure(runs, action.stage) else None
        target = artifacts.location(runs.name, out, _bucket(execution))
        build = builds.start(backend, project, execution.commit, initiator=f"codepipeline/{runs.name}",
                             fail_reason=fail, input_location=source, output_location=target)
        action.state["build"] = build.id
        action.external_id = build.id
        action.external_url = (f"https://console.aws.amazon.com/codesuite/codebuild/projects/{project}/build/"
                               f"{build.id}/log?region={runs.region}")
    build = builds.get(action.state["build"])
    if build is None or build.status == "IN_PROGRESS":
        return
    if build.status != "SUCCEEDED":
        phase = build.failed_phase or "COMPLETED"
        code, message = build.failure or ("", "")
        raise _ActionError(f"Build terminated with state: {build.status}. Phase: {phase}, Code: {code}, "
                           f"Message: {message}. The build's log: CloudWatch Logs group {build.log_group}, "
                           f"stream {build.log_stream}")
    execution.artifacts[out] = build.output_location
    action.outputs.append({"name": out, "s3location": build.output_location})
    action.succeed(f"Build {build.id} SUCCEEDED: pushed {build.image_uri}")


def _deploy(runs, execution, action):
    config = action.declaration.get("configuration") or {}
    backend = ecs_backends[runs.account][runs.region]
    cluster, name = config.get("ClusterName", ""), config.get("ServiceName", "")
    if "deployment" not in action.state:
        inputs = action.declaration.get("inputArtifacts") or []
        if not inputs:
            raise _ActionError("the ECS action needs an input artifact with the image definitions file")
        artifact = inputs[0]["name"] if isinstance(inputs[0], dict) else inputs[0]
        file_name = config.get("FileName") or "imagedefinitions.json"
        text = _read(runs, execution, action, artifact, file_name)
        try:
            definitions = json.loads(text)
            images = {d["name"]: d["imageUri"] for d in definitions}
        except (ValueError, TypeError, KeyError):
            raise _ActionError(f"Exception while trying to parse the image URI file from the artifact: {artifact}.") from None
        role = _role(runs, execution)
        p = role.partition
        service_arn = f"arn:{p}:ecs:{runs.region}:{runs.account}:service/{cluster}/{name}"
        _allowed(role, "ecs:DescribeServices", service_arn, f"describe ECS service {name}")
        try:
            service = backend._get_service(cluster, name)
        except Exception:  # noqa: BLE001 - moto's ServiceNotFound / ClusterNotFound
            raise _ActionError(f"The Amazon ECS service '{name}' does not exist in cluster '{cluster}'.") from None
        if service.status != "ACTIVE":
            raise _ActionError(f"The Amazon ECS service '{name}' is not active.")
        _allowed(role, "ecs:DescribeTaskDefinition", "*", "describe the service's task definition")
        current = backend.describe_task_definition(service.task_definition)
        _allowed(role, "ecs:RegisterTaskDefinition", "*", "register a task definition")
        next_revision = f"arn:{p}:ecs:{runs.region}:{runs.account}:task-definition/{current.family}:" \
                        f"{max(backend.task_definitions.get(current.family, {0: None})) + 1}"
        if current.tags:
            _allowed(role, "ecs:TagResource", next_revision, "tag the task definition it registers")
        for passed in (getattr(current, "execution_role_arn", None), getattr(current, "task_role_arn", None)):
            if passed:
                denied = role.check("iam:PassRole", passed, {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
                if denied:
                    raise _ActionError(f"Insufficient permissions: the pipeline's role cannot pass {passed} to "
                                       f"ECS: {denied}")
        _allowed(role, "ecs:UpdateService", service_arn, f"update ECS service {name}")
        containers = json.loads(json.dumps(current.container_definitions))
        known = {c["name"] for c in containers}
        missing = sorted(set(images) - known)
        if missing:
            raise _ActionError(f"Invalid action configuration: the image definitions file names container(s) "
                               f"{', '.join(missing)} that task definition {current.family}:{current.revision} lacks")
        for c in containers:
            if c["name"] in images:
                c["image"] = images[c["name"]]
        td = backend.register_task_definition(
            family=current.family,
            container_definitions=containers,
            volumes=current.volumes,
            network_mode=current.network_mode,
            tags=list(current.tags or []),
            placement_constraints=current.placement_constraints,
            requires_compatibilities=current.requires_compatibilities,
            cpu=current.cpu,
            memory=current.memory,
            task_role_arn=getattr(current, "task_role_arn", None),
            execution_role_arn=getattr(current, "execution_role_arn", None),
            proxy_configuration=current.proxy_configuration,
            inference_accelerators=current.inference_accelerators,
            runtime_platform=current.runtime_platform,
            ipc_mode=current.ipc_mode,
            pid_mode=current.pid_mode,
            ephemeral_storage=current.ephemeral_storage,
        )
        if take_failure(runs, action.stage):
            ecs.arm(service, 1, f"Error: {INJECTED}")
        backend.update_service({"cluster": cluster, "service": name, "task_definition": td.arn,
                                "force_new_deployment": True})
        action.state["deployment"] = ecs.last_started(service)
        action.state["task_definition"] = td.arn
        action.external_id = action.state["deployment"]
        action.external_url = (f"https://console.aws.amazon.com/ecs/v2/clusters/{cluster}/services/{name}/"
                               f"deployments?region={runs.region}")
    service = backend._get_service(cluster, name)
    state = ecs.deployment_state(service, action.state["deployment"])
    if state == "IN_PROGRESS":
        return
    if state == "COMPLETED":
        action.succeed(f"Deployment {action.state['deployment']} of {name} COMPLETED with "
                       f"{action.state['task_definition'].rsplit('/', 1)[-1]}")
        return
    if state is None:
        raise _ActionError(f"Deployment {action.state['deployment']} of ECS service {name} was replaced by "
                           "another deployment before it completed")
    reasons = ecs.failed_reasons(backend, service, action.state["deployment"])
    raise _ActionError(f"Deployment {action.state['deployment']} of ECS service {name} failed: the deployment "
                       f"circuit breaker stopped it (tasks failed to start"
                       + (f": {'; '.join(reasons)}" if reasons else "") + ")")
