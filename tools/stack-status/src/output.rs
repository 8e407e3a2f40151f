//! The report as a table for people (the JSON report is printed as is).

use std::fmt::Write;

use serde_json::Value;

/// "+ create VPC core-infra", "~ update Aurora cluster x (max_acu: 2 → 4)", as plans say it.
pub fn describe_change(action: &Value) -> String {
    let resource = action["resource"].as_str().unwrap_or("?");
    match action["action"].as_str().unwrap_or("?") {
        "create" => format!("{resource} is missing"),
        "delete" => format!("{resource} should not exist"),
        "update" => {
            let fields: Vec<String> = action["fields"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    format!(
                        "{}: {} → {}",
                        f["name"].as_str().unwrap_or("?"),
                        shown(&f["old"]),
                        shown(&f["new"])
                    )
                })
                .collect();
            format!("{resource} drifted ({})", fields.join(", "))
        }
        other => format!("{resource}: {other}"),
    }
}

fn shown(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => "-".into(),
        other => other.to_string(),
    }
}

pub fn table(r: &Value) -> String {
    let mut t = String::new();
    let _ = writeln!(t, "{:<14} {:<10} DETAIL", "STEP", "RESOURCES");
    for step in r["steps"].as_array().into_iter().flatten() {
        let name = step["step"].as_str().unwrap_or("?");
        let count = step["resources"].as_array().map_or(0, Vec::len);
        let state = if step["ok"] == true {
            "ok".to_owned()
        } else if let Some(e) = step["error"].as_str() {
            format!("NG {e}")
        } else {
            let changes: Vec<String> = step["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["action"] != "unchanged")
                .map(describe_change)
                .collect();
            format!("NG {}", changes.join("; "))
        };
        let _ = writeln!(t, "{name:<14} {count:<10} {state}");
    }
    let _ = writeln!(t);
    let db = &r["database"];
    if db["exists"] == true {
        let _ = writeln!(
            t,
            "database   {} {} (writer {}), {}–{} ACU, PostgreSQL {}",
            shown(&db["cluster"]),
            shown(&db["status"]),
            shown(&db["writer"]["status"]),
            shown(&db["capacity"]["min_acu"]),
            shown(&db["capacity"]["max_acu"]),
            shown(&db["engine_version"]),
        );
    }
    let svc = &r["service"];
    if svc["exists"] == true {
        let _ = writeln!(
            t,
            "service    {} {} of {} tasks running, image {}",
            shown(&svc["name"]),
            shown(&svc["running"]),
            shown(&svc["desired"]),
            shown(&svc["image"]),
        );
        for d in svc["deployments"].as_array().into_iter().flatten() {
            let _ = writeln!(
                t,
                "  deployment {} {} {}/{} running, {}",
                shown(&d["status"]),
                shown(&d["rollout"]),
                shown(&d["running"]),
                shown(&d["desired"]),
                shown(&d["image"]),
            );
        }
        if let Some(states) = svc["targets"]["states"].as_object() {
            let list: Vec<String> = states.iter().map(|(k, v)| format!("{v} {k}")).collect();
            let _ = writeln!(
                t,
                "  targets {}: {}",
                shown(&svc["targets"]["target_group"]),
                if list.is_empty() {
                    "none".into()
                } else {
                    list.join(", ")
                }
            );
        }
    }
    let p = &r["pipeline"];
    if p["exists"] == true {
        match p["last_execution"].as_object() {
            Some(e) => {
                let stages: Vec<String> = e["stages"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|s| format!("{} {}", shown(&s["stage"]), shown(&s["status"])))
                    .collect();
                let _ = writeln!(
                    t,
                    "pipeline   {} last execution {} ({})",
                    shown(&p["name"]),
                    shown(&e["status"]),
                    stages.join(", ")
                );
            }
            None => {
                let _ = writeln!(t, "pipeline   {} has not run yet", shown(&p["name"]));
            }
        }
    }
    if let Some(url) = r["url"].as_str() {
        let _ = writeln!(t, "url        {url}");
    }
    let _ = writeln!(t);
    if r["healthy"] == true {
        let _ = writeln!(t, "healthy");
    } else {
        let _ = writeln!(t, "UNHEALTHY:");
        for p in r["problems"].as_array().into_iter().flatten() {
            let _ = writeln!(t, "  {}", shown(p));
        }
    }
    t
}
