//! pipeline-up: the CI/CD pipeline that builds the Backstage app's image and deploys it to the
//! ECS service — an S3 artifact bucket, an SNS topic, a CodeBuild project and its role, a
//! CodePipeline (Source → Build → Deploy) and its role, and a CodeStar notification rule that
//! reports pipeline results on the topic.
//!
//! The GitHub OAuth token (GitHub version 1 source) is read from the secrets-init secret only
//! when the pipeline is created or updated, held in memory and never printed; AWS returns it
//! masked (`****`), and the mask never counts as drift.

mod apply;
mod clients;
mod destroy;
pub mod model;
mod observe;

use kit::{Cx, Error, Plan, Result, Step};
use stackdoc::{Doc, PLANNED, Pipeline};

use crate::clients::Clients;
use crate::model::{Desired, Names};
use crate::observe::{Found, FoundRole, FoundRule};

pub struct PipelineUp;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// GitHub owner (user or organisation) of the Backstage app's repository (required, except
    /// with --destroy)
    #[arg(long, env = "REPO_OWNER", value_name = "OWNER", help_heading = kit::SETTINGS)]
    pub repo_owner: Option<String>,
    /// Name of the Backstage app's GitHub repository (required, except with --destroy)
    #[arg(long, env = "REPO_NAME", value_name = "NAME", help_heading = kit::SETTINGS)]
    pub repo_name: Option<String>,
    /// Branch the pipeline follows
    #[arg(long, env = "REPO_BRANCH", default_value = "main", value_name = "BRANCH", help_heading = kit::SETTINGS)]
    pub branch: String,
    /// Use this CodeStar connection (CodeStarSourceConnection action, which AWS recommends)
    /// instead of the GitHub version 1 action with the token secret
    #[arg(long, env = "CONNECTION_ARN", value_name = "ARN", help_heading = kit::SETTINGS)]
    pub connection_arn: Option<String>,
    /// Path of the buildspec inside the app's repository
    #[arg(long, default_value = "templates/buildspec.yml", value_name = "PATH", help_heading = kit::SETTINGS)]
    pub buildspec: String,
    /// With --destroy: keep the artifact bucket and its contents
    #[arg(long)]
    pub keep_artifacts: bool,
}

/// What exists now, next to what should.
#[derive(Debug)]
pub struct Observed {
    d: Desired,
    bucket: Option<Found>,
    topic: Option<Found>,
    build_role: Option<FoundRole>,
    pipeline_role: Option<FoundRole>,
    project: Option<Found>,
    pipeline: Option<Found>,
    rule: Option<FoundRule>,
    codestar_role: bool,
}

/// Bucket settings that can be put one by one.
pub const BUCKET_PARTS: [&str; 5] = [
    "ownership",
    "publicAccessBlock",
    "encryption",
    "policy",
    "lifecycle",
];

#[derive(Debug, Clone)]
pub enum Op {
    Keep,
    Bucket {
        create: bool,
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
    Project {
        create: bool,
    },
    Pipeline {
        create: bool,
    },
    /// Create the rule (None) or update the one at this ARN.
    Rule {
        arn: Option<String>,
    },
}

impl Step for PipelineUp {
    const TOOL: &'static str = "pipeline-up";
    const ABOUT: &'static str = "Create (or update) the CI/CD pipeline that builds the Backstage image and deploys it to ECS";
    type Args = Args;
    type Section = Pipeline;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, _doc: &Doc) -> Result<()> {
        if let Some(owner) = &args.repo_owner {
            model::check_owner(owner)?;
        }
        if let Some(repo) = &args.repo_name {
            model::check_repo(repo)?;
        }
        model::check_branch(&args.branch)?;
        model::check_buildspec(&args.buildspec)?;
        if let Some(arn) = &args.connection_arn {
            model::check_connection_arn(arn)?;
        }
        Ok(())
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        // Document and flags first: a missing section fails before any AWS call.
        let up = model::upstream(&cx.doc, cx.plan_only())?;
        let d = model::desired(args, &up, &cx.app, &cx.account, &cx.region)?;
        let c = Clients::new(cx);
        let n = &d.n;
        let (bucket, topic, build_role, pipeline_role, project, pipeline, rule) = futures::try_join!(
            observe::bucket(cx, &c, n),
            observe::topic(cx, &c, n),
            observe::role(cx, &c, &n.build_role),
            observe::role(cx, &c, &n.pipeline_role),
            observe::project(cx, &c, n),
            observe::pipeline(cx, &c, n),
            async {
                // The role matters only when the rule must be made or changed: a rerun whose
                // rule is as wanted does not look it up.
                let rule = observe::rule(cx, &c, n).await?;
                let settled = rule
                    .as_ref()
                    .is_some_and(|r| r.settings == observe::rule_settings(&d));
                let role = settled || observe::codestar_role_present(&c).await?;
                Ok::<_, kit::Error>((rule, role))
            },
        )?;
        let (rule, codestar_role) = rule;
        Ok(Observed {
            d,
            bucket,
            topic,
            build_role,
            pipeline_role,
            project,
            pipeline,
            rule,
            codestar_role,
        })
    }

