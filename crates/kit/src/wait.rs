//! Waiting for AWS to finish something, with progress on stderr and a deadline.
//!
//! Polls with a short first interval and backoff (no fixed sleeps): the emulator answers in
//! milliseconds, real AWS in minutes, and both are served well. A spinner is drawn when
//! stderr is a terminal; otherwise one plain line per state change.

use std::future::Future;
use std::io::IsTerminal;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

use crate::{Cx, Error, Result};

/// One poll's answer.
pub enum Poll<T> {
    /// Finished, with a value.
    Ready(T),
    /// Not yet; the state to show ("creating", "2/3 tasks running").
    Pending(String),
}

const FIRST_INTERVAL: Duration = Duration::from_millis(200);
const MAX_INTERVAL: Duration = Duration::from_secs(15);

/// The longest pause between polls: 15 s, which suits AWS's minutes. A benchmark that plays
/// AWS's provisioning times on a faster clock (scripts/bench.sh REAL_TIMES=1, at 1/60) scales
/// it alike with STAGEHAND_WAIT_MAX_INTERVAL_MS.
fn max_interval() -> Duration {
    std::env::var("STAGEHAND_WAIT_MAX_INTERVAL_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .filter(|ms| *ms > 0)
        .map_or(MAX_INTERVAL, |ms| {
            Duration::from_millis(ms).min(MAX_INTERVAL)
        })
}

/// Poll `check` until it is ready, the run's `--timeout` passes (exit 3), or it fails.
pub async fn until<T, F, Fut>(cx: &Cx, what: &str, check: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    until_deadline(cx.tool, cx.deadline, cx.common.quiet, what, check).await
}

/// [`until`] for a tool that is not a step (no [`Cx`]): its name for the progress lines, its
/// deadline, and whether it is quiet.
pub async fn until_deadline<T, F, Fut>(
    tool: &'static str,
    deadline: Instant,
    quiet: bool,
    what: &str,
    mut check: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>>>,
{
    let started = Instant::now();
    let progress = Progress::start(tool, quiet, what);
    let mut interval = FIRST_INTERVAL;
    let mut last_state = String::new();
    loop {
        match check().await {
            Ok(Poll::Ready(value)) => {
                progress.finish(&format!("{what}: ready after {}", human(started.elapsed())));
                return Ok(value);
            }
            Ok(Poll::Pending(state)) => {
                if state != last_state {
                    progress.state(&format!("{what}: {state}"));
                    last_state = state;
                }
            }
            Err(e) => {
                progress.abandon();
                return Err(e);
            }
        }
        let now = Instant::now();
        if now >= deadline {
            progress.abandon();
            return Err(Error::timeout(format!(
                "timed out after {} waiting for {what} (last state: {last_state}); rerun the same command to keep waiting, or raise --timeout",
                human(started.elapsed())
            )));
        }
        tokio::time::sleep(interval.min(deadline - now)).await;
        interval = (interval * 3 / 2).min(max_interval());
    }
}

/// Retry `attempt` while `retryable` says the error is transient (DependencyViolation while
/// ENIs drain, a role IAM has not propagated yet), with backoff, until the deadline.
pub async fn retrying<T, E, F, Fut>(
    cx: &Cx,
    what: &str,
    retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: aws_smithy_types::error::metadata::ProvideErrorMetadata
        + std::error::Error
        + Send
        + Sync
        + 'static,
{
    let mut interval = FIRST_INTERVAL;
    let mut noted = false;
    loop {
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(e) if retryable(&e) && Instant::now() < cx.deadline => {
                if !noted {
                    crate::info!("{what}: {}; retrying", crate::aws::describe(&e));
                    noted = true;
                }
                tokio::time::sleep(
                    interval.min(cx.deadline.saturating_duration_since(Instant::now())),
                )
                .await;
                interval = (interval * 3 / 2).min(MAX_INTERVAL);
            }
            Err(e) if retryable(&e) => {
                let still = format!("still {}", crate::aws::describe(&e));
                return Err(Error::from_sdk(what, e)
                    .with_kind(crate::Kind::Timeout)
                    .context_message(format!(
                        "{what}: {still} at the deadline; rerun later or raise --timeout"
                    )));
            }
            Err(e) => return Err(Error::from_sdk(what, e)),
        }
    }
}

fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}

struct Progress {
    tool: &'static str,
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    fn start(tool: &'static str, quiet: bool, what: &str) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                    .expect("valid template"),
            );
            bar.set_prefix(tool);
            bar.set_message(format!("waiting for {what}"));
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress { tool, bar, quiet }
    }

    fn state(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.set_message(line.to_owned()),
            None if !self.quiet => eprintln!("{}: waiting: {line}", self.tool),
            None => {}
        }
    }

    fn finish(&self, line: &str) {
        match &self.bar {
            Some(bar) => bar.finish_with_message(line.to_owned()),
            None if !self.quiet => eprintln!("{}: {line}", self.tool),
            None => {}
        }
    }

    fn abandon(&self) {
        if let Some(bar) = &self.bar {
            bar.abandon();
        }
    }
}
