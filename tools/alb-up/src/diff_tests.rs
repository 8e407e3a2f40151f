//! The drift rules of [`super::diff`], without AWS: what exists is built from what is wanted,
//! then changed one field at a time.

use std::collections::BTreeMap;

use clap::Parser;
use kit::{Action, PLANNED};
use security_groups::Group;
use stackdoc::{Core, Subnet};

use super::*;
use crate::observe::{CertNow, LbNow, ListenerNow, Observed, TgNow};

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: Args,
}

fn args(flags: &[&str]) -> Args {
    Cli::parse_from(std::iter::once("alb-up").chain(flags.iter().copied())).args
}

const CERT: &str = "arn:aws:acm:us-west-2:123456789012:certificate/abc";

fn core(azs: &[&str]) -> Core {
    let subnet = |id: String, cidr: String, az: &str| Subnet {
        id,
        cidr,
        az: az.to_owned(),
    };
    Core {
        name: "core-infra".into(),
        created: true,
        vpc_id: "vpc-1".into(),
        vpc_cidr: "10.0.0.0/16".into(),
        public_subnets: azs
            .iter()
            .enumerate()
            .map(|(i, az)| subnet(format!("subnet-pub{i}"), format!("10.0.{i}.0/24"), az))
            .collect(),
        private_subnets: azs
            .iter()
            .enumerate()
            .map(|(i, az)| subnet(format!("subnet-priv{i}"), format!("10.0.1{i}.0/24"), az))
            .collect(),
        cluster_name: "core-infra".into(),
        cluster_arn: "arn:aws:ecs:us-west-2:123456789012:cluster/core-infra".into(),
        namespace_id: "ns-1".into(),
        namespace_name: "default.core-infra.local".into(),
        namespace_arn: "arn:ns".into(),
    }
}

fn ours() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("stagehand:app".to_owned(), "unicorn-ui".to_owned()),
        ("stagehand:step".to_owned(), "alb".to_owned()),
    ])
}

fn owns(tags: &BTreeMap<String, String>) -> bool {
    *tags == ours()
}

/// What exists when a previous run with these flags finished.
fn existing(want: &Want, core: Core) -> Observed {
    let tg_arn = "arn:aws:elasticloadbalancing:us-west-2:123456789012:targetgroup/tg/1";
    let listeners = want
        .listeners(Some(tg_arn))
        .into_iter()
        .map(|w| ListenerNow {
            arn: format!("arn:listener/{}", w.port),
            port: w.port,
            protocol: w.protocol,
            ssl_policy: w.ssl_policy,
            certificate: w.certificate,
            action: w.action,
        })
        .collect();
    Observed {
        lb: Some(LbNow {
            arn: "arn:lb".into(),
            dns_name: "lb.example".into(),
            hosted_zone_id: "Z1".into(),
            state: "active".into(),
            scheme: "internet-facing".into(),
            lb_type: "application".into(),
            vpc_id: want.vpc_id.clone(),
            subnets: want.subnets.clone(),
            security_groups: ["sg-1".to_owned()].into(),
            attrs: want.lb_attrs.clone(),
            tags: ours(),
            listeners,
        }),
        tg: Some(TgNow {
            arn: tg_arn.into(),
            protocol: "HTTP".into(),
            port: want.port.into(),
            target_type: "ip".into(),
            vpc_id: want.vpc_id.clone(),
            health_check: want.health_check.clone(),
            attrs: BTreeMap::from([(
                ATTR_DEREGISTRATION_DELAY.to_owned(),
                want.deregistration_delay.to_string(),
            )]),
            tags: ours(),
        }),
        sg: Some(Group {
            id: "sg-1".into(),
            name: want.names.sg.clone(),
            ingress: want.rules.ingress.clone(),
            egress: want.rules.egress.clone(),
            tags: ours(),
        }),
        core,
        core_planned: false,
        certificate: None,
    }
}

fn want(flags: &[&str]) -> Want {
    Want::new("unicorn-ui", &args(flags), &core(&["a", "b", "c"]))
}

