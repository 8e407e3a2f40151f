//! svc-up against the emulator: what a user would check with independent describe calls.

mod common;

use std::collections::BTreeSet;

use common::*;
use testkit::{Emulator, Value, ecr, ecs, iam, json, logs, servicediscovery};

fn up(emu: &Emulator, doc: &Value, extra: &[&str]) -> Value {
    emu.tool("svc-up").args(extra).doc(doc).run().ok()
}

fn service(emu: &Emulator, doc: &Value) -> ecs::types::Service {
    let c = ecs::Client::new(&emu.sdk());
    let out = emu
        .block_on(
            c.describe_services()
                .cluster(doc["core"]["cluster_arn"].as_str().unwrap())
                .services(APP)
                .include(ecs::types::ServiceField::Tags)
                .send(),
        )
        .expect("describe services");
    out.services().first().cloned().expect("the service exists")
}

fn task_def(emu: &Emulator, arn: &str) -> ecs::types::TaskDefinition {
    let c = ecs::Client::new(&emu.sdk());
    emu.block_on(c.describe_task_definition().task_definition(arn).send())
        .expect("describe task definition")
        .task_definition()
        .cloned()
        .unwrap()
}

fn revisions(emu: &Emulator) -> Vec<String> {
    let c = ecs::Client::new(&emu.sdk());
    emu.block_on(
        c.list_task_definitions()
            .family_prefix(APP)
            .status(ecs::types::TaskDefinitionStatus::Active)
            .send(),
    )
    .expect("list task definitions")
    .task_definition_arns()
    .to_vec()
}

fn decoded_policy(text: &str) -> Value {
    // IAM answers URL-encoded documents.
    let mut out = Vec::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            out.push(u8::from_str_radix(&text[i + 1..i + 3], 16).unwrap());
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    serde_json::from_slice(&out)
        .or_else(|_| serde_json::from_str(text))
        .expect("policy JSON")
}

fn as_set(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => [s.clone()].into(),
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        _ => panic!("not a string or list: {v}"),
    }
}

fn tags_ok<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let map = testkit::tag_map(tags);
    map.get("stagehand:app").map(String::as_str) == Some(APP)
        && map.get("stagehand:step").map(String::as_str) == Some("svc")
}

