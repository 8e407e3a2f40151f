//! db-up: Aurora PostgreSQL Serverless v2 for the stack — the cluster (engine mode
//! provisioned with a ServerlessV2ScalingConfiguration, never the retired Serverless v1), one
//! `db.serverless` writer, a DB subnet group over the private subnets, the DB security group
//! (5432 from the DB-client group only) and the empty DB-client group that svc-up puts on the
//! tasks, and the SSM parameters POSTGRES_HOST / PORT / USER.
//!
//! The master password belongs to Secrets Manager: db-up records the version of the password
//! secret it last set on the cluster (`db.password_version`), and when AWSCURRENT moves on it
//! sets the new value (ModifyDBCluster, applied immediately). Values are held only in memory
//! and never printed.
//!
//! One cluster per app: the app's SSM parameters point at one cluster, and db-up refuses to
//! make a second one that would silently take them over.

mod apply;
mod destroy;
mod diff;
mod engine;
mod guard;
mod observe;
mod password;
mod restore;
mod waits;

use kit::{Cx, Error, Plan, Result, Step};
use serde_json::{Map, Value};
use stackdoc::{Core, Db, Doc, Secrets};

pub use diff::Op;
pub use observe::Observed;

pub struct DbUp;

/// Aurora PostgreSQL's port.
pub const PORT: u16 = 5432;
/// The master user, as in the seed.
pub const MASTER_USER: &str = "postgres";
pub const ENGINE: &str = "aurora-postgresql";
pub const INSTANCE_CLASS: &str = "db.serverless";
/// Tag on a cluster restored from a snapshot: its master password is the snapshot's until
/// db-up sets the stack's own (see `password.rs`).
pub const TAG_RESTORED_FROM: &str = "stagehand:restored-from";

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Aurora cluster identifier (default: <app>-db); also names the subnet group and the
    /// security groups. One cluster per app: a name is refused while the app's POSTGRES_HOST
    /// parameter points at another existing cluster (destroy that one first, or use another
    /// --app for a second database)
    #[arg(long, value_name = "NAME", help_heading = kit::SETTINGS)]
    pub cluster_name: Option<String>,
    /// aurora-postgresql engine version; checked against DescribeDBEngineVersions (it must
    /// exist in the region and support Serverless v2) before anything is created
    #[arg(long, default_value = "16.6", value_name = "VERSION", help_heading = kit::SETTINGS)]
    pub engine_version: String,
    /// Minimum capacity in Aurora capacity units (0 to 256, in steps of 0.5; 0 lets the
    /// instance pause when idle, on versions that support it)
    #[arg(long, default_value_t = 0.5, value_name = "ACU", help_heading = kit::SETTINGS)]
    pub min_acu: f64,
    /// Maximum capacity in Aurora capacity units (1 to 256, in steps of 0.5; the engine
    /// version may allow less)
    #[arg(long, default_value_t = 2.0, value_name = "ACU", help_heading = kit::SETTINGS)]
    pub max_acu: f64,
    /// Days of automated backups (1 to 35)
    #[arg(long, default_value_t = 7, value_name = "DAYS",
          value_parser = clap::value_parser!(i32).range(1..=35), help_heading = kit::SETTINGS)]
    pub backup_retention_days: i32,
    /// Turn on deletion protection (off by default, as in the seed); --destroy refuses while
    /// it is on
    #[arg(long, overrides_with = "no_deletion_protection", help_heading = kit::SETTINGS)]
    pub deletion_protection: bool,
    /// Turn deletion protection off
    #[arg(long, overrides_with = "deletion_protection", help_heading = kit::SETTINGS)]
    pub no_deletion_protection: bool,
    /// Bring the cluster back from this final or manual cluster snapshot (id or ARN) instead
    /// of creating an empty one: the scaling and deletion protection come from the settings,
    /// the engine version from the snapshot; then the writer, the security groups, the subnet
    /// group and the parameters as usual. The restored cluster's master password is then set
    /// to the stack's password secret. Refused when the cluster exists
    #[arg(long, value_name = "SNAPSHOT", conflicts_with = "destroy")]
    pub restore_from_snapshot: Option<String>,
    /// With --destroy: delete the cluster without a final snapshot (its data is lost)
    #[arg(long)]
    pub skip_final_snapshot: bool,
    /// With --destroy: delete the database even while an ECS service uses its DB-client
    /// security group (that group is then left in place)
    #[arg(long)]
    pub force: bool,
}

/// Every name db-up uses, derived from the app and the flags: deterministic, so a rerun finds
/// what the previous run made.
#[derive(Debug, Clone)]
pub struct Names {
    pub cluster: String,
    pub instance: String,
    pub subnet_group: String,
    pub db_sg: String,
    pub client_sg: String,
    /// POSTGRES_HOST, POSTGRES_PORT, POSTGRES_USER, in that order.
    pub params: [String; 3],
}

