//! `svc-ops logs`: the service's log lines from its CloudWatch log group (the document's
//! `svc.log_group`), oldest first, each with the task that wrote it: the awslogs driver names
//! a task's stream `<prefix>/<container>/<task id>`.
//!
//! `--follow` keeps polling FilterLogEvents from the newest line seen, quickly while lines
//! arrive and backing off to a few seconds while none do (AWS allows a few FilterLogEvents
//! calls a second per account; `aws logs tail --follow` polls the same way).

use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sdk_cloudwatchlogs::Client;
use kit::{AwsContext, Error, Result};
use serde_json::json;

use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// How far back to start: 30s, 10m, 1h, 2d …
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_since)]
    pub since: Duration,
    /// Keep printing new lines as the tasks write them (until interrupted)
    #[arg(long, short = 'f')]
    pub follow: bool,
    /// Only the lines matching this CloudWatch Logs filter pattern (e.g. ERROR, "\"level\":\"error\"",
    /// or a JSON pattern such as '{ $.level = "error" }')
    #[arg(long, value_name = "PATTERN")]
    pub filter: Option<String>,
    /// Only the lines of this task (its id as printed, or a prefix of it)
    #[arg(long, value_name = "TASK_ID")]
    pub task: Option<String>,
    /// One JSON object per line ({"timestamp", "task", "stream", "message"}) for scripts
    #[arg(long)]
    pub json: bool,
}

/// "10m", "1h", "2d" (humantime's forms): more than zero.
fn parse_since(text: &str) -> std::result::Result<Duration, String> {
    let d = humantime::parse_duration(text.trim())
        .map_err(|_| format!("'{text}' is not a duration; use e.g. 30s, 10m, 1h or 2d"))?;
    if d.is_zero() {
        return Err(format!(
            "'{text}' is zero; give how far back to start, e.g. 10m"
        ));
    }
    Ok(d)
}

/// One log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub id: String,
    pub timestamp: i64,
    pub stream: String,
    pub message: String,
}

impl Line {
    /// The task id the awslogs driver put at the end of the stream name.
    pub fn task(&self) -> &str {
        crate::task_id(&self.stream)
    }

    fn render(&self, json: bool) -> String {
        let when = timestamp(self.timestamp);
        let message = self.message.trim_end_matches(['\n', '\r']);
        if json {
            json!({
                "timestamp": when,
                "task": self.task(),
                "stream": self.stream,
                "message": message,
            })
            .to_string()
        } else {
            format!("{when} {} {message}", self.task())
        }
    }
}

/// Milliseconds since the epoch as RFC 3339 UTC with milliseconds.
fn timestamp(ms: i64) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

pub async fn run(cli: &Cli, args: &Args) -> Result<()> {
    let stack = cli.stack().await?;
    let logs = Client::new(&stack.sdk);
    let group = stack.svc.log_group.clone();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default();
    let mut start = now_ms.saturating_sub(args.since.as_millis() as i64);
    kit::debug!(
        "log group {group} of ECS service {}, from {}",
        stack.svc.service_name,
        timestamp(start)
    );
    // Ids of the lines already printed at the newest timestamp: the next poll starts at that
    // timestamp (inclusive), so lines written in the same millisecond are not lost.
    let mut seen_at_start: HashSet<String> = HashSet::new();
    let mut interval = FIRST_INTERVAL;
    let mut printed = 0usize;
    loop {
        let lines = fetch(&logs, &group, start, args.filter.as_deref()).await?;
        let mut new = 0usize;
        for line in lines {
            if seen_at_start.contains(&line.id) {
                continue;
            }
            if line.timestamp > start {
                start = line.timestamp;
                seen_at_start.clear();
            }
            seen_at_start.insert(line.id.clone());
            if args
                .task
                .as_deref()
                .is_some_and(|t| !line.task().starts_with(t))
            {
                continue;
            }
            if !print(&line.render(args.json)) {
                return Ok(()); // the reader went away (`| head`)
            }
            new += 1;
        }
        printed += new;
        if !args.follow {
            if printed == 0 {
                kit::info!(
                    "no log lines in log group {group} in the last {}{}",
                    humantime::format_duration(args.since),
                    args.filter
                        .as_deref()
                        .map(|f| format!(" matching {f}"))
                        .unwrap_or_default()
                );
            }
            return Ok(());
        }
        interval = if new > 0 {
            FIRST_INTERVAL
        } else {
            (interval * 3 / 2).min(MAX_INTERVAL)
        };
        tokio::time::sleep(interval).await;
    }
}

const FIRST_INTERVAL: Duration = Duration::from_millis(500);
const MAX_INTERVAL: Duration = Duration::from_secs(5);

/// Every line of the group from `start_ms` on (all pages), oldest first.
async fn fetch(
    logs: &Client,
    group: &str,
    start_ms: i64,
    pattern: Option<&str>,
) -> Result<Vec<Line>> {
    let mut lines = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = logs
            .filter_log_events()
            .log_group_name(group)
            .start_time(start_ms)
            .set_filter_pattern(pattern.map(str::to_owned))
            .set_next_token(token.take())
            .send()
            .await;
        let out = match out {
            Err(e) if kit::aws::is_not_found(&e) => {
                return Err(Error::from_sdk(format!("reading log group {group}"), e)
                    .context_message(format!(
                        "log group {group} does not exist; svc-up creates it (make svc)"
                    )));
            }
            other => other.ctx(format!("reading log group {group}"))?,
        };
        for e in out.events() {
            lines.push(Line {
                id: e.event_id().unwrap_or_default().to_owned(),
                timestamp: e.timestamp().unwrap_or_default(),
                stream: e.log_stream_name().unwrap_or_default().to_owned(),
                message: e.message().unwrap_or_default().to_owned(),
            });
        }
        match out.next_token() {
            Some(t) if !t.is_empty() && !out.events().is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    // Streams interleave; a stable sort keeps each stream's own order within a millisecond.
    lines.sort_by_key(|l| l.timestamp);
    Ok(lines)
}

/// One line on stdout; false when stdout is closed.
fn print(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since() {
        assert_eq!(parse_since("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_since("2d"), Ok(Duration::from_secs(172_800)));
        assert!(parse_since("0s").unwrap_err().contains("zero"));
        assert!(parse_since("soon").is_err());
    }

    #[test]
    fn a_line_shows_its_task() {
        let line = Line {
            id: "1".into(),
            timestamp: 1_796_000_000_123,
            stream: "ecs/backstage/0123456789abcdef".into(),
            message: "Listening on :7007\n".into(),
        };
        assert_eq!(line.task(), "0123456789abcdef");
        let text = line.render(false);
        assert!(
            text.ends_with(" 0123456789abcdef Listening on :7007"),
            "{text}"
        );
        assert!(text.starts_with("2026-"), "{text}");
        let json: serde_json::Value = serde_json::from_str(&line.render(true)).unwrap();
        assert_eq!(json["task"], "0123456789abcdef");
        assert_eq!(json["message"], "Listening on :7007");
    }
}
