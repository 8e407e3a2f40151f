//! Settings live in the document, and the chain checks every input before it changes
//! anything (issue 11): up.sh, plan.sh and `make <step>` on a saved document need no flags and
//! change nothing; a changed or reset setting plans exactly that change; a missing input on a
//! fresh stack stops before the first write; a failed join stops the chain with the finished
//! steps saved.

use std::path::{Path, PathBuf};

use testkit::stack::Stack;
use testkit::{Emulator, Value};

/// `make TARGET ARGS=…` on the stack, with only the AWS configuration and the document's path.
fn make_step(stack: &Stack, target: &str, args: &str) -> testkit::Output {
    stack
        .bare("/usr/bin/env")
        .args(["make", "-s", target])
        .arg(format!("ARGS={args}"))
        .run()
}

fn db_cluster(emu: &Emulator, id: &str) -> testkit::rds::types::DbCluster {
    let rds = testkit::rds::Client::new(&emu.sdk());
    emu.block_on(rds.describe_db_clusters().db_cluster_identifier(id).send())
        .expect("describe cluster")
        .db_clusters()[0]
        .clone()
}

fn plan_stdout(out: &testkit::Output) -> &str {
    assert_eq!(out.code, 0, "plan.sh failed:\n{}", out.stderr);
    out.stdout.trim()
}

#[test]
fn a_saved_document_remembers_every_setting_and_reruns_change_nothing() {
    let stack = Stack::new("remember");
    let emu = &stack.emu;
    let up = stack
        .bare("scripts/up.sh")
        .env("GITHUB_TOKEN", &stack.token)
        .env("REPO_OWNER", "example-org")
        .env("REPO_NAME", "backstage-app")
        .env("DB_ARGS", "--max-acu 4")
        .env("ALB_ARGS", "--allow-cidr 203.0.113.0/24")
        .env("SVC_ARGS", "--desired-count 2")
        .run();
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    up.assert_never_shows(&stack.token);
    let doc = stack.doc();
    assert_eq!(doc["db"]["settings"]["max-acu"], "4");
    assert_eq!(doc["alb"]["settings"]["allow-cidr"][0], "203.0.113.0/24");
    assert_eq!(doc["svc"]["settings"]["desired-count"], "2");
    assert_eq!(doc["pipeline"]["settings"]["repo-owner"], "example-org");
    let cluster_id = doc["db"]["cluster_id"].as_str().unwrap().to_owned();
    let scaling = db_cluster(emu, &cluster_id)
        .serverless_v2_scaling_configuration()
        .cloned()
        .unwrap();
    assert_eq!(scaling.max_capacity(), Some(4.0));

    // With an empty environment: plan.sh reports no changes, with read-only calls only.
    let mark = emu.mark();
    let plan = stack.bare("scripts/plan.sh").run();
    assert!(
        plan_stdout(&plan).starts_with("plan: 0 to create, 0 to update, 0 to delete,"),
        "{}\n{}",
        plan.stdout,
        plan.stderr
    );
    emu.calls_since(mark).assert_no_mutations();

    // up.sh makes zero mutating calls, and the document stays as it was.
    let mark = emu.mark();
    let rerun = stack.bare("scripts/up.sh").run();
    assert_eq!(rerun.code, 0, "{}", rerun.stderr);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(stack.doc(), doc);

    // make db makes zero mutating calls.
    let mark = emu.mark();
    let make = make_step(&stack, "db", "");
    assert_eq!(make.code, 0, "{}", make.stderr);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(stack.doc()["db"], doc["db"]);

    // make db ARGS="--max-acu 8" changes only the capacity …
    let mark = emu.mark();
    let make = make_step(&stack, "db", "--max-acu 8");
    assert_eq!(make.code, 0, "{}", make.stderr);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["rds:ModifyDBCluster"],
        "only the capacity changes"
    );
    let modify = calls
        .requests()
        .into_iter()
        .find(|r| r["action"] == "ModifyDBCluster")
        .unwrap();
    let params = modify["params"].to_string();
    assert!(params.contains("MaxCapacity"), "{params}");
    assert!(!params.contains("DeletionProtection"), "{params}");
    let cluster = db_cluster(emu, &cluster_id);
    let scaling = cluster.serverless_v2_scaling_configuration().unwrap();
    assert_eq!(scaling.max_capacity(), Some(8.0));
    assert_eq!(scaling.min_capacity(), Some(0.5));
    assert_eq!(stack.doc()["db"]["settings"]["max-acu"], "8");

    // … and the next plan.sh reports no changes.
    let plan = stack.bare("scripts/plan.sh").run();
    assert!(
        plan_stdout(&plan).starts_with("plan: 0 to create, 0 to update, 0 to delete,"),
        "{}",
        plan.stderr
    );

    // A changed setting in a plan shows exactly that change.
    let plan = stack
        .bare("scripts/plan.sh")
        .env("SVC_ARGS", "--desired-count 3")
        .run();
    assert!(
        plan_stdout(&plan).starts_with("plan: 0 to create, 1 to update, 0 to delete,"),
        "{}\n{}",
        plan.stdout,
        plan.stderr
    );
    assert!(plan.stderr.contains("desired"), "{}", plan.stderr);

    // Returning a setting to its default plans exactly that change.
    let plan = stack
        .bare("scripts/plan.sh")
        .env("DB_ARGS", "--reset max-acu")
        .run();
    assert!(
        plan_stdout(&plan).starts_with("plan: 0 to create, 1 to update, 0 to delete,"),
        "{}\n{}",
        plan.stdout,
        plan.stderr
    );
    let update: Vec<&str> = plan
        .stderr
        .lines()
        .filter(|l| l.contains("~ update"))
        .collect();
    assert_eq!(update.len(), 1, "{}", plan.stderr);
    assert!(update[0].contains("0.5-8 → 0.5-2"), "{}", update[0]);
    // A plan writes nothing: the document still remembers 8.
    assert_eq!(stack.doc()["db"]["settings"]["max-acu"], "8");
}

