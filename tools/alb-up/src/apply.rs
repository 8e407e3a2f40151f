//! Carry out a plan: the security group and the target group concurrently, the load balancer
//! as soon as its group exists, the listeners as soon as the load balancer's ARN does (443
//! before 80 redirects to it, and 80 forwarding again before 443 goes); then wait for the
//! load balancer to become active.
//!
//! A create whose answer was lost is retried by the SDK; AWS then answers with the resource
//! (an identical load balancer or target group) or with "duplicate", which counts as success
//! when what exists is this app's.

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Certificate, IpAddressType, LoadBalancerAttribute,
    LoadBalancerSchemeEnum, LoadBalancerStateEnum, LoadBalancerTypeEnum, Matcher, ProtocolEnum,
    RedirectActionConfig, RedirectActionStatusCodeEnum, Tag, TargetGroupAttribute, TargetTypeEnum,
};
use kit::plan::Change;
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Plan, Result};

use crate::diff::{ATTR_DEREGISTRATION_DELAY, ListenerWant, Op, Want, listener_changes};
use crate::observe::{self, LbNow, Observed, TgNow};

/// What apply leaves behind, for the section.
pub struct Applied {
    pub sg_id: String,
    pub tg_arn: String,
    pub lb_arn: String,
    pub dns_name: String,
    pub hosted_zone_id: String,
    pub listener_arns: Vec<String>,
}

/// A new target group's deregistration delay, as AWS documents it.
const AWS_DEFAULT_DEREGISTRATION_DELAY: u32 = 300;

