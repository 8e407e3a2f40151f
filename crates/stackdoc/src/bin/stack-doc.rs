//! stack-doc: small, AWS-free operations on stack documents for scripts.
//!
//!     stack-doc join A.json B.json…   deep-merge documents of steps that ran in parallel
//!     stack-doc get PATH [FILE]       print one value (e.g. pipeline.url), "" if absent
//!     stack-doc table [FILE]          a short table of what the stack holds (no ARNs), for people
//!
//! FILE defaults to stdin. Exit 2 on a malformed document or bad usage.

use std::io::Read;
use std::process::ExitCode;

use serde_json::Value;
use stackdoc::Doc;

const USAGE: &str = "usage: stack-doc join FILE… | get PATH [FILE] | table [FILE]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("join") if args.len() >= 2 => join(&args[1..]),
        Some("get") if (2..=3).contains(&args.len()) => {
            read(args.get(2)).map(|doc| get(&doc, &args[1]))
        }
        Some("table") if args.len() <= 2 => read(args.get(1)).map(|doc| table(&doc)),
        Some("-h" | "--help") => Ok(format!("{USAGE}\n")),
        _ => Err(format!("bad usage; {USAGE}")),
    };
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("stack-doc: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn read(path: Option<&String>) -> Result<Doc, String> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p).map_err(|e| format!("cannot read {p}: {e}"))?,
        None => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| format!("cannot read stdin: {e}"))?;
            s
        }
    };
    let name = path.map_or("stdin", String::as_str);
    Doc::parse(&text).map_err(|e| format!("{name}: {e}"))
}

fn join(paths: &[String]) -> Result<String, String> {
    let mut merged = read(Some(&paths[0]))?;
    for p in &paths[1..] {
        merged.merge(read(Some(p))?).map_err(|e| e.to_string())?;
    }
    Ok(merged.to_pretty())
}

fn get(doc: &Doc, path: &str) -> String {
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
        Value::Null => "\n".into(),
        Value::String(s) => format!("{s}\n"),
        other => format!("{other}\n"),
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
    if field == "arn" || field.ends_with("_arn") || field.ends_with(".arn") || field == "planned" {
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
