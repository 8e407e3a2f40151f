//! The stack pipeline-up builds on, made for its tests: the real secrets-init, slr-check and
//! ecr-up, the core-infra fixture, and — standing in for alb-up and svc-up —
//! task roles, log group, task definition, Cloud Map service, ECS service and ALB made with
//! plain SDK calls, named as svc-up names them, described by the `alb` and `svc` sections those
//! tools write.

#![allow(dead_code)]

use testkit::{Emulator, Value, ec2, ecs, elbv2, iam, json, logs, servicediscovery};

pub const APP: &str = "unicorn-ui";
pub const TOKEN: &str = "ghp_PipelineToken0123456789abcdefXYZ";
pub const OWNER: &str = "my-org";
pub const REPO: &str = "backstage-app";

/// The svc-up names: the container (and family, repository, service) is named after the app.
pub const CONTAINER_PORT: u16 = 7007;

const EXECUTION_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchCheckLayerAvailability","ecr:GetDownloadUrlForLayer","ecr:BatchGetImage","logs:CreateLogStream","logs:PutLogEvents"],"Resource":"*"}]}"#;

const TASK_TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

/// The document after `secrets-init | slr-check --create | core-up | ecr-up`: what pipeline-up
/// needs, before the database, the load balancer and the service exist.
pub fn before_service(emu: &Emulator) -> Value {
    let doc = testkit::fixtures::secrets_and_roles(emu, APP, TOKEN);
    let core = testkit::fixtures::core_infra(emu, "core-infra");
    let doc = testkit::fixtures::with(doc, "core", core);
    emu.tool("ecr-up").doc(&doc).run().ok()
}

/// `doc` after `alb-up | svc-up` (stand-ins): the ECS service exists.
pub fn with_service(emu: &Emulator, doc: Value) -> Value {
    let alb = alb(emu, &doc["core"]);
    let svc = svc(emu, &doc["core"], &doc["ecr"], &alb);
    let doc = testkit::fixtures::with(doc, "alb", alb);
    testkit::fixtures::with(doc, "svc", svc)
}

/// The document after `secrets-init | slr-check --create | core-up | ecr-up | db-up | alb-up |
/// svc-up`.
pub fn stack(emu: &Emulator) -> Value {
    let doc = before_service(emu);
    with_service(emu, doc)
}

