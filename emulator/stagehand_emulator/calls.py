"""Classify an AWS request by service and action, the way the benchmark counts them."""

import json
import re
from urllib.parse import parse_qs

# An action is read-only when its name starts with one of these; every other action counts
# as mutating. Stricter than the benchmark's prefix list (which only names writes), so
# "zero mutating calls" in a test also rules out Start*, Add*, Remove* and the like.
READ_ONLY_PREFIXES = (
    "Describe", "Get", "List", "Head", "Lookup", "Search", "BatchGet", "Discover",
    "Check", "Simulate", "Validate", "Query", "Scan", "Poll", "Filter",
)

# The benchmark's rule (shared/bench/peer-terraform/count_calls.py), reported beside ours.
BENCH_MUTATING_PREFIXES = (
    "Create", "Put", "Register", "Update", "Modify", "Delete", "Deregister",
    "Attach", "Detach", "Authorize", "Revoke", "Associate", "Allocate",
    "Release", "Tag", "Untag", "Set",
)

S3_SUBRESOURCES = {
    "acl": "BucketAcl", "cors": "BucketCors", "encryption": "BucketEncryption",
    "lifecycle": "BucketLifecycleConfiguration", "location": "BucketLocation",
    "logging": "BucketLogging", "notification": "BucketNotificationConfiguration",
    "object-lock": "ObjectLockConfiguration", "ownershipControls": "BucketOwnershipControls",
    "policy": "BucketPolicy", "policyStatus": "BucketPolicyStatus",
    "publicAccessBlock": "PublicAccessBlock", "replication": "BucketReplication",
    "tagging": "BucketTagging", "versioning": "BucketVersioning", "website": "BucketWebsite",
}
VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head", "POST": "Post"}

# Request fields whose values are secrets: never stored by the layer.
SECRET_FIELDS = re.compile(
    r"^(SecretString|SecretBinary|MasterUserPassword|Password|OAuthToken|oauthToken)$"
)


def service_of(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=[^/]+/\d+/([^/]+)/([^/]+)/aws4_request", auth)
    if m:
        return m.group(2), m.group(1)
    return "unknown", None


def _s3_action(method, path, query):
    parts = [p for p in path.split("/") if p]
    keys = set(query.keys())
    if not parts:
        return "ListBuckets"
    if len(parts) == 1:
        if method == "POST" and "delete" in keys:
            return "DeleteObjects"
        for k in keys:
            if k in S3_SUBRESOURCES:
                return VERB.get(method, method) + S3_SUBRESOURCES[k]
        if method == "GET":
            if "versions" in keys:
                return "ListObjectVersions"
            if query.get("list-type") == ["2"]:
                return "ListObjectsV2"
            return "ListObjects"
        return {"PUT": "CreateBucket", "DELETE": "DeleteBucket", "HEAD": "HeadBucket"}.get(
            method, VERB.get(method, method) + "Bucket"
        )
    if "tagging" in keys:
        return VERB.get(method, method) + "ObjectTagging"
    return VERB.get(method, method) + "Object"


def classify(environ, body):
    """Return (service, region, action, params) for one request; params are redacted."""
    service, region = service_of(environ)
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    ctype = environ.get("CONTENT_TYPE", "").lower()
    target = environ.get("HTTP_X_AMZ_TARGET")
    params = {}
    if target:
        action = target.split(".")[-1]
        params = _json_params(body)
    elif "Action" in query:
        action = query["Action"][0]
        params = {k: v[0] for k, v in query.items()}
    elif body and ("x-www-form-urlencoded" in ctype or body.startswith(b"Action=")):
        form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        action = form.get("Action", ["?"])[0]
        params = {k: v[0] for k, v in form.items()}
    elif service == "s3":
        action = _s3_action(method, path, query)
    else:
        # REST-JSON APIs such as CodeStar Notifications: POST /createNotificationRule
        seg = next((p for p in path.split("/") if p), "")
        action = seg[0].upper() + seg[1:] if re.match(r"^[a-z]+[A-Z]\w*$", seg) else f"{method} /{seg}"
        params = _json_params(body)
    return service, region, action, _redact(params)


def _json_params(body):
    if not body:
        return {}
    try:
        value = json.loads(body)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _redact(value):
    if isinstance(value, dict):
        return {
            k: ("<redacted>" if SECRET_FIELDS.match(k.split(".")[-1]) else _redact(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def is_mutating(action):
    return not action.startswith(READ_ONLY_PREFIXES)


def is_bench_mutating(action):
    return action.startswith(BENCH_MUTATING_PREFIXES)
