//! secrets-init against the emulator: created, reused, refused, destroyed; values never shown.

use testkit::{Emulator, json};

const TOKEN: &str = "ghp_TestToken0123456789abcdefABCDEF";

fn secret_value(emu: &Emulator, id: &str) -> String {
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    let out = emu
        .block_on(sm.get_secret_value().secret_id(id).send())
        .expect("get secret value");
    out.secret_string().unwrap().to_owned()
}

#[test]
fn creates_both_secrets_with_a_generated_password_rds_accepts() {
    let emu = Emulator::start();
    let out = emu.tool("secrets-init").env("GITHUB_TOKEN", TOKEN).run();
    let doc = out.ok();
    assert_eq!(secret_value(&emu, "ecs-github-token"), TOKEN);
    let password = secret_value(&emu, "postgresdb_passwd");
    assert_eq!(password.chars().count(), 32);
    assert!(
        !password.contains(['/', '@', '"', ' ']),
        "password has a character RDS refuses"
    );
    out.assert_never_shows(TOKEN);
    out.assert_never_shows(&password);
    assert!(!doc.to_string().contains(&password) && !doc.to_string().contains(TOKEN));

    // Tagged as stagehand's, so --destroy may delete them.
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    let d = emu
        .block_on(sm.describe_secret().secret_id("ecs-github-token").send())
        .unwrap();
    let tags = testkit::tag_map(
        d.tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap())),
    );
    assert_eq!(
        tags.get("stagehand:app").map(String::as_str),
        Some("backstage")
    );
    assert_eq!(
        tags.get("stagehand:step").map(String::as_str),
        Some("secrets")
    );
    assert_eq!(doc["secrets"]["github_token"]["arn"], d.arn().unwrap());
}

#[test]
fn names_and_values_come_from_flags_files_and_environment() {
    let emu = Emulator::start();
    let dir = std::env::temp_dir().join(format!("stagehand-si-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("token"), format!("{TOKEN}\n")).unwrap();
    let out = emu
        .tool("secrets-init")
        .args([
            "--github-token-secret",
            "my/token",
            "--db-password-secret",
            "my-db",
        ])
        .arg("--github-token-file")
        .arg(dir.join("token"))
        .env("POSTGRES_PASSWORD", "Given-Passw0rd-42")
        .run();
    let doc = out.ok();
    assert_eq!(doc["secrets"]["github_token"]["name"], "my/token");
    assert_eq!(
        secret_value(&emu, "my/token"),
        TOKEN,
        "the file's trailing newline is not part of the value"
    );
    assert_eq!(secret_value(&emu, "my-db"), "Given-Passw0rd-42");
    out.assert_never_shows("Given-Passw0rd-42");
}

#[test]
fn existing_secrets_are_reused_and_only_rotate_overwrites_them() {
    let emu = Emulator::start();
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.create_secret()
            .name("ecs-github-token")
            .secret_string("ghp_preexisting")
            .send(),
    )
    .unwrap();

    let mark = emu.mark();
    let doc = emu
        .tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .run()
        .ok();
    assert_eq!(
        secret_value(&emu, "ecs-github-token"),
        "ghp_preexisting",
        "reused, not overwritten"
    );
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.count("secretsmanager:CreateSecret"),
        1,
        "only the password was created"
    );
    assert_eq!(calls.count("secretsmanager:PutSecretValue"), 0);

    // No token is needed when the secret exists.
    let again = emu.tool("secrets-init").doc(&doc).run().ok();
    assert_eq!(again, doc);

    let password = secret_value(&emu, "postgresdb_passwd");
    emu.tool("secrets-init")
        .arg("--rotate")
        .env("GITHUB_TOKEN", TOKEN)
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(secret_value(&emu, "ecs-github-token"), TOKEN);
    assert_ne!(
        secret_value(&emu, "postgresdb_passwd"),
        password,
        "--rotate generates a new password"
    );
}

