//! pipeline-up: the CI/CD pipeline that builds the Backstage app's image and deploys it to the
//! ECS service — an S3 artifact bucket, an SNS topic, a CodeBuild project and its role, a
//! CodePipeline (Source → Build → Deploy) and its role, and a CodeStar notification rule that
//! reports pipeline results on the topic. With `--run` it starts an execution, with `--wait`
//! it follows the latest one, through the ECS rollout it deploys.
//!
//! It needs only `secrets`, `slr`, `core` and `ecr`, so the pipeline and its first build (the
//! longest wait of a fresh stack) start before the database, the load balancer and the service
//! exist; the service's names come from the app ([`ecs_service::names::ServiceNames`]). Until
//! `svc` says the service exists, the Deploy stage's inbound transition is disabled (right
//! after CreatePipeline): executions build and push the image, then wait there; the run after
//! svc-up enables it and the waiting execution deploys. `--wait`/`--run` then stop once the
//! build has succeeded.
//!
//! The GitHub OAuth token (GitHub version 1 source) is read from the secrets-init secret only
//! when the pipeline is created or updated, held in memory and never printed; AWS returns it
//! masked (`****`), and the mask never counts as drift. The secret version the pipeline holds
//! is recorded (`pipeline.token_version`): a newer one is sent with UpdatePipeline.
//!
//! Layout: `observe` (read-only calls) → `diff` (pure: plan and planned section, from
//! `desired`) → `apply` (bucket in `bucket`) → `execution` (`--run` / `--wait`); `destroy`.

mod apply;
mod bucket;
mod clients;
pub mod desired;
mod destroy;
pub mod diff;
mod execution;
pub mod names;
mod observe;
mod requests;

use kit::{Cx, Error, Plan, Result, Step};
use stackdoc::{Doc, Pipeline};

use crate::desired::Desired;
use crate::observe::{Found, FoundBucket, FoundPipeline, FoundRole, FoundRule};

pub use crate::names::Names;

pub struct PipelineUp;

#[derive(clap::Args, Debug, Clone, Default)]
pub struct Args {
    /// GitHub owner (user or organisation) of the Backstage app's repository (needed on the
    /// first run)
    #[arg(long, env = "REPO_OWNER", value_name = "OWNER", help_heading = kit::SETTINGS)]
    pub repo_owner: Option<String>,
    /// Name of the Backstage app's GitHub repository (needed on the first run)
    #[arg(long, env = "REPO_NAME", value_name = "NAME", help_heading = kit::SETTINGS)]
    pub repo_name: Option<String>,
    /// Branch the pipeline follows
    #[arg(long, env = "REPO_BRANCH", default_value = "main", value_name = "BRANCH", help_heading = kit::SETTINGS)]
    pub branch: String,
    /// Use this CodeStar connection (CodeStarSourceConnection action, which AWS recommends)
    /// instead of the GitHub version 1 action with the token secret (--reset connection-arn
    /// goes back to the token)
    #[arg(long, env = "CONNECTION_ARN", value_name = "ARN", help_heading = kit::SETTINGS)]
    pub connection_arn: Option<String>,
    /// Path of the buildspec inside the app's repository
    #[arg(long, default_value = "templates/buildspec.yml", value_name = "PATH", help_heading = kit::SETTINGS)]
    pub buildspec: String,
    /// Start a pipeline execution (a redeploy of the branch's head) and wait for it, stage by
    /// stage, and for the ECS rollout it deploys (--no-wait: start it only)
    #[arg(long, conflicts_with_all = ["wait", "plan", "plan_json", "destroy"], help_heading = "Pipeline runs")]
    pub run: bool,
    /// Wait for the latest pipeline execution (e.g. the first one, which creating the pipeline
    /// starts) and the ECS rollout it deploys, without starting one
    #[arg(long, conflicts_with_all = ["no_wait", "plan", "plan_json", "destroy"], help_heading = "Pipeline runs")]
    pub wait: bool,
    /// Days CloudWatch Logs keeps the builds' logs (the CodeBuild project's log group)
    #[arg(long, default_value_t = 30, value_name = "DAYS", help_heading = kit::SETTINGS)]
    pub build_log_retention_days: i32,
    /// With --destroy: keep the artifact bucket and its contents
    #[arg(long)]
    pub keep_artifacts: bool,
    /// With --destroy: also delete the builds' log group and its logs
    #[arg(long)]
    pub delete_logs: bool,
}

