//! --destroy: the repository, only when this app's stagehand made it (ecr-up, or svc-up before
//! the split), and one holding images only with `--force` (they go with it). It needs only the
//! identity (app, account, region); a repository already gone is nothing to do.

use kit::{AwsContext, Cx, Error, Result};

use crate::observe::{Owner, repository_arn};
use crate::repository_name;

pub async fn destroy(cx: &Cx, force: bool) -> Result<()> {
    let ecr = aws_sdk_ecr::Client::new(&cx.sdk);
    let name = repository_name(&cx.app);
    let arn = repository_arn(cx, &name);
    // Read first: a refusal deletes nothing.
    let (tags, images) = futures::join!(
        async {
            ecr.list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .found(format!("reading the tags of ECR repository {name}"))
        },
        async {
            ecr.list_images()
                .repository_name(&name)
                .max_results(1)
                .send()
                .await
                .found(format!("listing the images in ECR repository {name}"))
        },
    );
    let (Some(tags), Some(images)) = (tags?, images?) else {
        return Ok(());
    };
    let owner = Owner::of(cx, tags.tags().iter().map(|t| (t.key(), t.value())));
    if !owner.is_ours() {
        kit::warn!(
            "ECR repository {name} was not created by ecr-up for app {}: left in place",
            cx.app
        );
        return Ok(());
    }
    if !images.image_ids().is_empty() && !force {
        return Err(Error::usage(format!(
            "ECR repository {name} holds images; pass --force to delete them with it (nothing was deleted)"
        )));
    }
    if ecr
        .delete_repository()
        .repository_name(&name)
        .force(force)
        .send()
        .await
        .deleted(format!("deleting ECR repository {name}"))?
    {
        kit::info!("deleted ECR repository {name}");
    }
    Ok(())
}
