//! db-up against the emulator: the acceptance, checked with independent describe calls.

mod common;

use common::*;
use testkit::{Emulator, Value, json, rds, ssm};

fn tags_of(tags: &[rds::types::Tag]) -> std::collections::BTreeMap<String, String> {
    testkit::tag_map(
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
}

#[test]
fn fresh_create_builds_serverless_v2_with_its_groups_and_parameters() {
    let emu = Emulator::start();
    let input = stack(&emu);
    // Hold the new cluster and instance in `creating`, so the wait is exercised.
    emu.holds(json!({"rds_cluster_s": 1, "rds_instance_s": 1}));
    let out = emu.tool("db-up").doc(&input).run();
    let doc = out.ok();
    assert!(
        out.stderr.contains("waiting") && out.stderr.contains("ready after"),
        "db-up shows its wait:\n{}",
        out.stderr
    );

    let c = cluster(&emu, CLUSTER).expect("the cluster exists");
    assert_eq!(c.engine(), Some("aurora-postgresql"));
    assert_eq!(c.engine_mode(), Some("provisioned"));
    assert_eq!(c.engine_version(), Some("16.6"));
    let scaling = c
        .serverless_v2_scaling_configuration()
        .expect("a Serverless v2 scaling configuration");
    assert_eq!(scaling.min_capacity(), Some(0.5));
    assert_eq!(scaling.max_capacity(), Some(2.0));
    assert_eq!(c.storage_encrypted(), Some(true));
    assert_eq!(c.master_username(), Some("postgres"));
    assert_eq!(c.port(), Some(5432));
    assert_eq!(c.backup_retention_period(), Some(7));
    assert_eq!(c.copy_tags_to_snapshot(), Some(true));
    assert_eq!(c.deletion_protection(), Some(false));
    assert_eq!(c.status(), Some("available"));
    assert_eq!(c.db_subnet_group(), Some(CLUSTER));
    let tags = tags_of(c.tag_list());
    assert_eq!(tags.get("stagehand:app").map(String::as_str), Some(APP));
    assert_eq!(tags.get("stagehand:step").map(String::as_str), Some("db"));

    let i = instance(&emu, INSTANCE).expect("the writer exists");
    assert_eq!(i.db_instance_class(), Some("db.serverless"));
    assert_eq!(i.db_cluster_identifier(), Some(CLUSTER));
    assert_eq!(i.db_instance_status(), Some("available"));
    assert_eq!(
        tags_of(i.tag_list())
            .get("stagehand:step")
            .map(String::as_str),
        Some("db")
    );

    // The subnet group spans exactly the private subnets.
    let g = subnet_group(&emu, CLUSTER).expect("the subnet group exists");
    let mut have: Vec<&str> = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier())
        .collect();
    let mut want: Vec<&str> = input["core"]["private_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    have.sort();
    want.sort();
    assert_eq!(have, want);

    // The DB group admits 5432 from the client group only, and nothing else.
    let db_sg_id = doc["db"]["db_security_group_id"].as_str().unwrap();
    let client_sg_id = doc["db"]["client_security_group_id"].as_str().unwrap();
    let vpc_sgs: Vec<&str> = c
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(vpc_sgs, [db_sg_id], "the cluster carries the DB group only");
    let db_sg = security_group(&emu, db_sg_id);
    assert_eq!(db_sg.group_name(), Some(CLUSTER));
    let ingress = db_sg.ip_permissions();
    assert_eq!(ingress.len(), 1, "one ingress permission: {ingress:?}");
    let p = &ingress[0];
    assert_eq!(
        (p.ip_protocol(), p.from_port(), p.to_port()),
        (Some("tcp"), Some(5432), Some(5432))
    );
    assert!(
        p.ip_ranges().is_empty() && p.ipv6_ranges().is_empty() && p.prefix_list_ids().is_empty()
    );
    let sources: Vec<&str> = p
        .user_id_group_pairs()
        .iter()
        .filter_map(|g| g.group_id())
        .collect();
    assert_eq!(
        sources,
        [client_sg_id],
        "the only source is the client group"
    );
    assert!(
        db_sg.ip_permissions_egress().is_empty(),
        "the DB group has no egress"
    );
    let client_sg = security_group(&emu, client_sg_id);
    assert_eq!(
        client_sg.group_name(),
        Some(format!("{CLUSTER}-client").as_str())
    );
    assert!(
        client_sg.ip_permissions().is_empty(),
        "the client group admits nothing"
    );

    // The three parameters, as String, with the cluster's endpoint, port and user.
    let params = params(&emu);
    assert_eq!(params.len(), 3);
    let value = |suffix: &str| {
        let p = params
            .iter()
            .find(|p| p.name() == Some(format!("/{APP}/POSTGRES_{suffix}").as_str()))
            .unwrap_or_else(|| panic!("POSTGRES_{suffix} exists"));
        assert_eq!(p.r#type(), Some(&ssm::types::ParameterType::String));
        p.value().unwrap().to_owned()
    };
    assert_eq!(value("HOST"), c.endpoint().unwrap());
    assert_eq!(value("PORT"), "5432");
    assert_eq!(value("USER"), "postgres");

    // The section.
    let db = &doc["db"];
    assert_eq!(db["cluster_id"], CLUSTER);
    assert_eq!(db["cluster_arn"], c.db_cluster_arn().unwrap());
    assert_eq!(db["endpoint"], c.endpoint().unwrap());
    assert_eq!(db["reader_endpoint"], c.reader_endpoint().unwrap());
    assert_eq!(db["port"], 5432);
    assert_eq!(db["user"], "postgres");
    assert_eq!(db["instance_id"], INSTANCE);
    let names: Vec<&str> = db["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "/unicorn-ui/POSTGRES_HOST",
            "/unicorn-ui/POSTGRES_PORT",
            "/unicorn-ui/POSTGRES_USER"
        ]
    );
    for (p, want) in db["parameters"].as_array().unwrap().iter().zip(&names) {
        let found = params.iter().find(|x| x.name() == Some(want)).unwrap();
        assert_eq!(p["arn"], found.arn().unwrap());
    }
    // Every other section is kept as it was.
    assert_eq!(doc["secrets"], input["secrets"]);
    assert_eq!(doc["core"], input["core"]);
}

#[test]
fn never_asks_for_serverless_v1() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mark = emu.mark();
    let doc = emu.tool("db-up").doc(&input).run().ok();
    emu.tool("db-up")
        .args(["--max-acu", "4"])
        .arg("--plan")
        .doc(&doc)
        .run()
        .ok();
    emu.tool("db-up")
        .args(["--max-acu", "4"])
        .doc(&doc)
        .run()
        .ok();
    let requests = rds_requests(&emu, mark);
    let creates: Vec<&Value> = requests
        .iter()
        .filter(|r| r["action"] == "CreateDBCluster")
        .collect();
    assert_eq!(creates.len(), 1);
    assert_eq!(creates[0]["params"]["EngineMode"], "provisioned");
    assert_eq!(
        creates[0]["params"]["ServerlessV2ScalingConfiguration.MinCapacity"],
        "0.5"
    );
    assert!(requests.iter().any(|r| r["action"] == "ModifyDBCluster"));
    for r in &requests {
        let params = r["params"].as_object().unwrap();
        for (k, v) in params {
            assert!(
                !(k.ends_with("EngineMode")
                    && v.as_str()
                        .is_some_and(|v| v.eq_ignore_ascii_case("serverless"))),
                "{} asked for Serverless v1: {r}",
                r["action"]
            );
            assert!(
                !k.starts_with("ScalingConfiguration."),
                "{} sent a v1 scaling configuration",
                r["action"]
            );
        }
    }
}

