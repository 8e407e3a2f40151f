//! Test support for stagehand: one emulator per test, the real tools run as processes, and
//! AWS clients for independent describe calls (never the tools' own code).
//!
//! ```no_run
//! let emu = testkit::Emulator::start();
//! let out = emu.tool("secrets-init").env("GITHUB_TOKEN", "ghp_x").run();
//! out.assert_ok();
//! ```

pub mod control;
pub mod fixtures;
pub mod inventory;
pub mod pipeline;
pub mod stack;
mod zygote;

pub use control::{Fault, FaultKind, Holds};

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};

pub use aws_sdk_cloudwatchlogs as logs;
pub use aws_sdk_codebuild as codebuild;
pub use aws_sdk_codepipeline as codepipeline;
pub use aws_sdk_codestarnotifications as codestar;
pub use aws_sdk_ec2 as ec2;
pub use aws_sdk_ecr as ecr;
pub use aws_sdk_ecs as ecs;
pub use aws_sdk_elasticloadbalancingv2 as elbv2;
pub use aws_sdk_iam as iam;
pub use aws_sdk_rds as rds;
pub use aws_sdk_s3 as s3;
pub use aws_sdk_secretsmanager as secretsmanager;
pub use aws_sdk_servicediscovery as servicediscovery;
pub use aws_sdk_sns as sns;
pub use aws_sdk_ssm as ssm;
pub use serde_json::{Value, json};

pub const REGION: &str = "us-west-2";
pub const ACCOUNT: &str = "123456789012";

