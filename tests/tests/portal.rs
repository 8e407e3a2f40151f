//! `make portal`: the example Backstage app, built with the buildspec's commands, run under
//! task-exec with the demo stack's task environment against a local PostgreSQL with TLS, seen
//! through its API and a headless browser; after a DB-password rotation and up.sh, `make
//! portal` restarts it and it still connects; after a pipeline deploy alone it restarts it
//! too, as ECS replaces the tasks; `make portal-down` stops it all. And the
//! example app carries this project's templates unchanged.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TOKEN: &str = "ghp_PortalToken00000000000000000000000";
const PORTAL: &str = "http://localhost:7007";

fn root() -> PathBuf {
    testkit::root()
}

#[test]
fn the_example_app_carries_the_templates_unchanged() {
    let root = root();
    let app = root.join("examples/backstage-app");
    for (template, copy) in [
        ("app-config.production.yaml", "app-config.production.yaml"),
        ("buildspec.yml", "templates/buildspec.yml"),
    ] {
        let want = std::fs::read_to_string(root.join("templates").join(template)).unwrap();
        let got = std::fs::read_to_string(app.join(copy))
            .unwrap_or_else(|e| panic!("examples/backstage-app/{copy}: {e}"));
        assert!(
            want == got,
            "examples/backstage-app/{copy} differs from templates/{template}; copy it again"
        );
    }
    assert!(
        !app.join("app-config.portal-local.yaml").exists(),
        "the local overlay must stay in templates/, never in the app"
    );
    let production =
        std::fs::read_to_string(root.join("templates/app-config.production.yaml")).unwrap();
    let config: Vec<&str> = production
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let config = config.join("\n");
    assert!(
        !config.contains("guest") && !config.contains("dangerouslyAllowOutsideDevelopment"),
        "the production config never enables guest sign-in"
    );
    for var in [
        "AUTH_GITHUB_CLIENT_ID",
        "AUTH_GITHUB_CLIENT_SECRET",
        "POSTGRES_PASSWORD",
        "GITHUB_TOKEN",
        "BASE_URL",
    ] {
        assert!(
            config.contains(&format!("${{{var}}}")),
            "production config reads {var}"
        );
    }
    let lock = std::fs::read_to_string(app.join("yarn.lock")).unwrap();
    assert!(
        lock.lines().count() > 1000 && lock.contains("@backstage/backend-defaults@npm:^0.19.0"),
        "the example's yarn.lock is committed and resolved"
    );
}

/// Where one `make portal` keeps its demo stack, state and screenshot, apart from a user's.
struct Portal {
    dir: PathBuf,
}

impl Portal {
    fn new() -> Portal {
        let dir = std::env::temp_dir().join(format!("stagehand-portal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // PostgreSQL runs as another user, who must reach its data directory.
        let _ = Command::new("chmod").arg("755").arg(&dir).status();
        Portal { dir }
    }

    fn stack(&self) -> PathBuf {
        self.dir.join("stack.json")
    }

    fn run(&self, make_target: &str) -> Output {
        let mut cmd = Command::new("make");
        cmd.arg("-s").arg(make_target).current_dir(root());
        self.aim(&mut cmd);
        cmd.output().expect("run make")
    }

    fn aim(&self, cmd: &mut Command) {
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("AWS_") || key.starts_with("STAGEHAND_") || key == "GITHUB_TOKEN" {
                cmd.env_remove(&key);
            }
        }
        cmd.env("STAGEHAND_STATE", &self.dir)
            .env("STACK", self.stack())
            .env("PORTAL_BUILD", self.dir.join("build"))
            .env("GITHUB_TOKEN", TOKEN);
    }

    /// A script of the project, aimed at the demo's emulator like a user after
    /// `eval "$(scripts/emulator.sh env)"`.
    fn script(&self, args: &[&str]) {
        let mut cmd = Command::new(root().join(args[0]));
        cmd.args(&args[1..]).current_dir(root());
        self.aim(&mut cmd);
        at_demo_emulator(&mut cmd, &self.dir);
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn pid(&self, name: &str) -> u32 {
        let text = std::fs::read_to_string(self.dir.join(format!("portal/{name}.pid")))
            .unwrap_or_else(|e| panic!("{name}.pid: {e}"));
        text.split_whitespace().next().unwrap().parse().unwrap()
    }

    /// The DB password as the task gets it (task-exec is the one place it is read).
    fn db_password(&self) -> String {
        db_password(&self.dir)
    }

    fn doc(&self) -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(self.stack()).unwrap()).unwrap()
    }

    /// The task definition of the service's primary deployment, as DescribeServices answers
    /// it (boto3 from the emulator's environment, aimed at the demo's emulator).
    fn primary_task_definition(&self) -> String {
        let doc = self.doc();
        let mut cmd = Command::new(root().join("emulator/.venv/bin/python"));
        cmd.args([
            "-c",
            "import boto3,sys; s=boto3.client('ecs').describe_services(cluster=sys.argv[1], services=[sys.argv[2]])['services'][0]; print(next(d['taskDefinition'] for d in s['deployments'] if d['status']=='PRIMARY'))",
            doc["svc"]["cluster_name"].as_str().unwrap(),
            doc["svc"]["service_name"].as_str().unwrap(),
        ]);
        at_demo_emulator(&mut cmd, &self.dir);
        let out = cmd.output().expect("describe the service");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }
}

