//! secrets-init against the emulator: each secret rotated on its own and recorded by its
//! version; per-app names, and one app never touching another's secrets.

mod common;

use common::*;
use testkit::Emulator;

#[test]
fn rotate_db_password_changes_only_the_password() {
    let emu = Emulator::start();
    let doc = up(&emu);
    let password = secret_value(&emu, "postgresdb_passwd");
    let token_version = current_version(&emu, "ecs-github-token");

    // No GITHUB_TOKEN needed to rotate the password alone.
    let mark = emu.mark();
    let out = emu
        .tool("secrets-init")
        .args(["--rotate", "db-password"])
        .doc(&doc)
        .run();
    let rotated = out.ok();
    let calls = emu.calls_since(mark);
    assert_eq!(calls.mutating_actions(), ["secretsmanager:PutSecretValue"]);
    assert_eq!(calls.count("secretsmanager:PutSecretValue"), 1);
    let new_password = secret_value(&emu, "postgresdb_passwd");
    assert_ne!(new_password, password, "a new password was generated");
    out.assert_never_shows(&new_password);
    assert_eq!(secret_value(&emu, "ecs-github-token"), TOKEN);
    assert_eq!(current_version(&emu, "ecs-github-token"), token_version);
    assert_eq!(
        rotated["secrets"]["db_password"]["version"],
        current_version(&emu, "postgresdb_passwd")
    );
    assert_ne!(
        rotated["secrets"]["db_password"]["version"],
        doc["secrets"]["db_password"]["version"]
    );
    assert_eq!(
        rotated["secrets"]["github_token"],
        doc["secrets"]["github_token"]
    );

    // A given password, checked and stored.
    let out = emu
        .tool("secrets-init")
        .args(["--rotate", "db-password"])
        .env("POSTGRES_PASSWORD", "Another-Passw0rd-7")
        .doc(&rotated)
        .run();
    out.ok();
    out.assert_never_shows("Another-Passw0rd-7");
    assert_eq!(
        secret_value(&emu, "postgresdb_passwd"),
        "Another-Passw0rd-7"
    );
}

#[test]
fn a_rotation_whose_document_was_lost_is_not_repeated() {
    let emu = Emulator::start();
    let doc = up(&emu);
    // The run stored the new value, then was killed before its document was saved.
    emu.tool("secrets-init")
        .args(["--rotate", "db-password"])
        .doc(&doc)
        .run()
        .ok();
    let stored = secret_value(&emu, "postgresdb_passwd");
    let mark = emu.mark();
    let rerun = emu
        .tool("secrets-init")
        .args(["--rotate", "db-password"])
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(
        emu.calls_since(mark).count("secretsmanager:PutSecretValue"),
        0
    );
    assert_eq!(secret_value(&emu, "postgresdb_passwd"), stored);
    assert_eq!(
        rerun["secrets"]["db_password"]["version"],
        current_version(&emu, "postgresdb_passwd")
    );
}

#[test]
fn rotate_github_token_needs_the_token_and_leaves_the_password() {
    let emu = Emulator::start();
    let doc = up(&emu);
    let password_version = current_version(&emu, "postgresdb_passwd");

    let mark = emu.mark();
    let line = emu
        .tool("secrets-init")
        .args(["--rotate", "github-token"])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(
        line.contains("GITHUB_TOKEN") && line.contains("--github-token-file"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    let out = emu
        .tool("secrets-init")
        .args(["--rotate", "github-token"])
        .env("GITHUB_TOKEN", "ghp_NewToken9876543210")
        .doc(&doc)
        .run();
    let rotated = out.ok();
    out.assert_never_shows("ghp_NewToken9876543210");
    assert_eq!(
        secret_value(&emu, "ecs-github-token"),
        "ghp_NewToken9876543210"
    );
    assert_eq!(current_version(&emu, "postgresdb_passwd"), password_version);
    assert_eq!(
        rotated["secrets"]["github_token"]["version"],
        current_version(&emu, "ecs-github-token")
    );

    // Both at once.
    emu.tool("secrets-init")
        .args(["--rotate", "github-token", "--rotate", "db-password"])
        .env("GITHUB_TOKEN", TOKEN)
        .doc(&rotated)
        .run()
        .ok();
    assert_eq!(secret_value(&emu, "ecs-github-token"), TOKEN);
    assert_ne!(current_version(&emu, "postgresdb_passwd"), password_version);
}

#[test]
fn a_bare_rotate_is_refused_naming_both_forms() {
    let emu = Emulator::start();
    let doc = up(&emu);
    let mark = emu.mark();
    let line = emu
        .tool("secrets-init")
        .arg("--rotate")
        .env("GITHUB_TOKEN", TOKEN)
        .doc(&doc)
        .run()
        .fails(2);
    assert!(
        line.contains("--rotate db-password") && line.contains("--rotate github-token"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn another_app_gets_secrets_of_its_own_and_destroying_one_leaves_the_other() {
    let emu = Emulator::start();
    let backstage = up(&emu);
    let unicorn = emu
        .tool("secrets-init")
        .args(["--app", "unicorn"])
        .env("GITHUB_TOKEN", "ghp_UnicornToken123")
        .run()
        .ok();
    assert_eq!(
        unicorn["secrets"]["github_token"]["name"],
        "unicorn-ecs-github-token"
    );
    assert_eq!(
        unicorn["secrets"]["db_password"]["name"],
        "unicorn-postgresdb_passwd"
    );
    assert_eq!(
        secret_value(&emu, "unicorn-ecs-github-token"),
        "ghp_UnicornToken123"
    );
    assert_ne!(
        secret_value(&emu, "unicorn-postgresdb_passwd"),
        secret_value(&emu, "postgresdb_passwd"),
        "two databases, two passwords"
    );
    assert_eq!(
        tags_of(&emu, "unicorn-postgresdb_passwd")["stagehand:app"],
        "unicorn"
    );

    emu.tool("secrets-init")
        .arg("--destroy")
        .doc(&unicorn)
        .run()
        .ok();
    assert!(scheduled_for_deletion(&emu, "unicorn-ecs-github-token"));
    assert!(scheduled_for_deletion(&emu, "unicorn-postgresdb_passwd"));
    for name in ["ecs-github-token", "postgresdb_passwd"] {
        assert!(!scheduled_for_deletion(&emu, name), "{name} is whole");
    }
    let mark = emu.mark();
    assert_eq!(
        emu.tool("secrets-init").doc(&backstage).run().ok(),
        backstage
    );
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_secret_of_another_app_is_never_adopted_nor_deleted() {
    let emu = Emulator::start();
    make_secret(
        &emu,
        "shared-token",
        "ghp_theirs",
        &[("stagehand:app", "other"), ("stagehand:step", "secrets")],
    );
    let mark = emu.mark();
    let line = emu
        .tool("secrets-init")
        .args(["--github-token-secret", "shared-token"])
        .env("GITHUB_TOKEN", TOKEN)
        .run()
        .fails(2);
    assert!(
        line.contains("app other") && !line.contains("no stagehand tags"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();

    let out = emu
        .tool("secrets-init")
        .args(["--destroy", "--github-token-secret", "shared-token"])
        .run();
    out.ok();
    assert!(
        out.stderr.contains("belongs to app other") && !out.stderr.contains("no stagehand tags"),
        "{}",
        out.stderr
    );
    assert!(!scheduled_for_deletion(&emu, "shared-token"));
}
