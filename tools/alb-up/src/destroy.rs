//! `--destroy`: listeners, the load balancer (waiting until it is gone), then the target group
//! and the security group. Everything is found by name and tags, so only the identity is
//! needed (no core section, not even this step's own), a rerun resumes where a failed one
//! stopped, and a stack already gone is a no-op.
//!
//! Refusals come before the first delete (exit 2, nothing changed): deletion protection on,
//! or a service still registered with the target group (unless `--force`).

use std::collections::BTreeMap;

use aws_sdk_elasticloadbalancingv2::Client;
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Result, ResultExt, TAG_APP};
use security_groups::Group;
use stackdoc::Core;

use crate::Args;
use crate::diff::ATTR_DELETION_PROTECTION;
use crate::names::Names;
use crate::observe::{self, LbNow, TgNow};

pub async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
    let names = Names::for_app(&cx.app);
    let elb = Client::new(&cx.sdk);
    let ec2 = aws_sdk_ec2::Client::new(&cx.sdk);
    let (lb, tg, groups) = futures::try_join!(
        observe::load_balancer(&elb, &names.lb),
        observe::target_group(&elb, &names.tg),
        groups_of(cx, &ec2, &names.sg),
    )?;
    let owns = |tags: &BTreeMap<String, String>| {
        cx.owns(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
    };
    let lb = lb.filter(|lb| {
        owns(&lb.tags) || {
            left_in_place("load balancer", &names.lb, &lb.tags, &cx.app);
            false
        }
    });
    let tg = tg.filter(|tg| {
        owns(&tg.tags) || {
            left_in_place("target group", &names.tg, &tg.tags, &cx.app);
            false
        }
    });
    if lb.is_none() && tg.is_none() && groups.is_empty() {
        kit::info!(
            "load balancer {}, target group {} and security group {}: not found, nothing to delete",
            names.lb,
            names.tg,
            names.sg
        );
        return Ok(());
    }

    // Refusals, before anything is deleted.
    if let Some(tg) = &tg
        && !args.force
    {
        let users = users_of(cx, &elb, tg).await?;
        guard(&names.tg, &users)?;
    }
    if let Some(lb) = &lb
        && lb
            .attrs
            .get(ATTR_DELETION_PROTECTION)
            .is_some_and(|v| v == "true")
    {
        return Err(Error::usage(format!(
            "load balancer {} has deletion protection on; turn it off by rerunning alb-up --no-deletion-protection (or: aws elbv2 modify-load-balancer-attributes --load-balancer-arn {} --attributes Key=deletion_protection.enabled,Value=false), then run alb-up --destroy again",
            names.lb, lb.arn
        )));
    }

    if let Some(lb) = &lb {
        delete_lb(cx, &elb, &names.lb, lb).await?;
    }
    let delete_tg = async {
        let Some(tg) = &tg else { return Ok(()) };
        let deleted = wait::retrying(
            cx,
            &format!("deleting target group {}", names.tg),
            kit::aws::is_dependency_violation,
            || elb.delete_target_group().target_group_arn(&tg.arn).send(),
        )
        .await
        .deleted()?;
        if deleted {
            kit::info!("deleted target group {}", names.tg);
        }
        Ok::<_, Error>(())
    };
    let delete_sg = security_groups::delete_owned(cx, &ec2, &groups);
    futures::try_join!(delete_tg, delete_sg)?;
    Ok(())
}

fn left_in_place(what: &str, name: &str, tags: &BTreeMap<String, String>, app: &str) {
    match tags.get(TAG_APP) {
        Some(other) if other != app => kit::warn!(
            "{what} {name} belongs to app {other} (tagged {TAG_APP}={other}), not to app {app}: left in place"
        ),
        _ => kit::warn!(
            "{what} {name} was not created by alb-up for app {app} (no stagehand tags of this step): left in place"
        ),
    }
}

/// This step's security groups of the name, in any VPC (the core section may be gone).
async fn groups_of(cx: &Cx, ec2: &aws_sdk_ec2::Client, name: &str) -> Result<Vec<Group>> {
    security_groups::find_owned(ec2, name, &cx.app, cx.section).await
}

/// Who still uses a target group.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Users {
    /// Registered targets not already draining, as "ip:port (state)".
    pub targets: Vec<String>,
    /// ECS services whose load balancers name the group, as "service in cluster".
    pub services: Vec<String>,
}

