//! Read-only calls: the repository, its lifecycle policy and its tags, all at once (one round
//! trip: the ARN the tags are read by is formed as ECR forms it, so it need not be described
//! first).

use kit::{AwsContext, Cx, Result, TAG_APP, TAG_STEP};
use serde_json::Value;

use crate::LEGACY_STEP;

/// Who made the repository, by its stagehand tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// ecr-up, for this app.
    Ours,
    /// svc-up, for this app, before the repository became ecr-up's step: adopted.
    Legacy,
    /// Another app's stagehand step.
    OtherApp(String),
    /// Not stagehand's (no stagehand tags): used as it is, never deleted.
    Foreign,
}

impl Owner {
    pub fn of<'a>(cx: &Cx, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Owner {
        let (mut app, mut step) = (None, None);
        for (k, v) in tags {
            if k == TAG_APP {
                app = Some(v);
            } else if k == TAG_STEP {
                step = Some(v);
            }
        }
        match (app, step) {
            (Some(a), _) if a != cx.app => Owner::OtherApp(a.to_owned()),
            (Some(_), Some(s)) if s == cx.section => Owner::Ours,
            (Some(_), Some(LEGACY_STEP)) => Owner::Legacy,
            _ => Owner::Foreign,
        }
    }

    /// Whether `--destroy` may delete it.
    pub fn is_ours(&self) -> bool {
        matches!(self, Owner::Ours | Owner::Legacy)
    }
}

#[derive(Debug, Clone)]
pub struct Repo {
    pub arn: String,
    pub uri: String,
    pub scan_on_push: bool,
    pub encryption: String,
    pub lifecycle: Option<Value>,
    pub owner: Owner,
}

#[derive(Debug)]
pub struct Observed {
    pub repo: Option<Repo>,
}

/// The repository's ARN as ECR forms it.
pub fn repository_arn(cx: &Cx, name: &str) -> String {
    format!(
        "arn:{}:ecr:{}:{}:repository/{name}",
        kit::aws::partition(&cx.region),
        cx.region,
        cx.account
    )
}

/// The repository's URI as ECR forms it (`.amazonaws.com.cn` in China).
pub fn repository_uri(cx: &Cx, name: &str) -> String {
    let suffix = if kit::aws::partition(&cx.region) == "aws-cn" {
        ".cn"
    } else {
        ""
    };
    format!(
        "{}.dkr.ecr.{}.amazonaws.com{suffix}/{name}",
        cx.account, cx.region
    )
}

pub async fn observe(cx: &Cx) -> Result<Observed> {
    let ecr = aws_sdk_ecr::Client::new(&cx.sdk);
    let name = crate::repository_name(&cx.app);
    Ok(Observed {
        repo: find(cx, &ecr, &name).await?,
    })
}

/// The repository with its lifecycle policy and its owner, read at once.
pub async fn find(cx: &Cx, ecr: &aws_sdk_ecr::Client, name: &str) -> Result<Option<Repo>> {
    let arn = repository_arn(cx, name);
    let (repo, lifecycle, tags) = futures::join!(
        async {
            ecr.describe_repositories()
                .repository_names(name)
                .send()
                .await
                .found(format!("describing ECR repository {name}"))
        },
        async {
            ecr.get_lifecycle_policy()
                .repository_name(name)
                .send()
                .await
                .found(format!(
                    "reading the lifecycle policy of ECR repository {name}"
                ))
        },
        owner(cx, ecr, name),
    );
    let Some(out) = repo? else { return Ok(None) };
    let Some(r) = out.repositories().first() else {
        return Ok(None);
    };
    Ok(Some(Repo {
        arn: r.repository_arn().unwrap_or(&arn).to_owned(),
        uri: r.repository_uri().unwrap_or_default().to_owned(),
        scan_on_push: r
            .image_scanning_configuration()
            .is_some_and(|s| s.scan_on_push()),
        encryption: r
            .encryption_configuration()
            .map(|e| e.encryption_type().as_str().to_owned())
            .unwrap_or_else(|| "AES256".into()),
        lifecycle: lifecycle?
            .and_then(|l| l.lifecycle_policy_text().map(str::to_owned))
            .and_then(|t| serde_json::from_str(&t).ok()),
        owner: tags?.unwrap_or_else(|| Owner::of(cx, std::iter::empty())),
    }))
}

/// Who made the repository, by its stagehand tags; None when it does not exist.
pub async fn owner(cx: &Cx, ecr: &aws_sdk_ecr::Client, name: &str) -> Result<Option<Owner>> {
    let tags = ecr
        .list_tags_for_resource()
        .resource_arn(repository_arn(cx, name))
        .send()
        .await
        .found(format!("reading the tags of ECR repository {name}"))?;
    Ok(tags.map(|t| Owner::of(cx, t.tags().iter().map(|t| (t.key(), t.value())))))
}
