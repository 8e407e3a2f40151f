//! alb-up --destroy against the emulator: only what carries the app's tags goes, and
//! deletion protection is honoured.

mod common;

use common::*;
use testkit::Emulator;

const APP: &str = "unicorn-ui";

fn up(emu: &Emulator, doc: &testkit::Value, extra: &[&str]) -> testkit::Value {
    emu.tool("alb-up")
        .args(["--app", APP])
        .args(extra)
        .doc(doc)
        .run()
        .ok()
}

#[test]
fn destroy_leaves_nothing_with_the_apps_tags() {
    let emu = Emulator::start();
    let cert = import_certificate(&emu, "portal.example.com");
    let input = core_doc(&emu);
    let doc = up(&emu, &input, &["--certificate-arn", &cert]);
    let out = emu.tool("alb-up").arg("--destroy").doc(&doc).run();
    let after = out.ok();
    assert!(after.get("alb").is_none(), "section removed");
    assert_eq!(after["core"], input["core"]);

    for lb in all_lbs(&emu) {
        let tags = elb_tags(&emu, lb.load_balancer_arn().unwrap());
        assert_ne!(tags.get("stagehand:app").map(String::as_str), Some(APP));
    }
    let tgs = emu
        .block_on(elb(&emu).describe_target_groups().send())
        .unwrap();
    assert!(tgs.target_groups().is_empty(), "{:?}", tgs.target_groups());
    let sgs = emu
        .block_on(
            ec2c(&emu)
                .describe_security_groups()
                .filters(
                    testkit::ec2::types::Filter::builder()
                        .name("tag:stagehand:app")
                        .values(APP)
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert!(sgs.security_groups().is_empty());

    // Again: nothing to do, no failure.
    let mark = emu.mark();
    emu.tool("alb-up").arg("--destroy").doc(&after).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_refuses_while_deletion_protection_is_on() {
    let emu = Emulator::start();
    let doc = up(&emu, &core_doc(&emu), &["--deletion-protection"]);
    let lb_arn = doc["alb"]["arn"].as_str().unwrap();
    assert_eq!(
        lb_attr(&emu, lb_arn, "deletion_protection.enabled").as_deref(),
        Some("true")
    );
    // AWS itself refuses (the emulator's fidelity layer acts the same).
    let err = emu
        .block_on(
            elb(&emu)
                .delete_load_balancer()
                .load_balancer_arn(lb_arn)
                .send(),
        )
        .unwrap_err();
    assert_eq!(
        testkit::elbv2::error::ProvideErrorMetadata::code(&err),
        Some("OperationNotPermitted")
    );

    let mark = emu.mark();
    let line = emu.tool("alb-up").arg("--destroy").doc(&doc).run().fails(2);
    assert!(
        line.contains("deletion protection") && line.contains("--no-deletion-protection"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(listeners(&emu, lb_arn).len(), 1, "nothing was deleted");

    // The remedy works.
    let off = emu
        .tool("alb-up")
        .arg("--no-deletion-protection")
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(
        lb_attr(&emu, lb_arn, "deletion_protection.enabled").as_deref(),
        Some("false")
    );
    // --destroy works without the core section too (core-up --destroy may have run).
    let mut without_core = off.clone();
    without_core.as_object_mut().unwrap().remove("core");
    emu.tool("alb-up")
        .arg("--destroy")
        .doc(&without_core)
        .run()
        .ok();
    assert!(all_lbs(&emu).is_empty());
    let sgs = emu
        .block_on(
            ec2c(&emu)
                .describe_security_groups()
                .filters(
                    testkit::ec2::types::Filter::builder()
                        .name("group-name")
                        .values("unicorn-ui-alb")
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert!(sgs.security_groups().is_empty(), "the group is gone too");
}
