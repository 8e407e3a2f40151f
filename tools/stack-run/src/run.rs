//! up, plan, down and step over the step table.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::mpsc;

use serde_json::Value;
use stackdoc::Doc;

use crate::child::{self, Ran};
use crate::plan::plan_chain;
use crate::progress::Progress;
use crate::table::{self, StepDef};
use crate::{Env, confirm, interactive};

/// Why a command stopped: its exit code and one line.
#[derive(Debug)]
pub struct Fail {
    pub code: u8,
    pub message: String,
}

impl Fail {
    pub(crate) fn new(code: i32, message: impl Into<String>) -> Fail {
        Fail {
            code: u8::try_from(code).ok().filter(|c| *c != 0).unwrap_or(1),
            message: message.into(),
        }
    }
}

type Result<T> = std::result::Result<T, Fail>;

// ------------------------------------------------------------------ the document file

fn load(stack: &Path) -> Result<Doc> {
    match std::fs::read_to_string(stack) {
        Ok(text) => {
            Doc::parse(&text).map_err(|e| Fail::new(2, format!("{}: {e}", stack.display())))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Doc::new()),
        Err(e) => Err(Fail::new(
            2,
            format!("cannot read {}: {e}", stack.display()),
        )),
    }
}

/// Write the document atomically (a kill never leaves half a document).
fn save(stack: &Path, doc: &Doc) -> Result<()> {
    let tmp = stack.with_extension("json.next");
    std::fs::write(&tmp, doc.to_pretty())
        .and_then(|()| std::fs::rename(&tmp, stack))
        .map_err(|e| {
            Fail::new(
                1,
                format!("cannot save the document to {}: {e}", stack.display()),
            )
        })
}

/// Join a step's output into the stack's document: its own section, and the identity it
/// established (app, region, account, tags), which must agree with what is there.
pub(crate) fn join(master: &mut Doc, step: &StepDef, ran: &Ran) -> std::result::Result<(), String> {
    let out = Doc::parse(&ran.stdout)
        .map_err(|e| format!("{}'s output is not a stack document ({e})", step.tool))?;
    if ran.stdout.trim().is_empty() {
        return Err(format!("{} printed no document", step.tool));
    }
    for (field, mine, theirs) in [
        ("app", master.app(), out.app()),
        ("region", master.region(), out.region()),
        ("account", master.account(), out.account()),
    ] {
        if let (Some(a), Some(b)) = (mine, theirs)
            && a != b
        {
            return Err(format!(
                "{} wrote {field} {b:?}, but the document is for {a:?}",
                step.tool
            ));
        }
    }
    if let Some(app) = out.app() {
        master.set_app(app);
    }
    if let Some(region) = out.region() {
        master.set_region(region);
    }
    if let Some(account) = out.account() {
        master.set_account(account);
    }
    let mut tags = master.tags();
    tags.extend(out.tags());
    master.set_tags(&tags);
    master.take_section(&out, &step.section);
    Ok(())
}

pub(crate) fn args_for(
    step: &StepDef,
    mode: &[&str],
    chain: bool,
    extra: &[String],
) -> Vec<String> {
    let mut args: Vec<String> = mode.iter().map(|s| (*s).to_owned()).collect();
    args.extend(step.flags.iter().cloned());
    if chain {
        args.extend(step.chain.iter().cloned());
    }
    args.extend(step.env_args());
    args.extend(extra.iter().cloned());
    args
}

// ------------------------------------------------------------------ plan

pub fn plan(env: &Env, steps: &[StepDef]) -> Result<()> {
    let progress = Progress::new("plan");
    let start = load(&env.stack)?;
    crate::caller::check();
    let planned = plan_chain(env, steps, &start, &progress)?;
    if let Ok(out) = std::env::var("PLAN_OUT")
        && !out.is_empty()
    {
        std::fs::write(&out, &planned.doc)
            .map_err(|e| Fail::new(1, format!("cannot write PLAN_OUT {out}: {e}")))?;
    }
    println!("{}", planned.line());
    if !planned.has_work() {
        progress.say("no changes");
    }
    Ok(())
}

// ------------------------------------------------------------------ up

