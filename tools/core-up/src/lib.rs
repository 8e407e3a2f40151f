//! core-up: the "core-infra" the rest of the stack runs in — a VPC over N availability zones
//! (public and private subnets, internet gateway, one NAT gateway, route tables), an ECS
//! cluster with the FARGATE and FARGATE_SPOT capacity providers, and the Cloud Map private
//! DNS namespace `default.<core-name>.local`.
//!
//! An existing core-infra (found by its Name tags, the cluster name and the namespace name)
//! is reused as it is; what is missing is created, tagged as core-up's, and a rerun after an
//! interrupted run finds each piece before creating it. `--destroy` deletes only what
//! carries core-up's tags, in reverse order.

mod apply;
mod destroy;
pub mod layout;
mod observe;
mod settings;

use kit::{Cx, Error, Plan, Result, Step, field};
use stackdoc::{Core, Doc, PLANNED, Subnet};

use crate::layout::Tier;
use crate::observe::{Clients, Observed, SubnetFound};
use crate::settings::Settings;

pub struct CoreUp;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the core-infra: the VPC's and the cluster's name, the prefix of the subnets'
    /// names, and the namespace default.NAME.local [default: the document's, else core-infra]
    #[arg(long, value_name = "NAME", help_heading = kit::SETTINGS)]
    pub core_name: Option<String>,
    /// CIDR block of a new VPC, /16 to /20; public subnets are cidrsubnet(CIDR, 8, k), private
    /// ones cidrsubnet(CIDR, 8, k+10) [default: the document's, else 10.0.0.0/16]
    #[arg(long, value_name = "CIDR", help_heading = kit::SETTINGS)]
    pub cidr: Option<String>,
    /// Number of availability zones (the region's first N available ones), 1 to 10
    /// [default: as many as the document lists, else 3]
    #[arg(long, value_name = "N", help_heading = kit::SETTINGS)]
    pub azs: Option<u32>,
}

/// The capacity providers the cluster carries.
pub const CAPACITY_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

/// One subnet the core-infra should have: where, and whether it exists.
#[derive(Debug, Clone)]
pub struct WantSubnet {
    pub tier: Tier,
    pub k: u32,
    pub cidr: String,
    pub az: String,
    pub name: String,
    pub found: Option<SubnetFound>,
}

#[derive(Debug, Clone)]
pub enum Op {
    Keep,
    CreateVpc,
    EnableDnsHostnames,
    CreateSubnet(Tier, u32),
    CreateIgw,
    AttachIgw,
    AllocateEip,
    CreateNat,
    CreateRouteTable(Tier),
    CreateRoute(Tier),
    ReplaceRoute(Tier),
    Associate(Tier, u32),
    ReplaceAssociation(Tier, u32, String),
    CreateCluster,
    PutCapacityProviders(Vec<String>),
    EnableInsights,
    CreateNamespace,
}

