//! What should exist (from the flags and the `core` section), what does (as observed), and
//! the pure diff between them.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kit::{Error, Plan, Result, field};
use security_groups::{Group, Peer, Rule, Rules};
use stackdoc::Core;

use crate::Args;
use crate::names::Names;

pub const ATTR_DELETION_PROTECTION: &str = "deletion_protection.enabled";
pub const ATTR_DROP_INVALID_HEADERS: &str = "routing.http.drop_invalid_header_fields.enabled";
pub const ATTR_DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";

/// The health check, as the target group should have it and as it has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheck {
    pub protocol: String,
    pub port: String,
    pub enabled: bool,
    pub path: String,
    pub matcher: String,
    pub healthy: i32,
    pub unhealthy: i32,
    pub interval: i32,
    pub timeout: i32,
}

impl HealthCheck {
    /// "name: old → new" for each part that differs.
    pub fn changes_from(&self, now: &HealthCheck) -> Vec<kit::Field> {
        let mut out = Vec::new();
        let mut cmp = |name: &str, old: &dyn fmt::Display, new: &dyn fmt::Display| {
            let (o, n) = (old.to_string(), new.to_string());
            if o != n {
                out.push(field(name, o, n));
            }
        };
        cmp("health_check_protocol", &now.protocol, &self.protocol);
        cmp("health_check_port", &now.port, &self.port);
        cmp("health_check_enabled", &now.enabled, &self.enabled);
        cmp("health_check_path", &now.path, &self.path);
        cmp("health_check_matcher", &now.matcher, &self.matcher);
        cmp("healthy_threshold", &now.healthy, &self.healthy);
        cmp("unhealthy_threshold", &now.unhealthy, &self.unhealthy);
        cmp("health_check_interval", &now.interval, &self.interval);
        cmp("health_check_timeout", &now.timeout, &self.timeout);
        out
    }
}

/// A listener's default action, reduced to what alb-up sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DefaultAction {
    /// Forward to one target group (None: the target group apply is about to create).
    Forward(Option<String>),
    /// 301 to HTTPS on 443, keeping host, path and query.
    RedirectHttps,
    /// Anything else, described.
    Other(String),
}

impl fmt::Display for DefaultAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DefaultAction::Forward(Some(arn)) => {
                let short = arn.rsplit(':').next().unwrap_or(arn);
                write!(f, "forward to {short}")
            }
            DefaultAction::Forward(None) => f.write_str("forward to the new target group"),
            DefaultAction::RedirectHttps => f.write_str("redirect 301 to HTTPS:443"),
            DefaultAction::Other(s) => f.write_str(s),
        }
    }
}

/// One listener as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerWant {
    pub port: u16,
    pub protocol: String,
    pub ssl_policy: Option<String>,
    pub certificate: Option<String>,
    pub action: DefaultAction,
}

/// One listener as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerNow {
    pub arn: String,
    pub port: u16,
    pub protocol: String,
    pub ssl_policy: Option<String>,
    pub certificate: Option<String>,
    pub action: DefaultAction,
}

/// The load balancer as found.
#[derive(Debug, Clone)]
pub struct LbNow {
    pub arn: String,
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub state: String,
    pub scheme: String,
    pub lb_type: String,
    pub vpc_id: String,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    pub attrs: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
    pub listeners: Vec<ListenerNow>,
}

/// The target group as found.
#[derive(Debug, Clone)]
pub struct TgNow {
    pub arn: String,
    pub protocol: String,
    pub port: i32,
    pub target_type: String,
    pub vpc_id: String,
    pub health_check: HealthCheck,
    pub attrs: BTreeMap<String, String>,
    pub tags: BTreeMap<String, String>,
}

/// Everything alb-up looks at.
#[derive(Debug)]
pub struct Observed {
    pub core: Core,
    /// The core section is a plan: nothing downstream of it exists yet.
    pub core_planned: bool,
    pub lb: Option<LbNow>,
    pub tg: Option<TgNow>,
    pub sg: Option<Group>,
}

/// Everything alb-up wants.
#[derive(Debug, Clone)]
pub struct Want {
    pub names: Names,
    pub vpc_id: String,
    pub subnets: BTreeSet<String>,
    pub rules: Rules,
    pub port: u16,
    pub health_check: HealthCheck,
    pub deregistration_delay: u32,
    pub lb_attrs: BTreeMap<String, String>,
    pub https: Option<(String, String)>,
}

