//! Carry out the plan: independent resources concurrently (bucket, topic, roles, project),
//! then the pipeline, then the notification rule on it.

use std::fmt;

use aws_sdk_codebuild::types as cb;
use aws_sdk_codepipeline::types as cp;
use aws_sdk_codestarnotifications::types as cn;
use aws_sdk_s3::types as s3t;
use kit::{AwsContext, Cx, Error, Plan, Result, aws, wait};
use serde_json::Value;
use stackdoc::Pipeline;

use crate::clients::Clients;
use crate::model::{self, Desired, MASK, Source};
use crate::observe::{ABORT_UPLOAD_DAYS, LIFECYCLE_RULE_ID};
use crate::{Arns, Observed, Op};

/// The GitHub token: shows as <redacted> in any Debug, so no log line can carry it.
struct Token(String);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

fn built<T, E: fmt::Display>(r: std::result::Result<T, E>, what: &str) -> Result<T> {
    r.map_err(|e| Error::aws(format!("building the request for {what}: {e}")))
}

pub async fn run(cx: &Cx, now: Observed, plan: Plan<Op>) -> Result<Pipeline> {
    let c = Clients::new(cx);
    let d = &now.d;
    let n = &d.n;
    let (mut bucket, mut topic, mut build_role, mut pipe_role) = (None, None, None, None);
    let (mut project, mut pipeline, mut rule) = (None, None, None);
    for change in &plan.changes {
        match &change.op {
            Op::Keep => {}
            op @ Op::Bucket { .. } => bucket = Some(op.clone()),
            op @ Op::Topic { .. } => topic = Some(op.clone()),
            op @ Op::Role { build: true, .. } => build_role = Some(op.clone()),
            op @ Op::Role { build: false, .. } => pipe_role = Some(op.clone()),
            op @ Op::Project { .. } => project = Some(op.clone()),
            op @ Op::Pipeline { .. } => pipeline = Some(op.clone()),
            op @ Op::Rule { .. } => rule = Some(op.clone()),
        }
    }

    futures::try_join!(
        async {
            match &bucket {
                Some(Op::Bucket { create, parts }) => {
                    ensure_bucket(cx, &c, d, *create, parts).await
                }
                _ => Ok(()),
            }
        },
        async {
            match &topic {
                Some(Op::Topic { create }) => ensure_topic(cx, &c, d, *create).await,
                _ => Ok(()),
            }
        },
        async {
            if let Some(op) = &build_role {
                ensure_role(cx, &c, d, op).await?;
            }
            match &project {
                Some(Op::Project { create }) => ensure_project(cx, &c, d, *create).await,
                _ => Ok(()),
            }
        },
        async {
            match &pipe_role {
                Some(op) => ensure_role(cx, &c, d, op).await,
                None => Ok(()),
            }
        },
    )?;
    if let Some(Op::Pipeline { create }) = &pipeline {
        ensure_pipeline(cx, &c, d, *create).await?;
    }
    let rule_arn = match (&rule, &now.rule) {
        (Some(Op::Rule { arn }), _) => ensure_rule(cx, &c, d, arn.as_deref()).await?,
        (_, Some(found)) => found.arn.clone(),
        (_, None) => String::new(),
    };
    Ok(crate::section(
        d,
        Arns {
            topic: n.topic_arn.clone(),
            build_role: n.build_role_arn.clone(),
            pipeline_role: n.pipeline_role_arn.clone(),
            project: n.project_arn.clone(),
            pipeline: n.pipeline_arn.clone(),
            rule: rule_arn,
        },
    ))
}

