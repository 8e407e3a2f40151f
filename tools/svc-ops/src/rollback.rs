//! `svc-ops rollback`: the ECS service back to the revision of its task-definition family
//! before the one it runs (or `--to` a named one), like ecspresso's rollback. Copies of the
//! running revision (the same definition registered again) are passed over: rolling back to
//! one would change nothing.
//!
//! How it stays rolled back: svc-up builds on the revision the service runs (the image belongs
//! to the pipeline once the service exists; svc-up keeps the running revision's image), so the
//! next svc-up or up.sh keeps the rolled-back revision and makes no change. The document
//! records it: `svc.task_definition_arn` and `svc.image` name the rolled-back revision and its
//! image, and a recorded `--image` pin (svc-up's `settings.image`, which would win over the
//! running image) becomes the rolled-back image. The pipeline's next deploy moves on from it,
//! as a new commit should.

use std::time::{Duration, Instant};

use aws_sdk_ecs::Client;
use aws_sdk_ecs::types::{SortOrder, TaskDefinition, TaskDefinitionStatus};
use kit::wait::{Poll, until_deadline};
use kit::{AwsContext, Error, Result};
use serde_json::Value;
use stackdoc::Doc;

use crate::Cli;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The revision to go to: its number (3), family:revision, or its ARN (default: the
    /// family's newest ACTIVE revision before the one the service runs that differs from it)
    #[arg(long, value_name = "REVISION")]
    pub to: Option<String>,
    /// Show what would change and print the document unchanged; read-only calls only
    #[arg(long)]
    pub plan: bool,
    /// Do not wait for the rollout (the tasks of the revision running, the old ones gone)
    #[arg(long)]
    pub no_wait: bool,
    /// Give up waiting after this long (e.g. 90s, 1.5m, 20min, 1h; at most 24h); exit code 3
    #[arg(long, value_parser = kit::cli::parse_duration, default_value = "30m")]
    pub timeout: Duration,
}

/// A task-definition revision: "family:7".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revision {
    pub family: String,
    pub number: i32,
}

impl Revision {
    /// From an ARN ("arn:aws:ecs:r:a:task-definition/family:7") or "family:7".
    pub fn parse(text: &str) -> Option<Revision> {
        let tail = text.rsplit('/').next()?;
        let (family, number) = tail.rsplit_once(':')?;
        let number = number.parse().ok().filter(|n| *n > 0)?;
        (!family.is_empty()).then(|| Revision {
            family: family.to_owned(),
            number,
        })
    }
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.family, self.number)
    }
}

/// What `--to` names, given the family the service runs: a number, family:number or an ARN.
/// Another family is refused.
pub fn target_of(to: &str, running: &Revision) -> std::result::Result<Revision, String> {
    let to = to.trim();
    let rev = match to.parse::<i32>() {
        Ok(n) if n > 0 => Revision {
            family: running.family.clone(),
            number: n,
        },
        Ok(_) => return Err(format!("--to {to}: a revision number starts at 1")),
        Err(_) => Revision::parse(to).ok_or_else(|| {
            format!(
                "--to {to} is not a revision; give its number (e.g. --to 3), family:revision or its ARN"
            )
        })?,
    };
    if rev.family != running.family {
        return Err(format!(
            "--to {rev} is of family {}, but the service runs family {}; give a revision of {}",
            rev.family, running.family, running.family
        ));
    }
    Ok(rev)
}

/// The newest revision before `running` among the family's ACTIVE ones.
pub fn previous(running: &Revision, active: &[Revision]) -> Option<Revision> {
    active
        .iter()
        .filter(|r| r.family == running.family && r.number < running.number)
        .max_by_key(|r| r.number)
        .cloned()
}

