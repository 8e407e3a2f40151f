use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by ecr-up: the image repository the pipeline's build pushes to and the service's
/// tasks pull from. Its own step so that the pipeline (and its first build, the longest wait
/// of a fresh stack) can start before the database, the load balancer and the service exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ecr {
    pub repository_name: String,
    pub repository_arn: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`, what images are tagged with.
    pub repository_uri: String,
}

impl Section for Ecr {
    const NAME: &'static str = "ecr";
    const PRODUCER: &'static str = "ecr-up";
    fn validate(&self) -> Result<(), String> {
        non_empty(&[
            ("repository_name", &self.repository_name),
            ("repository_uri", &self.repository_uri),
        ])
    }
}
