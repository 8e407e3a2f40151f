//! What exists now: read-only calls, concurrent, one describe per resource kind.
//!
//! Two rounds. The first needs nothing but the core name: the region's zones, the VPCs by
//! their Name tag, the internet gateways and the NAT's Elastic IPs by theirs (either may exist
//! without an attachment after an interrupted run), the ECS cluster, the namespace. The
//! second needs the VPC ids: their subnets, route tables and NAT gateways (each one call
//! filtered by VPC), and the DNS-hostnames attribute of the VPC kept.
//!
//! Several VPCs of core-up's named after the core (a CreateVpc whose answer was lost, then
//! sent again) are not an error: one is kept (the document's, else the most complete) and the
//! others are listed, with what is in them, for the diff to delete.

use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use aws_sdk_ecs::types::ClusterField;
use aws_sdk_servicediscovery::types::{
    FilterCondition, NamespaceFilter, NamespaceFilterName, NamespaceType,
};
use kit::{AwsContext, Cx, Result};
use stackdoc::Core;

use crate::layout::{self, Tier};
use crate::settings::Settings;

/// The clients of the services core-up talks to.
pub struct Clients {
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub sd: aws_sdk_servicediscovery::Client,
}

impl Clients {
    pub fn new(cx: &Cx) -> Clients {
        Clients {
            ec2: aws_sdk_ec2::Client::new(&cx.sdk),
            ecs: aws_sdk_ecs::Client::new(&cx.sdk),
            sd: aws_sdk_servicediscovery::Client::new(&cx.sdk),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubnetFound {
    pub id: String,
    pub vpc_id: String,
    pub cidr: String,
    pub az: String,
    pub name: String,
    /// From the Name tag: `<core>-public-*` or `<core>-private-*`; None for other subnets of
    /// the VPC.
    pub tier: Option<Tier>,
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Igw {
    pub id: String,
    pub owned: bool,
    /// The VPCs it is attached (or attaching) to.
    pub attached_to: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Eip {
    pub allocation_id: String,
    pub association_id: Option<String>,
    pub public_ip: String,
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nat {
    pub id: String,
    pub vpc_id: String,
    pub name: String,
    /// pending, available, deleting, failed (deleted ones are not kept).
    pub state: String,
    pub subnet_id: String,
    pub allocation_ids: Vec<String>,
    /// Its network interfaces (not another step's, for the destroy guard).
    pub eni_ids: Vec<String>,
    pub owned: bool,
}

impl Nat {
    pub fn live(&self) -> bool {
        matches!(self.state.as_str(), "pending" | "available")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub destination: String,
    /// The gateway (igw-…, local), NAT gateway or other target.
    pub target: String,
    pub state: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Association {
    pub id: String,
    pub subnet_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub name: String,
    pub owned: bool,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
}

impl RouteTable {
    pub fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.destination == "0.0.0.0/0")
    }
    /// How many subnets it serves (the main association is not a subnet's).
    pub fn subnet_count(&self) -> usize {
        self.associations.iter().filter(|a| !a.main).count()
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub owned: bool,
    pub capacity_providers: Vec<String>,
    pub has_default_strategy: bool,
    /// containerInsights: enabled, enhanced or disabled.
    pub insights: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Namespace {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub owned: bool,
}

/// A VPC with what is in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub vpc: Vpc,
    pub subnets: Vec<SubnetFound>,
    pub route_tables: Vec<RouteTable>,
    /// NAT gateways that are not deleted.
    pub nats: Vec<Nat>,
}

impl Network {
    /// How much of a core-infra it holds: what picks the VPC to keep among duplicates.
    fn completeness(&self) -> (usize, usize, usize) {
        (
            self.subnets
                .iter()
                .filter(|s| s.owned && s.tier.is_some())
                .count(),
            self.nats.iter().filter(|n| n.live()).count(),
            self.route_tables.iter().map(RouteTable::subnet_count).sum(),
        )
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub settings: Settings,
    /// The region's available zones, by name.
    pub zones: Vec<String>,
    /// The VPC named after the core: core-up's if there is one, else someone else's.
    pub vpc: Option<Vpc>,
    /// Several VPCs of the name and none of them core-up's: which one is meant is unclear.
    pub ambiguous: Vec<String>,
    /// The subnets of the VPC.
    pub subnets: Vec<SubnetFound>,
    /// NAT gateways of the VPC that are not deleted (core-up's VPC only).
    pub nats: Vec<Nat>,
    /// Route tables of the VPC (core-up's VPC only).
    pub route_tables: Vec<RouteTable>,
    /// The VPC's enableDnsHostnames (core-up's VPC only).
    pub dns_hostnames: Option<bool>,
    /// Further VPCs of core-up's with the same name, with their contents: duplicates to delete.
    pub extra_vpcs: Vec<Network>,
    /// Gateways named after the core (attached anywhere, or not at all).
    pub igws: Vec<Igw>,
    /// Elastic IPs named `<core>-nat`.
    pub eips: Vec<Eip>,
    pub cluster: Option<Cluster>,
    pub namespace: Option<Namespace>,
}

impl Observed {
    /// Nothing found: what a fresh account (or a finished destroy) looks like.
    pub fn empty(settings: Settings, zones: Vec<String>) -> Observed {
        Observed {
            settings,
            zones,
            vpc: None,
            ambiguous: Vec::new(),
            subnets: Vec::new(),
            nats: Vec::new(),
            route_tables: Vec::new(),
            dns_hostnames: None,
            extra_vpcs: Vec::new(),
            igws: Vec::new(),
            eips: Vec::new(),
            cluster: None,
            namespace: None,
        }
    }

    /// Whether the VPC is someone else's: then core-up reuses the network and manages none of
    /// its routing.
    pub fn foreign_vpc(&self) -> bool {
        self.vpc.as_ref().is_some_and(|v| !v.owned)
    }
    pub fn subnets_of(&self, tier: Tier) -> impl Iterator<Item = &SubnetFound> {
        self.subnets.iter().filter(move |s| s.tier == Some(tier))
    }
    fn tables_named(&self, tier: Tier) -> impl Iterator<Item = &RouteTable> {
        let name = layout::route_table_name(&self.settings.core, tier);
        self.route_tables.iter().filter(move |t| t.name == name)
    }
    /// The tier's route table: ours first (a table of that name someone else made is still
    /// usable), then the one serving most subnets, then one with a default route.
    pub fn route_table(&self, tier: Tier) -> Option<&RouteTable> {
        self.tables_named(tier).max_by(|a, b| {
            let key = |t: &RouteTable| {
                (
                    t.owned,
                    t.subnet_count(),
                    t.default_route().is_some(),
                    std::cmp::Reverse(t.id.clone()),
                )
            };
            key(a).cmp(&key(b))
        })
    }
    /// Duplicates of the tier's table that core-up made (a create whose answer was lost).
    pub fn extra_tables(&self, tier: Tier) -> Vec<&RouteTable> {
        let kept = self.route_table(tier).map(|t| t.id.as_str());
        self.tables_named(tier)
            .filter(|t| t.owned && Some(t.id.as_str()) != kept)
            .collect()
    }
    /// The gateway to use: one attached to the VPC, else one of ours that is not attached
    /// anywhere (an interrupted run created it but did not attach it).
    pub fn igw(&self) -> Option<&Igw> {
        let attached = self.vpc.as_ref().and_then(|vpc| {
            self.igws
                .iter()
                .filter(|g| g.attached_to.contains(&vpc.id))
                .max_by_key(|g| (g.owned, std::cmp::Reverse(g.id.clone())))
        });
        attached.or_else(|| {
            self.igws
                .iter()
                .filter(|g| g.owned && g.attached_to.is_empty())
                .min_by_key(|g| g.id.clone())
        })
    }
    /// Gateways of ours attached nowhere, besides the one used: left by lost answers, each
    /// counts against a quota of five per region.
    pub fn spare_igws(&self) -> Vec<&Igw> {
        let used = self.igw().map(|g| g.id.as_str());
        self.igws
            .iter()
            .filter(|g| g.owned && g.attached_to.is_empty() && Some(g.id.as_str()) != used)
            .collect()
    }
    /// The NAT gateway that serves the private route table: the one its route points at,
    /// else ours, else an available one.
    pub fn nat(&self) -> Option<&Nat> {
        let name = layout::nat_name(&self.settings.core);
        let routed = self
            .route_table(Tier::Private)
            .and_then(|t| t.default_route())
            .map(|r| r.target.as_str());
        self.nats
            .iter()
            .filter(|n| n.name == name && n.live())
            .max_by_key(|n| {
                (
                    Some(n.id.as_str()) == routed,
                    n.owned,
                    n.state == "available",
                    std::cmp::Reverse(n.id.clone()),
                )
            })
    }
    /// Further live NAT gateways of ours in the VPC: duplicates to delete.
    pub fn extra_nats(&self) -> Vec<&Nat> {
        let name = layout::nat_name(&self.settings.core);
        let kept = self.nat().map(|n| n.id.as_str());
        self.nats
            .iter()
            .filter(|n| n.owned && n.name == name && n.live() && Some(n.id.as_str()) != kept)
            .collect()
    }
    /// The Elastic IP for a new NAT gateway: ours and free.
    pub fn free_eip(&self) -> Option<&Eip> {
        self.eips
            .iter()
            .filter(|e| e.owned && e.association_id.is_none())
            .min_by_key(|e| e.allocation_id.clone())
    }
    /// Addresses of ours that nothing uses or will use: each costs money. The one a new NAT
    /// gateway will take is not spare.
    pub fn spare_eips(&self) -> Vec<&Eip> {
        let taken = if self.nat().is_none() && !self.foreign_vpc() {
            self.free_eip().map(|e| e.allocation_id.as_str())
        } else {
            None
        };
        self.eips
            .iter()
            .filter(|e| {
                e.owned && e.association_id.is_none() && Some(e.allocation_id.as_str()) != taken
            })
            .collect()
    }
}

pub fn tags_of_ec2(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect()
}

pub fn name_of(tags: &[aws_sdk_ec2::types::Tag]) -> String {
    tags.iter()
        .find(|t| t.key() == Some("Name"))
        .and_then(|t| t.value())
        .unwrap_or_default()
        .to_owned()
}

pub fn filter(name: &str, values: &[&str]) -> Filter {
    let mut f = Filter::builder().name(name);
    for v in values {
        f = f.values(*v);
    }
    f.build()
}

pub async fn observe(cx: &Cx, c: &Clients, settings: Settings) -> Result<Observed> {
    let core = settings.core.clone();
    // The VPC id the document names, to keep among duplicates.
    let in_doc = cx
        .doc
        .section::<Core>()
        .ok()
        .flatten()
        .filter(|s| s.name == core)
        .map(|s| s.vpc_id);
    let (zones, found, igws, eips, cluster, namespace) = futures::try_join!(
        zones(c),
        find_network(cx, c, &core, in_doc.as_deref()),
        find_igws(cx, c, &core),
        find_eips(cx, c, &core),
        find_cluster(cx, c, &core),
        find_namespace(cx, c, &core),
    )?;
    Ok(Observed {
        settings,
        zones,
        vpc: found.vpc,
        ambiguous: found.ambiguous,
        subnets: found.subnets,
        nats: found.nats,
        route_tables: found.route_tables,
        dns_hostnames: found.dns_hostnames,
        extra_vpcs: found.extra_vpcs,
        igws,
        eips,
        cluster,
        namespace,
    })
}

/// The VPCs named after the core, the one kept with its contents, and duplicates of ours.
async fn find_network(cx: &Cx, c: &Clients, core: &str, in_doc: Option<&str>) -> Result<Found> {
    let vpcs = find_vpcs(cx, c, core).await?;
    let (owned, foreign): (Vec<Vpc>, Vec<Vpc>) = vpcs.into_iter().partition(|v| v.owned);
    if owned.is_empty() {
        return match foreign.as_slice() {
            [] => Ok(Found::default()),
            [one] => {
                // Someone else's network: only its subnets matter.
                let subnets = find_subnets(cx, c, core, &[one.id.as_str()]).await?;
                Ok(Found {
                    vpc: Some(one.clone()),
                    subnets,
                    ..Found::default()
                })
            }
            many => Ok(Found {
                ambiguous: many.iter().map(|v| v.id.clone()).collect(),
                ..Found::default()
            }),
        };
    }
    let ids: Vec<&str> = owned.iter().map(|v| v.id.as_str()).collect();
    let single = (ids.len() == 1).then(|| ids[0]);
    let dns_single = async {
        match single {
            Some(id) => dns_hostnames(c, id).await.map(Some),
            None => Ok(None),
        }
    };
    let (subnets, tables, nats, dns) = futures::try_join!(
        find_subnets(cx, c, core, &ids),
        find_route_tables(cx, c, &ids),
        find_nats(cx, c, &ids),
        dns_single,
    )?;
    let mut nets: Vec<Network> = owned
        .into_iter()
        .map(|vpc| Network {
            subnets: subnets
                .iter()
                .filter(|s| s.vpc_id == vpc.id)
                .cloned()
                .collect(),
            route_tables: tables
                .iter()
                .filter(|t| t.vpc_id == vpc.id)
                .cloned()
                .collect(),
            nats: nats
                .iter()
                .filter(|n| n.vpc_id == vpc.id)
                .cloned()
                .collect(),
            vpc,
        })
        .collect();
    let keep = keep_index(&nets, in_doc);
    let kept = nets.remove(keep);
    let dns = match dns {
        Some(d) => d,
        None => dns_hostnames(c, &kept.vpc.id).await?,
    };
    Ok(Found {
        vpc: Some(kept.vpc),
        subnets: kept.subnets,
        route_tables: kept.route_tables,
        nats: kept.nats,
        dns_hostnames: Some(dns),
        extra_vpcs: nets,
        ambiguous: Vec::new(),
    })
}

/// The network part of what observe found.
#[derive(Default)]
struct Found {
    vpc: Option<Vpc>,
    ambiguous: Vec<String>,
    subnets: Vec<SubnetFound>,
    route_tables: Vec<RouteTable>,
    nats: Vec<Nat>,
    dns_hostnames: Option<bool>,
    extra_vpcs: Vec<Network>,
}

/// Which of several VPCs of ours to keep: the document's, else the most complete (ties go
/// to the lowest id, so that every run picks the same one).
fn keep_index(nets: &[Network], in_doc: Option<&str>) -> usize {
    if let Some(i) = nets.iter().position(|n| Some(n.vpc.id.as_str()) == in_doc) {
        return i;
    }
    (0..nets.len())
        .max_by(|&a, &b| {
            (nets[a].completeness(), std::cmp::Reverse(&nets[a].vpc.id))
                .cmp(&(nets[b].completeness(), std::cmp::Reverse(&nets[b].vpc.id)))
        })
        .unwrap_or(0)
}

/// The region's available zones (not Local or Wavelength Zones), by name.
async fn zones(c: &Clients) -> Result<Vec<String>> {
    let out = c
        .ec2
        .describe_availability_zones()
        .filters(filter("state", &["available"]))
        .send()
        .await
        .ctx("listing the region's availability zones (EC2 DescribeAvailabilityZones)")?;
    let mut zones: Vec<String> = out
        .availability_zones()
        .iter()
        .filter(|z| z.zone_type().is_none_or(|t| t == "availability-zone"))
        .filter_map(|z| z.zone_name().map(str::to_owned))
        .collect();
    zones.sort();
    Ok(zones)
}

/// Every VPC named after the core.
async fn find_vpcs(cx: &Cx, c: &Clients, core: &str) -> Result<Vec<Vpc>> {
    let vpcs = c
        .ec2
        .describe_vpcs()
        .filters(filter("tag:Name", &[core]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "looking for the VPC named {core} (EC2 DescribeVpcs)"
        ))?;
    Ok(vpcs
        .iter()
        .map(|v| Vpc {
            id: v.vpc_id().unwrap_or_default().to_owned(),
            cidr: v.cidr_block().unwrap_or_default().to_owned(),
            owned: cx.owns(tags_of_ec2(v.tags())),
        })
        .collect())
}

pub fn subnet_found(cx: &Cx, core: &str, s: &aws_sdk_ec2::types::Subnet) -> SubnetFound {
    let name = name_of(s.tags());
    let tier = Tier::BOTH
        .into_iter()
        .find(|t| name.starts_with(&layout::subnet_prefix(core, *t)));
    SubnetFound {
        id: s.subnet_id().unwrap_or_default().to_owned(),
        vpc_id: s.vpc_id().unwrap_or_default().to_owned(),
        cidr: s.cidr_block().unwrap_or_default().to_owned(),
        az: s.availability_zone().unwrap_or_default().to_owned(),
        name,
        tier,
        owned: cx.owns(tags_of_ec2(s.tags())),
    }
}

async fn find_subnets(cx: &Cx, c: &Clients, core: &str, vpcs: &[&str]) -> Result<Vec<SubnetFound>> {
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpcs))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "listing the subnets of VPC {} (EC2 DescribeSubnets)",
            vpcs.join(", ")
        ))?;
    Ok(subnets.iter().map(|s| subnet_found(cx, core, s)).collect())
}

pub fn route_table_found(cx: &Cx, t: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    RouteTable {
        id: t.route_table_id().unwrap_or_default().to_owned(),
        vpc_id: t.vpc_id().unwrap_or_default().to_owned(),
        name: name_of(t.tags()),
        owned: cx.owns(tags_of_ec2(t.tags())),
        routes: t
            .routes()
            .iter()
            .filter_map(|r| {
                Some(Route {
                    destination: r.destination_cidr_block()?.to_owned(),
                    target: r
                        .gateway_id()
                        .or(r.nat_gateway_id())
                        .or(r.network_interface_id())
                        .or(r.transit_gateway_id())
                        .or(r.vpc_peering_connection_id())
                        .or(r.instance_id())
                        .unwrap_or_default()
                        .to_owned(),
                    state: r.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
                })
            })
            .collect(),
        associations: t
            .associations()
            .iter()
            .filter(|a| {
                // Only live associations count (not disassociated/failed ones).
                a.association_state()
                    .and_then(|s| s.state())
                    .is_none_or(|s| matches!(s.as_str(), "associated" | "associating"))
            })
            .map(|a| Association {
                id: a
                    .route_table_association_id()
                    .unwrap_or_default()
                    .to_owned(),
                subnet_id: a.subnet_id().map(str::to_owned),
                main: a.main().unwrap_or(false),
            })
            .collect(),
    }
}

async fn find_route_tables(cx: &Cx, c: &Clients, vpcs: &[&str]) -> Result<Vec<RouteTable>> {
    let tables = c
        .ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpcs))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "listing the route tables of VPC {} (EC2 DescribeRouteTables)",
            vpcs.join(", ")
        ))?;
    Ok(tables.iter().map(|t| route_table_found(cx, t)).collect())
}

