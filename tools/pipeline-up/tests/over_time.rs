//! pipeline-up over a stack's life, against the emulator: remembered settings (issue 11), a
//! rotated GitHub token (issue 13), CodeStar Notifications' service-linked-role lag (issue
//! 15), and pipeline runs with `--run` / `--wait` (issue 12). Every assertion is an
//! independent describe call or the emulator's call log, never the tool's own code.

mod common;

use common::{OWNER, REPO, TOKEN, pipeline_up, running_image, stack};
use testkit::{Emulator, Fault, FaultKind, Holds, codepipeline, ecr, json, secretsmanager};

const PIPELINE: &str = "pipeline-unicorn-ui";

fn source_config(emu: &Emulator, key: &str) -> String {
    let cp = codepipeline::Client::new(&emu.sdk());
    let p = emu
        .block_on(cp.get_pipeline().name(PIPELINE).send())
        .expect("get pipeline");
    p.pipeline().unwrap().stages()[0].actions()[0]
        .configuration()
        .and_then(|c| c.get(key))
        .cloned()
        .unwrap_or_default()
}

/// The AWSCURRENT version of a secret, read independently.
fn current_version(emu: &Emulator, id: &str) -> String {
    let sm = secretsmanager::Client::new(&emu.sdk());
    let d = emu
        .block_on(sm.describe_secret().secret_id(id).send())
        .expect("describe secret");
    d.version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(v, _)| v.clone())
        .expect("a current version")
}

/// A new token value, as `secrets-init --rotate github-token` puts it: a plain PutSecretValue.
fn rotate(emu: &Emulator, id: &str, value: &str) {
    let sm = secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.put_secret_value()
            .secret_id(id)
            .secret_string(value)
            .send(),
    )
    .expect("put secret value");
}

// ---------------------------------------------------------------- issue 11: settings

#[test]
fn settings_are_recorded_and_a_rerun_needs_no_flags() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let first = pipeline_up(&emu)
        .args(["--branch", "release"])
        .doc(&doc)
        .run()
        .ok();
    let settings = &first["pipeline"]["settings"];
    assert_eq!(settings["repo-owner"], OWNER);
    assert_eq!(settings["repo-name"], REPO);
    assert_eq!(settings["branch"], "release");
    assert_eq!(settings["buildspec"], "templates/buildspec.yml");
    assert!(
        settings.get("run").is_none() && settings.get("keep-artifacts").is_none(),
        "action flags are not settings: {settings}"
    );

    // No flags at all: the plan and the run change nothing and keep the settings.
    let mark = emu.mark();
    let out = emu.tool("pipeline-up").arg("--plan").doc(&first).run();
    out.ok();
    assert!(
        out.stderr.contains("0 to create, 0 to update"),
        "{}",
        out.stderr
    );
    let again = emu.tool("pipeline-up").doc(&first).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again["pipeline"]["settings"], first["pipeline"]["settings"]);
    assert_eq!(source_config(&emu, "Branch"), "release");

    // A given flag overrides and is recorded.
    let moved = emu
        .tool("pipeline-up")
        .args(["--branch", "next"])
        .doc(&again)
        .run()
        .ok();
    assert_eq!(moved["pipeline"]["settings"]["branch"], "next");
    assert_eq!(source_config(&emu, "Branch"), "next");

    // --reset plans exactly the change back to the default.
    let out = emu
        .tool("pipeline-up")
        .args(["--plan", "--reset", "branch"])
        .doc(&moved)
        .run();
    out.ok();
    assert!(
        out.stderr.contains("0 to create, 1 to update"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("stages.Source.actions.Source.configuration.Branch: next → main"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_fresh_stack_without_a_repository_is_one_line_exit_2_and_no_write() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mark = emu.mark();
    let line = emu.tool("pipeline-up").doc(&doc).run().fails(2);
    assert!(
        line.contains("--repo-owner") && line.contains("--repo-name"),
        "{line}"
    );
    let line = emu
        .tool("pipeline-up")
        .arg("--plan")
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("no repository"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn action_flags_that_contradict_each_other_are_usage_errors() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mark = emu.mark();
    for args in [
        vec!["--run", "--wait"],
        vec!["--wait", "--no-wait"],
        vec!["--run", "--plan"],
        vec!["--run", "--destroy"],
    ] {
        pipeline_up(&emu).args(&args).doc(&doc).run().fails(2);
    }
    assert_eq!(emu.calls_since(mark).total(), 0, "refused before any call");
}

// ---------------------------------------------------------------- issue 13: the token

#[test]
fn a_rotated_token_updates_the_pipeline_and_nothing_else() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let secret = doc["secrets"]["github_token"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let first = pipeline_up(&emu).doc(&doc).run().ok();
    let v1 = current_version(&emu, &secret);
    assert_eq!(first["pipeline"]["token_version"], v1.as_str());

    let new_token = "ghp_RotatedToken9876543210zyxwvuTSRQ";
    rotate(&emu, &secret, new_token);
    let v2 = current_version(&emu, &secret);
    assert_ne!(v1, v2);

    // The plan names the secret and the versions, never a value.
    let mark = emu.mark();
    let plan = emu.tool("pipeline-up").arg("--plan").doc(&first).run();
    plan.ok();
    emu.calls_since(mark).assert_no_mutations();
    let name = doc["secrets"]["github_token"]["name"].as_str().unwrap();
    assert!(
        plan.stderr.contains(&format!(
            "OAuthToken (secret {name}): version {v1} → version {v2}"
        )),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr.contains("0 to create, 1 to update"),
        "{}",
        plan.stderr
    );
    plan.assert_never_shows(new_token);
    plan.assert_never_shows(TOKEN);

    let mark = emu.mark();
    let out = emu.tool("pipeline-up").doc(&first).run();
    let after = out.ok();
    out.assert_never_shows(new_token);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["codepipeline:UpdatePipeline"],
        "the pipeline is updated and nothing else"
    );
    assert_eq!(calls.count("codepipeline:UpdatePipeline"), 1);
    assert!(!calls.0.to_string().contains(new_token));
    assert_eq!(after["pipeline"]["token_version"], v2.as_str());
    assert_eq!(source_config(&emu, "OAuthToken"), "****");

    // And then it is quiet again.
    let mark = emu.mark();
    let quiet = emu.tool("pipeline-up").doc(&after).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(quiet, after);
}

#[test]
fn a_document_without_a_token_version_adopts_the_current_one() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mut first = pipeline_up(&emu).doc(&doc).run().ok();
    // A document written before versions were recorded.
    first["pipeline"]
        .as_object_mut()
        .unwrap()
        .remove("token_version");
    let mark = emu.mark();
    let after = emu.tool("pipeline-up").doc(&first).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    let secret = doc["secrets"]["github_token"]["arn"].as_str().unwrap();
    assert_eq!(
        after["pipeline"]["token_version"],
        current_version(&emu, secret).as_str()
    );
}

#[test]
fn with_a_connection_a_rotated_token_is_nothing_to_do() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let conn = "arn:aws:codestar-connections:us-west-2:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";
    let first = pipeline_up(&emu)
        .args(["--connection-arn", conn])
        .doc(&doc)
        .run()
        .ok();
    assert!(first["pipeline"].get("token_version").is_none());
    rotate(
        &emu,
        doc["secrets"]["github_token"]["arn"].as_str().unwrap(),
        "ghp_other",
    );
    let mark = emu.mark();
    emu.tool("pipeline-up").doc(&first).run().ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(calls.count("secretsmanager:DescribeSecret"), 0);
}

