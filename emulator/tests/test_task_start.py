"""What the ECS agent checks when a task starts, with the task execution role: ECR auth and pull,
the secrets and parameters, the awslogs stream; the image must exist. A refusal stops the task with
ECS's reason and fails the rollout (the circuit breaker), as on AWS."""

import json
import unittest

from lifecycle_support import ACCOUNT, REGION, Emulator, wait_for
from service_world import MANAGED, World


class TaskStart(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator.shared()
        self.emu.reset()
        self.emu.control("POST", "holds", {"rollout_s": 0})
        self.world = World(self.emu)
        self.world.push("v1")

    def rollout(self, image=None):
        """Create the service; returns (its settled description, the reasons of its stopped tasks)."""
        w = self.world
        w.create_service(w.register(image or f"{w.repo_uri}:v1"), desired=2)
        s = w.settled()
        return s, sorted({t["stoppedReason"] for t in w.tasks("STOPPED")})

    def assert_failed_with(self, fragment):
        s, reasons = self.rollout()
        self.assertEqual(s["deployments"][0]["rolloutState"], "FAILED", s["deployments"])
        self.assertEqual(s["runningCount"], 0)
        self.assertTrue(reasons)
        for reason in reasons:  # one per stopped task (each names its task and request)
            self.assertIn(fragment, reason)
        return reasons[0]

    def test_the_role_svc_up_makes_starts_the_tasks(self):
        s, reasons = self.rollout()
        self.assertEqual(s["deployments"][0]["rolloutState"], "COMPLETED")
        self.assertEqual(reasons, [])

    def test_a_policy_narrowed_to_another_secret_fails_the_rollout(self):
        w = self.world
        other = w.secret_arn.replace(f"{w.app}-token", "other-token")
        w.put_exec_policy([other], [w.parameter_arn])
        reason = self.assert_failed_with("ResourceInitializationError: unable to pull secrets or registry auth")
        role = f"arn:aws:sts::{ACCOUNT}:assumed-role/{w.role_name}/"
        self.assertIn(f"AccessDeniedException: User: {role}", reason)
        self.assertIn(f"is not authorized to perform: secretsmanager:GetSecretValue on resource: {w.secret_arn} "
                      "because no identity-based policy allows the secretsmanager:GetSecretValue action", reason)
        stopped = w.tasks("STOPPED")[0]
        self.assertEqual(stopped["stopCode"], "TaskFailedToStart")

    def test_an_explicit_deny_on_parameters_fails_the_rollout(self):
        w = self.world
        self.emu.client("iam").put_role_policy(
            RoleName=w.role_name, PolicyName="no-ssm",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "ssm:*", "Resource": "*"}]}))
        reason = self.assert_failed_with("unable to retrieve secrets from ssm")
        self.assertIn("ssm:GetParameters", reason)
        self.assertIn("with an explicit deny in an identity-based policy", reason)

    def test_without_the_managed_policy_ecr_auth_is_refused(self):
        w = self.world
        self.emu.client("iam").detach_role_policy(RoleName=w.role_name, PolicyArn=MANAGED)
        self.assert_failed_with("unable to retrieve ecr registry auth: service call has been retried 3 time(s): "
                                "AccessDeniedException")

    def test_an_image_tag_that_is_not_in_ecr_cannot_be_pulled(self):
        w = self.world
        _, reasons = self.rollout(f"{w.repo_uri}:latest")
        self.assertEqual(reasons, [f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
                                   f"failed to resolve ref {w.repo_uri}:latest: {w.repo_uri}:latest: not found"])

    def test_a_missing_parameter_or_log_group(self):
        w = self.world
        self.emu.client("ssm").delete_parameter(Name=f"/{w.app}/POSTGRES_HOST")
        self.assert_failed_with(f"invalid parameters: /{w.app}/POSTGRES_HOST")

    def test_a_missing_log_group(self):
        self.emu.client("logs").delete_log_group(logGroupName=self.world.log_group)
        self.assert_failed_with("ResourceNotFoundException: The specified log group does not exist.")

    def test_a_condition_the_evaluator_cannot_evaluate_refuses_loudly(self):
        w = self.world
        self.emu.client("iam").put_role_policy(
            RoleName=w.role_name, PolicyName="read-secrets",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": w.secret_arn,
                 "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
                {"Effect": "Allow", "Action": "ssm:GetParameters", "Resource": w.parameter_arn}]}))
        reason = self.assert_failed_with("cannot evaluate")
        self.assertIn("aws:SourceIp", reason)
        status, found = self.emu.control("GET", "iam/findings")
        self.assertEqual(status, 200)
        self.assertTrue(any(f["action"] == "secretsmanager:GetSecretValue" and "aws:SourceIp" in f["unevaluated"]
                            for f in found["findings"]), found)

    def test_a_refusal_on_a_later_deployment_fails_it_and_the_breaker_rolls_back(self):
        w = self.world
        s, _ = self.rollout()
        good = s["taskDefinition"]
        w.push("v2")
        bad = w.register(f"{w.repo_uri}:v2")
        w.put_exec_policy([w.secret_arn], [w.parameter_arn.replace("POSTGRES_HOST", "OTHER")])
        self.emu.client("ecs").update_service(cluster=w.cluster, service=w.service, taskDefinition=bad)
        wait_for(lambda: any(t["taskDefinitionArn"] == bad for t in w.tasks("STOPPED")), what="a refused task")
        def rolled_back():
            s = w.describe()
            primary = next(d for d in s["deployments"] if d["status"] == "PRIMARY")
            return s if primary["taskDefinition"] == good and primary["rolloutState"] != "IN_PROGRESS" else None

        final = wait_for(rolled_back, what="the rollback to end")
        self.assertTrue(any(d["rolloutState"] == "FAILED" and d["taskDefinition"] == bad
                            for d in final["deployments"]), final["deployments"])
        # The rollback runs the earlier revision, whose tasks read the same parameter: refused too.
        self.assertEqual(final["taskDefinition"], good)
        reasons = {t["stoppedReason"] for t in w.tasks("STOPPED") if t["taskDefinitionArn"] == bad}
        self.assertTrue(reasons and all("ssm:GetParameters" in r for r in reasons), reasons)


if __name__ == "__main__":
    unittest.main()
