//! Unit tests of the diff rules (table-driven, no emulator).
use super::*;
use crate::Args;
use crate::desired::{Inputs, TokenSecret, desired};
use crate::observe::{Found, FoundBucket, FoundPipeline, FoundRole, FoundRule};
use kit::Action;
use serde_json::json;

const APP: &str = "unicorn-ui";

fn args() -> Args {
    Args {
        repo_owner: Some("my-org".into()),
        repo_name: Some("backstage-app".into()),
        branch: "main".into(),
        buildspec: "templates/buildspec.yml".into(),
        build_log_retention_days: 30,
        ..Args::default()
    }
}

fn inputs() -> Inputs {
    inputs_with(true)
}

/// What the document gives pipeline-up: `ecr`, `core`, `secrets`, and whether `svc` exists.
fn inputs_with(service_exists: bool) -> Inputs {
    let account = "123456789012";
    let ecr = stackdoc::Ecr {
        repository_name: APP.into(),
        repository_arn: format!("arn:aws:ecr:us-west-2:{account}:repository/{APP}"),
        repository_uri: format!("{account}.dkr.ecr.us-west-2.amazonaws.com/{APP}"),
    };
    let mut inputs = Inputs::new(APP, &ecr, &core(), None, service_exists);
    inputs.token = Some(TokenSecret {
        name: format!("{APP}-ecs-github-token"),
        arn: format!(
            "arn:aws:secretsmanager:us-west-2:{account}:secret:{APP}-ecs-github-token-AbCdEf"
        ),
    });
    inputs
}

fn core() -> stackdoc::Core {
    stackdoc::Core {
        name: "core-infra".into(),
        created: true,
        vpc_id: "vpc-1".into(),
        vpc_cidr: "10.0.0.0/16".into(),
        public_subnets: vec![],
        private_subnets: vec![],
        cluster_name: "core-infra".into(),
        cluster_arn: "arn:aws:ecs:us-west-2:123456789012:cluster/core-infra".into(),
        namespace_id: "ns-1".into(),
        namespace_name: "default.core-infra.local".into(),
        namespace_arn: "arn:aws:servicediscovery:us-west-2:123456789012:namespace/ns-1".into(),
    }
}

fn d_with(args: &Args) -> Desired {
    desired(args, &inputs(), APP, "123456789012", "us-west-2").unwrap()
}

/// Nothing exists yet.
fn fresh(args: &Args) -> Observed {
    Observed {
        d: d_with(args),
        bucket: None,
        topic: None,
        build_role: None,
        pipeline_role: None,
        project: None,
        pipeline: None,
        rule: None,
        build_logs: None,
        codestar_role: true,
        token_current: Some("v1".into()),
        token_recorded: None,
        rule_recorded: None,
    }
}

/// Everything exists as a previous run left it.
fn applied(args: &Args) -> Observed {
    let mut now = fresh(args);
    let d = now.d.clone();
    let found = |settings: Value| Found {
        owner: Owner::Us,
        settings,
    };
    let role = |trust: &Value, policy: &Value| FoundRole {
        owner: Owner::Us,
        trust: Some(trust.clone()),
        policy: Some(policy.clone()),
    };
    now.bucket = Some(FoundBucket {
        owner: Owner::Us,
        settings: bucket::wanted(&d),
        stranded: false,
    });
    now.topic = Some(found(json!({"policy": d.topic_policy})));
    now.build_role = Some(role(&d.build_trust, &d.build_policy));
    now.pipeline_role = Some(role(&d.pipeline_trust, &d.pipeline_policy));
    now.project = Some(found(d.project_settings.clone()));
    now.pipeline = Some(FoundPipeline {
        owner: Owner::Us,
        settings: d.pipeline_settings.clone(),
        created: Some(1_700_000_000),
        deploy_enabled: d.deploy.enabled,
    });
    now.rule = Some(FoundRule {
        arn: "arn:aws:codestar-notifications:us-west-2:123456789012:notificationrule/abc".into(),
        owner: Owner::Us,
        settings: rule_settings(&d),
    });
    now.build_logs = Some(log_groups::LogGroup {
        retention: Some(30),
    });
    now.token_recorded = Some("v1".into());
    now
}