pub async fn run(cli: &Cli, args: &Args) -> Result<()> {
    let deadline = Instant::now() + args.timeout;
    let stack = cli.stack().await?;
    let ecs = Client::new(&stack.sdk);
    let (cluster, service) = (&stack.svc.cluster_name, &stack.svc.service_name);

    let Some(s) = ecs_service::describe(&ecs, cluster, service).await? else {
        return Err(Error::usage(format!(
            "ECS service {service} does not exist in cluster {cluster}; svc-up creates it (make svc)"
        )));
    };
    let running_arn = s.task_definition().unwrap_or_default().to_owned();
    let running = Revision::parse(&running_arn).ok_or_else(|| {
        Error::aws(format!(
            "ECS service {service} runs task definition '{running_arn}', which is not family:revision"
        ))
    })?;

    let target = match &args.to {
        Some(to) => target_of(to, &running).map_err(Error::usage)?,
        None => {
            let active = active_revisions(&ecs, &running.family).await?;
            let none_before = || {
                Error::usage(format!(
                    "ECS service {service} runs {running}, and family {} has no ACTIVE revision before it that differs from it; nothing to roll back to (pass --to REVISION for a later one)",
                    running.family
                ))
            };
            let mut candidate = previous(&running, &active).ok_or_else(none_before)?;
            // A revision registered twice (a retried registration whose first answer was
            // lost) would make a rollback that changes nothing: go past the copies.
            let mut copies = Vec::new();
            if let Some(now) = definition(&ecs, &running).await? {
                while definition(&ecs, &candidate)
                    .await?
                    .is_some_and(|td| same_definition(&td, &now))
                {
                    copies.push(candidate.to_string());
                    candidate = previous(&candidate, &active).ok_or_else(none_before)?;
                }
            }
            if !copies.is_empty() {
                kit::info!(
                    "skipping {}: the same definition as {running} (registered again)",
                    copies.join(", ")
                );
            }
            candidate
        }
    };
    let found = definition(&ecs, &target).await?;
    let Some(td) = found else {
        return Err(Error::usage(format!(
            "task definition {target} does not exist; list the family's revisions with: aws ecs list-task-definitions --family-prefix {}",
            target.family
        )));
    };
    if td.status() == Some(&TaskDefinitionStatus::Inactive) {
        return Err(Error::usage(format!(
            "task definition {target} is INACTIVE (deregistered), and ECS does not deploy an INACTIVE revision; pick an ACTIVE one with --to"
        )));
    }
    let target_arn = td.task_definition_arn().unwrap_or_default().to_owned();
    let container = &stack.svc.container_name;
    let image = td
        .container_definitions()
        .iter()
        .find(|c| c.name() == Some(container.as_str()))
        .or_else(|| td.container_definitions().first())
        .and_then(|c| c.image())
        .unwrap_or_default()
        .to_owned();
    let running_image = stack.svc.image.clone().unwrap_or_default();

    let mut doc = stack.doc.clone();
    if target == running {
        kit::info!(
            "ECS service {service} already runs {target} (image {image}); nothing to roll back"
        );
    } else if args.plan {
        kit::info!(
            "would roll ECS service {service} back from {running} (image {running_image}) to {target} (image {image})"
        );
        print_doc(&doc);
        return Ok(());
    } else {
        kit::info!(
            "rolling ECS service {service} back from {running} (image {running_image}) to {target} (image {image})"
        );
        ecs.update_service()
            .cluster(cluster)
            .service(service)
            .task_definition(&target_arn)
            .send()
            .await
            .ctx(format!("updating ECS service {service} to {target}"))?;
    }
    if !args.plan && !args.no_wait {
        wait_rollout(cli, &ecs, cluster, service, &target_arn, deadline).await?;
    }
    if !args.plan {
        doc = record(&doc, &target_arn, &image)?;
    }
    print_doc(&doc);
    Ok(())
}

/// A revision's task definition; None when it does not exist.
async fn definition(ecs: &Client, rev: &Revision) -> Result<Option<TaskDefinition>> {
    Ok(ecs_service::task_definition(ecs, &rev.to_string())
        .await?
        .map(|d| d.definition))
}

/// Whether two revisions would run the same tasks: everything but what makes each
/// registration unique (its ARN, number, status, times, who registered it).
pub fn same_definition(a: &TaskDefinition, b: &TaskDefinition) -> bool {
    fn deployed(td: &TaskDefinition) -> TaskDefinition {
        let mut td = td.clone();
        td.task_definition_arn = None;
        td.revision = 0;
        td.status = None;
        td.registered_at = None;
        td.registered_by = None;
        td.deregistered_at = None;
        td.delete_requested_at = None;
        td
    }
    deployed(a) == deployed(b)
}

/// The family's ACTIVE revisions (every page).
async fn active_revisions(ecs: &Client, family: &str) -> Result<Vec<Revision>> {
    let mut revisions = Vec::new();
    let mut token = None;
    loop {
        let out = ecs
            .list_task_definitions()
            .family_prefix(family)
            .status(TaskDefinitionStatus::Active)
            .sort(SortOrder::Desc)
            .set_next_token(token)
            .send()
            .await
            .ctx(format!("listing the revisions of task definition {family}"))?;
        revisions.extend(
            out.task_definition_arns()
                .iter()
                .filter_map(|a| Revision::parse(a)),
        );
        token = out
            .next_token()
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        if token.is_none() {
            return Ok(revisions);
        }
    }
}

/// The document with the service on `arn` running `image`: the svc section's
/// task_definition_arn and image, and svc-up's recorded image pin if there is one (the pin
/// would otherwise win on svc-up's next run). Everything else is kept as it was.
pub fn record(doc: &Doc, arn: &str, image: &str) -> Result<Doc> {
    let mut value = doc.as_value();
    let svc = value
        .get_mut("svc")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| Error::usage("the stack document has no svc section; run svc-up"))?;
    svc.insert("task_definition_arn".into(), arn.into());
    if !image.is_empty() {
        svc.insert("image".into(), image.into());
        if let Some(pin) = svc
            .get_mut("settings")
            .and_then(Value::as_object_mut)
            .and_then(|s| s.get_mut("image"))
            && pin.as_str() != Some(image)
        {
            kit::info!(
                "svc-up's recorded --image pin {} becomes {image}, so that svc-up keeps the rollback (make svc ARGS='--reset image' returns the image to the pipeline)",
                pin.as_str().unwrap_or_default()
            );
            *pin = image.into();
        }
    }
    Ok(Doc::from_value(value)?)
}

