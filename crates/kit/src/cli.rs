//! The flags every tool shares, and how a tool's own flags join them.

use std::path::PathBuf;
use std::time::Duration;

/// Flags common to every stagehand tool.
#[derive(clap::Args, Debug, Clone)]
pub struct Common {
    /// Show what would change (create / update / unchanged) with read-only calls only, and
    /// print the planned document
    #[arg(long, conflicts_with = "destroy", help_heading = "Mode")]
    pub plan: bool,
    /// Also write the plan as JSON to FILE (the actions per resource, with the changed
    /// fields); implies --plan
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "destroy",
        help_heading = "Mode"
    )]
    pub plan_json: Option<PathBuf>,
    /// Delete what this step created (only what carries its stagehand tags) and remove its
    /// section from the document
    #[arg(long, help_heading = "Mode")]
    pub destroy: bool,
    /// Do not wait for resources to become ready (a later rerun waits without changing
    /// anything)
    #[arg(long, help_heading = "Mode")]
    pub no_wait: bool,
    /// Give up waiting after this long (e.g. 90s, 1.5m, 20min, 1h; at most 24h); exit code 3
    #[arg(long, value_parser = parse_duration, default_value = "30m", help_heading = "Mode")]
    pub timeout: Duration,

    #[command(flatten)]
    pub aws: Aws,

    /// Application name, the prefix of every resource name (default: the document's app,
    /// else "backstage")
    #[arg(long, env = "STAGEHAND_APP", help_heading = "Stack")]
    pub app: Option<String>,
    /// Extra tag K=V for everything created (repeatable); kept in the document for later steps
    #[arg(long = "tag", value_name = "K=V", value_parser = parse_tag, help_heading = "Stack")]
    pub tags: Vec<(String, String)>,
    /// Return a remembered setting to its default (its flag's name without dashes, e.g.
    /// --reset max-acu; repeatable; "all" resets every one)
    #[arg(long, value_name = "SETTING", help_heading = "Stack")]
    pub reset: Vec<String>,
    /// Read the document from FILE instead of stdin; repeat to deep-merge documents of steps
    /// that ran in parallel
    #[arg(long = "in", value_name = "FILE", help_heading = "Stack")]
    pub inputs: Vec<PathBuf>,

    /// More detail on stderr (-vv for debug)
    #[arg(short, long, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
    /// Only warnings and errors on stderr
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Output")]
    pub quiet: bool,

    /// The step's effective settings, filled by the kit after parsing (not a flag).
    #[arg(skip)]
    pub settings: serde_json::Map<String, serde_json::Value>,
}

/// Where AWS is: the flags every tool has, a step or not (global, so that a tool with
/// subcommands takes them after its subcommand too).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Aws {
    /// AWS region (default: AWS_REGION / the profile's region)
    #[arg(long, global = true, help_heading = "AWS")]
    pub region: Option<String>,
    /// AWS profile (default: AWS_PROFILE)
    #[arg(long, global = true, help_heading = "AWS")]
    pub profile: Option<String>,
    /// Send every AWS call to this endpoint (default: AWS_ENDPOINT_URL)
    #[arg(long, global = true, help_heading = "AWS")]
    pub endpoint_url: Option<String>,
}

/// The help heading of a tool's remembered flags: every flag that shapes a resource. The kit
/// records their effective values in the tool's section (`settings`), and a rerun without the
/// flag takes the recorded value.
pub const SETTINGS: &str =
    "Settings (remembered in the document; --reset NAME returns one to its default)";

impl Default for Common {
    fn default() -> Self {
        Common {
            plan: false,
            plan_json: None,
            destroy: false,
            no_wait: false,
            timeout: Duration::from_secs(30 * 60),
            aws: Aws::default(),
            app: None,
            tags: Vec::new(),
            reset: Vec::new(),
            inputs: Vec::new(),
            verbose: 0,
            quiet: false,
            settings: serde_json::Map::new(),
        }
    }
}

/// A tool's command line: the shared flags plus its own.
#[derive(clap::Parser, Debug)]
pub struct Cli<A: clap::Args> {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub args: A,
}

/// The longest wait `--timeout` accepts: longer than anything AWS provisions.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);

/// "90s", "1.5m", "20min", "1h30m", or plain seconds (humantime's forms); more than zero and
/// at most [`MAX_TIMEOUT`].
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("'{text}' is not a duration; use e.g. 90s, 1.5m, 20min or 1h");
    let text = text.trim();
    let d = if let Ok(secs) = text.parse::<u64>() {
        Duration::from_secs(secs)
    } else if let Some((number, unit)) = split_fraction(text) {
        // humantime takes whole numbers only; "1.5m" is common enough to accept.
        let per = humantime::parse_duration(&format!("1{unit}")).map_err(|_| bad())?;
        per.mul_f64(number)
    } else {
        humantime::parse_duration(text).map_err(|_| bad())?
    };
    if d.is_zero() {
        return Err(format!(
            "'{text}' is zero; give a timeout greater than zero (or --no-wait)"
        ));
    }
    if d > MAX_TIMEOUT {
        return Err(format!("'{text}' is longer than the 24h a timeout may be"));
    }
    Ok(d)
}

/// "1.5m" → (1.5, "m").
fn split_fraction(text: &str) -> Option<(f64, &str)> {
    let end = text.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = text.split_at(end);
    if !number.contains('.') || unit.is_empty() {
        return None;
    }
    number
        .parse::<f64>()
        .ok()
        .filter(|n| n.is_finite())
        .map(|n| (n, unit.trim()))
}

