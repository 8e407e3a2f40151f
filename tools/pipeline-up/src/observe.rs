//! Read-only calls: what exists now, found by deterministic name, with its settings in the
//! normalised form of [`crate::model`].

use std::collections::BTreeMap;

use aws_sdk_codebuild::types::Project;
use aws_sdk_codepipeline::types::PipelineDeclaration;
use aws_sdk_codestarnotifications::types::{
    ListNotificationRulesFilter, ListNotificationRulesFilterName,
};
use kit::{AwsContext, Cx, Error, Result, aws};
use serde_json::{Map, Value, json};

use crate::clients::Clients;
use crate::model::{Desired, MASK, Names, parse_policy};

/// The CodeStar Notifications service-linked role's path.
pub const CODESTAR_SLR_PATH: &str = "/aws-service-role/codestar-notifications.amazonaws.com/";

/// A resource as found: whether stagehand made it for this app, and its managed settings.
#[derive(Debug, Clone)]
pub struct Found {
    pub owned: bool,
    pub settings: Value,
}

#[derive(Debug, Clone)]
pub struct FoundRole {
    pub owned: bool,
    pub trust: Option<Value>,
    pub policy: Option<Value>,
}

#[derive(Debug, Clone)]
pub struct FoundRule {
    pub arn: String,
    pub owned: bool,
    pub settings: Value,
}

pub fn tags_owned<'a>(cx: &Cx, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
    cx.owns(tags)
}

/// The S3 error codes that mean "this bucket setting is not there".
fn absent_setting(code: Option<&str>) -> bool {
    matches!(
        code,
        Some(
            "NoSuchBucketPolicy"
                | "ServerSideEncryptionConfigurationNotFoundError"
                | "NoSuchPublicAccessBlockConfiguration"
                | "OwnershipControlsNotFoundError"
                | "NoSuchLifecycleConfiguration"
                | "NoSuchTagSet"
                | "NoSuchTagSetError"
        )
    )
}

macro_rules! setting {
    ($call:expr, $what:expr, $bucket:expr) => {
        match $call.await {
            Ok(out) => Some(out),
            Err(e) if absent_setting(aws::code(&e)) => None,
            Err(e) => {
                return Err(Error::aws(format!(
                    "reading the {} of bucket {}: {}",
                    $what,
                    $bucket,
                    aws::describe(&e)
                )));
            }
        }
    };
}

