//! Carry out the plan. Independent pieces go at once; each waits only for what it needs:
//!
//! ```text
//! cluster ───────────────────────────────────────────────────────────────────┐
//! VPC ──┬─ namespace (create, wait for its operation) ───────────────────────┤
//!       ├─ subnets, route tables ─┬─ public route, associations ─────────────┤→ section
//! IGW ──┴─ attach to the VPC ─────┤                                          │
//! EIP ────────────────────────────┴─ NAT (wait available) ─ private route ───┘
//! ```

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ec2::error::ProvideErrorMetadata;
use aws_sdk_ec2::types::{AttributeBooleanValue, DomainType, ResourceType, Tag, TagSpecification};
use aws_sdk_ecs::types::{CapacityProviderStrategyItem, ClusterSetting, ClusterSettingName};
use aws_sdk_servicediscovery::operation::create_private_dns_namespace::CreatePrivateDnsNamespaceError;
use aws_sdk_servicediscovery::types::{OperationStatus, OperationTargetType};
use futures::future::try_join_all;
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Plan, Result, aws};
use stackdoc::{Core, Subnet};

use crate::layout::{self, Tier};
use crate::observe::{Clients, Observed, filter};
use crate::{CAPACITY_PROVIDERS, Op, WantSubnet, created, network_section, want_subnets};

/// How long a call naming a just-created resource is retried while EC2's eventual
/// consistency still answers "not found".
const SETTLE: Duration = Duration::from_secs(60);

