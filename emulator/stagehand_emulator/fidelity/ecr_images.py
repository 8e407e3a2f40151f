"""ECR images as the emulator's builds push them, and looked up as a task's image pull would.

A private ECR image reference is `<registry>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest]`;
anything else (public.ecr.aws, Docker Hub) is pulled from outside and is not checked here.
"""

import hashlib
import json
import re

from moto.ecr.exceptions import ImageAlreadyExistsException
from moto.ecr.models import ecr_backends

_PRIVATE = re.compile(
    r"^(?P<registry>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repo>[^:@]+)(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]{64}))?$"
)


class PushRefused(Exception):
    """What docker push would print when ECR refuses the push."""


def parse(image):
    """{registry, region, repo, tag, digest} of a private ECR image, or None."""
    m = _PRIVATE.match(image or "")
    if not m:
        return None
    ref = m.groupdict()
    if not ref["tag"] and not ref["digest"]:
        ref["tag"] = "latest"
    return ref


def repository_arn(ref, partition="aws"):
    return f"arn:{partition}:ecr:{ref['region']}:{ref['registry']}:repository/{ref['repo']}"


def repository(ref):
    backend = ecr_backends[ref["registry"]][ref["region"]]
    return backend.repositories.get(ref["repo"])


def find(ref):
    """The image a pull of `ref` resolves to, or None."""
    repo = repository(ref)
    if repo is None:
        return None
    for image in repo.images:
        if ref.get("digest") and image.image_digest == ref["digest"]:
            return image
        if ref.get("tag") and not ref.get("digest") and ref["tag"] in image.image_tags:
            return image
    return None


def manifest_for(seed):
    """A Docker v2 manifest that is unique to `seed` (a commit), so each build's image differs."""
    layer = hashlib.sha256(f"layer:{seed}".encode()).hexdigest()
    config = hashlib.sha256(f"config:{seed}".encode()).hexdigest()
    return json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": f"sha256:{config}"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": 52_428_800, "digest": f"sha256:{layer}"}],
    })


def push(account, region, repo_name, tags, seed):
    """Push one image under each of `tags`, as `docker push` does; returns its digest."""
    backend = ecr_backends[account][region]
    repo = backend.repositories.get(repo_name)
    if repo is None:
        raise PushRefused(
            f"name unknown: The repository with name '{repo_name}' does not exist in the "
            f"registry with id '{account}'"
        )
    manifest = manifest_for(seed)
    digest = None
    for tag in tags:
        holder = next((i for i in repo.images if tag in i.image_tags), None)
        if holder is not None and holder.image_manifest != manifest and repo.is_tag_immutable():
            raise PushRefused(
                f"tag invalid: The image tag '{tag}' already exists in the '{repo_name}' "
                "repository and cannot be overwritten because the repository is immutable."
            )
        try:
            image = backend.put_image(repo_name, manifest, tag)
        except ImageAlreadyExistsException:  # the same image under the same tag: a no-op push
            image = holder
        digest = image.image_digest
    return digest
