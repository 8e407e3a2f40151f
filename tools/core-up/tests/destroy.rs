//! `core-up --destroy`: the guard while other steps' resources are in the VPC, `--force`,
//! waits while interfaces drain, and resuming from any point.

mod common;

use std::time::{Duration, Instant};

use common::{emulator, spawn, tagged};
use testkit::{Emulator, Fault, Value, ec2, elbv2, rds};

fn tag(k: &str, v: &str) -> ec2::types::Tag {
    ec2::types::Tag::builder().key(k).value(v).build()
}

/// A security group in the VPC, as another step of the app makes one.
fn step_group(emu: &Emulator, vpc: &str, name: &str, step: &str) -> String {
    let c = ec2::Client::new(&emu.sdk());
    let out = emu
        .block_on(
            c.create_security_group()
                .group_name(name)
                .description("another step group")
                .vpc_id(vpc)
                .tag_specifications(
                    ec2::types::TagSpecification::builder()
                        .resource_type(ec2::types::ResourceType::SecurityGroup)
                        .tags(tag("stagehand:app", "backstage"))
                        .tags(tag("stagehand:step", step))
                        .build(),
                )
                .send(),
        )
        .unwrap();
    out.group_id().unwrap().to_owned()
}

fn subnet_ids(doc: &Value, tier: &str) -> Vec<String> {
    doc["core"][tier]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn destroy_refuses_while_other_steps_resources_are_in_the_vpc() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let vpc = doc["core"]["vpc_id"].as_str().unwrap().to_owned();
    let sdk = emu.sdk();
    let group = step_group(&emu, &vpc, "backstage-db", "db");
    let alb_group = step_group(&emu, &vpc, "backstage-alb", "alb");
    let elb = elbv2::Client::new(&sdk);
    let rdsc = rds::Client::new(&sdk);
    let ec2c = ec2::Client::new(&sdk);
    let eni = emu.block_on(async {
        elb.create_load_balancer()
            .name("backstage-alb")
            .set_subnets(Some(subnet_ids(&doc, "public_subnets")))
            .security_groups(&alb_group)
            .tags(
                elbv2::types::Tag::builder()
                    .key("stagehand:app")
                    .value("backstage")
                    .build(),
            )
            .tags(
                elbv2::types::Tag::builder()
                    .key("stagehand:step")
                    .value("alb")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        rdsc.create_db_subnet_group()
            .db_subnet_group_name("backstage-db")
            .db_subnet_group_description("the app's database")
            .set_subnet_ids(Some(subnet_ids(&doc, "private_subnets")))
            .tags(
                rds::types::Tag::builder()
                    .key("stagehand:app")
                    .value("backstage")
                    .build(),
            )
            .tags(
                rds::types::Tag::builder()
                    .key("stagehand:step")
                    .value("db")
                    .build(),
            )
            .send()
            .await
            .unwrap();
        // An interface made by hand: it stays until someone deletes it.
        let eni = ec2c
            .create_network_interface()
            .subnet_id(&subnet_ids(&doc, "private_subnets")[1])
            .description("made by hand")
            .send()
            .await
            .unwrap();
        eni.network_interface()
            .unwrap()
            .network_interface_id()
            .unwrap()
            .to_owned()
    });

    let mark = emu.mark();
    let line = emu
        .tool("core-up")
        .arg("--destroy")
        .doc(&doc)
        .run()
        .fails(2);
    emu.calls_since(mark).assert_no_mutations();
    for needle in [
        format!("its VPC {vpc} still holds"),
        format!("security group backstage-db {group} (db-up's)"),
        "load balancer backstage-alb (alb-up's)".to_owned(),
        "DB subnet group backstage-db (db-up's)".to_owned(),
        format!("network interface {eni} (made by hand"),
        "destroy alb-up --destroy, then db-up --destroy first".to_owned(),
        "--force".to_owned(),
    ] {
        assert!(line.contains(&needle), "{needle}\n{line}");
    }
    assert_eq!(tagged(&emu, "backstage").vpcs.len(), 1);

    // Once the other steps are gone (and the stray interface), the destroy goes ahead.
    emu.block_on(async {
        let lbs = elb.describe_load_balancers().send().await.unwrap();
        for lb in lbs.load_balancers() {
            elb.delete_load_balancer()
                .load_balancer_arn(lb.load_balancer_arn().unwrap())
                .send()
                .await
                .unwrap();
        }
        rdsc.delete_db_subnet_group()
            .db_subnet_group_name("backstage-db")
            .send()
            .await
            .unwrap();
        for g in [&group, &alb_group] {
            ec2c.delete_security_group()
                .group_id(g)
                .send()
                .await
                .unwrap();
        }
        ec2c.delete_network_interface()
            .network_interface_id(&eni)
            .send()
            .await
            .unwrap();
    });
    emu.tool("core-up").arg("--destroy").doc(&doc).run().ok();
    assert!(tagged(&emu, "backstage").is_empty());
}

#[test]
fn force_waits_for_what_holds_a_subnet_and_names_it_at_the_deadline() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    let c = ec2::Client::new(&emu.sdk());
    let subnet = subnet_ids(&doc, "private_subnets")[1].clone();
    let eni = emu
        .block_on(
            c.create_network_interface()
                .subnet_id(&subnet)
                .description("a task's interface")
                .send(),
        )
        .unwrap();
    let eni = eni
        .network_interface()
        .unwrap()
        .network_interface_id()
        .unwrap()
        .to_owned();

    // With --force it deletes what it can and waits for the subnet; at the deadline, exit 3
    // naming the interface.
    let line = emu
        .tool("core-up")
        .args(["--destroy", "--force", "--timeout", "2s"])
        .doc(&doc)
        .run()
        .fails(3);
    assert!(
        line.contains(&format!("subnet core-infra-private-us-west-2b {subnet}")),
        "{line}"
    );
    assert!(
        line.contains(&format!("still held by network interface {eni}")),
        "{line}"
    );

    // It resumes: a rerun waits, with progress, until the interface goes.
    let mark = emu.mark();
    let mut child = spawn(&emu, &["--destroy", "--force"]);
    let started = Instant::now();
    while emu.calls_since(mark).count("ec2:DescribeNetworkInterfaces") < 3 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "it never waited"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("core-up ended while the interface was there: {status}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    emu.block_on(
        c.delete_network_interface()
            .network_interface_id(&eni)
            .send(),
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("still held by network interface"),
        "{stderr}"
    );
    assert!(tagged(&emu, "backstage").is_empty());
}

