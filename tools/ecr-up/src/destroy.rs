//! --destroy: the repository, only when this app's stagehand made it (ecr-up, or svc-up before
//! the split), and one holding images only with `--force` (they go with it). It needs only the
//! identity (app, account, region); a repository already gone is nothing to do.

use kit::{AwsContext, Cx, Error, Result};

use crate::observe::owner;
use crate::repository_name;

pub async fn destroy(cx: &Cx, force: bool) -> Result<()> {
    let ecr = aws_sdk_ecr::Client::new(&cx.sdk);
    let name = repository_name(&cx.app);
    // Read first: a refusal deletes nothing.
    let (owner, images) = futures::join!(owner(cx, &ecr, &name), async {
        ecr.list_images()
            .repository_name(&name)
            .max_results(1)
            .send()
            .await
            .found(format!("listing the images in ECR repository {name}"))
    },);
    let (Some(owner), Some(images)) = (owner?, images?) else {
        return Ok(());
    };
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
