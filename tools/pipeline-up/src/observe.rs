//! Read-only calls: what exists now, found by deterministic name, with its settings in the
//! normalised form of [`crate::desired`]. Every read that does not depend on another runs side
//! by side, so observe costs one round trip on a rerun (two when the rule must be listed). The
//! pipeline's state (GetPipelineState: the Deploy transition) is read beside its declaration.

use std::collections::BTreeMap;

use aws_sdk_codebuild::types::Project;
use aws_sdk_codepipeline::operation::get_pipeline_state::GetPipelineStateOutput;
use aws_sdk_codepipeline::types::PipelineDeclaration;
use aws_sdk_codestarnotifications::types::{
    ListNotificationRulesFilter, ListNotificationRulesFilterName,
};
use kit::{AwsContext, Cx, Error, Result, TAG_APP, TAG_STEP};
use serde_json::{Map, Value, json};
use stackdoc::{PLANNED, Pipeline, Section};

use crate::bucket;
use crate::clients::Clients;
use crate::desired::{self, DEPLOY_STAGE, Desired, Inputs, MASK};
use crate::names::Names;
use crate::{Args, Observed};

/// The CodeStar Notifications service-linked role's path.
pub const CODESTAR_SLR_PATH: &str = "/aws-service-role/codestar-notifications.amazonaws.com/";

/// Who made a resource, by its stagehand tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// This step of this app.
    Us,
    /// Another app or step (named in refusals).
    Other { app: String, step: String },
    /// No stagehand tags at all.
    Untagged,
}

pub fn owner_of<'a>(cx: &Cx, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Owner {
    let (mut app, mut step) = (None, None);
    for (k, v) in tags {
        if k == TAG_APP {
            app = Some(v.to_owned());
        } else if k == TAG_STEP {
            step = Some(v.to_owned());
        }
    }
    match (app, step) {
        (None, None) => Owner::Untagged,
        (Some(a), Some(s)) if a == cx.app && s == cx.section => Owner::Us,
        (a, s) => Owner::Other {
            app: a.unwrap_or_default(),
            step: s.unwrap_or_default(),
        },
    }
}

