"""CodePipeline executions, run as CodePipeline runs them (moto stores pipelines and runs none).

An execution starts when a pipeline is created (trigger CreatePipeline), on
StartPipelineExecution, and on a push: POST /_stagehand/pipeline/push {"pipeline": NAME,
"commit": "<40 hex>", "message": optional} stands for a push to the pipeline's repository and
branch (trigger PollForSourceChanges for GitHub version 1, Webhook for a CodeStar connection).
The source's head commit is synthetic until a push names one.

Stages run in order, one execution per stage at a time; an execution waiting to enter a stage
is superseded by a newer one that reaches the same stage (executionMode SUPERSEDED, as a V1
pipeline's). A disabled transition (DisableStageTransition: Inbound into a stage, Outbound out of
one) holds the execution that reaches it there, InProgress; a newer one arriving supersedes it,
so when the transition is enabled again the newest waiting execution goes on.
The actions stagehand's pipelines use run for real:
  * Source (GitHub v1 / CodeStarSourceConnection): yields the commit; the source artifact (a
    zip) goes to the artifact bucket. It takes the `source_s` hold (1 s unless set), as AWS's
    fetch of the repository takes seconds, so a call made right after CreatePipeline
    (DisableStageTransition) lands before the first execution leaves Source.
  * Build (CodeBuild): a build of the project (fidelity/builds.py, hold `build_s`) with the
    commit as its source version; its imagedefinition.json goes to the artifact bucket as the
    output artifact (a zip, as CodePipeline stores artifacts).
  * Deploy (ECS): reads imagedefinition.json from the input artifact, registers a task
    definition revision that copies the service's current one with each named container's new
    image, updates the service, and waits for the deployment: COMPLETED succeeds, FAILED (or
    rolled back) fails the action (fidelity/ecs.py, hold `rollout_s`).

Every action runs with the pipeline's role, as CodePipeline runs it: the trust policy must let
codepipeline.amazonaws.com assume it, and its policies (fidelity/iam_policy.py) must allow what
the action calls (the artifacts' S3 objects; codebuild:StartBuild / BatchGetBuilds on the
project; ecs:DescribeServices / UpdateService on the service, ecs:DescribeTaskDefinition /
RegisterTaskDefinition, ecs:TagResource on the new revision when it has tags, iam:PassRole of
the task's roles to ecs-tasks.amazonaws.com; UseConnection on a CodeStar connection). A refusal
fails the action with the AccessDenied text.

POST /_stagehand/pipeline/fail {"pipeline": NAME, "stage": "Build"|"Deploy", "times": 1} makes the
next `times` runs of that stage fail: the build FAILS with a log line saying so; the deployment's
tasks exit at once, so the circuit breaker fails it and the action fails. The pipeline need not
exist yet (a test can fail the first run of a pipeline a tool is about to create). GET lists
what is armed.
"""

import hashlib
import json
import re
import time

from moto.codepipeline.models import codepipeline_backends
from moto.moto_api._internal import mock_random

from . import pipeline_actions, sim

_runs = {}  # (account, region, pipeline name) -> PipelineRuns
_pending = {}  # pipeline name -> {stage: times}, failures armed before the pipeline exists


def reset():
    with sim.lock:
        _runs.clear()
        _pending.clear()


def _now():
    return time.time()


class PipelineRuns:
    """A pipeline's executions (newest first), its stage locks, its source head, armed failures."""

    def __init__(self, account, region, name):
        self.account, self.region, self.name = account, region, name
        self.executions = []
        self.locks = {}  # stage name -> execution id
        self.head = hashlib.sha1(f"{account}/{region}/{name}/initial".encode()).hexdigest()
        self.message = "Initial commit"
        self.failures = {}  # stage name -> times left
        self.transitions = {}  # (stage name, "Inbound"|"Outbound") -> TransitionState (changed ones)

    def transition(self, stage, kind):
        """The transition's state as GetPipelineState shows it: enabled unless disabled."""
        return self.transitions.get((stage, kind), {"enabled": True})

    def is_open(self, stage, kind):
        return self.transition(stage, kind)["enabled"]


