"""Requests are checked against AWS's own service models, in each protocol's error format."""

import unittest

from botocore.exceptions import ClientError
from support import emu

from stagehand_emulator import validation


def error(call):
    """The AWS error a call answers (code, message, HTTP status)."""
    try:
        call()
    except ClientError as e:
        err = e.response["Error"]
        return err.get("Code"), err.get("Message"), e.response["ResponseMetadata"]["HTTPStatusCode"]
    raise AssertionError("the call succeeded")


POLICY = '{"Version": "2012-10-17", "Statement": []}'


class ModelValidation(unittest.TestCase):
    def setUp(self):
        emu.reset()

    def test_query_protocol_length_is_a_validation_error_and_nothing_is_created(self):
        iam = emu.client("iam")
        code, message, status = error(
            lambda: iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument=POLICY))
        self.assertEqual((code, status), ("ValidationError", 400))
        self.assertIn("at 'roleName' failed to satisfy constraint: Member must have length "
                      "less than or equal to 64", message)
        self.assertNotIn("r" * 65, [r["RoleName"] for r in iam.list_roles()["Roles"]])

    def test_pattern_is_matched_against_the_whole_value(self):
        iam = emu.client("iam")
        name = emu.unique("role")
        code, message, _ = error(lambda: iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=POLICY, Tags=[{"Key": "k", "Value": "a,b"}]))
        self.assertEqual(code, "ValidationError")
        self.assertIn("at 'tags.1.member.value'", message)
        # a valid prefix does not save an invalid tail
        code, _, _ = error(lambda: iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=POLICY, Tags=[{"Key": "k", "Value": "abc#"}]))
        self.assertEqual(code, "ValidationError")
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=POLICY,
                        Tags=[{"Key": "k", "Value": "a b:c/d=e+f-g@h_i.j"}])

    def test_required_member_missing(self):
        iam = emu.client("iam", validate=False)
        code, message, _ = error(lambda: iam.create_role(RoleName="r"))
        self.assertEqual(code, "ValidationError")
        self.assertIn("Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: "
                      "Member must not be null", message)

    def test_ec2_words_its_own_errors(self):
        ec2 = emu.client("ec2", validate=False)
        code, message, _ = error(lambda: ec2.create_security_group(GroupName="g"))
        self.assertEqual(code, "MissingParameter")
        self.assertEqual(message, "The request must contain the parameter GroupDescription")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        code, message, _ = error(lambda: ec2.create_subnet(
            VpcId=vpc, CidrBlock="10.0.1.0/24",
            TagSpecifications=[{"ResourceType": "not-a-type", "Tags": []}]))
        self.assertEqual(code, "InvalidParameterValue")
        self.assertIn("not-a-type", message)

    def test_json_protocol_numeric_range(self):
        sm = emu.client("secretsmanager", validate=False)
        code, message, status = error(lambda: sm.list_secrets(MaxResults=500))
        self.assertEqual((code, status), ("ValidationException", 400))
        self.assertIn("Member must have value less than or equal to 100", message)

    def test_sensitive_values_are_never_echoed(self):
        sm = emu.client("secretsmanager", validate=False)
        secret = "s3cr3t-" + "x" * 65536
        code, message, _ = error(lambda: sm.create_secret(Name="n", SecretString=secret))
        self.assertEqual(code, "ValidationException")
        self.assertNotIn("s3cr3t", message)
        self.assertIn("Value at 'secretString'", message)
        refusals = emu.control("GET", "validation")["refusals"]
        self.assertNotIn("s3cr3t", str(refusals))

    def test_service_specific_codes(self):
        sd = emu.client("servicediscovery")
        code, message, _ = error(lambda: sd.create_service(Name="s", CreatorRequestId="r" * 65))
        self.assertEqual(code, "InvalidInput")
        self.assertIn("'creatorRequestId'", message)
        logs = emu.client("logs")
        code, _, _ = error(lambda: logs.create_log_group(logGroupName="bad name!"))
        self.assertEqual(code, "InvalidParameterException")

    def test_the_layers_own_service_is_checked_too(self):
        cs = emu.client("codestar-notifications", validate=False)
        code, message, _ = error(lambda: cs.create_notification_rule(
            Name="rule", EventTypeIds=["codepipeline-pipeline-pipeline-execution-failed"],
            Resource="arn:aws:codepipeline:us-west-2:123456789012:p",
            Targets=[{"TargetType": "SNS", "TargetAddress": "arn:aws:sns:us-west-2:123456789012:t"}],
            DetailType="LOUD"))
        self.assertEqual(code, "ValidationException")
        self.assertIn("Member must satisfy enum value set: [BASIC, FULL]", message)

    def test_rest_xml_enum(self):
        s3 = emu.client("s3", validate=False)
        bucket = emu.unique("bucket-")
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        code, message, _ = error(lambda: s3.put_bucket_versioning(
            Bucket=bucket, VersioningConfiguration={"Status": "Sometimes"}))
        self.assertEqual(code, "InvalidArgument")
        self.assertIn("Sometimes", message)

    def test_switched_off_the_old_behaviour_returns(self):
        emu.control("POST", "validation", {"enabled": False})
        iam = emu.client("iam")
        name = emu.unique("s" * 62)
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=POLICY)
        self.assertIn(name, [r["RoleName"] for r in iam.list_roles()["Roles"]])
        emu.control("POST", "validation", {"enabled": True})
        self.assertTrue(emu.control("GET", "validation")["enabled"])

    def test_unknown_control_keys_are_refused(self):
        emu.control("POST", "validation", {"enable": False}, expect=400)
        emu.control("POST", "validation", {"enabled": "no"}, expect=400)

    def test_refusals_are_listed_and_counted_as_calls(self):
        mark = emu.mark()
        iam = emu.client("iam")
        error(lambda: iam.create_role(RoleName="r" * 65, AssumeRolePolicyDocument=POLICY))
        self.assertEqual(emu.calls(mark)["by_action"], {"iam:CreateRole": 1})
        refusals = emu.control("GET", "validation")["refusals"]
        self.assertEqual([(r["service"], r["action"], r["kind"]) for r in refusals],
                         [("iam", "CreateRole", "model")])

    def test_valid_requests_pass(self):
        ec2 = emu.client("ec2")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "core-infra"}]}])["Vpc"]
        ec2.create_security_group(GroupName="g", Description="d", VpcId=vpc["VpcId"])
        ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["core-infra"]}])
        self.assertEqual(emu.control("GET", "validation")["refusals"], [])


class Patterns(unittest.TestCase):
    def test_java_surrogate_ranges_and_properties_translate(self):
        p = validation.compile_pattern("[\\u0009\\u000A\\u000D\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF]+")
        self.assertIsNotNone(p.fullmatch("emoji \U0001F600 ok"))
        self.assertIsNone(p.fullmatch("bell \x07"))
        tag = validation.compile_pattern("^([\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*)$")
        self.assertIsNotNone(tag.fullmatch("Ünïcode 1"))
        self.assertIsNone(tag.fullmatch("a,b"))

    def test_lengths_count_utf16_units_as_aws_does(self):
        self.assertEqual(validation._length("\U0001F600"), 2)


if __name__ == "__main__":
    unittest.main()