#[test]
fn rerun_makes_zero_mutating_calls() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let first = emu.tool("db-up").doc(&input).run().ok();
    let mark = emu.mark();
    let out = emu.tool("db-up").doc(&first).run();
    let second = out.ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(second, first, "a rerun writes the same document");
    // Observation is batched: one describe per kind.
    assert_eq!(
        calls.count("rds:DescribeDBClusters"),
        1,
        "observe only (already available: nothing to wait for): {:?}",
        calls.0["by_action"]
    );
    assert_eq!(calls.count("ec2:DescribeSecurityGroups"), 1);
    assert_eq!(calls.count("ssm:GetParameters"), 1);
    assert_eq!(
        calls.count("secretsmanager:GetSecretValue"),
        0,
        "the password's value is read only to create or set it"
    );
    assert_eq!(
        calls.count("secretsmanager:DescribeSecret"),
        1,
        "one read of the password secret's current version"
    );
    assert_eq!(
        calls.count("rds:DescribeDBEngineVersions") + calls.count("ec2:DescribeSubnets"),
        0,
        "a rerun that changes nothing checks neither the engine nor the subnets again"
    );
}

#[test]
fn no_wait_returns_with_the_endpoint_and_a_rerun_waits_without_changes() {
    let emu = Emulator::start();
    let input = stack(&emu);
    emu.holds(json!({"rds_cluster_s": 8, "rds_instance_s": 8}));
    let doc = emu.tool("db-up").arg("--no-wait").doc(&input).run().ok();
    let c = cluster(&emu, CLUSTER).expect("the cluster exists");
    assert_eq!(
        c.status(),
        Some("creating"),
        "--no-wait did not wait for the cluster"
    );
    assert_eq!(doc["db"]["endpoint"], c.endpoint().unwrap());
    assert!(!doc["db"]["endpoint"].as_str().unwrap().is_empty());
    // The instance was asked for and the parameters written before returning.
    assert!(instance(&emu, INSTANCE).is_some());
    let host = params(&emu)
        .into_iter()
        .find(|p| p.name() == Some("/unicorn-ui/POSTGRES_HOST"))
        .expect("POSTGRES_HOST is written before the wait");
    assert_eq!(host.value(), c.endpoint());

    let mark = emu.mark();
    let out = emu.tool("db-up").doc(&doc).run();
    let again = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains("waiting"),
        "the rerun waited:\n{}",
        out.stderr
    );
    assert_eq!(cluster(&emu, CLUSTER).unwrap().status(), Some("available"));
    assert_eq!(
        instance(&emu, INSTANCE).unwrap().db_instance_status(),
        Some("available")
    );
    assert_eq!(again["db"], doc["db"]);
}

