//! Read-only calls: what exists now, found by deterministic names. Every read that depends on
//! nothing else is made at once (one round trip); a second one only when the first asks for
//! it (the service runs another revision than the family's latest; the task group is missing,
//! so its VPC is checked before anything is created).

use std::collections::{BTreeMap, BTreeSet};

use iam_roles::Found;
use kit::{AwsContext, Cx, Error, Result, jsondiff};
use security_groups::Group;
use serde_json::Value;

use crate::names::{Names, Place};
use crate::{Args, Inputs, desired, is_planned};
use stackdoc::Ecr;

/// ecr-up's repository, as far as svc-up reads it (never writes it).
#[derive(Debug, Clone)]
pub struct Repo {
    /// The image tags in the repository.
    pub tags: BTreeSet<String>,
}

pub use log_groups::LogGroup;

#[derive(Debug, Clone)]
pub struct CloudMapService {
    pub id: String,
    pub arn: String,
    pub ttl: Option<i64>,
    pub routing: String,
    pub record_type: String,
    pub failure_threshold: Option<i32>,
}

/// A task definition revision, as DescribeTaskDefinition answers it (ECS's member names).
#[derive(Debug, Clone)]
pub struct TaskDef {
    pub arn: String,
    pub doc: Value,
}

/// The ECS service, as DescribeServices answers it (ECS's member names).
#[derive(Debug, Clone)]
pub struct EcsService {
    pub arn: String,
    pub doc: Value,
    pub task_definition: String,
    pub launch_type: String,
    pub tags: BTreeMap<String, String>,
    /// One deployment, COMPLETED, with every task running: nothing to wait for.
    pub settled: bool,
}

#[derive(Debug)]
pub struct Observed {
    pub inputs: Inputs,
    /// `None` while the ecr section is only planned.
    pub repo: Option<Repo>,
    pub log_group: Option<LogGroup>,
    pub exec_role: Option<Found>,
    pub task_role: Option<Found>,
    pub sg: Option<Group>,
    pub cloudmap: Option<CloudMapService>,
    /// The revision the service runs; without a service, the family's latest ACTIVE one.
    pub task_def: Option<TaskDef>,
    pub service: Option<EcsService>,
    /// Secret ARN → its AWSCURRENT version (`None`: the secret does not exist), for the
    /// secrets the task reads (planned ones are not looked up).
    pub secret_versions: BTreeMap<String, Option<String>>,
}

pub struct Clients {
    pub ecr: aws_sdk_ecr::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub iam: aws_sdk_iam::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sd: aws_sdk_servicediscovery::Client,
    pub sm: aws_sdk_secretsmanager::Client,
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
            sm: aws_sdk_secretsmanager::Client::new(&cx.sdk),
        }
    }
}

pub async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
    let inputs = Inputs::from(cx)?;
    let c = Clients::new(cx);
    let n = Names::of(&cx.app);
    let place = Place::of(cx);
    let exec_want = desired::exec_role(&n, &place, &inputs, args.image.as_deref());
    let task_want = desired::task_role(&n, &place);
    let secret_reads = desired::secrets_read(&inputs)
        .into_iter()
        .filter(|(_, arn)| !is_planned(arn))
        .map(|(_, arn)| {
            let sm = &c.sm;
            async move {
                let version = secret::current_version(sm, &arn).await?;
                Ok::<_, Error>((arn, version))
            }
        });
    let (repo, log_group, exec_role, task_role, sg, cloudmap, latest, service, secret_versions) = futures::try_join!(
        find_repo(&c.ecr, &inputs.ecr),
        log_groups::find(&c.logs, &n.log_group),
        iam_roles::find(&c.iam, &exec_want),
        iam_roles::find(&c.iam, &task_want),
        find_sg(&c.ec2, &inputs, &n.sg),
        find_cloudmap(&c.sd, &inputs.core.namespace_id, &n.cloudmap),
        family_latest(&c.ecs, &n.family),
        find_service(
            &c.ecs,
            &inputs.core.cluster_name,
            &inputs.core.cluster_arn,
            &n.service
        ),
        futures::future::try_join_all(secret_reads),
    )?;
    let running = service.as_ref().map(|s| s.task_definition.as_str());
    let (task_def, ()) = futures::try_join!(
        async {
            match (running, latest) {
                (Some(arn), Some(l)) if l.arn == arn => Ok(Some(l)),
                (Some(arn), _) if !arn.is_empty() => describe_task_def(&c.ecs, arn).await,
                (_, latest) => Ok(latest),
            }
        },
        async {
            if sg.is_none() {
                check_vpc(&c.ec2, &inputs).await?;
            }
            Ok::<(), Error>(())
        },
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
        secret_versions: secret_versions.into_iter().collect(),
    })
}