impl Want {
    pub fn new(app: &str, args: &Args, core: &Core) -> Want {
        let https = args
            .certificate_arn
            .clone()
            .map(|cert| (cert, args.ssl_policy()));
        let sources: Vec<String> = if args.allow_cidr.is_empty() {
            vec!["0.0.0.0/0".into()]
        } else {
            args.allow_cidr.clone()
        };
        let mut ingress = BTreeSet::new();
        for cidr in &sources {
            ingress.insert(Rule::tcp(80, Peer::Cidr(cidr.clone())));
            if https.is_some() {
                ingress.insert(Rule::tcp(443, Peer::Cidr(cidr.clone())));
            }
        }
        let egress = core
            .private_subnets
            .iter()
            .map(|s| Rule::tcp(args.container_port, Peer::Cidr(s.cidr.clone())))
            .collect();
        Want {
            names: Names::for_app(app),
            vpc_id: core.vpc_id.clone(),
            subnets: core.public_subnets.iter().map(|s| s.id.clone()).collect(),
            rules: Rules { ingress, egress },
            port: args.container_port,
            health_check: HealthCheck {
                protocol: "HTTP".into(),
                port: "traffic-port".into(),
                enabled: true,
                path: args.health_check_path.clone(),
                matcher: args.health_check_matcher.clone(),
                healthy: args.healthy_threshold.into(),
                unhealthy: args.unhealthy_threshold.into(),
                interval: args.health_check_interval.into(),
                timeout: args.health_check_timeout.into(),
            },
            deregistration_delay: args.deregistration_delay,
            lb_attrs: BTreeMap::from([
                (
                    ATTR_DELETION_PROTECTION.to_owned(),
                    args.deletion_protection.to_string(),
                ),
                (ATTR_DROP_INVALID_HEADERS.to_owned(), "true".to_owned()),
            ]),
            https,
        }
    }

    /// The listeners that should exist, port 80 first.
    pub fn listeners(&self, tg_arn: Option<&str>) -> Vec<ListenerWant> {
        let forward = DefaultAction::Forward(tg_arn.map(str::to_owned));
        match &self.https {
            None => vec![ListenerWant {
                port: 80,
                protocol: "HTTP".into(),
                ssl_policy: None,
                certificate: None,
                action: forward,
            }],
            Some((cert, policy)) => vec![
                ListenerWant {
                    port: 80,
                    protocol: "HTTP".into(),
                    ssl_policy: None,
                    certificate: None,
                    action: DefaultAction::RedirectHttps,
                },
                ListenerWant {
                    port: 443,
                    protocol: "HTTPS".into(),
                    ssl_policy: Some(policy.clone()),
                    certificate: Some(cert.clone()),
                    action: forward,
                },
            ],
        }
    }
}

/// What apply does to one resource.
#[derive(Debug, Clone)]
pub enum Op {
    SgCreate,
    SgRules,
    TgCreate,
    TgUpdate {
        health_check: bool,
        attrs: bool,
    },
    LbCreate,
    LbUpdate {
        attrs: bool,
        subnets: bool,
        groups: bool,
    },
    ListenerCreate(ListenerWant),
    ListenerModify(String, ListenerWant),
    ListenerDelete(String),
    Keep,
}

fn owned_or_refuse(
    owns: &dyn Fn(&BTreeMap<String, String>) -> bool,
    tags: &BTreeMap<String, String>,
    what: &str,
) -> Result<()> {
    if owns(tags) {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "{what} exists but was not created by alb-up for this app (it lacks the stagehand tags); delete or rename it, or choose another --app"
        )))
    }
}

