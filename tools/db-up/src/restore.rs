//! `--restore-from-snapshot`: the cluster brought back from a final or manual cluster snapshot
//! as it was — the snapshot's engine and version, the Serverless v2 scaling, deletion
//! protection and backup retention from the settings, the DB security group, the subnet
//! group and the tags — in place of CreateDBCluster. The writer instance, the parameters and
//! the master password then follow as for a new cluster (see `password.rs` for why the
//! password is always set after a restore).

use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};
use kit::{AwsContext, Cx, Error, Result};

use crate::observe::{self, Clients, Cluster, Observed};
use crate::{Args, ENGINE, PORT, TAG_RESTORED_FROM};

/// A cluster snapshot as found.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub id: String,
    pub arn: String,
    pub engine: String,
    pub engine_version: String,
    pub status: String,
    /// The cluster it was taken of.
    pub cluster: String,
}

/// A snapshot identifier (1 to 255 letters, digits and hyphens, starting with a letter) or
/// a snapshot ARN (for a shared snapshot).
pub fn check_snapshot_id(id: &str) -> Result<()> {
    let plain = (1..=255).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    let arn = id.starts_with("arn:") && id.contains(":cluster-snapshot:") && !id.contains(' ');
    if plain || arn {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--restore-from-snapshot '{id}' is not a DB cluster snapshot identifier or ARN; list them with: aws rds describe-db-cluster-snapshots --query 'DBClusterSnapshots[].DBClusterSnapshotIdentifier'"
        )))
    }
}

/// The snapshot, or None when there is no such cluster snapshot.
pub async fn lookup(rds: &aws_sdk_rds::Client, id: &str) -> Result<Option<Snapshot>> {
    let Some(out) = rds
        .describe_db_cluster_snapshots()
        .db_cluster_snapshot_identifier(id)
        .send()
        .await
        .found(format!("reading DB cluster snapshot {id}"))?
    else {
        return Ok(None);
    };
    Ok(out.db_cluster_snapshots().first().map(|s| Snapshot {
        id: s.db_cluster_snapshot_identifier().unwrap_or(id).to_owned(),
        arn: s.db_cluster_snapshot_arn().unwrap_or_default().to_owned(),
        engine: s.engine().unwrap_or_default().to_owned(),
        engine_version: s.engine_version().unwrap_or_default().to_owned(),
        status: s.status().unwrap_or("unknown").to_owned(),
        cluster: s.db_cluster_identifier().unwrap_or_default().to_owned(),
    }))
}

/// Refusals for `--restore-from-snapshot ID`, from what observe found (before any write).
pub fn check(id: &str, snapshot: Option<&Snapshot>, cluster: Option<&Cluster>) -> Result<()> {
    if let Some(c) = cluster {
        // The same command run again (up.sh's final pass, a rerun after a kill): the cluster
        // this snapshot was restored into is the restore done, not a conflict.
        let named = id.rsplit("cluster-snapshot:").next().unwrap_or(id);
        if c.restored_from.as_deref() == Some(named) {
            return Ok(());
        }
        return Err(Error::usage(format!(
            "Aurora cluster {} exists, so there is nothing to restore into; drop --restore-from-snapshot, or destroy the cluster first (db-up --destroy keeps a final snapshot)",
            c.id
        )));
    }
    let Some(s) = snapshot else {
        return Err(Error::usage(format!(
            "DB cluster snapshot {id} does not exist; list the snapshots with: aws rds describe-db-cluster-snapshots --query 'DBClusterSnapshots[].DBClusterSnapshotIdentifier'"
        )));
    };
    if s.engine != ENGINE {
        return Err(Error::usage(format!(
            "DB cluster snapshot {id} is of engine {}, not {ENGINE}; restore an Aurora PostgreSQL snapshot",
            s.engine
        )));
    }
    if s.status != "available" {
        return Err(Error::usage(format!(
            "DB cluster snapshot {id} is {}, not available; rerun when it is",
            s.status
        )));
    }
    Ok(())
}

/// RestoreDBClusterFromSnapshot. A retried restore that answers "already exists" is success
/// when the cluster is ours.
pub async fn restore(
    cx: &Cx,
    c: &Clients,
    args: &Args,
    now: &Observed,
    snapshot: &Snapshot,
    db_sg_id: &str,
) -> Result<Cluster> {
    let id = &now.names.cluster;
    let mut tags = crate::apply::rds_tags(cx);
    tags.push(
        Tag::builder()
            .key(TAG_RESTORED_FROM)
            .value(&snapshot.id)
            .build(),
    );
    let restored = c
        .rds
        .restore_db_cluster_from_snapshot()
        .db_cluster_identifier(id)
        // As the user named it: an identifier, or the ARN of a shared snapshot.
        .snapshot_identifier(
            args.restore_from_snapshot
                .as_deref()
                .unwrap_or(&snapshot.id),
        )
        .engine(ENGINE)
        .engine_version(&snapshot.engine_version)
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfiguration::builder()
                .min_capacity(args.min_acu)
                .max_capacity(args.max_acu)
                .build(),
        )
        .port(i32::from(PORT))
        .db_subnet_group_name(&now.names.subnet_group)
        .vpc_security_group_ids(db_sg_id)
        .backup_retention_period(args.backup_retention_days)
        .copy_tags_to_snapshot(true)
        .deletion_protection(args.deletion_protection)
        .set_tags(Some(tags))
        .send()
        .await
        .created(format!(
            "restoring Aurora cluster {id} from snapshot {}",
            snapshot.id
        ))?;
    match restored.as_ref().and_then(|out| out.db_cluster()) {
        Some(d) => {
            let cluster = observe::cluster_of(cx, d);
            kit::info!(
                "restoring Aurora cluster {id} from snapshot {} ({ENGINE} {}, Serverless v2 {}-{} ACU)",
                snapshot.id,
                snapshot.engine_version,
                args.min_acu,
                args.max_acu
            );
            if cluster.endpoint.is_some() {
                return Ok(cluster);
            }
        }
        None if restored.is_none() => {
            kit::debug!("Aurora cluster {id} already exists: a retried restore");
        }
        None => {}
    }
    crate::apply::existing_cluster(cx, c, id).await
}
