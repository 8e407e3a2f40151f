//! IAM roles as svc-up and pipeline-up tear them down: only a role that carries the step's
//! stagehand tags is deleted, after its managed policies are detached and its inline
//! policies deleted (IAM refuses to delete a role that still has either).

use aws_sdk_iam::Client;
use kit::{AwsContext, Cx, Error, Result, aws};

/// Delete the role `name` if this step owns it; a role without the step's tags is left in
/// place with a warning, and a missing one is nothing to do.
pub async fn delete_owned(cx: &Cx, iam: &Client, name: &str) -> Result<()> {
    let role = match iam.get_role().role_name(name).send().await {
        Ok(out) => out.role,
        Err(e) if aws::is_not_found(&e) => return Ok(()),
        Err(e) => {
            return Err(Error::aws(format!(
                "reading IAM role {name}: {}",
                aws::describe(&e)
            )));
        }
    };
    let Some(role) = role else { return Ok(()) };
    if !cx.owns(role.tags().iter().map(|t| (t.key(), t.value()))) {
        kit::warn!(
            "IAM role {name} was not created by {} for app {} (no stagehand tags): left in place",
            cx.tool,
            cx.app
        );
        return Ok(());
    }
    let (attached, inline) = futures::try_join!(
        async {
            iam.list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .ctx(format!("listing the policies attached to IAM role {name}"))
        },
        async {
            iam.list_role_policies()
                .role_name(name)
                .send()
                .await
                .ctx(format!("listing the inline policies of IAM role {name}"))
        },
    )?;
    for arn in attached
        .attached_policies()
        .iter()
        .filter_map(|p| p.policy_arn())
    {
        iam.detach_role_policy()
            .role_name(name)
            .policy_arn(arn)
            .send()
            .await
            .ctx(format!("detaching {arn} from IAM role {name}"))?;
    }
    for policy in inline.policy_names() {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .ctx(format!("deleting policy {policy} of IAM role {name}"))?;
    }
    match iam.delete_role().role_name(name).send().await {
        Ok(_) => kit::info!("deleted IAM role {name}"),
        Err(e) if aws::is_not_found(&e) => {}
        Err(e) => {
            return Err(Error::aws(format!(
                "deleting IAM role {name}: {}",
                aws::describe(&e)
            )));
        }
    }
    Ok(())
}
