use serde::{Deserialize, Serialize};

use super::{Section, non_empty};

/// Written by ecr-up: the image repository the pipeline's build pushes to and the service's
/// tasks pull from. Its own step so that the pipeline (and its first build, the longest wait
/// of a fresh stack) can start before the database, the load balancer and the service exist.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ecr {
    pub repository_name: String,
    pub repository_arn: String,
    /// `ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME`, what images are tagged with.
    pub repository_uri: String,
}

impl Ecr {
    /// The repository's ARN. A planned section (the repository is not made yet) carries the
    /// placeholder; ECR's ARNs follow from the name, so this gives the one it will have, for
    /// the policies svc-up and pipeline-up plan before the repository exists.
    pub fn arn(&self, partition: &str, region: &str, account: &str) -> String {
        if self.repository_arn.is_empty() || self.repository_arn == crate::PLANNED {
            format!(
                "arn:{partition}:ecr:{region}:{account}:repository/{}",
                self.repository_name
            )
        } else {
            self.repository_arn.clone()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_planned_repository_has_the_arn_ecr_will_give_it() {
        let mut ecr = Ecr {
            repository_name: "web".into(),
            repository_arn: crate::PLANNED.into(),
            repository_uri: "1.dkr.ecr.cn-north-1.amazonaws.com.cn/web".into(),
        };
        assert_eq!(
            ecr.arn("aws-cn", "cn-north-1", "1"),
            "arn:aws-cn:ecr:cn-north-1:1:repository/web"
        );
        ecr.repository_arn = "arn:aws:ecr:us-west-2:1:repository/web".into();
        assert_eq!(ecr.arn("aws", "eu-west-1", "2"), ecr.repository_arn);
    }
}
