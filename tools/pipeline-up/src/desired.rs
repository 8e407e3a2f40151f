//! What should exist: names, policies and the normalised settings of every resource, computed
//! from the flags and the document. Pure: no AWS call, unit-tested.

use kit::{Cx, Error, Result};
use serde_json::{Map, Value, json};
use stackdoc::{Alb, PLANNED, Secrets, Svc};

use crate::Args;
use crate::names::Names;

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

/// What the pipeline's source needs of the GitHub token (github-v1 only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSecret {
    pub name: String,
    pub arn: String,
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
    /// The GitHub token's secret, for a github-v1 source.
    pub token: Option<TokenSecret>,
    /// Where the service runs (the ECS rollout `--run`/`--wait` follow).
    pub cluster: String,
    pub service: String,
    pub url: String,
    /// Days the builds' log group keeps its logs.
    pub log_retention_days: i32,
}

/// What pipeline-up needs from the steps before it, and nothing more: the ECR repository the
/// build pushes to, the names the deploy action and its role policy use, and the app's URL.
/// Built from the `svc`, `alb` and (for github-v1) `secrets` sections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    pub repository_name: String,
    pub repository_uri: String,
    pub container_name: String,
    pub cluster_name: String,
    pub service_name: String,
    /// Known once the service exists; derived from the names before that (a chained plan).
    pub service_arn: Option<String>,
    /// The task definition family (the container's name until svc-up registered one).
    pub task_family: String,
    pub execution_role_arn: String,
    pub task_role_arn: String,
    /// The app's URL (the load balancer's).
    pub url: String,
    /// The token secret, when the source is GitHub version 1.
    pub token: Option<TokenSecret>,
}

impl Inputs {
    /// From the document: `svc` and `alb` always, `secrets` for a github-v1 source. With
    /// `--plan` planned sections are accepted (their placeholders flow on); otherwise they must
    /// be applied. A missing section names the tool that makes it.
    pub fn from_doc(cx: &Cx, github_v1: bool) -> Result<Inputs> {
        // Required in dependency order, so the first missing one is the one to run next.
        let secrets = if github_v1 {
            Some(cx.upstream::<Secrets>()?)
        } else {
            None
        };
        let alb = cx.upstream::<Alb>()?;
        let svc = cx.upstream::<Svc>()?;
        Ok(Inputs::new(&svc, &alb, secrets.as_ref()))
    }

    pub fn new(svc: &Svc, alb: &Alb, secrets: Option<&Secrets>) -> Inputs {
        let known = |v: &str| (v != PLANNED && !v.is_empty()).then(|| v.to_owned());
        Inputs {
            repository_name: svc.repository_name.clone(),
            repository_uri: svc.repository_uri.clone(),
            container_name: svc.container_name.clone(),
            cluster_name: svc.cluster_name.clone(),
            service_name: svc.service_name.clone(),
            service_arn: known(&svc.service_arn),
            task_family: task_family(&svc.task_definition_arn)
                .unwrap_or(svc.container_name.as_str())
                .to_owned(),
            execution_role_arn: svc.execution_role_arn.clone(),
            task_role_arn: svc.task_role_arn.clone(),
            url: alb.url.clone(),
            token: secrets.map(|s| TokenSecret {
                name: s.github_token.name.clone(),
                arn: s.github_token.arn.clone(),
            }),
        }
    }
}

/// The repository flags, or the one-line error naming what is missing. Both are remembered
/// settings: only the first run needs them.
pub fn repository(args: &Args) -> Result<(String, String)> {
    match (&args.repo_owner, &args.repo_name) {
        (Some(o), Some(r)) => Ok((o.clone(), r.clone())),
        (None, None) => Err(Error::usage(
            "no repository: pipeline-up needs the Backstage app's GitHub repository on its first run; pass --repo-owner OWNER --repo-name NAME (make: REPO_OWNER=… REPO_NAME=…), which the document then remembers",
        )),
        (None, Some(_)) => Err(Error::usage(
            "no --repo-owner given: pipeline-up needs the app's GitHub repository on its first run; pass --repo-owner OWNER with --repo-name",
        )),
        (Some(_), None) => Err(Error::usage(
            "no --repo-name given: pipeline-up needs the app's GitHub repository on its first run; pass --repo-name NAME with --repo-owner",
        )),
    }
}

/// The desired state, from the flags, the upstream inputs and the stack's identity.
pub fn desired(
    args: &Args,
    up: &Inputs,
    app: &str,
    account: &str,
    region: &str,
) -> Result<Desired> {
    let (owner, repo) = repository(args)?;
    let n = Names::new(app, account, region);
    let p = kit::aws::partition(region);
    let (bucket_arn, topic_arn) = (n.bucket_arn.clone(), n.topic_arn.clone());
    let project_arn = n.project_arn.clone();
    let log_group_arn = format!("arn:{p}:logs:{region}:{account}:log-group:{}", n.log_group);
    let cluster = &up.cluster_name;
    let repository_arn = format!(
        "arn:{p}:ecr:{region}:{account}:repository/{}",
        up.repository_name
    );
    let service_arn = up.service_arn.clone().unwrap_or_else(|| {
        format!(
            "arn:{p}:ecs:{region}:{account}:service/{cluster}/{}",
            up.service_name
        )
    });
    let family = up.task_family.as_str();

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
        },
    };
    let token = match &source {
        Source::GithubV1 { .. } => Some(up.token.clone().ok_or_else(|| {
            Error::usage(
                "the GitHub version 1 source needs the token secret: run secrets-init first",
            )
        })?),
        Source::Connection { .. } => None,
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
            "Resource": [up.execution_role_arn.clone(), up.task_role_arn.clone()],
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}
        }),
    ];
    if let Source::Connection { arn, .. } = &source {
        let service = crate::check_connection_arn(arn)?;
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
            ("REPO_URL", up.repository_uri.as_str()),
            ("CONTAINER_NAME", up.container_name.as_str()),
            ("BASE_URL", up.url.as_str()),
        ],
    );
    let pipeline_settings = pipeline_settings(
        &n.pipeline,
        &n.pipeline_role_arn,
        &n.bucket,
        &source,
        &n.project,
        cluster,
        &up.service_name,
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
        token,
        cluster: up.cluster_name.clone(),
        service: up.service_name.clone(),
        url: up.url.clone(),
        log_retention_days: args.build_log_retention_days,
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
