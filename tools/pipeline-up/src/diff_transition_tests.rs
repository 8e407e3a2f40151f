//! Unit tests of the Deploy transition's rules (no emulator): held until the service exists.
use super::*;

/// Before svc-up: the same stack, its Deploy stage held.
fn without_service(mut now: Observed) -> Observed {
    let d = desired(
        &args(),
        &inputs_with(false),
        APP,
        "123456789012",
        "us-west-2",
    )
    .unwrap();
    if let Some(p) = now.pipeline.as_mut() {
        p.deploy_enabled = false;
    }
    now.d = d;
    now
}

#[test]
fn without_the_service_the_new_pipeline_holds_its_deploy_stage() {
    let now = without_service(fresh(&args()));
    let plan = plan_of(&now, APP, false).unwrap();
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource.starts_with("pipeline pipeline-unicorn-ui"))
        .unwrap();
    assert_eq!(change.action, Action::Create);
    assert_eq!(
        change.resource,
        "pipeline pipeline-unicorn-ui (its Deploy transition disabled: waiting for svc-up - ECS service unicorn-ui does not exist yet)"
    );
    assert_eq!(
        change.op,
        Op::Pipeline {
            create: true,
            declaration: true,
            transition: Some(false),
        }
    );
    // With the service, a new pipeline is made with its transitions as AWS makes them.
    let plan = plan_of(&fresh(&args()), APP, false).unwrap();
    assert_eq!(
        op_of(&plan, "pipeline pipeline-unicorn-ui"),
        &Op::Pipeline {
            create: true,
            declaration: true,
            transition: None,
        }
    );
}

#[test]
fn the_deploy_transition_follows_the_service() {
    // Held, no service: a rerun changes nothing.
    let held = without_service(applied(&args()));
    assert!(!plan_of(&held, APP, false).unwrap().has_work());
    // Enabled by hand before the service exists: disabled again.
    let mut opened = held.clone();
    opened.pipeline.as_mut().unwrap().deploy_enabled = true;
    let plan = plan_of(&opened, APP, false).unwrap();
    assert_eq!(fields(&plan), "Deploy transition: enabled → disabled");
    assert_eq!(
        op_of(&plan, "pipeline "),
        &Op::Pipeline {
            create: false,
            declaration: false,
            transition: Some(false),
        }
    );
    // The service now exists: enabled.
    let mut ready = applied(&args());
    ready.pipeline.as_mut().unwrap().deploy_enabled = false;
    let plan = plan_of(&ready, APP, false).unwrap();
    assert_eq!(fields(&plan), "Deploy transition: disabled → enabled");
    // The declaration names the service and roles the same either way.
    assert_eq!(held.d.pipeline_settings, ready.d.pipeline_settings);
    assert_eq!(held.d.pipeline_policy, ready.d.pipeline_policy);
}

#[test]
fn the_service_exists_when_svc_has_a_real_service_arn() {
    use crate::desired::service_exists;
    let to_create = json!({"planned": true, "service_arn": PLANNED});
    assert!(!service_exists(None, false));
    assert!(!service_exists(None, true));
    // Never taken for a service when applying …
    assert!(!service_exists(Some(&to_create), false));
    // … but in the chain's plan, the service svc-up creates before pipeline-up runs again.
    assert!(service_exists(Some(&to_create), true));
    assert!(service_exists(
        Some(&json!({"service_arn": "arn:aws:ecs:us-west-2:1:service/c/s"})),
        false
    ));
    // A chained plan where svc-up only changes an existing service.
    assert!(service_exists(
        Some(&json!({"planned": true, "service_arn": "arn:aws:ecs:us-west-2:1:service/c/s"})),
        true
    ));
}

#[test]
fn the_disabled_reason_is_one_aws_accepts() {
    for app in ["unicorn-ui", "my_app", &"x".repeat(400)] {
        let r = crate::desired::disabled_reason(app);
        assert!((1..=300).contains(&r.len()), "{r}");
        assert!(
            r.chars()
                .all(|c| c.is_ascii_alphanumeric() || "!@ ().*?-".contains(c)),
            "{r}"
        );
    }
}

#[test]
fn the_names_of_the_service_come_from_the_app() {
    let d = d_with(&args());
    let deploy = &d.pipeline_settings["stages"][2]["actions"][0]["configuration"];
    assert_eq!(deploy["ServiceName"], APP);
    assert_eq!(deploy["ClusterName"], "core-infra");
    let statements = d.pipeline_policy["Statement"].as_array().unwrap();
    let pass = statements
        .iter()
        .find(|s| s["Sid"] == "PassTaskRoles")
        .unwrap();
    assert_eq!(
        pass["Resource"],
        json!([
            "arn:aws:iam::123456789012:role/unicorn-ui-task-execution",
            "arn:aws:iam::123456789012:role/unicorn-ui-task"
        ])
    );
    let vars = &d.project_settings["environment"]["variables"];
    assert_eq!(
        vars.as_array()
            .unwrap()
            .iter()
            .map(|v| v["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["REPO_URL", "CONTAINER_NAME"]
    );
}