#[test]
fn a_fresh_stack_without_a_repository_stops_before_the_first_write() {
    let stack = Stack::new("norepo");
    let emu = &stack.emu;
    let mark = emu.mark();
    let out = stack
        .bare("scripts/up.sh")
        .env("GITHUB_TOKEN", &stack.token)
        .run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("error:"))
        .collect();
    assert!(
        errors
            .iter()
            .any(|l| l.contains("pipeline-up") && l.contains("repo")),
        "names the missing input: {}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    emu.calls_since(mark).assert_no_mutations();
    assert!(!stack.path().exists() || stack.doc().get("secrets").is_none());
}

/// A directory of the tools in which `broken` prints a document that does not join.
fn tools_with_a_broken_join(dir: &Path, broken: &str) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let real = testkit::tool_path("stack-run");
    let real_dir = real.parent().unwrap();
    for entry in std::fs::read_dir(real_dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let executable = path.is_file()
            && std::os::unix::fs::PermissionsExt::mode(&entry.metadata().unwrap().permissions())
                & 0o111
                != 0;
        if !executable {
            continue;
        }
        if name == broken {
            // Its plan is left alone; when it applies, the real tool runs (its resources are
            // made), then its answer is for another account: a document that must not be
            // joined.
            let script = format!(
                "#!/bin/sh\ncase \" $* \" in *\" --plan \"*) exec '{0}' \"$@\";; esac\n'{0}' \"$@\" | sed 's/\"account\": \"[0-9]*\"/\"account\": \"999999999999\"/'\n",
                path.display()
            );
            let target = bin.join(&name);
            std::fs::write(&target, script).unwrap();
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&target, perms).unwrap();
        } else {
            std::os::unix::fs::symlink(&path, bin.join(&name)).unwrap();
        }
    }
    bin
}

#[test]
fn a_failed_join_stops_the_chain_before_svc_up_with_the_finished_steps_saved() {
    let stack = Stack::new("join");
    let emu = &stack.emu;
    let bin = tools_with_a_broken_join(&stack.dir, "alb-up");
    let mark = emu.mark();
    let out = stack
        .bare("scripts/up.sh")
        .env("STAGEHAND_BIN", &bin)
        .env("GITHUB_TOKEN", &stack.token)
        .env("REPO_OWNER", "example-org")
        .env("REPO_NAME", "backstage-app")
        .run();
    assert_ne!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("joining alb-up's output failed"),
        "{}",
        out.stderr
    );
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.count("ecs:CreateService"),
        0,
        "svc-up must not run after a failed join"
    );
    let doc = stack.doc();
    for section in ["secrets", "slr", "core", "db"] {
        assert!(
            doc.get(section).is_some(),
            "{section} finished and is saved"
        );
    }
    assert!(doc.get("alb").is_none(), "the broken join is not saved");
    assert!(doc.get("svc").is_none());
    assert_eq!(doc["account"], testkit::ACCOUNT);
}

#[test]
fn plan_json_lists_the_same_actions_as_the_text_plan() {
    let emu = Emulator::start();
    let dir = std::env::temp_dir().join(format!("stagehand-planjson-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("plan.json");
    let out = emu
        .tool("secrets-init")
        .env("GITHUB_TOKEN", testkit::stack::TOKEN)
        .arg("--plan-json")
        .arg(&path)
        .run();
    out.ok();
    let plan: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
        .expect("--plan-json is valid JSON");
    let text: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("  + ") || l.starts_with("  ~ ") || l.starts_with("  = "))
        .collect();
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), text.len(), "{}", out.stderr);
    for (a, line) in actions.iter().zip(&text) {
        assert!(line.contains(a["action"].as_str().unwrap()), "{line}");
        assert!(line.contains(a["resource"].as_str().unwrap()), "{line}");
    }
    assert_eq!(plan["summary"]["create"], 2);
    assert_eq!(plan["tool"], "secrets-init");
    let _ = std::fs::remove_dir_all(&dir);
}