def runs_of(account, region, name, create=True):
    key = (account, region, name)
    if key not in _runs and create:
        _runs[key] = PipelineRuns(account, region, name)
        _runs[key].failures.update(_pending.pop(name, {}))
    return _runs.get(key)


def forget(account, region, name):
    runs = _runs.pop((account, region, name), None)
    for execution in runs.executions if runs else []:
        if execution.status == "InProgress":
            execution.finish("Stopped", "the pipeline was deleted")


class ActionRun:
    def __init__(self, execution, stage, declaration):
        self.execution = execution
        self.stage = stage
        self.declaration = declaration
        self.name = declaration["name"]
        self.type = declaration["actionTypeId"]
        self.id = str(mock_random.uuid4())
        self.status = "InProgress"
        self.started = self.updated = _now()
        self.summary = None
        self.external_id = None
        self.external_url = None
        self.error = None  # {"code", "message"}
        self.inputs = []  # [{"name", "s3location": {"bucket", "key"}}]
        self.outputs = []
        self.state = {}

    def succeed(self, summary=None):
        self.status, self.summary, self.updated = "Succeeded", summary, _now()

    def fail(self, message, code="JobFailed"):
        self.status, self.error, self.updated = "Failed", {"code": code, "message": message}, _now()
        self.summary = message

    def detail(self):
        pipeline = self.execution.pipeline
        out = {
            "pipelineExecutionId": self.execution.id,
            "actionExecutionId": self.id,
            "pipelineVersion": self.execution.version,
            "stageName": self.stage,
            "actionName": self.name,
            "startTime": self.started,
            "lastUpdateTime": self.updated,
            "status": self.status,
            "input": {
                "actionTypeId": self.type,
                "configuration": _masked(self.declaration.get("configuration") or {}),
                "resolvedConfiguration": _masked(self.declaration.get("configuration") or {}),
                "roleArn": self.declaration.get("roleArn") or pipeline.get("roleArn"),
                "region": self.declaration.get("region") or self.execution.runs.region,
                "inputArtifacts": self.inputs,
            },
            "output": {"outputArtifacts": self.outputs, "executionResult": {}},
        }
        result = out["output"]["executionResult"]
        if self.external_id:
            result["externalExecutionId"] = self.external_id
        if self.external_url:
            result["externalExecutionUrl"] = self.external_url
        if self.summary:
            result["externalExecutionSummary"] = self.summary
        if self.error:
            result["errorDetails"] = self.error
        return out

    def latest(self):
        out = {"actionExecutionId": self.id, "status": self.status, "lastStatusChange": self.updated}
        if self.summary:
            out["summary"] = self.summary
        if self.external_id:
            out["externalExecutionId"] = self.external_id
        if self.external_url:
            out["externalExecutionUrl"] = self.external_url
        if self.error:
            out["errorDetails"] = self.error
        return out


def _masked(config):
    return {k: ("****" if k == "OAuthToken" else v) for k, v in config.items()}


