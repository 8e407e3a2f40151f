//! What a container definition's `secrets[].valueFrom` names, read the way the ECS agent reads
//! it: an ARN of Secrets Manager is a secret (optionally with a JSON key, a version stage and a
//! version id after it); anything else (an SSM ARN or a bare name) is an SSM parameter.

/// Where one secret variable's value comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An SSM Parameter Store parameter, by name or ARN. `region` is the ARN's; `None` for a
    /// bare name, which ECS reads in the task's own region.
    Parameter { id: String, region: Option<String> },
    /// A Secrets Manager secret: the secret's own ARN, and the selectors ECS supports after it
    /// (`arn:…:secret:name-AbCdEf:json-key:version-stage:version-id`, each part may be empty).
    Secret {
        secret_id: String,
        region: String,
        json_key: Option<String>,
        version_stage: Option<String>,
        version_id: Option<String>,
    },
}

impl Source {
    /// The service, for messages ("Secrets Manager secret …", "SSM parameter …").
    pub fn kind(&self) -> &'static str {
        match self {
            Source::Parameter { .. } => "SSM parameter",
            Source::Secret { .. } => "Secrets Manager secret",
        }
    }
}

/// Parse one `valueFrom`. The error is the problem, to follow "secret NAME: ".
pub fn parse(value_from: &str) -> Result<Source, String> {
    if value_from.trim().is_empty() {
        return Err("valueFrom is empty".into());
    }
    let parts: Vec<&str> = value_from.split(':').collect();
    let is_arn = parts.len() >= 6 && parts[0] == "arn";
    if !is_arn {
        return Ok(Source::Parameter {
            id: value_from.to_owned(),
            region: None,
        });
    }
    let (service, region) = (parts[2], parts[3]);
    match service {
        "secretsmanager" => {
            // arn:partition:secretsmanager:region:account:secret:name[:key:stage:id]
            if parts[5] != "secret" || !(parts.len() == 7 || parts.len() == 10) {
                return Err(format!(
                    "'{value_from}' is not a Secrets Manager secret ARN ECS accepts (arn:…:secret:NAME, or arn:…:secret:NAME:JSON-KEY:VERSION-STAGE:VERSION-ID with empty parts allowed)"
                ));
            }
            let part = |i: usize| {
                parts
                    .get(i)
                    .filter(|p| !p.is_empty())
                    .map(|p| (*p).to_owned())
            };
            Ok(Source::Secret {
                secret_id: parts[..7].join(":"),
                region: region.to_owned(),
                json_key: part(7),
                version_stage: part(8),
                version_id: part(9),
            })
        }
        "ssm" => {
            if !parts[5].starts_with("parameter/") {
                return Err(format!(
                    "'{value_from}' is not an SSM parameter ARN (arn:…:ssm:REGION:ACCOUNT:parameter/NAME)"
                ));
            }
            Ok(Source::Parameter {
                id: value_from.to_owned(),
                region: Some(region.to_owned()),
            })
        }
        other => Err(format!(
            "'{value_from}' is an ARN of {other}; ECS reads secrets only from Secrets Manager and SSM Parameter Store"
        )),
    }
}

/// The value ECS sets for a JSON key of a secret's string: a string as it is, any other JSON
/// value as its JSON text. A missing key or a string that is not a JSON object is an error,
/// as it is for the agent (the task does not start).
pub fn json_key_value(secret_string: &str, key: &str) -> Result<String, String> {
    let parsed: serde_json::Value = serde_json::from_str(secret_string)
        .map_err(|_| format!("its value is not valid JSON, so it has no JSON key {key}"))?;
    let object = parsed
        .as_object()
        .ok_or_else(|| format!("its value is not a JSON object, so it has no JSON key {key}"))?;
    match object.get(key) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(other) => Ok(other.to_string()),
        None => Err(format!("its value does not contain the JSON key {key}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str =
        "arn:aws:secretsmanager:us-west-2:123456789012:secret:postgresdb_passwd-AbCdEf";

    #[test]
    fn a_whole_secret() {
        assert_eq!(
            parse(SECRET),
            Ok(Source::Secret {
                secret_id: SECRET.into(),
                region: "us-west-2".into(),
                json_key: None,
                version_stage: None,
                version_id: None,
            })
        );
    }

    #[test]
    fn a_secret_with_selectors() {
        let Ok(Source::Secret {
            secret_id,
            json_key,
            version_stage,
            version_id,
            ..
        }) = parse(&format!("{SECRET}:password:AWSPREVIOUS:"))
        else {
            panic!("not a secret")
        };
        assert_eq!(secret_id, SECRET);
        assert_eq!(json_key.as_deref(), Some("password"));
        assert_eq!(version_stage.as_deref(), Some("AWSPREVIOUS"));
        assert_eq!(version_id, None);

        let Ok(Source::Secret {
            json_key,
            version_id,
            ..
        }) = parse(&format!("{SECRET}:::0a1b2c3d"))
        else {
            panic!("not a secret")
        };
        assert_eq!(json_key, None);
        assert_eq!(version_id.as_deref(), Some("0a1b2c3d"));
    }

    #[test]
    fn parameters_by_arn_and_by_name() {
        let arn = "arn:aws:ssm:eu-west-1:123456789012:parameter/backstage/POSTGRES_HOST";
        assert_eq!(
            parse(arn),
            Ok(Source::Parameter {
                id: arn.into(),
                region: Some("eu-west-1".into())
            })
        );
        assert_eq!(
            parse("/backstage/POSTGRES_PORT"),
            Ok(Source::Parameter {
                id: "/backstage/POSTGRES_PORT".into(),
                region: None
            })
        );
    }

    #[test]
    fn malformed() {
        assert!(parse("").is_err());
        assert!(parse(&format!("{SECRET}:password")).is_err());
        assert!(parse("arn:aws:s3:::bucket/key").is_err());
        assert!(parse("arn:aws:ssm:us-west-2:123456789012:document/x").is_err());
    }

    #[test]
    fn json_keys() {
        assert_eq!(
            json_key_value(r#"{"username":"u","password":"p"}"#, "password"),
            Ok("p".into())
        );
        assert_eq!(
            json_key_value(r#"{"port":5432}"#, "port"),
            Ok("5432".into())
        );
        assert!(
            json_key_value(r#"{"a":"b"}"#, "password")
                .unwrap_err()
                .contains("does not contain the JSON key password")
        );
        assert!(json_key_value("plain", "password").is_err());
        assert!(json_key_value("[1]", "password").is_err());
    }
}
