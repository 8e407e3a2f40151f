//! `svc-ops exec`: a shell in a running task of the service through ECS Exec. The session is
//! carried by the AWS CLI and the Session Manager plugin, as ECS documents it; this command
//! finds the task and container, checks that the task was started with ECS Exec, and then
//! runs exactly the `aws ecs execute-command` line it would print. Without the plugin (or the
//! CLI) it says how to install it and prints that line, changing nothing (exit 2).

use std::path::{Path, PathBuf};

use aws_sdk_ecs::types::DesiredStatus;
use kit::{AwsContext, Error, Result};

use crate::{Cli, Stack, task_id};

/// Where AWS documents installing the Session Manager plugin.
pub const PLUGIN_DOCS: &str = "https://docs.aws.amazon.com/systems-manager/latest/userguide/session-manager-working-with-install-plugin.html";
const CLI_DOCS: &str =
    "https://docs.aws.amazon.com/cli/latest/userguide/getting-started-install.html";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The task (its id or ARN; default: the service's newest running task)
    #[arg(long, value_name = "TASK_ID")]
    pub task: Option<String>,
    /// The container (default: the document's svc.container_name)
    #[arg(long)]
    pub container: Option<String>,
    /// The command to run in the container
    #[arg(long, default_value = "/bin/sh")]
    pub command: String,
}

pub async fn run(cli: &Cli, args: &Args) -> Result<()> {
    let stack = cli.stack().await?;
    let container = args
        .container
        .clone()
        .unwrap_or_else(|| stack.svc.container_name.clone());
    let task = find_task(&stack, args.task.as_deref(), &container).await?;
    let line = command_line(&stack, cli, &task, &container, &args.command);
    let shown = line
        .iter()
        .map(|w| shell_quote(w))
        .collect::<Vec<_>>()
        .join(" ");

    let Some(_plugin) = on_path("session-manager-plugin") else {
        eprintln!("{shown}");
        return Err(Error::usage(format!(
            "the Session Manager plugin (session-manager-plugin) is not installed, and ECS Exec needs it: install it ({PLUGIN_DOCS}), then run the aws ecs execute-command line above (task {task})"
        )));
    };
    let Some(aws) = on_path("aws") else {
        eprintln!("{shown}");
        return Err(Error::usage(format!(
            "the AWS CLI (aws) is not installed, and ECS Exec sessions go through it: install it ({CLI_DOCS}), then run the aws ecs execute-command line above (task {task})"
        )));
    };
    kit::info!("{shown}");
    Err(exec(&aws, &line[1..]))
}

/// The task to open the shell in: the one named, or the newest running one; it must run and
/// have been started with ECS Exec enabled.
async fn find_task(stack: &Stack, wanted: Option<&str>, container: &str) -> Result<String> {
    let ecs = aws_sdk_ecs::Client::new(&stack.sdk);
    let (cluster, service) = (&stack.svc.cluster_name, &stack.svc.service_name);
    let arns: Vec<String> = match wanted {
        Some(t) => vec![t.to_owned()],
        None => ecs
            .list_tasks()
            .cluster(cluster)
            .service_name(service)
            .desired_status(DesiredStatus::Running)
            .send()
            .await
            .ctx(format!("listing the tasks of ECS service {service}"))?
            .task_arns()
            .to_vec(),
    };
    if arns.is_empty() {
        return Err(Error::aws(format!(
            "ECS service {service} in cluster {cluster} has no running task to open a shell in; see make status"
        )));
    }
    let out = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .ctx(format!("describing the tasks of ECS service {service}"))?;
    let mut running: Vec<_> = out
        .tasks()
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .collect();
    running.sort_by_key(|t| std::cmp::Reverse(t.started_at().map(|s| s.secs())));
    let Some(task) = running.first() else {
        return Err(match wanted {
            Some(t) => Error::usage(format!(
                "task {t} is not a running task in cluster {cluster}; pick one from svc-ops logs or make status"
            )),
            None => Error::aws(format!(
                "ECS service {service} in cluster {cluster} has no running task to open a shell in; see make status"
            )),
        });
    };
    let id = task_id(task.task_arn().unwrap_or_default()).to_owned();
    if !task.enable_execute_command() {
        return Err(Error::usage(format!(
            "task {id} was started without ECS Exec (enableExecuteCommand); svc-up enables it: run make svc ARGS=--redeploy, then retry"
        )));
    }
    let c = task
        .containers()
        .iter()
        .find(|c| c.name() == Some(container));
    let Some(c) = c else {
        let names: Vec<&str> = task.containers().iter().filter_map(|c| c.name()).collect();
        return Err(Error::usage(format!(
            "task {id} has no container {container} (it has {}); pass --container NAME",
            names.join(", ")
        )));
    };
    if let Some(agent) = c
        .managed_agents()
        .iter()
        .find(|a| a.name().map(|n| n.as_str()) == Some("ExecuteCommandAgent"))
        && agent.last_status() != Some("RUNNING")
    {
        kit::warn!(
            "the ECS Exec agent of container {container} in task {id} is {}; the session may fail until it runs",
            agent.last_status().unwrap_or("not reported")
        );
    }
    Ok(id)
}

/// `aws ecs execute-command …` with the region, profile and endpoint this run uses.
fn command_line(
    stack: &Stack,
    cli: &Cli,
    task: &str,
    container: &str,
    command: &str,
) -> Vec<String> {
    let mut line: Vec<String> = ["aws", "ecs", "execute-command"]
        .map(str::to_owned)
        .to_vec();
    line.extend(["--region".into(), stack.region.clone()]);
    if let Some(p) = &cli.aws.profile {
        line.extend(["--profile".into(), p.clone()]);
    }
    if let Some(url) = stack.sdk.endpoint_url() {
        line.extend(["--endpoint-url".into(), url.to_owned()]);
    }
    line.extend([
        "--cluster".into(),
        stack.svc.cluster_name.clone(),
        "--task".into(),
        task.to_owned(),
        "--container".into(),
        container.to_owned(),
        "--interactive".into(),
        "--command".into(),
        command.to_owned(),
    ]);
    line
}

/// A word as a POSIX shell reads it back.
pub fn shell_quote(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@%+,".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

/// An executable file named `name` in a directory of PATH.
fn on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Replace this process with the AWS CLI (the session needs the terminal); returns only when
/// that failed.
fn exec(aws: &Path, args: &[String]) -> Error {
    use std::os::unix::process::CommandExt;
    let err = std::process::Command::new(aws).args(args).exec();
    Error::aws(format!("cannot run {}: {err}", aws.display()))
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quoting() {
        assert_eq!(shell_quote("/bin/sh"), "/bin/sh");
        assert_eq!(shell_quote("ls -l"), "'ls -l'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
    }
}