/// (resource, action word, changed field names) of each change.
fn summary(plan: &Plan<Op>) -> Vec<(String, &'static str, Vec<String>)> {
    plan.changes
        .iter()
        .map(|c| {
            let fields = match &c.action {
                Action::Update(f) => f.iter().map(|f| f.name.clone()).collect(),
                _ => Vec::new(),
            };
            (c.resource.clone(), c.action.word(), fields)
        })
        .collect()
}

fn changed(plan: &Plan<Op>) -> Vec<(String, &'static str, Vec<String>)> {
    summary(plan)
        .into_iter()
        .filter(|(_, word, _)| *word != "unchanged")
        .collect()
}

#[test]
fn a_rerun_with_what_exists_changes_nothing() {
    for flags in [
        &[][..],
        &["--certificate-arn", CERT],
        &["--allow-cidr", "203.0.113.0/24", "--deletion-protection"],
        &["--container-port", "3000", "--deregistration-delay", "30"],
    ] {
        let w = want(flags);
        let now = existing(&w, core(&["a", "b", "c"]));
        let plan = diff(&w, &now, &owns).unwrap();
        assert!(!plan.has_work(), "{flags:?}: {:?}", changed(&plan));
        let section = planned(&w, &now);
        assert!(!section.arn.contains(PLANNED));
        assert_eq!(section.listener_arns.len(), w.listeners(None).len());
    }
}

#[test]
fn a_fresh_account_creates_everything() {
    let w = want(&[]);
    let mut now = existing(&w, core(&["a", "b"]));
    now.lb = None;
    now.tg = None;
    now.sg = None;
    let plan = diff(&w, &now, &owns).unwrap();
    let words: Vec<_> = summary(&plan).into_iter().map(|(r, w, _)| (r, w)).collect();
    assert_eq!(
        words,
        [
            ("security group unicorn-ui-alb".to_owned(), "create"),
            ("target group unicorn-ui-tg".to_owned(), "create"),
            ("load balancer unicorn-ui".to_owned(), "create"),
            ("listener unicorn-ui:80".to_owned(), "create"),
        ]
    );
    let section = planned(&w, &now);
    assert_eq!(section.arn, PLANNED);
    assert_eq!(section.url, format!("http://{PLANNED}"));
}

#[test]
fn each_drift_is_one_update_naming_its_field() {
    type Drift = fn(&mut Observed);
    let cases: [(&str, Drift, &str, &str); 8] = [
        (
            "health check path",
            |o| o.tg.as_mut().unwrap().health_check.path = "/old".into(),
            "target group unicorn-ui-tg",
            "health_check_path",
        ),
        (
            "deregistration delay",
            |o| {
                o.tg.as_mut()
                    .unwrap()
                    .attrs
                    .insert(ATTR_DEREGISTRATION_DELAY.into(), "10".into());
            },
            "target group unicorn-ui-tg",
            "deregistration_delay",
        ),
        (
            "deletion protection",
            |o| {
                o.lb.as_mut()
                    .unwrap()
                    .attrs
                    .insert(ATTR_DELETION_PROTECTION.into(), "true".into());
            },
            "load balancer unicorn-ui",
            ATTR_DELETION_PROTECTION,
        ),
        (
            "subnets",
            |o| {
                o.lb.as_mut().unwrap().subnets.remove("subnet-pub0");
            },
            "load balancer unicorn-ui",
            "subnets",
        ),
        (
            "security groups",
            |o| o.lb.as_mut().unwrap().security_groups = ["sg-9".to_owned()].into(),
            "load balancer unicorn-ui",
            "security_groups",
        ),
        (
            "an extra ingress rule",
            |o| {
                o.sg.as_mut()
                    .unwrap()
                    .ingress
                    .insert(Rule::tcp(22, Peer::Cidr("0.0.0.0/0".into())));
            },
            "security group unicorn-ui-alb",
            "ingress -tcp 22 0.0.0.0/0",
        ),
        (
            "the listener's action",
            |o| {
                o.lb.as_mut().unwrap().listeners[0].action =
                    DefaultAction::Other("fixed-response".into())
            },
            "listener unicorn-ui:80",
            "default_action",
        ),
        (
            "the listener's protocol",
            |o| o.lb.as_mut().unwrap().listeners[0].protocol = "HTTPS".into(),
            "listener unicorn-ui:80",
            "protocol",
        ),
    ];
    for (what, drift, resource, field_name) in cases {
        let w = want(&[]);
        let mut now = existing(&w, core(&["a", "b", "c"]));
        drift(&mut now);
        let plan = diff(&w, &now, &owns).unwrap();
        let got = changed(&plan);
        assert_eq!(got.len(), 1, "{what}: {got:?}");
        assert_eq!(got[0].0, resource, "{what}");
        assert_eq!(got[0].1, "update", "{what}");
        assert!(
            got[0].2.iter().any(|f| f.starts_with(field_name)),
            "{what}: {:?}",
            got[0].2
        );
    }
}

