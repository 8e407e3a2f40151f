//! Carry out the plan: independent resources side by side (bucket, topic, the builds' log
//! group, the build role then the project, the pipeline role), then the pipeline (whose first
//! run starts the first build), then the notification rule on it.
//!
//! Every create is safe to repeat: a create answered "already exists" (the SDK's retry of a
//! call whose first answer was lost, or a rerun after a kill) is success when what exists is
//! this step's; the notification rule carries a deterministic ClientRequestToken. CodeStar
//! Notifications refuses rules for up to ~15 minutes after its service-linked role is made:
//! the create waits through that with progress, bounded by `--timeout`.

use aws_sdk_codepipeline::types as cp;
use aws_sdk_codestarnotifications::types as cn;
use kit::{AwsContext, Cx, Error, Plan, Result, aws, wait};
use secret::{ExposeSecret, SecretString};
use stackdoc::Pipeline;

use crate::clients::Clients;
use crate::desired::{self, DEPLOY_STAGE, Desired};
use crate::diff::{Arns, section};
use crate::observe::{self, Owner};
use crate::requests::{self, built};
use crate::{Observed, Op, bucket};

pub async fn run(cx: &Cx, now: &Observed, plan: Plan<Op>) -> Result<Pipeline> {
    let c = Clients::new(cx);
    let d = &now.d;
    let n = &d.n;
    let find = |pick: fn(&Op) -> bool| plan.changes.iter().map(|ch| &ch.op).find(|op| pick(op));
    let bucket_op = find(|op| matches!(op, Op::Bucket { .. }));
    let topic_op = find(|op| matches!(op, Op::Topic { .. }));
    let build_role_op = find(|op| matches!(op, Op::Role { build: true, .. }));
    let pipeline_role_op = find(|op| matches!(op, Op::Role { build: false, .. }));
    let project_op = find(|op| matches!(op, Op::Project { .. }));
    let logs_op = find(|op| matches!(op, Op::BuildLogs { .. }));
    let pipeline_op = find(|op| matches!(op, Op::Pipeline { .. }));
    let rule_op = find(|op| matches!(op, Op::Rule { .. }));

    futures::try_join!(
        async {
            match bucket_op {
                Some(Op::Bucket { create, tag, parts }) => {
                    bucket::ensure(cx, &c, d, *create, *tag, parts).await
                }
                _ => Ok(()),
            }
        },
        async {
            match topic_op {
                Some(Op::Topic { create }) => ensure_topic(cx, &c, d, *create).await,
                _ => Ok(()),
            }
        },
        async {
            if let Some(Op::BuildLogs { create, retention }) = logs_op {
                if *create {
                    log_groups::create(cx, &c.logs, &n.log_group).await?;
                }
                if *retention {
                    log_groups::put_retention(&c.logs, &n.log_group, d.log_retention_days).await?;
                }
            }
            Ok(())
        },
        async {
            if let Some(op) = build_role_op {
                ensure_role(cx, &c, d, op).await?;
            }
            match project_op {
                Some(Op::Project { create }) => ensure_project(cx, &c, d, *create).await,
                _ => Ok(()),
            }
        },
        async {
            match pipeline_role_op {
                Some(op) => ensure_role(cx, &c, d, op).await,
                None => Ok(()),
            }
        },
    )?;
    let (token_version, created) = match pipeline_op {
        Some(Op::Pipeline {
            create,
            declaration,
            transition,
        }) => {
            // A new pipeline to hold is held by ensure_pipeline at once after its create.
            let held_at_create = *create && *transition == Some(false);
            let made = if *declaration {
                ensure_pipeline(cx, &c, d, *create, held_at_create).await?
            } else {
                (
                    now.token_current.clone(),
                    now.pipeline.as_ref().and_then(|p| p.created),
                )
            };
            if let Some(enabled) = transition
                && !held_at_create
            {
                set_deploy_transition(&c, d, *enabled).await?;
            }
            made
        }
        _ => (
            now.token_current.clone(),
            now.pipeline.as_ref().and_then(|p| p.created),
        ),
    };
    let rule_arn = match (rule_op, &now.rule) {
        (Some(Op::Rule { arn }), _) => {
            let recorded = now.rule_recorded.as_deref();
            ensure_rule(cx, &c, d, arn.as_deref(), created, recorded).await?
        }
        (_, Some(found)) => found.arn.clone(),
        (_, None) => String::new(),
    };
    Ok(section(
        d,
        Arns {
            topic: n.topic_arn.clone(),
            build_role: n.build_role_arn.clone(),
            pipeline_role: n.pipeline_role_arn.clone(),
            project: n.project_arn.clone(),
            pipeline: n.pipeline_arn.clone(),
            rule: rule_arn,
        },
        token_version,
    ))
}

