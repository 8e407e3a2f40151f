//! Issue 15's acceptance, through the real tools, against the emulator's AWS-like checks (its
//! model validation, its table of documented limits, service-linked-role lag and lingering
//! network interfaces): the whole stack makes no request AWS would refuse, and what AWS refuses
//! is refused here with AWS's own code, by the tool up front where the tool already checks.

use std::time::{Duration, Instant};

use testkit::stack::Stack;
use testkit::{
    Calls, Emulator, Holds, Value, codestar, ec2, ecs, fixtures, iam, json, servicediscovery,
};

const TOKEN: &str = "ghp_FidelityToken00000000000000000000000";

/// Once the emulator's calls since `mark` show `seen`, set `holds`.
type Stage = (&'static str, Box<dyn Fn(&Calls) -> bool>, Value);

/// Run `tool` while watching the emulator's calls: each stage in turn waits until its calls
/// are seen, then sets its holds (a long hold is ended once a tool was seen to wait through
/// it, so the test needs no timing guess). Returns the output and the stages reached.
fn while_running(
    emu: &Emulator,
    tool: testkit::Tool,
    stages: Vec<Stage>,
) -> (testkit::Output, Vec<&'static str>) {
    let mark = emu.mark();
    let running = std::thread::spawn(move || tool.run());
    let mut reached = Vec::new();
    for (name, seen, holds) in stages {
        // A stage never seen ends its hold anyway after a while, so the test fails, not hangs.
        let given_up = Instant::now() + Duration::from_secs(300);
        loop {
            if running.is_finished() {
                return (running.join().unwrap(), reached);
            }
            if seen(&emu.calls_since(mark)) {
                reached.push(name);
            } else if Instant::now() < given_up {
                std::thread::sleep(Duration::from_millis(250));
                continue;
            }
            emu.holds(holds);
            break;
        }
    }
    (running.join().unwrap(), reached)
}

#[test]
fn up_and_down_make_no_request_aws_would_refuse_and_the_database_has_the_secrets_password() {
    let stack = Stack::new("fidelity");
    let emu = &*stack.emu;

    let up = stack.script("scripts/up.sh").run();
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    let doc = stack.doc();

    let cluster = doc["db"]["cluster_id"].as_str().expect("db.cluster_id");
    let secret = doc["secrets"]["db_password"]["arn"]
        .as_str()
        .expect("secrets.db_password.arn");
    let sdk = emu.sdk();
    let value = emu.block_on(async {
        testkit::secretsmanager::Client::new(&sdk)
            .get_secret_value()
            .secret_id(secret)
            .send()
            .await
            .unwrap()
            .secret_string()
            .unwrap()
            .to_owned()
    });
    assert_eq!(
        emu.master_password(cluster),
        value,
        "the cluster's master password is not the secret's value"
    );

    // Interfaces outlive the load balancer and the database instance, as on AWS.
    emu.hold(Holds {
        eni_linger_s: Some(1.0),
        ..Default::default()
    });
    let down = stack.script("scripts/down.sh").run();
    assert_eq!(down.code, 0, "down.sh failed:\n{}", down.stderr);

    let refused = emu.refusals();
    assert!(
        refused.is_empty(),
        "requests AWS would refuse: {refused:#?}"
    );
}

#[test]
fn core_up_with_one_availability_zone_exits_2_before_any_call_that_changes_anything() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let line = emu.tool("core-up").args(["--azs", "1"]).run().fails(2);
    assert!(line.contains("--azs 1"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

/// db-up reads DescribeDBEngineVersions (ServerlessV2FeaturesSupport, served from the
/// emulator's limits table) before it creates anything.
#[test]
fn db_up_with_an_unsupported_version_or_capacity_exits_2_before_any_call_that_changes_anything() {
    let emu = Emulator::start();
    let doc = fixtures::secrets_and_roles(&emu, "backstage", TOKEN);
    let doc = fixtures::with(doc, "core", fixtures::core_infra(&emu, "core-infra"));
    // 99.9 does not exist; 15.4 allows at most 128 ACUs and cannot pause (no 0 ACUs).
    for args in [
        &["--engine-version", "99.9"][..],
        &["--engine-version", "15.4", "--max-acu", "256"][..],
        &["--engine-version", "15.4", "--min-acu", "0"][..],
    ] {
        let mark = emu.mark();
        let line = emu.tool("db-up").args(args).doc(&doc).run().fails(2);
        assert!(line.contains(args[1]), "{args:?}: {line}");
        let calls = emu.calls_since(mark);
        calls.assert_no_mutations();
        assert_eq!(calls.count("rds:DescribeDBEngineVersions"), 1, "{args:?}");
    }
}

/// AWS's tag-value pattern (`^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$` in ECS, ELBv2, IAM, Logs, SSM,
/// CodeBuild) has no comma. The emulator refuses such a value with AWS's code; a tool that
/// checks `--tag` up front exits 2 with no mutating call (issue 15: the kit's `--tag` check).
#[test]
fn a_tag_value_with_a_comma_is_refused_as_aws_refuses_it() {
    let emu = Emulator::start();
    let client = ecs::Client::new(&emu.sdk());
    let err = emu
        .block_on(
            client
                .create_cluster()
                .cluster_name("tagged")
                .tags(ecs::types::Tag::builder().key("team").value("a,b").build())
                .send(),
        )
        .expect_err("a tag value with a comma");
    assert_eq!(
        ecs::error::ProvideErrorMetadata::code(&err),
        Some("InvalidParameterException")
    );

    // stagehand refuses it up front: one line, exit 2, no write — from a tool and from up.sh.
    let mark = emu.mark();
    let out = emu.tool("core-up").args(["--tag", "team=a,b"]).run();
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert_eq!(out.stderr.trim().lines().count(), 1, "{}", out.stderr);
    assert!(out.stderr.contains("','"), "{}", out.stderr);
    emu.calls_since(mark).assert_no_mutations();

    let stack = Stack::new("tag");
    let mark = stack.emu.mark();
    let up = stack
        .script("scripts/up.sh")
        .env("CORE_ARGS", "--tag cost#center=1")
        .run();
    assert_eq!(up.code, 2, "{}", up.stderr);
    assert!(up.stderr.contains("'#'"), "{}", up.stderr);
    stack.emu.calls_since(mark).assert_no_mutations();
}

/// The same check holds for the document's own `tags` (they go to AWS with every create, as
/// `--tag`'s do): a tool exits 2 naming the document before any call that changes anything.
#[test]
fn a_document_tag_aws_would_refuse_exits_2_before_any_call_that_changes_anything() {
    let emu = Emulator::start();
    let doc = json!({"version": 1, "app": "backstage", "tags": {"team": "a,b"}});
    let mark = emu.mark();
    let line = emu.tool("core-up").doc(&doc).run().fails(2);
    assert!(line.contains("document") && line.contains("','"), "{line}");
    assert_eq!(emu.calls_since(mark).total(), 0, "not even a read");
}

/// svc-up's Cloud Map CreatorRequestId is `stagehand-<app>-<namespace id>`: with a 48-character
/// app name it passes AWS's limit of 64, which the emulator enforces with Cloud Map's code.
#[test]
fn cloud_map_refuses_a_creator_request_id_over_64_characters() {
    let emu = Emulator::start();
    let core = fixtures::core_infra(&emu, "core-infra");
    let namespace = core["namespace_id"].as_str().expect("core.namespace_id");
    let app = "a".repeat(48);
    let client = servicediscovery::Client::new(&emu.sdk());
    let create = |request_id: String| {
        emu.block_on(
            client
                .create_service()
                .name(format!("svc{}", request_id.len()))
                .namespace_id(namespace)
                .creator_request_id(request_id)
                .send(),
        )
        .map_err(|e| servicediscovery::error::ProvideErrorMetadata::code(&e).map(str::to_owned))
    };
    let code = create(format!("stagehand-{app}-{namespace}")).expect_err("a 78-character id");
    assert_eq!(code.as_deref(), Some("InvalidInput"));
    create("x".repeat(64)).expect("64 characters are allowed");
}

/// How long the new service-linked role lags in the test below.
const LAG_S: f64 = 20.0;

/// On a fresh account ECS cannot assume its new service-linked role for a while: CreateCluster
/// with capacity providers fails as on AWS, and core-up waits that out, saying so.
#[test]
fn while_the_ecs_service_linked_role_is_new_capacity_providers_fail_and_core_up_waits() {
    let emu = Emulator::start();
    emu.hold(Holds {
        slr_lag_s: Some(LAG_S),
        ..Default::default()
    });
    let doc = fixtures::secrets_and_roles(&emu, "backstage", TOKEN);
    let born = std::time::Instant::now();
    let client = ecs::Client::new(&emu.sdk());
    let err = emu
        .block_on(
            client
                .create_cluster()
                .cluster_name("too-soon")
                .capacity_providers("FARGATE")
                .send(),
        )
        .expect_err("the role is too new");
    assert_eq!(
        ecs::error::ProvideErrorMetadata::code(&err),
        Some("InvalidParameterException")
    );
    assert!(
        ecs::error::ProvideErrorMetadata::message(&err)
            .is_some_and(|m| m.contains("Unable to assume the service linked role")),
        "{err:?}"
    );

    let mark = emu.mark();
    let started = born.elapsed().as_secs_f64();
    let out = emu.tool("core-up").doc(&doc).run();
    assert_eq!(out.code, 0, "core-up failed:\n{}", out.stderr);
    if started > LAG_S / 2.0 {
        // A machine this loaded may reach CreateCluster after the hold: nothing to wait for.
        eprintln!("core-up started {started:.0} s after the role; the lag is not checked");
        return;
    }
    let calls = emu.calls_since(mark);
    // The cluster is created once the role can be used: either the create was retried, or
    // the failed create left the cluster and the providers were put again.
    assert!(
        calls.count("ecs:CreateCluster") + calls.count("ecs:PutClusterCapacityProviders") >= 2,
        "core-up did not meet the lag: {:?}",
        calls.0["by_action"]
    );
    assert!(
        out.stderr.contains("retrying"),
        "core-up did not show that it waited:\n{}",
        out.stderr
    );
    let cluster = emu
        .block_on(client.describe_clusters().clusters("core-infra").send())
        .unwrap();
    let providers = cluster.clusters()[0].capacity_providers();
    assert!(providers.iter().any(|p| p == "FARGATE"), "{providers:?}");
}

// ------------------------------------------------------------------ a fresh account

/// A fresh account: slr-check --create makes the ECS and CodeStar Notifications service-linked
/// roles, and neither can be used at once. ECS refuses a cluster with capacity providers
/// ("Unable to assume the service linked role") and CodeStar Notifications refuses rules
/// (ConfigurationException, up to 15 minutes on AWS); up.sh waits through both, says so, and
/// comes up. The holds are long and each is ended once its wait was seen.
#[test]
fn a_fresh_account_comes_up_waiting_through_the_service_linked_roles_lag() {
    let stack = Stack::new("fresh-account");
    let emu = &*stack.emu;
    emu.holds(json!({"slr_lag_s": 3600, "codestar_slr_lag_s": 3600}));
    let stages: Vec<Stage> = vec![
        (
            "ECS refused the cluster and core-up tried again",
            Box::new(|c: &Calls| {
                c.count("ecs:CreateCluster") + c.count("ecs:PutClusterCapacityProviders") >= 2
            }),
            json!({"slr_lag_s": 0}),
        ),
        (
            "CodeStar Notifications refused the rule and pipeline-up tried again",
            Box::new(|c: &Calls| c.count("codestar-notifications:CreateNotificationRule") >= 2),
            json!({"codestar_slr_lag_s": 0}),
        ),
    ];
    let (up, reached) = while_running(emu, stack.script("scripts/up.sh"), stages);
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    assert_eq!(reached.len(), 2, "only reached {reached:?}:\n{}", up.stderr);
    assert!(
        up.stderr
            .contains("Unable to assume the service linked role"),
        "up.sh did not show core-up waiting for the ECS role:\n{}",
        up.stderr
    );
    assert!(
        up.stderr
            .contains("waiting: CodeStar Notifications to accept notification rule"),
        "up.sh did not show pipeline-up waiting for the CodeStar Notifications role:\n{}",
        up.stderr
    );

    // What a user checks: the cluster has its capacity providers, the rule is on the pipeline.
    let doc = stack.doc();
    let sdk = emu.sdk();
    let cluster = emu
        .block_on(
            ecs::Client::new(&sdk)
                .describe_clusters()
                .clusters(doc["core"]["cluster_name"].as_str().unwrap_or("core-infra"))
                .send(),
        )
        .unwrap();
    let providers = cluster.clusters()[0].capacity_providers();
    assert!(
        providers.iter().any(|p| p == "FARGATE") && providers.iter().any(|p| p == "FARGATE_SPOT"),
        "{providers:?}"
    );
    let rule = doc["pipeline"]["notification_rule_arn"]
        .as_str()
        .expect("pipeline.notification_rule_arn");
    let described = emu
        .block_on(
            codestar::Client::new(&sdk)
                .describe_notification_rule()
                .arn(rule)
                .send(),
        )
        .expect("the notification rule exists");
    assert_eq!(
        described.resource(),
        doc["pipeline"]["pipeline_arn"].as_str(),
        "the rule is on the pipeline"
    );
    assert!(emu.refusals().is_empty(), "{:#?}", emu.refusals());
}

// ------------------------------------------------------------------ lingering interfaces

/// The VPC's subnets and security groups as EC2 lists them (empty once the VPC is gone).
fn vpc_leftovers(emu: &Emulator, vpc: &str) -> Vec<String> {
    let client = ec2::Client::new(&emu.sdk());
    let filter = ec2::types::Filter::builder()
        .name("vpc-id")
        .values(vpc)
        .build();
    emu.block_on(async {
        let subnets = client
            .describe_subnets()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        let groups = client
            .describe_security_groups()
            .filters(filter.clone())
            .send()
            .await
            .unwrap();
        let enis = client
            .describe_network_interfaces()
            .filters(filter)
            .send()
            .await
            .unwrap();
        let mut left: Vec<String> = subnets
            .subnets()
            .iter()
            .filter_map(|s| s.subnet_id().map(str::to_owned))
            .collect();
        left.extend(
            groups
                .security_groups()
                .iter()
                .filter(|g| g.group_name() != Some("default"))
                .filter_map(|g| g.group_id().map(str::to_owned)),
        );
        left.extend(
            enis.network_interfaces()
                .iter()
                .filter_map(|n| n.network_interface_id().map(str::to_owned)),
        );
        left
    })
}

/// Tasks, the load balancer, the database and the NAT gateway leave interfaces that hold
/// their security groups and subnets after they are gone (DependencyViolation on AWS):
/// down.sh waits through that, showing what holds what, and takes everything down.
#[test]
fn down_waits_while_lingering_interfaces_hold_groups_and_subnets() {
    let stack = Stack::new("eni-down");
    let emu = &*stack.emu;
    let up = stack.script("scripts/up.sh").run();
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    let vpc = stack.doc()["core"]["vpc_id"]
        .as_str()
        .expect("core.vpc_id")
        .to_owned();

    // Interfaces linger "for ever" until a security group was refused for them; from then on
    // each lingers a second (so the later steps meet them too).
    emu.holds(json!({"eni_linger_s": 3600}));
    let stages: Vec<Stage> = vec![(
        "a security group was refused while interfaces held it",
        Box::new(|c: &Calls| c.count("ec2:DeleteSecurityGroup") >= 2),
        json!({"eni_linger_s": 1}),
    )];
    let (down, reached) = while_running(emu, stack.script("scripts/down.sh"), stages);
    assert_eq!(down.code, 0, "down.sh failed:\n{}", down.stderr);
    assert_eq!(reached.len(), 1, "no wait was seen:\n{}", down.stderr);
    assert!(
        down.stderr.contains("waiting: deletion of security group")
            && down.stderr.contains("still held by network interface eni-"),
        "down.sh did not show what held the security group:\n{}",
        down.stderr
    );
    assert_eq!(vpc_leftovers(emu, &vpc), Vec::<String>::new());
    assert!(emu.refusals().is_empty(), "{:#?}", emu.refusals());
}

/// With a short --timeout, a teardown held by lingering interfaces exits 3 naming them; once
/// they are gone, down.sh resumes and finishes.
#[test]
fn down_with_a_short_timeout_exits_3_naming_the_interfaces_that_hold_the_group() {
    let stack = Stack::new("eni-timeout");
    let emu = &*stack.emu;
    let up = stack.script("scripts/up.sh").run();
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    let vpc = stack.doc()["core"]["vpc_id"]
        .as_str()
        .expect("core.vpc_id")
        .to_owned();

    emu.holds(json!({"eni_linger_s": 3600}));
    let down = stack
        .script("scripts/down.sh")
        .env("SVC_ARGS", "--timeout 10s")
        .run();
    assert_eq!(down.code, 3, "down.sh:\n{}", down.stderr);
    let named = down
        .stderr
        .lines()
        .find(|l| l.contains("timed out") && l.contains("security group"))
        .unwrap_or_else(|| panic!("no timeout naming the group:\n{}", down.stderr));
    // The holder: the stopped task's interface (ECS's attachment, requester amazon-ecs).
    assert!(
        named.contains("network interface eni-") && named.contains("amazon-ecs"),
        "{named}"
    );
    assert!(
        down.stderr.contains("svc-up --destroy failed (exit 3)"),
        "{}",
        down.stderr
    );

    // The interfaces go; the same command resumes and finishes.
    emu.holds(json!({"eni_linger_s": 0}));
    let again = stack.script("scripts/down.sh").run();
    assert_eq!(again.code, 0, "down.sh again:\n{}", again.stderr);
    assert_eq!(vpc_leftovers(emu, &vpc), Vec::<String>::new());
}

// ------------------------------------------------------------------ IAM at task start

/// The task execution role narrowed by someone else (a permissions boundary without
/// secretsmanager:GetSecretValue, which svc-up does not manage): the next rollout's tasks stop
/// with ECS's ResourceInitializationError, the deployment fails, and svc-up exits 1 quoting it.
#[test]
fn a_narrowed_execution_role_fails_the_rollout_and_svc_up_quotes_ecs() {
    let stack = Stack::new("narrowed");
    let emu = &*stack.emu;
    let up = stack.script("scripts/up.sh").run();
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    let doc = stack.doc();
    let role = doc["svc"]["execution_role_arn"]
        .as_str()
        .expect("svc.execution_role_arn")
        .rsplit('/')
        .next()
        .unwrap()
        .to_owned();

    let client = iam::Client::new(&emu.sdk());
    emu.block_on(async {
        let boundary = client
            .create_policy()
            .policy_name("no-secret-values")
            .policy_document(
                json!({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow",
                    "NotAction": "secretsmanager:GetSecretValue",
                    "Resource": "*"
                }]})
                .to_string(),
            )
            .send()
            .await
            .unwrap();
        client
            .put_role_permissions_boundary()
            .role_name(&role)
            .permissions_boundary(boundary.policy().unwrap().arn().unwrap())
            .send()
            .await
            .unwrap();
    });

    let line = emu
        .tool("svc-up")
        .arg("--redeploy")
        .doc(&doc)
        .run()
        .fails(1);
    assert!(line.contains("FAILED"), "{line}");
    assert!(
        line.contains("ResourceInitializationError: unable to pull secrets or registry auth")
            && line.contains("secretsmanager:GetSecretValue"),
        "svc-up did not quote ECS's reason: {line}"
    );
}

// ------------------------------------------------------------------ long app names

/// The CLI allows app names of 48 characters, and every name derived from one fits AWS's
/// limits (shortened with a hash where a limit is shorter): a whole up.sh and down.sh with a
/// 48-character app make no request the emulator's models or limits refuse. A 49-character
/// name cannot fit and is refused up front: exit 2, no mutating call.
#[test]
fn a_48_character_app_comes_up_and_down_and_a_49_character_one_is_refused_up_front() {
    let stack = Stack::new("long-app");
    let emu = &*stack.emu;
    let app = "a-forty-eight-character-application-name-for-xyz";
    assert_eq!(app.len(), 48);

    let too_long = format!("{app}z");
    let mark = emu.mark();
    let refused = stack
        .script("scripts/up.sh")
        .env("STAGEHAND_APP", &too_long)
        .run();
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(refused.stderr.contains(&too_long), "{}", refused.stderr);
    assert!(refused.stderr.contains("48"), "{}", refused.stderr);
    emu.calls_since(mark).assert_no_mutations();
    let _ = std::fs::remove_file(stack.path());

    let up = stack
        .script("scripts/up.sh")
        .env("STAGEHAND_APP", app)
        .run();
    assert_eq!(up.code, 0, "up.sh failed:\n{}", up.stderr);
    let doc = stack.doc();
    assert_eq!(doc["app"], app);
    assert!(
        doc["svc"]["service_arn"].as_str().unwrap().ends_with(app),
        "{}",
        doc["svc"]
    );
    let vpc = doc["core"]["vpc_id"].as_str().unwrap().to_owned();
    let down = stack
        .script("scripts/down.sh")
        .env("STAGEHAND_APP", app)
        .run();
    assert_eq!(down.code, 0, "down.sh failed:\n{}", down.stderr);
    assert_eq!(vpc_leftovers(emu, &vpc), Vec::<String>::new());
    let refusals = emu.refusals();
    assert!(
        refusals.is_empty(),
        "requests AWS would refuse: {refusals:#?}"
    );
}
