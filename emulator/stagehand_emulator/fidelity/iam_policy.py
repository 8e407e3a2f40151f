"""A small IAM policy evaluator, for the calls AWS services make with a customer's role (the
ECS agent with a task execution role, CodeBuild with its service role, ...).

Identity-based evaluation as AWS documents it for one principal
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit Deny wins; otherwise an Allow allows; otherwise the request is implicitly denied. A
permissions boundary, when the role has one, must allow as well.

Statements match on Action/NotAction (case-insensitive) and Resource/NotResource
(case-sensitive), with `*` and `?` wildcards; `${key}` policy variables resolve from the request
context. Conditions are evaluated for the common operators over the request context the caller
gives. A condition (or variable) this evaluator cannot evaluate never allows and never silently
denies: the answer is UNKNOWN and names what it could not evaluate, and callers report it loudly.
"""

import json
import re
from urllib.parse import unquote

ALLOW = "Allow"
EXPLICIT_DENY = "ExplicitDeny"
IMPLICIT_DENY = "ImplicitDeny"
UNKNOWN = "Unknown"


class Decision:
    def __init__(self, effect, source=None, why="", denying=False):
        self.effect = effect
        self.source = source  # "policy name (Sid)" of the deciding statement
        self.why = why  # for UNKNOWN: what could not be evaluated
        self.denying = denying  # for UNKNOWN: the statement is a Deny

    @property
    def allowed(self):
        return self.effect == ALLOW

    def __repr__(self):
        return f"Decision({self.effect}, {self.source!r}, {self.why!r})"


class _Unknown(Exception):
    pass


def parse(document):
    """A policy document as a dict (IAM hands documents back URL-encoded)."""
    if isinstance(document, dict):
        return document
    text = document.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    return json.loads(text)


def _as_list(value):
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _wildcard(pattern, value, ignore_case=False):
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _resolve(pattern, context):
    """Substitute ${key} policy variables; an unknown one makes the statement unevaluable."""
    if "${" not in pattern:
        return pattern

    def sub(m):
        key = m.group(1)
        if key in ("*", "?", "$"):
            return key
        if key not in context:
            raise _Unknown(f"the policy variable ${{{key}}}")
        return str(context[key])

    return re.sub(r"\$\{([^}]+)\}", sub, pattern)


def _matches_action(statement, action):
    if "Action" in statement:
        return any(_wildcard(a, action, ignore_case=True) for a in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_wildcard(a, action, ignore_case=True) for a in _as_list(statement["NotAction"]))
    return False


def _matches_resource(statement, resource, context):
    if "Resource" in statement:
        return any(_wildcard(_resolve(r, context), resource) for r in _as_list(statement["Resource"]))
    if "NotResource" in statement:
        return not any(_wildcard(_resolve(r, context), resource) for r in _as_list(statement["NotResource"]))
    return False


def _compare(base, wanted, actual):
    """One condition value test for the base operator name (no IfExists / set prefixes)."""
    if base in ("StringEquals", "ArnEquals"):
        return actual == wanted
    if base == "StringEqualsIgnoreCase":
        return actual.lower() == wanted.lower()
    if base in ("StringLike", "ArnLike"):
        return _wildcard(wanted, actual)
    if base == "Bool":
        return actual.lower() == wanted.lower()
    if base.startswith("Numeric"):
        a, w = float(actual), float(wanted)
        return {
            "NumericEquals": a == w, "NumericLessThan": a < w, "NumericLessThanEquals": a <= w,
            "NumericGreaterThan": a > w, "NumericGreaterThanEquals": a >= w,
        }[base]
    raise KeyError(base)


_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
    "NumericNotEquals": "NumericEquals",
}
_POSITIVE = {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "Bool",
             "NumericEquals", "NumericLessThan", "NumericLessThanEquals", "NumericGreaterThan",
             "NumericGreaterThanEquals"}


def _known_absent(key, context):
    """The caller knows this key is not in the request: listed in __absent__, or under a
    prefix listed in __complete__ (e.g. every aws:ResourceTag/ of the resource is given)."""
    lowered = key.lower()
    return (lowered in {k.lower() for k in context.get("__absent__", ())}
            or any(lowered.startswith(p.lower()) for p in context.get("__complete__", ())))


def _condition_holds(operator, key, wanted, context):
    """True/False, or raise _Unknown naming what could not be evaluated."""
    what = f"the condition {operator} {{{key!r}: {json.dumps(wanted)}}}"
    prefix = ""
    op = operator
    if ":" in op:
        prefix, op = op.split(":", 1)
        if prefix not in ("ForAnyValue", "ForAllValues"):
            raise _Unknown(what)
    if_exists = op.endswith("IfExists")
    if if_exists:
        op = op[: -len("IfExists")]
    present = key.lower() in {k.lower() for k in context if not k.startswith("__")}
    if op == "Null":
        # Null: true means "the key is absent". Only keys the caller knows are answerable.
        if not present and not _known_absent(key, context):
            raise _Unknown(what)
        return any(str(w).lower() == str(not present).lower() for w in _as_list(wanted))
    if not present:
        if _known_absent(key, context):
            return if_exists or prefix == "ForAllValues" or op in _NEGATED
        raise _Unknown(f"{what}: the key is not in this emulator's request context")
    actual_values = next(v for k, v in context.items() if k.lower() == key.lower())
    actual_values = [str(a) for a in _as_list(actual_values)]
    negated = op in _NEGATED
    base = _NEGATED.get(op, op)
    if base not in _POSITIVE:
        raise _Unknown(what)
    wanted = [str(w) for w in _as_list(wanted)]
    try:
        def one(actual):
            hit = any(_compare(base, w, actual) for w in wanted)
            return not hit if negated else hit

        if prefix == "ForAllValues":
            return all(one(a) for a in actual_values)
        return any(one(a) for a in actual_values)
    except (KeyError, ValueError):
        raise _Unknown(what) from None


