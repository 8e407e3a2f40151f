//! Issue 11: every flag that shapes a resource is remembered in the section; a rerun keeps
//! them; --reset returns one to its default with exactly that change.

use testkit::{Emulator, json};

use crate::common::*;

#[test]
fn settings_are_remembered_and_reset_one_at_a_time() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(
        &emu,
        &input,
        &[
            "--image",
            PUBLIC_IMAGE,
            "--desired-count",
            "2",
            "--log-retention-days",
            "7",
        ],
    );
    assert_eq!(
        doc["svc"]["settings"],
        json!({"cpu": "1024", "memory": "2048", "image": PUBLIC_IMAGE, "desired-count": "2",
            "log-retention-days": "7", "health-check-grace-period": "300"})
    );
    assert_eq!(service(&emu, &doc).desired_count(), 2);

    let mark = emu.mark();
    let again = up(&emu, &doc, &[]);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again["svc"]["settings"], doc["svc"]["settings"]);

    let out = emu
        .tool("svc-up")
        .args(["--plan", "--reset", "desired-count"])
        .doc(&again)
        .run();
    let planned = out.ok();
    assert!(
        out.stderr
            .contains("update     ECS service unicorn-ui (desiredCount: 2 → 3)")
            && out
                .stderr
                .contains("plan: 0 to create, 1 to update, 0 to delete, 6 unchanged"),
        "{}",
        out.stderr
    );
    assert_eq!(planned["svc"]["settings"]["desired-count"], "3");

    // A given flag overrides and is recorded; the others stay.
    let changed = up(&emu, &again, &["--log-retention-days", "14"]);
    assert_eq!(changed["svc"]["settings"]["log-retention-days"], "14");
    assert_eq!(changed["svc"]["settings"]["desired-count"], "2");
    assert_eq!(changed["svc"]["settings"]["image"], PUBLIC_IMAGE);
}
