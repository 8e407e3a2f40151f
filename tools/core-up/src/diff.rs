//! What should exist against what does: the plan, the planned section and the settings to
//! record. Pure: no AWS call, so every rule here is unit-tested on plain data.
//!
//! The rules a user relies on:
//! - a rerun on what core-up made plans nothing but "unchanged";
//! - each missing piece is a create; drift in core-up's own pieces is an update (DNS
//!   hostnames, a default route's target, a subnet's route table, the cluster's capacity
//!   providers and Container Insights);
//! - someone else's core-infra (found by its Name tags) is reused as it is;
//! - duplicates core-up made (a create whose answer was lost, then sent again) are deleted,
//!   keeping one; spare gateways and addresses of its own are reclaimed.

use kit::{Error, Plan, Result, field};
use serde_json::{Map, Value};
use stackdoc::{Core, PLANNED, Subnet};

use crate::layout::{self, Tier};
use crate::observe::{Observed, SubnetFound};
use crate::settings;
use crate::{CAPACITY_PROVIDERS, Op};

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

/// The zones a new layout uses: `--azs` of the region's available zones. More than the region
/// has is bad input when asked for; a default is trimmed to what the region has.
fn zones(now: &Observed) -> Result<Vec<String>> {
    let s = &now.settings;
    let n = s.azs as usize;
    if n > now.zones.len() && (s.azs_given || now.zones.len() < layout::MIN_AZS as usize) {
        return Err(Error::usage(format!(
            "--azs {}: the region has only {} available availability zone(s) ({}); use --azs {} or fewer (at least {})",
            s.azs,
            now.zones.len(),
            now.zones.join(", "),
            now.zones.len(),
            layout::MIN_AZS
        )));
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
                    "--cidr {} differs from the CIDR {} of the existing VPC {} ({}); a VPC's CIDR cannot change: drop --cidr (or --reset cidr), or destroy the core-infra first",
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

pub fn diff(now: &Observed) -> Result<Plan<Op>> {
    let s = &now.settings;
    let core = &s.core;
    let mut plan = Plan::new();

    if !now.ambiguous.is_empty() {
        return Err(Error::usage(format!(
            "{} VPCs are named {core} ({}) and none was created by core-up for this app, so core-up cannot tell which is the core-infra; rename the extra ones, or pass --core-name for a separate core-infra",
            now.ambiguous.len(),
            now.ambiguous.join(", ")
        )));
    }
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
    diff_duplicates(now, &mut plan);
    diff_cluster(now, &mut plan);

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

fn diff_cluster(now: &Observed, plan: &mut Plan<Op>) {
    let core = &now.settings.core;
    let Some(cl) = &now.cluster else {
        plan.create(
            format!("ECS cluster {core} (FARGATE, FARGATE_SPOT, Container Insights)"),
            Op::CreateCluster,
        );
        return;
    };
    let lacking: Vec<&str> = CAPACITY_PROVIDERS
        .into_iter()
        .filter(|p| !cl.capacity_providers.iter().any(|c| c == p))
        .collect();
    if !cl.owned {
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
        return;
    }
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

/// Duplicates and spares of core-up's own: deleted, keeping the one in use.
fn diff_duplicates(now: &Observed, plan: &mut Plan<Op>) {
    let core = &now.settings.core;
    let kept = now.vpc.as_ref().map(|v| v.id.as_str()).unwrap_or_default();
    for net in &now.extra_vpcs {
        let mut inside = Vec::new();
        let subnets = net.subnets.iter().filter(|s| s.owned).count();
        if subnets > 0 {
            inside.push(format!("{subnets} subnet(s)"));
        }
        let nats = net.nats.iter().filter(|n| n.owned && n.live()).count();
        if nats > 0 {
            inside.push(format!("{nats} NAT gateway(s)"));
        }
        plan.delete(
            format!(
                "duplicate VPC {core} {} (keeping {kept}){}",
                net.vpc.id,
                if inside.is_empty() {
                    String::new()
                } else {
                    format!(", with its {}", inside.join(" and "))
                }
            ),
            Op::DeleteExtraVpc(net.vpc.id.clone()),
        );
    }
    for g in now.spare_igws() {
        plan.delete(
            format!("spare internet gateway {core} {} (attached nowhere)", g.id),
            Op::DeleteSpareIgw(g.id.clone()),
        );
    }
    let nat_name = layout::nat_name(core);
    for n in now.extra_nats() {
        plan.delete(
            format!(
                "duplicate NAT gateway {nat_name} {} (keeping {}) and its Elastic IP",
                n.id,
                now.nat().map(|k| k.id.as_str()).unwrap_or_default()
            ),
            Op::DeleteExtraNat(n.id.clone()),
        );
    }
    for e in now.spare_eips() {
        plan.delete(
            format!(
                "spare Elastic IP {nat_name} {} ({}, associated with nothing)",
                e.allocation_id, e.public_ip
            ),
            Op::ReleaseSpareEip(e.allocation_id.clone()),
        );
    }
    for tier in Tier::BOTH {
        for t in now.extra_tables(tier) {
            plan.delete(
                format!(
                    "duplicate route table {} {} (keeping {})",
                    t.name,
                    t.id,
                    now.route_table(tier)
                        .map(|k| k.id.as_str())
                        .unwrap_or_default()
                ),
                Op::DeleteExtraTable(t.id.clone()),
            );
        }
    }
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
        let (target_kind, target, pending) = match tier {
            Tier::Public => ("internet gateway", igw.map(|g| g.id.clone()), false),
            Tier::Private => (
                "NAT gateway",
                now.nat().map(|n| n.id.clone()),
                now.nat().is_some_and(|n| n.state == "pending"),
            ),
        };
        let route = format!("route 0.0.0.0/0 → {target_kind} in {rt_name}");
        match (table.and_then(|t| t.default_route()), &target) {
            (None, _) => plan.create(route, Op::CreateRoute(tier)),
            // A route to a gateway still pending may show as a blackhole until it is up.
            (Some(r), Some(t)) if &r.target == t && (r.state != "blackhole" || pending) => {
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
pub fn created(now: &Observed) -> bool {
    now.vpc.as_ref().is_none_or(|v| v.owned)
        || now.cluster.as_ref().is_none_or(|c| c.owned)
        || now.namespace.as_ref().is_none_or(|n| n.owned)
}

/// What the section will hold: real identifiers where things exist, PLANNED elsewhere.
pub fn planned(now: &Observed) -> Result<Core> {
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

/// The network part of the section: VPC id (None until created) and CIDR, public and
/// private subnets.
pub type NetworkSection = (Option<String>, String, Vec<Subnet>, Vec<Subnet>);

/// The network part of the section. Subnets that do not exist yet take their id from
/// `new_id`.
pub fn network_section(
    now: &Observed,
    new_id: impl Fn(&WantSubnet) -> String,
) -> Result<NetworkSection> {
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

/// The settings `core.settings` records: those in effect (see [`settings::recorded`]).
pub fn recorded(now: &Observed, parsed: &Map<String, Value>) -> Map<String, Value> {
    let network = if now.foreign_vpc() {
        None
    } else {
        let cidr = now
            .vpc
            .as_ref()
            .map_or_else(|| now.settings.cidr.to_string(), |v| v.cidr.clone());
        let azs = zones(now).map_or(now.settings.azs, |z| z.len() as u32);
        Some((cidr, azs))
    };
    settings::recorded(parsed, &now.settings.core, network)
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
