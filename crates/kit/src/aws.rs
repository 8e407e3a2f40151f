//! AWS configuration and error classification shared by every tool.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};
use aws_smithy_http_client::tls;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use crate::cli::Aws;
use crate::{Error, Result};

/// Check the AWS configuration that can be checked without a call: a profile that exists, a
/// region that is well formed and known, an endpoint that is an http(s) URL. Each is bad
/// input (exit 2) naming the flag or variable it came from.
pub fn check_config(common: &Aws) -> Result<()> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    if let Some((profile, from)) = common
        .profile
        .clone()
        .map(|p| (p, "--profile"))
        .or_else(|| env("AWS_PROFILE").map(|p| (p, "AWS_PROFILE")))
    {
        check_profile(&profile, from)?;
    }
    if let Some((region, from)) = common
        .region
        .clone()
        .map(|r| (r, "--region"))
        .or_else(|| env("AWS_REGION").map(|r| (r, "AWS_REGION")))
        .or_else(|| env("AWS_DEFAULT_REGION").map(|r| (r, "AWS_DEFAULT_REGION")))
    {
        check_region(&region, from)?;
    }
    if let Some((url, from)) = common
        .endpoint_url
        .clone()
        .map(|u| (u, "--endpoint-url"))
        .or_else(|| env("AWS_ENDPOINT_URL").map(|u| (u, "AWS_ENDPOINT_URL")))
    {
        check_endpoint(&url, from)?;
    }
    Ok(())
}

/// The profile must be defined in the config or credentials file (as the AWS CLI reads
/// them: AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/config and
/// ~/.aws/credentials).
fn check_profile(profile: &str, from: &str) -> Result<()> {
    let home = std::env::var_os("HOME").map(std::path::PathBuf::from);
    let file = |var: &str, default: &str| {
        std::env::var_os(var)
            .map(std::path::PathBuf::from)
            .or_else(|| home.as_ref().map(|h| h.join(".aws").join(default)))
    };
    let defines = |path: Option<std::path::PathBuf>, config: bool| -> bool {
        let Some(text) = path.and_then(|p| std::fs::read_to_string(p).ok()) else {
            return false;
        };
        text.lines().any(|line| {
            let Some(name) = line
                .trim()
                .strip_prefix('[')
                .and_then(|l| l.strip_suffix(']'))
            else {
                return false;
            };
            let name = name.trim();
            let name = if config {
                name.strip_prefix("profile").map_or(name, str::trim)
            } else {
                name
            };
            name == profile
        })
    };
    if defines(file("AWS_CONFIG_FILE", "config"), true)
        || defines(file("AWS_SHARED_CREDENTIALS_FILE", "credentials"), false)
    {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{from} {profile}: no such profile in the AWS config or credentials file; list them with 'aws configure list-profiles', or configure it with 'aws configure --profile {profile}'"
        )))
    }
}

/// Regions AWS has (commercial, China, GovCloud), as of this release. A region outside the
/// list is refused: a typo must not send calls to a region that does not exist (on AWS they
/// fail only after seconds of DNS retries).
const KNOWN_REGIONS: &[&str] = &[
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
];

fn check_region(region: &str, from: &str) -> Result<()> {
    let parts: Vec<&str> = region.split('-').collect();
    let well_formed = parts.len() >= 3
        && parts[..parts.len() - 1]
            .iter()
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase()))
        && parts[parts.len() - 1].chars().all(|c| c.is_ascii_digit())
        && !parts[parts.len() - 1].is_empty();
    if !well_formed {
        return Err(Error::usage(format!(
            "{from} '{region}' is not an AWS region; use one like us-west-2"
        )));
    }
    if !KNOWN_REGIONS.contains(&region) {
        return Err(Error::usage(format!(
            "{from} '{region}' is not a region AWS has; use one like us-west-2 (aws ec2 describe-regions lists yours)"
        )));
    }
    Ok(())
}

fn check_endpoint(url: &str, from: &str) -> Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"));
    let host = rest
        .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
        .unwrap_or("");
    let (name, port) = match host.rsplit_once(':') {
        Some((n, p)) if !n.ends_with(']') || n.starts_with('[') => (n, Some(p)),
        _ => (host, None),
    };
    let ok = rest.is_some()
        && !name.is_empty()
        && !name.contains(char::is_whitespace)
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{from} '{url}' is not an http(s) URL; give one like https://host:port"
        )))
    }
}

/// Load the standard AWS configuration (profile, region, credentials, `AWS_ENDPOINT_URL` and
/// its per-service variants), with the flags on top. Retries are the SDK's standard mode:
/// throttling, 5xx and dropped connections are retried with jittered backoff. An explicit
/// `--profile` wins over credentials in the environment, as in the AWS CLI.
pub async fn load_config(common: &Aws) -> SdkConfig {
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
        loader = loader.profile_name(profile).credentials_provider(
            aws_config::profile::ProfileFileCredentialsProvider::builder()
                .profile_name(profile)
                .build(),
        );
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
                // The request never got an answer: say where it went wrong and what to check.
                Some(cause) if top == "dispatch failure" => format!(
                    "cannot reach AWS ({cause}); check the endpoint (AWS_ENDPOINT_URL, --endpoint-url), the region and the network"
                ),
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

#[cfg(test)]
mod config_tests {
    use super::*;

    #[test]
    fn regions() {
        assert!(check_region("us-west-2", "--region").is_ok());
        assert!(check_region("us-gov-west-1", "--region").is_ok());
        for bad in [
            "",
            "uswest2",
            "us-west",
            "US-WEST-2",
            "us-west-2a",
            "us west 2",
            "us-west-9",
        ] {
            let e = check_region(bad, "--region").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(e.message.starts_with("--region"), "{}", e.message);
        }
    }

    #[test]
    fn endpoints() {
        for ok in [
            "http://127.0.0.1:4566",
            "https://example.com",
            "http://[::1]:80/x",
            "http://h",
        ] {
            assert!(check_endpoint(ok, "--endpoint-url").is_ok(), "{ok}");
        }
        for bad in [
            "ftp://x",
            "127.0.0.1:4566",
            "http://",
            "http://h:0",
            "http://h:99999",
            "http://a b",
        ] {
            let e = check_endpoint(bad, "AWS_ENDPOINT_URL").unwrap_err();
            assert!(
                e.message.starts_with("AWS_ENDPOINT_URL"),
                "{bad}: {}",
                e.message
            );
        }
    }
}
