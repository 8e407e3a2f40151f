//! alb-up against the emulator: what a user would check with independent describe calls.

mod common;

use common::*;
use testkit::{Emulator, elbv2, json};

const APP: &str = "unicorn-ui";

fn up(emu: &Emulator, doc: &testkit::Value, extra: &[&str]) -> testkit::Value {
    emu.tool("alb-up")
        .args(["--app", APP])
        .args(extra)
        .doc(doc)
        .run()
        .ok()
}

fn private_cidrs(doc: &testkit::Value) -> Vec<String> {
    doc["core"]["private_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["cidr"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn fresh_create_sets_every_attribute_and_waits_for_active() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    emu.holds(json!({"alb_s": 1.5}));
    let out = emu.tool("alb-up").args(["--app", APP]).doc(&input).run();
    let doc = out.ok();
    assert!(
        out.stderr.contains("waiting") && out.stderr.contains("provisioning"),
        "progress while the load balancer provisions:\n{}",
        out.stderr
    );
    let alb = &doc["alb"];
    assert_eq!(doc["core"], input["core"], "other sections are kept");

    // Load balancer: internet-facing application LB in the public subnets, with its group.
    let lb = lb_by_name(&emu, APP);
    assert_eq!(
        lb.state().and_then(|s| s.code()),
        Some(&elbv2::types::LoadBalancerStateEnum::Active)
    );
    assert_eq!(
        lb.scheme(),
        Some(&elbv2::types::LoadBalancerSchemeEnum::InternetFacing)
    );
    assert_eq!(
        lb.r#type(),
        Some(&elbv2::types::LoadBalancerTypeEnum::Application)
    );
    let subnets: std::collections::BTreeSet<String> = lb
        .availability_zones()
        .iter()
        .map(|z| z.subnet_id().unwrap().to_owned())
        .collect();
    let public: std::collections::BTreeSet<String> = input["core"]["public_subnets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(subnets, public);
    let lb_arn = lb.load_balancer_arn().unwrap();
    assert_eq!(alb["arn"], lb_arn);
    assert_eq!(alb["dns_name"], lb.dns_name().unwrap());
    assert_eq!(
        alb["hosted_zone_id"],
        lb.canonical_hosted_zone_id().unwrap()
    );
    assert_eq!(alb["url"], format!("http://{}", lb.dns_name().unwrap()));
    assert_eq!(
        lb.security_groups(),
        [alb["security_group_id"].as_str().unwrap()]
    );
    assert_eq!(
        lb_attr(&emu, lb_arn, "deletion_protection.enabled").as_deref(),
        Some("false")
    );
    assert_eq!(
        lb_attr(
            &emu,
            lb_arn,
            "routing.http.drop_invalid_header_fields.enabled"
        )
        .as_deref(),
        Some("true")
    );

    // Target group: HTTP 7007, ip targets, the seed's health check.
    let tg = tg_by_name(&emu, "unicorn-ui-tg");
    assert_eq!(alb["target_group_arn"], tg.target_group_arn().unwrap());
    assert_eq!(tg.protocol(), Some(&elbv2::types::ProtocolEnum::Http));
    assert_eq!(tg.port(), Some(7007));
    assert_eq!(tg.target_type(), Some(&elbv2::types::TargetTypeEnum::Ip));
    assert_eq!(tg.vpc_id(), input["core"]["vpc_id"].as_str());
    assert_eq!(tg.health_check_path(), Some("/"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-299"));
    assert_eq!(tg.healthy_threshold_count(), Some(5));
    assert_eq!(tg.unhealthy_threshold_count(), Some(2));
    assert_eq!(tg.health_check_interval_seconds(), Some(30));
    assert_eq!(tg.health_check_timeout_seconds(), Some(5));
    assert_eq!(
        tg_attr(
            &emu,
            tg.target_group_arn().unwrap(),
            "deregistration_delay.timeout_seconds"
        )
        .as_deref(),
        Some("300")
    );

    // One listener: HTTP 80 forwarding to the target group.
    let ls = listeners(&emu, lb_arn);
    assert_eq!(ls.len(), 1);
    assert_eq!(ls[0].port(), Some(80));
    assert_eq!(ls[0].protocol(), Some(&elbv2::types::ProtocolEnum::Http));
    assert_eq!(forwards_to(&ls[0]).as_deref(), tg.target_group_arn());
    assert_eq!(alb["listener_arns"], json!([ls[0].listener_arn().unwrap()]));

    // Security group: 80 from the world in; only 7007 to the private subnets out.
    let sg = security_group(&emu, alb["security_group_id"].as_str().unwrap());
    assert_eq!(sg.group_name(), Some("unicorn-ui-alb"));
    assert_eq!(rules(sg.ip_permissions()), set(&["tcp 80 0.0.0.0/0"]));
    let egress: Vec<String> = private_cidrs(&input)
        .iter()
        .map(|c| format!("tcp 7007 {c}"))
        .collect();
    assert_eq!(
        rules(sg.ip_permissions_egress()),
        egress.iter().cloned().collect()
    );

    // Everything is tagged as this step's.
    for arn in [
        lb_arn,
        tg.target_group_arn().unwrap(),
        ls[0].listener_arn().unwrap(),
    ] {
        let tags = elb_tags(&emu, arn);
        assert_eq!(
            tags.get("stagehand:app").map(String::as_str),
            Some(APP),
            "{arn}"
        );
        assert_eq!(
            tags.get("stagehand:step").map(String::as_str),
            Some("alb"),
            "{arn}"
        );
    }
    let sg_tags = testkit::tag_map(
        sg.tags()
            .iter()
            .map(|t| (t.key().unwrap(), t.value().unwrap())),
    );
    assert_eq!(
        sg_tags.get("stagehand:step").map(String::as_str),
        Some("alb")
    );
}

#[test]
fn flags_set_port_cidrs_health_check_and_delay() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    let doc = up(
        &emu,
        &input,
        &[
            "--container-port",
            "3000",
            "--allow-cidr",
            "203.0.113.0/24",
            "--allow-cidr",
            "198.51.100.0/24",
            "--health-check-path",
            "/healthcheck",
            "--health-check-matcher",
            "200,302",
            "--healthy-threshold",
            "3",
            "--unhealthy-threshold",
            "4",
            "--health-check-interval",
            "15",
            "--health-check-timeout",
            "6",
            "--deregistration-delay",
            "30",
            "--no-wait",
        ],
    );
    let tg = tg_by_name(&emu, "unicorn-ui-tg");
    assert_eq!(tg.port(), Some(3000));
    assert_eq!(tg.health_check_path(), Some("/healthcheck"));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200,302"));
    assert_eq!(tg.healthy_threshold_count(), Some(3));
    assert_eq!(tg.unhealthy_threshold_count(), Some(4));
    assert_eq!(tg.health_check_interval_seconds(), Some(15));
    assert_eq!(tg.health_check_timeout_seconds(), Some(6));
    assert_eq!(
        tg_attr(
            &emu,
            tg.target_group_arn().unwrap(),
            "deregistration_delay.timeout_seconds"
        )
        .as_deref(),
        Some("30")
    );
    let sg = security_group(&emu, doc["alb"]["security_group_id"].as_str().unwrap());
    assert_eq!(
        rules(sg.ip_permissions()),
        set(&["tcp 80 203.0.113.0/24", "tcp 80 198.51.100.0/24"])
    );
    let egress: std::collections::BTreeSet<String> = private_cidrs(&input)
        .iter()
        .map(|c| format!("tcp 3000 {c}"))
        .collect();
    assert_eq!(rules(sg.ip_permissions_egress()), egress);
    assert_eq!(doc["alb"]["container_port"], 3000);
}

#[test]
fn no_wait_returns_while_the_load_balancer_provisions() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    emu.holds(json!({"alb_s": 60}));
    let doc = up(&emu, &input, &["--no-wait"]);
    let lb = lb_by_name(&emu, APP);
    assert_eq!(
        lb.state().and_then(|s| s.code()),
        Some(&elbv2::types::LoadBalancerStateEnum::Provisioning)
    );
    assert_eq!(doc["alb"]["arn"], lb.load_balancer_arn().unwrap());
    // A rerun with a short --timeout waits (no change) and gives up with exit 3.
    let mark = emu.mark();
    let line = emu
        .tool("alb-up")
        .args(["--timeout", "2s"])
        .doc(&doc)
        .run()
        .fails(3);
    assert!(line.contains("load balancer unicorn-ui"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn rerun_makes_zero_mutating_calls_and_one_load_balancer() {
    let emu = Emulator::start();
    let first = up(&emu, &core_doc(&emu), &[]);
    let mark = emu.mark();
    let out = emu.tool("alb-up").doc(&first).run();
    let second = out.ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(calls.count("elasticloadbalancing:CreateLoadBalancer"), 0);
    assert_eq!(second, first, "the same document");
    let named: Vec<_> = all_lbs(&emu)
        .into_iter()
        .filter(|l| l.load_balancer_name() == Some(APP))
        .collect();
    assert_eq!(named.len(), 1, "never a second load balancer");
}

#[test]
fn plan_reports_creates_with_read_only_calls() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    let mark = emu.mark();
    let out = emu
        .tool("alb-up")
        .args(["--app", APP, "--plan"])
        .doc(&input)
        .run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains("plan: 4 to create, 0 to update"),
        "{}",
        out.stderr
    );
    for what in [
        "security group unicorn-ui-alb",
        "target group unicorn-ui-tg",
        "load balancer unicorn-ui",
        "listener unicorn-ui:80",
    ] {
        assert!(
            out.stderr.contains(&format!("+ create     {what}")),
            "{what}"
        );
    }
    assert_eq!(doc["alb"]["planned"], true);
    assert_eq!(doc["alb"]["arn"], testkit::Value::from(kit_planned()));
    assert!(all_lbs(&emu).is_empty());

    // A planned core (from core-up --plan) flows through: everything is a create.
    let mut planned = input.clone();
    planned["core"]["vpc_id"] = kit_planned().into();
    planned["core"]["planned"] = true.into();
    let mark = emu.mark();
    let out = emu
        .tool("alb-up")
        .args(["--app", APP, "--plan"])
        .doc(&planned)
        .run();
    out.ok();
    assert!(out.stderr.contains("plan: 4 to create"), "{}", out.stderr);
    assert_eq!(emu.calls_since(mark).mutating(), 0);
    // Apply refuses to build on a planned core.
    let line = emu
        .tool("alb-up")
        .args(["--app", APP])
        .doc(&planned)
        .run()
        .fails(2);
    assert!(line.contains("core-up"), "{line}");
}

fn kit_planned() -> &'static str {
    stackdoc::PLANNED
}

#[test]
fn drift_is_reported_by_plan_and_corrected_by_a_rerun() {
    let emu = Emulator::start();
    let doc = up(&emu, &core_doc(&emu), &[]);
    let tg_arn = doc["alb"]["target_group_arn"].as_str().unwrap().to_owned();
    let lb_arn = doc["alb"]["arn"].as_str().unwrap().to_owned();
    let sg_id = doc["alb"]["security_group_id"].as_str().unwrap().to_owned();
    let listener_arn = doc["alb"]["listener_arns"][0].as_str().unwrap().to_owned();

    // Out of band: the interval, an extra ingress rule, the listener's default action.
    emu.block_on(
        elb(&emu)
            .modify_target_group()
            .target_group_arn(&tg_arn)
            .health_check_interval_seconds(10)
            .send(),
    )
    .unwrap();
    emu.block_on(
        ec2c(&emu)
            .authorize_security_group_ingress()
            .group_id(&sg_id)
            .ip_protocol("tcp")
            .from_port(22)
            .to_port(22)
            .cidr_ip("0.0.0.0/0")
            .send(),
    )
    .unwrap();
    emu.block_on(
        elb(&emu)
            .modify_listener()
            .listener_arn(&listener_arn)
            .default_actions(
                elbv2::types::Action::builder()
                    .r#type(elbv2::types::ActionTypeEnum::FixedResponse)
                    .fixed_response_config(
                        elbv2::types::FixedResponseActionConfig::builder()
                            .status_code("503")
                            .build(),
                    )
                    .build(),
            )
            .send(),
    )
    .unwrap();

    let mark = emu.mark();
    let out = emu.tool("alb-up").arg("--plan").doc(&doc).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    let plan = &out.stderr;
    assert!(
        plan.contains("~ update     target group unicorn-ui-tg")
            && plan.contains("health_check_interval: 10 → 30"),
        "{plan}"
    );
    assert!(
        plan.contains("~ update     security group unicorn-ui-alb")
            && plan.contains("ingress -tcp 22 0.0.0.0/0"),
        "{plan}"
    );
    assert!(
        plan.contains("~ update     listener unicorn-ui:80") && plan.contains("default_action"),
        "{plan}"
    );
    assert!(
        plan.contains("= unchanged  load balancer unicorn-ui"),
        "{plan}"
    );

    let fixed = emu.tool("alb-up").doc(&doc).run().ok();
    assert_eq!(fixed["alb"], doc["alb"]);
    let tg = tg_by_name(&emu, "unicorn-ui-tg");
    assert_eq!(tg.health_check_interval_seconds(), Some(30));
    let sg = security_group(&emu, &sg_id);
    assert_eq!(rules(sg.ip_permissions()), set(&["tcp 80 0.0.0.0/0"]));
    let l = listener_on(&emu, &lb_arn, 80);
    assert_eq!(forwards_to(&l), Some(tg_arn));

    let mark = emu.mark();
    emu.tool("alb-up").doc(&fixed).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_forty_character_app_name_yields_valid_stable_names() {
    let emu = Emulator::start();
    let app = "a-very-long-backstage-application-name-x";
    assert_eq!(app.len(), 40);
    let doc = emu
        .tool("alb-up")
        .args(["--app", app])
        .doc(&core_doc(&emu))
        .run()
        .ok();
    let lb_name = doc["alb"]["name"].as_str().unwrap().to_owned();
    let tg_name = doc["alb"]["target_group_name"].as_str().unwrap().to_owned();
    let valid = |n: &str| {
        (1..=32).contains(&n.len())
            && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            && !n.starts_with('-')
            && !n.ends_with('-')
    };
    assert!(
        valid(&lb_name) && !lb_name.starts_with("internal-"),
        "{lb_name}"
    );
    assert!(valid(&tg_name), "{tg_name}");
    assert_ne!(lb_name, tg_name);
    // AWS knows them by these names.
    assert_eq!(
        lb_by_name(&emu, &lb_name).load_balancer_arn(),
        doc["alb"]["arn"].as_str()
    );
    assert_eq!(
        tg_by_name(&emu, &tg_name).target_group_arn(),
        doc["alb"]["target_group_arn"].as_str()
    );

    let mark = emu.mark();
    let again = emu.tool("alb-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again["alb"]["name"], lb_name.as_str());
    assert_eq!(again["alb"]["target_group_name"], tg_name.as_str());
    assert_eq!(all_lbs(&emu).len(), 1);
}

#[test]
fn a_certificate_adds_https_on_443_and_redirects_80() {
    let emu = Emulator::start();
    let cert = import_certificate(&emu, "portal.example.com");
    let doc = up(&emu, &core_doc(&emu), &["--certificate-arn", &cert]);
    let lb_arn = doc["alb"]["arn"].as_str().unwrap();
    let tg_arn = doc["alb"]["target_group_arn"].as_str().unwrap();

    let https = listener_on(&emu, lb_arn, 443);
    assert_eq!(https.protocol(), Some(&elbv2::types::ProtocolEnum::Https));
    let policy = https.ssl_policy().unwrap();
    assert!(policy.starts_with("ELBSecurityPolicy-TLS13-"), "{policy}");
    assert_eq!(
        https.certificates()[0].certificate_arn(),
        Some(cert.as_str())
    );
    assert_eq!(forwards_to(&https).as_deref(), Some(tg_arn));
    // A TLS 1.3 policy AWS knows.
    let known = emu
        .block_on(elb(&emu).describe_ssl_policies().names(policy).send())
        .expect("the policy exists");
    assert_eq!(known.ssl_policies().len(), 1);

    let http = listener_on(&emu, lb_arn, 80);
    let action = &http.default_actions()[0];
    assert_eq!(
        action.r#type(),
        Some(&elbv2::types::ActionTypeEnum::Redirect)
    );
    let redirect = action.redirect_config().unwrap();
    assert_eq!(redirect.protocol(), Some("HTTPS"));
    assert_eq!(redirect.port(), Some("443"));
    assert_eq!(
        redirect.status_code(),
        Some(&elbv2::types::RedirectActionStatusCodeEnum::Http301)
    );

    let sg = security_group(&emu, doc["alb"]["security_group_id"].as_str().unwrap());
    assert_eq!(
        rules(sg.ip_permissions()),
        set(&["tcp 80 0.0.0.0/0", "tcp 443 0.0.0.0/0"])
    );
    assert!(doc["alb"]["url"].as_str().unwrap().starts_with("https://"));
    assert_eq!(doc["alb"]["listener_arns"].as_array().unwrap().len(), 2);

    let mark = emu.mark();
    emu.tool("alb-up")
        .args(["--certificate-arn", &cert])
        .doc(&doc)
        .run()
        .ok();
    emu.calls_since(mark).assert_no_mutations();

    // A rerun without the flag keeps the certificate (it is a remembered setting).
    let mark = emu.mark();
    let kept = emu.tool("alb-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(kept["alb"]["url"].as_str().unwrap().starts_with("https://"));
    assert_eq!(kept["alb"]["settings"]["certificate-arn"], cert.as_str());

    // --reset certificate-arn returns to plain HTTP: 443 goes and 80 forwards again.
    let plain = emu
        .tool("alb-up")
        .args(["--reset", "certificate-arn"])
        .doc(&kept)
        .run()
        .ok();
    let ls = listeners(&emu, lb_arn);
    assert_eq!(ls.len(), 1);
    assert_eq!(forwards_to(&ls[0]).as_deref(), Some(tg_arn));
    assert!(plain["alb"]["url"].as_str().unwrap().starts_with("http://"));
}

#[test]
fn bad_input_exits_2_with_zero_mutating_calls() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    for (args, expect) in [
        (vec!["--allow-cidr", "10.0.0.300/24"], "--allow-cidr"),
        (vec!["--allow-cidr", "10.1.2.3/8"], "host bits"),
        (vec!["--container-port", "70000"], "--container-port"),
        (
            vec![
                "--health-check-interval",
                "5",
                "--health-check-timeout",
                "5",
            ],
            "--health-check-timeout",
        ),
        (
            vec!["--certificate-arn", "arn:aws:s3:::bucket"],
            "--certificate-arn",
        ),
    ] {
        let mark = emu.mark();
        let line = emu
            .tool("alb-up")
            .args(["--app", APP])
            .args(&args)
            .doc(&input)
            .run()
            .fails(2);
        assert!(line.contains(expect), "{args:?}: {line}");
        emu.calls_since(mark).assert_no_mutations();
        assert!(all_lbs(&emu).is_empty());
    }
    let mark = emu.mark();
    let line = emu
        .tool("alb-up")
        .args(["--app", APP])
        .doc(&json!({"version": 1}))
        .run()
        .fails(2);
    assert!(line.contains("core") && line.contains("core-up"), "{line}");
    assert_eq!(emu.calls_since(mark).total(), 0, "no AWS call at all");
}
