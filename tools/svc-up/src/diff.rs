//! Pure: what should exist (desired.rs) against what does (observe.rs) → the plan, and the
//! section a `--plan` run writes. Apply runs exactly this plan, so a plan never lies and a
//! rerun whose plan is empty makes no mutating call.
//!
//! The rules a user relies on (each has a test below):
//! - a rerun over what svc-up made changes nothing;
//! - the image belongs to the pipeline once the service runs: the running revision's image is
//!   kept, even across other changes; `--image` pins one;
//! - a new AWSCURRENT version of a secret the task reads starts a new deployment, once;
//!   a document without recorded versions adopts the current ones;
//! - drift in the task definition, the service, the roles, the group, the log group and the
//!   Cloud Map TTL is an update naming each changed field (the repository is ecr-up's).

use std::collections::BTreeMap;

use kit::{Cx, Error, Field, Plan, Result, field};
use serde_json::Value;
use stackdoc::{PLANNED, Svc};

use crate::desired::{self, ImageSource, TaskDefInput};
use crate::names::{Names, Place};
use crate::observe::Observed;
use crate::{Args, Op, RoleKind, is_planned};

/// What the plan is built from and apply sends: everything svc-up wants, with the names and
/// ARNs of what does not exist yet filled in as AWS will form them.
pub struct Wanted {
    pub image: String,
    pub image_source: ImageSource,
    pub repo_uri: String,
    pub exec_role: iam_roles::Want,
    pub task_role: iam_roles::Want,
    pub exec_role_arn: String,
    pub task_role_arn: String,
    pub task_def: Value,
}

pub fn wanted(cx: &Cx, args: &Args, now: &Observed) -> Wanted {
    let n = Names::of(&cx.app);
    let place = Place::of(cx);
    let repo_uri = now.inputs.ecr.repository_uri.clone();
    let running = now
        .service
        .as_ref()
        .and(now.task_def.as_ref())
        .and_then(|td| desired::image_of(&td.doc));
    let (image, image_source) = desired::image(args.image.as_deref(), running, &repo_uri);

    let arn = |found: &Option<iam_roles::Found>, name: &str| {
        found
            .as_ref()
            .map(|r| r.arn.clone())
            .unwrap_or_else(|| place.role_arn(name))
    };
    let exec_role_arn = arn(&now.exec_role, &n.exec_role);
    let task_role_arn = arn(&now.task_role, &n.task_role);
    let task_def = desired::task_def(
        &n,
        &place,
        &now.inputs,
        &TaskDefInput {
            cpu: args.cpu,
            memory: args.memory,
            image: &image,
            execution_role_arn: &exec_role_arn,
            task_role_arn: &task_role_arn,
        },
    );
    Wanted {
        exec_role: desired::exec_role(&n, &place, &now.inputs, args.image.as_deref()),
        task_role: desired::task_role(&n, &place),
        image,
        image_source,
        repo_uri,
        exec_role_arn,
        task_role_arn,
        task_def,
    }
}

/// The secret versions the running deployment started with, as the previous run recorded
/// them; empty for a document that has none (its current versions are then adopted).
pub fn recorded_versions(cx: &Cx) -> BTreeMap<String, String> {
    cx.doc
        .section::<Svc>()
        .ok()
        .flatten()
        .map(|s| s.secret_versions)
        .unwrap_or_default()
}

/// The secrets the task reads whose AWSCURRENT version is newer than the one the running
/// deployment started with: (name, recorded version, current version).
pub fn rotated(cx: &Cx, now: &Observed) -> Vec<(String, String, String)> {
    let recorded = recorded_versions(cx);
    if recorded.is_empty() {
        return Vec::new();
    }
    desired::secrets_read(&now.inputs)
        .into_iter()
        .filter_map(|(name, arn)| {
            let old = recorded.get(&arn)?;
            let new = now.secret_versions.get(&arn)?.as_ref()?;
            (old != new).then(|| (name, old.clone(), new.clone()))
        })
        .collect()
}

fn short_version(v: &str) -> &str {
    v.get(..8).unwrap_or(v)
}

