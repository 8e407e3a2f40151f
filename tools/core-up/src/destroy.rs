//! `--destroy`: delete what core-up created (what carries its tags), in reverse order.
//!
//! ```text
//! refuse while the cluster or the namespace has services
//! cluster ────────────────────────────────────────────────────────┐
//! namespace (wait for its operation) ─────────────────────────────┤
//! NAT (wait deleted) ─ EIP ─┬─ IGW (detach, delete) ─┬─ VPC ──────┘
//! route tables (disassociate, delete) ┴─ subnets ────┘
//! ```
//!
//! DependencyViolation (an ENI still draining, an address still mapped) is retried with
//! backoff until `--timeout`.

use std::collections::HashSet;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_servicediscovery::types::{FilterCondition, ServiceFilter, ServiceFilterName};
use futures::future::try_join_all;
use kit::wait;
use kit::{AwsContext, Cx, Error, Result, aws};

use crate::apply::{wait_nats_gone, wait_operation};
use crate::layout;
use crate::observe::{Clients, Cluster, Namespace, Observed};

pub async fn destroy(cx: &Cx, c: &Clients, now: Observed) -> Result<()> {
    let core = &now.settings.core;
    let cluster = now.cluster.as_ref().filter(|cl| cl.owned);
    let namespace = now.namespace.as_ref().filter(|n| n.owned);

    // Refuse before deleting anything while services still run in what would go.
    let (in_cluster, in_namespace) = futures::try_join!(
        cluster_services(c, cluster),
        namespace_services(c, namespace)
    )?;
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
        return Err(Error::aws(format!(
            "not destroying the core-infra {core}: {}; delete them first (svc-up --destroy), then rerun core-up --destroy",
            busy.join(" and ")
        )));
    }

    report_foreign(cx, &now);

    let teardown = async {
        futures::try_join!(delete_namespace(cx, c, namespace), network(cx, c, &now))?;
        delete_vpc(cx, c, &now).await
    };
    futures::try_join!(delete_cluster(cx, c, cluster), teardown)?;
    Ok(())
}

