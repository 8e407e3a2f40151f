//! The engine version against what AWS offers in the region: it must exist and support
//! Aurora Serverless v2, and the capacity must lie in the range that version allows
//! (DescribeDBEngineVersions → DBEngineVersion.ServerlessV2FeaturesSupport {MinCapacity,
//! MaxCapacity}; a MinCapacity of 0 means the version can pause when idle, a MaxCapacity of
//! 128 or 256 is the version's ceiling).

use aws_sdk_rds::config::retry::RetryConfig;
use kit::{AwsContext, Error, Result};

use crate::ENGINE;

/// What DescribeDBEngineVersions says of one version.
#[derive(Debug, Clone, PartialEq)]
pub enum Support {
    /// The region has no such aurora-postgresql version.
    Unknown { version: String },
    /// The version exists; `serverless_v2` is its Serverless v2 capacity range, None when it
    /// does not support Serverless v2.
    Found {
        version: String,
        serverless_v2: Option<Range>,
    },
    /// The check could not be made (the call failed); AWS checks again when the cluster is
    /// created, so this only warns.
    Unchecked { version: String, why: String },
}

/// A version's Serverless v2 capacity range (either end may be unstated).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    pub min: Option<f64>,
    pub max: Option<f64>,
}

/// One read-only call. It is an early, friendlier form of the check CreateDBCluster makes
/// itself, so a failure to make it warns instead of stopping the run, and it is retried once
/// rather than with the run's long backoff.
pub async fn lookup(rds: &aws_sdk_rds::Client, version: &str) -> Support {
    let out = rds
        .describe_db_engine_versions()
        .engine(ENGINE)
        .engine_version(version)
        .customize()
        .config_override(
            aws_sdk_rds::config::Builder::default()
                .retry_config(RetryConfig::standard().with_max_attempts(2)),
        )
        .send()
        .await
        .found(format!("reading {ENGINE} engine version {version}"));
    let versions = match out {
        Ok(Some(out)) => out.db_engine_versions().to_vec(),
        Ok(None) => Vec::new(),
        Err(e) => {
            return Support::Unchecked {
                version: version.to_owned(),
                why: e.code().unwrap_or("no usable answer").to_owned(),
            };
        }
    };
    match versions
        .iter()
        .find(|v| v.engine_version() == Some(version))
    {
        None => Support::Unknown {
            version: version.to_owned(),
        },
        Some(v) => Support::Found {
            version: version.to_owned(),
            serverless_v2: v.serverless_v2_features_support().map(|s| Range {
                min: s.min_capacity(),
                max: s.max_capacity(),
            }),
        },
    }
}

fn acu(v: Option<f64>, default: &str) -> String {
    v.map_or_else(|| default.to_owned(), |v| v.to_string())
}

const LIST: &str = "aws rds describe-db-engine-versions --engine aurora-postgresql --query 'DBEngineVersions[?ServerlessV2FeaturesSupport].[EngineVersion,ServerlessV2FeaturesSupport.MinCapacity,ServerlessV2FeaturesSupport.MaxCapacity]'";

/// Whether `min`–`max` ACU may run on the version: exit 2 naming the supported range when not.
pub fn judge(support: &Support, min: f64, max: f64, region: &str) -> Result<()> {
    match support {
        Support::Unchecked { version, why } => {
            kit::warn!(
                "could not check {ENGINE} {version} against DescribeDBEngineVersions ({why}); AWS checks it when the cluster is created"
            );
            Ok(())
        }
        Support::Unknown { version } => Err(Error::usage(format!(
            "{ENGINE} {version} is not an engine version in {region}; choose one that supports Serverless v2 with --engine-version (list them: {LIST})"
        ))),
        Support::Found {
            version,
            serverless_v2: None,
        } => Err(Error::usage(format!(
            "{ENGINE} {version} does not support Aurora Serverless v2; choose a version that does with --engine-version (list them: {LIST})"
        ))),
        Support::Found {
            version,
            serverless_v2: Some(range),
        } => {
            let low = range.min.is_some_and(|m| min < m);
            let high = range.max.is_some_and(|m| max > m);
            if !low && !high {
                return Ok(());
            }
            let (flag, value) = if low {
                ("--min-acu", min)
            } else {
                ("--max-acu", max)
            };
            Err(Error::usage(format!(
                "{flag} {value} is outside the Serverless v2 capacity of {ENGINE} {version}, which supports {} to {} ACU; choose a capacity in that range",
                acu(range.min, "0.5"),
                acu(range.max, "256")
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(min: Option<f64>, max: Option<f64>) -> Support {
        Support::Found {
            version: "16.6".into(),
            serverless_v2: Some(Range { min, max }),
        }
    }

    #[test]
    fn capacity_within_the_version_range_passes() {
        assert!(judge(&found(Some(0.0), Some(256.0)), 0.0, 256.0, "us-west-2").is_ok());
        assert!(judge(&found(Some(0.5), Some(128.0)), 0.5, 128.0, "us-west-2").is_ok());
        assert!(judge(&found(None, None), 0.0, 256.0, "us-west-2").is_ok());
    }

    #[test]
    fn capacity_outside_the_range_names_it() {
        let e = judge(&found(Some(0.5), Some(128.0)), 0.0, 4.0, "us-west-2").unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message.contains("--min-acu 0") && e.message.contains("0.5 to 128 ACU"),
            "{}",
            e.message
        );
        let e = judge(&found(Some(0.5), Some(128.0)), 0.5, 256.0, "us-west-2").unwrap_err();
        assert!(e.message.contains("--max-acu 256"), "{}", e.message);
    }

    #[test]
    fn unknown_and_provisioned_only_versions_are_refused() {
        let e = judge(
            &Support::Unknown {
                version: "99.9".into(),
            },
            0.5,
            2.0,
            "us-west-2",
        )
        .unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("99.9") && e.message.contains("us-west-2"));
        let e = judge(
            &Support::Found {
                version: "11.9".into(),
                serverless_v2: None,
            },
            0.5,
            2.0,
            "us-west-2",
        )
        .unwrap_err();
        assert!(e.message.contains("does not support Aurora Serverless v2"));
    }

    #[test]
    fn an_unmade_check_only_warns() {
        let s = Support::Unchecked {
            version: "16.6".into(),
            why: "InternalFailure".into(),
        };
        assert!(judge(&s, 0.5, 2.0, "us-west-2").is_ok());
    }
}
