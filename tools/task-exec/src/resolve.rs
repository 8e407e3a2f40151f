//! Resolving a container's `secrets` to values, as the ECS agent does before the container
//! starts: SSM parameters with decryption, Secrets Manager secrets at the version the selectors
//! name (AWSCURRENT when none), JSON keys picked from the secret string. Every entry is read
//! concurrently; a value never leaves this module except into the child's environment.

use aws_config::{Region, SdkConfig};
use kit::{AwsContext, Error, Result};

use crate::value_from::{self, Source};

/// One entry of a container definition's `secrets`.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub value_from: String,
}

/// Every entry's value, in the entries' order. The first failure (a missing secret, a missing
/// JSON key, access denied) fails the whole run, naming the variable and what it reads, as the
/// task would fail to start.
pub async fn resolve(sdk: &SdkConfig, entries: &[Entry]) -> Result<Vec<(String, String)>> {
    let mut sources = Vec::with_capacity(entries.len());
    for e in entries {
        let source = value_from::parse(&e.value_from).map_err(|problem| {
            Error::usage(format!(
                "the task definition's secret {}: {problem}; fix the task definition (svc-up)",
                e.name
            ))
        })?;
        sources.push(source);
    }
    let reads = entries
        .iter()
        .zip(&sources)
        .map(|(e, s)| read_one(sdk, e, s));
    let values = futures::future::join_all(reads).await;
    entries
        .iter()
        .zip(values)
        .map(|(e, v)| v.map(|value| (e.name.clone(), value)))
        .collect()
}

fn config_for(sdk: &SdkConfig, region: Option<&str>) -> SdkConfig {
    match region {
        Some(r) if sdk.region().is_none_or(|own| own.as_ref() != r) => {
            sdk.to_builder().region(Region::new(r.to_owned())).build()
        }
        _ => sdk.clone(),
    }
}

async fn read_one(sdk: &SdkConfig, entry: &Entry, source: &Source) -> Result<String> {
    let what = format!("{} {}", source.kind(), entry.value_from);
    let missing = |e: Error| {
        if e.is_not_found() || e.is_code("ParameterVersionNotFound") {
            let code = e.code().unwrap_or("not found").to_owned();
            e.context_message(format!(
                "secret {}: {what} does not exist ({code}); create it (secrets-init, db-up) or fix the task definition (svc-up)",
                entry.name
            ))
        } else {
            e.context(format!("secret {}", entry.name))
        }
    };
    match source {
        Source::Parameter { id, region } => {
            let client = aws_sdk_ssm::Client::new(&config_for(sdk, region.as_deref()));
            let out = client
                .get_parameter()
                .name(id)
                .with_decryption(true)
                .send()
                .await
                .ctx(format!("reading {what}"))
                .map_err(missing)?;
            out.parameter()
                .and_then(|p| p.value())
                .map(str::to_owned)
                .ok_or_else(|| {
                    Error::aws(format!(
                        "secret {}: {what} answered without a value",
                        entry.name
                    ))
                })
        }
        Source::Secret {
            secret_id,
            region,
            json_key,
            version_stage,
            version_id,
        } => {
            let client = aws_sdk_secretsmanager::Client::new(&config_for(sdk, Some(region)));
            let out = client
                .get_secret_value()
                .secret_id(secret_id)
                .set_version_stage(version_stage.clone())
                .set_version_id(version_id.clone())
                .send()
                .await
                .ctx(format!("reading {what}"))
                .map_err(missing)?;
            let Some(text) = out.secret_string() else {
                return Err(Error::aws(format!(
                    "secret {}: {what} holds a binary value; ECS sets environment variables only from a secret string",
                    entry.name
                )));
            };
            match json_key {
                None => Ok(text.to_owned()),
                Some(key) => value_from::json_key_value(text, key).map_err(|problem| {
                    Error::aws(format!("secret {}: {what}: {problem}", entry.name))
                }),
            }
        }
    }
}