impl Drop for Portal {
    fn drop(&mut self) {
        // A failed assertion must not leave PostgreSQL, the backend or the emulator running.
        let _ = self.run("portal-down");
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Aim a command at the demo's emulator, as `eval "$(scripts/emulator.sh env)"` does.
fn at_demo_emulator(cmd: &mut Command, dir: &Path) {
    let emulator = std::fs::read_to_string(dir.join("emulator.url")).expect("emulator.url");
    cmd.env("AWS_ENDPOINT_URL", emulator.trim())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", testkit::REGION)
        .env("AWS_DEFAULT_REGION", testkit::REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE");
}

fn db_password(dir: &Path) -> String {
    let mut cmd = Command::new(testkit::tool_path("task-exec"));
    cmd.arg("--in").arg(dir.join("stack.json")).args([
        "-q",
        "--",
        "sh",
        "-c",
        "printf %s \"$POSTGRES_PASSWORD\"",
    ]);
    at_demo_emulator(&mut cmd, dir);
    let out = cmd.output().expect("task-exec");
    assert!(
        out.status.success(),
        "task-exec: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn curl(args: &[&str]) -> (String, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').unwrap_or(("", "000"));
    (body.to_owned(), code.to_owned())
}

fn catalog_names() -> Vec<String> {
    let (body, code) = curl(&[
        "-H",
        "X-Requested-With: XMLHttpRequest",
        &format!("{PORTAL}/api/auth/guest/refresh?env=production"),
    ]);
    assert_eq!(code, "200", "guest sign-in: {body}");
    let identity: serde_json::Value = serde_json::from_str(&body).unwrap();
    let token = identity["backstageIdentity"]["token"].as_str().unwrap();
    let (body, code) = curl(&[
        "-H",
        &format!("Authorization: Bearer {token}"),
        &format!("{PORTAL}/api/catalog/entities?fields=metadata.name"),
    ]);
    assert_eq!(code, "200", "catalog: {body}");
    let entities: Vec<serde_json::Value> = serde_json::from_str(&body).unwrap();
    entities
        .iter()
        .filter_map(|e| e["metadata"]["name"].as_str().map(str::to_owned))
        .collect()
}

fn alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
        && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .unwrap_or_default()
            .contains(") Z ")
}

#[test]
fn make_portal_serves_the_example_catalog_with_the_task_environment_follows_a_rotation_and_portal_down_stops_it()
 {
    let portal = Portal::new();
    let up = portal.run("portal");
    let stdout = String::from_utf8_lossy(&up.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&up.stderr).into_owned();
    assert!(
        up.status.success(),
        "make portal failed:\n{stdout}\n{stderr}"
    );

    // Exactly two mappings, printed at start: Aurora → local PostgreSQL, BASE_URL → localhost.
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(portal.stack()).unwrap()).unwrap();
    let mappings: Vec<&str> = stdout.lines().filter(|l| l.contains(" -> ")).collect();
    assert_eq!(mappings.len(), 2, "two mappings:\n{stdout}");
    let endpoint = doc["db"]["endpoint"].as_str().unwrap();
    assert!(
        mappings[0].contains(&format!("Aurora endpoint {endpoint}:5432 -> 127.0.0.1:")),
        "{}",
        mappings[0]
    );
    let alb = doc["alb"]["url"].as_str().unwrap();
    assert!(
        mappings[1].contains(&format!("BASE_URL {alb} -> {PORTAL}")),
        "{}",
        mappings[1]
    );
    assert!(
        stdout.contains(&format!("Backstage portal: {PORTAL}")),
        "{stdout}"
    );

    // The target group's health-check path, and the catalog through the API.
    let (_, health) = curl(&[&format!("{PORTAL}/healthcheck")]);
    assert_eq!(health, "200");
    let names = catalog_names();
    for want in ["example-website", "example-grpc-api", "examples"] {
        assert!(
            names.iter().any(|n| n == want),
            "catalog lacks {want}: {names:?}"
        );
    }

    // The browser signed in as guest and saw an example entity on the catalog page.
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("portal: browser: the catalog page shows")
                && l.contains("example-website")),
        "{stderr}"
    );
    let png = std::fs::read(portal.dir.join("build/catalog.png")).expect("the screenshot");
    assert!(png.starts_with(b"\x89PNG"), "the screenshot is a PNG");