/// Say what stays because core-up did not make it.
fn report_foreign(cx: &Cx, now: &Observed) {
    let core = &now.settings.core;
    let mut kept = Vec::new();
    if let Some(v) = now.vpc.as_ref().filter(|v| !v.owned) {
        kept.push(format!("VPC {} and its subnets", v.id));
    }
    if now.cluster.as_ref().is_some_and(|c| !c.owned) {
        kept.push(format!("ECS cluster {core}"));
    }
    if let Some(n) = now.namespace.as_ref().filter(|n| !n.owned) {
        kept.push(format!("namespace {} {}", n.name, n.id));
    }
    if !kept.is_empty() {
        kit::info!(
            "left in place, not created by core-up for app {}: {}",
            cx.app,
            kept.join(", ")
        );
    }
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

async fn namespace_services(c: &Clients, namespace: Option<&Namespace>) -> Result<Vec<String>> {
    let Some(ns) = namespace else {
        return Ok(Vec::new());
    };
    let services =
        c.sd.list_services()
            .filters(
                ServiceFilter::builder()
                    .name(ServiceFilterName::NamespaceId)
                    .values(&ns.id)
                    .condition(FilterCondition::Eq)
                    .build()
                    .map_err(|e| Error::aws(format!("internal: {e}")))?,
            )
            .into_paginator()
            .send()
            .try_collect()
            .await
            .ctx(format!("listing the services of the namespace {}", ns.name))?;
    Ok(services
        .iter()
        .flat_map(|page| page.services())
        .map(|s| s.name().unwrap_or_default().to_owned())
        .collect())
}

async fn delete_cluster(cx: &Cx, c: &Clients, cluster: Option<&Cluster>) -> Result<()> {
    let Some(cluster) = cluster else {
        return Ok(());
    };
    let name = cluster.name.as_str();
    let deleted = wait::retrying(
        cx,
        &format!("deleting the ECS cluster {name}"),
        |e: &aws_sdk_ecs::error::SdkError<_, _>| {
            matches!(e.code(), Some("UpdateInProgressException"))
        },
        || c.ecs.delete_cluster().cluster(name).send(),
    )
    .await;
    match deleted {
        Ok(_) => kit::info!("deleted ECS cluster {name}"),
        Err(e) if e.message.contains("ClusterNotFoundException") => {}
        Err(e) if e.message.contains("ClusterContains") => {
            return Err(Error::aws(format!(
                "{}; delete the cluster's services and tasks first (svc-up --destroy), then rerun core-up --destroy",
                e.message
            )));
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn delete_namespace(cx: &Cx, c: &Clients, namespace: Option<&Namespace>) -> Result<()> {
    let Some(ns) = namespace else {
        return Ok(());
    };
    let operation = match c.sd.delete_namespace().id(&ns.id).send().await {
        Ok(out) => out.operation_id().unwrap_or_default().to_owned(),
        Err(e) if aws::is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(Error::aws(format!(
                "deleting the namespace {} {}: {}{}",
                ns.name,
                ns.id,
                aws::describe(&e),
                if e.code() == Some("ResourceInUse") {
                    "; delete its services first (svc-up --destroy)"
                } else {
                    ""
                }
            )));
        }
    };
    wait_operation(
        cx,
        c,
        &operation,
        &format!("deletion of the namespace {}", ns.name),
    )
    .await?;
    kit::info!("deleted Cloud Map namespace {} {}", ns.name, ns.id);
    Ok(())
}

fn dependency(e: &impl ProvideErrorMetadata) -> bool {
    aws::is_dependency_violation(e)
}

/// Everything of core-up's in the VPC, so that the VPC can go.
async fn network(cx: &Cx, c: &Clients, now: &Observed) -> Result<()> {
    let vpc_id = now.vpc.as_ref().filter(|v| v.owned).map(|v| v.id.as_str());
    let nats_and_eips = async {
        let ours: Vec<_> = now.nats.iter().filter(|n| n.owned).collect();
        try_join_all(
            ours.iter()
                .filter(|n| matches!(n.state.as_str(), "pending" | "available"))
                .map(|n| async move {
                    match c
                        .ec2
                        .delete_nat_gateway()
                        .nat_gateway_id(&n.id)
                        .send()
                        .await
                    {
                        Ok(_) => {
                            kit::info!("deleting NAT gateway {}", n.id);
                            Ok(())
                        }
                        Err(e) if aws::is_not_found(&e) => Ok(()),
                        Err(e) => Err(Error::aws(format!(
                            "deleting the NAT gateway {}: {}",
                            n.id,
                            aws::describe(&e)
                        ))),
                    }
                }),
        )
        .await?;
        let waiting: Vec<&str> = ours
            .iter()
            .filter(|n| n.state != "failed")
            .map(|n| n.id.as_str())
            .collect();
        if !waiting.is_empty() {
            // The address stays mapped, and the gateway's interface stays in the subnet,
            // until the gateway is deleted.
            wait_nats_gone(cx, c, &waiting).await?;
            kit::info!("deleted NAT gateway {}", waiting.join(", "));
        }
        let nat_allocations: HashSet<&str> = ours
            .iter()
            .flat_map(|n| n.allocation_ids.iter().map(String::as_str))
            .collect();
        try_join_all(
            now.eips
                .iter()
                .filter(|e| {
                    e.owned
                        && (e.association_id.is_none()
                            || nat_allocations.contains(e.allocation_id.as_str()))
                })
                .map(|e| async move {
                    let released = wait::retrying(
                        cx,
                        &format!("releasing the Elastic IP {}", e.allocation_id),
                        |err: &aws_sdk_ec2::error::SdkError<_, _>| {
                            matches!(err.code(), Some("InvalidIPAddress.InUse"))
                        },
                        || {
                            c.ec2
                                .release_address()
                                .allocation_id(&e.allocation_id)
                                .send()
                        },
                    )
                    .await;
                    match released {
                        Ok(_) => {
                            kit::info!("released Elastic IP {} ({})", e.allocation_id, e.public_ip);
                            Ok(())
                        }
                        Err(err) if err.message.contains("NotFound") => Ok(()),
                        Err(err) => Err(err),
                    }
                }),
        )
        .await?;
        Ok::<_, Error>(())
    };
    let tables = try_join_all(
        now.route_tables
            .iter()
            .filter(|t| t.owned)
            .map(|t| async move {
                try_join_all(
                    t.associations
                        .iter()
                        .filter(|a| !a.main)
                        .map(|a| async move {
                            match c
                                .ec2
                                .disassociate_route_table()
                                .association_id(&a.id)
                                .send()
                                .await
                            {
                                Ok(_) => Ok(()),
                                Err(e) if aws::is_not_found(&e) => Ok(()),
                                Err(e) => Err(Error::aws(format!(
                                    "disassociating {} from route table {}: {}",
                                    a.subnet_id.as_deref().unwrap_or("a subnet"),
                                    t.id,
                                    aws::describe(&e)
                                ))),
                            }
                        }),
                )
                .await?;
                gone(
                    wait::retrying(
                        cx,
                        &format!("deleting the route table {} {}", t.name, t.id),
                        dependency,
                        || c.ec2.delete_route_table().route_table_id(&t.id).send(),
                    )
                    .await,
                )?;
                kit::info!("deleted route table {} {}", t.name, t.id);
                Ok::<_, Error>(())
            }),
    );
    futures::try_join!(nats_and_eips, tables)?;

    let igws = try_join_all(
        now.igws
            .iter()
            .filter(|g| g.owned && g.attached_to.iter().all(|v| Some(v.as_str()) == vpc_id))
            .map(|g| async move {
                for vpc in &g.attached_to {
                    gone(
                        wait::retrying(
                            cx,
                            &format!("detaching the internet gateway {} from VPC {vpc}", g.id),
                            dependency,
                            || {
                                c.ec2
                                    .detach_internet_gateway()
                                    .internet_gateway_id(&g.id)
                                    .vpc_id(vpc)
                                    .send()
                            },
                        )
                        .await,
                    )?;
                }
                gone(
                    wait::retrying(
                        cx,
                        &format!("deleting the internet gateway {}", g.id),
                        dependency,
                        || {
                            c.ec2
                                .delete_internet_gateway()
                                .internet_gateway_id(&g.id)
                                .send()
                        },
                    )
                    .await,
                )?;
                kit::info!("deleted internet gateway {}", g.id);
                Ok::<_, Error>(())
            }),
    );
    let subnets = try_join_all(
        now.subnets
            .iter()
            .filter(|s| s.owned && s.tier.is_some())
            .map(|s| async move {
                gone(
                    wait::retrying(
                        cx,
                        &format!(
                            "deleting the subnet {} {} (something still uses it: destroy the steps after core-up first)",
                            s.name, s.id
                        ),
                        dependency,
                        || c.ec2.delete_subnet().subnet_id(&s.id).send(),
                    )
                    .await,
                )?;
                kit::info!("deleted subnet {} {}", s.name, s.id);
                Ok::<_, Error>(())
            }),
    );
    futures::try_join!(igws, subnets)?;
    Ok(())
}

async fn delete_vpc(cx: &Cx, c: &Clients, now: &Observed) -> Result<()> {
    let Some(vpc) = now.vpc.as_ref().filter(|v| v.owned) else {
        if now.vpc.is_none() && now.cluster.is_none() && now.namespace.is_none() {
            kit::info!(
                "no core-infra named {} found: nothing to delete",
                now.settings.core
            );
        }
        return Ok(());
    };
    gone(
        wait::retrying(
            cx,
            &format!(
                "deleting the VPC {} {} (something still uses it: security groups, interfaces or endpoints of later steps; destroy those first)",
                now.settings.core, vpc.id
            ),
            dependency,
            || c.ec2.delete_vpc().vpc_id(&vpc.id).send(),
        )
        .await,
    )?;
    kit::info!("deleted VPC {} {}", now.settings.core, vpc.id);
    Ok(())
}

/// A delete that found the thing already gone succeeded.
fn gone<T>(result: Result<T>) -> Result<()> {
    match result {
        Ok(_) => Ok(()),
        Err(e) if e.message.contains("NotFound") => Ok(()),
        Err(e) => Err(e),
    }
}
