use serde::{Deserialize, Serialize};

use super::{NamedArn, Section, non_empty};

/// Written by secrets-init: where the two secrets are. Never a value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Secrets {
    pub github_token: NamedArn,
    pub db_password: NamedArn,
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