/// The image tags in ecr-up's repository (read-only: what the service can pull). A repository
/// the ecr section names that does not exist is refused before any write.
pub async fn find_repo(ecr: &aws_sdk_ecr::Client, section: &Ecr) -> Result<Option<Repo>> {
    use aws_sdk_ecr::types::{ListImagesFilter, TagStatus};
    if is_planned(&section.repository_arn) {
        return Ok(None);
    }
    let name = &section.repository_name;
    let images = ecr
        .list_images()
        .repository_name(name)
        .filter(
            ListImagesFilter::builder()
                .tag_status(TagStatus::Tagged)
                .build(),
        )
        .max_results(1000)
        .send()
        .await
        .found(format!("listing the images in ECR repository {name}"))?;
    let Some(images) = images else {
        return Err(Error::usage(format!(
            "ECR repository {name} of the ecr section does not exist; rerun ecr-up, then svc-up"
        )));
    };
    Ok(Some(Repo {
        tags: images
            .image_ids()
            .iter()
            .filter_map(|id| id.image_tag().map(str::to_owned))
            .collect(),
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

/// The core section's VPC exists (checked before the task group is created in it).
async fn check_vpc(ec2: &aws_sdk_ec2::Client, inputs: &Inputs) -> Result<()> {
    let vpc = &inputs.core.vpc_id;
    if is_planned(vpc) {
        return Ok(());
    }
    let found = ec2
        .describe_vpcs()
        .vpc_ids(vpc)
        .send()
        .await
        .found(format!("describing VPC {vpc}"))?;
    if found.is_some_and(|f| !f.vpcs().is_empty()) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "VPC {vpc} of the core section does not exist; rerun core-up and then svc-up"
        )))
    }
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
            return Ok(Some(cloudmap_of(s)));
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

fn cloudmap_of(s: &aws_sdk_servicediscovery::types::ServiceSummary) -> CloudMapService {
    let dns = s.dns_config();
    let record = dns.and_then(|d| d.dns_records().first());
    CloudMapService {
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
    }
}

/// The family's latest ACTIVE revision, read alongside the service as a guess at what it
/// runs. ECS answers a family without revisions with a plain ClientException, so any
/// ClientException is "no guess"; what counts is the service's own revision, read by ARN.
async fn family_latest(ecs: &aws_sdk_ecs::Client, family: &str) -> Result<Option<TaskDef>> {
    match describe_task_def(ecs, family).await {
        Err(e) if e.is_code("ClientException") => Ok(None),
        other => other,
    }
}

/// A revision by ARN (or a family, for its latest ACTIVE one).
pub async fn describe_task_def(ecs: &aws_sdk_ecs::Client, id: &str) -> Result<Option<TaskDef>> {
    let Some(td) = ecs_service::task_definition(ecs, id)
        .await?
        .map(|d| d.definition)
    else {
        return Ok(None);
    };
    if td.status().is_some_and(|s| s.as_str() != "ACTIVE") && !id.contains(':') {
        return Ok(None);
    }
    Ok(Some(TaskDef {
        arn: td.task_definition_arn().unwrap_or_default().to_owned(),
        doc: jsondiff::sdk_json(&td)?,
    }))
}

pub async fn find_service(
    ecs: &aws_sdk_ecs::Client,
    cluster_name: &str,
    cluster_arn: &str,
    name: &str,
) -> Result<Option<EcsService>> {
    use aws_sdk_ecs::types::ServiceField;
    if is_planned(cluster_arn) {
        return Ok(None);
    }
    let Some(out) = ecs
        .describe_services()
        .cluster(cluster_arn)
        .services(name)
        .include(ServiceField::Tags)
        .send()
        .await
        .found(format!("describing ECS service {name}"))?
    else {
        return Err(Error::usage(format!(
            "ECS cluster {cluster_name} of the core section does not exist; rerun core-up"
        )));
    };
    let Some(s) = out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
    else {
        return Ok(None);
    };
    Ok(Some(ecs_service(s)?))
}

pub fn ecs_service(s: &aws_sdk_ecs::types::Service) -> Result<EcsService> {
    let deployments = s.deployments();
    let settled = deployments.len() == 1
        && deployments[0]
            .rollout_state()
            .is_none_or(|r| r.as_str() == "COMPLETED")
        && s.running_count() == s.desired_count();
    Ok(EcsService {
        arn: s.service_arn().unwrap_or_default().to_owned(),
        doc: jsondiff::sdk_json(s)?,
        task_definition: s.task_definition().unwrap_or_default().to_owned(),
        launch_type: s
            .launch_type()
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default(),
        tags: kit::tag_map(s.tags().iter().map(|t| (t.key(), t.value()))),
        settled,
    })
}
