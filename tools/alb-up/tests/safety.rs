//! alb-up keeps the site up and the stack's memory: remembered settings, refusals before any
//! write (certificate, document values, zones), the listener order, retried creates, a
//! guarded, resumable destroy; and the emulator answering duplicates as AWS does.

mod common;

use common::*;
use testkit::{Emulator, Fault, elbv2, json};

const APP: &str = "unicorn-ui";

fn up(emu: &Emulator, doc: &testkit::Value, extra: &[&str]) -> testkit::Value {
    emu.tool("alb-up")
        .args(["--app", APP])
        .args(extra)
        .doc(doc)
        .run()
        .ok()
}

/// The position of each call of `action` among the calls since `mark`.
fn positions(emu: &Emulator, mark: u64, action: &str) -> Vec<usize> {
    emu.calls_since(mark)
        .requests()
        .iter()
        .enumerate()
        .filter(|(_, r)| r["action"] == action)
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn allow_cidr_and_deletion_protection_are_remembered_and_reset_plans_exactly_that() {
    let emu = Emulator::start();
    let doc = up(
        &emu,
        &core_doc(&emu),
        &["--allow-cidr", "203.0.113.0/24", "--deletion-protection"],
    );
    let settings = &doc["alb"]["settings"];
    assert_eq!(settings["allow-cidr"], json!(["203.0.113.0/24"]));
    assert_eq!(settings["deletion-protection"], true);
    assert_eq!(settings["container-port"], "7007");
    let lb_arn = doc["alb"]["arn"].as_str().unwrap().to_owned();
    let sg_id = doc["alb"]["security_group_id"].as_str().unwrap().to_owned();

    // A rerun with no flags keeps both and writes nothing.
    let mark = emu.mark();
    let again = emu.tool("alb-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(again, doc);
    assert_eq!(
        rules(security_group(&emu, &sg_id).ip_permissions()),
        set(&["tcp 80 203.0.113.0/24"])
    );
    assert_eq!(
        lb_attr(&emu, &lb_arn, "deletion_protection.enabled").as_deref(),
        Some("true")
    );

    // --reset allow-cidr plans exactly the group's change back to the world.
    let mark = emu.mark();
    let out = emu
        .tool("alb-up")
        .args(["--plan", "--reset", "allow-cidr"])
        .doc(&doc)
        .run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr
            .contains("plan: 0 to create, 1 to update, 0 to delete, 3 unchanged")
            && out
                .stderr
                .contains("~ update     security group unicorn-ui-alb")
            && out.stderr.contains("ingress +tcp 80 0.0.0.0/0")
            && out.stderr.contains("ingress -tcp 80 203.0.113.0/24"),
        "{}",
        out.stderr
    );

    // --no-deletion-protection overrides, and is recorded.
    let off = emu
        .tool("alb-up")
        .arg("--no-deletion-protection")
        .doc(&doc)
        .run()
        .ok();
    assert_eq!(off["alb"]["settings"]["deletion-protection"], false);
    assert_eq!(
        lb_attr(&emu, &lb_arn, "deletion_protection.enabled").as_deref(),
        Some("false")
    );
    let mark = emu.mark();
    emu.tool("alb-up").doc(&off).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_missing_or_unissued_certificate_is_refused_before_any_write() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    let fake = format!(
        "arn:aws:acm:{}:{}:certificate/00000000-0000-0000-0000-000000000000",
        testkit::REGION,
        testkit::ACCOUNT
    );
    let mark = emu.mark();
    let line = emu
        .tool("alb-up")
        .args(["--app", APP, "--certificate-arn", &fake])
        .doc(&input)
        .run()
        .fails(2);
    assert!(line.contains("does not exist"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
    assert!(all_lbs(&emu).is_empty());

    // On a serving stack, a certificate still pending validation changes nothing.
    let doc = up(&emu, &input, &[]);
    let pending = request_certificate(&emu, "portal.example.com");
    let mark = emu.mark();
    let line = emu
        .tool("alb-up")
        .args(["--certificate-arn", &pending])
        .doc(&doc)
        .run()
        .fails(2);
    assert!(line.contains("PENDING_VALIDATION"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
    let lb_arn = doc["alb"]["arn"].as_str().unwrap();
    let ls = listeners(&emu, lb_arn);
    assert_eq!(ls.len(), 1);
    assert_eq!(
        forwards_to(&ls[0]).as_deref(),
        doc["alb"]["target_group_arn"].as_str()
    );
}

#[test]
fn https_comes_before_the_redirect_and_goes_after_it() {
    let emu = Emulator::start();
    let doc = up(&emu, &core_doc(&emu), &[]);
    let lb_arn = doc["alb"]["arn"].as_str().unwrap().to_owned();
    let tg_arn = doc["alb"]["target_group_arn"].as_str().unwrap().to_owned();
    let cert = import_certificate(&emu, "portal.example.com");

    // AWS refuses the 443 listener: port 80 keeps forwarding, the site stays up.
    emu.inject(&[Fault::error(
        "elasticloadbalancing",
        "CreateListener",
        "UnsupportedCertificate",
        "The certificate must have a fully-qualified domain name",
    )]);
    emu.tool("alb-up")
        .args(["--certificate-arn", &cert])
        .doc(&doc)
        .run()
        .fails(1);
    let ls = listeners(&emu, &lb_arn);
    assert_eq!(ls.len(), 1);
    assert_eq!(forwards_to(&ls[0]).as_deref(), Some(tg_arn.as_str()));

    // Then it works: 443 is made before 80 turns into a redirect.
    let mark = emu.mark();
    let https = emu
        .tool("alb-up")
        .args(["--certificate-arn", &cert])
        .doc(&doc)
        .run()
        .ok();
    let created = positions(&emu, mark, "CreateListener");
    let modified = positions(&emu, mark, "ModifyListener");
    assert_eq!((created.len(), modified.len()), (1, 1));
    assert!(
        created[0] < modified[0],
        "443 first: {created:?} {modified:?}"
    );

    // Back to plain HTTP: 80 forwards again before 443 goes.
    let mark = emu.mark();
    emu.tool("alb-up")
        .args(["--reset", "certificate-arn"])
        .doc(&https)
        .run()
        .ok();
    let modified = positions(&emu, mark, "ModifyListener");
    let deleted = positions(&emu, mark, "DeleteListener");
    assert_eq!((modified.len(), deleted.len()), (1, 1));
    assert!(modified[0] < deleted[0], "{modified:?} {deleted:?}");
    let ls = listeners(&emu, &lb_arn);
    assert_eq!(ls.len(), 1);
    assert_eq!(forwards_to(&ls[0]).as_deref(), Some(tg_arn.as_str()));
}

#[test]
fn duplicate_answers_to_retried_creates_count_as_success() {
    let emu = Emulator::start();
    // Each create is applied, and the answer that comes back is AWS's "duplicate" (what the
    // SDK's retry of a create whose first answer was lost is told).
    let dup = |action: &str, code: &str| {
        Fault::error("elasticloadbalancing", action, code, "already exists").forwarded()
    };
    emu.inject(&[
        dup("CreateLoadBalancer", "DuplicateLoadBalancerName"),
        dup("CreateTargetGroup", "DuplicateTargetGroupName"),
        dup("CreateListener", "DuplicateListener"),
    ]);
    let doc = up(&emu, &core_doc(&emu), &[]);
    assert_eq!(all_lbs(&emu).len(), 1);
    let lb = lb_by_name(&emu, APP);
    assert_eq!(doc["alb"]["arn"], lb.load_balancer_arn().unwrap());
    let tgs = emu
        .block_on(elb(&emu).describe_target_groups().send())
        .unwrap();
    assert_eq!(tgs.target_groups().len(), 1);
    assert_eq!(
        doc["alb"]["target_group_arn"],
        tgs.target_groups()[0].target_group_arn().unwrap()
    );
    let ls = listeners(&emu, lb.load_balancer_arn().unwrap());
    assert_eq!(ls.len(), 1);
    assert_eq!(doc["alb"]["listener_arns"], json!([ls[0].listener_arn()]));
    assert_eq!(
        lb_attr(
            &emu,
            lb.load_balancer_arn().unwrap(),
            "routing.http.drop_invalid_header_fields.enabled"
        )
        .as_deref(),
        Some("true")
    );
    let mark = emu.mark();
    emu.tool("alb-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_refuses_while_a_service_uses_the_target_group_unless_forced() {
    let emu = Emulator::start();
    let doc = up(&emu, &core_doc(&emu), &[]);
    let tg_arn = doc["alb"]["target_group_arn"].as_str().unwrap().to_owned();
    let target = |ip: &str| {
        elbv2::types::TargetDescription::builder()
            .id(ip)
            .port(7007)
            .build()
    };

    // A task registered with the target group.
    emu.block_on(
        elb(&emu)
            .register_targets()
            .target_group_arn(&tg_arn)
            .targets(target("10.0.10.5"))
            .send(),
    )
    .unwrap();
    let mark = emu.mark();
    let line = emu.tool("alb-up").arg("--destroy").doc(&doc).run().fails(2);
    assert!(
        line.contains("1 registered target")
            && line.contains("10.0.10.5")
            && line.contains("--force"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
    emu.block_on(
        elb(&emu)
            .deregister_targets()
            .target_group_arn(&tg_arn)
            .targets(target("10.0.10.5"))
            .send(),
    )
    .unwrap();

    // An ECS service whose load balancers name the target group (no tasks).
    let cluster = doc["core"]["cluster_name"].as_str().unwrap();
    service_on_target_group(&emu, cluster, "backstage", &tg_arn);
    let mark = emu.mark();
    let line = emu.tool("alb-up").arg("--destroy").doc(&doc).run().fails(2);
    assert!(
        line.contains("ECS service backstage in cluster core-infra"),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(all_lbs(&emu).len(), 1, "nothing was deleted");

    // Without the core section, every cluster is looked at.
    let mut without_core = doc.clone();
    without_core.as_object_mut().unwrap().remove("core");
    let line = emu
        .tool("alb-up")
        .arg("--destroy")
        .doc(&without_core)
        .run()
        .fails(2);
    assert!(line.contains("ECS service backstage"), "{line}");

    // --force overrides.
    emu.tool("alb-up")
        .args(["--destroy", "--force"])
        .doc(&doc)
        .run()
        .ok();
    assert!(all_lbs(&emu).is_empty());
}

#[test]
fn destroy_needs_only_the_identity_resumes_and_is_a_no_op_when_gone() {
    let emu = Emulator::start();
    let doc = up(&emu, &core_doc(&emu), &[]);
    let sg_id = doc["alb"]["security_group_id"].as_str().unwrap().to_owned();
    // A destroy that stopped half way: the load balancer went, the rest did not.
    let lb_arn = doc["alb"]["arn"].as_str().unwrap();
    for l in listeners(&emu, lb_arn) {
        emu.block_on(
            elb(&emu)
                .delete_listener()
                .listener_arn(l.listener_arn().unwrap())
                .send(),
        )
        .unwrap();
    }
    emu.block_on(
        elb(&emu)
            .delete_load_balancer()
            .load_balancer_arn(lb_arn)
            .send(),
    )
    .unwrap();

    // Only the identity: no alb section, no core section.
    let identity =
        json!({"version": 1, "app": APP, "region": testkit::REGION, "account": testkit::ACCOUNT});
    emu.tool("alb-up")
        .arg("--destroy")
        .doc(&identity)
        .run()
        .ok();
    let tgs = emu
        .block_on(elb(&emu).describe_target_groups().send())
        .unwrap();
    assert!(tgs.target_groups().is_empty());
    assert!(
        emu.block_on(
            ec2c(&emu)
                .describe_security_groups()
                .group_ids(&sg_id)
                .send()
        )
        .is_err(),
        "the security group is gone"
    );

    let mark = emu.mark();
    let out = emu.tool("alb-up").arg("--destroy").doc(&identity).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(out.stderr.contains("nothing to delete"), "{}", out.stderr);
}

#[test]
fn a_48_character_app_gets_valid_names() {
    let emu = Emulator::start();
    let app = "a-very-long-backstage-application-name-for-tests";
    assert_eq!(app.len(), 48);
    let doc = emu
        .tool("alb-up")
        .args(["--app", app])
        .doc(&core_doc(&emu))
        .run()
        .ok();
    for key in ["name", "target_group_name"] {
        let name = doc["alb"][key].as_str().unwrap();
        assert!(
            name.len() <= 32
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !name.starts_with('-')
                && !name.ends_with('-')
                && !name.starts_with("internal-"),
            "{name}"
        );
    }
    assert_eq!(
        lb_by_name(&emu, doc["alb"]["name"].as_str().unwrap()).load_balancer_arn(),
        doc["alb"]["arn"].as_str()
    );
    let mark = emu.mark();
    emu.tool("alb-up").doc(&doc).run().ok();
    emu.calls_since(mark).assert_no_mutations();
    emu.tool("alb-up").arg("--destroy").doc(&doc).run().ok();
    assert!(all_lbs(&emu).is_empty());
}

#[test]
fn bad_document_values_are_refused_before_any_write() {
    let emu = Emulator::start();
    let input = core_doc(&emu);
    let mut zero_port = up(&emu, &input, &[]);
    zero_port["alb"]["container_port"] = json!(0);
    let mut zero_setting = zero_port.clone();
    zero_setting["alb"]["container_port"] = json!(7007);
    zero_setting["alb"]["settings"]["container-port"] = json!("0");
    let mut one_zone = input.clone();
    let az = one_zone["core"]["public_subnets"][0]["az"].clone();
    for s in one_zone["core"]["public_subnets"].as_array_mut().unwrap() {
        s["az"] = az.clone();
    }
    for (doc, expect) in [
        (&zero_port, "alb.container_port"),
        (&zero_setting, "alb.settings"),
        (&one_zone, "at least two"),
    ] {
        let mark = emu.mark();
        let line = emu.tool("alb-up").doc(doc).run().fails(2);
        assert!(line.contains(expect), "{line}");
        emu.calls_since(mark).assert_no_mutations();
    }
}

#[test]
fn the_emulator_acts_like_aws_for_duplicate_names_and_groups_in_use() {
    let emu = Emulator::start();
    let doc = up(&emu, &core_doc(&emu), &[]);
    let lb = lb_by_name(&emu, APP);
    let subnets: Vec<String> = lb
        .availability_zones()
        .iter()
        .map(|z| z.subnet_id().unwrap().to_owned())
        .collect();
    let sg_id = doc["alb"]["security_group_id"].as_str().unwrap();
    // Same name and settings: AWS returns the existing load balancer.
    let same = emu
        .block_on(
            elb(&emu)
                .create_load_balancer()
                .name(APP)
                .set_subnets(Some(subnets.clone()))
                .security_groups(sg_id)
                .send(),
        )
        .unwrap();
    assert_eq!(
        same.load_balancers()[0].load_balancer_arn(),
        lb.load_balancer_arn()
    );
    // Same name, other settings: DuplicateLoadBalancerName.
    let err = emu
        .block_on(
            elb(&emu)
                .create_load_balancer()
                .name(APP)
                .set_subnets(Some(subnets[..2].to_vec()))
                .security_groups(sg_id)
                .send(),
        )
        .unwrap_err();
    assert_eq!(
        testkit::elbv2::error::ProvideErrorMetadata::code(&err),
        Some("DuplicateLoadBalancerName")
    );
    assert_eq!(all_lbs(&emu).len(), 1);
    // The group is in use by the load balancer.
    let err = emu
        .block_on(ec2c(&emu).delete_security_group().group_id(sg_id).send())
        .unwrap_err();
    assert_eq!(
        testkit::ec2::error::ProvideErrorMetadata::code(&err),
        Some("DependencyViolation")
    );
}