/// The artifact bucket's managed settings, normalised like [`bucket_settings`].
pub async fn bucket(cx: &Cx, c: &Clients, d: &Names) -> Result<Option<Found>> {
    let b = d.bucket.as_str();
    match c.s3.head_bucket().bucket(b).send().await {
        Ok(_) => {}
        Err(e) if aws::is_not_found(&e) => return Ok(None),
        Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(403) => {
            return Err(Error::aws(format!(
                "the bucket name {b} is taken by another AWS account; S3 bucket names are global, so deploy under another --app"
            )));
        }
        Err(e) => {
            return Err(Error::aws(format!(
                "looking for bucket {b}: {}",
                aws::describe(&e)
            )));
        }
    }
    let (policy, encryption, block, ownership, lifecycle, tagging) = futures::join!(
        async {
            Ok::<_, Error>(setting!(
                c.s3.get_bucket_policy().bucket(b).send(),
                "policy",
                b
            ))
        },
        async {
            Ok::<_, Error>(setting!(
                c.s3.get_bucket_encryption().bucket(b).send(),
                "encryption",
                b
            ))
        },
        async {
            Ok::<_, Error>(setting!(
                c.s3.get_public_access_block().bucket(b).send(),
                "public access block",
                b
            ))
        },
        async {
            Ok::<_, Error>(setting!(
                c.s3.get_bucket_ownership_controls().bucket(b).send(),
                "ownership controls",
                b
            ))
        },
        async {
            Ok::<_, Error>(setting!(
                c.s3.get_bucket_lifecycle_configuration().bucket(b).send(),
                "lifecycle rules",
                b
            ))
        },
        async {
            Ok::<_, Error>(setting!(
                c.s3.get_bucket_tagging().bucket(b).send(),
                "tags",
                b
            ))
        },
    );
    let (policy, encryption, block, ownership, lifecycle, tagging) = (
        policy?,
        encryption?,
        block?,
        ownership?,
        lifecycle?,
        tagging?,
    );
    let owned =
        tagging.is_some_and(|t| tags_owned(cx, t.tag_set().iter().map(|t| (t.key(), t.value()))));
    let policy = policy
        .and_then(|p| p.policy().and_then(parse_policy))
        .unwrap_or(Value::Null);
    let encryption = encryption
        .and_then(|e| {
            e.server_side_encryption_configuration()
                .and_then(|c| c.rules().first())
                .and_then(|r| r.apply_server_side_encryption_by_default())
                .map(|d| Value::from(d.sse_algorithm().as_str()))
        })
        .unwrap_or(Value::Null);
    let block = block
        .and_then(|b| {
            b.public_access_block_configuration().map(|c| {
                json!([
                    c.block_public_acls().unwrap_or(false),
                    c.ignore_public_acls().unwrap_or(false),
                    c.block_public_policy().unwrap_or(false),
                    c.restrict_public_buckets().unwrap_or(false)
                ])
            })
        })
        .unwrap_or(Value::Null);
    let ownership = ownership
        .and_then(|o| {
            o.ownership_controls()
                .and_then(|c| c.rules().first())
                .map(|r| Value::from(r.object_ownership().as_str()))
        })
        .unwrap_or(Value::Null);
    let lifecycle = lifecycle
        .map(|l| {
            Value::Array(
                l.rules()
                    .iter()
                    .map(|r| {
                        lifecycle_rule(
                            r.id().unwrap_or_default(),
                            r.status().as_str(),
                            r.expiration().and_then(|e| e.days()),
                            r.abort_incomplete_multipart_upload()
                                .and_then(|a| a.days_after_initiation()),
                        )
                    })
                    .collect(),
            )
        })
        .unwrap_or(Value::Null);
    Ok(Some(Found {
        owned,
        settings: json!({
            "policy": policy,
            "encryption": encryption,
            "publicAccessBlock": block,
            "ownership": ownership,
            "lifecycle": lifecycle,
        }),
    }))
}

pub const LIFECYCLE_RULE_ID: &str = "expire-artifacts";
pub const ABORT_UPLOAD_DAYS: i32 = 7;

pub fn lifecycle_rule(id: &str, status: &str, days: Option<i32>, abort: Option<i32>) -> Value {
    json!({"id": id, "status": status, "expirationDays": days, "abortIncompleteUploadDays": abort})
}

/// The bucket settings pipeline-up wants.
pub fn bucket_settings(d: &Desired) -> Value {
    json!({
        "policy": d.bucket_policy,
        "encryption": "AES256",
        "publicAccessBlock": [true, true, true, true],
        "ownership": "BucketOwnerEnforced",
        "lifecycle": [lifecycle_rule(
            LIFECYCLE_RULE_ID,
            "Enabled",
            Some(crate::model::ARTIFACT_DAYS),
            Some(ABORT_UPLOAD_DAYS),
        )],
    })
}

pub async fn topic(cx: &Cx, c: &Clients, d: &Names) -> Result<Option<Found>> {
    let arn = d.topic_arn.as_str();
    let attrs = match c.sns.get_topic_attributes().topic_arn(arn).send().await {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(Error::aws(format!(
                "reading topic {}: {}",
                d.topic_name,
                aws::describe(&e)
            )));
        }
    };
    let tags = c
        .sns
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .ctx(format!("reading the tags of topic {}", d.topic_name))?;
    let owned = tags_owned(cx, tags.tags().iter().map(|t| (t.key(), t.value())));
    let policy = attrs
        .attributes()
        .and_then(|a| a.get("Policy"))
        .and_then(|p| parse_policy(p))
        .unwrap_or(Value::Null);
    Ok(Some(Found {
        owned,
        settings: json!({"policy": policy}),
    }))
}