/// The workspace root (tests run from their crate's directory).
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// A tool binary built by `cargo build --workspace` (the Makefile's test target builds first).
pub fn tool_path(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    // target/debug/deps/<test> → target/debug/<tool>
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace` first (make test does)",
        path.display()
    );
    path
}

/// One emulator process, on a free port of 127.0.0.1, stopped when dropped (and when the
/// test process dies, since it exits when its stdin closes).
pub struct Emulator {
    pub url: String,
    process: Process,
    runtime: tokio::runtime::Runtime,
}

enum Process {
    /// Forked by the checkout's zygote (see zygote.rs): ends when its connection closes.
    Forked { _connection: zygote::Forked },
    /// A Python of its own: ends when killed, or when its stdin closes.
    Own { child: Child, _stdin: ChildStdin },
}

impl Emulator {
    pub fn start() -> Emulator {
        let python = root().join("emulator/.venv/bin/python");
        assert!(
            python.exists(),
            "the emulator is not installed; run `make emulator` (make test does)"
        );
        let (url, process) = match zygote::fork(&python, &root().join("emulator")) {
            Some(forked) => (
                forked.url.clone(),
                Process::Forked {
                    _connection: forked,
                },
            ),
            None => Self::own(&python),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        Emulator {
            url,
            process,
            runtime,
        }
    }

    fn own(python: &Path) -> (String, Process) {
        let mut child = Command::new(python)
            .args([
                "-m",
                "stagehand_emulator",
                "--port",
                "0",
                "--exit-with-stdin",
            ])
            .current_dir(root().join("emulator"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the emulator");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read the emulator's READY line");
        let url = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| panic!("emulator did not start: {line:?}"))
            .to_owned();
        let stdin = child.stdin.take().expect("emulator stdin");
        (
            url,
            Process::Own {
                child,
                _stdin: stdin,
            },
        )
    }

    /// A tool process aimed at this emulator, with a clean AWS environment.
    pub fn tool(&self, name: &str) -> Tool {
        self.command(name, Command::new(tool_path(name)))
    }

    /// A script of the project (path relative to the workspace root, e.g. "scripts/up.sh"),
    /// or `make` with targets, aimed at this emulator like [`Emulator::tool`].
    pub fn script(&self, path: &str) -> Tool {
        let mut cmd = Command::new(root().join(path));
        cmd.current_dir(root());
        self.command(path, cmd)
    }

    fn command(&self, name: &str, mut cmd: Command) -> Tool {
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            // A test starts from a clean shell: nothing from the caller's
            // AWS setup, secrets, or the variables `make` exports (`make test`
            // exports STACK, which the tools read as their document).
            if key.starts_with("AWS_")
                || key.starts_with("STAGEHAND_")
                || key.ends_with("_ARGS")
                || matches!(
                    key.as_str(),
                    "GITHUB_TOKEN"
                        | "POSTGRES_PASSWORD"
                        | "STACK"
                        | "ARGS"
                        | "REPO_OWNER"
                        | "REPO_NAME"
                        | "REPO_BRANCH"
                        | "CONNECTION_ARN"
                        | "AUTO_APPROVE"
                        | "NO_WAIT"
                        | "MAKEFLAGS"
                        | "MFLAGS"
                        | "MAKELEVEL"
                )
            {
                cmd.env_remove(&key);
            }
        }
        cmd.env("AWS_ENDPOINT_URL", &self.url)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", REGION)
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null");
        Tool {
            name: name.to_owned(),
            cmd,
            stdin: Vec::new(),
        }
    }

    /// A control call to the emulator (`/_stagehand/<what>`): its JSON answer. Panics when the
    /// emulator refuses it (an unknown key is a 400), so a mistyped control fails its test.
    pub fn control(&self, method: &str, what: &str, body: Option<&Value>) -> Value {
        let url = format!("{}/_stagehand/{what}", self.url);
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let out = Command::new("curl")
            .args([
                "-s",
                "--fail-with-body",
                "-X",
                method,
                "-H",
                "Content-Type: application/json",
                "--data-binary",
                &body,
                &url,
            ])
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "emulator control {what} failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        serde_json::from_slice(&out.stdout).expect("control answer is JSON")
    }

    /// The number of calls so far; pass it to [`Emulator::calls_since`].
    pub fn mark(&self) -> u64 {
        self.control("GET", "mark", None)["mark"]
            .as_u64()
            .expect("mark")
    }

    /// The calls made since `mark`, by service and action, with the mutating ones listed.
    pub fn calls_since(&self, mark: u64) -> Calls {
        Calls(self.control("GET", &format!("calls?since={mark}&detail=1"), None))
    }

    /// Inject faults (replacing any still armed): `emu.inject(&[Fault::throttle("secretsmanager", "CreateSecret").times(2)])`.
    pub fn inject(&self, faults: &[Fault]) {
        let spec: Vec<Value> = faults.iter().map(Fault::to_json).collect();
        self.control("POST", "faults", Some(&Value::Array(spec)));
    }

    /// Raw fault spec; prefer [`Emulator::inject`].
    pub fn faults(&self, spec: Value) {
        self.control("POST", "faults", Some(&spec));
    }

    /// Hold new resources in provisioning states: `emu.hold(Holds { alb_s: Some(2.0), ..Default::default() })`.
    pub fn hold(&self, holds: Holds) {
        self.control("POST", "holds", Some(&holds.to_json()));
    }

    /// Raw holds (unknown keys fail); prefer [`Emulator::hold`].
    pub fn holds(&self, spec: Value) {
        self.control("POST", "holds", Some(&spec));
    }

    /// Every call's added latency, in milliseconds.
    pub fn latency(&self, ms: u64) {
        self.control("POST", "latency", Some(&json!({"ms": ms})));
    }

    /// Reset every service's state (moto's and the fidelity layer's) to a fresh account, so
    /// that one emulator can serve many cases of a test; faults, holds and the call log stay
    /// (arm faults per case; count calls from a mark).
    pub fn reset(&self) {
        let out = Command::new("curl")
            .args(["-s", "--fail-with-body", "-X", "POST"])
            .arg(format!("{}/moto-api/reset", self.url))
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "emulator reset failed: {}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// An AWS SDK config aimed at the emulator, for independent describe calls.
    pub fn sdk(&self) -> aws_config::SdkConfig {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        self.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(http)
                .region(aws_config::Region::new(REGION))
                .endpoint_url(&self.url)
                .credentials_provider(aws_sdk_iam::config::Credentials::new(
                    "test", "test", None, None, "testkit",
                ))
                .load(),
        )
    }

    /// Run an async SDK call from a synchronous test.
    pub fn block_on<F: std::future::Future>(&self, f: F) -> F::Output {
        self.runtime.block_on(f)
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        if let Process::Own { child, .. } = &mut self.process {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A tool invocation being built.
pub struct Tool {
    name: String,
    cmd: Command,
    stdin: Vec<u8>,
}

impl Tool {
    pub fn arg(mut self, arg: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.arg(arg);
        self
    }
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.cmd.args(args);
        self
    }
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.cmd.env(key, value);
        self
    }
    pub fn env_remove(mut self, key: &str) -> Self {
        self.cmd.env_remove(key);
        self
    }
    /// The document on stdin (a previous tool's stdout).
    pub fn stdin(mut self, doc: impl AsRef<[u8]>) -> Self {
        self.stdin = doc.as_ref().to_vec();
        self
    }
    pub fn doc(self, doc: &Value) -> Self {
        self.stdin(doc.to_string())
    }

    /// Start the run without waiting, in a process group of its own; see [`Running`].
    pub fn spawn(mut self) -> Running {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        let mut child = self
            .cmd
            .process_group(0)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tool");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = std::mem::take(&mut self.stdin);
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let reader = |mut pipe: Box<dyn Read + Send>| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = pipe.read_to_end(&mut buf);
                buf
            })
        };
        let out = reader(Box::new(child.stdout.take().expect("stdout")));
        let err = reader(Box::new(child.stderr.take().expect("stderr")));
        Running {
            tool: self.name,
            child,
            out: Some(out),
            err: Some(err),
        }
    }

    pub fn run(mut self) -> Output {
        let mut child = self
            .cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn tool");
        let mut stdin = child.stdin.take().expect("stdin");
        let input = std::mem::take(&mut self.stdin);
        let writer = std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
        let out = child.wait_with_output().expect("wait for tool");
        writer.join().expect("stdin writer");
        Output {
            tool: self.name,
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// A tool or script started with [`Tool::spawn`], in a process group of its own (with its
/// children), so that a test can kill the whole run as a crash or `kill -9` would.
pub struct Running {
    tool: String,
    child: Child,
    out: Option<std::thread::JoinHandle<Vec<u8>>>,
    err: Option<std::thread::JoinHandle<Vec<u8>>>,
}

impl Running {
    /// SIGKILL to the run's whole process group (the script and every tool it started).
    pub fn kill(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    }

    /// Whether the run has exited.
    pub fn finished(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Wait for the run to end (after a kill: code -1).
    pub fn wait(mut self) -> Output {
        let status = self.child.wait().expect("wait for tool");
        let stdout = self
            .out
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        let stderr = self
            .err
            .take()
            .map(|h| h.join().unwrap())
            .unwrap_or_default();
        Output {
            tool: self.tool.clone(),
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if !self.finished() {
            self.kill();
            let _ = self.child.wait();
        }
    }
}

/// What a tool run produced.
#[derive(Debug)]
pub struct Output {
    pub tool: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Exit 0 with a JSON document on stdout; returns the document.
    pub fn ok(&self) -> Value {
        assert_eq!(
            self.code, 0,
            "{} failed (exit {}):\n{}",
            self.tool, self.code, self.stderr
        );
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "{} printed no JSON document ({e}):\n{}",
                self.tool, self.stdout
            )
        })
    }

    /// Exit `code`, nothing on stdout, and exactly one `tool: error: ...` line on stderr,
    /// which is returned.
    pub fn fails(&self, code: i32) -> String {
        assert_eq!(
            self.code, code,
            "{} exited {} instead of {code}:\nstdout: {}\nstderr: {}",
            self.tool, self.code, self.stdout, self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "{} printed to stdout on failure: {}",
            self.tool,
            self.stdout
        );
        let errors: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| l.contains("error:"))
            .collect();
        assert_eq!(
            errors.len(),
            1,
            "{} should print one error line:\n{}",
            self.tool,
            self.stderr
        );
        errors[0].to_owned()
    }

    /// Neither stdout nor stderr contains `secret`.
    pub fn assert_never_shows(&self, secret: &str) {
        assert!(
            !self.stdout.contains(secret),
            "{} leaked a secret value to stdout",
            self.tool
        );
        assert!(
            !self.stderr.contains(secret),
            "{} leaked a secret value to stderr",
            self.tool
        );
    }
}

/// The emulator's account of calls since a mark.
#[derive(Debug, Clone)]
pub struct Calls(pub Value);

impl Calls {
    pub fn total(&self) -> u64 {
        self.0["total"].as_u64().unwrap_or(0)
    }
    pub fn mutating(&self) -> u64 {
        self.0["mutating"].as_u64().unwrap_or(0)
    }
    pub fn read_only(&self) -> u64 {
        self.0["read_only"].as_u64().unwrap_or(0)
    }
    /// "service:Action" of each mutating call kind.
    pub fn mutating_actions(&self) -> Vec<String> {
        self.0["mutating_actions"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
    /// How many times "service:Action" was called.
    pub fn count(&self, action: &str) -> u64 {
        self.0["by_action"][action].as_u64().unwrap_or(0)
    }
    /// The recorded requests (secret fields redacted by the emulator).
    pub fn requests(&self) -> Vec<Value> {
        self.0["requests"].as_array().cloned().unwrap_or_default()
    }
    pub fn assert_no_mutations(&self) {
        assert_eq!(
            self.mutating(),
            0,
            "expected zero mutating calls, got: {:?}",
            self.mutating_actions()
        );
    }
    /// No mutating call to `service` ("ecr"): another step owns its resources.
    pub fn assert_no_mutations_of(&self, service: &str) {
        let prefix = format!("{service}:");
        let theirs: Vec<String> = self
            .mutating_actions()
            .into_iter()
            .filter(|a| a.starts_with(&prefix))
            .collect();
        assert!(
            theirs.is_empty(),
            "expected no {service} write, got: {theirs:?}"
        );
    }
}

/// The tags of a resource as a map, from any SDK's tag list.
pub fn tag_map<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> std::collections::BTreeMap<String, String> {
    tags.into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}
