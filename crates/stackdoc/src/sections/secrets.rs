use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by secrets-init: where the secrets are, and which version of each is current.
/// Never a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secrets {
    pub github_token: SecretRef,
    pub db_password: SecretRef,
    /// GitHub OAuth app for sign-in (optional: absent until configured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_id: Option<SecretRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub oauth_client_secret: Option<SecretRef>,
}

/// A secret: its name, ARN and the version id Secrets Manager labels AWSCURRENT. Steps that
/// use a secret record the version they applied (db-up the master password, svc-up what the
/// running tasks started with, pipeline-up the token), and react when it differs: Secrets
/// Manager owns the values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub name: String,
    pub arn: String,
    /// AWSCURRENT's version id; absent in documents written before versions were recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

impl Secrets {
    /// Every secret the stack holds, with its role ("github_token", …).
    pub fn all(&self) -> Vec<(&'static str, &SecretRef)> {
        let mut out = vec![
            ("github_token", &self.github_token),
            ("db_password", &self.db_password),
        ];
        if let Some(s) = &self.oauth_client_id {
            out.push(("oauth_client_id", s));
        }
        if let Some(s) = &self.oauth_client_secret {
            out.push(("oauth_client_secret", s));
        }
        out
    }
}

impl Section for Secrets {
    const NAME: &'static str = "secrets";
    const PRODUCER: &'static str = "secrets-init";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("github_token.arn", &self.github_token.arn),
            ("db_password.arn", &self.db_password.arn),
        ])
    }
}
