//! Deleting a network of core-up's: for `--destroy`, and for a duplicate VPC left by a lost
//! CreateVpc answer. Only what carries core-up's tags goes, in dependency order:
//!
//! ```text
//! NAT (wait deleted) ─ EIP ─┬─ IGW (detach, delete) ─┬─ VPC
//! route tables (disassociate, delete) ┴─ subnets ────┘
//! ```
//!
//! Interfaces of deleted load balancers, databases and tasks hold subnets and the VPC for
//! minutes after their owner is gone (AWS answers DependencyViolation): each delete waits
//! through that with progress naming what holds it, until `--timeout` (exit 3, naming it).
//! Whatever is already gone counts as deleted, so a teardown resumes from any point.

use std::future::Future;

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::NetworkInterface;
use futures::future::try_join_all;
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Result, aws};

use crate::nat;
use crate::observe::{Clients, Eip, Igw, Nat, RouteTable, SubnetFound, Vpc, filter};

/// Delete with `attempt` until it succeeds or finds the thing gone (false), waiting while AWS
/// answers DependencyViolation; `holders` names what holds it, for the progress and for the
/// error at the deadline.
pub async fn drain<T, E, F, Fut, H, HF>(cx: &Cx, what: &str, attempt: F, holders: H) -> Result<bool>
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    H: Fn() -> HF,
    HF: Future<Output = Result<Vec<String>>>,
{
    // Most deletes go through at once: only a held resource is waited on (with progress).
    match attempt().await {
        Ok(_) => return Ok(true),
        Err(e) if aws::is_not_found(&e) => return Ok(false),
        Err(e) if aws::is_dependency_violation(&e) => {
            kit::debug!("{what}: {}", aws::describe(&e));
        }
        Err(e) => return Err(Error::from_sdk(what, e)),
    }
    let (attempt, holders) = (&attempt, &holders);
    wait::until(cx, what, move || async move {
        match attempt().await {
            Ok(_) => Ok(Poll::Ready(true)),
            Err(e) if aws::is_not_found(&e) => Ok(Poll::Ready(false)),
            Err(e) if aws::is_dependency_violation(&e) => {
                let held = holders().await.unwrap_or_default();
                Ok(Poll::Pending(if held.is_empty() {
                    format!("in use ({})", aws::describe(&e))
                } else {
                    format!("still held by {}", held.join(", "))
                }))
            }
            Err(e) => Err(Error::from_sdk(what, e)),
        }
    })
    .await
}

/// "network interface eni-1 (ELB app/x/1, in-use)".
pub fn eni_label(n: &NetworkInterface) -> String {
    let mut about = Vec::new();
    if let Some(d) = n.description().filter(|d| !d.is_empty()) {
        about.push(d.to_owned());
    }
    if let Some(t) = n
        .interface_type()
        .map(|t| t.as_str())
        .filter(|t| *t != "interface")
    {
        about.push(t.to_owned());
    }
    if let Some(s) = n.status() {
        about.push(s.as_str().to_owned());
    }
    format!(
        "network interface {}{}",
        n.network_interface_id().unwrap_or_default(),
        if about.is_empty() {
            String::new()
        } else {
            format!(" ({})", about.join(", "))
        }
    )
}