fn ids(subnets: &Value) -> Vec<String> {
    subnets
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

/// A real ALB, its security group, target group and listener: the `alb` section.
fn alb(emu: &Emulator, core: &Value) -> Value {
    let sdk = emu.sdk();
    let ec2c = ec2::Client::new(&sdk);
    let lb = elbv2::Client::new(&sdk);
    let vpc = core["vpc_id"].as_str().unwrap();
    emu.block_on(async {
        let sg = ec2c
            .create_security_group()
            .group_name(format!("{APP}-alb"))
            .description("alb")
            .vpc_id(vpc)
            .send()
            .await
            .expect("alb sg");
        let sg = sg.group_id().unwrap().to_owned();
        let created = lb
            .create_load_balancer()
            .name(format!("{APP}-alb"))
            .scheme(elbv2::types::LoadBalancerSchemeEnum::InternetFacing)
            .r#type(elbv2::types::LoadBalancerTypeEnum::Application)
            .set_subnets(Some(ids(&core["public_subnets"])))
            .security_groups(&sg)
            .send()
            .await
            .expect("alb");
        let alb = &created.load_balancers()[0];
        let tg = lb
            .create_target_group()
            .name(format!("{APP}-tg"))
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(i32::from(CONTAINER_PORT))
            .vpc_id(vpc)
            .target_type(elbv2::types::TargetTypeEnum::Ip)
            .send()
            .await
            .expect("target group");
        let tg = &tg.target_groups()[0];
        let listener = lb
            .create_listener()
            .load_balancer_arn(alb.load_balancer_arn().unwrap())
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(80)
            .default_actions(
                elbv2::types::Action::builder()
                    .r#type(elbv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(tg.target_group_arn().unwrap())
                    .build(),
            )
            .send()
            .await
            .expect("listener");
        let dns = alb.dns_name().unwrap();
        json!({
            "name": alb.load_balancer_name().unwrap(),
            "arn": alb.load_balancer_arn().unwrap(),
            "dns_name": dns,
            "hosted_zone_id": alb.canonical_hosted_zone_id().unwrap_or("Z1H1FL5HABSF5"),
            "security_group_id": sg,
            "target_group_name": tg.target_group_name().unwrap(),
            "target_group_arn": tg.target_group_arn().unwrap(),
            "listener_arns": [listener.listeners()[0].listener_arn().unwrap()],
            "container_port": CONTAINER_PORT,
            "url": format!("http://{dns}"),
        })
    })
}

/// Task roles, log group, task definition, Cloud Map service and ECS service, named as svc-up
/// names them, on the `ecr` section's repository: the `svc` section.
fn svc(emu: &Emulator, core: &Value, ecr: &Value, alb: &Value) -> Value {
    let sdk = emu.sdk();
    let iamc = iam::Client::new(&sdk);
    let logc = logs::Client::new(&sdk);
    let ecsc = ecs::Client::new(&sdk);
    let ec2c = ec2::Client::new(&sdk);
    let sd = servicediscovery::Client::new(&sdk);
    let cluster = core["cluster_name"].as_str().unwrap();
    let names = ecs_service::names::ServiceNames::of(APP);
    let repository_uri = ecr["repository_uri"].as_str().unwrap();
    emu.block_on(async {
        let mut roles = Vec::new();
        for name in [&names.execution_role, &names.task_role] {
            let role = iamc
                .create_role()
                .role_name(name)
                .assume_role_policy_document(TASK_TRUST)
                .send()
                .await
                .expect("task role");
            roles.push(role.role().unwrap().arn().to_owned());
        }
        // What AmazonECSTaskExecutionRolePolicy grants (as svc-up's execution role has):
        // the emulator's ECS agent checks it when a pipeline deploy starts tasks.
        iamc.put_role_policy()
            .role_name(&names.execution_role)
            .policy_name("execution")
            .policy_document(EXECUTION_POLICY)
            .send()
            .await
            .expect("execution role policy");
        let log_group = format!("/ecs/{APP}");
        logc.create_log_group()
            .log_group_name(&log_group)
            .send()
            .await
            .expect("log group");
        let sg = ec2c
            .create_security_group()
            .group_name(format!("{APP}-task"))
            .description("tasks")
            .vpc_id(core["vpc_id"].as_str().unwrap())
            .send()
            .await
            .expect("task sg");
        let sg = sg.group_id().unwrap().to_owned();
        let td = ecsc
            .register_task_definition()
            .family(APP)
            .requires_compatibilities(ecs::types::Compatibility::Fargate)
            .network_mode(ecs::types::NetworkMode::Awsvpc)
            .cpu("1024")
            .memory("2048")
            .execution_role_arn(&roles[0])
            .task_role_arn(&roles[1])
            .container_definitions(
                ecs::types::ContainerDefinition::builder()
                    .name(APP)
                    .image(format!("{repository_uri}:latest"))
                    .essential(true)
                    .port_mappings(
                        ecs::types::PortMapping::builder()
                            .container_port(i32::from(CONTAINER_PORT))
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("task definition");
        let td_arn = td
            .task_definition()
            .unwrap()
            .task_definition_arn()
            .unwrap()
            .to_owned();
        let cm = sd
            .create_service()
            .name(APP)
            .namespace_id(core["namespace_id"].as_str().unwrap())
            .send()
            .await
            .expect("cloud map service");
        let cm = cm.service().unwrap();
        let service = ecsc
            .create_service()
            .cluster(cluster)
            .service_name(APP)
            .task_definition(&td_arn)
            .desired_count(1)
            .launch_type(ecs::types::LaunchType::Fargate)
            .load_balancers(
                ecs::types::LoadBalancer::builder()
                    .target_group_arn(alb["target_group_arn"].as_str().unwrap())
                    .container_name(APP)
                    .container_port(i32::from(CONTAINER_PORT))
                    .build(),
            )
            .send()
            .await
            .expect("ecs service");
        let service = service.service().unwrap();
        json!({
            "repository_name": ecr["repository_name"],
            "repository_uri": repository_uri,
            "execution_role_arn": roles[0],
            "task_role_arn": roles[1],
            "log_group": log_group,
            "security_group_id": sg,
            "task_definition_arn": td_arn,
            "cloudmap_service_arn": cm.arn().unwrap(),
            "cluster_name": cluster,
            "service_name": service.service_name().unwrap(),
            "service_arn": service.service_arn().unwrap(),
            "container_name": APP,
            "container_port": CONTAINER_PORT,
        })
    })
}

/// pipeline-up with the GitHub repository flags.
pub fn pipeline_up(emu: &Emulator) -> testkit::Tool {
    emu.tool("pipeline-up")
        .args(["--repo-owner", OWNER, "--repo-name", REPO])
}

/// Every resource in the emulator carrying `stagehand:app=APP` and `stagehand:step=pipeline`
/// (bucket, topic, roles, project, pipeline, rule), found by independent calls.
pub fn pipeline_tagged(emu: &Emulator) -> Vec<String> {
    let sdk = emu.sdk();
    let ours = |tags: &[(String, String)]| {
        tags.iter().any(|(k, v)| k == "stagehand:app" && v == APP)
            && tags
                .iter()
                .any(|(k, v)| k == "stagehand:step" && v == "pipeline")
    };
    let mut found = Vec::new();
    emu.block_on(async {
        let s3 = testkit::s3::Client::from_conf(
            testkit::s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            let name = b.name().unwrap();
            if let Ok(t) = s3.get_bucket_tagging().bucket(name).send().await {
                let tags: Vec<_> = t
                    .tag_set()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect();
                if ours(&tags) {
                    found.push(format!("bucket {name}"));
                }
            }
        }
        let sns = testkit::sns::Client::new(&sdk);
        for t in sns.list_topics().send().await.unwrap().topics() {
            let arn = t.topic_arn().unwrap();
            let tags = sns
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .unwrap();
            let tags: Vec<_> = tags
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            if ours(&tags) {
                found.push(format!("topic {arn}"));
            }
        }
        let iamc = iam::Client::new(&sdk);
        for r in iamc.list_roles().send().await.unwrap().roles() {
            let tags = iamc
                .list_role_tags()
                .role_name(r.role_name())
                .send()
                .await
                .unwrap();
            let tags: Vec<_> = tags
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            if ours(&tags) {
                found.push(format!("role {}", r.role_name()));
            }
        }
        let cb = testkit::codebuild::Client::new(&sdk);
        let names = cb.list_projects().send().await.unwrap().projects().to_vec();
        if !names.is_empty() {
            for p in cb
                .batch_get_projects()
                .set_names(Some(names))
                .send()
                .await
                .unwrap()
                .projects()
            {
                let tags: Vec<_> = p
                    .tags()
                    .iter()
                    .map(|t| {
                        (
                            t.key().unwrap_or_default().to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect();
                if ours(&tags) {
                    found.push(format!("project {}", p.name().unwrap()));
                }
            }
        }
        let cp = testkit::codepipeline::Client::new(&sdk);
        for p in cp.list_pipelines().send().await.unwrap().pipelines() {
            let arn = format!(
                "arn:aws:codepipeline:{}:{}:{}",
                testkit::REGION,
                testkit::ACCOUNT,
                p.name().unwrap()
            );
            let tags = cp
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .unwrap();
            let tags: Vec<_> = tags
                .tags()
                .iter()
                .map(|t| (t.key().to_owned(), t.value().to_owned()))
                .collect();
            if ours(&tags) {
                found.push(format!("pipeline {}", p.name().unwrap()));
            }
        }
        let cs = testkit::codestar::Client::new(&sdk);
        for r in cs
            .list_notification_rules()
            .send()
            .await
            .unwrap()
            .notification_rules()
        {
            let d = cs
                .describe_notification_rule()
                .arn(r.arn().unwrap())
                .send()
                .await
                .unwrap();
            let tags: Vec<_> = d
                .tags()
                .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            if ours(&tags) {
                found.push(format!("rule {}", d.name().unwrap()));
            }
        }
    });
    found
}

/// The image the ECS service runs now, read from ECS (DescribeServices, then its task
/// definition).
pub fn running_image(emu: &Emulator, doc: &Value) -> String {
    let ecsc = ecs::Client::new(&emu.sdk());
    emu.block_on(async {
        let s = ecsc
            .describe_services()
            .cluster(doc["core"]["cluster_name"].as_str().unwrap())
            .services(doc["svc"]["service_name"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let td = s.services()[0].task_definition().unwrap().to_owned();
        let td = ecsc
            .describe_task_definition()
            .task_definition(td)
            .send()
            .await
            .unwrap();
        td.task_definition().unwrap().container_definitions()[0]
            .image()
            .unwrap()
            .to_owned()
    })
}
