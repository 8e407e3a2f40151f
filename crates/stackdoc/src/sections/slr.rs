use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by slr-check: the account's service-linked roles the stack relies on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Slr {
    pub codestar_notifications_role_arn: String,
    pub ecs_role_arn: String,
}

impl Section for Slr {
    const NAME: &'static str = "slr";
    const PRODUCER: &'static str = "slr-check";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            (
                "codestar_notifications_role_arn",
                &self.codestar_notifications_role_arn,
            ),
            ("ecs_role_arn", &self.ecs_role_arn),
        ])
    }
}
