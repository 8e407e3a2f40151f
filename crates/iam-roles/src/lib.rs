//! IAM roles the stagehand way, for svc-up and pipeline-up: one find, one pure diff, one
//! ensure and one teardown instead of a hand-written copy per tool.
//!
//! ```ignore
//! let want = iam_roles::Want { name, description, trust, inline, managed };
//! let found = iam_roles::find(&iam, &want).await?;          // observe: one round trip
//! iam_roles::check_owner(cx, &want.name, found.as_ref())?;  // another app's role: exit 2
//! let change = iam_roles::diff(found.as_ref(), &want);      // diff: pure
//! // plan: create / update(change.fields) / unchanged (change.is_empty())
//! let arn = iam_roles::ensure(cx, &iam, &want, &change).await?; // apply
//! iam_roles::delete_owned(cx, &iam, &want.name).await?;    // --destroy
//! ```
//!
//! - The role is exactly what [`Want`] says: its trust policy, exactly its inline policies
//!   (others deleted) and exactly its managed policies (others detached).
//! - Policies are compared by meaning ([`policy::normalise`]), read as IAM returns them
//!   (URL-encoded, [`policy::parse`]).
//! - A retried call whose first answer was lost counts as done: an existing role on create, a
//!   missing policy on detach or delete.
//! - A role IAM has just made may be invisible for a moment: NoSuchEntity on a role this run
//!   created is retried for up to [`PROPAGATION`].
//! - Only a role carrying the step's stagehand tags is changed or deleted.

mod diff;
pub mod policy;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use kit::{AwsContext, Cx, Error, Result, aws, wait};

pub use diff::{Change, Found, Want, diff};

/// How long NoSuchEntity on a role this run created is taken for IAM's propagation.
pub const PROPAGATION: Duration = Duration::from_secs(120);

/// The role's ARN as IAM forms it (path `/`), for plans of roles that do not exist yet.
pub fn role_arn(cx: &Cx, name: &str) -> String {
    format!(
        "arn:{}:iam::{}:role/{name}",
        aws::partition(&cx.region),
        cx.account
    )
}

