//! The document svc-up starts from: real secrets (secrets-init), service-linked roles
//! (slr-check) and image repository (ecr-up), a core-infra, and `db` / `alb` sections describing real resources made with
//! plain SDK calls (db-up and alb-up are not used, so these tests stand on their own).

#![allow(dead_code)]

use testkit::{Emulator, Value, ec2, ecs, elbv2, fixtures, json, rds, ssm};

pub const TOKEN: &str = "ghp_SvcUpTestToken0123456789abcdef";
pub const APP: &str = "unicorn-ui";

/// secrets + slr + ecr + core + db + alb for `app`.
pub fn stack(emu: &Emulator, app: &str) -> Value {
    stack_named(emu, app, app)
}

/// Like [`stack`], the upstream resources named after `short` (a load balancer's name has 32
/// characters at most, so a long app's fixtures need a shorter one).
pub fn stack_named(emu: &Emulator, app: &str, short: &str) -> Value {
    let doc = fixtures::secrets_and_roles(emu, app, TOKEN);
    let doc = emu.tool("ecr-up").doc(&doc).run().ok();
    let core = fixtures::core_infra(emu, &format!("{short}-core"));
    let db = db_section(emu, short, &core);
    let alb = alb_section(emu, short, &core);
    let doc = fixtures::with(doc, "core", core);
    let doc = fixtures::with(doc, "db", db);
    fixtures::with(doc, "alb", alb)
}

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

fn sg(emu: &Emulator, vpc: &str, name: &str) -> String {
    let c = ec2::Client::new(&emu.sdk());
    emu.block_on(
        c.create_security_group()
            .group_name(name)
            .description(name)
            .vpc_id(vpc)
            .send(),
    )
    .expect("create security group")
    .group_id()
    .unwrap()
    .to_owned()
}

/// An Aurora PostgreSQL cluster, its DB and DB-client groups and the three SSM parameters, as
/// db-up makes them; returns the `db` section db-up would write.
pub fn db_section(emu: &Emulator, app: &str, core: &Value) -> Value {
    let sdk = emu.sdk();
    let vpc = core["vpc_id"].as_str().unwrap();
    let db_sg = sg(emu, vpc, &format!("{app}-db"));
    let client_sg = sg(emu, vpc, &format!("{app}-db-client"));
    let rdsc = rds::Client::new(&sdk);
    let ssmc = ssm::Client::new(&sdk);
    let subnet_group = format!("{app}-db");
    emu.block_on(async {
        rdsc.create_db_subnet_group()
            .db_subnet_group_name(&subnet_group)
            .db_subnet_group_description("db")
            .set_subnet_ids(Some(ids(&core["private_subnets"])))
            .send()
            .await
            .expect("create db subnet group");
        let cluster = rdsc
            .create_db_cluster()
            .db_cluster_identifier(format!("{app}-db"))
            .engine("aurora-postgresql")
            .engine_version("15.4")
            .master_username("postgres")
            .master_user_password("Test-Passw0rd-42")
            .db_subnet_group_name(&subnet_group)
            .vpc_security_group_ids(&db_sg)
            .serverless_v2_scaling_configuration(
                rds::types::ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(0.5)
                    .max_capacity(2.0)
                    .build(),
            )
            .send()
            .await
            .expect("create db cluster");
        let cluster = cluster.db_cluster().unwrap();
        let endpoint = cluster.endpoint().unwrap_or("db.local").to_owned();
        let mut parameters = Vec::new();
        for (name, value) in [
            ("POSTGRES_HOST", endpoint.clone()),
            ("POSTGRES_PORT", "5432".to_owned()),
            ("POSTGRES_USER", "postgres".to_owned()),
        ] {
            let pname = format!("/{app}/{name}");
            ssmc.put_parameter()
                .name(&pname)
                .value(value)
                .r#type(ssm::types::ParameterType::String)
                .send()
                .await
                .expect("put parameter");
            let got = ssmc
                .get_parameter()
                .name(&pname)
                .send()
                .await
                .expect("get parameter");
            parameters.push(json!({"name": pname, "arn": got.parameter().unwrap().arn().unwrap()}));
        }
        json!({
            "cluster_id": cluster.db_cluster_identifier().unwrap(),
            "cluster_arn": cluster.db_cluster_arn().unwrap(),
            "endpoint": endpoint,
            "reader_endpoint": cluster.reader_endpoint().unwrap_or("db-ro.local"),
            "port": 5432,
            "user": "postgres",
            "instance_id": format!("{app}-db-1"),
            "subnet_group": subnet_group,
            "db_security_group_id": db_sg,
            "client_security_group_id": client_sg,
            "parameters": parameters,
        })
    })
}

