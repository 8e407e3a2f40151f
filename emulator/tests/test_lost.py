"""Lost responses (the call is applied, its answer never arrives, the SDK retries) and the
retried creates that AWS answers with the first call's resource."""

import unittest

from support import emu
from test_limits import network
from test_validation import error

RULE = dict(
    EventTypeIds=["codepipeline-pipeline-pipeline-execution-failed"],
    Resource="arn:aws:codepipeline:us-west-2:123456789012:backstage",
    Targets=[{"TargetType": "SNS", "TargetAddress": "arn:aws:sns:us-west-2:123456789012:t"}],
    DetailType="FULL",
)


def lose(service, action):
    emu.control("POST", "faults", [{"service": service, "action": action, "kind": "lost", "times": 1}])


class LostResponses(unittest.TestCase):
    def setUp(self):
        emu.reset()

    def test_a_lost_answer_means_the_call_happened_and_the_retry_runs_it_again(self):
        ec2 = emu.client("ec2", attempts=3)
        tag = emu.unique("lost-vpc")
        mark = emu.mark()
        lose("ec2", "CreateVpc")
        ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[
            {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": tag}]}])
        self.assertEqual(emu.calls(mark)["by_action"]["ec2:CreateVpc"], 2)
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [tag]}])["Vpcs"]
        self.assertEqual(len(vpcs), 2)  # CreateVpc has no idempotency token, on AWS either

    def test_without_a_retry_the_client_sees_a_transport_error(self):
        ec2 = emu.client("ec2", attempts=1)
        tag = emu.unique("lost-vpc")
        lose("ec2", "CreateVpc")
        with self.assertRaises(Exception) as raised:
            ec2.create_vpc(CidrBlock="10.9.0.0/16", TagSpecifications=[
                {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": tag}]}])
        self.assertNotIn("ClientError", type(raised.exception).__name__)
        self.assertEqual(len(ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [tag]}])["Vpcs"]), 1)

    def test_route_table_client_token(self):
        ec2 = emu.client("ec2", attempts=3)
        vpc, _ = network()
        lose("ec2", "CreateRouteTable")
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]  # boto3 fills ClientToken
        tables = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["RouteTables"]
        self.assertEqual(sorted(t["RouteTableId"] for t in tables if not any(
            a.get("Main") for a in t.get("Associations", []))), [table["RouteTableId"]])
        again = ec2.create_route_table(VpcId=vpc, ClientToken="t-1")["RouteTable"]
        self.assertEqual(ec2.create_route_table(VpcId=vpc, ClientToken="t-1")["RouteTable"]["RouteTableId"],
                         again["RouteTableId"])
        other_vpc, _ = network()
        self.assertEqual(error(lambda: ec2.create_route_table(VpcId=other_vpc, ClientToken="t-1"))[0],
                         "IdempotentParameterMismatch")

    def test_codestar_rule_client_request_token(self):
        emu.client("iam").create_service_linked_role(AWSServiceName="codestar-notifications.amazonaws.com") \
            if not any(r["RoleName"] == "AWSServiceRoleForCodeStarNotifications"
                       for r in emu.client("iam").list_roles(PathPrefix="/aws-service-role/")["Roles"]) else None
        cs = emu.client("codestar-notifications", attempts=3)
        name = emu.unique("rule")
        lose("codestar-notifications", "CreateNotificationRule")
        arn = cs.create_notification_rule(Name=name, **RULE)["Arn"]  # boto3 fills the token
        rules = cs.list_notification_rules(Filters=[{"Name": "RESOURCE", "Value": RULE["Resource"]}])
        mine = [r for r in rules["NotificationRules"]
                if cs.describe_notification_rule(Arn=r["Arn"])["Name"] == name]
        self.assertEqual([r["Arn"] for r in mine], [arn])
        code, _, _ = error(lambda: cs.create_notification_rule(Name=name, **RULE))
        self.assertEqual(code, "ResourceAlreadyExistsException")  # a new token: a second create

    def test_cloud_map_service_creator_request_id(self):
        sd = emu.client("servicediscovery", attempts=3)
        vpc, _ = network()
        op = sd.create_private_dns_namespace(Name=emu.unique("ns") + ".local", Vpc=vpc)["OperationId"]
        ns = sd.get_operation(OperationId=op)["Operation"]["Targets"]["NAMESPACE"]
        lose("servicediscovery", "CreateService")
        svc = sd.create_service(Name="app", NamespaceId=ns, CreatorRequestId="req-1")["Service"]
        services = sd.list_services(Filters=[{"Name": "NAMESPACE_ID", "Values": [ns]}])["Services"]
        self.assertEqual([s["Id"] for s in services], [svc["Id"]])
        try:
            sd.create_service(Name="app", NamespaceId=ns, CreatorRequestId="req-2")
            self.fail("a second service of one name was created")
        except sd.exceptions.ServiceAlreadyExists as e:
            self.assertEqual(e.response["ServiceId"], svc["Id"])
            self.assertEqual(e.response["CreatorRequestId"], "req-1")

    def test_listener_and_target_group_repeat_as_aws_does(self):
        vpc, subnets = network()
        elb = emu.client("elbv2", attempts=3)
        lb = elb.create_load_balancer(Name=emu.unique("web"), Subnets=subnets)["LoadBalancers"][0]
        tg_name = emu.unique("tg")
        settings = dict(Name=tg_name, Protocol="HTTP", Port=7007, VpcId=vpc, TargetType="ip",
                        HealthCheckPath="/healthcheck")
        lose("elasticloadbalancing", "CreateTargetGroup")
        tg = elb.create_target_group(**settings)["TargetGroups"][0]
        self.assertEqual(elb.create_target_group(**settings)["TargetGroups"][0]["TargetGroupArn"],
                         tg["TargetGroupArn"])
        self.assertEqual(error(lambda: elb.create_target_group(**{**settings, "Port": 8080}))[0],
                         "DuplicateTargetGroupName")

        forward = [{"Type": "forward", "TargetGroupArn": tg["TargetGroupArn"]}]
        lose("elasticloadbalancing", "CreateListener")
        listener = elb.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP",
                                       Port=80, DefaultActions=forward)["Listeners"][0]
        listeners = elb.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
        self.assertEqual([x["ListenerArn"] for x in listeners], [listener["ListenerArn"]])
        redirect = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443",
                                                            "StatusCode": "HTTP_301"}}]
        code, _, _ = error(lambda: elb.create_listener(
            LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=redirect))
        self.assertEqual(code, "DuplicateListener")


if __name__ == "__main__":
    unittest.main()
