//! stack-status on a stack brought up by up.sh: healthy with every step's resources, the
//! image and the pipeline's last execution; then things changed outside the tools, as a
//! colleague with the console would, and the report names them. Read-only throughout.

use std::path::PathBuf;

use testkit::{Emulator, Value, ecs, rds};

const TOKEN: &str = "ghp_StatusToken000000000000000000000000";

fn up(emu: &Emulator, dir: &std::path::Path) -> PathBuf {
    let stack = dir.join("stack.json");
    let out = emu
        .script("scripts/up.sh")
        .env("STACK", &stack)
        .env("GITHUB_TOKEN", TOKEN)
        .env("REPO_OWNER", "example-org")
        .env("REPO_NAME", "backstage-app")
        .env("AUTO_APPROVE", "1")
        .run();
    assert_eq!(out.code, 0, "up.sh failed:\n{}", out.stderr);
    stack
}

fn status(emu: &Emulator, stack: &std::path::Path) -> (i32, Value) {
    let mark = emu.mark();
    let out = emu
        .tool("stack-status")
        .arg("--in")
        .arg(stack)
        .args(["--output", "json"])
        .run();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.code == 0 || out.code == 1,
        "stack-status: {}",
        out.stderr
    );
    out.assert_never_shows(TOKEN);
    let report: Value = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\nstderr:\n{}", out.stdout, out.stderr));
    (out.code, report)
}

fn problems(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_demo_stack_is_healthy_then_scaling_to_zero_and_a_changed_setting_are_named() {
    let emu = Emulator::start();
    let dir = std::env::temp_dir().join(format!("stagehand-status-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let stack = up(&emu, &dir);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&stack).unwrap()).unwrap();
    let service = doc["svc"]["service_name"].as_str().unwrap().to_owned();
    let cluster = doc["svc"]["cluster_name"].as_str().unwrap().to_owned();
    let db_cluster = doc["db"]["cluster_id"].as_str().unwrap().to_owned();

    // Healthy: every step listed with its resources, the image, the last execution, the URL.
    let (code, report) = status(&emu, &stack);
    assert_eq!(code, 0, "not healthy: {:?}", problems(&report));
    assert_eq!(report["healthy"], true);
    let steps: Vec<&str> = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["step"].as_str().unwrap())
        .collect();
    assert_eq!(
        steps,
        [
            "secrets-init",
            "slr-check",
            "ecr-up",
            "core-up",
            "db-up",
            "alb-up",
            "svc-up",
            "pipeline-up"
        ]
    );
    for step in report["steps"].as_array().unwrap() {
        assert_eq!(step["ok"], true, "{step}");
        assert!(
            !step["resources"].as_array().unwrap().is_empty(),
            "{} lists no resources",
            step["step"]
        );
    }
    let image = report["service"]["image"]
        .as_str()
        .expect("the running image");
    let repo = doc["svc"]["repository_uri"].as_str().unwrap();
    assert!(image.starts_with(repo), "{image} is not from {repo}");
    assert_eq!(report["database"]["status"], "available");
    assert!(
        report["pipeline"]["last_execution"]["status"].is_string(),
        "{report}"
    );
    assert_eq!(report["url"], doc["alb"]["url"]);

    // The table for people says the same.
    let table = emu.tool("stack-status").arg("--in").arg(&stack).run();
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("healthy") && table.stdout.contains(image),
        "{}",
        table.stdout
    );

    // Someone scales the service to 0 in the console: unhealthy, naming the service.
    let sdk = emu.sdk();
    emu.block_on(async {
        ecs::Client::new(&sdk)
            .update_service()
            .cluster(&cluster)
            .service(&service)
            .desired_count(0)
            .send()
            .await
            .unwrap();
    });
    let (code, report) = status(&emu, &stack);
    assert_eq!(code, 1, "{report}");
    assert!(
        problems(&report)
            .iter()
            .any(|p| p.contains(&service) && p.contains("scaled to 0")),
        "{:?}",
        problems(&report)
    );

    // …and raises the database's capacity outside the tools: reported as db-up drift.
    emu.block_on(async {
        rds::Client::new(&sdk)
            .modify_db_cluster()
            .db_cluster_identifier(&db_cluster)
            .serverless_v2_scaling_configuration(
                rds::types::ServerlessV2ScalingConfiguration::builder()
                    .min_capacity(0.5)
                    .max_capacity(4.0)
                    .build(),
            )
            .apply_immediately(true)
            .send()
            .await
            .unwrap();
    });
    let (code, report) = status(&emu, &stack);
    assert_eq!(code, 1);
    let db_step = report["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"] == "db-up")
        .unwrap();
    assert_eq!(db_step["ok"], false, "{db_step}");
    assert!(
        problems(&report)
            .iter()
            .any(|p| p.starts_with("db-up:") && p.contains(&db_cluster) && p.contains('4')),
        "{:?}",
        problems(&report)
    );

    // Bad input: exit 2, no call.
    let mark = emu.mark();
    let bad = emu
        .tool("stack-status")
        .arg("--in")
        .arg(dir.join("missing.json"))
        .run();
    assert_eq!(bad.code, 2, "{}", bad.stderr);
    assert_eq!(bad.stderr.lines().count(), 1, "{}", bad.stderr);
    assert_eq!(emu.calls_since(mark).total(), 0);
    let _ = std::fs::remove_dir_all(&dir);
}
