//! The drift rules of diff.rs, over plain data: what svc-up made (as AWS answers it, with
//! the members AWS adds) changed one way at a time.

use std::collections::BTreeMap;

use kit::{Action, Cx, Doc};
use security_groups::Group;
use serde_json::{Value, json};

use super::*;
use crate::desired::TaskDefInput;
use crate::observe::{CloudMapService, EcsService, LogGroup, Repo, TaskDef};
use crate::{Args, Inputs, Op};

const APP: &str = "web";
const TOKEN_ARN: &str =
    "arn:aws:secretsmanager:us-west-2:123456789012:secret:web-ecs-github-token-AbCdEf";
const DB_ARN: &str =
    "arn:aws:secretsmanager:us-west-2:123456789012:secret:web-postgresdb_passwd-GhIjKl";
const REPO_URI: &str = "123456789012.dkr.ecr.us-west-2.amazonaws.com/web";
const TD_ARN: &str = "arn:aws:ecs:us-west-2:123456789012:task-definition/web:2";

fn secret(name: &str, arn: &str) -> Value {
    json!({"name": name, "arn": arn, "version": "v1"})
}

fn document(svc: Option<Value>, oauth: bool) -> Doc {
    let param = |p: &str| json!({"name": format!("/web/{p}"), "arn": format!("arn:aws:ssm:us-west-2:123456789012:parameter/web/{p}")});
    let mut secrets = json!({
        "github_token": secret("web-ecs-github-token", TOKEN_ARN),
        "db_password": secret("web-postgresdb_passwd", DB_ARN),
    });
    if oauth {
        secrets["oauth_client_id"] = secret("web-github-oauth-client-id", "arn:oauth-id");
        secrets["oauth_client_secret"] =
            secret("web-github-oauth-client-secret", "arn:oauth-secret");
    }
    let subnet = |id: &str| json!({"id": id, "cidr": "10.0.0.0/24", "az": "us-west-2a"});
    let mut doc = json!({
        "version": 1, "app": APP, "region": "us-west-2", "account": "123456789012",
        "secrets": secrets,
        "ecr": {"repository_name": APP, "repository_arn": "arn:aws:ecr:us-west-2:123456789012:repository/web",
            "repository_uri": REPO_URI},
        "core": {"name": "core-infra", "created": true, "vpc_id": "vpc-1", "vpc_cidr": "10.0.0.0/16",
            "public_subnets": [subnet("subnet-pub")], "private_subnets": [subnet("subnet-a"), subnet("subnet-b")],
            "cluster_name": "core-infra", "cluster_arn": "arn:aws:ecs:us-west-2:123456789012:cluster/core-infra",
            "namespace_id": "ns-1", "namespace_name": "default.core-infra.local", "namespace_arn": "arn:ns"},
        "db": {"cluster_id": "web-db", "cluster_arn": "arn:db", "endpoint": "db.local", "reader_endpoint": "db-ro.local",
            "port": 5432, "user": "postgres", "instance_id": "web-db-1", "subnet_group": "web-db",
            "db_security_group_id": "sg-db", "client_security_group_id": "sg-db-client",
            "parameters": [param("POSTGRES_HOST"), param("POSTGRES_PORT"), param("POSTGRES_USER")]},
        "alb": {"name": "web-alb", "arn": "arn:alb", "dns_name": "web.elb.local", "hosted_zone_id": "Z1",
            "security_group_id": "sg-alb", "target_group_name": "web-tg", "target_group_arn": "arn:tg",
            "listener_arns": ["arn:listener"], "container_port": 7007, "url": "http://web.elb.local"},
    });
    if let Some(svc) = svc {
        doc["svc"] = svc;
    }
    Doc::from_value(doc).unwrap()
}

fn recorded(versions: Value) -> Value {
    json!({"repository_name": APP, "repository_uri": REPO_URI,
        "execution_role_arn": "arn:aws:iam::123456789012:role/web-task-execution",
        "task_role_arn": "arn:aws:iam::123456789012:role/web-task", "log_group": "/ecs/web",
        "security_group_id": "sg-task", "task_definition_arn": TD_ARN, "cloudmap_service_arn": "arn:cm",
        "cluster_name": "core-infra", "service_name": APP, "service_arn": "arn:svc",
        "container_name": APP, "container_port": 7007, "secret_versions": versions})
}

