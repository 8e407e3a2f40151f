//! Carry out the plan. Independent pieces go at once; each waits only for what it needs:
//!
//! ```text
//! cluster ───────────────────────────────────────────────────────────────────┐
//! VPC ──┬─ namespace (create, wait for its operation) ───────────────────────┤
//!       ├─ subnets, route tables ─┬─ public route, associations ─ extra tables ┤→ section
//! IGW ──┴─ attach to the VPC ─────┤                                          │
//! EIP ────────────────────────────┴─ NAT (wait available) ─ private route ───┤
//! duplicates and spares (delete) ────────────────────────────────────────────┘
//! ```
//!
//! With `--no-wait` the NAT gateway is not waited for: the private route points at it while
//! it is pending, and the section is complete, so the steps that need only the subnets (db-up,
//! alb-up) can start while it provisions. A later run waits for it and changes nothing.

use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use futures::future::try_join_all;
use kit::{AwsContext, Cx, Error, Plan, Result};
use stackdoc::{Core, Subnet};

use crate::create::{create_or_find, no_sdk_retry, settle, tag_spec};
use crate::diff::{NetworkSection, WantSubnet, created, network_section, want_subnets};
use crate::layout::{self, Tier};
use crate::observe::{Clients, Observed, filter, tags_of_ec2};
use crate::routing::{self, Target};
use crate::{Op, cluster, namespace, nat, teardown};

pub async fn apply(cx: &Cx, c: &Clients, now: Observed, plan: Plan<Op>) -> Result<Core> {
    let ops: Vec<Op> = plan.changes.into_iter().map(|ch| ch.op).collect();
    let core = now.settings.core.clone();

    // The VPC id gates the namespace and the rest of the network; the cluster needs nothing.
    let net_and_namespace = async {
        let first = first_stage(cx, c, &now, &ops).await?;
        let ns = namespace::ensure(
            cx,
            c,
            &now,
            has(&ops, |o| matches!(o, Op::CreateNamespace)),
            &first.vpc_id,
        );
        let net = async {
            if now.foreign_vpc() {
                network_section(&now, |_| String::new())
            } else {
                own_network_rest(cx, c, &now, &ops, &first).await
            }
        };
        futures::try_join!(ns, net)
    };
    let (cluster_arn, ((namespace_id, namespace_arn), (vpc_id, vpc_cidr, public, private)), ()) = futures::try_join!(
        cluster::ensure(cx, c, &now, &ops),
        net_and_namespace,
        duplicates(cx, c, &now, &ops),
    )?;

    Ok(Core {
        name: core.clone(),
        created: created(&now),
        vpc_id: vpc_id.unwrap_or_default(),
        vpc_cidr,
        public_subnets: public,
        private_subnets: private,
        cluster_name: core.clone(),
        cluster_arn,
        namespace_id,
        namespace_name: layout::namespace_name(&core),
        namespace_arn,
    })
}

fn has(ops: &[Op], pred: impl Fn(&Op) -> bool) -> bool {
    ops.iter().any(pred)
}

