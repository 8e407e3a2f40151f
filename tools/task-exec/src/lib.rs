//! task-exec: run a command with the environment an ECS task of the stack's service gets, the
//! way the ECS agent builds it: the service's current task definition, its container's
//! `environment` as it is, and every `secrets` entry resolved (SSM parameters, Secrets Manager
//! secrets with JSON keys and version selectors). `--set K=V` overrides one variable for a local
//! run. Like `copilot run local`, but for any command, on real AWS or the emulator.
//!
//! Values go only into the child's environment: never onto argv, stdout, stderr or a log.
//! The command replaces this process (exec), so its pid is the one a caller recorded.
//!
//! Not a stack step: it reads the document (the `svc` section) and writes nothing.

mod resolve;
mod taskdef;
pub mod value_from;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use kit::{Error, Result};
use stackdoc::{Doc, Svc};

pub use resolve::Entry;

const TOOL: &str = "task-exec";

/// Run COMMAND with the environment of the stack's ECS service's task.
#[derive(Parser, Debug)]
#[command(
    name = TOOL,
    version,
    about = "Run a command with the environment an ECS task of the stack's service gets (environment and resolved secrets)",
    after_help = "Example: task-exec --in stack.json --set BASE_URL=http://localhost:7007 -- node packages/backend --config app-config.yaml\n\nValues are set only in the command's environment and never printed. --set values are on argv: use it for addresses and URLs, never for a secret."
)]
pub struct Cli {
    /// Override (or add) a variable for a local run; repeatable. Not for secret values: argv is
    /// visible to other users of the machine
    #[arg(long = "set", value_name = "K=V", value_parser = parse_set)]
    pub set: Vec<(String, String)>,
    /// The container whose environment to use (default: the document's svc.container_name)
    #[arg(long)]
    pub container: Option<String>,
    /// Print the variables' names and where each comes from (never the values) instead of
    /// running a command; the secrets are still read, so a missing one fails as it would
    #[arg(long, conflicts_with = "command")]
    pub list: bool,

    /// The stack document (default: $STACK, else stdin)
    #[arg(
        long = "in",
        value_name = "FILE",
        env = "STACK",
        help_heading = "Stack"
    )]
    pub input: Option<PathBuf>,

    #[command(flatten)]
    pub aws: kit::cli::Aws,

    /// More detail on stderr (-vv for debug)
    #[arg(short, long, action = clap::ArgAction::Count, help_heading = "Output")]
    pub verbose: u8,
    /// Only warnings and errors on stderr
    #[arg(short, long, conflicts_with = "verbose", help_heading = "Output")]
    pub quiet: bool,

    /// The command and its arguments (after --)
    #[arg(
        value_name = "COMMAND",
        trailing_var_arg = true,
        allow_hyphen_values = true,
        required_unless_present = "list"
    )]
    pub command: Vec<OsString>,
}

/// `K=V` with a name a process environment can hold.
fn parse_set(text: &str) -> std::result::Result<(String, String), String> {
    let (k, v) = text.split_once('=').ok_or_else(|| {
        format!("'{text}' is not K=V; write e.g. --set BASE_URL=http://localhost:7007")
    })?;
    if k.is_empty() || k.contains('\0') || v.contains('\0') {
        return Err(format!("'{k}' is not a variable name"));
    }
    Ok((k.to_owned(), v.to_owned()))
}

/// Where one variable of the child's environment comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    Environment,
    Secret(String),
    Set,
}