/// What exists now, next to what should.
#[derive(Debug, Clone)]
pub struct Observed {
    pub d: Desired,
    pub bucket: Option<FoundBucket>,
    pub topic: Option<Found>,
    pub build_role: Option<FoundRole>,
    pub pipeline_role: Option<FoundRole>,
    pub project: Option<Found>,
    pub pipeline: Option<FoundPipeline>,
    pub rule: Option<FoundRule>,
    /// The builds' log group.
    pub build_logs: Option<log_groups::LogGroup>,
    /// Whether the account has the CodeStar Notifications service-linked role (only looked up
    /// when the rule must be made or changed; true otherwise).
    pub codestar_role: bool,
    /// The token secret's AWSCURRENT version (github-v1).
    pub token_current: Option<String>,
    /// The token version the pipeline's source holds, as the document recorded it.
    pub token_recorded: Option<String>,
    /// The notification rule's ARN as the document recorded it.
    pub rule_recorded: Option<String>,
}

/// Bucket settings that can be put one by one, in the order S3 wants them (ownership and the
/// public access block before the policy).
pub const BUCKET_PARTS: [&str; 5] = [
    "ownership",
    "publicAccessBlock",
    "encryption",
    "policy",
    "lifecycle",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Keep,
    Bucket {
        create: bool,
        /// Put the ownership tags (a new bucket, or an empty untagged one a killed run left).
        tag: bool,
        parts: Vec<&'static str>,
    },
    Topic {
        create: bool,
    },
    Role {
        build: bool,
        create: bool,
        trust: bool,
        policy: bool,
    },
    /// The builds' log group, made before the project so that CodeBuild does not make it
    /// untagged and never expiring.
    BuildLogs {
        create: bool,
        retention: bool,
    },
    Project {
        create: bool,
    },
    /// Create or update the pipeline (a github-v1 source sends the token read then), and/or
    /// set its Deploy stage's inbound transition: `Some(false)` disables it (the service does
    /// not exist yet; a new pipeline's transitions start enabled), `Some(true)` enables it.
    Pipeline {
        create: bool,
        declaration: bool,
        transition: Option<bool>,
    },
    /// Create the rule (None) or update the one at this ARN.
    Rule {
        arn: Option<String>,
    },
}

impl Step for PipelineUp {
    const TOOL: &'static str = "pipeline-up";
    const ABOUT: &'static str = "Create (or update) the CI/CD pipeline that builds the Backstage image and deploys it to ECS; --run starts a deploy, --wait follows the latest";
    type Args = Args;
    type Section = Pipeline;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, _doc: &Doc) -> Result<()> {
        if let Some(owner) = &args.repo_owner {
            check_owner(owner)?;
        }
        if let Some(repo) = &args.repo_name {
            check_repo(repo)?;
        }
        check_branch(&args.branch)?;
        check_buildspec(&args.buildspec)?;
        log_groups::check_retention("--build-log-retention-days", args.build_log_retention_days)?;
        if let Some(arn) = &args.connection_arn {
            check_connection_arn(arn)?;
        }
        Ok(())
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        observe::run(cx, args).await
    }

    fn diff(cx: &Cx, _args: &Args, now: &Observed) -> Result<Plan<Op>> {
        diff::plan(cx, now)
    }

    fn planned(_cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Pipeline> {
        Ok(diff::planned(now))
    }

    async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Pipeline> {
        let section = apply::run(cx, &now, plan).await?;
        if args.run {
            execution::start_and_follow(cx, &now.d).await?;
        } else if args.wait {
            execution::follow_latest(cx, &now.d).await?;
        }
        Ok(section)
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        let names = Names::new(&cx.app, &cx.account, &cx.region);
        destroy::run(cx, &names, args).await
    }
}

