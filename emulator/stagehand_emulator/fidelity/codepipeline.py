"""CodePipeline: timestamps as AWS sends them, secret action settings masked, and executions.

- moto 5.2 answers GetPipeline's metadata.created/updated and ListPipelines' created/updated as
  ISO strings; AWS (awsJson1_1) sends epoch seconds, and the SDKs refuse the strings.
- AWS never returns an action's secret configuration values: GetPipeline (and the echo of
  CreatePipeline / UpdatePipeline) shows the GitHub version 1 action's OAuthToken as `****`.
  moto returns the token itself. The stored pipeline keeps the real value.
- CreatePipeline with a name in use answers PipelineNameInUseException, as AWS does; moto said
  InvalidStructureException, which a client that retried after a lost answer cannot tell from a
  malformed pipeline.
- moto runs no execution. CreatePipeline starts one (trigger CreatePipeline), as AWS's does, and
  StartPipelineExecution, StopPipelineExecution, GetPipelineState, ListPipelineExecutions,
  GetPipelineExecution and ListActionExecutions answer from fidelity/executions.py, which runs
  them.
- moto has no DisableStageTransition / EnableStageTransition. Here they validate as AWS does
  (PipelineNotFoundException, StageNotFoundException; transitionType Inbound|Outbound; the
  reason required for Disable, 1-300 characters: letters, digits, space and !@().*?-), GetPipelineState
  shows each stage's inboundTransitionState {enabled, lastChangedBy, lastChangedAt,
  disabledReason}, and a disabled transition holds executions (executions.py).
"""

import copy
import json
import re
import time

from moto.codepipeline import models, responses
from moto.codepipeline.exceptions import PipelineNotFoundException
from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.sts.models import sts_backends
from moto.utilities.utils import get_partition

from . import executions, sim

MASK = "****"
SECRET_KEYS = {"OAuthToken"}


def _mask(pipeline):
    masked = copy.deepcopy(pipeline)
    for stage in masked.get("stages", []):
        for action in stage.get("actions", []):
            config = action.get("configuration") or {}
            for key in SECRET_KEYS & set(config):
                config[key] = MASK
    return masked


def _metadata(self):
    return {
        "pipelineArn": self._arn,
        "created": unix_time(self._created),
        "updated": unix_time(self._updated),
    }


def install():
    models.CodePipeline.metadata = property(_metadata)

    # ListPipelines reads the same metadata, so it answers epoch seconds too.
    def wrap(name):
        original = getattr(responses.CodePipelineResponse, name)

        def method(self):
            out = json.loads(original(self) or "{}")
            if "pipeline" in out:
                out["pipeline"] = _mask(out["pipeline"])
            return json.dumps(out)

        setattr(responses.CodePipelineResponse, name, method)

    for name in ("create_pipeline", "get_pipeline", "update_pipeline"):
        wrap(name)
    install_executions()


class _Error(JsonRESTError):
    code = 400

    def __init__(self, code, message):
        super().__init__(code, message)


def _pipeline(self, name):
    backend = self.codepipeline_backend
    if name not in backend.pipelines:
        raise PipelineNotFoundException(f"Account '{self.current_account}' does not have a pipeline with name '{name}'")
    return backend.pipelines[name]


def _runs(self, name):
    return executions.runs_of(self.current_account, self.region, name)


