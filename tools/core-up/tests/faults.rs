//! core-up under what AWS does to callers: answers lost after the call was applied, "already
//! done" answers to retried calls, duplicates left by older runs, and ECS's service-linked role
//! lag on a fresh account.

mod common;

use common::{ONE_OF_EACH, already_done, counts, emulator, filter, lost, tagged};
use testkit::{Emulator, Fault, ec2, ecs};

/// Every mutating call core-up makes on the way up.
const UP_CALLS: [(&str, &str); 12] = [
    ("ec2", "CreateVpc"),
    ("ec2", "ModifyVpcAttribute"),
    ("ec2", "CreateSubnet"),
    ("ec2", "CreateInternetGateway"),
    ("ec2", "AttachInternetGateway"),
    ("ec2", "AllocateAddress"),
    ("ec2", "CreateNatGateway"),
    ("ec2", "CreateRouteTable"),
    ("ec2", "CreateRoute"),
    ("ec2", "AssociateRouteTable"),
    ("ecs", "CreateCluster"),
    ("servicediscovery", "CreatePrivateDnsNamespace"),
];

/// Every mutating call core-up makes on the way down.
const DOWN_CALLS: [(&str, &str); 10] = [
    ("ec2", "DeleteNatGateway"),
    ("ec2", "ReleaseAddress"),
    ("ec2", "DisassociateRouteTable"),
    ("ec2", "DeleteRouteTable"),
    ("ec2", "DetachInternetGateway"),
    ("ec2", "DeleteInternetGateway"),
    ("ec2", "DeleteSubnet"),
    ("ec2", "DeleteVpc"),
    ("ecs", "DeleteCluster"),
    ("servicediscovery", "DeleteNamespace"),
];

fn assert_all_gone(emu: &Emulator) {
    let left = tagged(emu, "backstage");
    assert!(left.is_empty(), "left behind: {left:?}");
    assert_ne!(
        common::cluster_status(emu, "core-infra").as_deref(),
        Some("ACTIVE")
    );
    assert!(common::namespaces(emu, "default.core-infra.local").is_empty());
}

#[test]
fn a_lost_answer_to_any_create_converges_to_one_of_each() {
    let emu = Emulator::start();
    for (service, action) in UP_CALLS {
        let key = format!("{service}:{action}");
        emu.inject(&[lost(service, action)]);
        let mark = emu.mark();
        let first = emu.tool("core-up").run();
        assert!(
            emu.calls_since(mark).count(&key) >= 1,
            "{key} was not called"
        );
        // Every lost answer is absorbed by the run itself.
        let doc = first.ok();
        // At most one rerun converges (a duplicate the emulator made where AWS would not is
        // reconciled by it), and a rerun after that makes no write.
        let doc = emu.tool("core-up").doc(&doc).run().ok();
        assert_eq!(counts(&emu, "backstage"), ONE_OF_EACH, "after a lost {key}");
        assert_eq!(
            common::namespaces(&emu, "default.core-infra.local").len(),
            1,
            "{key}"
        );
        let mark = emu.mark();
        assert_eq!(emu.tool("core-up").doc(&doc).run().ok(), doc, "{key}");
        emu.calls_since(mark).assert_no_mutations();

        emu.tool("core-up").arg("--destroy").doc(&doc).run().ok();
        assert_all_gone(&emu);
    }
}

#[test]
fn a_lost_answer_to_any_delete_still_tears_everything_down() {
    let emu = Emulator::start();
    for (service, action) in DOWN_CALLS {
        let key = format!("{service}:{action}");
        let doc = emu.tool("core-up").run().ok();
        emu.inject(&[lost(service, action)]);
        let mark = emu.mark();
        let out = emu.tool("core-up").arg("--destroy").doc(&doc).run();
        assert!(
            emu.calls_since(mark).count(&key) >= 1,
            "{key} was not called"
        );
        out.ok();
        assert_all_gone(&emu);
        // A second destroy: exit 0, nothing to do.
        let mark = emu.mark();
        emu.tool("core-up").arg("--destroy").doc(&doc).run().ok();
        emu.calls_since(mark).assert_no_mutations();
    }
}