#[test]
fn fresh_create_sets_every_setting_and_says_the_pipeline_pushes_the_first_image() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let mark = emu.mark();
    let out = emu.tool("svc-up").doc(&input).run();
    let doc = out.ok();
    out.assert_never_shows(TOKEN);
    assert!(
        out.stderr.contains("pipeline's first run") && out.stderr.contains("not waiting"),
        "an empty repository is explained and the wait skipped:\n{}",
        out.stderr
    );
    assert_eq!(
        emu.calls_since(mark).count("ecs:DescribeServices"),
        1,
        "no stability wait without an image"
    );
    let svc = &doc["svc"];
    for key in ["secrets", "core", "db", "alb", "slr"] {
        assert_eq!(doc[key], input[key], "section {key} is kept");
    }
    let sdk = emu.sdk();

    // ECR: scan on push, AES256, lifecycle keeping 30 images, tagged.
    let ecrc = ecr::Client::new(&sdk);
    let repo = emu
        .block_on(ecrc.describe_repositories().repository_names(APP).send())
        .unwrap()
        .repositories()[0]
        .clone();
    assert_eq!(svc["repository_uri"], repo.repository_uri().unwrap());
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(
        repo.encryption_configuration().unwrap().encryption_type(),
        &ecr::types::EncryptionType::Aes256
    );
    let lifecycle: Value = serde_json::from_str(
        emu.block_on(ecrc.get_lifecycle_policy().repository_name(APP).send())
            .unwrap()
            .lifecycle_policy_text()
            .unwrap(),
    )
    .unwrap();
    let rule = &lifecycle["rules"][0];
    assert_eq!(rule["selection"]["countType"], "imageCountMoreThan");
    assert_eq!(rule["selection"]["countNumber"], 30);
    assert_eq!(rule["action"]["type"], "expire");
    let tags = emu
        .block_on(
            ecrc.list_tags_for_resource()
                .resource_arn(repo.repository_arn().unwrap())
                .send(),
        )
        .unwrap();
    assert!(tags_ok(tags.tags().iter().map(|t| (t.key(), t.value()))));

    // Log group with 30 days' retention.
    let logc = logs::Client::new(&sdk);
    let groups = emu
        .block_on(
            logc.describe_log_groups()
                .log_group_name_prefix(format!("/ecs/{APP}"))
                .send(),
        )
        .unwrap();
    let group = groups
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some("/ecs/unicorn-ui"))
        .expect("log group");
    assert_eq!(group.retention_in_days(), Some(30));
    assert_eq!(svc["log_group"], "/ecs/unicorn-ui");

    // Execution role: trusts ecs-tasks, has the managed policy, and reads exactly the two
    // secrets and the three parameters.
    let iamc = iam::Client::new(&sdk);
    let role = emu
        .block_on(
            iamc.get_role()
                .role_name("unicorn-ui-task-execution")
                .send(),
        )
        .unwrap()
        .role
        .unwrap();
    assert_eq!(svc["execution_role_arn"], role.arn());
    let trust = decoded_policy(role.assume_role_policy_document().unwrap());
    assert_eq!(
        as_set(&trust["Statement"][0]["Principal"]["Service"]),
        ["ecs-tasks.amazonaws.com".to_owned()].into()
    );
    assert!(tags_ok(role.tags().iter().map(|t| (t.key(), t.value()))));
    let attached = emu
        .block_on(
            iamc.list_attached_role_policies()
                .role_name("unicorn-ui-task-execution")
                .send(),
        )
        .unwrap();
    let attached: Vec<&str> = attached
        .attached_policies()
        .iter()
        .map(|p| p.policy_arn().unwrap())
        .collect();
    assert_eq!(
        attached,
        ["arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"]
    );
    let names = emu
        .block_on(
            iamc.list_role_policies()
                .role_name("unicorn-ui-task-execution")
                .send(),
        )
        .unwrap();
    assert_eq!(names.policy_names().len(), 1, "one inline policy");
    let inline = emu
        .block_on(
            iamc.get_role_policy()
                .role_name("unicorn-ui-task-execution")
                .policy_name(&names.policy_names()[0])
                .send(),
        )
        .unwrap();
    let policy = decoded_policy(inline.policy_document());
    let mut by_action = std::collections::BTreeMap::new();
    for st in policy["Statement"].as_array().unwrap() {
        assert_eq!(st["Effect"], "Allow");
        for action in as_set(&st["Action"]) {
            by_action
                .entry(action)
                .or_insert_with(BTreeSet::new)
                .extend(as_set(&st["Resource"]));
        }
    }
    let secrets: BTreeSet<String> = [
        input["secrets"]["github_token"]["arn"]
            .as_str()
            .unwrap()
            .to_owned(),
        input["secrets"]["db_password"]["arn"]
            .as_str()
            .unwrap()
            .to_owned(),
    ]
    .into();
    let params: BTreeSet<String> = input["db"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["arn"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(params.len(), 3);
    assert_eq!(
        by_action,
        [
            ("secretsmanager:GetSecretValue".to_owned(), secrets.clone()),
            ("ssm:GetParameters".to_owned(), params.clone()),
        ]
        .into(),
        "exactly the two secrets and the three parameters, nothing wider"
    );

    // Task role: ECS Exec's SSM message channels only.
    let task_role = emu
        .block_on(iamc.get_role().role_name("unicorn-ui-task").send())
        .unwrap()
        .role
        .unwrap();
    assert_eq!(svc["task_role_arn"], task_role.arn());
    let attached = emu
        .block_on(
            iamc.list_attached_role_policies()
                .role_name("unicorn-ui-task")
                .send(),
        )
        .unwrap();
    assert!(attached.attached_policies().is_empty());
    let names = emu
        .block_on(
            iamc.list_role_policies()
                .role_name("unicorn-ui-task")
                .send(),
        )
        .unwrap();
    let inline = emu
        .block_on(
            iamc.get_role_policy()
                .role_name("unicorn-ui-task")
                .policy_name(&names.policy_names()[0])
                .send(),
        )
        .unwrap();
    let policy = decoded_policy(inline.policy_document());
    for st in policy["Statement"].as_array().unwrap() {
        assert!(
            as_set(&st["Action"])
                .iter()
                .all(|a| a.starts_with("ssmmessages:")),
            "{st}"
        );
    }

    // Task security group: 7007 from the ALB's group only, all egress.
    let ec2c = testkit::ec2::Client::new(&sdk);
    let sg = emu
        .block_on(
            ec2c.describe_security_groups()
                .group_ids(svc["security_group_id"].as_str().unwrap())
                .send(),
        )
        .unwrap()
        .security_groups()[0]
        .clone();
    assert_eq!(sg.vpc_id(), input["core"]["vpc_id"].as_str());
    let ingress = sg.ip_permissions();
    assert_eq!(ingress.len(), 1);
    assert_eq!(ingress[0].from_port(), Some(7007));
    assert_eq!(ingress[0].to_port(), Some(7007));
    assert!(
        ingress[0].ip_ranges().is_empty(),
        "no CIDR may reach the tasks"
    );
    let peers: Vec<&str> = ingress[0]
        .user_id_group_pairs()
        .iter()
        .map(|p| p.group_id().unwrap())
        .collect();
    assert_eq!(peers, [input["alb"]["security_group_id"].as_str().unwrap()]);
    let egress = sg.ip_permissions_egress();
    assert_eq!(egress.len(), 1);
    assert_eq!(egress[0].ip_protocol(), Some("-1"));
    assert_eq!(egress[0].ip_ranges()[0].cidr_ip(), Some("0.0.0.0/0"));
    assert!(tags_ok(
        sg.tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
    ));

    // Task definition.
    let td = task_def(&emu, svc["task_definition_arn"].as_str().unwrap());
    assert_eq!(td.family(), Some(APP));
    assert_eq!(td.network_mode(), Some(&ecs::types::NetworkMode::Awsvpc));
    assert_eq!(
        td.requires_compatibilities(),
        [ecs::types::Compatibility::Fargate]
    );
    assert_eq!(td.cpu(), Some("1024"));
    assert_eq!(td.memory(), Some("2048"));
    assert_eq!(td.execution_role_arn(), Some(role.arn()));
    assert_eq!(td.task_role_arn(), Some(task_role.arn()));
    let c = &td.container_definitions()[0];
    assert_eq!(td.container_definitions().len(), 1);
    assert_eq!(c.name(), Some(APP));
    assert_eq!(
        c.image(),
        Some(format!("{}:latest", repo.repository_uri().unwrap()).as_str())
    );
    assert_eq!(c.port_mappings()[0].container_port(), Some(7007));
    let env: Vec<(&str, &str)> = c
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert_eq!(env, [("BASE_URL", input["alb"]["url"].as_str().unwrap())]);
    let secret_names: BTreeSet<&str> = c.secrets().iter().map(|s| s.name()).collect();
    assert_eq!(
        secret_names,
        [
            "GITHUB_TOKEN",
            "POSTGRES_HOST",
            "POSTGRES_PASSWORD",
            "POSTGRES_PORT",
            "POSTGRES_USER"
        ]
        .into()
    );
    let from = |name: &str| {
        c.secrets()
            .iter()
            .find(|s| s.name() == name)
            .unwrap()
            .value_from()
            .to_owned()
    };
    assert_eq!(
        from("GITHUB_TOKEN"),
        input["secrets"]["github_token"]["arn"]
    );
    assert_eq!(
        from("POSTGRES_PASSWORD"),
        input["secrets"]["db_password"]["arn"]
    );
    assert_eq!(from("POSTGRES_HOST"), input["db"]["parameters"][0]["arn"]);
    assert_eq!(from("POSTGRES_PORT"), input["db"]["parameters"][1]["arn"]);
    assert_eq!(from("POSTGRES_USER"), input["db"]["parameters"][2]["arn"]);
    let td_text = format!("{td:?}");
    assert!(
        !td_text.contains(TOKEN) && !td_text.contains("Test-Passw0rd-42"),
        "no secret value in the task definition"
    );
    let log = c.log_configuration().unwrap();
    assert_eq!(log.log_driver(), &ecs::types::LogDriver::Awslogs);
    let opts = log.options().unwrap();
    assert_eq!(opts["awslogs-group"], "/ecs/unicorn-ui");
    assert_eq!(opts["awslogs-region"], testkit::REGION);

    // Cloud Map: A record, TTL 10, MULTIVALUE, custom health check threshold 1.
    let sd = servicediscovery::Client::new(&sdk);
    let cm_id = svc["cloudmap_service_arn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();
    let cm = emu
        .block_on(sd.get_service().id(&cm_id).send())
        .unwrap()
        .service
        .unwrap();
    assert_eq!(cm.name(), Some(APP));
    assert_eq!(cm.namespace_id(), input["core"]["namespace_id"].as_str());
    let dns = cm.dns_config().unwrap();
    assert_eq!(
        dns.routing_policy(),
        Some(&servicediscovery::types::RoutingPolicy::Multivalue)
    );
    assert_eq!(
        dns.dns_records()[0].r#type(),
        &servicediscovery::types::RecordType::A
    );
    assert_eq!(dns.dns_records()[0].ttl(), 10);
    #[allow(deprecated)]
    let threshold = cm.health_check_custom_config().unwrap().failure_threshold();
    assert_eq!(threshold, Some(1));

    // ECS service.
    let s = service(&emu, &doc);
    assert_eq!(svc["service_arn"], s.service_arn().unwrap());
    assert_eq!(s.desired_count(), 3);
    assert_eq!(s.launch_type(), Some(&ecs::types::LaunchType::Fargate));
    assert_eq!(s.task_definition(), Some(td.task_definition_arn().unwrap()));
    let vpc = s
        .network_configuration()
        .unwrap()
        .awsvpc_configuration()
        .unwrap();
    let private: BTreeSet<String> = input["core"]["private_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        vpc.subnets().iter().cloned().collect::<BTreeSet<_>>(),
        private
    );
    assert_eq!(
        vpc.assign_public_ip(),
        Some(&ecs::types::AssignPublicIp::Disabled)
    );
    assert_eq!(
        vpc.security_groups()
            .iter()
            .cloned()
            .collect::<BTreeSet<_>>(),
        [
            svc["security_group_id"].as_str().unwrap().to_owned(),
            input["db"]["client_security_group_id"]
                .as_str()
                .unwrap()
                .to_owned()
        ]
        .into()
    );
    let lb = &s.load_balancers()[0];
    assert_eq!(
        lb.target_group_arn(),
        input["alb"]["target_group_arn"].as_str()
    );
    assert_eq!(lb.container_name(), Some(APP));
    assert_eq!(lb.container_port(), Some(7007));
    assert_eq!(
        s.service_registries()[0].registry_arn(),
        svc["cloudmap_service_arn"].as_str()
    );
    assert!(s.enable_execute_command());
    let cb = s
        .deployment_configuration()
        .unwrap()
        .deployment_circuit_breaker()
        .unwrap();
    assert!(cb.enable() && cb.rollback());
    assert_eq!(s.health_check_grace_period_seconds(), Some(300));
    assert_eq!(
        s.propagate_tags(),
        Some(&ecs::types::PropagateTags::Service)
    );
    assert!(tags_ok(
        s.tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap()))
    ));

    assert_eq!(svc["container_name"], APP);
    assert_eq!(svc["container_port"], 7007);
    assert_eq!(svc["cluster_name"], input["core"]["cluster_name"]);
}

