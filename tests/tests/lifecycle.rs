//! The whole lifecycle (issue 12): `scripts/up.sh` on a fresh account, the pipeline's first
//! execution deploying the commit's image, a push deploying the next commit, a failed build,
//! and reruns that keep what the pipeline deployed. The emulator runs the pipeline as AWS does
//! (executions, builds pushing to ECR, the ECS deploy); every check is an independent SDK call.

use testkit::pipeline::{LifecycleHolds, Stage};
use testkit::stack::Stack;
use testkit::{Emulator, codepipeline, ecr, ecs, elbv2};

const COMMIT: &str = "5f2c1a9e0b7d4c3e8a6f1b2d9c0e7a4b3f5d8e21";
const PIPELINE: &str = "pipeline-backstage";

/// What the lifecycle tests read of a stack besides running its scripts.
trait Lifecycle {
    fn service(&self) -> ecs::types::Service;
    fn running_image(&self) -> String;
    fn settled(&self) -> ecs::types::Service;
    fn ecr_tags(&self) -> std::collections::BTreeMap<String, String>;
    fn healthy_targets(&self) -> usize;
}

impl Lifecycle for Stack {
    /// The service's description (describe-services).
    fn service(&self) -> ecs::types::Service {
        let doc = self.doc();
        let c = ecs::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(
                c.describe_services()
                    .cluster(doc["svc"]["cluster_name"].as_str().unwrap())
                    .services(doc["svc"]["service_name"].as_str().unwrap())
                    .send(),
            )
            .expect("describe services");
        out.services()[0].clone()
    }

    /// The image the service's task definition runs (describe-task-definition).
    fn running_image(&self) -> String {
        let td = self.service().task_definition().unwrap().to_owned();
        let c = ecs::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(c.describe_task_definition().task_definition(&td).send())
            .expect("describe task definition");
        let td = out.task_definition().unwrap();
        td.container_definitions()[0].image().unwrap().to_owned()
    }

    /// The service once no deployment is IN_PROGRESS.
    fn settled(&self) -> ecs::types::Service {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let s = self.service();
            let busy = s.deployments().iter().any(|d| {
                d.rollout_state() == Some(&ecs::types::DeploymentRolloutState::InProgress)
            });
            if !busy {
                return s;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the rollout never ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Tag → digest of the repository's images (describe-images).
    fn ecr_tags(&self) -> std::collections::BTreeMap<String, String> {
        let doc = self.doc();
        let c = ecr::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(
                c.describe_images()
                    .repository_name(doc["svc"]["repository_name"].as_str().unwrap())
                    .send(),
            )
            .expect("describe images");
        out.image_details()
            .iter()
            .flat_map(|i| {
                i.image_tags()
                    .iter()
                    .map(|t| (t.clone(), i.image_digest().unwrap_or_default().to_owned()))
            })
            .collect()
    }

    fn healthy_targets(&self) -> usize {
        let doc = self.doc();
        let c = elbv2::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(
                c.describe_target_health()
                    .target_group_arn(doc["alb"]["target_group_arn"].as_str().unwrap())
                    .send(),
            )
            .expect("describe target health");
        out.target_health_descriptions()
            .iter()
            .filter(|t| {
                t.target_health().and_then(|h| h.state())
                    == Some(&elbv2::types::TargetHealthStateEnum::Healthy)
            })
            .count()
    }
}

fn first_execution(emu: &Emulator) -> codepipeline::types::PipelineExecutionSummary {
    let runs = emu.executions(PIPELINE);
    let first = runs.last().cloned().expect("the pipeline ran once");
    assert_eq!(
        first.trigger().and_then(|t| t.trigger_type()),
        Some(&codepipeline::types::TriggerType::CreatePipeline)
    );
    first
}

fn commit_of(run: &codepipeline::types::PipelineExecution) -> String {
    run.artifact_revisions()[0]
        .revision_id()
        .expect("the source revision")
        .to_owned()
}

// Each test checks what the emulator runs first, then what the tools must do about it
// (issue 12): up.sh waiting for the first execution and failing on a failed build (pipeline-up /
// up.sh), and reruns keeping the pipeline's image (svc-up).

#[test]
fn fresh_up_deploys_the_first_commit_and_a_rerun_changes_nothing() {
    let stack = Stack::new("fresh");
    let emu = &stack.emu;
    // A build that takes a while, so that up.sh can only have seen it end by waiting for it.
    emu.hold(
        LifecycleHolds {
            build_s: Some(2.0),
            ..Default::default()
        }
        .into(),
    );
    stack.up();
    let first = first_execution(emu);
    let waited = first.status() == Some(&codepipeline::types::PipelineExecutionStatus::Succeeded);
    let repo = stack.doc()["svc"]["repository_uri"]
        .as_str()
        .unwrap()
        .to_owned();

    // The emulator: the first execution deploys the commit's image, pushed under both tags.
    let run = emu.wait_execution(PIPELINE, first.pipeline_execution_id().unwrap());
    assert_eq!(
        run.status(),
        Some(&codepipeline::types::PipelineExecutionStatus::Succeeded),
        "{run:?}"
    );
    let commit = commit_of(&run);
    let tag = &commit[..8];
    let tags = stack.ecr_tags();
    assert!(tags.contains_key(tag), "ECR holds {tag}: {tags:?}");
    assert_eq!(
        tags.get("latest"),
        tags.get(tag),
        "latest is the commit's image"
    );
    let s = stack.settled();
    assert_eq!(stack.running_image(), format!("{repo}:{tag}"));
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::Completed)
    );
    assert_eq!(s.running_count(), s.desired_count());
    assert_eq!(stack.healthy_targets(), s.desired_count() as usize);

