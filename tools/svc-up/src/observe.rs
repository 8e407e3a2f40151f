//! Read-only calls: what exists now, found by deterministic names, every resource kind
//! looked up concurrently.

use std::collections::BTreeSet;

use kit::{AwsContext, Cx, Error, Result, aws};
use security_groups::Group;
use serde_json::Value;

use crate::desired::{self, Names, TaskDef};
use crate::{Args, Inputs, is_planned};

#[derive(Debug, Clone)]
pub struct Repo {
    pub name: String,
    pub uri: String,
    pub arn: String,
    pub scan_on_push: bool,
    pub encryption: String,
    pub lifecycle: Option<Value>,
    pub has_images: bool,
}

#[derive(Debug, Clone)]
pub struct LogGroup {
    pub retention: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub arn: String,
    pub trust: Option<Value>,
    pub attached: Vec<String>,
    pub inline: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct CloudMapService {
    pub id: String,
    pub arn: String,
    pub ttl: Option<i64>,
    pub routing: String,
    pub record_type: String,
    pub failure_threshold: Option<i32>,
}

#[derive(Debug, Clone)]
pub struct EcsService {
    pub arn: String,
    pub desired_count: i32,
    pub task_definition: String,
    pub launch_type: String,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    pub assign_public_ip: String,
    /// (target group ARN, container name, container port)
    pub load_balancers: BTreeSet<(String, String, i32)>,
    pub registries: BTreeSet<String>,
    pub enable_execute_command: bool,
    /// (enable, rollback)
    pub circuit_breaker: (bool, bool),
    pub grace_period: i32,
    pub propagate_tags: String,
}

#[derive(Debug)]
pub struct Observed {
    pub inputs: Inputs,
    pub repo: Option<Repo>,
    pub log_group: Option<LogGroup>,
    pub exec_role: Option<Role>,
    pub task_role: Option<Role>,
    pub sg: Option<Group>,
    pub cloudmap: Option<CloudMapService>,
    /// The family's latest ACTIVE revision: its ARN and its normalised form.
    pub task_def: Option<(String, TaskDef)>,
    pub service: Option<EcsService>,
}

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sd: aws_sdk_servicediscovery::Client,
}

impl Clients {
    pub fn new(cx: &Cx) -> Clients {
        Clients {
            ecr: aws_sdk_ecr::Client::new(&cx.sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&cx.sdk),
            iam: aws_sdk_iam::Client::new(&cx.sdk),
            ec2: aws_sdk_ec2::Client::new(&cx.sdk),
            ecs: aws_sdk_ecs::Client::new(&cx.sdk),
            sd: aws_sdk_servicediscovery::Client::new(&cx.sdk),
        }
    }
}

pub async fn observe(cx: &Cx, _args: &Args) -> Result<Observed> {
    let inputs = Inputs::from(&cx.doc, cx.plan_only())?;
    let c = Clients::new(cx);
    let n = Names::of(&cx.app);
    let (repo, log_group, exec_role, task_role, sg, cloudmap, task_def, service) = futures::try_join!(
        find_repo(&c.ecr, &n.repo),
        find_log_group(&c.logs, &n.log_group),
        find_role(&c.iam, &n.exec_role, &n.exec_policy),
        find_role(&c.iam, &n.task_role, &n.task_policy),
        find_sg(&c.ec2, &inputs, &n.sg),
        find_cloudmap(&c.sd, &inputs.core.namespace_id, &n.cloudmap),
        find_task_def(&c.ecs, &n.family),
        find_service(
            &c.ecs,
            &inputs.core.cluster_name,
            &inputs.core.cluster_arn,
            &n.service
        ),
    )?;
    Ok(Observed {
        inputs,
        repo,
        log_group,
        exec_role,
        task_role,
        sg,
        cloudmap,
        task_def,
        service,
    })
}

