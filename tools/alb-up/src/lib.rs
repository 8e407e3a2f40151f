//! alb-up: the internet-facing Application Load Balancer in the public subnets, its security
//! group (80, and 443 with a certificate, in; only the container port to the private subnets
//! out), the target group (HTTP on the container port, target type ip, the seed's health
//! check) and the listeners (80 forwarding, or with `--certificate-arn` 443 HTTPS forwarding
//! and 80 redirecting to it).
//!
//! Every check that needs no write runs first: flags, the document's own section and the core
//! section (two availability zones), the certificate's existence and status. `--destroy`
//! refuses while a service is registered with the target group, unless `--force`.

mod apply;
mod destroy;
pub mod diff;
pub mod names;
pub mod observe;

use std::collections::BTreeMap;

use kit::{Cx, Error, Plan, Result, Step};
use stackdoc::{Alb, Core, Doc};

use crate::diff::{Op, Want};
use crate::observe::Observed;

pub struct AlbUp;

/// AWS's recommended TLS 1.3 policy (TLS 1.3 and 1.2, no legacy ciphers).
pub const DEFAULT_SSL_POLICY: &str = "ELBSecurityPolicy-TLS13-1-2-2021-06";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Port the container serves on (the target group's port and the only egress port)
    #[arg(long, default_value_t = 7007, value_parser = clap::value_parser!(u16).range(1..), help_heading = kit::SETTINGS)]
    pub container_port: u16,
    /// Admit HTTP(S) only from this IPv4 CIDR (repeatable; default: 0.0.0.0/0)
    #[arg(long, value_name = "CIDR", value_parser = parse_cidr, help_heading = kit::SETTINGS)]
    pub allow_cidr: Vec<String>,
    /// ACM certificate for a 443 HTTPS listener; port 80 then redirects to 443
    #[arg(long, value_name = "ARN", help_heading = kit::SETTINGS)]
    pub certificate_arn: Option<String>,
    /// TLS policy of the HTTPS listener (default: ELBSecurityPolicy-TLS13-1-2-2021-06; used
    /// only with a certificate)
    #[arg(long, value_name = "POLICY", help_heading = kit::SETTINGS)]
    pub ssl_policy: Option<String>,
    /// Turn on deletion protection (--destroy then refuses until it is off)
    #[arg(long, overrides_with = "no_deletion_protection", help_heading = kit::SETTINGS)]
    pub deletion_protection: bool,
    /// Turn deletion protection off
    #[arg(long, overrides_with = "deletion_protection", help_heading = kit::SETTINGS)]
    pub no_deletion_protection: bool,
    /// Health-check path
    #[arg(long, default_value = "/", value_name = "PATH", help_heading = kit::SETTINGS)]
    pub health_check_path: String,
    /// HTTP codes a healthy target answers with (e.g. 200-299, or 200,302)
    #[arg(long, default_value = "200-299", value_name = "CODES", help_heading = kit::SETTINGS)]
    pub health_check_matcher: String,
    /// Consecutive successes before a target is healthy
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u8).range(2..=10), help_heading = kit::SETTINGS)]
    pub healthy_threshold: u8,
    /// Consecutive failures before a target is unhealthy
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u8).range(2..=10), help_heading = kit::SETTINGS)]
    pub unhealthy_threshold: u8,
    /// Seconds between health checks
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u16).range(5..=300), help_heading = kit::SETTINGS)]
    pub health_check_interval: u16,
    /// Seconds a health check may take (less than the interval)
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u16).range(2..=120), help_heading = kit::SETTINGS)]
    pub health_check_timeout: u16,
    /// Seconds a deregistering target keeps its connections
    #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u32).range(0..=3600), help_heading = kit::SETTINGS)]
    pub deregistration_delay: u32,
    /// With --destroy: delete even while a service is registered with the target group (the
    /// service loses its load balancer)
    #[arg(long)]
    pub force: bool,
}

impl Args {
    pub fn ssl_policy(&self) -> String {
        self.ssl_policy
            .clone()
            .unwrap_or_else(|| DEFAULT_SSL_POLICY.to_owned())
    }
}

/// An IPv4 network in CIDR notation, with no host bits set.
fn parse_cidr(text: &str) -> std::result::Result<String, String> {
    let net: ipnet::Ipv4Net = text
        .parse()
        .map_err(|_| format!("'{text}' is not an IPv4 CIDR; write it as e.g. 203.0.113.0/24"))?;
    if net.trunc() != net {
        return Err(format!(
            "'{text}' has host bits set; did you mean {}?",
            net.trunc()
        ));
    }
    Ok(net.to_string())
}

/// `arn:<partition>:acm:<region>:<account>:certificate/<id>` or an IAM server certificate.
fn check_certificate_arn(arn: &str, doc_region: Option<&str>) -> Result<()> {
    let bad = |why: &str| {
        Error::usage(format!(
            "--certificate-arn {arn} {why}; give an ACM certificate ARN such as arn:aws:acm:us-east-1:123456789012:certificate/0d1e2f..."
        ))
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return Err(bad("is not an ARN"));
    };
    if prefix != "arn" || !partition.starts_with("aws") {
        return Err(bad("is not an ARN"));
    }
    if account.len() != 12 || !account.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad("has no 12-digit account id"));
    }
    match service {
        "acm" => {
            if !resource.starts_with("certificate/") || resource.len() <= "certificate/".len() {
                return Err(bad("does not name a certificate"));
            }
            if let Some(doc_region) = doc_region
                && region != doc_region
            {
                return Err(Error::usage(format!(
                    "--certificate-arn is in {region}, but the stack is in {doc_region}; a load balancer needs an ACM certificate in its own region"
                )));
            }
        }
        "iam" if resource.starts_with("server-certificate/") => {}
        _ => return Err(bad("is not an ACM or IAM server certificate")),
    }
    Ok(())
}