pub async fn apply(cx: &Cx, c: &Clients, now: Observed, plan: Plan<Op>) -> Result<Core> {
    let ops: Vec<Op> = plan.changes.into_iter().map(|ch| ch.op).collect();
    let core = now.settings.core.clone();

    // The VPC id gates the namespace and the rest of the network; the cluster needs nothing.
    let net_and_namespace = async {
        let first = first_stage(cx, c, &now, &ops).await?;
        let ns = namespace(cx, c, &now, &ops, &first.vpc_id);
        let net = async {
            if now.foreign_vpc() {
                let (id, cidr, public, private) = network_section(&now, |_| String::new())?;
                Ok((id.unwrap_or_default(), cidr, public, private))
            } else {
                own_network_rest(cx, c, &now, &ops, &first).await
            }
        };
        futures::try_join!(ns, net)
    };
    let (cluster_arn, ((namespace_id, namespace_arn), (vpc_id, vpc_cidr, public, private))) =
        futures::try_join!(cluster(cx, c, &now, &ops), net_and_namespace)?;

    Ok(Core {
        name: core.clone(),
        created: created(&now),
        vpc_id,
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
                let out = c
                    .ec2
                    .create_internet_gateway()
                    .tag_specifications(tag_spec(cx, ResourceType::InternetGateway, core))
                    .send()
                    .await
                    .ctx(format!("creating the internet gateway {core}"))?;
                let id = out
                    .internet_gateway()
                    .and_then(|g| g.internet_gateway_id())
                    .unwrap_or_default()
                    .to_owned();
                kit::info!("created internet gateway {id}");
                Ok(Some(id))
            }
            None => Ok(None),
        }
    };
    let eip = async {
        if has(ops, |o| matches!(o, Op::AllocateEip)) {
            let name = layout::nat_name(core);
            let out = c
                .ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(tag_spec(cx, ResourceType::ElasticIp, &name))
                .send()
                .await
                .ctx(format!(
                    "allocating the Elastic IP {name} for the NAT gateway"
                ))?;
            let id = out.allocation_id().unwrap_or_default().to_owned();
            kit::info!(
                "allocated Elastic IP {id} ({})",
                out.public_ip().unwrap_or_default()
            );
            Ok::<_, Error>(Some(id))
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

async fn create_vpc(cx: &Cx, c: &Clients, core: &str, cidr: &str) -> Result<String> {
    let out = c
        .ec2
        .create_vpc()
        .cidr_block(cidr)
        .tag_specifications(tag_spec(cx, ResourceType::Vpc, core))
        .send()
        .await
        .ctx(format!("creating the VPC {core} ({cidr})"))?;
    let id = out
        .vpc()
        .and_then(|v| v.vpc_id())
        .unwrap_or_default()
        .to_owned();
    kit::info!("created VPC {id} ({cidr})");
    Ok(id)
}

/// Subnets, route tables, the gateway's attachment; then routes, associations and the NAT.
async fn own_network_rest(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    ops: &[Op],
    first: &First,
) -> Result<(String, String, Vec<Subnet>, Vec<Subnet>)> {
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
            None => {
                let name = layout::route_table_name(core, tier);
                let out = settle(cx, &format!("creating the route table {name}"), || {
                    c.ec2
                        .create_route_table()
                        .vpc_id(vpc_id)
                        .tag_specifications(tag_spec(cx, ResourceType::RouteTable, &name))
                        .send()
                })
                .await?;
                let id = out
                    .route_table()
                    .and_then(|t| t.route_table_id())
                    .unwrap_or_default()
                    .to_owned();
                kit::info!("created route table {name} {id}");
                Ok(id)
            }
        }
    }));
    let attach = async {
        if has(ops, |o| matches!(o, Op::AttachIgw)) {
            let igw = first.igw_id.as_deref().unwrap_or_default();
            settle(
                cx,
                &format!("attaching the internet gateway {igw} to VPC {vpc_id}"),
                || {
                    c.ec2
                        .attach_internet_gateway()
                        .internet_gateway_id(igw)
                        .vpc_id(vpc_id)
                        .send()
                },
            )
            .await?;
            kit::info!("attached internet gateway {igw} to VPC {vpc_id}");
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

    let public_route = async {
        let igw = first.igw_id.as_deref().unwrap_or_default();
        route(
            cx,
            c,
            ops,
            Tier::Public,
            table_id(Tier::Public),
            Target::Gateway(igw),
        )
        .await
    };
    let associations = try_join_all(
        ops.iter()
            .filter_map(|op| match op {
                Op::Associate(tier, k) => Some((*tier, *k, None)),
                Op::ReplaceAssociation(tier, k, assoc) => Some((*tier, *k, Some(assoc.as_str()))),
                _ => None,
            })
            .map(|(tier, k, replace)| {
                let table = table_id(tier);
                let subnet = subnet_id(tier, k);
                async move {
                    match replace {
                        None => {
                            settle(
                                cx,
                                &format!("associating subnet {subnet} with route table {table}"),
                                || {
                                    c.ec2
                                        .associate_route_table()
                                        .route_table_id(table)
                                        .subnet_id(subnet)
                                        .send()
                                },
                            )
                            .await?;
                        }
                        Some(assoc) => {
                            settle(
                                cx,
                                &format!("moving subnet {subnet} to route table {table}"),
                                || {
                                    c.ec2
                                        .replace_route_table_association()
                                        .association_id(assoc)
                                        .route_table_id(table)
                                        .send()
                                },
                            )
                            .await?;
                        }
                    }
                    Ok::<_, Error>(())
                }
            }),
    );
    let nat_and_private_route = async {
        let nat_id = nat(
            cx,
            c,
            now,
            ops,
            subnet_id(Tier::Public, 0),
            first.eip.as_deref(),
        )
        .await?;
        let private = Target::Nat(&nat_id);
        match route(cx, c, ops, Tier::Private, table_id(Tier::Private), private).await {
            // --no-wait routes to the gateway while it is still pending; should EC2 refuse
            // that, the route waits for the gateway after all.
            Err(e) if cx.no_wait() => {
                kit::debug!("{e}; waiting for the NAT gateway first");
                wait_nat_available(cx, c, &nat_id).await?;
                route(
                    cx,
                    c,
                    ops,
                    Tier::Private,
                    table_id(Tier::Private),
                    Target::Nat(&nat_id),
                )
                .await
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
        vpc_id.to_owned(),
        cidr,
        list(Tier::Public),
        list(Tier::Private),
    ))
}

async fn create_subnet(cx: &Cx, c: &Clients, vpc_id: &str, w: &WantSubnet) -> Result<String> {
    let out = c
        .ec2
        .create_subnet()
        .vpc_id(vpc_id)
        .cidr_block(&w.cidr)
        .availability_zone(&w.az)
        .tag_specifications(tag_spec(cx, ResourceType::Subnet, &w.name))
        .send();
    let out = match out.await {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => {
            settle(cx, &format!("creating the subnet {}", w.name), || {
                c.ec2
                    .create_subnet()
                    .vpc_id(vpc_id)
                    .cidr_block(&w.cidr)
                    .availability_zone(&w.az)
                    .tag_specifications(tag_spec(cx, ResourceType::Subnet, &w.name))
                    .send()
            })
            .await?
        }
        Err(e) if e.code() == Some("InvalidSubnet.Conflict") => {
            return Err(Error::aws(format!(
                "creating the subnet {} ({}) in VPC {vpc_id}: another subnet of the VPC overlaps {}; delete it or pass --core-name for a separate core-infra ({})",
                w.name,
                w.cidr,
                w.cidr,
                aws::describe(&e)
            )));
        }
        Err(e) => {
            return Err(Error::aws(format!(
                "creating the subnet {} ({}, {}): {}",
                w.name,
                w.cidr,
                w.az,
                aws::describe(&e)
            )));
        }
    };
    let id = out
        .subnet()
        .and_then(|s| s.subnet_id())
        .unwrap_or_default()
        .to_owned();
    kit::info!("created subnet {} {id} ({}, {})", w.name, w.cidr, w.az);
    Ok(id)
}

enum Target<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

/// The default route of a tier's table, created or pointed at the right target.
async fn route(
    cx: &Cx,
    c: &Clients,
    ops: &[Op],
    tier: Tier,
    table: &str,
    target: Target<'_>,
) -> Result<()> {
    let create = has(ops, |o| matches!(o, Op::CreateRoute(t) if *t == tier));
    let replace = has(ops, |o| matches!(o, Op::ReplaceRoute(t) if *t == tier));
    if !create && !replace {
        return Ok(());
    }
    let (gw, nat) = match target {
        Target::Gateway(id) => (Some(id), None),
        Target::Nat(id) => (None, Some(id)),
    };
    let what = format!(
        "{} the route 0.0.0.0/0 → {} in route table {table}",
        if create { "creating" } else { "replacing" },
        gw.or(nat).unwrap_or_default()
    );
    if create {
        settle(cx, &what, || {
            c.ec2
                .create_route()
                .route_table_id(table)
                .destination_cidr_block("0.0.0.0/0")
                .set_gateway_id(gw.map(str::to_owned))
                .set_nat_gateway_id(nat.map(str::to_owned))
                .send()
        })
        .await?;
    } else {
        settle(cx, &what, || {
            c.ec2
                .replace_route()
                .route_table_id(table)
                .destination_cidr_block("0.0.0.0/0")
                .set_gateway_id(gw.map(str::to_owned))
                .set_nat_gateway_id(nat.map(str::to_owned))
                .send()
        })
        .await?;
    }
    kit::info!(
        "{} route 0.0.0.0/0 → {} in {} route table {table}",
        if create { "created" } else { "replaced" },
        gw.or(nat).unwrap_or_default(),
        tier.word()
    );
    Ok(())
}

/// The NAT gateway: the one found (waited on while pending), or a new one in the first
/// public subnet, created with an idempotency token so that a run killed mid-call and rerun
/// gets the same gateway, not a second one.
async fn nat(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    ops: &[Op],
    subnet: &str,
    eip: Option<&str>,
) -> Result<String> {
    let core = &now.settings.core;
    let name = layout::nat_name(core);
    if let Some(n) = now.nat() {
        if n.state == "pending" && !cx.no_wait() {
            wait_nat_available(cx, c, &n.id).await?;
        }
        return Ok(n.id.clone());
    }
    if !has(ops, |o| matches!(o, Op::CreateNat)) {
        return Err(Error::aws("internal: no NAT gateway and none planned"));
    }
    let eip = eip.unwrap_or_default();
    // A gateway of ours still being deleted holds the address: let it go first.
    let deleting: Vec<&str> = now
        .nats
        .iter()
        .filter(|n| n.owned && n.state == "deleting")
        .map(|n| n.id.as_str())
        .collect();
    if !deleting.is_empty() {
        wait_nats_gone(cx, c, &deleting).await?;
    }
    // Failed attempts keep their token's answer: a new attempt needs a new token.
    let failed = now
        .nats
        .iter()
        .filter(|n| n.subnet_id == subnet && n.state == "failed")
        .count();
    let token = format!("cu-{subnet}-{eip}-{failed}");
    let out = settle(cx, &format!("creating the NAT gateway {name}"), || {
        c.ec2
            .create_nat_gateway()
            .subnet_id(subnet)
            .allocation_id(eip)
            .client_token(&token)
            .tag_specifications(tag_spec(cx, ResourceType::Natgateway, &name))
            .send()
    })
    .await?;
    let id = out
        .nat_gateway()
        .and_then(|n| n.nat_gateway_id())
        .unwrap_or_default()
        .to_owned();
    kit::info!("created NAT gateway {id} in subnet {subnet}");
    if !cx.no_wait() {
        wait_nat_available(cx, c, &id).await?;
    }
    Ok(id)
}

async fn wait_nat_available(cx: &Cx, c: &Clients, id: &str) -> Result<()> {
    wait::until(cx, &format!("NAT gateway {id}"), || async {
        let out = c
            .ec2
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", &[id]))
            .send()
            .await
            .ctx(format!("describing the NAT gateway {id}"))?;
        let Some(n) = out.nat_gateways().first() else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        let state = n.state().map(|s| s.as_str()).unwrap_or_default();
        match state {
            "available" => Ok(Poll::Ready(())),
            "failed" => Err(Error::aws(format!(
                "NAT gateway {id} failed: {}: {}; rerun core-up to create another",
                n.failure_code().unwrap_or("unknown"),
                n.failure_message().unwrap_or("no message")
            ))),
            "deleting" | "deleted" => Err(Error::aws(format!(
                "NAT gateway {id} is {state} (deleted by someone else); rerun core-up to create another"
            ))),
            other => Ok(Poll::Pending(other.to_owned())),
        }
    })
    .await
}

/// Wait until each NAT gateway is deleted (or gone).
pub(crate) async fn wait_nats_gone(cx: &Cx, c: &Clients, ids: &[&str]) -> Result<()> {
    let what = format!("deletion of NAT gateway {}", ids.join(", "));
    wait::until(cx, &what, || async {
        let out = c
            .ec2
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", ids))
            .send()
            .await
            .ctx(format!("describing the NAT gateway {}", ids.join(", ")))?;
        let busy: Vec<String> = out
            .nat_gateways()
            .iter()
            .filter(|n| !matches!(n.state().map(|s| s.as_str()), Some("deleted" | "failed")))
            .map(|n| {
                format!(
                    "{} {}",
                    n.nat_gateway_id().unwrap_or_default(),
                    n.state().map(|s| s.as_str()).unwrap_or_default()
                )
            })
            .collect();
        if busy.is_empty() {
            Ok(Poll::Ready(()))
        } else {
            Ok(Poll::Pending(busy.join(", ")))
        }
    })
    .await
}

/// The ECS cluster: created with both Fargate capacity providers and Container Insights, or
/// corrected where core-up's own cluster drifted.
async fn cluster(cx: &Cx, c: &Clients, now: &Observed, ops: &[Op]) -> Result<String> {
    let core = &now.settings.core;
    let mut arn = now.cluster.as_ref().map(|cl| cl.arn.clone());
    for op in ops {
        match op {
            Op::CreateCluster => {
                let mut req = c
                    .ecs
                    .create_cluster()
                    .cluster_name(core)
                    .default_capacity_provider_strategy(
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider("FARGATE")
                            .weight(1)
                            .build()
                            .map_err(|e| Error::aws(format!("internal: {e}")))?,
                    )
                    .settings(insights_on());
                for p in CAPACITY_PROVIDERS {
                    req = req.capacity_providers(p);
                }
                for (k, v) in cx.tags() {
                    req = req.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build());
                }
                let out = req
                    .send()
                    .await
                    .ctx(format!("creating the ECS cluster {core}"))?;
                let new_arn = out
                    .cluster()
                    .and_then(|cl| cl.cluster_arn())
                    .unwrap_or_default()
                    .to_owned();
                kit::info!(
                    "created ECS cluster {core} (FARGATE, FARGATE_SPOT, Container Insights)"
                );
                arn = Some(new_arn);
            }
            Op::PutCapacityProviders(providers) => {
                let mut req = c
                    .ecs
                    .put_cluster_capacity_providers()
                    .cluster(core)
                    .set_capacity_providers(Some(providers.clone()));
                let has_strategy = now
                    .cluster
                    .as_ref()
                    .is_some_and(|cl| cl.has_default_strategy);
                if !has_strategy {
                    req = req.default_capacity_provider_strategy(
                        CapacityProviderStrategyItem::builder()
                            .capacity_provider("FARGATE")
                            .weight(1)
                            .build()
                            .map_err(|e| Error::aws(format!("internal: {e}")))?,
                    );
                } else {
                    // The call replaces the strategy: keep the current one (read back below).
                    let out = c
                        .ecs
                        .describe_clusters()
                        .clusters(core)
                        .send()
                        .await
                        .ctx(format!("reading the capacity provider strategy of {core}"))?;
                    let strategy = out
                        .clusters()
                        .first()
                        .map(|cl| cl.default_capacity_provider_strategy().to_vec())
                        .unwrap_or_default();
                    req = req.set_default_capacity_provider_strategy(Some(strategy));
                }
                req.send().await.ctx(format!(
                    "adding the Fargate capacity providers to the ECS cluster {core}"
                ))?;
                kit::info!(
                    "set the capacity providers of ECS cluster {core}: {}",
                    providers.join(", ")
                );
            }
            Op::EnableInsights => {
                c.ecs
                    .update_cluster()
                    .cluster(core)
                    .settings(insights_on())
                    .send()
                    .await
                    .ctx(format!(
                        "turning on Container Insights for the ECS cluster {core}"
                    ))?;
                kit::info!("turned on Container Insights for ECS cluster {core}");
            }
            _ => {}
        }
    }
    arn.ok_or_else(|| Error::aws(format!("internal: no ECS cluster {core} and none planned")))
}

fn insights_on() -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value("enabled")
        .build()
}