fn cx_of(doc: Doc) -> Cx {
    Cx::for_test("svc-up", "svc", APP, doc)
}

fn args() -> Args {
    Args {
        cpu: 1024,
        memory: 2048,
        image: None,
        desired_count: 3,
        log_retention_days: 30,
        health_check_grace_period: 300,
        redeploy: false,
        delete_logs: false,
        force: false,
    }
}

fn owned_tags() -> BTreeMap<String, String> {
    [
        (kit::TAG_APP.to_owned(), APP.to_owned()),
        (kit::TAG_STEP.to_owned(), "svc".to_owned()),
    ]
    .into()
}

fn role(want: &iam_roles::Want, place: &Place) -> iam_roles::Found {
    iam_roles::Found {
        arn: place.role_arn(&want.name),
        trust: Some(iam_roles::policy::normalise(&want.trust)),
        inline: want
            .inline
            .iter()
            .map(|(k, v)| (k.clone(), iam_roles::policy::normalise(v)))
            .collect(),
        managed: want.managed.clone(),
        tags: owned_tags(),
        ..Default::default()
    }
}

/// What DescribeTaskDefinition answers for a revision registered from `doc`: AWS adds status,
/// revision, compatibilities and container defaults.
fn as_aws_answers_td(mut doc: Value) -> Value {
    doc["taskDefinitionArn"] = json!(TD_ARN);
    doc["revision"] = json!(2);
    doc["status"] = json!("ACTIVE");
    doc["compatibilities"] = json!(["EC2", "FARGATE"]);
    doc["requiresAttributes"] = json!([{"name": "com.amazonaws.ecs.capability.task-iam-role"}]);
    doc["volumes"] = json!([]);
    doc["placementConstraints"] = json!([]);
    let c = &mut doc["containerDefinitions"][0];
    c["cpu"] = json!(0);
    c["mountPoints"] = json!([]);
    c["volumesFrom"] = json!([]);
    c["systemControls"] = json!([]);
    c["linuxParameters"]["capabilities"] = json!({});
    doc
}

/// What svc-up made, with `image` running, as AWS answers it.
fn made(cx: &Cx, image: &str) -> Observed {
    let inputs = Inputs::from(cx).unwrap();
    let n = Names::of(APP);
    let place = Place::of(cx);
    let exec = desired::exec_role(&n, &place, &inputs, None);
    let task = desired::task_role(&n, &place);
    let td = desired::task_def(
        &n,
        &place,
        &inputs,
        &TaskDefInput {
            cpu: 1024,
            memory: 2048,
            image,
            execution_role_arn: &place.role_arn(&n.exec_role),
            task_role_arn: &place.role_arn(&n.task_role),
        },
    );
    let rules = desired::task_rules(&inputs);
    let mut service = desired::service(&n, 3, 300, &inputs, TD_ARN, "sg-task", "arn:cm");
    service["status"] = json!("ACTIVE");
    service["runningCount"] = json!(3);
    service["launchType"] = json!("FARGATE");
    service["deployments"] =
        json!([{"id": "ecs-svc/1", "status": "PRIMARY", "rolloutState": "COMPLETED"}]);
    service["deploymentConfiguration"]["alarms"] =
        json!({"alarmNames": [], "enable": false, "rollback": false});
    service["loadBalancers"][0]["loadBalancerName"] = json!(null);
    Observed {
        repo: Some(Repo {
            tags: ["latest".to_owned(), "abcd1234".to_owned()].into(),
        }),
        log_group: Some(LogGroup {
            retention: Some(30),
        }),
        exec_role: Some(role(&exec, &place)),
        task_role: Some(role(&task, &place)),
        sg: Some(Group {
            id: "sg-task".into(),
            name: n.sg.clone(),
            ingress: rules.ingress,
            egress: rules.egress,
            tags: owned_tags(),
        }),
        cloudmap: Some(CloudMapService {
            id: "srv-1".into(),
            arn: "arn:cm".into(),
            ttl: Some(10),
            routing: "MULTIVALUE".into(),
            record_type: "A".into(),
            failure_threshold: Some(1),
        }),
        task_def: Some(TaskDef {
            arn: TD_ARN.into(),
            doc: as_aws_answers_td(td),
        }),
        service: Some(EcsService {
            arn: "arn:svc".into(),
            doc: service,
            task_definition: TD_ARN.into(),
            launch_type: "FARGATE".into(),
            tags: owned_tags(),
            settled: true,
        }),
        secret_versions: desired::secrets_read(&inputs)
            .into_iter()
            .map(|(_, arn)| (arn, Some("v1".to_owned())))
            .collect(),
        inputs,
    }
}