#[test]
fn with_an_image_it_waits_for_the_rollout_and_a_rerun_makes_no_mutating_call() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    push_image(&emu, APP);

    // The image is there now: the rerun changes nothing and waits until the rollout is done.
    let mark = emu.mark();
    let out = emu.tool("svc-up").doc(&doc).run();
    let again = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains("roll out: ready"),
        "waited for the rollout:\n{}",
        out.stderr
    );
    let s = service(&emu, &again);
    let primary = &s.deployments()[0];
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(
        primary.rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::Completed)
    );
    assert_eq!(s.running_count(), 3);
    assert_eq!(again, doc, "the same document");

    let mark = emu.mark();
    up(&emu, &again, &[]);
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(calls.count("ecs:RegisterTaskDefinition"), 0);
    assert_eq!(revisions(&emu).len(), 1, "no new revision");
}

#[test]
fn cpu_and_memory_change_registers_one_revision_and_updates_the_service() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let image = ["--image", "public.ecr.aws/backstage/backstage:1.0"];
    let doc = up(&emu, &input, &image);
    let first = doc["svc"]["task_definition_arn"]
        .as_str()
        .unwrap()
        .to_owned();

    // --plan shows the change, with read-only calls only.
    let mark = emu.mark();
    let out = emu
        .tool("svc-up")
        .args(image)
        .args(["--plan", "--cpu", "2048", "--memory", "4096"])
        .doc(&doc)
        .run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains(
            "update     task definition unicorn-ui (cpu: 1024 → 2048; memory: 2048 → 4096)"
        ),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("update     ECS service unicorn-ui (task_definition:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("unchanged  IAM role unicorn-ui-task-execution")
    );
    assert!(
        out.stderr
            .contains("plan: 0 to create, 2 to update, 0 to delete, 6 unchanged")
    );

    let mark = emu.mark();
    let out = emu
        .tool("svc-up")
        .args([image[0], image[1], "--cpu", "2048", "--memory", "4096"])
        .doc(&doc)
        .run();
    let changed = out.ok();
    assert!(
        out.stderr.contains("rollout IN_PROGRESS"),
        "svc-up watched the new deployment roll out:\n{}",
        out.stderr
    );
    let calls = emu.calls_since(mark);
    assert_eq!(calls.count("ecs:RegisterTaskDefinition"), 1);
    assert_eq!(calls.count("ecs:UpdateService"), 1);
    assert_eq!(calls.count("ecs:CreateService"), 0);
    assert_eq!(revisions(&emu).len(), 2, "exactly one new revision");
    let second = changed["svc"]["task_definition_arn"].as_str().unwrap();
    assert_ne!(second, first);
    let td = task_def(&emu, second);
    assert_eq!((td.cpu(), td.memory()), (Some("2048"), Some("4096")));
    let s = service(&emu, &changed);
    assert_eq!(s.task_definition(), Some(second));
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::Completed),
        "svc-up returned after the rollout completed"
    );

    // --redeploy forces a new deployment of the same revision.
    let before = s.deployments()[0].id().unwrap().to_owned();
    let mark = emu.mark();
    up(
        &emu,
        &changed,
        &[
            image[0],
            image[1],
            "--cpu",
            "2048",
            "--memory",
            "4096",
            "--redeploy",
        ],
    );
    let calls = emu.calls_since(mark);
    assert_eq!(calls.count("ecs:RegisterTaskDefinition"), 0);
    let update = calls
        .requests()
        .into_iter()
        .find(|r| r["action"] == "UpdateService")
        .expect("UpdateService");
    assert_eq!(update["params"]["forceNewDeployment"], true, "{update}");
    let s = service(&emu, &changed);
    assert_ne!(s.deployments()[0].id().unwrap(), before, "a new deployment");
    assert_eq!(revisions(&emu).len(), 2);
}

