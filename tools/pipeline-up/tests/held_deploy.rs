//! The pipeline made before the ECS service (issue 19): pipeline-up needs only secrets, slr,
//! core and ecr; its first build runs and pushes the image at once, and its Deploy stage waits
//! (the inbound transition disabled) until svc-up has made the service and pipeline-up runs
//! again. Checked with independent calls: GetPipelineState, ListActionExecutions, the ECR
//! image list, DescribeServices.
//!
//! The `ecr` section comes from a fixture (the repository made with the SDK) until ecr-up
//! lands; the `alb` and `svc` sections from the SDK stand-ins of tests/common.

mod common;

use std::time::{Duration, Instant};

use common::{before_service, pipeline_up, running_image, with_service};
use testkit::{Emulator, Holds, Value, codepipeline, ecr};

const PIPELINE: &str = "pipeline-unicorn-ui";

fn holds(emu: &Emulator, build_s: f64) {
    emu.hold(Holds {
        other: vec![("build_s".into(), build_s), ("rollout_s".into(), 0.2)],
        ..Default::default()
    });
}

/// The Deploy stage as GetPipelineState shows it.
fn deploy_state(emu: &Emulator) -> codepipeline::types::StageState {
    let cp = codepipeline::Client::new(&emu.sdk());
    let state = emu
        .block_on(cp.get_pipeline_state().name(PIPELINE).send())
        .unwrap();
    state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some("Deploy"))
        .cloned()
        .expect("a Deploy stage")
}

fn transition_enabled(emu: &Emulator) -> bool {
    deploy_state(emu)
        .inbound_transition_state()
        .expect("inboundTransitionState")
        .enabled()
}

/// The pipeline's only execution so far.
fn only_execution(emu: &Emulator) -> String {
    let cp = codepipeline::Client::new(&emu.sdk());
    let out = emu
        .block_on(cp.list_pipeline_executions().pipeline_name(PIPELINE).send())
        .unwrap();
    let runs = out.pipeline_execution_summaries();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].pipeline_execution_id().unwrap().to_owned()
}

fn status(emu: &Emulator, id: &str) -> String {
    let cp = codepipeline::Client::new(&emu.sdk());
    let out = emu
        .block_on(
            cp.get_pipeline_execution()
                .pipeline_name(PIPELINE)
                .pipeline_execution_id(id)
                .send(),
        )
        .unwrap();
    out.pipeline_execution()
        .and_then(|e| e.status())
        .map(|s| s.as_str().to_owned())
        .unwrap_or_default()
}

