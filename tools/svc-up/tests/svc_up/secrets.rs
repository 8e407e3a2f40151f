//! Issue 13: a new version of a secret the task reads starts exactly one new deployment; the
//! OAuth pair reaches the container when the secrets section has it.

use testkit::{Emulator, Value, ecs, iam, json, secretsmanager};

use crate::common::*;

fn put_secret(emu: &Emulator, arn: &str, value: &str) -> String {
    let sm = secretsmanager::Client::new(&emu.sdk());
    emu.block_on(
        sm.put_secret_value()
            .secret_id(arn)
            .secret_string(value)
            .send(),
    )
    .unwrap()
    .version_id()
    .unwrap()
    .to_owned()
}

fn deployments_started(calls: &testkit::Calls) -> Vec<Value> {
    calls
        .requests()
        .into_iter()
        .filter(|r| r["service"] == "ecs" && r["action"] == "UpdateService")
        .collect()
}

#[test]
fn a_rotated_secret_starts_exactly_one_deployment() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &["--image", PUBLIC_IMAGE]);
    let before = service(&emu, &doc).deployments()[0]
        .id()
        .unwrap()
        .to_owned();
    let arn = input["secrets"]["db_password"]["arn"].as_str().unwrap();
    let new_password = "Rotated-Passw0rd-77";
    let version = put_secret(&emu, arn, new_password);

    let mark = emu.mark();
    let out = emu.tool("svc-up").arg("--plan").doc(&doc).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    out.assert_never_shows(new_password);
    let name = input["secrets"]["db_password"]["name"].as_str().unwrap();
    assert!(
        out.stderr.contains(&format!(
            "update     ECS service unicorn-ui (secret {name} (new deployment):"
        )),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .contains("plan: 0 to create, 1 to update, 0 to delete, 6 unchanged")
    );

    let mark = emu.mark();
    let out = emu.tool("svc-up").doc(&doc).run();
    let after = out.ok();
    out.assert_never_shows(new_password);
    let calls = emu.calls_since(mark);
    assert_eq!(calls.count("ecs:RegisterTaskDefinition"), 0);
    let updates = deployments_started(&calls);
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert_eq!(updates[0]["params"]["forceNewDeployment"], true);
    let s = service(&emu, &after);
    assert_eq!(s.deployments().len(), 1);
    assert_ne!(s.deployments()[0].id().unwrap(), before, "a new deployment");
    assert_eq!(
        s.deployments()[0].rollout_state(),
        Some(&ecs::types::DeploymentRolloutState::Completed)
    );
    assert_eq!(after["svc"]["secret_versions"][arn], version.as_str());
    assert!(!after.to_string().contains(new_password));

    let mark = emu.mark();
    up(&emu, &after, &[]);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_document_without_secret_versions_adopts_them_without_a_deployment() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &["--image", PUBLIC_IMAGE]);
    let mut old = doc.clone();
    old["svc"]
        .as_object_mut()
        .unwrap()
        .remove("secret_versions");
    // A rotation the old document cannot know about is adopted, not redeployed.
    let arn = input["secrets"]["github_token"]["arn"].as_str().unwrap();
    let version = put_secret(&emu, arn, "ghp_AnotherToken0123456789abcdefABCD");
    let mark = emu.mark();
    let after = up(&emu, &old, &[]);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(after["svc"]["secret_versions"][arn], version.as_str());
}

#[test]
fn oauth_secrets_reach_the_container_and_only_they_are_added_to_the_role() {
    let emu = Emulator::start();
    let mut input = stack(&emu, APP);
    let sm = secretsmanager::Client::new(&emu.sdk());
    for (key, name) in [
        ("oauth_client_id", "unicorn-ui-github-oauth-client-id"),
        (
            "oauth_client_secret",
            "unicorn-ui-github-oauth-client-secret",
        ),
    ] {
        let made = emu
            .block_on(
                sm.create_secret()
                    .name(name)
                    .secret_string("oauth-value-xyz")
                    .send(),
            )
            .unwrap();
        input["secrets"][key] = json!({"name": name, "arn": made.arn().unwrap(),
            "version": made.version_id().unwrap()});
    }
    let out = emu
        .tool("svc-up")
        .args(["--image", PUBLIC_IMAGE])
        .doc(&input)
        .run();
    let doc = out.ok();
    out.assert_never_shows("oauth-value-xyz");
    let td = task_def(&emu, doc["svc"]["task_definition_arn"].as_str().unwrap());
    let from: std::collections::BTreeMap<&str, &str> = td.container_definitions()[0]
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    assert_eq!(
        from["AUTH_GITHUB_CLIENT_ID"],
        input["secrets"]["oauth_client_id"]["arn"]
    );
    assert_eq!(
        from["AUTH_GITHUB_CLIENT_SECRET"],
        input["secrets"]["oauth_client_secret"]["arn"]
    );
    let iamc = iam::Client::new(&emu.sdk());
    let policy = emu
        .block_on(
            iamc.get_role_policy()
                .role_name("unicorn-ui-task-execution")
                .policy_name("unicorn-ui-task-execution")
                .send(),
        )
        .unwrap();
    let policy = decoded_policy(policy.policy_document());
    let read = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| as_set(&s["Action"]).contains("secretsmanager:GetSecretValue"))
        .unwrap();
    let expected: std::collections::BTreeSet<String> = [
        "github_token",
        "db_password",
        "oauth_client_id",
        "oauth_client_secret",
    ]
    .iter()
    .map(|k| input["secrets"][k]["arn"].as_str().unwrap().to_owned())
    .collect();
    assert_eq!(as_set(&read["Resource"]), expected);
    assert_eq!(doc["svc"]["secret_versions"].as_object().unwrap().len(), 4);

    // Rotating the OAuth client secret redeploys too.
    let arn = input["secrets"]["oauth_client_secret"]["arn"]
        .as_str()
        .unwrap();
    put_secret(&emu, arn, "oauth-value-rotated");
    let mark = emu.mark();
    up(&emu, &doc, &[]);
    assert_eq!(deployments_started(&emu.calls_since(mark)).len(), 1);
}
