use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by svc-up: roles, task definition and the ECS service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Svc {
    /// The image repository the tasks pull from: ecr-up's (copied from the `ecr` section, for
    /// the readers of this one).
    pub repository_name: String,
    pub repository_uri: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    pub log_group: String,
    pub security_group_id: String,
    pub task_definition_arn: String,
    pub cloudmap_service_arn: String,
    pub cluster_name: String,
    pub service_name: String,
    pub service_arn: String,
    pub container_name: String,
    pub container_port: u16,
    /// The image the service runs (the pipeline's, or a `--image` pin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Secret ARN → version id the running deployment's tasks started with: a newer version
    /// in the `secrets` section makes svc-up start a new deployment.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secret_versions: BTreeMap<String, String>,
}

impl Section for Svc {
    const NAME: &'static str = "svc";
    const PRODUCER: &'static str = "svc-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("repository_uri", &self.repository_uri),
            ("service_arn", &self.service_arn),
            ("container_name", &self.container_name),
        ])
    }
}