fn words(plan: &Plan<Op>) -> Vec<(String, &'static str)> {
    plan.changes
        .iter()
        .map(|c| {
            let kind = c.resource.split(' ').next().unwrap_or_default();
            let kind = match kind {
                "S3" => "bucket",
                "SNS" => "topic",
                "IAM" if c.resource.ends_with("-codebuild") => "build role",
                "IAM" => "pipeline role",
                "CodeBuild" => "project",
                "log" => "build logs",
                "notification" => "rule",
                other => other,
            };
            (kind.to_owned(), c.action.word())
        })
        .collect()
}

fn changed(plan: &Plan<Op>) -> Vec<(String, &'static str)> {
    words(plan)
        .into_iter()
        .filter(|(_, w)| *w != "unchanged")
        .collect()
}

fn fields(plan: &Plan<Op>) -> String {
    plan.changes
        .iter()
        .filter_map(|c| match &c.action {
            Action::Update(f) => Some(
                f.iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join(" | ")
}

fn op_of<'a>(plan: &'a Plan<Op>, resource_start: &str) -> &'a Op {
    &plan
        .changes
        .iter()
        .find(|c| c.resource.starts_with(resource_start))
        .expect("resource in plan")
        .op
}

#[test]
fn nothing_there_creates_all_eight() {
    let plan = plan_of(&fresh(&args()), APP, false).unwrap();
    assert_eq!(
        words(&plan),
        [
            ("bucket".to_owned(), "create"),
            ("topic".to_owned(), "create"),
            ("build role".to_owned(), "create"),
            ("pipeline role".to_owned(), "create"),
            ("build logs".to_owned(), "create"),
            ("project".to_owned(), "create"),
            ("pipeline".to_owned(), "create"),
            ("rule".to_owned(), "create"),
        ]
    );
    assert_eq!(
        op_of(&plan, "S3 bucket"),
        &Op::Bucket {
            create: true,
            tag: true,
            parts: BUCKET_PARTS.to_vec()
        }
    );
}

#[test]
fn a_rerun_with_what_exists_changes_nothing() {
    for args in [
        args(),
        Args {
            connection_arn: Some(
                "arn:aws:codestar-connections:us-west-2:123456789012:connection/abc".into(),
            ),
            ..args()
        },
    ] {
        let plan = plan_of(&applied(&args), APP, false).unwrap();
        assert!(!plan.has_work(), "{:?}", plan.lines());
        assert_eq!(plan.changes.len(), 8);
    }
}

/// One drift each: what the plan must show and which operation apply gets.
#[test]
fn each_drift_is_one_update_naming_the_field() {
    type Drift = fn(&mut Observed);
    let cases: Vec<(&str, Drift, &str, &str, Op)> = vec![
        (
            "bucket encryption removed",
            |o| o.bucket.as_mut().unwrap().settings["encryption"] = Value::Null,
            "bucket",
            "encryption: (none) → AES256",
            Op::Bucket {
                create: false,
                tag: false,
                parts: vec!["encryption"],
            },
        ),
        (
            "bucket lifecycle removed",
            |o| o.bucket.as_mut().unwrap().settings["lifecycle"] = Value::Null,
            "bucket",
            "lifecycle",
            Op::Bucket {
                create: false,
                tag: false,
                parts: vec!["lifecycle"],
            },
        ),
        (
            "bucket public access opened",
            |o| {
                o.bucket.as_mut().unwrap().settings["publicAccessBlock"] =
                    json!([false, true, true, true])
            },
            "bucket",
            "publicAccessBlock",
            Op::Bucket {
                create: false,
                tag: false,
                parts: vec!["publicAccessBlock"],
            },
        ),
        (
            "topic policy replaced",
            |o| o.topic.as_mut().unwrap().settings = json!({"policy": {"Statement": []}}),
            "topic",
            "policy",
            Op::Topic { create: false },
        ),
        (
            "build role trust without the account condition",
            |o| {
                let t = o.build_role.as_mut().unwrap().trust.as_mut().unwrap();
                t["Statement"][0]
                    .as_object_mut()
                    .unwrap()
                    .remove("Condition");
            },
            "build role",
            "trust Statement.0.Condition",
            Op::Role {
                build: true,
                create: false,
                trust: true,
                policy: false,
            },
        ),
        (
            "pipeline role policy missing",
            |o| o.pipeline_role.as_mut().unwrap().policy = None,
            "pipeline role",
            "(none)",
            Op::Role {
                build: false,
                create: false,
                trust: false,
                policy: true,
            },
        ),
        (
            "build logs retention changed by hand",
            |o| o.build_logs.as_mut().unwrap().retention = Some(7),
            "build logs",
            "retention_days: 7 → 30",
            Op::BuildLogs {
                create: false,
                retention: true,
            },
        ),
        (
            "build logs made by CodeBuild (an older stack): never expiring",
            |o| o.build_logs.as_mut().unwrap().retention = None,
            "build logs",
            "retention_days: never expire → 30",
            Op::BuildLogs {
                create: false,
                retention: true,
            },
        ),
        (
            "project image changed by hand",
            |o| {
                o.project.as_mut().unwrap().settings["environment"]["image"] =
                    json!("aws/codebuild/standard:5.0")
            },
            "project",
            "environment.image: aws/codebuild/standard:5.0 → aws/codebuild/standard:7.0",
            Op::Project { create: false },
        ),
        (
            "pipeline follows another branch",
            |o| {
                o.pipeline.as_mut().unwrap().settings["stages"][0]["actions"][0]["configuration"]
                    ["Branch"] = json!("develop")
            },
            "pipeline",
            "stages.Source.actions.Source.configuration.Branch: develop → main",
            Op::Pipeline {
                create: false,
                declaration: true,
                transition: None,
            },
        ),
        (
            "rule detail changed by hand",
            |o| o.rule.as_mut().unwrap().settings["detailType"] = json!("BASIC"),
            "rule",
            "detailType: BASIC → FULL",
            Op::Rule {
                arn: Some(
                    "arn:aws:codestar-notifications:us-west-2:123456789012:notificationrule/abc"
                        .into(),
                ),
            },
        ),
        (
            "a new token version",
            |o| o.token_current = Some("v2".into()),
            "pipeline",
            "OAuthToken (secret unicorn-ui-ecs-github-token): version v1 → version v2",
            Op::Pipeline {
                create: false,
                declaration: true,
                transition: None,
            },
        ),
        (
            "the Deploy transition disabled while the service exists",
            |o| o.pipeline.as_mut().unwrap().deploy_enabled = false,
            "pipeline",
            "Deploy transition: disabled → enabled",
            Op::Pipeline {
                create: false,
                declaration: false,
                transition: Some(true),
            },
        ),
    ];
    for (name, drift, kind, field, op) in cases {
        let mut now = applied(&args());
        drift(&mut now);
        let plan = plan_of(&now, APP, false).unwrap();
        assert_eq!(changed(&plan), [(kind.to_owned(), "update")], "{name}");
        assert!(fields(&plan).contains(field), "{name}: {}", fields(&plan));
        let change = plan
            .changes
            .iter()
            .find(|c| c.action != Action::Unchanged)
            .unwrap();
        assert_eq!(change.op, op, "{name}");
    }
}

#[test]
fn each_missing_resource_is_one_create() {
    type Gone = fn(&mut Observed);
    let cases: Vec<(&str, Gone)> = vec![
        ("bucket", |o| o.bucket = None),
        ("topic", |o| o.topic = None),
        ("build role", |o| o.build_role = None),
        ("pipeline role", |o| o.pipeline_role = None),
        ("build logs", |o| o.build_logs = None),
        ("project", |o| o.project = None),
        ("pipeline", |o| o.pipeline = None),
        ("rule", |o| o.rule = None),
    ];
    for (kind, gone) in cases {
        let mut now = applied(&args());
        gone(&mut now);
        let plan = plan_of(&now, APP, false).unwrap();
        assert_eq!(changed(&plan), [(kind.to_owned(), "create")], "{kind}");
    }
}

#[test]
fn token_versions() {
    // An older document without a version adopts the current one: no update.
    let mut now = applied(&args());
    now.token_recorded = None;
    now.token_current = Some("v9".into());
    assert!(!plan_of(&now, APP, false).unwrap().has_work());
    assert_eq!(planned(&now).token_version.as_deref(), Some("v9"));
    // A connection has no token: a rotation is nothing to do.
    let conn = Args {
        connection_arn: Some(
            "arn:aws:codestar-connections:us-west-2:123456789012:connection/abc".into(),
        ),
        ..args()
    };
    let mut now = applied(&conn);
    now.token_recorded = Some("v1".into());
    now.token_current = None;
    assert!(!plan_of(&now, APP, false).unwrap().has_work());
    assert_eq!(planned(&now).token_version, None);
    // The field names the secret, never a value.
    let mut now = applied(&args());
    now.token_current = Some("v2".into());
    let f = token_change(&now).unwrap();
    assert_eq!(f.name, "OAuthToken (secret unicorn-ui-ecs-github-token)");
    assert_eq!(
        (f.old.as_str(), f.new.as_str()),
        ("version v1", "version v2")
    );
}

#[test]
fn refusals_and_adoption() {
    // Another app's topic: refused, naming that app (exit 2).
    let mut now = applied(&args());
    now.topic.as_mut().unwrap().owner = Owner::Other {
        app: "other-app".into(),
        step: "pipeline".into(),
    };
    let e = plan_of(&now, APP, false).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message.contains("belongs to app other-app"),
        "{}",
        e.message
    );
    // An untagged project: refused.
    let mut now = applied(&args());
    now.project.as_mut().unwrap().owner = Owner::Untagged;
    let e = plan_of(&now, APP, false).unwrap_err();
    assert!(
        e.message
            .contains("was not created by pipeline-up for app unicorn-ui"),
        "{}",
        e.message
    );
    // An empty untagged bucket (a killed create): adopted, tagged, set up.
    let mut now = fresh(&args());
    now.bucket = Some(FoundBucket {
        owner: Owner::Untagged,
        settings: json!({"policy": null, "encryption": "AES256", "publicAccessBlock": null, "ownership": "BucketOwnerEnforced", "lifecycle": null}),
        stranded: true,
    });
    let plan = plan_of(&now, APP, false).unwrap();
    assert_eq!(
        op_of(&plan, "S3 bucket"),
        &Op::Bucket {
            create: false,
            tag: true,
            parts: vec!["publicAccessBlock", "policy", "lifecycle"]
        }
    );
    assert!(
        fields(&plan).contains("ownership: untagged and empty"),
        "{}",
        fields(&plan)
    );
    // Untagged and holding objects: refused.
    now.bucket.as_mut().unwrap().stranded = false;
    let e = plan_of(&now, APP, false).unwrap_err();
    assert!(e.message.contains("holds objects"), "{}", e.message);
}