/// The plan: per resource create / update (fields) / delete / unchanged. Pure.
pub fn diff(
    want: &Want,
    now: &Observed,
    owns: &dyn Fn(&BTreeMap<String, String>) -> bool,
) -> Result<Plan<Op>> {
    let n = &want.names;
    let mut plan = Plan::new();

    // Security group.
    let sg_res = format!("security group {}", n.sg);
    match &now.sg {
        None => plan.create(sg_res, Op::SgCreate),
        Some(g) => {
            owned_or_refuse(owns, &g.tags, &format!("{sg_res} ({})", g.id))?;
            let changes = want.rules.changes_from(g);
            if changes.is_empty() {
                plan.unchanged(sg_res, Op::Keep);
            } else {
                plan.update(sg_res, changes, Op::SgRules);
            }
        }
    }

    // Target group.
    let tg_res = format!("target group {}", n.tg);
    match &now.tg {
        None => plan.create(tg_res, Op::TgCreate),
        Some(tg) => {
            owned_or_refuse(owns, &tg.tags, &tg_res)?;
            let fixed = [
                ("vpc", tg.vpc_id.clone(), want.vpc_id.clone()),
                ("protocol", tg.protocol.clone(), "HTTP".to_owned()),
                ("port", tg.port.to_string(), want.port.to_string()),
                ("target type", tg.target_type.clone(), "ip".to_owned()),
            ];
            for (what, have, should) in fixed {
                if have != should {
                    return Err(Error::usage(format!(
                        "{tg_res} has {what} {have}, but alb-up needs {should}, and a target group's {what} cannot be changed; run alb-up --destroy, then alb-up again"
                    )));
                }
            }
            let mut fields = want.health_check.changes_from(&tg.health_check);
            let hc = !fields.is_empty();
            let delay = tg
                .attrs
                .get(ATTR_DEREGISTRATION_DELAY)
                .cloned()
                .unwrap_or_default();
            let attrs = delay != want.deregistration_delay.to_string();
            if attrs {
                fields.push(field(
                    "deregistration_delay",
                    &delay,
                    want.deregistration_delay,
                ));
            }
            if fields.is_empty() {
                plan.unchanged(tg_res, Op::Keep);
            } else {
                plan.update(
                    tg_res,
                    fields,
                    Op::TgUpdate {
                        health_check: hc,
                        attrs,
                    },
                );
            }
        }
    }

    // Load balancer.
    let lb_res = format!("load balancer {}", n.lb);
    match &now.lb {
        None => plan.create(lb_res, Op::LbCreate),
        Some(lb) => {
            owned_or_refuse(owns, &lb.tags, &lb_res)?;
            if lb.vpc_id != want.vpc_id {
                return Err(Error::usage(format!(
                    "{lb_res} is in {}, not in the core VPC {}; run alb-up --destroy, then alb-up again",
                    lb.vpc_id, want.vpc_id
                )));
            }
            if lb.scheme != "internet-facing" || lb.lb_type != "application" {
                return Err(Error::usage(format!(
                    "{lb_res} is an {} {} load balancer, not an internet-facing application load balancer, and that cannot be changed; run alb-up --destroy, then alb-up again",
                    lb.scheme, lb.lb_type
                )));
            }
            let mut fields: Vec<kit::Field> = Vec::new();
            let mut attrs = false;
            for (key, value) in &want.lb_attrs {
                let have = lb.attrs.get(key).map_or("false", String::as_str);
                if have != value {
                    attrs = true;
                    fields.push(field(key, have, value));
                }
            }
            let subnets = lb.subnets != want.subnets;
            if subnets {
                fields.push(field("subnets", join(&lb.subnets), join(&want.subnets)));
            }
            let want_groups: BTreeSet<String> = now.sg.iter().map(|g| g.id.clone()).collect();
            let groups = now.sg.is_none() || lb.security_groups != want_groups;
            if groups {
                let new = now
                    .sg
                    .as_ref()
                    .map_or_else(|| format!("(new {})", n.sg), |g| g.id.clone());
                fields.push(field("security_groups", join(&lb.security_groups), new));
            }
            if fields.is_empty() {
                plan.unchanged(lb_res, Op::Keep);
            } else {
                plan.update(
                    lb_res,
                    fields,
                    Op::LbUpdate {
                        attrs,
                        subnets,
                        groups,
                    },
                );
            }
        }
    }

    // Listeners.
    let tg_arn = now.tg.as_ref().map(|t| t.arn.as_str());
    let existing: &[ListenerNow] = now.lb.as_ref().map_or(&[], |lb| &lb.listeners);
    let wanted = want.listeners(tg_arn);
    for w in &wanted {
        let res = format!("listener {}:{}", n.lb, w.port);
        match existing.iter().find(|l| l.port == w.port) {
            None => plan.create(res, Op::ListenerCreate(w.clone())),
            Some(l) => {
                let mut fields: Vec<kit::Field> = Vec::new();
                if l.protocol != w.protocol {
                    fields.push(field("protocol", &l.protocol, &w.protocol));
                }
                if l.ssl_policy != w.ssl_policy && w.ssl_policy.is_some() {
                    fields.push(field("ssl_policy", opt(&l.ssl_policy), opt(&w.ssl_policy)));
                }
                if l.certificate != w.certificate && w.certificate.is_some() {
                    fields.push(field(
                        "certificate",
                        opt(&l.certificate),
                        opt(&w.certificate),
                    ));
                }
                if l.action != w.action {
                    fields.push(field("default_action", &l.action, &w.action));
                }
                if fields.is_empty() {
                    plan.unchanged(res, Op::Keep);
                } else {
                    plan.update(res, fields, Op::ListenerModify(l.arn.clone(), w.clone()));
                }
            }
        }
    }
    // A 443 listener left from a run with --certificate-arn goes when the flag does.
    if want.https.is_none()
        && let Some(l) = existing.iter().find(|l| l.port == 443)
    {
        plan.delete(
            format!("listener {}:443", n.lb),
            Op::ListenerDelete(l.arn.clone()),
        );
    }
    Ok(plan)
}

fn join(set: &BTreeSet<String>) -> String {
    if set.is_empty() {
        "(none)".into()
    } else {
        set.iter().cloned().collect::<Vec<_>>().join(",")
    }
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("(none)")
}
