//! A CloudWatch Logs group a step owns: svc-up's task logs, pipeline-up's build logs. Found by
//! exact name with its retention; created tagged as the step's, then given its retention; on
//! `--destroy` kept unless `--delete-logs`, and then deleted only when its tags say this step
//! of this app made it. A group is made before the service that writes to it (ECS, CodeBuild),
//! which would otherwise make it untagged and never expiring.

use aws_sdk_cloudwatchlogs::Client;
use kit::{AwsContext, Cx, Field, Result, field};

/// The retention periods (days) CloudWatch Logs accepts (PutRetentionPolicy).
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

/// A `--…-retention-days` value CloudWatch Logs accepts, else a usage error naming the flag.
pub fn check_retention(flag: &str, days: i32) -> Result<()> {
    if RETENTION_DAYS.contains(&days) {
        return Ok(());
    }
    let allowed: Vec<String> = RETENTION_DAYS.iter().map(i32::to_string).collect();
    Err(kit::Error::usage(format!(
        "{flag} {days} is not a CloudWatch Logs retention; use one of {}",
        allowed.join(", ")
    )))
}

/// A log group as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogGroup {
    /// None: never expire.
    pub retention: Option<i32>,
}

/// The group named exactly `name`, if any.
pub async fn find(logs: &Client, name: &str) -> Result<Option<LogGroup>> {
    let out = logs
        .describe_log_groups()
        .log_group_name_prefix(name)
        .send()
        .await
        .ctx(format!("describing log group {name}"))?;
    Ok(out
        .log_groups()
        .iter()
        .find(|g| g.log_group_name() == Some(name))
        .map(|g| LogGroup {
            retention: g.retention_in_days(),
        }))
}

/// The plan's field for a retention that differs from `want`, if it does.
pub fn retention_drift(found: &LogGroup, want: i32) -> Option<Field> {
    (found.retention != Some(want)).then(|| {
        field(
            "retention_days",
            found
                .retention
                .map_or_else(|| "never expire".into(), |d| d.to_string()),
            want,
        )
    })
}

/// Create the group tagged as this step's (a lost answer's retry finds it made: that counts).
pub async fn create(cx: &Cx, logs: &Client, name: &str) -> Result<()> {
    let made = logs
        .create_log_group()
        .log_group_name(name)
        .set_tags(Some(cx.tags().clone().into_iter().collect()))
        .send()
        .await
        .created(format!("creating log group {name}"))?;
    if made.is_some() {
        kit::info!("created log group {name}");
    }
    Ok(())
}

/// Set the group's retention.
pub async fn put_retention(logs: &Client, name: &str, days: i32) -> Result<()> {
    logs.put_retention_policy()
        .log_group_name(name)
        .retention_in_days(days)
        .send()
        .await
        .ctx(format!("setting the retention of log group {name}"))?;
    Ok(())
}

/// `--destroy`: keep the group unless `delete` (`--delete-logs`), and delete it only when its
/// tags say this step of this app made it; gone already is done.
pub async fn destroy(cx: &Cx, logs: &Client, name: &str, delete: bool) -> Result<()> {
    if find(logs, name).await?.is_none() {
        return Ok(());
    }
    if !delete {
        kit::info!("log group {name} is kept with its logs; pass --delete-logs to delete it");
        return Ok(());
    }
    let arn = format!(
        "arn:{}:logs:{}:{}:log-group:{name}",
        kit::aws::partition(&cx.region),
        cx.region,
        cx.account
    );
    let tags = logs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .found(format!("reading the tags of log group {name}"))?;
    let owned = tags
        .as_ref()
        .and_then(|t| t.tags())
        .is_some_and(|t| cx.owns(t.iter().map(|(k, v)| (k.as_str(), v.as_str()))));
    if !owned {
        if tags.is_some() {
            kit::warn!(
                "log group {name} was not created by {} for app {}: left in place",
                cx.tool,
                cx.app
            );
        }
        return Ok(());
    }
    if logs
        .delete_log_group()
        .log_group_name(name)
        .send()
        .await
        .deleted(format!("deleting log group {name}"))?
    {
        kit::info!("deleted log group {name}");
    }
    Ok(())
}