fn pipeline_image() -> String {
    format!("{REPO_URI}:abcd1234")
}

fn standard() -> (Cx, Observed) {
    let cx = cx_of(document(
        Some(recorded(json!({TOKEN_ARN: "v1", DB_ARN: "v1"}))),
        false,
    ));
    let now = made(&cx, &pipeline_image());
    (cx, now)
}

/// The plan's non-unchanged actions, as "resource: fields".
fn work(plan: &Plan<Op>) -> Vec<String> {
    plan.changes
        .iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| match &c.action {
            Action::Update(fields) => format!(
                "{}: {}",
                c.resource,
                fields
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            other => format!("{} {}", other.word(), c.resource),
        })
        .collect()
}

#[test]
fn a_rerun_over_what_svc_up_made_changes_nothing_and_keeps_the_pipelines_image() {
    let (cx, now) = standard();
    let plan = diff(&cx, &args(), &now).unwrap();
    assert_eq!(work(&plan), Vec::<String>::new());
    let section = planned_section(&cx, &args(), &now);
    assert_eq!(section.image.as_deref(), Some(pipeline_image().as_str()));
    assert_eq!(section.task_definition_arn, TD_ARN);
}

#[test]
fn a_fresh_stack_creates_everything_starting_from_latest() {
    let cx = cx_of(document(None, false));
    let mut now = made(&cx, "unused");
    now.repo = Some(Repo {
        tags: Default::default(),
    });
    now.log_group = None;
    now.exec_role = None;
    now.task_role = None;
    now.sg = None;
    now.cloudmap = None;
    now.task_def = None;
    now.service = None;
    let plan = diff(&cx, &args(), &now).unwrap();
    let created: Vec<&str> = plan
        .changes
        .iter()
        .filter(|c| c.action == Action::Create)
        .map(|c| c.resource.as_str())
        .collect();
    assert_eq!(
        created,
        [
            "log group /ecs/web",
            "IAM role web-task-execution",
            "IAM role web-task",
            "security group web-task",
            "Cloud Map service web",
            "task definition web",
            "ECS service web"
        ]
    );
    let w = wanted(&cx, &args(), &now);
    assert_eq!(w.image, format!("{REPO_URI}:latest"));
    assert_eq!(w.image_source, ImageSource::Initial);
    assert!(!image_available(&w.image, &now, &w.repo_uri));
    let section = planned_section(&cx, &args(), &now);
    assert_eq!(section.service_arn, PLANNED);
    assert_eq!(section.secret_versions.len(), 2, "current versions adopted");
}

#[test]
fn other_changes_keep_the_running_image() {
    let (cx, now) = standard();
    let a = Args {
        cpu: 2048,
        memory: 4096,
        ..args()
    };
    let plan = diff(&cx, &a, &now).unwrap();
    let w = wanted(&cx, &a, &now);
    assert_eq!(w.image, pipeline_image());
    assert_eq!(
        work(&plan),
        [
            "task definition web: cpu: 1024 → 2048; memory: 2048 → 4096".to_owned(),
            format!("ECS service web: taskDefinition: {TD_ARN} → {PLANNED}"),
        ]
    );
}

