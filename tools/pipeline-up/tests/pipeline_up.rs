//! pipeline-up against the emulator: what it makes, its drift rules, refusals and teardown.
//! Every assertion is an independent describe call, never the tool's own code. (Settings,
//! token rotation, role lag and runs: over_time.rs; lost answers, kills and partial stacks:
//! idempotence.rs.) Over 600 lines because each of the seven resources has its create, drift
//! and teardown checks here, side by side with the describe calls that verify them.

mod common;

use std::collections::BTreeSet;

use common::{APP, OWNER, REPO, TOKEN, pipeline_up, stack};
use testkit::{Emulator, Value, codebuild, codepipeline, codestar, iam, json, s3, sns};

const CONNECTION: &str = "arn:aws:codestar-connections:us-west-2:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";

fn s3_client(emu: &Emulator) -> s3::Client {
    s3::Client::from_conf(
        s3::config::Builder::from(&emu.sdk())
            .force_path_style(true)
            .build(),
    )
}

fn pipeline_of(emu: &Emulator, name: &str) -> codepipeline::types::PipelineDeclaration {
    let cp = codepipeline::Client::new(&emu.sdk());
    emu.block_on(cp.get_pipeline().name(name).send())
        .expect("get pipeline")
        .pipeline()
        .cloned()
        .expect("declaration")
}

fn config(action: &codepipeline::types::ActionDeclaration, key: &str) -> String {
    action
        .configuration()
        .and_then(|c| c.get(key))
        .cloned()
        .unwrap_or_default()
}

/// The inline policies of a role, parsed.
fn role_policies(emu: &Emulator, role: &str) -> Vec<Value> {
    let iamc = iam::Client::new(&emu.sdk());
    emu.block_on(async {
        let attached = iamc
            .list_attached_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        assert!(
            attached.attached_policies().is_empty(),
            "{role} has managed policies attached"
        );
        let names = iamc
            .list_role_policies()
            .role_name(role)
            .send()
            .await
            .unwrap();
        let mut out = Vec::new();
        for name in names.policy_names() {
            let p = iamc
                .get_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .unwrap();
            let text = p.policy_document();
            let decoded = if text.starts_with('%') {
                percent_decode(text)
            } else {
                text.to_owned()
            };
            out.push(decoded.parse::<Value>().expect("policy is JSON"));
        }
        out
    })
}

fn percent_decode(text: &str) -> String {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).unwrap()
}

fn as_list(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        _ => vec![],
    }
}

