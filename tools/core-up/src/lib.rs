//! core-up: the "core-infra" the rest of the stack runs in — a VPC over N availability zones
//! (public and private subnets, internet gateway, one NAT gateway, route tables), an ECS
//! cluster with the FARGATE and FARGATE_SPOT capacity providers, and the Cloud Map private
//! DNS namespace `default.<core-name>.local`.
//!
//! An existing core-infra (found by its Name tags, the cluster name and the namespace name)
//! is reused as it is; what is missing is created, tagged as core-up's at creation, and a
//! rerun after an interrupted run finds each piece before creating it. Duplicates of its own
//! (a create whose answer was lost, then sent again) are deleted, keeping one. `--destroy`
//! deletes only what carries core-up's tags, in reverse order, and refuses while other steps'
//! resources are in the VPC.
//!
//! Layout: `settings` (flags and what is recorded), `layout` (addresses and names),
//! `observe` (reads), `diff` (pure), `apply` (the network), `routing`, `nat`, `cluster`,
//! `namespace`, `create` (creates safe to repeat), `teardown` (deleting a network),
//! `guard` and `destroy`.

mod apply;
mod cluster;
mod create;
mod destroy;
mod diff;
mod guard;
pub mod layout;
mod namespace;
mod nat;
mod observe;
mod routing;
mod settings;
mod teardown;

use kit::{Cx, Plan, Result, Step};
use serde_json::{Map, Value};
use stackdoc::{Core, Doc};

use crate::layout::Tier;
use crate::observe::{Clients, Observed};
use crate::settings::Settings;

pub struct CoreUp;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Name of the core-infra: the VPC's and the cluster's name, the prefix of the subnets'
    /// names, and the namespace default.NAME.local [default: core-infra]
    #[arg(long, value_name = "NAME", help_heading = kit::SETTINGS)]
    pub core_name: Option<String>,
    /// CIDR block of a new VPC, /16 to /20; public subnets are cidrsubnet(CIDR, 8, k), private
    /// ones cidrsubnet(CIDR, 8, k+10); an existing VPC keeps its own [default: 10.0.0.0/16]
    #[arg(long, value_name = "CIDR", help_heading = kit::SETTINGS)]
    pub cidr: Option<String>,
    /// Number of availability zones (the region's first N available ones), 2 to 10: an ALB
    /// and a DB subnet group need two [default: 3, or as many as the region has]
    #[arg(long, value_name = "N", help_heading = kit::SETTINGS)]
    pub azs: Option<u32>,
    /// With --destroy: delete core-up's resources even while other steps' resources (security
    /// groups, network interfaces, load balancers, DB subnet groups) are in the VPC; what they
    /// hold is waited for until --timeout
    #[arg(long, requires = "destroy")]
    pub force: bool,
}

/// The capacity providers the cluster carries.
pub const CAPACITY_PROVIDERS: [&str; 2] = ["FARGATE", "FARGATE_SPOT"];

#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// A second VPC of core-up's with the core's name, and everything of core-up's in it.
    DeleteExtraVpc(String),
    DeleteSpareIgw(String),
    ReleaseSpareEip(String),
    /// A second NAT gateway of core-up's in the VPC, then its address.
    DeleteExtraNat(String),
    DeleteExtraTable(String),
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
        diff::diff(now)
    }

    fn planned(_cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Core> {
        diff::planned(now)
    }

    async fn apply(cx: &Cx, _args: &Args, now: Observed, plan: Plan<Op>) -> Result<Core> {
        apply::apply(cx, &Clients::new(cx), now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        let settings = Settings::resolve(args, &cx.doc)?;
        let c = Clients::new(cx);
        let now = observe::observe(cx, &c, settings).await?;
        destroy::destroy(cx, &c, now, args.force).await
    }

    fn settings(cx: &Cx, _args: &Args, now: &Observed) -> Map<String, Value> {
        diff::recorded(now, &cx.settings)
    }
}
