//! pipeline-up under lost answers, kills and partial stacks (issue 16), and the cost of a
//! no-op rerun (issue 19), against the emulator.

mod common;

use common::{APP, pipeline_tagged, pipeline_up, stack};
use testkit::{Emulator, Fault, FaultKind, Value, codebuild, iam, json, s3, sns};

fn s3_client(emu: &Emulator) -> s3::Client {
    s3::Client::from_conf(
        s3::config::Builder::from(&emu.sdk())
            .force_path_style(true)
            .build(),
    )
}

fn bucket_name() -> String {
    format!("{APP}-pipeline-{}-{}", testkit::ACCOUNT, testkit::REGION)
}

/// The call is applied, then its answer is lost (a 503 the SDK retries): the retry meets
/// "already exists".
fn lost_answer(service: &str, action: &str) -> Fault {
    Fault {
        service: service.into(),
        action: action.into(),
        kind: FaultKind::Error {
            code: "ServiceUnavailable".into(),
            message: "the answer was lost (injected)".into(),
            status: "503 Service Unavailable".into(),
            forward: true,
        },
        times: 1,
    }
}

#[test]
fn a_lost_create_answer_is_success_when_the_resource_is_ours() {
    for (service, action) in [
        ("codebuild", "CreateProject"),
        ("iam", "CreateRole"),
        ("s3", "CreateBucket"),
        ("sns", "CreateTopic"),
    ] {
        let emu = Emulator::start();
        let doc = stack(&emu);
        emu.inject(&[lost_answer(service, action)]);
        let out = pipeline_up(&emu).doc(&doc).run();
        let after = out.ok();
        assert!(
            emu.calls_since(0).count(&format!("{service}:{action}")) >= 2,
            "{action}: the fault fired and the SDK retried"
        );
        assert_eq!(pipeline_tagged(&emu).len(), 7, "{action}: one of each");
        let mark = emu.mark();
        emu.tool("pipeline-up").doc(&after).run().ok();
        emu.calls_since(mark).assert_no_mutations();
    }
}

#[test]
fn a_lost_create_pipeline_answer_is_success() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    emu.inject(&[lost_answer("codepipeline", "CreatePipeline")]);
    pipeline_up(&emu).doc(&doc).run().ok();
    assert_eq!(pipeline_tagged(&emu).len(), 7);
}