/// The guard: refuse while the target group has users. Pure.
pub fn guard(tg_name: &str, users: &Users) -> Result<()> {
    if users.targets.is_empty() && users.services.is_empty() {
        return Ok(());
    }
    let mut what = Vec::new();
    if !users.services.is_empty() {
        what.push(format!("ECS service {}", users.services.join(", ")));
    }
    if !users.targets.is_empty() {
        what.push(format!(
            "{} registered target{} ({})",
            users.targets.len(),
            if users.targets.len() == 1 { "" } else { "s" },
            users.targets.join(", ")
        ));
    }
    Err(Error::usage(format!(
        "target group {tg_name} is in use by {}; run svc-up --destroy first, or pass --force to delete the load balancer anyway",
        what.join(" and ")
    )))
}

async fn users_of(cx: &Cx, elb: &Client, tg: &TgNow) -> Result<Users> {
    let targets = async {
        let out = elb
            .describe_target_health()
            .target_group_arn(&tg.arn)
            .send()
            .await
            .found(format!("reading the targets of target group {}", tg.arn))?;
        Ok::<_, Error>(
            out.iter()
                .flat_map(|o| o.target_health_descriptions())
                .filter_map(|d| {
                    let state = d.target_health().and_then(|h| h.state());
                    if state == Some(&TargetHealthStateEnum::Draining) {
                        return None;
                    }
                    let t = d.target()?;
                    Some(format!(
                        "{}:{} ({})",
                        t.id().unwrap_or_default(),
                        t.port().unwrap_or_default(),
                        state.map_or("unknown", |s| s.as_str())
                    ))
                })
                .collect::<Vec<_>>(),
        )
    };
    let (targets, services) = futures::try_join!(targets, services_of(cx, &tg.arn))?;
    Ok(Users { targets, services })
}

/// ECS services (active or draining) whose load balancers name the target group: in the
/// core cluster when the document has one, else in every cluster of the region.
async fn services_of(cx: &Cx, tg_arn: &str) -> Result<Vec<String>> {
    let ecs = aws_sdk_ecs::Client::new(&cx.sdk);
    let core = cx.doc.section::<Core>().ok().flatten();
    let clusters: Vec<String> = match core.filter(|c| c.cluster_arn != kit::PLANNED) {
        Some(c) => vec![c.cluster_arn],
        None => ecs_service::clusters(&ecs).await?,
    };
    let per_cluster = clusters.iter().map(|cluster| {
        let ecs = &ecs;
        async move {
            let services = ecs_service::services_in(ecs, cluster).await?;
            Ok::<_, Error>(
                services
                    .iter()
                    .filter(|s| {
                        s.load_balancers()
                            .iter()
                            .any(|lb| lb.target_group_arn() == Some(tg_arn))
                    })
                    .map(|s| {
                        format!(
                            "{} in cluster {}",
                            s.service_name().unwrap_or_default(),
                            ecs_service::cluster_name(cluster)
                        )
                    })
                    .collect::<Vec<_>>(),
            )
        }
    });
    Ok(futures::future::try_join_all(per_cluster)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

async fn delete_lb(cx: &Cx, elb: &Client, name: &str, lb: &LbNow) -> Result<()> {
    futures::future::try_join_all(lb.listeners.iter().map(|l| async move {
        let deleted = elb
            .delete_listener()
            .listener_arn(&l.arn)
            .send()
            .await
            .deleted(format!(
                "deleting the listener on port {} of load balancer {name}",
                l.port
            ))?;
        if deleted {
            kit::info!("deleted listener {} {}", l.protocol, l.port);
        }
        Ok::<_, Error>(())
    }))
    .await?;
    elb.delete_load_balancer()
        .load_balancer_arn(&lb.arn)
        .send()
        .await
        .deleted(format!("deleting load balancer {name}"))?;
    wait::until(
        cx,
        &format!("load balancer {name} to be deleted"),
        || async {
            let found = elb
                .describe_load_balancers()
                .load_balancer_arns(&lb.arn)
                .send()
                .await
                .found(format!("describing load balancer {name}"))?;
            Ok(match found {
                Some(out) if !out.load_balancers().is_empty() => Poll::Pending("deleting".into()),
                _ => Poll::Ready(()),
            })
        },
    )
    .await?;
    kit::info!("deleted load balancer {name}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_guard_names_who_uses_the_target_group() {
        assert!(guard("tg", &Users::default()).is_ok());
        let cases = [
            (
                Users {
                    targets: vec!["10.0.10.5:7007 (healthy)".into()],
                    services: vec![],
                },
                "1 registered target (10.0.10.5:7007 (healthy))",
            ),
            (
                Users {
                    targets: vec![],
                    services: vec!["backstage in cluster core-infra".into()],
                },
                "ECS service backstage in cluster core-infra",
            ),
        ];
        for (users, expect) in cases {
            let e = guard("unicorn-ui-tg", &users).unwrap_err();
            assert_eq!(e.exit_code(), 2);
            assert!(
                e.message.contains(expect) && e.message.contains("--force"),
                "{}",
                e.message
            );
        }
    }
}