/// Duplicates and spares of core-up's own (see the diff): deleted, and said so.
async fn duplicates(cx: &Cx, c: &Clients, now: &Observed, ops: &[Op]) -> Result<()> {
    let kept = now.vpc.as_ref().map(|v| v.id.as_str()).unwrap_or_default();
    let vpcs = try_join_all(now.extra_vpcs.iter().map(|x| async move {
        if !has(ops, |o| matches!(o, Op::DeleteExtraVpc(id) if *id == x.vpc.id)) {
            return Ok(());
        }
        kit::info!(
            "VPC {} is a duplicate of core-up's {} (kept, {kept}): deleting it and what of core-up's is in it",
            x.vpc.id,
            now.settings.core
        );
        teardown::network(cx, c, &crate::destroy::extra_doomed(now, x)).await
    }));
    let igws = try_join_all(ops.iter().filter_map(|o| match o {
        Op::DeleteSpareIgw(id) => Some(async move {
            if c.ec2
                .delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await
                .deleted(format!("deleting the spare internet gateway {id}"))?
            {
                kit::info!("deleted spare internet gateway {id} (attached nowhere)");
            }
            Ok::<_, Error>(())
        }),
        _ => None,
    }));
    let nats = async {
        let ids: Vec<&str> = ops
            .iter()
            .filter_map(|o| match o {
                Op::DeleteExtraNat(id) => Some(id.as_str()),
                _ => None,
            })
            .collect();
        if ids.is_empty() {
            return Ok(());
        }
        kit::info!(
            "NAT gateway {} duplicates core-up's {}: deleting it, then its address",
            ids.join(", "),
            now.nat().map(|n| n.id.as_str()).unwrap_or_default()
        );
        nat::delete_and_wait(cx, c, &ids).await?;
        let eips: Vec<(&str, &str)> = now
            .eips
            .iter()
            .filter(|e| {
                e.owned
                    && now
                        .nats
                        .iter()
                        .filter(|n| ids.contains(&n.id.as_str()))
                        .any(|n| n.allocation_ids.contains(&e.allocation_id))
            })
            .map(|e| (e.allocation_id.as_str(), e.public_ip.as_str()))
            .collect();
        nat::release(cx, c, &eips).await
    };
    let spare_eips: Vec<(&str, &str)> = ops
        .iter()
        .filter_map(|o| match o {
            Op::ReleaseSpareEip(id) => now
                .eips
                .iter()
                .find(|e| e.allocation_id == *id)
                .map(|e| (e.allocation_id.as_str(), e.public_ip.as_str())),
            _ => None,
        })
        .collect();
    futures::try_join!(vpcs, igws, nats, nat::release(cx, c, &spare_eips))?;
    Ok(())
}

/// What the first stage found or made: the VPC, the gateway and the NAT's address.
struct First {
    vpc_id: String,
    igw_id: Option<String>,
    eip: Option<String>,
}

/// VPC, internet gateway and Elastic IP: none needs another.
async fn first_stage(cx: &Cx, c: &Clients, now: &Observed, ops: &[Op]) -> Result<First> {
    let core = &now.settings.core;
    if now.foreign_vpc() {
        let vpc = now.vpc.as_ref().expect("foreign VPC exists");
        return Ok(First {
            vpc_id: vpc.id.clone(),
            igw_id: None,
            eip: None,
        });
    }
    let vpc = async {
        let id = match &now.vpc {
            Some(v) => v.id.clone(),
            None => create_vpc(cx, c, core, &now.settings.cidr.to_string()).await?,
        };
        if has(ops, |o| matches!(o, Op::CreateVpc | Op::EnableDnsHostnames)) {
            settle(cx, &format!("enabling DNS hostnames on VPC {id}"), || {
                c.ec2
                    .modify_vpc_attribute()
                    .vpc_id(&id)
                    .enable_dns_hostnames(AttributeBooleanValue::builder().value(true).build())
                    .send()
            })
            .await?;
            if now.vpc.is_some() {
                kit::info!("enabled DNS hostnames on VPC {id}");
            }
        }
        Ok::<_, Error>(id)
    };
    let igw = async {
        match now.igw() {
            Some(g) => Ok(Some(g.id.clone())),
            None if has(ops, |o| matches!(o, Op::CreateIgw)) => {
                create_igw(cx, c, core).await.map(Some)
            }
            None => Ok(None),
        }
    };
    let eip = async {
        if has(ops, |o| matches!(o, Op::AllocateEip)) {
            nat::allocate_eip(cx, c, core).await.map(Some)
        } else {
            Ok(now.free_eip().map(|e| e.allocation_id.clone()))
        }
    };
    let (vpc_id, igw_id, eip) = futures::try_join!(vpc, igw, eip)?;
    Ok(First {
        vpc_id,
        igw_id,
        eip,
    })
}

/// A new VPC, tagged at creation. CreateVpc has no idempotency token: after a lost answer,
/// a VPC of ours with the core's name is looked for before another is created.
async fn create_vpc(cx: &Cx, c: &Clients, core: &str, cidr: &str) -> Result<String> {
    create_or_find(
        &format!("creating the VPC {core} ({cidr})"),
        || async move {
            c.ec2
                .create_vpc()
                .cidr_block(cidr)
                .tag_specifications(tag_spec(cx, ResourceType::Vpc, core))
                .customize()
                .config_override(no_sdk_retry())
                .send()
                .await
                .map(|out| {
                    let id = out.vpc().and_then(|v| v.vpc_id()).unwrap_or_default();
                    kit::info!("created VPC {id} ({cidr})");
                    id.to_owned()
                })
        },
        || async move {
            let out = c
                .ec2
                .describe_vpcs()
                .filters(filter("tag:Name", &[core]))
                .send()
                .await
                .ctx(format!("looking for the VPC {core}"))?;
            Ok(out
                .vpcs()
                .iter()
                .find(|v| cx.owns(tags_of_ec2(v.tags())))
                .and_then(|v| v.vpc_id().map(str::to_owned)))
        },
    )
    .await
}

