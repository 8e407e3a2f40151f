"""S3: bucket-policy conditions evaluated as AWS evaluates them.

moto evaluates a bucket policy on object calls but ignores condition operators it does not
know (Bool, Numeric*, ...) as if they matched, so the standard TLS-only statement
(Deny s3:* when aws:SecureTransport is false) denies every object call. AWS applies a
statement only when its conditions hold for the request. The emulator stands in for AWS's
HTTPS endpoint, so requests are evaluated as secure transport over TLS 1.3; a condition on a
key the request does not carry does not hold (unless ...IfExists), as in AWS.
"""

import fnmatch
import json

from moto.s3 import models

# The request context the emulator stands in for: HTTPS with TLS 1.3.
CONTEXT = {"aws:securetransport": "true", "s3:tlsversion": "1.3"}


def _values(expected):
    return expected if isinstance(expected, list) else [expected]


def _number(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def _holds(op, actual, expected):
    exp = [str(e) for e in _values(expected)]
    if op == "Bool":
        return any(e.lower() == actual.lower() for e in exp)
    if op == "StringEquals":
        return actual in exp
    if op == "StringNotEquals":
        return actual not in exp
    if op == "StringEqualsIgnoreCase":
        return any(e.lower() == actual.lower() for e in exp)
    if op == "StringLike":
        return any(fnmatch.fnmatchcase(actual, e) for e in exp)
    if op == "StringNotLike":
        return not any(fnmatch.fnmatchcase(actual, e) for e in exp)
    if op.startswith("Numeric"):
        a = _number(actual)
        compare = {
            "NumericEquals": lambda x, y: x == y,
            "NumericNotEquals": lambda x, y: x != y,
            "NumericLessThan": lambda x, y: x < y,
            "NumericLessThanEquals": lambda x, y: x <= y,
            "NumericGreaterThan": lambda x, y: x > y,
            "NumericGreaterThanEquals": lambda x, y: x >= y,
        }.get(op)
        if a is None or compare is None:
            return False
        return any(_number(e) is not None and compare(a, _number(e)) for e in exp)
    return False  # an operator the emulator cannot evaluate does not hold


def conditions_hold(conditions):
    for op, pairs in (conditions or {}).items():
        base = op[: -len("IfExists")] if op.endswith("IfExists") else op
        for key, expected in pairs.items():
            actual = CONTEXT.get(key.lower())
            if base == "Null":
                want_absent = str(_values(expected)[0]).lower() == "true"
                if (actual is None) != want_absent:
                    return False
                continue
            if actual is None:
                if op.endswith("IfExists"):
                    continue
                return False
            if not _holds(base, actual, expected):
                return False
    return True


def install():
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    def get_permission(self, action, resource):
        if self.policy is None:
            return PermissionResult.NEUTRAL
        document = json.loads(self.policy.decode() if isinstance(self.policy, bytes) else self.policy)
        statements = document.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        permitted = False
        for statement in statements:
            if not conditions_hold(statement.get("Condition")):
                continue
            plain = {k: v for k, v in statement.items() if k != "Condition"}
            result = IAMPolicyStatement(plain).is_action_permitted(action, resource)
            if result == PermissionResult.DENIED:
                return result
            if result == PermissionResult.PERMITTED:
                permitted = True
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    models.FakeBucket.get_permission = get_permission