/// An ALB group, an ip target group on 7007, an internet-facing ALB and a listener on 80, as
/// alb-up makes them; returns the `alb` section alb-up would write.
pub fn alb_section(emu: &Emulator, app: &str, core: &Value) -> Value {
    let sdk = emu.sdk();
    let vpc = core["vpc_id"].as_str().unwrap();
    let alb_sg = sg(emu, vpc, &format!("{app}-alb"));
    let elb = elbv2::Client::new(&sdk);
    emu.block_on(async {
        let tg = elb
            .create_target_group()
            .name(format!("{app}-tg"))
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(7007)
            .vpc_id(vpc)
            .target_type(elbv2::types::TargetTypeEnum::Ip)
            .health_check_path("/")
            .send()
            .await
            .expect("create target group");
        let tg_arn = tg.target_groups()[0].target_group_arn().unwrap().to_owned();
        let lb = elb
            .create_load_balancer()
            .name(format!("{app}-alb"))
            .set_subnets(Some(ids(&core["public_subnets"])))
            .security_groups(&alb_sg)
            .scheme(elbv2::types::LoadBalancerSchemeEnum::InternetFacing)
            .r#type(elbv2::types::LoadBalancerTypeEnum::Application)
            .send()
            .await
            .expect("create load balancer");
        let lb = &lb.load_balancers()[0];
        let lb_arn = lb.load_balancer_arn().unwrap().to_owned();
        let dns = lb.dns_name().unwrap().to_owned();
        let listener = elb
            .create_listener()
            .load_balancer_arn(&lb_arn)
            .protocol(elbv2::types::ProtocolEnum::Http)
            .port(80)
            .default_actions(
                elbv2::types::Action::builder()
                    .r#type(elbv2::types::ActionTypeEnum::Forward)
                    .target_group_arn(&tg_arn)
                    .build(),
            )
            .send()
            .await
            .expect("create listener");
        json!({
            "name": format!("{app}-alb"),
            "arn": lb_arn,
            "dns_name": dns,
            "hosted_zone_id": lb.canonical_hosted_zone_id().unwrap_or("Z1H1FL5HABSF5"),
            "security_group_id": alb_sg,
            "target_group_name": format!("{app}-tg"),
            "target_group_arn": tg_arn,
            "listener_arns": [listener.listeners()[0].listener_arn().unwrap()],
            "container_port": 7007,
            "url": format!("http://{dns}"),
        })
    })
}

/// Push an image with `tags` into the repository (as the pipeline's build does: the buildspec
/// pushes `<repository>:<commit8>` and `<repository>:latest`). Each `seed` gives another image.
pub fn push_image(emu: &Emulator, repo: &str, seed: &str, tags: &[&str]) {
    let ecr = testkit::ecr::Client::new(&emu.sdk());
    let hex: String = seed
        .bytes()
        .map(|b| format!("{:x}", b % 16))
        .chain(std::iter::repeat("0".to_owned()))
        .take(64)
        .collect();
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": format!("sha256:{hex}")},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                    "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]
    });
    for tag in tags {
        emu.block_on(
            ecr.put_image()
                .repository_name(repo)
                .image_manifest(manifest.to_string())
                .image_tag(*tag)
                .send(),
        )
        .expect("put image");
    }
}

