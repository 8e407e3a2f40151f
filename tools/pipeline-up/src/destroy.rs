//! `--destroy`: the notification rule, then the pipeline and the project, then the roles, the
//! topic, the bucket (emptied first, every version, unless `--keep-artifacts`) and, with
//! `--delete-logs`, the builds' log group. Only what
//! carries this app's pipeline tags is deleted; anything else with these names is left in
//! place. Everything is found by its deterministic name ([`Names`]), so it needs no section
//! but the identity, resumes after a failure at any point, and is a no-op (exit 0) on what is
//! already gone: "not found" answers to a delete count as done.

use kit::{AwsContext, Cx, Result};

use crate::Args;
use crate::bucket;
use crate::clients::Clients;
use crate::names::Names;
use crate::observe::{self, Owner};

fn left(what: &str, owner: &Owner, app: &str) {
    match owner {
        Owner::Other { app: other, .. } if other != app && !other.is_empty() => {
            kit::warn!("{what} belongs to app {other}: left in place")
        }
        _ => kit::warn!(
            "{what} was not created by pipeline-up for app {app} (no stagehand tags of this step): left in place"
        ),
    }
}

pub async fn run(cx: &Cx, n: &Names, args: &Args) -> Result<()> {
    let keep_artifacts = args.keep_artifacts;
    let c = Clients::new(cx);
    // Every read first, side by side.
    let (rule, pipeline, project, topic, found_bucket) = futures::try_join!(
        observe::rule(cx, &c, n, None),
        observe::pipeline(cx, &c, n),
        observe::project(cx, &c, n),
        observe::topic(cx, &c, n),
        bucket::observe(cx, &c, n),
    )?;

    // The rule refers to the pipeline: it goes first.
    match rule {
        Some(r) if r.owner == Owner::Us => {
            let deleted = c
                .codestar
                .delete_notification_rule()
                .arn(&r.arn)
                .send()
                .await
                .deleted(format!("deleting notification rule {}", n.rule_name))?;
            if deleted {
                kit::info!("deleted notification rule {}", n.rule_name);
            }
        }
        Some(r) => left(
            &format!("notification rule {}", n.rule_name),
            &r.owner,
            &cx.app,
        ),
        None => {}
    }

    futures::try_join!(
        async {
            match &pipeline {
                Some(p) if p.owner == Owner::Us => {
                    let deleted = c
                        .codepipeline
                        .delete_pipeline()
                        .name(&n.pipeline)
                        .send()
                        .await
                        .deleted(format!("deleting pipeline {}", n.pipeline))?;
                    if deleted {
                        kit::info!("deleted pipeline {}", n.pipeline);
                    }
                }
                Some(p) => left(&format!("pipeline {}", n.pipeline), &p.owner, &cx.app),
                None => {}
            }
            Ok::<_, kit::Error>(())
        },
        async {
            match &project {
                Some(p) if p.owner == Owner::Us => {
                    let deleted = c
                        .codebuild
                        .delete_project()
                        .name(&n.project)
                        .send()
                        .await
                        .deleted(format!("deleting CodeBuild project {}", n.project))?;
                    if deleted {
                        kit::info!("deleted CodeBuild project {}", n.project);
                    }
                }
                Some(p) => left(
                    &format!("CodeBuild project {}", n.project),
                    &p.owner,
                    &cx.app,
                ),
                None => {}
            }
            Ok(())
        },
    )?;

    // The pipeline no longer writes artifacts, publishes, or assumes its roles, and no build
    // writes logs.
    futures::try_join!(
        log_groups::destroy(cx, &c.logs, &n.log_group, args.delete_logs),
        delete_role(cx, &c, &n.build_role),
        delete_role(cx, &c, &n.pipeline_role),
        async {
            match &topic {
                Some(t) if t.owner == Owner::Us => {
                    // DeleteTopic of a topic already gone succeeds.
                    c.sns
                        .delete_topic()
                        .topic_arn(&n.topic_arn)
                        .send()
                        .await
                        .deleted(format!("deleting SNS topic {}", n.topic_name))?;
                    kit::info!("deleted SNS topic {}", n.topic_name);
                }
                Some(t) => left(&format!("SNS topic {}", n.topic_name), &t.owner, &cx.app),
                None => {}
            }
            Ok(())
        },
        async {
            match &found_bucket {
                Some(_) if keep_artifacts => kit::info!(
                    "kept S3 bucket {} and its artifacts (--keep-artifacts); delete it later with aws s3 rb s3://{} --force",
                    n.bucket,
                    n.bucket
                ),
                // Ours, or the empty untagged bucket a killed create left (up would adopt it).
                Some(b) if b.owner == Owner::Us || b.stranded => {
                    bucket::empty(&c, &n.bucket).await?;
                    if c.s3
                        .delete_bucket()
                        .bucket(&n.bucket)
                        .send()
                        .await
                        .deleted(format!("deleting S3 bucket {}", n.bucket))?
                    {
                        kit::info!("deleted S3 bucket {}", n.bucket);
                    }
                }
                Some(b) => left(&format!("S3 bucket {}", n.bucket), &b.owner, &cx.app),
                None => {}
            }
            Ok(())
        },
    )?;
    Ok(())
}

/// The shared owned-role teardown, repeated when IAM answers "not found" for a policy a
/// retried call already removed (NoSuchEntity on DeleteRolePolicy / DetachRolePolicy): the
/// next pass reads the role again and finds it gone.
async fn delete_role(cx: &Cx, c: &Clients, name: &str) -> Result<()> {
    let mut passes = 0;
    loop {
        match iam_roles::delete_owned(cx, &c.iam, name).await {
            Err(e) if e.is_not_found() && passes < 3 => passes += 1,
            other => return other,
        }
    }
}
