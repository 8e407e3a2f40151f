//! What should exist: names, policies and the normalised settings of every resource, computed
//! from the flags and the document. Pure: no AWS call, unit-tested.

use serde_json::{Map, Value, json};
use stackdoc::{Alb, Doc, PLANNED, Secrets, Slr, Svc};

use crate::Args;
use kit::{Error, Result};

/// The CodeBuild image: Ubuntu 22.04 with Node 18/20/22 and docker, the current standard line.
pub const BUILD_IMAGE: &str = "aws/codebuild/standard:7.0";
/// The smallest compute size (3 GB, 2 vCPUs).
pub const COMPUTE_TYPE: &str = "BUILD_GENERAL1_SMALL";
pub const BUILD_TIMEOUT_MINUTES: i32 = 30;
/// Days after which pipeline artifacts expire.
pub const ARTIFACT_DAYS: i32 = 30;
pub const SOURCE_ARTIFACT: &str = "SourceArtifact";
pub const BUILD_ARTIFACT: &str = "BuildArtifact";
pub const IMAGE_DEFINITIONS: &str = "imagedefinition.json";
/// What AWS shows instead of a secret action setting.
pub const MASK: &str = "****";
/// The events the notification rule sends.
pub const EVENTS: [&str; 3] = [
    "codepipeline-pipeline-action-execution-succeeded",
    "codepipeline-pipeline-action-execution-failed",
    "codepipeline-pipeline-pipeline-execution-failed",
];
/// Actions that AWS only grants on `"*"` (they have no resource-level permissions).
pub const STAR_ONLY_ACTIONS: [&str; 3] = [
    "ecr:GetAuthorizationToken",
    "ecs:DescribeTaskDefinition",
    "ecs:RegisterTaskDefinition",
];

/// Where the pipeline's source comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// GitHub version 1 (ThirdParty/GitHub/1) with an OAuth token read from the secret.
    GithubV1 {
        owner: String,
        repo: String,
        branch: String,
        token_secret_arn: String,
    },
    /// A CodeStar connection (AWS/CodeStarSourceConnection/1).
    Connection {
        arn: String,
        repository: String,
        branch: String,
    },
}

impl Source {
    pub fn kind(&self) -> &'static str {
        match self {
            Source::GithubV1 { .. } => "github-v1",
            Source::Connection { .. } => "codestar-connection",
        }
    }
}

/// Everything pipeline-up should make, by name, with its settings in a normalised form that
/// observed resources are converted to for comparison.
/// The deterministic names and ARNs of everything pipeline-up makes: known from the app,
/// account and region alone, so `--destroy` finds everything without the upstream sections.
#[derive(Debug, Clone)]
pub struct Names {
    pub bucket: String,
    pub bucket_arn: String,
    pub topic_name: String,
    pub topic_arn: String,
    pub build_role: String,
    pub build_role_arn: String,
    pub pipeline_role: String,
    pub pipeline_role_arn: String,
    pub project: String,
    pub project_arn: String,
    pub log_group: String,
    pub pipeline: String,
    pub pipeline_arn: String,
    pub rule_name: String,
}

impl Names {
    pub fn new(app: &str, account: &str, region: &str) -> Names {
        let p = kit::aws::partition(region);
        let bucket = bucket_name(app, account, region);
        let topic_name = format!("{app}-pipeline");
        let build_role = format!("{app}-codebuild");
        let pipeline_role = format!("{app}-pipeline");
        let project = format!("codebuild-{app}");
        let pipeline = format!("pipeline-{app}");
        Names {
            bucket_arn: format!("arn:{p}:s3:::{bucket}"),
            bucket,
            topic_arn: format!("arn:{p}:sns:{region}:{account}:{topic_name}"),
            topic_name,
            build_role_arn: format!("arn:{p}:iam::{account}:role/{build_role}"),
            build_role,
            pipeline_role_arn: format!("arn:{p}:iam::{account}:role/{pipeline_role}"),
            pipeline_role,
            project_arn: format!("arn:{p}:codebuild:{region}:{account}:project/{project}"),
            log_group: format!("/aws/codebuild/{project}"),
            project,
            pipeline_arn: format!("arn:{p}:codepipeline:{region}:{account}:{pipeline}"),
            pipeline,
            rule_name: format!("{app}-pipeline-status"),
        }
    }
}

