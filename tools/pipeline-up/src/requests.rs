//! The SDK shapes of the desired settings: the CodeBuild project's parts and the pipeline
//! declaration, built from the normalised JSON of [`crate::desired`] so that what is compared
//! is what is sent.

use aws_sdk_codebuild::types as cb;
use aws_sdk_codepipeline::types as cp;
use kit::{Error, Result};
use secret::{ExposeSecret, SecretString};
use serde_json::Value;

use crate::desired::{BUILD_TIMEOUT_MINUTES, Desired, MASK};

pub fn built<T, E: std::fmt::Display>(r: std::result::Result<T, E>, what: &str) -> Result<T> {
    r.map_err(|e| Error::aws(format!("building the request for {what}: {e}")))
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// The CodeBuild project's managed settings as the SDK takes them.
#[derive(Debug, Clone)]
pub struct Project {
    pub source: cb::ProjectSource,
    pub artifacts: cb::ProjectArtifacts,
    pub environment: cb::ProjectEnvironment,
    pub logs: cb::LogsConfig,
    pub role: String,
    pub timeout: i32,
}

pub fn project(d: &Desired) -> Result<Project> {
    let p = &d.project_settings;
    let env = &p["environment"];
    let vars: Vec<cb::EnvironmentVariable> = env["variables"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| {
            built(
                cb::EnvironmentVariable::builder()
                    .name(s(v, "name"))
                    .value(s(v, "value"))
                    .r#type(cb::EnvironmentVariableType::from(s(v, "type")))
                    .build(),
                "an environment variable",
            )
        })
        .collect::<Result<_>>()?;
    let source = built(
        cb::ProjectSource::builder()
            .r#type(cb::SourceType::from(s(&p["source"], "type")))
            .buildspec(s(&p["source"], "buildspec"))
            .build(),
        "the project source",
    )?;
    let artifacts = built(
        cb::ProjectArtifacts::builder()
            .r#type(cb::ArtifactsType::from(s(&p["artifacts"], "type")))
            .build(),
        "the project artifacts",
    )?;
    let environment = built(
        cb::ProjectEnvironment::builder()
            .r#type(cb::EnvironmentType::from(s(env, "type")))
            .image(s(env, "image"))
            .compute_type(cb::ComputeType::from(s(env, "computeType")))
            .privileged_mode(env["privilegedMode"].as_bool().unwrap_or(false))
            .set_environment_variables(Some(vars))
            .build(),
        "the project environment",
    )?;
    let logs = cb::LogsConfig::builder()
        .cloud_watch_logs(built(
            cb::CloudWatchLogsConfig::builder()
                .status(cb::LogsConfigStatusType::from(s(&p["logs"], "status")))
                .group_name(s(&p["logs"], "groupName"))
                .build(),
            "the project logs",
        )?)
        .build();
    let role = s(p, "serviceRole");
    let timeout = p["timeoutInMinutes"]
        .as_i64()
        .and_then(|t| i32::try_from(t).ok())
        .unwrap_or(BUILD_TIMEOUT_MINUTES);
    Ok(Project {
        source,
        artifacts,
        environment,
        logs,
        role: role.to_owned(),
        timeout,
    })
}

/// The SDK declaration from the normalised one, with the token in place of its mask.
pub fn declaration(d: &Desired, token: Option<&SecretString>) -> Result<cp::PipelineDeclaration> {
    let p = &d.pipeline_settings;
    let mut stages = Vec::new();
    for stage in p["stages"].as_array().into_iter().flatten() {
        let mut actions = Vec::new();
        for a in stage["actions"].as_array().into_iter().flatten() {
            let t = &a["actionTypeId"];
            let type_id = built(
                cp::ActionTypeId::builder()
                    .category(cp::ActionCategory::from(s(t, "category")))
                    .owner(cp::ActionOwner::from(s(t, "owner")))
                    .provider(s(t, "provider"))
                    .version(s(t, "version"))
                    .build(),
                "an action type",
            )?;
            let mut b = cp::ActionDeclaration::builder()
                .name(s(a, "name"))
                .action_type_id(type_id)
                .run_order(1);
            for (k, v) in a["configuration"].as_object().into_iter().flatten() {
                let value = v.as_str().unwrap_or_default();
                let value = match (k.as_str(), token) {
                    ("OAuthToken", Some(t)) if value == MASK => t.expose_secret(),
                    _ => value,
                };
                b = b.configuration(k, value);
            }
            for i in a["inputArtifacts"].as_array().into_iter().flatten() {
                b = b.input_artifacts(built(
                    cp::InputArtifact::builder()
                        .name(i.as_str().unwrap_or_default())
                        .build(),
                    "an input artifact",
                )?);
            }
            for o in a["outputArtifacts"].as_array().into_iter().flatten() {
                b = b.output_artifacts(built(
                    cp::OutputArtifact::builder()
                        .name(o.as_str().unwrap_or_default())
                        .build(),
                    "an output artifact",
                )?);
            }
            actions.push(built(b.build(), "an action")?);
        }
        stages.push(built(
            cp::StageDeclaration::builder()
                .name(s(stage, "name"))
                .set_actions(Some(actions))
                .build(),
            "a stage",
        )?);
    }
    let store = built(
        cp::ArtifactStore::builder()
            .r#type(cp::ArtifactStoreType::S3)
            .location(s(&p["artifactStore"], "location"))
            .build(),
        "the artifact store",
    )?;
    built(
        cp::PipelineDeclaration::builder()
            .name(s(p, "name"))
            .role_arn(s(p, "roleArn"))
            .artifact_store(store)
            .set_stages(Some(stages))
            .build(),
        "the pipeline",
    )
}
