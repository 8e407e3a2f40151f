"""Pipeline artifacts in the artifact bucket, as CodePipeline and CodeBuild store them: a zip
per artifact under `<pipeline name[:20]>/<artifact name[:10]>/<7 random characters>`, written
and read with the role of whoever moves it (the pipeline's role, the build's service role)."""

import io
import json
import zipfile

from moto.moto_api._internal import mock_random
from moto.s3.models import s3_backends

from . import iam_policy
from .assumed_roles import report


class ArtifactError(Exception):
    pass


def location(pipeline, artifact, bucket):
    return {"bucket": bucket, "key": f"{pipeline[:20]}/{artifact[:10]}/{mock_random.get_random_string(7)}"}


def _backend(account):
    return s3_backends[account]["aws"]


def denial(role, action, where):
    """None when `role` may call `action` on the object; else the AccessDenied text. The
    bucket's policy counts for its explicit denies (its Principal is not matched: a deny for
    anyone is a deny for the role)."""
    resource = f"arn:{role.partition}:s3:::{where['bucket']}/{where['key']}"
    denied = role.check(action, resource)
    if denied:
        return denied
    bucket = _backend(role.account).buckets.get(where["bucket"])
    policy = getattr(bucket, "policy", None)
    if not policy:
        return None
    text = policy.decode() if isinstance(policy, bytes) else policy
    context = {"aws:SecureTransport": "true", "aws:PrincipalArn": role.role_arn,
               "aws:PrincipalAccount": role.account, "aws:RequestedRegion": role.region}
    decision = iam_policy.evaluate([(f"bucket policy of {where['bucket']}", json.loads(text))], action, resource,
                                   context)
    if decision.effect == iam_policy.EXPLICIT_DENY:
        return (f"User: {role.principal} is not authorized to perform: {action} on resource: {resource} "
                "with an explicit deny in a resource-based policy")
    if decision.effect == iam_policy.UNKNOWN and decision.denying:
        report(role.role_arn, action, resource, decision)
        return iam_policy.denial(role.principal, action, resource, decision)
    return None


def store(account, where, files):
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as z:
        for path, text in files.items():
            z.writestr(path, text)
    try:
        _backend(account).put_object(where["bucket"], where["key"], data.getvalue())
    except Exception as e:  # noqa: BLE001 - moto's NoSuchBucket and friends
        raise ArtifactError(f"{getattr(e, 'code', type(e).__name__)}: could not write s3://{where['bucket']}/"
                            f"{where['key']}") from None


def read(account, where, path):
    try:
        key = _backend(account).get_object(where["bucket"], where["key"])
        with zipfile.ZipFile(io.BytesIO(key.value)) as z:
            return z.read(path).decode()
    except KeyError:
        raise ArtifactError(f"the artifact holds no file {path}") from None
    except Exception as e:  # noqa: BLE001
        raise ArtifactError(f"{getattr(e, 'code', type(e).__name__)}: could not read s3://{where['bucket']}/"
                            f"{where['key']}") from None
