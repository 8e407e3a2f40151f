//! One client per service, built once per run.

use kit::Cx;

pub struct Clients {
    pub s3: aws_sdk_s3::Client,
    pub sns: aws_sdk_sns::Client,
    pub iam: aws_sdk_iam::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub codestar: aws_sdk_codestarnotifications::Client,
    pub secrets: aws_sdk_secretsmanager::Client,
    /// For `--run` / `--wait`: the rollout the pipeline's deploy starts.
    pub ecs: aws_sdk_ecs::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
}

impl Clients {
    pub fn new(cx: &Cx) -> Clients {
        // Path-style addressing when an endpoint is overridden (an emulator, a proxy):
        // virtual-hosted bucket names need DNS such an endpoint does not have.
        let s3 = aws_sdk_s3::config::Builder::from(&cx.sdk)
            .force_path_style(cx.endpoint_overridden("S3"))
            .build();
        Clients {
            s3: aws_sdk_s3::Client::from_conf(s3),
            sns: aws_sdk_sns::Client::new(&cx.sdk),
            iam: aws_sdk_iam::Client::new(&cx.sdk),
            codebuild: aws_sdk_codebuild::Client::new(&cx.sdk),
            codepipeline: aws_sdk_codepipeline::Client::new(&cx.sdk),
            codestar: aws_sdk_codestarnotifications::Client::new(&cx.sdk),
            secrets: aws_sdk_secretsmanager::Client::new(&cx.sdk),
            ecs: aws_sdk_ecs::Client::new(&cx.sdk),
            logs: aws_sdk_cloudwatchlogs::Client::new(&cx.sdk),
        }
    }
}
