//! secrets-init against the emulator: created, reused, refused, destroyed; versions
//! recorded; values never shown. Rotation and per-app names are in rotation.rs.

mod common;

use common::*;
use testkit::{Emulator, Fault, FaultKind, json};

#[test]
fn creates_both_secrets_with_a_generated_password_and_records_their_versions() {
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
    let tags = tags_of(&emu, "ecs-github-token");
    assert_eq!(tags["stagehand:app"], "backstage");
    assert_eq!(tags["stagehand:step"], "secrets");
    let d = emu
        .block_on(
            sm(&emu)
                .describe_secret()
                .secret_id("ecs-github-token")
                .send(),
        )
        .unwrap();
    assert_eq!(doc["secrets"]["github_token"]["arn"], d.arn().unwrap());
    assert_eq!(
        doc["secrets"]["github_token"]["version"],
        current_version(&emu, "ecs-github-token")
    );
    assert_eq!(
        doc["secrets"]["db_password"]["version"],
        current_version(&emu, "postgresdb_passwd")
    );
    assert!(doc["secrets"].get("oauth_client_id").is_none());

    // A rerun changes nothing and calls nothing that writes.
    let mark = emu.mark();
    let again = emu.tool("secrets-init").doc(&doc).run().ok();
    assert_eq!(again, doc);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn names_and_values_come_from_flags_files_and_environment_and_are_remembered() {
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
    assert_eq!(
        doc["secrets"]["settings"],
        json!({"github-token-secret": "my/token", "db-password-secret": "my-db"})
    );

    // A rerun without the flags keeps the names and writes nothing.
    let mark = emu.mark();
    let again = emu.tool("secrets-init").doc(&doc).run().ok();
    assert_eq!(again, doc);
    emu.calls_since(mark).assert_no_mutations();

    // --reset plans exactly the move back to the default name.
    let out = emu
        .tool("secrets-init")
        .args(["--plan", "--reset", "db-password-secret"])
        .doc(&doc)
        .run();
    out.ok();
    assert!(
        out.stderr.contains("+ create     secret postgresdb_passwd")
            && out.stderr.contains("= unchanged  secret my/token")
            && out
                .stderr
                .contains("plan: 1 to create, 0 to update, 0 to delete, 1 unchanged"),
        "{}",
        out.stderr
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn existing_secrets_are_reused_and_a_rerun_records_a_version_changed_outside() {
    let emu = Emulator::start();
    make_secret(&emu, "ecs-github-token", "ghp_preexisting", &[]);

    let mark = emu.mark();
    let doc = up(&emu);
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

    // Secrets Manager owns the values: a new version stored by hand is recorded by the next
    // run, which writes nothing.
    emu.block_on(
        sm(&emu)
            .put_secret_value()
            .secret_id("postgresdb_passwd")
            .secret_string("Changed-By-Hand-42")
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let again = emu.tool("secrets-init").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(
        again["secrets"]["db_password"]["version"],
        current_version(&emu, "postgresdb_passwd")
    );
    assert_ne!(
        again["secrets"]["db_password"]["version"],
        doc["secrets"]["db_password"]["version"]
    );
    assert_eq!(
        again["secrets"]["github_token"],
        doc["secrets"]["github_token"]
    );
}

#[test]
fn oauth_secrets_are_created_when_given_and_stay_without_the_variables() {
    let emu = Emulator::start();
    let out = emu
        .tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .env("AUTH_GITHUB_CLIENT_ID", OAUTH_ID)
        .env("AUTH_GITHUB_CLIENT_SECRET", OAUTH_SECRET)
        .run();
    let doc = out.ok();
    out.assert_never_shows(OAUTH_SECRET);
    assert_eq!(secret_value(&emu, "github-oauth-client-id"), OAUTH_ID);
    assert_eq!(
        secret_value(&emu, "github-oauth-client-secret"),
        OAUTH_SECRET
    );
    assert_eq!(
        doc["secrets"]["oauth_client_id"]["name"],
        "github-oauth-client-id"
    );
    assert_eq!(
        doc["secrets"]["oauth_client_secret"]["version"],
        current_version(&emu, "github-oauth-client-secret")
    );
    assert!(!doc.to_string().contains(OAUTH_SECRET));

    // A rerun without the variables keeps them in the section and writes nothing.
    let mark = emu.mark();
    let again = emu.tool("secrets-init").doc(&doc).run().ok();
    assert_eq!(again, doc);
    emu.calls_since(mark).assert_no_mutations();

    // --rotate oauth needs the values, and then changes only those two.
    let mark = emu.mark();
    let line = emu
        .tool("secrets-init")
        .args(["--rotate", "oauth"])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("AUTH_GITHUB_CLIENT_ID"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
    let mark = emu.mark();
    let rotated = emu
        .tool("secrets-init")
        .args(["--rotate", "oauth"])
        .env("AUTH_GITHUB_CLIENT_ID", "Iv1.newid")
        .env("AUTH_GITHUB_CLIENT_SECRET", "newsecret0123456789")
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(
        emu.calls_since(mark).count("secretsmanager:PutSecretValue"),
        2
    );
    assert_eq!(secret_value(&emu, "github-oauth-client-id"), "Iv1.newid");
    assert_eq!(
        rotated["secrets"]["github_token"],
        doc["secrets"]["github_token"]
    );
    assert_ne!(
        rotated["secrets"]["oauth_client_secret"]["version"],
        doc["secrets"]["oauth_client_secret"]["version"]
    );

    // Another app's pair is its own; half a pair is refused before any write.
    let unicorn = emu
        .tool("secrets-init")
        .args(["--app", "unicorn"])
        .env("GITHUB_TOKEN", TOKEN)
        .env("AUTH_GITHUB_CLIENT_ID", OAUTH_ID)
        .env("AUTH_GITHUB_CLIENT_SECRET", OAUTH_SECRET)
        .run()
        .ok();
    assert_eq!(
        unicorn["secrets"]["oauth_client_id"]["name"],
        "unicorn-github-oauth-client-id"
    );
    let mark = emu.mark();
    let line = emu
        .tool("secrets-init")
        .args(["--app", "half"])
        .env("GITHUB_TOKEN", TOKEN)
        .env("AUTH_GITHUB_CLIENT_ID", OAUTH_ID)
        .run()
        .fails(2);
    assert!(line.contains("AUTH_GITHUB_CLIENT_SECRET"), "{line}");
    emu.calls_since(mark).assert_no_mutations();

    // Destroy takes the pair too.
    emu.tool("secrets-init")
        .arg("--destroy")
        .doc(&rotated)
        .run()
        .ok();
    assert!(scheduled_for_deletion(&emu, "github-oauth-client-id"));
    assert!(scheduled_for_deletion(&emu, "github-oauth-client-secret"));
}

#[test]
fn a_password_aurora_refuses_is_exit_2_before_any_write_and_never_printed() {
    let emu = Emulator::start();
    let long = "A".repeat(42);
    for bad in [
        "short7!",
        long.as_str(),
        "has-an-@-sign-1",
        "has a space 123",
        "has/slash/1234",
        "ünïcödé-Passw0rd",
    ] {
        let mark = emu.mark();
        let out = emu
            .tool("secrets-init")
            .env("GITHUB_TOKEN", TOKEN)
            .env("POSTGRES_PASSWORD", bad)
            .run();
        let line = out.fails(2);
        assert!(line.contains("POSTGRES_PASSWORD"), "{line}");
        out.assert_never_shows(bad);
        emu.calls_since(mark).assert_no_mutations();
    }
    // A hand-made password secret Aurora would refuse: refused until rotated.
    make_secret(&emu, "postgresdb_passwd", &"x".repeat(50), &[]);
    let mark = emu.mark();
    let out = emu.tool("secrets-init").env("GITHUB_TOKEN", TOKEN).run();
    let line = out.fails(2);
    assert!(line.contains("--rotate db-password"), "{line}");
    out.assert_never_shows(&"x".repeat(50));
    emu.calls_since(mark).assert_no_mutations();
    emu.tool("secrets-init")
        .args(["--rotate", "db-password"])
        .env("GITHUB_TOKEN", TOKEN)
        .run()
        .ok();
    assert_eq!(secret_value(&emu, "postgresdb_passwd").len(), 32);
}

#[test]
fn a_key_value_secret_is_refused_with_an_explanation() {
    let emu = Emulator::start();
    make_secret(&emu, "ecs-github-token", r#"{"token": "ghp_x"}"#, &[]);
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
fn lost_answers_to_creates_and_puts_leave_one_secret_and_one_version() {
    let emu = Emulator::start();
    // The call is applied, its answer lost (a 503 after the fact): the SDK retries.
    let lost = |action: &str| Fault {
        service: "secretsmanager".into(),
        action: action.into(),
        kind: FaultKind::Error {
            code: "ServiceUnavailable".into(),
            message: "the answer was lost".into(),
            status: "503 Service Unavailable".into(),
            forward: true,
        },
        times: 2,
    };
    emu.inject(&[lost("CreateSecret")]);
    let doc = up(&emu);
    assert_eq!(secret_value(&emu, "ecs-github-token"), TOKEN);
    assert_eq!(
        doc["secrets"]["db_password"]["version"],
        current_version(&emu, "postgresdb_passwd")
    );
    let versions = |name: &str| {
        emu.block_on(sm(&emu).list_secret_version_ids().secret_id(name).send())
            .unwrap()
            .versions()
            .len()
    };
    assert_eq!(versions("postgresdb_passwd"), 1);
    let listed = emu
        .block_on(sm(&emu).list_secrets().send())
        .unwrap()
        .secret_list()
        .len();
    assert_eq!(listed, 2, "one of each");

    // The answer to a create is "already exists", and the secret is ours: success.
    let fresh = Emulator::start();
    fresh.inject(&[Fault::error(
        "secretsmanager",
        "CreateSecret",
        "ResourceExistsException",
        "the secret already exists",
    )
    .forwarded()
    .times(2)]);
    let doc2 = fresh
        .tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .run()
        .ok();
    assert_eq!(
        doc2["secrets"]["github_token"]["version"],
        current_version(&fresh, "ecs-github-token")
    );

    // A rotation whose answer is lost makes one new version, not two.
    emu.inject(&[lost("PutSecretValue")]);
    let rotated = emu
        .tool("secrets-init")
        .args(["--rotate", "db-password"])
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(versions("postgresdb_passwd"), 2);
    assert_eq!(
        rotated["secrets"]["db_password"]["version"],
        current_version(&emu, "postgresdb_passwd")
    );
}

#[test]
fn a_name_scheduled_for_deletion_is_restored_even_when_create_finds_it_first() {
    let emu = Emulator::start();
    let doc = up(&emu);
    let after = emu
        .tool("secrets-init")
        .arg("--destroy")
        .doc(&doc)
        .run()
        .ok();
    // Describe misses the scheduled secrets (a race), and CreateSecret answers as AWS does
    // for a name scheduled for deletion.
    emu.inject(&[
        Fault::error(
            "secretsmanager",
            "DescribeSecret",
            "ResourceNotFoundException",
            "Secrets Manager can't find the specified secret.",
        )
        .times(4),
        Fault::error(
            "secretsmanager",
            "CreateSecret",
            "InvalidRequestException",
            "You can't create this secret because a secret with this name is already scheduled for deletion.",
        )
        .times(2),
    ]);
    let restored = emu
        .tool("secrets-init")
        .env("GITHUB_TOKEN", TOKEN)
        .doc(&after)
        .run()
        .ok();
    assert!(!scheduled_for_deletion(&emu, "postgresdb_passwd"));
    assert!(!scheduled_for_deletion(&emu, "ecs-github-token"));
    assert_eq!(restored["secrets"], doc["secrets"]);
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
fn destroy_schedules_deletion_with_a_recovery_window_resumes_and_needs_no_section() {
    let emu = Emulator::start();
    let doc = up(&emu);
    let mark = emu.mark();
    let after = emu
        .tool("secrets-init")
        .arg("--destroy")
        .doc(&doc)
        .run()
        .ok();
    assert!(after.get("secrets").is_none(), "section removed: {after}");
    assert_eq!(after["app"], doc["app"]);
    for name in ["ecs-github-token", "postgresdb_passwd"] {
        assert!(scheduled_for_deletion(&emu, name), "{name}");
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

    // Again, on the document without the section: a no-op.
    let mark = emu.mark();
    emu.tool("secrets-init")
        .arg("--destroy")
        .doc(&after)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();

    // Up after down: the secrets come back (restored), not a failure.
    let restored = emu.tool("secrets-init").doc(&after).run().ok();
    assert_eq!(restored["secrets"], doc["secrets"]);
    assert!(!scheduled_for_deletion(&emu, "postgresdb_passwd"));

    // With only the identity (no section at all), --force-delete-without-recovery deletes.
    emu.tool("secrets-init")
        .args(["--destroy", "--force-delete-without-recovery"])
        .run()
        .ok();
    assert!(!exists(&emu, "ecs-github-token"));
    assert!(!exists(&emu, "postgresdb_passwd"));
}

#[test]
fn destroy_leaves_secrets_stagehand_did_not_create() {
    let emu = Emulator::start();
    make_secret(&emu, "ecs-github-token", "ghp_theirs", &[]);
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
    assert!(
        !scheduled_for_deletion(&emu, "ecs-github-token"),
        "a secret without our tags is left alone"
    );
    assert!(!exists(&emu, "postgresdb_passwd"), "ours is gone");
}

#[test]
fn bad_input_exits_2_with_one_line_and_no_mutating_call() {
    let emu = Emulator::start();
    let cases: [(&[&str], &str, &str); 7] = [
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
        (&["--rotate", "everything"], "", "--rotate db-password"),
    ];
    for (args, stdin, expect) in cases {
        let mark = emu.mark();
        let out = emu.tool("secrets-init").args(args).stdin(stdin).run();
        let line = out.fails(2);
        assert!(line.contains(expect), "{args:?} {stdin:?}: {line}");
        emu.calls_since(mark).assert_no_mutations();
    }
}
