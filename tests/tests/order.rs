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
        // pipeline-up ran beside db-up and alb-up, before the service existed, and once more
        // after svc-up (the table's again column): its Deploy stage is released even though
        // --no-wait skipped the final pass.
        let state = cp
            .get_pipeline_state()
            .name(doc["pipeline"]["pipeline_name"].as_str().unwrap())
            .send()
            .await
            .unwrap();
        let deploy = state
            .stage_states()
            .iter()
            .find(|s| s.stage_name() == Some("Deploy"))
            .expect("a Deploy stage");
        assert!(
            deploy
                .inbound_transition_state()
                .is_some_and(|t| t.enabled()),
            "{deploy:?}"
        );
    });
}

/// The pipeline does not wait for the service: its first build starts once the image
/// repository exists, with the Deploy stage held (its inbound transition disabled) until
/// svc-up has made the service. A first up.sh that fails at svc-up leaves that build going and
/// pushing; the rerun makes the service, releases the Deploy stage, and the service ends up
/// running the image the first build pushed — without a second build.
#[test]
fn the_first_build_goes_on_when_svc_up_fails_and_the_rerun_deploys_what_it_pushed() {
    use std::time::{Duration, Instant};
    use testkit::Fault;
    use testkit::codepipeline::types::PipelineExecutionStatus;

    let stack = Stack::new("order-held");
    let emu = &stack.emu;
    // The chain's plan shows where up ends: the pipeline with its Deploy stage released.
    let plan = stack.ok(stack.script("scripts/plan.sh"), "plan.sh");
    let shown = format!("{}{}", plan.stdout, plan.stderr);
    let line = shown
        .lines()
        .find(|l| l.contains("+ create") && l.contains("pipeline pipeline-"))
        .unwrap_or_else(|| panic!("no pipeline in the plan:\n{shown}"));
    assert!(!line.contains("disabled"), "{line}");
    emu.inject(&[
        Fault::error("ecs", "CreateService", "AccessDeniedException", "injected").times(1),
    ]);
    let first = stack.script("scripts/up.sh").run();
    assert_ne!(first.code, 0, "svc-up fails once:\n{}", first.stderr);
    assert!(first.stderr.contains("svc-up failed"), "{}", first.stderr);
    let doc = stack.doc();
    assert!(!stack.doc_has("svc"), "svc-up wrote nothing");
    let pipeline = doc["pipeline"]["pipeline_name"]
        .as_str()
        .expect("pipeline-up ran without the service")
        .to_owned();
    let repository = doc["ecr"]["repository_name"].as_str().unwrap().to_owned();

    let sdk = emu.sdk();
    let cp = testkit::codepipeline::Client::new(&sdk);
    let ecr = testkit::ecr::Client::new(&sdk);
    let state = |stage: &str| {
        let out = emu
            .block_on(cp.get_pipeline_state().name(&pipeline).send())
            .expect("get pipeline state");
        out.stage_states()
            .iter()
            .find(|s| s.stage_name() == Some(stage))
            .cloned()
            .expect("the stage")
    };
    // Held: the Deploy stage's transition is disabled, saying why…
    let deploy = state("Deploy");
    let transition = deploy.inbound_transition_state().expect("transition state");
    assert!(!transition.enabled(), "{transition:?}");
    assert!(
        transition
            .disabled_reason()
            .unwrap_or("")
            .contains("svc-up"),
        "{transition:?}"
    );
    // … while the build runs on and pushes its image; the execution waits before Deploy.
    let deadline = Instant::now() + Duration::from_secs(60);
    let pushed = loop {
        let images = emu
            .block_on(ecr.list_images().repository_name(&repository).send())
            .expect("list images");
        let tags: Vec<String> = images
            .image_ids()
            .iter()
            .filter_map(|i| i.image_tag().map(str::to_owned))
            .filter(|t| t != "latest")
            .collect();
        if let Some(tag) = tags.first() {
            break tag.clone();
        }
        assert!(Instant::now() < deadline, "no image pushed in 60 s");
        std::thread::sleep(Duration::from_millis(100));
    };
    let runs = emu.executions(&pipeline);
    assert_eq!(runs.len(), 1, "one execution: {runs:?}");
    assert_eq!(runs[0].status(), Some(&PipelineExecutionStatus::InProgress));
    assert!(
        state("Deploy").latest_execution().is_none(),
        "Deploy has not run"
    );

    // The rerun: the service, then the Deploy stage released and the image rolled out.
    stack.up();
    let doc = stack.doc();
    let runs = emu.executions(&pipeline);
    assert_eq!(
        runs.len(),
        1,
        "the same execution, no second build: {runs:?}"
    );
    assert_eq!(runs[0].status(), Some(&PipelineExecutionStatus::Succeeded));
    assert!(
        state("Deploy")
            .inbound_transition_state()
            .is_some_and(|t| t.enabled())
    );
    let ecs = testkit::ecs::Client::new(&sdk);
    let services = emu
        .block_on(
            ecs.describe_services()
                .cluster(doc["svc"]["cluster_name"].as_str().unwrap())
                .services(doc["svc"]["service_name"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    let running = services.services()[0].task_definition().unwrap().to_owned();
    let definition = emu
        .block_on(
            ecs.describe_task_definition()
                .task_definition(&running)
                .send(),
        )
        .unwrap();
    let image = definition
        .task_definition()
        .unwrap()
        .container_definitions()[0]
        .image()
        .unwrap()
        .to_owned();
    assert!(
        image.ends_with(&format!(":{pushed}")),
        "the service runs {image}, not the first build's :{pushed}"
    );
}
