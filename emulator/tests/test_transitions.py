"""Stage transitions (DisableStageTransition / EnableStageTransition) as AWS runs them: validated,
shown by GetPipelineState, and holding executions before a disabled stage. Checked through the
SDK."""

import time
import unittest

from botocore.exceptions import ClientError
from lifecycle_support import Emulator, wait_for
from service_world import World, make_pipeline

COMMIT = "0123456789abcdef0123456789abcdef01234567"
COMMIT2 = "fedcba9876543210fedcba9876543210fedcba98"
REASON = "waiting for svc-up - ECS service unicorn does not exist yet"


class Transitions(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator.shared()
        self.emu.reset()
        # Builds and rollouts instant: the Source action's time alone (the source_s hold, 1 s)
        # keeps the first execution from reaching Deploy before a DisableStageTransition sent
        # right after the create.
        self.emu.control("POST", "holds", {"rollout_s": 0, "build_s": 0})
        self.world = World(self.emu)
        self.first_td = self.world.register(f"{self.world.repo_uri}:latest")
        self.world.create_service(self.first_td, desired=1)
        self.cp = self.emu.client("codepipeline")

    def disable(self, reason=REASON, stage="Deploy", kind="Inbound"):
        self.cp.disable_stage_transition(pipelineName=self.name, stageName=stage, transitionType=kind,
                                         reason=reason)

    def stage(self, name):
        state = self.cp.get_pipeline_state(name=self.name)
        return next(s for s in state["stageStates"] if s["stageName"] == name)

    def execution(self, execution_id):
        return self.cp.get_pipeline_execution(pipelineName=self.name,
                                              pipelineExecutionId=execution_id)["pipelineExecution"]

    def finished(self, execution_id):
        return wait_for(lambda: (lambda e: e if e["status"] != "InProgress" else None)(self.execution(execution_id)),
                        timeout=30, what=f"execution {execution_id}")

    def built(self, execution_id):
        """Wait until the execution's Build stage has succeeded; its actions then."""
        def done():
            actions = self.cp.list_action_executions(
                pipelineName=self.name, filter={"pipelineExecutionId": execution_id})["actionExecutionDetails"]
            return actions if any(a["stageName"] == "Build" and a["status"] == "Succeeded" for a in actions) else None

        return wait_for(done, timeout=30, what="the build")

    def image(self):
        s = self.world.settled()
        td = self.emu.client("ecs").describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
        return td["containerDefinitions"][0]["image"]

    def test_a_disable_right_after_create_holds_the_first_execution_before_deploy(self):
        self.name = make_pipeline(self.world)
        self.disable()
        first = self.cp.list_pipeline_executions(pipelineName=self.name)["pipelineExecutionSummaries"][0]
        actions = self.built(first["pipelineExecutionId"])
        time.sleep(0.3)  # ticks pass; it must still be waiting
        self.assertEqual(self.execution(first["pipelineExecutionId"])["status"], "InProgress")
        self.assertNotIn("Deploy", {a["stageName"] for a in self.cp.list_action_executions(
            pipelineName=self.name, filter={"pipelineExecutionId": first["pipelineExecutionId"]}
        )["actionExecutionDetails"]})
        deploy = self.stage("Deploy")
        inbound = deploy["inboundTransitionState"]
        self.assertFalse(inbound["enabled"])
        self.assertEqual(inbound["disabledReason"], REASON)
        self.assertRegex(inbound["lastChangedBy"], r"^arn:aws:(iam|sts)::\d{12}:")
        self.assertIn("lastChangedAt", inbound)
        self.assertEqual(deploy["inboundExecution"]["pipelineExecutionId"], first["pipelineExecutionId"])
        self.assertNotIn("latestExecution", deploy)
        self.assertTrue(self.stage("Build")["inboundTransitionState"]["enabled"])
        # The build pushed the commit's image; the service still runs svc-up's.
        commit = next(a for a in actions if a["stageName"] == "Source")["output"]["executionResult"][
            "externalExecutionId"]
        tags = {t for i in self.emu.client("ecr").describe_images(repositoryName=self.world.app)["imageDetails"]
                for t in i.get("imageTags", [])}
        self.assertIn(commit[:8], tags)
        self.assertEqual(self.image(), f"{self.world.repo_uri}:latest")

        # Enabled: the waiting execution goes on through Deploy.
        self.cp.enable_stage_transition(pipelineName=self.name, stageName="Deploy", transitionType="Inbound")
        inbound = self.stage("Deploy")["inboundTransitionState"]
        self.assertTrue(inbound["enabled"])
        self.assertNotIn("disabledReason", inbound)
        self.assertEqual(self.finished(first["pipelineExecutionId"])["status"], "Succeeded")
        self.assertEqual(self.image(), f"{self.world.repo_uri}:{commit[:8]}")
        # Enabling what is enabled, and disabling twice, are accepted.
        self.cp.enable_stage_transition(pipelineName=self.name, stageName="Deploy", transitionType="Inbound")
        self.disable()
        self.disable()
        self.assertFalse(self.stage("Deploy")["inboundTransitionState"]["enabled"])

    def test_the_newest_waiting_execution_proceeds_and_older_ones_are_superseded(self):
        self.name = make_pipeline(self.world)
        self.disable()
        first = self.cp.list_pipeline_executions(pipelineName=self.name)["pipelineExecutionSummaries"][0]
        self.built(first["pipelineExecutionId"])
        ids = []
        for commit in (COMMIT, COMMIT2):
            _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": commit})
            ids.append(answer["pipelineExecutionId"])
            self.built(answer["pipelineExecutionId"])
        # Each newer one reaching the held transition superseded the one waiting there.
        self.assertEqual(self.finished(first["pipelineExecutionId"])["status"], "Superseded")
        self.assertEqual(self.finished(ids[0])["status"], "Superseded")
        self.assertEqual(self.execution(ids[1])["status"], "InProgress")
        self.assertEqual(self.stage("Deploy")["inboundExecution"]["pipelineExecutionId"], ids[1])
        self.cp.enable_stage_transition(pipelineName=self.name, stageName="Deploy", transitionType="Inbound")
        self.assertEqual(self.finished(ids[1])["status"], "Succeeded")
        self.assertEqual(self.image(), f"{self.world.repo_uri}:{COMMIT2[:8]}")

    def test_an_outbound_transition_holds_after_the_stage(self):
        self.name = make_pipeline(self.world)
        self.disable(stage="Build", kind="Outbound", reason="hold (after the build)")
        first = self.cp.list_pipeline_executions(pipelineName=self.name)["pipelineExecutionSummaries"][0]
        self.built(first["pipelineExecutionId"])
        time.sleep(0.2)
        self.assertEqual(self.execution(first["pipelineExecutionId"])["status"], "InProgress")
        # GetPipelineState shows inbound transitions only.
        self.assertTrue(self.stage("Deploy")["inboundTransitionState"]["enabled"])
        self.cp.enable_stage_transition(pipelineName=self.name, stageName="Build", transitionType="Outbound")
        self.assertEqual(self.finished(first["pipelineExecutionId"])["status"], "Succeeded")

    def test_requests_are_validated_as_aws_validates_them(self):
        self.name = make_pipeline(self.world)

        def code(call, **kw):
            with self.assertRaises(ClientError) as e:
                call(**kw)
            return e.exception.response["Error"]["Code"]

        disable = self.cp.disable_stage_transition
        enable = self.cp.enable_stage_transition
        ok = {"pipelineName": self.name, "stageName": "Deploy", "transitionType": "Inbound"}
        self.assertEqual(code(disable, **dict(ok, pipelineName="nope"), reason="r"), "PipelineNotFoundException")
        self.assertEqual(code(enable, **dict(ok, pipelineName="nope")), "PipelineNotFoundException")
        self.assertEqual(code(disable, **dict(ok, stageName="Test"), reason="r"), "StageNotFoundException")
        self.assertEqual(code(enable, **dict(ok, stageName="Test")), "StageNotFoundException")
        self.assertEqual(code(disable, **dict(ok, transitionType="Sideways"), reason="r"), "ValidationException")
        self.assertEqual(code(disable, **ok, reason="waiting: a colon"), "ValidationException")
        self.assertEqual(code(disable, **ok, reason="x" * 301), "ValidationException")
        self.assertEqual(code(disable, **dict(ok, stageName="bad/name"), reason="r"), "ValidationException")
        # None of them changed anything.
        self.assertTrue(self.stage("Deploy")["inboundTransitionState"]["enabled"])
        disable(**ok, reason="x" * 300)
        self.assertEqual(self.stage("Deploy")["inboundTransitionState"]["disabledReason"], "x" * 300)

    def test_a_deleted_and_remade_pipeline_starts_with_its_transitions_enabled(self):
        self.name = make_pipeline(self.world)
        self.disable()
        declaration = self.cp.get_pipeline(name=self.name)["pipeline"]
        self.cp.delete_pipeline(name=self.name)
        self.cp.create_pipeline(pipeline=declaration)
        self.assertTrue(self.stage("Deploy")["inboundTransitionState"]["enabled"])


if __name__ == "__main__":
    unittest.main()
