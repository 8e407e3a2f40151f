//! `--run` and `--wait`: a pipeline execution followed stage by stage (Source, Build, Deploy
//! and their status, from ListActionExecutions), then the ECS rollout it deployed, to
//! COMPLETED. A failed build or deploy is exit 1 naming the stage and action, with the way to
//! read the build's log; a rollout the circuit breaker rolled back is a failure too.

use std::cell::RefCell;

use aws_sdk_codepipeline::types::{
    ActionExecutionDetail, ActionExecutionFilter, ActionExecutionStatus, PipelineExecutionStatus,
};
use aws_sdk_ecs::types::{Deployment, DeploymentRolloutState};
use aws_smithy_types::DateTime;
use kit::{AwsContext, Cx, Error, Kind, Result, wait};

use crate::clients::Clients;
use crate::desired::{DEPLOY_STAGE, Desired};

/// Start an execution (StartPipelineExecution) and, unless `--no-wait`, follow it.
pub async fn start_and_follow(cx: &Cx, d: &Desired) -> Result<()> {
    let c = Clients::new(cx);
    let name = &d.n.pipeline;
    // The SDK sends one ClientRequestToken for all retries of this call.
    let out = c
        .codepipeline
        .start_pipeline_execution()
        .name(name)
        .send()
        .await
        .ctx(format!("starting an execution of pipeline {name}"))?;
    let id = out.pipeline_execution_id().unwrap_or_default().to_owned();
    kit::info!("started execution {id} of pipeline {name}");
    if cx.no_wait() {
        return Ok(());
    }
    follow(cx, &c, d, id).await
}

/// Follow the latest execution (waiting for one to appear: creating a pipeline starts its
/// first execution, which may take a moment to be listed): the running one, or the first.
///
/// A latest execution that had already failed before this wait began, while an earlier one
/// succeeded, is a warning, not a failure: the service keeps serving what that earlier one
/// deployed (a rerun of up.sh after a failed push). With no success at all — the first build
/// still failing — the portal was never deployed, and the failure is exit 1.
pub async fn follow_latest(cx: &Cx, d: &Desired) -> Result<()> {
    let c = Clients::new(cx);
    let runs = listed(cx, &c, d, None).await?;
    let newest = &runs[0];
    let ended_badly = !matches!(
        newest.status,
        Some(
            PipelineExecutionStatus::InProgress
                | PipelineExecutionStatus::Stopping
                | PipelineExecutionStatus::Succeeded
        )
    );
    let succeeded_before = runs[1..]
        .iter()
        .any(|r| r.status == Some(PipelineExecutionStatus::Succeeded));
    match follow(cx, &c, d, newest.id.clone()).await {
        Err(e) if ended_badly && succeeded_before && e.kind == Kind::Aws => {
            kit::warn!(
                "{}; the service keeps what the last successful execution deployed (pipeline-up --run starts another)",
                e.message
            );
            Ok(())
        }
        other => other,
    }
}

/// One listed execution.
struct Listed {
    id: String,
    status: Option<PipelineExecutionStatus>,
}

/// The newest execution's id, other than `not`.
async fn latest(cx: &Cx, c: &Clients, d: &Desired, not: Option<&str>) -> Result<String> {
    Ok(listed(cx, c, d, not).await?.swap_remove(0).id)
}

/// The recent executions other than `not`, newest first (at least one: waits for it).
async fn listed(cx: &Cx, c: &Clients, d: &Desired, not: Option<&str>) -> Result<Vec<Listed>> {
    let name = &d.n.pipeline;
    wait::until(cx, &format!("an execution of pipeline {name}"), || async {
        let out = c
            .codepipeline
            .list_pipeline_executions()
            .pipeline_name(name)
            .max_results(25)
            .send()
            .await
            .ctx(format!("listing the executions of pipeline {name}"))?;
        // Newest first, as AWS lists them; sorted by start time all the same.
        let mut runs: Vec<_> = out
            .pipeline_execution_summaries()
            .iter()
            .filter(|s| s.pipeline_execution_id().is_some() && s.pipeline_execution_id() != not)
            .collect();
        runs.sort_by_key(|s| std::cmp::Reverse(s.start_time().copied()));
        let runs: Vec<Listed> = runs
            .into_iter()
            .map(|s| Listed {
                id: s.pipeline_execution_id().unwrap_or_default().to_owned(),
                status: s.status().cloned(),
            })
            .collect();
        Ok(if runs.is_empty() {
            wait::Poll::Pending("none started yet".to_owned())
        } else {
            wait::Poll::Ready(runs)
        })
    })
    .await
}