async fn find_nats(cx: &Cx, c: &Clients, vpcs: &[&str]) -> Result<Vec<Nat>> {
    let nats = c
        .ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", vpcs))
        .filter(filter(
            "state",
            &["pending", "available", "deleting", "failed"],
        ))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "listing the NAT gateways of VPC {} (EC2 DescribeNatGateways)",
            vpcs.join(", ")
        ))?;
    Ok(nats
        .iter()
        .map(|n| Nat {
            id: n.nat_gateway_id().unwrap_or_default().to_owned(),
            vpc_id: n.vpc_id().unwrap_or_default().to_owned(),
            name: name_of(n.tags()),
            state: n.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            subnet_id: n.subnet_id().unwrap_or_default().to_owned(),
            allocation_ids: n
                .nat_gateway_addresses()
                .iter()
                .filter_map(|a| a.allocation_id().map(str::to_owned))
                .collect(),
            eni_ids: n
                .nat_gateway_addresses()
                .iter()
                .filter_map(|a| a.network_interface_id().map(str::to_owned))
                .collect(),
            owned: cx.owns(tags_of_ec2(n.tags())),
        })
        .filter(|n| n.state != "deleted")
        .collect())
}

async fn dns_hostnames(c: &Clients, vpc: &str) -> Result<bool> {
    let out = c
        .ec2
        .describe_vpc_attribute()
        .vpc_id(vpc)
        .attribute(VpcAttributeName::EnableDnsHostnames)
        .send()
        .await
        .ctx(format!(
            "reading enableDnsHostnames of VPC {vpc} (EC2 DescribeVpcAttribute)"
        ))?;
    Ok(out
        .enable_dns_hostnames()
        .and_then(|v| v.value())
        .unwrap_or(false))
}

