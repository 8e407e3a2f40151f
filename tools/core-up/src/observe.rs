//! What exists now: read-only calls, concurrent, one describe per resource kind.
//!
//! Two rounds. The first needs nothing but the core name: the region's zones, the VPC by its
//! Name tag, the internet gateway and the NAT's Elastic IP by theirs (either may exist
//! without an attachment after an interrupted run), the ECS cluster, the namespace. The
//! second needs the VPC id: its subnets, route tables and NAT gateways (each one call
//! filtered by VPC), its DNS-hostnames attribute, and the namespace's tags.

use aws_sdk_ec2::types::{Filter, VpcAttributeName};
use aws_sdk_ecs::types::ClusterField;
use aws_sdk_servicediscovery::types::{
    FilterCondition, NamespaceFilter, NamespaceFilterName, NamespaceType,
};
use kit::{AwsContext, Cx, Error, Result};

use crate::layout::{self, Tier};
use crate::settings::Settings;

/// The clients of the three services core-up talks to.
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

#[derive(Debug, Clone)]
pub struct Vpc {
    pub id: String,
    pub cidr: String,
    pub owned: bool,
}

#[derive(Debug, Clone)]
pub struct SubnetFound {
    pub id: String,
    pub cidr: String,
    pub az: String,
    pub name: String,
    /// From the Name tag: `<core>-public-*` or `<core>-private-*`; None for other subnets of
    /// the VPC.
    pub tier: Option<Tier>,
    pub owned: bool,
}

#[derive(Debug, Clone)]
pub struct Igw {
    pub id: String,
    pub owned: bool,
    /// The VPCs it is attached (or attaching) to.
    pub attached_to: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Eip {
    pub allocation_id: String,
    pub association_id: Option<String>,
    pub public_ip: String,
    pub owned: bool,
}

#[derive(Debug, Clone)]
pub struct Nat {
    pub id: String,
    pub name: String,
    /// pending, available, deleting, failed (deleted ones are not kept).
    pub state: String,
    pub subnet_id: String,
    pub allocation_ids: Vec<String>,
    pub owned: bool,
}

#[derive(Debug, Clone)]
pub struct Route {
    pub destination: String,
    /// The gateway (igw-…, local), NAT gateway or other target.
    pub target: String,
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct Association {
    pub id: String,
    pub subnet_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone)]
pub struct RouteTable {
    pub id: String,
    pub name: String,
    pub owned: bool,
    pub routes: Vec<Route>,
    pub associations: Vec<Association>,
}

impl RouteTable {
    pub fn default_route(&self) -> Option<&Route> {
        self.routes.iter().find(|r| r.destination == "0.0.0.0/0")
    }
}

#[derive(Debug, Clone)]
pub struct Cluster {
    pub name: String,
    pub arn: String,
    pub owned: bool,
    pub capacity_providers: Vec<String>,
    pub has_default_strategy: bool,
    /// containerInsights: enabled, enhanced or disabled.
    pub insights: String,
}

#[derive(Debug, Clone)]
pub struct Namespace {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub owned: bool,
}

#[derive(Debug)]
pub struct Observed {
    pub settings: Settings,
    /// The region's available zones, by name.
    pub zones: Vec<String>,
    pub vpc: Option<Vpc>,
    /// The subnets of the VPC.
    pub subnets: Vec<SubnetFound>,
    /// Gateways named after the core (attached anywhere, or not at all).
    pub igws: Vec<Igw>,
    /// Elastic IPs named `<core>-nat`.
    pub eips: Vec<Eip>,
    /// NAT gateways of the VPC that are not deleted.
    pub nats: Vec<Nat>,
    /// Route tables of the VPC.
    pub route_tables: Vec<RouteTable>,
    /// The VPC's enableDnsHostnames (read for core-up's own VPC only).
    pub dns_hostnames: Option<bool>,
    pub cluster: Option<Cluster>,
    pub namespace: Option<Namespace>,
}

impl Observed {
    /// Whether the VPC is someone else's: then core-up reuses the network and manages none of
    /// its routing.
    pub fn foreign_vpc(&self) -> bool {
        self.vpc.as_ref().is_some_and(|v| !v.owned)
    }
    pub fn subnets_of(&self, tier: Tier) -> impl Iterator<Item = &SubnetFound> {
        self.subnets.iter().filter(move |s| s.tier == Some(tier))
    }
    pub fn route_table(&self, tier: Tier) -> Option<&RouteTable> {
        let name = layout::route_table_name(&self.settings.core, tier);
        // Ours first: a table of that name someone else made is still usable.
        let named = || self.route_tables.iter().filter(|t| t.name == name);
        named().find(|t| t.owned).or_else(|| named().next())
    }
    /// The gateway to use: one attached to the VPC, else one of ours that is not attached
    /// anywhere (an interrupted run created it but did not attach it).
    pub fn igw(&self) -> Option<&Igw> {
        let attached = self
            .vpc
            .as_ref()
            .and_then(|vpc| self.igws.iter().find(|g| g.attached_to.contains(&vpc.id)));
        attached.or_else(|| {
            self.igws
                .iter()
                .find(|g| g.owned && g.attached_to.is_empty())
        })
    }
    /// The NAT gateway that serves the private route table: ours, pending or available.
    pub fn nat(&self) -> Option<&Nat> {
        let name = layout::nat_name(&self.settings.core);
        self.nats
            .iter()
            .filter(|n| n.name == name && matches!(n.state.as_str(), "pending" | "available"))
            .min_by_key(|n| (!n.owned, n.state != "available"))
    }
    /// The Elastic IP for a new NAT gateway: ours and free.
    pub fn free_eip(&self) -> Option<&Eip> {
        self.eips
            .iter()
            .find(|e| e.owned && e.association_id.is_none())
    }
}

pub fn tags_of_ec2(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<(&str, &str)> {
    tags.iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect()
}

fn name_of(tags: &[aws_sdk_ec2::types::Tag]) -> String {
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
    let network = async {
        let vpc = find_vpc(cx, c, &core).await?;
        let Some(vpc) = vpc else {
            return Ok((None, Vec::new(), Vec::new(), Vec::new(), None));
        };
        let subnets = find_subnets(cx, c, &core, &vpc.id);
        if !vpc.owned {
            // Someone else's network: only its subnets matter.
            return Ok((
                Some(vpc.clone()),
                subnets.await?,
                Vec::new(),
                Vec::new(),
                None,
            ));
        }
        let (subnets, tables, nats, dns) = futures::try_join!(
            subnets,
            find_route_tables(cx, c, &vpc.id),
            find_nats(cx, c, &vpc.id),
            dns_hostnames(c, &vpc.id),
        )?;
        Ok::<_, Error>((Some(vpc), subnets, tables, nats, Some(dns)))
    };
    let (zones, (vpc, subnets, route_tables, nats, dns_hostnames), igws, eips, cluster, namespace) =
        futures::try_join!(
            zones(c),
            network,
            find_igws(cx, c, &core),
            find_eips(cx, c, &core),
            find_cluster(cx, c, &core),
            find_namespace(cx, c, &core),
        )?;
    Ok(Observed {
        settings,
        zones,
        vpc,
        subnets,
        igws,
        eips,
        nats,
        route_tables,
        dns_hostnames,
        cluster,
        namespace,
    })
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

/// The VPC named after the core: ours if there is one, else someone else's. Two of a kind
/// is ambiguous and refused.
async fn find_vpc(cx: &Cx, c: &Clients, core: &str) -> Result<Option<Vpc>> {
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
    let found: Vec<Vpc> = vpcs
        .iter()
        .map(|v| Vpc {
            id: v.vpc_id().unwrap_or_default().to_owned(),
            cidr: v.cidr_block().unwrap_or_default().to_owned(),
            owned: cx.owns(tags_of_ec2(v.tags())),
        })
        .collect();
    let owned: Vec<&Vpc> = found.iter().filter(|v| v.owned).collect();
    let pick = if owned.is_empty() {
        found.iter().collect::<Vec<_>>()
    } else {
        owned
    };
    match pick.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some((*one).clone())),
        many => {
            let ids: Vec<&str> = many.iter().map(|v| v.id.as_str()).collect();
            Err(Error::usage(format!(
                "{} VPCs are named {core} ({}), so core-up cannot tell which is the core-infra; delete or rename the extra ones, or pass --core-name for a separate core-infra",
                ids.len(),
                ids.join(", ")
            )))
        }
    }
}

async fn find_subnets(cx: &Cx, c: &Clients, core: &str, vpc: &str) -> Result<Vec<SubnetFound>> {
    let subnets = c
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &[vpc]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "listing the subnets of VPC {vpc} (EC2 DescribeSubnets)"
        ))?;
    Ok(subnets
        .iter()
        .map(|s| {
            let name = name_of(s.tags());
            let tier = Tier::BOTH
                .into_iter()
                .find(|t| name.starts_with(&layout::subnet_prefix(core, *t)));
            SubnetFound {
                id: s.subnet_id().unwrap_or_default().to_owned(),
                cidr: s.cidr_block().unwrap_or_default().to_owned(),
                az: s.availability_zone().unwrap_or_default().to_owned(),
                name,
                tier,
                owned: cx.owns(tags_of_ec2(s.tags())),
            }
        })
        .collect())
}

