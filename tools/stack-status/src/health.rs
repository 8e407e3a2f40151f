//! What the running stack says about itself: Aurora, the ECS service (deployments, tasks,
//! the image each deployment runs, target health) and the pipeline's last execution. Every
//! call is a read; the reads run side by side.

use aws_config::SdkConfig;
use kit::{AwsContext, Result};
use serde_json::{Value, json};
use stackdoc::sections::{Alb, Db, Pipeline, Svc};

/// One finding that makes the stack unhealthy, named for the person reading it.
pub type Problem = String;

pub async fn database(sdk: &SdkConfig, db: &Db, problems: &mut Vec<Problem>) -> Result<Value> {
    let rds = aws_sdk_rds::Client::new(sdk);
    let (cluster, instance) = futures::try_join!(
        async {
            rds.describe_db_clusters()
                .db_cluster_identifier(&db.cluster_id)
                .send()
                .await
                .found(format!("reading the Aurora cluster {}", db.cluster_id))
        },
        async {
            rds.describe_db_instances()
                .db_instance_identifier(&db.instance_id)
                .send()
                .await
                .found(format!("reading the Aurora instance {}", db.instance_id))
        },
    )?;
    let cluster = cluster.and_then(|c| c.db_clusters.unwrap_or_default().into_iter().next());
    let instance = instance.and_then(|i| i.db_instances.unwrap_or_default().into_iter().next());
    let Some(cluster) = cluster else {
        problems.push(format!(
            "database: Aurora cluster {} does not exist",
            db.cluster_id
        ));
        return Ok(json!({"cluster": db.cluster_id, "exists": false}));
    };
    let status = cluster.status().unwrap_or("unknown").to_owned();
    if status != "available" {
        problems.push(format!(
            "database: Aurora cluster {} is {status}",
            db.cluster_id
        ));
    }
    let writer = instance
        .as_ref()
        .and_then(|i| i.db_instance_status())
        .unwrap_or("missing");
    if writer != "available" {
        problems.push(format!(
            "database: writer instance {} is {writer}",
            db.instance_id
        ));
    }
    let scaling = cluster.serverless_v2_scaling_configuration();
    Ok(json!({
        "cluster": db.cluster_id,
        "exists": true,
        "status": status,
        "writer": {"instance": db.instance_id, "status": writer},
        "engine_version": cluster.engine_version(),
        "capacity": {
            "min_acu": scaling.and_then(|s| s.min_capacity()),
            "max_acu": scaling.and_then(|s| s.max_capacity()),
        },
        "endpoint": cluster.endpoint(),
    }))
}

pub async fn service(
    sdk: &SdkConfig,
    svc: &Svc,
    alb: Option<&Alb>,
    problems: &mut Vec<Problem>,
) -> Result<Value> {
    let ecs = aws_sdk_ecs::Client::new(sdk);
    let out = ecs
        .describe_services()
        .cluster(&svc.cluster_name)
        .services(&svc.service_name)
        .send()
        .await
        .ctx(format!("reading the ECS service {}", svc.service_name))?;
    let Some(service) = out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
    else {
        problems.push(format!(
            "service: ECS service {} does not exist in cluster {}",
            svc.service_name, svc.cluster_name
        ));
        return Ok(json!({"name": svc.service_name, "exists": false}));
    };
    let (desired, running) = (service.desired_count(), service.running_count());
    if desired == 0 {
        problems.push(format!(
            "service: ECS service {} is scaled to 0 tasks (desired 0)",
            svc.service_name
        ));
    } else if running < desired {
        problems.push(format!(
            "service: ECS service {} runs {running} of {desired} tasks",
            svc.service_name
        ));
    }

    // Each deployment's image, by its task definition (one read each, side by side).
    let images = futures::future::try_join_all(service.deployments().iter().map(|d| {
        let ecs = &ecs;
        async move {
            let arn = d.task_definition().unwrap_or_default();
            let def = ecs_service::task_definition(ecs, arn).await?;
            Ok::<_, kit::Error>(def.and_then(|d| {
                d.definition
                    .container_definitions()
                    .iter()
                    .find(|c| c.name() == Some(svc.container_name.as_str()))
                    .and_then(|c| c.image().map(str::to_owned))
            }))
        }
    }))
    .await?;
    let mut deployments = Vec::new();
    for (d, image) in service.deployments().iter().zip(images) {
        let rollout = d.rollout_state().map(|r| r.as_str().to_owned());
        if d.status() == Some("PRIMARY") && rollout.as_deref() == Some("FAILED") {
            problems.push(format!(
                "service: the latest deployment of {} failed ({})",
                svc.service_name,
                d.rollout_state_reason().unwrap_or("no reason given")
            ));
        }
        deployments.push(json!({
            "id": d.id(),
            "status": d.status(),
            "rollout": rollout,
            "task_definition": d.task_definition(),
            "image": image,
            "desired": d.desired_count(),
            "running": d.running_count(),
            "failed_tasks": d.failed_tasks(),
        }));
    }
    let image = deployments
        .iter()
        .find(|d| d["status"] == "PRIMARY")
        .map(|d| d["image"].clone())
        .unwrap_or(Value::Null);

    let targets = match alb {
        Some(alb) => target_health(sdk, alb, &svc.service_name, desired, problems).await?,
        None => Value::Null,
    };
    Ok(json!({
        "name": svc.service_name,
        "cluster": svc.cluster_name,
        "exists": true,
        "status": service.status(),
        "desired": desired,
        "running": running,
        "pending": service.pending_count(),
        "task_definition": service.task_definition(),
        "image": image,
        "deployments": deployments,
        "targets": targets,
    }))
}