/// (stage, status) of each action of execution `id`, and the commit its Source yielded.
fn actions(emu: &Emulator, id: &str) -> (Vec<(String, String)>, Option<String>) {
    let cp = codepipeline::Client::new(&emu.sdk());
    let out = emu
        .block_on(
            cp.list_action_executions()
                .pipeline_name(PIPELINE)
                .filter(
                    codepipeline::types::ActionExecutionFilter::builder()
                        .pipeline_execution_id(id)
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let details = out.action_execution_details();
    let commit = details
        .iter()
        .find(|a| a.stage_name() == Some("Source"))
        .and_then(|a| a.output())
        .and_then(|o| o.execution_result())
        .and_then(|r| r.external_execution_id())
        .map(str::to_owned);
    let mut list: Vec<(String, String)> = details
        .iter()
        .map(|a| {
            (
                a.stage_name().unwrap_or_default().to_owned(),
                a.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect();
    list.sort();
    (list, commit)
}

fn until<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn image_tags(emu: &Emulator, doc: &Value) -> Vec<String> {
    let ecrc = ecr::Client::new(&emu.sdk());
    let images = emu
        .block_on(
            ecrc.describe_images()
                .repository_name(doc["ecr"]["repository_name"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    images
        .image_details()
        .iter()
        .flat_map(|d| d.image_tags().iter().cloned())
        .collect()
}

#[test]
fn without_the_service_the_build_pushes_and_deploy_waits_until_svc_up_and_a_rerun() {
    let emu = Emulator::start();
    // A build hold of 0: the Disable right after CreatePipeline still lands before the first
    // execution could reach Deploy (the Source action takes seconds, on AWS and here).
    holds(&emu, 0.0);
    let doc = before_service(&emu);
    assert!(doc.get("svc").is_none() && doc.get("alb").is_none());
    let out = pipeline_up(&emu).doc(&doc).run();
    let after = out.ok();
    assert!(after.get("svc").is_none());

    // The pipeline exists, its Deploy transition disabled with the reason.
    let state = deploy_state(&emu);
    let inbound = state.inbound_transition_state().unwrap();
    assert!(!inbound.enabled());
    assert_eq!(
        inbound.disabled_reason(),
        Some("waiting for svc-up - ECS service unicorn-ui does not exist yet")
    );
    // The first execution builds and pushes the image, then waits before Deploy.
    let id = only_execution(&emu);
    let commit = until("the first build", || {
        let (list, commit) = actions(&emu, &id);
        list.contains(&("Build".into(), "Succeeded".into()))
            .then_some(commit)
            .flatten()
    });
    let tag = commit[..8].to_owned();
    assert!(image_tags(&emu, &after).contains(&tag));
    std::thread::sleep(Duration::from_millis(300)); // the emulator's clock moves on; it waits
    assert_eq!(status(&emu, &id), "InProgress");
    let (list, _) = actions(&emu, &id);
    assert!(list.iter().all(|(stage, _)| stage != "Deploy"), "{list:?}");
    let state = deploy_state(&emu);
    assert_eq!(
        state.inbound_execution().map(|e| e.pipeline_execution_id()),
        Some(id.as_str())
    );

    // svc-up (its stand-in, with alb-up's) makes the service; pipeline-up again enables the
    // transition, and the waiting execution deploys the image it built.
    let with_svc = with_service(&emu, after);
    let first_image = running_image(&emu, &with_svc);
    assert!(first_image.ends_with(":latest"), "{first_image}");
    let mark = emu.mark();
    let out = pipeline_up(&emu).doc(&with_svc).run();
    let again = out.ok();
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["codepipeline:EnableStageTransition"],
        "{}",
        out.stderr
    );
    assert!(transition_enabled(&emu));
    until("the deploy", || {
        (status(&emu, &id) != "InProgress").then_some(())
    });
    assert_eq!(status(&emu, &id), "Succeeded");
    let repository_uri = with_svc["ecr"]["repository_uri"].as_str().unwrap();
    until("the service to run the built image", || {
        (running_image(&emu, &with_svc) == format!("{repository_uri}:{tag}")).then_some(())
    });

    // A third run changes nothing.
    let mark = emu.mark();
    let third = pipeline_up(&emu).doc(&again).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(third, again);
}

#[test]
fn the_plan_shows_the_deploy_transition_disabled_without_the_service_and_enabled_with_it() {
    let emu = Emulator::start();
    holds(&emu, 0.3);
    let doc = before_service(&emu);
    let mark = emu.mark();
    let out = pipeline_up(&emu).arg("--plan").doc(&doc).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains(
            "+ create     pipeline pipeline-unicorn-ui (its Deploy transition disabled: waiting for svc-up - ECS service unicorn-ui does not exist yet)"
        ),
        "{}",
        out.stderr
    );

    let after = pipeline_up(&emu).doc(&doc).run().ok();
    // Still no service: nothing to change.
    let out = pipeline_up(&emu).arg("--plan").doc(&after).run();
    out.ok();
    assert!(
        out.stderr.contains("0 to create, 0 to update"),
        "{}",
        out.stderr
    );

    let with_svc = with_service(&emu, after);
    let mark = emu.mark();
    let out = pipeline_up(&emu).arg("--plan").doc(&with_svc).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains(
            "~ update     pipeline pipeline-unicorn-ui (Deploy transition: disabled → enabled)"
        ),
        "{}",
        out.stderr
    );
    assert!(!transition_enabled(&emu), "a plan changes nothing");
}

#[test]
fn wait_without_the_service_returns_after_the_build_with_one_line() {
    let emu = Emulator::start();
    holds(&emu, 0.3);
    let doc = before_service(&emu);
    let out = pipeline_up(&emu).arg("--wait").doc(&doc).run();
    let after = out.ok();
    let held: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("waits for ECS service"))
        .collect();
    assert_eq!(held.len(), 1, "{}", out.stderr);
    assert!(
        held[0].contains("run svc-up, then pipeline-up; up.sh does both"),
        "{}",
        held[0]
    );
    // The build had succeeded when it returned: the image is in ECR; the execution waits.
    let id = only_execution(&emu);
    let (list, commit) = actions(&emu, &id);
    assert!(
        list.contains(&("Build".into(), "Succeeded".into())),
        "{list:?}"
    );
    assert!(image_tags(&emu, &after).contains(&commit.unwrap()[..8].to_owned()));
    assert_eq!(status(&emu, &id), "InProgress");
}

#[test]
fn wait_without_the_service_on_a_failed_build_is_exit_1_naming_the_stage() {
    let emu = Emulator::start();
    holds(&emu, 0.2);
    let doc = before_service(&emu);
    emu.control(
        "POST",
        "pipeline/fail",
        Some(&testkit::json!({"pipeline": PIPELINE, "stage": "Build"})),
    );
    let line = pipeline_up(&emu).arg("--wait").doc(&doc).run().fails(1);
    assert!(
        line.contains("failed at stage Build, action Build"),
        "{line}"
    );
}