/// Everything pipeline-up should make, with its settings in a normalised form that observed
/// resources are converted to for comparison.
#[derive(Debug, Clone)]
pub struct Desired {
    pub n: Names,
    pub bucket_policy: Value,
    pub topic_policy: Value,
    pub build_trust: Value,
    pub build_policy: Value,
    pub pipeline_trust: Value,
    pub pipeline_policy: Value,
    /// The project's settings (see [`project_settings`]).
    pub project_settings: Value,
    /// The pipeline declaration, with the OAuth token as [`MASK`].
    pub pipeline_settings: Value,
    pub source: Source,
    pub url: String,
}

/// FNV-1a, 64 bits: a small deterministic hash for shortening names (no crate needed).
pub fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// `<app>-pipeline-<account>-<region>`, or, past S3's 63 characters, its first 54 characters
/// (trailing hyphens dropped) and 8 hex digits of its FNV-1a hash: deterministic and unique
/// per app, account and region.
pub fn bucket_name(app: &str, account: &str, region: &str) -> String {
    let full = format!("{app}-pipeline-{account}-{region}");
    if full.len() <= 63 {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(&full) as u32);
    let head = full[..54].trim_end_matches(['-', '.']);
    format!("{head}-{hash}")
}

/// A GitHub owner: 1 to 39 letters, digits or hyphens, not starting with a hyphen.
pub fn check_owner(owner: &str) -> Result<()> {
    let ok = (1..=39).contains(&owner.len())
        && !owner.starts_with('-')
        && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--repo-owner '{owner}' is not a GitHub user or organisation; use letters, digits and hyphens (e.g. --repo-owner my-org)"
        ))
    })
}

/// A GitHub repository name: 1 to 100 letters, digits, '.', '_' or '-'.
pub fn check_repo(repo: &str) -> Result<()> {
    let ok = (1..=100).contains(&repo.len())
        && repo != "."
        && repo != ".."
        && repo
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--repo-name '{repo}' is not a GitHub repository name; use letters, digits, '.', '_' and '-' (e.g. --repo-name backstage-app)"
        ))
    })
}

/// A git branch name that git and CodePipeline accept.
pub fn check_branch(branch: &str) -> Result<()> {
    let ok = !branch.is_empty()
        && branch.len() <= 255
        && !branch.starts_with(['-', '/'])
        && !branch.ends_with(['/', '.'])
        && !branch.contains("..")
        && !branch.contains("//")
        && !branch.ends_with(".lock")
        && !branch
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "~^:?*[\\".contains(c));
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--branch '{branch}' is not a valid git branch name (e.g. --branch main)"
        ))
    })
}