#[test]
fn a_pin_replaces_the_image_and_may_widen_the_pull() {
    let (cx, now) = standard();
    let public = Args {
        image: Some("public.ecr.aws/backstage/backstage:1.0".into()),
        ..args()
    };
    let plan = diff(&cx, &public, &now).unwrap();
    assert_eq!(
        work(&plan)[0],
        format!(
            "task definition web: containerDefinitions.web.image: {} → public.ecr.aws/backstage/backstage:1.0",
            pipeline_image()
        )
    );
    assert!(
        plan.changes
            .iter()
            .any(|c| c.resource == "IAM role web-task-execution" && c.action == Action::Unchanged),
        "a public image needs no pull permission"
    );
    let other = Args {
        image: Some("123456789012.dkr.ecr.us-west-2.amazonaws.com/base:7".into()),
        ..args()
    };
    let plan = diff(&cx, &other, &now).unwrap();
    let role = plan
        .changes
        .iter()
        .find(|c| c.resource == "IAM role web-task-execution")
        .unwrap();
    let Action::Update(fields) = &role.action else {
        panic!("the execution role may pull from the pinned repository: {role:?}");
    };
    assert!(
        fields.iter().any(|f| f.new.contains("repository/base")),
        "{fields:?}"
    );
}

#[test]
fn a_new_secret_version_starts_one_deployment() {
    let (cx, mut now) = standard();
    now.secret_versions
        .insert(DB_ARN.into(), Some("v2-0123456789".into()));
    let plan = diff(&cx, &args(), &now).unwrap();
    assert_eq!(
        work(&plan),
        ["ECS service web: secret web-postgresdb_passwd (new deployment): v1 → v2-01234"]
    );
    let op = &plan.find("ECS service web").unwrap().op;
    assert!(
        matches!(
            op,
            Op::Service {
                create: false,
                force: true
            }
        ),
        "{op:?}"
    );
    // The plan records nothing: the recorded versions stay until apply.
    let section = planned_section(&cx, &args(), &now);
    assert_eq!(section.secret_versions[DB_ARN], "v1");
    assert_eq!(current_versions(&now)[DB_ARN], "v2-0123456789");
}

#[test]
fn a_document_without_versions_adopts_the_current_ones() {
    let cx = cx_of(document(Some(recorded(json!({}))), false));
    let mut now = made(&cx, &pipeline_image());
    now.secret_versions.insert(DB_ARN.into(), Some("v9".into()));
    let plan = diff(&cx, &args(), &now).unwrap();
    assert_eq!(work(&plan), Vec::<String>::new());
    assert_eq!(
        planned_section(&cx, &args(), &now).secret_versions[DB_ARN],
        "v9"
    );
}

