//! svc-up: the Backstage container on ECS Fargate behind the ALB — log group, task execution
//! and task roles, task security group, task definition, Cloud Map service and the ECS
//! service, with a rollout that is watched to the end. The image repository is ecr-up's (the
//! `ecr` section): svc-up gives the execution role pull rights on it and reads which images it
//! holds, and never creates, changes or deletes it.
//!
//! observe.rs (read-only, concurrent) → diff.rs (pure: the plan and the planned section) →
//! plan | apply.rs (independent resources concurrently, then the task definition, then the
//! service, then rollout.rs's watch); destroy.rs for `--destroy`. desired.rs says what should
//! exist, names.rs what everything is called.
//!
//! Who owns what: the pipeline owns the image once the service exists (a rerun keeps the
//! running revision's image; `--image` is a pin, remembered until `--reset image`); Secrets
//! Manager owns the secret values (a new version of a secret the task reads starts a new
//! deployment); the user owns the settings.

mod apply;
mod desired;
mod destroy;
mod diff;
mod names;
mod observe;
mod rollout;

use kit::{Cx, Error, Plan, Result, Step};
use stackdoc::{Alb, Core, Db, Doc, Ecr, PLANNED, Secrets, Svc};

pub use desired::check_fargate;
pub use names::Names;
pub use observe::Observed;

pub struct SvcUp;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Task CPU units (a Fargate size: 256, 512, 1024, 2048, 4096, 8192, 16384)
    #[arg(long, default_value_t = 1024, help_heading = kit::SETTINGS)]
    pub cpu: u32,
    /// Task memory in MiB (must fit --cpu on Fargate)
    #[arg(long, default_value_t = 2048, help_heading = kit::SETTINGS)]
    pub memory: u32,
    /// Pin the container image (e.g. REPO_URI:abcd1234). Without a pin the pipeline owns the
    /// image: a new service starts with the repository's :latest, and a rerun keeps whatever
    /// the service runs (the pipeline's last deploy); --reset image hands it back
    #[arg(long, help_heading = kit::SETTINGS)]
    pub image: Option<String>,
    /// Number of tasks to run
    #[arg(long, default_value_t = 3, allow_negative_numbers = true, help_heading = kit::SETTINGS)]
    pub desired_count: i64,
    /// Days CloudWatch Logs keeps the container logs
    #[arg(long, default_value_t = 30, allow_negative_numbers = true, help_heading = kit::SETTINGS)]
    pub log_retention_days: i32,
    /// Seconds the service ignores failing ALB health checks of a new task while Backstage boots
    #[arg(long, default_value_t = 300, allow_negative_numbers = true, help_heading = kit::SETTINGS)]
    pub health_check_grace_period: i32,
    /// Force a new deployment (new tasks pull the image and read the secrets again) even when
    /// nothing changed
    #[arg(long)]
    pub redeploy: bool,
    /// With --destroy: also delete the log group and its logs
    #[arg(long)]
    pub delete_logs: bool,
    /// Not svc-up's any more: the repository (and its images) is ecr-up's
    /// (`ecr-up --destroy --force`); refused with exit 2
    #[arg(long, hide = true)]
    pub force: bool,
}

/// The upstream sections svc-up builds on.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub secrets: Secrets,
    pub ecr: Ecr,
    pub core: Core,
    pub db: Db,
    pub alb: Alb,
}

impl Inputs {
    /// In `--plan` mode planned sections are accepted (their placeholder ids mean "does not
    /// exist yet"); apply needs applied ones.
    pub fn from(cx: &Cx) -> Result<Inputs> {
        Ok(Inputs {
            secrets: cx.upstream()?,
            ecr: cx.upstream()?,
            core: cx.upstream()?,
            db: cx.upstream()?,
            alb: cx.upstream()?,
        })
    }
}

/// An identifier a `--plan` run wrote for what does not exist yet.
pub fn is_planned(id: &str) -> bool {
    id.is_empty() || id == PLANNED
}

/// The two roles svc-up makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// Used by ECS to pull the image, write logs and read the secrets.
    Execution,
    /// Used by the container itself: only ECS Exec.
    Task,
}

/// What apply does to one resource.
#[derive(Debug, Clone)]
pub enum Op {
    Keep,
    LogGroup {
        create: bool,
        retention: bool,
    },
    Role(RoleKind, Box<iam_roles::Change>),
    SecurityGroup {
        create: bool,
    },
    CloudMap {
        create: bool,
        ttl: bool,
    },
    /// Register a new revision.
    TaskDef,
    Service {
        create: bool,
        /// Start a new deployment even if nothing else changes (--redeploy, a new secret
        /// version).
        force: bool,
    },
}

impl Step for SvcUp {
    const TOOL: &'static str = "svc-up";
    const ABOUT: &'static str = "Run the Backstage container on ECS Fargate behind the ALB: log group, roles, task security group, task definition, Cloud Map service and the ECS service (the image repository is ecr-up's)";
    type Args = Args;
    type Section = Svc;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, _doc: &Doc) -> Result<()> {
        if args.force {
            return Err(Error::usage(
                "--force is not svc-up's any more: the ECR repository and its images are ecr-up's; delete them with ecr-up --destroy --force",
            ));
        }
        check_fargate(args.cpu, args.memory).map_err(Error::usage)?;
        if !(0..=5000).contains(&args.desired_count) {
            return Err(Error::usage(format!(
                "--desired-count {} is out of range; give 0 to 5000 tasks",
                args.desired_count
            )));
        }
        log_groups::check_retention("--log-retention-days", args.log_retention_days)?;
        if !(0..=2_147_483_647).contains(&args.health_check_grace_period) {
            return Err(Error::usage(format!(
                "--health-check-grace-period {} must be 0 or more seconds",
                args.health_check_grace_period
            )));
        }
        if let Some(image) = &args.image
            && (image.trim().is_empty()
                || image.len() > 255
                || image.chars().any(|c| c.is_whitespace() || c.is_control()))
        {
            return Err(Error::usage(format!(
                "--image '{image}' is not an image reference; give e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com/backstage:abcd1234"
            )));
        }
        Ok(())
    }

    fn check_inputs(_args: &Args, doc: &Doc) -> Result<()> {
        // Every section svc-up builds on must be there (planned ones are judged in observe).
        doc.require::<Secrets>()?;
        doc.require::<Ecr>()?;
        doc.require::<Core>()?;
        let db = doc.require::<Db>()?;
        let alb = doc.require::<Alb>()?;
        if !is_planned(&alb.url)
            && !alb.url.starts_with("http://")
            && !alb.url.starts_with("https://")
        {
            return Err(Error::usage(format!(
                "the alb section's url '{}' is not a URL; rerun alb-up",
                alb.url
            )));
        }
        if alb.container_port == 0 {
            return Err(Error::usage(
                "the alb section's container_port is 0; rerun alb-up (it records the port the target group sends to)",
            ));
        }
        if let Some(p) = db.parameters.iter().find(|p| p.arn.trim().is_empty()) {
            return Err(Error::usage(format!(
                "the db section's parameter {} has no ARN; rerun db-up",
                p.name
            )));
        }
        Ok(())
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        observe::observe(cx, args).await
    }

    fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
        diff::diff(cx, args, now)
    }

    fn planned(cx: &Cx, args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Svc> {
        Ok(diff::planned_section(cx, args, now))
    }

    async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Svc> {
        apply::apply(cx, args, now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        destroy::destroy(cx, args).await
    }
}