/// `arn:<partition>:codestar-connections|codeconnections:<region>:<12 digits>:connection/<id>`;
/// returns the service prefix its IAM actions use.
pub fn check_connection_arn(arn: &str) -> Result<&str> {
    let bad = || {
        Error::usage(format!(
            "--connection-arn '{arn}' is not a CodeStar connection ARN; copy it from the console or `aws codestar-connections list-connections` (arn:aws:codestar-connections:REGION:ACCOUNT:connection/ID)"
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(bad());
    };
    let id = resource.strip_prefix("connection/").ok_or_else(bad)?;
    let ok = prefix == "arn"
        && partition.starts_with("aws")
        && matches!(service, "codestar-connections" | "codeconnections")
        && !region.is_empty()
        && region
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && account.len() == 12
        && account.chars().all(|c| c.is_ascii_digit())
        && !id.is_empty()
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok { Ok(service) } else { Err(bad()) }
}

/// A buildspec path inside the source repository.
pub fn check_buildspec(path: &str) -> Result<()> {
    let ok = !path.trim().is_empty()
        && !path.starts_with('/')
        && !path.split('/').any(|p| p == "..")
        && path.len() <= 1024;
    ok.then_some(()).ok_or_else(|| {
        Error::usage(format!(
            "--buildspec '{path}' must be a path inside the app's repository (e.g. templates/buildspec.yml)"
        ))
    })
}

/// The upstream sections, from a document of real resources (apply) or possibly planned ones
/// (`--plan`, where a placeholder id only means "not created yet").
pub struct Upstream {
    pub secrets: Secrets,
    pub svc: Svc,
    pub alb: Alb,
}

pub fn upstream(doc: &Doc, plan_only: bool) -> Result<Upstream> {
    // Required in dependency order, so the first missing one is the one to run next.
    if plan_only {
        doc.require::<Secrets>()?;
        doc.require::<Slr>()?;
        doc.require::<stackdoc::Core>()?;
        Ok(Upstream {
            alb: doc.require()?,
            svc: doc.require()?,
            secrets: doc.require()?,
        })
    } else {
        doc.require_applied::<Secrets>()?;
        doc.require_applied::<Slr>()?;
        doc.require_applied::<stackdoc::Core>()?;
        Ok(Upstream {
            alb: doc.require_applied()?,
            svc: doc.require_applied()?,
            secrets: doc.require_applied()?,
        })
    }
}

/// The desired state, from the flags, the upstream sections and the stack's identity.
pub fn desired(
    args: &Args,
    up: &Upstream,
    app: &str,
    account: &str,
    region: &str,
) -> Result<Desired> {
    let (owner, repo) = match (&args.repo_owner, &args.repo_name) {
        (Some(o), Some(r)) => (o.clone(), r.clone()),
        (None, _) => {
            return Err(Error::usage(
                "no --repo-owner given: pipeline-up needs the app's GitHub repository; pass --repo-owner OWNER --repo-name NAME",
            ));
        }
        (Some(_), None) => {
            return Err(Error::usage(
                "no --repo-name given: pipeline-up needs the app's GitHub repository; pass --repo-owner OWNER --repo-name NAME",
            ));
        }
    };
    let n = Names::new(app, account, region);
    let p = kit::aws::partition(region);
    let (bucket_arn, topic_arn) = (n.bucket_arn.clone(), n.topic_arn.clone());
    let project_arn = n.project_arn.clone();
    let log_group_arn = format!("arn:{p}:logs:{region}:{account}:log-group:{}", n.log_group);
    let svc = &up.svc;
    let cluster = &svc.cluster_name;
    let repository_arn = format!(
        "arn:{p}:ecr:{region}:{account}:repository/{}",
        svc.repository_name
    );
    let service_arn = if svc.service_arn == PLANNED {
        format!(
            "arn:{p}:ecs:{region}:{account}:service/{cluster}/{}",
            svc.service_name
        )
    } else {
        svc.service_arn.clone()
    };
    let family = task_family(&svc.task_definition_arn).unwrap_or(svc.container_name.as_str());

    let source = match &args.connection_arn {
        Some(arn) => Source::Connection {
            arn: arn.clone(),
            repository: format!("{owner}/{repo}"),
            branch: args.branch.clone(),
        },
        None => Source::GithubV1 {
            owner,
            repo,
            branch: args.branch.clone(),
            token_secret_arn: up.secrets.github_token.arn.clone(),
        },
    };

    let bucket_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket_arn.clone(), format!("{bucket_arn}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]
    });
    let topic_policy = json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CodeStarNotificationsPublish",
            "Effect": "Allow",
            "Principal": {"Service": "codestar-notifications.amazonaws.com"},
            "Action": "sns:Publish",
            "Resource": topic_arn.clone(),
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}
        }]
    });
    let trust = |service: &str| {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": service},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": account}}
            }]
        })
    };
    let build_policy = json!({
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "ArtifactsReadWrite",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
                "Resource": format!("{bucket_arn}/*")
            },
            {
                "Sid": "ArtifactsBucket",
                "Effect": "Allow",
                "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation"],
                "Resource": bucket_arn.clone()
            },
            {
                "Sid": "ImagePush",
                "Effect": "Allow",
                "Action": [
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:BatchGetImage",
                    "ecr:CompleteLayerUpload",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:InitiateLayerUpload",
                    "ecr:PutImage",
                    "ecr:UploadLayerPart"
                ],
                "Resource": repository_arn
            },
            {
                "Sid": "RegistryLogin",
                "Effect": "Allow",
                "Action": "ecr:GetAuthorizationToken",
                "Resource": "*"
            },
            {
                "Sid": "BuildLogs",
                "Effect": "Allow",
                "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": [log_group_arn.clone(), format!("{log_group_arn}:*")]
            }
        ]
    });
    let mut pipeline_statements = vec![
        json!({
            "Sid": "Artifacts",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject", "s3:PutObjectAcl"],
            "Resource": format!("{bucket_arn}/*")
        }),
        json!({
            "Sid": "ArtifactsBucket",
            "Effect": "Allow",
            "Action": ["s3:GetBucketAcl", "s3:GetBucketLocation", "s3:GetBucketVersioning", "s3:ListBucket"],
            "Resource": bucket_arn.clone()
        }),
        json!({
            "Sid": "Build",
            "Effect": "Allow",
            "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild", "codebuild:StopBuild"],
            "Resource": project_arn.clone()
        }),
        json!({
            "Sid": "DeployService",
            "Effect": "Allow",
            "Action": ["ecs:DescribeServices", "ecs:UpdateService"],
            "Resource": service_arn
        }),
        json!({
            "Sid": "DeployTasks",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTasks", "ecs:ListTasks"],
            "Resource": [
                format!("arn:{p}:ecs:{region}:{account}:task/{cluster}/*"),
                format!("arn:{p}:ecs:{region}:{account}:container-instance/{cluster}/*")
            ]
        }),
        json!({
            "Sid": "DeployTaskDefinitionTags",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": format!("arn:{p}:ecs:{region}:{account}:task-definition/{family}:*")
        }),
        json!({
            "Sid": "DeployTaskDefinition",
            "Effect": "Allow",
            "Action": ["ecs:DescribeTaskDefinition", "ecs:RegisterTaskDefinition"],
            "Resource": "*"
        }),
        json!({
            "Sid": "PassTaskRoles",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": [svc.execution_role_arn.clone(), svc.task_role_arn.clone()],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
        }),
    ];
    if let Source::Connection { arn, .. } = &source {
        let service = check_connection_arn(arn)?;
        pipeline_statements.push(json!({
            "Sid": "SourceConnection",
            "Effect": "Allow",
            "Action": format!("{service}:UseConnection"),
            "Resource": arn
        }));
    }
    let pipeline_policy = json!({"Version": "2012-10-17", "Statement": pipeline_statements});

    let project_settings = project_settings(
        &args.buildspec,
        &n.build_role_arn,
        &n.log_group,
        &[
            ("REPO_URL", svc.repository_uri.as_str()),
            ("CONTAINER_NAME", svc.container_name.as_str()),
            ("BASE_URL", up.alb.url.as_str()),
        ],
    );
    let pipeline_settings = pipeline_settings(
        &n.pipeline,
        &n.pipeline_role_arn,
        &n.bucket,
        &source,
        &n.project,
        cluster,
        &svc.service_name,
    );
    Ok(Desired {
        n,
        bucket_policy,
        topic_policy,
        build_trust: trust("codebuild.amazonaws.com"),
        build_policy,
        pipeline_trust: trust("codepipeline.amazonaws.com"),
        pipeline_policy,
        project_settings,
        pipeline_settings,
        source,
        url: up.alb.url.clone(),
    })
}