/// How an execution ended (or, with the Deploy transition disabled, stopped to wait).
enum End {
    Succeeded {
        deploy_started: Option<DateTime>,
    },
    Superseded,
    /// Built (the image is pushed) and held before Deploy, whose transition is disabled.
    Held,
}

/// Follow execution `id` to its end, then the rollout it deployed. With the Deploy
/// transition disabled (no ECS service yet), to the end of its Build stage.
async fn follow(cx: &Cx, c: &Clients, d: &Desired, mut id: String) -> Result<()> {
    loop {
        match execution(cx, c, d, &id).await? {
            End::Succeeded { deploy_started } => {
                return rollout(cx, c, d, deploy_started).await;
            }
            End::Held => {
                kit::info!(
                    "pipeline {} execution {}: the image is built and pushed; its {DEPLOY_STAGE} stage waits for ECS service {} (run svc-up, then pipeline-up; up.sh does both)",
                    d.n.pipeline,
                    short(&id),
                    d.service
                );
                return Ok(());
            }
            End::Superseded => {
                // A newer execution took over (a push meanwhile): it is the one that deploys.
                let newer = latest(cx, c, d, Some(&id)).await?;
                kit::info!("execution {id} was superseded by {newer}: following that one");
                id = newer;
            }
        }
    }
}

