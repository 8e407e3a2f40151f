"""CodeStar Notifications, which moto lacks: the notification-rule API, answered by the layer.

REST-JSON (signing name `codestar-notifications`): POST /createNotificationRule,
/describeNotificationRule, /listNotificationRules, /updateNotificationRule,
/deleteNotificationRule, /tagResource, /untagResource/{Arn}?tagKeys=K, /listTagsForResource,
/listEventTypes. Shapes follow the service model (the Rust SDK's serializers).

As AWS does, a create or update is refused with ConfigurationException while the account has
no CodeStar Notifications service-linked role (read from moto's IAM backend) or has one too
new to be used yet (the hold `slr_lag_s`, see iam.py), and a second rule of the same name in
the account is refused with ResourceAlreadyExistsException. A create repeated with the same
ClientRequestToken and the same parameters (an SDK's retry of a create whose answer was lost)
returns the rule the first request made.
"""

import hashlib
import json
import re
import threading
import time
from urllib.parse import parse_qs, unquote

SIGNING_NAME = "codestar-notifications"
SLR_PATH = "/aws-service-role/codestar-notifications.amazonaws.com/"
DEFAULT_ACCOUNT = "123456789012"

# The event types of the resources stagehand puts rules on (AWS's catalogue for CodePipeline).
EVENT_TYPES = {
    f"codepipeline-pipeline-{kind}-{what}": (label, what_label)
    for kind, label, whats in (
        ("action-execution", "Action execution", ("succeeded", "failed", "canceled", "started")),
        ("stage-execution", "Stage execution",
         ("started", "succeeded", "resumed", "canceled", "failed")),
        ("pipeline-execution", "Pipeline execution",
         ("failed", "canceled", "started", "resumed", "succeeded", "superseded")),
        ("manual-approval", "Manual approval", ("failed", "needed", "succeeded")),
    )
    for what in whats
    for what_label in (what.capitalize(),)
}

NAME_RE = re.compile(r"^[A-Za-z0-9\-_ ]{1,64}$")
ARN_RE = re.compile(r"^arn:aws[^:\s]*:[^:\s]+:[^:\s]+:[0-9]{12}:[^\s]+$")

_lock = threading.Lock()
_rules = {}  # (account, region) -> {arn: rule dict}
_tokens = {}  # (account, region, ClientRequestToken) -> (arn, the request without the token)
PRINCIPAL = "codestar-notifications.amazonaws.com"


def reset():
    with _lock:
        _rules.clear()
        _tokens.clear()


class ApiError(Exception):
    def __init__(self, code, message, status):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def _validation(msg):
    return ApiError("ValidationException", msg, "400 Bad Request")


def _not_found(arn):
    return ApiError("ResourceNotFoundException",
                    f"Resource with ARN {arn} does not exist.", "404 Not Found")


def _account(environ):
    # moto's default account unless the access key names another (as moto itself does).
    from ..limits import account_of

    return account_of(environ)


def _has_service_linked_role(account):
    from moto.iam.models import iam_backends

    backend = iam_backends[account]["aws"]
    return any(role.path == SLR_PATH for role in backend.roles.values())


def _require_role(account):
    from . import iam

    if not _has_service_linked_role(account) or iam.lagging(account, PRINCIPAL):
        # AWS's text, typos included.
        raise ApiError(
            "ConfigurationException",
            "AWS CodeStar Notifications could not create the AWS CloudWatch Events managed rule "
            "in your AWS account. If this is your first time creating a notification rule, the "
            "service-linked role for AWS CodeStar Notifications might not yet exist. Creation "
            "of this role might take up to 15 minutes. Until it exists, notification rule "
            "creation will fail. Wait 15 minutes, and then try again. If this is is not the "
            "first time you are creating a notification rule, there might be a problem with a "
            "network connection, or one or more AWS services might be experiencing issues. "
            "Verify your network connection and check to see if there are any issues with AWS "
            "services in your AWS Region before trying again.",
            "400 Bad Request",
        )


def _topic_exists(account, region, arn):
    try:
        from moto.sns.models import sns_backends

        return arn in sns_backends[account][region].topics
    except Exception:  # noqa: BLE001 - a target we cannot check shows as unreachable
        return False


def _check_event_types(ids):
    if not isinstance(ids, list) or not ids:
        raise _validation("EventTypeIds must contain at least one event type.")
    for event in ids:
        if event not in EVENT_TYPES:
            raise _validation(f"Event type {event} is not valid.")