/// An "already exists" answer to a create is success when the resource is this step's
/// (`owner`), and a refusal naming who made it otherwise.
fn ours_or_refuse(what: &str, owner: Option<Owner>, cx: &Cx) -> Result<()> {
    match owner {
        Some(Owner::Us) => {
            kit::info!("{what} already exists and is this stack's (a create was retried): kept");
            Ok(())
        }
        Some(Owner::Other { app, .. }) if !app.is_empty() => Err(Error::usage(format!(
            "{what} was just made by app {app}, not {}; deploy under another --app",
            cx.app
        ))),
        _ => Err(Error::usage(format!(
            "{what} was just made by someone else (it has no stagehand tags of app {}); delete it or deploy under another --app",
            cx.app
        ))),
    }
}

async fn ensure_topic(cx: &Cx, c: &Clients, d: &Desired, create: bool) -> Result<()> {
    let name = d.n.topic_name.as_str();
    if create {
        let tags: Vec<aws_sdk_sns::types::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| {
                built(
                    aws_sdk_sns::types::Tag::builder().key(k).value(v).build(),
                    "a topic tag",
                )
            })
            .collect::<Result<_>>()?;
        // CreateTopic is idempotent: the same name, attributes and tags answer the topic.
        c.sns
            .create_topic()
            .name(name)
            .attributes("Policy", d.topic_policy.to_string())
            .set_tags(Some(tags))
            .send()
            .await
            .ctx(format!("creating SNS topic {name}"))?;
        kit::info!("created SNS topic {name}");
    } else {
        c.sns
            .set_topic_attributes()
            .topic_arn(&d.n.topic_arn)
            .attribute_name("Policy")
            .attribute_value(d.topic_policy.to_string())
            .send()
            .await
            .ctx(format!("setting the policy of SNS topic {name}"))?;
        kit::info!("updated the policy of SNS topic {name}");
    }
    Ok(())
}

async fn ensure_role(cx: &Cx, c: &Clients, d: &Desired, op: &Op) -> Result<()> {
    let Op::Role {
        build,
        create,
        trust,
        policy,
    } = *op
    else {
        return Ok(());
    };
    let n = &d.n;
    let (name, trust_doc, policy_doc, purpose) = if build {
        (
            &n.build_role,
            &d.build_trust,
            &d.build_policy,
            "CodeBuild project",
        )
    } else {
        (
            &n.pipeline_role,
            &d.pipeline_trust,
            &d.pipeline_policy,
            "pipeline",
        )
    };
    if create {
        let tags: Vec<aws_sdk_iam::types::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| {
                built(
                    aws_sdk_iam::types::Tag::builder().key(k).value(v).build(),
                    "a role tag",
                )
            })
            .collect::<Result<_>>()?;
        let made = c
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_doc.to_string())
            .description(format!("stagehand: the {purpose} of {}", cx.app))
            .set_tags(Some(tags))
            .send()
            .await
            .created(format!("creating IAM role {name}"))?;
        if made.is_some() {
            kit::info!("created IAM role {name}");
        } else {
            let found = observe::role(cx, c, name).await?;
            ours_or_refuse(&format!("IAM role {name}"), found.map(|r| r.owner), cx)?;
        }
    } else if trust {
        c.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(trust_doc.to_string())
            .send()
            .await
            .ctx(format!("updating the trust policy of IAM role {name}"))?;
        kit::info!("updated the trust policy of IAM role {name}");
    }
    if create || policy {
        c.iam
            .put_role_policy()
            .role_name(name)
            .policy_name(name)
            .policy_document(policy_doc.to_string())
            .send()
            .await
            .ctx(format!("setting the policy of IAM role {name}"))?;
        if !create {
            kit::info!("updated the policy of IAM role {name}");
        }
    }
    Ok(())
}