async fn find_igws(cx: &Cx, c: &Clients, core: &str) -> Result<Vec<Igw>> {
    let igws = c
        .ec2
        .describe_internet_gateways()
        .filters(filter("tag:Name", &[core]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "looking for the internet gateway named {core} (EC2 DescribeInternetGateways)"
        ))?;
    Ok(igws
        .iter()
        .map(|g| Igw {
            id: g.internet_gateway_id().unwrap_or_default().to_owned(),
            owned: cx.owns(tags_of_ec2(g.tags())),
            attached_to: g
                .attachments()
                .iter()
                .filter(|a| {
                    a.state().is_none_or(|s| {
                        matches!(s.as_str(), "attached" | "attaching" | "available")
                    })
                })
                .filter_map(|a| a.vpc_id().map(str::to_owned))
                .collect(),
        })
        .collect())
}

async fn find_eips(cx: &Cx, c: &Clients, core: &str) -> Result<Vec<Eip>> {
    let name = layout::nat_name(core);
    let out = c
        .ec2
        .describe_addresses()
        .filters(filter("tag:Name", &[&name]))
        .send()
        .await
        .ctx(format!(
            "looking for the Elastic IP named {name} (EC2 DescribeAddresses)"
        ))?;
    Ok(out
        .addresses()
        .iter()
        .map(|a| Eip {
            allocation_id: a.allocation_id().unwrap_or_default().to_owned(),
            association_id: a
                .association_id()
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            public_ip: a.public_ip().unwrap_or_default().to_owned(),
            owned: cx.owns(tags_of_ec2(a.tags())),
        })
        .collect())
}

