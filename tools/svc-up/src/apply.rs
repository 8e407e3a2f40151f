//! Apply the plan: what depends on nothing of ours concurrently (log group, roles, task group,
//! Cloud Map service), then the task definition, then the service, then the
//! watched rollout.

use kit::jsondiff::from_json;
use kit::{AwsContext, Cx, Error, Plan, Result, wait};
use serde_json::Value;
use stackdoc::Svc;

use crate::desired::{self, ImageSource};
use crate::diff::{self, Wanted, short_td};
use crate::names::{self, Names, Place};
use crate::observe::{Clients, Observed};
use crate::{Args, Op, RoleKind, rollout};

/// What the first phase made.
enum Made {
    Nothing,
    Role(RoleKind, String),
    Sg(String),
    CloudMap(String),
}

pub async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Svc> {
    let c = Clients::new(cx);
    let n = Names::of(&cx.app);
    let w = diff::wanted(cx, args, &now);
    let inputs = &now.inputs;

    // Phase 1: everything that depends on nothing of ours, concurrently.
    let phase1 = plan
        .changes
        .iter()
        .map(|ch| run_independent(cx, &c, &n, args, &now, &w, &ch.op));
    let mut exec_arn = w.exec_role_arn.clone();
    let mut task_arn = w.task_role_arn.clone();
    let mut sg_id = now.sg.as_ref().map(|g| g.id.clone());
    let mut registry = now.cloudmap.as_ref().map(|s| s.arn.clone());
    for made in futures::future::try_join_all(phase1).await? {
        match made {
            Made::Nothing => {}
            Made::Role(RoleKind::Execution, arn) => exec_arn = arn,
            Made::Role(RoleKind::Task, arn) => task_arn = arn,
            Made::Sg(id) => sg_id = Some(id),
            Made::CloudMap(arn) => registry = Some(arn),
        }
    }
    let missing = |what: &str| {
        Error::aws(format!(
            "{what} was not found after creating it; rerun svc-up"
        ))
    };
    let sg_id = sg_id.ok_or_else(|| missing("the task security group"))?;
    let registry = registry.ok_or_else(|| missing("the Cloud Map service"))?;
    if exec_arn != w.exec_role_arn || task_arn != w.task_role_arn {
        // IAM made a role under another path than the plan assumed: the plan would lie.
        return Err(Error::aws(format!(
            "IAM answered role ARNs {exec_arn} and {task_arn}, not {} and {}; rerun svc-up",
            w.exec_role_arn, w.task_role_arn
        )));
    }

    // Phase 2: the task definition.
    let registers = plan.changes.iter().any(|ch| matches!(ch.op, Op::TaskDef));
    let td_arn = match (&now.task_def, registers) {
        (Some(td), false) => td.arn.clone(),
        _ => register_task_def(cx, &c, &w.task_def).await?,
    };

    // Phase 3: the service.
    let want = desired::service(
        &n,
        args.desired_count,
        args.health_check_grace_period,
        inputs,
        &td_arn,
        &sg_id,
        &registry,
    );
    let service_op = plan.changes.iter().find_map(|ch| match ch.op {
        Op::Service { create, force } => Some((create, force)),
        _ => None,
    });
    let (service_arn, deployment) = match (service_op, &now.service) {
        (Some((true, _)), _) | (_, None) => {
            let (arn, dep) = create_service(cx, &c, &now, &n, &want).await?;
            (arn, Some(dep))
        }
        (Some((false, force)), Some(_)) => {
            let (arn, dep) = update_service(cx, &c, &now, &n, &want, force).await?;
            (arn, Some(dep))
        }
        (None, Some(s)) => (s.arn.clone(), None),
    };

    // Waiting: only for a rollout that can pull its image.
    let settled = now.service.as_ref().is_some_and(|s| s.settled);
    if !diff::image_available(&w.image, &now, &w.repo_uri) {
        let uri = &w.repo_uri;
        match w.image_source {
            ImageSource::Initial => kit::warn!(
                "ECR repository {uri} holds no image yet: ECS service {} starts with {}, and its tasks can start once the pipeline (pipeline-up) has run — its build pushes {uri}:<commit8> and {uri}:latest, and its deploy stage rolls the service onto {uri}:<commit8>; not waiting for the rollout",
                n.service,
                w.image
            ),
            _ => kit::warn!(
                "image {} is not in ECR repository {uri}: the tasks of ECS service {} cannot start until it is pushed; not waiting for the rollout",
                w.image,
                n.service
            ),
        }
    } else if cx.no_wait() {
        kit::info!(
            "--no-wait: not waiting for ECS service {} to roll out",
            n.service
        );
    } else if deployment.is_some() || !settled {
        rollout::wait(
            cx,
            &c.ecs,
            &now.inputs.core.cluster_arn,
            &n.service,
            deployment.as_deref(),
            &td_arn,
        )
        .await?;
    }

    Ok(Svc {
        image: Some(w.image.clone()),
        secret_versions: diff::current_versions(&now),
        repository_name: inputs.ecr.repository_name.clone(),
        repository_uri: w.repo_uri.clone(),
        execution_role_arn: exec_arn,
        task_role_arn: task_arn,
        log_group: n.log_group.clone(),
        security_group_id: sg_id,
        task_definition_arn: td_arn,
        cloudmap_service_arn: registry,
        cluster_name: inputs.core.cluster_name.clone(),
        service_name: n.service.clone(),
        service_arn,
        container_name: n.container.clone(),
        container_port: inputs.alb.container_port,
    })
}

