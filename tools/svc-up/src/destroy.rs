//! --destroy: only what carries this step's stagehand tags, in dependency order — the service
//! (scaled to 0, deleted, waited until INACTIVE), the task definition revisions, then the
//! Cloud Map service, roles and log group (with --delete-logs) concurrently, and the task
//! security group last (retried while the tasks' ENIs drain). The image repository is ecr-up's
//! and is left as it is, with its images.
//!
//! It needs only the identity (app, account, region): the svc and core sections, when present,
//! say where to look; without them everything is found by name and tags. What is already gone
//! is nothing to do, so a teardown resumes from any point and a second one is a no-op.

use std::collections::BTreeSet;

use kit::wait::{Poll, until};
use kit::{AwsContext, Cx, Result, ResultExt, aws, wait};
use stackdoc::{Core, Svc};

use crate::names::Names;
use crate::observe::{Clients, find_cloudmap};
use crate::{Args, is_planned};

/// Where the previous runs said things are (each may be absent).
struct Hints {
    svc: Option<Svc>,
    core: Option<Core>,
}

impl Hints {
    fn of(cx: &Cx) -> Hints {
        // A malformed or planned section is no hint: everything is found by name instead.
        let usable = |name: &str| cx.doc.has_section(name) && !cx.doc.is_planned(name);
        Hints {
            svc: usable("svc")
                .then(|| cx.doc.section::<Svc>().ok().flatten())
                .flatten(),
            core: usable("core")
                .then(|| cx.doc.section::<Core>().ok().flatten())
                .flatten(),
        }
    }
}

pub async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
    let c = Clients::new(cx);
    let n = Names::of(&cx.app);
    let hints = Hints::of(cx);

    for cluster in clusters(&c, &hints).await? {
        delete_service(cx, &c, &cluster, &n).await?;
    }
    deregister_task_defs(cx, &c, &n).await?;

    futures::try_join!(
        delete_cloudmap(cx, &c, &hints, &n),
        iam_roles::delete_owned(cx, &c.iam, &n.exec_role),
        iam_roles::delete_owned(cx, &c.iam, &n.task_role),
        log_groups::destroy(cx, &c.logs, &n.log_group, args.delete_logs),
    )?;

    let groups = task_groups(cx, &c, &hints, &n).await?;
    security_groups::delete_owned(cx, &c.ec2, &groups).await
}

/// The clusters the service may be in: the recorded ones, else every cluster of the region.
async fn clusters(c: &Clients, hints: &Hints) -> Result<Vec<String>> {
    let mut known: BTreeSet<String> = BTreeSet::new();
    if let Some(core) = &hints.core
        && !is_planned(&core.cluster_arn)
    {
        known.insert(core.cluster_arn.clone());
    }
    if let Some(svc) = &hints.svc
        && !svc.cluster_name.is_empty()
        && known.is_empty()
    {
        known.insert(svc.cluster_name.clone());
    }
    if !known.is_empty() {
        return Ok(known.into_iter().collect());
    }
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .ecs
            .list_clusters()
            .set_next_token(token)
            .send()
            .await
            .ctx("listing ECS clusters")?;
        all.extend(out.cluster_arns().iter().cloned());
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(all);
        }
    }
}

async fn delete_service(cx: &Cx, c: &Clients, cluster: &str, n: &Names) -> Result<()> {
    use aws_sdk_ecs::types::ServiceField;
    let Some(out) = c
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(&n.service)
        .include(ServiceField::Tags)
        .send()
        .await
        .found(format!("describing ECS service {}", n.service))?
    else {
        return Ok(());
    };
    let Some(s) = out
        .services()
        .iter()
        .find(|s| s.status() != Some("INACTIVE"))
    else {
        return Ok(());
    };
    if !cx.owns(
        s.tags()
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    ) {
        kit::warn!(
            "ECS service {} in {cluster} was not created by svc-up for app {}: left in place",
            n.service,
            cx.app
        );
        return Ok(());
    }
    if s.status() == Some("ACTIVE") {
        if s.desired_count() > 0 {
            c.ecs
                .update_service()
                .cluster(cluster)
                .service(&n.service)
                .desired_count(0)
                .send()
                .await
                .found(format!("scaling ECS service {} to 0", n.service))?;
        }
        if c.ecs
            .delete_service()
            .cluster(cluster)
            .service(&n.service)
            .send()
            .await
            .deleted(format!("deleting ECS service {}", n.service))?
        {
            kit::info!("deleted ECS service {}", n.service);
        }
    }
    if cx.no_wait() {
        return Ok(());
    }
    until(
        cx,
        &format!("ECS service {} to become inactive", n.service),
        || async {
            let out = c
                .ecs
                .describe_services()
                .cluster(cluster)
                .services(&n.service)
                .send()
                .await
                .found(format!("describing ECS service {}", n.service))?;
            match out
                .as_ref()
                .and_then(|o| o.services().first())
                .and_then(|s| s.status())
            {
                None | Some("INACTIVE") => Ok(Poll::Ready(())),
                Some(state) => Ok(Poll::Pending(state.to_ascii_lowercase())),
            }
        },
    )
    .await
}

