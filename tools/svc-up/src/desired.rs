//! What should exist, from flags and the document: the task definition and the service as
//! documents in ECS's own shape (compared with what exists by kit::jsondiff), the roles'
//! policies, the task group's rules, and the checks that need no AWS call. Pure.

use std::collections::BTreeSet;

use iam_roles::Want;
use kit::jsondiff::Rules as JsonRules;
use security_groups::{Peer, Rule, Rules};
use serde_json::{Value, json};

use crate::Inputs;
use crate::names::{Names, Place, ecr_repo_arn};

pub const CLOUDMAP_TTL: i64 = 10;
pub const CLOUDMAP_FAILURE_THRESHOLD: i32 = 1;

/// Where the image of the task definition comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageSource {
    /// `--image`: a pin, kept until `--reset image`.
    Pinned,
    /// The image the service runs now: the pipeline's (its deploy stage registers revisions).
    Running,
    /// `<repository>:latest` for a service that runs nothing yet: the pipeline's first build
    /// pushes it (with `<repository>:<commit8>`).
    Initial,
}

/// The image the task definition names: a pin wins; otherwise the service keeps what it runs
/// (once the service exists its image belongs to the pipeline); a new service starts with
/// `<repository>:latest`.
pub fn image(pin: Option<&str>, running: Option<&str>, repo_uri: &str) -> (String, ImageSource) {
    match (pin, running) {
        (Some(p), _) => (p.to_owned(), ImageSource::Pinned),
        (None, Some(r)) if !r.is_empty() => (r.to_owned(), ImageSource::Running),
        _ => (format!("{repo_uri}:latest"), ImageSource::Initial),
    }
}

/// The environment variables the task reads from Secrets Manager and SSM, by name, with the
/// ARN of each (never a value). The OAuth pair only when the secrets section has it.
pub fn task_secrets(inputs: &Inputs) -> Vec<(&'static str, String)> {
    let s = &inputs.secrets;
    let mut out: Vec<(&'static str, String)> = ["POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER"]
        .into_iter()
        .zip(inputs.db.parameters.iter().map(|p| p.arn.clone()))
        .collect();
    out.push(("POSTGRES_PASSWORD", s.db_password.arn.clone()));
    out.push(("GITHUB_TOKEN", s.github_token.arn.clone()));
    if let Some(id) = &s.oauth_client_id {
        out.push(("AUTH_GITHUB_CLIENT_ID", id.arn.clone()));
    }
    if let Some(secret) = &s.oauth_client_secret {
        out.push(("AUTH_GITHUB_CLIENT_SECRET", secret.arn.clone()));
    }
    out
}

/// The Secrets Manager secrets the task reads: (name, ARN).
pub fn secrets_read(inputs: &Inputs) -> Vec<(String, String)> {
    let s = &inputs.secrets;
    [
        Some(&s.db_password),
        Some(&s.github_token),
        s.oauth_client_id.as_ref(),
        s.oauth_client_secret.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|r| (r.name.clone(), r.arn.clone()))
    .collect()
}

/// What svc-up decides of the task definition, as RegisterTaskDefinition takes it.
pub struct TaskDefInput<'a> {
    pub cpu: u32,
    pub memory: u32,
    pub image: &'a str,
    pub execution_role_arn: &'a str,
    pub task_role_arn: &'a str,
}

pub fn task_def(n: &Names, place: &Place, inputs: &Inputs, t: &TaskDefInput) -> Value {
    let port = inputs.alb.container_port;
    let secrets: Vec<Value> = task_secrets(inputs)
        .into_iter()
        .map(|(name, arn)| json!({"name": name, "valueFrom": arn}))
        .collect();
    json!({
        "family": n.family,
        "taskRoleArn": t.task_role_arn,
        "executionRoleArn": t.execution_role_arn,
        "networkMode": "awsvpc",
        "requiresCompatibilities": ["FARGATE"],
        "cpu": t.cpu.to_string(),
        "memory": t.memory.to_string(),
        "containerDefinitions": [{
            "name": n.container,
            "image": t.image,
            "essential": true,
            "portMappings": [{"containerPort": port, "hostPort": port, "protocol": "tcp"}],
            "environment": [{"name": "BASE_URL", "value": inputs.alb.url}],
            "secrets": secrets,
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {
                    "awslogs-group": n.log_group,
                    "awslogs-region": place.region,
                    "awslogs-stream-prefix": "ecs",
                },
            },
            "linuxParameters": {"initProcessEnabled": true},
        }],
    })
}