async fn run_independent(
    cx: &Cx,
    c: &Clients,
    n: &Names,
    args: &Args,
    now: &Observed,
    w: &Wanted,
    op: &Op,
) -> Result<Made> {
    match op {
        Op::LogGroup { create, retention } => {
            if *create {
                log_groups::create(cx, &c.logs, &n.log_group).await?;
            }
            if *retention {
                log_groups::put_retention(&c.logs, &n.log_group, args.log_retention_days).await?;
            }
            Ok(Made::Nothing)
        }
        Op::Role(which, change) => {
            let want = match which {
                RoleKind::Execution => &w.exec_role,
                RoleKind::Task => &w.task_role,
            };
            let arn = iam_roles::ensure(cx, &c.iam, want, change).await?;
            Ok(Made::Role(*which, arn))
        }
        Op::SecurityGroup { create } => {
            let group = if *create {
                security_groups::create(
                    cx,
                    &c.ec2,
                    &now.inputs.core.vpc_id,
                    &n.sg,
                    &format!("stagehand svc: the Backstage tasks of {}", cx.app),
                )
                .await?
            } else {
                now.sg.clone().ok_or_else(|| {
                    Error::aws(format!("security group {} vanished; rerun svc-up", n.sg))
                })?
            };
            security_groups::reconcile(&c.ec2, &group, &desired::task_rules(&now.inputs)).await?;
            Ok(Made::Sg(group.id))
        }
        Op::CloudMap { create, ttl } => {
            if *create {
                return create_cloudmap(cx, c, now, n).await.map(Made::CloudMap);
            }
            if let (true, Some(s)) = (*ttl, &now.cloudmap) {
                update_cloudmap_ttl(c, n, &s.id).await?;
            }
            Ok(Made::Nothing)
        }
        Op::Keep | Op::TaskDef | Op::Service { .. } => Ok(Made::Nothing),
    }
}