#[test]
fn fresh_create_with_github_v1_sets_every_setting() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mark = emu.mark();
    let out = pipeline_up(&emu).doc(&doc).run();
    let after = out.ok();
    let sec = &after["pipeline"];
    let bucket = format!("{APP}-pipeline-{}-{}", testkit::ACCOUNT, testkit::REGION);
    assert_eq!(sec["bucket"], bucket.as_str());
    assert_eq!(sec["source_kind"], "github-v1");
    assert!(sec.get("url").is_none(), "the stack's URL is alb.url");
    // The token was read from the secret at run time.
    let calls = emu.calls_since(mark);
    assert!(calls.count("secretsmanager:GetSecretValue") >= 1);
    let sdk = emu.sdk();

    // Bucket: policy, encryption, public-access block, ownership, lifecycle.
    let s3c = s3_client(&emu);
    emu.block_on(async {
        let policy: Value = s3c
            .get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .unwrap()
            .policy()
            .unwrap()
            .parse()
            .unwrap();
        let st = &policy["Statement"][0];
        assert_eq!(st["Effect"], "Deny");
        assert_eq!(st["Condition"]["Bool"]["aws:SecureTransport"], "false");
        assert!(as_list(&st["Resource"]).contains(&format!("arn:aws:s3:::{bucket}/*")));
        let enc = s3c
            .get_bucket_encryption()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
        assert_eq!(
            rule.apply_server_side_encryption_by_default()
                .unwrap()
                .sse_algorithm()
                .as_str(),
            "AES256"
        );
        let pab = s3c
            .get_public_access_block()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        let pab = pab.public_access_block_configuration().unwrap();
        assert_eq!(
            (
                pab.block_public_acls(),
                pab.ignore_public_acls(),
                pab.block_public_policy(),
                pab.restrict_public_buckets()
            ),
            (Some(true), Some(true), Some(true), Some(true))
        );
        let own = s3c
            .get_bucket_ownership_controls()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(
            own.ownership_controls().unwrap().rules()[0]
                .object_ownership()
                .as_str(),
            "BucketOwnerEnforced"
        );
        let lc = s3c
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .unwrap();
        assert_eq!(lc.rules()[0].expiration().unwrap().days(), Some(30));
    });

    // Topic and its publish policy for CodeStar Notifications, limited to this account.
    let snsc = sns::Client::new(&sdk);
    let topic_arn = sec["topic_arn"].as_str().unwrap();
    assert!(topic_arn.ends_with(&format!(":{APP}-pipeline")));
    let attrs = emu
        .block_on(snsc.get_topic_attributes().topic_arn(topic_arn).send())
        .unwrap();
    let policy: Value = attrs.attributes().unwrap()["Policy"].parse().unwrap();
    let st = &policy["Statement"][0];
    assert_eq!(
        st["Principal"]["Service"],
        "codestar-notifications.amazonaws.com"
    );
    assert_eq!(st["Action"], "sns:Publish");
    assert_eq!(
        st["Condition"]["StringEquals"]["aws:SourceAccount"],
        testkit::ACCOUNT
    );

    // CodeBuild project.
    let cb = codebuild::Client::new(&sdk);
    let projects = emu
        .block_on(
            cb.batch_get_projects()
                .names(format!("codebuild-{APP}"))
                .send(),
        )
        .unwrap();
    let p = &projects.projects()[0];
    assert_eq!(p.source().unwrap().r#type().as_str(), "CODEPIPELINE");
    assert_eq!(
        p.source().unwrap().buildspec(),
        Some("templates/buildspec.yml")
    );
    assert_eq!(p.artifacts().unwrap().r#type().as_str(), "CODEPIPELINE");
    let env = p.environment().unwrap();
    assert!(env.image().starts_with("aws/codebuild/standard:"));
    assert_eq!(env.r#type().as_str(), "LINUX_CONTAINER");
    assert_eq!(env.compute_type().as_str(), "BUILD_GENERAL1_SMALL");
    assert_eq!(env.privileged_mode(), Some(true));
    let vars: Vec<(&str, &str)> = env
        .environment_variables()
        .iter()
        .map(|v| (v.name(), v.value()))
        .collect();
    assert_eq!(
        vars,
        [
            ("REPO_URL", doc["ecr"]["repository_uri"].as_str().unwrap()),
            (
                "CONTAINER_NAME",
                doc["svc"]["container_name"].as_str().unwrap()
            ),
        ]
    );
    let logs = p.logs_config().unwrap().cloud_watch_logs().unwrap();
    assert_eq!(logs.status().as_str(), "ENABLED");
    assert_eq!(p.service_role(), sec["codebuild_role_arn"].as_str());

    // The pipeline: store, three stages and their providers, the GitHub v1 source.
    let pl = pipeline_of(&emu, &format!("pipeline-{APP}"));
    assert_eq!(pl.artifact_store().unwrap().location(), bucket);
    assert_eq!(Some(pl.role_arn()), sec["pipeline_role_arn"].as_str());
    let stages: Vec<(&str, &str, &str)> = pl
        .stages()
        .iter()
        .map(|s| {
            let t = s.actions()[0].action_type_id().unwrap();
            (s.name(), t.owner().as_str(), t.provider())
        })
        .collect();
    assert_eq!(
        stages,
        [
            ("Source", "ThirdParty", "GitHub"),
            ("Build", "AWS", "CodeBuild"),
            ("Deploy", "AWS", "ECS")
        ]
    );
    let source = &pl.stages()[0].actions()[0];
    assert_eq!(source.action_type_id().unwrap().version(), "1");
    assert_eq!(config(source, "Owner"), OWNER);
    assert_eq!(config(source, "Repo"), REPO);
    assert_eq!(config(source, "Branch"), "main");
    assert_eq!(config(source, "PollForSourceChanges"), "true");
    assert_eq!(config(source, "OAuthToken"), "****", "AWS masks the token");
    assert_eq!(
        config(&pl.stages()[1].actions()[0], "ProjectName"),
        format!("codebuild-{APP}")
    );
    let deploy = &pl.stages()[2].actions()[0];
    assert_eq!(
        config(deploy, "ClusterName"),
        doc["svc"]["cluster_name"].as_str().unwrap()
    );
    assert_eq!(
        config(deploy, "ServiceName"),
        doc["svc"]["service_name"].as_str().unwrap()
    );
    assert_eq!(config(deploy, "FileName"), "imagedefinition.json");

    // The notification rule, aimed at the topic.
    let cs = codestar::Client::new(&sdk);
    let rule = emu
        .block_on(
            cs.describe_notification_rule()
                .arn(sec["notification_rule_arn"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(rule.name(), Some(format!("{APP}-pipeline-status").as_str()));
    assert_eq!(rule.detail_type().unwrap().as_str(), "FULL");
    assert_eq!(rule.resource(), sec["pipeline_arn"].as_str());
    let events: BTreeSet<&str> = rule
        .event_types()
        .iter()
        .filter_map(|e| e.event_type_id())
        .collect();
    assert_eq!(
        events,
        BTreeSet::from([
            "codepipeline-pipeline-action-execution-failed",
            "codepipeline-pipeline-action-execution-succeeded",
            "codepipeline-pipeline-pipeline-execution-failed",
        ])
    );
    assert_eq!(rule.targets().len(), 1);
    assert_eq!(rule.targets()[0].target_address(), Some(topic_arn));
    assert_eq!(rule.targets()[0].target_type(), Some("SNS"));
}

#[test]
fn fresh_create_with_a_codestar_connection() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mark = emu.mark();
    let after = pipeline_up(&emu)
        .args(["--connection-arn", CONNECTION, "--branch", "release"])
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(after["pipeline"]["source_kind"], "codestar-connection");
    assert_eq!(
        emu.calls_since(mark).count("secretsmanager:GetSecretValue"),
        0,
        "a connection needs no token"
    );
    let pl = pipeline_of(&emu, &format!("pipeline-{APP}"));
    let source = &pl.stages()[0].actions()[0];
    let t = source.action_type_id().unwrap();
    assert_eq!(
        (t.owner().as_str(), t.provider(), t.version()),
        ("AWS", "CodeStarSourceConnection", "1")
    );
    assert_eq!(config(source, "ConnectionArn"), CONNECTION);
    assert_eq!(
        config(source, "FullRepositoryId"),
        format!("{OWNER}/{REPO}")
    );
    assert_eq!(config(source, "BranchName"), "release");
    assert!(config(source, "OAuthToken").is_empty());
    let providers: Vec<&str> = pl
        .stages()
        .iter()
        .map(|s| s.actions()[0].action_type_id().unwrap().provider())
        .collect();
    assert_eq!(providers, ["CodeStarSourceConnection", "CodeBuild", "ECS"]);
    // The pipeline role may use exactly this connection.
    let policies = role_policies(&emu, &format!("{APP}-pipeline"));
    let uses: Vec<&Value> = policies
        .iter()
        .flat_map(|p| p["Statement"].as_array().unwrap())
        .filter(|s| as_list(&s["Action"]).contains(&"codestar-connections:UseConnection".into()))
        .collect();
    assert_eq!(uses.len(), 1);
    assert_eq!(as_list(&uses[0]["Resource"]), [CONNECTION]);
    // And the rerun changes nothing.
    let mark = emu.mark();
    pipeline_up(&emu)
        .args(["--connection-arn", CONNECTION, "--branch", "release"])
        .doc(&after)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_rerun_makes_zero_mutating_calls_with_the_masked_token_in_play() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let first = pipeline_up(&emu).doc(&doc).run().ok();
    // AWS (and the emulator) show the token as **** — the rerun must not read that as drift.
    let pl = pipeline_of(&emu, &format!("pipeline-{APP}"));
    assert_eq!(config(&pl.stages()[0].actions()[0], "OAuthToken"), "****");
    let mark = emu.mark();
    let out = pipeline_up(&emu).doc(&first).run();
    let second = out.ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(calls.count("codepipeline:UpdatePipeline"), 0);
    assert_eq!(second, first);
    // --plan agrees: nothing to do.
    let out = pipeline_up(&emu).arg("--plan").doc(&first).run();
    out.ok();
    assert!(
        out.stderr
            .contains("plan: 0 to create, 0 to update, 0 to delete, 8 unchanged"),
        "{}",
        out.stderr
    );
}

#[test]
fn plan_reports_what_would_change_with_read_only_calls() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mark = emu.mark();
    let out = pipeline_up(&emu).arg("--plan").doc(&doc).run();
    let planned = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(out.stderr.contains("8 to create"), "{}", out.stderr);
    assert_eq!(planned["pipeline"]["planned"], true);
    assert_eq!(
        planned["pipeline"]["pipeline_arn"],
        testkit::json!("(known after apply)")
    );

    let applied = pipeline_up(&emu).doc(&doc).run().ok();
    // Drift made outside the tool: the build image changed by hand, and a new branch asked for.
    let cb = codebuild::Client::new(&emu.sdk());
    emu.block_on(
        cb.update_project()
            .name(format!("codebuild-{APP}"))
            .environment(
                codebuild::types::ProjectEnvironment::builder()
                    .r#type(codebuild::types::EnvironmentType::LinuxContainer)
                    .image("aws/codebuild/standard:5.0")
                    .compute_type(codebuild::types::ComputeType::BuildGeneral1Small)
                    .build()
                    .unwrap(),
            )
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let out = pipeline_up(&emu)
        .args(["--plan", "--branch", "develop"])
        .doc(&applied)
        .run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(out.stderr.contains("2 to update"), "{}", out.stderr);
    assert!(
        out.stderr
            .contains("stages.Source.actions.Source.configuration.Branch: main → develop"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("environment.image: aws/codebuild/standard:5.0 →"),
        "{}",
        out.stderr
    );
    // Apply corrects both, and then a rerun is quiet.
    let fixed = pipeline_up(&emu)
        .args(["--branch", "develop"])
        .doc(&applied)
        .run()
        .ok();
    let pl = pipeline_of(&emu, &format!("pipeline-{APP}"));
    assert_eq!(config(&pl.stages()[0].actions()[0], "Branch"), "develop");
    let p = emu
        .block_on(
            cb.batch_get_projects()
                .names(format!("codebuild-{APP}"))
                .send(),
        )
        .unwrap();
    assert_eq!(
        p.projects()[0].environment().unwrap().privileged_mode(),
        Some(true)
    );
    let mark = emu.mark();
    pipeline_up(&emu)
        .args(["--branch", "develop"])
        .doc(&fixed)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_missing_codestar_role_exits_2_before_any_write_and_points_to_slr_check() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let iamc = iam::Client::new(&emu.sdk());
    emu.block_on(
        iamc.delete_service_linked_role()
            .role_name("AWSServiceRoleForCodeStarNotifications")
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let line = pipeline_up(&emu).doc(&doc).run().fails(2);
    assert!(line.contains("slr-check --create"), "{line}");
    assert!(line.contains(&format!("{APP}-pipeline-status")), "{line}");
    emu.calls_since(mark).assert_no_mutations();

    // The emulator refuses such a rule as AWS does, with ConfigurationException.
    let cs = codestar::Client::new(&emu.sdk());
    let err = emu
        .block_on(
            cs.create_notification_rule()
                .name("direct")
                .resource("arn:aws:codepipeline:us-west-2:123456789012:pipeline-x")
                .detail_type(codestar::types::DetailType::Full)
                .event_type_ids("codepipeline-pipeline-pipeline-execution-failed")
                .targets(
                    codestar::types::Target::builder()
                        .target_type("SNS")
                        .target_address("arn:aws:sns:us-west-2:123456789012:t")
                        .build(),
                )
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_configuration_exception()),
        "{err:?}"
    );
}

#[test]
fn the_emulator_refuses_a_duplicate_rule_name() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    let cs = codestar::Client::new(&emu.sdk());
    let err = emu
        .block_on(
            cs.create_notification_rule()
                .name(format!("{APP}-pipeline-status"))
                .resource(after["pipeline"]["pipeline_arn"].as_str().unwrap())
                .detail_type(codestar::types::DetailType::Basic)
                .event_type_ids("codepipeline-pipeline-pipeline-execution-failed")
                .targets(
                    codestar::types::Target::builder()
                        .target_type("SNS")
                        .target_address(after["pipeline"]["topic_arn"].as_str().unwrap())
                        .build(),
                )
                .send(),
        )
        .unwrap_err();
    assert!(
        err.as_service_error()
            .is_some_and(|e| e.is_resource_already_exists_exception()),
        "{err:?}"
    );
}

/// Actions AWS grants only on "*" (no resource-level permissions): ECR's login token, and
/// the task-definition calls the ECS deploy action makes.
const STAR_ONLY: [&str; 3] = [
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
];

#[test]
fn no_policy_pipeline_up_creates_has_a_star_resource_beyond_what_aws_requires() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu)
        .args(["--connection-arn", CONNECTION])
        .doc(&doc)
        .run()
        .ok();
    let sec = &after["pipeline"];
    let mut statements = 0;
    for role in [
        sec["codebuild_role_name"].as_str().unwrap(),
        sec["pipeline_role_name"].as_str().unwrap(),
    ] {
        let policies = role_policies(&emu, role);
        assert!(!policies.is_empty(), "{role} has no policy");
        for policy in policies {
            for st in policy["Statement"].as_array().unwrap() {
                statements += 1;
                assert_eq!(st["Effect"], "Allow");
                let actions = as_list(&st["Action"]);
                assert!(
                    actions.iter().all(|a| !a.contains('*')),
                    "{role}: wildcard action in {st}"
                );
                let resources = as_list(&st["Resource"]);
                assert!(!resources.is_empty(), "{role}: statement without resource");
                if resources.iter().any(|r| r == "*") {
                    assert!(
                        actions.iter().all(|a| STAR_ONLY.contains(&a.as_str())),
                        "{role}: '*' resource for {actions:?}"
                    );
                }
                if actions.contains(&"iam:PassRole".to_owned()) {
                    let mut want = vec![
                        doc["svc"]["execution_role_arn"]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                        doc["svc"]["task_role_arn"].as_str().unwrap().to_owned(),
                    ];
                    want.sort();
                    let mut got = resources.clone();
                    got.sort();
                    assert_eq!(got, want, "PassRole on the two task roles only");
                }
            }
        }
    }
    assert!(statements >= 8);
    // The topic policy lets only CodeStar Notifications of this account publish.
    let snsc = sns::Client::new(&emu.sdk());
    let attrs = emu
        .block_on(
            snsc.get_topic_attributes()
                .topic_arn(sec["topic_arn"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    let policy: Value = attrs.attributes().unwrap()["Policy"].parse().unwrap();
    for st in policy["Statement"].as_array().unwrap() {
        assert_ne!(st["Principal"], "*");
        assert_eq!(
            as_list(&st["Resource"]),
            [sec["topic_arn"].as_str().unwrap()]
        );
    }
}

#[test]
fn the_token_never_appears_in_output_document_or_logs() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let mark = emu.mark();
    let out = pipeline_up(&emu).arg("-vv").doc(&doc).run();
    let after = out.ok();
    out.assert_never_shows(TOKEN);
    assert!(!after.to_string().contains(TOKEN));
    // Force an update (a new branch), which sends the token again.
    let out = pipeline_up(&emu)
        .args(["-vv", "--branch", "next"])
        .doc(&after)
        .run();
    out.assert_never_shows(TOKEN);
    let plan = pipeline_up(&emu).args(["-vv", "--plan"]).doc(&after).run();
    plan.assert_never_shows(TOKEN);
    let gone = pipeline_up(&emu)
        .args(["-vv", "--destroy"])
        .doc(&after)
        .run();
    gone.assert_never_shows(TOKEN);
    // The emulator's request log (what a proxy would record) never holds it either.
    let calls = emu.calls_since(mark);
    assert!(calls.count("codepipeline:CreatePipeline") == 1);
    assert!(calls.count("codepipeline:UpdatePipeline") == 1);
    assert!(!calls.0.to_string().contains(TOKEN));
}

#[test]
fn destroy_leaves_nothing_with_the_apps_tags() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    assert_eq!(common::pipeline_tagged(&emu).len(), 7);
    // Artifacts in a versioned bucket: two versions of one key, then a delete marker.
    let bucket = after["pipeline"]["bucket"].as_str().unwrap().to_owned();
    let s3c = s3_client(&emu);
    emu.block_on(async {
        s3c.put_bucket_versioning()
            .bucket(&bucket)
            .versioning_configuration(
                s3::types::VersioningConfiguration::builder()
                    .status(s3::types::BucketVersioningStatus::Enabled)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        for body in ["one", "two"] {
            s3c.put_object()
                .bucket(&bucket)
                .key("pipeline-unicorn/SourceArti/abc.zip")
                .body(s3::primitives::ByteStream::from_static(body.as_bytes()))
                .send()
                .await
                .unwrap();
        }
        s3c.delete_object()
            .bucket(&bucket)
            .key("pipeline-unicorn/SourceArti/abc.zip")
            .send()
            .await
            .unwrap();
    });
    let out = pipeline_up(&emu).arg("--destroy").doc(&after).run();
    let gone = out.ok();
    assert!(gone.get("pipeline").is_none());
    assert_eq!(gone["svc"], doc["svc"], "other sections are kept");
    assert_eq!(common::pipeline_tagged(&emu), Vec::<String>::new());
    let head = emu.block_on(s3c.head_bucket().bucket(&bucket).send());
    assert!(head.is_err(), "bucket still there");
    // Upstream resources are untouched.
    let iamc = iam::Client::new(&emu.sdk());
    emu.block_on(iamc.get_role().role_name(format!("{APP}-task")).send())
        .expect("task role kept");
    // Destroy again: nothing to do, nothing mutated.
    let mark = emu.mark();
    pipeline_up(&emu).arg("--destroy").doc(&gone).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_with_keep_artifacts_keeps_the_bucket_only() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    let bucket = after["pipeline"]["bucket"].as_str().unwrap().to_owned();
    let s3c = s3_client(&emu);
    emu.block_on(
        s3c.put_object()
            .bucket(&bucket)
            .key("artifact.zip")
            .body(s3::primitives::ByteStream::from_static(b"zip"))
            .send(),
    )
    .unwrap();
    pipeline_up(&emu)
        .args(["--destroy", "--keep-artifacts"])
        .doc(&after)
        .run()
        .ok();
    assert_eq!(common::pipeline_tagged(&emu), [format!("bucket {bucket}")]);
    emu.block_on(s3c.head_object().bucket(&bucket).key("artifact.zip").send())
        .expect("artifact kept");
}

#[test]
fn bad_input_exits_2_with_zero_mutating_calls() {
    let emu = Emulator::start();
    let doc = stack(&emu);

    let mark = emu.mark();
    let line = emu
        .tool("pipeline-up")
        .args(["--repo-name", REPO])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("--repo-owner"), "{line}");
    let line = emu
        .tool("pipeline-up")
        .args(["--repo-owner", OWNER])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("--repo-name"), "{line}");

    for bad in [
        "arn:aws:codestar-connections:us-west-2:123456789012:host/abc",
        "connection/abc",
        "arn:aws:s3:::bucket",
    ] {
        let line = pipeline_up(&emu)
            .args(["--connection-arn", bad])
            .doc(&doc)
            .run()
            .fails(2);
        assert!(line.contains("--connection-arn"), "{line}");
    }

    // The image repository is the one upstream section made last that pipeline-up needs.
    let mut no_ecr = doc.clone();
    no_ecr.as_object_mut().unwrap().remove("ecr");
    let line = pipeline_up(&emu).doc(&no_ecr).run().fails(2);
    assert!(
        line.contains("\"ecr\"") && line.contains("ecr-up"),
        "{line}"
    );

    let mut planned_ecr = doc.clone();
    planned_ecr["ecr"]["planned"] = json!(true);
    let line = pipeline_up(&emu).doc(&planned_ecr).run().fails(2);
    assert!(line.contains("ecr-up --plan"), "{line}");

    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_rule_changed_by_hand_is_put_back() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    let arn = after["pipeline"]["notification_rule_arn"].as_str().unwrap();
    let cs = codestar::Client::new(&emu.sdk());
    emu.block_on(
        cs.update_notification_rule()
            .arn(arn)
            .detail_type(codestar::types::DetailType::Basic)
            .event_type_ids("codepipeline-pipeline-pipeline-execution-failed")
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let again = pipeline_up(&emu).doc(&after).run().ok();
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["codestar-notifications:UpdateNotificationRule"]
    );
    assert_eq!(again["pipeline"]["notification_rule_arn"], arn);
    let rule = emu
        .block_on(cs.describe_notification_rule().arn(arn).send())
        .unwrap();
    assert_eq!(rule.detail_type().unwrap().as_str(), "FULL");
    assert_eq!(rule.event_types().len(), 3);
}

#[test]
fn the_emulator_serves_the_notification_rule_api() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let after = pipeline_up(&emu).doc(&doc).run().ok();
    let arn = after["pipeline"]["notification_rule_arn"].as_str().unwrap();
    let cs = codestar::Client::new(&emu.sdk());
    emu.block_on(async {
        // Tags: add, list, remove.
        cs.tag_resource()
            .arn(arn)
            .tags("team", "platform")
            .send()
            .await
            .unwrap();
        let tags = cs.list_tags_for_resource().arn(arn).send().await.unwrap();
        let tags = tags.tags().unwrap();
        assert_eq!(tags.get("team").map(String::as_str), Some("platform"));
        assert_eq!(tags.get("stagehand:app").map(String::as_str), Some(APP));
        cs.untag_resource()
            .arn(arn)
            .tag_keys("team")
            .send()
            .await
            .unwrap();
        let tags = cs.list_tags_for_resource().arn(arn).send().await.unwrap();
        assert!(!tags.tags().unwrap().contains_key("team"));
        // List by target address; an unknown rule is not found; delete is idempotent.
        let listed = cs
            .list_notification_rules()
            .filters(
                codestar::types::ListNotificationRulesFilter::builder()
                    .name(codestar::types::ListNotificationRulesFilterName::TargetAddress)
                    .value(after["pipeline"]["topic_arn"].as_str().unwrap())
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(listed.notification_rules().len(), 1);
        assert_eq!(listed.notification_rules()[0].arn(), Some(arn));
        let missing = cs
            .describe_notification_rule()
            .arn(format!("{arn}0"))
            .send()
            .await
            .unwrap_err();
        assert!(
            missing
                .as_service_error()
                .is_some_and(|e| e.is_resource_not_found_exception())
        );
        cs.delete_notification_rule().arn(arn).send().await.unwrap();
        cs.delete_notification_rule().arn(arn).send().await.unwrap();
        let listed = cs.list_notification_rules().send().await.unwrap();
        assert!(listed.notification_rules().is_empty());
    });
}

/// The builds' log group (`/aws/codebuild/<project>`), by an independent describe: made by
/// pipeline-up before the project, tagged as the step's, with the remembered retention; one
/// CodeBuild made untagged and never expiring (an older stack) gets the retention; `--destroy`
/// keeps it and says how to delete it; `--destroy --delete-logs` deletes it.
#[test]
fn the_builds_log_group_is_made_with_a_retention_and_deleted_only_with_delete_logs() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    let group = format!("/aws/codebuild/codebuild-{APP}");
    let logs = testkit::logs::Client::new(&emu.sdk());
    let describe = || {
        emu.block_on(
            logs.describe_log_groups()
                .log_group_name_prefix(&group)
                .send(),
        )
        .unwrap()
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(group.as_str()))
        .cloned()
    };
    let tags = || {
        emu.block_on(
            logs.list_tags_for_resource()
                .resource_arn(format!(
                    "arn:aws:logs:{}:123456789012:log-group:{group}",
                    testkit::REGION
                ))
                .send(),
        )
        .unwrap()
        .tags()
        .cloned()
        .unwrap_or_default()
    };

    let after = pipeline_up(&emu)
        .args(["--build-log-retention-days", "14"])
        .doc(&doc)
        .run()
        .ok();
    let made = describe().expect("the builds' log group exists");
    assert_eq!(made.retention_in_days(), Some(14));
    let t = tags();
    assert_eq!(t.get("stagehand:app").map(String::as_str), Some(APP));
    assert_eq!(
        t.get("stagehand:step").map(String::as_str),
        Some("pipeline")
    );
    assert_eq!(
        after["pipeline"]["settings"]["build-log-retention-days"], "14",
        "the retention is remembered"
    );
    let mark = emu.mark();
    let after = pipeline_up(&emu).doc(&after).run().ok();
    emu.calls_since(mark).assert_no_mutations();

    // Never expiring, as CodeBuild makes it: the rerun puts the remembered retention back.
    emu.block_on(logs.delete_retention_policy().log_group_name(&group).send())
        .unwrap();
    let out = pipeline_up(&emu).arg("--plan").doc(&after).run();
    out.ok();
    assert!(
        out.stderr.contains("retention_days: never expire → 14"),
        "{}",
        out.stderr
    );
    pipeline_up(&emu).doc(&after).run().ok();
    assert_eq!(describe().unwrap().retention_in_days(), Some(14));

    // --destroy keeps the logs and says so; --delete-logs deletes them.
    let out = pipeline_up(&emu).arg("--destroy").doc(&after).run();
    let gone = out.ok();
    assert!(describe().is_some(), "kept without --delete-logs");
    assert!(
        out.stderr.contains(&format!(
            "log group {group} is kept with its logs; pass --delete-logs"
        )),
        "{}",
        out.stderr
    );
    pipeline_up(&emu)
        .args(["--destroy", "--delete-logs"])
        .doc(&gone)
        .run()
        .ok();
    assert!(describe().is_none(), "deleted with --delete-logs");
}