    // The backend runs under task-exec (exec'd: the recorded pid is node's) with the task's
    // password, and nothing shows a secret value.
    let backend = portal.pid("backend");
    let first_postgres = portal.pid("postgres");
    let cmdline = std::fs::read_to_string(format!("/proc/{backend}/cmdline")).unwrap();
    assert!(cmdline.contains("packages/backend"), "{cmdline}");
    let password = portal.db_password();
    assert!(password.len() >= 8);
    assert!(
        !cmdline.contains(&password),
        "the password is not on the backend's argv"
    );
    let logs: Vec<String> = ["portal/backend.log", "portal/pg/postgres.log", "stack.json"]
        .iter()
        .map(|p| std::fs::read_to_string(portal.dir.join(p)).unwrap_or_default())
        .collect();
    for secret in [password.as_str(), TOKEN] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "make portal printed a secret"
        );
        for log in &logs {
            assert!(
                !log.contains(secret),
                "a log or the document holds a secret value"
            );
        }
    }

    // Rotation reaches the portal: after `secrets-init --rotate db-password` and up.sh (db-up
    // sets the new master password on the cluster, svc-up redeploys), `make portal` restarts
    // the backend as ECS replaces its tasks; under task-exec it reads the new password, and
    // the local PostgreSQL (which mirrors the cluster's master password) accepts it.
    portal.script(&["scripts/step.sh", "secrets-init", "--rotate", "db-password"]);
    portal.script(&["scripts/up.sh"]);
    let rotated = portal.db_password();
    assert_ne!(password, rotated, "the rotation made a new password");
    let again = portal.run("portal");
    let again_out = String::from_utf8_lossy(&again.stdout).into_owned();
    let again_err = String::from_utf8_lossy(&again.stderr).into_owned();
    assert!(
        again.status.success(),
        "the restarted portal did not come up:\n{again_out}\n{again_err}"
    );
    assert!(
        again_err.contains("the service's task changed since the portal started"),
        "make portal restarts a portal whose task changed:\n{again_err}"
    );
    let restarted = portal.pid("backend");
    assert_ne!(restarted, backend, "a new backend process");
    assert!(
        !alive(backend),
        "the old backend (pid {backend}) was stopped"
    );
    let (_, health) = curl(&[&format!("{PORTAL}/healthcheck")]);
    assert_eq!(health, "200");
    let names = catalog_names();
    assert!(names.iter().any(|n| n == "example-website"), "{names:?}");
    for secret in [password.as_str(), rotated.as_str(), TOKEN] {
        assert!(
            !again_out.contains(secret) && !again_err.contains(secret),
            "the restart printed a secret"
        );
    }
    let postgres = portal.pid("postgres");
    assert!(
        !alive(first_postgres),
        "PostgreSQL was restarted with the cluster's new password"
    );

    // Unchanged, a second make portal leaves the running portal alone.
    let same = portal.run("portal");
    assert!(same.status.success());
    assert!(
        String::from_utf8_lossy(&same.stderr).contains("already running"),
        "{}",
        String::from_utf8_lossy(&same.stderr)
    );
    assert_eq!(portal.pid("backend"), restarted);

    // A pipeline deploy alone (a push, no up.sh, the document untouched) replaces the
    // service's tasks in ECS, and so the portal on the next make portal.
    let before = portal.primary_task_definition();
    let emulator = std::fs::read_to_string(portal.dir.join("emulator.url")).unwrap();
    let pipeline = portal.doc()["pipeline"]["pipeline_name"]
        .as_str()
        .expect("pipeline.pipeline_name")
        .to_owned();
    let (pushed, _) = curl(&[
        "-X",
        "POST",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &format!(
            r#"{{"pipeline": "{pipeline}", "commit": "{}"}}"#,
            "fe".repeat(20)
        ),
        &format!("{}/_stagehand/pipeline/push", emulator.trim()),
    ]);
    assert!(pushed.contains("pipelineExecutionId"), "{pushed}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while portal.primary_task_definition() == before {
        assert!(
            std::time::Instant::now() < deadline,
            "the pushed commit was never deployed"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
    let deployed = portal.run("portal");
    let deployed_err = String::from_utf8_lossy(&deployed.stderr).into_owned();
    assert!(deployed.status.success(), "{deployed_err}");
    assert!(
        deployed_err.contains("the service's task changed since the portal started"),
        "make portal after a pipeline deploy restarts the portal:\n{deployed_err}"
    );
    assert!(
        !alive(restarted),
        "the backend before the deploy was stopped"
    );
    assert!(!alive(postgres), "PostgreSQL restarts with the backend");
    let restarted = portal.pid("backend");
    let postgres = portal.pid("postgres");
    let (_, health) = curl(&[&format!("{PORTAL}/healthcheck")]);
    assert_eq!(health, "200");

    // portal-down stops everything make portal started, the demo it brought up included.
    let down = portal.run("portal-down");
    let down_out = format!(
        "{}{}",
        String::from_utf8_lossy(&down.stdout),
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(
        down.status.success(),
        "make portal-down failed:\n{down_out}"
    );
    assert!(
        !down_out.contains(&password) && !down_out.contains(&rotated) && !down_out.contains(TOKEN)
    );
    assert!(
        !alive(restarted),
        "the backend (pid {restarted}) still runs"
    );
    assert!(!alive(postgres), "PostgreSQL (pid {postgres}) still runs");
    assert!(
        !portal.dir.join("emulator.pid").exists(),
        "the demo's emulator make portal started is stopped"
    );
    let (_, after) = curl(&["--max-time", "2", &format!("{PORTAL}/healthcheck")]);
    assert_eq!(after, "000", "nothing answers on 7007 any more");
}
