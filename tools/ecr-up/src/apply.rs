//! Apply the plan: create the repository (tagged, encrypted, scanning on push), or bring an
//! existing one to what it should be; then put the lifecycle policy.

use kit::{AwsContext, Cx, Error, Plan, Result};
use stackdoc::Ecr;

use crate::diff::lifecycle_policy;
use crate::observe::{Observed, repository_arn, repository_uri};
use crate::{Op, repository_name};

pub async fn apply(cx: &Cx, now: Observed, plan: Plan<Op>) -> Result<Ecr> {
    let ecr = aws_sdk_ecr::Client::new(&cx.sdk);
    let name = repository_name(&cx.app);
    let mut made = None;
    for change in &plan.changes {
        if let Op::Repo {
            create,
            scan,
            lifecycle,
            retag,
        } = change.op
        {
            let retag = (retag && !create).then(|| {
                now.repo
                    .as_ref()
                    .map_or_else(|| repository_arn(cx, &name), |r| r.arn.clone())
            });
            made = ensure(cx, &ecr, &name, create, scan, lifecycle, retag).await?;
        }
    }
    let (arn, uri) = match (made, &now.repo) {
        (Some(m), _) => m,
        (None, Some(r)) => (r.arn.clone(), r.uri.clone()),
        // Already there when created (a retried create): ECR forms both from the name.
        (None, None) => (repository_arn(cx, &name), repository_uri(cx, &name)),
    };
    Ok(Ecr {
        repository_name: name,
        repository_arn: arn,
        repository_uri: uri,
    })
}

/// Returns the created repository's (ARN, URI). `retag`: the ARN of a repository to tag as
/// ecr-up's.
async fn ensure(
    cx: &Cx,
    ecr: &aws_sdk_ecr::Client,
    name: &str,
    create: bool,
    scan: bool,
    lifecycle: bool,
    retag: Option<String>,
) -> Result<Option<(String, String)>> {
    use aws_sdk_ecr::types::{
        EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    };
    let scanning = || {
        ImageScanningConfiguration::builder()
            .scan_on_push(true)
            .build()
    };
    let mut out = None;
    if create {
        let enc = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::Aes256)
            .build()
            .map_err(|e| Error::aws(format!("building ECR encryption: {e}")))?;
        let made = ecr
            .create_repository()
            .repository_name(name)
            // The pipeline pushes :latest on every build.
            .image_tag_mutability(ImageTagMutability::Mutable)
            .image_scanning_configuration(scanning())
            .encryption_configuration(enc)
            .set_tags(Some(tags(cx)?))
            .send()
            .await
            .created(format!("creating ECR repository {name}"))?;
        if let Some(r) = made.as_ref().and_then(|m| m.repository()) {
            kit::info!("created ECR repository {name}");
            out = Some((
                r.repository_arn().unwrap_or_default().to_owned(),
                r.repository_uri().unwrap_or_default().to_owned(),
            ));
        }
    } else if scan {
        ecr.put_image_scanning_configuration()
            .repository_name(name)
            .image_scanning_configuration(scanning())
            .send()
            .await
            .ctx(format!("turning on scan on push for ECR repository {name}"))?;
    }
    if let Some(arn) = retag {
        // A repository svc-up made before the split: from now on ecr-up's.
        ecr.tag_resource()
            .resource_arn(arn)
            .set_tags(Some(tags(cx)?))
            .send()
            .await
            .ctx(format!("tagging ECR repository {name} as ecr-up's"))?;
        kit::info!("ECR repository {name}, made by svc-up before ecr-up existed, is now ecr-up's");
    }
    if lifecycle {
        ecr.put_lifecycle_policy()
            .repository_name(name)
            .lifecycle_policy_text(lifecycle_policy().to_string())
            .send()
            .await
            .ctx(format!(
                "setting the lifecycle policy of ECR repository {name}"
            ))?;
    }
    Ok(out)
}

fn tags(cx: &Cx) -> Result<Vec<aws_sdk_ecr::types::Tag>> {
    cx.tags()
        .iter()
        .map(|(k, v)| aws_sdk_ecr::types::Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| Error::aws(format!("building ECR tags: {e}")))
}