#[test]
fn a_failed_rollout_exits_1_with_the_stopped_tasks_reasons() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let image = ["--image", "public.ecr.aws/backstage/backstage:1.0"];
    let doc = up(&emu, &input, &image);
    let good = doc["svc"]["task_definition_arn"]
        .as_str()
        .unwrap()
        .to_owned();

    // The emulator fails the service's next deployment as the circuit breaker would: its tasks'
    // essential container exits with this reason (see emulator/stagehand_emulator/fidelity/ecs.py).
    emu.fail_rollout(
        APP,
        1,
        Some("CannotPullContainerError: backstage:2.0 not found"),
    );
    let out = emu
        .tool("svc-up")
        .args(["--image", "public.ecr.aws/backstage/backstage:2.0"])
        .doc(&doc)
        .run();
    let line = out.fails(1);
    assert!(line.contains("FAILED"), "{line}");
    assert!(
        line.contains("CannotPullContainerError: backstage:2.0 not found"),
        "the stopped tasks' reasons: {line}"
    );
    assert!(
        line.contains("Essential container in task exited"),
        "{line}"
    );
    assert!(line.contains("rolled back to unicorn-ui:1"), "{line}");

    // What AWS shows after the rollback: the earlier revision is what runs.
    let s = service(&emu, &doc);
    let failed = s
        .deployments()
        .iter()
        .find(|d| d.rollout_state() == Some(&ecs::types::DeploymentRolloutState::Failed));
    assert!(failed.is_some(), "{:?}", s.deployments());
    assert_eq!(s.task_definition(), Some(good.as_str()));
}