class Execution:
    def __init__(self, runs, pipeline, version, trigger, commit, message):
        self.runs = runs
        self.pipeline = pipeline  # the declaration when the execution started
        self.version = version
        self.id = str(mock_random.uuid4())
        self.trigger = trigger
        self.commit = commit
        self.message = message
        self.status = "InProgress"
        self.summary = None
        self.started = self.updated = _now()
        self.stage_index = -1  # the last stage entered
        self.in_stage = False
        self.stages = {}  # stage name -> {"status", "actions": [ActionRun]}
        self.artifacts = {}  # artifact name -> {"bucket", "key"}

    @property
    def stage_names(self):
        return [s["name"] for s in self.pipeline["stages"]]

    def finish(self, status, summary=None):
        self.status, self.summary, self.updated = status, summary, _now()
        for name, holder in list(self.runs.locks.items()):
            if holder == self.id:
                del self.runs.locks[name]
        self.in_stage = False

    def source_revision(self):
        source = self.pipeline["stages"][0]["actions"][0]
        config = source.get("configuration") or {}
        repo = config.get("FullRepositoryId") or f"{config.get('Owner', '')}/{config.get('Repo', '')}"
        if source["actionTypeId"]["provider"] == "CodeStarSourceConnection":
            summary = json.dumps({"ProviderType": "GitHub", "CommitMessage": self.message})
        else:
            summary = self.message
        return {"actionName": source["name"], "revisionId": self.commit, "revisionSummary": summary,
                "revisionUrl": f"https://github.com/{repo}/commit/{self.commit}"}

    def summary_view(self):
        out = {
            "pipelineExecutionId": self.id,
            "status": self.status,
            "startTime": self.started,
            "lastUpdateTime": self.updated,
            "sourceRevisions": [self.source_revision()],
            "trigger": self.trigger,
            "executionMode": "SUPERSEDED",
            "executionType": "STANDARD",
        }
        if self.summary:
            out["statusSummary"] = self.summary
        return out

    def view(self):
        revision = self.source_revision()
        source = self.pipeline["stages"][0]["actions"][0]
        artifact = (source.get("outputArtifacts") or [{"name": "SourceArtifact"}])[0]["name"]
        out = {
            "pipelineName": self.runs.name,
            "pipelineVersion": self.version,
            "pipelineExecutionId": self.id,
            "status": self.status,
            "artifactRevisions": [{
                "name": artifact, "revisionId": self.commit, "revisionChangeIdentifier": self.commit,
                "revisionSummary": revision["revisionSummary"], "created": self.started,
                "revisionUrl": revision["revisionUrl"],
            }],
            "trigger": self.trigger,
            "executionMode": "SUPERSEDED",
            "executionType": "STANDARD",
        }
        if self.summary:
            out["statusSummary"] = self.summary
        return out


# ------------------------------------------------------------------ starting
def start(account, region, name, trigger_type, trigger_detail="", commit=None, message=None):
    """Start an execution of pipeline `name`; returns it."""
    backend = codepipeline_backends[account][region]
    pipeline = backend.pipelines[name]
    runs = runs_of(account, region, name)
    if commit is not None:
        runs.head, runs.message = commit.lower(), message or f"Commit {commit[:8]}"
    execution = Execution(runs, json.loads(json.dumps(pipeline.pipeline)), pipeline.pipeline.get("version", 1),
                          {"triggerType": trigger_type, "triggerDetail": trigger_detail},
                          runs.head, runs.message)
    runs.executions.insert(0, execution)
    _advance_pipeline(runs, sim.now())
    sim.wake()
    return execution


def push_trigger(pipeline):
    source = pipeline["stages"][0]["actions"][0]
    if source["actionTypeId"]["provider"] == "CodeStarSourceConnection":
        return "Webhook", (source.get("configuration") or {}).get("ConnectionArn", "")
    return "PollForSourceChanges", source["name"]


# ------------------------------------------------------------------ advancing
@sim.every_tick
def _step(now):
    busy = False
    for runs in list(_runs.values()):
        busy = _advance_pipeline(runs, now) or busy
    return busy


def _advance_pipeline(runs, now):
    backend = codepipeline_backends[runs.account][runs.region]
    if runs.name not in backend.pipelines:
        forget(runs.account, runs.region, runs.name)
        return False
    # Oldest first: an older execution leaves a stage before a newer one asks to enter it.
    for execution in reversed(list(runs.executions)):
        if execution.status != "InProgress":
            continue
        for _ in range(len(execution.stage_names) * 2):  # at most one move per stage and step
            if not _advance_execution(runs, execution):
                break
    return any(e.status == "InProgress" for e in runs.executions)


