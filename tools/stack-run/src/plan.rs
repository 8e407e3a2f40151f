//! The chain's plan: every step's `--plan`, each as soon as the steps writing the sections it
//! needs have planned, side by side where the table allows (as up's apply runs them).
//!
//! On a rerun most steps plan no change, so waiting for the upstream plans is mostly waiting
//! for nothing: a step whose needs are all applied in the document also starts at once, on
//! the guess that its upstream steps leave those sections as they are. Its plan is kept only
//! if that held (the sections it needs and the stack's identity came out of the upstream plans
//! exactly as the document had them: then it saw the very input it would have been given);
//! otherwise it plans again on what they planned. Plans are read-only, so a guess that was
//! wrong costs read calls and nothing else. Each step's lines are shown once, in table order.

use std::cell::Cell;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use serde_json::Value;
use stackdoc::Doc;

use crate::Env;
use crate::child::{self, Buffered};
use crate::progress::Progress;
use crate::run::{Fail, args_for, join};
use crate::table::StepDef;

type Result<T> = std::result::Result<T, Fail>;

/// The plan of the whole chain, summed up.
#[derive(Debug, Default)]
pub struct Planned {
    pub create: u64,
    pub update: u64,
    pub delete: u64,
    pub unchanged: u64,
    /// The planned document: the start document with every step's planned section.
    pub doc: String,
}

impl Planned {
    pub fn has_work(&self) -> bool {
        self.create + self.update + self.delete > 0
    }
    pub fn line(&self) -> String {
        format!(
            "plan: {} to create, {} to update, {} to delete, {} unchanged",
            self.create, self.update, self.delete, self.unchanged
        )
    }
}

/// What the document's root holds besides sections, and every run of every tool sets.
const IDENTITY: [&str; 4] = ["app", "region", "account", "tags"];

/// Whether a step started on `start` saw what it would see now, in `doc`: the same identity,
/// and each section it needs either the same or from a step that plans no change (`still`).
/// A step with nothing to change describes resources that stay as they are; what it refreshes
/// in its section is what changed outside it (the image and task definition the pipeline
/// deployed, in svc's), which the steps after it do not plan on. Without this, every rerun
/// after a deploy would plan the pipeline twice.
fn same_input(start: &Doc, doc: &Doc, step: &StepDef, still: &BTreeSet<String>) -> bool {
    IDENTITY
        .iter()
        .all(|key| start.raw_section(key) == doc.raw_section(key))
        && step
            .plan_needs()
            .all(|n| still.contains(n) || start.raw_section(n) == doc.raw_section(n))
}

/// Whether a settled plan has nothing to change, from its --plan-json.
fn plans_nothing(json: Option<&Path>) -> bool {
    json.and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|plan| {
            ["create", "update", "delete"]
                .iter()
                .all(|k| plan["summary"][k].as_u64() == Some(0))
        })
}

/// Whether a step can start on the start document before its upstream steps planned: the
/// identity is known and every section it needs (or runs again after) is there, applied.
fn can_guess(start: &Doc, step: &StepDef) -> bool {
    !step.needs.is_empty()
        && start.app().is_some()
        && start.region().is_some()
        && start.account().is_some()
        && step
            .plan_needs()
            .all(|n| start.has_section(n) && !start.is_planned(n))
}

/// One step's run in this pass.
#[derive(Default)]
struct Slot {
    /// The run whose answer counts (runs replaced by a later one are ignored), and whether
    /// it still stands on a guess about its input.
    current: Option<(usize, bool)>,
    /// That run's answer, once it came.
    answer: Option<Buffered>,
    /// Its --plan-json file.
    json: Option<PathBuf>,
    /// Joined into the planned document (or failed).
    settled: bool,
}

