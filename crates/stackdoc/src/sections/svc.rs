use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by svc-up: the image repository, roles, task definition and the ECS service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Svc {
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
