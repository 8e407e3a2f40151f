//! db-up over the life of a stack: the master password follows the secret's versions,
//! settings are remembered, and a destroyed cluster comes back from its final snapshot.

mod common;

use common::*;
use testkit::{Emulator, Holds};

#[test]
fn a_rotated_password_is_set_on_the_cluster_and_recorded() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let first = emu.tool("db-up").doc(&input).run().ok();
    let v1 = current_version(&emu, &input);
    assert_eq!(
        first["db"]["password_version"], v1,
        "the create records the version it used"
    );

    let new_password = "Rotated-Pa55word-0123";
    let v2 = rotate_password(&emu, &input, new_password);
    assert_ne!(v1, v2);

    // The plan shows the change as an update, by version, never by value.
    let mark = emu.mark();
    let plan = emu.tool("db-up").args(["--plan", "-vv"]).doc(&first).run();
    plan.ok();
    plan.assert_never_shows(new_password);
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        plan.stderr
            .contains(&format!("master password: version {v1} → {v2}")),
        "{}",
        plan.stderr
    );
    assert!(plan.stderr.contains("1 to update"), "{}", plan.stderr);

    let mark = emu.mark();
    let out = emu.tool("db-up").arg("-vv").doc(&first).run();
    let second = out.ok();
    out.assert_never_shows(new_password);
    assert_eq!(
        emu.calls_since(mark).mutating_actions(),
        ["rds:ModifyDBCluster"]
    );
    let modify = requests_of(&emu, mark, "ModifyDBCluster");
    assert_eq!(modify.len(), 1);
    assert_eq!(modify[0]["params"]["DBClusterIdentifier"], CLUSTER);
    assert_eq!(modify[0]["params"]["MasterUserPassword"], "<redacted>");
    assert_eq!(modify[0]["params"]["ApplyImmediately"], "true");
    assert_eq!(second["db"]["password_version"], v2);
    assert!(!second.to_string().contains(new_password));

    // Nothing more to do.
    let mark = emu.mark();
    let third = emu.tool("db-up").doc(&second).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(third["db"], second["db"]);
}

/// Needs the emulator's master-password control endpoint (branch emu-core).
#[test]
fn the_cluster_opens_with_the_secrets_current_value() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let first = emu.tool("db-up").doc(&input).run().ok();
    assert_eq!(master_password(&emu, CLUSTER), password(&emu, &input));
    rotate_password(&emu, &input, "Rotated-Pa55word-0123");
    emu.tool("db-up").doc(&first).run().ok();
    assert_eq!(master_password(&emu, CLUSTER), "Rotated-Pa55word-0123");
}

#[test]
fn an_older_document_adopts_the_current_password_version_without_a_write() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mut doc = emu.tool("db-up").doc(&input).run().ok();
    doc["db"]
        .as_object_mut()
        .unwrap()
        .remove("password_version");
    let mark = emu.mark();
    let out = emu.tool("db-up").arg("-vv").doc(&doc).run();
    let upgraded = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(
        upgraded["db"]["password_version"],
        current_version(&emu, &input)
    );
    assert!(out.stderr.contains("adopting"), "{}", out.stderr);
}

