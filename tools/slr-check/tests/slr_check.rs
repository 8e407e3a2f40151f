//! slr-check against the emulator: checks, creates, tolerates races, never deletes.

use testkit::Emulator;

fn roles_under(emu: &Emulator, principal: &str) -> Vec<String> {
    let iam = testkit::iam::Client::new(&emu.sdk());
    let out = emu
        .block_on(
            iam.list_roles()
                .path_prefix(format!("/aws-service-role/{principal}/"))
                .send(),
        )
        .unwrap();
    out.roles()
        .iter()
        .map(|r| r.role_name().to_owned())
        .collect()
}

#[test]
fn a_missing_role_without_create_exits_1_with_the_exact_remedy() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let out = emu.tool("slr-check").run();
    let line = out.fails(1);
    assert!(
        line.contains("aws iam create-service-linked-role --aws-service-name codestar-notifications.amazonaws.com"),
        "{line}"
    );
    assert!(line.contains("--create"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn create_makes_the_roles_with_the_names_aws_gives_them() {
    let emu = Emulator::start();
    let doc = emu.tool("slr-check").arg("--create").run().ok();
    assert_eq!(
        roles_under(&emu, "codestar-notifications.amazonaws.com"),
        ["AWSServiceRoleForCodeStarNotifications"]
    );
    assert_eq!(
        roles_under(&emu, "ecs.amazonaws.com"),
        ["AWSServiceRoleForECS"]
    );
    assert!(
        doc["slr"]["codestar_notifications_role_arn"]
            .as_str()
            .unwrap()
            .ends_with("/AWSServiceRoleForCodeStarNotifications")
    );
    // Without --create, now that they exist, the check passes and changes nothing.
    let mark = emu.mark();
    assert_eq!(emu.tool("slr-check").doc(&doc).run().ok(), doc);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_role_created_by_someone_else_in_between_counts_as_success() {
    let emu = Emulator::start();
    // Our create reaches IAM just after another run's: the role gets made, and our call is
    // answered "has been taken", as IAM does.
    emu.faults(testkit::json!([{
        "service": "iam", "action": "CreateServiceLinkedRole", "kind": "error", "forward": true,
        "code": "InvalidInput",
        "message": "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix."
    }]));
    let doc = emu.tool("slr-check").arg("--create").run().ok();
    assert!(
        doc["slr"]["ecs_role_arn"]
            .as_str()
            .unwrap()
            .ends_with("AWSServiceRoleForECS")
    );
    let iam = testkit::iam::Client::new(&emu.sdk());
    let err = emu
        .block_on(
            iam.create_service_linked_role()
                .aws_service_name("ecs.amazonaws.com")
                .send(),
        )
        .unwrap_err();
    assert!(
        format!("{err:?}").contains("has been taken"),
        "the emulator answers a duplicate as AWS does"
    );
}

#[test]
fn throttling_is_retried() {
    let emu = Emulator::start();
    emu.faults(
        testkit::json!([{"service": "iam", "action": "ListRoles", "kind": "throttle", "times": 2}]),
    );
    emu.tool("slr-check").arg("--create").run().ok();
}

#[test]
fn destroy_never_deletes_account_wide_roles_and_says_so() {
    let emu = Emulator::start();
    let doc = emu.tool("slr-check").arg("--create").run().ok();
    let mark = emu.mark();
    let out = emu.tool("slr-check").arg("--destroy").doc(&doc).run();
    let after = out.ok();
    assert!(after.get("slr").is_none());
    assert!(out.stderr.contains("left in place"), "{}", out.stderr);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(roles_under(&emu, "ecs.amazonaws.com").len(), 1);
}