async fn ensure_project(cx: &Cx, c: &Clients, d: &Desired, create: bool) -> Result<()> {
    let name = d.n.project.as_str();
    let p = requests::project(d)?;
    if create {
        let tags: Vec<aws_sdk_codebuild::types::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| {
                aws_sdk_codebuild::types::Tag::builder()
                    .key(k)
                    .value(v)
                    .build()
            })
            .collect();
        let made = wait::retrying(
            cx,
            &format!("creating CodeBuild project {name}"),
            aws::is_role_propagating,
            || {
                c.codebuild
                    .create_project()
                    .name(name)
                    .description(format!("stagehand: builds the {} image", cx.app))
                    .source(p.source.clone())
                    .artifacts(p.artifacts.clone())
                    .environment(p.environment.clone())
                    .logs_config(p.logs.clone())
                    .service_role(&p.role)
                    .timeout_in_minutes(p.timeout)
                    .set_tags(Some(tags.clone()))
                    .send()
            },
        )
        .await;
        match made {
            Ok(_) => kit::info!("created CodeBuild project {name}"),
            Err(e) if e.is_already_exists() => {
                let found = observe::project(cx, c, &d.n).await?;
                ours_or_refuse(
                    &format!("CodeBuild project {name}"),
                    found.map(|f| f.owner),
                    cx,
                )?;
            }
            Err(e) => return Err(e),
        }
    } else {
        wait::retrying(
            cx,
            &format!("updating CodeBuild project {name}"),
            aws::is_role_propagating,
            || {
                c.codebuild
                    .update_project()
                    .name(name)
                    .source(p.source.clone())
                    .artifacts(p.artifacts.clone())
                    .environment(p.environment.clone())
                    .logs_config(p.logs.clone())
                    .service_role(&p.role)
                    .timeout_in_minutes(p.timeout)
                    .send()
            },
        )
        .await?;
        kit::info!("updated CodeBuild project {name}");
    }
    Ok(())
}

/// The GitHub token's current value and version, read when the pipeline needs it.
async fn token(c: &Clients, d: &Desired) -> Result<Option<(SecretString, String)>> {
    let Some(t) = &d.token else {
        return Ok(None);
    };
    let (value, version) = secret::read_current(&c.secrets, &t.arn)
        .await
        .map_err(|e| {
            let why = e.message.clone();
            e.context_message(format!(
                "{why}; pipeline-up needs secretsmanager:GetSecretValue on the GitHub token secret {}",
                t.name
            ))
        })?;
    if value.expose_secret().trim().is_empty() {
        return Err(Error::usage(format!(
            "the GitHub token secret {} is empty; store the token with GITHUB_TOKEN=… secrets-init --rotate github-token",
            t.name
        )));
    }
    Ok(Some((value, version)))
}

