"""Pipeline executions as the emulator runs them (issue 12): the commit, the build pushing the
image, the ECS deploy; pushes and failures through the control API. Checked through the SDK."""

import io
import json
import time
import unittest
import zipfile

from lifecycle_support import Emulator, wait_for
from service_world import World, make_pipeline

COMMIT = "0123456789abcdef0123456789abcdef01234567"
COMMIT2 = "fedcba9876543210fedcba9876543210fedcba98"


class Pipelines(unittest.TestCase):
    def setUp(self):
        self.emu = Emulator.shared()
        self.emu.reset()
        self.emu.control("POST", "holds", {"rollout_s": 0, "build_s": 0})
        self.world = World(self.emu)
        # svc-up's first revision names a tag the pipeline has not pushed yet.
        self.first_td = self.world.register(f"{self.world.repo_uri}:latest")
        self.world.create_service(self.first_td, desired=2)
        self.cp = self.emu.client("codepipeline")

    def executions(self):
        return self.cp.list_pipeline_executions(pipelineName=self.name)["pipelineExecutionSummaries"]

    def finished(self, execution_id):
        def done():
            e = self.cp.get_pipeline_execution(pipelineName=self.name, pipelineExecutionId=execution_id)
            return e["pipelineExecution"] if e["pipelineExecution"]["status"] != "InProgress" else None

        return wait_for(done, timeout=30, what=f"execution {execution_id}")

    def first_run(self):
        self.name = make_pipeline(self.world)
        runs = self.executions()
        self.assertEqual(len(runs), 1)
        self.assertEqual(runs[0]["trigger"]["triggerType"], "CreatePipeline")
        return self.finished(runs[0]["pipelineExecutionId"])

    def running_image(self):
        w = self.world
        s = w.settled()
        td = self.emu.client("ecs").describe_task_definition(taskDefinition=s["taskDefinition"])["taskDefinition"]
        return s, td

    def tags(self):
        images = self.emu.client("ecr").describe_images(repositoryName=self.world.app)["imageDetails"]
        return {t: i["imageDigest"] for i in images for t in i.get("imageTags", [])}

    def test_creating_a_pipeline_runs_it_and_the_service_runs_the_commits_image(self):
        w = self.world
        execution = self.first_run()
        self.assertEqual(execution["status"], "Succeeded")
        commit = execution["artifactRevisions"][0]["revisionId"]
        self.assertRegex(commit, r"^[0-9a-f]{40}$")

        tags = self.tags()
        self.assertIn(commit[:8], tags)
        self.assertEqual(tags["latest"], tags[commit[:8]], "latest and the commit tag are one image")

        s, td = self.running_image()
        self.assertEqual(td["containerDefinitions"][0]["image"], f"{w.repo_uri}:{commit[:8]}")
        self.assertEqual(s["deployments"][0]["rolloutState"], "COMPLETED")
        self.assertEqual(s["runningCount"], 2)
        # The deploy copied svc-up's revision, the image aside.
        first = self.emu.client("ecs").describe_task_definition(taskDefinition=self.first_td)["taskDefinition"]
        self.assertEqual(td["revision"], first["revision"] + 1)
        for key in ("cpu", "memory", "executionRoleArn", "networkMode", "requiresCompatibilities"):
            self.assertEqual(td.get(key), first.get(key), key)
        strip = [dict(c, image=None) for c in first["containerDefinitions"]]
        self.assertEqual([dict(c, image=None) for c in td["containerDefinitions"]], strip)

        actions = self.cp.list_action_executions(
            pipelineName=self.name, filter={"pipelineExecutionId": execution["pipelineExecutionId"]}
        )["actionExecutionDetails"]
        self.assertEqual(sorted((a["stageName"], a["status"]) for a in actions),
                         [("Build", "Succeeded"), ("Deploy", "Succeeded"), ("Source", "Succeeded")])
        build_id = next(a for a in actions if a["stageName"] == "Build")["output"]["executionResult"]["externalExecutionId"]
        build = self.emu.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        self.assertEqual((build["buildStatus"], build["resolvedSourceVersion"]), ("SUCCEEDED", commit))
        self.assertEqual(build["initiator"], f"codepipeline/{self.name}")
        events = self.emu.client("logs").get_log_events(
            logGroupName=f"/aws/codebuild/{w.app}", logStreamName=build["logs"]["streamName"])["events"]
        self.assertTrue(any(f"docker push {w.repo_uri}:{commit[:8]}" in e["message"] for e in events))

        artifact = next(a for a in actions if a["stageName"] == "Build")["output"]["outputArtifacts"][0]["s3location"]
        body = self.emu.client("s3").get_object(Bucket=artifact["bucket"], Key=artifact["key"])["Body"].read()
        definitions = json.loads(zipfile.ZipFile(io.BytesIO(body)).read("imagedefinition.json"))
        self.assertEqual(definitions, [{"name": w.app, "imageUri": f"{w.repo_uri}:{commit[:8]}"}])

        state = self.cp.get_pipeline_state(name=self.name)
        self.assertEqual([(st["stageName"], st["latestExecution"]["status"]) for st in state["stageStates"]],
                         [("Source", "Succeeded"), ("Build", "Succeeded"), ("Deploy", "Succeeded")])
        self.assertEqual(state["stageStates"][0]["actionStates"][0]["currentRevision"]["revisionId"], commit)

    def test_creating_a_pipeline_whose_name_is_in_use_answers_pipeline_name_in_use(self):
        self.first_run()
        declaration = self.cp.get_pipeline(name=self.name)["pipeline"]
        with self.assertRaises(self.cp.exceptions.PipelineNameInUseException):
            self.cp.create_pipeline(pipeline=declaration)
        runs = self.executions()
        self.assertEqual(len(runs), 1, "the refused create started no execution")

    def test_a_push_deploys_the_pushed_commit(self):
        self.first_run()
        status, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": COMMIT,
                                                                      "message": "Add the catalog"})
        self.assertEqual(status, 200, answer)
        execution = self.finished(answer["pipelineExecutionId"])
        self.assertEqual(execution["status"], "Succeeded")
        summary = self.executions()[0]
        self.assertEqual(summary["trigger"]["triggerType"], "PollForSourceChanges")
        self.assertEqual(summary["sourceRevisions"][0]["revisionId"], COMMIT)
        self.assertEqual(summary["sourceRevisions"][0]["revisionSummary"], "Add the catalog")
        _, td = self.running_image()
        self.assertEqual(td["containerDefinitions"][0]["image"], f"{self.world.repo_uri}:{COMMIT[:8]}")
        self.assertEqual(self.tags()["latest"], self.tags()[COMMIT[:8]])

        # StartPipelineExecution releases the branch's head again: the same commit.
        again = self.cp.start_pipeline_execution(name=self.name)["pipelineExecutionId"]
        self.assertEqual(self.finished(again)["artifactRevisions"][0]["revisionId"], COMMIT)
        self.assertEqual(self.executions()[0]["trigger"]["triggerType"], "StartPipelineExecution")

    def test_a_failed_build_fails_the_execution_in_the_build_stage(self):
        self.first_run()
        _, before = self.running_image()
        status, armed = self.emu.control("POST", "pipeline/fail", {"pipeline": self.name, "stage": "Build",
                                                                     "times": 1})
        self.assertEqual(status, 200, armed)
        _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": COMMIT})
        execution = self.finished(answer["pipelineExecutionId"])
        self.assertEqual(execution["status"], "Failed")
        self.assertIn("Build", execution["statusSummary"])
        state = self.cp.get_pipeline_state(name=self.name)
        build_state = next(s for s in state["stageStates"] if s["stageName"] == "Build")
        self.assertEqual(build_state["latestExecution"]["status"], "Failed")
        latest = build_state["actionStates"][0]["latestExecution"]
        self.assertEqual(latest["status"], "Failed")
        self.assertIn("Build terminated with state: FAILED", latest["errorDetails"]["message"])
        deploy_state = next(s for s in state["stageStates"] if s["stageName"] == "Deploy")
        self.assertNotEqual(deploy_state["latestExecution"]["pipelineExecutionId"], answer["pipelineExecutionId"])

        build = self.emu.client("codebuild").batch_get_builds(ids=[latest["externalExecutionId"]])["builds"][0]
        self.assertEqual(build["buildStatus"], "FAILED")
        events = self.emu.client("logs").get_log_events(
            logGroupName=f"/aws/codebuild/{self.world.app}", logStreamName=build["logs"]["streamName"])["events"]
        self.assertTrue(any("POST /_stagehand/pipeline/fail" in e["message"] for e in events), events)
        self.assertNotIn(COMMIT[:8], self.tags())
        _, after = self.running_image()
        self.assertEqual(after["taskDefinitionArn"], before["taskDefinitionArn"])

        # Once: the next push builds and deploys.
        _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": COMMIT2})
        self.assertEqual(self.finished(answer["pipelineExecutionId"])["status"], "Succeeded")

    def test_a_failed_deploy_fails_the_action_and_the_service_rolls_back(self):
        self.first_run()
        _, before = self.running_image()
        self.emu.control("POST", "pipeline/fail", {"pipeline": self.name, "stage": "Deploy"})
        _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": COMMIT})
        execution = self.finished(answer["pipelineExecutionId"])
        self.assertEqual(execution["status"], "Failed")
        deploy = next(a for a in self.cp.list_action_executions(
            pipelineName=self.name, filter={"pipelineExecutionId": answer["pipelineExecutionId"]})["actionExecutionDetails"]
            if a["stageName"] == "Deploy")
        self.assertEqual(deploy["status"], "Failed")
        self.assertIn("failed", deploy["output"]["executionResult"]["errorDetails"]["message"])
        self.assertIn(COMMIT[:8], self.tags(), "the build pushed before the deploy failed")
        s = wait_for(lambda: (lambda s: s if len(s["deployments"]) == 1 else None)(self.world.describe()),
                     what="the rollback")
        self.assertEqual(s["taskDefinition"], before["taskDefinitionArn"])

    def test_a_build_is_in_progress_for_the_build_hold(self):
        self.emu.control("POST", "holds", {"build_s": 1.5})
        self.name = make_pipeline(self.world)
        cb = self.emu.client("codebuild")
        project = f"codebuild-{self.world.app}"
        ids = wait_for(lambda: cb.list_builds_for_project(projectName=project)["ids"], what="the pipeline's build")
        build = cb.batch_get_builds(ids=ids)["builds"][0]
        self.assertEqual(build["buildStatus"], "IN_PROGRESS")
        self.assertEqual(self.executions()[0]["status"], "InProgress")
        self.assertEqual(self.finished(self.executions()[0]["pipelineExecutionId"])["status"], "Succeeded")
        self.assertEqual(cb.batch_get_builds(ids=ids)["builds"][0]["buildStatus"], "SUCCEEDED")

        # StartBuild by hand runs the same build.
        started = cb.start_build(projectName=project, sourceVersion=COMMIT)["build"]
        self.assertEqual(started["buildStatus"], "IN_PROGRESS")
        done = wait_for(lambda: (lambda b: b if b["buildStatus"] != "IN_PROGRESS" else None)(
            cb.batch_get_builds(ids=[started["id"]])["builds"][0]), what="the build")
        self.assertEqual(done["buildStatus"], "SUCCEEDED")
        self.assertIn(COMMIT[:8], self.tags())

    def test_a_newer_execution_supersedes_one_waiting_for_a_stage(self):
        # Long enough for both pushes' Source actions (one at a time, source_s each) to end
        # while the first build still holds the Build stage.
        self.emu.control("POST", "holds", {"build_s": 4})
        self.name = make_pipeline(self.world)
        first = self.executions()[0]["pipelineExecutionId"]
        wait_for(lambda: self.cp.get_pipeline_state(name=self.name)["stageStates"][1].get("latestExecution"),
                 what="the first build")
        ids = []
        for commit in (COMMIT, COMMIT2):
            _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": commit})
            ids.append(answer["pipelineExecutionId"])
            time.sleep(0.05)
        outcomes = [self.finished(i)["status"] for i in [first] + ids]
        self.assertEqual(outcomes, ["Succeeded", "Superseded", "Succeeded"])
        _, td = self.running_image()
        self.assertEqual(td["containerDefinitions"][0]["image"], f"{self.world.repo_uri}:{COMMIT2[:8]}")

    def test_a_failure_armed_before_the_pipeline_exists_fails_its_first_run(self):
        status, answer = self.emu.control("POST", "pipeline/fail", {"pipeline": f"{self.world.app}-pipeline",
                                                                      "stage": "Build"})
        self.assertEqual((status, answer["pipeline_exists"]), (200, False))
        execution = self.first_run()
        self.assertEqual(execution["status"], "Failed")
        self.assertIn("Stage Build failed", execution["statusSummary"])

    def policy(self, role, name):
        """An inline policy as a dict (boto3 decodes IAM's URL-encoded JSON)."""
        doc = self.emu.client("iam").get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        return json.loads(doc) if isinstance(doc, str) else doc

    def test_the_roles_permissions_are_what_aws_checks(self):
        w = self.world
        iam = self.emu.client("iam")
        # The build's role may not push: the build fails in POST_BUILD with docker's "denied".
        self.name = make_pipeline(w)
        self.assertEqual(self.finished(self.executions()[0]["pipelineExecutionId"])["status"], "Succeeded")
        policy = self.policy(f"{w.app}-build", "build")
        policy["Statement"] = [st for st in policy["Statement"] if st["Sid"] != "Push"]
        iam.put_role_policy(RoleName=f"{w.app}-build", PolicyName="build", PolicyDocument=json.dumps(policy))
        _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": COMMIT})
        execution = self.finished(answer["pipelineExecutionId"])
        self.assertEqual(execution["status"], "Failed")
        self.assertIn("POST_BUILD", execution["statusSummary"])
        build_id = next(a for a in self.cp.list_action_executions(
            pipelineName=self.name, filter={"pipelineExecutionId": answer["pipelineExecutionId"]}
        )["actionExecutionDetails"] if a["stageName"] == "Build")["output"]["executionResult"]["externalExecutionId"]
        build = self.emu.client("codebuild").batch_get_builds(ids=[build_id])["builds"][0]
        events = self.emu.client("logs").get_log_events(
            logGroupName=f"/aws/codebuild/{w.app}", logStreamName=build["logs"]["streamName"])["events"]
        self.assertTrue(any(e["message"].startswith("denied: User: arn:aws:sts::") and "ecr:" in e["message"]
                            for e in events), events)

        # The pipeline's role may not pass the execution role to ECS: the Deploy action fails.
        iam.put_role_policy(RoleName=f"{w.app}-build", PolicyName="build", PolicyDocument=json.dumps(
            dict(policy, Statement=policy["Statement"] + [{
                "Sid": "Push", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"}])))
        pipeline_policy = self.policy(f"{w.app}-pipeline", "pipeline")
        pipeline_policy["Statement"] = [st for st in pipeline_policy["Statement"] if st["Sid"] != "PassRoles"]
        iam.put_role_policy(RoleName=f"{w.app}-pipeline", PolicyName="pipeline",
                            PolicyDocument=json.dumps(pipeline_policy))
        _, answer = self.emu.control("POST", "pipeline/push", {"pipeline": self.name, "commit": COMMIT2})
        execution = self.finished(answer["pipelineExecutionId"])
        self.assertEqual(execution["status"], "Failed")
        self.assertIn("Stage Deploy failed", execution["statusSummary"])
        self.assertIn("iam:PassRole", execution["statusSummary"])

    def test_control_requests_are_checked(self):
        self.name = make_pipeline(self.world)
        for body, status in [
            ({"pipeline": self.name, "commit": "abc"}, 400),
            ({"pipeline": self.name, "commit": COMMIT, "branch": "main"}, 400),
            ({"pipeline": "nope", "commit": COMMIT}, 404),
        ]:
            self.assertEqual(self.emu.control("POST", "pipeline/push", body)[0], status, body)
        for body, status in [
            ({"pipeline": self.name, "stage": "Source"}, 400),
            ({"pipeline": self.name, "stage": "Build", "times": "x"}, 400),
            ({"pipeline": self.name, "stage": "Build", "times": 1, "when": "now"}, 400),
        ]:
            self.assertEqual(self.emu.control("POST", "pipeline/fail", body)[0], status, body)
        with self.assertRaises(Exception) as missing:
            self.cp.get_pipeline_execution(pipelineName=self.name, pipelineExecutionId="00000000-0000-4000-8000-000000000000")
        self.assertIn("PipelineExecutionNotFoundException", str(missing.exception))


if __name__ == "__main__":
    unittest.main()
