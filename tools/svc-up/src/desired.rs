//! What should exist, computed from flags and the document: names, policies, the task
//! definition in its normalised form, and the checks that need no AWS call. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};

/// The name every per-app resource derives from.
pub struct Names {
    pub repo: String,
    pub log_group: String,
    pub exec_role: String,
    pub task_role: String,
    pub exec_policy: String,
    pub task_policy: String,
    pub sg: String,
    pub family: String,
    pub container: String,
    pub cloudmap: String,
    pub service: String,
}

impl Names {
    pub fn of(app: &str) -> Names {
        Names {
            repo: app.to_owned(),
            log_group: format!("/ecs/{app}"),
            exec_role: format!("{app}-task-execution"),
            task_role: format!("{app}-task"),
            exec_policy: format!("{app}-read-secrets"),
            task_policy: format!("{app}-ecs-exec"),
            sg: format!("{app}-task"),
            family: app.to_owned(),
            container: app.to_owned(),
            cloudmap: app.to_owned(),
            service: app.to_owned(),
        }
    }
}

/// The two roles svc-up makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleKind {
    /// Used by ECS to pull the image, write logs and read the secrets.
    Execution,
    /// Used by the container itself: only ECS Exec.
    Task,
}

pub const EXEC_MANAGED_POLICY: &str = "service-role/AmazonECSTaskExecutionRolePolicy";
pub const CLOUDMAP_TTL: i64 = 10;
pub const CLOUDMAP_FAILURE_THRESHOLD: i32 = 1;
pub const KEEP_IMAGES: u32 = 30;

pub fn managed_policy_arn(region: &str) -> String {
    format!(
        "arn:{}:iam::aws:policy/{EXEC_MANAGED_POLICY}",
        kit::aws::partition(region)
    )
}

pub fn role_arn(region: &str, account: &str, name: &str) -> String {
    format!(
        "arn:{}:iam::{account}:role/{name}",
        kit::aws::partition(region)
    )
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
    let step = if allowed.len() > 3 {
        allowed[1] - allowed[0]
    } else {
        0
    };
    let which = if step > 0 {
        format!("{lo} to {hi} in steps of {step}")
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

/// CloudWatch Logs' allowed retention periods.
pub const RETENTION_DAYS: &[i32] = &[
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

pub fn lifecycle_policy() -> Value {
    json!({"rules": [{
        "rulePriority": 1,
        "description": format!("keep the last {KEEP_IMAGES} images"),
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
        "action": {"type": "expire"}
    }]})
}

pub fn ecs_tasks_trust() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": "ecs-tasks.amazonaws.com"},
        "Action": "sts:AssumeRole"
    }]})
}

/// The execution role's inline policy: the two secrets and the three parameters, nothing wider.
pub fn exec_policy(secret_arns: &[String], parameter_arns: &[String]) -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadTheTwoSecrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue", "Resource": secret_arns},
        {"Sid": "ReadTheThreeParameters", "Effect": "Allow", "Action": "ssm:GetParameters", "Resource": parameter_arns}
    ]})
}

/// The task role's inline policy: the SSM messages channels ECS Exec opens, and nothing else.
pub fn ecs_exec_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "EcsExec",
        "Effect": "Allow",
        "Action": [
            "ssmmessages:CreateControlChannel",
            "ssmmessages:CreateDataChannel",
            "ssmmessages:OpenControlChannel",
            "ssmmessages:OpenDataChannel"
        ],
        "Resource": "*"
    }]})
}

/// A policy document in a form two spellings of the same policy share: single values and
/// one-element lists are the same, lists are sets, Sids do not matter.
pub fn normalise_policy(doc: &Value) -> Value {
    fn norm(key: Option<&str>, v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .filter(|(k, _)| k.as_str() != "Sid")
                    .map(|(k, v)| (k.clone(), norm(Some(k), v)))
                    .collect(),
            ),
            Value::Array(items) => {
                let mut items: Vec<Value> = items.iter().map(|i| norm(None, i)).collect();
                items.sort_by_key(|a| a.to_string());
                items.dedup();
                Value::Array(items)
            }
            Value::String(_)
                if matches!(
                    key,
                    Some("Action" | "Resource" | "Service" | "AWS" | "NotAction")
                ) =>
            {
                Value::Array(vec![v.clone()])
            }
            other => other.clone(),
        }
    }
    norm(None, doc)
}

