//! core-up's remembered settings (`core.settings`): recorded, kept on a rerun, overridden by a
//! flag, reset to the default; documents from before settings; a reused core-infra.

mod common;

use common::{emulator, filter};
use testkit::{Emulator, Value, ec2, json};

fn settings(doc: &Value) -> Value {
    doc["core"]["settings"].clone()
}

fn without_settings(doc: &Value) -> Value {
    let mut old = doc.clone();
    old["core"].as_object_mut().unwrap().remove("settings");
    old
}

#[test]
fn the_settings_in_effect_are_recorded() {
    let emu = emulator();
    let doc = emu.tool("core-up").run().ok();
    assert_eq!(
        settings(&doc),
        json!({"core-name": "core-infra", "cidr": "10.0.0.0/16", "azs": "3"})
    );
    let other = emu
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
    assert_eq!(
        settings(&other),
        json!({"core-name": "platform", "cidr": "10.20.0.0/18", "azs": "2"})
    );
}

#[test]
fn a_rerun_without_flags_keeps_them_and_changes_nothing() {
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
    let mark = emu.mark();
    let again = emu.tool("core-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again, doc);
    let out = emu.tool("core-up").arg("--plan").doc(&doc).run();
    assert!(
        out.stderr
            .contains("plan: 0 to create, 0 to update, 0 to delete"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_given_flag_overrides_and_is_recorded() {
    let emu = emulator();
    let doc = emu.tool("core-up").args(["--azs", "2"]).run().ok();
    let mark = emu.mark();
    let wider = emu
        .tool("core-up")
        .args(["--azs", "3"])
        .doc(&doc)
        .run()
        .ok();
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["ec2:AssociateRouteTable", "ec2:CreateSubnet"],
        "{:?}",
        calls.0["by_action"]
    );
    assert_eq!(calls.count("ec2:CreateSubnet"), 2);
    assert_eq!(settings(&wider)["azs"], "3");
    assert_eq!(
        wider["core"]["private_subnets"].as_array().unwrap().len(),
        3
    );
    let mark = emu.mark();
    emu.tool("core-up").doc(&wider).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn reset_plans_exactly_the_change_back_to_the_default() {
    let emu = emulator();
    let doc = emu.tool("core-up").args(["--azs", "2"]).run().ok();
    let dir = std::env::temp_dir().join(format!("core-up-reset-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    let mark = emu.mark();
    let out = emu
        .tool("core-up")
        .args(["--reset", "azs", "--plan-json"])
        .arg(&path)
        .doc(&doc)
        .run();
    let planned = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(
        plan["summary"],
        json!({"create": 4, "update": 0, "delete": 0, "unchanged": 17}),
        "{}",
        out.stderr
    );
    let created: Vec<&str> = plan["actions"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["action"] == "create")
        .map(|a| a["resource"].as_str().unwrap())
        .collect();
    assert_eq!(
        created,
        [
            "subnet core-infra-public-us-west-2c (10.0.2.0/24, us-west-2c)",
            "subnet core-infra-private-us-west-2c (10.0.12.0/24, us-west-2c)",
            "association core-infra-public-us-west-2c ↔ core-infra-public",
            "association core-infra-private-us-west-2c ↔ core-infra-private",
        ]
    );
    assert_eq!(settings(&planned)["azs"], "3");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_document_from_before_settings_converges_and_gains_them() {
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
    let old = without_settings(&doc);
    let mark = emu.mark();
    let upgraded = emu.tool("core-up").doc(&old).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(upgraded, doc);
}

#[test]
fn a_reused_core_infra_records_only_its_name() {
    let emu = Emulator::start();
    let expected = testkit::fixtures::core_infra(&emu, "core-infra");
    let doc = emu.tool("core-up").run().ok();
    assert_eq!(doc["core"]["created"], false);
    assert_eq!(settings(&doc), json!({"core-name": "core-infra"}));
    assert_eq!(doc["core"]["vpc_id"], expected["vpc_id"]);

    // A --cidr for someone else's VPC is ignored with a warning, and not remembered.
    let out = emu
        .tool("core-up")
        .args(["--cidr", "10.9.0.0/16"])
        .doc(&doc)
        .run();
    let given = out.ok();
    assert!(
        out.stderr.contains("--cidr 10.9.0.0/16 is ignored"),
        "{}",
        out.stderr
    );
    assert_eq!(settings(&given), json!({"core-name": "core-infra"}));
    let mark = emu.mark();
    let out = emu.tool("core-up").doc(&given).run();
    assert_eq!(out.ok(), doc);
    assert!(!out.stderr.contains("ignored"), "{}", out.stderr);
    emu.calls_since(mark).assert_no_mutations();

    // Its subnets stay as they are.
    let c = ec2::Client::new(&emu.sdk());
    let vpc = doc["core"]["vpc_id"].as_str().unwrap();
    let subnets = emu
        .block_on(
            c.describe_subnets()
                .filters(filter("vpc-id", &[vpc]))
                .send(),
        )
        .unwrap();
    assert_eq!(subnets.subnets().len(), 6);
}