#[test]
fn a_rule_needs_the_codestar_role_unless_a_chained_plan_makes_it() {
    let mut now = applied(&args());
    now.rule = None;
    now.codestar_role = false;
    let e = plan_of(&now, APP, false).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message.contains("slr-check --create"), "{}", e.message);
    assert!(plan_of(&now, APP, true).is_ok());
    // A rule as wanted needs no role lookup at all.
    let mut now = applied(&args());
    now.codestar_role = false;
    assert!(!plan_of(&now, APP, false).unwrap().has_work());
}

#[test]
fn the_planned_section_has_placeholders_only_for_what_is_new() {
    let mut now = applied(&args());
    now.pipeline = None;
    now.rule = None;
    let s = planned(&now);
    assert_eq!(s.pipeline_arn, PLANNED);
    assert_eq!(s.notification_rule_arn, PLANNED);
    assert_eq!(s.topic_arn, now.d.n.topic_arn);
    assert_eq!(s.source_kind, "github-v1");
}

#[test]
fn differences_name_the_changed_leaves() {
    let a = json!({"stages": [{"name": "Source", "x": 1}], "k": "v"});
    let b = json!({"stages": [{"name": "Source", "x": 2}], "k": "v"});
    assert_eq!(
        differences(&a, &b, 5),
        vec![Field::from("stages.Source.x: 1 → 2")]
    );
    let many = json!({"a": 1, "b": 2, "c": 3});
    let other = json!({"a": 0, "b": 0, "c": 0});
    assert_eq!(
        differences(&many, &other, 2).len(),
        3,
        "two and 'and 1 more'"
    );
}

#[test]
fn the_plan_runs_through_a_test_context() {
    let cx = Cx::for_test("pipeline-up", "pipeline", APP, stackdoc::Doc::new());
    assert!(!plan(&cx, &applied(&args())).unwrap().has_work());
}

#[path = "diff_transition_tests.rs"]
mod transition;
