//! What should exist: names, policies and the normalised settings of every resource, computed
//! from the flags and the document. Pure: no AWS call, unit-tested.

use ecs_service::names::ServiceNames;
use kit::{Cx, Error, Result};
use serde_json::{Map, Value, json};
use stackdoc::{Core, Ecr, PLANNED, Secrets, Section, Svc};

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
    /// Whether the Deploy stage's inbound transition should be enabled (the service exists),
    /// and the reason it is disabled otherwise.
    pub deploy: Transition,
    /// Days the builds' log group keeps its logs.
    pub log_retention_days: i32,
}

/// What pipeline-up needs from the steps before it, and nothing more: the ECR repository the
/// build pushes to (`ecr`), the cluster the deploy action targets (`core`), the token secret
/// (`secrets`, github-v1), and whether the ECS service exists yet (`svc`). The service's,
/// family's, container's and task roles' names derive from the app name as svc-up makes them
/// ([`ServiceNames`]), so the pipeline can be made before the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inputs {
    /// The image repository (ecr-up's section).
    pub ecr: Ecr,
    pub cluster_name: String,
    pub service: ServiceNames,
    /// The token secret, when the source is GitHub version 1.
    pub token: Option<TokenSecret>,
    /// Whether svc-up has made the ECS service: the Deploy stage's inbound transition is
    /// enabled only then.
    pub service_exists: bool,
}

impl Inputs {
    /// From the document: `ecr` and `core` always, `secrets` for a github-v1 source, `svc` if
    /// present. With `--plan` planned sections are accepted (their placeholders flow on);
    /// otherwise they must be applied. A missing section names the tool that makes it.
    pub fn from_doc(cx: &Cx, github_v1: bool) -> Result<Inputs> {
        // Required in dependency order, so the first missing one is the one to run next.
        let secrets = if github_v1 {
            Some(cx.upstream::<Secrets>()?)
        } else {
            None
        };
        let core = cx.upstream::<Core>()?;
        let ecr = cx.upstream::<Ecr>()?;
        let service_exists = service_exists(cx.doc.raw_section(Svc::NAME), cx.plan_only());
        Ok(Inputs::new(
            &cx.app,
            &ecr,
            &core,
            secrets.as_ref(),
            service_exists,
        ))
    }

    pub fn new(
        app: &str,
        ecr: &Ecr,
        core: &Core,
        secrets: Option<&Secrets>,
        service_exists: bool,
    ) -> Inputs {
        Inputs {
            ecr: ecr.clone(),
            cluster_name: core.cluster_name.clone(),
            service: ServiceNames::of(app),
            token: secrets.map(|s| TokenSecret {
                name: s.github_token.name.clone(),
                arn: s.github_token.arn.clone(),
            }),
            service_exists,
        }
    }
}

/// Whether the `svc` section says the ECS service exists: present with a real service ARN.
/// An applied section always has one; a planned one (a chained plan) has one when the service
/// exists already and svc-up only changes it, and the placeholder when svc-up would create it.
/// In a plan (`planning`) that placeholder counts too: up runs pipeline-up once more after
/// svc-up has made the service (the step table's again column), so the Deploy stage ends up
/// released, and the chain's plan shows that end state. A run that applies never takes a
/// placeholder for a service.
pub fn service_exists(svc: Option<&Value>, planning: bool) -> bool {
    svc.and_then(|s| s.get("service_arn"))
        .and_then(Value::as_str)
        .is_some_and(|arn| !arn.is_empty() && (arn != PLANNED || planning))
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
    let repository_arn = up.ecr.arn(p, region, account);
    let svc = &up.service;
    let service_arn = svc.service_arn(p, region, account, cluster);
    let (execution_role_arn, task_role_arn) = (
        svc.execution_role_arn(p, account),
        svc.task_role_arn(p, account),
    );
    let family = svc.family.as_str();

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
            "Resource": [execution_role_arn, task_role_arn],
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
            ("REPO_URL", up.ecr.repository_uri.as_str()),
            ("CONTAINER_NAME", svc.container.as_str()),
        ],
    );
    let pipeline_settings = pipeline_settings(
        &n.pipeline,
        &n.pipeline_role_arn,
        &n.bucket,
        &source,
        &n.project,
        cluster,
        &svc.service,
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
        service: svc.service.clone(),
        deploy: Transition::of(up.service_exists, &svc.service),
        log_retention_days: args.build_log_retention_days,
    })
}

/// The stage whose inbound transition waits for the service.
pub const DEPLOY_STAGE: &str = "Deploy";

/// The Deploy stage's inbound transition: enabled, or disabled with a reason (AWS allows
/// 1–300 characters of `[a-zA-Z0-9!@ \(\)\.\*\?\-]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    pub enabled: bool,
    pub reason: String,
}

impl Transition {
    pub fn of(service_exists: bool, service: &str) -> Transition {
        let reason = if service_exists {
            String::new()
        } else {
            disabled_reason(service)
        };
        Transition {
            enabled: service_exists,
            reason,
        }
    }

    pub fn word(enabled: bool) -> &'static str {
        if enabled { "enabled" } else { "disabled" }
    }
}

/// "waiting for svc-up: ECS service APP does not exist yet", in the characters AWS allows
/// (others in the service name become '-').
pub fn disabled_reason(service: &str) -> String {
    let service: String = service
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "!@ ().*?-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    let mut reason = format!("waiting for svc-up - ECS service {service} does not exist yet");
    reason.truncate(300);
    reason
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