async fn ensure_bucket(
    cx: &Cx,
    c: &Clients,
    d: &Desired,
    create: bool,
    parts: &[&'static str],
) -> Result<()> {
    let b = d.n.bucket.as_str();
    if create {
        let mut req =
            c.s3.create_bucket()
                .bucket(b)
                .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced);
        if cx.region != "us-east-1" {
            req = req.create_bucket_configuration(
                s3t::CreateBucketConfiguration::builder()
                    .location_constraint(s3t::BucketLocationConstraint::from(cx.region.as_str()))
                    .build(),
            );
        }
        match req.send().await {
            Ok(_) => kit::info!("created S3 bucket {b}"),
            Err(e) if aws::code(&e) == Some("BucketAlreadyOwnedByYou") => {}
            Err(e) if aws::code(&e) == Some("BucketAlreadyExists") => {
                return Err(Error::aws(format!(
                    "the bucket name {b} is taken by another AWS account; S3 bucket names are global, so deploy under another --app"
                )));
            }
            Err(e) => {
                return Err(Error::aws(format!(
                    "creating S3 bucket {b}: {}",
                    aws::describe(&e)
                )));
            }
        }
        let tags: Vec<s3t::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| built(s3t::Tag::builder().key(k).value(v).build(), "a bucket tag"))
            .collect::<Result<_>>()?;
        c.s3.put_bucket_tagging()
            .bucket(b)
            .tagging(built(
                s3t::Tagging::builder().set_tag_set(Some(tags)).build(),
                "the bucket tags",
            )?)
            .send()
            .await
            .ctx(format!("tagging S3 bucket {b}"))?;
    }
    // Ownership and the public access block come before the policy, as S3 wants.
    for part in parts {
        put_bucket_part(c, d, part).await?;
    }
    if !create {
        kit::info!("updated S3 bucket {b} ({})", parts.join(", "));
    }
    Ok(())
}