pub fn up(env: &Env, steps: &[StepDef]) -> Result<()> {
    let progress = Progress::new("up");
    let mut doc = load(&env.stack)?;
    crate::caller::check();

    // Check before changing: the whole chain's plan, with read-only calls. Bad flags, a
    // missing input or a name taken stop here, before the first write.
    let planned = plan_chain(env, steps, &doc, &progress)?;
    progress.say(&planned.line());
    if !planned.has_work() {
        progress.say(&format!(
            "no changes; the stack is up; the document is {}",
            env.stack.display()
        ));
        print_url(&doc);
        return Ok(());
    }
    if !env.auto_approve && interactive() && !confirm("up: apply these changes?") {
        return Err(Fail::new(
            2,
            "not confirmed; nothing was changed (AUTO_APPROVE=1 or --yes skips the question)",
        ));
    }

    apply(env, steps, &mut doc, &progress)?;

    if env.no_wait {
        progress
            .say("not waiting for the database, the pipeline's first run or the rollout (NO_WAIT)");
    } else {
        finish(env, steps, &mut doc, &progress)?;
    }
    progress.say(&format!(
        "the stack is up; the document is {}",
        env.stack.display()
    ));
    print_url(&doc);
    Ok(())
}

fn print_url(doc: &Doc) {
    if let Some(url) = doc
        .raw_section("alb")
        .and_then(|a| a.get("url"))
        .and_then(Value::as_str)
    {
        println!("{url}");
    }
}

/// Run every step, each as soon as the steps writing the sections it needs have run in this
/// pass (and once more after those of its `again` column that it ran without); save after each. On a failure: no new step starts, the running ones finish and are
/// saved, and the error names the step.
fn apply(env: &Env, steps: &[StepDef], doc: &mut Doc, progress: &Progress) -> Result<()> {
    run_scheduled(env, steps, doc, progress, |step| {
        Some(args_for(step, &[], true, &[]))
    })
}

/// up's final pass: the waits the chain skipped (the database, the NAT gateway, the
/// pipeline's run and the rollout), side by side.
fn finish(env: &Env, steps: &[StepDef], doc: &mut Doc, progress: &Progress) -> Result<()> {
    run_scheduled(env, steps, doc, progress, |step| {
        step.finish.as_ref().map(|flags| {
            let mut args = flags.clone();
            args.extend(step.flags.iter().cloned());
            args.extend(step.env_args());
            args
        })
    })
}

fn run_scheduled(
    env: &Env,
    steps: &[StepDef],
    doc: &mut Doc,
    progress: &Progress,
    args_of: impl Fn(&StepDef) -> Option<Vec<String>>,
) -> Result<()> {
    let work: Vec<(&StepDef, Vec<String>)> = steps
        .iter()
        .filter_map(|s| args_of(s).map(|a| (s, a)))
        .collect();
    let in_pass: BTreeSet<&str> = work.iter().map(|(s, _)| s.section.as_str()).collect();
    let mut done: BTreeSet<String> = BTreeSet::new();
    let mut started: BTreeSet<String> = BTreeSet::new();
    // Steps that ran before a section of their `again` column was in the document: each runs
    // once more after the step writing it (tool → those sections).
    let mut again: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut failure: Option<Fail> = None;
    let mut running = 0usize;
    let (tx, rx) = mpsc::channel::<(usize, Ran)>();
    std::thread::scope(|scope| {
        loop {
            if failure.is_none() {
                for (i, (step, args)) in work.iter().enumerate() {
                    let first = !started.contains(&step.tool)
                        && step
                            .needs
                            .iter()
                            .all(|n| done.contains(n) || !in_pass.contains(n.as_str()));
                    let once_more = done.contains(&step.section)
                        && again
                            .get(&step.tool)
                            .is_some_and(|after| after.iter().all(|n| done.contains(n)));
                    if first {
                        started.insert(step.tool.clone());
                        let missing: Vec<String> = step
                            .again
                            .iter()
                            .filter(|n| !doc.has_section(n) && in_pass.contains(n.as_str()))
                            .cloned()
                            .collect();
                        if !missing.is_empty() {
                            again.insert(step.tool.clone(), missing);
                        }
                    } else if once_more {
                        again.remove(&step.tool);
                    } else {
                        continue;
                    }
                    running += 1;
                    let input = doc.to_pretty();
                    let tx = tx.clone();
                    let bin = env.bin.clone();
                    let progress = progress.clone();
                    scope.spawn(move || {
                        let ran = child::run(&bin, &step.tool, args, &input, &progress);
                        let _ = tx.send((i, ran));
                    });
                }
            }
            if running == 0 {
                break;
            }
            let (i, ran) = rx.recv().expect("a running step reports");
            running -= 1;
            let step = work[i].0;
            if !ran.ok() {
                failure.get_or_insert_with(|| {
                    Fail::new(
                        ran.code,
                        format!(
                            "{} failed (exit {}); {} holds every step that finished. Fix the cause, then run the same command again (it resumes), or rerun the step alone: scripts/step.sh {}",
                            step.tool,
                            ran.code,
                            env.stack.display(),
                            step.tool
                        ),
                    )
                });
                continue;
            }
            match join(doc, step, &ran).and_then(|()| save(&env.stack, doc).map_err(|f| f.message))
            {
                Ok(()) => {
                    done.insert(step.section.clone());
                }
                Err(why) => {
                    failure.get_or_insert_with(|| {
                        Fail::new(
                            1,
                            format!(
                                "joining {}'s output failed: {why}; {} holds every step that finished before it",
                                step.tool,
                                env.stack.display()
                            ),
                        )
                    });
                }
            }
        }
    });
    match failure {
        Some(f) => Err(f),
        None => Ok(()),
    }
}

