//! Rollouts that fail, and roles ECS or IAM cannot use yet.

use testkit::{Emulator, ecs, json};

use crate::common::*;

#[test]
fn a_failed_rollout_exits_1_with_the_stopped_tasks_reasons() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &["--image", PUBLIC_IMAGE]);
    let good = doc["svc"]["task_definition_arn"]
        .as_str()
        .unwrap()
        .to_owned();

    // The emulator fails the service's next deployment as the circuit breaker would: its tasks'
    // essential container exits with this reason (see emulator/stagehand_emulator/fidelity/ecs.py).
    emu.fail_rollout(
        APP,
        1,
        Some("CannotPullContainerError: backstage:2.0 not found"),
    );
    let out = emu
        .tool("svc-up")
        .args(["--image", "public.ecr.aws/backstage/backstage:2.0"])
        .doc(&doc)
        .run();
    let line = out.fails(1);
    assert!(line.contains("FAILED"), "{line}");
    assert!(
        line.contains("CannotPullContainerError: backstage:2.0 not found"),
        "{line}"
    );
    assert!(
        line.contains("Essential container in task exited"),
        "{line}"
    );
    assert!(line.contains("rolled back to unicorn-ui:1"), "{line}");

    // What AWS shows after the rollback: the earlier revision is what runs.
    let s = service(&emu, &doc);
    assert!(
        s.deployments()
            .iter()
            .any(|d| d.rollout_state() == Some(&ecs::types::DeploymentRolloutState::Failed)),
        "{:?}",
        s.deployments()
    );
    assert_eq!(s.task_definition(), Some(good.as_str()));
}

#[test]
fn roles_ecs_or_iam_cannot_use_yet_are_retried() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    emu.faults(json!([
        {
            "service": "ecs", "action": "CreateService", "kind": "error",
            "code": "InvalidParameterException",
            "message": "ECS was unable to assume the role 'arn:aws:iam::123456789012:role/unicorn-ui-task-execution' that was provided for this task. Please verify that the role being passed has the proper trust relationship and permissions and that your IAM user has permissions to pass this role.",
            "times": 2
        },
        {
            "service": "iam", "action": "PutRolePolicy", "kind": "error",
            "code": "NoSuchEntity", "status": "404 Not Found",
            "message": "The role with name unicorn-ui-task-execution cannot be found.",
            "times": 1
        }
    ]));
    let mark = emu.mark();
    let doc = up(&emu, &input, &["--image", PUBLIC_IMAGE]);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.count("ecs:CreateService"),
        3,
        "retried until ECS could assume the role"
    );
    assert_eq!(
        calls.count("iam:PutRolePolicy"),
        3,
        "two roles, one retried"
    );
    assert!(service(&emu, &doc).service_arn().is_some());
}

#[test]
fn no_such_role_on_a_role_that_existed_is_not_retried() {
    // Propagation is retried only for a role this run made: on an existing role NoSuchEntity
    // means it is gone, and the run says so at once.
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &["--image", PUBLIC_IMAGE]);
    let iamc = testkit::iam::Client::new(&emu.sdk());
    emu.block_on(
        iamc.delete_role_policy()
            .role_name("unicorn-ui-task")
            .policy_name("unicorn-ui-ecs-exec")
            .send(),
    )
    .unwrap();
    emu.faults(json!([{
        "service": "iam", "action": "PutRolePolicy", "kind": "error",
        "code": "NoSuchEntity", "status": "404 Not Found",
        "message": "The role with name unicorn-ui-task cannot be found.", "times": 5
    }]));
    let mark = emu.mark();
    let line = emu.tool("svc-up").doc(&doc).run().fails(1);
    assert!(
        line.contains("NoSuchEntity") && line.contains("unicorn-ui-task"),
        "{line}"
    );
    assert_eq!(emu.calls_since(mark).count("iam:PutRolePolicy"), 1);
}