#[test]
fn waiting_past_the_timeout_exits_3() {
    let emu = Emulator::start();
    let input = stack(&emu);
    emu.holds(json!({"rds_cluster_s": 60, "rds_instance_s": 60}));
    let line = emu
        .tool("db-up")
        .args(["--timeout", "2s"])
        .doc(&input)
        .run()
        .fails(3);
    assert!(
        line.contains("timed out") && line.contains(CLUSTER),
        "{line}"
    );
}

#[test]
fn drift_in_scaling_retention_and_protection_is_planned_and_fixed() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu.tool("db-up").doc(&input).run().ok();
    emu.block_on(
        rds(&emu)
            .modify_db_cluster()
            .db_cluster_identifier(CLUSTER)
            .serverless_v2_scaling_configuration(
                rds::types::ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(1.0)
                    .max_capacity(8.0)
                    .build(),
            )
            .backup_retention_period(3)
            .deletion_protection(true)
            .apply_immediately(true)
            .send(),
    )
    .expect("out-of-band change");

    let mark = emu.mark();
    let plan = emu.tool("db-up").arg("--plan").doc(&doc).run();
    plan.ok();
    emu.calls_since(mark).assert_no_mutations();
    for want in [
        "scaling (ACU): 1-8 → 0.5-2",
        "backup retention (days): 3 → 7",
        "deletion protection: true → false",
    ] {
        assert!(
            plan.stderr.contains(want),
            "plan reports {want}:\n{}",
            plan.stderr
        );
    }
    assert!(plan.stderr.contains("1 to update"), "{}", plan.stderr);

    let mark = emu.mark();
    emu.tool("db-up").doc(&doc).run().ok();
    let calls = emu.calls_since(mark);
    assert_eq!(calls.mutating_actions(), ["rds:ModifyDBCluster"]);
    let modify = rds_requests(&emu, mark)
        .into_iter()
        .find(|r| r["action"] == "ModifyDBCluster")
        .unwrap();
    assert_eq!(modify["params"]["ApplyImmediately"], "true");
    let c = cluster(&emu, CLUSTER).unwrap();
    let s = c.serverless_v2_scaling_configuration().unwrap();
    assert_eq!((s.min_capacity(), s.max_capacity()), (Some(0.5), Some(2.0)));
    assert_eq!(c.backup_retention_period(), Some(7));
    assert_eq!(c.deletion_protection(), Some(false));

    let mark = emu.mark();
    emu.tool("db-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn flags_set_capacity_and_deletion_protection() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu
        .tool("db-up")
        .args([
            "--min-acu",
            "0",
            "--max-acu",
            "4.5",
            "--deletion-protection",
            "--cluster-name",
            "portal-pg",
        ])
        .doc(&input)
        .run()
        .ok();
    assert_eq!(doc["db"]["cluster_id"], "portal-pg");
    let c = cluster(&emu, "portal-pg").expect("the named cluster exists");
    let s = c.serverless_v2_scaling_configuration().unwrap();
    assert_eq!((s.min_capacity(), s.max_capacity()), (Some(0.0), Some(4.5)));
    assert_eq!(c.deletion_protection(), Some(true));
    assert!(instance(&emu, "portal-pg-1").is_some());
}