#[test]
fn a_missing_token_secret_is_exit_2_before_any_write() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let sm = secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.delete_secret()
            .secret_id(doc["secrets"]["github_token"]["arn"].as_str().unwrap())
            .force_delete_without_recovery(true)
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let line = pipeline_up(&emu).doc(&doc).run().fails(2);
    assert!(line.contains("secrets-init"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

// ---------------------------------------------------------------- issue 15: role lag

/// What CodeStar Notifications answers while its service-linked role is new.
fn lagging(times: i64) -> Fault {
    Fault {
        service: "codestar-notifications".into(),
        action: "CreateNotificationRule".into(),
        kind: FaultKind::Error {
            code: "ConfigurationException".into(),
            message: "AWS CodeStar Notifications could not create the AWS CloudWatch Events managed rule in your AWS account. If this is your first time creating a notification rule, the service-linked role for AWS CodeStar Notifications might not yet exist.".into(),
            status: "400 Bad Request".into(),
            forward: false,
        },
        times,
    }
}

#[test]
fn a_new_codestar_role_is_waited_for_with_progress() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    emu.inject(&[lagging(3)]);
    let out = pipeline_up(&emu).doc(&doc).run();
    let after = out.ok();
    assert!(
        out.stderr
            .contains("CodeStar Notifications to accept notification rule"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("ready after"), "{}", out.stderr);
    let cs = testkit::codestar::Client::new(&emu.sdk());
    emu.block_on(
        cs.describe_notification_rule()
            .arn(after["pipeline"]["notification_rule_arn"].as_str().unwrap())
            .send(),
    )
    .expect("the rule exists");
}

#[test]
fn the_role_lag_wait_is_bounded_by_timeout() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    emu.inject(&[lagging(-1)]);
    let line = pipeline_up(&emu)
        .args(["--timeout", "2s"])
        .doc(&doc)
        .run()
        .fails(3);
    assert!(line.contains("ConfigurationException"), "{line}");
    assert!(line.contains("rerun later"), "{line}");
    // The rest is in place, so the rerun makes only the rule.
    emu.inject(&[]);
    let mark = emu.mark();
    pipeline_up(&emu).doc(&doc).run().ok();
    assert_eq!(
        emu.calls_since(mark).mutating_actions(),
        ["codestar-notifications:CreateNotificationRule"]
    );
}

/// The emulator's own role lag (not an injected fault): CodeStar Notifications' new role
/// refuses rules while the hold lasts; pipeline-up waits, bounded by --timeout (exit 3 naming
/// the answer), and once the role can be used a rerun makes only the rule.
#[test]
fn a_fresh_account_waits_through_the_slr_lag_hold() {
    let emu = Emulator::start();
    emu.hold(Holds {
        other: vec![("codestar_slr_lag_s".into(), 3600.0)],
        ..Default::default()
    });
    // The lag starts when the fixtures make the service-linked roles, inside stack().
    let doc = stack(&emu);
    let out = pipeline_up(&emu).args(["--timeout", "2s"]).doc(&doc).run();
    let line = out.fails(3);
    assert!(
        out.stderr
            .contains("CodeStar Notifications to accept notification rule"),
        "{}",
        out.stderr
    );
    assert!(line.contains("ConfigurationException"), "{line}");
    // Lowering the hold ends the lag of the role already made.
    emu.hold(Holds {
        other: vec![("codestar_slr_lag_s".into(), 0.0)],
        ..Default::default()
    });
    let mark = emu.mark();
    pipeline_up(&emu).doc(&doc).run().ok();
    assert_eq!(
        emu.calls_since(mark).mutating_actions(),
        ["codestar-notifications:CreateNotificationRule"]
    );
}

// ---------------------------------------------------------------- issue 12: runs

fn pipeline_holds(emu: &Emulator, build_s: f64, rollout_s: f64) {
    emu.hold(Holds {
        other: vec![("build_s".into(), build_s), ("rollout_s".into(), rollout_s)],
        ..Default::default()
    });
}

fn executions(emu: &Emulator) -> Vec<(String, String)> {
    let cp = codepipeline::Client::new(&emu.sdk());
    let out = emu
        .block_on(cp.list_pipeline_executions().pipeline_name(PIPELINE).send())
        .unwrap();
    out.pipeline_execution_summaries()
        .iter()
        .map(|s| {
            (
                s.pipeline_execution_id().unwrap_or_default().to_owned(),
                s.status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn wait_follows_the_first_execution_through_the_rollout() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.5, 0.5);
    let doc = stack(&emu);
    let out = pipeline_up(&emu).arg("--wait").doc(&doc).run();
    out.ok();
    for stage in ["Source", "Build", "Deploy"] {
        assert!(out.stderr.contains(stage), "{}", out.stderr);
    }
    assert!(out.stderr.contains("ECS rollout"), "{}", out.stderr);
    assert_eq!(executions(&emu).len(), 1, "--wait starts nothing");
    // The service runs the commit's image, and ECR holds both tags the buildspec pushes.
    let image = running_image(&emu, &doc);
    let tag = image.rsplit(':').next().unwrap().to_owned();
    assert_eq!(tag.len(), 8, "{image}");
    let ecrc = ecr::Client::new(&emu.sdk());
    let images = emu
        .block_on(
            ecrc.describe_images()
                .repository_name(doc["svc"]["repository_name"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    let tags: Vec<String> = images
        .image_details()
        .iter()
        .flat_map(|d| d.image_tags().iter().cloned())
        .collect();
    assert!(
        tags.contains(&tag) && tags.contains(&"latest".to_owned()),
        "{tags:?}"
    );
}

#[test]
fn run_starts_an_execution_and_deploys_the_pushed_commit() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.3, 0.3);
    let doc = stack(&emu);
    let after = pipeline_up(&emu).arg("--wait").doc(&doc).run().ok();
    let commit = "0123456789abcdef0123456789abcdef01234567";
    emu.control(
        "POST",
        "pipeline/push",
        Some(&json!({"pipeline": PIPELINE, "commit": commit})),
    );
    pipeline_up(&emu).arg("--wait").doc(&after).run().ok();
    assert!(running_image(&emu, &doc).ends_with(":01234567"));
    // --run: one more execution, followed to the end; nothing else changes.
    let before = executions(&emu).len();
    let mark = emu.mark();
    let out = emu.tool("pipeline-up").arg("--run").doc(&after).run();
    out.ok();
    assert_eq!(executions(&emu).len(), before + 1);
    assert_eq!(
        emu.calls_since(mark)
            .mutating_actions()
            .iter()
            .filter(|a| a.starts_with("codepipeline:") || a.starts_with("codebuild:"))
            .cloned()
            .collect::<Vec<_>>(),
        ["codepipeline:StartPipelineExecution"]
    );
}

#[test]
fn a_failed_build_is_exit_1_naming_the_stage_and_the_log() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.3, 0.3);
    let doc = stack(&emu);
    let after = pipeline_up(&emu).arg("--wait").doc(&doc).run().ok();
    emu.control(
        "POST",
        "pipeline/fail",
        Some(&json!({"pipeline": PIPELINE, "stage": "Build", "times": 1})),
    );
    let line = emu
        .tool("pipeline-up")
        .arg("--run")
        .doc(&after)
        .run()
        .fails(1);
    assert!(line.contains("stage Build, action Build"), "{line}");
    assert!(
        line.contains("aws logs tail /aws/codebuild/codebuild-unicorn-ui")
            || line.contains("aws codebuild batch-get-builds --ids"),
        "{line}"
    );
}

#[test]
fn wait_on_a_first_build_that_fails_is_exit_1_naming_the_stage_and_action() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.3, 0.3);
    let doc = stack(&emu);
    // Armed before the pipeline exists: the execution CreatePipeline starts fails its build.
    emu.control(
        "POST",
        "pipeline/fail",
        Some(&json!({"pipeline": PIPELINE, "stage": "Build", "times": 1})),
    );
    let out = pipeline_up(&emu).arg("--wait").doc(&doc).run();
    let line = out.fails(1);
    assert!(line.contains("stage Build, action Build"), "{line}");
    // Each stage was reported on the way.
    assert!(out.stderr.contains("Source Succeeded"), "{}", out.stderr);
    // An independent check: the one execution (the first) failed; --wait started none.
    let runs = executions(&emu);
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert_eq!(runs[0].1, "Failed");
    // A rerun (up.sh again): no execution ever succeeded, so the portal was never deployed.
    let line = pipeline_up(&emu).arg("--wait").doc(&doc).run().fails(1);
    assert!(line.contains("stage Build, action Build"), "{line}");
}