/// A new internet gateway, tagged at creation; like a VPC, found by its tags after a lost
/// answer.
async fn create_igw(cx: &Cx, c: &Clients, core: &str) -> Result<String> {
    create_or_find(
        &format!("creating the internet gateway {core}"),
        || async move {
            c.ec2
                .create_internet_gateway()
                .tag_specifications(tag_spec(cx, ResourceType::InternetGateway, core))
                .customize()
                .config_override(no_sdk_retry())
                .send()
                .await
                .map(|out| {
                    let id = out
                        .internet_gateway()
                        .and_then(|g| g.internet_gateway_id())
                        .unwrap_or_default();
                    kit::info!("created internet gateway {id}");
                    id.to_owned()
                })
        },
        || async move {
            let out = c
                .ec2
                .describe_internet_gateways()
                .filters(filter("tag:Name", &[core]))
                .send()
                .await
                .ctx(format!("looking for the internet gateway {core}"))?;
            Ok(out
                .internet_gateways()
                .iter()
                .find(|g| g.attachments().is_empty() && cx.owns(tags_of_ec2(g.tags())))
                .and_then(|g| g.internet_gateway_id().map(str::to_owned)))
        },
    )
    .await
}

/// Subnets, route tables, the gateway's attachment; then routes, associations and the NAT.
async fn own_network_rest(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    ops: &[Op],
    first: &First,
) -> Result<NetworkSection> {
    let core = &now.settings.core;
    let want = want_subnets(now)?;
    let vpc_id = first.vpc_id.as_str();

    let subnets = try_join_all(want.iter().map(|w| async move {
        match &w.found {
            Some(f) => Ok(f.id.clone()),
            None => create_subnet(cx, c, vpc_id, w).await,
        }
    }));
    let tables = try_join_all(Tier::BOTH.into_iter().map(|tier| async move {
        match now.route_table(tier) {
            Some(t) => Ok(t.id.clone()),
            None => routing::create_table(cx, c, core, vpc_id, tier).await,
        }
    }));
    let attach = async {
        if has(ops, |o| matches!(o, Op::AttachIgw)) {
            let igw = first.igw_id.as_deref().unwrap_or_default();
            routing::attach_igw(cx, c, igw, vpc_id).await?;
        }
        Ok::<_, Error>(())
    };
    let (subnet_ids, table_ids, ()) = futures::try_join!(subnets, tables, attach)?;
    let subnet_id = |tier: Tier, k: u32| -> &str {
        want.iter()
            .position(|w| w.tier == tier && w.k == k)
            .map_or("", |i| subnet_ids[i].as_str())
    };
    let table_id = |tier: Tier| table_ids[if tier == Tier::Public { 0 } else { 1 }].as_str();
    let route_op = |tier: Tier| -> Option<bool> {
        ops.iter().find_map(|o| match o {
            Op::CreateRoute(t) if *t == tier => Some(true),
            Op::ReplaceRoute(t) if *t == tier => Some(false),
            _ => None,
        })
    };

    let public_route = async {
        match route_op(Tier::Public) {
            Some(create) => {
                let igw = first.igw_id.as_deref().unwrap_or_default();
                let target = Target::Gateway(igw);
                routing::route(cx, c, create, Tier::Public, table_id(Tier::Public), target).await
            }
            None => Ok(()),
        }
    };
    let associations = async {
        try_join_all(
            ops.iter()
                .filter_map(|op| match op {
                    Op::Associate(tier, k) => Some((*tier, *k, None)),
                    Op::ReplaceAssociation(tier, k, assoc) => {
                        Some((*tier, *k, Some(assoc.as_str())))
                    }
                    _ => None,
                })
                .map(|(tier, k, replace)| {
                    routing::associate(cx, c, table_id(tier), subnet_id(tier, k), replace)
                }),
        )
        .await?;
        // The duplicates' subnets were moved to the tables kept: now they can go.
        try_join_all(
            now.route_tables
                .iter()
                .filter(|t| {
                    has(
                        ops,
                        |o| matches!(o, Op::DeleteExtraTable(id) if *id == t.id),
                    )
                })
                .map(|t| async move {
                    kit::info!(
                        "route table {} {} duplicates core-up's {}: deleting it",
                        t.name,
                        t.id,
                        t.name
                    );
                    routing::delete_table(c, &t.id, &t.name, &[]).await
                }),
        )
        .await?;
        Ok::<_, Error>(())
    };
    let nat_and_private_route = async {
        let nat_id = nat::ensure(
            cx,
            c,
            now,
            has(ops, |o| matches!(o, Op::CreateNat)),
            subnet_id(Tier::Public, 0),
            first.eip.as_deref(),
        )
        .await?;
        let Some(create) = route_op(Tier::Private) else {
            return Ok(());
        };
        let table = table_id(Tier::Private);
        match routing::route(cx, c, create, Tier::Private, table, Target::Nat(&nat_id)).await {
            // --no-wait routes to the gateway while it is still pending; should EC2 refuse
            // that, the route waits for the gateway after all.
            Err(e) if cx.no_wait() => {
                kit::debug!("{e}; waiting for the NAT gateway first");
                nat::wait_available(cx, c, &nat_id).await?;
                routing::route(cx, c, create, Tier::Private, table, Target::Nat(&nat_id)).await
            }
            other => other,
        }
    };
    futures::try_join!(public_route, associations, nat_and_private_route)?;

    let list = |tier: Tier| {
        want.iter()
            .enumerate()
            .filter(|(_, w)| w.tier == tier)
            .map(|(i, w)| Subnet {
                id: subnet_ids[i].clone(),
                cidr: w.cidr.clone(),
                az: w.az.clone(),
            })
            .collect::<Vec<_>>()
    };
    let cidr = now
        .vpc
        .as_ref()
        .map_or_else(|| now.settings.cidr.to_string(), |v| v.cidr.clone());
    Ok((
        Some(vpc_id.to_owned()),
        cidr,
        list(Tier::Public),
        list(Tier::Private),
    ))
}