/// How task definitions compare: lists that are sets, and what AWS fills in.
pub fn task_def_rules() -> JsonRules {
    JsonRules::new()
        .set("requiresCompatibilities", "")
        .set("containerDefinitions", "name")
        .set("containerDefinitions.*.environment", "name")
        .set("containerDefinitions.*.secrets", "name")
        .set("containerDefinitions.*.portMappings", "containerPort")
        .aws_default("containerDefinitions.*.cpu", json!(0))
        .aws_default("containerDefinitions.*.essential", json!(true))
        .aws_default(
            "containerDefinitions.*.portMappings.*.protocol",
            json!("tcp"),
        )
}

/// The image of a task definition document's first container.
pub fn image_of(task_def: &Value) -> Option<&str> {
    task_def["containerDefinitions"][0]["image"].as_str()
}

/// The service's settings as UpdateService takes them (DescribeServices' member names).
pub fn service(
    n: &Names,
    desired_count: i64,
    grace_period: i32,
    inputs: &Inputs,
    task_definition: &str,
    sg_id: &str,
    registry: &str,
) -> Value {
    let subnets: Vec<&str> = inputs
        .core
        .private_subnets
        .iter()
        .map(|s| s.id.as_str())
        .collect();
    json!({
        "desiredCount": desired_count,
        "taskDefinition": task_definition,
        "networkConfiguration": {"awsvpcConfiguration": {
            "subnets": subnets,
            "securityGroups": [sg_id, inputs.db.client_security_group_id],
            "assignPublicIp": "DISABLED",
        }},
        "loadBalancers": [{
            "targetGroupArn": inputs.alb.target_group_arn,
            "containerName": n.container,
            "containerPort": inputs.alb.container_port,
        }],
        "serviceRegistries": [{"registryArn": registry}],
        "enableExecuteCommand": true,
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": {"enable": true, "rollback": true},
            "maximumPercent": 200,
            "minimumHealthyPercent": 100,
        },
        "healthCheckGracePeriodSeconds": grace_period,
        "propagateTags": "SERVICE",
    })
}

pub fn service_rules() -> JsonRules {
    JsonRules::new()
        .set("networkConfiguration.awsvpcConfiguration.subnets", "")
        .set(
            "networkConfiguration.awsvpcConfiguration.securityGroups",
            "",
        )
        .set("loadBalancers", "targetGroupArn")
        .set("serviceRegistries", "registryArn")
}

/// The tasks' group: the container port from the ALB's group only; out, HTTPS only (ECR,
/// Secrets Manager, SSM, CloudWatch Logs, GitHub). The database is reached through the
/// DB-client group the service also carries.
pub fn task_rules(inputs: &Inputs) -> Rules {
    Rules {
        ingress: [Rule::tcp(
            inputs.alb.container_port,
            Peer::Group(inputs.alb.security_group_id.clone()),
        )]
        .into(),
        egress: [Rule::tcp(443, Peer::Cidr("0.0.0.0/0".into()))].into(),
    }
}

/// Trust for ECS tasks of this account only (the confused-deputy guard AWS recommends).
pub fn ecs_tasks_trust(place: &Place) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": place.account}}
    }]})
}

