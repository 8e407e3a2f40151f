//! Secret values in one type, [`SecretString`] (the secrecy crate): it never shows in Debug,
//! is zeroed on drop, and its value is read only through [`ExposeSecret::expose_secret`],
//! which makes every place a value leaves memory easy to find. Values come from Secrets
//! Manager ([`read_current`]), the environment or a file ([`from_env_or_file`]); never from
//! argv, never printed.

use std::path::Path;

use aws_sdk_secretsmanager::Client;
use kit::{AwsContext, Error, Result};

pub use secrecy::{ExposeSecret, SecretString};

/// The stage Secrets Manager gives the value in use.
pub const CURRENT: &str = "AWSCURRENT";

/// The version id labelled AWSCURRENT of a secret (by name or ARN), with one read-only call
/// (DescribeSecret; no value is read). `None` when the secret does not exist.
pub async fn current_version(client: &Client, id: &str) -> Result<Option<String>> {
    let Some(found) = client
        .describe_secret()
        .secret_id(id)
        .send()
        .await
        .found(format!("reading secret {id}"))?
    else {
        return Ok(None);
    };
    Ok(found.version_ids_to_stages().and_then(|versions| {
        versions
            .iter()
            .find(|(_, stages)| stages.iter().any(|s| s == CURRENT))
            .map(|(version, _)| version.clone())
    }))
}

/// A secret's current value and its version id. The value stays in memory only.
pub async fn read_current(client: &Client, id: &str) -> Result<(SecretString, String)> {
    let out = client
        .get_secret_value()
        .secret_id(id)
        .send()
        .await
        .ctx(format!("reading the value of secret {id}"))?;
    let version = out.version_id().unwrap_or_default().to_owned();
    match out.secret_string() {
        Some(v) => Ok((SecretString::from(v.to_owned()), version)),
        None => Err(Error::usage(format!(
            "secret {id} holds binary data, not a string; put the value as a string (aws secretsmanager put-secret-value --secret-string …)"
        ))),
    }
}

/// One key of a secret whose value is a JSON object (`arn:…:secret:name:key::`), as ECS reads
/// it. The whole value when `key` is empty.
pub fn json_key(value: &SecretString, key: &str, id: &str) -> Result<SecretString> {
    if key.is_empty() {
        return Ok(value.clone());
    }
    let parsed: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(value.expose_secret()).map_err(|_| {
            Error::usage(format!(
                "secret {id} is not a JSON object, so it has no key {key}"
            ))
        })?;
    match parsed.get(key) {
        Some(serde_json::Value::String(s)) => Ok(SecretString::from(s.clone())),
        Some(other) => Ok(SecretString::from(other.to_string())),
        None => Err(Error::usage(format!("secret {id} has no JSON key {key}"))),
    }
}

/// A value from the environment variable `env` or, when given, from `file` (trailing newline
/// removed). `None` when neither holds one. An empty value is bad input.
pub fn from_env_or_file(
    env: &str,
    file: Option<&Path>,
    flag: &str,
) -> Result<Option<SecretString>> {
    let raw = match file {
        Some(path) => Some(
            std::fs::read_to_string(path)
                .map_err(|e| Error::usage(format!("cannot read {flag} {}: {e}", path.display())))?,
        ),
        None => std::env::var(env).ok(),
    };
    match raw {
        None => Ok(None),
        Some(v) => {
            let v = v.strip_suffix('\n').unwrap_or(&v);
            let v = v.strip_suffix('\r').unwrap_or(v);
            if v.is_empty() {
                let source =
                    file.map_or_else(|| env.to_owned(), |p| format!("{flag} {}", p.display()));
                return Err(Error::usage(format!(
                    "{source} is empty; give the secret's value"
                )));
            }
            Ok(Some(SecretString::from(v.to_owned())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_shows_in_debug() {
        let s = SecretString::from("hunter2hunter2".to_owned());
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose_secret(), "hunter2hunter2");
    }

    #[test]
    fn json_keys() {
        let s = SecretString::from(
            r#"{"username":"postgres","password":"p4ss","port":5432}"#.to_owned(),
        );
        assert_eq!(
            json_key(&s, "password", "x").unwrap().expose_secret(),
            "p4ss"
        );
        assert_eq!(json_key(&s, "port", "x").unwrap().expose_secret(), "5432");
        assert_eq!(
            json_key(&s, "", "x").unwrap().expose_secret(),
            s.expose_secret()
        );
        assert!(
            json_key(&s, "nope", "x")
                .unwrap_err()
                .message
                .contains("no JSON key nope")
        );
        let plain = SecretString::from("abc".to_owned());
        assert!(json_key(&plain, "k", "x").is_err());
    }

    #[test]
    fn env_or_file() {
        let dir = std::env::temp_dir().join(format!("secret-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("v");
        std::fs::write(&f, "abc\n").unwrap();
        let v = from_env_or_file("SECRET_TEST_UNSET_VAR", Some(&f), "--x-file")
            .unwrap()
            .unwrap();
        assert_eq!(v.expose_secret(), "abc");
        std::fs::write(&f, "\n").unwrap();
        assert_eq!(
            from_env_or_file("SECRET_TEST_UNSET_VAR", Some(&f), "--x-file")
                .unwrap_err()
                .exit_code(),
            2
        );
        assert!(
            from_env_or_file("SECRET_TEST_UNSET_VAR", None, "--x-file")
                .unwrap()
                .is_none()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