def _advance_execution(runs, execution):
    """One move of `execution`; True when it moved (so it may move again at once)."""
    names = execution.stage_names
    if execution.in_stage:
        stage = names[execution.stage_index]
        state = execution.stages[stage]
        for action in state["actions"]:
            if action.status == "InProgress":
                pipeline_actions.run(runs, execution, action)
        statuses = [a.status for a in state["actions"]]
        if "InProgress" in statuses:
            return False
        del runs.locks[stage]
        execution.in_stage = False
        if "Failed" in statuses:
            state["status"] = "Failed"
            failed = next(a for a in state["actions"] if a.status == "Failed")
            execution.finish("Failed", f"Stage {stage} failed: action {failed.name}: {failed.error['message']}")
            return False
        state["status"] = "Succeeded"
        execution.updated = _now()
        if execution.stage_index == len(names) - 1:
            execution.finish("Succeeded")
            return False
        return True
    # Between stages: enter the next one when it is free, unless a newer execution wants it.
    nxt = names[execution.stage_index + 1]
    mine = runs.executions.index(execution)
    newer = [e for e in runs.executions[:mine] if e.status == "InProgress" and not e.in_stage
             and e.stage_index == execution.stage_index]
    if newer:
        execution.finish("Superseded")
        return False
    # A disabled transition holds it here (out of the stage it finished, or into the next).
    if execution.stage_index >= 0 and not runs.is_open(names[execution.stage_index], "Outbound"):
        return False
    if not runs.is_open(nxt, "Inbound"):
        return False
    if nxt in runs.locks:
        return False
    runs.locks[nxt] = execution.id
    execution.stage_index += 1
    execution.in_stage = True
    stage_decl = execution.pipeline["stages"][execution.stage_index]
    execution.stages[nxt] = {"status": "InProgress",
                             "actions": [ActionRun(execution, nxt, a) for a in stage_decl["actions"]]}
    execution.updated = _now()
    return True


# ------------------------------------------------------------------ control
_COMMIT = re.compile(r"^[0-9a-fA-F]{40}$")


def _find(body):
    name = body.get("pipeline")
    if not isinstance(name, str) or not name:
        raise ValueError('"pipeline" (the pipeline name) is required')
    for account, regions in codepipeline_backends.items():
        for region, backend in regions.items():
            if body.get("region") not in (None, region):
                continue
            if name in backend.pipelines:
                return account, region, backend.pipelines[name]
    return None


def _push(method, body, query):
    if method != "POST":
        raise ValueError("POST a push: {\"pipeline\": NAME, \"commit\": \"<40 hex>\"}")
    unknown = sorted(set(body) - {"pipeline", "commit", "message", "region"})
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: commit, message, pipeline, region")
    commit = body.get("commit")
    if not isinstance(commit, str) or not _COMMIT.match(commit):
        raise ValueError('"commit" must be a 40-hex-digit commit id')
    with sim.lock:
        found = _find(body)
        if found is None:
            return "404 Not Found", {"error": f"no pipeline named {body['pipeline']}"}
        account, region, pipeline = found
        trigger, detail = push_trigger(pipeline.pipeline)
        execution = start(account, region, pipeline.pipeline["name"], trigger, detail, commit=commit,
                          message=body.get("message"))
        return "200 OK", {"pipelineExecutionId": execution.id, "commit": execution.commit}


def _fail(method, body, query):
    with sim.lock:
        if method == "GET":
            armed = {name: dict(f) for name, f in _pending.items() if f}
            armed.update({k[2]: dict(r.failures) for k, r in _runs.items() if r.failures})
            return "200 OK", {"armed": armed}
        unknown = sorted(set(body) - {"pipeline", "stage", "times", "region"})
        if unknown:
            raise ValueError(f"unknown key(s) {', '.join(unknown)}; known: pipeline, region, stage, times")
        stage = body.get("stage")
        if stage not in ("Build", "Deploy"):
            raise ValueError('"stage" is "Build" or "Deploy"')
        times = body.get("times", 1)
        if not isinstance(times, int) or times < -1:
            raise ValueError('"times" is a count (-1: every run, 0: disarm)')
        found = _find(body)
        if found is None:
            # Armed ahead: the pipeline a tool is about to create (by name, in any region).
            failures = _pending.setdefault(body["pipeline"], {})
        else:
            account, region, pipeline = found
            if not any(s["name"] == stage for s in pipeline.pipeline["stages"]):
                raise ValueError(f"pipeline {body['pipeline']} has no stage {stage}")
            failures = runs_of(account, region, pipeline.pipeline["name"]).failures
        if times == 0:
            failures.pop(stage, None)
        else:
            failures[stage] = times
        return "200 OK", {"armed": dict(failures), "pipeline_exists": found is not None}


CONTROL_ROUTES = {"pipeline/push": _push, "pipeline/fail": _fail}
