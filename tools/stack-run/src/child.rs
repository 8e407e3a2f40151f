//! Running one tool: the document on its stdin, its document from its stdout, its stderr
//! relayed line by line (so lines of steps running side by side never overwrite each other).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::progress::Progress;

/// What one tool run gave.
pub struct Ran {
    /// Exit code (-1 when killed by a signal).
    pub code: i32,
    pub stdout: String,
}

impl Ran {
    pub fn ok(&self) -> bool {
        self.code == 0
    }
}

/// A tool run whose stderr was kept, to be shown later (or never: a plan made on a guess
/// about its input that turned out wrong).
pub struct Buffered {
    pub ran: Ran,
    pub stderr: Vec<String>,
    pub took: Duration,
}

impl Buffered {
    /// Show what it printed and how it ended, as [`run`] would have while it ran.
    pub fn show(&self, tool: &str, progress: &Progress) {
        for line in &self.stderr {
            progress.line(line);
        }
        let how = if self.ran.ok() { "done" } else { "failed" };
        progress.say(&format!(
            "{tool} {how} in {}",
            crate::progress::human(self.took)
        ));
    }
}

/// Run `bin/tool args…` with `input` on stdin, keeping its stderr.
pub fn run_buffered(bin: &Path, tool: &str, args: &[String], input: &str) -> Buffered {
    let started = Instant::now();
    let path = bin.join(tool);
    let mut command = Command::new(&path);
    if let Some((key, value)) = crate::caller::env() {
        command.env(key, value);
    }
    let out = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            let mut stdin = child.stdin.take().expect("piped stdin");
            let input = input.to_owned();
            let writer = std::thread::spawn(move || {
                let _ = stdin.write_all(input.as_bytes());
            });
            let out = child.wait_with_output();
            let _ = writer.join();
            out
        });
    let took = started.elapsed();
    match out {
        Ok(out) => Buffered {
            ran: Ran {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            },
            stderr: String::from_utf8_lossy(&out.stderr)
                .lines()
                .map(str::to_owned)
                .collect(),
            took,
        },
        Err(e) => Buffered {
            ran: Ran {
                code: 2,
                stdout: String::new(),
            },
            stderr: vec![format!(
                "{tool}: error: cannot run {}: {e}; run 'make build' (or set STAGEHAND_BIN)",
                path.display()
            )],
            took,
        },
    }
}

/// Run `bin/tool args…` with `input` on stdin, relaying its stderr through `progress`.
pub fn run(bin: &Path, tool: &str, args: &[String], input: &str, progress: &Progress) -> Ran {
    let started = Instant::now();
    let path = bin.join(tool);
    let mut command = Command::new(&path);
    if let Some((key, value)) = crate::caller::env() {
        command.env(key, value);
    }
    let spawned = command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(c) => c,
        Err(e) => {
            progress.line(&format!(
                "{tool}: error: cannot run {}: {e}; run 'make build' (or set STAGEHAND_BIN)",
                path.display()
            ));
            return Ran {
                code: 2,
                stdout: String::new(),
            };
        }
    };
    let task = progress.start(tool);
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let stderr = child.stderr.take().expect("piped stderr");
    let relay = {
        let task = task.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                match line {
                    Ok(l) => task.line(&l),
                    Err(_) => break,
                }
            }
        })
    };
    let mut stdout = String::new();
    let _ = child
        .stdout
        .take()
        .expect("piped stdout")
        .read_to_string(&mut stdout);
    let status = child.wait();
    let _ = writer.join();
    let _ = relay.join();
    let code = status.ok().and_then(|s| s.code()).unwrap_or(-1);
    task.finish(code == 0, started.elapsed());
    Ran { code, stdout }
}