/// Every step's `--plan` from the start document; the counts come from each step's
/// `--plan-json`.
pub fn plan_chain(
    env: &Env,
    steps: &[StepDef],
    start: &Doc,
    progress: &Progress,
) -> Result<Planned> {
    let dir = std::env::temp_dir().join(format!("stack-run-plan-{}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|e| Fail::new(1, format!("cannot make {}: {e}", dir.display())))?;
    let result = schedule(env, steps, start, &dir).and_then(|slots| {
        let mut planned = Planned::default();
        let mut doc = start.clone();
        for (step, slot) in steps.iter().zip(slots) {
            let Some(answer) = slot.answer else { continue };
            answer.show(&step.tool, progress);
            if !answer.ran.ok() {
                return Err(Fail::new(
                    answer.ran.code,
                    format!(
                        "{} --plan failed (exit {}); nothing was changed",
                        step.tool, answer.ran.code
                    ),
                ));
            }
            let plan: Value = slot
                .json
                .and_then(|p| std::fs::read_to_string(p).ok())
                .and_then(|t| serde_json::from_str(&t).ok())
                .ok_or_else(|| Fail::new(1, format!("{} wrote no --plan-json", step.tool)))?;
            let n = |k: &str| plan["summary"][k].as_u64().unwrap_or(0);
            planned.create += n("create");
            planned.update += n("update");
            planned.delete += n("delete");
            planned.unchanged += n("unchanged");
            join(&mut doc, step, &answer.ran).map_err(|why| Fail::new(1, why))?;
        }
        planned.doc = doc.to_pretty();
        Ok(planned)
    });
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Run the plans; every slot ends with the answer of the run that counts (none for steps
/// after a failure).
fn schedule(env: &Env, steps: &[StepDef], start: &Doc, dir: &Path) -> Result<Vec<Slot>> {
    let in_pass: BTreeSet<&str> = steps.iter().map(|s| s.section.as_str()).collect();
    let mut slots: Vec<Slot> = steps.iter().map(|_| Slot::default()).collect();
    let mut doc = start.clone();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut still: BTreeSet<String> = BTreeSet::new();
    let mut failed = false;
    let running = Cell::new(0usize);
    let runs = Cell::new(0usize);
    let (tx, rx) = mpsc::channel::<(usize, usize, Buffered)>();
    std::thread::scope(|scope| {
        let launch = |i: usize, input: String, slot: &mut Slot, guess: bool| {
            let step = &steps[i];
            let id = runs.get() + 1;
            runs.set(id);
            let json = dir.join(format!("{}-{id}.json", step.tool));
            let json_arg = json.to_string_lossy().into_owned();
            let args = args_for(step, &["--plan", "--plan-json", &json_arg], false, &[]);
            slot.current = Some((id, guess));
            slot.answer = None;
            slot.json = Some(json);
            running.set(running.get() + 1);
            let tx = tx.clone();
            let bin = env.bin.clone();
            scope.spawn(move || {
                let answer = child::run_buffered(&bin, &step.tool, &args, &input);
                let _ = tx.send((i, id, answer));
            });
        };
        let start_text = start.to_pretty();
        for (i, step) in steps.iter().enumerate() {
            if can_guess(start, step) {
                launch(i, start_text.clone(), &mut slots[i], true);
            }
        }
        loop {
            // Start, confirm or redo what the plans so far allow, until nothing moves.
            let mut moved = true;
            while moved && !failed {
                moved = false;
                for (i, step) in steps.iter().enumerate() {
                    let slot = &mut slots[i];
                    if slot.settled {
                        continue;
                    }
                    let ready = step
                        .plan_needs()
                        .all(|n| done.contains(n) || !in_pass.contains(n.as_str()));
                    if !ready {
                        continue;
                    }
                    match slot.current {
                        None => {
                            launch(i, doc.to_pretty(), slot, false);
                            moved = true;
                        }
                        Some((id, true)) => {
                            if same_input(start, &doc, step, &still) {
                                slot.current = Some((id, false));
                            } else {
                                launch(i, doc.to_pretty(), slot, false);
                            }
                            moved = true;
                        }
                        Some((_, false)) => {}
                    }
                    if let (Some((_, false)), Some(answer)) = (slot.current, &slot.answer) {
                        slot.settled = true;
                        moved = true;
                        if !answer.ran.ok() || join(&mut doc, step, &answer.ran).is_err() {
                            failed = true;
                            break;
                        }
                        if plans_nothing(slot.json.as_deref()) {
                            still.insert(step.section.clone());
                        }
                        done.insert(step.section.clone());
                    }
                }
            }
            if running.get() == 0 {
                break;
            }
            let (i, id, answer) = rx.recv().expect("a running plan reports");
            running.set(running.get() - 1);
            if slots[i].current.map(|(current, _)| current) == Some(id) {
                slots[i].answer = Some(answer);
            }
        }
    });
    // Only settled answers count: a guess never confirmed is dropped.
    for slot in &mut slots {
        if !slot.settled {
            slot.answer = None;
        }
    }
    Ok(slots)
}