// ------------------------------------------------------------------ down

pub fn down(env: &Env, steps: &[StepDef]) -> Result<()> {
    let progress = Progress::new("down");
    if !env.stack.exists() {
        return Err(Fail::new(
            2,
            format!(
                "no document at {}; each tool can still find its resources by name and tags: create it with the stack's identity, e.g. echo '{{\"version\":1,\"app\":\"backstage\"}}' > {}",
                env.stack.display(),
                env.stack.display()
            ),
        ));
    }
    let mut doc = load(&env.stack)?;
    let who = format!(
        "app {} in account {} region {}",
        doc.app().unwrap_or("backstage"),
        doc.account().unwrap_or("(current credentials)"),
        doc.region().unwrap_or("(current region)")
    );
    if !env.auto_approve
        && interactive()
        && !confirm(&format!("down: destroy every step of {who}?"))
    {
        return Err(Fail::new(
            2,
            "not confirmed; nothing was changed (AUTO_APPROVE=1 or --yes skips the question)",
        ));
    }
    crate::caller::check();
    for step in steps.iter().rev() {
        // The table's down flags, less any the user's <VAR>_ARGS already give (clap refuses a
        // flag given twice).
        let given = args_for(step, &["--destroy"], false, &[]);
        let down: Vec<String> = step
            .down
            .iter()
            .filter(|f| !given.contains(f))
            .cloned()
            .collect();
        let args = args_for(step, &["--destroy"], false, &down)
            .into_iter()
            .filter(|a| !step.flags.contains(a))
            .collect::<Vec<_>>();
        let ran = child::run(&env.bin, &step.tool, &args, &doc.to_pretty(), &progress);
        if !ran.ok() {
            return Err(Fail::new(
                ran.code,
                format!(
                    "{} --destroy failed (exit {}); {} holds what is left. Fix the cause, then run down again (it resumes)",
                    step.tool,
                    ran.code,
                    env.stack.display()
                ),
            ));
        }
        join(&mut doc, step, &ran)
            .map_err(|why| Fail::new(1, format!("joining {}'s output failed: {why}", step.tool)))?;
        save(&env.stack, &doc)?;
    }
    progress.say(&format!(
        "the stack is down; {} keeps only the stack's identity",
        env.stack.display()
    ));
    Ok(())
}

// ------------------------------------------------------------------ one step

pub fn step(env: &Env, steps: &[StepDef], name: &str, extra: &[String]) -> Result<()> {
    let Some(step) = table::find(steps, name) else {
        let names: Vec<&str> = steps.iter().map(|s| s.target.as_str()).collect();
        return Err(Fail::new(
            2,
            format!("no step {name}; the steps are {}", names.join(", ")),
        ));
    };
    let progress = Progress::new("step");
    let mut doc = load(&env.stack)?;
    let args = args_for(step, &[], false, extra);
    // A plan writes a planned section: shown, never saved over the document.
    let planning = args
        .iter()
        .any(|a| a == "--plan" || a.starts_with("--plan-json"));
    let ran = child::run(&env.bin, &step.tool, &args, &doc.to_pretty(), &progress);
    if !ran.ok() {
        return Err(Fail::new(
            ran.code,
            format!(
                "{} failed (exit {}); {} is unchanged. Fix the cause and run it again",
                step.tool,
                ran.code,
                env.stack.display()
            ),
        ));
    }
    if planning {
        return Ok(());
    }
    join(&mut doc, step, &ran)
        .map_err(|why| Fail::new(1, format!("joining {}'s output failed: {why}", step.tool)))?;
    save(&env.stack, &doc)
}
