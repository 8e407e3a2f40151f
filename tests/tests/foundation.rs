//! The foundation's acceptance: `GITHUB_TOKEN=… secrets-init | slr-check --create` on a
//! fresh emulator, its rerun, and its plan.

use testkit::{ACCOUNT, Emulator, REGION, Value};

const TOKEN: &str = "ghp_FoundationToken000000000000000000";

fn pipeline(emu: &Emulator, input: &str, slr_args: &[&str]) -> (Value, String) {
    let first = emu
        .tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .stdin(input)
        .run();
    first.ok();
    let second = emu
        .tool("slr-check")
        .args(slr_args)
        .stdin(&first.stdout)
        .run();
    let doc = second.ok();
    for out in [&first, &second] {
        out.assert_never_shows(TOKEN);
    }
    (doc, format!("{}{}", first.stderr, second.stderr))
}

#[test]
fn fresh_run_creates_secrets_and_roles_then_a_rerun_changes_nothing() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let (doc, _) = pipeline(&emu, "", &["--create"]);
    let calls = emu.calls_since(mark);
    assert_eq!(calls.count("secretsmanager:CreateSecret"), 2);
    assert_eq!(calls.count("iam:CreateServiceLinkedRole"), 2);

    // A valid document with their ARNs, checked against independent describe calls.
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["region"], REGION);
    assert_eq!(doc["account"], ACCOUNT);
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    for key in ["github_token", "db_password"] {
        let name = doc["secrets"][key]["name"].as_str().unwrap();
        let arn = emu
            .block_on(sm.describe_secret().secret_id(name).send())
            .unwrap()
            .arn()
            .unwrap()
            .to_owned();
        assert_eq!(doc["secrets"][key]["arn"], arn);
    }
    let iam = testkit::iam::Client::new(&emu.sdk());
    let role = emu
        .block_on(
            iam.get_role()
                .role_name("AWSServiceRoleForCodeStarNotifications")
                .send(),
        )
        .unwrap();
    assert_eq!(
        doc["slr"]["codestar_notifications_role_arn"],
        role.role().unwrap().arn()
    );

    // The values are nowhere in the document.
    let password = emu
        .block_on(sm.get_secret_value().secret_id("postgresdb_passwd").send())
        .unwrap();
    let text = doc.to_string();
    assert!(!text.contains(TOKEN) && !text.contains(password.secret_string().unwrap()));

    // Rerun: zero mutating calls and an equal document.
    let mark = emu.mark();
    let (again, _) = pipeline(&emu, &doc.to_string(), &["--create"]);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again, doc);
}

#[test]
fn plan_on_a_fresh_emulator_reports_what_it_would_create_and_mutates_nothing() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let first = emu
        .tool("secrets-init")
        .arg("--plan")
        .env("GITHUB_TOKEN", TOKEN)
        .run();
    let second = emu
        .tool("slr-check")
        .args(["--plan", "--create"])
        .stdin(&first.stdout)
        .run();
    let doc = second.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        first.stderr.contains("plan: 2 to create"),
        "{}",
        first.stderr
    );
    assert!(
        second.stderr.contains("plan: 2 to create"),
        "{}",
        second.stderr
    );
    assert_eq!(doc["secrets"]["planned"], true);
    assert_eq!(doc["slr"]["planned"], true);
}

