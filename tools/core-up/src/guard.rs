//! The destroy guard: read-only checks that run before `--destroy` deletes anything.
//!
//! - Services still in the cluster or the namespace: always refused (AWS refuses to delete
//!   either while they have services).
//! - Other steps' resources in core-up's VPC: security groups other than the default one and
//!   core-up's, network interfaces that are not a managed service's (those drain once their
//!   owner is gone), load balancers and DB subnet groups. Refused unless `--force`, naming
//!   what is there and the step to destroy first. A refusal is exit 2, with no write made.

use aws_sdk_ec2::types::NetworkInterface;
use kit::{AwsContext, Cx, Error, Result};

use crate::layout;
use crate::namespace;
use crate::observe::{Clients, Cluster, Observed, filter, tags_of_ec2};
use crate::teardown::{eni_label, interfaces};

/// The tool that owns a step's section, from the `stagehand:step` tag.
fn tool_of(step: &str) -> Option<&'static str> {
    match step {
        "secrets" => Some("secrets-init"),
        "db" => Some("db-up"),
        "alb" => Some("alb-up"),
        "svc" => Some("svc-up"),
        "pipeline" => Some("pipeline-up"),
        _ => None,
    }
}

/// Teardown order of the steps after core-up: the one to destroy first comes first.
const ORDER: [&str; 4] = ["pipeline-up", "svc-up", "alb-up", "db-up"];

/// One thing of someone else's in the VPC, and the tool that made it (if stagehand's).
struct Found {
    what: String,
    tool: Option<&'static str>,
}

/// "(db-up's)" / "(db-up's, app other)" / "" for a resource's stagehand tags.
fn owner<'a>(
    cx: &Cx,
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Option<&'static str>, String) {
    let (mut app, mut step) = (None, None);
    for (k, v) in tags {
        match k {
            kit::TAG_APP => app = Some(v.to_owned()),
            kit::TAG_STEP => step = Some(v.to_owned()),
            _ => {}
        }
    }
    let tool = step.as_deref().and_then(tool_of);
    let label = match (tool, app) {
        (Some(t), Some(a)) if a != cx.app => format!(" ({t}'s, app {a})"),
        (Some(t), _) => format!(" ({t}'s)"),
        (None, _) => String::new(),
    };
    (tool, label)
}

pub async fn check(cx: &Cx, c: &Clients, now: &Observed, force: bool) -> Result<()> {
    let core = &now.settings.core;
    let cluster = now.cluster.as_ref().filter(|cl| cl.owned);
    let ns = now.namespace.as_ref().filter(|n| n.owned);
    let vpc = now.vpc.as_ref().filter(|v| v.owned).map(|v| v.id.as_str());
    let ns_services = async {
        match ns {
            Some(n) => namespace::services(c, n).await,
            None => Ok(Vec::new()),
        }
    };
    let in_vpc = async {
        match vpc {
            Some(id) if !force => in_vpc(cx, c, now, id).await,
            _ => Ok(Vec::new()),
        }
    };
    let (in_cluster, in_namespace, found) =
        futures::try_join!(cluster_services(c, cluster), ns_services, in_vpc)?;

    let mut busy = Vec::new();
    if !in_cluster.is_empty() {
        busy.push(format!(
            "the ECS cluster {core} still has services ({})",
            in_cluster.join(", ")
        ));
    }
    if !in_namespace.is_empty() {
        busy.push(format!(
            "the namespace {} still has services ({})",
            layout::namespace_name(core),
            in_namespace.join(", ")
        ));
    }
    if !busy.is_empty() {
        return Err(Error::usage(format!(
            "not destroying the core-infra {core}: {}; delete them first (svc-up --destroy), then rerun core-up --destroy",
            busy.join(" and ")
        )));
    }
    if !found.is_empty() {
        let tools: Vec<&str> = ORDER
            .into_iter()
            .filter(|t| found.iter().any(|f| f.tool == Some(*t)))
            .collect();
        let first = if tools.is_empty() {
            "delete them first".to_owned()
        } else {
            format!(
                "destroy {} first",
                tools
                    .iter()
                    .map(|t| format!("{t} --destroy"))
                    .collect::<Vec<_>>()
                    .join(", then ")
            )
        };
        let what: Vec<String> = found.into_iter().map(|f| f.what).collect();
        return Err(Error::usage(format!(
            "not destroying the core-infra {core}: its VPC {} still holds {}; {first}, or pass --force to delete core-up's resources anyway",
            vpc.unwrap_or_default(),
            what.join(", ")
        )));
    }
    Ok(())
}

/// Names of the services still in the cluster (ACTIVE or DRAINING).
async fn cluster_services(c: &Clients, cluster: Option<&Cluster>) -> Result<Vec<String>> {
    let Some(cluster) = cluster else {
        return Ok(Vec::new());
    };
    let arns: Vec<String> = c
        .ecs
        .list_services()
        .cluster(&cluster.name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "listing the services of the ECS cluster {}",
            cluster.name
        ))?;
    let mut names = Vec::new();
    for chunk in arns.chunks(10) {
        let out = c
            .ecs
            .describe_services()
            .cluster(&cluster.name)
            .set_services(Some(chunk.to_vec()))
            .send()
            .await
            .ctx(format!(
                "describing the services of the ECS cluster {}",
                cluster.name
            ))?;
        names.extend(
            out.services()
                .iter()
                .filter(|s| s.status() != Some("INACTIVE"))
                .map(|s| s.service_name().unwrap_or_default().to_owned()),
        );
    }
    Ok(names)
}