async fn create_cloudmap(cx: &Cx, c: &Clients, now: &Observed, n: &Names) -> Result<String> {
    use aws_sdk_servicediscovery::types::{
        DnsConfig, DnsRecord, HealthCheckCustomConfig, RecordType, RoutingPolicy, Tag,
    };
    let build = |e: aws_sdk_servicediscovery::error::BuildError| {
        Error::aws(format!("building the Cloud Map request: {e}"))
    };
    let ns = &now.inputs.core.namespace_id;
    let record = DnsRecord::builder()
        .r#type(RecordType::A)
        .ttl(desired::CLOUDMAP_TTL)
        .build()
        .map_err(build)?;
    let dns = DnsConfig::builder()
        .routing_policy(RoutingPolicy::Multivalue)
        .dns_records(record)
        .build()
        .map_err(build)?;
    let tags = cx
        .tags()
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(build)?;
    let made =
        c.sd.create_service()
            .name(&n.cloudmap)
            .namespace_id(ns)
            .description(format!("stagehand svc: the tasks of {}", cx.app))
            .dns_config(dns)
            .health_check_custom_config(
                // AWS now fixes the threshold at 1 and deprecates setting it; it is sent anyway
                // so that the service says so explicitly, as the seed's does.
                #[allow(deprecated)]
                HealthCheckCustomConfig::builder()
                    .failure_threshold(desired::CLOUDMAP_FAILURE_THRESHOLD)
                    .build(),
            )
            // The same id for every attempt: a retried create returns the first one's service.
            .creator_request_id(names::cloudmap_request_id(
                &Place::of(cx),
                &cx.app,
                ns,
                &n.cloudmap,
            ))
            .set_tags(Some(tags))
            .send()
            .await
            .created(format!("creating Cloud Map service {}", n.cloudmap))?;
    if let Some(arn) = made
        .as_ref()
        .and_then(|m| m.service())
        .and_then(|s| s.arn())
    {
        kit::info!("created Cloud Map service {}", n.cloudmap);
        return Ok(arn.to_owned());
    }
    crate::observe::find_cloudmap(&c.sd, ns, &n.cloudmap)
        .await?
        .map(|s| s.arn)
        .ok_or_else(|| {
            Error::aws(format!(
                "Cloud Map service {} exists but is not in namespace {}",
                n.cloudmap, now.inputs.core.namespace_name
            ))
        })
}

async fn update_cloudmap_ttl(c: &Clients, n: &Names, id: &str) -> Result<()> {
    use aws_sdk_servicediscovery::types::{DnsConfigChange, DnsRecord, RecordType, ServiceChange};
    let build = |e: aws_sdk_servicediscovery::error::BuildError| {
        Error::aws(format!("building the Cloud Map request: {e}"))
    };
    let record = DnsRecord::builder()
        .r#type(RecordType::A)
        .ttl(desired::CLOUDMAP_TTL)
        .build()
        .map_err(build)?;
    let change = ServiceChange::builder()
        .dns_config(
            DnsConfigChange::builder()
                .dns_records(record)
                .build()
                .map_err(build)?,
        )
        .build();
    c.sd.update_service()
        .id(id)
        .service(change)
        .send()
        .await
        .ctx(format!(
            "setting the TTL of Cloud Map service {}",
            n.cloudmap
        ))?;
    Ok(())
}