async fn find_cluster(cx: &Cx, c: &Clients, core: &str) -> Result<Option<Cluster>> {
    let out = c
        .ecs
        .describe_clusters()
        .clusters(core)
        .include(ClusterField::Tags)
        .include(ClusterField::Settings)
        .send()
        .await
        .ctx(format!(
            "looking for the ECS cluster {core} (ECS DescribeClusters)"
        ))?;
    Ok(out
        .clusters()
        .iter()
        .find(|cl| matches!(cl.status(), Some("ACTIVE" | "PROVISIONING")))
        .map(|cl| cluster_found(cx, core, cl)))
}

pub fn cluster_found(cx: &Cx, core: &str, cl: &aws_sdk_ecs::types::Cluster) -> Cluster {
    let tags: Vec<(&str, &str)> = cl
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    let insights = cl
        .settings()
        .iter()
        .find(|s| s.name().map(|n| n.as_str()) == Some("containerInsights"))
        .and_then(|s| s.value())
        .unwrap_or("disabled")
        .to_owned();
    Cluster {
        name: cl.cluster_name().unwrap_or(core).to_owned(),
        arn: cl.cluster_arn().unwrap_or_default().to_owned(),
        owned: cx.owns(tags),
        capacity_providers: cl.capacity_providers().to_vec(),
        has_default_strategy: !cl.default_capacity_provider_strategy().is_empty(),
        insights,
    }
}