/// "200", "200-299", "200,202": codes from 200 to 499.
fn check_matcher(codes: &str) -> bool {
    let code_ok =
        |c: &str| c.len() == 3 && c.parse::<u16>().is_ok_and(|n| (200..=499).contains(&n));
    !codes.is_empty()
        && codes.split(',').all(|part| match part.split_once('-') {
            Some((lo, hi)) => code_ok(lo) && code_ok(hi) && lo < hi,
            None => code_ok(part),
        })
}

fn owns_fn(cx: &Cx) -> impl Fn(&BTreeMap<String, String>) -> bool + '_ {
    |tags| cx.owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

impl Step for AlbUp {
    const TOOL: &'static str = "alb-up";
    const ABOUT: &'static str = "Create (or update) the internet-facing ALB, its security group, target group and listeners";
    type Args = Args;
    type Section = Alb;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, doc: &Doc) -> Result<()> {
        check_own_section(doc)?;
        if args.health_check_timeout >= args.health_check_interval {
            return Err(Error::usage(format!(
                "--health-check-timeout {} must be less than --health-check-interval {}",
                args.health_check_timeout, args.health_check_interval
            )));
        }
        let path = &args.health_check_path;
        if !path.starts_with('/')
            || path.len() > 1024
            || path.chars().any(|c| c.is_whitespace() || c.is_control())
        {
            return Err(Error::usage(format!(
                "--health-check-path '{path}' must start with / and be at most 1024 characters without spaces"
            )));
        }
        if !check_matcher(&args.health_check_matcher) {
            return Err(Error::usage(format!(
                "--health-check-matcher '{}' is not a list of HTTP codes from 200 to 499; use e.g. 200-299 or 200,302",
                args.health_check_matcher
            )));
        }
        if let Some(arn) = &args.certificate_arn {
            check_certificate_arn(arn, doc.region())?;
        }
        if let Some(policy) = &args.ssl_policy
            && (!policy.starts_with("ELBSecurityPolicy-") || policy.contains(char::is_whitespace))
        {
            return Err(Error::usage(format!(
                "--ssl-policy '{policy}' is not an ELB security policy; use e.g. {DEFAULT_SSL_POLICY}"
            )));
        }
        Ok(())
    }

    /// An up or plan run needs the core section; `--destroy` finds everything by name and
    /// tags, so it needs only the identity.
    fn check_inputs(_args: &Args, doc: &Doc) -> Result<()> {
        doc.require::<Core>()?;
        Ok(())
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        observe::observe(cx, args).await
    }

    fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
        let want = Want::new(&cx.app, args, &now.core);
        diff::diff(&want, now, &owns_fn(cx))
    }

    fn planned(cx: &Cx, args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Alb> {
        Ok(diff::planned(&Want::new(&cx.app, args, &now.core), now))
    }

    async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Alb> {
        let want = Want::new(&cx.app, args, &now.core);
        let done = apply::apply(cx, &want, now, plan).await?;
        Ok(Alb {
            name: want.names.lb.clone(),
            arn: done.lb_arn,
            url: diff::url(&want, &done.dns_name),
            dns_name: done.dns_name,
            hosted_zone_id: done.hosted_zone_id,
            security_group_id: done.sg_id,
            target_group_name: want.names.tg.clone(),
            target_group_arn: done.tg_arn,
            listener_arns: done.listener_arns,
            container_port: args.container_port,
        })
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        destroy::destroy(cx, args).await
    }
}

/// The values of the document's own section that later steps read (svc-up takes the
/// container port from it): a bad one is refused, not carried on.
fn check_own_section(doc: &Doc) -> Result<()> {
    let Some(alb) = doc.raw_section("alb").filter(|v| !v.is_null()) else {
        return Ok(());
    };
    if let Some(port) = alb.get("container_port") {
        let ok = port.as_u64().is_some_and(|p| (1..=65535).contains(&p));
        if !ok {
            return Err(Error::usage(format!(
                "alb.container_port in the document is {port}, not a port from 1 to 65535; fix the document (or remove the alb section and rerun alb-up)"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cidrs() {
        assert_eq!(parse_cidr("203.0.113.0/24").unwrap(), "203.0.113.0/24");
        assert!(
            parse_cidr("10.0.0.5/24")
                .unwrap_err()
                .contains("10.0.0.0/24")
        );
        assert!(parse_cidr("300.0.0.0/8").is_err());
        assert!(parse_cidr("::/0").is_err());
        assert!(parse_cidr("10.0.0.0").is_err());
    }

    #[test]
    fn matchers() {
        for ok in ["200", "200-299", "200,302", "200-299,404"] {
            assert!(check_matcher(ok), "{ok}");
        }
        for bad in ["", "2xx", "100", "299-200", "200-", "600"] {
            assert!(!check_matcher(bad), "{bad}");
        }
    }

    #[test]
    fn certificate_arns() {
        let good = "arn:aws:acm:us-east-1:123456789012:certificate/abc-123";
        assert!(check_certificate_arn(good, Some("us-east-1")).is_ok());
        assert!(check_certificate_arn(good, Some("eu-west-1")).is_err());
        assert!(
            check_certificate_arn("arn:aws:iam::123456789012:server-certificate/x", None).is_ok()
        );
        for bad in [
            "not-an-arn",
            "arn:aws:acm:us-east-1:123:certificate/x",
            "arn:aws:s3:::bucket",
            "arn:aws:acm:us-east-1:123456789012:certificate/",
        ] {
            assert!(check_certificate_arn(bad, None).is_err(), "{bad}");
        }
    }
}