    fn diff(cx: &Cx, _args: &Args, now: &Observed) -> Result<Plan<Op>> {
        let d = &now.d;
        let n = &d.n;
        let mut plan = Plan::new();
        let foreign = |what: &str| {
            Error::aws(format!(
                "{what} exists but was not created by pipeline-up for app {} (it lacks the stagehand:app/stagehand:step tags); delete it, or deploy under another --app",
                cx.app
            ))
        };

        // Bucket.
        let want = observe::bucket_settings(d);
        let resource = format!("S3 bucket {}", n.bucket);
        match &now.bucket {
            None => plan.create(
                resource,
                Op::Bucket {
                    create: true,
                    parts: BUCKET_PARTS.to_vec(),
                },
            ),
            Some(f) if !f.owned => return Err(foreign(&resource)),
            Some(f) => {
                let parts: Vec<&'static str> = BUCKET_PARTS
                    .into_iter()
                    .filter(|p| f.settings.get(p) != want.get(p))
                    .collect();
                if parts.is_empty() {
                    plan.unchanged(resource, Op::Keep);
                } else {
                    plan.update(
                        resource,
                        model::differences(&f.settings, &want, 6),
                        Op::Bucket {
                            create: false,
                            parts,
                        },
                    );
                }
            }
        }

        // Topic.
        let want = serde_json::json!({"policy": d.topic_policy});
        let resource = format!("SNS topic {}", n.topic_name);
        match &now.topic {
            None => plan.create(resource, Op::Topic { create: true }),
            Some(f) if !f.owned => return Err(foreign(&resource)),
            Some(f) if f.settings == want => plan.unchanged(resource, Op::Keep),
            Some(f) => plan.update(
                resource,
                model::differences(&f.settings, &want, 6),
                Op::Topic { create: false },
            ),
        }

        // Roles.
        for (build, name, found, trust, policy) in [
            (
                true,
                &n.build_role,
                &now.build_role,
                &d.build_trust,
                &d.build_policy,
            ),
            (
                false,
                &n.pipeline_role,
                &now.pipeline_role,
                &d.pipeline_trust,
                &d.pipeline_policy,
            ),
        ] {
            let resource = format!("IAM role {name}");
            match found {
                None => plan.create(
                    resource,
                    Op::Role {
                        build,
                        create: true,
                        trust: true,
                        policy: true,
                    },
                ),
                Some(r) if !r.owned => return Err(foreign(&resource)),
                Some(r) => {
                    let trust_drift = r.trust.as_ref() != Some(trust);
                    let policy_drift = r.policy.as_ref() != Some(policy);
                    if !trust_drift && !policy_drift {
                        plan.unchanged(resource, Op::Keep);
                    } else {
                        let mut fields: Vec<kit::Field> = Vec::new();
                        if trust_drift {
                            fields.push("trust policy: changed".into());
                        }
                        if policy_drift {
                            fields.extend(model::differences(
                                r.policy.as_ref().unwrap_or(&serde_json::Value::Null),
                                policy,
                                6,
                            ));
                        }
                        plan.update(
                            resource,
                            fields,
                            Op::Role {
                                build,
                                create: false,
                                trust: trust_drift,
                                policy: policy_drift,
                            },
                        );
                    }
                }
            }
        }

        // Project and pipeline.
        for (label, name, found, want, is_pipeline) in [
            (
                "CodeBuild project",
                &n.project,
                &now.project,
                &d.project_settings,
                false,
            ),
            (
                "pipeline",
                &n.pipeline,
                &now.pipeline,
                &d.pipeline_settings,
                true,
            ),
        ] {
            let resource = format!("{label} {name}");
            let op = |create| {
                if is_pipeline {
                    Op::Pipeline { create }
                } else {
                    Op::Project { create }
                }
            };
            match found {
                None => plan.create(resource, op(true)),
                Some(f) if !f.owned => return Err(foreign(&resource)),
                Some(f) if &f.settings == want => plan.unchanged(resource, Op::Keep),
                Some(f) => plan.update(
                    resource,
                    model::differences(&f.settings, want, 6),
                    op(false),
                ),
            }
        }

        // Notification rule.
        let want = observe::rule_settings(d);
        let resource = format!("notification rule {}", n.rule_name);
        let rule_op = match &now.rule {
            None => Some((None, vec![])),
            Some(r) if !r.owned => return Err(foreign(&resource)),
            Some(r) if r.settings == want => None,
            Some(r) => Some((
                Some(r.arn.clone()),
                model::differences(&r.settings, &want, 6),
            )),
        };
        match rule_op {
            None => plan.unchanged(resource, Op::Keep),
            // In a chained plan, a planned slr section means slr-check --create makes the role.
            Some(_) if !now.codestar_role && !(cx.plan_only() && cx.doc.is_planned("slr")) => {
                return Err(Error::aws(format!(
                    "the CodeStar Notifications service-linked role is missing, so the notification rule {} cannot be made; run slr-check --create (or aws iam create-service-linked-role --aws-service-name codestar-notifications.amazonaws.com), then rerun pipeline-up",
                    n.rule_name
                )));
            }
            Some((None, _)) => plan.create(resource, Op::Rule { arn: None }),
            Some((Some(arn), fields)) => plan.update(resource, fields, Op::Rule { arn: Some(arn) }),
        }
        Ok(plan)
    }