/// The role `want.name` with its trust policy, attached policies, inline policies (the
/// content of those `want` names) and tags; `None` when it does not exist. Every read is made
/// at once: one round trip.
pub async fn find(iam: &Client, want: &Want) -> Result<Option<Found>> {
    let name = want.name.as_str();
    let inline_reads = want.inline.keys().map(|policy| async move {
        let got = iam
            .get_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .found(format!("reading policy {policy} of IAM role {name}"))?;
        Ok::<_, Error>(
            got.and_then(|g| policy::parse(g.policy_document()).map(|doc| (policy.clone(), doc))),
        )
    });
    let (role, attached, listed, inline) = futures::join!(
        async {
            iam.get_role()
                .role_name(name)
                .send()
                .await
                .found(format!("reading IAM role {name}"))
        },
        async {
            iam.list_attached_role_policies()
                .role_name(name)
                .send()
                .await
                .found(format!("listing the policies attached to IAM role {name}"))
        },
        async {
            iam.list_role_policies()
                .role_name(name)
                .send()
                .await
                .found(format!("listing the inline policies of IAM role {name}"))
        },
        futures::future::try_join_all(inline_reads),
    );
    let Some(role) = role?.and_then(|r| r.role) else {
        return Ok(None);
    };
    let managed = attached?
        .map(|a| {
            a.attached_policies()
                .iter()
                .filter_map(|p| p.policy_arn().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    let other_inline: BTreeSet<String> = listed?
        .map(|l| l.policy_names().to_vec())
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !want.inline.contains_key(p))
        .collect();
    Ok(Some(Found {
        arn: role.arn().to_owned(),
        trust: role.assume_role_policy_document().and_then(policy::parse),
        inline: inline?.into_iter().flatten().collect(),
        other_inline,
        managed,
        tags: role
            .tags()
            .iter()
            .map(|t| (t.key().to_owned(), t.value().to_owned()))
            .collect(),
    }))
}

/// Refuse (exit 2, before any write) a role of this name that this step of this app did not
/// make: another app's (named), or one without stagehand tags.
pub fn check_owner(cx: &Cx, name: &str, found: Option<&Found>) -> Result<()> {
    let Some(found) = found else { return Ok(()) };
    if cx.owns(found.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        return Ok(());
    }
    let owner = match (found.tags.get(kit::TAG_APP), found.tags.get(kit::TAG_STEP)) {
        (Some(app), Some(step)) if *app != cx.app => {
            format!("it belongs to app {app} (step {step})")
        }
        (Some(app), Some(step)) => format!("it belongs to step {step} of app {app}"),
        _ => "it has no stagehand tags, so stagehand did not make it".to_owned(),
    };
    Err(Error::usage(format!(
        "IAM role {name} exists but was not made by {} for app {}: {owner}; delete or rename that role, or use another --app",
        cx.tool, cx.app
    )))
}

/// Make the role what `want` says, doing exactly `change` (from [`diff`]); returns its ARN.
/// Grants come before removals, so a role in use never loses a permission it keeps.
pub async fn ensure(cx: &Cx, iam: &Client, want: &Want, change: &Change) -> Result<String> {
    use aws_sdk_iam::types::Tag;
    let name = want.name.as_str();
    let mut arn = role_arn(cx, name);
    let trust = want.trust.to_string();
    let set_trust = || async {
        iam.update_assume_role_policy()
            .role_name(name)
            .policy_document(&trust)
            .send()
            .await
            .ctx(format!("setting the trust policy of IAM role {name}"))
    };
    if change.create {
        let tags = cx
            .tags()
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::aws(format!("building the tags of IAM role {name}: {e}")))?;
        let made = iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(&trust)
            .description(&want.description)
            .set_tags(Some(tags))
            .send()
            .await
            .created(format!("creating IAM role {name}"))?;
        match made.and_then(|m| m.role) {
            Some(role) => {
                arn = role.arn().to_owned();
                kit::info!("created IAM role {name}");
            }
            // Made by an earlier attempt whose answer was lost: make sure of its trust.
            None => {
                set_trust().await?;
            }
        }
    } else if change.trust {
        set_trust().await?;
        kit::info!("set the trust policy of IAM role {name}");
    }

    // A role this run made may not be visible to every IAM endpoint yet.
    let started = Instant::now();
    let puts = change.put.iter().map(|policy| {
        let doc = want.inline.get(policy).map(|d| d.to_string());
        async move {
            let doc = doc.ok_or_else(|| {
                Error::aws(format!("IAM role {name}: no document for policy {policy}"))
            })?;
            wait::retrying(
                cx,
                &format!("setting policy {policy} of IAM role {name}"),
                propagating(change.create, started),
                || {
                    iam.put_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .policy_document(&doc)
                        .send()
                },
            )
            .await?;
            if !change.create {
                kit::info!("set policy {policy} of IAM role {name}");
            }
            Ok::<(), Error>(())
        }
    });
    let attaches = change.attach.iter().map(|p| async move {
        wait::retrying(
            cx,
            &format!("attaching {p} to IAM role {name}"),
            propagating(change.create, started),
            || {
                iam.attach_role_policy()
                    .role_name(name)
                    .policy_arn(p)
                    .send()
            },
        )
        .await?;
        Ok::<(), Error>(())
    });
    futures::try_join!(
        futures::future::try_join_all(puts),
        futures::future::try_join_all(attaches)
    )?;

    let deletes = change.delete.iter().map(|policy| async move {
        if iam
            .delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .deleted(format!("deleting policy {policy} of IAM role {name}"))?
        {
            kit::info!("deleted policy {policy} of IAM role {name}: it granted more than wanted");
        }
        Ok::<(), Error>(())
    });
    let detaches = change.detach.iter().map(|p| async move {
        if iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(p)
            .send()
            .await
            .deleted(format!("detaching {p} from IAM role {name}"))?
        {
            kit::info!("detached {p} from IAM role {name}: it granted more than wanted");
        }
        Ok::<(), Error>(())
    });
    futures::try_join!(
        futures::future::try_join_all(deletes),
        futures::future::try_join_all(detaches)
    )?;
    Ok(arn)
}

/// NoSuchEntity for a role this run created, within [`PROPAGATION`] of its creation.
fn propagating<E: ProvideErrorMetadata>(created: bool, started: Instant) -> impl Fn(&E) -> bool {
    move |e| created && started.elapsed() < PROPAGATION && aws::is_not_found(e)
}

/// Delete the role `name` if this step owns it; a role without the step's tags is left in
/// place with a warning, and a missing one is nothing to do. Its managed policies are
/// detached and its inline policies deleted first (IAM refuses to delete a role that still
/// has either); each of those already gone counts as done, so a teardown resumes.
pub async fn delete_owned(cx: &Cx, iam: &Client, name: &str) -> Result<()> {
    let Some(role) = iam
        .get_role()
        .role_name(name)
        .send()
        .await
        .found(format!("reading IAM role {name}"))?
        .and_then(|r| r.role)
    else {
        return Ok(());
    };
    if !cx.owns(role.tags().iter().map(|t| (t.key(), t.value()))) {
        kit::warn!(
            "IAM role {name} was not created by {} for app {} (no stagehand tags of it): left in place",
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
            .deleted(format!("detaching {arn} from IAM role {name}"))?;
    }
    for policy in inline.policy_names() {
        iam.delete_role_policy()
            .role_name(name)
            .policy_name(policy)
            .send()
            .await
            .deleted(format!("deleting policy {policy} of IAM role {name}"))?;
    }
    if iam
        .delete_role()
        .role_name(name)
        .send()
        .await
        .deleted(format!("deleting IAM role {name}"))?
    {
        kit::info!("deleted IAM role {name}");
    }
    Ok(())
}