async fn put_bucket_part(c: &Clients, d: &Desired, part: &str) -> Result<()> {
    let b = d.n.bucket.as_str();
    match part {
        "ownership" => {
            let rule = built(
                s3t::OwnershipControlsRule::builder()
                    .object_ownership(s3t::ObjectOwnership::BucketOwnerEnforced)
                    .build(),
                "the ownership rule",
            )?;
            c.s3.put_bucket_ownership_controls()
                .bucket(b)
                .ownership_controls(built(
                    s3t::OwnershipControls::builder().rules(rule).build(),
                    "the ownership controls",
                )?)
                .send()
                .await
                .ctx(format!("setting object ownership on bucket {b}"))?;
        }
        "publicAccessBlock" => {
            c.s3.put_public_access_block()
                .bucket(b)
                .public_access_block_configuration(
                    s3t::PublicAccessBlockConfiguration::builder()
                        .block_public_acls(true)
                        .ignore_public_acls(true)
                        .block_public_policy(true)
                        .restrict_public_buckets(true)
                        .build(),
                )
                .send()
                .await
                .ctx(format!("blocking public access to bucket {b}"))?;
        }
        "encryption" => {
            let default = built(
                s3t::ServerSideEncryptionByDefault::builder()
                    .sse_algorithm(s3t::ServerSideEncryption::Aes256)
                    .build(),
                "the encryption default",
            )?;
            let config = built(
                s3t::ServerSideEncryptionConfiguration::builder()
                    .rules(
                        s3t::ServerSideEncryptionRule::builder()
                            .apply_server_side_encryption_by_default(default)
                            .build(),
                    )
                    .build(),
                "the encryption configuration",
            )?;
            c.s3.put_bucket_encryption()
                .bucket(b)
                .server_side_encryption_configuration(config)
                .send()
                .await
                .ctx(format!("setting SSE-S3 encryption on bucket {b}"))?;
        }
        "policy" => {
            c.s3.put_bucket_policy()
                .bucket(b)
                .policy(d.bucket_policy.to_string())
                .send()
                .await
                .ctx(format!("setting the TLS-only policy of bucket {b}"))?;
        }
        "lifecycle" => {
            let rule = built(
                s3t::LifecycleRule::builder()
                    .id(LIFECYCLE_RULE_ID)
                    .status(s3t::ExpirationStatus::Enabled)
                    .filter(s3t::LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(
                        s3t::LifecycleExpiration::builder()
                            .days(model::ARTIFACT_DAYS)
                            .build(),
                    )
                    .abort_incomplete_multipart_upload(
                        s3t::AbortIncompleteMultipartUpload::builder()
                            .days_after_initiation(ABORT_UPLOAD_DAYS)
                            .build(),
                    )
                    .build(),
                "the lifecycle rule",
            )?;
            c.s3.put_bucket_lifecycle_configuration()
                .bucket(b)
                .lifecycle_configuration(built(
                    s3t::BucketLifecycleConfiguration::builder()
                        .rules(rule)
                        .build(),
                    "the lifecycle configuration",
                )?)
                .send()
                .await
                .ctx(format!("setting the lifecycle rule of bucket {b}"))?;
        }
        other => return Err(Error::aws(format!("unknown bucket setting {other}"))),
    }
    Ok(())
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
        match c
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(trust_doc.to_string())
            .description(format!("stagehand: the {purpose} of {}", cx.app))
            .set_tags(Some(tags))
            .send()
            .await
        {
            Ok(_) => kit::info!("created IAM role {name}"),
            Err(e) if aws::is_already_exists(&e) => {}
            Err(e) => {
                return Err(Error::aws(format!(
                    "creating IAM role {name}: {}",
                    aws::describe(&e)
                )));
            }
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

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

async fn ensure_project(cx: &Cx, c: &Clients, d: &Desired, create: bool) -> Result<()> {
    let p = &d.project_settings;
    let name = d.n.project.as_str();
    let env = &p["environment"];
    let vars: Vec<cb::EnvironmentVariable> = env["variables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            built(
                cb::EnvironmentVariable::builder()
                    .name(s(v, "name"))
                    .value(s(v, "value"))
                    .r#type(cb::EnvironmentVariableType::from(s(v, "type")))
                    .build(),
                "an environment variable",
            )
        })
        .collect::<Result<_>>()?;
    let source = built(
        cb::ProjectSource::builder()
            .r#type(cb::SourceType::from(s(&p["source"], "type")))
            .buildspec(s(&p["source"], "buildspec"))
            .build(),
        "the project source",
    )?;
    let artifacts = built(
        cb::ProjectArtifacts::builder()
            .r#type(cb::ArtifactsType::from(s(&p["artifacts"], "type")))
            .build(),
        "the project artifacts",
    )?;
    let environment = built(
        cb::ProjectEnvironment::builder()
            .r#type(cb::EnvironmentType::from(s(env, "type")))
            .image(s(env, "image"))
            .compute_type(cb::ComputeType::from(s(env, "computeType")))
            .privileged_mode(env["privilegedMode"].as_bool().unwrap_or(false))
            .set_environment_variables(Some(vars))
            .build(),
        "the project environment",
    )?;
    let logs = cb::LogsConfig::builder()
        .cloud_watch_logs(built(
            cb::CloudWatchLogsConfig::builder()
                .status(cb::LogsConfigStatusType::from(s(&p["logs"], "status")))
                .group_name(s(&p["logs"], "groupName"))
                .build(),
            "the project logs",
        )?)
        .build();
    let role = s(p, "serviceRole");
    let timeout = p["timeoutInMinutes"]
        .as_i64()
        .and_then(|t| i32::try_from(t).ok())
        .unwrap_or(model::BUILD_TIMEOUT_MINUTES);
    if create {
        let tags: Vec<cb::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| cb::Tag::builder().key(k).value(v).build())
            .collect();
        wait::retrying(
            cx,
            &format!("creating CodeBuild project {name}"),
            kit::aws::is_role_propagating,
            || {
                c.codebuild
                    .create_project()
                    .name(name)
                    .description(format!("stagehand: builds the {} image", cx.app))
                    .source(source.clone())
                    .artifacts(artifacts.clone())
                    .environment(environment.clone())
                    .logs_config(logs.clone())
                    .service_role(role)
                    .timeout_in_minutes(timeout)
                    .set_tags(Some(tags.clone()))
                    .send()
            },
        )
        .await?;
        kit::info!("created CodeBuild project {name}");
    } else {
        wait::retrying(
            cx,
            &format!("updating CodeBuild project {name}"),
            kit::aws::is_role_propagating,
            || {
                c.codebuild
                    .update_project()
                    .name(name)
                    .source(source.clone())
                    .artifacts(artifacts.clone())
                    .environment(environment.clone())
                    .logs_config(logs.clone())
                    .service_role(role)
                    .timeout_in_minutes(timeout)
                    .send()
            },
        )
        .await?;
        kit::info!("updated CodeBuild project {name}");
    }
    Ok(())
}