impl Names {
    pub fn new(cx: &Cx, args: &Args) -> Names {
        // RDS keeps identifiers in lowercase; so do we, so that names compare as AWS shows them.
        let cluster = args
            .cluster_name
            .clone()
            .unwrap_or_else(|| format!("{}-db", cx.app))
            .to_ascii_lowercase();
        let app = &cx.app;
        Names {
            instance: format!("{cluster}-1"),
            subnet_group: cluster.clone(),
            db_sg: cluster.clone(),
            client_sg: format!("{cluster}-client"),
            params: ["HOST", "PORT", "USER"].map(|p| format!("/{app}/POSTGRES_{p}")),
            cluster,
        }
    }
}

/// RDS cluster identifiers: 1 to 63 letters, digits and hyphens, starting with a letter, no
/// two hyphens in a row, not ending in a hyphen. Two characters are kept for the instance's
/// "-1" suffix.
fn check_cluster_name(name: &str) -> Result<()> {
    let ok = (1..=61).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && !name.ends_with('-')
        && !name.contains("--")
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--cluster-name '{name}' is not a valid Aurora cluster identifier; use 1 to 61 letters, digits and single hyphens, starting with a letter"
        )))
    }
}

/// Aurora Serverless v2 capacity: half-ACU steps, 0 ≤ min ≤ max ≤ 256, max at least 1.
fn check_capacity(min: f64, max: f64) -> Result<()> {
    let half_step = |v: f64| v.is_finite() && (v * 2.0).fract() == 0.0;
    for (flag, v) in [("--min-acu", min), ("--max-acu", max)] {
        if !half_step(v) || !(0.0..=256.0).contains(&v) {
            return Err(Error::usage(format!(
                "{flag} {v} is not a valid Aurora Serverless v2 capacity; use 0 to 256 ACUs in steps of 0.5"
            )));
        }
    }
    if max < 1.0 {
        return Err(Error::usage(format!(
            "--max-acu {max} is too small; Aurora Serverless v2 needs a maximum of at least 1 ACU"
        )));
    }
    if min > max {
        return Err(Error::usage(format!(
            "--min-acu {min} is larger than --max-acu {max}; the minimum capacity must not exceed the maximum"
        )));
    }
    Ok(())
}

fn check_engine_version(v: &str) -> Result<()> {
    let ok = !v.is_empty()
        && v.split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!(
            "--engine-version '{v}' is not an aurora-postgresql version; give one like 16.6"
        )))
    }
}

impl Step for DbUp {
    const TOOL: &'static str = "db-up";
    const ABOUT: &'static str = "Create (or update) the Aurora PostgreSQL Serverless v2 database, its security groups and SSM parameters";
    type Args = Args;
    type Section = Db;
    type Observed = Observed;
    type Op = Op;

    fn check(args: &Args, _doc: &Doc) -> Result<()> {
        check_capacity(args.min_acu, args.max_acu)?;
        check_engine_version(&args.engine_version)?;
        if let Some(name) = &args.cluster_name {
            check_cluster_name(name)?;
        }
        if let Some(id) = &args.restore_from_snapshot {
            restore::check_snapshot_id(id)?;
        }
        Ok(())
    }

    /// The sections this step builds on (planned ones are accepted here; an apply refuses
    /// them in observe). `--destroy` skips this: it needs only the db section.
    fn check_inputs(_args: &Args, doc: &Doc) -> Result<()> {
        doc.require::<Secrets>()?;
        doc.require::<Core>()?;
        Ok(())
    }

    /// A restored cluster runs its snapshot's engine version: that is the setting in effect.
    fn settings(cx: &Cx, args: &Args, now: &Observed) -> Map<String, Value> {
        let mut settings = cx.settings.clone();
        if let (None, Some(_), Some(snapshot)) =
            (&now.cluster, &args.restore_from_snapshot, &now.snapshot)
        {
            settings.insert(
                "engine-version".into(),
                Value::String(snapshot.engine_version.clone()),
            );
        }
        settings
    }

    async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
        observe::observe(cx, args).await
    }

    fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
        diff::diff(cx, args, now)
    }

    fn planned(cx: &Cx, args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Db> {
        Ok(diff::planned(cx, args, now))
    }

    async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Db> {
        apply::apply(cx, args, now, plan).await
    }

    async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
        destroy::destroy(cx, args).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacity_rules() {
        assert!(check_capacity(0.5, 2.0).is_ok());
        assert!(check_capacity(0.0, 1.0).is_ok());
        assert!(check_capacity(256.0, 256.0).is_ok());
        assert!(
            check_capacity(3.0, 2.0)
                .unwrap_err()
                .message
                .contains("larger")
        );
        assert!(
            check_capacity(0.5, 300.0)
                .unwrap_err()
                .message
                .contains("0 to 256")
        );
        assert!(check_capacity(0.7, 2.0).is_err());
        assert!(check_capacity(-0.5, 2.0).is_err());
        assert!(check_capacity(0.5, 0.5).is_err());
        assert!(check_capacity(f64::NAN, 2.0).is_err());
    }

    #[test]
    fn cluster_names() {
        assert!(check_cluster_name("unicorn-ui-db").is_ok());
        for bad in ["", "1db", "a--b", "db-", "a_b", &"a".repeat(62)] {
            assert!(check_cluster_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn engine_versions() {
        assert!(check_engine_version("16.6").is_ok());
        assert!(check_engine_version("16").is_ok());
        assert!(check_engine_version("16.x").is_err());
        assert!(check_engine_version("").is_err());
    }
}