def _conditions_hold(statement, context):
    block = statement.get("Condition") or {}
    for operator, pairs in block.items():
        for key, wanted in (pairs or {}).items():
            if not _condition_holds(operator, key, wanted, context):
                return False
    return True


def evaluate(policies, action, resource, context=None, boundary=None):
    """Decide `action` on `resource` under `policies` [(name, document)], AWS's way.

    `context` maps condition keys to values; keys known to be absent go under
    context["__absent__"], prefixes whose keys are all given under context["__complete__"].
    `boundary` is the permissions boundary's documents, if any.
    """
    context = context or {}
    decision = _evaluate(policies, action, resource, context)
    if decision.effect == ALLOW and boundary is not None:
        limit = _evaluate(boundary, action, resource, context)
        if limit.effect == IMPLICIT_DENY:
            return Decision(IMPLICIT_DENY, limit.source, "boundary")
        if limit.effect != ALLOW:
            return limit
    return decision


def _evaluate(policies, action, resource, context):
    allow = None
    unknown_allow = None
    unknown_deny = None
    for name, document in policies:
        try:
            doc = parse(document)
        except (ValueError, TypeError, AttributeError):
            unknown_deny = unknown_deny or Decision(UNKNOWN, name, f"policy {name} is not valid JSON")
            continue
        for i, statement in enumerate(_as_list(doc.get("Statement"))):
            if not isinstance(statement, dict):
                continue
            source = f"{name} ({statement.get('Sid') or f'statement {i + 1}'})"
            effect = statement.get("Effect")
            try:
                if not _matches_action(statement, action):
                    continue
                if not _matches_resource(statement, resource, context):
                    continue
                holds = _conditions_hold(statement, context)
            except _Unknown as e:
                found = Decision(UNKNOWN, source, str(e.args[0]), denying=effect == "Deny")
                if effect == "Deny":
                    unknown_deny = unknown_deny or found
                else:
                    unknown_allow = unknown_allow or found
                continue
            if not holds:
                continue
            if effect == "Deny":
                return Decision(EXPLICIT_DENY, source)
            if effect == "Allow":
                allow = allow or Decision(ALLOW, source)
    if unknown_deny is not None:
        return unknown_deny
    if allow is not None:
        return allow
    if unknown_allow is not None:
        return unknown_allow
    return Decision(IMPLICIT_DENY)


def denial(principal, action, resource, decision):
    """AWS's AccessDenied message text for `decision` (not an Allow)."""
    head = f"User: {principal} is not authorized to perform: {action} on resource: {resource}"
    if decision.effect == EXPLICIT_DENY:
        return f"{head} with an explicit deny in an identity-based policy"
    if decision.effect == IMPLICIT_DENY and decision.why == "boundary":
        return f"{head} because no permissions boundary allows the {action} action"
    if decision.effect == UNKNOWN:
        return (f"{head}: the stagehand emulator cannot evaluate {decision.why} in "
                f"{decision.source}, and refuses rather than allow it")
    return f"{head} because no identity-based policy allows the {action} action"


# ------------------------------------------------------------------ roles in moto's IAM
def role_by_arn(iam_backend, role_arn):
    try:
        return iam_backend.get_role_by_arn(role_arn)
    except Exception:  # noqa: BLE001 - moto raises its own NotFound
        return None


def role_policies(iam_backend, role):
    """[(name, document)] of a role's inline and attached managed policies, and its boundary's
    documents (None without a boundary)."""
    out = [(f"inline policy {name}", doc) for name, doc in role.policies.items()]
    for arn, policy in role.managed_policies.items():
        out.append((f"managed policy {arn}", _default_document(policy)))
    boundary = None
    if role.permissions_boundary_arn:
        policy = iam_backend.managed_policies.get(role.permissions_boundary_arn)
        boundary = [(f"permissions boundary {role.permissions_boundary_arn}",
                     _default_document(policy) if policy is not None else '{"Statement": []}')]
    return out, boundary


def _default_document(policy):
    for version in policy.versions:
        if version.is_default:
            return version.document
    return policy.versions[-1].document if policy.versions else '{"Statement": []}'


def trusts(role, service, context=None):
    """Whether the role's trust policy lets `service` assume it: a Decision."""
    try:
        doc = parse(role.assume_role_policy_document)
    except (ValueError, TypeError, AttributeError):
        return Decision(UNKNOWN, f"trust policy of {role.name}", "an unparseable trust policy")
    allowed = None
    for statement in _as_list(doc.get("Statement")):
        principal = statement.get("Principal") or {}
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if principal != "*" and service not in services:
            continue
        if not any(_wildcard(a, "sts:AssumeRole", True) for a in _as_list(statement.get("Action"))):
            continue
        try:
            holds = _conditions_hold(statement, context or {})
        except _Unknown as e:
            return Decision(UNKNOWN, f"trust policy of {role.name}", str(e.args[0]))
        if holds and statement.get("Effect") == "Deny":
            return Decision(EXPLICIT_DENY, f"trust policy of {role.name}")
        if holds and statement.get("Effect") == "Allow":
            allowed = Decision(ALLOW, f"trust policy of {role.name}")
    return allowed or Decision(IMPLICIT_DENY, f"trust policy of {role.name}")