#[test]
fn already_done_answers_count_as_success() {
    let emu = emulator();
    // The call is applied, and the answer is the one AWS gives a retry of an applied call.
    emu.inject(&[
        already_done("ec2", "CreateSubnet", "InvalidSubnet.Conflict"),
        already_done("ec2", "AttachInternetGateway", "Resource.AlreadyAssociated"),
        already_done("ec2", "AssociateRouteTable", "Resource.AlreadyAssociated"),
        already_done("ec2", "CreateRoute", "RouteAlreadyExists"),
    ]);
    let doc = emu.tool("core-up").run().ok();
    assert_eq!(counts(&emu, "backstage"), ONE_OF_EACH);
    let mark = emu.mark();
    emu.tool("core-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();

    emu.inject(&[
        already_done("ec2", "DeleteNatGateway", "NatGatewayNotFound"),
        already_done("ec2", "ReleaseAddress", "InvalidAllocationID.NotFound"),
        already_done(
            "ec2",
            "DisassociateRouteTable",
            "InvalidAssociationID.NotFound",
        ),
        already_done("ec2", "DeleteRouteTable", "InvalidRouteTableID.NotFound"),
        already_done("ec2", "DetachInternetGateway", "Gateway.NotAttached"),
        already_done(
            "ec2",
            "DeleteInternetGateway",
            "InvalidInternetGatewayID.NotFound",
        ),
        already_done("ec2", "DeleteSubnet", "InvalidSubnetID.NotFound"),
        already_done("ec2", "DeleteVpc", "InvalidVpcID.NotFound"),
        already_done("ecs", "DeleteCluster", "ClusterNotFoundException"),
        already_done("servicediscovery", "DeleteNamespace", "NamespaceNotFound"),
    ]);
    emu.tool("core-up").arg("--destroy").doc(&doc).run().ok();
    assert_all_gone(&emu);
}

/// Tags core-up puts on what it creates, for resources staged by hand as if it had.
fn ours(kind: ec2::types::ResourceType, name: &str) -> ec2::types::TagSpecification {
    let tag = |k: &str, v: &str| ec2::types::Tag::builder().key(k).value(v).build();
    ec2::types::TagSpecification::builder()
        .resource_type(kind)
        .tags(tag("Name", name))
        .tags(tag("stagehand:app", "backstage"))
        .tags(tag("stagehand:step", "core"))
        .build()
}

#[test]
fn duplicates_left_by_lost_answers_are_deleted_keeping_the_documents() {
    use ec2::types::ResourceType;
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let vpc = doc["core"]["vpc_id"].as_str().unwrap().to_owned();
    let c = ec2::Client::new(&emu.sdk());
    // What earlier runs' lost answers left: a second VPC named core-infra with a subnet of
    // ours in it, a gateway and an address attached to nothing, a second public route table.
    let (extra_vpc, spare_igw, spare_eip, extra_table) = emu.block_on(async {
        let v = c
            .create_vpc()
            .cidr_block("10.0.0.0/16")
            .tag_specifications(ours(ResourceType::Vpc, "core-infra"))
            .send()
            .await
            .unwrap();
        let extra_vpc = v.vpc().unwrap().vpc_id().unwrap().to_owned();
        c.create_subnet()
            .vpc_id(&extra_vpc)
            .cidr_block("10.0.0.0/24")
            .availability_zone("us-west-2a")
            .tag_specifications(ours(ResourceType::Subnet, "core-infra-public-us-west-2a"))
            .send()
            .await
            .unwrap();
        let g = c
            .create_internet_gateway()
            .tag_specifications(ours(ResourceType::InternetGateway, "core-infra"))
            .send()
            .await
            .unwrap();
        let e = c
            .allocate_address()
            .domain(ec2::types::DomainType::Vpc)
            .tag_specifications(ours(ResourceType::ElasticIp, "core-infra-nat"))
            .send()
            .await
            .unwrap();
        let t = c
            .create_route_table()
            .vpc_id(&vpc)
            .tag_specifications(ours(ResourceType::RouteTable, "core-infra-public"))
            .send()
            .await
            .unwrap();
        (
            extra_vpc,
            g.internet_gateway()
                .unwrap()
                .internet_gateway_id()
                .unwrap()
                .to_owned(),
            e.allocation_id().unwrap().to_owned(),
            t.route_table()
                .unwrap()
                .route_table_id()
                .unwrap()
                .to_owned(),
        )
    });
    assert_eq!(counts(&emu, "backstage"), (2, 7, 2, 1, 2, 3));

    let plan = emu.tool("core-up").arg("--plan").doc(&doc).run();
    plan.ok();
    for line in [
        format!(
            "- delete     duplicate VPC core-infra {extra_vpc} (keeping {vpc}), with its 1 subnet(s)"
        ),
        format!("- delete     spare internet gateway core-infra {spare_igw}"),
        format!("- delete     spare Elastic IP core-infra-nat {spare_eip}"),
        format!("- delete     duplicate route table core-infra-public {extra_table}"),
    ] {
        assert!(plan.stderr.contains(&line), "{line}\n{}", plan.stderr);
    }
    let out = emu.tool("core-up").doc(&doc).run();
    assert_eq!(out.ok(), doc);
    assert!(
        out.stderr
            .contains(&format!("VPC {extra_vpc} is a duplicate")),
        "{}",
        out.stderr
    );
    assert_eq!(counts(&emu, "backstage"), ONE_OF_EACH);
    let mark = emu.mark();
    emu.tool("core-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn without_the_document_the_most_complete_vpc_is_kept() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let c = ec2::Client::new(&emu.sdk());
    let extra = emu
        .block_on(
            c.create_vpc()
                .cidr_block("10.0.0.0/16")
                .tag_specifications(ours(ec2::types::ResourceType::Vpc, "core-infra"))
                .send(),
        )
        .unwrap();
    let extra = extra.vpc().unwrap().vpc_id().unwrap().to_owned();
    // A new document (the old one lost too): the VPC with the subnets stays.
    let fresh = emu.tool("core-up").run().ok();
    assert_eq!(fresh["core"], doc["core"]);
    let left = emu
        .block_on(
            c.describe_vpcs()
                .filters(filter("tag:Name", &["core-infra"]))
                .send(),
        )
        .unwrap();
    let ids: Vec<&str> = left.vpcs().iter().filter_map(|v| v.vpc_id()).collect();
    assert_eq!(ids, [doc["core"]["vpc_id"].as_str().unwrap()]);
    assert_ne!(ids[0], extra);
    // A destroy with a duplicate still there takes both.
    emu.block_on(
        c.create_vpc()
            .cidr_block("10.0.0.0/16")
            .tag_specifications(ours(ec2::types::ResourceType::Vpc, "core-infra"))
            .send(),
    )
    .unwrap();
    emu.tool("core-up").arg("--destroy").run().ok();
    assert_all_gone(&emu);
}

const ROLE_LAG: &str = "Unable to assume the service linked role. Please verify that the ECS service linked role exists.";

#[test]
fn a_fresh_accounts_role_lag_is_waited_through() {
    let emu = emulator();
    // ECS's answer while its service-linked role is new, as AWS gives it, three times.
    emu.inject(&[Fault::error(
        "ecs",
        "CreateCluster",
        "InvalidParameterException",
        ROLE_LAG,
    )
    .times(3)]);
    let out = emu.tool("core-up").run();
    let doc = out.ok();
    assert!(
        out.stderr
            .contains("Unable to assume the service linked role"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("retrying"), "{}", out.stderr);
    assert_eq!(emu.calls_since(0).count("ecs:CreateCluster"), 4);
    let c = ecs::Client::new(&emu.sdk());
    let clusters = emu
        .block_on(c.describe_clusters().clusters("core-infra").send())
        .unwrap();
    let mut providers = clusters.clusters()[0].capacity_providers().to_vec();
    providers.sort();
    assert_eq!(providers, ["FARGATE", "FARGATE_SPOT"]);
    assert_eq!(
        clusters.clusters()[0].cluster_arn(),
        doc["core"]["cluster_arn"].as_str()
    );
}

#[test]
fn a_role_lag_past_the_timeout_exits_3_naming_it() {
    let emu = emulator();
    emu.inject(&[Fault::error(
        "ecs",
        "CreateCluster",
        "InvalidParameterException",
        ROLE_LAG,
    )
    .times(-1)]);
    let line = emu.tool("core-up").args(["--timeout", "2s"]).run().fails(3);
    assert!(line.contains("ECS cluster core-infra"), "{line}");
    assert!(
        line.contains("Unable to assume the service linked role"),
        "{line}"
    );
    // Any other refusal is not waited for.
    let emu = emulator();
    emu.inject(&[Fault::error(
        "ecs",
        "CreateCluster",
        "InvalidParameterException",
        "Something else is wrong.",
    )
    .times(-1)]);
    let line = emu.tool("core-up").run().fails(1);
    assert!(line.contains("Something else is wrong"), "{line}");
    assert_eq!(emu.calls_since(0).count("ecs:CreateCluster"), 1);
}
