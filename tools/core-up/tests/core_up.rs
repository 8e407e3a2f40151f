//! core-up against the emulator, checked with independent describe calls.

mod common;

use std::time::{Duration, Instant};

use common::{emulator, filter, spawn, tagged};
use testkit::{Emulator, Holds, Value, ec2, ecs, servicediscovery};

fn ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn fresh_create_builds_the_seed_core_infra() {
    let emu = emulator();
    let out = emu.tool("core-up").run();
    let doc = out.ok();
    let core = &doc["core"];
    assert_eq!(core["name"], "core-infra");
    assert_eq!(core["created"], true);
    assert_eq!(core["vpc_cidr"], "10.0.0.0/16");
    assert_eq!(core["cluster_name"], "core-infra");
    assert_eq!(core["namespace_name"], "default.core-infra.local");
    let vpc_id = core["vpc_id"].as_str().unwrap().to_owned();

    let sdk = emu.sdk();
    let ec2c = ec2::Client::new(&sdk);
    emu.block_on(async {
        // One VPC named core-infra, with DNS hostnames on (the namespace needs them).
        let vpcs = ec2c
            .describe_vpcs()
            .filters(filter("tag:Name", &["core-infra"]))
            .send()
            .await
            .unwrap();
        assert_eq!(vpcs.vpcs().len(), 1);
        assert_eq!(vpcs.vpcs()[0].vpc_id(), Some(vpc_id.as_str()));
        assert_eq!(vpcs.vpcs()[0].cidr_block(), Some("10.0.0.0/16"));
        let dns = ec2c
            .describe_vpc_attribute()
            .vpc_id(&vpc_id)
            .attribute(ec2::types::VpcAttributeName::EnableDnsHostnames)
            .send()
            .await
            .unwrap();
        assert_eq!(
            dns.enable_dns_hostnames().and_then(|v| v.value()),
            Some(true)
        );

        // Six subnets over three zones, at cidrsubnet(cidr, 8, k) and (k + 10).
        let subnets = ec2c
            .describe_subnets()
            .filters(filter("vpc-id", &[&vpc_id]))
            .send()
            .await
            .unwrap();
        let mut found: Vec<(String, String, String)> = subnets
            .subnets()
            .iter()
            .map(|s| {
                let name = testkit::tag_map(
                    s.tags()
                        .iter()
                        .map(|t| (t.key().unwrap(), t.value().unwrap())),
                )["Name"]
                    .clone();
                (
                    s.cidr_block().unwrap().to_owned(),
                    s.availability_zone().unwrap().to_owned(),
                    name,
                )
            })
            .collect();
        found.sort();
        assert_eq!(
            found,
            [
                ("10.0.0.0/24", "us-west-2a", "core-infra-public-us-west-2a"),
                ("10.0.1.0/24", "us-west-2b", "core-infra-public-us-west-2b"),
                (
                    "10.0.10.0/24",
                    "us-west-2a",
                    "core-infra-private-us-west-2a"
                ),
                (
                    "10.0.11.0/24",
                    "us-west-2b",
                    "core-infra-private-us-west-2b"
                ),
                (
                    "10.0.12.0/24",
                    "us-west-2c",
                    "core-infra-private-us-west-2c"
                ),
                ("10.0.2.0/24", "us-west-2c", "core-infra-public-us-west-2c"),
            ]
            .map(|(a, b, c)| (a.to_owned(), b.to_owned(), c.to_owned()))
        );

        // One internet gateway, attached.
        let igws = ec2c
            .describe_internet_gateways()
            .filters(filter("attachment.vpc-id", &[&vpc_id]))
            .send()
            .await
            .unwrap();
        assert_eq!(igws.internet_gateways().len(), 1);
        let igw = igws.internet_gateways()[0].internet_gateway_id().unwrap();

        // One NAT gateway, available, with its EIP, in the first public subnet.
        let nats = ec2c
            .describe_nat_gateways()
            .filter(filter("vpc-id", &[&vpc_id]))
            .send()
            .await
            .unwrap();
        assert_eq!(nats.nat_gateways().len(), 1);
        let nat = &nats.nat_gateways()[0];
        assert_eq!(nat.state().map(|s| s.as_str()), Some("available"));
        assert_eq!(nat.subnet_id(), core["public_subnets"][0]["id"].as_str());
        let eip = nat.nat_gateway_addresses()[0].allocation_id().unwrap();
        let eips = ec2c
            .describe_addresses()
            .allocation_ids(eip)
            .send()
            .await
            .unwrap();
        assert_eq!(eips.addresses().len(), 1);
        let nat_id = nat.nat_gateway_id().unwrap();

        // Two route tables (besides the VPC's main one), with their routes and subnets.
        let tables = ec2c
            .describe_route_tables()
            .filters(filter("vpc-id", &[&vpc_id]))
            .filters(filter(
                "tag:Name",
                &["core-infra-public", "core-infra-private"],
            ))
            .send()
            .await
            .unwrap();
        assert_eq!(tables.route_tables().len(), 2);
        for t in tables.route_tables() {
            let name = testkit::tag_map(
                t.tags()
                    .iter()
                    .map(|t| (t.key().unwrap(), t.value().unwrap())),
            )["Name"]
                .clone();
            let default = t
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .expect("default route");
            let mut associated: Vec<String> = t
                .associations()
                .iter()
                .filter_map(|a| a.subnet_id().map(str::to_owned))
                .collect();
            associated.sort();
            let (target, subnets) = if name == "core-infra-public" {
                (default.gateway_id(), &core["public_subnets"])
            } else {
                (default.nat_gateway_id(), &core["private_subnets"])
            };
            let mut expected = ids(subnets);
            expected.sort();
            assert_eq!(associated, expected, "{name}");
            assert_eq!(
                target,
                Some(if name == "core-infra-public" {
                    igw
                } else {
                    nat_id
                }),
                "{name}"
            );
        }

        // The cluster, with both capacity providers and Container Insights.
        let ecsc = ecs::Client::new(&sdk);
        let clusters = ecsc
            .describe_clusters()
            .clusters("core-infra")
            .include(ecs::types::ClusterField::Settings)
            .include(ecs::types::ClusterField::Tags)
            .send()
            .await
            .unwrap();
        let cluster = &clusters.clusters()[0];
        assert_eq!(cluster.status(), Some("ACTIVE"));
        assert_eq!(cluster.cluster_arn(), core["cluster_arn"].as_str());
        let mut providers = cluster.capacity_providers().to_vec();
        providers.sort();
        assert_eq!(providers, ["FARGATE", "FARGATE_SPOT"]);
        assert!(
            cluster
                .settings()
                .iter()
                .any(
                    |s| s.name().map(|n| n.as_str()) == Some("containerInsights")
                        && s.value() == Some("enabled")
                )
        );
        assert!(
            cluster
                .tags()
                .iter()
                .any(|t| t.key() == Some("stagehand:step") && t.value() == Some("core"))
        );

        // The namespace, tagged.
        let sd = servicediscovery::Client::new(&sdk);
        let ns = sd
            .get_namespace()
            .id(core["namespace_id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let ns = ns.namespace().unwrap();
        assert_eq!(ns.name(), Some("default.core-infra.local"));
        assert_eq!(ns.arn(), core["namespace_arn"].as_str());
        let tags = sd
            .list_tags_for_resource()
            .resource_arn(ns.arn().unwrap())
            .send()
            .await
            .unwrap();
        assert!(
            tags.tags()
                .iter()
                .any(|t| t.key() == "stagehand:app" && t.value() == "backstage")
        );
    });

    // Everything EC2 holds of it carries the tags.
    let t = tagged(&emu, "backstage");
    assert_eq!(
        (
            t.vpcs.len(),
            t.subnets.len(),
            t.igws.len(),
            t.nats.len(),
            t.eips.len(),
            t.route_tables.len()
        ),
        (1, 6, 1, 1, 1, 2)
    );
    // It waited for the NAT gateway and the namespace, and said so.
    assert!(out.stderr.contains("NAT gateway"), "{}", out.stderr);
}

#[test]
fn a_rerun_makes_no_mutating_call_and_writes_the_same_section() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let mark = emu.mark();
    let again = emu.tool("core-up").doc(&doc).run().ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(again, doc);
    // One describe per kind, not one per resource (plus STS).
    assert!(calls.read_only() <= 12, "{:?}", calls.0["by_action"]);
    // Without the document it finds the same core-infra by name.
    let mark = emu.mark();
    let fresh = emu.tool("core-up").run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(fresh["core"], doc["core"]);
}

#[test]
fn plan_reports_what_it_would_create_with_read_only_calls() {
    let emu = emulator();
    let mark = emu.mark();
    let out = emu.tool("core-up").arg("--plan").run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr
            .contains("plan: 23 to create, 0 to update, 0 to delete, 0 unchanged"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("+ create     VPC core-infra (10.0.0.0/16)"),
        "{}",
        out.stderr
    );
    assert_eq!(doc["core"]["planned"], true);
    assert_eq!(doc["core"]["vpc_id"], "(known after apply)");
    assert_eq!(doc["core"]["private_subnets"][2]["cidr"], "10.0.12.0/24");
    assert!(tagged(&emu, "backstage").is_empty());

    let applied = emu.tool("core-up").run().ok();
    let out = emu.tool("core-up").arg("--plan").doc(&applied).run();
    let planned = out.ok();
    assert!(
        out.stderr.contains("plan: 0 to create, 0 to update"),
        "{}",
        out.stderr
    );
    assert_eq!(planned["core"], applied["core"]);
}

#[test]
fn an_existing_core_infra_is_reused_and_never_destroyed() {
    // The fixture lists its namespace right after creating it: holds come after.
    let emu = Emulator::start();
    let expected = testkit::fixtures::core_infra(&emu, "core-infra");
    emu.hold(Holds {
        nat_gateway_s: Some(0.4),
        namespace_s: Some(0.3),
        ..Holds::default()
    });
    let mark = emu.mark();
    let out = emu.tool("core-up").run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    let mut section = doc["core"].clone();
    // Only the name is core-up's to remember about someone else's core-infra.
    assert_eq!(
        section.as_object_mut().unwrap().remove("settings"),
        Some(testkit::json!({"core-name": "core-infra"}))
    );
    assert_eq!(section, expected);
    assert_eq!(doc["core"]["created"], false);

    let mark = emu.mark();
    let out = emu.tool("core-up").arg("--destroy").doc(&doc).run();
    let after = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(after.get("core").is_none());
    assert!(out.stderr.contains("left in place"), "{}", out.stderr);
    let vpc = expected["vpc_id"].as_str().unwrap();
    let c = ec2::Client::new(&emu.sdk());
    let subnets = emu
        .block_on(
            c.describe_subnets()
                .filters(filter("vpc-id", &[vpc]))
                .send(),
        )
        .unwrap();
    assert_eq!(subnets.subnets().len(), 6);
    assert_eq!(
        common::cluster_status(&emu, "core-infra").as_deref(),
        Some("ACTIVE")
    );
    assert_eq!(
        common::namespaces(&emu, "default.core-infra.local").len(),
        1
    );
}

#[test]
fn another_apps_core_infra_is_reused_not_owned() {
    let emu = emulator();
    let first = emu.tool("core-up").args(["--app", "first"]).run().ok();
    let mark = emu.mark();
    let second = emu.tool("core-up").args(["--app", "second"]).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(second["core"]["created"], false);
    assert_eq!(second["core"]["vpc_id"], first["core"]["vpc_id"]);
    assert_eq!(
        second["core"]["public_subnets"],
        first["core"]["public_subnets"]
    );
    let mark = emu.mark();
    emu.tool("core-up").arg("--destroy").doc(&second).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(tagged(&emu, "first").vpcs.len(), 1);
}

#[test]
fn destroy_removes_everything_it_created_in_order() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let out = emu.tool("core-up").arg("--destroy").doc(&doc).run();
    let after = out.ok();
    assert!(after.get("core").is_none());
    let left = tagged(&emu, "backstage");
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_ne!(
        common::cluster_status(&emu, "core-infra").as_deref(),
        Some("ACTIVE")
    );
    assert!(common::namespaces(&emu, "default.core-infra.local").is_empty());
    // The VPC's main route table and default group went with it.
    let c = ec2::Client::new(&emu.sdk());
    let vpc = doc["core"]["vpc_id"].as_str().unwrap();
    let tables = emu
        .block_on(
            c.describe_route_tables()
                .filters(filter("vpc-id", &[vpc]))
                .send(),
        )
        .unwrap();
    assert!(tables.route_tables().is_empty());

    // A second destroy finds nothing and changes nothing.
    let mark = emu.mark();
    emu.tool("core-up").arg("--destroy").run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_refuses_while_services_remain() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let sdk = emu.sdk();
    let ecsc = ecs::Client::new(&sdk);
    let sd = servicediscovery::Client::new(&sdk);
    let sd_service = emu.block_on(async {
        ecsc.register_task_definition()
            .family("web")
            .container_definitions(
                ecs::types::ContainerDefinition::builder()
                    .name("web")
                    .image("nginx")
                    .memory(128)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        ecsc.create_service()
            .cluster("core-infra")
            .service_name("web")
            .task_definition("web")
            .desired_count(0)
            .send()
            .await
            .unwrap();
        let s = sd
            .create_service()
            .name("web")
            .namespace_id(doc["core"]["namespace_id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        s.service().unwrap().id().unwrap().to_owned()
    });
    let mark = emu.mark();
    let line = emu
        .tool("core-up")
        .arg("--destroy")
        .doc(&doc)
        .run()
        .fails(2);
    assert!(
        line.contains("ECS cluster core-infra still has services (web)"),
        "{line}"
    );
    assert!(
        line.contains("namespace default.core-infra.local still has services (web)"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    emu.block_on(async {
        ecsc.delete_service()
            .cluster("core-infra")
            .service("web")
            .send()
            .await
            .unwrap();
        sd.delete_service().id(&sd_service).send().await.unwrap();
    });
    emu.tool("core-up").arg("--destroy").doc(&doc).run().ok();
    assert!(tagged(&emu, "backstage").is_empty());
}

#[test]
fn a_killed_create_converges_on_rerun_to_one_vpc_and_one_nat() {
    let emu = emulator();
    // The NAT gateway's creation hangs for 3 s; the run is killed while it hangs, after the
    // request reached AWS (it still lands, as it would on AWS).
    emu.inject(&[testkit::Fault::latency("ec2", "CreateNatGateway", 3000)]);
    let mark = emu.mark();
    let mut child = spawn(&emu, &[]);
    let started = Instant::now();
    while emu.calls_since(mark).count("ec2:CreateNatGateway") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "core-up never created the NAT gateway"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("core-up ended before it was killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();

    let doc = emu.tool("core-up").run().ok();
    // Let the killed run's request land before counting.
    std::thread::sleep(Duration::from_millis(3500));
    let c = ec2::Client::new(&emu.sdk());
    let (vpcs, nats) = emu.block_on(async {
        let vpcs = c
            .describe_vpcs()
            .filters(filter("tag:Name", &["core-infra"]))
            .send()
            .await
            .unwrap();
        let nats = c.describe_nat_gateways().send().await.unwrap();
        (vpcs, nats)
    });
    assert_eq!(vpcs.vpcs().len(), 1);
    let live: Vec<_> = nats
        .nat_gateways()
        .iter()
        .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
        .collect();
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(vpcs.vpcs()[0].vpc_id(), doc["core"]["vpc_id"].as_str());
    let t = tagged(&emu, "backstage");
    assert_eq!(
        (
            t.vpcs.len(),
            t.subnets.len(),
            t.eips.len(),
            t.route_tables.len()
        ),
        (1, 6, 1, 2)
    );

    // And now it is finished: nothing more to do.
    let mark = emu.mark();
    assert_eq!(emu.tool("core-up").doc(&doc).run().ok(), doc);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_run_killed_while_the_namespace_is_created_joins_that_operation_on_rerun() {
    let emu = Emulator::start();
    emu.hold(Holds {
        namespace_s: Some(4.0),
        ..Holds::default()
    });
    let mark = emu.mark();
    let mut child = spawn(&emu, &[]);
    let started = Instant::now();
    while emu
        .calls_since(mark)
        .count("servicediscovery:CreatePrivateDnsNamespace")
        == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no namespace was created"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("core-up ended before it was killed: {status}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    // The namespace is not listed until its operation succeeds: the rerun asks again, is
    // told the request is in progress, and follows the first operation.
    assert!(common::namespaces(&emu, "default.core-infra.local").is_empty());
    let mark = emu.mark();
    let doc = emu.tool("core-up").run().ok();
    assert_eq!(
        emu.calls_since(mark)
            .count("servicediscovery:CreatePrivateDnsNamespace"),
        1
    );
    assert_eq!(
        common::namespaces(&emu, "default.core-infra.local"),
        [doc["core"]["namespace_id"].as_str().unwrap()]
    );
}

#[test]
fn drift_in_its_own_infra_is_corrected() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let sdk = emu.sdk();
    let c = ec2::Client::new(&sdk);
    let vpc = doc["core"]["vpc_id"].as_str().unwrap().to_owned();
    emu.block_on(async {
        let tables = c
            .describe_route_tables()
            .filters(filter("tag:Name", &["core-infra-private"]))
            .send()
            .await
            .unwrap();
        let table = tables.route_tables()[0].route_table_id().unwrap();
        c.delete_route()
            .route_table_id(table)
            .destination_cidr_block("0.0.0.0/0")
            .send()
            .await
            .unwrap();
        ecs::Client::new(&sdk)
            .update_cluster()
            .cluster("core-infra")
            .settings(
                ecs::types::ClusterSetting::builder()
                    .name(ecs::types::ClusterSettingName::ContainerInsights)
                    .value("disabled")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });
    let plan = emu.tool("core-up").arg("--plan").doc(&doc).run();
    plan.ok();
    assert!(
        plan.stderr.contains("plan: 1 to create, 1 to update"),
        "{}",
        plan.stderr
    );
    assert!(
        plan.stderr
            .contains("containerInsights: disabled → enabled"),
        "{}",
        plan.stderr
    );
    let mark = emu.mark();
    assert_eq!(emu.tool("core-up").doc(&doc).run().ok(), doc);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["ec2:CreateRoute", "ecs:UpdateCluster"],
        "{:?}",
        calls.0["by_action"]
    );
    let mark = emu.mark();
    emu.tool("core-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    let _ = vpc;
}

#[test]
fn flags_shape_the_network() {
    let emu = emulator();
    let doc = emu
        .tool("core-up")
        .args([
            "--core-name",
            "platform",
            "--cidr",
            "10.20.0.0/18",
            "--azs",
            "2",
        ])
        .run()
        .ok();
    let core = &doc["core"];
    assert_eq!(core["name"], "platform");
    assert_eq!(core["namespace_name"], "default.platform.local");
    let cidrs = |list: &Value| -> Vec<String> {
        list.as_array()
            .unwrap()
            .iter()
            .map(|s| s["cidr"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        cidrs(&core["public_subnets"]),
        ["10.20.0.0/26", "10.20.0.64/26"]
    );
    assert_eq!(
        cidrs(&core["private_subnets"]),
        ["10.20.2.128/26", "10.20.2.192/26"]
    );
    // A rerun from the document needs none of the flags.
    let mark = emu.mark();
    assert_eq!(emu.tool("core-up").doc(&doc).run().ok(), doc);
    emu.calls_since(mark).assert_no_mutations();
    // A CIDR the VPC does not have is refused, not ignored.
    let line = emu
        .tool("core-up")
        .args(["--cidr", "10.0.0.0/16"])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("10.20.0.0/18"), "{line}");
}

#[test]
fn bad_input_exits_2_with_no_mutating_call() {
    let emu = emulator();
    for (args, needle) in [
        (vec!["--cidr", "10.0.0.0/33"], "--cidr"),
        (vec!["--cidr", "not-a-cidr"], "--cidr"),
        (vec!["--cidr", "10.0.0.0/24"], "/16 to /20"),
        (vec!["--cidr", "10.0.0.1/16"], "host bits"),
        (vec!["--azs", "0"], "--azs 0"),
        (vec!["--azs", "1"], "an ALB needs subnets in two zones"),
        (vec!["--azs", "many"], "--azs"),
        // The region has four zones.
        (vec!["--azs", "5"], "only 4 available"),
        (vec!["--core-name", "bad name"], "--core-name"),
    ] {
        let mark = emu.mark();
        let line = emu.tool("core-up").args(&args).run().fails(2);
        assert!(line.contains(needle), "{args:?}: {line}");
        emu.calls_since(mark).assert_no_mutations();
    }
    assert!(tagged(&emu, "backstage").is_empty());
}

#[test]
fn no_wait_writes_a_complete_section_while_the_nat_provisions() {
    let emu = Emulator::start();
    emu.hold(Holds {
        nat_gateway_s: Some(3.0),
        ..Holds::default()
    });
    let out = emu.tool("core-up").arg("--no-wait").run();
    let doc = out.ok();
    // Complete and applied: the next steps (db-up, alb-up) can start on it.
    let core = &doc["core"];
    assert!(core.get("planned").is_none(), "{core}");
    for key in ["vpc_id", "cluster_arn", "namespace_id", "namespace_arn"] {
        assert!(
            core[key]
                .as_str()
                .is_some_and(|v| !v.is_empty() && !v.contains("known after")),
            "{key}: {core}"
        );
    }
    assert_eq!(core["private_subnets"].as_array().unwrap().len(), 3);
    let c = ec2::Client::new(&emu.sdk());
    let vpc = core["vpc_id"].as_str().unwrap();
    let (state, nat_id) = {
        let out = emu
            .block_on(
                c.describe_nat_gateways()
                    .filter(filter("vpc-id", &[vpc]))
                    .send(),
            )
            .unwrap();
        let n = &out.nat_gateways()[0];
        (
            n.state().unwrap().as_str().to_owned(),
            n.nat_gateway_id().unwrap().to_owned(),
        )
    };
    assert_eq!(state, "pending");
    // The private subnets already route through it.
    let tables = emu
        .block_on(
            c.describe_route_tables()
                .filters(filter("tag:Name", &["core-infra-private"]))
                .send(),
        )
        .unwrap();
    let default = tables.route_tables()[0]
        .routes()
        .iter()
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| r.nat_gateway_id())
        .map(str::to_owned);
    assert_eq!(default.as_deref(), Some(nat_id.as_str()));
    assert!(
        !out.stderr.contains("waiting: NAT gateway"),
        "{}",
        out.stderr
    );

    // A later run without --no-wait waits for it, and changes nothing.
    let mark = emu.mark();
    let out = emu.tool("core-up").doc(&doc).run();
    assert_eq!(out.ok(), doc);
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains(&format!("NAT gateway {nat_id}: ready")),
        "{}",
        out.stderr
    );
    let out = emu
        .block_on(c.describe_nat_gateways().nat_gateway_ids(&nat_id).send())
        .unwrap();
    assert_eq!(out.nat_gateways()[0].state().unwrap().as_str(), "available");
}

#[test]
fn a_wait_past_the_timeout_exits_3_and_a_rerun_finishes() {
    let emu = Emulator::start();
    emu.hold(Holds {
        nat_gateway_s: Some(4.0),
        ..Holds::default()
    });
    let line = emu.tool("core-up").args(["--timeout", "1s"]).run().fails(3);
    assert!(line.contains("NAT gateway"), "{line}");
    let doc = emu.tool("core-up").run().ok();
    let t = tagged(&emu, "backstage");
    assert_eq!((t.vpcs.len(), t.nats.len()), (1, 1));
    assert_eq!(doc["core"]["private_subnets"].as_array().unwrap().len(), 3);
}
