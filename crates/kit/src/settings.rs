//! Remembered settings: every flag that shapes a resource is recorded, with its effective
//! value, in the tool's own section (`db.settings`), and a rerun without the flag takes the
//! recorded value. A given flag overrides and is recorded; `--reset NAME` returns one to its
//! default; a boolean setting `--x` has its negative form `--no-x`.
//!
//! A tool marks its remembered flags with `help_heading = kit::SETTINGS`; nothing else in the
//! tool changes. The kit injects the recorded values as if they had been typed before the
//! user's own flags, and parses again, so a recorded value is checked by the same value
//! parser as a typed one, and the tool sees one set of flags.

use std::ffi::OsString;

use clap::parser::ValueSource;
use clap::{ArgAction, ArgMatches, Command};
use serde_json::{Map, Value};

use crate::cli::SETTINGS;
use crate::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Shape {
    /// `--x` (and `--no-x` when the tool has it).
    Bool { negative: Option<(String, String)> },
    /// `--x VALUE`.
    One,
    /// `--x A --x B`.
    Many,
}

/// One remembered flag.
#[derive(Debug, Clone)]
pub struct Spec {
    /// clap's id of the flag (the field's name).
    id: String,
    /// The flag's long name, which is also the setting's name ("max-acu").
    pub name: String,
    shape: Shape,
}

/// The remembered flags of a command: its arguments under the [`SETTINGS`] heading, without
/// the negative forms of boolean ones.
pub fn specs(cmd: &Command) -> Vec<Spec> {
    let longs: Vec<(String, String)> = cmd
        .get_arguments()
        .filter_map(|a| Some((a.get_long()?.to_owned(), a.get_id().to_string())))
        .collect();
    let negatives: Vec<&str> = cmd
        .get_arguments()
        .filter(|a| a.get_help_heading() == Some(SETTINGS))
        .filter_map(|a| a.get_long())
        .filter_map(|l| l.strip_prefix("no-"))
        .filter(|positive| longs.iter().any(|(l, _)| l == positive))
        .collect();
    cmd.get_arguments()
        .filter(|a| a.get_help_heading() == Some(SETTINGS))
        .filter_map(|a| {
            let long = a.get_long()?;
            if long
                .strip_prefix("no-")
                .is_some_and(|p| negatives.contains(&p))
            {
                return None;
            }
            let shape = match a.get_action() {
                ArgAction::SetTrue => Shape::Bool {
                    negative: longs
                        .iter()
                        .find(|(l, _)| *l == format!("no-{long}"))
                        .cloned(),
                },
                ArgAction::Append => Shape::Many,
                _ => Shape::One,
            };
            Some(Spec {
                id: a.get_id().to_string(),
                name: long.to_owned(),
                shape,
            })
        })
        .collect()
}