/// Create or update the pipeline; returns the token version it now holds (github-v1) and when
/// it was created (for the notification rule's token). `hold`: disable the Deploy transition
/// right after the create, before anything else, while the first execution is still in Source.
async fn ensure_pipeline(
    cx: &Cx,
    c: &Clients,
    d: &Desired,
    create: bool,
    hold: bool,
) -> Result<(Option<String>, Option<i64>)> {
    let name = d.n.pipeline.as_str();
    let token = token(c, d).await?;
    let decl = requests::declaration(d, token.as_ref().map(|(v, _)| v))?;
    let version = token.map(|(_, v)| v);
    if create {
        let tags: Vec<cp::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| built(cp::Tag::builder().key(k).value(v).build(), "a pipeline tag"))
            .collect::<Result<_>>()?;
        let made = wait::retrying(
            cx,
            &format!("creating pipeline {name}"),
            aws::is_role_propagating,
            || {
                c.codepipeline
                    .create_pipeline()
                    .pipeline(decl.clone())
                    .set_tags(Some(tags.clone()))
                    .send()
            },
        )
        .await;
        match made {
            Ok(_) => kit::info!(
                "created pipeline {name} ({}); AWS starts its first execution now",
                d.source.kind()
            ),
            Err(e) if e.is_code("PipelineNameInUseException") || e.is_already_exists() => {
                let found = observe::pipeline(cx, c, &d.n).await?;
                ours_or_refuse(&format!("pipeline {name}"), found.map(|p| p.owner), cx)?;
            }
            Err(e) => return Err(e),
        }
        let (got, ()) = futures::try_join!(
            async {
                c.codepipeline
                    .get_pipeline()
                    .name(name)
                    .send()
                    .await
                    .ctx(format!("reading pipeline {name}"))
            },
            async {
                if hold {
                    set_deploy_transition(c, d, false).await?;
                }
                Ok(())
            },
        )?;
        let created = got
            .metadata()
            .and_then(|m| m.created())
            .map(aws_smithy_types::DateTime::secs);
        return Ok((version, created));
    }
    wait::retrying(
        cx,
        &format!("updating pipeline {name}"),
        aws::is_role_propagating,
        || {
            c.codepipeline
                .update_pipeline()
                .pipeline(decl.clone())
                .send()
        },
    )
    .await?;
    match &d.token {
        Some(t) => kit::info!(
            "updated pipeline {name} (source token from secret {})",
            t.name
        ),
        None => kit::info!("updated pipeline {name}"),
    }
    // The pipeline is the same one: its creation time stays what observe read.
    Ok((version, None))
}

/// Enable or disable the Deploy stage's inbound transition. Disabling right after
/// CreatePipeline holds the first execution before Deploy: its Source and Build take minutes,
/// this call milliseconds. Enabling sends the execution waiting there (the newest) on through
/// Deploy. Both are idempotent.
async fn set_deploy_transition(c: &Clients, d: &Desired, enabled: bool) -> Result<()> {
    let name = d.n.pipeline.as_str();
    if enabled {
        c.codepipeline
            .enable_stage_transition()
            .pipeline_name(name)
            .stage_name(DEPLOY_STAGE)
            .transition_type(cp::StageTransitionType::Inbound)
            .send()
            .await
            .ctx(format!(
                "enabling the {DEPLOY_STAGE} transition of pipeline {name}"
            ))?;
        kit::info!(
            "enabled the {DEPLOY_STAGE} transition of pipeline {name}: ECS service {} exists, so builds deploy to it",
            d.service
        );
    } else {
        c.codepipeline
            .disable_stage_transition()
            .pipeline_name(name)
            .stage_name(DEPLOY_STAGE)
            .transition_type(cp::StageTransitionType::Inbound)
            .reason(&d.deploy.reason)
            .send()
            .await
            .ctx(format!(
                "disabling the {DEPLOY_STAGE} transition of pipeline {name}"
            ))?;
        kit::info!(
            "disabled the {DEPLOY_STAGE} transition of pipeline {name} until ECS service {} exists (svc-up, then pipeline-up)",
            d.service
        );
    }
    Ok(())
}

/// CodeStar Notifications' answer while its service-linked role is too new to use.
fn role_lag<E: aws_smithy_types::error::metadata::ProvideErrorMetadata>(e: &E) -> bool {
    aws::code(e) == Some("ConfigurationException")
}