/// The network interfaces in a subnet or a VPC (`key` is the filter: subnet-id or vpc-id).
pub async fn interfaces(c: &Clients, key: &str, id: &str) -> Result<Vec<NetworkInterface>> {
    c.ec2
        .describe_network_interfaces()
        .filters(filter(key, &[id]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!("listing the network interfaces in {id}"))
}

/// What holds a VPC: interfaces, security groups other than the default one, subnets.
async fn vpc_holders(c: &Clients, vpc: &str) -> Result<Vec<String>> {
    let groups = async {
        let out = c
            .ec2
            .describe_security_groups()
            .filters(filter("vpc-id", &[vpc]))
            .send()
            .await
            .ctx(format!("listing the security groups of VPC {vpc}"))?;
        Ok::<_, Error>(
            out.security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .map(|g| {
                    format!(
                        "security group {} ({})",
                        g.group_id().unwrap_or_default(),
                        g.group_name().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    let subnets = async {
        let out = c
            .ec2
            .describe_subnets()
            .filters(filter("vpc-id", &[vpc]))
            .send()
            .await
            .ctx(format!("listing the subnets of VPC {vpc}"))?;
        Ok::<_, Error>(
            out.subnets()
                .iter()
                .map(|s| format!("subnet {}", s.subnet_id().unwrap_or_default()))
                .collect::<Vec<_>>(),
        )
    };
    let (enis, groups, subnets) =
        futures::try_join!(interfaces(c, "vpc-id", vpc), groups, subnets)?;
    let mut out: Vec<String> = enis.iter().map(eni_label).collect();
    out.extend(groups);
    out.extend(subnets);
    Ok(out)
}

/// What core-up deletes of one network, with the gateways and addresses that go with it.
pub struct Doomed<'a> {
    /// The VPC, when core-up owns it.
    pub vpc: Option<&'a Vpc>,
    pub subnets: Vec<&'a SubnetFound>,
    pub route_tables: Vec<&'a RouteTable>,
    pub nats: Vec<&'a Nat>,
    pub igws: Vec<&'a Igw>,
    pub eips: Vec<&'a Eip>,
}

impl<'a> Doomed<'a> {
    /// core-up's own pieces of a network: subnets named for a tier, route tables, NAT
    /// gateways, with the given gateways and addresses.
    pub fn of(
        vpc: Option<&'a Vpc>,
        subnets: &'a [SubnetFound],
        route_tables: &'a [RouteTable],
        nats: &'a [Nat],
        igws: Vec<&'a Igw>,
        eips: Vec<&'a Eip>,
    ) -> Doomed<'a> {
        Doomed {
            vpc: vpc.filter(|v| v.owned),
            subnets: subnets
                .iter()
                .filter(|s| s.owned && s.tier.is_some())
                .collect(),
            route_tables: route_tables.iter().filter(|t| t.owned).collect(),
            nats: nats.iter().filter(|n| n.owned).collect(),
            igws,
            eips,
        }
    }
}

/// Delete a network's pieces, then the VPC.
pub async fn network(cx: &Cx, c: &Clients, d: &Doomed<'_>) -> Result<()> {
    pieces(cx, c, d).await?;
    vpc(cx, c, d).await
}

/// Everything of a network but the VPC.
pub async fn pieces(cx: &Cx, c: &Clients, d: &Doomed<'_>) -> Result<()> {
    let nats_and_eips = async {
        // Failed gateways hold nothing and go by themselves.
        let going: Vec<&str> = d
            .nats
            .iter()
            .filter(|n| n.state != "failed")
            .map(|n| n.id.as_str())
            .collect();
        nat::delete_and_wait(cx, c, &going).await?;
        let eips: Vec<(&str, &str)> = d
            .eips
            .iter()
            .map(|e| (e.allocation_id.as_str(), e.public_ip.as_str()))
            .collect();
        nat::release(cx, c, &eips).await
    };
    let tables = try_join_all(d.route_tables.iter().map(|t| async move {
        let associations: Vec<&str> = t
            .associations
            .iter()
            .filter(|a| !a.main)
            .map(|a| a.id.as_str())
            .collect();
        crate::routing::delete_table(c, &t.id, &t.name, &associations).await
    }));
    futures::try_join!(nats_and_eips, tables)?;

    let igws = try_join_all(d.igws.iter().map(|g| async move {
        for vpc in &g.attached_to {
            let detached = drain(
                cx,
                &format!("detaching the internet gateway {} from VPC {vpc}", g.id),
                || async move {
                    match c
                        .ec2
                        .detach_internet_gateway()
                        .internet_gateway_id(&g.id)
                        .vpc_id(vpc)
                        .send()
                        .await
                    {
                        // Not attached (any more): what a retried detach is told.
                        Err(e) if e.code() == Some("Gateway.NotAttached") => Ok(None),
                        other => other.map(Some),
                    }
                },
                || async move {
                    let enis = interfaces(c, "vpc-id", vpc).await?;
                    Ok(enis
                        .iter()
                        .filter(|n| n.association().and_then(|a| a.public_ip()).is_some())
                        .map(|n| format!("{} with a public address", eni_label(n)))
                        .collect())
                },
            )
            .await?;
            if detached {
                kit::info!("detached internet gateway {} from VPC {vpc}", g.id);
            }
        }
        if c.ec2
            .delete_internet_gateway()
            .internet_gateway_id(&g.id)
            .send()
            .await
            .deleted(format!("deleting the internet gateway {}", g.id))?
        {
            kit::info!("deleted internet gateway {}", g.id);
        }
        Ok::<_, Error>(())
    }));
    let subnets = try_join_all(d.subnets.iter().map(|s| async move {
        let deleted = drain(
            cx,
            &format!("deletion of subnet {} {}", s.name, s.id),
            || c.ec2.delete_subnet().subnet_id(&s.id).send(),
            || async move {
                let enis = interfaces(c, "subnet-id", &s.id).await?;
                Ok(enis.iter().map(eni_label).collect())
            },
        )
        .await?;
        if deleted {
            kit::info!("deleted subnet {} {}", s.name, s.id);
        }
        Ok::<_, Error>(())
    }));
    futures::try_join!(igws, subnets)?;
    Ok(())
}

/// The VPC, once its pieces are gone.
pub async fn vpc(cx: &Cx, c: &Clients, d: &Doomed<'_>) -> Result<()> {
    if let Some(vpc) = d.vpc {
        let deleted = drain(
            cx,
            &format!("deletion of VPC {}", vpc.id),
            || c.ec2.delete_vpc().vpc_id(&vpc.id).send(),
            || vpc_holders(c, &vpc.id),
        )
        .await?;
        if deleted {
            kit::info!("deleted VPC {}", vpc.id);
        }
    }
    Ok(())
}