/// The namespace: found, or created in the VPC and waited on through its operation.
async fn namespace(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    ops: &[Op],
    vpc_id: &str,
) -> Result<(String, String)> {
    if let Some(n) = &now.namespace {
        return Ok((n.id.clone(), n.arn.clone()));
    }
    if !has(ops, |o| matches!(o, Op::CreateNamespace)) {
        return Err(Error::aws("internal: no namespace and none planned"));
    }
    let name = layout::namespace_name(&now.settings.core);
    // Idempotent within the hour: a retried or rerun request joins the first one's
    // operation instead of starting a second.
    let hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 3600)
        .unwrap_or_default();
    let request_id = format!("core-up-{vpc_id}-{hour}");
    let mut tags = Vec::new();
    for (k, v) in cx.tags() {
        tags.push(
            aws_sdk_servicediscovery::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::aws(format!("internal: {e}")))?,
        );
    }
    let sent =
        c.sd.create_private_dns_namespace()
            .name(&name)
            .vpc(vpc_id)
            .creator_request_id(&request_id)
            .description(format!(
                "Service discovery for the {} core-infra (stagehand core-up)",
                now.settings.core
            ))
            .set_tags(Some(tags))
            .send()
            .await;
    let operation = match sent {
        Ok(out) => out.operation_id().unwrap_or_default().to_owned(),
        Err(e) => match e.as_service_error() {
            Some(CreatePrivateDnsNamespaceError::DuplicateRequest(d))
                if d.duplicate_operation_id().is_some() =>
            {
                d.duplicate_operation_id().unwrap_or_default().to_owned()
            }
            Some(CreatePrivateDnsNamespaceError::NamespaceAlreadyExists(x))
                if x.namespace_id().is_some() =>
            {
                let id = x.namespace_id().unwrap_or_default();
                return namespace_by_id(cx, c, id).await;
            }
            _ => {
                return Err(Error::aws(format!(
                    "creating the Cloud Map namespace {name} in VPC {vpc_id}: {}",
                    aws::describe(&e)
                )));
            }
        },
    };
    kit::info!("creating Cloud Map namespace {name} (operation {operation})");
    let id = wait_operation(cx, c, &operation, &format!("namespace {name}")).await?;
    let id = id.ok_or_else(|| {
        Error::aws(format!(
            "the operation {operation} that created the namespace {name} names no namespace"
        ))
    })?;
    let found = namespace_by_id(cx, c, &id).await?;
    kit::info!("created Cloud Map namespace {name} {id}");
    Ok(found)
}