/// The child's variables (task environment, then resolved secrets, then `--set`), each with
/// its origin. Later layers replace earlier ones, as `--set` is meant to.
pub fn layered(
    environment: Vec<(String, String)>,
    secrets: Vec<(String, String)>,
    secret_sources: &[Entry],
    set: &[(String, String)],
) -> BTreeMap<String, (String, Origin)> {
    let mut vars = BTreeMap::new();
    for (k, v) in environment {
        vars.insert(k, (v, Origin::Environment));
    }
    for ((k, v), e) in secrets.into_iter().zip(secret_sources) {
        vars.insert(k, (v, Origin::Secret(e.value_from.clone())));
    }
    for (k, v) in set {
        vars.insert(k.clone(), (v.clone(), Origin::Set));
    }
    vars
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
            let prepared = prepare(cli).await?;
            if cli.list {
                for (name, (_, origin)) in &prepared.vars {
                    match origin {
                        Origin::Environment => println!("{name}\tenvironment"),
                        Origin::Secret(from) => println!("{name}\tsecret {from}"),
                        Origin::Set => println!("{name}\t--set"),
                    }
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(exec(&cli.command, prepared))
        },
    )
}

/// The environment, ready to hand to the command.
pub struct Prepared {
    pub vars: BTreeMap<String, (String, Origin)>,
}

async fn prepare(cli: &Cli) -> Result<Prepared> {
    let doc = read_doc(cli.input.as_deref())?;
    let svc: Svc = doc.require_applied()?;
    let container = cli.container.clone().unwrap_or(svc.container_name.clone());

    let sdk = kit::tool::connect(&cli.aws, &doc).await?.sdk;

    let def = taskdef::current(&sdk, &svc.cluster_name, &svc.service_name, &container).await?;
    let values = resolve::resolve(&sdk, &def.secrets).await?;
    for (k, _) in &cli.set {
        if !def.environment.iter().any(|(n, _)| n == k) && !def.secrets.iter().any(|e| &e.name == k)
        {
            kit::warn!("--set {k}: the task does not set {k}; adding it");
        }
    }
    let vars = layered(def.environment.clone(), values, &def.secrets, &cli.set);
    let count = |o: fn(&Origin) -> bool| vars.values().filter(|(_, origin)| o(origin)).count();
    let set_names: Vec<&str> = cli.set.iter().map(|(k, _)| k.as_str()).collect();
    kit::info!(
        "{} (service {} in {}), container {}: {} from environment, {} from secrets{}",
        def.task_definition,
        svc.service_name,
        svc.cluster_name,
        def.name,
        count(|o| *o == Origin::Environment),
        count(|o| matches!(o, Origin::Secret(_))),
        if set_names.is_empty() {
            String::new()
        } else {
            format!(", set locally: {}", set_names.join(", "))
        }
    );
    Ok(Prepared { vars })
}

fn read_doc(path: Option<&std::path::Path>) -> Result<Doc> {
    Ok(Doc::parse(&kit::cli::read_document_text(path)?)?)
}

/// Replace this process with the command; returns only when that failed.
fn exec(command: &[OsString], prepared: Prepared) -> Error {
    use std::os::unix::process::CommandExt;
    let Some((program, args)) = command.split_first() else {
        return Error::usage("no command given; e.g. task-exec -- env");
    };
    let mut cmd = std::process::Command::new(program);
    cmd.args(args);
    for (k, (v, _)) in prepared.vars {
        cmd.env(k, v);
    }
    let err = cmd.exec();
    let shown = program.to_string_lossy();
    if err.kind() == std::io::ErrorKind::NotFound {
        Error::usage(format!(
            "cannot run {shown}: no such command; check the command or PATH"
        ))
    } else {
        Error::aws(format!("cannot run {shown}: {err}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_parses_and_overrides() {
        assert_eq!(parse_set("A=b=c"), Ok(("A".into(), "b=c".into())));
        assert!(parse_set("novalue").is_err());
        assert!(parse_set("=x").is_err());
        let secrets = vec![Entry {
            name: "P".into(),
            value_from: "arn:x".into(),
        }];
        let vars = layered(
            vec![("A".into(), "task".into()), ("B".into(), "task".into())],
            vec![("P".into(), "secret".into())],
            &secrets,
            &[("A".into(), "local".into())],
        );
        assert_eq!(vars["A"], ("local".into(), Origin::Set));
        assert_eq!(vars["B"], ("task".into(), Origin::Environment));
        assert_eq!(vars["P"], ("secret".into(), Origin::Secret("arn:x".into())));
    }
}
