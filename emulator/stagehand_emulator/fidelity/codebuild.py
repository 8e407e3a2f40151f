"""CodeBuild: UpdateProject, and CODEPIPELINE sources/artifacts without a location.

moto 5.2 has no UpdateProject, and its CreateProject insists on a `location` even for type
CODEPIPELINE (and NO_SOURCE), where AWS takes none: the pipeline hands the build its input and
takes its output.
"""

import json

from moto.codebuild import responses
from moto.codebuild.exceptions import InvalidInputException, ResourceNotFoundException
from moto.core.utils import unix_time
from moto.utilities.utils import get_partition

_SOURCE_TYPES = ["BITBUCKET", "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE",
                 "NO_SOURCE", "S3"]
_ARTIFACT_TYPES = ["CODEPIPELINE", "S3", "NO_ARTIFACTS"]


def _validate_source(source):
    if not isinstance(source, dict) or source.get("type") not in _SOURCE_TYPES:
        raise InvalidInputException("Invalid type provided: Project source type")
    if source["type"] in ("CODEPIPELINE", "NO_SOURCE"):
        return
    if not source.get("location"):
        raise InvalidInputException("Project source location is required")


def _validate_artifacts(artifacts):
    if not isinstance(artifacts, dict) or artifacts.get("type") not in _ARTIFACT_TYPES:
        raise InvalidInputException("Invalid type provided: Artifact type")
    if artifacts["type"] == "NO_ARTIFACTS":
        if "location" in artifacts:
            raise InvalidInputException(
                "Invalid artifacts: artifact type NO_ARTIFACTS should have null location"
            )
    elif artifacts["type"] == "S3" and not artifacts.get("location"):
        raise InvalidInputException("Project artifacts location is required")


# CreateProject field -> key of the stored project metadata.
_FIELDS = {
    "description": "description",
    "source": "source",
    "artifacts": "artifacts",
    "environment": "environment",
    "serviceRole": "serviceRole",
    "cache": "cache",
    "timeoutInMinutes": "timeoutInMinutes",
    "queuedTimeoutInMinutes": "queuedTimeoutInMinutes",
    "sourceVersion": "sourceVersion",
    "logsConfig": "logsConfig",
    "vpcConfig": "vpcConfig",
    "tags": "tags",
    "secondarySources": "secondarySources",
    "secondaryArtifacts": "secondaryArtifacts",
    "badgeEnabled": None,
    "encryptionKey": "encryptionKey",
    "concurrentBuildLimit": "concurrentBuildLimit",
}


def update_project(self):
    name = self._get_param("name")
    backend = self.codebuild_backend
    project = backend.codebuild_projects.get(name)
    if project is None and isinstance(name, str) and name.startswith("arn:"):
        project = next((p for p in backend.codebuild_projects.values() if p.arn == name), None)
    if project is None:
        raise ResourceNotFoundException(
            f"Project cannot be found: arn:{get_partition(self.region)}:codebuild:"
            f"{self.region}:{self.current_account}:project/{name}"
        )
    meta = project.project_metadata
    if self._get_param("source") is not None:
        _validate_source(self._get_param("source"))
    if self._get_param("artifacts") is not None:
        _validate_artifacts(self._get_param("artifacts"))
    if self._get_param("environment") is not None:
        responses._validate_required_params_environment(self._get_param("environment"))
    role = self._get_param("serviceRole")
    if role is not None:
        responses._validate_required_params_service_role(self.current_account, self.region, role)
        project.service_role = role
    for field, key in _FIELDS.items():
        value = self._get_param(field)
        if value is None:
            continue
        if field == "badgeEnabled":
            meta["badge"] = {"badgeEnabled": bool(value)}
            continue
        meta[key] = value
        if field == "tags":
            project.tags = value
    meta["lastModifiedDate"] = unix_time()
    return json.dumps({"project": meta})


def install():
    responses._validate_required_params_source = _validate_source
    responses._validate_required_params_artifacts = _validate_artifacts
    responses.CodeBuildResponse.update_project = update_project