/// `K=V`: a non-empty key of at most 128 characters, not in AWS's reserved `aws:` space, and a
/// value of at most 256.
pub fn parse_tag(text: &str) -> Result<(String, String), String> {
    let Some((key, value)) = text.split_once('=') else {
        return Err(format!(
            "'{text}' is not K=V; write the tag as --tag team=platform"
        ));
    };
    check_tag(key, value)?;
    Ok((key.to_owned(), value.to_owned()))
}

/// A tag AWS accepts: a non-empty key of at most 128 characters, not in AWS's reserved `aws:`
/// space nor stagehand's own, a value of at most 256, both within AWS's tag pattern. For
/// `--tag` and for the document's `tags` alike.
pub fn check_tag(key: &str, value: &str) -> Result<(), String> {
    if key.is_empty() || key.chars().count() > 128 {
        return Err(format!("tag key '{key}' must be 1 to 128 characters"));
    }
    if key.to_ascii_lowercase().starts_with("aws:") {
        return Err(format!(
            "tag key '{key}' is reserved by AWS; choose a key without the aws: prefix"
        ));
    }
    if key.starts_with(crate::TAG_PREFIX) {
        return Err(format!(
            "tag key '{key}' is stagehand's own; choose another key"
        ));
    }
    if value.chars().count() > 256 {
        return Err(format!(
            "tag value for '{key}' is longer than 256 characters"
        ));
    }
    // The pattern ECS, ELBv2, IAM, Logs, SSM and CodeBuild hold tags to
    // (^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$): refused here, before any call, not half way up.
    for (what, text) in [("key", key), ("value", value)] {
        if let Some(bad) = text.chars().find(|c| !tag_char(*c)) {
            return Err(format!(
                "tag {what} '{text}' has '{bad}', which AWS does not allow in tags; use letters, digits, spaces and _ . : / = + - @"
            ));
        }
    }
    Ok(())
}

/// A character AWS's tag pattern allows: a letter, a separator (space), a number, or one of
/// `_ . : / = + - @`.
fn tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || c == ' '
        || c == '\u{a0}'
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

/// An application name that fits every resource name derived from it: 1 to 48 characters,
/// lowercase letters, digits and single hyphens, starting with a letter and not ending in a
/// hyphen (RDS, ECR and S3 are the strictest).
pub fn check_app_name(app: &str) -> Result<(), String> {
    let ok = (1..=48).contains(&app.len())
        && app.starts_with(|c: char| c.is_ascii_lowercase())
        && !app.ends_with('-')
        && !app.contains("--")
        && app
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(format!(
            "app name '{app}' is invalid; use 1 to 48 lowercase letters, digits and single hyphens, starting with a letter (e.g. --app unicorn-ui)"
        ))
    }
}

/// The stack document's text for a tool that reads it with `--in FILE` (or `$STACK`) else
/// stdin (task-exec, stack-status). A terminal on stdin gets a one-line hint, not a wait.
pub fn read_document_text(path: Option<&std::path::Path>) -> crate::Result<String> {
    use std::io::{IsTerminal, Read};
    match path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| {
            crate::Error::usage(format!(
                "cannot read the stack document {}: {e}; pass --in FILE (or set STACK)",
                p.display()
            ))
        }),
        None => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(crate::Error::usage(
                    "no stack document: pass --in stack.json (or set STACK)",
                ));
            }
            let mut text = String::new();
            stdin.lock().read_to_string(&mut text).map_err(|e| {
                crate::Error::usage(format!("cannot read the stack document from stdin: {e}"))
            })?;
            Ok(text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("45"), Ok(Duration::from_secs(45)));
        assert_eq!(parse_duration("1.5m"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("20min"), Ok(Duration::from_secs(1200)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("10x").is_err());
        assert!(parse_duration("0s").unwrap_err().contains("zero"));
        assert!(parse_duration("0").unwrap_err().contains("zero"));
        assert!(parse_duration("99999999999999h").is_err());
        assert!(parse_duration("25h").unwrap_err().contains("24h"));
    }

    #[test]
    fn tags() {
        assert_eq!(
            parse_tag("team=platform"),
            Ok(("team".into(), "platform".into()))
        );
        assert_eq!(parse_tag("empty="), Ok(("empty".into(), String::new())));
        assert!(parse_tag("novalue").unwrap_err().contains("K=V"));
        assert!(parse_tag("=x").is_err());
        assert!(parse_tag("aws:x=y").is_err());
        assert!(parse_tag("stagehand:app=y").is_err());
        // AWS's tag pattern: a comma or # is refused by ECS, ELBv2, IAM, Logs, SSM, CodeBuild.
        assert!(parse_tag("team=a,b").unwrap_err().contains("','"));
        assert!(parse_tag("cost#center=x").unwrap_err().contains("'#'"));
        assert!(check_tag("team", "a,b").unwrap_err().contains("','"));
        assert!(check_tag("team", "a b").is_ok());
        assert_eq!(
            parse_tag("owner=Jürgen Müller @ platform/team-1:+=_."),
            Ok((
                "owner".into(),
                "Jürgen Müller @ platform/team-1:+=_.".into()
            ))
        );
    }

    #[test]
    fn app_names() {
        assert!(check_app_name("unicorn-ui").is_ok());
        for bad in ["", "Unicorn", "1abc", "a--b", "a-", "a_b", &"a".repeat(49)] {
            assert!(check_app_name(bad).is_err(), "{bad}");
        }
    }
}