/// "family" of `arn:...:task-definition/family:3`.
fn task_family(arn: &str) -> Option<&str> {
    let tail = arn.rsplit_once("task-definition/")?.1;
    Some(tail.split(':').next().unwrap_or(tail)).filter(|f| !f.is_empty())
}

/// The CodeBuild project's settings that pipeline-up manages, normalised.
pub fn project_settings(
    buildspec: &str,
    role_arn: &str,
    log_group: &str,
    env: &[(&str, &str)],
) -> Value {
    json!({
        "source": {"type": "CODEPIPELINE", "buildspec": buildspec},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {
            "type": "LINUX_CONTAINER",
            "image": BUILD_IMAGE,
            "computeType": COMPUTE_TYPE,
            "privilegedMode": true,
            "variables": env.iter().map(|(k, v)| json!({"name": k, "value": v, "type": "PLAINTEXT"})).collect::<Vec<_>>(),
        },
        "serviceRole": role_arn,
        "timeoutInMinutes": BUILD_TIMEOUT_MINUTES,
        "logs": {"status": "ENABLED", "groupName": log_group},
    })
}

/// The pipeline declaration, normalised; a GitHub version 1 OAuthToken shows as [`MASK`].
pub fn pipeline_settings(
    name: &str,
    role_arn: &str,
    bucket: &str,
    source: &Source,
    project: &str,
    cluster: &str,
    service: &str,
) -> Value {
    let source_action = match source {
        Source::GithubV1 {
            owner,
            repo,
            branch,
            ..
        } => action(
            "Source",
            ("Source", "ThirdParty", "GitHub", "1"),
            &[
                ("Owner", owner),
                ("Repo", repo),
                ("Branch", branch),
                ("OAuthToken", MASK),
                ("PollForSourceChanges", "true"),
            ],
            &[],
            &[SOURCE_ARTIFACT],
        ),
        Source::Connection {
            arn,
            repository,
            branch,
        } => action(
            "Source",
            ("Source", "AWS", "CodeStarSourceConnection", "1"),
            &[
                ("ConnectionArn", arn),
                ("FullRepositoryId", repository),
                ("BranchName", branch),
                ("OutputArtifactFormat", "CODE_ZIP"),
                ("DetectChanges", "true"),
            ],
            &[],
            &[SOURCE_ARTIFACT],
        ),
    };
    json!({
        "name": name,
        "roleArn": role_arn,
        "artifactStore": {"type": "S3", "location": bucket},
        "stages": [
            {"name": "Source", "actions": [source_action]},
            {"name": "Build", "actions": [action(
                "Build",
                ("Build", "AWS", "CodeBuild", "1"),
                &[("ProjectName", project)],
                &[SOURCE_ARTIFACT],
                &[BUILD_ARTIFACT],
            )]},
            {"name": "Deploy", "actions": [action(
                "Deploy",
                ("Deploy", "AWS", "ECS", "1"),
                &[("ClusterName", cluster), ("ServiceName", service), ("FileName", IMAGE_DEFINITIONS)],
                &[BUILD_ARTIFACT],
                &[],
            )]},
        ],
    })
}

