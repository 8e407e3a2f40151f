//! The diff: what should exist (from [`crate::desired`]) against what does (from
//! [`crate::observe`]) → the plan, and the section a `--plan` run writes. Pure: no AWS call;
//! its rules are unit-tested below, table-driven, without an emulator.
//!
//! Rules a user relies on: a rerun with what exists changes nothing; every managed setting
//! that drifted is put back (and named in the plan); a resource of this name that another app
//! (or nobody) made is refused before any write, except the one case a killed run leaves —
//! an empty, untagged bucket of the stack's name — which is adopted; a newer GitHub token is
//! sent to a github-v1 pipeline, and an older document without a token version adopts the
//! current one without an update.

use kit::{Cx, Error, Field, Plan, Result, field};
use serde_json::Value;
use stackdoc::{PLANNED, Pipeline, Section, Slr};

use crate::desired::{DEPLOY_STAGE, Desired, Transition};
use crate::observe::{Owner, rule_settings};
use crate::{BUCKET_PARTS, Observed, Op, bucket};

/// The plan for `now`. In a chained plan, a planned `slr` section means slr-check --create
/// makes the CodeStar Notifications role, so a rule to create is not refused for its absence.
pub fn plan(cx: &Cx, now: &Observed) -> Result<Plan<Op>> {
    let role_planned = cx.plan_only() && cx.doc.is_planned(Slr::NAME);
    plan_of(now, &cx.app, role_planned)
}

/// A refusal of a resource this step did not make: exit 2, before any write.
fn refuse(resource: &str, owner: &Owner, app: &str, why: &str) -> Error {
    match owner {
        Owner::Other { app: other, step } if other != app => Error::usage(format!(
            "{resource} belongs to app {other} (its stagehand tags say app {other}, step {step}); pipeline-up of app {app} leaves it alone: deploy under another --app"
        )),
        _ => Error::usage(format!(
            "{resource} exists but was not created by pipeline-up for app {app}{why}; delete it, or deploy under another --app"
        )),
    }
}