/// A new subnet, tagged at creation. CreateSubnet has no token, but a CIDR block is taken
/// only once per VPC: InvalidSubnet.Conflict from a retried call whose answer was lost is
/// done when the subnet holding the block is ours.
async fn create_subnet(cx: &Cx, c: &Clients, vpc_id: &str, w: &WantSubnet) -> Result<String> {
    let what = format!("creating the subnet {} ({}, {})", w.name, w.cidr, w.az);
    let made = settle(cx, &what, || {
        c.ec2
            .create_subnet()
            .vpc_id(vpc_id)
            .cidr_block(&w.cidr)
            .availability_zone(&w.az)
            .tag_specifications(tag_spec(cx, ResourceType::Subnet, &w.name))
            .send()
    })
    .await;
    match made {
        Ok(out) => {
            let id = out
                .subnet()
                .and_then(|s| s.subnet_id())
                .unwrap_or_default()
                .to_owned();
            kit::info!("created subnet {} {id} ({}, {})", w.name, w.cidr, w.az);
            Ok(id)
        }
        Err(e) if e.is_code("InvalidSubnet.Conflict") => {
            let out = c
                .ec2
                .describe_subnets()
                .filters(filter("vpc-id", &[vpc_id]))
                .filters(filter("cidr-block", &[&w.cidr]))
                .send()
                .await
                .ctx(format!("looking for the subnet {} ({})", w.name, w.cidr))?;
            let ours = out
                .subnets()
                .iter()
                .find(|s| s.cidr_block() == Some(w.cidr.as_str()) && cx.owns(tags_of_ec2(s.tags())))
                .and_then(|s| s.subnet_id());
            match ours {
                Some(id) => {
                    kit::info!("{what}: it exists already (subnet {id}, core-up's)");
                    Ok(id.to_owned())
                }
                None => Err(e.context_message(format!(
                    "{what}: another subnet of VPC {vpc_id} overlaps {}; delete it or pass --core-name for a separate core-infra",
                    w.cidr
                ))),
            }
        }
        Err(e) => Err(e),
    }
}
