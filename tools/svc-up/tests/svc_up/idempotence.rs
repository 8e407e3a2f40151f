//! Issue 16: a call that AWS applied but whose answer was lost is retried by the SDK and gets
//! AWS's "already done" answer; svc-up counts it as success, on up and on down. The emulator
//! forwards each call and then answers with that code, as the retry would be answered.

use testkit::{Emulator, Fault, servicediscovery};

use crate::common::*;

fn done(service: &str, action: &str, code: &str) -> Fault {
    Fault::error(
        service,
        action,
        code,
        "already done (injected after applying)",
    )
    .forwarded()
}

#[test]
fn already_done_answers_on_up_are_success_and_leave_one_of_each() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    emu.inject(&[
        done("logs", "CreateLogGroup", "ResourceAlreadyExistsException"),
        done("iam", "CreateRole", "EntityAlreadyExists"),
        done("ec2", "CreateSecurityGroup", "InvalidGroup.Duplicate"),
        done(
            "ec2",
            "AuthorizeSecurityGroupEgress",
            "InvalidPermission.Duplicate",
        ),
        done(
            "ec2",
            "AuthorizeSecurityGroupIngress",
            "InvalidPermission.Duplicate",
        ),
        done(
            "ec2",
            "RevokeSecurityGroupEgress",
            "InvalidPermission.NotFound",
        ),
        done("servicediscovery", "CreateService", "ServiceAlreadyExists"),
    ]);
    let doc = up(&emu, &input, &[]);
    let svc = &doc["svc"];

    // One of each, and the document names the ones that exist.
    let s = service(&emu, &doc);
    assert_eq!(s.status(), Some("ACTIVE"));
    let sd = servicediscovery::Client::new(&emu.sdk());
    let listed = emu.block_on(sd.list_services().send()).unwrap();
    let named: Vec<_> = listed
        .services()
        .iter()
        .filter(|x| x.name() == Some(APP))
        .collect();
    assert_eq!(named.len(), 1, "one Cloud Map service");
    assert_eq!(
        s.service_registries()[0].registry_arn(),
        named[0].arn(),
        "the service registers with it"
    );
    let ec2c = testkit::ec2::Client::new(&emu.sdk());
    let groups = emu
        .block_on(
            ec2c.describe_security_groups()
                .filters(
                    testkit::ec2::types::Filter::builder()
                        .name("group-name")
                        .values(format!("{APP}-task"))
                        .build(),
                )
                .send(),
        )
        .unwrap();
    assert_eq!(groups.security_groups().len(), 1, "one task group");
    assert_eq!(
        groups.security_groups()[0].group_id(),
        svc["security_group_id"].as_str()
    );

    // Converged: a fault-free rerun writes nothing.
    let mark = emu.mark();
    up(&emu, &doc, &[]);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn already_gone_answers_on_down_are_success() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    emu.inject(&[
        done("ecs", "DeleteService", "ServiceNotFoundException"),
        done("servicediscovery", "DeleteService", "ServiceNotFound"),
        done("iam", "DeleteRolePolicy", "NoSuchEntity"),
        done("iam", "DeleteRole", "NoSuchEntity"),
        done("logs", "DeleteLogGroup", "ResourceNotFoundException"),
        done(
            "ec2",
            "RevokeSecurityGroupIngress",
            "InvalidPermission.NotFound",
        ),
        done("ec2", "DeleteSecurityGroup", "InvalidGroup.NotFound"),
    ]);
    emu.tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&doc)
        .run()
        .ok();
    // Everything is gone, and a second teardown is a no-op that exits 0.
    let mark = emu.mark();
    emu.tool("svc-up")
        .args(["--destroy", "--delete-logs"])
        .doc(&doc)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();
    let iamc = testkit::iam::Client::new(&emu.sdk());
    for role in ["unicorn-ui-task-execution", "unicorn-ui-task"] {
        assert!(
            emu.block_on(iamc.get_role().role_name(role).send())
                .is_err(),
            "{role}"
        );
    }
    assert_eq!(service(&emu, &doc).status(), Some("INACTIVE"));
    let ecrc = testkit::ecr::Client::new(&emu.sdk());
    assert!(
        emu.block_on(ecrc.describe_repositories().repository_names(APP).send())
            .is_ok(),
        "the repository is ecr-up's: svc-up leaves it"
    );
}