def _check_targets(targets):
    if not isinstance(targets, list) or not 1 <= len(targets) <= 10:
        raise _validation("Targets must contain 1 to 10 targets.")
    for t in targets:
        if not isinstance(t, dict) or not ARN_RE.match(t.get("TargetAddress") or ""):
            raise _validation("Each target needs a TargetAddress ARN.")
        if t.get("TargetType", "SNS") not in ("SNS", "AWSChatbotSlack", "AWSChatbotMicrosoftTeams"):
            raise _validation(f"Target type {t.get('TargetType')} is not valid.")


def _check_detail(detail):
    if detail not in ("BASIC", "FULL"):
        raise _validation("DetailType must be BASIC or FULL.")


def _check_status(status):
    if status not in ("ENABLED", "DISABLED"):
        raise _validation("Status must be ENABLED or DISABLED.")


def _check_tags(tags):
    if not isinstance(tags, dict) or len(tags) > 50:
        raise _validation("Tags must be a map of at most 50 entries.")
    for k, v in tags.items():
        if not isinstance(k, str) or not 1 <= len(k) <= 128 or k.lower().startswith("aws:"):
            raise _validation(f"Tag key {k!r} is not valid.")
        if not isinstance(v, str) or len(v) > 256:
            raise _validation(f"Tag value for {k!r} is not valid.")


def _rule_view(account, region, rule):
    return {
        "Arn": rule["Arn"],
        "Name": rule["Name"],
        "EventTypes": [
            {
                "EventTypeId": e,
                "ServiceName": "CodePipeline",
                "EventTypeName": f"{EVENT_TYPES[e][0]}: {EVENT_TYPES[e][1]}",
                "ResourceType": "Pipeline",
            }
            for e in rule["EventTypeIds"]
        ],
        "Resource": rule["Resource"],
        "Targets": [
            {
                "TargetAddress": t["TargetAddress"],
                "TargetType": t.get("TargetType", "SNS"),
                "TargetStatus": "ACTIVE" if _topic_exists(account, region, t["TargetAddress"])
                else "UNREACHABLE",
            }
            for t in rule["Targets"]
        ],
        "DetailType": rule["DetailType"],
        "CreatedBy": rule["CreatedBy"],
        "Status": rule["Status"],
        "CreatedTimestamp": rule["CreatedTimestamp"],
        "LastModifiedTimestamp": rule["LastModifiedTimestamp"],
        "Tags": dict(rule["Tags"]),
    }


def _find(rules, arn):
    if not isinstance(arn, str) or not arn:
        raise _validation("Arn is required.")
    rule = rules.get(arn)
    if rule is None:
        raise _not_found(arn)
    return rule


