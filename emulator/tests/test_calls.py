"""Classification of calls (service, action, mutating or not) and their accounting."""

import io
import unittest

from support import emu

from stagehand_emulator import calls


def environ(method="POST", path="/", query="", body=b"", service="ec2", target=None,
            ctype="application/x-www-form-urlencoded"):
    env = {
        "REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
        "CONTENT_TYPE": ctype, "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body),
        "HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=test/20260101/us-west-2/"
                              f"{service}/aws4_request, SignedHeaders=host, Signature=x",
    }
    if target:
        env["HTTP_X_AMZ_TARGET"] = target
    return env


class Classification(unittest.TestCase):
    def test_query_protocol(self):
        body = b"Action=CreateVpc&Version=2016-11-15&CidrBlock=10.0.0.0%2F16"
        self.assertEqual(calls.classify(environ(body=body), body)[:3], ("ec2", "us-west-2", "CreateVpc"))

    def test_json_protocol_by_target(self):
        body = b'{"Name": "x", "SecretString": "hush"}'
        service, _, action, params = calls.classify(
            environ(body=body, service="secretsmanager", target="secretsmanager.CreateSecret",
                    ctype="application/x-amz-json-1.1"), body)
        self.assertEqual((service, action), ("secretsmanager", "CreateSecret"))
        self.assertEqual(params["SecretString"], "<redacted>")

    def test_rest_json_by_path(self):
        self.assertEqual(calls.classify(environ(path="/createNotificationRule", ctype="application/json",
                                                service="codestar-notifications"), b"{}")[2],
                         "CreateNotificationRule")

    def test_s3_by_method_path_and_subresource(self):
        def action(method, path, query=""):
            return calls.classify(environ(method=method, path=path, query=query, service="s3", ctype=""), b"")[2]

        self.assertEqual(action("PUT", "/bucket"), "CreateBucket")
        self.assertEqual(action("PUT", "/bucket", "tagging="), "PutBucketTagging")
        self.assertEqual(action("GET", "/bucket", "list-type=2"), "ListObjectsV2")
        self.assertEqual(action("DELETE", "/bucket/key"), "DeleteObject")

    def test_mutating_is_every_action_not_known_read_only(self):
        for action in ("CreateVpc", "StartBuild", "AddTags", "RemoveTags", "UpdateService"):
            self.assertTrue(calls.is_mutating(action), action)
        for action in ("DescribeVpcs", "GetSecretValue", "ListTasks", "HeadBucket", "BatchGetProjects",
                       "FilterLogEvents"):
            self.assertFalse(calls.is_mutating(action), action)
        self.assertFalse(calls.is_bench_mutating("StartBuild"))


class Accounting(unittest.TestCase):
    def setUp(self):
        emu.reset()

    def test_calls_are_counted_by_service_and_action(self):
        mark = emu.mark()
        ec2 = emu.client("ec2")
        ec2.describe_vpcs()
        ec2.create_vpc(CidrBlock="10.1.0.0/16")
        summary = emu.calls(mark)
        self.assertEqual(summary["by_action"], {"ec2:CreateVpc": 1, "ec2:DescribeVpcs": 1})
        self.assertEqual((summary["mutating"], summary["read_only"]), (1, 1))
        self.assertEqual(summary["mutating_actions"], ["ec2:CreateVpc"])

    def test_secret_values_are_never_recorded(self):
        mark = emu.mark()
        emu.client("secretsmanager").create_secret(Name=emu.unique("s"), SecretString="hunter2-secret")
        self.assertNotIn("hunter2-secret", str(emu.calls(mark)))


if __name__ == "__main__":
    unittest.main()
