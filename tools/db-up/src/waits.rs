//! Waiting for Aurora: the cluster and its writer until both are available, with progress and
//! the run's deadline; states where waiting cannot help fail at once.

use kit::wait::{self, Poll};
use kit::{Cx, Error, Result};

use crate::Names;
use crate::observe::{self, Clients, Cluster};

/// A cluster or instance state: ready, still on its way, or stuck where waiting cannot help.
fn judge(what: &str, status: &str) -> Result<Option<()>> {
    match status {
        "available" => Ok(Some(())),
        "failed" | "stopped" | "stopping" | "storage-full" => Err(Error::aws(format!(
            "{what} is {status}; see its events in the RDS console (aws rds describe-events), fix it, and rerun db-up"
        ))),
        s if s.starts_with("inaccessible") || s.starts_with("incompatible") => {
            Err(Error::aws(format!(
                "{what} is {s}; see its events in the RDS console (aws rds describe-events), fix it, and rerun db-up"
            )))
        }
        _ => Ok(None),
    }
}

pub async fn cluster_ready(cx: &Cx, rds: &aws_sdk_rds::Client, id: &str) -> Result<Poll<Cluster>> {
    let cluster = observe::cluster(cx, rds, id)
        .await?
        .ok_or_else(|| Error::aws(format!("Aurora cluster {id} disappeared while waiting")))?;
    Ok(
        match judge(&format!("Aurora cluster {id}"), &cluster.status)? {
            Some(()) => Poll::Ready(cluster),
            None => Poll::Pending(cluster.status),
        },
    )
}

/// Wait until both the cluster and its writer are available.
pub async fn available(cx: &Cx, c: &Clients, n: &Names) -> Result<Cluster> {
    let what = format!("Aurora cluster {} and instance {}", n.cluster, n.instance);
    wait::until(cx, &what, || async {
        let (cluster, instance) = futures::try_join!(
            observe::cluster(cx, &c.rds, &n.cluster),
            observe::instance(cx, &c.rds, &n.instance),
        )?;
        let cluster = cluster.ok_or_else(|| {
            Error::aws(format!(
                "Aurora cluster {} disappeared while waiting",
                n.cluster
            ))
        })?;
        let instance = instance.ok_or_else(|| {
            Error::aws(format!(
                "Aurora instance {} disappeared while waiting",
                n.instance
            ))
        })?;
        let c_ok = judge(&format!("Aurora cluster {}", n.cluster), &cluster.status)?;
        let i_ok = judge(&format!("Aurora instance {}", n.instance), &instance.status)?;
        Ok(match (c_ok, i_ok) {
            (Some(()), Some(())) => Poll::Ready(cluster),
            _ => Poll::Pending(format!(
                "cluster {}, instance {}",
                cluster.status, instance.status
            )),
        })
    })
    .await
}