/// IAM returns policy documents URL-encoded.
pub fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[i + 1..i + 3]).ok())
            .flatten()
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match hex {
            Some(b) => {
                out.push(b);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A policy document as IAM returned it (URL-encoded or not), normalised.
pub fn parse_policy(text: &str) -> Option<Value> {
    serde_json::from_str::<Value>(text)
        .or_else(|_| serde_json::from_str::<Value>(&percent_decode(text)))
        .ok()
        .map(|v| normalise_policy(&v))
}

/// The task definition, reduced to what svc-up decides. What AWS adds (revision, status,
/// ARNs, registeredAt, compatibilities, requiresAttributes) and container defaults (cpu 0,
/// empty mount points) are not part of it, so a definition read back compares equal to the
/// one registered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskDef {
    pub family: String,
    pub task_role_arn: String,
    pub execution_role_arn: String,
    pub network_mode: String,
    pub requires_compatibilities: Vec<String>,
    pub cpu: String,
    pub memory: String,
    pub containers: Vec<ContainerDef>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerDef {
    pub name: String,
    pub image: String,
    pub essential: bool,
    /// (container port, host port, protocol)
    pub ports: Vec<(i32, i32, String)>,
    pub environment: BTreeMap<String, String>,
    /// name → valueFrom (an ARN, never a value)
    pub secrets: BTreeMap<String, String>,
    pub log_driver: String,
    pub log_options: BTreeMap<String, String>,
    pub init_process_enabled: bool,
}

impl TaskDef {
    /// "field: old → new" for each difference, `self` being what exists.
    pub fn changes_to(&self, want: &TaskDef) -> Vec<kit::Field> {
        let mut out = Vec::new();
        let mut cmp = |name: &str, a: String, b: String| {
            if a != b {
                out.push(kit::field(name, a, b));
            }
        };
        cmp("cpu", self.cpu.clone(), want.cpu.clone());
        cmp("memory", self.memory.clone(), want.memory.clone());
        cmp(
            "task_role",
            self.task_role_arn.clone(),
            want.task_role_arn.clone(),
        );
        cmp(
            "execution_role",
            self.execution_role_arn.clone(),
            want.execution_role_arn.clone(),
        );
        cmp(
            "network_mode",
            self.network_mode.clone(),
            want.network_mode.clone(),
        );
        cmp(
            "requires_compatibilities",
            self.requires_compatibilities.join(","),
            want.requires_compatibilities.join(","),
        );
        match (self.containers.as_slice(), want.containers.as_slice()) {
            ([a], [b]) => {
                cmp("container.name", a.name.clone(), b.name.clone());
                cmp("image", a.image.clone(), b.image.clone());
                cmp(
                    "essential",
                    a.essential.to_string(),
                    b.essential.to_string(),
                );
                cmp("ports", format!("{:?}", a.ports), format!("{:?}", b.ports));
                cmp(
                    "environment",
                    keys_and_values(&a.environment),
                    keys_and_values(&b.environment),
                );
                cmp(
                    "secrets",
                    keys_and_values(&a.secrets),
                    keys_and_values(&b.secrets),
                );
                cmp("log_driver", a.log_driver.clone(), b.log_driver.clone());
                cmp(
                    "log_options",
                    keys_and_values(&a.log_options),
                    keys_and_values(&b.log_options),
                );
                cmp(
                    "init_process_enabled",
                    a.init_process_enabled.to_string(),
                    b.init_process_enabled.to_string(),
                );
            }
            _ => cmp(
                "containers",
                self.containers
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
                    .join(","),
                want.containers
                    .iter()
                    .map(|c| c.name.clone())
                    .collect::<Vec<_>>()
                    .join(","),
            ),
        }
        out
    }
}

fn keys_and_values(map: &BTreeMap<String, String>) -> String {
    let inner = map
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(",");
    format!("{{{inner}}}")
}

/// Reduce a task definition as DescribeTaskDefinition returns it.
pub fn normalise(td: &aws_sdk_ecs::types::TaskDefinition) -> TaskDef {
    let mut compat: Vec<String> = td
        .requires_compatibilities()
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    compat.sort();
    let network_mode = td
        .network_mode()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let containers = td
        .container_definitions()
        .iter()
        .map(|c| {
            let ports = c
                .port_mappings()
                .iter()
                .map(|p| {
                    let cport = p.container_port().unwrap_or(0);
                    // awsvpc: the host port is the container port when not given.
                    let hport = p.host_port().filter(|h| *h != 0).unwrap_or(cport);
                    let proto = p
                        .protocol()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_else(|| "tcp".into());
                    (cport, hport, proto)
                })
                .collect();
            let log = c.log_configuration();
            ContainerDef {
                name: c.name().unwrap_or_default().to_owned(),
                image: c.image().unwrap_or_default().to_owned(),
                essential: c.essential().unwrap_or(true),
                ports,
                environment: c
                    .environment()
                    .iter()
                    .map(|kv| {
                        (
                            kv.name().unwrap_or_default().to_owned(),
                            kv.value().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
                secrets: c
                    .secrets()
                    .iter()
                    .map(|s| (s.name().to_owned(), s.value_from().to_owned()))
                    .collect(),
                log_driver: log
                    .map(|l| l.log_driver().as_str().to_owned())
                    .unwrap_or_default(),
                log_options: log
                    .and_then(|l| l.options())
                    .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                    .unwrap_or_default(),
                init_process_enabled: c
                    .linux_parameters()
                    .and_then(|l| l.init_process_enabled())
                    .unwrap_or(false),
            }
        })
        .collect();
    TaskDef {
        family: td.family().unwrap_or_default().to_owned(),
        task_role_arn: td.task_role_arn().unwrap_or_default().to_owned(),
        execution_role_arn: td.execution_role_arn().unwrap_or_default().to_owned(),
        network_mode,
        requires_compatibilities: compat,
        cpu: td.cpu().unwrap_or_default().to_owned(),
        memory: td.memory().unwrap_or_default().to_owned(),
        containers,
    }
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
    fn policies_compare_by_meaning() {
        let a = ecs_tasks_trust();
        let b = json!({"Version": "2012-10-17", "Statement": [{"Sid": "x",
            "Effect": "Allow", "Principal": {"Service": ["ecs-tasks.amazonaws.com"]},
            "Action": ["sts:AssumeRole"]}]});
        assert_eq!(normalise_policy(&a), normalise_policy(&b));
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%5D%7D";
        assert_eq!(
            parse_policy(encoded),
            Some(normalise_policy(
                &json!({"Version": "2012-10-17", "Statement": []})
            ))
        );
        let p1 = exec_policy(&["a".into(), "b".into()], &["x".into()]);
        let p2 = exec_policy(&["b".into(), "a".into()], &["x".into()]);
        assert_eq!(normalise_policy(&p1), normalise_policy(&p2));
        let p3 = exec_policy(&["a".into(), "*".into()], &["x".into()]);
        assert_ne!(normalise_policy(&p1), normalise_policy(&p3));
    }
}