async fn target_health(
    sdk: &SdkConfig,
    alb: &Alb,
    service: &str,
    desired: i32,
    problems: &mut Vec<Problem>,
) -> Result<Value> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(sdk);
    let out = elb
        .describe_target_health()
        .target_group_arn(&alb.target_group_arn)
        .send()
        .await
        .found(format!(
            "reading the health of target group {}",
            alb.target_group_name
        ))?;
    let Some(out) = out else {
        problems.push(format!(
            "service: target group {} does not exist",
            alb.target_group_name
        ));
        return Ok(json!({"target_group": alb.target_group_name, "exists": false}));
    };
    let mut by_state = serde_json::Map::new();
    for d in out.target_health_descriptions() {
        let state = d
            .target_health()
            .and_then(|h| h.state())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_else(|| "unknown".into());
        let n = by_state.get(&state).and_then(Value::as_u64).unwrap_or(0);
        by_state.insert(state, (n + 1).into());
    }
    let healthy = by_state.get("healthy").and_then(Value::as_u64).unwrap_or(0);
    if desired > 0 && healthy == 0 {
        problems.push(format!(
            "service: no healthy target in {} for {service} (the load balancer has nothing to send requests to)",
            alb.target_group_name
        ));
    }
    Ok(json!({"target_group": alb.target_group_name, "states": by_state}))
}

pub async fn pipeline(
    sdk: &SdkConfig,
    pipeline: &Pipeline,
    problems: &mut Vec<Problem>,
) -> Result<Value> {
    let cp = aws_sdk_codepipeline::Client::new(sdk);
    let name = &pipeline.pipeline_name;
    let (executions, state) = futures::try_join!(
        async {
            cp.list_pipeline_executions()
                .pipeline_name(name)
                .max_results(1)
                .send()
                .await
                .found(format!("listing the executions of pipeline {name}"))
        },
        async {
            cp.get_pipeline_state()
                .name(name)
                .send()
                .await
                .found(format!("reading the state of pipeline {name}"))
        },
    )?;
    let (Some(executions), Some(state)) = (executions, state) else {
        problems.push(format!("pipeline: {name} does not exist"));
        return Ok(json!({"name": name, "exists": false}));
    };
    let last = executions.pipeline_execution_summaries().first();
    let status = last.and_then(|e| e.status()).map(|s| s.as_str().to_owned());
    if let Some(s @ ("Failed" | "Stopped" | "Cancelled")) = status.as_deref() {
        let failed_stage = state
            .stage_states()
            .iter()
            .find(|st| {
                st.latest_execution()
                    .is_some_and(|e| e.status().as_str() == "Failed")
            })
            .and_then(|st| st.stage_name())
            .unwrap_or("a stage");
        problems.push(format!(
            "pipeline: the last execution of {name} {} in {failed_stage}",
            s.to_lowercase()
        ));
    }
    let stages: Vec<Value> = state
        .stage_states()
        .iter()
        .map(|st| {
            json!({
                "stage": st.stage_name(),
                "status": st.latest_execution().map(|e| e.status().as_str().to_owned()),
            })
        })
        .collect();
    Ok(json!({
        "name": name,
        "exists": true,
        "last_execution": last.map(|e| json!({
            "id": e.pipeline_execution_id(),
            "status": status,
            "stages": stages,
        })),
    }))
}
