//! Creates that are safe to repeat, and calls that follow a create.
//!
//! CreateVpc, CreateInternetGateway and AllocateAddress have no idempotency token: an answer
//! lost after AWS applied the call, then sent again (as the SDK's own retry does), leaves a
//! second resource. So they are sent without the SDK's retry, tagged at creation, and after an
//! error that may hide an applied call, what they would have made is looked for by its tags
//! before the call is sent again. CreateNatGateway and CreateRouteTable carry a ClientToken;
//! CreateSubnet is found by its CIDR when AWS answers that the block is taken.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::config::retry::RetryConfig;
use aws_sdk_ec2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use kit::{Cx, Error, Result, aws};

/// How long a call naming a just-created resource is retried while EC2's eventual
/// consistency still answers "not found".
const SETTLE: Duration = Duration::from_secs(60);
/// Sends of a create without a token (each after looking for what the last one made).
const ATTEMPTS: u32 = 5;

/// Name tag plus the step's tags (stagehand's and the user's) for an EC2 create call.
pub fn tag_spec(cx: &Cx, kind: ResourceType, name: &str) -> TagSpecification {
    let mut spec = TagSpecification::builder()
        .resource_type(kind)
        .tags(Tag::builder().key("Name").value(name).build());
    for (k, v) in cx.tags() {
        if k != "Name" {
            spec = spec.tags(Tag::builder().key(k).value(v).build());
        }
    }
    spec.build()
}

/// The EC2 client's settings for one call that must not be resent blindly.
pub fn no_sdk_retry() -> aws_sdk_ec2::config::Builder {
    aws_sdk_ec2::config::Builder::default().retry_config(RetryConfig::disabled())
}

/// Whether an error may hide a call AWS applied: no answer at all (a dropped connection, a
/// timeout, an unreadable answer) or a server error.
pub fn maybe_applied<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(ctx) => {
            ctx.raw().status().is_server_error()
                || matches!(
                    e.code(),
                    Some(
                        "InternalError" | "InternalFailure" | "ServiceUnavailable" | "Unavailable"
                    )
                )
        }
        _ => false,
    }
}

/// A create without an idempotency token: `send` (which must not retry by itself, see
/// [`no_sdk_retry`]) at most [`ATTEMPTS`] times; after an error that may hide an applied call,
/// `find` looks for what it made (by the tags it was created with) before the next send.
pub async fn create_or_find<T, E, S, SF, F, FF>(what: &str, send: S, find: F) -> Result<T>
where
    S: Fn() -> SF,
    SF: Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
    F: Fn() -> FF,
    FF: Future<Output = Result<Option<T>>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let mut interval = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        let e = match send().await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        let applied = maybe_applied(&e);
        if attempt >= ATTEMPTS || !(applied || aws::is_throttled(&e)) {
            return Err(Error::from_sdk(what, e));
        }
        kit::debug!("{what}: {}; sending again", aws::describe(&e));
        if applied {
            // EC2 shows a new resource within moments: look a few times before resending.
            for _ in 0..3 {
                if let Some(found) = find().await? {
                    kit::info!(
                        "{what}: the answer was lost ({}), but the call was made: found it by its tags",
                        aws::describe(&e)
                    );
                    return Ok(found);
                }
                tokio::time::sleep(interval).await;
                interval = (interval * 2).min(Duration::from_secs(5));
            }
        } else {
            tokio::time::sleep(interval).await;
            interval = (interval * 2).min(Duration::from_secs(5));
        }
        attempt += 1;
    }
}

/// Run a call that names a resource this run just created, retrying while EC2's eventual
/// consistency still says "not found" (briefly: a real "not found" fails after a minute).
/// Errors keep their AWS code, so "already done" answers can be told apart.
pub async fn settle<T, E, F, Fut>(cx: &Cx, what: &str, attempt: F) -> Result<T>
where
    F: Fn() -> Fut,
    Fut: Future<Output = std::result::Result<T, E>>,
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let give_up = (Instant::now() + SETTLE).min(cx.deadline);
    let mut interval = Duration::from_millis(200);
    loop {
        match attempt().await {
            Ok(v) => return Ok(v),
            Err(e) if aws::is_not_found(&e) && Instant::now() < give_up => {
                kit::debug!("{what}: {}; retrying", aws::describe(&e));
                tokio::time::sleep(interval).await;
                interval = (interval * 3 / 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(Error::from_sdk(what, e)),
        }
    }
}

/// A ClientToken for a create that carries one: the same for a rerun within the hour (a run
/// killed mid-call and rerun gets the first call's resource), a new one later (a resource
/// deleted since is made again, not answered with the deleted one). At most 64 ASCII
/// characters.
pub fn client_token(parts: &[&str]) -> String {
    let hour = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() / 3600)
        .unwrap_or_default();
    let mut token = format!("cu-{}-{hour}", parts.join("-"));
    token.truncate(64);
    token
}