fn short(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

/// The stages of the pipeline in order, from its declaration.
fn stages(d: &Desired) -> Vec<String> {
    d.pipeline_settings["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["name"].as_str().map(str::to_owned))
        .collect()
}

/// "Source Succeeded · Build InProgress · Deploy pending": this execution's progress.
pub fn progress(stages: &[String], actions: &[ActionExecutionDetail]) -> String {
    stages
        .iter()
        .map(|stage| {
            let latest = actions
                .iter()
                .filter(|a| a.stage_name() == Some(stage.as_str()))
                .max_by_key(|a| a.start_time().copied());
            let status = latest
                .and_then(|a| a.status())
                .map_or("pending", |s| s.as_str());
            format!("{stage} {status}")
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

async fn execution(cx: &Cx, c: &Clients, d: &Desired, id: &str) -> Result<End> {
    let name = &d.n.pipeline;
    let stages = stages(d);
    let last_actions: RefCell<Vec<ActionExecutionDetail>> = RefCell::new(Vec::new());
    let status = wait::until(
        cx,
        &format!("pipeline {name} execution {}", short(id)),
        || async {
            let (exec, actions) = futures::try_join!(
                async {
                    c.codepipeline
                        .get_pipeline_execution()
                        .pipeline_name(name)
                        .pipeline_execution_id(id)
                        .send()
                        .await
                        .ctx(format!("reading execution {id} of pipeline {name}"))
                },
                list_actions(c, name, id),
            )?;
            let status = exec
                .pipeline_execution()
                .and_then(|e| e.status())
                .cloned()
                .unwrap_or(PipelineExecutionStatus::InProgress);
            // The two reads ran side by side, so the actions may predate the end: an action
            // that failed just before the execution did still shows InProgress. Once the
            // execution has ended, read its actions again, after.
            let actions = match status {
                PipelineExecutionStatus::InProgress | PipelineExecutionStatus::Stopping => actions,
                _ => list_actions(c, name, id).await?,
            };
            let line = progress(&stages, &actions);
            // Held: the stage before Deploy has succeeded and the transition into Deploy is
            // disabled, so the execution waits there until pipeline-up enables it.
            let held = !d.deploy.enabled
                && status == PipelineExecutionStatus::InProgress
                && stage_before_deploy(&stages)
                    .is_some_and(|stage| stage_succeeded(&actions, stage))
                && !actions.iter().any(|a| a.stage_name() == Some(DEPLOY_STAGE));
            *last_actions.borrow_mut() = actions;
            Ok(match status {
                _ if held => {
                    kit::info!("pipeline {name} execution {}: {line}", short(id));
                    wait::Poll::Ready(None)
                }
                PipelineExecutionStatus::InProgress | PipelineExecutionStatus::Stopping => {
                    wait::Poll::Pending(line)
                }
                done => {
                    kit::info!("pipeline {name} execution {}: {line}", short(id));
                    wait::Poll::Ready(Some((
                        done,
                        exec.pipeline_execution()
                            .and_then(|e| e.status_summary())
                            .map(str::to_owned),
                    )))
                }
            })
        },
    )
    .await?;
    let actions = last_actions.into_inner();
    let Some(status) = status else {
        return Ok(End::Held);
    };
    match status {
        (PipelineExecutionStatus::Succeeded, _) => Ok(End::Succeeded {
            deploy_started: actions
                .iter()
                .filter(|a| a.stage_name() == stages.last().map(String::as_str))
                .filter_map(|a| a.start_time().copied())
                .max(),
        }),
        (PipelineExecutionStatus::Superseded, _) => Ok(End::Superseded),
        (PipelineExecutionStatus::Failed, summary) => {
            Err(failure(c, d, id, &actions, summary.as_deref()).await)
        }
        (other, summary) => Err(Error::aws(format!(
            "pipeline {name} execution {id} ended {}{}; start another with pipeline-up --run",
            other.as_str(),
            summary.map(|s| format!(" ({s})")).unwrap_or_default()
        ))),
    }
}

/// The stage just before Deploy (Build).
fn stage_before_deploy(stages: &[String]) -> Option<&str> {
    let at = stages.iter().position(|s| s == DEPLOY_STAGE)?;
    stages.get(at.checked_sub(1)?).map(String::as_str)
}

/// Whether the latest action execution of `stage` succeeded (its only action, Build).
fn stage_succeeded(actions: &[ActionExecutionDetail], stage: &str) -> bool {
    actions
        .iter()
        .filter(|a| a.stage_name() == Some(stage))
        .max_by_key(|a| a.start_time().copied())
        .and_then(|a| a.status())
        == Some(&ActionExecutionStatus::Succeeded)
}

/// Every action execution of one pipeline execution (one page: a pipeline of three stages
/// has far fewer than the default page of 100).
async fn list_actions(c: &Clients, name: &str, id: &str) -> Result<Vec<ActionExecutionDetail>> {
    let filter = ActionExecutionFilter::builder()
        .pipeline_execution_id(id)
        .build();
    let out = c
        .codepipeline
        .list_action_executions()
        .pipeline_name(name)
        .filter(filter)
        .send()
        .await
        .ctx(format!(
            "listing the actions of execution {id} of pipeline {name}"
        ))?;
    Ok(out.action_execution_details().to_vec())
}

/// The one line for a failed execution: the stage and action that failed, AWS's reason, and
/// where to look next (the build's log for a build).
async fn failure(
    c: &Clients,
    d: &Desired,
    id: &str,
    actions: &[ActionExecutionDetail],
    summary: Option<&str>,
) -> Error {
    let name = &d.n.pipeline;
    let failed = actions
        .iter()
        .filter(|a| a.status() == Some(&ActionExecutionStatus::Failed))
        .max_by_key(|a| a.start_time().copied());
    let Some(a) = failed else {
        return Error::aws(format!(
            "pipeline {name} execution {id} failed{}; see aws codepipeline get-pipeline-state --name {name}",
            summary.map(|s| format!(": {s}")).unwrap_or_default()
        ));
    };
    let stage = a.stage_name().unwrap_or("?");
    let action = a.action_name().unwrap_or("?");
    let result = a.output().and_then(|o| o.execution_result());
    let external = result.and_then(|r| r.external_execution_id());
    let reason = match result
        .and_then(|r| r.error_details())
        .and_then(|e| e.message())
    {
        Some(m) => Some(m.to_owned()),
        None => match result.and_then(|r| r.external_execution_summary()) {
            Some(m) => Some(m.to_owned()),
            None => state_error(c, name, stage, action)
                .await
                .or(summary.map(str::to_owned)),
        },
    };
    let reason = reason.map(|r| format!(": {r}")).unwrap_or_default();
    let provider = a
        .input()
        .and_then(|i| i.action_type_id())
        .map(|t| t.provider().to_owned())
        .unwrap_or_default();
    let hint = if provider == "CodeBuild" || stage == "Build" {
        build_hint(c, d, external).await
    } else if provider == "ECS" || stage == "Deploy" {
        format!(
            "see the service's events: aws ecs describe-services --cluster {} --services {} --query 'services[0].events[:5]'",
            d.cluster, d.service
        )
    } else {
        format!(
            "check the repository, the branch and its access (a new token: secrets-init --rotate github-token, then pipeline-up); aws codepipeline get-pipeline-state --name {name}"
        )
    };
    Error::aws(format!(
        "pipeline {name} execution {id} failed at stage {stage}, action {action}{reason}; {hint}"
    ))
}

/// The failed action's error as GetPipelineState shows it.
async fn state_error(c: &Clients, name: &str, stage: &str, action: &str) -> Option<String> {
    let state = c
        .codepipeline
        .get_pipeline_state()
        .name(name)
        .send()
        .await
        .ok()?;
    state
        .stage_states()
        .iter()
        .filter(|s| s.stage_name() == Some(stage))
        .flat_map(|s| s.action_states())
        .filter(|a| a.action_name() == Some(action))
        .find_map(|a| {
            a.latest_execution()
                .and_then(|e| e.error_details())
                .and_then(|e| e.message())
                .map(str::to_owned)
        })
}

/// How to read a build's log: its log group and stream when CodeBuild reports them.
async fn build_hint(c: &Clients, d: &Desired, build_id: Option<&str>) -> String {
    let Some(build_id) = build_id else {
        return format!(
            "see the build logs: aws logs tail {} --since 1h",
            d.n.log_group
        );
    };
    let logs = c
        .codebuild
        .batch_get_builds()
        .ids(build_id)
        .send()
        .await
        .ok()
        .and_then(|out| out.builds().first().and_then(|b| b.logs().cloned()));
    let group = logs
        .as_ref()
        .and_then(|l| l.group_name())
        .unwrap_or(d.n.log_group.as_str());
    match logs.as_ref().and_then(|l| l.stream_name()) {
        Some(stream) => format!(
            "see the build's log: aws logs tail {group} --log-stream-names {stream} (or aws codebuild batch-get-builds --ids {build_id})"
        ),
        None => format!(
            "see the build: aws codebuild batch-get-builds --ids {build_id}, and its log: aws logs tail {group} --since 1h"
        ),
    }
}

/// Follow the ECS deployment the execution made to COMPLETED. A deployment that failed since
/// the deploy action started (the circuit breaker rolled it back) is a failure.
async fn rollout(cx: &Cx, c: &Clients, d: &Desired, since: Option<DateTime>) -> Result<()> {
    let (cluster, service) = (&d.cluster, &d.service);
    let followed: RefCell<Option<String>> = RefCell::new(None);
    let what = format!("the ECS rollout of service {service}");
    wait::until(cx, &what, || async {
        let out = c
            .ecs
            .describe_services()
            .cluster(cluster)
            .services(service)
            .send()
            .await
            .ctx(format!("reading ECS service {service}"))?;
        let Some(svc) = out.services().first() else {
            return Err(Error::aws(format!(
                "ECS service {service} is not in cluster {cluster}; run svc-up"
            )));
        };
        let deployments = svc.deployments();
        let recent = |dep: &&Deployment| match (since, dep.created_at()) {
            (Some(since), Some(at)) => *at >= since,
            _ => true,
        };
        if let Some(failed) = deployments
            .iter()
            .filter(recent)
            .find(|dep| dep.rollout_state() == Some(&DeploymentRolloutState::Failed))
        {
            return Ok(wait::Poll::Ready(Err(failed_rollout(d, failed))));
        }
        let mut followed = followed.borrow_mut();
        if followed.is_none() {
            *followed = deployments
                .iter()
                .find(|dep| dep.status() == Some("PRIMARY"))
                .and_then(|dep| dep.id().map(str::to_owned));
        }
        let Some(dep) = deployments
            .iter()
            .find(|dep| dep.id().is_some() && dep.id() == followed.as_deref())
        else {
            return Ok(wait::Poll::Ready(Err(Error::aws(format!(
                "the deployment of service {service} that the pipeline started is gone (rolled back or replaced); see aws ecs describe-services --cluster {cluster} --services {service}"
            )))));
        };
        Ok(match dep.rollout_state() {
            Some(DeploymentRolloutState::Completed) => wait::Poll::Ready(Ok(())),
            Some(DeploymentRolloutState::Failed) => {
                wait::Poll::Ready(Err(failed_rollout(d, dep)))
            }
            _ => wait::Poll::Pending(format!(
                "rollout {}: {}/{} tasks running",
                dep.rollout_state().map_or("IN_PROGRESS", |s| s.as_str()),
                dep.running_count(),
                dep.desired_count()
            )),
        })
    })
    .await?
}

fn failed_rollout(d: &Desired, dep: &Deployment) -> Error {
    Error::aws(format!(
        "the pipeline's deploy of service {} failed its rollout{}; the circuit breaker rolled it back — see aws ecs describe-services --cluster {} --services {} --query 'services[0].events[:5]'",
        d.service,
        dep.rollout_state_reason()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default(),
        d.cluster,
        d.service
    ))
}