async fn ensure_rule(
    cx: &Cx,
    c: &Clients,
    d: &Desired,
    arn: Option<&str>,
    pipeline_created: Option<i64>,
    recorded_rule: Option<&str>,
) -> Result<String> {
    let n = &d.n;
    let target = cn::Target::builder()
        .target_type("SNS")
        .target_address(&n.topic_arn)
        .build();
    let events: Vec<String> = desired::EVENTS.iter().map(|e| (*e).to_owned()).collect();
    let created_at = match pipeline_created {
        Some(t) => t,
        None => observe::pipeline(cx, c, n)
            .await?
            .and_then(|p| p.created)
            .unwrap_or_default(),
    };
    let token = n.rule_token(created_at, recorded_rule);
    let attempt = || async {
        match arn {
            None => c
                .codestar
                .create_notification_rule()
                .name(&n.rule_name)
                .resource(&n.pipeline_arn)
                .detail_type(cn::DetailType::Full)
                .set_event_type_ids(Some(events.clone()))
                .targets(target.clone())
                .status(cn::NotificationRuleStatus::Enabled)
                .client_request_token(&token)
                .set_tags(Some(cx.tags().clone().into_iter().collect()))
                .send()
                .await
                .map(|out| out.arn().unwrap_or_default().to_owned())
                .map_err(aws_sdk_codestarnotifications::Error::from),
            Some(arn) => c
                .codestar
                .update_notification_rule()
                .arn(arn)
                .detail_type(cn::DetailType::Full)
                .set_event_type_ids(Some(events.clone()))
                .targets(target.clone())
                .status(cn::NotificationRuleStatus::Enabled)
                .send()
                .await
                .map(|_| arn.to_owned())
                .map_err(aws_sdk_codestarnotifications::Error::from),
        }
    };
    let doing = match arn {
        None => format!("creating notification rule {}", n.rule_name),
        Some(_) => format!("updating notification rule {}", n.rule_name),
    };
    let answer = match attempt().await {
        Err(e) if role_lag(&e) => {
            // A new service-linked role: AWS refuses rules for up to ~15 minutes.
            let last = std::cell::RefCell::new(None);
            wait::until(
                cx,
                &format!(
                    "CodeStar Notifications to accept notification rule {} (its service-linked role is new; AWS takes up to 15 minutes)",
                    n.rule_name
                ),
                || async {
                    match attempt().await {
                        Ok(v) => Ok(wait::Poll::Ready(Ok(v))),
                        Err(e) if role_lag(&e) => {
                            *last.borrow_mut() = Some(aws::describe(&e));
                            Ok(wait::Poll::Pending("refused: ConfigurationException".to_owned()))
                        }
                        Err(e) => Ok(wait::Poll::Ready(Err(e))),
                    }
                },
            )
            .await
            .map_err(|e| match last.borrow().as_ref() {
                Some(why) if e.kind == kit::Kind::Timeout => e.context_message(format!(
                    "{doing}: CodeStar Notifications still answers {why} — if slr-check --create made its service-linked role less than 15 minutes ago, rerun later; otherwise check that the role AWSServiceRoleForCodeStarNotifications exists"
                )),
                _ => e,
            })?
        }
        other => other,
    };
    match answer {
        Ok(rule_arn) => {
            match arn {
                None => kit::info!("created notification rule {}", n.rule_name),
                Some(_) => kit::info!("updated notification rule {}", n.rule_name),
            }
            Ok(rule_arn)
        }
        Err(e) if arn.is_none() && aws::is_already_exists(&e) => {
            // A retried create whose first answer was lost (or a service that ignored the
            // token): the rule is there; it must be ours.
            let found = observe::rule(cx, c, n, None).await?;
            let found_arn = found.as_ref().map(|r| r.arn.clone());
            ours_or_refuse(
                &format!("notification rule {}", n.rule_name),
                found.map(|r| r.owner),
                cx,
            )?;
            Ok(found_arn.unwrap_or_default())
        }
        Err(e) => Err(Error::from_sdk(doing, e)),
    }
}
