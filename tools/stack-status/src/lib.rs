//! stack-status: is the stack healthy, and what does it run? Read-only, like ecspresso's
//! `verify` and Copilot's `svc status`. For each step in the document it reports whether
//! every resource exists and any drift from the recorded settings, from the step's own plan
//! (no second implementation); then Aurora's status and capacity, the service's deployments,
//! tasks, images and target health, the pipeline's last execution by stage, and the URL.
//!
//! Exit 0 when healthy, 1 when something is not (each finding named), 2 for bad input.

mod drift;
mod health;
mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use kit::{Error, Result};
use serde_json::{Value, json};
use stackdoc::Doc;
use stackdoc::sections::{Alb, Db, Pipeline, Svc};

const TOOL: &str = "stack-status";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    about = "Read-only health of the stack: resources and drift (each step's own plan), Aurora, the service, the pipeline, the URL",
    after_help = "Examples:\n  stack-status --in stack.json                 a table\n  stack-status --in stack.json --output json | jq .problems\n  make status\n\nOnly read calls are made. stdout carries the report.\nExit codes: 0 healthy; 1 something is unhealthy (named) or AWS failed; 2 bad input."
)]
pub struct Cli {
    /// The stack document (default: $STACK, else stdin)
    #[arg(long = "in", value_name = "FILE", env = "STACK")]
    pub input: Option<PathBuf>,
    /// A table for people, or JSON for scripts
    #[arg(long, short, value_enum, default_value_t = Output::Table)]
    pub output: Output,
    #[command(flatten)]
    pub aws: kit::cli::Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    Table,
    Json,
}

/// The full command line, as the shell completions and the man page show it.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn main() -> ExitCode {
    kit::tool::main(
        TOOL,
        |_: &Cli| (0, false),
        async |cli: &Cli| {
            let report = status(cli).await?;
            match cli.output {
                Output::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).expect("reports serialise")
                ),
                Output::Table => print!("{}", output::table(&report)),
            }
            Ok(if report["healthy"] == true {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        },
    )
}

/// The whole report; `healthy` is false when `problems` is not empty.
pub async fn status(cli: &Cli) -> Result<Value> {
    let text = kit::cli::read_document_text(cli.input.as_deref())?;
    let doc = Doc::parse(&text)?;
    let kit::tool::Account { sdk, region, .. } = kit::tool::connect(&cli.aws, &doc).await?;
    let svc: Option<Svc> = applied(&doc)?;
    let db: Option<Db> = applied(&doc)?;
    let alb: Option<Alb> = applied(&doc)?;
    let pipeline: Option<Pipeline> = applied(&doc)?;

    let steps: Vec<_> = stack_run::table::steps()
        .into_iter()
        .filter(|s| doc.has_section(&s.section))
        .collect();
    let bin = stack_run::tool_dir();
    let aws_flags = aws_flags(cli);
    let plans =
        tokio::task::spawn_blocking(move || drift::plan_steps(&bin, steps, &text, &aws_flags));

    let mut problems = Vec::new();
    let (mut p_db, mut p_svc, mut p_pipe) = (Vec::new(), Vec::new(), Vec::new());
    let (database, service, pipe) = futures::try_join!(
        async {
            match &db {
                Some(db) => health::database(&sdk, db, &mut p_db).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match &svc {
                Some(svc) => health::service(&sdk, svc, alb.as_ref(), &mut p_svc)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        },
        async {
            match &pipeline {
                Some(p) => health::pipeline(&sdk, p, &mut p_pipe).await.map(Some),
                None => Ok(None),
            }
        },
    )?;
    let plans = plans
        .await
        .map_err(|e| Error::aws(format!("the step plans did not finish: {e}")))?;
    for plan in &plans {
        if let Err(e) = &plan.plan {
            problems.push(format!("{}: {e}", plan.step.tool));
        }
        for change in plan.changes() {
            problems.push(format!(
                "{}: {}",
                plan.step.tool,
                output::describe_change(change)
            ));
        }
    }
    problems.extend(p_db);
    problems.extend(p_svc);
    problems.extend(p_pipe);
    for step in stack_run::table::steps() {
        if !doc.has_section(&step.section) {
            problems.push(format!(
                "{}: the step has not run (no {} section); run make {}",
                step.tool, step.section, step.target
            ));
        }
    }
    let url = alb.as_ref().map(|a| a.url.clone());
    Ok(json!({
        "app": doc.app(),
        "region": region,
        "healthy": problems.is_empty(),
        "problems": problems,
        "steps": plans.iter().map(drift::StepPlan::to_json).collect::<Vec<_>>(),
        "database": database,
        "service": service,
        "pipeline": pipe,
        "url": url,
    }))
}

fn applied<S: stackdoc::sections::Section>(doc: &Doc) -> Result<Option<S>> {
    if doc.is_planned(S::NAME) {
        return Ok(None);
    }
    Ok(doc.section::<S>()?)
}

/// The flags that aim a step at the same account as this run.
fn aws_flags(cli: &Cli) -> Vec<String> {
    let mut flags = Vec::new();
    for (name, value) in [
        ("--region", &cli.aws.region),
        ("--profile", &cli.aws.profile),
        ("--endpoint-url", &cli.aws.endpoint_url),
    ] {
        if let Some(v) = value {
            flags.push(name.to_owned());
            flags.push(v.clone());
        }
    }
    flags
}
