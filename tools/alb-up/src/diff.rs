//! What should exist (from the flags and the `core` section), and the pure diff between that
//! and what observe found: per resource create / update (fields) / delete / unchanged, and the
//! section a plan leads to. Every refusal that needs no write is made here, before apply.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kit::{Error, PLANNED, Plan, Result, field};
use security_groups::{Peer, Rule, Rules};
use stackdoc::{Alb, Core};

use crate::Args;
use crate::names::Names;
use crate::observe::{ListenerNow, Observed};

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

/// The fields of a listener that differ from what it should be (empty: it is right).
pub fn listener_changes(l: &ListenerNow, w: &ListenerWant) -> Vec<kit::Field> {
    let mut fields = Vec::new();
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
    fields
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
    /// (certificate ARN, TLS policy) of the 443 listener.
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// The core section as alb-up needs it: an ALB needs subnets in at least two availability
/// zones, and the egress rules need the private subnets' CIDRs. Checked before any write.
/// <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#availability-zones>
pub fn check_core(core: &Core) -> Result<()> {
    let azs: BTreeSet<&str> = core.public_subnets.iter().map(|s| s.az.as_str()).collect();
    if azs.len() < 2 {
        return Err(Error::usage(format!(
            "the core section's public subnets span {} availability zone{} ({}), but a load balancer needs subnets in at least two; rerun core-up with --azs 2 or more",
            azs.len(),
            if azs.len() == 1 { "" } else { "s" },
            azs.into_iter().collect::<Vec<_>>().join(", ")
        )));
    }
    for s in core.subnets() {
        if s.cidr.parse::<ipnet::Ipv4Net>().is_err() {
            return Err(Error::usage(format!(
                "the core section's subnet {} has CIDR '{}', which is not an IPv4 network; rerun core-up to rewrite the section",
                s.id, s.cidr
            )));
        }
    }
    Ok(())
}

fn owned_or_refuse(
    owns: &dyn Fn(&BTreeMap<String, String>) -> bool,
    tags: &BTreeMap<String, String>,
    what: &str,
) -> Result<()> {
    if owns(tags) {
        return Ok(());
    }
    let other = tags.get(kit::TAG_APP).map_or_else(
        || "it lacks the stagehand tags".to_owned(),
        |app| format!("it belongs to app {app}"),
    );
    Err(Error::usage(format!(
        "{what} exists but was not created by alb-up for this app ({other}); delete or rename it, or choose another --app"
    )))
}

/// The plan: per resource create / update (fields) / delete / unchanged. Pure.
pub fn diff(
    want: &Want,
    now: &Observed,
    owns: &dyn Fn(&BTreeMap<String, String>) -> bool,
) -> Result<Plan<Op>> {
    if !now.core_planned {
        check_core(&now.core)?;
    }
    // A certificate the new listener would take on must exist and be issued: otherwise the
    // site would go down with 80 redirecting to a 443 that cannot be made.
    if let Some(cert) = &now.certificate {
        match cert.status.as_deref() {
            Some("ISSUED") => {}
            None => {
                return Err(Error::usage(format!(
                    "certificate {} does not exist in ACM (in this account and region); request or import it, or pass another --certificate-arn",
                    cert.arn
                )));
            }
            Some(status) => {
                return Err(Error::usage(format!(
                    "certificate {} is {status}, not ISSUED; a listener needs an issued certificate: complete its validation (or renew it) and rerun",
                    cert.arn
                )));
            }
        }
    }
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
    for w in &want.listeners(tg_arn) {
        let res = format!("listener {}:{}", n.lb, w.port);
        match existing.iter().find(|l| l.port == w.port) {
            None => plan.create(res, Op::ListenerCreate(w.clone())),
            Some(l) => {
                let fields = listener_changes(l, w);
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

/// The section a `--plan` run writes: real identifiers where resources exist, [`PLANNED`]
/// where apply would create them.
pub fn planned(want: &Want, now: &Observed) -> Alb {
    let planned = || PLANNED.to_owned();
    let tg_arn = now.tg.as_ref().map(|t| t.arn.clone());
    let listener_arns = want
        .listeners(tg_arn.as_deref())
        .iter()
        .map(|w| {
            now.lb
                .as_ref()
                .and_then(|lb| lb.listeners.iter().find(|l| l.port == w.port))
                .map_or_else(planned, |l| l.arn.clone())
        })
        .collect();
    let dns_name = now.lb.as_ref().map_or_else(planned, |l| l.dns_name.clone());
    Alb {
        name: want.names.lb.clone(),
        arn: now.lb.as_ref().map_or_else(planned, |l| l.arn.clone()),
        hosted_zone_id: now
            .lb
            .as_ref()
            .map_or_else(planned, |l| l.hosted_zone_id.clone()),
        security_group_id: now.sg.as_ref().map_or_else(planned, |g| g.id.clone()),
        target_group_name: want.names.tg.clone(),
        target_group_arn: tg_arn.unwrap_or_else(planned),
        listener_arns,
        container_port: want.port,
        url: url(want, &dns_name),
        dns_name,
    }
}

pub fn url(want: &Want, dns_name: &str) -> String {
    let scheme = if want.https.is_some() {
        "https"
    } else {
        "http"
    };
    format!("{scheme}://{dns_name}")
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

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
