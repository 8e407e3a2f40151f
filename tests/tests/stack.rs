//! The whole stack as one command: scripts/up.sh, down.sh, plan.sh and the Makefile, against
//! the emulator, checked with independent describe calls.

use testkit::stack::{Stack, TOKEN};

#[test]
fn full_up_creates_every_resource_of_the_seed_and_a_rerun_changes_nothing() {
    let stack = Stack::new("up");
    let out = stack.up();
    let doc = stack.doc();
    let url = doc["alb"]["url"].as_str().expect("alb.url");
    assert!(url.starts_with("http://"), "{url}");
    assert_eq!(out.stdout.trim(), url, "up.sh prints the application URL");
    // stderr is a pipe here, as when redirected to a file: no colours, no cursor movement.
    assert!(
        !out.stderr.contains('\x1b') && !out.stdout.contains('\x1b'),
        "escape codes in up.sh output to a pipe:\n{}",
        out.stderr
    );
    assert!(
        !std::fs::read_to_string(stack.path())
            .unwrap()
            .contains(TOKEN)
    );

    let emu = &stack.emu;
    let sdk = emu.sdk();
    emu.block_on(async {
        // Secrets and the role.
        let sm = testkit::secretsmanager::Client::new(&sdk);
        for key in ["github_token", "db_password"] {
            let arn = doc["secrets"][key]["arn"].as_str().unwrap();
            sm.describe_secret()
                .secret_id(arn)
                .send()
                .await
                .expect("secret exists");
        }
        let iam = testkit::iam::Client::new(&sdk);
        iam.get_role()
            .role_name("AWSServiceRoleForCodeStarNotifications")
            .send()
            .await
            .expect("CodeStar role");

        // VPC, subnets, NAT, cluster, namespace.
        let ec2 = testkit::ec2::Client::new(&sdk);
        let vpc_id = doc["core"]["vpc_id"].as_str().unwrap();
        let vpcs = ec2.describe_vpcs().vpc_ids(vpc_id).send().await.unwrap();
        assert_eq!(vpcs.vpcs().len(), 1);
        let subnets = ec2
            .describe_subnets()
            .filters(
                testkit::ec2::types::Filter::builder()
                    .name("vpc-id")
                    .values(vpc_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(subnets.subnets().len(), 6);
        let nats = ec2
            .describe_nat_gateways()
            .filter(
                testkit::ec2::types::Filter::builder()
                    .name("vpc-id")
                    .values(vpc_id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(
            nats.nat_gateways()
                .iter()
                .filter(|n| n.state().map(|s| s.as_str()) == Some("available"))
                .count(),
            1
        );
        let ecs = testkit::ecs::Client::new(&sdk);
        let cluster_arn = doc["core"]["cluster_arn"].as_str().unwrap();
        let clusters = ecs
            .describe_clusters()
            .clusters(cluster_arn)
            .send()
            .await
            .unwrap();
        assert_eq!(clusters.clusters()[0].status(), Some("ACTIVE"));
        let sd = testkit::servicediscovery::Client::new(&sdk);
        sd.get_namespace()
            .id(doc["core"]["namespace_id"].as_str().unwrap())
            .send()
            .await
            .expect("namespace");

        // Aurora cluster and instance, subnet group, groups, parameters.
        let rds = testkit::rds::Client::new(&sdk);
        let c = rds
            .describe_db_clusters()
            .db_cluster_identifier(doc["db"]["cluster_id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let c = &c.db_clusters()[0];
        assert_eq!(c.engine(), Some("aurora-postgresql"));
        assert!(c.serverless_v2_scaling_configuration().is_some());
        rds.describe_db_instances()
            .db_instance_identifier(doc["db"]["instance_id"].as_str().unwrap())
            .send()
            .await
            .expect("instance");
        rds.describe_db_subnet_groups()
            .db_subnet_group_name(doc["db"]["subnet_group"].as_str().unwrap())
            .send()
            .await
            .expect("subnet group");
        for key in ["db_security_group_id", "client_security_group_id"] {
            ec2.describe_security_groups()
                .group_ids(doc["db"][key].as_str().unwrap())
                .send()
                .await
                .expect("db groups");
        }
        let ssm = testkit::ssm::Client::new(&sdk);
        let names: Vec<String> = doc["db"]["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap().to_owned())
            .collect();
        let params = ssm
            .get_parameters()
            .set_names(Some(names))
            .send()
            .await
            .unwrap();
        assert_eq!(params.parameters().len(), 3);

        // ALB, target group, listener.
        let elb = testkit::elbv2::Client::new(&sdk);
        let lbs = elb
            .describe_load_balancers()
            .load_balancer_arns(doc["alb"]["arn"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            lbs.load_balancers()[0].scheme().map(|s| s.as_str()),
            Some("internet-facing")
        );
        elb.describe_target_groups()
            .target_group_arns(doc["alb"]["target_group_arn"].as_str().unwrap())
            .send()
            .await
            .expect("tg");
        let listeners = elb
            .describe_listeners()
            .load_balancer_arn(doc["alb"]["arn"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert!(listeners.listeners().iter().any(|l| l.port() == Some(80)));

        // ECR repository, task definition, service, Cloud Map service, log group, roles.
        let ecr = testkit::ecr::Client::new(&sdk);
        ecr.describe_repositories()
            .repository_names(doc["svc"]["repository_name"].as_str().unwrap())
            .send()
            .await
            .expect("repository");
        ecs.describe_task_definition()
            .task_definition(doc["svc"]["task_definition_arn"].as_str().unwrap())
            .send()
            .await
            .expect("task definition");
        let services = ecs
            .describe_services()
            .cluster(cluster_arn)
            .services(doc["svc"]["service_name"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(services.services()[0].status(), Some("ACTIVE"));
        let sd_id = doc["svc"]["cloudmap_service_arn"]
            .as_str()
            .unwrap()
            .rsplit('/')
            .next()
            .unwrap();
        sd.get_service()
            .id(sd_id)
            .send()
            .await
            .expect("cloud map service");
        let logs = testkit::logs::Client::new(&sdk);
        let groups = logs
            .describe_log_groups()
            .log_group_name_prefix(doc["svc"]["log_group"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(groups.log_groups().len(), 1);
        for key in ["execution_role_arn", "task_role_arn"] {
            let name = doc["svc"][key]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap();
            iam.get_role()
                .role_name(name)
                .send()
                .await
                .expect("task role");
        }

        // Bucket, topic, project, pipeline, notification rule.
        let s3 = testkit::s3::Client::from_conf(
            testkit::s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        s3.head_bucket()
            .bucket(doc["pipeline"]["bucket"].as_str().unwrap())
            .send()
            .await
            .expect("bucket");
        let sns = testkit::sns::Client::new(&sdk);
        sns.get_topic_attributes()
            .topic_arn(doc["pipeline"]["topic_arn"].as_str().unwrap())
            .send()
            .await
            .expect("topic");
        let cb = testkit::codebuild::Client::new(&sdk);
        let projects = cb
            .batch_get_projects()
            .names(doc["pipeline"]["codebuild_project"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(projects.projects().len(), 1);
        let cp = testkit::codepipeline::Client::new(&sdk);
        cp.get_pipeline()
            .name(doc["pipeline"]["pipeline_name"].as_str().unwrap())
            .send()
            .await
            .expect("pipeline");
        let cs = testkit::codestar::Client::new(&sdk);
        let rule = cs
            .describe_notification_rule()
            .arn(doc["pipeline"]["notification_rule_arn"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            rule.targets()[0].target_address(),
            doc["pipeline"]["topic_arn"].as_str()
        );
    });

    // Rerun: zero mutating calls, the same document; the account is checked once for the
    // chain (stack-run asks STS and the tools take its answer for the same key), and the
    // reads stay within half the Terraform peer's no-change plan (132 calls; issue 19).
    let mark = emu.mark();
    stack.up();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(calls.count("sts:GetCallerIdentity"), 1, "{:?}", calls);
    assert!(
        calls.read_only() <= 66,
        "a no-op rerun made {} reads",
        calls.read_only()
    );
    assert_eq!(stack.doc(), doc);

    // Plan after up: no changes.
    let mark = emu.mark();
    let plan = stack.script("scripts/plan.sh").run();
    assert_eq!(plan.code, 0, "{}", plan.stderr);
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        plan.stdout
            .starts_with("plan: 0 to create, 0 to update, 0 to delete,"),
        "{}",
        plan.stdout
    );

    // Rerun one step: `make db` reruns db-up alone, changing nothing.
    let mark = emu.mark();
    let make = stack
        .emu
        .script("/usr/bin/env")
        .arg("make")
        .arg("-s")
        .arg("db")
        .env("STACK", stack.path())
        .run();
    assert_eq!(make.code, 0, "{}", make.stderr);
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    let services: std::collections::BTreeSet<String> = calls
        .requests()
        .iter()
        .map(|r| r["service"].as_str().unwrap_or_default().to_owned())
        .collect();
    for other in ["ecs", "elasticloadbalancing", "codepipeline", "iam"] {
        assert!(
            !services.contains(other),
            "make db called {other}: {services:?}"
        );
    }
    assert_eq!(stack.doc(), doc);
}
#[test]
fn down_leaves_only_the_final_snapshot_and_the_secrets_in_their_recovery_window_and_up_works_again()
{
    let stack = Stack::new("down");
    stack.up();
    let before = stack.doc();
    let out = stack
        .script("scripts/down.sh")
        .env("SVC_ARGS", "--delete-logs")
        .env("PIPELINE_ARGS", "--delete-logs")
        .run();
    assert_eq!(out.code, 0, "down.sh failed:\n{}", out.stderr);
    let after = stack.doc();
    for section in ["secrets", "slr", "core", "db", "alb", "svc", "pipeline"] {
        assert!(
            after.get(section).is_none(),
            "{section} is still in the document after down"
        );
    }

    let left = stack.leftovers();
    assert!(left.is_empty(), "down.sh left resources behind: {left:#?}");

    // The exceptions, asserted: the final snapshot, and the secrets scheduled for deletion.
    let sdk = stack.emu.sdk();
    stack.emu.block_on(async {
        let rds = testkit::rds::Client::new(&sdk);
        let snaps = rds
            .describe_db_cluster_snapshots()
            .snapshot_type("manual")
            .send()
            .await
            .unwrap();
        let cluster = before["db"]["cluster_id"].as_str().unwrap();
        assert!(
            snaps.db_cluster_snapshots().iter().any(|s| s
                .db_cluster_snapshot_identifier()
                .unwrap_or_default()
                .starts_with(&format!("{cluster}-final-"))),
            "no final snapshot of {cluster}"
        );
        let sm = testkit::secretsmanager::Client::new(&sdk);
        for key in ["github_token", "db_password"] {
            let d = sm
                .describe_secret()
                .secret_id(before["secrets"][key]["arn"].as_str().unwrap())
                .send()
                .await
                .unwrap();
            assert!(
                d.deleted_date().is_some(),
                "{key} is not scheduled for deletion"
            );
        }
    });

    // Up again after down.
    stack.up();
    let again = stack.doc();
    assert!(again["alb"]["url"].as_str().unwrap().starts_with("http://"));
}

#[test]
fn plan_on_a_fresh_account_chains_through_every_step_and_changes_nothing() {
    let stack = Stack::new("plan");
    let mark = stack.emu.mark();
    let out = stack.script("scripts/plan.sh").run();
    assert_eq!(out.code, 0, "plan.sh failed:\n{}", out.stderr);
    stack.emu.calls_since(mark).assert_no_mutations();
    let summary = out.stdout.trim();
    assert!(summary.starts_with("plan: "), "{summary}");
    assert!(
        !summary.starts_with("plan: 0 to create"),
        "a fresh account has everything to create: {summary}"
    );
    assert!(!stack.path().exists(), "plan.sh writes no document");
}
