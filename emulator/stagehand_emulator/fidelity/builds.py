"""CodeBuild builds, run for their effects: what stagehand's buildspec (templates/buildspec.yml)
does, without docker.

moto marks every build SUCCEEDED the first time BatchGetBuilds reads it and does nothing else.
Here a build (StartBuild, or a pipeline's Build action) is IN_PROGRESS for hold `build_s`, then:

  * its source version is the commit (a pipeline hands the build its source revision);
  * it pushes one image per commit to the ECR repository named by the project's REPO_URL,
    tagged `<commit8>` and `latest` (docker push's refusals, e.g. a missing repository or an
    immutable tag, fail the build in POST_BUILD with docker's message);
  * it writes imagedefinition.json, [{"name": $CONTAINER_NAME, "imageUri": "$REPO_URL:<commit8>"}],
    as the build's output artifact (into the pipeline's artifact bucket, for a pipeline's build);
  * it writes its log to the project's log group (logsConfig's groupName, else
    /aws/codebuild/<project>), stream <build uuid> (or <streamName>/<build uuid>); the group is
    made if missing, as CodeBuild makes it;
  * it does all this with the project's service role, as CodeBuild does: the trust policy must
    let codebuild.amazonaws.com assume it, and its policies (fidelity/iam_policy.py) must allow
    the log stream, the artifacts' S3 objects, the ECR login and the push;
  * it ends SUCCEEDED, or FAILED with the failing phase's context and a log line saying why
    (a failure set through POST /_stagehand/pipeline/fail, a refused permission, a missing
    REPO_URL or CONTAINER_NAME, a refused push).
"""

import hashlib
import json

from moto.core.utils import unix_time
from moto.moto_api._internal import mock_random

from . import artifacts, assumed_roles, cwlogs, ecr_images, holds, sim

BUILD = "build_s"
holds.register(BUILD, "a CodeBuild build is IN_PROGRESS this long before it pushes its image and ends")

PHASES = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
          "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]

_builds = {}  # build id -> Build

# What `docker push` calls in ECR (with ecr:GetAuthorizationToken for the login before it).
PUSH_ACTIONS = ("ecr:BatchCheckLayerAvailability", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                "ecr:CompleteLayerUpload", "ecr:PutImage")


def reset():
    with sim.lock:
        _builds.clear()