def _dispatch(action, account, region, req, environ):
    rules = _rules.setdefault((account, region), {})
    now = time.time()
    if action == "CreateNotificationRule":
        token = req.get("ClientRequestToken")
        fingerprint = {k: v for k, v in req.items() if k != "ClientRequestToken"}
        if token:
            seen = _tokens.get((account, region, token))
            if seen is not None and seen[0] in rules and seen[1] == fingerprint:
                return {"Arn": seen[0]}
        name = req.get("Name") or ""
        if not NAME_RE.match(name):
            raise _validation(f"Name {name!r} must be 1 to 64 letters, digits, spaces, - or _.")
        resource = req.get("Resource") or ""
        if not ARN_RE.match(resource):
            raise _validation(f"Resource {resource!r} is not a valid ARN.")
        _check_event_types(req.get("EventTypeIds"))
        _check_targets(req.get("Targets"))
        _check_detail(req.get("DetailType"))
        status = req.get("Status", "ENABLED")
        _check_status(status)
        tags = req.get("Tags") or {}
        _check_tags(tags)
        if any(r["Name"] == name for r in rules.values()):
            raise ApiError("ResourceAlreadyExistsException",
                           f"A notification rule with the name {name} already exists.",
                           "409 Conflict")
        _require_role(account)
        rule_id = hashlib.sha1(f"{account}/{region}/{name}/{now}".encode()).hexdigest()
        arn = f"arn:aws:codestar-notifications:{region}:{account}:notificationrule/{rule_id}"
        rules[arn] = {
            "Arn": arn,
            "Name": name,
            "EventTypeIds": list(dict.fromkeys(req["EventTypeIds"])),
            "Resource": resource,
            "Targets": [{"TargetAddress": t["TargetAddress"],
                         "TargetType": t.get("TargetType", "SNS")} for t in req["Targets"]],
            "DetailType": req["DetailType"],
            "CreatedBy": f"arn:aws:iam::{account}:root",
            "Status": status,
            "CreatedTimestamp": now,
            "LastModifiedTimestamp": now,
            "Tags": dict(tags),
        }
        if token:
            _tokens[(account, region, token)] = (arn, fingerprint)
        return {"Arn": arn}
    if action == "DescribeNotificationRule":
        return _rule_view(account, region, _find(rules, req.get("Arn")))
    if action == "ListNotificationRules":
        found = list(rules.values())
        for f in req.get("Filters") or []:
            name, value = f.get("Name"), f.get("Value")
            key = {"RESOURCE": "Resource", "CREATED_BY": "CreatedBy"}.get(name)
            if key:
                found = [r for r in found if r[key] == value]
            elif name == "EVENT_TYPE_ID":
                found = [r for r in found if value in r["EventTypeIds"]]
            elif name == "TARGET_ADDRESS":
                found = [r for r in found if any(t["TargetAddress"] == value for t in r["Targets"])]
            else:
                raise _validation(f"Filter name {name} is not valid.")
        found.sort(key=lambda r: r["Arn"])
        token = str(req.get("NextToken") or "0")
        if not token.isdigit():
            raise ApiError("InvalidNextTokenException", "The next token is not valid.",
                           "400 Bad Request")
        start = int(token)
        size = int(req.get("MaxResults") or 100)
        page = found[start:start + size]
        out = {"NotificationRules": [{"Id": r["Arn"].rsplit("/", 1)[-1], "Arn": r["Arn"]}
                                     for r in page]}
        if start + size < len(found):
            out["NextToken"] = str(start + size)
        return out
    if action == "UpdateNotificationRule":
        rule = _find(rules, req.get("Arn"))
        changes = {}
        if "Name" in req:
            if not NAME_RE.match(req["Name"] or ""):
                raise _validation("Name must be 1 to 64 letters, digits, spaces, - or _.")
            if any(r["Name"] == req["Name"] and r is not rule for r in rules.values()):
                raise _validation(f"A notification rule with the name {req['Name']} already exists.")
            changes["Name"] = req["Name"]
        if "EventTypeIds" in req:
            _check_event_types(req["EventTypeIds"])
            changes["EventTypeIds"] = list(dict.fromkeys(req["EventTypeIds"]))
        if "Targets" in req:
            _check_targets(req["Targets"])
            changes["Targets"] = [{"TargetAddress": t["TargetAddress"],
                                   "TargetType": t.get("TargetType", "SNS")}
                                  for t in req["Targets"]]
        if "DetailType" in req:
            _check_detail(req["DetailType"])
            changes["DetailType"] = req["DetailType"]
        if "Status" in req:
            _check_status(req["Status"])
            changes["Status"] = req["Status"]
        _require_role(account)
        rule.update(changes)
        rule["LastModifiedTimestamp"] = now
        return {}
    if action == "DeleteNotificationRule":
        arn = req.get("Arn")
        if not isinstance(arn, str) or not arn:
            raise _validation("Arn is required.")
        rules.pop(arn, None)  # AWS answers a delete of an unknown rule with success
        return {"Arn": arn}
    if action == "TagResource":
        rule = _find(rules, req.get("Arn"))
        tags = req.get("Tags") or {}
        _check_tags(tags)
        merged = {**rule["Tags"], **tags}
        _check_tags(merged)
        rule["Tags"] = merged
        return {"Tags": dict(merged)}
    if action == "UntagResource":
        path = environ.get("PATH_INFO", "")
        arn = unquote(path.split("/untagResource/", 1)[-1])
        rule = _find(rules, arn)
        query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
        for key in query.get("tagKeys", []):
            rule["Tags"].pop(key, None)
        return {}
    if action == "ListTagsForResource":
        return {"Tags": dict(_find(rules, req.get("Arn"))["Tags"])}
    if action == "ListEventTypes":
        return {"EventTypes": [
            {"EventTypeId": e, "ServiceName": "CodePipeline",
             "EventTypeName": f"{label}: {what}", "ResourceType": "Pipeline"}
            for e, (label, what) in sorted(EVENT_TYPES.items())
        ]}
    raise ApiError("UnknownOperationException", f"Unknown operation {action}",
                   "404 Not Found")


def handle(environ, start_response, body, region, action):
    try:
        req = json.loads(body) if body else {}
        if not isinstance(req, dict):
            raise _validation("The request body must be a JSON object.")
        with _lock:
            out = _dispatch(action, _account(environ), region or "us-east-1", req, environ)
        status, data, headers = "200 OK", json.dumps(out).encode(), []
    except ValueError:
        status = "400 Bad Request"
        data = json.dumps({"Message": "The request body is not valid JSON."}).encode()
        headers = [("x-amzn-ErrorType", "ValidationException")]
    except ApiError as e:
        status, data = e.status, json.dumps({"Message": e.message}).encode()
        headers = [("x-amzn-ErrorType", e.code)]
    start_response(status, [("Content-Type", "application/json"),
                            ("Content-Length", str(len(data))),
                            ("x-amzn-RequestId", hashlib.md5(data).hexdigest())] + headers)
    return [data]


ROUTES = {SIGNING_NAME: handle}