/// The execution role: what the ECS agent does when a task starts, and nothing wider — pull
/// from ecr-up's repository (and from a pinned image's own ECR repository), write to the log group,
/// read the secrets and parameters the task definition names. GetAuthorizationToken has no
/// resource form, so it is the one `*`.
pub fn exec_role(n: &Names, place: &Place, inputs: &Inputs, pin: Option<&str>) -> Want {
    let repo = inputs
        .ecr
        .arn(place.partition, &place.region, &place.account);
    let mut repos: BTreeSet<String> = [repo].into();
    repos.extend(pin.and_then(|i| ecr_repo_arn(place.partition, i)));
    let group = place.log_group_arn(&n.log_group);
    let secrets: Vec<String> = secrets_read(inputs)
        .into_iter()
        .map(|(_, arn)| arn)
        .collect();
    let parameters: Vec<&str> = inputs
        .db
        .parameters
        .iter()
        .map(|p| p.arn.as_str())
        .collect();
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "PullTheImage", "Effect": "Allow",
         "Action": ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
         "Resource": repos},
        {"Sid": "WriteTheLogs", "Effect": "Allow",
         "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": [group.clone(), format!("{group}:*")]},
        {"Sid": "ReadTheSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secrets},
        {"Sid": "ReadTheParameters", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameters}
    ]});
    Want {
        name: n.exec_role.clone(),
        description:
            "stagehand svc: ECS pulls the image, writes the logs and reads the secrets of the task"
                .into(),
        trust: ecs_tasks_trust(place),
        inline: [(n.exec_policy.clone(), policy)].into(),
        managed: BTreeSet::new(),
    }
}

/// The task role: the SSM message channels ECS Exec opens, and nothing else.
pub fn task_role(n: &Names, place: &Place) -> Want {
    let policy = json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "EcsExec",
        "Effect": "Allow",
        "Action": [
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel"
        ],
        "Resource": "*"
    }]});
    Want {
        name: n.task_role.clone(),
        description: "stagehand svc: the container (ECS Exec only)".into(),
        trust: ecs_tasks_trust(place),
        inline: [(n.task_policy.clone(), policy)].into(),
        managed: BTreeSet::new(),
    }
}

/// Fargate's allowed CPU units and, for each, the memory sizes (MiB) it may have.
pub fn fargate_memory_for(cpu: u32) -> Option<Vec<u32>> {
    let range = |from: u32, to: u32, step: u32| (from..=to).step_by(step as usize).collect();
    Some(match cpu {
        256 => vec![512, 1024, 2048],
        512 => range(1024, 4096, 1024),
        1024 => range(2048, 8192, 1024),
        2048 => range(4096, 16384, 1024),
        4096 => range(8192, 30720, 1024),
        8192 => range(16384, 61440, 4096),
        16384 => range(32768, 122880, 8192),
        _ => return None,
    })
}

/// `--cpu` / `--memory` as Fargate accepts them, or a message naming the allowed values.
pub fn check_fargate(cpu: u32, memory: u32) -> Result<(), String> {
    let Some(allowed) = fargate_memory_for(cpu) else {
        return Err(format!(
            "--cpu {cpu} is not a Fargate size; use 256, 512, 1024, 2048, 4096, 8192 or 16384"
        ));
    };
    if allowed.contains(&memory) {
        return Ok(());
    }
    let (lo, hi) = (allowed[0], allowed[allowed.len() - 1]);
    let which = if allowed.len() > 3 {
        format!("{lo} to {hi} in steps of {}", allowed[1] - allowed[0])
    } else {
        allowed
            .iter()
            .map(u32::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Err(format!(
        "--memory {memory} does not fit --cpu {cpu} on Fargate; with --cpu {cpu} use --memory {which}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fargate_pairs() {
        assert!(check_fargate(1024, 2048).is_ok());
        assert!(check_fargate(2048, 4096).is_ok());
        assert!(check_fargate(256, 512).is_ok());
        assert!(check_fargate(8192, 20480).is_ok());
        let e = check_fargate(1024, 512).unwrap_err();
        assert!(e.contains("2048 to 8192"), "{e}");
        assert!(
            check_fargate(1000, 2048)
                .unwrap_err()
                .contains("--cpu 1000")
        );
        assert!(
            check_fargate(256, 4096)
                .unwrap_err()
                .contains("512, 1024, 2048")
        );
    }

    #[test]
    fn the_image_belongs_to_the_pipeline_unless_pinned() {
        let uri = "1.dkr.ecr.us-west-2.amazonaws.com/web";
        let running = format!("{uri}:abcd1234");
        assert_eq!(
            image(None, None, uri),
            (format!("{uri}:latest"), ImageSource::Initial)
        );
        assert_eq!(
            image(None, Some(&running), uri),
            (running.clone(), ImageSource::Running)
        );
        assert_eq!(
            image(Some("x:1"), Some(&running), uri),
            ("x:1".to_owned(), ImageSource::Pinned)
        );
    }
}