    // The tools: up.sh returned only once the first execution was over (pipeline-up / up.sh).
    assert!(
        waited,
        "up.sh returned while the first execution was {:?}",
        first.status()
    );
    // A rerun keeps the pipeline's image: no mutating call, the same revision (svc-up).
    let before = s.task_definition().unwrap().to_owned();
    let mark = emu.mark();
    stack.up();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(stack.service().task_definition(), Some(before.as_str()));
    assert_eq!(stack.running_image(), format!("{repo}:{tag}"));

    // plan.sh and `make svc` on the saved document, with no flags: nothing to do either.
    for (what, tool) in [
        ("plan.sh", emu.script("scripts/plan.sh")),
        (
            "make svc",
            emu.script("/usr/bin/env").args(["make", "-s", "svc"]),
        ),
    ] {
        let mark = emu.mark();
        let out = tool.env("STACK", stack.dir.join("stack.json")).run();
        assert_eq!(out.code, 0, "{what} failed:\n{}", out.stderr);
        emu.calls_since(mark).assert_no_mutations();
    }
    assert_eq!(stack.running_image(), format!("{repo}:{tag}"));
}

#[test]
fn a_push_is_deployed_and_a_failed_build_leaves_the_service_on_the_last_good_commit() {
    let stack = Stack::new("push");
    stack.up();
    let emu = &stack.emu;
    let repo = stack.doc()["svc"]["repository_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    emu.wait_execution(
        PIPELINE,
        first_execution(emu).pipeline_execution_id().unwrap(),
    );

    // A push: the commit's image is built, pushed under both tags, and deployed.
    let id = emu.push_with_message(PIPELINE, COMMIT, "Add the tech radar");
    let run = emu.wait_execution(PIPELINE, &id);
    assert_eq!(
        run.status(),
        Some(&codepipeline::types::PipelineExecutionStatus::Succeeded),
        "{run:?}"
    );
    assert_eq!(commit_of(&run), COMMIT);
    let tags = stack.ecr_tags();
    assert_eq!(tags.get("latest"), tags.get(&COMMIT[..8]));
    stack.settled();
    assert_eq!(stack.running_image(), format!("{repo}:{}", &COMMIT[..8]));

    // A failed build: the execution fails in the Build stage; nothing is deployed.
    emu.fail_stage(PIPELINE, Stage::Build, 1);
    let next = "9a8b7c6d5e4f30211203f4e5d6c7b8a9f0e1d2c3";
    let id = emu.push(PIPELINE, next);
    let run = emu.wait_execution(PIPELINE, &id);
    assert_eq!(
        run.status(),
        Some(&codepipeline::types::PipelineExecutionStatus::Failed)
    );
    let c = codepipeline::Client::new(&emu.sdk());
    let state = emu
        .block_on(c.get_pipeline_state().name(PIPELINE).send())
        .expect("pipeline state");
    let build = state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some("Build"))
        .expect("a Build stage");
    assert_eq!(
        build.latest_execution().map(|e| e.status()),
        Some(&codepipeline::types::StageExecutionStatus::Failed)
    );
    assert!(!stack.ecr_tags().contains_key(&next[..8]));
    assert_eq!(stack.running_image(), format!("{repo}:{}", &COMMIT[..8]));

    // The tools: the next rerun keeps the pushed commit's image (svc-up).
    let mark = emu.mark();
    stack.up();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(stack.running_image(), format!("{repo}:{}", &COMMIT[..8]));
}