fn destroy_and_check(skip_final_snapshot: bool) {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let mut destroy = emu.tool("db-up").arg("--destroy");
    if skip_final_snapshot {
        destroy = destroy.arg("--skip-final-snapshot");
    }
    let out = destroy.doc(&doc).run();
    let after = out.ok();
    assert!(after.get("db").is_none(), "the db section is removed");
    assert_eq!(after["core"], doc["core"]);
    assert_eq!(after["secrets"], doc["secrets"]);

    assert!(cluster(&emu, CLUSTER).is_none(), "the cluster is gone");
    assert!(instance(&emu, INSTANCE).is_none(), "the instance is gone");
    assert!(
        subnet_group(&emu, CLUSTER).is_none(),
        "the subnet group is gone"
    );
    assert!(
        db_tagged_groups(&emu).is_empty(),
        "the security groups are gone"
    );
    assert!(params(&emu).is_empty(), "the parameters are gone");
    let rds_c = rds(&emu);
    let instances = emu.block_on(rds_c.describe_db_instances().send()).unwrap();
    assert!(instances.db_instances().is_empty());
    let clusters = emu.block_on(rds_c.describe_db_clusters().send()).unwrap();
    assert!(clusters.db_clusters().is_empty());

    let snapshots = cluster_snapshots(&emu);
    if skip_final_snapshot {
        assert!(snapshots.is_empty(), "no snapshot is left: {snapshots:?}");
    } else {
        assert_eq!(snapshots.len(), 1, "one final snapshot: {snapshots:?}");
        let s = &snapshots[0];
        let id = s.db_cluster_snapshot_identifier().unwrap();
        let stamp = id
            .strip_prefix(&format!("{CLUSTER}-final-"))
            .expect("named <cluster>-final-<stamp>");
        assert_eq!(stamp.len(), "20250101-120000".len(), "{id}");
        assert!(
            stamp.chars().all(|c| c.is_ascii_digit() || c == '-'),
            "{id}"
        );
        assert_eq!(s.snapshot_type(), Some("manual"));
        assert!(
            out.stderr.contains(id),
            "the snapshot is named on stderr:\n{}",
            out.stderr
        );
    }

    // A second destroy finds nothing and changes nothing.
    let mark = emu.mark();
    emu.tool("db-up").arg("--destroy").doc(&after).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_leaves_a_final_snapshot_and_nothing_else() {
    destroy_and_check(false);
}

#[test]
fn destroy_with_skip_final_snapshot_leaves_no_snapshot() {
    destroy_and_check(true);
}

#[test]
fn destroy_refuses_while_deletion_protection_is_on() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu
        .tool("db-up")
        .arg("--deletion-protection")
        .doc(&input)
        .run()
        .ok();
    let mark = emu.mark();
    // stagehand's own refusal from what it read, before any write: exit 2.
    let line = emu.tool("db-up").arg("--destroy").doc(&doc).run().fails(2);
    assert!(
        line.contains("deletion protection") && line.contains(CLUSTER),
        "{line}"
    );
    assert!(
        line.contains("--no-deletion-protection"),
        "names the remedy: {line}"
    );
    emu.calls_since(mark).assert_no_mutations();
    assert!(cluster(&emu, CLUSTER).is_some() && instance(&emu, INSTANCE).is_some());

    // A rerun without the flag keeps the recorded setting; the negative form turns it off,
    // then destroy succeeds.
    let kept = emu.tool("db-up").arg("--plan").doc(&doc).run();
    kept.ok();
    assert!(kept.stderr.contains("0 to update"), "{}", kept.stderr);
    let doc = emu
        .tool("db-up")
        .arg("--no-deletion-protection")
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(doc["db"]["settings"]["deletion-protection"], false);
    emu.tool("db-up").arg("--destroy").doc(&doc).run().ok();
    assert!(cluster(&emu, CLUSTER).is_none());
}

