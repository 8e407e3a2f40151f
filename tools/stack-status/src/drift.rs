//! Resources and drift, by each step's own plan: every step in the document runs `--plan
//! --plan-json` on the saved document (read-only calls, the recorded settings as its flags), so
//! the status can never disagree with what `make plan` would do. Steps run side by side.

use std::path::Path;
use std::process::{Command, Stdio};

use serde_json::{Value, json};
use stack_run::table::StepDef;

/// One step's plan against the saved document.
pub struct StepPlan {
    pub step: StepDef,
    /// `--plan-json`'s document, or why there is none.
    pub plan: Result<Value, String>,
}

impl StepPlan {
    /// The actions that are not "unchanged": missing resources (create) and drift.
    pub fn changes(&self) -> Vec<&Value> {
        match &self.plan {
            Ok(p) => p["actions"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["action"] != "unchanged")
                .collect(),
            Err(_) => Vec::new(),
        }
    }

    pub fn to_json(&self) -> Value {
        match &self.plan {
            Ok(p) => json!({
                "step": self.step.tool,
                "section": self.step.section,
                "ok": self.changes().is_empty(),
                "resources": p["actions"],
            }),
            Err(e) => json!({
                "step": self.step.tool,
                "section": self.step.section,
                "ok": false,
                "error": e,
            }),
        }
    }
}

/// Plan every step whose section the document holds.
pub fn plan_steps(
    bin: &Path,
    steps: Vec<StepDef>,
    doc_text: &str,
    aws_flags: &[String],
) -> Vec<StepPlan> {
    let dir = std::env::temp_dir().join(format!("stack-status-{}", std::process::id()));
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return steps
            .into_iter()
            .map(|step| StepPlan {
                step,
                plan: Err(format!("cannot make {}: {e}", dir.display())),
            })
            .collect();
    }
    let plans = std::thread::scope(|scope| {
        let handles: Vec<_> = steps
            .into_iter()
            .map(|step| {
                let dir = &dir;
                scope.spawn(move || {
                    let plan = plan_one(bin, &step, doc_text, aws_flags, dir);
                    StepPlan { step, plan }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a plan thread panicked"))
            .collect()
    });
    let _ = std::fs::remove_dir_all(&dir);
    plans
}

fn plan_one(
    bin: &Path,
    step: &StepDef,
    doc_text: &str,
    aws_flags: &[String],
    dir: &Path,
) -> Result<Value, String> {
    use std::io::Write;
    let json_path = dir.join(format!("{}.json", step.tool));
    let mut child = Command::new(bin.join(&step.tool))
        .args(&step.flags)
        .args(aws_flags)
        .args(["--plan", "-q", "--plan-json"])
        .arg(&json_path)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run {}: {e}", bin.join(&step.tool).display()))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let text = doc_text.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child
        .wait_with_output()
        .map_err(|e| format!("{}: {e}", step.tool))?;
    let _ = writer.join();
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let last = err.lines().rfind(|l| !l.trim().is_empty()).unwrap_or("");
        return Err(format!(
            "{} --plan failed (exit {}): {last}",
            step.tool,
            out.status.code().unwrap_or(1)
        ));
    }
    std::fs::read_to_string(&json_path)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or_else(|| format!("{} wrote no --plan-json", step.tool))
}
