//! Day two (issue 17): after `scripts/up.sh`, the service's logs with their task ids, a shell
//! through ECS Exec (the path without the Session Manager plugin, and the command it runs with
//! it), a rollback that the next up.sh keeps, and output free of escape codes when stderr is a
//! file. Every check is an independent SDK call or what a user reads.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use testkit::ecs;
use testkit::stack::Stack;

/// What the day-two tests ask of a stack besides running its scripts.
trait DayTwo {
    fn svc(&self, key: &str) -> String;
    fn up_with_stderr_to_file(&self) -> (i32, String, String);
    fn up_ok(&self);
    fn ops(&self, args: &[&str]) -> testkit::Tool;
    fn service(&self) -> ecs::types::Service;
    fn running_tasks(&self) -> Vec<String>;
    fn image_of(&self, task_definition: &str) -> String;
}

impl DayTwo for Stack {
    fn svc(&self, key: &str) -> String {
        self.doc()["svc"][key].as_str().unwrap().to_owned()
    }

    /// up.sh as a user runs it with `2> file`: (exit code, stdout, the file's text).
    fn up_with_stderr_to_file(&self) -> (i32, String, String) {
        let err = self.dir.join("up.err");
        let out = self
            .emu
            .script("/bin/bash")
            .args(["-c", r#"scripts/up.sh 2>"$ERR_FILE""#])
            .env("ERR_FILE", &err)
            .env("STACK", self.path())
            .env("GITHUB_TOKEN", &self.token)
            .env("REPO_OWNER", "example-org")
            .env("REPO_NAME", "backstage-app")
            .run();
        let stderr = std::fs::read_to_string(&err).unwrap_or_default();
        assert!(!stderr.contains(&self.token) && !out.stdout.contains(&self.token));
        (out.code, out.stdout, stderr)
    }

    fn up_ok(&self) {
        let (code, _, stderr) = self.up_with_stderr_to_file();
        assert_eq!(code, 0, "up.sh failed:\n{stderr}");
    }

    fn ops(&self, args: &[&str]) -> testkit::Tool {
        self.emu
            .tool("svc-ops")
            .arg("--in")
            .arg(self.path())
            .args(args)
    }

    /// The service as DescribeServices answers it.
    fn service(&self) -> ecs::types::Service {
        let c = ecs::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(
                c.describe_services()
                    .cluster(self.svc("cluster_name"))
                    .services(self.svc("service_name"))
                    .send(),
            )
            .expect("describe services");
        out.services()[0].clone()
    }

    /// The ids of the service's running tasks (ListTasks + DescribeTasks).
    fn running_tasks(&self) -> Vec<String> {
        let c = ecs::Client::new(&self.emu.sdk());
        let cluster = self.svc("cluster_name");
        let arns = self
            .emu
            .block_on(
                c.list_tasks()
                    .cluster(&cluster)
                    .service_name(self.svc("service_name"))
                    .send(),
            )
            .expect("list tasks")
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Vec::new();
        }
        let out = self
            .emu
            .block_on(
                c.describe_tasks()
                    .cluster(&cluster)
                    .set_tasks(Some(arns))
                    .send(),
            )
            .expect("describe tasks");
        out.tasks()
            .iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .map(|t| t.task_arn().unwrap().rsplit('/').next().unwrap().to_owned())
            .collect()
    }

    fn image_of(&self, task_definition: &str) -> String {
        let c = ecs::Client::new(&self.emu.sdk());
        let out = self
            .emu
            .block_on(
                c.describe_task_definition()
                    .task_definition(task_definition)
                    .send(),
            )
            .expect("describe task definition");
        out.task_definition().unwrap().container_definitions()[0]
            .image()
            .unwrap()
            .to_owned()
    }
}

fn revision(arn: &str) -> u32 {
    arn.rsplit(':').next().unwrap().parse().unwrap()
}

/// A directory holding only the given executable scripts, to be PATH.
fn bin_dir(dir: &Path, scripts: &[(&str, &str)]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    for (name, text) in scripts {
        let path = bin.join(name);
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    bin
}

#[test]
fn logs_print_the_tasks_lines_with_their_ids_and_exec_says_what_it_needs() {
    let stack = Stack::new("logs");
    stack.up_ok();
    let tasks = stack.running_tasks();
    assert!(!tasks.is_empty(), "the service runs tasks after up.sh");

    // logs: every running task's startup lines, each printed with the task that wrote it.
    let out = stack.ops(&["logs"]).run();
    assert_eq!(out.code, 0, "svc-ops logs failed:\n{}", out.stderr);
    for task in &tasks {
        let started = format!("Backstage backend starting in task {task}");
        let line = out
            .stdout
            .lines()
            .find(|l| l.contains(&started))
            .unwrap_or_else(|| panic!("no startup line of task {task} in:\n{}", out.stdout));
        let fields: Vec<&str> = line.splitn(3, ' ').collect();
        assert_eq!(fields[1], task, "the line names its task: {line}");
        assert!(fields[0].ends_with('Z'), "a UTC timestamp first: {line}");
    }
    assert!(out.stdout.contains("Listening on :7007"), "{}", out.stdout);

    // --filter: CloudWatch's filter pattern; --task: one task's lines.
    let out = stack.ops(&["logs", "--filter", "Listening"]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.is_empty());
    assert!(
        out.stdout.lines().all(|l| l.contains("Listening on")),
        "--filter Listening printed other lines:\n{}",
        out.stdout
    );
    let out = stack.ops(&["logs", "--task", &tasks[0]]).run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(!out.stdout.is_empty());
    assert!(
        out.stdout
            .lines()
            .all(|l| l.split(' ').nth(1) == Some(tasks[0].as_str())),
        "{}",
        out.stdout
    );
    // make logs: the same, on $STACK, with ARGS passed through. (`-o build`: the tools are
    // built; cargo run from inside a test would rebuild under the test's environment.)
    let out = stack
        .emu
        .script("/usr/bin/env")
        .args([
            "make",
            "-s",
            "-o",
            "build",
            "logs",
            "ARGS=--filter Listening",
        ])
        .env("STACK", stack.path())
        .run();
    assert_eq!(out.code, 0, "make logs failed:\n{}", out.stderr);
    assert!(
        !out.stdout.is_empty() && out.stdout.lines().all(|l| l.contains("Listening on")),
        "make logs ARGS=--filter Listening:\n{}",
        out.stdout
    );
    // A bad duration is exit 2, before any call.
    let mark = stack.emu.mark();
    let err = stack.ops(&["logs", "--since", "soon"]).run().fails(2);
    assert!(err.contains("--since"), "{err}");
    assert_eq!(stack.emu.calls_since(mark).total(), 0);

    // exec without the Session Manager plugin: how to install it and the exact command line,
    // exit 2, nothing changed.
    let empty = bin_dir(&stack.dir.join("empty"), &[]);
    let mark = stack.emu.mark();
    let out = stack.ops(&["exec"]).env("PATH", &empty).run();
    let err = out.fails(2);
    assert!(
        err.contains("session-manager-plugin") && err.contains("install"),
        "{err}"
    );
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("aws ecs execute-command"))
        .unwrap_or_else(|| panic!("no aws ecs execute-command line:\n{}", out.stderr));
    let cluster = stack.svc("cluster_name");
    let container = stack.svc("container_name");
    let words: Vec<&str> = line.split(' ').collect();
    let after = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .map(|i| words[i + 1])
            .unwrap_or_else(|| panic!("{flag} missing in {line}"))
    };
    assert_eq!(after("--cluster"), cluster);
    assert!(tasks.iter().any(|t| t == after("--task")), "{line}");
    assert_eq!(after("--container"), container);
    assert_eq!(after("--command"), "/bin/sh");
    assert_eq!(after("--region"), testkit::REGION);
    assert!(words.contains(&"--interactive"), "{line}");
    stack.emu.calls_since(mark).assert_no_mutations();

