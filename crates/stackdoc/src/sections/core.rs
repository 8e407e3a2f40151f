use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by core-up: the network, the ECS cluster and the Cloud Map namespace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Core {
    /// The core-infra name (`--core-name`): VPC Name tag and cluster name.
    pub name: String,
    /// False when core-up found an existing core-infra and reused it: `--destroy` then
    /// deletes none of it. (`--destroy` decides per resource by core-up's tags; this field
    /// tells a reader whether anything here is core-up's.)
    pub created: bool,
    pub vpc_id: String,
    pub vpc_cidr: String,
    /// One per availability zone, in the zones' order.
    pub public_subnets: Vec<Subnet>,
    /// One per availability zone, in the zones' order.
    pub private_subnets: Vec<Subnet>,
    pub cluster_name: String,
    pub cluster_arn: String,
    pub namespace_id: String,
    /// `default.<name>.local`.
    pub namespace_name: String,
    pub namespace_arn: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subnet {
    pub id: String,
    pub cidr: String,
    pub az: String,
}

impl Core {
    /// Every subnet, public ones first.
    pub fn subnets(&self) -> impl Iterator<Item = &Subnet> {
        self.public_subnets.iter().chain(&self.private_subnets)
    }
}

impl Section for Core {
    const NAME: &'static str = "core";
    const PRODUCER: &'static str = "core-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("vpc_id", &self.vpc_id),
            ("cluster_name", &self.cluster_name),
            ("cluster_arn", &self.cluster_arn),
            ("namespace_id", &self.namespace_id),
            ("namespace_name", &self.namespace_name),
        ])?;
        if self.public_subnets.is_empty() || self.private_subnets.is_empty() {
            return Err("it lists no public or no private subnets".into());
        }
        if let Some(s) = self.subnets().find(|s| s.id.trim().is_empty()) {
            return Err(format!("the subnet {} ({}) has no id", s.cidr, s.az));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn core() -> Core {
        let subnet = |id: &str, cidr: &str| Subnet {
            id: id.into(),
            cidr: cidr.into(),
            az: "us-west-2a".into(),
        };
        Core {
            name: "core-infra".into(),
            created: true,
            vpc_id: "vpc-1".into(),
            vpc_cidr: "10.0.0.0/16".into(),
            public_subnets: vec![subnet("subnet-1", "10.0.0.0/24")],
            private_subnets: vec![subnet("subnet-2", "10.0.10.0/24")],
            cluster_name: "core-infra".into(),
            cluster_arn: "arn:aws:ecs:us-west-2:123456789012:cluster/core-infra".into(),
            namespace_id: "ns-1".into(),
            namespace_name: "default.core-infra.local".into(),
            namespace_arn: "arn:ns".into(),
        }
    }

    #[test]
    fn a_complete_section_is_valid() {
        assert_eq!(core().validate(), Ok(()));
        assert_eq!(core().subnets().count(), 2);
    }

    #[test]
    fn missing_pieces_are_named() {
        let mut c = core();
        c.private_subnets.clear();
        assert!(
            c.validate()
                .unwrap_err()
                .contains("no public or no private")
        );
        let mut c = core();
        c.public_subnets[0].id.clear();
        assert!(c.validate().unwrap_err().contains("10.0.0.0/24"));
        let mut c = core();
        c.namespace_id.clear();
        assert!(c.validate().unwrap_err().contains("namespace_id"));
    }
}
