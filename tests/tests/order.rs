//! Steps start as soon as their inputs exist (issue 19): up.sh's chain does not wait for what a
//! later step does not need. With AWS-like provisioning holds longer than the chain takes, the
//! chain (`up.sh --no-wait`) ends while the NAT gateway, the load balancer and the first build
//! are still in progress, and every step after them has already run.

use testkit::Holds;
use testkit::stack::Stack;

#[test]
fn the_database_service_and_pipeline_start_while_the_nat_gateway_and_load_balancer_provision() {
    let stack = Stack::new("order");
    let emu = &stack.emu;
    // Far longer than the chain takes: each is still in progress when up.sh --no-wait returns,
    // unless a step waited for it (then the test fails on its state, not on time).
    emu.hold(Holds {
        nat_gateway_s: Some(120.0),
        alb_s: Some(120.0),
        build_s: Some(120.0),
        ..Holds::default()
    });
    stack.ok(
        stack.script("scripts/up.sh").arg("--no-wait"),
        "up.sh --no-wait",
    );
    let doc = stack.doc();

    let sdk = emu.sdk();
    emu.block_on(async {
        // The NAT gateway is still pending: core-up wrote its section without waiting for it…
        let ec2 = testkit::ec2::Client::new(&sdk);
        let nats = ec2
            .describe_nat_gateways()
            .filter(
                testkit::ec2::types::Filter::builder()
                    .name("vpc-id")
                    .values(doc["core"]["vpc_id"].as_str().unwrap())
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let states: Vec<&str> = nats
            .nat_gateways()
            .iter()
            .filter_map(|n| n.state().map(|s| s.as_str()))
            .collect();
        assert_eq!(states, ["pending"], "the NAT gateway is still being made");

        // … and db-up has made the Aurora cluster in its private subnets all the same.
        let rds = testkit::rds::Client::new(&sdk);
        let clusters = rds
            .describe_db_clusters()
            .db_cluster_identifier(doc["db"]["cluster_id"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(
            clusters.db_clusters().len(),
            1,
            "db-up ran before the NAT was up"
        );

        // The load balancer is still provisioning: alb-up did not hold up svc-up and pipeline-up…
        let elb = testkit::elbv2::Client::new(&sdk);
        let lbs = elb
            .describe_load_balancers()
            .load_balancer_arns(doc["alb"]["arn"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let state = lbs.load_balancers()[0]
            .state()
            .and_then(|s| s.code())
            .map(|c| c.as_str().to_owned());
        assert_eq!(state.as_deref(), Some("provisioning"));

        // … so the ECS service exists and the pipeline's first execution is already building.
        let ecs = testkit::ecs::Client::new(&sdk);
        let services = ecs
            .describe_services()
            .cluster(doc["svc"]["cluster_name"].as_str().unwrap())
            .services(doc["svc"]["service_name"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        assert_eq!(services.services().len(), 1);
        let cp = testkit::codepipeline::Client::new(&sdk);
        let runs = cp
            .list_pipeline_executions()
            .pipeline_name(doc["pipeline"]["pipeline_name"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let statuses: Vec<&str> = runs
            .pipeline_execution_summaries()
            .iter()
            .filter_map(|e| e.status().map(|s| s.as_str()))
            .collect();
        assert_eq!(
            statuses,
            ["InProgress"],
            "the first build started before the load balancer was active"
        );
    });
}
