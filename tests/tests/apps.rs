//! Data and apps over time (issue 13), as a user lives it: two apps in one account keep to
//! their own secrets and parameters and tear down without touching each other; a stack torn
//! down with its final snapshot comes back from it with the hint down.sh printed. Every check
//! is an independent read: tags, secret values, parameters, the cluster as RDS describes it.

use testkit::stack::Stack;
use testkit::{Value, rds, secretsmanager, ssm};

fn secret_value(stack: &Stack, arn: &str) -> String {
    let sm = secretsmanager::Client::new(&stack.emu.sdk());
    stack
        .emu
        .block_on(sm.get_secret_value().secret_id(arn).send())
        .unwrap()
        .secret_string()
        .unwrap()
        .to_owned()
}

/// The app's SSM parameters, name → value.
fn parameters(stack: &Stack, app: &str) -> Vec<(String, String)> {
    let c = ssm::Client::new(&stack.emu.sdk());
    let out = stack
        .emu
        .block_on(
            c.get_parameters_by_path()
                .path(format!("/{app}"))
                .recursive(true)
                .send(),
        )
        .unwrap();
    let mut params: Vec<(String, String)> = out
        .parameters()
        .iter()
        .map(|p| {
            (
                p.name().unwrap_or_default().to_owned(),
                p.value().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    params.sort();
    params
}

fn cluster(stack: &Stack, id: &str) -> Option<rds::types::DbCluster> {
    let c = rds::Client::new(&stack.emu.sdk());
    stack
        .emu
        .block_on(c.describe_db_clusters().db_cluster_identifier(id).send())
        .ok()
        .and_then(|out| out.db_clusters().first().cloned())
}

fn str_at<'a>(doc: &'a Value, pointer: &str) -> &'a str {
    doc.pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{pointer} missing from the document"))
}

#[test]
fn two_apps_in_one_account_keep_disjoint_secrets_and_parameters_and_one_teardown_leaves_the_other()
{
    let first = Stack::new("apps");
    let second = first.another_app("portal2");
    first.up();
    let before = first.leftovers();
    second.up();
    let (a, b) = (first.doc(), second.doc());

    // Disjoint secrets: other names and ARNs, and each database opens with its own password.
    for key in ["github_token", "db_password"] {
        let (arn_a, arn_b) = (
            str_at(&a, &format!("/secrets/{key}/arn")),
            str_at(&b, &format!("/secrets/{key}/arn")),
        );
        assert_ne!(arn_a, arn_b, "both apps use the secret {arn_a}");
    }
    let (cluster_a, cluster_b) = (str_at(&a, "/db/cluster_id"), str_at(&b, "/db/cluster_id"));
    assert_ne!(cluster_a, cluster_b);
    let (password_a, password_b) = (
        secret_value(&first, str_at(&a, "/secrets/db_password/arn")),
        secret_value(&second, str_at(&b, "/secrets/db_password/arn")),
    );
    assert_ne!(password_a, password_b, "the apps share a master password");
    assert_eq!(first.emu.master_password(cluster_a), password_a);
    assert_eq!(second.emu.master_password(cluster_b), password_b);

    // Disjoint parameters: each app's host is its own cluster's endpoint.
    let (params_a, params_b) = (
        parameters(&first, "backstage"),
        parameters(&second, "portal2"),
    );
    let host = |params: &[(String, String)], app: &str| {
        params
            .iter()
            .find(|(name, _)| name == &format!("/{app}/POSTGRES_HOST"))
            .map(|(_, value)| value.clone())
            .unwrap_or_else(|| panic!("no /{app}/POSTGRES_HOST in {params:?}"))
    };
    let endpoint = |stack: &Stack, id: &str| {
        cluster(stack, id)
            .and_then(|c| c.endpoint().map(str::to_owned))
            .expect("cluster endpoint")
    };
    assert_eq!(host(&params_a, "backstage"), endpoint(&first, cluster_a));
    assert_eq!(host(&params_b, "portal2"), endpoint(&second, cluster_b));
    assert_eq!(
        first.leftovers(),
        before,
        "the second app's up.sh changed what the first app has"
    );

    // The second app goes; the first is whole, and its rerun has nothing to do.
    second.ok(
        second
            .script("scripts/down.sh")
            .env("SVC_ARGS", "--delete-logs")
            .env("PIPELINE_ARGS", "--delete-logs"),
        "down.sh",
    );
    let left = second.leftovers();
    assert!(left.is_empty(), "down.sh of portal2 left: {left:#?}");
    assert_eq!(
        first.leftovers(),
        before,
        "tearing down portal2 took some of backstage"
    );
    assert_eq!(parameters(&first, "backstage"), params_a);
    assert_eq!(
        secret_value(&first, str_at(&a, "/secrets/db_password/arn")),
        password_a
    );
    let mark = first.emu.mark();
    first.up();
    first.emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_stack_torn_down_with_its_final_snapshot_comes_back_from_it_with_the_printed_hint() {
    let stack = Stack::new("restore");
    stack.ok(
        stack.script("scripts/up.sh").env("DB_ARGS", "--max-acu 4"),
        "up.sh",
    );
    let before = stack.doc();
    let cluster_id = str_at(&before, "/db/cluster_id").to_owned();
    let password = secret_value(&stack, str_at(&before, "/secrets/db_password/arn"));

    let down = stack.down();
    // "… (bring it back with: db-up --restore-from-snapshot <id> --max-acu 4 …)"
    let hint = down
        .stderr
        .split("bring it back with: db-up ")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("down.sh printed no restore hint:\n{}", down.stderr))
        .trim()
        .to_owned();
    let snapshot = hint
        .strip_prefix("--restore-from-snapshot ")
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("the hint names no snapshot: {hint}"))
        .to_owned();
    assert!(
        hint.contains("--max-acu 4"),
        "the hint keeps the scaling: {hint}"
    );
    assert!(
        cluster(&stack, &cluster_id).is_none(),
        "the cluster is gone"
    );

    // A fresh document: the user runs up.sh with the hint as db-up's flags.
    std::fs::remove_file(stack.path()).unwrap();
    stack.ok(stack.script("scripts/up.sh").env("DB_ARGS", &hint), "up.sh");
    let after = stack.doc();
    assert_eq!(str_at(&after, "/db/cluster_id"), cluster_id);
    let restored = cluster(&stack, &cluster_id).expect("the cluster is back");
    assert_eq!(restored.status(), Some("available"));
    let scaling = restored.serverless_v2_scaling_configuration().unwrap();
    assert_eq!(
        (scaling.min_capacity(), scaling.max_capacity()),
        (Some(0.5), Some(4.0)),
        "the same scaling as before"
    );
    assert!(
        restored
            .tag_list()
            .iter()
            .any(|t| t.key() == Some("stagehand:restored-from") && t.value() == Some(&snapshot)),
        "the cluster records the snapshot it came from: {:?}",
        restored.tag_list()
    );
    // The secret came back from its recovery window with the same password, and the cluster
    // opens with it.
    assert_eq!(
        secret_value(&stack, str_at(&after, "/secrets/db_password/arn")),
        password
    );
    assert_eq!(stack.emu.master_password(&cluster_id), password);
    assert!(str_at(&after, "/alb/url").starts_with("http://"));

    // The restore flag is an action, not a setting: a plain rerun keeps the cluster.
    let mark = stack.emu.mark();
    stack.up();
    stack.emu.calls_since(mark).assert_no_mutations();
}
