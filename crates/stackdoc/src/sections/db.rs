use serde::{Deserialize, Serialize};

use super::{NamedArn, Section, non_empty};

/// Written by db-up: the Aurora cluster, its security groups and the SSM parameters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Db {
    pub cluster_id: String,
    pub cluster_arn: String,
    pub endpoint: String,
    pub reader_endpoint: String,
    pub port: u16,
    pub user: String,
    pub instance_id: String,
    pub subnet_group: String,
    /// The group the database admits 5432 from.
    pub db_security_group_id: String,
    /// The empty group that clients (the tasks) carry.
    pub client_security_group_id: String,
    /// POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, in that order.
    pub parameters: Vec<NamedArn>,
    /// The version of the password secret last set as the cluster's master password: a newer
    /// AWSCURRENT makes db-up set it (ModifyDBCluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_version: Option<String>,
}

impl Section for Db {
    const NAME: &'static str = "db";
    const PRODUCER: &'static str = "db-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("cluster_arn", &self.cluster_arn),
            ("endpoint", &self.endpoint),
            ("client_security_group_id", &self.client_security_group_id),
        ])?;
        if self.parameters.len() != 3 {
            return Err(format!(
                "it lists {} SSM parameters, not 3",
                self.parameters.len()
            ));
        }
        Ok(())
    }
}