#[test]
fn a_key_value_secret_is_refused_with_an_explanation() {
    let emu = Emulator::start();
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.create_secret()
            .name("ecs-github-token")
            .secret_string(r#"{"token": "ghp_x"}"#)
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let out = emu.tool("secrets-init").env("GITHUB_TOKEN", TOKEN).run();
    let line = out.fails(2);
    assert!(
        line.contains("key/value") && line.contains("plain text"),
        "{line}"
    );
    assert!(
        !line.contains("ghp_x"),
        "the error shows the secret's value: {line}"
    );
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn plan_on_a_fresh_account_reports_two_creates_and_changes_nothing() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let out = emu
        .tool("secrets-init")
        .arg("--plan")
        .env("GITHUB_TOKEN", TOKEN)
        .run();
    let doc = out.ok();
    assert!(
        out.stderr.contains("+ create     secret ecs-github-token"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("+ create     secret postgresdb_passwd"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("plan: 2 to create, 0 to update, 0 to delete, 0 unchanged"),
        "{}",
        out.stderr
    );
    assert_eq!(doc["secrets"]["planned"], json!(true));
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(
        calls.count("secretsmanager:GetRandomPassword"),
        0,
        "a plan generates nothing"
    );
}

#[test]
fn destroy_schedules_deletion_with_a_recovery_window_and_removes_the_section() {
    let emu = Emulator::start();
    let doc = emu
        .tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .run()
        .ok();
    let mark = emu.mark();
    let after = emu
        .tool("secrets-init")
        .arg("--destroy")
        .doc(&doc)
        .run()
        .ok();
    assert!(after.get("secrets").is_none(), "section removed: {after}");
    assert_eq!(after["app"], doc["app"]);
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    for name in ["ecs-github-token", "postgresdb_passwd"] {
        let d = emu
            .block_on(sm.describe_secret().secret_id(name).send())
            .unwrap();
        assert!(
            d.deleted_date().is_some(),
            "{name} is scheduled for deletion"
        );
    }
    let deletes: Vec<_> = emu
        .calls_since(mark)
        .requests()
        .into_iter()
        .filter(|r| r["action"] == "DeleteSecret")
        .collect();
    assert_eq!(deletes.len(), 2);
    for d in deletes {
        assert_eq!(d["params"]["RecoveryWindowInDays"], json!(7), "{d}");
    }

    // Up after down: the secrets come back (restored), not a failure.
    let restored = emu.tool("secrets-init").doc(&after).run().ok();
    assert_eq!(restored["secrets"], doc["secrets"]);
    let d = emu
        .block_on(sm.describe_secret().secret_id("postgresdb_passwd").send())
        .unwrap();
    assert!(d.deleted_date().is_none());
}

#[test]
fn destroy_leaves_secrets_stagehand_did_not_create() {
    let emu = Emulator::start();
    let sm = testkit::secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.create_secret()
            .name("ecs-github-token")
            .secret_string("ghp_theirs")
            .send(),
    )
    .unwrap();
    let doc = emu.tool("secrets-init").run().ok();
    let out = emu
        .tool("secrets-init")
        .args(["--destroy", "--force-delete-without-recovery"])
        .doc(&doc)
        .run();
    out.ok();
    assert!(
        out.stderr.contains("not created by stagehand"),
        "{}",
        out.stderr
    );
    let theirs = emu
        .block_on(sm.describe_secret().secret_id("ecs-github-token").send())
        .unwrap();
    assert!(
        theirs.deleted_date().is_none(),
        "a secret without our tags is left alone"
    );
    assert!(
        emu.block_on(sm.describe_secret().secret_id("postgresdb_passwd").send())
            .is_err(),
        "ours is gone"
    );
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_mutating_call() {
    let emu = Emulator::start();
    let cases: [(&[&str], &str, &str); 6] = [
        (&[], "{\"version\": 1,", "not valid JSON"),
        (&[], r#"{"version": 99}"#, "version 99"),
        (
            &[],
            r#"{"version": 1, "region": "eu-central-1"}"#,
            "region eu-central-1",
        ),
        (&["--tag", "novalue"], "", "K=V"),
        (&[], "", "GITHUB_TOKEN"),
        (
            &["--db-password-file", "/nonexistent/pw"],
            "",
            "--db-password-file",
        ),
    ];
    for (args, stdin, expect) in cases {
        let mark = emu.mark();
        let out = emu.tool("secrets-init").args(args).stdin(stdin).run();
        let line = out.fails(2);
        assert!(line.contains(expect), "{args:?} {stdin:?}: {line}");
        emu.calls_since(mark).assert_no_mutations();
    }
}
