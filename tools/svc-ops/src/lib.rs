//! svc-ops: day-two operations on the stack's ECS service, the questions a platform engineer
//! asks after `make up` (Copilot's `svc logs` / `svc exec`, ecspresso's `rollback`):
//!
//! - `logs`: the service's CloudWatch log lines, each with the task that wrote it;
//! - `exec`: a shell in a running task through ECS Exec (the AWS CLI and the Session Manager
//!   plugin carry the session; without them, how to install them and the exact command);
//! - `rollback`: the service back to the previous task-definition revision, or a named one,
//!   recorded in the document so that the next svc-up / up.sh keeps it.
//!
//! Not a stack step: it reads the document's `svc` section. `logs` and `exec` write nothing;
//! `rollback` prints the updated document on stdout (like a step).

mod exec;
mod logs;
mod rollback;

use std::path::PathBuf;
use std::process::ExitCode;

use aws_config::SdkConfig;
use clap::{Parser, Subcommand};
use kit::Result;
use stackdoc::{Doc, Svc};

pub use rollback::Revision;

const TOOL: &str = "svc-ops";

#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    about = "Day-two operations on the stack's ECS service: its logs, a shell in a task (ECS Exec), a rollback to an earlier task-definition revision",
    after_help = "Examples:\n  svc-ops --in stack.json logs --since 1h --filter ERROR\n  svc-ops --in stack.json logs --follow\n  svc-ops --in stack.json exec                        a shell in the newest running task\n  svc-ops --in stack.json rollback > next && mv next stack.json\n  svc-ops --in stack.json rollback --to 3 > next && mv next stack.json\n  make logs ARGS=\"--since 30m\"; make exec; make rollback ARGS=\"--to 3\"\n\nstdout carries the log lines (logs) or the updated stack document (rollback); messages go to stderr.\nExit codes: 0 done; 1 AWS or runtime failure; 2 bad input or a refusal (nothing was changed); 3 timed out waiting."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,

    /// The stack document (default: $STACK, else stdin)
    #[arg(
        long = "in",
        value_name = "FILE",
        env = "STACK",
        global = true,
        help_heading = "Stack"
    )]
    pub input: Option<PathBuf>,
    #[command(flatten)]
    pub aws: kit::cli::Aws,
    /// More detail on stderr (-vv: each AWS operation)
    #[arg(short, long, action = clap::ArgAction::Count, global = true, help_heading = "Output")]
    pub verbose: u8,
    /// Only warnings and errors on stderr
    #[arg(
        short,
        long,
        conflicts_with = "verbose",
        global = true,
        help_heading = "Output"
    )]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print the service's log lines (from its CloudWatch log group), each with its task id
    Logs(logs::Args),
    /// Open a shell (or run a command) in a running task of the service through ECS Exec
    Exec(exec::Args),
    /// Roll the service back to the previous task-definition revision (or --to one), and
    /// print the document recording it
    Rollback(rollback::Args),
}

/// The full command line, as the shell completions and the man page show it.
pub fn command() -> clap::Command {
    <Cli as clap::CommandFactory>::command()
}

/// The whole program; `main.rs` calls only this.
pub fn main() -> ExitCode {
    kit::tool::main(
        TOOL,
        |cli: &Cli| (cli.verbose, cli.quiet),
        async |cli: &Cli| {
            match &cli.command {
                Command::Logs(args) => logs::run(cli, args).await,
                Command::Exec(args) => exec::run(cli, args).await,
                Command::Rollback(args) => rollback::run(cli, args).await,
            }
            .map(|()| ExitCode::SUCCESS)
        },
    )
}

/// The stack as the document names it, with AWS configuration aimed at its account.
pub(crate) struct Stack {
    pub doc: Doc,
    pub svc: Svc,
    pub sdk: SdkConfig,
    pub region: String,
}

impl Cli {
    /// Read the document and its `svc` section, load the AWS configuration, and refuse a
    /// document of another region or account (exit 2) before any other call.
    pub(crate) async fn stack(&self) -> Result<Stack> {
        let doc = Doc::parse(&kit::cli::read_document_text(self.input.as_deref())?)?;
        let svc: Svc = doc.require_applied()?;
        let kit::tool::Account { sdk, region, .. } = kit::tool::connect(&self.aws, &doc).await?;
        Ok(Stack {
            doc,
            svc,
            sdk,
            region,
        })
    }
}

/// The id of a task from its ARN ("arn:aws:ecs:r:a:task/cluster/ID") or the id itself.
pub fn task_id(arn_or_id: &str) -> &str {
    arn_or_id.rsplit('/').next().unwrap_or(arn_or_id)
}

#[cfg(test)]
mod tests {
    #[test]
    fn task_ids() {
        assert_eq!(
            super::task_id("arn:aws:ecs:us-west-2:123456789012:task/c/0123abcd"),
            "0123abcd"
        );
        assert_eq!(super::task_id("0123abcd"), "0123abcd");
    }
}
