//! ecr-up: the ECR repository the pipeline's build pushes the Backstage image to and the
//! service's tasks pull it from — scan on push, AES256 encryption, a lifecycle policy that
//! keeps the last 30 images, the stack's tags. Its own step (it needs no other section), so
//! that the pipeline and its first build, the longest wait of a fresh stack, start before the
//! database, the load balancer and the service exist.
//!
//! observe.rs (read-only, concurrent) → diff.rs (pure: the plan and the planned section) →
//! plan | apply.rs; destroy.rs for `--destroy` (a repository holding images only with
//! `--force`).
//!
//! Upgrade: before ecr-up, svc-up made the repository (tagged `stagehand:step=svc`). ecr-up
//! adopts such a repository of the same app: it retags it as its own (`stagehand:step=ecr`)
//! on its next run, and its `--destroy` treats it as its own even before that.

mod apply;
mod destroy;
mod diff;
mod observe;

use kit::{Cx, Plan, Result, Step};
use stackdoc::Ecr;

pub use diff::{KEEP_IMAGES, lifecycle_policy};
pub use observe::{Observed, Owner, Repo};

pub struct EcrUp;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// With --destroy: delete the repository even though it holds images (they go with it)
    #[arg(long, requires = "destroy")]
    pub force: bool,
}

/// The repository's name: the app's.
pub fn repository_name(app: &str) -> String {
    app.to_owned()
}

/// The section svc-up used to record the repository under, before ecr-up: a repository tagged
/// with it (and this app) is one a pre-split stack made, and ecr-up's to adopt.
pub const LEGACY_STEP: &str = "svc";

/// What apply does to the repository.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Keep,
    Repo {
        create: bool,
        /// Turn scan on push on.
        scan: bool,
        /// Put the lifecycle policy.
        lifecycle: bool,
        /// Tag it as ecr-up's (a repository svc-up made before the split).
        retag: bool,
    },
}

impl Step for EcrUp {
    const TOOL: &'static str = "ecr-up";
    const ABOUT: &'static str = "Create the ECR repository the pipeline pushes the Backstage image to and the service pulls it from: scan on push, encryption, a lifecycle policy, the stack's tags";
    type Args = Args;
    type Section = Ecr;
    type Observed = Observed;
    type Op = Op;

    async fn observe(cx: &Cx, _args: &Args) -> Result<Observed> {
        observe::observe(cx).await
    }

    fn diff(cx: &Cx, _args: &Args, now: &Observed) -> Result<Plan<Op>> {
        diff::diff(cx, now)
    }

    fn planned(cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Ecr> {
        Ok(diff::planned_section(cx, now))
    }

    async fn apply(cx: &Cx, _args: &Args, now: Observed, plan: Plan<Op>) -> Result<Ecr> {
        apply::apply(cx, now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        destroy::destroy(cx, args.force).await
    }
}