#[test]
fn oauth_secrets_reach_the_container_and_the_execution_role() {
    let cx = cx_of(document(
        Some(recorded(json!({TOKEN_ARN: "v1", DB_ARN: "v1"}))),
        true,
    ));
    let plain = cx_of(document(None, false));
    let mut now = made(&plain, &pipeline_image());
    now.inputs = Inputs::from(&cx).unwrap();
    let plan = diff(&cx, &args(), &now).unwrap();
    let lines = work(&plan);
    // The grant comes before the task definition that needs it.
    assert!(
        lines.len() == 3
            && lines[0].starts_with("IAM role ")
            && lines[1].starts_with("task definition "),
        "{lines:?}"
    );
    assert!(
        lines[1].contains(r#"containerDefinitions.web.secrets.AUTH_GITHUB_CLIENT_ID: (none) → {"name":"AUTH_GITHUB_CLIENT_ID","valueFrom":"arn:oauth-id"}"#)
            && lines[1].contains("AUTH_GITHUB_CLIENT_SECRET"),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(
            |l| l.starts_with("IAM role web-task-execution:") && l.contains("arn:oauth-secret")
        ),
        "{lines:?}"
    );
}

#[test]
fn each_drift_is_an_update_naming_the_field() {
    type Drift = fn(&mut Observed);
    let cases: Vec<(&str, Drift, &str)> = vec![
        (
            "retention",
            |o| o.log_group = Some(LogGroup { retention: Some(7) }),
            "log group /ecs/web: retention_days: 7 → 30",
        ),
        (
            "open egress",
            |o| {
                let g = o.sg.as_mut().unwrap();
                g.egress = [security_groups::Rule::all(security_groups::Peer::Cidr(
                    "0.0.0.0/0".into(),
                ))]
                .into();
            },
            "security group web-task: egress +tcp 443 0.0.0.0/0; egress -all traffic 0.0.0.0/0",
        ),
        (
            "Cloud Map TTL",
            |o| o.cloudmap.as_mut().unwrap().ttl = Some(60),
            "Cloud Map service web: ttl: 60 → 10",
        ),
        (
            "scaled outside",
            |o| o.service.as_mut().unwrap().doc["desiredCount"] = json!(1),
            "ECS service web: desiredCount: 1 → 3",
        ),
        (
            "circuit breaker off",
            |o| {
                o.service.as_mut().unwrap().doc["deploymentConfiguration"]["deploymentCircuitBreaker"] =
                    json!({"enable": false, "rollback": false});
            },
            "ECS service web: deploymentConfiguration.deploymentCircuitBreaker.enable: false → true; deploymentConfiguration.deploymentCircuitBreaker.rollback: false → true",
        ),
        (
            "an environment variable added outside",
            |o| {
                let env =
                    &mut o.task_def.as_mut().unwrap().doc["containerDefinitions"][0]["environment"];
                env.as_array_mut()
                    .unwrap()
                    .push(json!({"name": "DEBUG", "value": "1"}));
            },
            r#"task definition web: containerDefinitions.web.environment.DEBUG: {"name":"DEBUG","value":"1"} → (none)"#,
        ),
        (
            "the managed policy of old",
            |o| {
                o.exec_role.as_mut().unwrap().managed.insert(
                    "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy".into(),
                );
            },
            "IAM role web-task-execution: detach arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy",
        ),
    ];
    for (what, drift, expect) in cases {
        let (cx, mut now) = standard();
        drift(&mut now);
        let plan = diff(&cx, &args(), &now).unwrap();
        let lines = work(&plan);
        assert!(
            lines.first().map(String::as_str) == Some(expect),
            "{what}: {lines:#?}"
        );
    }
}

#[test]
fn refusals_before_any_write() {
    let (cx, mut now) = standard();
    now.secret_versions.insert(DB_ARN.into(), None);
    let e = diff(&cx, &args(), &now).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message.contains("web-postgresdb_passwd") && e.message.contains("secrets-init"),
        "{e}"
    );

    let (cx, mut now) = standard();
    now.exec_role.as_mut().unwrap().tags = [
        (kit::TAG_APP.to_owned(), "other".to_owned()),
        (kit::TAG_STEP.to_owned(), "svc".to_owned()),
    ]
    .into();
    let e = diff(&cx, &args(), &now).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message.contains("belongs to app other"), "{e}");
}

#[test]
fn only_images_in_the_repository_are_waited_for() {
    let (_, now) = standard();
    assert!(image_available(&pipeline_image(), &now, REPO_URI));
    assert!(!image_available(
        &format!("{REPO_URI}:feedbeef"),
        &now,
        REPO_URI
    ));
    assert!(image_available("public.ecr.aws/x:1", &now, REPO_URI));
}

#[test]
fn the_execution_role_pulls_from_the_ecr_sections_repository() {
    let pull = |inputs: &Inputs| {
        let want = desired::exec_role(
            &Names::of(APP),
            &Place::of(&cx_of(document(None, false))),
            inputs,
            None,
        );
        let policy = want.inline.values().next().unwrap().clone();
        policy["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "PullTheImage")
            .unwrap()["Resource"]
            .clone()
    };
    let cx = cx_of(document(None, false));
    let mut inputs = Inputs::from(&cx).unwrap();
    inputs.ecr.repository_arn = "arn:aws:ecr:us-west-2:123456789012:repository/team/images".into();
    inputs.ecr.repository_name = "team/images".into();
    assert_eq!(
        pull(&inputs),
        json!(["arn:aws:ecr:us-west-2:123456789012:repository/team/images"])
    );
    // A planned ecr section (a chained --plan): the ARN ECR will give the named repository.
    inputs.ecr.repository_arn = PLANNED.into();
    assert_eq!(
        pull(&inputs),
        json!(["arn:aws:ecr:us-west-2:123456789012:repository/team/images"])
    );
}