/// What the pipeline does for a commit, with plain SDK calls as CodeBuild and CodePipeline's
/// ECS deploy action make them: push `<repo>:<commit8>` and `<repo>:latest`, register a
/// revision that copies the service's current one with the new image, and update the service
/// to it. Returns the image and the new revision's ARN.
pub fn pipeline_deploy(emu: &Emulator, doc: &Value, commit8: &str) -> (String, String) {
    let uri = doc["svc"]["repository_uri"].as_str().unwrap();
    push_image(
        emu,
        doc["svc"]["repository_name"].as_str().unwrap(),
        commit8,
        &[commit8, "latest"],
    );
    let image = format!("{uri}:{commit8}");
    let c = ecs::Client::new(&emu.sdk());
    let cluster = doc["core"]["cluster_arn"].as_str().unwrap();
    let service = doc["svc"]["service_name"].as_str().unwrap();
    let arn = emu.block_on(async {
        let s = c
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .expect("describe service");
        let current = s.services()[0].task_definition().unwrap().to_owned();
        let td = c
            .describe_task_definition()
            .task_definition(&current)
            .send()
            .await
            .expect("describe td");
        let td = td.task_definition().unwrap();
        let containers: Vec<ecs::types::ContainerDefinition> = td
            .container_definitions()
            .iter()
            .map(|cd| {
                let mut cd = cd.clone();
                cd.image = Some(image.clone());
                cd
            })
            .collect();
        let new = c
            .register_task_definition()
            .family(td.family().unwrap())
            .set_task_role_arn(td.task_role_arn().map(str::to_owned))
            .set_execution_role_arn(td.execution_role_arn().map(str::to_owned))
            .set_network_mode(td.network_mode().cloned())
            .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
            .set_cpu(td.cpu().map(str::to_owned))
            .set_memory(td.memory().map(str::to_owned))
            .set_container_definitions(Some(containers))
            .send()
            .await
            .expect("register the pipeline's revision");
        let arn = new
            .task_definition()
            .unwrap()
            .task_definition_arn()
            .unwrap()
            .to_owned();
        c.update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(&arn)
            .send()
            .await
            .expect("update service");
        arn
    });
    (image, arn)
}

/// Wait (polling the emulator, which rolls a deployment out in about a second) until the
/// service's only deployment is COMPLETED.
pub fn settle(emu: &Emulator, doc: &Value) {
    let c = ecs::Client::new(&emu.sdk());
    let cluster = doc["core"]["cluster_arn"].as_str().unwrap();
    let service = doc["svc"]["service_name"].as_str().unwrap();
    for _ in 0..100 {
        let s = emu
            .block_on(
                c.describe_services()
                    .cluster(cluster)
                    .services(service)
                    .send(),
            )
            .unwrap();
        let d = s.services()[0].deployments();
        if d.len() == 1
            && d[0].rollout_state() == Some(&ecs::types::DeploymentRolloutState::Completed)
        {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the service did not settle");
}

pub fn up(emu: &Emulator, doc: &Value, extra: &[&str]) -> Value {
    emu.tool("svc-up").args(extra).doc(doc).run().ok()
}

pub fn service(emu: &Emulator, doc: &Value) -> ecs::types::Service {
    let c = ecs::Client::new(&emu.sdk());
    let out = emu
        .block_on(
            c.describe_services()
                .cluster(doc["core"]["cluster_arn"].as_str().unwrap())
                .services(doc["svc"]["service_name"].as_str().unwrap_or(APP))
                .include(ecs::types::ServiceField::Tags)
                .send(),
        )
        .expect("describe services");
    out.services().first().cloned().expect("the service exists")
}

pub fn task_def(emu: &Emulator, arn: &str) -> ecs::types::TaskDefinition {
    let c = ecs::Client::new(&emu.sdk());
    emu.block_on(c.describe_task_definition().task_definition(arn).send())
        .expect("describe task definition")
        .task_definition()
        .cloned()
        .unwrap()
}

/// The image the service's current revision runs.
pub fn running_image(emu: &Emulator, doc: &Value) -> String {
    let s = service(emu, doc);
    let td = task_def(emu, s.task_definition().unwrap());
    td.container_definitions()[0].image().unwrap().to_owned()
}

pub fn revisions(emu: &Emulator) -> Vec<String> {
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

/// A policy document as IAM answers it (URL-encoded), decoded by the test itself.
pub fn decoded_policy(text: &str) -> Value {
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

pub fn as_set(v: &Value) -> std::collections::BTreeSet<String> {
    match v {
        Value::String(s) => [s.clone()].into(),
        Value::Array(a) => a.iter().map(|x| x.as_str().unwrap().to_owned()).collect(),
        _ => panic!("not a string or list: {v}"),
    }
}

pub fn tags_ok<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    let map = testkit::tag_map(tags);
    map.get("stagehand:app").map(String::as_str) == Some(APP)
        && map.get("stagehand:step").map(String::as_str) == Some("svc")
}

/// The document without `section`.
pub fn without(doc: &Value, section: &str) -> Value {
    let mut doc = doc.clone();
    doc.as_object_mut().unwrap().remove(section);
    doc
}

/// The pinned public image the tests use when the rollout must complete at once.
pub const PUBLIC_IMAGE: &str = "public.ecr.aws/backstage/backstage:1.0";
