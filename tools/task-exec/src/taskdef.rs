//! The container a new task of the service would run: the service's current task definition
//! (the primary deployment's, the one ECS starts tasks from) and its container by name.

use aws_config::SdkConfig;
use kit::{Error, Result};

use crate::resolve::Entry;

/// What task-exec needs of one container definition.
#[derive(Debug, Clone)]
pub struct Container {
    /// "family:revision", for messages.
    pub task_definition: String,
    pub name: String,
    /// `environment`, in the task definition's order.
    pub environment: Vec<(String, String)>,
    pub secrets: Vec<Entry>,
}

pub async fn current(
    sdk: &SdkConfig,
    cluster: &str,
    service: &str,
    container: &str,
) -> Result<Container> {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let svc = ecs_service::describe(&ecs, cluster, service)
        .await?
        .filter(|s| s.status() == Some("ACTIVE"))
        .ok_or_else(|| {
            Error::aws(format!(
                "ECS service {service} does not exist in cluster {cluster} (or is being deleted); run svc-up"
            ))
        })?;
    let arn = svc.task_definition().ok_or_else(|| {
        Error::aws(format!(
            "ECS service {service} has no task definition; run svc-up"
        ))
    })?;
    let described = ecs_service::task_definition(&ecs, arn)
        .await?
        .ok_or_else(|| {
            Error::aws(format!(
                "task definition {arn} of ECS service {service} does not exist; run svc-up"
            ))
        })?;
    let td = &described.definition;
    let label = format!("{}:{}", td.family().unwrap_or("?"), td.revision());
    let names: Vec<&str> = td
        .container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    let def = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container))
        .ok_or_else(|| {
            Error::usage(format!(
                "task definition {label} has no container {container} (it has: {}); pass --container NAME",
                names.join(", ")
            ))
        })?;
    if !def.environment_files().is_empty() {
        return Err(Error::usage(format!(
            "container {container} of {label} reads environmentFiles from S3, which task-exec does not load; move those variables to environment or secrets"
        )));
    }
    Ok(Container {
        task_definition: label,
        name: container.to_owned(),
        environment: def
            .environment()
            .iter()
            .filter_map(|kv| {
                Some((
                    kv.name()?.to_owned(),
                    kv.value().unwrap_or_default().to_owned(),
                ))
            })
            .collect(),
        secrets: def
            .secrets()
            .iter()
            .map(|s| Entry {
                name: s.name().to_owned(),
                value_from: s.value_from().to_owned(),
            })
            .collect(),
    })
}
