//! slr-check against the emulator: checks, creates, tolerates races and lost answers, never
//! deletes.

use testkit::{Emulator, Fault, FaultKind};

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
fn a_missing_role_without_create_exits_2_with_the_exact_remedy() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let out = emu.tool("slr-check").run();
    let line = out.fails(2);
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
    emu.inject(&[Fault::error(
        "iam",
        "CreateServiceLinkedRole",
        "InvalidInput",
        "Service role name AWSServiceRoleForECS has been taken in this account, please try a different suffix.",
    )
    .forwarded()]);
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
    emu.inject(&[Fault::throttle("iam", "ListRoles").times(2)]);
    emu.tool("slr-check").arg("--create").run().ok();
}

#[test]
fn a_lost_answer_to_create_counts_as_created() {
    let emu = Emulator::start();
    // IAM made the roles, the answers were lost; the SDK's retry is told "has been taken".
    emu.inject(&[Fault {
        service: "iam".into(),
        action: "CreateServiceLinkedRole".into(),
        kind: FaultKind::Error {
            code: "ServiceUnavailable".into(),
            message: "the answer was lost".into(),
            status: "503 Service Unavailable".into(),
            forward: true,
        },
        times: 2,
    }]);
    let doc = emu.tool("slr-check").arg("--create").run().ok();
    assert_eq!(roles_under(&emu, "ecs.amazonaws.com").len(), 1);
    assert_eq!(
        roles_under(&emu, "codestar-notifications.amazonaws.com").len(),
        1
    );
    let iam = testkit::iam::Client::new(&emu.sdk());
    let ecs = emu
        .block_on(iam.get_role().role_name("AWSServiceRoleForECS").send())
        .unwrap();
    assert_eq!(doc["slr"]["ecs_role_arn"], ecs.role().unwrap().arn());
}

#[test]
fn a_new_role_is_waited_for_until_iam_reads_it_back() {
    let emu = Emulator::start();
    // IAM is eventually consistent: just after CreateServiceLinkedRole, GetRole answers
    // NoSuchEntity for a while (as `aws iam wait role-exists` expects).
    emu.inject(&[Fault {
        service: "iam".into(),
        action: "GetRole".into(),
        kind: FaultKind::Error {
            code: "NoSuchEntity".into(),
            message: "The role with name AWSServiceRoleForECS cannot be found.".into(),
            status: "404 Not Found".into(),
            forward: false,
        },
        times: 3,
    }]);
    let mark = emu.mark();
    let out = emu.tool("slr-check").arg("--create").run();
    let doc = out.ok();
    let calls = emu.calls_since(mark);
    // Two roles read back once each, plus the three answers that were not yet.
    assert_eq!(calls.count("iam:GetRole"), 5, "{}", out.stderr);
    assert!(out.stderr.contains("propagate in IAM"), "{}", out.stderr);
    let iam = testkit::iam::Client::new(&emu.sdk());
    let ecs = emu
        .block_on(iam.get_role().role_name("AWSServiceRoleForECS").send())
        .unwrap();
    assert_eq!(doc["slr"]["ecs_role_arn"], ecs.role().unwrap().arn());
}

#[test]
fn help_says_destroy_deletes_nothing() {
    let out = std::process::Command::new(testkit::tool_path("slr-check"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let destroy: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("--destroy"))
        .take(3)
        .collect();
    let destroy = destroy.join(" ");
    assert!(destroy.contains("Delete nothing"), "{stdout}");
    assert!(
        !stdout.contains("Delete what this step created"),
        "{stdout}"
    );
    assert!(stdout.contains("never deletes"), "{stdout}");
}

#[test]
fn destroy_never_deletes_account_wide_roles_and_says_so() {
    let emu = Emulator::start();
    let doc = emu.tool("slr-check").arg("--create").run().ok();
    let mark = emu.mark();
    let out = emu.tool("slr-check").arg("--destroy").doc(&doc).run();
    let after = out.ok();
    assert!(after.get("slr").is_none());
    assert!(
        out.stderr.contains("deletes nothing") && out.stderr.contains("left in place"),
        "{}",
        out.stderr
    );
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(roles_under(&emu, "ecs.amazonaws.com").len(), 1);
}
