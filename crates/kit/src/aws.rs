//! AWS configuration and error classification shared by every tool.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use aws_smithy_http_client::tls;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cli::Common;
use crate::{Error, Result};

/// Load the standard AWS configuration (profile, region, credentials, `AWS_ENDPOINT_URL` and
/// its per-service variants), with the flags on top. Retries are the SDK's standard mode:
/// throttling, 5xx and dropped connections are retried with jittered backoff.
pub async fn load_config(common: &Common) -> SdkConfig {
    // rustls with ring: no aws-lc-sys C build, no legacy hyper 0.14 stack.
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(
            RetryConfig::standard()
                .with_max_attempts(8)
                .with_initial_backoff(Duration::from_millis(100))
                .with_max_backoff(Duration::from_secs(10)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(60))
                .build(),
        );
    if let Some(profile) = &common.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &common.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &common.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    loader.load().await
}

/// Whether requests go to an overridden endpoint (an emulator, a proxy): S3 then uses
/// path-style addressing, since virtual-hosted names need DNS the endpoint does not have.
pub fn endpoint_overridden(sdk: &SdkConfig, service_env: &str) -> bool {
    sdk.endpoint_url().is_some()
        || std::env::var_os(format!("AWS_ENDPOINT_URL_{service_env}")).is_some()
        || std::env::var_os("AWS_ENDPOINT_URL").is_some()
}

/// "Code: message" of an SDK error, or, when it carries no code (a connection failure, a
/// timeout), its kind and the innermost cause. Never a request or response body: the SDK's
/// error chain can carry one, and a body can hold a secret.
pub fn describe<E>(err: &E) -> String
where
    E: ProvideErrorMetadata + std::error::Error,
{
    match (err.code(), err.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_owned(),
        _ => {
            let mut innermost: Option<String> = None;
            let mut source = err.source();
            while let Some(s) = source {
                innermost = Some(s.to_string());
                source = s.source();
            }
            let top = err.to_string();
            let text = match innermost {
                Some(cause) if cause != top => format!("{top}: {cause}"),
                _ => top,
            };
            // One line, bounded: whatever a cause printed stays short.
            let text: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
            if text.chars().count() > 300 {
                format!("{}…", text.chars().take(300).collect::<String>())
            } else {
                text
            }
        }
    }
}

/// The error code AWS answered with, if any.
pub fn code<E: ProvideErrorMetadata>(err: &E) -> Option<&str> {
    err.code()
}

/// "This thing does not exist", across services' spellings.
pub fn is_not_found<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code().is_some_and(is_not_found_code)
}

pub fn is_not_found_code(c: &str) -> bool {
    c.ends_with("NotFound")
        || c.ends_with("NotFoundException")
        || c.ends_with("NotFoundFault")
        || c.ends_with(".NotFound")
        || c.contains("NotFound.")
        || matches!(
            c,
            "NoSuchEntity" | "NoSuchBucket" | "NoSuchKey" | "NoSuchBucketPolicy"
        )
}

/// "This thing exists already" (a race with another run, or a rerun after a crash).
pub fn is_already_exists<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code().is_some_and(is_already_exists_code)
}

pub fn is_already_exists_code(c: &str) -> bool {
    c.contains("AlreadyExists")
        || c.ends_with(".Duplicate")
        || matches!(
            c,
            "EntityAlreadyExists"
                | "ResourceExistsException"
                | "BucketAlreadyOwnedByYou"
                | "DuplicateListener"
                | "DuplicateTargetGroupName"
                | "DuplicateLoadBalancerName"
                | "ParameterAlreadyExists"
                | "RepositoryAlreadyExistsException"
                | "ServiceAlreadyExists"
                | "NamespaceAlreadyExists"
        )
}

/// Throttling, as the SDK's standard retry classifies it (it retries these itself; tools use
/// this only to phrase a final error).
pub fn is_throttled<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code().is_some_and(|c| {
        matches!(
            c,
            "Throttling"
                | "ThrottlingException"
                | "ThrottledException"
                | "RequestThrottledException"
                | "TooManyRequestsException"
                | "RequestLimitExceeded"
                | "ProvisionedThroughputExceededException"
                | "SlowDown"
                | "PriorRequestNotComplete"
        )
    })
}

/// A dependent resource still holds on (an ENI on a security group, a NAT on a subnet):
/// retried with backoff while it drains.
pub fn is_dependency_violation<E: ProvideErrorMetadata>(err: &E) -> bool {
    err.code().is_some_and(is_dependency_violation_code)
}

pub fn is_dependency_violation_code(c: &str) -> bool {
    matches!(
        c,
        "DependencyViolation"
            | "ResourceInUse"
            | "ResourceInUseException"
            | "InvalidDBSubnetGroupStateFault"
            | "InvalidDBClusterStateFault"
            | "InvalidDBInstanceState"
    )
}

/// A role that was just created is not usable yet: ECS, CodePipeline and CodeBuild refuse
/// to assume it for some seconds while IAM propagates. Retried with backoff
/// ([`crate::wait::retrying`]), never reported as a failure before the deadline.
pub fn is_role_propagating<E: ProvideErrorMetadata>(err: &E) -> bool {
    let msg = err.message().unwrap_or_default().to_ascii_lowercase();
    matches!(
        err.code(),
        Some(
            "InvalidParameterException"
                | "InvalidParameterValueException"
                | "AccessDeniedException"
                | "InvalidStructureException"
                | "InvalidInputException"
        )
    ) && msg.contains("role")
        && (msg.contains("assume") || msg.contains("not authorized") || msg.contains("unable"))
}

/// The AWS partition of a region, for ARNs built by hand (`arn:aws-cn:…` in China).
pub fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// Resolve the region the calls go to, or a usage error telling how to set it.
pub fn region_of(sdk: &SdkConfig) -> Result<String> {
    sdk.region()
        .map(|r| r.to_string())
        .ok_or_else(|| Error::usage("no AWS region is configured; set AWS_REGION or pass --region"))
}