def _page(items, max_results, token, default=100):
    start = int(token) if token and str(token).isdigit() else 0
    size = int(max_results or default)
    page = items[start:start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return page, nxt


def start_pipeline_execution(self):
    name = self._get_param("name")
    _pipeline(self, name)
    commit = None
    for override in self._get_param("sourceRevisions") or []:
        if override.get("revisionType") == "COMMIT_ID":
            commit = override.get("revisionValue")
    with sim.lock:
        execution = executions.start(self.current_account, self.region, name, "StartPipelineExecution",
                                     "", commit=commit)
    return json.dumps({"pipelineExecutionId": execution.id})


def stop_pipeline_execution(self):
    name = self._get_param("pipelineName")
    _pipeline(self, name)
    wanted = self._get_param("pipelineExecutionId")
    execution = next((e for e in _runs(self, name).executions if e.id == wanted), None)
    if execution is None:
        raise _Error("PipelineExecutionNotFoundException",
                     f"Pipeline execution with id '{wanted}' does not exist in pipeline '{name}'")
    if execution.status != "InProgress":
        raise _Error("PipelineExecutionNotStoppableException",
                     f"Pipeline execution {wanted} is {execution.status} and cannot be stopped")
    abandon = bool(self._get_param("abandon"))
    for stage in execution.stages.values():
        for action in stage["actions"]:
            if action.status == "InProgress":
                action.status = "Abandoned" if abandon else "Failed"
                action.updated = executions._now()
        if stage["status"] == "InProgress":
            stage["status"] = "Stopped"
    execution.finish("Stopped", self._get_param("reason") or "stopped by StopPipelineExecution")
    return json.dumps({"pipelineExecutionId": wanted})


def get_pipeline_state(self):
    name = self._get_param("name")
    pipeline = _pipeline(self, name)
    runs = _runs(self, name)
    stages = []
    for stage in pipeline.pipeline["stages"]:
        latest = next((e for e in runs.executions if stage["name"] in e.stages), None)
        inbound = next((e for e in runs.executions if e.status == "InProgress" and not e.in_stage
                        and e.stage_index >= 0
                        and e.stage_names[e.stage_index + 1:e.stage_index + 2] == [stage["name"]]), None)
        state = {"stageName": stage["name"],
                 "inboundTransitionState": dict(runs.transition(stage["name"], "Inbound")), "actionStates": []}
        if inbound is not None:
            state["inboundExecution"] = {"pipelineExecutionId": inbound.id, "status": "InProgress",
                                         "type": "STANDARD"}
        runs_here = {a.name: a for a in (latest.stages[stage["name"]]["actions"] if latest else [])}
        for action in stage["actions"]:
            entry = {"actionName": action["name"]}
            run = runs_here.get(action["name"])
            if run is not None:
                entry["latestExecution"] = run.latest()
                if run.type.get("category") == "Source" and run.status == "Succeeded":
                    entry["currentRevision"] = {"revisionId": latest.commit, "revisionChangeId": latest.commit,
                                                "created": latest.started}
            state["actionStates"].append(entry)
        if latest is not None:
            state["latestExecution"] = {"pipelineExecutionId": latest.id,
                                        "status": latest.stages[stage["name"]]["status"], "type": "STANDARD"}
        stages.append(state)
    return json.dumps({
        "pipelineName": name,
        "pipelineVersion": pipeline.pipeline.get("version", 1),
        "stageStates": stages,
        "created": unix_time(pipeline._created),
        "updated": unix_time(pipeline._updated),
    })


_NAME = re.compile(r"^[A-Za-z0-9.@\-_]+$")
_REASON = re.compile(r"^[a-zA-Z0-9!@ \(\)\.\*\?\-]+$")


def _validation(message):
    return _Error("ValidationException", message)


def _transition_request(self, disable):
    """The checked (runs, stage, kind, reason) of an Enable/DisableStageTransition request."""
    name = self._get_param("pipelineName")
    stage = self._get_param("stageName")
    kind = self._get_param("transitionType")
    reason = self._get_param("reason")
    problems = []
    for field, value in (("pipelineName", name), ("stageName", stage)):
        if not isinstance(value, str) or not 1 <= len(value) <= 100 or not _NAME.match(value):
            problems.append(f"Value at '{field}' failed to satisfy constraint: Member must satisfy regular "
                            "expression pattern: [A-Za-z0-9.@\\-_]+ and have length between 1 and 100")
    if kind not in ("Inbound", "Outbound"):
        problems.append(f"Value '{kind}' at 'transitionType' failed to satisfy constraint: Member must satisfy "
                        "enum value set: [Inbound, Outbound]")
    if disable and (not isinstance(reason, str) or not 1 <= len(reason) <= 300 or not _REASON.match(reason)):
        problems.append("Value at 'reason' failed to satisfy constraint: Member must satisfy regular expression "
                        "pattern: [a-zA-Z0-9!@ \\(\\)\\.\\*\\?\\-]+ and have length between 1 and 300")
    if problems:
        raise _validation(f"{len(problems)} validation error{'s' if len(problems) > 1 else ''} detected: "
                          + "; ".join(problems))
    pipeline = _pipeline(self, name)
    if not any(s["name"] == stage for s in pipeline.pipeline["stages"]):
        raise _Error("StageNotFoundException", f"Stage {stage} does not exist in pipeline {name}")
    return _runs(self, name), stage, kind, reason


def _caller_arn(self):
    backend = sts_backends[self.current_account][get_partition(self.region)]
    return backend.get_caller_identity(self.get_access_key(), self.region)[1]


def disable_stage_transition(self):
    runs, stage, kind, reason = _transition_request(self, disable=True)
    with sim.lock:
        runs.transitions[(stage, kind)] = {"enabled": False, "lastChangedBy": _caller_arn(self),
                                           "lastChangedAt": time.time(), "disabledReason": reason}
    return "{}"


def enable_stage_transition(self):
    runs, stage, kind, _ = _transition_request(self, disable=False)
    with sim.lock:
        if not runs.is_open(stage, kind):
            runs.transitions[(stage, kind)] = {"enabled": True, "lastChangedBy": _caller_arn(self),
                                               "lastChangedAt": time.time()}
        executions._advance_pipeline(runs, sim.now())
        sim.wake()
    return "{}"


def list_pipeline_executions(self):
    name = self._get_param("pipelineName")
    _pipeline(self, name)
    items = _runs(self, name).executions
    wanted_stage = (self._get_param("filter") or {}).get("succeededInStage", {}).get("stageName")
    if wanted_stage:
        items = [e for e in items if e.stages.get(wanted_stage, {}).get("status") == "Succeeded"]
    page, nxt = _page([e.summary_view() for e in items], self._get_param("maxResults"),
                      self._get_param("nextToken"))
    out = {"pipelineExecutionSummaries": page}
    if nxt:
        out["nextToken"] = nxt
    return json.dumps(out)


def get_pipeline_execution(self):
    name = self._get_param("pipelineName")
    _pipeline(self, name)
    wanted = self._get_param("pipelineExecutionId")
    execution = next((e for e in _runs(self, name).executions if e.id == wanted), None)
    if execution is None:
        raise _Error("PipelineExecutionNotFoundException",
                     f"Pipeline execution with id '{wanted}' does not exist in pipeline '{name}'")
    return json.dumps({"pipelineExecution": execution.view()})


def list_action_executions(self):
    name = self._get_param("pipelineName")
    _pipeline(self, name)
    runs = _runs(self, name)
    flt = self._get_param("filter") or {}
    wanted = flt.get("pipelineExecutionId") or (flt.get("latestInPipelineExecution") or {}).get("pipelineExecutionId")
    chosen = runs.executions
    if wanted:
        chosen = [e for e in runs.executions if e.id == wanted]
        if not chosen:
            raise _Error("PipelineExecutionNotFoundException",
                         f"Pipeline execution with id '{wanted}' does not exist in pipeline '{name}'")
    details = []
    for execution in chosen:
        actions = [a for stage in execution.stages.values() for a in stage["actions"]]
        details.extend(a.detail() for a in sorted(actions, key=lambda a: a.started, reverse=True))
    page, nxt = _page(details, self._get_param("maxResults"), self._get_param("nextToken"))
    out = {"actionExecutionDetails": page}
    if nxt:
        out["nextToken"] = nxt
    return json.dumps(out)


def install_executions():
    cls = responses.CodePipelineResponse
    for fn in (start_pipeline_execution, stop_pipeline_execution, get_pipeline_state,
               list_pipeline_executions, get_pipeline_execution, list_action_executions,
               disable_stage_transition, enable_stage_transition):
        setattr(cls, fn.__name__, fn)

    original_create = models.CodePipelineBackend.create_pipeline

    def create_pipeline(self, pipeline, tags):
        if pipeline.get("name") in self.pipelines:
            raise JsonRESTError("PipelineNameInUseException",
                                f"Pipeline name {pipeline['name']} is already in use.")
        out = original_create(self, pipeline, tags)
        with sim.lock:
            executions.start(self.account_id, self.region_name, pipeline["name"], "CreatePipeline",
                             "")
        return out

    models.CodePipelineBackend.create_pipeline = create_pipeline

    original_delete = models.CodePipelineBackend.delete_pipeline

    def delete_pipeline(self, name):
        original_delete(self, name)
        with sim.lock:
            executions.forget(self.account_id, self.region_name, name)

    models.CodePipelineBackend.delete_pipeline = delete_pipeline
