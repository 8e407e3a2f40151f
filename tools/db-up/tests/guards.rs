//! db-up's refusals and its idempotence: every check that needs no write runs before the
//! first write, destroy is guarded and resumable, and a retried create that answers "already
//! exists" is success.

mod common;

use common::*;
use testkit::{Emulator, Fault, ecs, json};

#[test]
fn a_second_cluster_in_the_app_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let host = param(&emu, "HOST").unwrap();

    let mark = emu.mark();
    let line = emu
        .tool("db-up")
        .args(["--cluster-name", "second-db"])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(
        line.contains(CLUSTER) && line.contains("second-db"),
        "names both clusters: {line}"
    );
    assert!(
        line.contains("db-up --destroy") && line.contains("--app"),
        "names the fixes: {line}"
    );
    // A document that lost its db section is refused the same way: the parameters tell.
    let line = emu
        .tool("db-up")
        .args(["--cluster-name", "second-db"])
        .doc(&input)
        .run()
        .fails(2);
    assert!(line.contains(CLUSTER), "{line}");
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(param(&emu, "HOST"), Some(host));
    assert!(cluster(&emu, "second-db").is_none());

    // The help says so.
    let help = emu.tool("db-up").arg("--help").run();
    assert!(
        help.stdout.contains("One cluster per app"),
        "{}",
        help.stdout
    );
}