fn action(
    name: &str,
    (category, owner, provider, version): (&str, &str, &str, &str),
    config: &[(&str, &str)],
    inputs: &[&str],
    outputs: &[&str],
) -> Value {
    let configuration: Map<String, Value> = config
        .iter()
        .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
        .collect();
    json!({
        "name": name,
        "actionTypeId": {"category": category, "owner": owner, "provider": provider, "version": version},
        "runOrder": 1,
        "configuration": configuration,
        "inputArtifacts": inputs,
        "outputArtifacts": outputs,
    })
}

/// "path: old → new" for each leaf where `old` and `new` differ (at most `limit` of them).
pub fn differences(old: &Value, new: &Value, limit: usize) -> Vec<kit::Field> {
    let mut out = Vec::new();
    walk("", old, new, &mut out);
    if out.len() > limit {
        let more = out.len() - limit;
        out.truncate(limit);
        out.push(format!("and {more} more").into());
    }
    out
}

fn walk(path: &str, old: &Value, new: &Value, out: &mut Vec<kit::Field>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                walk(
                    &join(k),
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                let label = y
                    .get("name")
                    .and_then(Value::as_str)
                    .map_or_else(|| i.to_string(), str::to_owned);
                walk(&join(&label), x, y, out);
            }
        }
        _ if old == new => {}
        _ => out.push(kit::field(
            if path.is_empty() { "value" } else { path },
            short(old),
            short(new),
        )),
    }
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 80 {
        format!("{}…", text.chars().take(77).collect::<String>())
    } else {
        text
    }
}

