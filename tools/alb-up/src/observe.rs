//! Read-only calls: the load balancer, target group and security group, found by their
//! deterministic names, side by side (each one's details in a second round, also side by
//! side); and the certificate, when a listener would take it on.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::operation::describe_load_balancer_attributes::DescribeLoadBalancerAttributesOutput;
use aws_sdk_elasticloadbalancingv2::operation::describe_target_group_attributes::DescribeTargetGroupAttributesOutput;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener, LoadBalancer, TargetGroup,
};
use kit::{AwsContext, Cx, PLANNED, Result};
use security_groups::Group;
use stackdoc::Core;

use crate::Args;
use crate::diff::{DefaultAction, HealthCheck};
use crate::names::Names;

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
#[derive(Debug, Clone, PartialEq, Eq)]
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

/// An ACM certificate's status ("ISSUED"), None when ACM does not know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertNow {
    pub arn: String,
    pub status: Option<String>,
}

/// Everything alb-up looks at.
#[derive(Debug, Clone)]
pub struct Observed {
    pub core: Core,
    /// The core section is a plan: nothing downstream of it exists yet.
    pub core_planned: bool,
    pub lb: Option<LbNow>,
    pub tg: Option<TgNow>,
    pub sg: Option<Group>,
    /// Read only when a listener would take on a certificate it does not have yet.
    pub certificate: Option<CertNow>,
}

pub async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
    let core: Core = cx.upstream()?;
    let names = Names::for_app(&cx.app);
    if core.vpc_id == PLANNED {
        // Nothing of ours can exist yet, but the certificate can be checked now: up.sh's plan
        // of a fresh stack is the last moment before the first write of the chain.
        let certificate = match args.certificate_arn.as_deref() {
            Some(arn) if is_acm(arn) => Some(certificate(cx, arn).await?),
            _ => None,
        };
        return Ok(Observed {
            core,
            core_planned: true,
            lb: None,
            tg: None,
            sg: None,
            certificate,
        });
    }
    let elb = Client::new(&cx.sdk);
    let ec2 = aws_sdk_ec2::Client::new(&cx.sdk);
    let sg_names = [names.sg.as_str()];
    let ((lb, tg), mut groups) = futures::try_join!(
        both(&elb, &names.lb, &names.tg),
        security_groups::find(&ec2, &core.vpc_id, &sg_names),
    )?;
    let on_443 = lb
        .as_ref()
        .and_then(|l| l.listeners.iter().find(|l| l.port == 443))
        .and_then(|l| l.certificate.as_deref());
    let certificate = match args.certificate_arn.as_deref() {
        Some(arn) if on_443 != Some(arn) && is_acm(arn) => Some(certificate(cx, arn).await?),
        _ => None,
    };
    Ok(Observed {
        sg: groups.remove(&names.sg),
        core,
        core_planned: false,
        lb,
        tg,
        certificate,
    })
}

pub fn is_acm(arn: &str) -> bool {
    arn.split(':').nth(2) == Some("acm")
}

/// An ACM certificate's status (one DescribeCertificate).
async fn certificate(cx: &Cx, arn: &str) -> Result<CertNow> {
    let acm = aws_sdk_acm::Client::new(&cx.sdk);
    let found = acm
        .describe_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .found(format!(
            "reading certificate {arn} (ACM DescribeCertificate)"
        ))?;
    Ok(CertNow {
        arn: arn.to_owned(),
        status: found.map(|out| {
            out.certificate()
                .and_then(|c| c.status())
                .map_or_else(|| "UNKNOWN".to_owned(), |s| s.as_str().to_owned())
        }),
    })
}

/// The load balancer and the target group, with their details: both described first, then
/// their attributes, the listeners and the tags of both (one DescribeTags), side by side.
pub async fn both(
    client: &Client,
    lb_name: &str,
    tg_name: &str,
) -> Result<(Option<LbNow>, Option<TgNow>)> {
    let (lb, tg) = futures::try_join!(describe_lb(client, lb_name), describe_tg(client, tg_name))?;
    let lb_arn = lb.as_ref().and_then(|l| l.load_balancer_arn());
    let tg_arn = tg.as_ref().and_then(|t| t.target_group_arn());
    let arns: Vec<&str> = lb_arn.into_iter().chain(tg_arn).collect();
    let (lb_details, tg_attrs, mut tags) = futures::try_join!(
        async {
            match lb_arn {
                Some(arn) => lb_details(client, arn, lb_name).await.map(Some),
                None => Ok(None),
            }
        },
        async {
            match tg_arn {
                Some(arn) => tg_attributes(client, arn, tg_name).await.map(Some),
                None => Ok(None),
            }
        },
        tags_of(client, &arns, "the load balancer and target group"),
    )?;
    let lb = lb.zip(lb_details).map(|(lb, (attrs, listeners))| {
        let tags = tags.remove(lb.load_balancer_arn().unwrap_or_default());
        lb_now(&lb, attrs, listeners, tags.unwrap_or_default())
    });
    let tg = tg.zip(tg_attrs).map(|(tg, attrs)| {
        let tags = tags.remove(tg.target_group_arn().unwrap_or_default());
        tg_now(&tg, attrs, tags.unwrap_or_default())
    });
    Ok((lb, tg))
}

