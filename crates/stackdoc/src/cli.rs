//! stack-doc's command line, in the library so that `make install` can generate its
//! completions and man page; and how every stagehand tool parses its command line (here, not
//! in the kit, because stack-doc and stack-run do not depend on the kit).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "stack-doc",
    version,
    about = "Small, AWS-free operations on stagehand stack documents, for scripts",
    after_help = "Exit codes: 0 ok; 1 the value asked for is not in the document; 2 bad usage or a malformed document."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Deep-merge documents of steps that ran in parallel from one document
    Join {
        /// The documents (two or more)
        #[arg(required = true, num_args = 1..)]
        files: Vec<PathBuf>,
    },
    /// Print one value by its dotted path (e.g. alb.url, core.private_subnets.0.id)
    Get {
        path: String,
        /// The document (default: stdin)
        file: Option<PathBuf>,
    },
    /// A short table of what the stack holds: names, ids and URLs (no ARNs, no settings)
    Table {
        /// The document (default: stdin)
        file: Option<PathBuf>,
    },
}

/// stack-doc's full command line, as completions and the man page show it.
pub fn command() -> clap::Command {
    Cli::command()
}

/// Parse the command line the way every stagehand tool does: `--help` and `--version` print
/// and exit 0; a usage error is one line naming the tool and exit 2.
pub fn parse_args<C: Parser>(tool: &str) -> Result<C, ExitCode> {
    match C::try_parse() {
        Ok(cli) => Ok(cli),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("{tool}: error: {} (see {tool} --help)", one_line(&e));
            Err(ExitCode::from(2))
        }
    }
}

/// clap's message without its usage block, on one line: "the following required arguments
/// were not provided: --repo-owner <OWNER>".
pub fn one_line(e: &clap::Error) -> String {
    let rendered = e.render().to_string();
    let lines: Vec<&str> = rendered
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    lines.join(" ").trim_start_matches("error: ").to_owned()
}