class Build:
    def __init__(self, backend, project, source_version, initiator, fail_reason=None, env_overrides=None,
                 input_location=None, output_location=None):
        self.backend = backend
        self.account, self.region = backend.account_id, backend.region_name
        self.project = project
        meta = project.project_metadata
        self.project_name = meta["name"]
        self.uuid = str(mock_random.uuid4())
        self.id = f"{self.project_name}:{self.uuid}"
        self.arn = f"arn:{assumed_roles.partition_of(self.region)}:codebuild:{self.region}:{self.account}:build/{self.id}"
        self.role = assumed_roles.AssumedRole(self.account, self.region, meta.get("serviceRole"),
                                              "codebuild.amazonaws.com", f"AWSCodeBuild-{self.uuid}", project.arn)
        self.input_location = input_location  # the pipeline's source artifact, if any
        self.output_location = output_location  # where the pipeline wants the output artifact
        self.logs_allowed = False
        self.commit = source_version or hashlib.sha1(f"{self.id}".encode()).hexdigest()
        self.initiator = initiator
        self.fail_reason = fail_reason
        self.started = unix_time()
        self.done_at = sim.now() + holds.seconds(BUILD)
        self.status = "IN_PROGRESS"
        self.phase = "PROVISIONING"
        self.failed_phase = None
        self.failure = None  # (code, message) of the failed phase's context
        self.ended = None
        self.image_uri = None
        self.artifact = None  # imagedefinition.json's text once built
        env = {v["name"]: v.get("value", "") for v in (meta.get("environment") or {}).get("environmentVariables", [])}
        env.update(env_overrides or {})
        self.env = env
        logs = ((meta.get("logsConfig") or {}).get("cloudWatchLogs") or {})
        self.logs_enabled = logs.get("status", "ENABLED") == "ENABLED"
        self.log_group = logs.get("groupName") or f"/aws/codebuild/{self.project_name}"
        prefix = logs.get("streamName")
        self.log_stream = f"{prefix}/{self.uuid}" if prefix else self.uuid
        number = backend.__dict__.setdefault("_sh_build_numbers", {})
        number[self.project_name] = number.get(self.project_name, 0) + 1
        self.number = number[self.project_name]

    # -------------------------------------------------------------- running
    def advance(self, now):
        if self.status != "IN_PROGRESS" or now < self.done_at:
            return self.status == "IN_PROGRESS"
        lines = []
        try:
            self._run(lines)
            self.status = "SUCCEEDED"
        except _Failed as f:
            self.status = "FAILED"
            self.failed_phase = f.phase
            self.failure = (f.code, f.message)
            if f.code == "COMMAND_EXECUTION_ERROR":
                lines.append(f"[Container] Command did not exit successfully {f.command} exit status 1")
            lines.append(f"[Container] Phase complete: {f.phase} State: FAILED")
            lines.append(f"[Container] Phase context status code: {f.code} Message: {f.message}")
        self.phase = "COMPLETED"
        self.ended = unix_time()
        if self.logs_enabled and self.logs_allowed:
            cwlogs.write(self.account, self.region, self.log_group, self.log_stream, lines)
        return False

    def _run(self, lines):
        """The build's phases, for their effects; raises _Failed at the failing phase."""
        role = self.role
        refused = role.refusal()
        if refused:
            raise _Failed("PROVISIONING", None, "ACCESS_DENIED",
                          f"CodeBuild is not authorized to perform: sts:AssumeRole on {role.role_arn} ({refused})")
        self.logs_allowed = False
        if self.logs_enabled:
            group_arn = f"arn:{role.partition}:logs:{self.region}:{self.account}:log-group:{self.log_group}"
            denied = None
            if not cwlogs.group_exists(self.account, self.region, self.log_group):
                denied = role.check("logs:CreateLogGroup", group_arn)
            for action in ("logs:CreateLogStream", "logs:PutLogEvents"):
                denied = denied or role.check(action, f"{group_arn}:log-stream:{self.log_stream}")
            if denied:
                raise _Failed("PROVISIONING", None, "ACCESS_DENIED",
                              f"Service role {role.role_arn} does not allow AWS CodeBuild to create Amazon "
                              f"CloudWatch Logs log streams for build {self.arn}. Error message: {denied}")
            cwlogs.create_group(self.account, self.region, self.log_group)
            self.logs_allowed = True
        lines += ["[Container] Running on CodeBuild On-demand", "[Container] Entering phase DOWNLOAD_SOURCE"]
        if self.input_location:
            denied = artifacts.denial(role, "s3:GetObject", self.input_location)
            if denied:
                raise _Failed("DOWNLOAD_SOURCE", None, "CLIENT_ERROR",
                              f"AccessDenied: Access Denied for primary source and source version "
                              f"arn:aws:s3:::{self.input_location['bucket']}/{self.input_location['key']}: {denied}")
        lines += [f"[Container] CODEBUILD_RESOLVED_SOURCE_VERSION={self.commit}",
                  "[Container] Entering phase INSTALL", "[Container] Running command yarn install --immutable",
                  "[Container] Entering phase PRE_BUILD", "[Container] Running command yarn tsc"]
        tag = self.commit[:8]
        repo_url = self.env.get("REPO_URL", "")
        container = self.env.get("CONTAINER_NAME", "")
        login = 'aws ecr get-login-password --region "$AWS_DEFAULT_REGION" | docker login --username AWS --password-stdin "$REGISTRY"'
        lines.append(f"[Container] Running command {login}")
        denied = role.check("ecr:GetAuthorizationToken", "*")
        if denied:
            lines.append(f"An error occurred (AccessDeniedException) when calling the GetAuthorizationToken "
                         f"operation: {denied}")
            raise _Failed("PRE_BUILD", login)
        lines.append("Login Succeeded")
        lines.append("[Container] Entering phase BUILD")
        if self.fail_reason is not None:
            lines += ["[Container] Running command yarn build:backend", f"error: {self.fail_reason}"]
            raise _Failed("BUILD", "yarn build:backend")
        if not repo_url:
            lines.append("error: REPO_URL is not set: the buildspec tags the image $REPO_URL:$IMAGE_TAG "
                         "(the project's environment must name the ECR repository)")
            raise _Failed("BUILD", 'docker image build . --file packages/backend/Dockerfile --tag "$REPO_URL:$IMAGE_TAG"')
        lines.append(f"[Container] Running command docker image build . --file packages/backend/Dockerfile "
                     f"--tag {repo_url}:{tag}")
        lines.append(f"Successfully tagged {repo_url}:{tag}")
        lines.append("[Container] Entering phase POST_BUILD")
        ref = ecr_images.parse(f"{repo_url}:{tag}")
        if ref is None:
            lines.append(f"error: {repo_url} is not an ECR repository URI")
            raise _Failed("POST_BUILD", f'docker push "{repo_url}:{tag}"')
        for pushed in (tag, "latest"):
            lines.append(f"[Container] Running command docker push {repo_url}:{pushed}")
            denied = None
            for action in PUSH_ACTIONS:
                denied = denied or role.check(action, ecr_images.repository_arn(ref, role.partition))
            if denied:
                lines.append(f"denied: {denied}")
                raise _Failed("POST_BUILD", f'docker push "{repo_url}:{pushed}"')
            try:
                digest = ecr_images.push(ref["registry"], ref["region"], ref["repo"], [pushed], self.commit)
            except ecr_images.PushRefused as e:
                lines.append(str(e))
                raise _Failed("POST_BUILD", f'docker push "{repo_url}:{pushed}"') from None
            lines.append(f"{pushed}: digest: {digest} size: 1573")
        if not container:
            lines.append("error: CONTAINER_NAME is not set: imagedefinition.json names the container to update")
            raise _Failed("POST_BUILD", "printf ... > imagedefinition.json")
        self.image_uri = f"{repo_url}:{tag}"
        self.artifact = json.dumps([{"name": container, "imageUri": self.image_uri}])
        lines += ["[Container] Running command cat imagedefinition.json", self.artifact,
                  "[Container] Phase complete: POST_BUILD State: SUCCEEDED"]
        if self.output_location:
            lines.append("[Container] Entering phase UPLOAD_ARTIFACTS")
            denied = artifacts.denial(role, "s3:PutObject", self.output_location)
            if denied:
                raise _Failed("UPLOAD_ARTIFACTS", None, "CLIENT_ERROR", f"AccessDenied: {denied}")
            try:
                artifacts.store(self.account, self.output_location, {"imagedefinition.json": self.artifact})
            except artifacts.ArtifactError as e:
                raise _Failed("UPLOAD_ARTIFACTS", None, "CLIENT_ERROR", str(e)) from None

    def stop(self):
        if self.status == "IN_PROGRESS":
            self.status = "STOPPED"
            self.phase = "COMPLETED"
            self.ended = unix_time()

    # -------------------------------------------------------------- the API's view
    def describe(self):
        meta = self.project.project_metadata
        phases = []
        reached = PHASES.index(self.failed_phase) if self.failed_phase else (
            len(PHASES) - 1 if self.phase == "COMPLETED" else PHASES.index("PROVISIONING"))
        for i, name in enumerate(PHASES[: reached + 1]):
            phase = {"phaseType": name, "startTime": self.started}
            done = i < reached or self.phase == "COMPLETED"
            if done and name != "COMPLETED":
                failed = name == self.failed_phase
                phase.update({"phaseStatus": "FAILED" if failed else "SUCCEEDED",
                              "endTime": self.ended or self.started, "durationInSeconds": 0})
                if failed:
                    phase["contexts"] = [{"statusCode": self.failure[0], "message": self.failure[1]}]
            phases.append(phase)
        if self.failed_phase and self.phase == "COMPLETED":
            phases.append({"phaseType": "COMPLETED", "startTime": self.ended})
        partition = self.role.partition
        out = {
            "id": self.id,
            "arn": self.arn,
            "buildNumber": self.number,
            "startTime": self.started,
            "currentPhase": self.phase,
            "buildStatus": self.status,
            "sourceVersion": self.commit,
            "resolvedSourceVersion": self.commit,
            "projectName": self.project_name,
            "phases": phases,
            "source": meta.get("source"),
            "secondarySources": [],
            "secondarySourceVersions": [],
            "artifacts": {"location": ""},
            "environment": meta.get("environment"),
            "serviceRole": meta.get("serviceRole"),
            "logs": {
                "groupName": self.log_group,
                "streamName": self.log_stream,
                "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={self.region}"
                             f"#logEvent:group={self.log_group};stream={self.log_stream}"),
                "cloudWatchLogsArn": (f"arn:{partition}:logs:{self.region}:{self.account}:log-group:"
                                      f"{self.log_group}:log-stream:{self.log_stream}"),
                "cloudWatchLogs": {"status": "ENABLED" if self.logs_enabled else "DISABLED",
                                   "groupName": self.log_group},
                "s3Logs": {"status": "DISABLED", "encryptionDisabled": False},
            },
            "timeoutInMinutes": meta.get("timeoutInMinutes") or 60,
            "queuedTimeoutInMinutes": meta.get("queuedTimeoutInMinutes") or 480,
            "buildComplete": self.status != "IN_PROGRESS",
            "initiator": self.initiator,
            "encryptionKey": meta.get("encryptionKey"),
        }
        if self.ended is not None:
            out["endTime"] = self.ended
        if self.image_uri:
            out["exportedEnvironmentVariables"] = [{"name": "IMAGE_URI", "value": self.image_uri}]
        return out