pub async fn role(cx: &Cx, c: &Clients, name: &str) -> Result<Option<FoundRole>> {
    let role = match c.iam.get_role().role_name(name).send().await {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(Error::aws(format!(
                "reading IAM role {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let policy = match c
        .iam
        .get_role_policy()
        .role_name(name)
        .policy_name(name)
        .send()
        .await
    {
        Ok(out) => parse_policy(out.policy_document()),
        Err(e) if aws::is_not_found(&e) => None,
        Err(e) => {
            return Err(Error::aws(format!(
                "reading the policy of IAM role {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let role = role.role();
    let owned = role.is_some_and(|r| tags_owned(cx, r.tags().iter().map(|t| (t.key(), t.value()))));
    Ok(Some(FoundRole {
        owned,
        trust: role
            .and_then(|r| r.assume_role_policy_document())
            .and_then(parse_policy),
        policy,
    }))
}

pub async fn project(cx: &Cx, c: &Clients, d: &Names) -> Result<Option<Found>> {
    let out = c
        .codebuild
        .batch_get_projects()
        .names(&d.project)
        .send()
        .await
        .ctx(format!("reading CodeBuild project {}", d.project))?;
    let Some(p) = out
        .projects()
        .iter()
        .find(|p| p.name() == Some(d.project.as_str()))
    else {
        return Ok(None);
    };
    let owned = tags_owned(
        cx,
        p.tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    );
    Ok(Some(Found {
        owned,
        settings: project_now(p),
    }))
}

fn project_now(p: &Project) -> Value {
    let env = p.environment();
    let logs = p.logs_config().and_then(|l| l.cloud_watch_logs());
    json!({
        "source": {
            "type": p.source().map(|s| s.r#type().as_str()),
            "buildspec": p.source().and_then(|s| s.buildspec()),
        },
        "artifacts": {"type": p.artifacts().map(|a| a.r#type().as_str())},
        "environment": {
            "type": env.map(|e| e.r#type().as_str()),
            "image": env.map(|e| e.image()),
            "computeType": env.map(|e| e.compute_type().as_str()),
            "privilegedMode": env.and_then(|e| e.privileged_mode()).unwrap_or(false),
            "variables": env.map(|e| e.environment_variables().iter().map(|v| json!({
                "name": v.name(),
                "value": v.value(),
                "type": v.r#type().map_or("PLAINTEXT", |t| t.as_str()),
            })).collect::<Vec<_>>()).unwrap_or_default(),
        },
        "serviceRole": p.service_role(),
        "timeoutInMinutes": p.timeout_in_minutes(),
        "logs": {
            "status": logs.map(|l| l.status().as_str()),
            "groupName": logs.and_then(|l| l.group_name()),
        },
    })
}

pub async fn pipeline(cx: &Cx, c: &Clients, d: &Names) -> Result<Option<Found>> {
    let (got, tags) = futures::join!(
        c.codepipeline.get_pipeline().name(&d.pipeline).send(),
        c.codepipeline
            .list_tags_for_resource()
            .resource_arn(&d.pipeline_arn)
            .send(),
    );
    let got = match got {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => return Ok(None),
        Err(e) => {
            return Err(Error::aws(format!(
                "reading pipeline {}: {}",
                d.pipeline,
                aws::describe(&e)
            )));
        }
    };
    let owned = match tags {
        Ok(t) => tags_owned(cx, t.tags().iter().map(|t| (t.key(), t.value()))),
        Err(e) if aws::is_not_found(&e) => false,
        Err(e) => {
            return Err(Error::aws(format!(
                "reading the tags of pipeline {}: {}",
                d.pipeline,
                aws::describe(&e)
            )));
        }
    };
    let Some(decl) = got.pipeline() else {
        return Ok(None);
    };
    Ok(Some(Found {
        owned,
        settings: pipeline_now(decl),
    }))
}

/// The declaration in normalised form. A masked secret (`****`, how AWS always returns the
/// GitHub OAuthToken) stays `****`, which is also what the desired form holds: the token is
/// never compared, so its mask never reads as drift.
fn pipeline_now(p: &PipelineDeclaration) -> Value {
    let stages: Vec<Value> = p
        .stages()
        .iter()
        .map(|s| {
            let actions: Vec<Value> = s
                .actions()
                .iter()
                .map(|a| {
                    let mut config: Map<String, Value> = a
                        .configuration()
                        .map(|c| {
                            c.iter()
                                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                                .collect::<BTreeMap<_, _>>()
                                .into_iter()
                                .collect()
                        })
                        .unwrap_or_default();
                    if let Some(token) = config.get_mut("OAuthToken") {
                        // Whatever the service shows, the token is not compared.
                        *token = Value::from(MASK);
                    }
                    let t = a.action_type_id();
                    json!({
                        "name": a.name(),
                        "actionTypeId": {
                            "category": t.map(|t| t.category().as_str()),
                            "owner": t.map(|t| t.owner().as_str()),
                            "provider": t.map(|t| t.provider()),
                            "version": t.map(|t| t.version()),
                        },
                        "runOrder": a.run_order().unwrap_or(1),
                        "configuration": config,
                        "inputArtifacts": a.input_artifacts().iter().map(|i| i.name()).collect::<Vec<_>>(),
                        "outputArtifacts": a.output_artifacts().iter().map(|o| o.name()).collect::<Vec<_>>(),
                    })
                })
                .collect();
            json!({"name": s.name(), "actions": actions})
        })
        .collect();
    json!({
        "name": p.name(),
        "roleArn": p.role_arn(),
        "artifactStore": {
            "type": p.artifact_store().map(|a| a.r#type().as_str()),
            "location": p.artifact_store().map(|a| a.location()),
        },
        "stages": stages,
    })
}

/// The notification rule of this name on the pipeline, if any.
pub async fn rule(cx: &Cx, c: &Clients, d: &Names) -> Result<Option<FoundRule>> {
    let filter = ListNotificationRulesFilter::builder()
        .name(ListNotificationRulesFilterName::Resource)
        .value(&d.pipeline_arn)
        .build()
        .map_err(|e| Error::aws(format!("building a rule filter: {e}")))?;
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .codestar
            .list_notification_rules()
            .filters(filter.clone())
            .set_next_token(token)
            .send()
            .await
            .ctx(format!(
                "listing the notification rules of pipeline {}",
                d.pipeline
            ))?;
        arns.extend(
            out.notification_rules()
                .iter()
                .filter_map(|r| r.arn().map(str::to_owned)),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let described = futures::future::try_join_all(arns.iter().map(|arn| async move {
        c.codestar
            .describe_notification_rule()
            .arn(arn)
            .send()
            .await
            .ctx(format!("reading notification rule {arn}"))
    }))
    .await?;
    let Some(r) = described
        .into_iter()
        .find(|r| r.name() == Some(d.rule_name.as_str()))
    else {
        return Ok(None);
    };
    let owned = r
        .tags()
        .is_some_and(|t| tags_owned(cx, t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    let mut events: Vec<&str> = r
        .event_types()
        .iter()
        .filter_map(|e| e.event_type_id())
        .collect();
    events.sort_unstable();
    let targets: Vec<Value> = r
        .targets()
        .iter()
        .map(|t| json!({"type": t.target_type(), "address": t.target_address()}))
        .collect();
    Ok(Some(FoundRule {
        arn: r.arn().to_owned(),
        owned,
        settings: json!({
            "detailType": r.detail_type().map(|t| t.as_str()),
            "events": events,
            "targets": targets,
            "status": r.status().map(|s| s.as_str()),
        }),
    }))
}

pub fn rule_settings(d: &Desired) -> Value {
    let mut events: Vec<&str> = crate::model::EVENTS.to_vec();
    events.sort_unstable();
    json!({
        "detailType": "FULL",
        "events": events,
        "targets": [{"type": "SNS", "address": d.n.topic_arn}],
        "status": "ENABLED",
    })
}

/// Whether the account has the CodeStar Notifications service-linked role.
pub async fn codestar_role_present(c: &Clients) -> Result<bool> {
    let out = c
        .iam
        .list_roles()
        .path_prefix(CODESTAR_SLR_PATH)
        .send()
        .await
        .ctx("listing the CodeStar Notifications service-linked role")?;
    Ok(!out.roles().is_empty())
}