/// The GitHub token, read from the secret when the pipeline needs it.
async fn token(c: &Clients, secret_arn: &str) -> Result<Token> {
    let out = c
        .secrets
        .get_secret_value()
        .secret_id(secret_arn)
        .send()
        .await
        .ctx(format!(
            "reading the GitHub token from secret {secret_arn}; pipeline-up needs secretsmanager:GetSecretValue on it"
        ))?;
    match out.secret_string() {
        Some(t) if !t.trim().is_empty() => Ok(Token(t.trim().to_owned())),
        _ => Err(Error::usage(format!(
            "the GitHub-token secret {secret_arn} is empty; store the token with secrets-init --rotate"
        ))),
    }
}

/// The SDK declaration from the normalised one, with the token in place of its mask.
fn declaration(d: &Desired, token: Option<&Token>) -> Result<cp::PipelineDeclaration> {
    let p = &d.pipeline_settings;
    let mut stages = Vec::new();
    for stage in p["stages"].as_array().into_iter().flatten() {
        let mut actions = Vec::new();
        for a in stage["actions"].as_array().into_iter().flatten() {
            let t = &a["actionTypeId"];
            let type_id = built(
                cp::ActionTypeId::builder()
                    .category(cp::ActionCategory::from(s(t, "category")))
                    .owner(cp::ActionOwner::from(s(t, "owner")))
                    .provider(s(t, "provider"))
                    .version(s(t, "version"))
                    .build(),
                "an action type",
            )?;
            let mut b = cp::ActionDeclaration::builder()
                .name(s(a, "name"))
                .action_type_id(type_id)
                .run_order(1);
            for (k, v) in a["configuration"].as_object().into_iter().flatten() {
                let value = v.as_str().unwrap_or_default();
                let value = match (k.as_str(), token) {
                    ("OAuthToken", Some(t)) if value == MASK => t.0.as_str(),
                    _ => value,
                };
                b = b.configuration(k, value);
            }
            for i in a["inputArtifacts"].as_array().into_iter().flatten() {
                b = b.input_artifacts(built(
                    cp::InputArtifact::builder()
                        .name(i.as_str().unwrap_or_default())
                        .build(),
                    "an input artifact",
                )?);
            }
            for o in a["outputArtifacts"].as_array().into_iter().flatten() {
                b = b.output_artifacts(built(
                    cp::OutputArtifact::builder()
                        .name(o.as_str().unwrap_or_default())
                        .build(),
                    "an output artifact",
                )?);
            }
            actions.push(built(b.build(), "an action")?);
        }
        stages.push(built(
            cp::StageDeclaration::builder()
                .name(s(stage, "name"))
                .set_actions(Some(actions))
                .build(),
            "a stage",
        )?);
    }
    let store = built(
        cp::ArtifactStore::builder()
            .r#type(cp::ArtifactStoreType::S3)
            .location(s(&p["artifactStore"], "location"))
            .build(),
        "the artifact store",
    )?;
    built(
        cp::PipelineDeclaration::builder()
            .name(s(p, "name"))
            .role_arn(s(p, "roleArn"))
            .artifact_store(store)
            .set_stages(Some(stages))
            .build(),
        "the pipeline",
    )
}