/// An IAM policy document as IAM returns it (URL-encoded JSON) or as given (JSON).
pub fn parse_policy(text: &str) -> Option<Value> {
    serde_json::from_str(text)
        .ok()
        .or_else(|| serde_json::from_str(&percent_decode(text)).ok())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        if let (b'%', Some(b)) = (bytes[i], hex) {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_fit_s3_and_are_deterministic() {
        assert_eq!(
            bucket_name("unicorn-ui", "123456789012", "us-west-2"),
            "unicorn-ui-pipeline-123456789012-us-west-2"
        );
        let app = "a-very-long-application-name-for-the-portal-x";
        let long = bucket_name(app, "123456789012", "ap-southeast-2");
        assert!(long.len() <= 63, "{long}");
        assert_eq!(long, bucket_name(app, "123456789012", "ap-southeast-2"));
        assert_ne!(long, bucket_name(app, "123456789012", "ap-southeast-1"));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(!long.contains("--"));
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn connection_arns_are_checked() {
        assert_eq!(
            check_connection_arn(
                "arn:aws:codestar-connections:us-west-2:123456789012:connection/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab"
            )
            .unwrap(),
            "codestar-connections"
        );
        assert!(
            check_connection_arn("arn:aws:codeconnections:us-west-2:123456789012:connection/abc")
                .is_ok()
        );
        for bad in [
            "not-an-arn",
            "arn:aws:s3:::bucket",
            "arn:aws:codestar-connections:us-west-2:1234:connection/abc",
            "arn:aws:codestar-connections:us-west-2:123456789012:host/abc",
            "arn:aws:codestar-connections:us-west-2:123456789012:connection/",
        ] {
            assert!(check_connection_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(check_owner("my-org").is_ok());
        assert!(check_owner("-x").is_err());
        assert!(check_repo("backstage.app_1").is_ok());
        assert!(check_repo("a/b").is_err());
        assert!(check_branch("feature/x").is_ok());
        assert!(check_branch("a..b").is_err());
        assert!(check_branch("has space").is_err());
        assert!(check_buildspec("templates/buildspec.yml").is_ok());
        assert!(check_buildspec("/etc/passwd").is_err());
    }

    #[test]
    fn policies_decode_either_way() {
        let v = json!({"a": [1, "b c"]});
        assert_eq!(parse_policy(&v.to_string()), Some(v.clone()));
        assert_eq!(
            parse_policy("%7B%22a%22%3A%5B1%2C%22b%20c%22%5D%7D"),
            Some(v)
        );
    }

    #[test]
    fn differences_name_the_changed_leaves() {
        let a = json!({"stages": [{"name": "Source", "x": 1}], "k": "v"});
        let b = json!({"stages": [{"name": "Source", "x": 2}], "k": "v"});
        assert_eq!(
            differences(&a, &b, 5),
            vec![kit::Field::from("stages.Source.x: 1 → 2")]
        );
    }
}