#[test]
fn a_phantom_vpc_gets_nothing() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mut phantom = input.clone();
    phantom["core"]["vpc_id"] = json!("vpc-0123456789abcdef0");
    let mark = emu.mark();
    let line = emu.tool("db-up").doc(&phantom).run().fails(2);
    assert!(
        line.contains("vpc-0123456789abcdef0") && line.contains("core-up"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    // Nor is a live cluster repointed to groups in a VPC that does not exist.
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let mut phantom = doc.clone();
    phantom["core"]["vpc_id"] = json!("vpc-0123456789abcdef0");
    let mark = emu.mark();
    emu.tool("db-up").doc(&phantom).run().fails(2);
    emu.calls_since(mark).assert_no_mutations();
    let c = cluster(&emu, CLUSTER).unwrap();
    let groups: Vec<&str> = c
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(
        groups,
        [doc["db"]["db_security_group_id"].as_str().unwrap()]
    );
}

/// Written to AWS's DescribeDBEngineVersions (ServerlessV2FeaturesSupport), which the
/// emulator serves from the emu-core branch on.
#[test]
fn engine_versions_without_serverless_v2_are_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mark = emu.mark();
    let line = emu
        .tool("db-up")
        .args(["--engine-version", "99.9"])
        .doc(&input)
        .run()
        .fails(2);
    assert!(
        line.contains("99.9") && line.contains("not an engine version"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
    // The default version passes the same check.
    let mark = emu.mark();
    emu.tool("db-up").doc(&input).run().ok();
    assert_eq!(
        emu.calls_since(mark).count("rds:DescribeDBEngineVersions"),
        1
    );
}

/// An ECS service in the core cluster carrying `group` (as svc-up makes it).
fn service_using(emu: &Emulator, doc: &testkit::Value, group: &str) {
    let client = ecs::Client::new(&emu.sdk());
    let cluster = doc["core"]["cluster_name"].as_str().unwrap();
    let subnets: Vec<String> = doc["core"]["private_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    emu.block_on(async {
        let td = client
            .register_task_definition()
            .family("portal")
            .network_mode(ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ecs::types::ContainerDefinition::builder()
                    .name("app")
                    .image("public.ecr.aws/nginx/nginx:latest")
                    .essential(true)
                    .build(),
            )
            .send()
            .await
            .expect("register a task definition");
        client
            .create_service()
            .cluster(cluster)
            .service_name("portal")
            .task_definition(td.task_definition().unwrap().task_definition_arn().unwrap())
            .desired_count(0)
            .launch_type(ecs::types::LaunchType::Fargate)
            .network_configuration(
                ecs::types::NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        ecs::types::AwsVpcConfiguration::builder()
                            .set_subnets(Some(subnets))
                            .security_groups(group)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("create a service");
    });
}

#[test]
fn destroy_refuses_while_a_service_uses_the_database_unless_forced() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let client_sg = doc["db"]["client_security_group_id"].as_str().unwrap();
    let db_sg = doc["db"]["db_security_group_id"].as_str().unwrap();
    service_using(&emu, &doc, client_sg);

    let mark = emu.mark();
    let line = emu.tool("db-up").arg("--destroy").doc(&doc).run().fails(2);
    assert!(
        line.contains("ECS service portal") && line.contains(client_sg),
        "names the service and the group: {line}"
    );
    assert!(line.contains("--force"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
    assert!(cluster(&emu, CLUSTER).is_some());

    let out = emu
        .tool("db-up")
        .args(["--destroy", "--force", "--skip-final-snapshot"])
        .doc(&doc)
        .run();
    out.ok();
    assert!(cluster(&emu, CLUSTER).is_none());
    assert!(instance(&emu, INSTANCE).is_none());
    // The service keeps its group, without the rule to the deleted DB group.
    let groups = db_tagged_groups(&emu);
    let ids: Vec<&str> = groups.iter().filter_map(|g| g.group_id()).collect();
    assert_eq!(
        ids,
        [client_sg],
        "the client group stays, the DB group is gone"
    );
    let kept = security_group(&emu, client_sg);
    assert!(
        !format!("{:?}", kept.ip_permissions_egress()).contains(db_sg),
        "{:?}",
        kept.ip_permissions_egress()
    );
}

#[test]
fn destroy_needs_only_the_identity() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu.tool("db-up").doc(&input).run().ok();

    // Only the db section: no secrets, no core.
    let only_db = strip(&strip(&doc, "secrets"), "core");
    let out = emu.tool("db-up").arg("--destroy").doc(&only_db).run();
    out.ok();
    assert!(cluster(&emu, CLUSTER).is_none());
    assert!(subnet_group(&emu, CLUSTER).is_none());
    assert!(db_tagged_groups(&emu).is_empty());
    assert!(params(&emu).is_empty());

    // Nothing but the app: found by name and tags.
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let mut bare = doc.clone();
    for section in ["secrets", "slr", "core", "db"] {
        bare = strip(&bare, section);
    }
    emu.tool("db-up")
        .args(["--destroy", "--skip-final-snapshot"])
        .doc(&bare)
        .run()
        .ok();
    assert!(cluster(&emu, CLUSTER).is_none());
    assert!(subnet_group(&emu, CLUSTER).is_none());
    assert!(db_tagged_groups(&emu).is_empty());
    assert!(params(&emu).is_empty());

    // And again: a no-op.
    let mark = emu.mark();
    emu.tool("db-up").arg("--destroy").doc(&bare).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn retried_creates_that_answer_already_exists_are_success() {
    let emu = Emulator::start();
    let input = stack(&emu);
    // Each create happens, and its answer is "already exists", as when the first answer was
    // lost and the SDK retried.
    emu.inject(&[
        Fault::error(
            "rds",
            "CreateDBSubnetGroup",
            "DBSubnetGroupAlreadyExists",
            "The DB subnet group already exists.",
        )
        .forwarded(),
        Fault::error(
            "rds",
            "CreateDBCluster",
            "DBClusterAlreadyExistsFault",
            "DB cluster already exists",
        )
        .forwarded(),
        Fault::error(
            "rds",
            "CreateDBInstance",
            "DBInstanceAlreadyExists",
            "DB instance already exists",
        )
        .forwarded(),
    ]);
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let c = cluster(&emu, CLUSTER).expect("one cluster");
    assert_eq!(doc["db"]["endpoint"], c.endpoint().unwrap());
    assert!(instance(&emu, INSTANCE).is_some());
    assert!(subnet_group(&emu, CLUSTER).is_some());
    let all = emu
        .block_on(rds(&emu).describe_db_clusters().send())
        .unwrap();
    assert_eq!(all.db_clusters().len(), 1);
    assert_eq!(doc["db"]["password_version"], current_version(&emu, &input));

    let mark = emu.mark();
    emu.tool("db-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}
