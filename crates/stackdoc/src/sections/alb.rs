use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by alb-up: the load balancer, its group, target group and listeners.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alb {
    pub name: String,
    pub arn: String,
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub security_group_id: String,
    pub target_group_name: String,
    pub target_group_arn: String,
    pub listener_arns: Vec<String>,
    pub container_port: u16,
    /// http:// or https:// followed by the DNS name.
    pub url: String,
}

impl Section for Alb {
    const NAME: &'static str = "alb";
    const PRODUCER: &'static str = "alb-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("arn", &self.arn),
            ("security_group_id", &self.security_group_id),
            ("target_group_arn", &self.target_group_arn),
            ("url", &self.url),
        ])
    }
}