/// A GitHub owner: 1 to 39 letters, digits or hyphens, not starting with a hyphen.
pub fn check_owner(owner: &str) -> Result<()> {
    let ok = (1..=39).contains(&owner.len())
        && !owner.starts_with('-')
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--repo-owner '{owner}' is not a GitHub user or organisation; use letters, digits and hyphens (e.g. --repo-owner my-org)"
        ))
    })
}

/// A GitHub repository name: 1 to 100 letters, digits, '.', '_' or '-'.
pub fn check_repo(repo: &str) -> Result<()> {
    let ok = (1..=100).contains(&repo.len())
        && repo != "."
        && repo != ".."
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--repo-name '{repo}' is not a GitHub repository name; use letters, digits, '.', '_' and '-' (e.g. --repo-name backstage-app)"
        ))
    })
}

/// A git branch name that git and CodePipeline accept.
pub fn check_branch(branch: &str) -> Result<()> {
    let ok = !branch.is_empty()
        && branch.len() <= 255
        && !branch.starts_with(['-', '/'])
        && !branch.ends_with(['/', '.'])
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.ends_with(".lock")
        && !branch
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--branch '{branch}' is not a valid git branch name (e.g. --branch main)"
        ))
    })
}

/// `arn:<partition>:codestar-connections|codeconnections:<region>:<12 digits>:connection/<id>`;
/// returns the service prefix its IAM actions use.
pub fn check_connection_arn(arn: &str) -> Result<&str> {
    let bad = || {
        Error::usage(format!(
            "--connection-arn '{arn}' is not a CodeStar connection ARN; copy it from the console or `aws codestar-connections list-connections` (arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID)"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let id = resource.strip_prefix("connection/").ok_or_else(bad)?;
    let ok = prefix == "arn"
        && partition.starts_with("aws")
        && matches!(service, "codestar-connections" | "codeconnections")
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(service) } else { Err(bad()) }
}

/// A buildspec path inside the source repository.
pub fn check_buildspec(path: &str) -> Result<()> {
    let ok = !path.trim().is_empty()
        && !path.starts_with('/')
        && !path.split('/').any(|p| p == "..")
        && path.len() <= 1024;
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--buildspec '{path}' must be a path inside the app's repository (e.g. templates/buildspec.yml)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_arns_are_checked() {
        assert_eq!(
            check_connection_arn(
                "arn:aws:codestar-connections:us-west-2:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
            )
            .unwrap(),
            "codestar-connections"
        );
        assert!(
            check_connection_arn("arn:aws:codeconnections:us-west-2:123456789012:connection/abc")
                .is_ok()
        );
        for bad in [
            "not-an-arn",
            "arn:aws:s3:::bucket",
            "arn:aws:codestar-connections:us-west-2:1234:connection/abc",
            "arn:aws:codestar-connections:us-west-2:123456789012:host/abc",
            "arn:aws:codestar-connections:us-west-2:123456789012:connection/",
        ] {
            assert!(check_connection_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_owner("my-org").is_ok());
        assert!(check_owner("-x").is_err());
        assert!(check_repo("backstage.app_1").is_ok());
        assert!(check_repo("a/b").is_err());
        assert!(check_branch("feature/x").is_ok());
        assert!(check_branch("a..b").is_err());
        assert!(check_branch("has space").is_err());
        assert!(check_buildspec("templates/buildspec.yml").is_ok());
        assert!(check_buildspec("/etc/passwd").is_err());
    }
}