    // With the plugin and the AWS CLI on PATH, exec runs exactly that line.
    let argv = stack.dir.join("argv");
    let bin = bin_dir(
        &stack.dir.join("tools"),
        &[
            ("session-manager-plugin", "#!/bin/sh\nexit 0\n"),
            ("aws", "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$ARGV_FILE\"\n"),
        ],
    );
    let out = stack
        .ops(&["exec"])
        .env("PATH", &bin)
        .env("ARGV_FILE", &argv)
        .run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    let ran = std::fs::read_to_string(&argv).unwrap();
    let ran: Vec<&str> = ran.lines().collect();
    assert_eq!(ran, words[1..], "exec ran another command than it prints");
}

#[test]
fn rollback_returns_to_the_previous_revision_and_the_next_up_keeps_it() {
    let stack = Stack::new("rollback");
    // With stderr redirected to a file, no output carries an escape character.
    let (code, stdout, stderr) = stack.up_with_stderr_to_file();
    assert_eq!(code, 0, "up.sh failed:\n{stderr}");
    assert!(!stderr.is_empty(), "up.sh reports its progress on stderr");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "escape codes with stderr to a file:\n{stderr}"
    );

    // After up.sh the pipeline's deploy runs a newer revision than svc-up's first one.
    let deployed = stack.service().task_definition().unwrap().to_owned();
    let deployed_rev = revision(&deployed);
    assert!(deployed_rev >= 2, "the pipeline deployed {deployed}");
    let previous = deployed.replace(
        &format!(":{deployed_rev}"),
        &format!(":{}", deployed_rev - 1),
    );
    let previous_image = stack.image_of(&previous);
    assert_ne!(previous_image, stack.image_of(&deployed));

    // Follow the logs while rolling back: the new tasks' lines arrive.
    let mut follow = Command::new(testkit::tool_path("svc-ops"))
        .arg("--in")
        .arg(stack.path())
        .args(["logs", "--follow", "--since", "1h"])
        .env("AWS_ENDPOINT_URL", &stack.emu.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", testkit::REGION)
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = BufReader::new(follow.stdout.take().unwrap());
    std::thread::spawn(move || {
        for line in reader.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });

    // --plan changes nothing; a revision of another family is refused before any write.
    let mark = stack.emu.mark();
    let planned = stack.ops(&["rollback", "--plan"]).run().ok();
    assert_eq!(planned, stack.doc(), "--plan prints the document unchanged");
    let err = stack
        .ops(&["rollback", "--to", "other-family:1"])
        .run()
        .fails(2);
    assert!(err.contains("family"), "{err}");
    // A revision that was never registered: ECS answers a plain ClientException, which is
    // "no such revision", not an AWS failure.
    let family = doc_family(&stack.doc());
    let err = stack
        .ops(&["rollback", "--to", &format!("{family}:999")])
        .run()
        .fails(2);
    assert!(
        err.contains(&format!("{family}:999 does not exist")) && err.lines().count() == 1,
        "{err}"
    );
    stack.emu.calls_since(mark).assert_no_mutations();
    assert_eq!(stack.service().task_definition(), Some(deployed.as_str()));

    // make rollback: rolls back and saves the document.
    let out = stack
        .emu
        .script("/usr/bin/env")
        .args(["make", "-s", "-o", "build", "rollback"])
        .env("STACK", stack.path())
        .run();
    assert_eq!(out.code, 0, "make rollback failed:\n{}", out.stderr);
    let doc = stack.doc();

    // The service runs the previous revision, settled (rollback waited for it).
    let s = stack.service();
    assert_eq!(s.task_definition(), Some(previous.as_str()), "{s:?}");
    assert_eq!(s.deployments().len(), 1, "{:?}", s.deployments());
    assert_eq!(s.running_count(), s.desired_count());
    assert_eq!(doc["svc"]["task_definition_arn"], previous.as_str());
    assert_eq!(doc["svc"]["image"], previous_image.as_str());

    // The follower printed the rolled-back tasks' startup lines.
    let wanted = format!("(image {previous_image})");
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = Vec::new();
    while !seen.iter().any(|l: &String| l.contains(&wanted)) {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) => seen.push(line),
            Err(_) => panic!("logs --follow never showed {wanted}:\n{}", seen.join("\n")),
        }
    }
    let _ = follow.kill();
    let _ = follow.wait();

    // The next up.sh keeps the rollback: it changes nothing.
    let mark = stack.emu.mark();
    stack.up_ok();
    let calls = stack.emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(
        stack.service().task_definition(),
        Some(previous.as_str()),
        "up.sh undid the rollback"
    );
    assert_eq!(stack.doc()["svc"]["task_definition_arn"], previous.as_str());

    // --to names a revision: back to the pipeline's.
    let doc = stack
        .ops(&["rollback", "--to", &deployed_rev.to_string()])
        .run()
        .ok();
    assert_eq!(stack.service().task_definition(), Some(deployed.as_str()));
    assert_eq!(doc["svc"]["task_definition_arn"], deployed.as_str());
}