#[test]
fn a_build_failing_on_the_first_run_fails_up_naming_the_build_stage() {
    let stack = Stack::new("fail");
    let emu = &stack.emu;
    emu.fail_stage(PIPELINE, Stage::Build, 1);
    let out = stack.script("scripts/up.sh").run();
    out.assert_never_shows(&stack.token);

    // The emulator: the first execution failed in its Build stage.
    let first = first_execution(emu);
    let run = emu.wait_execution(PIPELINE, first.pipeline_execution_id().unwrap());
    assert_eq!(
        run.status(),
        Some(&codepipeline::types::PipelineExecutionStatus::Failed)
    );
    assert!(
        run.status_summary().unwrap_or_default().contains("Build"),
        "{run:?}"
    );

    // The tools: up.sh waits for that execution and exits 1 naming the stage (pipeline-up / up.sh).
    assert_eq!(out.code, 1, "up.sh exits 1:\n{}", out.stderr);
    assert!(out.stderr.contains("Build"), "{}", out.stderr);
}

/// A stack made before ecr-up existed: svc-up made the image repository (tagged
/// `stagehand:step=svc`) and the document has no `ecr` section. The next up.sh adopts the
/// repository — its one write retags it — and keeps its images, the service's revision and
/// the image it runs; a rerun then changes nothing.
#[test]
fn a_stack_from_before_ecr_up_adopts_its_repository_keeping_images_and_revision() {
    let stack = Stack::new("pre-split");
    let emu = &stack.emu;
    stack.up();
    let revision = stack.settled().task_definition().unwrap().to_owned();
    let image = stack.running_image();
    let images = stack.ecr_tags();
    assert!(images.len() >= 2, "the first build pushed: {images:?}");

    // The stack as the tools before the split left it.
    let mut doc = stack.doc();
    let arn = doc["ecr"]["repository_arn"].as_str().unwrap().to_owned();
    doc.as_object_mut().unwrap().remove("ecr");
    stack.save(&doc);
    let c = ecr::Client::new(&emu.sdk());
    let step_tag = |value: &str| {
        ecr::types::Tag::builder()
            .key("stagehand:step")
            .value(value)
            .build()
            .unwrap()
    };
    emu.block_on(
        c.tag_resource()
            .resource_arn(&arn)
            .tags(step_tag("svc"))
            .send(),
    )
    .expect("tag the repository as svc-up did");

    let mark = emu.mark();
    stack.up();
    assert_eq!(
        emu.calls_since(mark).mutating_actions(),
        ["ecr:TagResource"],
        "adopted by a retag; nothing else changes"
    );
    assert_eq!(stack.doc()["ecr"]["repository_arn"], arn.as_str());
    let tags = emu
        .block_on(c.list_tags_for_resource().resource_arn(&arn).send())
        .expect("list tags");
    assert!(tags.tags().contains(&step_tag("ecr")), "{tags:?}");
    assert_eq!(stack.ecr_tags(), images, "the images are kept");
    assert_eq!(stack.service().task_definition(), Some(revision.as_str()));
    assert_eq!(stack.running_image(), image);

    let mark = emu.mark();
    stack.up();
    emu.calls_since(mark).assert_no_mutations();
}