pub fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
    let n = Names::of(&cx.app);
    let inputs = &now.inputs;
    let w = wanted(cx, args, now);
    let mut plan = Plan::new();
    if w.image_source == ImageSource::Running
        && cx
            .doc
            .settings("svc")
            .is_some_and(|s| s.contains_key("image"))
    {
        kit::info!(
            "the image is no longer pinned: ECS service {} keeps running {} until the pipeline's next deploy",
            n.service,
            w.image
        );
    }

    // Checks that need the reads but no write.
    for (name, arn) in desired::secrets_read(inputs) {
        if matches!(now.secret_versions.get(&arn), Some(None)) {
            return Err(Error::usage(format!(
                "secret {name} ({arn}) of the secrets section does not exist; rerun secrets-init, then svc-up"
            )));
        }
    }
    iam_roles::check_owner(cx, &n.exec_role, now.exec_role.as_ref())?;
    iam_roles::check_owner(cx, &n.task_role, now.task_role.as_ref())?;
    if let Some(s) = &now.service {
        if !cx.owns(s.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            let owner = s
                .tags
                .get(kit::TAG_APP)
                .map(|a| format!("it belongs to app {a}"))
                .unwrap_or_else(|| "it has no stagehand tags".into());
            return Err(Error::usage(format!(
                "ECS service {} in cluster {} was not made by svc-up for app {}: {owner}; delete it or use another --app",
                n.service, inputs.core.cluster_name, cx.app
            )));
        }
        if !s.launch_type.is_empty() && s.launch_type != "FARGATE" {
            return Err(Error::usage(format!(
                "ECS service {} runs on launch type {}, not FARGATE, which cannot change; delete it (svc-up --destroy) and rerun",
                n.service, s.launch_type
            )));
        }
    }

    // Log group
    let res = format!("log group {}", n.log_group);
    match &now.log_group {
        None => plan.create(
            res,
            Op::LogGroup {
                create: true,
                retention: true,
            },
        ),
        Some(g) => match log_groups::retention_drift(g, args.log_retention_days) {
            Some(drift) => plan.update(
                res,
                vec![drift],
                Op::LogGroup {
                    create: false,
                    retention: true,
                },
            ),
            None => plan.unchanged(res, Op::Keep),
        },
    }

    // Roles
    for (which, want, found) in [
        (RoleKind::Execution, &w.exec_role, &now.exec_role),
        (RoleKind::Task, &w.task_role, &now.task_role),
    ] {
        let res = format!("IAM role {}", want.name);
        let change = iam_roles::diff(found.as_ref(), want);
        if change.create {
            plan.create(res, Op::Role(which, Box::new(change)));
        } else if change.is_empty() {
            plan.unchanged(res, Op::Keep);
        } else {
            let fields = change.fields.clone();
            plan.update(res, fields, Op::Role(which, Box::new(change)));
        }
    }

    // Task security group
    let res = format!("security group {}", n.sg);
    match &now.sg {
        None => plan.create(res, Op::SecurityGroup { create: true }),
        Some(g) => {
            let changes = desired::task_rules(inputs).changes_from(g);
            update_or_keep(&mut plan, res, changes, Op::SecurityGroup { create: false });
        }
    }

    // Cloud Map service
    let res = format!("Cloud Map service {}", n.cloudmap);
    match &now.cloudmap {
        None => plan.create(
            res,
            Op::CloudMap {
                create: true,
                ttl: true,
            },
        ),
        Some(s) => {
            if s.routing != "MULTIVALUE"
                || s.record_type != "A"
                || s.failure_threshold != Some(desired::CLOUDMAP_FAILURE_THRESHOLD)
            {
                kit::warn!(
                    "Cloud Map service {} has routing {}, record {} and health-check failure threshold {:?}, which cannot be changed in place; svc-up --destroy and a rerun recreate it",
                    n.cloudmap,
                    s.routing,
                    s.record_type,
                    s.failure_threshold
                );
            }
            let fields = if s.ttl == Some(desired::CLOUDMAP_TTL) {
                vec![]
            } else {
                vec![field(
                    "ttl",
                    s.ttl.map(|t| t.to_string()).unwrap_or_default(),
                    desired::CLOUDMAP_TTL,
                )]
            };
            let ttl = !fields.is_empty();
            update_or_keep(&mut plan, res, fields, Op::CloudMap { create: false, ttl });
        }
    }

    // Task definition
    let res = format!("task definition {}", n.family);
    let td_arn = match &now.task_def {
        None => {
            plan.create(res, Op::TaskDef);
            PLANNED.to_owned()
        }
        Some(td) => {
            let fields = desired::task_def_rules().changes(&td.doc, &w.task_def);
            if fields.is_empty() {
                plan.unchanged(format!("{res} ({})", short_td(&td.arn)), Op::Keep);
                td.arn.clone()
            } else {
                plan.update(res, fields, Op::TaskDef);
                PLANNED.to_owned()
            }
        }
    };

    // ECS service
    let res = format!("ECS service {}", n.service);
    let sg_id = now.sg.as_ref().map_or(PLANNED, |g| g.id.as_str());
    let registry = now.cloudmap.as_ref().map_or(PLANNED, |s| s.arn.as_str());
    let want = desired::service(
        &n,
        args.desired_count,
        args.health_check_grace_period,
        inputs,
        &td_arn,
        sg_id,
        registry,
    );
    match &now.service {
        None => plan.create(
            res,
            Op::Service {
                create: true,
                force: false,
            },
        ),
        Some(s) => {
            let mut fields = desired::service_rules().changes(&s.doc, &want);
            let rotated = rotated(cx, now);
            for (name, old, new) in &rotated {
                fields.push(field(
                    &format!("secret {name} (new deployment)"),
                    short_version(old),
                    short_version(new),
                ));
            }
            if args.redeploy {
                fields.push(Field::from("deployment: forced (--redeploy)"));
            }
            let force = args.redeploy || !rotated.is_empty();
            update_or_keep(
                &mut plan,
                res,
                fields,
                Op::Service {
                    create: false,
                    force,
                },
            );
        }
    }
    Ok(plan)
}