/// Wait until the service's primary deployment runs `arn` with every task, and no other
/// deployment is left; a deployment that fails is an error (exit 1).
async fn wait_rollout(
    cli: &Cli,
    ecs: &Client,
    cluster: &str,
    service: &str,
    arn: &str,
    deadline: Instant,
) -> Result<()> {
    let what = format!("ECS service {service} to roll back");
    until_deadline(crate::TOOL, deadline, cli.quiet, &what, || async move {
        let Some(s) = ecs_service::describe(ecs, cluster, service).await? else {
            return Err(Error::aws(format!(
                "ECS service {service} disappeared while rolling back"
            )));
        };
        let deployments = s.deployments();
        let Some(primary) = ecs_service::primary(&s) else {
            return Ok(Poll::Pending("no primary deployment yet".into()));
        };
        let state = ecs_service::rollout_state(primary);
        if primary.task_definition() != Some(arn) {
            return Err(Error::aws(format!(
                "ECS service {service} now deploys {} instead of {arn} (another deployment replaced the rollback); see make status",
                primary.task_definition().unwrap_or_default()
            )));
        }
        if state == "FAILED" {
            return Err(Error::aws(format!(
                "the rollback deployment of ECS service {service} failed: {}",
                primary.rollout_state_reason().unwrap_or("no reason given")
            )));
        }
        let (running, desired) = (primary.running_count(), primary.desired_count());
        if deployments.len() == 1 && running >= desired && (state.is_empty() || state == "COMPLETED")
        {
            return Ok(Poll::Ready(()));
        }
        Ok(Poll::Pending(format!(
            "{running}/{desired} tasks of the revision running, {} deployments",
            deployments.len()
        )))
    })
    .await
}

fn print_doc(doc: &Doc) {
    println!("{}", doc.to_pretty());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rev(n: i32) -> Revision {
        Revision {
            family: "backstage".into(),
            number: n,
        }
    }

    fn td(revision: i32, image: &str) -> TaskDefinition {
        TaskDefinition::builder()
            .family("backstage")
            .revision(revision)
            .task_definition_arn(format!(
                "arn:aws:ecs:us-west-2:123456789012:task-definition/backstage:{revision}"
            ))
            .status(TaskDefinitionStatus::Active)
            .registered_at(aws_sdk_ecs::primitives::DateTime::from_secs(i64::from(
                revision,
            )))
            .container_definitions(
                aws_sdk_ecs::types::ContainerDefinition::builder()
                    .name("backstage")
                    .image(image)
                    .build(),
            )
            .build()
    }

    #[test]
    fn a_registration_again_is_the_same_definition_and_another_image_is_not() {
        assert!(same_definition(&td(4, "app:abc"), &td(5, "app:abc")));
        assert!(!same_definition(&td(4, "app:abc"), &td(5, "app:def")));
    }

    #[test]
    fn revisions_parse() {
        assert_eq!(
            Revision::parse("arn:aws:ecs:us-west-2:123456789012:task-definition/backstage:7"),
            Some(rev(7))
        );
        assert_eq!(Revision::parse("backstage:7"), Some(rev(7)));
        assert_eq!(Revision::parse("backstage"), None);
        assert_eq!(Revision::parse("backstage:0"), None);
    }

    #[test]
    fn to_names_a_revision_of_the_running_family() {
        assert_eq!(target_of("3", &rev(7)), Ok(rev(3)));
        assert_eq!(target_of("backstage:3", &rev(7)), Ok(rev(3)));
        assert!(
            target_of("other:3", &rev(7))
                .unwrap_err()
                .contains("family")
        );
        assert!(target_of("0", &rev(7)).is_err());
        assert!(target_of("latest", &rev(7)).is_err());
    }

    #[test]
    fn previous_is_the_newest_active_one_before_the_running_one() {
        let active = [rev(9), rev(5), rev(3), rev(1)];
        assert_eq!(previous(&rev(9), &active), Some(rev(5)));
        assert_eq!(previous(&rev(5), &active), Some(rev(3)));
        assert_eq!(previous(&rev(1), &active), None);
    }

    #[test]
    fn the_record_moves_a_pin_with_the_rollback() {
        let doc = Doc::from_value(serde_json::json!({
            "version": 1, "app": "backstage",
            "svc": {"task_definition_arn": "x:2", "image": "r:new", "other": 1,
                    "settings": {"image": "r:new", "cpu": 512}}
        }))
        .unwrap();
        let next = record(&doc, "x:1", "r:old").unwrap().as_value();
        assert_eq!(next["svc"]["task_definition_arn"], "x:1");
        assert_eq!(next["svc"]["image"], "r:old");
        assert_eq!(next["svc"]["settings"]["image"], "r:old");
        assert_eq!(next["svc"]["settings"]["cpu"], 512);
        assert_eq!(next["svc"]["other"], 1);
    }
}
