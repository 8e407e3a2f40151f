//! svc-up: the Backstage container on ECS Fargate behind the ALB — ECR repository, log group,
//! task execution and task roles, task security group, task definition, Cloud Map service and
//! the ECS service, with a rollout that is watched to the end.
//!
//! observe (everything concurrently, read-only) → diff (pure) → plan | apply. Apply creates the
//! independent resources concurrently (repository, log group, roles, group, Cloud Map
//! service), then registers the task definition, then creates or updates the service and
//! waits until it is stable and its primary deployment's rollout is COMPLETED.

mod apply;
mod desired;
mod destroy;
mod observe;
mod rollout;

use kit::{Cx, Error, Plan, Result, Step};
use stackdoc::{Alb, Core, Db, Doc, PLANNED, Secrets, Svc};

pub use desired::{Names, TaskDef, check_fargate};
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
    /// Container image (default: the ECR repository's URL with tag latest)
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
    /// Force a new deployment (new tasks pull the image again) even when nothing changed
    #[arg(long)]
    pub redeploy: bool,
    /// With --destroy: also delete the log group and its logs
    #[arg(long)]
    pub delete_logs: bool,
    /// With --destroy: delete the ECR repository even though it holds images
    #[arg(long)]
    pub force: bool,
}

/// The upstream sections svc-up builds on.
#[derive(Debug, Clone)]
pub struct Inputs {
    pub secrets: Secrets,
    pub core: Core,
    pub db: Db,
    pub alb: Alb,
}

impl Inputs {
    /// In `--plan` mode planned sections are accepted (their placeholder ids mean "does not
    /// exist yet"); apply needs applied ones.
    pub fn from(doc: &Doc, plan: bool) -> Result<Inputs> {
        Ok(if plan {
            Inputs {
                secrets: doc.require()?,
                core: doc.require()?,
                db: doc.require()?,
                alb: doc.require()?,
            }
        } else {
            Inputs {
                secrets: doc.require_applied()?,
                core: doc.require_applied()?,
                db: doc.require_applied()?,
                alb: doc.require_applied()?,
            }
        })
    }

    pub fn secret_arns(&self) -> Vec<String> {
        vec![
            self.secrets.github_token.arn.clone(),
            self.secrets.db_password.arn.clone(),
        ]
    }

    pub fn parameter_arns(&self) -> Vec<String> {
        self.db.parameters.iter().map(|p| p.arn.clone()).collect()
    }
}

pub fn is_planned(id: &str) -> bool {
    id.is_empty() || id == PLANNED
}

/// What apply does to one resource.
#[derive(Debug, Clone)]
pub enum Op {
    Keep,
    Repo {
        create: bool,
        scan: bool,
        lifecycle: bool,
    },
    LogGroup {
        create: bool,
        retention: bool,
    },
    Role {
        which: desired::RoleKind,
        create: bool,
        trust: bool,
        attach: Vec<String>,
        detach: Vec<String>,
        inline: bool,
    },
    SecurityGroup {
        create: bool,
    },
    CloudMap {
        create: bool,
        ttl: bool,
    },
    TaskDef,
    Service {
        create: bool,
    },
}

impl Step for SvcUp {
    const TOOL: &'static str = "svc-up";
    const ABOUT: &'static str = "Run the Backstage container on ECS Fargate behind the ALB: ECR repository, log group, roles, task security group, task definition, Cloud Map service and the ECS service";
    type Args = Args;
    type Section = Svc;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, doc: &Doc) -> Result<()> {
        check_fargate(args.cpu, args.memory).map_err(Error::usage)?;
        if !(0..=5000).contains(&args.desired_count) {
            return Err(Error::usage(format!(
                "--desired-count {} is out of range; give 0 to 5000 tasks",
                args.desired_count
            )));
        }
        if !desired::RETENTION_DAYS.contains(&args.log_retention_days) {
            return Err(Error::usage(format!(
                "--log-retention-days {} is not a CloudWatch Logs retention; use one of {}",
                args.log_retention_days,
                desired::RETENTION_DAYS
                    .iter()
                    .map(i32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        if !(0..=2_147_483_647).contains(&args.health_check_grace_period) {
            return Err(Error::usage(format!(
                "--health-check-grace-period {} must be 0 or more seconds",
                args.health_check_grace_period
            )));
        }
        if let Some(image) = &args.image
            && (image.trim().is_empty() || image.chars().any(char::is_whitespace))
        {
            return Err(Error::usage(format!(
                "--image '{image}' is not an image reference; give e.g. 123456789012.dkr.ecr.us-west-2.amazonaws.com/backstage:v1"
            )));
        }
        // Every section svc-up builds on must be there (planned ones are judged in observe).
        let inputs = Inputs::from(doc, true)?;
        if !is_planned(&inputs.alb.url) && !inputs.alb.url.starts_with("http") {
            return Err(Error::usage(format!(
                "the alb section's url '{}' is not a URL; rerun alb-up",
                inputs.alb.url
            )));
        }
        Ok(())
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        observe::observe(cx, args).await
    }

    fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
        apply::diff(cx, args, now)
    }

    fn planned(cx: &Cx, args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Svc> {
        Ok(apply::planned_section(cx, args, now))
    }

    async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Svc> {
        apply::apply(cx, args, now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        destroy::destroy(cx, args).await
    }
}
