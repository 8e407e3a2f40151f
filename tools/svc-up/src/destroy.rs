//! --destroy: only what carries this step's stagehand tags, in dependency order — the service
//! (scaled to 0, deleted, waited until INACTIVE), the task definition revisions, then the
//! Cloud Map service, roles, log group (with --delete-logs) and repository concurrently, and
//! the task security group last (retried while the tasks' ENIs drain).

use kit::wait::{Poll, until};
use kit::{AwsContext, Cx, Error, Result, aws, wait};

use crate::desired::Names;
use crate::observe::{Clients, find_cloudmap, find_repo};
use crate::{Args, Inputs, is_planned};

pub async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
    let inputs = Inputs::from(&cx.doc, true)?;
    let c = Clients::new(cx);
    let n = Names::of(&cx.app);

    // Data first: a repository holding images is refused before anything is deleted.
    let repo = find_repo(&c.ecr, &n.repo).await?;
    let repo_owned = match &repo {
        Some(r) => {
            let tags = c
                .ecr
                .list_tags_for_resource()
                .resource_arn(&r.arn)
                .send()
                .await
                .ctx(format!("reading the tags of ECR repository {}", n.repo))?;
            let owned = cx.owns(tags.tags().iter().map(|t| (t.key(), t.value())));
            if owned && r.has_images && !args.force {
                return Err(Error::usage(format!(
                    "ECR repository {} holds images; pass --force to delete them with it, or keep it by deleting nothing (nothing was deleted)",
                    n.repo
                )));
            }
            owned
        }
        None => false,
    };

    if !is_planned(&inputs.core.cluster_arn) {
        delete_service(cx, &c, &inputs, &n).await?;
    }
    deregister_task_defs(cx, &c, &n).await?;

    futures::try_join!(
        delete_cloudmap(cx, &c, &inputs, &n),
        iam_roles::delete_owned(cx, &c.iam, &n.exec_role),
        iam_roles::delete_owned(cx, &c.iam, &n.task_role),
        delete_log_group(cx, &c, args, &n),
        async {
            match &repo {
                Some(_) if repo_owned => {
                    c.ecr
                        .delete_repository()
                        .repository_name(&n.repo)
                        .force(args.force)
                        .send()
                        .await
                        .ctx(format!("deleting ECR repository {}", n.repo))?;
                    kit::info!("deleted ECR repository {}", n.repo);
                }
                Some(_) => kit::warn!(
                    "ECR repository {} was not created by svc-up for app {}: left in place",
                    n.repo,
                    cx.app
                ),
                None => {}
            }
            Ok::<(), Error>(())
        },
    )?;

    if !is_planned(&inputs.core.vpc_id) {
        let groups = security_groups::find(&c.ec2, &inputs.core.vpc_id, &[&n.sg]).await?;
        let groups: Vec<_> = groups.into_values().collect();
        security_groups::delete_owned(cx, &c.ec2, &groups).await?;
    }
    Ok(())
}

async fn delete_service(cx: &Cx, c: &Clients, inputs: &Inputs, n: &Names) -> Result<()> {
    use aws_sdk_ecs::types::ServiceField;
    let cluster = &inputs.core.cluster_arn;
    let out = match c
        .ecs
        .describe_services()
        .cluster(cluster)
        .services(&n.service)
        .include(ServiceField::Tags)
        .send()
        .await
    {
        Ok(out) => out,
        Err(e) if aws::is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(Error::aws(format!(
                "describing ECS service {}: {}",
                n.service,
                aws::describe(&e)
            )));
        }
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
            "ECS service {} was not created by svc-up for app {}: left in place",
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
                .ctx(format!("scaling ECS service {} to 0", n.service))?;
        }
        c.ecs
            .delete_service()
            .cluster(cluster)
            .service(&n.service)
            .send()
            .await
            .ctx(format!("deleting ECS service {}", n.service))?;
        kit::info!("deleted ECS service {}", n.service);
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
                .ctx(format!("describing ECS service {}", n.service))?;
            match out.services().first().and_then(|s| s.status()) {
                None | Some("INACTIVE") => Ok(Poll::Ready(())),
                Some(state) => Ok(Poll::Pending(state.to_ascii_lowercase())),
            }
        },
    )
    .await
}

async fn deregister_task_defs(cx: &Cx, c: &Clients, n: &Names) -> Result<()> {
    use aws_sdk_ecs::types::{
        TaskDefinitionFamilyStatus, TaskDefinitionField, TaskDefinitionStatus,
    };
    let _ = TaskDefinitionFamilyStatus::Active;
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
    let described = c
        .ecs
        .describe_task_definition()
        .task_definition(latest)
        .include(TaskDefinitionField::Tags)
        .send()
        .await
        .ctx(format!("describing task definition {latest}"))?;
    if !cx.owns(
        described
            .tags()
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
            .ctx(format!("deregistering task definition {arn}"))?;
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

async fn delete_cloudmap(cx: &Cx, c: &Clients, inputs: &Inputs, n: &Names) -> Result<()> {
    let Some(s) = find_cloudmap(&c.sd, &inputs.core.namespace_id, &n.cloudmap).await? else {
        return Ok(());
    };
    let tags =
        c.sd.list_tags_for_resource()
            .resource_arn(&s.arn)
            .send()
            .await
            .ctx(format!(
                "reading the tags of Cloud Map service {}",
                n.cloudmap
            ))?;
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
        || c.sd.delete_service().id(&s.id).send(),
    )
    .await;
    match deleted {
        Ok(_) => kit::info!("deleted Cloud Map service {}", n.cloudmap),
        Err(e) if e.message.contains("NotFound") => {}
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn delete_log_group(cx: &Cx, c: &Clients, args: &Args, n: &Names) -> Result<()> {
    let out = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(&n.log_group)
        .send()
        .await
        .ctx(format!("describing log group {}", n.log_group))?;
    if !out
        .log_groups()
        .iter()
        .any(|g| g.log_group_name() == Some(n.log_group.as_str()))
    {
        return Ok(());
    }
    if !args.delete_logs {
        kit::info!(
            "log group {} is kept with its logs; pass --delete-logs to delete it",
            n.log_group
        );
        return Ok(());
    }
    let arn = format!(
        "arn:{}:logs:{}:{}:log-group:{}",
        kit::aws::partition(&cx.region),
        cx.region,
        cx.account,
        n.log_group
    );
    let tags = c
        .logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .ctx(format!("reading the tags of log group {}", n.log_group))?;
    let owned = tags
        .tags()
        .is_some_and(|t| cx.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    if !owned {
        kit::warn!(
            "log group {} was not created by svc-up for app {}: left in place",
            n.log_group,
            cx.app
        );
        return Ok(());
    }
    c.logs
        .delete_log_group()
        .log_group_name(&n.log_group)
        .send()
        .await
        .ctx(format!("deleting log group {}", n.log_group))?;
    kit::info!("deleted log group {}", n.log_group);
    Ok(())
}