pub async fn find_repo(ecr: &aws_sdk_ecr::Client, name: &str) -> Result<Option<Repo>> {
    let out = match ecr
        .describe_repositories()
        .repository_names(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(Error::aws(format!(
                "describing ECR repository {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let Some(r) = out.repositories().first() else {
        return Ok(None);
    };
    let (lifecycle, images) = futures::join!(
        ecr.get_lifecycle_policy().repository_name(name).send(),
        ecr.list_images()
            .repository_name(name)
            .max_results(1)
            .send(),
    );
    let lifecycle = match lifecycle {
        Ok(out) => out
            .lifecycle_policy_text()
            .and_then(|t| serde_json::from_str::<Value>(t).ok()),
        Err(e) if aws::is_not_found(&e) => None,
        Err(e) => {
            return Err(Error::aws(format!(
                "reading the lifecycle policy of ECR repository {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let has_images = !images
        .ctx(format!("listing the images in ECR repository {name}"))?
        .image_ids()
        .is_empty();
    Ok(Some(Repo {
        name: name.to_owned(),
        uri: r.repository_uri().unwrap_or_default().to_owned(),
        arn: r.repository_arn().unwrap_or_default().to_owned(),
        scan_on_push: r
            .image_scanning_configuration()
            .is_some_and(|s| s.scan_on_push()),
        encryption: r
            .encryption_configuration()
            .map(|e| e.encryption_type().as_str().to_owned())
            .unwrap_or_else(|| "AES256".into()),
        lifecycle,
        has_images,
    }))
}

async fn find_log_group(
    logs: &aws_sdk_cloudwatchlogs::Client,
    name: &str,
) -> Result<Option<LogGroup>> {
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .ctx(format!("describing log group {name}"))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| LogGroup {
            retention: g.retention_in_days(),
        }))
}

pub async fn find_role(
    iam: &aws_sdk_iam::Client,
    name: &str,
    inline_name: &str,
) -> Result<Option<Role>> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if aws::is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(Error::aws(format!(
                "reading IAM role {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let Some(role) = role else { return Ok(None) };
    let (attached, inline) = futures::join!(
        iam.list_attached_role_policies().role_name(name).send(),
        iam.get_role_policy()
            .role_name(name)
            .policy_name(inline_name)
            .send(),
    );
    let attached = attached
        .ctx(format!("listing the policies attached to IAM role {name}"))?
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn().map(str::to_owned))
        .collect();
    let inline = match inline {
        Ok(out) => desired::parse_policy(out.policy_document()),
        Err(e) if aws::is_not_found(&e) => None,
        Err(e) => {
            return Err(Error::aws(format!(
                "reading policy {inline_name} of IAM role {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    Ok(Some(Role {
        arn: role.arn().to_owned(),
        trust: role
            .assume_role_policy_document()
            .and_then(desired::parse_policy),
        attached,
        inline,
    }))
}

async fn find_sg(ec2: &aws_sdk_ec2::Client, inputs: &Inputs, name: &str) -> Result<Option<Group>> {
    if is_planned(&inputs.core.vpc_id) {
        return Ok(None);
    }
    Ok(security_groups::find(ec2, &inputs.core.vpc_id, &[name])
        .await?
        .remove(name))
}

pub async fn find_cloudmap(
    sd: &aws_sdk_servicediscovery::Client,
    namespace_id: &str,
    name: &str,
) -> Result<Option<CloudMapService>> {
    use aws_sdk_servicediscovery::types::{FilterCondition, ServiceFilter, ServiceFilterName};
    if is_planned(namespace_id) {
        return Ok(None);
    }
    let filter = ServiceFilter::builder()
        .name(ServiceFilterName::NamespaceId)
        .values(namespace_id)
        .condition(FilterCondition::Eq)
        .build()
        .map_err(|e| Error::aws(format!("building a Cloud Map filter: {e}")))?;
    let mut token = None;
    loop {
        let out = sd
            .list_services()
            .filters(filter.clone())
            .set_next_token(token)
            .send()
            .await
            .ctx(format!(
                "listing Cloud Map services in namespace {namespace_id}"
            ))?;
        if let Some(s) = out.services().iter().find(|s| s.name() == Some(name)) {
            let dns = s.dns_config();
            let record = dns.and_then(|d| d.dns_records().first());
            return Ok(Some(CloudMapService {
                id: s.id().unwrap_or_default().to_owned(),
                arn: s.arn().unwrap_or_default().to_owned(),
                ttl: record.map(|r| r.ttl()),
                routing: dns
                    .and_then(|d| d.routing_policy())
                    .map(|r| r.as_str().to_owned())
                    .unwrap_or_default(),
                record_type: record
                    .map(|r| r.r#type().as_str().to_owned())
                    .unwrap_or_default(),
                #[allow(deprecated)]
                failure_threshold: s
                    .health_check_custom_config()
                    .map(|h| h.failure_threshold().unwrap_or(1)),
            }));
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// "Unable to describe task definition": the family has no revision.
fn no_task_def<E: aws_sdk_ecs::error::ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ClientException")
        && e.message()
            .is_some_and(|m| m.contains("Unable to describe task definition"))
}

pub async fn find_task_def(
    ecs: &aws_sdk_ecs::Client,
    family: &str,
) -> Result<Option<(String, TaskDef)>> {
    // The family alone names its latest ACTIVE revision.
    match ecs
        .describe_task_definition()
        .task_definition(family)
        .send()
        .await
    {
        Ok(out) => Ok(out
            .task_definition()
            .filter(|td| td.status().is_none_or(|s| s.as_str() == "ACTIVE"))
            .map(|td| {
                (
                    td.task_definition_arn().unwrap_or_default().to_owned(),
                    desired::normalise(td),
                )
            })),
        Err(e) if no_task_def(&e) || aws::is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::aws(format!(
            "describing task definition family {family}: {}",
            aws::describe(&e)
        ))),
    }
}

pub async fn find_service(
    ecs: &aws_sdk_ecs::Client,
    cluster_name: &str,
    cluster_arn: &str,
    name: &str,
) -> Result<Option<EcsService>> {
    if is_planned(cluster_arn) {
        return Ok(None);
    }
    let out = match ecs
        .describe_services()
        .cluster(cluster_arn)
        .services(name)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => {
            return Err(Error::usage(format!(
                "ECS cluster {cluster_name} of the core section does not exist; rerun core-up"
            )));
        }
        Err(e) => {
            return Err(Error::aws(format!(
                "describing ECS service {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let Some(s) = out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
    else {
        return Ok(None);
    };
    Ok(Some(ecs_service(s)))
}

pub fn ecs_service(s: &aws_sdk_ecs::types::Service) -> EcsService {
    let vpc = s
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration());
    let cb = s
        .deployment_configuration()
        .and_then(|d| d.deployment_circuit_breaker());
    EcsService {
        arn: s.service_arn().unwrap_or_default().to_owned(),
        desired_count: s.desired_count(),
        task_definition: s.task_definition().unwrap_or_default().to_owned(),
        launch_type: s
            .launch_type()
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default(),
        subnets: vpc
            .map(|v| v.subnets().iter().cloned().collect())
            .unwrap_or_default(),
        security_groups: vpc
            .map(|v| v.security_groups().iter().cloned().collect())
            .unwrap_or_default(),
        assign_public_ip: vpc
            .and_then(|v| v.assign_public_ip())
            .map(|a| a.as_str().to_owned())
            .unwrap_or_else(|| "DISABLED".into()),
        load_balancers: s
            .load_balancers()
            .iter()
            .map(|l| {
                (
                    l.target_group_arn().unwrap_or_default().to_owned(),
                    l.container_name().unwrap_or_default().to_owned(),
                    l.container_port().unwrap_or(0),
                )
            })
            .collect(),
        registries: s
            .service_registries()
            .iter()
            .filter_map(|r| r.registry_arn().map(str::to_owned))
            .collect(),
        enable_execute_command: s.enable_execute_command(),
        circuit_breaker: cb.map(|c| (c.enable(), c.rollback())).unwrap_or_default(),
        grace_period: s.health_check_grace_period_seconds().unwrap_or(0),
        propagate_tags: s
            .propagate_tags()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_else(|| "NONE".into()),
    }
}