#[test]
fn plan_on_a_new_stack_reports_creates_with_read_only_calls() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mark = emu.mark();
    let out = emu.tool("db-up").arg("--plan").doc(&input).run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr
            .contains("+ create     Aurora cluster unicorn-ui-db"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("plan: 8 to create, 0 to update, 0 to delete, 0 unchanged"),
        "{}",
        out.stderr
    );
    assert_eq!(doc["db"]["planned"], true);
    assert_eq!(
        doc["db"]["endpoint"],
        testkit::Value::from("(known after apply)")
    );
}

#[test]
fn plan_chains_from_a_planned_core_and_apply_refuses_it() {
    let emu = Emulator::start();
    let mut input = stack(&emu);
    input["core"]["vpc_id"] = json!("(known after apply)");
    for s in input["core"]["private_subnets"].as_array_mut().unwrap() {
        s["id"] = json!("(known after apply)");
    }
    input["core"]["planned"] = json!(true);
    let mark = emu.mark();
    let out = emu.tool("db-up").arg("--plan").doc(&input).run();
    out.ok();
    assert!(out.stderr.contains("8 to create"), "{}", out.stderr);
    let line = emu.tool("db-up").doc(&input).run().fails(2);
    assert!(line.contains("core") && line.contains("core-up"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn bad_input_exits_2_with_zero_mutating_calls() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mark = emu.mark();
    let cases: Vec<(Vec<&str>, Value, &str)> = vec![
        (
            vec!["--min-acu", "3", "--max-acu", "2"],
            input.clone(),
            "--min-acu 3",
        ),
        (vec!["--max-acu", "300"], input.clone(), "--max-acu 300"),
        (vec!["--min-acu", "0.7"], input.clone(), "steps of 0.5"),
        (
            vec!["--cluster-name", "Bad_Name"],
            input.clone(),
            "--cluster-name",
        ),
        (vec![], strip(&input, "secrets"), "secrets-init"),
        (vec![], strip(&input, "core"), "core-up"),
    ];
    for (args, doc, want) in cases {
        let line = emu.tool("db-up").args(&args).doc(&doc).run().fails(2);
        assert!(line.contains(want), "{args:?}: {line}");
    }
    emu.calls_since(mark).assert_no_mutations();
    assert!(cluster(&emu, CLUSTER).is_none());
}
