use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by core-up: the network, the ECS cluster and the Cloud Map namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Core {
    /// The core-infra name (`--core-name`): VPC Name tag and cluster name.
    pub name: String,
    /// False when core-up found an existing core-infra and reused it: `--destroy` then
    /// deletes none of it.
    pub created: bool,
    pub vpc_id: String,
    pub vpc_cidr: String,
    pub public_subnets: Vec<Subnet>,
    pub private_subnets: Vec<Subnet>,
    pub cluster_name: String,
    pub cluster_arn: String,
    pub namespace_id: String,
    pub namespace_name: String,
    pub namespace_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub cidr: String,
    pub az: String,
}

impl Section for Core {
    const NAME: &'static str = "core";
    const PRODUCER: &'static str = "core-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("vpc_id", &self.vpc_id),
            ("cluster_arn", &self.cluster_arn),
            ("namespace_id", &self.namespace_id),
        ])?;
        if self.public_subnets.is_empty() || self.private_subnets.is_empty() {
            return Err("it lists no public or no private subnets".into());
        }
        Ok(())
    }
}
