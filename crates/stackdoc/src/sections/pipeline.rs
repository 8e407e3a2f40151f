use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by pipeline-up: the CI/CD resources. (The application's URL is `alb.url`.)
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pipeline {
    /// The artifact bucket.
    pub bucket: String,
    pub bucket_arn: String,
    /// The SNS topic the notification rule publishes to.
    pub topic_name: String,
    pub topic_arn: String,
    pub codebuild_project: String,
    pub codebuild_project_arn: String,
    pub codebuild_role_name: String,
    pub codebuild_role_arn: String,
    pub pipeline_name: String,
    pub pipeline_arn: String,
    pub pipeline_role_name: String,
    pub pipeline_role_arn: String,
    pub notification_rule_name: String,
    pub notification_rule_arn: String,
    /// "github-v1" or "codestar-connection".
    pub source_kind: String,
    /// The GitHub token secret's version the pipeline's source action holds (github-v1): a
    /// newer version makes pipeline-up send the new token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_version: Option<String>,
}

impl Section for Pipeline {
    const NAME: &'static str = "pipeline";
    const PRODUCER: &'static str = "pipeline-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("bucket", &self.bucket),
            ("pipeline_arn", &self.pipeline_arn),
        ])?;
        if !matches!(
            self.source_kind.as_str(),
            "github-v1" | "codestar-connection"
        ) {
            return Err(format!(
                "\"source_kind\" is {:?}, not \"github-v1\" or \"codestar-connection\"",
                self.source_kind
            ));
        }
        Ok(())
    }
}
