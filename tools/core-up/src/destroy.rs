//! `--destroy`: delete what core-up created (what carries its tags), in reverse order.
//!
//! ```text
//! guard (read-only: services, other steps' resources in the VPC) → refuse, exit 2
//! cluster ──────────────────────────────────────────┐
//! namespace (wait for its operation) ─┬─ VPC ───────┘
//! network pieces (see teardown) ──────┘
//! ```
//!
//! It needs only the section (or just the identity: app, account, region): everything is
//! found by name and tags, and whatever is already gone counts as deleted, so a destroy
//! resumes from any point and is a no-op once everything is gone.

use kit::{Cx, Result};

use crate::cluster;
use crate::guard;
use crate::namespace;
use crate::observe::{Clients, Observed};
use crate::teardown::{self, Doomed};

pub async fn destroy(cx: &Cx, c: &Clients, now: Observed, force: bool) -> Result<()> {
    guard::check(cx, c, &now, force).await?;
    report_foreign(cx, &now);

    let cluster = now.cluster.as_ref().filter(|cl| cl.owned);
    let ns = now.namespace.as_ref().filter(|n| n.owned);
    if now.vpc.as_ref().is_none_or(|v| !v.owned)
        && now.extra_vpcs.is_empty()
        && cluster.is_none()
        && ns.is_none()
        && !now.igws.iter().any(|g| g.owned)
        && !now.eips.iter().any(|e| e.owned)
    {
        kit::info!(
            "nothing of core-up's named {} found: nothing to delete",
            now.settings.core
        );
        return Ok(());
    }

    let kept = now.vpc.as_ref().filter(|v| v.owned);
    let main = {
        let mine = |vpcs: &[String]| vpcs.iter().all(|v| Some(v) == kept.map(|k| &k.id));
        // Gateways of ours attached to this VPC or nowhere; addresses of ours that are free
        // or held by our NAT gateways (released once those are gone).
        let nat_allocations: Vec<&str> = now
            .nats
            .iter()
            .filter(|n| n.owned)
            .flat_map(|n| n.allocation_ids.iter().map(String::as_str))
            .collect();
        let in_extras = |id: &str| {
            now.extra_vpcs
                .iter()
                .flat_map(|x| &x.nats)
                .any(|n| n.allocation_ids.iter().any(|a| a == id))
        };
        Doomed::of(
            kept,
            &now.subnets,
            &now.route_tables,
            &now.nats,
            now.igws
                .iter()
                .filter(|g| g.owned && mine(&g.attached_to))
                .collect(),
            now.eips
                .iter()
                .filter(|e| {
                    e.owned
                        && !in_extras(&e.allocation_id)
                        && (e.association_id.is_none()
                            || nat_allocations.contains(&e.allocation_id.as_str()))
                })
                .collect(),
        )
    };
    let extras: Vec<Doomed> = now
        .extra_vpcs
        .iter()
        .map(|x| extra_doomed(&now, x))
        .collect();

    // The namespace lives in the VPC: it goes before the VPC does.
    let namespace = async {
        match ns {
            Some(n) => namespace::delete(cx, c, n).await,
            None => Ok(()),
        }
    };
    let network = async {
        futures::try_join!(namespace, teardown::pieces(cx, c, &main))?;
        teardown::vpc(cx, c, &main).await
    };
    let duplicates =
        futures::future::try_join_all(extras.iter().map(|d| teardown::network(cx, c, d)));
    let cluster = async {
        match cluster {
            Some(cl) => cluster::delete(cx, c, &cl.name).await,
            None => Ok(()),
        }
    };
    futures::try_join!(network, duplicates, cluster)?;
    Ok(())
}

/// A duplicate VPC of ours, with what of ours is in it or attached to it.
pub fn extra_doomed<'a>(now: &'a Observed, x: &'a crate::observe::Network) -> Doomed<'a> {
    let allocations: Vec<&str> = x
        .nats
        .iter()
        .filter(|n| n.owned)
        .flat_map(|n| n.allocation_ids.iter().map(String::as_str))
        .collect();
    Doomed::of(
        Some(&x.vpc),
        &x.subnets,
        &x.route_tables,
        &x.nats,
        now.igws
            .iter()
            .filter(|g| {
                g.owned && g.attached_to.iter().all(|v| *v == x.vpc.id) && !g.attached_to.is_empty()
            })
            .collect(),
        now.eips
            .iter()
            .filter(|e| e.owned && allocations.contains(&e.allocation_id.as_str()))
            .collect(),
    )
}

/// Say what stays because core-up did not make it.
fn report_foreign(cx: &Cx, now: &Observed) {
    let core = &now.settings.core;
    let mut kept = Vec::new();
    if let Some(v) = now.vpc.as_ref().filter(|v| !v.owned) {
        kept.push(format!("VPC {} and its subnets", v.id));
    }
    if now.cluster.as_ref().is_some_and(|c| !c.owned) {
        kept.push(format!("ECS cluster {core}"));
    }
    if let Some(n) = now.namespace.as_ref().filter(|n| !n.owned) {
        kept.push(format!("namespace {} {}", n.name, n.id));
    }
    if !kept.is_empty() {
        kit::info!(
            "left in place, not created by core-up for app {}: {}",
            cx.app,
            kept.join(", ")
        );
    }
}
