//! stack-doc: small, AWS-free operations on stack documents for scripts.
//!
//!     stack-doc join A.json B.json…   deep-merge documents of steps that ran in parallel
//!     stack-doc get PATH [FILE]       print one value (e.g. alb.url); exit 1 if absent
//!     stack-doc table [FILE]          a short table of what the stack holds (no ARNs), for people
//!
//! FILE defaults to stdin. Exit 2 on a malformed document or bad usage.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use serde_json::Value;
use stackdoc::Doc;
use stackdoc::cli::{Cli, Command};

/// Why it stopped: exit code and one line.
struct Fail(u8, String);

fn main() -> ExitCode {
    let cli: Cli = match stackdoc::cli::parse_args("stack-doc") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let result = match cli.command {
        Command::Join { files } => join(&files),
        Command::Get { path, file } => read(file.as_ref()).and_then(|doc| get(&doc, &path)),
        Command::Table { file } => read(file.as_ref()).map(|doc| table(&doc)),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(Fail(code, e)) => {
            eprintln!("stack-doc: error: {e}");
            ExitCode::from(code)
        }
    }
}

fn read(path: Option<&PathBuf>) -> Result<Doc, Fail> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p)
            .map_err(|e| Fail(2, format!("cannot read {}: {e}", p.display())))?,
        None => {
            if std::io::stdin().is_terminal() {
                return Err(Fail(
                    2,
                    "expects a stack document on stdin or as FILE (e.g. stack-doc table stack.json)".into(),
                ));
            }
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| Fail(2, format!("cannot read stdin: {e}")))?;
            s
        }
    };
    let name = path.map_or_else(|| "stdin".to_owned(), |p| p.display().to_string());
    Doc::parse(&text).map_err(|e| Fail(2, format!("{name}: {e}")))
}

fn join(paths: &[PathBuf]) -> Result<String, Fail> {
    let mut merged = read(Some(&paths[0]))?;
    for p in &paths[1..] {
        merged
            .merge(read(Some(p))?)
            .map_err(|e| Fail(2, e.to_string()))?;
    }
    Ok(merged.to_pretty())
}

fn get(doc: &Doc, path: &str) -> Result<String, Fail> {
    let mut at = doc.as_value();
    for part in path.split('.') {
        at = match at {
            Value::Object(mut m) => m.remove(part).unwrap_or(Value::Null),
            Value::Array(mut a) => part
                .parse::<usize>()
                .ok()
                .filter(|i| *i < a.len())
                .map_or(Value::Null, |i| a.swap_remove(i)),
            _ => Value::Null,
        };
    }
    match at {
        Value::Null => Err(Fail(1, format!("the document has no {path}"))),
        Value::String(s) => Ok(format!("{s}\n")),
        other => Ok(format!("{other}\n")),
    }
}

/// One line per identifier: section, field, value. Lists of objects show their ids.
fn table(doc: &Doc) -> String {
    let mut rows = Vec::new();
    if let Value::Object(root) = doc.as_value() {
        for (section, value) in root {
            if let Value::String(s) = &value {
                rows.push(("stack".into(), section.clone(), s.clone()));
            }
            if let Value::Object(fields) = value {
                for (field, v) in fields {
                    flatten(&section, &field, &v, &mut rows);
                }
            }
        }
    }
    let sw = rows.iter().map(|(s, _, _)| s.len()).max().unwrap_or(0);
    let fw = rows.iter().map(|(_, f, _)| f.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(s, f, v)| format!("{s:<sw$}  {f:<fw$}  {v}\n"))
        .collect()
}

fn flatten(section: &str, field: &str, v: &Value, rows: &mut Vec<(String, String, String)>) {
    // A short table: names, ids and URLs; the ARNs stay in the document.
    if field == "arn"
        || field.ends_with("_arn")
        || field.ends_with(".arn")
        || field == "planned"
        || field == "settings"
    {
        return;
    }
    match v {
        Value::String(s) => rows.push((section.into(), field.into(), s.clone())),
        Value::Number(_) | Value::Bool(_) => {
            rows.push((section.into(), field.into(), v.to_string()))
        }
        Value::Object(m) => {
            for (k, inner) in m {
                flatten(section, &format!("{field}.{k}"), inner, rows);
            }
        }
        Value::Array(items) => {
            let ids: Vec<String> = items
                .iter()
                .map(|i| match i {
                    Value::Object(m) => m
                        .get("id")
                        .or_else(|| m.get("name"))
                        .or_else(|| m.get("arn"))
                        .map_or(i.to_string(), |x| x.as_str().unwrap_or_default().to_owned()),
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect();
            rows.push((section.into(), field.into(), ids.join(", ")));
        }
        Value::Null => {}
    }
}