/// Register a revision from its document, as CodePipeline's ECS deploy copies one: every
/// member RegisterTaskDefinition takes is sent.
pub async fn register_task_def(cx: &Cx, c: &Clients, doc: &Value) -> Result<String> {
    use aws_sdk_ecs::types::{Tag, TaskDefinition};
    let td = from_json(doc, "the task definition", TaskDefinition::deserialize)?;
    let family = td.family().unwrap_or_default().to_owned();
    let out = c
        .ecs
        .register_task_definition()
        .family(&family)
        .set_task_role_arn(td.task_role_arn().map(str::to_owned))
        .set_execution_role_arn(td.execution_role_arn().map(str::to_owned))
        .set_network_mode(td.network_mode().cloned())
        .set_container_definitions(Some(td.container_definitions().to_vec()))
        .set_volumes(Some(td.volumes().to_vec()).filter(|v| !v.is_empty()))
        .set_placement_constraints(
            Some(td.placement_constraints().to_vec()).filter(|v| !v.is_empty()),
        )
        .set_requires_compatibilities(Some(td.requires_compatibilities().to_vec()))
        .set_cpu(td.cpu().map(str::to_owned))
        .set_memory(td.memory().map(str::to_owned))
        .set_pid_mode(td.pid_mode().cloned())
        .set_ipc_mode(td.ipc_mode().cloned())
        .set_proxy_configuration(td.proxy_configuration().cloned())
        .set_ephemeral_storage(td.ephemeral_storage().cloned())
        .set_runtime_platform(td.runtime_platform().cloned())
        .set_tags(Some(
            cx.tags()
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .ctx(format!("registering task definition {family}"))?;
    let arn = out
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!("registered task definition {}", short_td(&arn));
    Ok(arn)
}

/// The typed pieces of the service document (desired::service) both calls send.
struct ServiceInput {
    network: aws_sdk_ecs::types::NetworkConfiguration,
    load_balancers: Vec<aws_sdk_ecs::types::LoadBalancer>,
    registries: Vec<aws_sdk_ecs::types::ServiceRegistry>,
    deployment: aws_sdk_ecs::types::DeploymentConfiguration,
    desired_count: i32,
    grace_period: i32,
    task_definition: String,
}

fn service_input(want: &Value) -> Result<ServiceInput> {
    use aws_sdk_ecs::types::{
        DeploymentConfiguration, LoadBalancer, NetworkConfiguration, ServiceRegistry,
    };
    let list = |key: &str| want[key].as_array().cloned().unwrap_or_default();
    Ok(ServiceInput {
        network: from_json(
            &want["networkConfiguration"],
            "the network configuration",
            NetworkConfiguration::deserialize,
        )?,
        load_balancers: list("loadBalancers")
            .iter()
            .map(|l| from_json(l, "a load balancer", LoadBalancer::deserialize))
            .collect::<Result<_>>()?,
        registries: list("serviceRegistries")
            .iter()
            .map(|r| from_json(r, "a service registry", ServiceRegistry::deserialize))
            .collect::<Result<_>>()?,
        deployment: from_json(
            &want["deploymentConfiguration"],
            "the deployment configuration",
            DeploymentConfiguration::deserialize,
        )?,
        desired_count: want["desiredCount"].as_i64().unwrap_or(0) as i32,
        grace_period: want["healthCheckGracePeriodSeconds"].as_i64().unwrap_or(0) as i32,
        task_definition: want["taskDefinition"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    })
}

fn primary_deployment(s: Option<&aws_sdk_ecs::types::Service>) -> String {
    s.and_then(|s| {
        s.deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.id())
    })
    .unwrap_or_default()
    .to_owned()
}

async fn create_service(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    n: &Names,
    want: &Value,
) -> Result<(String, String)> {
    use aws_sdk_ecs::types::{LaunchType, PropagateTags, Tag};
    let s = service_input(want)?;
    let core = &now.inputs.core;
    let token = names::service_client_token(
        &Place::of(cx),
        &cx.app,
        &core.cluster_arn,
        &s.task_definition,
    );
    let out = wait::retrying(
        cx,
        &format!("creating ECS service {}", n.service),
        kit::aws::is_role_propagating,
        || {
            c.ecs
                .create_service()
                .cluster(&core.cluster_arn)
                .service_name(&n.service)
                .client_token(&token)
                .task_definition(&s.task_definition)
                .desired_count(s.desired_count)
                .launch_type(LaunchType::Fargate)
                .network_configuration(s.network.clone())
                .set_load_balancers(Some(s.load_balancers.clone()))
                .set_service_registries(Some(s.registries.clone()))
                .enable_execute_command(true)
                .deployment_configuration(s.deployment.clone())
                .health_check_grace_period_seconds(s.grace_period)
                .propagate_tags(PropagateTags::Service)
                .set_tags(Some(
                    cx.tags()
                        .iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
        },
    )
    .await?;
    let arn = out
        .service()
        .and_then(|s| s.service_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!(
        "created ECS service {} in cluster {}",
        n.service,
        core.cluster_name
    );
    Ok((arn, primary_deployment(out.service())))
}

async fn update_service(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    n: &Names,
    want: &Value,
    force: bool,
) -> Result<(String, String)> {
    use aws_sdk_ecs::types::PropagateTags;
    let s = service_input(want)?;
    let out = wait::retrying(
        cx,
        &format!("updating ECS service {}", n.service),
        kit::aws::is_role_propagating,
        || {
            c.ecs
                .update_service()
                .cluster(&now.inputs.core.cluster_arn)
                .service(&n.service)
                .task_definition(&s.task_definition)
                .desired_count(s.desired_count)
                .network_configuration(s.network.clone())
                .set_load_balancers(Some(s.load_balancers.clone()))
                .set_service_registries(Some(s.registries.clone()))
                .enable_execute_command(true)
                .deployment_configuration(s.deployment.clone())
                .health_check_grace_period_seconds(s.grace_period)
                .propagate_tags(PropagateTags::Service)
                .force_new_deployment(force)
                .send()
        },
    )
    .await?;
    let arn = out
        .service()
        .and_then(|s| s.service_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!("updated ECS service {}", n.service);
    Ok((arn, primary_deployment(out.service())))
}