fn tags(cx: &Cx) -> Vec<Tag> {
    cx.tags()
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub async fn apply(cx: &Cx, want: &Want, now: Observed, plan: Plan<Op>) -> Result<Applied> {
    let elb = Client::new(&cx.sdk);
    let ec2 = aws_sdk_ec2::Client::new(&cx.sdk);
    let op_of = |kind: &str| -> Op {
        plan.changes
            .iter()
            .find(|c| c.resource.starts_with(kind))
            .map_or(Op::Keep, |c: &Change<Op>| c.op.clone())
    };
    let (sg_op, tg_op, lb_op) = (
        op_of("security group"),
        op_of("target group"),
        op_of("load balancer"),
    );

    // The group, then the load balancer (its rules are set while the load balancer is made).
    let sg_then_lb = async {
        let group = match (&sg_op, &now.sg) {
            (Op::SgCreate, _) | (_, None) => {
                security_groups::create(
                    cx,
                    &ec2,
                    &want.vpc_id,
                    &want.names.sg,
                    &format!("alb-up: load balancer {} (stagehand)", want.names.lb),
                )
                .await?
            }
            (_, Some(g)) => g.clone(),
        };
        let rules = security_groups::reconcile(&ec2, &group, &want.rules);
        let lb = ensure_lb(cx, &elb, want, &lb_op, now.lb.as_ref(), &group.id);
        let ((), lb) = futures::try_join!(rules, lb)?;
        Ok::<_, Error>((group.id, lb))
    };
    let tg = ensure_tg(cx, &elb, want, &tg_op, now.tg.as_ref());
    let ((sg_id, lb), tg_arn) = futures::try_join!(sg_then_lb, tg)?;

    // Listeners, as soon as the load balancer and the target group exist. HTTPS first: port
    // 80 redirects to 443 only once 443 exists. Deletes last: 80 forwards again before 443
    // goes. A failure stops the sequence, so the site keeps serving as it did.
    let existing = now.lb.as_ref().map_or(&[][..], |l| &l.listeners[..]);
    let mut changed = Vec::new();
    for port in [443, 80] {
        for c in &plan.changes {
            let done = match &c.op {
                Op::ListenerCreate(w) if w.port == port => {
                    listener(cx, &elb, &lb.arn, &tg_arn, w, None).await?
                }
                Op::ListenerModify(arn, w) if w.port == port => {
                    listener(cx, &elb, &lb.arn, &tg_arn, w, Some(arn)).await?
                }
                _ => continue,
            };
            changed.push(done);
        }
    }
    for c in &plan.changes {
        if let Op::ListenerDelete(arn) = &c.op {
            let deleted = elb
                .delete_listener()
                .listener_arn(arn)
                .send()
                .await
                .deleted(format!("deleting listener {arn}"))?;
            if deleted {
                kit::info!("deleted listener {arn}");
            }
        }
    }
    let mut listener_arns = Vec::new();
    for w in want.listeners(Some(&tg_arn)) {
        let arn = changed
            .iter()
            .find(|(port, _)| *port == w.port)
            .map(|(_, arn)| arn.clone())
            .or_else(|| {
                existing
                    .iter()
                    .find(|l| l.port == w.port)
                    .map(|l| l.arn.clone())
            })
            .unwrap_or_default();
        listener_arns.push(arn);
    }

    if lb.state != "active" && !cx.no_wait() {
        wait_active(cx, &elb, &want.names.lb, &lb.arn).await?;
    } else if lb.state != "active" {
        kit::info!(
            "load balancer {} is {}; not waiting (--no-wait)",
            want.names.lb,
            lb.state
        );
    }
    Ok(Applied {
        sg_id,
        tg_arn,
        lb_arn: lb.arn,
        dns_name: lb.dns_name,
        hosted_zone_id: lb.hosted_zone_id,
        listener_arns,
    })
}

/// The load balancer's identity after ensure.
struct LbDone {
    arn: String,
    dns_name: String,
    hosted_zone_id: String,
    state: String,
}

async fn ensure_lb(
    cx: &Cx,
    elb: &Client,
    want: &Want,
    op: &Op,
    now: Option<&LbNow>,
    sg_id: &str,
) -> Result<LbDone> {
    let name = &want.names.lb;
    let attrs_of = |keys: &mut dyn Iterator<Item = (&String, &String)>| {
        keys.map(|(k, v)| LoadBalancerAttribute::builder().key(k).value(v).build())
            .collect::<Vec<_>>()
    };
    match (op, now) {
        (Op::LbCreate, _) | (_, None) => {
            let out = elb
                .create_load_balancer()
                .name(name)
                .r#type(LoadBalancerTypeEnum::Application)
                .scheme(LoadBalancerSchemeEnum::InternetFacing)
                .ip_address_type(IpAddressType::Ipv4)
                .set_subnets(Some(want.subnets.iter().cloned().collect()))
                .security_groups(sg_id)
                .set_tags(Some(tags(cx)))
                .send()
                .await
                .created(format!("creating load balancer {name}"))?;
            let Some(out) = out else {
                // DuplicateLoadBalancerName: a retried create whose first answer was lost.
                let lb = ours(cx, observe::load_balancer(elb, name).await?, name, |l| {
                    &l.tags
                })?;
                kit::info!("load balancer {name} exists already (this app's); kept");
                // The lost answer may have stopped the run before the attributes were set.
                let differ: Vec<_> = want
                    .lb_attrs
                    .iter()
                    .filter(|(k, v)| lb.attrs.get(*k) != Some(*v))
                    .collect();
                if !differ.is_empty() {
                    elb.modify_load_balancer_attributes()
                        .load_balancer_arn(&lb.arn)
                        .set_attributes(Some(attrs_of(&mut differ.into_iter())))
                        .send()
                        .await
                        .ctx(format!("setting the attributes of load balancer {name}"))?;
                }
                return Ok(LbDone {
                    arn: lb.arn,
                    dns_name: lb.dns_name,
                    hosted_zone_id: lb.hosted_zone_id,
                    state: lb.state,
                });
            };
            let lb = out.load_balancers().first().ok_or_else(|| {
                Error::aws(format!(
                    "creating load balancer {name}: AWS returned no load balancer"
                ))
            })?;
            let arn = lb.load_balancer_arn().unwrap_or_default().to_owned();
            kit::info!("created load balancer {name}");
            // CreateLoadBalancer takes no attributes; AWS's defaults differ from ours
            // (invalid header fields are kept).
            elb.modify_load_balancer_attributes()
                .load_balancer_arn(&arn)
                .set_attributes(Some(attrs_of(&mut want.lb_attrs.iter())))
                .send()
                .await
                .ctx(format!("setting the attributes of load balancer {name}"))?;
            Ok(LbDone {
                dns_name: lb.dns_name().unwrap_or_default().to_owned(),
                hosted_zone_id: lb.canonical_hosted_zone_id().unwrap_or_default().to_owned(),
                state: lb
                    .state()
                    .and_then(|s| s.code())
                    .map_or("provisioning".to_owned(), |c| c.as_str().to_owned()),
                arn,
            })
        }
        (op, Some(lb)) => {
            if let Op::LbUpdate {
                attrs,
                subnets,
                groups,
            } = op
            {
                let changed = want
                    .lb_attrs
                    .iter()
                    .filter(|(k, v)| lb.attrs.get(*k).map_or("false", String::as_str) != *v);
                let set_attrs = async {
                    if *attrs {
                        elb.modify_load_balancer_attributes()
                            .load_balancer_arn(&lb.arn)
                            .set_attributes(Some(attrs_of(&mut changed.clone())))
                            .send()
                            .await
                            .ctx(format!("setting the attributes of load balancer {name}"))?;
                    }
                    Ok::<_, Error>(())
                };
                let set_subnets = async {
                    if *subnets {
                        elb.set_subnets()
                            .load_balancer_arn(&lb.arn)
                            .set_subnets(Some(want.subnets.iter().cloned().collect()))
                            .send()
                            .await
                            .ctx(format!("setting the subnets of load balancer {name}"))?;
                    }
                    Ok(())
                };
                let set_groups = async {
                    if *groups {
                        elb.set_security_groups()
                            .load_balancer_arn(&lb.arn)
                            .security_groups(sg_id)
                            .send()
                            .await
                            .ctx(format!(
                                "setting the security group of load balancer {name}"
                            ))?;
                    }
                    Ok(())
                };
                futures::try_join!(set_attrs, set_subnets, set_groups)?;
                kit::info!("updated load balancer {name}");
            }
            Ok(LbDone {
                arn: lb.arn.clone(),
                dns_name: lb.dns_name.clone(),
                hosted_zone_id: lb.hosted_zone_id.clone(),
                state: lb.state.clone(),
            })
        }
    }
}

async fn ensure_tg(
    cx: &Cx,
    elb: &Client,
    want: &Want,
    op: &Op,
    now: Option<&TgNow>,
) -> Result<String> {
    let name = &want.names.tg;
    let hc = &want.health_check;
    let delay = || {
        TargetGroupAttribute::builder()
            .key(ATTR_DEREGISTRATION_DELAY)
            .value(want.deregistration_delay.to_string())
            .build()
    };
    match (op, now) {
        (Op::TgCreate, _) | (_, None) => {
            let out = elb
                .create_target_group()
                .name(name)
                .protocol(ProtocolEnum::Http)
                .port(want.port.into())
                .vpc_id(&want.vpc_id)
                .target_type(TargetTypeEnum::Ip)
                .health_check_enabled(true)
                .health_check_protocol(ProtocolEnum::Http)
                .health_check_port("traffic-port")
                .health_check_path(&hc.path)
                .matcher(Matcher::builder().http_code(&hc.matcher).build())
                .healthy_threshold_count(hc.healthy)
                .unhealthy_threshold_count(hc.unhealthy)
                .health_check_interval_seconds(hc.interval)
                .health_check_timeout_seconds(hc.timeout)
                .set_tags(Some(tags(cx)))
                .send()
                .await
                .created(format!("creating target group {name}"))?;
            let Some(out) = out else {
                // DuplicateTargetGroupName: a retried create whose first answer was lost
                // (AWS returns an identical group; a differing one is fixed by the next run).
                let tg = ours(cx, observe::target_group(elb, name).await?, name, |t| {
                    &t.tags
                })?;
                kit::info!("target group {name} exists already (this app's); kept");
                let delay_now = tg.attrs.get(ATTR_DEREGISTRATION_DELAY).map(String::as_str);
                if delay_now != Some(want.deregistration_delay.to_string().as_str()) {
                    elb.modify_target_group_attributes()
                        .target_group_arn(&tg.arn)
                        .attributes(delay())
                        .send()
                        .await
                        .ctx(format!(
                            "setting the deregistration delay of target group {name}"
                        ))?;
                }
                return Ok(tg.arn);
            };
            let arn = out
                .target_groups()
                .first()
                .and_then(|t| t.target_group_arn())
                .unwrap_or_default()
                .to_owned();
            kit::info!("created target group {name}");
            if want.deregistration_delay == AWS_DEFAULT_DEREGISTRATION_DELAY {
                return Ok(arn);
            }
            elb.modify_target_group_attributes()
                .target_group_arn(&arn)
                .attributes(delay())
                .send()
                .await
                .ctx(format!(
                    "setting the deregistration delay of target group {name}"
                ))?;
            Ok(arn)
        }
        (op, Some(tg)) => {
            if let Op::TgUpdate {
                health_check,
                attrs,
            } = op
            {
                let modify = async {
                    if *health_check {
                        elb.modify_target_group()
                            .target_group_arn(&tg.arn)
                            .health_check_enabled(true)
                            .health_check_protocol(ProtocolEnum::Http)
                            .health_check_port("traffic-port")
                            .health_check_path(&hc.path)
                            .matcher(Matcher::builder().http_code(&hc.matcher).build())
                            .healthy_threshold_count(hc.healthy)
                            .unhealthy_threshold_count(hc.unhealthy)
                            .health_check_interval_seconds(hc.interval)
                            .health_check_timeout_seconds(hc.timeout)
                            .send()
                            .await
                            .ctx(format!("updating the health check of target group {name}"))?;
                    }
                    Ok::<_, Error>(())
                };
                let set_attrs = async {
                    if *attrs {
                        elb.modify_target_group_attributes()
                            .target_group_arn(&tg.arn)
                            .attributes(delay())
                            .send()
                            .await
                            .ctx(format!(
                                "setting the deregistration delay of target group {name}"
                            ))?;
                    }
                    Ok(())
                };
                futures::try_join!(modify, set_attrs)?;
                kit::info!("updated target group {name}");
            }
            Ok(tg.arn.clone())
        }
    }
}

fn action(w: &ListenerWant, tg_arn: &str) -> Action {
    match w.action {
        crate::diff::DefaultAction::RedirectHttps => Action::builder()
            .r#type(ActionTypeEnum::Redirect)
            .redirect_config(
                RedirectActionConfig::builder()
                    .protocol("HTTPS")
                    .port("443")
                    .host("#{host}")
                    .path("/#{path}")
                    .query("#{query}")
                    .status_code(RedirectActionStatusCodeEnum::Http301)
                    .build(),
            )
            .build(),
        _ => Action::builder()
            .r#type(ActionTypeEnum::Forward)
            .target_group_arn(tg_arn)
            .build(),
    }
}

/// Create (or, with `arn`, modify) one listener; returns its port and ARN.
async fn listener(
    cx: &Cx,
    elb: &Client,
    lb_arn: &str,
    tg_arn: &str,
    w: &ListenerWant,
    arn: Option<&String>,
) -> Result<(u16, String)> {
    let protocol = ProtocolEnum::from(w.protocol.as_str());
    let certificates = w
        .certificate
        .as_ref()
        .map(|c| vec![Certificate::builder().certificate_arn(c).build()]);
    match arn {
        None => {
            let out = elb
                .create_listener()
                .load_balancer_arn(lb_arn)
                .port(w.port.into())
                .protocol(protocol)
                .set_ssl_policy(w.ssl_policy.clone())
                .set_certificates(certificates)
                .default_actions(action(w, tg_arn))
                .set_tags(Some(tags(cx)))
                .send()
                .await
                .created(format!(
                    "creating the {} listener on port {}",
                    w.protocol, w.port
                ))?;
            let Some(out) = out else {
                // DuplicateListener: a retried create whose first answer was lost. The one on
                // the port is taken as it is when it is right, else set right.
                let found = observe::listeners_of(elb, lb_arn, lb_arn).await?;
                let l = found.into_iter().find(|l| l.port == w.port).ok_or_else(|| {
                    Error::aws(format!(
                        "creating the listener on port {}: AWS says it exists, but the load balancer has none on that port",
                        w.port
                    ))
                })?;
                let mut want = w.clone();
                want.action = crate::diff::DefaultAction::Forward(Some(tg_arn.to_owned()));
                if w.action == crate::diff::DefaultAction::RedirectHttps {
                    want.action = w.action.clone();
                }
                if listener_changes(&l, &want).is_empty() {
                    kit::info!("listener {} {} exists already; kept", w.protocol, w.port);
                    return Ok((w.port, l.arn));
                }
                return Box::pin(listener(cx, elb, lb_arn, tg_arn, w, Some(&l.arn))).await;
            };
            let arn = out
                .listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .unwrap_or_default()
                .to_owned();
            kit::info!("created listener {} {}", w.protocol, w.port);
            Ok((w.port, arn))
        }
        Some(arn) => {
            elb.modify_listener()
                .listener_arn(arn)
                .port(w.port.into())
                .protocol(protocol)
                .set_ssl_policy(w.ssl_policy.clone())
                .set_certificates(certificates)
                .default_actions(action(w, tg_arn))
                .send()
                .await
                .ctx(format!("updating the listener on port {}", w.port))?;
            kit::info!("updated listener {} {}", w.protocol, w.port);
            Ok((w.port, arn.clone()))
        }
    }
}

async fn wait_active(cx: &Cx, elb: &Client, name: &str, arn: &str) -> Result<()> {
    wait::until(cx, &format!("load balancer {name} to become active"), || async {
        let out = elb
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .ctx(format!("describing load balancer {name}"))?;
        let state = out.load_balancers().first().and_then(|l| l.state());
        match state.and_then(|s| s.code()) {
            Some(LoadBalancerStateEnum::Active) => Ok(Poll::Ready(())),
            Some(LoadBalancerStateEnum::Failed) => Err(Error::aws(format!(
                "load balancer {name} failed to provision: {}; run alb-up --destroy, then alb-up again",
                state.and_then(|s| s.reason()).unwrap_or("no reason given")
            ))),
            Some(other) => Ok(Poll::Pending(other.as_str().to_owned())),
            None => Ok(Poll::Pending("unknown".into())),
        }
    })
    .await
}

/// The resource found after a "duplicate" answer, when it is this app's.
fn ours<T>(
    cx: &Cx,
    found: Option<T>,
    name: &str,
    tags: impl Fn(&T) -> &std::collections::BTreeMap<String, String>,
) -> Result<T> {
    match found {
        Some(t) if cx.owns(tags(&t).iter().map(|(k, v)| (k.as_str(), v.as_str()))) => Ok(t),
        Some(_) => Err(Error::usage(format!(
            "{name} was created meanwhile by someone else (it lacks this app's stagehand tags); delete or rename it, or choose another --app"
        ))),
        None => Err(Error::aws(format!(
            "AWS says {name} exists, but it cannot be found; rerun alb-up"
        ))),
    }
}
