//! `--destroy`: the notification rule, the pipeline, the project, the roles, the topic, then
//! the bucket (emptied first, every version, unless `--keep-artifacts`). Only what carries
//! this app's pipeline tags is deleted; anything else with these names is left in place.

use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use kit::{AwsContext, Cx, Error, Result, aws};

use crate::clients::Clients;
use crate::model::Names;
use crate::observe;

fn left(what: &str, app: &str) {
    kit::warn!(
        "{what} was not created by pipeline-up for app {app} (no stagehand tags): left in place"
    );
}

pub async fn run(cx: &Cx, n: &Names, keep_artifacts: bool) -> Result<()> {
    let c = Clients::new(cx);

    match observe::rule(cx, &c, n).await? {
        Some(r) if r.owned => {
            c.codestar
                .delete_notification_rule()
                .arn(&r.arn)
                .send()
                .await
                .ctx(format!("deleting notification rule {}", n.rule_name))?;
            kit::info!("deleted notification rule {}", n.rule_name);
        }
        Some(_) => left(&format!("notification rule {}", n.rule_name), &cx.app),
        None => {}
    }

    match observe::pipeline(cx, &c, n).await? {
        Some(p) if p.owned => {
            match c
                .codepipeline
                .delete_pipeline()
                .name(&n.pipeline)
                .send()
                .await
            {
                Ok(_) => kit::info!("deleted pipeline {}", n.pipeline),
                Err(e) if aws::is_not_found(&e) => {}
                Err(e) => {
                    return Err(Error::aws(format!(
                        "deleting pipeline {}: {}",
                        n.pipeline,
                        aws::describe(&e)
                    )));
                }
            }
        }
        Some(_) => left(&format!("pipeline {}", n.pipeline), &cx.app),
        None => {}
    }

    match observe::project(cx, &c, n).await? {
        Some(p) if p.owned => {
            c.codebuild
                .delete_project()
                .name(&n.project)
                .send()
                .await
                .ctx(format!("deleting CodeBuild project {}", n.project))?;
            kit::info!("deleted CodeBuild project {}", n.project);
        }
        Some(_) => left(&format!("CodeBuild project {}", n.project), &cx.app),
        None => {}
    }

    let (a, b) = futures::join!(
        iam_roles::delete_owned(cx, &c.iam, &n.build_role),
        iam_roles::delete_owned(cx, &c.iam, &n.pipeline_role)
    );
    a?;
    b?;

    match observe::topic(cx, &c, n).await? {
        Some(t) if t.owned => {
            c.sns
                .delete_topic()
                .topic_arn(&n.topic_arn)
                .send()
                .await
                .ctx(format!("deleting SNS topic {}", n.topic_name))?;
            kit::info!("deleted SNS topic {}", n.topic_name);
        }
        Some(_) => left(&format!("SNS topic {}", n.topic_name), &cx.app),
        None => {}
    }

    match observe::bucket(cx, &c, n).await? {
        Some(_) if keep_artifacts => kit::info!(
            "kept S3 bucket {} and its artifacts (--keep-artifacts); delete it later with aws s3 rb s3://{} --force",
            n.bucket,
            n.bucket
        ),
        Some(b) if b.owned => {
            empty_bucket(&c, &n.bucket).await?;
            c.s3.delete_bucket()
                .bucket(&n.bucket)
                .send()
                .await
                .ctx(format!("deleting S3 bucket {}", n.bucket))?;
            kit::info!("deleted S3 bucket {}", n.bucket);
        }
        Some(_) => left(&format!("S3 bucket {}", n.bucket), &cx.app),
        None => {}
    }
    Ok(())
}

/// Delete every object version and delete marker, a page (up to 1000) at a time.
async fn empty_bucket(c: &Clients, bucket: &str) -> Result<()> {
    let mut deleted = 0usize;
    loop {
        let page =
            c.s3.list_object_versions()
                .bucket(bucket)
                .send()
                .await
                .ctx(format!("listing the objects of bucket {bucket}"))?;
        let mut ids = Vec::new();
        for v in page.versions() {
            if let Some(key) = v.key() {
                ids.push((key.to_owned(), v.version_id().map(str::to_owned)));
            }
        }
        for m in page.delete_markers() {
            if let Some(key) = m.key() {
                ids.push((key.to_owned(), m.version_id().map(str::to_owned)));
            }
        }
        if ids.is_empty() {
            break;
        }
        let objects = ids
            .iter()
            .map(|(key, version)| {
                ObjectIdentifier::builder()
                    .key(key)
                    .set_version_id(version.clone())
                    .build()
                    .map_err(|e| Error::aws(format!("building a delete request: {e}")))
            })
            .collect::<Result<Vec<_>>>()?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| Error::aws(format!("building a delete request: {e}")))?;
        let out =
            c.s3.delete_objects()
                .bucket(bucket)
                .delete(delete)
                .send()
                .await
                .ctx(format!("emptying bucket {bucket}"))?;
        if let Some(err) = out.errors().first() {
            return Err(Error::aws(format!(
                "emptying bucket {bucket}: {} {}",
                err.key().unwrap_or_default(),
                err.message().unwrap_or_default()
            )));
        }
        deleted += ids.len();
    }
    if deleted > 0 {
        kit::info!("emptied S3 bucket {bucket} ({deleted} object versions)");
    }
    Ok(())
}
