//! The document svc-up starts from: real secrets (secrets-init) and service-linked roles
//! (slr-check), a core-infra, and `db` / `alb` sections describing real resources made with
//! plain SDK calls (db-up and alb-up are not used, so these tests stand on their own).

#![allow(dead_code)]

use testkit::{Emulator, Value, ec2, elbv2, fixtures, json, rds, ssm};

pub const TOKEN: &str = "ghp_SvcUpTestToken0123456789abcdef";
pub const APP: &str = "unicorn-ui";

/// secrets + slr + core + db + alb for `app`.
pub fn stack(emu: &Emulator, app: &str) -> Value {
    let doc = fixtures::secrets_and_roles(emu, app, TOKEN);
    let core = fixtures::core_infra(emu, &format!("{app}-core"));
    let db = db_section(emu, app, &core);
    let alb = alb_section(emu, app, &core);
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

/// Push an image tagged `latest` into the repository (as the pipeline's first run would).
pub fn push_image(emu: &Emulator, repo: &str) {
    let ecr = testkit::ecr::Client::new(&emu.sdk());
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                    "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]
    });
    emu.block_on(
        ecr.put_image()
            .repository_name(repo)
            .image_manifest(manifest.to_string())
            .image_tag("latest")
            .send(),
    )
    .expect("put image");
}