#[test]
fn a_failed_destroy_resumes_and_a_finished_one_is_a_no_op() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    emu.inject(&[Fault::error(
        "ec2",
        "DeleteVpc",
        "UnauthorizedOperation",
        "not now (injected)",
    )]);
    let line = emu
        .tool("core-up")
        .arg("--destroy")
        .doc(&doc)
        .run()
        .fails(1);
    assert!(line.contains("UnauthorizedOperation"), "{line}");
    assert_eq!(tagged(&emu, "backstage").vpcs.len(), 1);
    // The rerun needs nothing but the identity: no document at all.
    emu.tool("core-up").arg("--destroy").run().ok();
    assert!(tagged(&emu, "backstage").is_empty());
    let mark = emu.mark();
    let out = emu.tool("core-up").arg("--destroy").doc(&doc).run();
    let after = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(after.get("core").is_none());
    assert!(out.stderr.contains("nothing to delete"), "{}", out.stderr);
}

#[test]
fn a_destroy_after_a_run_killed_half_way_leaves_nothing() {
    let emu = Emulator::start();
    // The NAT gateway's creation hangs; the run is killed while it hangs (after the gateway,
    // the subnets and the address exist).
    emu.inject(&[Fault::latency("ec2", "CreateNatGateway", 2000)]);
    let mark = emu.mark();
    let mut child = spawn(&emu, &[]);
    let started = Instant::now();
    while emu.calls_since(mark).count("ec2:CreateNatGateway") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "never got there"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    let _ = child.wait();
    std::thread::sleep(Duration::from_millis(2500));
    emu.tool("core-up").arg("--destroy").run().ok();
    assert!(
        tagged(&emu, "backstage").is_empty(),
        "{:?}",
        tagged(&emu, "backstage")
    );
    let mark = emu.mark();
    emu.tool("core-up").arg("--destroy").run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn force_without_destroy_is_bad_usage() {
    let emu = emulator();
    let line = emu.tool("core-up").arg("--force").run().fails(2);
    assert!(line.contains("--destroy"), "{line}");
    assert!(tagged(&emu, "backstage").is_empty());
}
