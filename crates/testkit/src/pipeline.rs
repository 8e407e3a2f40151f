//! Typed helpers for the emulator's lifecycle controls: a push to a pipeline's repository, a
//! failed build or deploy, a failed ECS rollout, the holds that time builds, rollouts and lingering
//! network interfaces, and waiting for a pipeline execution through the SDK.
//!
//! ```no_run
//! use testkit::pipeline::{LifecycleHolds, Stage};
//! let emu = testkit::Emulator::start();
//! emu.hold(LifecycleHolds { build_s: Some(0.5), ..Default::default() }.into());
//! emu.fail_stage("unicorn-ui-pipeline", Stage::Build, 1);
//! let id = emu.push("unicorn-ui-pipeline", "0123456789abcdef0123456789abcdef01234567");
//! let run = emu.wait_execution("unicorn-ui-pipeline", &id);
//! ```

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::{Emulator, Holds, codepipeline};

/// The stages `POST /_stagehand/pipeline/fail` can fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Build,
    Deploy,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Build => "Build",
            Stage::Deploy => "Deploy",
        }
    }
}

/// The lifecycle holds, in seconds (None: leave as set).
#[derive(Debug, Clone, Default)]
pub struct LifecycleHolds {
    /// A CodeBuild build's IN_PROGRESS time.
    pub build_s: Option<f64>,
    /// An ECS deployment's IN_PROGRESS time (tasks start halfway; 1 s unless set).
    pub rollout_s: Option<f64>,
    /// How long a requester-managed network interface outlives its owner.
    pub eni_linger_s: Option<f64>,
}

impl From<LifecycleHolds> for Holds {
    fn from(h: LifecycleHolds) -> Holds {
        let other = [
            ("build_s", h.build_s),
            ("rollout_s", h.rollout_s),
            ("eni_linger_s", h.eni_linger_s),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
        Holds {
            other,
            ..Default::default()
        }
    }
}

impl Emulator {
    /// A push of `commit` (40 hex digits) to the pipeline's repository and branch: the
    /// execution it starts, by id.
    pub fn push(&self, pipeline: &str, commit: &str) -> String {
        self.push_with_message(pipeline, commit, &format!("Commit {}", &commit[..8]))
    }

    /// [`Emulator::push`] with the commit's message (the source revision's summary).
    pub fn push_with_message(&self, pipeline: &str, commit: &str, message: &str) -> String {
        let out = self.control(
            "POST",
            "pipeline/push",
            Some(&json!({"pipeline": pipeline, "commit": commit, "message": message})),
        );
        out["pipelineExecutionId"]
            .as_str()
            .expect("the push's execution id")
            .to_owned()
    }

    /// Make the next `times` runs of `stage` of `pipeline` fail (-1: every run, 0: disarm).
    pub fn fail_stage(&self, pipeline: &str, stage: Stage, times: i64) {
        self.control(
            "POST",
            "pipeline/fail",
            Some(&json!({"pipeline": pipeline, "stage": stage.as_str(), "times": times})),
        );
    }

    /// Make the next `times` deployments of ECS service `service` fail as the circuit breaker
    /// fails them: the tasks' essential container exits, with `reason` as the container's reason.
    pub fn fail_rollout(&self, service: &str, times: i64, reason: Option<&str>) {
        let mut body = json!({"service": service, "times": times});
        if let Some(reason) = reason {
            body["reason"] = json!(reason);
        }
        self.control("POST", "ecs/fail-rollout", Some(&body));
    }

    /// The IAM conditions the emulator could not evaluate (each refused a task start).
    pub fn iam_findings(&self) -> Vec<Value> {
        self.control("GET", "iam/findings", None)["findings"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Poll GetPipelineExecution until the execution is no longer InProgress (60 s at most).
    pub fn wait_execution(
        &self,
        pipeline: &str,
        id: &str,
    ) -> codepipeline::types::PipelineExecution {
        let client = codepipeline::Client::new(&self.sdk());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self
                .block_on(
                    client
                        .get_pipeline_execution()
                        .pipeline_name(pipeline)
                        .pipeline_execution_id(id)
                        .send(),
                )
                .expect("get pipeline execution");
            let execution = out.pipeline_execution().cloned().expect("the execution");
            if execution.status() != Some(&codepipeline::types::PipelineExecutionStatus::InProgress)
            {
                return execution;
            }
            assert!(
                Instant::now() < deadline,
                "pipeline {pipeline} execution {id} still InProgress after 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The pipeline's executions, newest first (ListPipelineExecutions).
    pub fn executions(&self, pipeline: &str) -> Vec<codepipeline::types::PipelineExecutionSummary> {
        let client = codepipeline::Client::new(&self.sdk());
        self.block_on(
            client
                .list_pipeline_executions()
                .pipeline_name(pipeline)
                .send(),
        )
        .expect("list pipeline executions")
        .pipeline_execution_summaries()
        .to_vec()
    }
}
