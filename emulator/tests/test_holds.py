"""Holds: registered keys only, and the service-linked-role lag they drive."""

import unittest

from support import emu
from test_validation import error

RULE = dict(
    EventTypeIds=["codepipeline-pipeline-pipeline-execution-failed"],
    Resource="arn:aws:codepipeline:us-west-2:123456789012:backstage",
    Targets=[{"TargetType": "SNS", "TargetAddress": "arn:aws:sns:us-west-2:123456789012:t"}],
    DetailType="FULL",
)


def drop_role(name):
    """Delete a service-linked role, so a test can create it again (moto is not reset)."""
    from moto.iam.models import iam_backends

    from stagehand_emulator.fidelity import iam

    backend = iam_backends["123456789012"]["aws"]
    for role in list(backend.roles.values()):
        if role.name == name:
            backend.delete_service_linked_role(role.name)
    with iam._lock:
        iam._created.clear()


def lag_passes():
    """Let every service-linked role's lag run out (as if its hold had elapsed)."""
    from stagehand_emulator.fidelity import iam

    with iam._lock:
        for key, (born, lag) in list(iam._created.items()):
            iam._created[key] = (born - lag - 1, lag)


class Holds(unittest.TestCase):
    def setUp(self):
        emu.reset()

    def test_unknown_hold_key_is_a_400_and_known_ones_are_listed(self):
        answer = emu.control("POST", "holds", {"slr_lag": 1}, expect=400)
        self.assertIn("unknown hold key(s) slr_lag", answer["error"])
        emu.control("POST", "holds", {"slr_lag_s": -1}, expect=400)
        described = emu.control("GET", "holds")
        for key in ("slr_lag_s", "codestar_slr_lag_s", "eni_linger_s", "rds_cluster_s", "alb_s", "nat_gateway_s"):
            self.assertIn(key, described)
            self.assertTrue(described[key]["holds"])

    def test_unknown_fault_kind_or_key_is_a_400(self):
        emu.control("POST", "faults", [{"kind": "vanish"}], expect=400)
        emu.control("POST", "faults", [{"kind": "lost", "actoin": "X"}], expect=400)


class ServiceLinkedRoleLag(unittest.TestCase):
    def setUp(self):
        emu.reset()
        drop_role("AWSServiceRoleForECS")
        drop_role("AWSServiceRoleForCodeStarNotifications")

    def test_ecs_capacity_providers_fail_until_the_role_can_be_assumed(self):
        emu.control("POST", "holds", {"slr_lag_s": 600})
        emu.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        ecs = emu.client("ecs")
        name, plain = emu.unique("core-infra"), emu.unique("plain")
        code, message, _ = error(lambda: ecs.create_cluster(
            clusterName=name, capacityProviders=["FARGATE", "FARGATE_SPOT"]))
        self.assertEqual(code, "InvalidParameterException")
        self.assertEqual(message, "Unable to assume the service linked role. Please verify "
                                  "that the ECS service linked role exists.")
        self.assertFalse([a for a in ecs.list_clusters()["clusterArns"] if a.endswith("/" + name)])
        ecs.create_cluster(clusterName=plain)  # no capacity providers: no role needed
        code, _, _ = error(lambda: ecs.put_cluster_capacity_providers(
            cluster=plain, capacityProviders=["FARGATE"], defaultCapacityProviderStrategy=[]))
        self.assertEqual(code, "InvalidParameterException")
        lag_passes()
        ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE"])

    def test_codestar_rules_fail_until_the_role_can_be_used(self):
        emu.control("POST", "holds", {"slr_lag_s": 600})
        emu.client("iam").create_service_linked_role(
            AWSServiceName="codestar-notifications.amazonaws.com")
        cs = emu.client("codestar-notifications")
        name = emu.unique("rule")
        code, message, _ = error(lambda: cs.create_notification_rule(Name=name, **RULE))
        self.assertEqual(code, "ConfigurationException")
        self.assertIn("might take up to 15 minutes", message)
        lag_passes()
        cs.create_notification_rule(Name=name, **RULE)

    def test_the_first_cluster_of_an_account_makes_the_ecs_role_and_meets_its_lag(self):
        emu.control("POST", "holds", {"slr_lag_s": 600})
        ecs, iam = emu.client("ecs"), emu.client("iam")
        name = emu.unique("core-infra")
        code, message, _ = error(lambda: ecs.create_cluster(
            clusterName=name, capacityProviders=["FARGATE"]))
        self.assertEqual(code, "InvalidParameterException")
        self.assertIn("Unable to assume the service linked role", message)
        role = iam.get_role(RoleName="AWSServiceRoleForECS")["Role"]
        self.assertEqual(role["Path"], "/aws-service-role/ecs.amazonaws.com/")
        emu.control("POST", "holds", {"slr_lag_s": 0})
        ecs.create_cluster(clusterName=name, capacityProviders=["FARGATE"])

    def test_without_the_hold_a_cluster_makes_no_role(self):
        emu.client("ecs").create_cluster(clusterName=emu.unique("c"), capacityProviders=["FARGATE"])
        code, _, _ = error(lambda: emu.client("iam").get_role(RoleName="AWSServiceRoleForECS"))
        self.assertEqual(code, "NoSuchEntity")

    def test_codestar_lags_longer_when_its_own_hold_says_so(self):
        emu.control("POST", "holds", {"slr_lag_s": 600, "codestar_slr_lag_s": 600})
        iam = emu.client("iam")
        iam.create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        iam.create_service_linked_role(AWSServiceName="codestar-notifications.amazonaws.com")
        ecs, cs = emu.client("ecs"), emu.client("codestar-notifications")
        cluster, rule = emu.unique("core-infra"), emu.unique("rule")
        # Lowering slr_lag_s ends ECS's lag; CodeStar's own hold keeps its role lagging.
        emu.control("POST", "holds", {"slr_lag_s": 0})
        ecs.create_cluster(clusterName=cluster, capacityProviders=["FARGATE"])
        code, _, _ = error(lambda: cs.create_notification_rule(Name=rule, **RULE))
        self.assertEqual(code, "ConfigurationException")
        emu.control("POST", "holds", {"codestar_slr_lag_s": 0})
        cs.create_notification_rule(Name=rule, **RULE)

    def test_raising_the_hold_does_not_lengthen_a_lag(self):
        emu.control("POST", "holds", {"slr_lag_s": 0})
        emu.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        emu.control("POST", "holds", {"slr_lag_s": 600})
        emu.client("ecs").create_cluster(clusterName=emu.unique("c"), capacityProviders=["FARGATE"])

    def test_a_role_made_before_the_hold_is_usable(self):
        emu.client("iam").create_service_linked_role(AWSServiceName="ecs.amazonaws.com")
        emu.control("POST", "holds", {"slr_lag_s": 60})
        emu.client("ecs").create_cluster(clusterName=emu.unique("c"), capacityProviders=["FARGATE"])


if __name__ == "__main__":
    unittest.main()