fn update_or_keep<F: Into<Field>>(plan: &mut Plan<Op>, res: String, fields: Vec<F>, op: Op) {
    if fields.is_empty() {
        plan.unchanged(res, Op::Keep);
    } else {
        plan.update(res, fields, op);
    }
}

pub fn short_td(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn or_planned(v: Option<String>) -> String {
    v.unwrap_or_else(|| PLANNED.to_owned())
}

/// The secret versions the section records: the current ones of the secrets the task reads.
pub fn current_versions(now: &Observed) -> BTreeMap<String, String> {
    now.secret_versions
        .iter()
        .filter_map(|(arn, v)| Some((arn.clone(), v.clone()?)))
        .collect()
}

/// The section a `--plan` run writes. It records no new secret version (only apply does,
/// once the tasks run with it), so a planned document never hides a rotation.
pub fn planned_section(cx: &Cx, args: &Args, now: &Observed) -> Svc {
    let n = Names::of(&cx.app);
    let w = wanted(cx, args, now);
    let recorded = recorded_versions(cx);
    Svc {
        image: Some(w.image),
        secret_versions: if recorded.is_empty() {
            current_versions(now)
        } else {
            recorded
        },
        repository_name: now.inputs.ecr.repository_name.clone(),
        repository_uri: w.repo_uri,
        execution_role_arn: or_planned(now.exec_role.as_ref().map(|r| r.arn.clone())),
        task_role_arn: or_planned(now.task_role.as_ref().map(|r| r.arn.clone())),
        log_group: n.log_group.clone(),
        security_group_id: or_planned(now.sg.as_ref().map(|g| g.id.clone())),
        task_definition_arn: or_planned(now.task_def.as_ref().map(|t| t.arn.clone())),
        cloudmap_service_arn: or_planned(now.cloudmap.as_ref().map(|s| s.arn.clone())),
        cluster_name: now.inputs.core.cluster_name.clone(),
        service_name: n.service.clone(),
        service_arn: or_planned(now.service.as_ref().map(|s| s.arn.clone())),
        container_name: n.container.clone(),
        container_port: now.inputs.alb.container_port,
    }
}

/// Whether the image exists where the service will pull it: in ecr-up's repository, the tag
/// must be there; an image elsewhere cannot be checked and is taken to exist.
pub fn image_available(image: &str, now: &Observed, repo_uri: &str) -> bool {
    match crate::names::tag_in(image, repo_uri) {
        Some(tag) => now.repo.as_ref().is_some_and(|r| r.tags.contains(tag)),
        None => !is_planned(image),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
