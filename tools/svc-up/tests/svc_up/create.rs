//! A fresh service: every resource as the seed's blueprint sets it, the honest first rollout,
//! the plan, and bad input.

use std::collections::BTreeSet;

use testkit::{Emulator, Value, ecr, ecs, logs, servicediscovery};

use crate::common::*;

#[test]
fn a_fresh_service_is_made_and_waits_for_the_pipelines_first_image() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let mark = emu.mark();
    let out = emu.tool("svc-up").doc(&input).run();
    let doc = out.ok();
    out.assert_never_shows(TOKEN);
    let svc = &doc["svc"];
    let uri = svc["repository_uri"].as_str().unwrap();
    // The message agrees with what the buildspec pushes and the deploy stage runs.
    assert!(
        out.stderr
            .contains(&format!("{uri}:<commit8> and {uri}:latest"))
            && out
                .stderr
                .contains(&format!("rolls the service onto {uri}:<commit8>"))
            && out.stderr.contains("not waiting"),
        "{}",
        out.stderr
    );
    assert_eq!(
        emu.calls_since(mark).count("ecs:DescribeServices"),
        1,
        "no rollout wait without an image"
    );
    for key in ["secrets", "ecr", "core", "db", "alb", "slr"] {
        assert_eq!(doc[key], input[key], "section {key} is kept");
    }
    assert_eq!(svc["image"], format!("{uri}:latest"));
    // The versions the first tasks start with: AWSCURRENT as Secrets Manager answers it.
    let versions = svc["secret_versions"].as_object().unwrap();
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    for s in ["github_token", "db_password"] {
        let arn = input["secrets"][s]["arn"].as_str().unwrap();
        let current = emu
            .block_on(sm.get_secret_value().secret_id(arn).send())
            .unwrap()
            .version_id()
            .unwrap()
            .to_owned();
        assert_eq!(versions[arn], current.as_str(), "{s}");
    }
    assert_eq!(
        svc["settings"],
        testkit::json!({"cpu": "1024", "memory": "2048", "desired-count": "3",
            "log-retention-days": "30", "health-check-grace-period": "300"}),
        "every default recorded, no image pin"
    );
    let sdk = emu.sdk();

    // The repository is ecr-up's: the section names it, svc-up made no ECR write.
    assert_eq!(svc["repository_name"], input["ecr"]["repository_name"]);
    assert_eq!(uri, input["ecr"]["repository_uri"].as_str().unwrap());
    emu.calls_since(mark).assert_no_mutations_of("ecr");

    // Log group with 30 days' retention.
    let groups = emu
        .block_on(
            logs::Client::new(&sdk)
                .describe_log_groups()
                .log_group_name_prefix("/ecs/unicorn-ui")
                .send(),
        )
        .unwrap();
    assert_eq!(groups.log_groups()[0].retention_in_days(), Some(30));

    // Task definition.
    let td = task_def(&emu, svc["task_definition_arn"].as_str().unwrap());
    assert_eq!(td.family(), Some(APP));
    assert_eq!(td.network_mode(), Some(&ecs::types::NetworkMode::Awsvpc));
    assert_eq!(
        td.requires_compatibilities(),
        [ecs::types::Compatibility::Fargate]
    );
    assert_eq!((td.cpu(), td.memory()), (Some("1024"), Some("2048")));
    assert_eq!(td.execution_role_arn(), svc["execution_role_arn"].as_str());
    assert_eq!(td.task_role_arn(), svc["task_role_arn"].as_str());
    assert_eq!(td.container_definitions().len(), 1);
    let c = &td.container_definitions()[0];
    assert_eq!(c.name(), Some(APP));
    assert_eq!(c.image(), Some(format!("{uri}:latest").as_str()));
    assert_eq!(c.port_mappings()[0].container_port(), Some(7007));
    assert!(
        c.linux_parameters()
            .unwrap()
            .init_process_enabled()
            .unwrap()
    );
    let env: Vec<(&str, &str)> = c
        .environment()
        .iter()
        .map(|kv| (kv.name().unwrap(), kv.value().unwrap()))
        .collect();
    assert_eq!(env, [("BASE_URL", input["alb"]["url"].as_str().unwrap())]);
    let from: std::collections::BTreeMap<&str, &str> = c
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    let arn = |section: &str, key: &str| input[section][key]["arn"].as_str().unwrap();
    assert_eq!(
        from,
        [
            ("GITHUB_TOKEN", arn("secrets", "github_token")),
            ("POSTGRES_PASSWORD", arn("secrets", "db_password")),
            (
                "POSTGRES_HOST",
                input["db"]["parameters"][0]["arn"].as_str().unwrap()
            ),
            (
                "POSTGRES_PORT",
                input["db"]["parameters"][1]["arn"].as_str().unwrap()
            ),
            (
                "POSTGRES_USER",
                input["db"]["parameters"][2]["arn"].as_str().unwrap()
            ),
        ]
        .into(),
        "no OAuth secrets without them in the secrets section"
    );
    let td_text = format!("{td:?}");
    assert!(!td_text.contains(TOKEN) && !td_text.contains("Test-Passw0rd-42"));
    let log = c.log_configuration().unwrap();
    assert_eq!(log.log_driver(), &ecs::types::LogDriver::Awslogs);
    assert_eq!(log.options().unwrap()["awslogs-group"], "/ecs/unicorn-ui");

    // Cloud Map: A record, TTL 10, MULTIVALUE, custom health check threshold 1.
    let sd = servicediscovery::Client::new(&sdk);
    let cm_id = svc["cloudmap_service_arn"]
        .as_str()
        .unwrap()
        .rsplit('/')
        .next()
        .unwrap();
    let cm = emu
        .block_on(sd.get_service().id(cm_id).send())
        .unwrap()
        .service
        .unwrap();
    assert_eq!(cm.namespace_id(), input["core"]["namespace_id"].as_str());
    let dns = cm.dns_config().unwrap();
    assert_eq!(
        dns.routing_policy(),
        Some(&servicediscovery::types::RoutingPolicy::Multivalue)
    );
    assert_eq!(dns.dns_records()[0].ttl(), 10);

    // ECS service: the desired count as set, even before there is an image to run.
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
    assert_eq!(
        (lb.container_name(), lb.container_port()),
        (Some(APP), Some(7007))
    );
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
}

