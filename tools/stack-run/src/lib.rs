//! stack-run: the stack's steps run from the step table (scripts/steps.tsv), which is what
//! scripts/up.sh, down.sh, plan.sh and step.sh (and so the Makefile) call.
//!
//!     stack-run up [--yes] [--no-wait]   plan the whole chain (read-only) and show it; ask on a
//!                                        terminal; then run each step as soon as the sections
//!                                        it needs are in the document, side by side where
//!                                        they allow; save the document after each step; wait
//!                                        for the portal; print its URL
//!     stack-run plan                     the chain's plan, summed up; nothing is written
//!     stack-run down [--yes]             every step's --destroy in reverse order
//!     stack-run step TOOL|TARGET [ARGS]  one step on the document
//!
//! The document is $STACK (default stack.json), saved atomically after every step, so a
//! failed run resumes where it stopped. Extra flags per step come from `<VAR>_ARGS` (the
//! table's var column: DB_ARGS="--max-acu 4"); the tools are found next to this binary, or in
//! $STAGEHAND_BIN. stderr carries progress; stdout only what a script prints (up: the URL).
//! up, plan and down ask STS who the credentials are once and hand the answer to every tool
//! (caller.rs), which takes it only for the same access key; otherwise it asks itself.

mod caller;
mod child;
mod plan;
mod progress;
mod run;
pub mod table;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use run::Fail;

#[derive(Parser, Debug)]
#[command(
    name = "stack-run",
    version,
    about = "Run the stack's steps from the step table: up, plan, down, or one step",
    after_help = "Environment: STACK (the document, default stack.json), <VAR>_ARGS (extra flags per step, e.g. DB_ARGS=\"--max-acu 4\"), AUTO_APPROVE=1 (answer yes), NO_WAIT=1 (up does not wait for the portal), STAGEHAND_BIN (where the tools are).\nExit codes: 0 ok; 1 AWS or runtime failure; 2 bad usage or input (nothing changed); 3 timed out waiting."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Plan the chain, then bring the stack up and wait for the portal
    Up {
        /// Do not ask for confirmation (also AUTO_APPROVE=1)
        #[arg(long, short = 'y')]
        yes: bool,
        /// Do not wait for the database, the pipeline's first run and the rollout (also NO_WAIT=1)
        #[arg(long)]
        no_wait: bool,
    },
    /// Show what up would change, with read-only calls only
    Plan,
    /// Tear the stack down, each step's --destroy in reverse order
    Down {
        /// Do not ask for confirmation (also AUTO_APPROVE=1)
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Run one step (by tool or make target) on the document, with extra flags
    Step {
        /// The step: a tool (db-up) or its make target (db)
        step: String,
        /// Extra flags for the tool
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Print the step table
    Steps,
}

/// Settings every command shares, from the environment.
pub struct Env {
    pub stack: PathBuf,
    pub bin: PathBuf,
    pub auto_approve: bool,
    pub no_wait: bool,
}

impl Env {
    fn load() -> Env {
        let flag = |name: &str| {
            std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0" && v != "false")
        };
        let bin = tool_dir();
        Env {
            stack: PathBuf::from(std::env::var("STACK").unwrap_or_else(|_| "stack.json".into())),
            bin,
            auto_approve: flag("AUTO_APPROVE"),
            no_wait: flag("NO_WAIT"),
        }
    }
}

/// Where the step tools are: STAGEHAND_BIN, else beside the running binary.
pub fn tool_dir() -> PathBuf {
    std::env::var_os("STAGEHAND_BIN")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::current_exe()
                .ok()
                .and_then(|p| p.parent().map(PathBuf::from))
        })
        .unwrap_or_else(|| PathBuf::from("."))
}

/// The full command line, as the shell completions and the man page show it.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

pub fn main() -> ExitCode {
    let cli: Cli = match stackdoc::cli::parse_args("stack-run") {
        Ok(c) => c,
        Err(code) => return code,
    };
    let mut env = Env::load();
    let steps = table::steps();
    let (who, result) = match cli.command {
        Command::Up { yes, no_wait } => {
            env.auto_approve |= yes;
            env.no_wait |= no_wait;
            ("up", run::up(&env, &steps))
        }
        Command::Plan => ("plan", run::plan(&env, &steps)),
        Command::Down { yes } => {
            env.auto_approve |= yes;
            ("down", run::down(&env, &steps))
        }
        Command::Step { step, args } => ("step", run::step(&env, &steps, &step, &args)),
        Command::Steps => {
            for s in &steps {
                println!(
                    "{}\t{}\t{}\t{}_ARGS\tneeds: {}",
                    s.tool,
                    s.section,
                    s.target,
                    s.var,
                    if s.needs.is_empty() {
                        "-".into()
                    } else {
                        s.needs.join(",")
                    }
                );
            }
            ("steps", Ok(()))
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("{who}: error: {}", f.message);
            ExitCode::from(f.code)
        }
    }
}

/// Ask on a terminal; anything but y/yes is no.
pub(crate) fn confirm(question: &str) -> bool {
    if !std::io::stdin().is_terminal() || !std::io::stderr().is_terminal() {
        return true;
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    if std::io::stdin().read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

/// Whether a question would be asked (stdin and stderr are terminals).
pub(crate) fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}