fn given(m: &ArgMatches, id: &str) -> bool {
    matches!(
        m.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

/// Checks `--reset` names against the tool's settings.
pub fn check_resets(specs: &[Spec], resets: &[String], tool: &str) -> Result<()> {
    for r in resets {
        if r != "all" && !specs.iter().any(|s| s.name == *r) {
            let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::usage(if names.is_empty() {
                format!("--reset {r}: {tool} remembers no settings")
            } else {
                format!(
                    "--reset {r}: {tool} has no such setting; its settings are {}",
                    names.join(", ")
                )
            }));
        }
    }
    Ok(())
}

/// The flags to put in front of the user's own: the recorded value of every setting the user
/// did not give and did not reset. Unknown recorded names (from another version) are reported
/// and dropped.
pub fn injected(
    specs: &[Spec],
    first: &ArgMatches,
    recorded: Option<&Map<String, Value>>,
    resets: &[String],
    tool: &str,
    section: &str,
) -> Result<Vec<OsString>> {
    let mut out = Vec::new();
    let Some(recorded) = recorded else {
        return Ok(out);
    };
    let reset_all = resets.iter().any(|r| r == "all");
    for (name, value) in recorded {
        let Some(spec) = specs.iter().find(|s| s.name == *name) else {
            crate::warn!(
                "{section}.settings.{name} is not a setting of this version of {tool}; it is dropped"
            );
            continue;
        };
        let negative_given = match &spec.shape {
            Shape::Bool {
                negative: Some((_, id)),
            } => given(first, id),
            _ => false,
        };
        if given(first, &spec.id) || negative_given || reset_all || resets.contains(name) {
            continue;
        }
        let bad = |what: &str| {
            Error::usage(format!(
                "{section}.settings.{name} in the document is {value}, not {what}; fix the document, pass --{name}, or --reset {name}"
            ))
        };
        match (&spec.shape, value) {
            (Shape::Bool { .. }, Value::Bool(true)) => out.push(format!("--{name}").into()),
            (Shape::Bool { negative }, Value::Bool(false)) => {
                if let Some((neg, _)) = negative {
                    out.push(format!("--{neg}").into());
                }
            }
            (Shape::Bool { .. }, _) => return Err(bad("true or false")),
            (Shape::One, Value::String(v)) => out.push(format!("--{name}={v}").into()),
            (Shape::One, Value::Number(n)) => out.push(format!("--{name}={n}").into()),
            (Shape::One, _) => return Err(bad("a string")),
            (Shape::Many, Value::Array(items)) => {
                for item in items {
                    match item {
                        Value::String(v) => out.push(format!("--{name}={v}").into()),
                        _ => return Err(bad("a list of strings")),
                    }
                }
            }
            (Shape::Many, _) => return Err(bad("a list of strings")),
        }
    }
    Ok(out)
}

/// The effective settings after parsing: what the section records.
pub fn effective(specs: &[Spec], m: &ArgMatches) -> Map<String, Value> {
    let mut out = Map::new();
    for spec in specs {
        let raw = || -> Vec<String> {
            m.get_raw(&spec.id)
                .map(|vals| {
                    vals.map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        let value = match spec.shape {
            Shape::Bool { .. } => Some(Value::Bool(m.get_flag(&spec.id))),
            Shape::One => raw().into_iter().next_back().map(Value::String),
            Shape::Many => {
                let all = raw();
                (!all.is_empty())
                    .then(|| Value::Array(all.into_iter().map(Value::String).collect()))
            }
        };
        if let Some(v) = value {
            out.insert(spec.name.clone(), v);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Arg, ArgAction};
    use serde_json::json;

    fn cmd() -> Command {
        Command::new("x-up")
            .arg(
                Arg::new("max_acu")
                    .long("max-acu")
                    .default_value("2")
                    .help_heading(SETTINGS),
            )
            .arg(
                Arg::new("allow_cidr")
                    .long("allow-cidr")
                    .action(ArgAction::Append)
                    .help_heading(SETTINGS),
            )
            .arg(
                Arg::new("protect")
                    .long("protect")
                    .action(ArgAction::SetTrue)
                    .overrides_with("no_protect")
                    .help_heading(SETTINGS),
            )
            .arg(
                Arg::new("no_protect")
                    .long("no-protect")
                    .action(ArgAction::SetTrue)
                    .overrides_with("protect")
                    .help_heading(SETTINGS),
            )
            .arg(Arg::new("image").long("image").help_heading(SETTINGS))
            .arg(Arg::new("force").long("force").action(ArgAction::SetTrue))
    }

    fn run(argv: &[&str], recorded: serde_json::Value, resets: &[&str]) -> Map<String, Value> {
        let c = cmd();
        let specs = specs(&c);
        let first = c.clone().try_get_matches_from(argv).unwrap();
        let resets: Vec<String> = resets.iter().map(|s| s.to_string()).collect();
        let rec = recorded.as_object().cloned();
        let extra = injected(&specs, &first, rec.as_ref(), &resets, "x-up", "x").unwrap();
        let mut full: Vec<OsString> = vec![argv[0].into()];
        full.extend(extra);
        full.extend(argv[1..].iter().map(OsString::from));
        let m = c.try_get_matches_from(full).unwrap();
        effective(&specs, &m)
    }

    #[test]
    fn settings_are_the_heading_without_negatives_and_other_flags() {
        let names: Vec<String> = specs(&cmd()).into_iter().map(|s| s.name).collect();
        assert_eq!(names, ["max-acu", "allow-cidr", "protect", "image"]);
    }

    #[test]
    fn defaults_are_recorded_and_absent_options_are_not() {
        let s = run(&["x-up"], json!({}), &[]);
        assert_eq!(Value::Object(s), json!({"max-acu": "2", "protect": false}));
    }

    #[test]
    fn a_rerun_without_flags_keeps_what_was_recorded() {
        let rec = json!({"max-acu": "4", "allow-cidr": ["10.0.0.0/8", "192.0.2.0/24"], "protect": true, "image": "x:1"});
        let s = run(&["x-up"], rec.clone(), &[]);
        assert_eq!(Value::Object(s), rec);
    }

    #[test]
    fn a_given_flag_overrides_and_is_recorded() {
        let rec = json!({"max-acu": "4", "allow-cidr": ["10.0.0.0/8"], "protect": true});
        let s = run(
            &[
                "x-up",
                "--max-acu",
                "8",
                "--allow-cidr",
                "203.0.113.0/24",
                "--no-protect",
            ],
            rec,
            &[],
        );
        assert_eq!(
            Value::Object(s),
            json!({"max-acu": "8", "allow-cidr": ["203.0.113.0/24"], "protect": false})
        );
    }

    #[test]
    fn reset_returns_to_the_default() {
        let rec = json!({"max-acu": "4", "image": "x:1", "protect": true});
        let s = run(&["x-up"], rec.clone(), &["max-acu", "image"]);
        assert_eq!(Value::Object(s), json!({"max-acu": "2", "protect": true}));
        let s = run(&["x-up"], rec, &["all"]);
        assert_eq!(Value::Object(s), json!({"max-acu": "2", "protect": false}));
    }

    #[test]
    fn bad_recorded_values_and_unknown_resets_are_usage_errors() {
        let c = cmd();
        let specs = specs(&c);
        let first = c.try_get_matches_from(["x-up"]).unwrap();
        let rec = json!({"protect": "yes"});
        let e = injected(&specs, &first, rec.as_object(), &[], "x-up", "x").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("x.settings.protect"), "{}", e.message);
        let e = check_resets(&specs, &["maxacu".into()], "x-up").unwrap_err();
        assert!(
            e.message.contains("max-acu, allow-cidr, protect, image"),
            "{}",
            e.message
        );
    }
}
