//! `--destroy`: schedule this stack's secrets for deletion (with a recovery window unless
//! `--force-delete-without-recovery`). Needs no section: the names come from the flags, the
//! section when there is one, else the app. What is already gone or scheduled is fine, so a
//! second run is a no-op; a secret without this app's tags is left in place, and said so.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::ProvideErrorMetadata;
use kit::{AwsContext, Cx, Result};

use crate::observe::{self, Owner};
use crate::{Args, Names, Which};

pub async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
    let names = Names::resolve(cx, args)?;
    let client = Client::new(&cx.sdk);
    let work = Which::ALL
        .into_iter()
        .map(|which| one(cx, &client, args, which, names.of(which)));
    futures::future::try_join_all(work).await?;
    Ok(())
}

async fn one(cx: &Cx, client: &Client, args: &Args, which: Which, name: &str) -> Result<()> {
    let label = which.label();
    let Some(found) = observe::find(cx, client, which, name, false).await? else {
        if !which.is_oauth() {
            kit::info!("{label} {name}: not found, nothing to delete");
        }
        return Ok(());
    };
    match &found.owner {
        Owner::App(other) => {
            kit::warn!(
                "{label} {name} belongs to app {other} (tagged stagehand:app={other}), not to app {}: left in place",
                cx.app
            );
            return Ok(());
        }
        Owner::Untagged => {
            kit::warn!(
                "{label} {name} was not created by stagehand for app {} (it has no stagehand tags): left in place",
                cx.app
            );
            return Ok(());
        }
        Owner::Ours => {}
    }
    if found.pending_deletion && !args.force_delete_without_recovery {
        kit::info!("{label} {name}: already scheduled for deletion");
        return Ok(());
    }
    let mut req = client.delete_secret().secret_id(&found.arn);
    req = if args.force_delete_without_recovery {
        req.force_delete_without_recovery(true)
    } else {
        req.recovery_window_in_days(args.recovery_window_days)
    };
    let sent = req.send().await;
    // The SDK's retry of a DeleteSecret that was applied (its answer lost) is refused with
    // InvalidRequestException, "marked deleted": done, when the secret is now scheduled.
    let retried = !args.force_delete_without_recovery
        && sent.as_ref().err().and_then(|e| e.code()) == Some("InvalidRequestException")
        && observe::find(cx, client, which, name, false)
            .await?
            .is_some_and(|f| f.pending_deletion);
    let deleted = if retried {
        true
    } else {
        sent.deleted(format!("deleting the {label} {name}"))?
    };
    if !deleted {
        kit::info!("{label} {name}: already deleted");
    } else if args.force_delete_without_recovery {
        kit::info!("deleted secret {name} (no recovery window)");
    } else {
        kit::info!(
            "scheduled secret {name} for deletion in {} days (restore with: aws secretsmanager restore-secret --secret-id {name})",
            args.recovery_window_days
        );
    }
    Ok(())
}
