//! stack-doc's command line, in the library so that `make install` can generate its
//! completions and man page.

use std::path::PathBuf;

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
    /// Print one value by its dotted path (e.g. pipeline.url, core.private_subnets.0.id)
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
