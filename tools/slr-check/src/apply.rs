//! Create the missing roles, side by side.

use aws_sdk_iam::Client;
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Plan, Result};
use stackdoc::Slr;

use crate::Service;
use crate::diff::{self, Observed, Op};

pub async fn apply(cx: &Cx, now: Observed, plan: Plan<Op>) -> Result<Slr> {
    let client = Client::new(&cx.sdk);
    let work = plan.changes.iter().map(|c| async {
        match c.op {
            Op::Create(service) => create(cx, &client, &service).await.map(Some),
            Op::Keep => Ok(None),
        }
    });
    let made = futures::future::try_join_all(work).await?;
    let mut arns = now.0;
    for (i, arn) in made.into_iter().enumerate() {
        if let Some(arn) = arn {
            arns[i] = Some(arn);
        }
    }
    Ok(diff::section(|i| arns[i].clone().unwrap_or_default()))
}

/// Create the role; its ARN from the answer. When IAM answers that it exists (another run,
/// a retried call whose answer was lost: "has been taken" comes as InvalidInput), the role
/// is looked up, waiting while IAM's listing catches up.
///
/// IAM is eventually consistent: a role just created may read as NoSuchEntity for a while
/// (AWS's `aws iam wait role-exists` polls GetRole for this). A new role is waited for until
/// GetRole returns it, bounded by `--timeout`. Whether the service itself can assume it yet
/// has no read-only probe: ECS answers "Unable to assume the service linked role" and
/// CodeStar Notifications a ConfigurationException for up to 15 minutes; the steps that make
/// those calls (core-up, pipeline-up) retry on exactly those answers.
async fn create(cx: &Cx, client: &Client, service: &Service) -> Result<String> {
    let created = client
        .create_service_linked_role()
        .aws_service_name(service.principal)
        .send()
        .await
        .ctx(format!(
            "creating the service-linked role for {} (it needs iam:CreateServiceLinkedRole)",
            service.principal
        ));
    match created {
        Ok(out) => {
            kit::info!("created the service-linked role for {}", service.principal);
            if let Some(role) = out.role() {
                readable(cx, client, service, role.role_name()).await?;
                return Ok(role.arn().to_owned());
            }
        }
        Err(e) if e.is_already_exists() || e.is_code("InvalidInput") => {
            // Whether the role is there decides; the error stands when it is not.
            if find(client, service).await?.is_none() {
                return Err(e);
            }
            kit::info!(
                "the service-linked role for {} exists already",
                service.principal
            );
        }
        Err(e) => return Err(e),
    }
    wait::until(
        cx,
        &format!("the service-linked role for {}", service.label),
        || async {
            Ok(match find(client, service).await? {
                Some(arn) => Poll::Ready(arn),
                None => Poll::Pending("not visible yet".into()),
            })
        },
    )
    .await
}

async fn find(client: &Client, service: &Service) -> Result<Option<String>> {
    let out = client
        .list_roles()
        .path_prefix(service.path())
        .send()
        .await
        .ctx(format!(
            "listing the service-linked roles of {}",
            service.principal
        ))?;
    Ok(out.roles().first().map(|r| r.arn().to_owned()))
}

/// Wait until IAM reads back the role just created (its propagation), with progress.
async fn readable(cx: &Cx, client: &Client, service: &Service, name: &str) -> Result<()> {
    wait::until(
        cx,
        &format!(
            "the new service-linked role {name} of {} to propagate in IAM",
            service.label
        ),
        || async {
            let found = client
                .get_role()
                .role_name(name)
                .send()
                .await
                .found(format!("reading the service-linked role {name}"))?;
            Ok(match found {
                Some(_) => Poll::Ready(()),
                None => Poll::Pending("not readable yet (IAM is eventually consistent)".into()),
            })
        },
    )
    .await
}