/// The load balancer named `name` as DescribeLoadBalancers gives it; None if absent.
async fn describe_lb(client: &Client, name: &str) -> Result<Option<LoadBalancer>> {
    let Some(found) = client
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .found(format!("describing load balancer {name}"))?
    else {
        return Ok(None);
    };
    Ok(found
        .load_balancers()
        .iter()
        .find(|l| l.load_balancer_name() == Some(name))
        .cloned())
}

/// A load balancer's attributes and listeners.
async fn lb_details(
    client: &Client,
    arn: &str,
    name: &str,
) -> Result<(DescribeLoadBalancerAttributesOutput, Vec<ListenerNow>)> {
    futures::try_join!(
        async {
            client
                .describe_load_balancer_attributes()
                .load_balancer_arn(arn)
                .send()
                .await
                .ctx(format!("reading the attributes of load balancer {name}"))
        },
        listeners_of(client, arn, name),
    )
}

/// The load balancer named `name`, with its attributes, listeners and tags; None if absent.
pub async fn load_balancer(client: &Client, name: &str) -> Result<Option<LbNow>> {
    let Some(lb) = describe_lb(client, name).await? else {
        return Ok(None);
    };
    let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
    let arns = [arn.as_str()];
    let ((attrs, listeners), mut tags) =
        futures::try_join!(lb_details(client, &arn, name), tags_of(client, &arns, name),)?;
    Ok(Some(lb_now(
        &lb,
        attrs,
        listeners,
        tags.remove(&arn).unwrap_or_default(),
    )))
}

fn lb_now(
    lb: &LoadBalancer,
    attrs: DescribeLoadBalancerAttributesOutput,
    listeners: Vec<ListenerNow>,
    tags: BTreeMap<String, String>,
) -> LbNow {
    let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
    LbNow {
        dns_name: lb.dns_name().unwrap_or_default().to_owned(),
        hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_owned(),
        state: lb
            .state()
            .and_then(|s| s.code())
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        scheme: lb
            .scheme()
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        lb_type: lb
            .r#type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        vpc_id: lb.vpc_id().unwrap_or_default().to_owned(),
        subnets: lb
            .availability_zones()
            .iter()
            .filter_map(|z| z.subnet_id().map(str::to_owned))
            .collect(),
        security_groups: lb.security_groups().iter().cloned().collect(),
        attrs: attrs
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_owned(), a.value()?.to_owned())))
            .collect(),
        tags,
        listeners,
        arn,
    }
}

/// The listeners of a load balancer.
pub async fn listeners_of(client: &Client, arn: &str, name: &str) -> Result<Vec<ListenerNow>> {
    let out = client
        .describe_listeners()
        .load_balancer_arn(arn)
        .send()
        .await
        .ctx(format!("describing the listeners of load balancer {name}"))?;
    Ok(out.listeners().iter().map(listener_of).collect())
}

/// The target group named `name` as DescribeTargetGroups gives it; None if absent.
async fn describe_tg(client: &Client, name: &str) -> Result<Option<TargetGroup>> {
    let Some(found) = client
        .describe_target_groups()
        .names(name)
        .send()
        .await
        .found(format!("describing target group {name}"))?
    else {
        return Ok(None);
    };
    Ok(found
        .target_groups()
        .iter()
        .find(|t| t.target_group_name() == Some(name))
        .cloned())
}

async fn tg_attributes(
    client: &Client,
    arn: &str,
    name: &str,
) -> Result<DescribeTargetGroupAttributesOutput> {
    client
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .ctx(format!("reading the attributes of target group {name}"))
}

/// The target group named `name`, with its attributes and tags; None if absent.
pub async fn target_group(client: &Client, name: &str) -> Result<Option<TgNow>> {
    let Some(tg) = describe_tg(client, name).await? else {
        return Ok(None);
    };
    let arn = tg.target_group_arn().unwrap_or_default().to_owned();
    let arns = [arn.as_str()];
    let (attrs, mut tags) = futures::try_join!(
        tg_attributes(client, &arn, name),
        tags_of(client, &arns, name),
    )?;
    Ok(Some(tg_now(
        &tg,
        attrs,
        tags.remove(&arn).unwrap_or_default(),
    )))
}