#[test]
fn rollback_passes_over_a_copy_of_the_running_revision() {
    let stack = Stack::new("rollback-copy");
    stack.up_ok();
    let deployed = stack.service().task_definition().unwrap().to_owned();
    let d = revision(&deployed);
    let earlier = deployed.replace(&format!(":{d}"), &format!(":{}", d - 1));
    assert_ne!(stack.image_of(&earlier), stack.image_of(&deployed));

    // The running definition registered again, as a retried registration whose first answer
    // was lost leaves it, and the copy deployed: a rollback to the revision just before the
    // running one would change nothing.
    let c = ecs::Client::new(&stack.emu.sdk());
    let td = stack
        .emu
        .block_on(
            c.describe_task_definition()
                .task_definition(&deployed)
                .send(),
        )
        .expect("describe task definition")
        .task_definition
        .unwrap();
    let copy = stack
        .emu
        .block_on(
            c.register_task_definition()
                .family(td.family().unwrap())
                .set_container_definitions(td.container_definitions.clone())
                .set_task_role_arn(td.task_role_arn.clone())
                .set_execution_role_arn(td.execution_role_arn.clone())
                .set_network_mode(td.network_mode.clone())
                .set_requires_compatibilities(td.requires_compatibilities.clone())
                .set_cpu(td.cpu.clone())
                .set_memory(td.memory.clone())
                .set_volumes(td.volumes.clone())
                .set_runtime_platform(td.runtime_platform.clone())
                .send(),
        )
        .expect("register the copy")
        .task_definition
        .unwrap()
        .task_definition_arn
        .unwrap();
    stack
        .emu
        .block_on(
            c.update_service()
                .cluster(stack.svc("cluster_name"))
                .service(stack.svc("service_name"))
                .task_definition(&copy)
                .send(),
        )
        .expect("deploy the copy");

    let out = stack.ops(&["rollback"]).run();
    let doc = out.ok();
    let family = td.family().unwrap();
    assert!(
        out.stderr.contains(&format!(
            "skipping {family}:{d}: the same definition as {family}:{}",
            d + 1
        )),
        "{}",
        out.stderr
    );
    // An independent look: the service runs the revision before the copies, and the
    // document says so.
    assert_eq!(stack.service().task_definition(), Some(earlier.as_str()));
    assert_eq!(doc["svc"]["task_definition_arn"], earlier.as_str());
}

/// The task definition family of the document's service ("backstage" from ".../backstage:3").
fn doc_family(doc: &serde_json::Value) -> String {
    let arn = doc["svc"]["task_definition_arn"]
        .as_str()
        .expect("svc.task_definition_arn");
    let (family, _rev) = arn.rsplit('/').next().unwrap().split_once(':').unwrap();
    family.to_owned()
}