#[test]
fn parallel_documents_join_with_repeated_in() {
    let emu = Emulator::start();
    let (doc, _) = pipeline(&emu, "", &["--create"]);
    let dir = std::env::temp_dir().join(format!("stagehand-in-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = doc.clone();
    a.as_object_mut().unwrap().remove("slr");
    let mut b = doc.clone();
    b.as_object_mut().unwrap().remove("secrets");
    std::fs::write(dir.join("a.json"), a.to_string()).unwrap();
    std::fs::write(dir.join("b.json"), b.to_string()).unwrap();
    let joined = emu
        .tool("slr-check")
        .arg("--in")
        .arg(dir.join("a.json"))
        .arg("--in")
        .arg(dir.join("b.json"))
        .run()
        .ok();
    assert_eq!(joined, doc);
}

#[test]
fn a_document_from_another_account_is_refused() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let out = emu
        .tool("slr-check")
        .stdin(r#"{"version": 1, "account": "999999999999"}"#)
        .run();
    let line = out.fails(2);
    assert!(line.contains("account 999999999999"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

/// stack-run checks the account once and hands it to the tools it runs
/// (STAGEHAND_CHECKED_CALLER = "ACCOUNT ACCESS_KEY_ID ENDPOINT"): a tool takes it only for its
/// own access key and endpoint, else asks STS; what it takes is still held to the document.
#[test]
fn a_tool_takes_the_checked_account_only_for_its_own_access_key_and_endpoint() {
    let emu = Emulator::start();
    let sts_calls = |handed: &str| {
        let mark = emu.mark();
        let out = emu
            .tool("slr-check")
            .args(["--create", "--plan"])
            .env("STAGEHAND_CHECKED_CALLER", handed)
            .stdin(r#"{"version": 1}"#)
            .run();
        let doc = out.ok();
        assert_eq!(doc["account"], ACCOUNT, "{handed}");
        emu.calls_since(mark).count("sts:GetCallerIdentity")
    };
    // The emulator's clients (testkit) use the access key id "test".
    let url = emu.url.clone();
    assert_eq!(sts_calls(&format!("{ACCOUNT} test {url}")), 0, "same key");
    assert_eq!(
        sts_calls(&format!("{ACCOUNT} AKIAOTHER {url}")),
        1,
        "another key"
    );
    assert_eq!(
        sts_calls(&format!("{ACCOUNT} test http://127.0.0.1:1")),
        1,
        "another endpoint"
    );
    assert_eq!(sts_calls(&format!("{ACCOUNT} test")), 1, "malformed");

    // A handed account is compared with the document like STS's answer: refused, no writes.
    let mark = emu.mark();
    let out = emu
        .tool("slr-check")
        .arg("--create")
        .env(
            "STAGEHAND_CHECKED_CALLER",
            format!("999999999999 test {url}"),
        )
        .stdin(format!(r#"{{"version": 1, "account": "{ACCOUNT}"}}"#))
        .run();
    let line = out.fails(2);
    assert!(line.contains("account 999999999999"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn the_core_fixture_is_a_valid_core_section() {
    let emu = Emulator::start();
    let doc = testkit::fixtures::secrets_and_roles(&emu, "fixture", TOKEN);
    let core = testkit::fixtures::core_infra(&emu, "core-infra");
    let doc = testkit::fixtures::with(doc, "core", core);
    assert_eq!(doc["core"]["private_subnets"].as_array().unwrap().len(), 3);
    // Any tool accepts it: slr-check keeps the section exactly.
    let out = emu.tool("slr-check").doc(&doc).run().ok();
    assert_eq!(out["core"], doc["core"]);
}

#[test]
fn throttling_5xx_and_dropped_connections_are_retried_by_every_tool() {
    let emu = Emulator::start();
    emu.faults(testkit::json!([
        {"service": "secretsmanager", "action": "DescribeSecret", "kind": "throttle", "times": 2},
        {"service": "secretsmanager", "action": "CreateSecret", "kind": "5xx", "times": 1},
        {"service": "iam", "action": "CreateServiceLinkedRole", "kind": "drop", "times": 1},
        {"service": "sts", "action": "GetCallerIdentity", "kind": "5xx", "times": 1}
    ]));
    let (doc, _) = pipeline(&emu, "", &["--create"]);
    let calls = emu.calls_since(0);
    // Each fault cost one extra attempt, and nothing was created twice.
    assert_eq!(
        calls.count("secretsmanager:CreateSecret"),
        3,
        "two secrets, one retried 5xx"
    );
    assert_eq!(
        calls.count("iam:CreateServiceLinkedRole"),
        3,
        "two roles, one retried drop"
    );
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    let listed = emu.block_on(sm.list_secrets().send()).unwrap();
    assert_eq!(listed.secret_list().len(), 2);
    assert!(doc["slr"]["ecs_role_arn"].as_str().is_some());
}