impl Step for CoreUp {
    const TOOL: &'static str = "core-up";
    const ABOUT: &'static str = "Create (or discover and reuse) the core-infra: VPC, subnets, NAT gateway, ECS cluster and Cloud Map namespace";
    type Args = Args;
    type Section = Core;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, doc: &Doc) -> Result<()> {
        Settings::resolve(args, doc).map(|_| ())
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        let settings = Settings::resolve(args, &cx.doc)?;
        observe::observe(cx, &Clients::new(cx), settings).await
    }

    fn diff(_cx: &Cx, _args: &Args, now: &Observed) -> Result<Plan<Op>> {
        diff(now)
    }

    fn planned(_cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Core> {
        planned(now)
    }

    async fn apply(cx: &Cx, _args: &Args, now: Observed, plan: Plan<Op>) -> Result<Core> {
        apply::apply(cx, &Clients::new(cx), now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        let settings = Settings::resolve(args, &cx.doc)?;
        let c = Clients::new(cx);
        let now = observe::observe(cx, &c, settings).await?;
        destroy::destroy(cx, &c, now).await
    }
}

/// The zones a new layout uses: `--azs` of the region's available zones. More than the region
/// has is bad input when asked for; a default is trimmed to what the region has.
fn zones(now: &Observed) -> Result<Vec<String>> {
    let s = &now.settings;
    let n = s.azs as usize;
    if n > now.zones.len() {
        if s.azs_given {
            return Err(Error::usage(format!(
                "--azs {}: the region has only {} available availability zone(s) ({}); use --azs {} or fewer",
                s.azs,
                now.zones.len(),
                now.zones.join(", "),
                now.zones.len()
            )));
        }
        if now.zones.is_empty() {
            return Err(Error::aws(
                "the region reports no available availability zones (EC2 DescribeAvailabilityZones)",
            ));
        }
    }
    Ok(now.zones.iter().take(n).cloned().collect())
}

/// The subnets of core-up's own layout (public 0..N, then private 0..N), each matched by CIDR
/// against the VPC's subnets.
pub fn want_subnets(now: &Observed) -> Result<Vec<WantSubnet>> {
    let s = &now.settings;
    let cidr = match &now.vpc {
        // An existing VPC keeps its CIDR: the layout follows it.
        Some(vpc) => {
            let actual = layout::parse_cidr(&vpc.cidr).map_err(|_| {
                Error::usage(format!(
                    "VPC {} ({}) has the CIDR {}, which core-up's layout cannot use; pass --core-name for a separate core-infra",
                    vpc.id, s.core, vpc.cidr
                ))
            })?;
            if s.cidr_given && actual != s.cidr {
                return Err(Error::usage(format!(
                    "--cidr {} differs from the CIDR {} of the existing VPC {} ({}); a VPC's CIDR cannot change: drop --cidr, or destroy the core-infra first",
                    s.cidr, vpc.cidr, vpc.id, s.core
                )));
            }
            actual
        }
        None => s.cidr,
    };
    let zones = zones(now)?;
    let mut want = Vec::new();
    for tier in Tier::BOTH {
        for (k, az) in zones.iter().enumerate() {
            let k = k as u32;
            let block = layout::subnet_cidr(cidr, tier, k).to_string();
            let found = now.subnets.iter().find(|f| f.cidr == block).cloned();
            want.push(WantSubnet {
                tier,
                k,
                name: layout::subnet_name(&s.core, tier, az),
                az: found.as_ref().map_or_else(|| az.clone(), |f| f.az.clone()),
                cidr: block,
                found,
            });
        }
    }
    Ok(want)
}

/// Someone else's VPC: its subnets named `<core>-public-*` / `<core>-private-*`, in zone
/// order.
fn foreign_subnets(now: &Observed, tier: Tier) -> Vec<&SubnetFound> {
    let mut subnets: Vec<&SubnetFound> = now.subnets_of(tier).collect();
    let zone_rank = |az: &str| now.zones.iter().position(|z| z == az).unwrap_or(usize::MAX);
    subnets.sort_by(|a, b| {
        (zone_rank(&a.az), &a.name, &a.cidr).cmp(&(zone_rank(&b.az), &b.name, &b.cidr))
    });
    subnets
}

fn diff(now: &Observed) -> Result<Plan<Op>> {
    let s = &now.settings;
    let core = &s.core;
    let mut plan = Plan::new();

    if let Some(vpc) = now.vpc.as_ref().filter(|v| !v.owned) {
        // Someone else's core-infra: reused as it is, routing included.
        let missing: Vec<&str> = Tier::BOTH
            .into_iter()
            .filter(|t| now.subnets_of(*t).next().is_none())
            .map(Tier::word)
            .collect();
        if !missing.is_empty() {
            return Err(Error::usage(format!(
                "VPC {} named {core} was not created by core-up for this app, and it has no {} subnets (Name tags {core}-public-* and {core}-private-*); tag its subnets so, or pass --core-name for a separate core-infra",
                vpc.id,
                missing.join(" or ")
            )));
        }
        if s.cidr_given && s.cidr.to_string() != vpc.cidr {
            kit::warn!(
                "--cidr {} is ignored: the existing VPC {} ({core}) has {} and is reused as it is",
                s.cidr,
                vpc.id,
                vpc.cidr
            );
        }
        plan.unchanged(
            format!(
                "VPC {core} {} (not created by core-up: reused as it is)",
                vpc.id
            ),
            Op::Keep,
        );
        for tier in Tier::BOTH {
            for sn in foreign_subnets(now, tier) {
                plan.unchanged(format!("subnet {} {}", sn.name, sn.id), Op::Keep);
            }
        }
    } else {
        diff_network(now, &mut plan)?;
    }

    // The cluster.
    match &now.cluster {
        None => plan.create(
            format!("ECS cluster {core} (FARGATE, FARGATE_SPOT, Container Insights)"),
            Op::CreateCluster,
        ),
        Some(cl) if !cl.owned => {
            let lacking: Vec<&str> = CAPACITY_PROVIDERS
                .into_iter()
                .filter(|p| !cl.capacity_providers.iter().any(|c| c == p))
                .collect();
            if !lacking.is_empty() {
                kit::warn!(
                    "the ECS cluster {core} was not created by core-up and lacks the capacity provider(s) {}: left as it is",
                    lacking.join(", ")
                );
            }
            plan.unchanged(
                format!("ECS cluster {core} (not created by core-up: reused as it is)"),
                Op::Keep,
            );
        }
        Some(cl) => {
            let lacking: Vec<&str> = CAPACITY_PROVIDERS
                .into_iter()
                .filter(|p| !cl.capacity_providers.iter().any(|c| c == p))
                .collect();
            if !lacking.is_empty() {
                let mut providers = cl.capacity_providers.clone();
                providers.extend(lacking.iter().map(|p| (*p).to_owned()));
                plan.update(
                    format!("ECS cluster {core} capacity providers"),
                    vec![field(
                        "capacity_providers",
                        format!("[{}]", cl.capacity_providers.join(", ")),
                        format!("[{}]", providers.join(", ")),
                    )],
                    Op::PutCapacityProviders(providers),
                );
            }
            if cl.insights == "disabled" {
                plan.update(
                    format!("ECS cluster {core} settings"),
                    vec![field("containerInsights", "disabled", "enabled")],
                    Op::EnableInsights,
                );
            }
            if lacking.is_empty() && cl.insights != "disabled" {
                plan.unchanged(format!("ECS cluster {core}"), Op::Keep);
            }
        }
    }

    // The namespace.
    let ns = layout::namespace_name(core);
    match &now.namespace {
        None => plan.create(format!("Cloud Map namespace {ns}"), Op::CreateNamespace),
        Some(n) if !n.owned => plan.unchanged(
            format!(
                "Cloud Map namespace {ns} {} (not created by core-up: reused as it is)",
                n.id
            ),
            Op::Keep,
        ),
        Some(n) => plan.unchanged(format!("Cloud Map namespace {ns} {}", n.id), Op::Keep),
    }
    Ok(plan)
}

/// core-up's own network (or none yet): every piece, found or to create.
fn diff_network(now: &Observed, plan: &mut Plan<Op>) -> Result<()> {
    let s = &now.settings;
    let core = &s.core;
    let want = want_subnets(now)?;

    match &now.vpc {
        None => plan.create(format!("VPC {core} ({})", s.cidr), Op::CreateVpc),
        Some(vpc) => {
            plan.unchanged(format!("VPC {core} {} ({})", vpc.id, vpc.cidr), Op::Keep);
            if now.dns_hostnames == Some(false) {
                plan.update(
                    format!("VPC {core} {} DNS hostnames", vpc.id),
                    vec![field("enableDnsHostnames", false, true)],
                    Op::EnableDnsHostnames,
                );
            }
        }
    }
    for w in &want {
        match &w.found {
            Some(f) => plan.unchanged(format!("subnet {} {} ({})", w.name, f.id, w.cidr), Op::Keep),
            None => plan.create(
                format!("subnet {} ({}, {})", w.name, w.cidr, w.az),
                Op::CreateSubnet(w.tier, w.k),
            ),
        }
    }
    let extra: Vec<&str> = now
        .subnets
        .iter()
        .filter(|f| f.owned && f.tier.is_some() && !want.iter().any(|w| w.cidr == f.cidr))
        .map(|f| f.id.as_str())
        .collect();
    if !extra.is_empty() {
        kit::warn!(
            "subnet(s) {} of the core-infra are beyond --azs {}: left in place (--destroy removes them)",
            extra.join(", "),
            s.azs
        );
    }

    // Internet gateway, attached.
    let igw = now.igw();
    let igw_attached = match (igw, &now.vpc) {
        (Some(g), Some(v)) => g.attached_to.contains(&v.id),
        _ => false,
    };
    match igw {
        None => plan.create(format!("internet gateway {core}"), Op::CreateIgw),
        Some(g) => plan.unchanged(format!("internet gateway {core} {}", g.id), Op::Keep),
    }
    if !igw_attached {
        plan.create(
            format!("internet gateway {core} attachment to the VPC"),
            Op::AttachIgw,
        );
    }

    // One NAT gateway with its Elastic IP, in the first public subnet.
    let nat_name = layout::nat_name(core);
    match now.nat() {
        Some(n) => plan.unchanged(
            format!("NAT gateway {nat_name} {} ({})", n.id, n.state),
            Op::Keep,
        ),
        None => {
            match now.free_eip() {
                Some(e) => plan.unchanged(
                    format!(
                        "Elastic IP {nat_name} {} ({})",
                        e.allocation_id, e.public_ip
                    ),
                    Op::Keep,
                ),
                None => plan.create(format!("Elastic IP {nat_name}"), Op::AllocateEip),
            }
            plan.create(
                format!("NAT gateway {nat_name} (in {})", want[0].name),
                Op::CreateNat,
            );
        }
    }

    // Route tables, default routes, associations.
    for tier in Tier::BOTH {
        let rt_name = layout::route_table_name(core, tier);
        let table = now.route_table(tier);
        match table {
            Some(t) => plan.unchanged(format!("route table {rt_name} {}", t.id), Op::Keep),
            None => plan.create(format!("route table {rt_name}"), Op::CreateRouteTable(tier)),
        }
        let (target_kind, target) = match tier {
            Tier::Public => ("internet gateway", igw.map(|g| g.id.clone())),
            Tier::Private => ("NAT gateway", now.nat().map(|n| n.id.clone())),
        };
        let route = format!("route 0.0.0.0/0 → {target_kind} in {rt_name}");
        match (table.and_then(|t| t.default_route()), &target) {
            (None, _) => plan.create(route, Op::CreateRoute(tier)),
            (Some(r), Some(t)) if &r.target == t && r.state != "blackhole" => {
                plan.unchanged(route, Op::Keep)
            }
            (Some(r), _) => plan.update(
                route,
                vec![field(
                    "target",
                    format!("{} ({})", r.target, r.state),
                    target
                        .clone()
                        .unwrap_or_else(|| format!("a new {target_kind}")),
                )],
                Op::ReplaceRoute(tier),
            ),
        }
        for w in want.iter().filter(|w| w.tier == tier) {
            let assoc = format!("association {} ↔ {rt_name}", w.name);
            let Some(subnet) = &w.found else {
                plan.create(assoc, Op::Associate(tier, w.k));
                continue;
            };
            let current = now.route_tables.iter().find_map(|t| {
                t.associations
                    .iter()
                    .find(|a| a.subnet_id.as_deref() == Some(subnet.id.as_str()))
                    .map(|a| (t, a))
            });
            match current {
                Some((t, _)) if table.is_some_and(|ours| ours.id == t.id) => {
                    plan.unchanged(assoc, Op::Keep)
                }
                Some((t, a)) => plan.update(
                    assoc,
                    vec![field("route_table", &t.id, &rt_name)],
                    Op::ReplaceAssociation(tier, w.k, a.id.clone()),
                ),
                None => plan.create(assoc, Op::Associate(tier, w.k)),
            }
        }
    }
    Ok(())
}

/// Whether anything of the core-infra is (or, once applied, will be) core-up's: false only
/// when every piece was found and none carries core-up's tags.
pub(crate) fn created(now: &Observed) -> bool {
    now.vpc.as_ref().is_none_or(|v| v.owned)
        || now.cluster.as_ref().is_none_or(|c| c.owned)
        || now.namespace.as_ref().is_none_or(|n| n.owned)
}

/// What the section will hold: real identifiers where things exist, PLANNED elsewhere.
fn planned(now: &Observed) -> Result<Core> {
    let s = &now.settings;
    let (vpc_id, vpc_cidr, public, private) = network_section(now, |_| PLANNED.to_owned())?;
    Ok(Core {
        name: s.core.clone(),
        created: created(now),
        vpc_id: vpc_id.unwrap_or_else(|| PLANNED.to_owned()),
        vpc_cidr,
        public_subnets: public,
        private_subnets: private,
        cluster_name: s.core.clone(),
        cluster_arn: now
            .cluster
            .as_ref()
            .map_or_else(|| PLANNED.to_owned(), |c| c.arn.clone()),
        namespace_id: now
            .namespace
            .as_ref()
            .map_or_else(|| PLANNED.to_owned(), |n| n.id.clone()),
        namespace_name: layout::namespace_name(&s.core),
        namespace_arn: now
            .namespace
            .as_ref()
            .map_or_else(|| PLANNED.to_owned(), |n| n.arn.clone()),
    })
}

/// The network part of the section: VPC id and CIDR, public and private subnets. Subnets
/// that do not exist yet take their id from `new_id`.
#[allow(clippy::type_complexity)]
fn network_section(
    now: &Observed,
    new_id: impl Fn(&WantSubnet) -> String,
) -> Result<(Option<String>, String, Vec<Subnet>, Vec<Subnet>)> {
    if let Some(vpc) = now.vpc.as_ref().filter(|v| !v.owned) {
        let list = |tier| {
            foreign_subnets(now, tier)
                .into_iter()
                .map(|f| Subnet {
                    id: f.id.clone(),
                    cidr: f.cidr.clone(),
                    az: f.az.clone(),
                })
                .collect()
        };
        return Ok((
            Some(vpc.id.clone()),
            vpc.cidr.clone(),
            list(Tier::Public),
            list(Tier::Private),
        ));
    }
    let want = want_subnets(now)?;
    let list = |tier: Tier| {
        want.iter()
            .filter(|w| w.tier == tier)
            .map(|w| Subnet {
                id: w.found.as_ref().map_or_else(|| new_id(w), |f| f.id.clone()),
                cidr: w.cidr.clone(),
                az: w.az.clone(),
            })
            .collect()
    };
    Ok((
        now.vpc.as_ref().map(|v| v.id.clone()),
        now.vpc
            .as_ref()
            .map_or_else(|| now.settings.cidr.to_string(), |v| v.cidr.clone()),
        list(Tier::Public),
        list(Tier::Private),
    ))
}