#[test]
fn wait_after_a_failed_push_warns_and_keeps_the_last_good_deploy() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.3, 0.3);
    let doc = stack(&emu);
    let after = pipeline_up(&emu).arg("--wait").doc(&doc).run().ok();
    let good = running_image(&emu, &doc);
    // A push whose build fails, over before the next up.sh.
    emu.control(
        "POST",
        "pipeline/fail",
        Some(&json!({"pipeline": PIPELINE, "stage": "Build", "times": 1})),
    );
    let pushed = emu.control(
        "POST",
        "pipeline/push",
        Some(&json!({"pipeline": PIPELINE, "commit": "89abcdef0123456789abcdef0123456789abcdef"})),
    );
    let id = pushed["pipelineExecutionId"].as_str().unwrap().to_owned();
    let ended = emu.wait_execution(PIPELINE, &id);
    assert_eq!(
        ended.status(),
        Some(&codepipeline::types::PipelineExecutionStatus::Failed)
    );
    let mark = emu.mark();
    let out = emu.tool("pipeline-up").arg("--wait").doc(&after).run();
    out.ok();
    assert!(
        out.stderr.contains("stage Build, action Build")
            && out
                .stderr
                .contains("keeps what the last successful execution deployed"),
        "{}",
        out.stderr
    );
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(running_image(&emu, &doc), good);
}

