//! Watching a rollout to its end: the service stable AND its primary deployment COMPLETED.
//! A deployment that ends FAILED (the circuit breaker tripped, with or without rollback) is a
//! failure, reported with the reasons ECS gave for the stopped tasks.

use kit::wait::{Poll, until};
use kit::{AwsContext, Cx, Error, Result};

/// Wait for `deployment` (the one our create/update started; None: the current primary).
pub async fn wait(
    cx: &Cx,
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    deployment: Option<&str>,
    task_definition: &str,
) -> Result<()> {
    let deployment = deployment.filter(|d| !d.is_empty()).map(str::to_owned);
    let what = format!("ECS service {service} to roll out");
    until(cx, &what, || {
        let deployment = deployment.clone();
        async move {
            let Some(s) = ecs_service::describe(ecs, cluster, service).await? else {
                return Err(Error::aws(format!(
                    "ECS service {service} disappeared while rolling out; rerun svc-up"
                )));
            };
            let deployments = s.deployments();
            let primary = ecs_service::primary(&s);
            let ours = match &deployment {
                Some(id) => deployments.iter().find(|d| d.id() == Some(id.as_str())),
                None => primary,
            };
            let state = ecs_service::rollout_state;
            match ours {
                Some(d) if state(d) == "FAILED" => {
                    let id = d.id().unwrap_or_default().to_owned();
                    let why = d.rollout_state_reason().unwrap_or("").to_owned();
                    let rolled_back = primary
                        .filter(|p| p.id() != d.id())
                        .and_then(|p| p.task_definition())
                        .map(|td| format!("; the circuit breaker rolled back to {}", short(td)))
                        .unwrap_or_default();
                    let reasons = stopped_reasons(ecs, cluster, service, &id).await?;
                    return Err(failed(service, &id, &why, &rolled_back, &reasons));
                }
                None if deployment.is_some() => {
                    // Ours is gone and another is primary: it was rolled back.
                    let back = primary
                        .and_then(|p| p.task_definition())
                        .map(short)
                        .unwrap_or("an earlier revision");
                    let id = deployment.clone().unwrap_or_default();
                    let reasons = stopped_reasons(ecs, cluster, service, &id).await?;
                    return Err(failed(
                        service,
                        &id,
                        "it is no longer a deployment of the service",
                        &format!("; the circuit breaker rolled back to {back}"),
                        &reasons,
                    ));
                }
                _ => {}
            }
            let Some(p) = primary else {
                return Ok(Poll::Pending("no primary deployment yet".into()));
            };
            if deployment.is_some() && p.id() != ours.and_then(|d| d.id()) {
                return Ok(Poll::Pending(
                    "waiting for the new deployment to become primary".into(),
                ));
            }
            let stable = deployments.len() == 1 && s.running_count() == s.desired_count();
            let rollout = state(p);
            if rollout == "COMPLETED" && stable {
                if p.task_definition().is_some_and(|td| td != task_definition) {
                    kit::warn!(
                        "ECS service {service} runs {}, not {}",
                        p.task_definition().map(short).unwrap_or_default(),
                        short(task_definition)
                    );
                }
                return Ok(Poll::Ready(()));
            }
            Ok(Poll::Pending(format!(
                "{}/{} tasks running, rollout {}, {} deployment(s)",
                s.running_count(),
                s.desired_count(),
                if rollout.is_empty() {
                    "unknown"
                } else {
                    &rollout
                },
                deployments.len()
            )))
        }
    })
    .await
}

fn short(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn failed(service: &str, id: &str, why: &str, rolled_back: &str, reasons: &[String]) -> Error {
    let tasks = if reasons.is_empty() {
        "no stopped tasks were reported".to_owned()
    } else {
        format!("stopped tasks: {}", reasons.join(" | "))
    };
    Error::aws(format!(
        "ECS service {service}: deployment {id} FAILED ({why}){rolled_back}; {tasks}; read the container logs, fix the image or settings, and rerun svc-up"
    ))
}

/// The distinct reasons ECS gave for the service's stopped tasks (those of `deployment`
/// first, else all).
async fn stopped_reasons(
    ecs: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    deployment: &str,
) -> Result<Vec<String>> {
    use aws_sdk_ecs::types::DesiredStatus;
    let listed = ecs
        .list_tasks()
        .cluster(cluster)
        .service_name(service)
        .desired_status(DesiredStatus::Stopped)
        .send()
        .await
        .ctx(format!(
            "listing the stopped tasks of ECS service {service}"
        ))?;
    let arns: Vec<String> = listed.task_arns().iter().take(100).cloned().collect();
    if arns.is_empty() {
        return Ok(Vec::new());
    }
    let described = ecs
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns))
        .send()
        .await
        .ctx(format!(
            "describing the stopped tasks of ECS service {service}"
        ))?;
    let tasks = described.tasks();
    let ours: Vec<_> = tasks
        .iter()
        .filter(|t| t.started_by() == Some(deployment))
        .collect();
    let pick: Vec<_> = if ours.is_empty() {
        tasks.iter().collect()
    } else {
        ours
    };
    let mut reasons: Vec<String> = Vec::new();
    for t in pick {
        let mut parts: Vec<String> = t.stopped_reason().map(str::to_owned).into_iter().collect();
        parts.extend(t.containers().iter().filter_map(|c| {
            c.reason()
                .map(|r| format!("{}: {r}", c.name().unwrap_or("container")))
        }));
        let line = parts.join(" — ");
        if !line.is_empty() && !reasons.contains(&line) {
            reasons.push(line);
        }
    }
    reasons.truncate(5);
    Ok(reasons)
}