/// A resource as found: who made it, and its managed settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub owner: Owner,
    pub settings: Value,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundRole {
    pub owner: Owner,
    pub trust: Option<Value>,
    pub policy: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundPipeline {
    pub owner: Owner,
    pub settings: Value,
    /// When it was created (epoch seconds): the rule's idempotency token depends on it.
    pub created: Option<i64>,
    /// Whether the Deploy stage's inbound transition is enabled (GetPipelineState; a stage
    /// that state does not list, e.g. one just added, counts as enabled, AWS's default).
    pub deploy_enabled: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FoundRule {
    pub arn: String,
    pub owner: Owner,
    pub settings: Value,
}

pub use crate::bucket::FoundBucket;

/// Everything the diff needs: the document and flags first (a missing section or flag fails
/// before any AWS call), then every read side by side.
pub async fn run(cx: &Cx, args: &Args) -> Result<Observed> {
    let inputs = Inputs::from_doc(cx, args.connection_arn.is_none())?;
    let d = desired::desired(args, &inputs, &cx.app, &cx.account, &cx.region)?;
    let own = cx.doc.raw_section(Pipeline::NAME);
    let recorded = |key: &str| {
        own.and_then(|s| s.get(key))
            .and_then(Value::as_str)
            .filter(|v| *v != PLANNED && !v.is_empty())
            .map(str::to_owned)
    };
    let token_recorded = recorded("token_version");
    let rule_recorded = recorded("notification_rule_arn");
    let c = Clients::new(cx);
    let n = &d.n;
    let (
        bucket,
        topic,
        build_role,
        pipeline_role,
        project,
        pipeline,
        rule,
        token_current,
        build_logs,
    ) = futures::try_join!(
        bucket::observe(cx, &c, n),
        topic(cx, &c, n),
        role(cx, &c, &n.build_role),
        role(cx, &c, &n.pipeline_role),
        project(cx, &c, n),
        pipeline(cx, &c, n),
        async {
            // The service-linked role matters only when the rule must be made or changed: a
            // rerun whose rule is as wanted does not look it up.
            let rule = rule(cx, &c, n, rule_recorded.as_deref()).await?;
            let settled = rule
                .as_ref()
                .is_some_and(|r| r.settings == rule_settings(&d));
            let role = settled || codestar_role_present(&c).await?;
            Ok::<_, Error>((rule, role))
        },
        token_version(&c, &d),
        log_groups::find(&c.logs, &n.log_group),
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
        build_logs,
        codestar_role,
        token_current,
        token_recorded,
        rule_recorded,
    })
}

/// The token secret's AWSCURRENT version (github-v1). A secret that does not exist is bad
/// input found before any write; a planned one (a chained plan) has no version yet.
async fn token_version(c: &Clients, d: &Desired) -> Result<Option<String>> {
    let Some(token) = &d.token else {
        return Ok(None);
    };
    if token.arn == PLANNED {
        return Ok(None);
    }
    match secret::current_version(&c.secrets, &token.arn).await? {
        Some(v) => Ok(Some(v)),
        None => Err(Error::usage(format!(
            "the GitHub token secret {} does not exist; run secrets-init (with GITHUB_TOKEN) to make it, then rerun pipeline-up",
            token.name
        ))),
    }
}

pub async fn topic(cx: &Cx, c: &Clients, n: &Names) -> Result<Option<Found>> {
    let arn = n.topic_arn.as_str();
    let (attrs, tags) = futures::join!(
        c.sns.get_topic_attributes().topic_arn(arn).send(),
        c.sns.list_tags_for_resource().resource_arn(arn).send(),
    );
    let Some(attrs) = attrs.found(format!("reading topic {}", n.topic_name))? else {
        return Ok(None);
    };
    let tags = tags.ctx(format!("reading the tags of topic {}", n.topic_name))?;
    let owner = owner_of(cx, tags.tags().iter().map(|t| (t.key(), t.value())));
    let policy = attrs
        .attributes()
        .and_then(|a| a.get("Policy"))
        .and_then(|p| parse_policy(p))
        .unwrap_or(Value::Null);
    Ok(Some(Found {
        owner,
        settings: json!({"policy": policy}),
    }))
}

pub async fn role(cx: &Cx, c: &Clients, name: &str) -> Result<Option<FoundRole>> {
    let (role, policy) = futures::join!(
        c.iam.get_role().role_name(name).send(),
        c.iam
            .get_role_policy()
            .role_name(name)
            .policy_name(name)
            .send(),
    );
    let Some(role) = role.found(format!("reading IAM role {name}"))? else {
        return Ok(None);
    };
    let policy = policy
        .found(format!("reading the policy of IAM role {name}"))?
        .and_then(|p| parse_policy(p.policy_document()));
    let role = role.role();
    let owner = owner_of(
        cx,
        role.iter()
            .flat_map(|r| r.tags().iter().map(|t| (t.key(), t.value()))),
    );
    Ok(Some(FoundRole {
        owner,
        trust: role
            .and_then(|r| r.assume_role_policy_document())
            .and_then(parse_policy),
        policy,
    }))
}

pub async fn project(cx: &Cx, c: &Clients, n: &Names) -> Result<Option<Found>> {
    let out = c
        .codebuild
        .batch_get_projects()
        .names(&n.project)
        .send()
        .await
        .ctx(format!("reading CodeBuild project {}", n.project))?;
    let Some(p) = out
        .projects()
        .iter()
        .find(|p| p.name() == Some(n.project.as_str()))
    else {
        return Ok(None);
    };
    let owner = owner_of(
        cx,
        p.tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    );
    Ok(Some(Found {
        owner,
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

pub async fn pipeline(cx: &Cx, c: &Clients, n: &Names) -> Result<Option<FoundPipeline>> {
    // The state (the Deploy transition) is read side by side with the declaration and tags:
    // one more read, no more round trips.
    let (got, tags, state) = futures::join!(
        c.codepipeline.get_pipeline().name(&n.pipeline).send(),
        c.codepipeline
            .list_tags_for_resource()
            .resource_arn(&n.pipeline_arn)
            .send(),
        c.codepipeline.get_pipeline_state().name(&n.pipeline).send(),
    );
    let Some(got) = got.found(format!("reading pipeline {}", n.pipeline))? else {
        return Ok(None);
    };
    let owner = match tags.found(format!("reading the tags of pipeline {}", n.pipeline))? {
        Some(t) => owner_of(cx, t.tags().iter().map(|t| (t.key(), t.value()))),
        None => Owner::Untagged,
    };
    let state = state.found(format!("reading the state of pipeline {}", n.pipeline))?;
    let Some(decl) = got.pipeline() else {
        return Ok(None);
    };
    Ok(Some(FoundPipeline {
        owner,
        settings: pipeline_now(decl),
        created: got
            .metadata()
            .and_then(|m| m.created())
            .map(aws_smithy_types::DateTime::secs),
        deploy_enabled: state.is_none_or(|s| inbound_enabled(&s, DEPLOY_STAGE)),
    }))
}

/// Whether a stage's inbound transition is enabled, as GetPipelineState shows it.
pub fn inbound_enabled(state: &GetPipelineStateOutput, stage: &str) -> bool {
    state
        .stage_states()
        .iter()
        .find(|s| s.stage_name() == Some(stage))
        .and_then(|s| s.inbound_transition_state())
        .is_none_or(|t| t.enabled())
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

/// The notification rule of this name on the pipeline, if any: read straight from the ARN the
/// document recorded, else found by listing the pipeline's rules.
pub async fn rule(
    cx: &Cx,
    c: &Clients,
    n: &Names,
    hint: Option<&str>,
) -> Result<Option<FoundRule>> {
    if let Some(arn) = hint
        && let Some(found) = describe_rule(cx, c, n, arn).await?
    {
        return Ok(Some(found));
    }
    let filter = ListNotificationRulesFilter::builder()
        .name(ListNotificationRulesFilterName::Resource)
        .value(&n.pipeline_arn)
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
                n.pipeline
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
    let described = futures::future::try_join_all(
        arns.iter()
            .filter(|arn| Some(arn.as_str()) != hint)
            .map(|arn| describe_rule(cx, c, n, arn)),
    )
    .await?;
    Ok(described.into_iter().flatten().next())
}

/// The rule at `arn` when it is this step's rule (its name, on this pipeline).
async fn describe_rule(cx: &Cx, c: &Clients, n: &Names, arn: &str) -> Result<Option<FoundRule>> {
    let Some(r) = c
        .codestar
        .describe_notification_rule()
        .arn(arn)
        .send()
        .await
        .found(format!("reading notification rule {arn}"))?
    else {
        return Ok(None);
    };
    if r.name() != Some(n.rule_name.as_str()) || r.resource() != Some(n.pipeline_arn.as_str()) {
        return Ok(None);
    }
    let owner = owner_of(
        cx,
        r.tags()
            .into_iter()
            .flat_map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
    );
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
        owner,
        settings: json!({
            "detailType": r.detail_type().map(|t| t.as_str()),
            "events": events,
            "targets": targets,
            "status": r.status().map(|s| s.as_str()),
        }),
    }))
}

pub fn rule_settings(d: &Desired) -> Value {
    let mut events: Vec<&str> = desired::EVENTS.to_vec();
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

/// An IAM policy document as IAM returns it (URL-encoded JSON) or as given (JSON).
pub fn parse_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&percent_decode(text)).ok())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(b)) = (bytes[i], hex) {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_decode_either_way() {
        let v = json!({"a": [1, "b c"]});
        assert_eq!(parse_policy(&v.to_string()), Some(v.clone()));
        assert_eq!(
            parse_policy("%7B%22a%22%3A%5B1%2C%22b%20c%22%5D%7D"),
            Some(v)
        );
    }
}