#[test]
fn a_failed_deploy_is_exit_1_naming_the_stage() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.3, 0.3);
    let doc = stack(&emu);
    let after = pipeline_up(&emu).arg("--wait").doc(&doc).run().ok();
    emu.control(
        "POST",
        "pipeline/fail",
        Some(&json!({"pipeline": PIPELINE, "stage": "Deploy", "times": 1})),
    );
    let line = emu
        .tool("pipeline-up")
        .arg("--run")
        .doc(&after)
        .run()
        .fails(1);
    assert!(line.contains("stage Deploy"), "{line}");
    assert!(line.contains("aws ecs describe-services"), "{line}");
}

#[test]
fn run_respects_no_wait_and_timeout() {
    let emu = Emulator::start();
    pipeline_holds(&emu, 0.3, 0.3);
    let doc = stack(&emu);
    let after = pipeline_up(&emu).arg("--wait").doc(&doc).run().ok();
    pipeline_holds(&emu, 30.0, 0.3);
    // --no-wait: started, not followed.
    emu.tool("pipeline-up")
        .args(["--run", "--no-wait"])
        .doc(&after)
        .run()
        .ok();
    assert_eq!(executions(&emu)[0].1, "InProgress");
    // --timeout: exit 3 while the build still runs.
    let line = emu
        .tool("pipeline-up")
        .args(["--wait", "--timeout", "2s"])
        .doc(&after)
        .run()
        .fails(3);
    assert!(line.contains("timed out"), "{line}");
}
