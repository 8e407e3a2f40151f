//! Stacks made with plain SDK calls or with the real upstream tools, so that a tool's tests
//! start from the document its inputs would give it.

use serde_json::{Value, json};

use crate::{Emulator, ec2, ecs, servicediscovery};

/// A core-infra made with plain SDK calls (not core-up), in the seed's shape: VPC
/// 10.0.0.0/16 tagged Name=`name`, 3 public and 3 private /24 subnets tagged
/// `name`-public-N / `name`-private-N, an ECS cluster `name`, and the namespace
/// `default.name.local`. Returns the `core` section core-up would write for it (created:
/// false, since core-up did not make it).
pub fn core_infra(emu: &Emulator, name: &str) -> Value {
    let sdk = emu.sdk();
    let ec2c = ec2::Client::new(&sdk);
    let name_tag = |value: String, kind: ec2::types::ResourceType| {
        ec2::types::TagSpecification::builder()
            .resource_type(kind)
            .tags(ec2::types::Tag::builder().key("Name").value(value).build())
            .build()
    };
    emu.block_on(async {
        let vpc = ec2c
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .tag_specifications(name_tag(name.to_owned(), ec2::types::ResourceType::Vpc))
            .send()
            .await
            .expect("create vpc");
        let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_owned();
        let azs = ec2c.describe_availability_zones().send().await.expect("azs");
        let azs: Vec<String> = azs.availability_zones().iter().take(3).map(|z| z.zone_name().unwrap().to_owned()).collect();
        let mut public = Vec::new();
        let mut private = Vec::new();
        for (k, az) in azs.iter().enumerate() {
            for (kind, offset, list) in [("public", 0, &mut public), ("private", 10, &mut private)] {
                let cidr = format!("10.0.{}.0/24", k + offset);
                let subnet = ec2c
                    .create_subnet()
                    .vpc_id(&vpc_id)
                    .cidr_block(&cidr)
                    .availability_zone(az)
                    .tag_specifications(name_tag(format!("{name}-{kind}-{}", k + 1), ec2::types::ResourceType::Subnet))
                    .send()
                    .await
                    .expect("create subnet");
                list.push(json!({"id": subnet.subnet().unwrap().subnet_id().unwrap(), "cidr": cidr, "az": az}));
            }
        }
        let ecsc = ecs::Client::new(&sdk);
        let cluster = ecsc
            .create_cluster()
            .cluster_name(name)
            .capacity_providers("FARGATE")
            .capacity_providers("FARGATE_SPOT")
            .send()
            .await
            .expect("create cluster");
        let cluster_arn = cluster.cluster().unwrap().cluster_arn().unwrap().to_owned();
        let sd = servicediscovery::Client::new(&sdk);
        let ns_name = format!("default.{name}.local");
        // Namespace creation is asynchronous in AWS: follow the operation to its namespace id.
        let op = sd.create_private_dns_namespace().name(&ns_name).vpc(&vpc_id).send().await.expect("create namespace");
        let op_id = op.operation_id().expect("operation id").to_owned();
        let ns_id = loop {
            let got = sd.get_operation().operation_id(&op_id).send().await.expect("get operation");
            let operation = got.operation().expect("operation");
            match operation.status().map(|s| s.as_str()) {
                Some("SUCCESS") => {
                    let targets = operation.targets().expect("operation targets");
                    let key = servicediscovery::types::OperationTargetType::Namespace;
                    break targets.get(&key).expect("namespace target").clone();
                }
                Some("FAIL") => panic!("namespace creation failed: {:?}", operation.error_message()),
                _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        };
        let ns = sd.get_namespace().id(&ns_id).send().await.expect("get namespace");
        let ns = ns.namespace().expect("namespace");
        json!({
            "name": name,
            "created": false,
            "vpc_id": vpc_id,
            "vpc_cidr": "10.0.0.0/16",
            "public_subnets": public,
            "private_subnets": private,
            "cluster_name": name,
            "cluster_arn": cluster_arn,
            "namespace_id": ns.id().unwrap(),
            "namespace_name": ns_name,
            "namespace_arn": ns.arn().unwrap(),
        })
    })
}

/// The document after the real `secrets-init | slr-check --create` (token `GITHUB_TOKEN`).
pub fn secrets_and_roles(emu: &Emulator, app: &str, token: &str) -> Value {
    let doc = emu
        .tool("secrets-init")
        .args(["--app", app])
        .env("GITHUB_TOKEN", token)
        .run()
        .ok();
    emu.tool("slr-check").arg("--create").doc(&doc).run().ok()
}

/// `doc` with `section` set to `value`.
pub fn with(mut doc: Value, section: &str, value: Value) -> Value {
    doc[section] = value;
    doc
}