/// The namespace's id and ARN, once Cloud Map shows it (a namespace still being created is
/// not shown yet).
async fn namespace_by_id(cx: &Cx, c: &Clients, id: &str) -> Result<(String, String)> {
    wait::until(cx, &format!("namespace {id}"), || async {
        match c.sd.get_namespace().id(id).send().await {
            Ok(out) => Ok(Poll::Ready((
                id.to_owned(),
                out.namespace()
                    .and_then(|n| n.arn())
                    .unwrap_or_default()
                    .to_owned(),
            ))),
            Err(e) if aws::is_not_found(&e) => Ok(Poll::Pending("not visible yet".into())),
            Err(e) => Err(Error::aws(format!(
                "reading the Cloud Map namespace {id}: {}",
                aws::describe(&e)
            ))),
        }
    })
    .await
}

/// Wait for a Cloud Map operation; returns the namespace it targets.
pub(crate) async fn wait_operation(
    cx: &Cx,
    c: &Clients,
    operation: &str,
    what: &str,
) -> Result<Option<String>> {
    wait::until(cx, what, || async {
        let out =
            c.sd.get_operation()
                .operation_id(operation)
                .send()
                .await
                .ctx(format!("reading the Cloud Map operation {operation}"))?;
        let Some(op) = out.operation() else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        match op.status() {
            Some(OperationStatus::Success) => Ok(Poll::Ready(
                op.targets()
                    .and_then(|t| t.get(&OperationTargetType::Namespace))
                    .cloned(),
            )),
            Some(OperationStatus::Fail) => Err(Error::aws(format!(
                "{what}: the Cloud Map operation {operation} failed: {}: {}",
                op.error_code().unwrap_or("unknown"),
                op.error_message().unwrap_or("no message")
            ))),
            Some(other) => Ok(Poll::Pending(other.as_str().to_lowercase())),
            None => Ok(Poll::Pending("unknown".into())),
        }
    })
    .await
}

/// Name tag plus the step's tags (stagehand's and the user's) for an EC2 create call.
pub(crate) fn tag_spec(cx: &Cx, kind: ResourceType, name: &str) -> TagSpecification {
    let mut spec = TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build());
    for (k, v) in cx.tags() {
        if k != "Name" {
            spec = spec.tags(Tag::builder().key(k).value(v).build());
        }
    }
    spec.build()
}

/// Run a call that names a resource this run just created, retrying while EC2's eventual
/// consistency still says "not found" (briefly: a real "not found" fails after a minute).
pub(crate) async fn settle<T, E, F, Fut>(cx: &Cx, what: &str, mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: ProvideErrorMetadata + std::error::Error,
{
    let give_up = (Instant::now() + SETTLE).min(cx.deadline);
    let mut interval = Duration::from_millis(200);
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if aws::is_not_found(&e) && Instant::now() < give_up => {
                kit::debug!("{what}: {}; retrying", aws::describe(&e));
                tokio::time::sleep(interval).await;
                interval = (interval * 3 / 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(Error::aws(format!("{what}: {}", aws::describe(&e)))),
        }
    }
}
