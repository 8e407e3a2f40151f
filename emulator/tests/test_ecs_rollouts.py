"""ECS rollouts as the emulator runs them: tasks that start and stop, target health that follows
the rollout, task log lines, Fargate network interfaces that linger, and rollouts made to fail
through POST /_stagehand/ecs/fail-rollout. Checked through the SDK, as a user would."""

import unittest

from lifecycle_support import Emulator, wait_for
from service_world import World


def states(world):
    health = world.emu.client("elbv2").describe_target_health(TargetGroupArn=world.tg)
    return sorted(h["TargetHealth"]["State"] for h in health["TargetHealthDescriptions"])


class Rollouts(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator.shared()
        self.emu.reset()
        self.world = World(self.emu)
        self.world.push("v1")
        self.td1 = self.world.register(f"{self.world.repo_uri}:v1")

    def test_a_rollout_starts_tasks_whose_targets_turn_healthy_and_whose_logs_name_them(self):
        # Long enough to look at the halfway point on a loaded machine.
        self.emu.control("POST", "holds", {"rollout_s": 4})
        w = self.world
        created = w.create_service(self.td1, desired=2)
        self.assertEqual(created["deployments"][0]["rolloutState"], "IN_PROGRESS")
        self.assertEqual(created["runningCount"], 0)
        # Halfway: the tasks run and their targets are registering.
        wait_for(lambda: len(w.tasks()) == 2, what="two running tasks")
        self.assertEqual(states(w), ["initial", "initial"])
        self.assertEqual(w.describe()["deployments"][0]["rolloutState"], "IN_PROGRESS")
        s = w.settled()
        self.assertEqual(s["deployments"][0]["rolloutState"], "COMPLETED")
        self.assertEqual(s["runningCount"], 2)
        self.assertEqual(states(w), ["healthy", "healthy"])

        tasks = w.tasks()
        enis = self.emu.client("ec2").describe_network_interfaces()["NetworkInterfaces"]
        by_id = {e["NetworkInterfaceId"]: e for e in enis}
        ips = set()
        for task in tasks:
            details = {d["name"]: d["value"] for d in task["attachments"][0]["details"]}
            eni = by_id[details["networkInterfaceId"]]
            self.assertTrue(eni["RequesterManaged"])
            self.assertIn(eni["SubnetId"], w.subnets)
            self.assertEqual([g["GroupId"] for g in eni["Groups"]], [w.sg])
            ips.add(details["privateIPv4Address"])
        health = self.emu.client("elbv2").describe_target_health(TargetGroupArn=w.tg)
        self.assertEqual({h["Target"]["Id"] for h in health["TargetHealthDescriptions"]}, ips)

        logs = self.emu.client("logs")
        for task in tasks:
            task_id = task["taskArn"].rsplit("/", 1)[-1]
            events = logs.get_log_events(logGroupName=w.log_group, logStreamName=f"ecs/{w.app}/{task_id}")["events"]
            self.assertTrue(any(task_id in e["message"] for e in events), events)
            self.assertTrue(any("Listening on :7007" in e["message"] for e in events), events)

    def test_a_new_deployment_replaces_the_tasks_and_the_old_targets_drain(self):
        w = self.world
        self.emu.control("POST", "holds", {"rollout_s": 0})
        w.create_service(self.td1, desired=2)
        old = {t["taskArn"] for t in wait_for(lambda: w.tasks() if len(w.tasks()) == 2 else None)}
        self.emu.control("POST", "holds", {"rollout_s": 2})
        w.push("v2")
        self.emu.client("ecs").update_service(cluster=w.cluster, service=w.service,
                                              taskDefinition=w.register(f"{w.repo_uri}:v2"))
        s = w.describe()
        self.assertEqual([d["status"] for d in s["deployments"]], ["PRIMARY", "ACTIVE"])
        s = w.settled()
        self.assertEqual(len(s["deployments"]), 1)
        self.assertEqual({t["taskArn"] for t in w.tasks()} & old, set(), "the old tasks were replaced")
        stopped = [t for t in w.tasks("STOPPED") if t["taskArn"] in old]
        self.assertEqual(len(stopped), 2)
        self.assertTrue(all(t["stopCode"] == "ServiceSchedulerInitiated" for t in stopped))
        self.assertEqual(states(w), ["draining", "draining", "healthy", "healthy"])
        wait_for(lambda: states(w) == ["healthy", "healthy"], what="the old targets to drain")

    def test_fail_rollout_fails_the_next_deployment_and_the_circuit_breaker_rolls_back(self):
        w = self.world
        self.emu.control("POST", "holds", {"rollout_s": 0})
        w.create_service(self.td1, desired=2)
        w.settled()
        status, armed = self.emu.control("POST", "ecs/fail-rollout",
                                         {"service": w.service, "times": 1, "reason": "boom: exit 1"})
        self.assertEqual(status, 200, armed)
        w.push("v2")
        td2 = w.register(f"{w.repo_uri}:v2")
        self.emu.client("ecs").update_service(cluster=w.cluster, service=w.service, taskDefinition=td2)
        s = wait_for(lambda: (lambda s: s if any(d["rolloutState"] == "FAILED" for d in s["deployments"])
                              or s["taskDefinition"] == self.td1 else None)(w.describe()), what="the failure")
        failed_tasks = [t for t in w.tasks("STOPPED") if t["taskDefinitionArn"] == td2]
        self.assertTrue(failed_tasks)
        for task in failed_tasks:
            self.assertEqual(task["stoppedReason"], "Essential container in task exited")
            self.assertEqual(task["containers"][0]["reason"], "boom: exit 1")
            self.assertEqual(task["containers"][0]["exitCode"], 1)
        s = wait_for(lambda: (lambda s: s if len(s["deployments"]) == 1
                              and s["deployments"][0]["rolloutState"] == "COMPLETED" else None)(w.describe()),
                     what="the rollback")
        self.assertEqual(s["taskDefinition"], self.td1)
        self.assertTrue(any("Rolling back" in e["message"] for e in s["events"]))
        # Only the next deployment: the one after rolls out.
        self.emu.client("ecs").update_service(cluster=w.cluster, service=w.service, taskDefinition=td2)
        self.assertEqual(w.settled()["deployments"][0]["rolloutState"], "COMPLETED")

    def test_fail_rollout_refuses_what_it_does_not_understand(self):
        status, answer = self.emu.control("POST", "ecs/fail-rollout", {"service": "x", "time": 1})
        self.assertEqual(status, 400)
        self.assertIn("time", answer["error"])
        status, _ = self.emu.control("POST", "ecs/fail-rollout", {"times": 1})
        self.assertEqual(status, 400)

    def test_scaling_starts_and_stops_tasks_and_delete_service_stops_them_all(self):
        w = self.world
        self.emu.control("POST", "holds", {"rollout_s": 0})
        w.create_service(self.td1, desired=1)
        w.settled()
        ecs = self.emu.client("ecs")
        ecs.update_service(cluster=w.cluster, service=w.service, desiredCount=3)
        wait_for(lambda: len(w.tasks()) == 3, what="three tasks")
        self.assertEqual(len(w.describe()["deployments"]), 1, "scaling is not a new deployment")
        ecs.update_service(cluster=w.cluster, service=w.service, desiredCount=0)
        wait_for(lambda: not w.tasks(), what="no task")
        self.assertEqual(w.describe()["runningCount"], 0)
        ecs.update_service(cluster=w.cluster, service=w.service, desiredCount=1)
        wait_for(lambda: len(w.tasks()) == 1, what="one task")
        ecs.delete_service(cluster=w.cluster, service=w.service, force=True)
        self.assertEqual(w.tasks(), [])
        ecs.delete_cluster(cluster=w.cluster)  # no running task holds it

    def test_a_stopped_tasks_interface_lingers_for_the_hold_and_holds_its_subnet(self):
        w = self.world
        # Long enough to look at it on a loaded machine.
        self.emu.control("POST", "holds", {"rollout_s": 0, "eni_linger_s": 4})
        w.create_service(self.td1, desired=1)
        w.settled()
        ecs = self.emu.client("ecs")
        ecs.update_service(cluster=w.cluster, service=w.service, desiredCount=0)
        ecs.delete_service(cluster=w.cluster, service=w.service)
        ec2 = self.emu.client("ec2")
        left = ec2.describe_network_interfaces(Filters=[{"Name": "vpc-id", "Values": [w.vpc]}])["NetworkInterfaces"]
        self.assertEqual(len(left), 1)
        subnet = left[0]["SubnetId"]
        with self.assertRaises(Exception) as refused:
            ec2.delete_subnet(SubnetId=subnet)
        self.assertIn("DependencyViolation", str(refused.exception))
        wait_for(lambda: not ec2.describe_network_interfaces(
            Filters=[{"Name": "vpc-id", "Values": [w.vpc]}])["NetworkInterfaces"], what="the interface to go")
        ec2.delete_subnet(SubnetId=subnet)


if __name__ == "__main__":
    unittest.main()