#[test]
fn a_password_aurora_refuses_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let bad = "has a space";
    rotate_password(&emu, &input, bad);
    let mark = emu.mark();
    let out = emu.tool("db-up").doc(&input).run();
    let line = out.fails(2);
    out.assert_never_shows(bad);
    assert!(
        line.contains("not a valid Aurora master password") && line.contains("8 to 41"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    // The same on a rotation of an existing cluster.
    rotate_password(&emu, &input, "Good-Pa55word-0123");
    let doc = emu.tool("db-up").doc(&input).run().ok();
    rotate_password(&emu, &input, "slash/is-not-allowed");
    let mark = emu.mark();
    let out = emu.tool("db-up").doc(&doc).run();
    out.fails(2);
    out.assert_never_shows("slash/is-not-allowed");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_missing_password_secret_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let arn = input["secrets"]["db_password"]["arn"].as_str().unwrap();
    emu.block_on(
        sm(&emu)
            .delete_secret()
            .secret_id(arn)
            .force_delete_without_recovery(true)
            .send(),
    )
    .expect("delete the password secret");
    let mark = emu.mark();
    let line = emu.tool("db-up").doc(&input).run().fails(2);
    assert!(
        line.contains("does not exist") && line.contains("secrets-init"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn settings_are_recorded_kept_overridden_and_reset() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu
        .tool("db-up")
        .args([
            "--max-acu",
            "4",
            "--backup-retention-days",
            "10",
            "--deletion-protection",
        ])
        .doc(&input)
        .run()
        .ok();
    let settings = &doc["db"]["settings"];
    assert_eq!(settings["max-acu"], "4");
    assert_eq!(settings["min-acu"], "0.5");
    assert_eq!(settings["backup-retention-days"], "10");
    assert_eq!(settings["deletion-protection"], true);
    assert_eq!(settings["engine-version"], "16.6");
    for action_flag in ["restore-from-snapshot", "skip-final-snapshot", "force"] {
        assert!(
            settings.get(action_flag).is_none(),
            "{action_flag} is not a setting"
        );
    }

    // A rerun without flags keeps them, with zero mutating calls.
    let mark = emu.mark();
    let again = emu.tool("db-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again["db"]["settings"], doc["db"]["settings"]);

    // A given flag overrides, changes only the capacity, and is recorded.
    let mark = emu.mark();
    let bigger = emu
        .tool("db-up")
        .args(["--max-acu", "8"])
        .doc(&again)
        .run()
        .ok();
    assert_eq!(
        emu.calls_since(mark).mutating_actions(),
        ["rds:ModifyDBCluster"]
    );
    assert_eq!(bigger["db"]["settings"]["max-acu"], "8");
    assert_eq!(bigger["db"]["settings"]["backup-retention-days"], "10");
    let c = cluster(&emu, CLUSTER).unwrap();
    let s = c.serverless_v2_scaling_configuration().unwrap();
    assert_eq!((s.min_capacity(), s.max_capacity()), (Some(0.5), Some(8.0)));

    // --reset plans exactly the change back to the default.
    let mark = emu.mark();
    let reset = emu
        .tool("db-up")
        .args(["--plan", "--reset", "max-acu"])
        .doc(&bigger)
        .run();
    reset.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        reset.stderr.contains("scaling (ACU): 0.5-8 → 0.5-2"),
        "{}",
        reset.stderr
    );
    assert!(
        reset
            .stderr
            .contains("plan: 0 to create, 1 to update, 0 to delete, 7 unchanged"),
        "{}",
        reset.stderr
    );
    let update_lines: Vec<&str> = reset
        .stderr
        .lines()
        .filter(|l| l.contains("~ update"))
        .collect();
    assert_eq!(update_lines.len(), 1, "{}", reset.stderr);
    assert!(!update_lines[0].contains("backup"), "{}", update_lines[0]);
}

fn final_snapshot(emu: &Emulator) -> String {
    let snapshots = cluster_snapshots(emu);
    assert_eq!(snapshots.len(), 1, "{snapshots:?}");
    snapshots[0]
        .db_cluster_snapshot_identifier()
        .unwrap()
        .to_owned()
}

#[test]
fn restore_from_the_final_snapshot_brings_the_cluster_back_as_it_was() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu
        .tool("db-up")
        .args(["--max-acu", "4", "--engine-version", "15.4"])
        .doc(&input)
        .run()
        .ok();
    let destroyed = emu.tool("db-up").arg("--destroy").doc(&doc).run();
    let gone = destroyed.ok();
    let snapshot = final_snapshot(&emu);
    assert!(
        destroyed
            .stderr
            .contains(&format!("db-up --restore-from-snapshot {snapshot}"))
            && destroyed.stderr.contains("--max-acu 4"),
        "the hint names the flag, the snapshot and the settings:\n{}",
        destroyed.stderr
    );
    assert!(cluster(&emu, CLUSTER).is_none());

    // The secret was rotated meanwhile: the snapshot's password is not the stack's any more.
    let v2 = rotate_password(&emu, &input, "After-Restore-Pa55word");

    let mark = emu.mark();
    let restored = emu
        .tool("db-up")
        .args(["--restore-from-snapshot", &snapshot, "--max-acu", "4"])
        .doc(&gone)
        .run()
        .ok();
    let calls = emu.calls_since(mark);
    assert_eq!(calls.count("rds:CreateDBCluster"), 0);
    let restore = requests_of(&emu, mark, "RestoreDBClusterFromSnapshot");
    assert_eq!(restore.len(), 1);
    let p = &restore[0]["params"];
    assert_eq!(
        p["SnapshotIdentifier"].as_str().unwrap().rsplit(':').next(),
        Some(snapshot.as_str())
    );
    assert_eq!(p["DBClusterIdentifier"], CLUSTER);
    assert_eq!(p["Engine"], "aurora-postgresql");
    assert_eq!(p["EngineVersion"], "15.4", "the snapshot's engine version");
    assert_eq!(
        restored["db"]["settings"]["engine-version"], "15.4",
        "the version in effect is recorded"
    );
    let max: f64 = p["ServerlessV2ScalingConfiguration.MaxCapacity"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(max, 4.0);
    assert_eq!(p["DBSubnetGroupName"], CLUSTER);

    let c = cluster(&emu, CLUSTER).expect("the cluster is back");
    let s = c.serverless_v2_scaling_configuration().unwrap();
    assert_eq!((s.min_capacity(), s.max_capacity()), (Some(0.5), Some(4.0)));
    let groups: Vec<&str> = c
        .vpc_security_groups()
        .iter()
        .filter_map(|g| g.vpc_security_group_id())
        .collect();
    assert_eq!(
        groups,
        [restored["db"]["db_security_group_id"].as_str().unwrap()]
    );
    assert_eq!(c.db_subnet_group(), Some(CLUSTER));
    let tags: std::collections::BTreeMap<&str, &str> = c
        .tag_list()
        .iter()
        .map(|t| (t.key().unwrap(), t.value().unwrap()))
        .collect();
    assert_eq!(tags.get("stagehand:app"), Some(&APP));
    assert_eq!(
        tags.get("stagehand:restored-from"),
        Some(&snapshot.as_str())
    );
    let i = instance(&emu, INSTANCE).expect("the writer is back");
    assert_eq!(i.db_instance_class(), Some("db.serverless"));
    assert_eq!(param(&emu, "HOST").as_deref(), c.endpoint());

    // The stack's password is set on the restored cluster, and its version recorded.
    let modify = requests_of(&emu, mark, "ModifyDBCluster");
    assert_eq!(modify.len(), 1, "{modify:?}");
    assert_eq!(modify[0]["params"]["MasterUserPassword"], "<redacted>");
    assert_eq!(restored["db"]["password_version"], v2);

    let mark = emu.mark();
    emu.tool("db-up").doc(&restored).run().ok();
    emu.calls_since(mark).assert_no_mutations();

    // The same restore run again (up.sh's final pass, a rerun after a kill) is done.
    let mark = emu.mark();
    emu.tool("db-up")
        .args(["--restore-from-snapshot", &snapshot])
        .doc(&restored)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();

    // Restoring another snapshot over it is refused, before any write.
    let mark = emu.mark();
    let line = emu
        .tool("db-up")
        .args(["--restore-from-snapshot", "another-snapshot"])
        .doc(&restored)
        .run()
        .fails(2);
    assert!(line.contains("exists"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_restore_without_waiting_sets_the_password_on_the_next_run() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let doc = emu.tool("db-up").doc(&input).run().ok();
    let gone = emu.tool("db-up").arg("--destroy").doc(&doc).run().ok();
    let snapshot = final_snapshot(&emu);
    emu.hold(Holds {
        rds_cluster_s: Some(2.0),
        rds_instance_s: Some(2.0),
        ..Default::default()
    });
    let mark = emu.mark();
    let restored = emu
        .tool("db-up")
        .args(["--restore-from-snapshot", &snapshot, "--no-wait"])
        .doc(&gone)
        .run()
        .ok();
    assert_eq!(requests_of(&emu, mark, "ModifyDBCluster").len(), 0);
    assert!(
        restored["db"].get("password_version").is_none(),
        "no version is known to match yet: {}",
        restored["db"]
    );

    // The next run waits for the cluster and sets the stack's password.
    let plan = emu.tool("db-up").arg("--plan").doc(&restored).run();
    plan.ok();
    assert!(
        plan.stderr
            .contains(&format!("master password: snapshot {snapshot}'s →")),
        "{}",
        plan.stderr
    );
    let mark = emu.mark();
    let next = emu.tool("db-up").doc(&restored).run().ok();
    assert_eq!(
        emu.calls_since(mark).mutating_actions(),
        ["rds:ModifyDBCluster"]
    );
    assert_eq!(
        next["db"]["password_version"],
        current_version(&emu, &input)
    );
    let mark = emu.mark();
    emu.tool("db-up").doc(&next).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn restoring_a_snapshot_that_does_not_exist_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let mark = emu.mark();
    for (id, code, want) in [
        ("unicorn-ui-db-final-19990101-000000", 2, "does not exist"),
        ("not_a_snapshot!", 2, "not a DB cluster snapshot identifier"),
    ] {
        let line = emu
            .tool("db-up")
            .args(["--restore-from-snapshot", id])
            .doc(&input)
            .run()
            .fails(code);
        assert!(line.contains(want), "{id}: {line}");
    }
    emu.calls_since(mark).assert_no_mutations();
    assert!(cluster(&emu, CLUSTER).is_none());
}

#[test]
fn the_password_never_appears() {
    let emu = Emulator::start();
    let input = stack(&emu);
    let password = password(&emu, &input);
    assert!(password.len() >= 8);
    let mark = emu.mark();
    let mut outputs = Vec::new();
    let create = emu.tool("db-up").args(["-vv"]).doc(&input).run();
    let doc = create.ok();
    outputs.push(create);
    outputs.push(emu.tool("db-up").args(["--plan", "-vv"]).doc(&doc).run());
    outputs.push(emu.tool("db-up").args(["--max-acu", "3"]).doc(&doc).run());
    outputs.push(emu.tool("db-up").args(["--destroy", "-vv"]).doc(&doc).run());
    for out in &outputs {
        out.ok();
        out.assert_never_shows(&password);
        assert!(!out.stdout.contains(&password));
    }
    assert!(
        !doc.to_string().contains(&password),
        "the document holds no password"
    );

    let calls = emu.calls_since(mark);
    let requests = calls.requests();
    let create = requests
        .iter()
        .find(|r| r["action"] == "CreateDBCluster")
        .expect("CreateDBCluster was called");
    assert_eq!(
        create["params"]["MasterUserPassword"], "<redacted>",
        "a password was sent (and redacted by the emulator's record)"
    );
    for r in &requests {
        assert!(
            !r.to_string().contains(&password),
            "{} carried the password in a recorded field",
            r["action"]
        );
    }
}