fn tg_now(
    tg: &TargetGroup,
    attrs: DescribeTargetGroupAttributesOutput,
    tags: BTreeMap<String, String>,
) -> TgNow {
    let arn = tg.target_group_arn().unwrap_or_default().to_owned();
    TgNow {
        protocol: tg
            .protocol()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        port: tg.port().unwrap_or_default(),
        target_type: tg
            .target_type()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        vpc_id: tg.vpc_id().unwrap_or_default().to_owned(),
        health_check: HealthCheck {
            protocol: tg
                .health_check_protocol()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            port: tg.health_check_port().unwrap_or_default().to_owned(),
            enabled: tg.health_check_enabled().unwrap_or(true),
            path: tg.health_check_path().unwrap_or_default().to_owned(),
            matcher: tg
                .matcher()
                .and_then(|m| m.http_code())
                .unwrap_or_default()
                .to_owned(),
            healthy: tg.healthy_threshold_count().unwrap_or_default(),
            unhealthy: tg.unhealthy_threshold_count().unwrap_or_default(),
            interval: tg.health_check_interval_seconds().unwrap_or_default(),
            timeout: tg.health_check_timeout_seconds().unwrap_or_default(),
        },
        attrs: attrs
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_owned(), a.value()?.to_owned())))
            .collect(),
        tags,
        arn,
    }
}

/// The tags of each of `arns` (one DescribeTags takes up to 20), by ARN; no call for none.
async fn tags_of(
    client: &Client,
    arns: &[&str],
    name: &str,
) -> Result<BTreeMap<String, BTreeMap<String, String>>> {
    if arns.is_empty() {
        return Ok(BTreeMap::new());
    }
    let out = client
        .describe_tags()
        .set_resource_arns(Some(arns.iter().map(|a| (*a).to_owned()).collect()))
        .send()
        .await
        .ctx(format!("reading the tags of {name}"))?;
    Ok(out
        .tag_descriptions()
        .iter()
        .map(|d| {
            let tags = d
                .tags()
                .iter()
                .filter_map(|t| {
                    Some((
                        t.key()?.to_owned(),
                        t.value().unwrap_or_default().to_owned(),
                    ))
                })
                .collect();
            (d.resource_arn().unwrap_or_default().to_owned(), tags)
        })
        .collect())
}

pub fn listener_of(l: &Listener) -> ListenerNow {
    ListenerNow {
        arn: l.listener_arn().unwrap_or_default().to_owned(),
        port: l.port().and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        protocol: l
            .protocol()
            .map(|p| p.as_str().to_owned())
            .unwrap_or_default(),
        ssl_policy: l.ssl_policy().map(str::to_owned),
        certificate: l
            .certificates()
            .first()
            .and_then(|c| c.certificate_arn())
            .map(str::to_owned),
        action: action_of(l.default_actions()),
    }
}

/// The default actions reduced to what alb-up compares.
pub fn action_of(actions: &[Action]) -> DefaultAction {
    let [action] = actions else {
        let kinds: Vec<&str> = actions
            .iter()
            .filter_map(|a| a.r#type().map(ActionTypeEnum::as_str))
            .collect();
        return DefaultAction::Other(format!("actions [{}]", kinds.join(", ")));
    };
    match action.r#type() {
        Some(ActionTypeEnum::Forward) => {
            let mut arns: BTreeSet<&str> = action.target_group_arn().into_iter().collect();
            if let Some(cfg) = action.forward_config() {
                arns.extend(
                    cfg.target_groups()
                        .iter()
                        .filter_map(|t| t.target_group_arn()),
                );
            }
            match arns.into_iter().collect::<Vec<_>>()[..] {
                [one] => DefaultAction::Forward(Some(one.to_owned())),
                _ => DefaultAction::Other("forward to several target groups".into()),
            }
        }
        Some(ActionTypeEnum::Redirect) => {
            let Some(r) = action.redirect_config() else {
                return DefaultAction::Other("redirect".into());
            };
            let is = |v: Option<&str>, default: &str| v.unwrap_or(default) == default;
            let https = r.protocol() == Some("HTTPS")
                && r.port() == Some("443")
                && is(r.host(), "#{host}")
                && is(r.path(), "/#{path}")
                && is(r.query(), "#{query}")
                && r.status_code().map(|c| c.as_str()) == Some("HTTP_301");
            if https {
                DefaultAction::RedirectHttps
            } else {
                DefaultAction::Other(format!(
                    "redirect {} to {}:{}",
                    r.status_code().map(|c| c.as_str()).unwrap_or("?"),
                    r.protocol().unwrap_or("#{protocol}"),
                    r.port().unwrap_or("#{port}")
                ))
            }
        }
        Some(other) => DefaultAction::Other(other.as_str().to_owned()),
        None => DefaultAction::Other("(none)".into()),
    }
}