class _Failed(Exception):
    """A phase that fails: a command exiting 1 (COMMAND_EXECUTION_ERROR), or CodeBuild itself."""

    def __init__(self, phase, command, code="COMMAND_EXECUTION_ERROR", message=None):
        super().__init__(phase)
        self.phase = phase
        self.command = command
        self.code = code
        self.message = message or f"Error while executing command: {command}. Reason: exit status 1"


def start(backend, project_name, source_version=None, initiator="stagehand", fail_reason=None,
          env_overrides=None, input_location=None, output_location=None):
    project = backend.codebuild_projects[project_name]
    build = Build(backend, project, source_version, initiator, fail_reason, env_overrides, input_location,
                  output_location)
    _builds[build.id] = build
    backend.build_history.setdefault(project_name, []).append(build.id)
    build.advance(sim.now())
    sim.wake()
    return build


def get(build_id):
    return _builds.get(build_id)


@sim.every_tick
def _step(now):
    busy = False
    for build in list(_builds.values()):
        if build.status == "IN_PROGRESS":
            busy = build.advance(now) or busy
    return busy


def install():
    from moto.codebuild import models

    backend_cls = models.CodeBuildBackend

    def start_build(self, project_name, source_version=None, artifact_override=None):
        return start(self, project_name, source_version, initiator="stagehand").describe()

    backend_cls.start_build = start_build

    original_batch_get = backend_cls.batch_get_builds

    def batch_get_builds(self, ids):
        ours = [_builds[i].describe() for i in ids if i in _builds]
        theirs = original_batch_get(self, [i for i in ids if i not in _builds])
        return ours + theirs

    backend_cls.batch_get_builds = batch_get_builds

    original_stop = backend_cls.stop_build

    def stop_build(self, build_id):
        build = _builds.get(build_id)
        if build is None:
            return original_stop(self, build_id)
        build.stop()
        return build.describe()

    backend_cls.stop_build = stop_build
