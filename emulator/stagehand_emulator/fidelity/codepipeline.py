"""CodePipeline: timestamps as AWS sends them, and secret action settings masked.

- moto 5.2 answers GetPipeline's metadata.created/updated and ListPipelines' created/updated as
  ISO strings; AWS (awsJson1_1) sends epoch seconds, and the SDKs refuse the strings.
- AWS never returns an action's secret configuration values: GetPipeline (and the echo of
  CreatePipeline / UpdatePipeline) shows the GitHub version 1 action's OAuthToken as `****`.
  moto returns the token itself. The stored pipeline keeps the real value.
"""

import copy
import json

from moto.codepipeline import models, responses
from moto.core.utils import unix_time

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
