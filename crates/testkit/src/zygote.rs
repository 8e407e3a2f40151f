//! Emulators forked from one warm process per checkout, instead of a new Python each time.
//!
//! A fresh emulator costs 2-3 s of CPU (importing moto and the layer, then IAM's managed
//! policies on the first call); a suite of some 300 emulator tests spent minutes of its two
//! cores on that alone. `python -m stagehand_emulator --zygote SOCKET` pays it once and forks
//! a fresh emulator per connection (see emulator/stagehand_emulator/server.py): each test still
//! gets a process of its own, with nothing in it from another test. The first test to find no
//! zygote starts one, under a lock; the zygote exits when idle or when its sources change.
//! `STAGEHAND_TEST_ZYGOTE=0` starts a new Python per test, as before.

use std::fs::File;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::{BufRead, BufReader};
use std::os::unix::net::UnixStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// An emulator forked by the zygote: it serves until this connection closes.
pub(crate) struct Forked {
    pub url: String,
    // Closed on drop: the emulator sees the end of its connection and exits.
    _conn: UnixStream,
}

enum Answer {
    Ready(Forked),
    /// The zygote's sources changed since it started: it has exited; start another.
    Stale,
}

/// A forked emulator, or None when the zygote is turned off or cannot be started (the caller
/// then starts a Python of its own).
pub(crate) fn fork(python: &Path, emulator_dir: &Path) -> Option<Forked> {
    if std::env::var_os("STAGEHAND_TEST_ZYGOTE").is_some_and(|v| v == "0") {
        return None;
    }
    let socket = socket_path(emulator_dir);
    for _ in 0..3 {
        if let Some(Answer::Ready(forked)) = ask(&socket) {
            return Some(forked);
        }
        // None or Stale: start one, once between all the tests that found none just now. The
        // lock is on the emulator's directory itself (flock works on a directory's descriptor),
        // so no lock file is left behind.
        let lock = File::open(emulator_dir).ok()?;
        lock.lock().ok()?;
        match ask(&socket) {
            Some(Answer::Ready(forked)) => return Some(forked),
            _ => start(python, emulator_dir, &socket)?,
        }
    }
    None
}

/// One socket per checkout and emulator settings: a worktree's tests never get another
/// checkout's emulator code, nor a run with STAGEHAND_EMULATOR_VALIDATION=report an emulator
/// started without it.
fn socket_path(emulator_dir: &Path) -> PathBuf {
    let mut h = DefaultHasher::new();
    emulator_dir.hash(&mut h);
    let mut settings: Vec<_> = std::env::vars_os()
        .filter(|(k, _)| {
            let k = k.to_string_lossy();
            k.starts_with("STAGEHAND_EMULATOR_")
                || k.starts_with("MOTO_")
                || k == "AWS_DEFAULT_REGION"
        })
        .collect();
    settings.sort();
    settings.hash(&mut h);
    let uid = std::fs::metadata(emulator_dir)
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m))
        .unwrap_or(0);
    std::env::temp_dir().join(format!("stagehand-emulator-{uid}-{:016x}.sock", h.finish()))
}

fn ask(socket: &Path) -> Option<Answer> {
    let conn = UnixStream::connect(socket).ok()?;
    // A fork answers in milliseconds; a loaded machine may take seconds.
    conn.set_read_timeout(Some(Duration::from_secs(60))).ok()?;
    let mut line = String::new();
    BufReader::new(conn.try_clone().ok()?)
        .read_line(&mut line)
        .ok()?;
    conn.set_read_timeout(None).ok()?;
    let mut words = line.split_whitespace();
    match words.next() {
        Some("READY") => Some(Answer::Ready(Forked {
            url: words.next()?.to_owned(),
            _conn: conn,
        })),
        Some("STALE") => Some(Answer::Stale),
        _ => None,
    }
}

/// Start a zygote (called under the lock) and wait until it listens.
fn start(python: &Path, emulator_dir: &Path, socket: &Path) -> Option<()> {
    // A socket file left by a zygote that died: nobody answers on it.
    let _ = std::fs::remove_file(socket);
    let mut child = Command::new(python)
        .args(["-m", "stagehand_emulator", "--zygote"])
        .arg(socket)
        .current_dir(emulator_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Its own process group: it outlives this test and serves the next ones.
        .process_group(0)
        .spawn()
        .ok()?;
    let deadline = Instant::now() + Duration::from_secs(120);
    while Instant::now() < deadline {
        if socket.exists() {
            return Some(());
        }
        if child.try_wait().ok()?.is_some() {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    None
}
