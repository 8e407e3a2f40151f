//! The names of the app's ECS service and what it runs, derived from the app name alone: svc-up
//! makes them, and pipeline-up's deploy action and role policy name them before the service
//! exists (so the pipeline can be made as soon as the image repository exists).

/// The service, its task family and container, and the task's two roles, of one app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNames {
    pub service: String,
    pub family: String,
    pub container: String,
    /// The role ECS uses to start the task (image pull, logs, secrets).
    pub execution_role: String,
    /// The role the task's containers run as.
    pub task_role: String,
}

impl ServiceNames {
    pub fn of(app: &str) -> ServiceNames {
        ServiceNames {
            service: app.to_owned(),
            family: app.to_owned(),
            container: app.to_owned(),
            execution_role: format!("{app}-task-execution"),
            task_role: format!("{app}-task"),
        }
    }

    pub fn execution_role_arn(&self, partition: &str, account: &str) -> String {
        role_arn(partition, account, &self.execution_role)
    }

    pub fn task_role_arn(&self, partition: &str, account: &str) -> String {
        role_arn(partition, account, &self.task_role)
    }

    /// `arn:P:ecs:R:A:service/CLUSTER/SERVICE` (the long ARN format, the default since 2021).
    pub fn service_arn(
        &self,
        partition: &str,
        region: &str,
        account: &str,
        cluster: &str,
    ) -> String {
        format!(
            "arn:{partition}:ecs:{region}:{account}:service/{cluster}/{}",
            self.service
        )
    }
}

fn role_arn(partition: &str, account: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:role/{name}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_app() {
        let n = ServiceNames::of("unicorn-ui");
        assert_eq!(n.service, "unicorn-ui");
        assert_eq!(n.family, "unicorn-ui");
        assert_eq!(n.container, "unicorn-ui");
        assert_eq!(
            n.execution_role_arn("aws", "123456789012"),
            "arn:aws:iam::123456789012:role/unicorn-ui-task-execution"
        );
        assert_eq!(
            n.task_role_arn("aws-cn", "123456789012"),
            "arn:aws-cn:iam::123456789012:role/unicorn-ui-task"
        );
        assert_eq!(
            n.service_arn("aws", "us-west-2", "123456789012", "core-infra"),
            "arn:aws:ecs:us-west-2:123456789012:service/core-infra/unicorn-ui"
        );
    }
}