async fn deregister_task_defs(cx: &Cx, c: &Clients, n: &Names) -> Result<()> {
    use aws_sdk_ecs::types::TaskDefinitionStatus;
    let mut arns = Vec::new();
    let mut token = None;
    loop {
        let out = c
            .ecs
            .list_task_definitions()
            .family_prefix(&n.family)
            .status(TaskDefinitionStatus::Active)
            .set_next_token(token)
            .send()
            .await
            .ctx(format!(
                "listing the revisions of task definition {}",
                n.family
            ))?;
        arns.extend(
            out.task_definition_arns()
                .iter()
                // family_prefix matches "app-x" too: keep exactly this family.
                .filter(|a| {
                    a.rsplit('/')
                        .next()
                        .and_then(|f| f.rsplit_once(':'))
                        .is_some_and(|(f, _)| f == n.family)
                })
                .cloned(),
        );
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    let Some(latest) = arns.last() else {
        return Ok(());
    };
    let Some(described) = ecs_service::task_definition_tagged(&c.ecs, latest).await? else {
        return Ok(()); // deleted since it was listed
    };
    if !cx.owns(
        described
            .tags
            .iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    ) {
        kit::warn!(
            "task definition family {} was not registered by svc-up for app {}: left in place",
            n.family,
            cx.app
        );
        return Ok(());
    }
    for arn in &arns {
        c.ecs
            .deregister_task_definition()
            .task_definition(arn)
            .send()
            .await
            .found(format!("deregistering task definition {arn}"))?;
    }
    // Deregistered revisions stay listed as INACTIVE; delete them too, so nothing is left.
    for chunk in arns.chunks(10) {
        c.ecs
            .delete_task_definitions()
            .set_task_definitions(Some(chunk.to_vec()))
            .send()
            .await
            .ctx(format!(
                "deleting the revisions of task definition {}",
                n.family
            ))?;
    }
    kit::info!(
        "deregistered and deleted {} revision(s) of task definition {}",
        arns.len(),
        n.family
    );
    Ok(())
}

async fn delete_cloudmap(cx: &Cx, c: &Clients, hints: &Hints, n: &Names) -> Result<()> {
    // By the recorded id, else in the recorded namespace, else among all of the account's.
    let id = if let Some(arn) = hints
        .svc
        .as_ref()
        .map(|s| s.cloudmap_service_arn.as_str())
        .filter(|a| !is_planned(a))
    {
        let id = arn.rsplit('/').next().unwrap_or(arn).to_owned();
        c.sd.get_service()
            .id(&id)
            .send()
            .await
            .found(format!("reading Cloud Map service {}", n.cloudmap))?
            .and_then(|s| s.service)
            .map(|s| {
                (
                    s.id().unwrap_or_default().to_owned(),
                    s.arn().unwrap_or_default().to_owned(),
                )
            })
    } else if let Some(core) = hints.core.as_ref().filter(|c| !is_planned(&c.namespace_id)) {
        find_cloudmap(&c.sd, &core.namespace_id, &n.cloudmap)
            .await?
            .map(|s| (s.id, s.arn))
    } else {
        find_cloudmap_anywhere(cx, c, n).await?
    };
    let Some((id, arn)) = id else { return Ok(()) };
    let tags =
        c.sd.list_tags_for_resource()
            .resource_arn(&arn)
            .send()
            .await
            .found(format!(
                "reading the tags of Cloud Map service {}",
                n.cloudmap
            ))?;
    let Some(tags) = tags else { return Ok(()) };
    if !cx.owns(tags.tags().iter().map(|t| (t.key(), t.value()))) {
        kit::warn!(
            "Cloud Map service {} was not created by svc-up for app {}: left in place",
            n.cloudmap,
            cx.app
        );
        return Ok(());
    }
    // Instances ECS registered are deregistered as its tasks stop.
    let deleted = wait::retrying(
        cx,
        &format!("deleting Cloud Map service {}", n.cloudmap),
        |e: &aws_sdk_servicediscovery::error::SdkError<_, _>| aws::is_dependency_violation(e),
        || c.sd.delete_service().id(&id).send(),
    )
    .await
    .deleted()?;
    if deleted {
        kit::info!("deleted Cloud Map service {}", n.cloudmap);
    }
    Ok(())
}

/// The app's Cloud Map service in any namespace (no section says which): by name, then tags.
async fn find_cloudmap_anywhere(
    cx: &Cx,
    c: &Clients,
    n: &Names,
) -> Result<Option<(String, String)>> {
    let mut token = None;
    loop {
        let out =
            c.sd.list_services()
                .set_next_token(token)
                .send()
                .await
                .ctx("listing Cloud Map services")?;
        for s in out
            .services()
            .iter()
            .filter(|s| s.name() == Some(n.cloudmap.as_str()))
        {
            let (Some(id), Some(arn)) = (s.id(), s.arn()) else {
                continue;
            };
            let tags =
                c.sd.list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .ctx(format!("reading the tags of Cloud Map service {id}"))?;
            if cx.owns(tags.tags().iter().map(|t| (t.key(), t.value()))) {
                return Ok(Some((id.to_owned(), arn.to_owned())));
            }
        }
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return Ok(None);
        }
    }
}

/// The task group: by the recorded id, else by name in the recorded VPC, else by name and
/// this step's tags in any VPC.
async fn task_groups(
    cx: &Cx,
    c: &Clients,
    hints: &Hints,
    n: &Names,
) -> Result<Vec<security_groups::Group>> {
    if let Some(id) = hints
        .svc
        .as_ref()
        .map(|s| s.security_group_id.as_str())
        .filter(|id| !is_planned(id))
    {
        return Ok(security_groups::get(&c.ec2, id)
            .await?
            .into_iter()
            .collect());
    }
    if let Some(core) = hints.core.as_ref().filter(|c| !is_planned(&c.vpc_id)) {
        let found = security_groups::find(&c.ec2, &core.vpc_id, &[&n.sg]).await?;
        return Ok(found.into_values().collect());
    }
    security_groups::find_owned(&c.ec2, &n.sg, &cx.app, cx.section).await
}