async fn ensure_pipeline(cx: &Cx, c: &Clients, d: &Desired, create: bool) -> Result<()> {
    let name = d.n.pipeline.as_str();
    let token = match &d.source {
        Source::GithubV1 {
            token_secret_arn, ..
        } => Some(token(c, token_secret_arn).await?),
        Source::Connection { .. } => None,
    };
    let decl = declaration(d, token.as_ref())?;
    if create {
        let tags: Vec<cp::Tag> = cx
            .tags()
            .iter()
            .map(|(k, v)| built(cp::Tag::builder().key(k).value(v).build(), "a pipeline tag"))
            .collect::<Result<_>>()?;
        wait::retrying(
            cx,
            &format!("creating pipeline {name}"),
            kit::aws::is_role_propagating,
            || {
                c.codepipeline
                    .create_pipeline()
                    .pipeline(decl.clone())
                    .set_tags(Some(tags.clone()))
                    .send()
            },
        )
        .await?;
        kit::info!("created pipeline {name} ({})", d.source.kind());
    } else {
        wait::retrying(
            cx,
            &format!("updating pipeline {name}"),
            kit::aws::is_role_propagating,
            || {
                c.codepipeline
                    .update_pipeline()
                    .pipeline(decl.clone())
                    .send()
            },
        )
        .await?;
        kit::info!("updated pipeline {name}");
    }
    Ok(())
}

async fn ensure_rule(cx: &Cx, c: &Clients, d: &Desired, arn: Option<&str>) -> Result<String> {
    let n = &d.n;
    let target = cn::Target::builder()
        .target_type("SNS")
        .target_address(&n.topic_arn)
        .build();
    let events: Vec<String> = model::EVENTS.iter().map(|e| (*e).to_owned()).collect();
    let remedy = |e: &dyn fmt::Display| {
        Error::aws(format!(
            "creating notification rule {}: {e}; the CodeStar Notifications service-linked role is probably missing: run slr-check --create, then rerun pipeline-up",
            n.rule_name
        ))
    };
    match arn {
        None => {
            let out = c
                .codestar
                .create_notification_rule()
                .name(&n.rule_name)
                .resource(&n.pipeline_arn)
                .detail_type(cn::DetailType::Full)
                .set_event_type_ids(Some(events))
                .targets(target)
                .status(cn::NotificationRuleStatus::Enabled)
                .set_tags(Some(cx.tags().clone().into_iter().collect()))
                .send()
                .await;
            match out {
                Ok(out) => {
                    kit::info!("created notification rule {}", n.rule_name);
                    Ok(out.arn().unwrap_or_default().to_owned())
                }
                Err(e) if aws::code(&e) == Some("ConfigurationException") => {
                    Err(remedy(&aws::describe(&e)))
                }
                Err(e) => Err(Error::aws(format!(
                    "creating notification rule {}: {}",
                    n.rule_name,
                    aws::describe(&e)
                ))),
            }
        }
        Some(arn) => {
            let out = c
                .codestar
                .update_notification_rule()
                .arn(arn)
                .detail_type(cn::DetailType::Full)
                .set_event_type_ids(Some(events))
                .targets(target)
                .status(cn::NotificationRuleStatus::Enabled)
                .send()
                .await;
            match out {
                Ok(_) => {
                    kit::info!("updated notification rule {}", n.rule_name);
                    Ok(arn.to_owned())
                }
                Err(e) if aws::code(&e) == Some("ConfigurationException") => {
                    Err(remedy(&aws::describe(&e)))
                }
                Err(e) => Err(Error::aws(format!(
                    "updating notification rule {}: {}",
                    n.rule_name,
                    aws::describe(&e)
                ))),
            }
        }
    }
}
