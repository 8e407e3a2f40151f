//! Secrets over time (issue 13), as a user lives it: a stack up, a DB-password rotation and
//! up.sh, then a GitHub-token rotation and up.sh — checked with independent reads (the
//! cluster's password as the emulator keeps it, secret versions, the calls made).

use testkit::secretsmanager;
use testkit::stack::Stack;

const TOKEN: &str = "ghp_RotationToken0000000000000000000000";
const NEW_TOKEN: &str = "ghp_RotationTokenNew000000000000000000";

/// What the rotation test asks of a stack besides its document.
trait Rotation {
    fn run(&self, args: &[&str], token: Option<&str>) -> testkit::Output;
    fn secret(&self, arn: &str) -> (String, String);
}

impl Rotation for Stack {
    /// A script on the stack; `token` is GITHUB_TOKEN when given (a rerun needs none).
    fn run(&self, args: &[&str], token: Option<&str>) -> testkit::Output {
        let mut tool = self.bare(args[0]).args(&args[1..]);
        if let Some(token) = token {
            tool = tool.env("GITHUB_TOKEN", token);
        }
        let out = tool
            .env("REPO_OWNER", "example-org")
            .env("REPO_NAME", "backstage-app")
            .env("AUTO_APPROVE", "1")
            .run();
        assert_eq!(out.code, 0, "{args:?} failed:\n{}", out.stderr);
        out.assert_never_shows(TOKEN);
        out.assert_never_shows(NEW_TOKEN);
        out
    }

    /// The secret's current value and version, read as AWS has them.
    fn secret(&self, arn: &str) -> (String, String) {
        let sm = secretsmanager::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(sm.get_secret_value().secret_id(arn).send())
            .unwrap();
        (
            out.secret_string().unwrap().to_owned(),
            out.version_id().unwrap().to_owned(),
        )
    }
}

#[test]
fn a_db_password_rotation_reaches_the_cluster_and_the_tasks_once_and_a_token_rotation_the_pipeline()
{
    let stack = Stack::new("rotation");
    let emu = &stack.emu;
    stack.run(&["scripts/up.sh"], Some(TOKEN));
    let doc = stack.doc();
    let cluster = doc["db"]["cluster_id"].as_str().unwrap().to_owned();
    let password_arn = doc["secrets"]["db_password"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let token_arn = doc["secrets"]["github_token"]["arn"]
        .as_str()
        .unwrap()
        .to_owned();
    let (first_password, _) = stack.secret(&password_arn);
    assert_eq!(emu.master_password(&cluster), first_password);
    let (_, token_version) = stack.secret(&token_arn);

    // Rotate only the DB password (no GITHUB_TOKEN needed), then up.sh.
    let out = emu
        .script("scripts/step.sh")
        .args(["secrets-init", "--rotate", "db-password"])
        .env("STACK", stack.path())
        .run();
    assert_eq!(out.code, 0, "rotate: {}", out.stderr);
    let (new_password, _) = stack.secret(&password_arn);
    assert_ne!(
        new_password, first_password,
        "the rotation made a new password"
    );
    out.assert_never_shows(&new_password);

    let mark = emu.mark();
    let up = stack.run(&["scripts/up.sh"], None);
    up.assert_never_shows(&new_password);
    let calls = emu.calls_since(mark);
    // The cluster got the new password, the service exactly one new deployment (same task
    // definition: its tasks read the secret at start), nothing else changed.
    assert_eq!(emu.master_password(&cluster), new_password);
    assert_eq!(
        calls.count("rds:ModifyDBCluster"),
        1,
        "{:?}",
        calls.mutating_actions()
    );
    assert_eq!(
        calls.count("ecs:UpdateService"),
        1,
        "{:?}",
        calls.mutating_actions()
    );
    assert_eq!(calls.count("ecs:RegisterTaskDefinition"), 0);
    assert_eq!(
        calls.mutating_actions(),
        ["ecs:UpdateService", "rds:ModifyDBCluster"],
        "only the password and one deployment"
    );
    assert_eq!(
        stack.secret(&token_arn).1,
        token_version,
        "the token is untouched"
    );
    for request in calls.requests() {
        assert!(
            !request.to_string().contains(&new_password),
            "a request shows the password"
        );
    }

    // A further up.sh has nothing to do.
    let mark = emu.mark();
    stack.run(&["scripts/up.sh"], None);
    emu.calls_since(mark).assert_no_mutations();

    // Rotate the GitHub token: the pipeline's OAuth source gets it; the database is untouched.
    let out = emu
        .script("scripts/step.sh")
        .args(["secrets-init", "--rotate", "github-token"])
        .env("STACK", stack.path())
        .env("GITHUB_TOKEN", NEW_TOKEN)
        .run();
    assert_eq!(out.code, 0, "rotate: {}", out.stderr);
    let mark = emu.mark();
    stack.run(&["scripts/up.sh"], None);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.count("codepipeline:UpdatePipeline"),
        1,
        "{:?}",
        calls.mutating_actions()
    );
    assert_eq!(calls.count("rds:ModifyDBCluster"), 0);
    assert_eq!(emu.master_password(&cluster), new_password);
    // The task reads the token too (GITHUB_TOKEN): its tasks are restarted once to get it.
    assert!(calls.count("ecs:UpdateService") <= 1);
    assert_eq!(
        stack.doc()["pipeline"]["token_version"].as_str(),
        Some(stack.secret(&token_arn).1.as_str()),
        "the pipeline records the token version it applied"
    );
    let mark = emu.mark();
    stack.run(&["scripts/up.sh"], None);
    emu.calls_since(mark).assert_no_mutations();
}