async fn find_route_tables(cx: &Cx, c: &Clients, vpc: &str) -> Result<Vec<RouteTable>> {
    let tables = c
        .ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &[vpc]))
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .ctx(format!(
            "listing the route tables of VPC {vpc} (EC2 DescribeRouteTables)"
        ))?;
    Ok(tables
        .iter()
        .map(|t| RouteTable {
            id: t.route_table_id().unwrap_or_default().to_owned(),
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
        })
        .collect())
}

async fn find_nats(cx: &Cx, c: &Clients, vpc: &str) -> Result<Vec<Nat>> {
    let nats = c
        .ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", &[vpc]))
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
            "listing the NAT gateways of VPC {vpc} (EC2 DescribeNatGateways)"
        ))?;
    Ok(nats
        .iter()
        .map(|n| Nat {
            id: n.nat_gateway_id().unwrap_or_default().to_owned(),
            name: name_of(n.tags()),
            state: n.state().map(|s| s.as_str().to_owned()).unwrap_or_default(),
            subnet_id: n.subnet_id().unwrap_or_default().to_owned(),
            allocation_ids: n
                .nat_gateway_addresses()
                .iter()
                .filter_map(|a| a.allocation_id().map(str::to_owned))
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
    let Some(cl) = out
        .clusters()
        .iter()
        .find(|cl| matches!(cl.status(), Some("ACTIVE" | "PROVISIONING")))
    else {
        return Ok(None);
    };
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
    Ok(Some(Cluster {
        name: cl.cluster_name().unwrap_or(core).to_owned(),
        arn: cl.cluster_arn().unwrap_or_default().to_owned(),
        owned: cx.owns(tags),
        capacity_providers: cl.capacity_providers().to_vec(),
        has_default_strategy: !cl.default_capacity_provider_strategy().is_empty(),
        insights,
    }))
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