/// The plan over plain data (see [`plan`]).
pub fn plan_of(now: &Observed, app: &str, role_planned: bool) -> Result<Plan<Op>> {
    let d = &now.d;
    let n = &d.n;
    let mut plan = Plan::new();
    let untagged = " (it has no stagehand:app/stagehand:step tags)";

    // Bucket.
    let want = bucket::wanted(d);
    let resource = format!("S3 bucket {}", n.bucket);
    let differing = |settings: &Value| -> Vec<&'static str> {
        BUCKET_PARTS
            .into_iter()
            .filter(|p| settings.get(p) != want.get(p))
            .collect()
    };
    match &now.bucket {
        None => plan.create(
            resource,
            Op::Bucket {
                create: true,
                tag: true,
                parts: BUCKET_PARTS.to_vec(),
            },
        ),
        Some(b) if b.owner == Owner::Us => {
            let parts = differing(&b.settings);
            if parts.is_empty() {
                plan.unchanged(resource, Op::Keep);
            } else {
                plan.update(
                    resource,
                    differences(&b.settings, &want, 6),
                    Op::Bucket {
                        create: false,
                        tag: false,
                        parts,
                    },
                );
            }
        }
        Some(b) if b.owner == Owner::Untagged && b.stranded => {
            let mut fields = vec![field(
                "ownership",
                "untagged and empty (a run stopped after creating it)",
                "adopted, tagged",
            )];
            fields.extend(differences(&b.settings, &want, 6));
            plan.update(
                resource,
                fields,
                Op::Bucket {
                    create: false,
                    tag: true,
                    parts: differing(&b.settings),
                },
            );
        }
        Some(b) => {
            let why = if b.owner == Owner::Untagged {
                " (it has no stagehand tags and holds objects)"
            } else {
                untagged
            };
            return Err(refuse(&resource, &b.owner, app, why));
        }
    }

    // Topic.
    let want = serde_json::json!({"policy": d.topic_policy});
    let resource = format!("SNS topic {}", n.topic_name);
    match &now.topic {
        None => plan.create(resource, Op::Topic { create: true }),
        Some(f) if f.owner != Owner::Us => return Err(refuse(&resource, &f.owner, app, untagged)),
        Some(f) if f.settings == want => plan.unchanged(resource, Op::Keep),
        Some(f) => plan.update(
            resource,
            differences(&f.settings, &want, 6),
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
            Some(r) if r.owner != Owner::Us => {
                return Err(refuse(&resource, &r.owner, app, untagged));
            }
            Some(r) => {
                let trust_drift = r.trust.as_ref() != Some(trust);
                let policy_drift = r.policy.as_ref() != Some(policy);
                if !trust_drift && !policy_drift {
                    plan.unchanged(resource, Op::Keep);
                    continue;
                }
                let mut fields: Vec<Field> = Vec::new();
                if trust_drift {
                    fields.extend(
                        differences(r.trust.as_ref().unwrap_or(&Value::Null), trust, 3)
                            .into_iter()
                            .map(|f| Field {
                                name: format!("trust {}", f.name),
                                ..f
                            }),
                    );
                }
                if policy_drift {
                    fields.extend(differences(
                        r.policy.as_ref().unwrap_or(&Value::Null),
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

    // The builds' log group. One CodeBuild made (an older stack) is taken over as it stands.
    let resource = format!("log group {}", n.log_group);
    match &now.build_logs {
        None => plan.create(
            resource,
            Op::BuildLogs {
                create: true,
                retention: true,
            },
        ),
        Some(g) => match log_groups::retention_drift(g, d.log_retention_days) {
            Some(drift) => plan.update(
                resource,
                vec![drift],
                Op::BuildLogs {
                    create: false,
                    retention: true,
                },
            ),
            None => plan.unchanged(resource, Op::Keep),
        },
    }

    // Project.
    let resource = format!("CodeBuild project {}", n.project);
    match &now.project {
        None => plan.create(resource, Op::Project { create: true }),
        Some(f) if f.owner != Owner::Us => return Err(refuse(&resource, &f.owner, app, untagged)),
        Some(f) if f.settings == d.project_settings => plan.unchanged(resource, Op::Keep),
        Some(f) => plan.update(
            resource,
            differences(&f.settings, &d.project_settings, 6),
            Op::Project { create: false },
        ),
    }

    // Pipeline: its declaration, the token its github-v1 source holds, and its Deploy stage's
    // inbound transition (held until the ECS service exists).
    let resource = format!("pipeline {}", n.pipeline);
    let want = d.deploy.enabled;
    match &now.pipeline {
        // A new pipeline's transitions are enabled: disabling is a call after the create.
        None if want => plan.create(
            resource,
            Op::Pipeline {
                create: true,
                declaration: true,
                transition: None,
            },
        ),
        None => plan.create(
            format!(
                "{resource} (its Deploy transition disabled: {})",
                d.deploy.reason
            ),
            Op::Pipeline {
                create: true,
                declaration: true,
                transition: Some(false),
            },
        ),
        Some(p) if p.owner != Owner::Us => return Err(refuse(&resource, &p.owner, app, untagged)),
        Some(p) => {
            let mut fields = differences(&p.settings, &d.pipeline_settings, 6);
            fields.extend(token_change(now));
            let declaration = !fields.is_empty();
            let transition = (p.deploy_enabled != want).then_some(want);
            if transition.is_some() {
                fields.push(field(
                    &format!("{DEPLOY_STAGE} transition"),
                    Transition::word(p.deploy_enabled),
                    Transition::word(want),
                ));
            }
            if fields.is_empty() {
                plan.unchanged(resource, Op::Keep);
            } else {
                plan.update(
                    resource,
                    fields,
                    Op::Pipeline {
                        create: false,
                        declaration,
                        transition,
                    },
                );
            }
        }
    }

    // Notification rule.
    let want = rule_settings(d);
    let resource = format!("notification rule {}", n.rule_name);
    let op = match &now.rule {
        None => Some((None, vec![])),
        Some(r) if r.owner != Owner::Us => return Err(refuse(&resource, &r.owner, app, untagged)),
        Some(r) if r.settings == want => None,
        Some(r) => Some((Some(r.arn.clone()), differences(&r.settings, &want, 6))),
    };
    match op {
        None => plan.unchanged(resource, Op::Keep),
        Some(_) if !now.codestar_role && !role_planned => {
            return Err(Error::usage(format!(
                "the CodeStar Notifications service-linked role is missing, so the notification rule {} cannot be made; run slr-check --create (or aws iam create-service-linked-role --aws-service-name codestar-notifications.amazonaws.com), then rerun pipeline-up",
                n.rule_name
            )));
        }
        Some((None, _)) => plan.create(resource, Op::Rule { arn: None }),
        Some((Some(arn), fields)) => plan.update(resource, fields, Op::Rule { arn: Some(arn) }),
    }
    Ok(plan)
}

/// The token change a github-v1 pipeline needs: the secret's current version differs from the
/// one the document says the pipeline holds. No recorded version (an older document) is not a
/// change: the current one is adopted. Names the secret and its versions, never the value.
pub fn token_change(now: &Observed) -> Option<Field> {
    let token = now.d.token.as_ref()?;
    let (old, new) = (now.token_recorded.as_ref()?, now.token_current.as_ref()?);
    (old != new).then(|| {
        field(
            &format!("OAuthToken (secret {})", token.name),
            format!("version {old}"),
            format!("version {new}"),
        )
    })
}

/// The section a `--plan` run writes: real ARNs where resources exist, placeholders where
/// apply would create them.
pub fn planned(now: &Observed) -> Pipeline {
    let n = &now.d.n;
    let known = |exists: bool, arn: &str| {
        if exists {
            arn.to_owned()
        } else {
            PLANNED.to_owned()
        }
    };
    section(
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
        now.token_current.clone(),
    )
}

pub struct Arns {
    pub topic: String,
    pub build_role: String,
    pub pipeline_role: String,
    pub project: String,
    pub pipeline: String,
    pub rule: String,
}

pub fn section(d: &Desired, arns: Arns, token_version: Option<String>) -> Pipeline {
    let n = &d.n;
    Pipeline {
        token_version,
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
    }
}

/// "path: old → new" for each leaf where `old` and `new` differ (at most `limit` of them, then
/// "and N more"): the kit's generic field diff.
pub fn differences(old: &Value, new: &Value, limit: usize) -> Vec<kit::Field> {
    kit::jsondiff::limit(kit::jsondiff::diff(old, new), limit)
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