    fn planned(_cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Pipeline> {
        let n = &now.d.n;
        let known = |exists: bool, arn: &str| {
            if exists {
                arn.to_owned()
            } else {
                PLANNED.to_owned()
            }
        };
        Ok(section(
            &now.d,
            Arns {
                topic: known(now.topic.is_some(), &n.topic_arn),
                build_role: known(now.build_role.is_some(), &n.build_role_arn),
                pipeline_role: known(now.pipeline_role.is_some(), &n.pipeline_role_arn),
                project: known(now.project.is_some(), &n.project_arn),
                pipeline: known(now.pipeline.is_some(), &n.pipeline_arn),
                rule: now
                    .rule
                    .as_ref()
                    .map_or_else(|| PLANNED.to_owned(), |r| r.arn.clone()),
            },
        ))
    }

    async fn apply(cx: &Cx, _args: &Args, now: Observed, plan: Plan<Op>) -> Result<Pipeline> {
        apply::run(cx, now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        let names = Names::new(&cx.app, &cx.account, &cx.region);
        destroy::run(cx, &names, args.keep_artifacts).await
    }
}

pub(crate) struct Arns {
    pub topic: String,
    pub build_role: String,
    pub pipeline_role: String,
    pub project: String,
    pub pipeline: String,
    pub rule: String,
}

pub(crate) fn section(d: &Desired, arns: Arns) -> Pipeline {
    let n = &d.n;
    Pipeline {
        token_version: None,
        bucket: n.bucket.clone(),
        bucket_arn: n.bucket_arn.clone(),
        topic_name: n.topic_name.clone(),
        topic_arn: arns.topic,
        codebuild_project: n.project.clone(),
        codebuild_project_arn: arns.project,
        codebuild_role_name: n.build_role.clone(),
        codebuild_role_arn: arns.build_role,
        pipeline_name: n.pipeline.clone(),
        pipeline_arn: arns.pipeline,
        pipeline_role_name: n.pipeline_role.clone(),
        pipeline_role_arn: arns.pipeline_role,
        notification_rule_name: n.rule_name.clone(),
        notification_rule_arn: arns.rule,
        source_kind: d.source.kind().to_owned(),
        url: d.url.clone(),
    }
}
