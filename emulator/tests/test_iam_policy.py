"""The IAM evaluator the emulator uses for the calls AWS makes with a customer's role."""

import json
import os
import sys
import unittest
from urllib.parse import quote

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from stagehand_emulator.fidelity import iam_policy as p  # noqa: E402

SECRET = "arn:aws:secretsmanager:us-west-2:123456789012:secret:app-token-AbCdEf"
PARAM = "arn:aws:ssm:us-west-2:123456789012:parameter/app/POSTGRES_HOST"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action, resource, **extra):
    return dict({"Effect": "Allow", "Action": action, "Resource": resource}, **extra)


def deny(action, resource, **extra):
    return dict({"Effect": "Deny", "Action": action, "Resource": resource}, **extra)


def decide(statements, action, resource, context=None, boundary=None):
    return p.evaluate([("inline policy test", policy(*statements))], action, resource, context, boundary)


class Matching(unittest.TestCase):
    def test_an_allow_allows_and_nothing_is_an_implicit_deny(self):
        self.assertTrue(decide([allow("secretsmanager:GetSecretValue", SECRET)],
                               "secretsmanager:GetSecretValue", SECRET).allowed)
        self.assertEqual(decide([allow("secretsmanager:GetSecretValue", SECRET)],
                                "ssm:GetParameters", PARAM).effect, p.IMPLICIT_DENY)
        self.assertEqual(p.evaluate([], "ssm:GetParameters", PARAM).effect, p.IMPLICIT_DENY)

    def test_an_explicit_deny_wins_over_any_allow(self):
        d = decide([allow("*", "*"), deny("secretsmanager:*", SECRET, Sid="NoSecrets")],
                   "secretsmanager:GetSecretValue", SECRET)
        self.assertEqual(d.effect, p.EXPLICIT_DENY)
        self.assertIn("NoSecrets", d.source)

    def test_wildcards_star_and_question_mark(self):
        self.assertTrue(decide([allow("secretsmanager:Get*", "arn:aws:secretsmanager:*:*:secret:app-token-??????")],
                               "secretsmanager:GetSecretValue", SECRET).allowed)
        # `?` is exactly one character: the six-character suffix does not match five.
        self.assertFalse(decide([allow("secretsmanager:*", "arn:aws:secretsmanager:*:*:secret:app-token-?????")],
                                "secretsmanager:GetSecretValue", SECRET).allowed)

    def test_actions_ignore_case_resources_do_not(self):
        self.assertTrue(decide([allow("SSM:getparameters", PARAM)], "ssm:GetParameters", PARAM).allowed)
        self.assertFalse(decide([allow("ssm:GetParameters", PARAM.upper())], "ssm:GetParameters", PARAM).allowed)

    def test_not_action_and_not_resource(self):
        self.assertTrue(decide([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}],
                               "ssm:GetParameters", PARAM).allowed)
        self.assertFalse(decide([{"Effect": "Allow", "NotAction": "ssm:*", "Resource": "*"}],
                                "ssm:GetParameters", PARAM).allowed)
        d = decide([allow("*", "*"), {"Effect": "Deny", "Action": "ssm:*", "NotResource": "arn:aws:ssm:*:*:parameter/other/*"}],
                   "ssm:GetParameters", PARAM)
        self.assertEqual(d.effect, p.EXPLICIT_DENY)

    def test_a_list_of_statements_actions_and_resources(self):
        statements = [allow(["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                            ["arn:aws:ecr:us-west-2:123456789012:repository/other", "arn:aws:ecr:*:*:repository/app"])]
        self.assertTrue(decide(statements, "ecr:BatchGetImage", "arn:aws:ecr:us-west-2:123456789012:repository/app").allowed)

    def test_url_encoded_documents_as_iam_returns_them(self):
        d = p.evaluate([("inline", quote(policy(allow("ssm:GetParameters", PARAM))))], "ssm:GetParameters", PARAM)
        self.assertTrue(d.allowed)

    def test_a_permissions_boundary_must_allow_too(self):
        boundary = [("boundary", policy(allow("ssm:*", "*")))]
        d = decide([allow("*", "*")], "secretsmanager:GetSecretValue", SECRET, boundary=boundary)
        self.assertEqual(d.effect, p.IMPLICIT_DENY)
        self.assertIn("no permissions boundary allows",
                      p.denial("arn:aws:sts::1:assumed-role/r/t", "secretsmanager:GetSecretValue", SECRET, d))
        self.assertTrue(decide([allow("*", "*")], "ssm:GetParameters", PARAM, boundary=boundary).allowed)


class Conditions(unittest.TestCase):
    CONTEXT = {"aws:RequestedRegion": "us-west-2", "aws:SecureTransport": "true",
               "aws:PrincipalAccount": "123456789012", "__absent__": ("aws:SourceVpce",)}

    def test_known_keys_are_evaluated(self):
        ok = allow("ssm:GetParameters", "*", Condition={"StringEquals": {"aws:RequestedRegion": "us-west-2"}})
        no = allow("ssm:GetParameters", "*", Condition={"StringEquals": {"aws:RequestedRegion": "eu-west-1"}})
        self.assertTrue(decide([ok], "ssm:GetParameters", PARAM, self.CONTEXT).allowed)
        self.assertEqual(decide([no], "ssm:GetParameters", PARAM, self.CONTEXT).effect, p.IMPLICIT_DENY)
        like = allow("ssm:GetParameters", "*", Condition={"StringLike": {"aws:RequestedRegion": "us-*"},
                                                          "Bool": {"aws:SecureTransport": "true"}})
        self.assertTrue(decide([like], "ssm:GetParameters", PARAM, self.CONTEXT).allowed)

    def test_a_key_it_does_not_know_is_never_silently_allowed(self):
        cond = allow("ssm:GetParameters", "*", Condition={"StringEquals": {"aws:SourceIp": "10.0.0.1"}})
        d = decide([cond], "ssm:GetParameters", PARAM, self.CONTEXT)
        self.assertEqual(d.effect, p.UNKNOWN)
        self.assertIn("aws:SourceIp", d.why)
        self.assertIn("cannot evaluate", p.denial("arn:aws:sts::1:assumed-role/r/t", "ssm:GetParameters", PARAM, d))

    def test_an_unevaluable_deny_is_not_overridden_by_an_allow(self):
        d = decide([allow("*", "*"),
                    deny("ssm:*", "*", Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})],
                   "ssm:GetParameters", PARAM, self.CONTEXT)
        self.assertEqual(d.effect, p.UNKNOWN)

    def test_an_unevaluable_allow_does_not_matter_when_another_allows(self):
        d = decide([allow("ssm:GetParameters", PARAM),
                    allow("ssm:*", "*", Condition={"StringEquals": {"aws:SourceIp": "1.2.3.4"}})],
                   "ssm:GetParameters", PARAM, self.CONTEXT)
        self.assertTrue(d.allowed)

    def test_keys_known_to_be_absent(self):
        if_exists = allow("ssm:*", "*", Condition={"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}})
        self.assertTrue(decide([if_exists], "ssm:GetParameters", PARAM, self.CONTEXT).allowed)
        plain = allow("ssm:*", "*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1"}})
        self.assertFalse(decide([plain], "ssm:GetParameters", PARAM, self.CONTEXT).allowed)
        negated = deny("ssm:*", "*", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}})
        self.assertEqual(decide([allow("*", "*"), negated], "ssm:GetParameters", PARAM, self.CONTEXT).effect,
                         p.EXPLICIT_DENY)
        null = allow("ssm:*", "*", Condition={"Null": {"aws:SourceVpce": "true"}})
        self.assertTrue(decide([null], "ssm:GetParameters", PARAM, self.CONTEXT).allowed)

    def test_complete_prefixes_make_resource_tags_answerable(self):
        context = dict(self.CONTEXT, **{"aws:ResourceTag/app": "unicorn", "__complete__": ("aws:ResourceTag/",)})
        tagged = allow("secretsmanager:GetSecretValue", "*", Condition={"StringEquals": {"aws:ResourceTag/app": "unicorn"}})
        self.assertTrue(decide([tagged], "secretsmanager:GetSecretValue", SECRET, context).allowed)
        other = allow("secretsmanager:GetSecretValue", "*", Condition={"StringEquals": {"aws:ResourceTag/team": "x"}})
        self.assertEqual(decide([other], "secretsmanager:GetSecretValue", SECRET, context).effect, p.IMPLICIT_DENY)

    def test_policy_variables(self):
        context = dict(self.CONTEXT, **{"aws:PrincipalAccount": "123456789012"})
        s = allow("ssm:GetParameters", "arn:aws:ssm:us-west-2:${aws:PrincipalAccount}:parameter/app/*")
        self.assertTrue(decide([s], "ssm:GetParameters", PARAM, context).allowed)
        unknown = allow("ssm:GetParameters", "arn:aws:ssm:us-west-2:123456789012:parameter/${aws:username}/*")
        self.assertEqual(decide([unknown], "ssm:GetParameters", PARAM, context).effect, p.UNKNOWN)

    def test_an_unknown_operator_is_unknown(self):
        s = allow("ssm:*", "*", Condition={"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})
        self.assertEqual(decide([s], "ssm:GetParameters", PARAM, self.CONTEXT).effect, p.UNKNOWN)


class Messages(unittest.TestCase):
    def test_denials_read_as_aws_writes_them(self):
        who = "arn:aws:sts::123456789012:assumed-role/app-task-execution/0123"
        implicit = p.denial(who, "ssm:GetParameters", PARAM, p.Decision(p.IMPLICIT_DENY))
        self.assertEqual(implicit, f"User: {who} is not authorized to perform: ssm:GetParameters on resource: "
                                   f"{PARAM} because no identity-based policy allows the ssm:GetParameters action")
        explicit = p.denial(who, "ssm:GetParameters", PARAM, p.Decision(p.EXPLICIT_DENY))
        self.assertTrue(explicit.endswith("with an explicit deny in an identity-based policy"))


if __name__ == "__main__":
    unittest.main()
