//! --destroy: only what carries the app's tags; it needs only the identity, resumes from any
//! point and is a no-op when everything is gone (down.sh runs it whatever the document holds).
//! The image repository is ecr-up's: svc-up's destroy leaves it, with its images.

use testkit::{Emulator, Value, ecr, iam, json, logs, servicediscovery};

use crate::common::*;

fn assert_all_gone(emu: &Emulator, doc: &Value, logs_too: bool) {
    let sdk = emu.sdk();
    assert_eq!(service(emu, doc).status(), Some("INACTIVE"));
    assert!(revisions(emu).is_empty(), "no ACTIVE revision left");
    let ecrc = ecr::Client::new(&sdk);
    assert!(
        emu.block_on(ecrc.describe_repositories().repository_names(APP).send())
            .is_ok(),
        "the repository is ecr-up's and stays"
    );
    let groups = emu
        .block_on(
            logs::Client::new(&sdk)
                .describe_log_groups()
                .log_group_name_prefix("/ecs/")
                .send(),
        )
        .unwrap();
    assert_eq!(groups.log_groups().is_empty(), logs_too);
    let iamc = iam::Client::new(&sdk);
    for role in ["unicorn-ui-task-execution", "unicorn-ui-task"] {
        assert!(
            emu.block_on(iamc.get_role().role_name(role).send())
                .is_err(),
            "{role}"
        );
    }
    let sd = servicediscovery::Client::new(&sdk);
    let services = emu.block_on(sd.list_services().send()).unwrap();
    assert!(
        services.services().iter().all(|s| s.name() != Some(APP)),
        "Cloud Map service"
    );
    let ec2c = testkit::ec2::Client::new(&sdk);
    let gone = emu.block_on(
        ec2c.describe_security_groups()
            .group_ids(doc["svc"]["security_group_id"].as_str().unwrap())
            .send(),
    );
    assert!(
        gone.is_err() || gone.unwrap().security_groups().is_empty(),
        "task group"
    );
}

#[test]
fn destroy_leaves_nothing_with_the_apps_tags() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    push_image(&emu, APP, "abcd1234", &["abcd1234", "latest"]);

    // --force (the repository's images) is ecr-up's now: refused before any call.
    let mark = emu.mark();
    let line = emu
        .tool("svc-up")
        .args(["--destroy", "--delete-logs", "--force"])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("ecr-up --destroy --force"), "{line}");
    assert_eq!(emu.calls_since(mark).total(), 0);

    let mark = emu.mark();
    let after = emu
        .tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&doc)
        .run()
        .ok();
    assert!(after.get("svc").is_none(), "the section is removed");
    assert_eq!(after["alb"], doc["alb"]);
    assert_eq!(after["ecr"], doc["ecr"], "the ecr section is kept");
    assert_all_gone(&emu, &doc, true);
    emu.calls_since(mark).assert_no_mutations_of("ecr");
    // The repository keeps its images.
    let ecrc = ecr::Client::new(&emu.sdk());
    let images = emu
        .block_on(ecrc.list_images().repository_name(APP).send())
        .unwrap();
    assert_eq!(images.image_ids().len(), 2, "both tags are still there");
    // Others' resources stay.
    let ec2c = testkit::ec2::Client::new(&emu.sdk());
    let alb_sg = emu
        .block_on(
            ec2c.describe_security_groups()
                .group_ids(doc["alb"]["security_group_id"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    assert_eq!(alb_sg.security_groups().len(), 1);

    // A second destroy finds nothing, changes nothing and succeeds.
    let mark = emu.mark();
    emu.tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&after)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_needs_only_the_identity() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    // As down.sh finds the document after alb-up, db-up and core-up were destroyed, or after a
    // kill before svc-up wrote its section: only the identity is left.
    let bare = json!({"version": 1, "app": doc["app"], "region": doc["region"], "account": doc["account"]});
    let out = emu
        .tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&bare)
        .run();
    let after = out.ok();
    assert_eq!(after, bare);
    assert_all_gone(&emu, &doc, true);
    // With only the svc section, on a stack already gone: a no-op.
    let svc_only = json!({"version": 1, "app": doc["app"], "region": doc["region"],
        "account": doc["account"], "svc": doc["svc"]});
    let mark = emu.mark();
    emu.tool("svc-up")
        .arg("--destroy")
        .doc(&svc_only)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_keeps_the_log_group_without_delete_logs() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    emu.tool("svc-up").arg("--destroy").doc(&doc).run().ok();
    assert_all_gone(&emu, &doc, false);
}

#[test]
fn up_after_destroy_builds_the_service_again() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    let down = emu.tool("svc-up").arg("--destroy").doc(&doc).run().ok();
    assert!(down.get("svc").is_none(), "the section is dropped");

    // Same stack, same names: the idempotency tokens of the first run must not hand back
    // what was deleted, and the kept log group is taken over.
    let again = up(&emu, &down, &[]);
    let s = service(&emu, &again);
    assert_eq!(s.status(), Some("ACTIVE"));
    assert_ne!(again["svc"]["service_arn"], Value::Null);
    let sd = servicediscovery::Client::new(&emu.sdk());
    let listed = emu.block_on(sd.list_services().send()).unwrap();
    let named: Vec<_> = listed
        .services()
        .iter()
        .filter(|x| x.name() == Some(APP))
        .collect();
    assert_eq!(named.len(), 1);
    assert_eq!(
        named[0].arn(),
        again["svc"]["cloudmap_service_arn"].as_str()
    );
    assert_ne!(
        again["svc"]["cloudmap_service_arn"],
        doc["svc"]["cloudmap_service_arn"]
    );
    assert_eq!(
        s.service_registries()[0].registry_arn(),
        named[0].arn(),
        "the new service registers with the new Cloud Map service"
    );
    let mark = emu.mark();
    up(&emu, &again, &[]);
    emu.calls_since(mark).assert_no_mutations();
}