async fn find_namespace(cx: &Cx, c: &Clients, core: &str) -> Result<Option<Namespace>> {
    let name = layout::namespace_name(core);
    let namespaces =
        c.sd.list_namespaces()
            .filters(
                NamespaceFilter::builder()
                    .name(NamespaceFilterName::Name)
                    .values(&name)
                    .condition(FilterCondition::Eq)
                    .build()
                    .expect("name and values are set"),
            )
            .filters(
                NamespaceFilter::builder()
                    .name(NamespaceFilterName::Type)
                    .values(NamespaceType::DnsPrivate.as_str())
                    .condition(FilterCondition::Eq)
                    .build()
                    .expect("name and values are set"),
            )
            .into_paginator()
            .send()
            .try_collect()
            .await
            .ctx(format!(
                "looking for the Cloud Map namespace {name} (ListNamespaces)"
            ))?;
    let Some(ns) = namespaces
        .iter()
        .flat_map(|page| page.namespaces())
        .find(|n| {
            n.name() == Some(name.as_str()) && n.r#type() == Some(&NamespaceType::DnsPrivate)
        })
    else {
        return Ok(None);
    };
    let arn = ns.arn().unwrap_or_default().to_owned();
    let tags =
        c.sd.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .ctx(format!(
                "reading the tags of the namespace {name} (ListTagsForResource)"
            ))?;
    Ok(Some(Namespace {
        id: ns.id().unwrap_or_default().to_owned(),
        arn,
        name,
        owned: cx.owns(tags.tags().iter().map(|t| (t.key(), t.value()))),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(id: &str, subnets: usize) -> Network {
        Network {
            vpc: Vpc {
                id: id.into(),
                cidr: "10.0.0.0/16".into(),
                owned: true,
            },
            subnets: (0..subnets)
                .map(|k| SubnetFound {
                    id: format!("subnet-{id}-{k}"),
                    vpc_id: id.into(),
                    cidr: format!("10.0.{k}.0/24"),
                    az: "us-west-2a".into(),
                    name: format!("core-infra-public-{k}"),
                    tier: Some(Tier::Public),
                    owned: true,
                })
                .collect(),
            route_tables: Vec::new(),
            nats: Vec::new(),
        }
    }

    #[test]
    fn the_vpc_kept_among_duplicates_is_the_documents_else_the_most_complete() {
        let nets = [net("vpc-a", 0), net("vpc-b", 6), net("vpc-c", 2)];
        assert_eq!(keep_index(&nets, Some("vpc-c")), 2);
        assert_eq!(keep_index(&nets, None), 1);
        assert_eq!(keep_index(&nets, Some("vpc-gone")), 1);
        // Equally complete: the lowest id, whichever run asks.
        let tie = [net("vpc-b", 0), net("vpc-a", 0)];
        assert_eq!(keep_index(&tie, None), 1);
    }
}