#[test]
fn adding_a_certificate_adds_443_and_redirects_80_and_removing_it_goes_back() {
    let plain = want(&[]);
    let https = want(&["--certificate-arn", CERT]);
    let mut now = existing(&plain, core(&["a", "b"]));
    now.certificate = Some(CertNow {
        arn: CERT.into(),
        status: Some("ISSUED".into()),
    });
    let got = changed(&diff(&https, &now, &owns).unwrap());
    let words: Vec<_> = got.iter().map(|(r, w, _)| (r.as_str(), *w)).collect();
    assert_eq!(
        words,
        [
            ("security group unicorn-ui-alb", "update"),
            ("listener unicorn-ui:80", "update"),
            ("listener unicorn-ui:443", "create"),
        ]
    );

    let back = existing(&https, core(&["a", "b"]));
    let got = changed(&diff(&plain, &back, &owns).unwrap());
    let words: Vec<_> = got.iter().map(|(r, w, _)| (r.as_str(), *w)).collect();
    assert_eq!(
        words,
        [
            ("security group unicorn-ui-alb", "update"),
            ("listener unicorn-ui:80", "update"),
            ("listener unicorn-ui:443", "delete"),
        ]
    );
}

#[test]
fn a_certificate_that_is_missing_or_not_issued_is_refused() {
    let w = want(&["--certificate-arn", CERT]);
    for (status, expect) in [
        (None, "does not exist"),
        (Some("PENDING_VALIDATION"), "PENDING_VALIDATION, not ISSUED"),
        (Some("EXPIRED"), "EXPIRED"),
    ] {
        let mut now = existing(&want(&[]), core(&["a", "b"]));
        now.certificate = Some(CertNow {
            arn: CERT.into(),
            status: status.map(str::to_owned),
        });
        let e = diff(&w, &now, &owns).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains(expect), "{}", e.message);
    }
}

#[test]
fn the_core_must_span_two_zones_and_have_real_cidrs() {
    let w = want(&[]);
    let now = existing(&w, core(&["a"]));
    let e = diff(&w, &now, &owns).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message.contains("at least two"), "{}", e.message);
    let mut c = core(&["a", "b"]);
    c.private_subnets[0].cidr = "not-a-cidr".into();
    assert!(check_core(&c).unwrap_err().message.contains("not-a-cidr"));
    // A planned core is not checked (its subnets are placeholders).
    let mut planned_core = existing(&w, core(&["a"]));
    planned_core.core_planned = true;
    assert!(diff(&w, &planned_core, &owns).is_ok());
}

#[test]
fn resources_of_others_are_refused_and_fixed_properties_are_not_changed() {
    let w = want(&[]);
    let mut now = existing(&w, core(&["a", "b"]));
    now.lb.as_mut().unwrap().tags =
        BTreeMap::from([("stagehand:app".to_owned(), "other".to_owned())]);
    let e = diff(&w, &now, &owns).unwrap_err();
    assert!(e.message.contains("app other"), "{}", e.message);

    let mut now = existing(&w, core(&["a", "b"]));
    now.tg.as_mut().unwrap().port = 8080;
    let e = diff(&w, &now, &owns).unwrap_err();
    assert!(e.message.contains("cannot be changed"), "{}", e.message);
}
