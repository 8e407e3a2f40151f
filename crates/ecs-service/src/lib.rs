//! The stack's ECS service as it is now, read the one way every tool reads it: svc-up while
//! it watches a rollout, svc-ops before and during a rollback, task-exec for the task
//! definition a new task would start from.

pub mod names;

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{Deployment, Service, Tag, TaskDefinition, TaskDefinitionField};
use kit::{AwsContext, Result};

/// The service, unless it does not exist or is INACTIVE (deleted: ECS lists it for a while).
pub async fn describe(ecs: &Client, cluster: &str, service: &str) -> Result<Option<Service>> {
    let out = ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .ctx(format!(
            "describing ECS service {service} in cluster {cluster}"
        ))?;
    Ok(out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
        .cloned())
}

/// The deployment ECS starts new tasks from.
pub fn primary(service: &Service) -> Option<&Deployment> {
    service
        .deployments()
        .iter()
        .find(|d| d.status() == Some("PRIMARY"))
}

/// A deployment's rollout state ("IN_PROGRESS", "COMPLETED", "FAILED"; empty when ECS gives
/// none).
pub fn rollout_state(deployment: &Deployment) -> String {
    deployment
        .rollout_state()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default()
}

/// A task definition as DescribeTaskDefinition gives it, with its tags when asked for.
#[derive(Debug, Clone)]
pub struct Described {
    pub definition: TaskDefinition,
    pub tags: Vec<Tag>,
}

/// A task definition by ARN, `family:revision`, or family (then its latest ACTIVE revision).
/// None when there is no such revision: ECS answers that with a plain ClientException
/// ("Unable to describe task definition."), not a NotFound code; any other ClientException is
/// an error.
pub async fn task_definition(ecs: &Client, id: &str) -> Result<Option<Described>> {
    describe_task_definition(ecs, id, false).await
}

/// [`task_definition`] with its tags (the same call; only the tool that owns the family needs
/// them, so the read-only tools do not ask for more than they read).
pub async fn task_definition_tagged(ecs: &Client, id: &str) -> Result<Option<Described>> {
    describe_task_definition(ecs, id, true).await
}

async fn describe_task_definition(ecs: &Client, id: &str, tags: bool) -> Result<Option<Described>> {
    let mut call = ecs.describe_task_definition().task_definition(id);
    if tags {
        call = call.include(TaskDefinitionField::Tags);
    }
    let out = match call.send().await {
        Err(e) if is_no_such_revision(&e) => return Ok(None),
        other => other.found(format!("describing task definition {id}"))?,
    };
    Ok(out.and_then(|o| {
        let tags = o.tags().to_vec();
        o.task_definition
            .map(|definition| Described { definition, tags })
    }))
}

fn is_no_such_revision<E: aws_sdk_ecs::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ClientException")
        && e.message().is_some_and(|m| {
            m.to_ascii_lowercase()
                .contains("unable to describe task definition")
        })
}

/// Every ECS cluster of the account and region (their ARNs).
pub async fn clusters(ecs: &Client) -> Result<Vec<String>> {
    let mut all = Vec::new();
    let mut pages = ecs.list_clusters().into_paginator().send();
    while let Some(page) = pages.next().await {
        all.extend(
            page.ctx("listing ECS clusters")?
                .cluster_arns()
                .iter()
                .cloned(),
        );
    }
    Ok(all)
}

/// Every service of a cluster that is not INACTIVE (none when the cluster is gone), to find
/// the ones that still use a resource before it is deleted.
pub async fn services_in(ecs: &Client, cluster: &str) -> Result<Vec<Service>> {
    let mut arns = Vec::new();
    let mut pages = ecs.list_services().cluster(cluster).into_paginator().send();
    while let Some(page) = pages.next().await {
        match page.found(format!("listing the ECS services of cluster {cluster}"))? {
            Some(page) => arns.extend(page.service_arns().iter().cloned()),
            None => return Ok(Vec::new()),
        }
    }
    let mut services = Vec::new();
    // DescribeServices takes at most 10 services per call.
    for chunk in arns.chunks(10) {
        let out = ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .ctx(format!("describing the ECS services of cluster {cluster}"))?;
        services.extend(
            out.services()
                .iter()
                .filter(|s| s.status() != Some("INACTIVE"))
                .cloned(),
        );
    }
    Ok(services)
}

/// A cluster's name from its ARN ("arn:aws:ecs:r:a:cluster/NAME") or the name itself.
pub fn cluster_name(arn_or_name: &str) -> &str {
    arn_or_name.rsplit('/').next().unwrap_or(arn_or_name)
}