/// Other steps' resources in the VPC.
async fn in_vpc(cx: &Cx, c: &Clients, now: &Observed, vpc: &str) -> Result<Vec<Found>> {
    let (groups, enis, lbs, subnet_groups) = futures::try_join!(
        security_groups(cx, c, vpc),
        foreign_interfaces(c, now, vpc),
        load_balancers(cx, vpc),
        db_subnet_groups(cx, vpc),
    )?;
    Ok(groups
        .into_iter()
        .chain(lbs)
        .chain(subnet_groups)
        .chain(enis)
        .collect())
}

async fn security_groups(cx: &Cx, c: &Clients, vpc: &str) -> Result<Vec<Found>> {
    let groups = c
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &[vpc]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!("listing the security groups of VPC {vpc}"))?;
    Ok(groups
        .iter()
        .filter(|g| g.group_name() != Some("default") && !cx.owns(tags_of_ec2(g.tags())))
        .map(|g| {
            let (tool, label) = owner(cx, tags_of_ec2(g.tags()));
            Found {
                what: format!(
                    "security group {} {}{label}",
                    g.group_name().unwrap_or_default(),
                    g.group_id().unwrap_or_default()
                ),
                tool,
            }
        })
        .collect())
}

/// Interfaces that something other than a managed service made (an instance's, one made by
/// hand): they stay until someone deletes them. A managed service's (a load balancer's, a
/// database's, a task's) go with their owner, which the other checks name, so they are
/// waited for instead; so are the NAT gateways' own.
async fn foreign_interfaces(c: &Clients, now: &Observed, vpc: &str) -> Result<Vec<Found>> {
    let enis = interfaces(c, "vpc-id", vpc).await?;
    let nat_enis: Vec<&str> = now
        .nats
        .iter()
        .flat_map(|n| n.eni_ids.iter().map(String::as_str))
        .collect();
    let stays = |n: &&NetworkInterface| {
        !n.requester_managed().unwrap_or(false)
            && !nat_enis.contains(&n.network_interface_id().unwrap_or_default())
            && n.interface_type().map(|t| t.as_str()) != Some("nat_gateway")
    };
    Ok(enis
        .iter()
        .filter(stays)
        .map(|n| Found {
            what: format!(
                "{} in subnet {}",
                eni_label(n),
                n.subnet_id().unwrap_or_default()
            ),
            tool: None,
        })
        .collect())
}

async fn load_balancers(cx: &Cx, vpc: &str) -> Result<Vec<Found>> {
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&cx.sdk);
    let lbs = elb
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("listing the load balancers (ELB DescribeLoadBalancers)")?;
    let here: Vec<_> = lbs.iter().filter(|lb| lb.vpc_id() == Some(vpc)).collect();
    if here.is_empty() {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    for chunk in here.chunks(20) {
        let arns: Vec<String> = chunk
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_owned))
            .collect();
        let tags = elb
            .describe_tags()
            .set_resource_arns(Some(arns))
            .send()
            .await
            .ctx("reading the load balancers' tags (ELB DescribeTags)")?;
        for lb in chunk {
            let arn = lb.load_balancer_arn().unwrap_or_default();
            let lb_tags: Vec<(&str, &str)> = tags
                .tag_descriptions()
                .iter()
                .filter(|d| d.resource_arn() == Some(arn))
                .flat_map(|d| d.tags())
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
                .collect();
            let (tool, label) = owner(cx, lb_tags);
            found.push(Found {
                what: format!(
                    "load balancer {}{label}",
                    lb.load_balancer_name().unwrap_or_default()
                ),
                tool,
            });
        }
    }
    Ok(found)
}

async fn db_subnet_groups(cx: &Cx, vpc: &str) -> Result<Vec<Found>> {
    let rds = aws_sdk_rds::Client::new(&cx.sdk);
    let groups = rds
        .describe_db_subnet_groups()
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx("listing the DB subnet groups (RDS DescribeDBSubnetGroups)")?;
    let mut found = Vec::new();
    for g in groups.iter().filter(|g| g.vpc_id() == Some(vpc)) {
        let tags = match g.db_subnet_group_arn() {
            Some(arn) => rds
                .list_tags_for_resource()
                .resource_name(arn)
                .send()
                .await
                .ctx(format!(
                    "reading the tags of the DB subnet group {}",
                    g.db_subnet_group_name().unwrap_or_default()
                ))?
                .tag_list()
                .to_vec(),
            None => Vec::new(),
        };
        let (tool, label) = owner(
            cx,
            tags.iter()
                .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
        );
        found.push(Found {
            what: format!(
                "DB subnet group {}{label}",
                g.db_subnet_group_name().unwrap_or_default()
            ),
            tool,
        });
    }
    Ok(found)
}