#[test]
fn a_killed_rule_create_is_retried_with_the_same_token() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    // The first create fails (as if the run died there); the rerun makes the rule.
    emu.inject(&[Fault::error(
        "codestar-notifications",
        "CreateNotificationRule",
        "AccessDeniedException",
        "denied (injected)",
    )]);
    pipeline_up(&emu).doc(&doc).run().fails(1);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    let tokens: Vec<String> = emu
        .calls_since(0)
        .requests()
        .iter()
        .filter(|r| r["action"] == "CreateNotificationRule")
        .map(|r| {
            r["params"]["ClientRequestToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(tokens.len(), 2, "{tokens:?}");
    assert!(!tokens[0].is_empty());
    assert_eq!(tokens[0], tokens[1], "a rerun sends the same token");

    // A rule deleted by hand is made again with a new token: the old one made a rule that
    // no longer exists.
    let cs = testkit::codestar::Client::new(&emu.sdk());
    emu.block_on(
        cs.delete_notification_rule()
            .arn(after["pipeline"]["notification_rule_arn"].as_str().unwrap())
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    pipeline_up(&emu).doc(&after).run().ok();
    let again: Vec<String> = emu
        .calls_since(mark)
        .requests()
        .iter()
        .filter(|r| r["action"] == "CreateNotificationRule")
        .map(|r| {
            r["params"]["ClientRequestToken"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(again.len(), 1);
    assert_ne!(again[0], tokens[0]);
}

#[test]
fn an_empty_untagged_bucket_left_by_a_kill_is_adopted() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let bucket = bucket_name();
    let s3c = s3_client(&emu);
    // What a run killed between CreateBucket and PutBucketTagging leaves.
    emu.block_on(
        s3c.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(s3::types::BucketLocationConstraint::UsWest2)
                    .build(),
            )
            .send(),
    )
    .unwrap();
    let out = pipeline_up(&emu).arg("--plan").doc(&doc).run();
    out.ok();
    assert!(
        out.stderr.contains(&format!(
            "~ update     S3 bucket {bucket} (ownership: untagged and empty"
        )),
        "{}",
        out.stderr
    );
    let out = pipeline_up(&emu).doc(&doc).run();
    let after = out.ok();
    assert!(out.stderr.contains("adopted S3 bucket"), "{}", out.stderr);
    assert!(pipeline_tagged(&emu).contains(&format!("bucket {bucket}")));
    let enc = emu
        .block_on(s3c.get_bucket_encryption().bucket(&bucket).send())
        .expect("encryption set");
    assert!(enc.server_side_encryption_configuration().is_some());
    let mark = emu.mark();
    pipeline_up(&emu).doc(&after).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn an_untagged_bucket_with_objects_is_refused_before_any_write() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let bucket = bucket_name();
    let s3c = s3_client(&emu);
    emu.block_on(async {
        s3c.create_bucket()
            .bucket(&bucket)
            .create_bucket_configuration(
                s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(s3::types::BucketLocationConstraint::UsWest2)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        s3c.put_object()
            .bucket(&bucket)
            .key("someone-elses.txt")
            .body(s3::primitives::ByteStream::from_static(b"x"))
            .send()
            .await
            .unwrap();
    });
    let mark = emu.mark();
    let line = pipeline_up(&emu).doc(&doc).run().fails(2);
    assert!(line.contains("holds objects"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn another_apps_resource_of_this_name_is_refused_naming_that_app() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let snsc = sns::Client::new(&emu.sdk());
    emu.block_on(
        snsc.create_topic()
            .name(format!("{APP}-pipeline"))
            .tags(
                sns::types::Tag::builder()
                    .key("stagehand:app")
                    .value("someone-else")
                    .build()
                    .unwrap(),
            )
            .tags(
                sns::types::Tag::builder()
                    .key("stagehand:step")
                    .value("pipeline")
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let line = pipeline_up(&emu).doc(&doc).run().fails(2);
    assert!(line.contains("belongs to app someone-else"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

/// The identity and the pipeline section only: what `--destroy` needs.
fn identity_and_pipeline(doc: &Value) -> Value {
    json!({
        "version": doc["version"],
        "app": doc["app"],
        "region": doc["region"],
        "account": doc["account"],
        "pipeline": doc["pipeline"],
    })
}

#[test]
fn destroy_needs_only_its_section_and_is_a_no_op_when_gone() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    assert_eq!(pipeline_tagged(&emu).len(), 7);
    let gone = emu
        .tool("pipeline-up")
        .arg("--destroy")
        .doc(&identity_and_pipeline(&after))
        .run()
        .ok();
    assert!(gone.get("pipeline").is_none());
    assert_eq!(pipeline_tagged(&emu), Vec::<String>::new());
    // Twice: exit 0, no write.
    let mark = emu.mark();
    emu.tool("pipeline-up")
        .arg("--destroy")
        .doc(&identity_and_pipeline(&after))
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_after_a_partial_up_leaves_nothing() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    // up stops at the pipeline: bucket, topic, roles and project exist, no section written.
    emu.inject(&[Fault::error(
        "codepipeline",
        "CreatePipeline",
        "AccessDeniedException",
        "denied (injected)",
    )]);
    pipeline_up(&emu).doc(&doc).run().fails(1);
    assert_eq!(pipeline_tagged(&emu).len(), 5);
    let identity = json!({"version": doc["version"], "app": doc["app"], "region": doc["region"], "account": doc["account"]});
    emu.tool("pipeline-up")
        .arg("--destroy")
        .doc(&identity)
        .run()
        .ok();
    assert_eq!(pipeline_tagged(&emu), Vec::<String>::new());
}

#[test]
fn destroy_counts_already_gone_answers_as_done() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    // Each delete is applied, its answer lost, and the SDK's retry meets "not found".
    emu.inject(&[
        lost_answer("iam", "DeleteRolePolicy"),
        lost_answer("s3", "DeleteBucket"),
        lost_answer("codepipeline", "DeletePipeline"),
        lost_answer("iam", "DeleteRole"),
    ]);
    emu.tool("pipeline-up")
        .arg("--destroy")
        .doc(&after)
        .run()
        .ok();
    assert_eq!(pipeline_tagged(&emu), Vec::<String>::new());
    let iamc = iam::Client::new(&emu.sdk());
    assert!(
        emu.block_on(iamc.get_role().role_name(format!("{APP}-codebuild")).send())
            .is_err()
    );
    let cb = codebuild::Client::new(&emu.sdk());
    let left = emu
        .block_on(
            cb.batch_get_projects()
                .names(format!("codebuild-{APP}"))
                .send(),
        )
        .unwrap();
    assert!(left.projects().is_empty());
}

#[test]
fn a_no_op_rerun_reads_in_few_calls() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    let mark = emu.mark();
    emu.tool("pipeline-up").doc(&after).run().ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    // STS, the bucket (head + 6 settings), topic (2), roles (2 × 2), the builds' log group,
    // project, pipeline (3: declaration, tags, state for the Deploy transition), the rule read
    // straight from its recorded ARN, the token's version: 21 reads, side by side. No listing
    // of rules, no role lookup, no secret value.
    assert_eq!(
        calls.count("codestar-notifications:ListNotificationRules"),
        0
    );
    assert_eq!(calls.count("iam:ListRoles"), 0);
    assert_eq!(calls.count("secretsmanager:GetSecretValue"), 0);
    assert!(
        calls.read_only() <= 21,
        "{} reads: {:?}",
        calls.read_only(),
        calls.0["by_action"]
    );
}
