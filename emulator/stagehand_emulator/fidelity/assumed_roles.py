"""A customer's role as an AWS service assumes it: the ECS agent with a task execution role,
CodeBuild with a project's service role, CodePipeline with a pipeline's role.

`AssumedRole(account, region, role_arn, service, session, source_arn)` is the role as `service`
assumes it for one job (`session`: the task id, the build id, ...). `.refusal()` says why the
service cannot assume it at all (no such role, or a trust policy that does not let the service
in), and `.check(action, resource)` answers None when the role's policies (fidelity/iam_policy.py)
allow the call, else AWS's AccessDenied text. A condition the evaluator cannot evaluate refuses
the call, prints a line on the emulator's stderr, and is listed by GET /_stagehand/iam/findings.
"""

import sys

from moto.iam.models import iam_backends

from . import iam_policy, sim

findings = []  # conditions the evaluator could not evaluate, oldest first


def reset():
    with sim.lock:
        findings.clear()


def partition_of(region):
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


class AssumedRole:
    def __init__(self, account, region, role_arn, service, session, source_arn):
        self.account, self.region = account, region
        self.partition = partition_of(region)
        self.role_arn = role_arn
        self.service = service
        self.source_arn = source_arn
        self.iam = iam_backends[account][self.partition]
        self.role = iam_policy.role_by_arn(self.iam, role_arn) if role_arn else None
        self.session = session
        if self.role is not None:
            self.policies, self.boundary = iam_policy.role_policies(self.iam, self.role)
            self.principal = f"arn:{self.partition}:sts::{account}:assumed-role/{self.role.name}/{session}"

    def refusal(self):
        """None when `service` can assume the role; else why not."""
        if self.role is None:
            return f"the role {self.role_arn} does not exist"
        decision = iam_policy.trusts(self.role, self.service, {
            "aws:SourceAccount": self.account,
            "aws:SourceArn": self.source_arn,
        })
        if decision.allowed:
            return None
        if decision.effect == iam_policy.UNKNOWN:
            report(self.role.arn, "sts:AssumeRole", self.role.arn, decision)
            return (f"the stagehand emulator cannot evaluate {decision.why} in the trust policy of "
                    f"{self.role.arn}, and refuses rather than allow it")
        return f"the trust policy of {self.role.arn} does not let {self.service} assume it"

    def check(self, action, resource, extra=None, complete=()):
        """None when allowed; else AWS's AccessDenied message (or the evaluator's UNKNOWN)."""
        context = {
            "aws:PrincipalArn": self.role.arn,
            "aws:PrincipalAccount": self.account,
            "aws:PrincipalType": "AssumedRole",
            "aws:RequestedRegion": self.region,
            "aws:SecureTransport": "true",
            "aws:userid": f"{self.role.id}:{self.session}",
            "aws:ViaAWSService": "false",
            "aws:CalledVia": [],
            "__absent__": ("aws:SourceVpce", "aws:SourceVpc", "aws:SourceArn", "aws:SourceAccount",
                           "aws:MultiFactorAuthPresent", "aws:MultiFactorAuthAge"),
            "__complete__": complete,
        }
        context.update(extra or {})
        decision = iam_policy.evaluate(self.policies, action, resource, context, self.boundary)
        if decision.allowed:
            return None
        if decision.effect == iam_policy.UNKNOWN:
            report(self.role.arn, action, resource, decision)
        return iam_policy.denial(self.principal, action, resource, decision)


def report(role_arn, action, resource, decision):
    findings.append({"role": role_arn, "action": action, "resource": resource,
                     "statement": decision.source, "unevaluated": decision.why})
    print(f"stagehand emulator: IAM: cannot evaluate {decision.why} in {decision.source} of {role_arn} "
          f"for {action} on {resource}; the call is refused, not allowed", file=sys.stderr, flush=True)


def _findings(method, body, query):
    with sim.lock:
        return "200 OK", {"findings": list(findings)}


CONTROL_ROUTES = {"iam/findings": _findings}