#[test]
fn roles_ecs_or_iam_cannot_use_yet_are_retried() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    emu.faults(json!([
        {
            "service": "ecs", "action": "CreateService", "kind": "error",
            "code": "InvalidParameterException",
            "message": "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/unicorn-ui-task-execution' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.",
            "times": 2
        },
        {
            "service": "iam", "action": "PutRolePolicy", "kind": "error",
            "code": "NoSuchEntity", "status": "404 Not Found",
            "message": "The role with name unicorn-ui-task-execution cannot be found.",
            "times": 1
        }
    ]));
    let mark = emu.mark();
    let doc = up(
        &emu,
        &input,
        &["--image", "public.ecr.aws/backstage/backstage:1.0"],
    );
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.count("ecs:CreateService"),
        3,
        "retried until ECS could assume the role"
    );
    assert_eq!(
        calls.count("iam:PutRolePolicy"),
        3,
        "two roles, one retried"
    );
    assert!(service(&emu, &doc).service_arn().is_some());
}

#[test]
fn destroy_leaves_nothing_with_the_apps_tags() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    push_image(&emu, APP);

    // A repository with images is refused without --force, before anything is deleted.
    let mark = emu.mark();
    let line = emu
        .tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(
        line.contains("holds images") && line.contains("--force"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    let out = emu
        .tool("svc-up")
        .args(["--destroy", "--delete-logs", "--force"])
        .doc(&doc)
        .run();
    let after = out.ok();
    assert!(after.get("svc").is_none(), "the section is removed");
    assert_eq!(after["alb"], doc["alb"]);
    let sdk = emu.sdk();

    let s = service(&emu, &doc);
    assert_eq!(s.status(), Some("INACTIVE"));
    assert!(revisions(&emu).is_empty(), "no ACTIVE revision left");
    let ecrc = ecr::Client::new(&sdk);
    assert!(
        emu.block_on(ecrc.describe_repositories().repository_names(APP).send())
            .is_err()
    );
    let logc = logs::Client::new(&sdk);
    let groups = emu
        .block_on(
            logc.describe_log_groups()
                .log_group_name_prefix("/ecs/")
                .send(),
        )
        .unwrap();
    assert!(groups.log_groups().is_empty());
    let iamc = iam::Client::new(&sdk);
    for role in ["unicorn-ui-task-execution", "unicorn-ui-task"] {
        assert!(
            emu.block_on(iamc.get_role().role_name(role).send())
                .is_err(),
            "{role} is deleted"
        );
    }
    let sd = servicediscovery::Client::new(&sdk);
    let services = emu.block_on(sd.list_services().send()).unwrap();
    assert!(
        services.services().iter().all(|s| s.name() != Some(APP)),
        "Cloud Map service deleted"
    );
    let ec2c = testkit::ec2::Client::new(&sdk);
    let gone = emu.block_on(
        ec2c.describe_security_groups()
            .group_ids(doc["svc"]["security_group_id"].as_str().unwrap())
            .send(),
    );
    assert!(
        gone.is_err() || gone.unwrap().security_groups().is_empty(),
        "task group deleted"
    );
    // Others' resources stay.
    let alb_sg = emu
        .block_on(
            ec2c.describe_security_groups()
                .group_ids(doc["alb"]["security_group_id"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(alb_sg.security_groups().len(), 1);

    // A second destroy finds nothing and succeeds.
    emu.tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&after)
        .run()
        .ok();
}

#[test]
fn destroy_keeps_the_log_group_without_delete_logs() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    emu.tool("svc-up").arg("--destroy").doc(&doc).run().ok();
    let logc = logs::Client::new(&emu.sdk());
    let groups = emu
        .block_on(
            logc.describe_log_groups()
                .log_group_name_prefix("/ecs/")
                .send(),
        )
        .unwrap();
    assert_eq!(groups.log_groups().len(), 1, "logs are kept by default");
    let ecrc = ecr::Client::new(&emu.sdk());
    assert!(
        emu.block_on(ecrc.describe_repositories().repository_names(APP).send())
            .is_err(),
        "an empty repository needs no --force"
    );
}

#[test]
fn plan_on_a_fresh_stack_creates_everything_with_read_only_calls() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let mark = emu.mark();
    let out = emu.tool("svc-up").arg("--plan").doc(&input).run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    for r in [
        "ECR repository unicorn-ui",
        "log group /ecs/unicorn-ui",
        "IAM role unicorn-ui-task-execution",
        "IAM role unicorn-ui-task",
        "security group unicorn-ui-task",
        "Cloud Map service unicorn-ui",
        "task definition unicorn-ui",
        "ECS service unicorn-ui",
    ] {
        assert!(
            out.stderr.contains(&format!("+ create     {r}")),
            "{r}:\n{}",
            out.stderr
        );
    }
    assert_eq!(doc["svc"]["planned"], true);
    assert_eq!(
        doc["svc"]["service_arn"],
        testkit::Value::from(kit_planned())
    );
}

fn kit_planned() -> &'static str {
    "(known after apply)"
}

#[test]
fn bad_input_exits_2_with_zero_mutating_calls() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let cases: Vec<(Vec<&str>, Value, &str)> = vec![
        (
            vec!["--cpu", "1024", "--memory", "512"],
            input.clone(),
            "--memory 512",
        ),
        (
            vec!["--desired-count", "-1"],
            input.clone(),
            "--desired-count -1",
        ),
        (vec![], without(&input, "db"), "db-up"),
        (vec![], without(&input, "alb"), "alb-up"),
    ];
    for (args, doc, expect) in cases {
        let mark = emu.mark();
        let line = emu.tool("svc-up").args(&args).doc(&doc).run().fails(2);
        assert!(line.contains(expect), "{args:?}: {line}");
        let calls = emu.calls_since(mark);
        calls.assert_no_mutations();
        assert_eq!(calls.total(), 0, "{args:?}: not even a read");
    }
}

fn without(doc: &Value, section: &str) -> Value {
    let mut doc = doc.clone();
    doc.as_object_mut().unwrap().remove(section);
    doc
}