#[test]
fn plan_on_a_fresh_stack_creates_everything_with_read_only_calls() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let mark = emu.mark();
    let out = emu.tool("svc-up").arg("--plan").doc(&input).run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(!out.stderr.contains("ECR repository"), "{}", out.stderr);
    for r in [
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
    assert_eq!(doc["svc"]["service_arn"], "(known after apply)");
}

#[test]
fn a_48_character_app_fits_every_aws_limit() {
    let emu = Emulator::start();
    let app = "a-forty-eight-character-application-name-for-xyz";
    assert_eq!(app.len(), 48);
    let input = stack_named(&emu, app, "long");
    let mark = emu.mark();
    let doc = emu.tool("svc-up").doc(&input).run().ok();
    let calls = emu.calls_since(mark);
    let create = calls
        .requests()
        .into_iter()
        .find(|r| r["action"] == "CreateService" && r["service"] == "servicediscovery")
        .expect("Cloud Map CreateService");
    let id = create["params"]["CreatorRequestId"].as_str().unwrap();
    assert!(
        id.len() <= 64,
        "CreatorRequestId {id} has {} characters",
        id.len()
    );
    let ecs_create = calls
        .requests()
        .into_iter()
        .find(|r| r["action"] == "CreateService" && r["service"] == "ecs")
        .expect("ECS CreateService");
    let token = ecs_create["params"]["clientToken"].as_str().unwrap();
    assert!(token.len() <= 36, "clientToken {token}");
    assert!(doc["svc"]["service_arn"].as_str().unwrap().ends_with(app));
}

#[test]
fn bad_input_exits_2_before_any_call() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let mut port0 = input.clone();
    port0["alb"]["container_port"] = 0.into();
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
        (
            vec!["--log-retention-days", "2"],
            input.clone(),
            "--log-retention-days 2",
        ),
        (vec!["--image", "has space:1"], input.clone(), "--image"),
        (vec![], without(&input, "db"), "db-up"),
        (vec![], without(&input, "ecr"), "ecr-up"),
        (
            vec!["--destroy", "--force"],
            input.clone(),
            "ecr-up --destroy --force",
        ),
        (vec!["--force"], input.clone(), "ecr-up --destroy --force"),
        (vec![], without(&input, "alb"), "alb-up"),
        (vec![], without(&input, "secrets"), "secrets-init"),
        (vec![], port0, "container_port"),
    ];
    for (args, doc, expect) in cases {
        let mark = emu.mark();
        let line = emu.tool("svc-up").args(&args).doc(&doc).run().fails(2);
        assert!(line.contains(expect), "{args:?}: {line}");
        assert_eq!(
            emu.calls_since(mark).total(),
            0,
            "{args:?}: not even a read"
        );
    }
}

#[test]
fn a_missing_secret_or_vpc_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.delete_secret()
            .secret_id(input["secrets"]["db_password"]["arn"].as_str().unwrap())
            .force_delete_without_recovery(true)
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let line = emu.tool("svc-up").doc(&input).run().fails(2);
    assert!(
        line.contains("does not exist") && line.contains("secrets-init"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    let input = stack(&emu, "other-app");
    let mut gone = input.clone();
    gone["core"]["vpc_id"] = "vpc-0123456789abcdef0".into();
    let mark = emu.mark();
    let line = emu.tool("svc-up").doc(&gone).run().fails(2);
    assert!(
        line.contains("vpc-0123456789abcdef0") && line.contains("core-up"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_repository_the_ecr_section_names_but_that_is_gone_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let ecrc = ecr::Client::new(&emu.sdk());
    emu.block_on(ecrc.delete_repository().repository_name(APP).send())
        .expect("delete repository");
    let mark = emu.mark();
    let line = emu.tool("svc-up").doc(&input).run().fails(2);
    assert!(
        line.contains("ECR repository unicorn-ui") && line.contains("ecr-up"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
}
