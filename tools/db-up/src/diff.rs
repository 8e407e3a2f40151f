//! What should exist, and what differs from what does: pure functions of the flags, the
//! document and what observe found. The refusals that need no write (a snapshot that is not
//! there, a second cluster in the app, a missing secret, a phantom VPC, an engine version
//! without Serverless v2, a password Aurora refuses) are decided here too, so `--plan` shows
//! them exactly as apply would meet them.

use std::collections::BTreeSet;

use kit::{Cx, Error, PLANNED, Plan, Result, field};
use security_groups::{Group, Peer, Rule, Rules};
use stackdoc::{Db, NamedArn};

use crate::observe::{Cluster, Network, Observed};
use crate::password::{self, Action as PasswordAction};
use crate::{Args, ENGINE, INSTANCE_CLASS, MASTER_USER, PORT, engine, restore};

/// Which of the two security groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Which {
    /// The database's own group: 5432 in from the client group, nothing out.
    Db,
    /// The group clients carry: no ingress; 5432 out to the database group.
    Client,
}

/// ModifyDBCluster fields that differ (None: leave as is).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Modify {
    pub scaling: Option<(f64, f64)>,
    pub backup_retention_days: Option<i32>,
    pub deletion_protection: Option<bool>,
    pub copy_tags_to_snapshot: Option<bool>,
    /// The cluster should carry exactly the DB group.
    pub security_groups: bool,
    /// Set the master password to the password secret's current value.
    pub password: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Keep,
    CreateSubnetGroup,
    ModifySubnetGroup,
    /// Create the group (if `create`), then set its rules exactly.
    SecurityGroup {
        which: Which,
        create: bool,
    },
    CreateCluster,
    /// `--restore-from-snapshot`: RestoreDBClusterFromSnapshot in place of CreateDBCluster.
    RestoreCluster,
    ModifyCluster(Modify),
    CreateInstance,
    /// The writer is not `db.serverless`.
    ModifyInstanceClass,
    /// Write parameter `index` of `Names::params` (create, or overwrite its value).
    Param {
        index: usize,
        create: bool,
    },
}

/// The DB group's rules. Ingress: PostgreSQL from the client group only. Egress: none. Aurora
/// never opens connections to clients, security groups are stateful (replies to admitted
/// connections flow without an egress rule), and AWS runs backups, storage and monitoring
/// outside the cluster's network interfaces; so the default allow-all egress is removed, and
/// a compromised database cannot reach anything in the VPC or on the internet.
pub fn db_rules(client_sg_id: &str) -> Rules {
    Rules {
        ingress: [Rule::tcp(PORT, Peer::Group(client_sg_id.to_owned()))].into(),
        egress: BTreeSet::new(),
    }
}

/// The client group's rules: no ingress (it only marks who may connect), and egress to the
/// database on 5432 only. Rules of all groups on an interface add up, so this never narrows a
/// task's other egress, and it makes the group sufficient on its own when the task's own group
/// allows no egress.
pub fn client_rules(db_sg_id: &str) -> Rules {
    Rules {
        ingress: BTreeSet::new(),
        egress: [Rule::tcp(PORT, Peer::Group(db_sg_id.to_owned()))].into(),
    }
}

fn id_or_planned(group: Option<&Group>) -> String {
    group.map_or_else(|| PLANNED.to_owned(), |g| g.id.clone())
}

fn acu(v: Option<f64>) -> String {
    v.map_or_else(|| "none".to_owned(), |v| v.to_string())
}

/// The values of POSTGRES_HOST, _PORT, _USER; the host is None while the cluster is planned.
pub fn param_values(cluster: Option<&Cluster>) -> [Option<String>; 3] {
    match cluster {
        Some(c) => [
            c.endpoint.clone(),
            Some(c.port.to_string()),
            Some(c.master_user.clone()),
        ],
        None => [None, Some(PORT.to_string()), Some(MASTER_USER.to_owned())],
    }
}

/// The ModifyDBCluster that brings `c` to what the flags ask for.
pub fn cluster_drift(args: &Args, c: &Cluster, db_sg_id: &str) -> (Modify, Vec<kit::Field>) {
    let mut m = Modify::default();
    let mut fields = Vec::new();
    if c.min_acu != Some(args.min_acu) || c.max_acu != Some(args.max_acu) {
        m.scaling = Some((args.min_acu, args.max_acu));
        fields.push(field(
            "scaling (ACU)",
            format!("{}-{}", acu(c.min_acu), acu(c.max_acu)),
            format!("{}-{}", args.min_acu, args.max_acu),
        ));
    }
    if c.backup_retention_days != args.backup_retention_days {
        m.backup_retention_days = Some(args.backup_retention_days);
        fields.push(field(
            "backup retention (days)",
            c.backup_retention_days,
            args.backup_retention_days,
        ));
    }
    if c.deletion_protection != args.deletion_protection {
        m.deletion_protection = Some(args.deletion_protection);
        fields.push(field(
            "deletion protection",
            c.deletion_protection,
            args.deletion_protection,
        ));
    }
    if !c.copy_tags_to_snapshot {
        m.copy_tags_to_snapshot = Some(true);
        fields.push(field("copy tags to snapshot", false, true));
    }
    let want: BTreeSet<String> = [db_sg_id.to_owned()].into();
    if c.security_groups != want {
        m.security_groups = true;
        let have: Vec<&str> = c.security_groups.iter().map(String::as_str).collect();
        fields.push(field("security groups", have.join(","), db_sg_id));
    }
    (m, fields)
}

/// Refusals from what observe found, before any write: exit 2 naming the problem and the fix.
pub fn refusals(cx: &Cx, args: &Args, now: &Observed) -> Result<()> {
    let n = &now.names;
    if let Some(id) = &args.restore_from_snapshot {
        restore::check(id, now.snapshot.as_ref(), now.cluster.as_ref())?;
    }
    if let Some(other) = &now.other_cluster {
        return Err(Error::usage(format!(
            "app {} already has Aurora cluster {other} ({} points at it); db-up keeps one cluster per app and would repoint the app's parameters to {}: destroy {other} first (db-up --destroy), or give a second database its own --app",
            cx.app, n.params[0], n.cluster
        )));
    }
    if let Some(arn) = &now.password.secret
        && now.password.current.is_none()
    {
        return Err(Error::usage(format!(
            "the DB-password secret {arn} does not exist (or has no current version); run secrets-init first"
        )));
    }
    if let Some(vpc) = &now.upstream.vpc_id {
        match &now.network {
            Network::Unchecked => {}
            Network::SubnetsMissing => {
                return Err(Error::usage(format!(
                    "the core section's private subnets {} do not all exist; rerun core-up to bring the core-infra back",
                    now.upstream.private_subnets.join(", ")
                )));
            }
            Network::Subnets(found) => {
                for subnet in &now.upstream.private_subnets {
                    match found.get(subnet) {
                        Some(v) if v == vpc => {}
                        Some(v) => {
                            return Err(Error::usage(format!(
                                "private subnet {subnet} is in {v}, not in the core section's VPC {vpc}; rerun core-up so the document matches the core-infra"
                            )));
                        }
                        None => {
                            return Err(Error::usage(format!(
                                "private subnet {subnet} does not exist; rerun core-up to bring the core-infra back"
                            )));
                        }
                    }
                }
            }
        }
    }
    if let Some(support) = &now.engine {
        engine::judge(support, args.min_acu, args.max_acu, &cx.region)?;
    }
    if let (Some((value, _)), Some(arn)) = (&now.password.value, &now.password.secret) {
        password::check_rules(value, arn)?;
    }
    Ok(())
}

/// What a run does about an existing cluster's master password.
pub fn password_action(now: &Observed, c: &Cluster) -> PasswordAction {
    password::action(
        now.password.recorded.as_deref(),
        now.password.current.as_deref(),
        c.restored_from.as_deref(),
    )
}

pub fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
    refusals(cx, args, now)?;
    let n = &now.names;
    let mut plan = Plan::new();

    // Subnet group over the private subnets.
    let want_subnets: BTreeSet<String> = now.upstream.private_subnets.iter().cloned().collect();
    let resource = format!("DB subnet group {}", n.subnet_group);
    match &now.subnet_group {
        None => plan.create(resource, Op::CreateSubnetGroup),
        Some(g) if g.subnets != want_subnets => {
            let have: Vec<&str> = g.subnets.iter().map(String::as_str).collect();
            let want: Vec<&str> = want_subnets.iter().map(String::as_str).collect();
            plan.update(
                resource,
                vec![field("subnets", have.join(","), want.join(","))],
                Op::ModifySubnetGroup,
            );
        }
        Some(_) => plan.unchanged(resource, Op::Keep),
    }

    // The two security groups.
    let db_id = id_or_planned(now.db_sg.as_ref());
    let client_id = id_or_planned(now.client_sg.as_ref());
    for (which, name, group, rules) in [
        (Which::Db, &n.db_sg, &now.db_sg, db_rules(&client_id)),
        (
            Which::Client,
            &n.client_sg,
            &now.client_sg,
            client_rules(&db_id),
        ),
    ] {
        let resource = format!("security group {name}");
        match group {
            None => plan.create(
                resource,
                Op::SecurityGroup {
                    which,
                    create: true,
                },
            ),
            Some(g) => {
                let changes = rules.changes_from(g);
                if changes.is_empty() {
                    plan.unchanged(resource, Op::Keep);
                } else {
                    plan.update(
                        resource,
                        changes,
                        Op::SecurityGroup {
                            which,
                            create: false,
                        },
                    );
                }
            }
        }
    }

    // The cluster.
    let resource = format!("Aurora cluster {}", n.cluster);
    match &now.cluster {
        None => match &args.restore_from_snapshot {
            Some(id) => plan.create(
                format!("{resource} (from snapshot {id})"),
                Op::RestoreCluster,
            ),
            None => plan.create(resource, Op::CreateCluster),
        },
        Some(c) => {
            if c.engine != ENGINE || c.engine_mode != "provisioned" {
                return Err(Error::usage(format!(
                    "Aurora cluster {} exists with engine {} in engine mode {}, not {ENGINE} provisioned (Serverless v2); delete it or choose another --cluster-name",
                    c.id, c.engine, c.engine_mode
                )));
            }
            if !c.owned {
                kit::warn!(
                    "Aurora cluster {} was not created by db-up for app {} (no stagehand tags): using it, but --destroy will leave it",
                    c.id,
                    cx.app
                );
            }
            if !c.storage_encrypted {
                kit::warn!(
                    "Aurora cluster {} has unencrypted storage, which cannot be changed in place; restore a snapshot into an encrypted cluster",
                    c.id
                );
            }
            if c.engine_version != args.engine_version {
                kit::warn!(
                    "Aurora cluster {} runs {ENGINE} {}, not {}: db-up does not upgrade engines (aws rds modify-db-cluster --engine-version)",
                    c.id,
                    c.engine_version,
                    args.engine_version
                );
            }
            let (mut modify, mut fields) = cluster_drift(args, c, &db_id);
            match password_action(now, c) {
                PasswordAction::Keep => {}
                PasswordAction::Set { from, to } => {
                    modify.password = true;
                    let from = match (from, &c.restored_from) {
                        (Some(v), _) => format!("version {v}"),
                        (None, Some(s)) => format!("snapshot {s}'s"),
                        (None, None) => "unknown".to_owned(),
                    };
                    fields.push(field("master password", from, to));
                }
                PasswordAction::Adopt { version } => kit::debug!(
                    "Aurora cluster {}: the document records no password version; adopting the password secret's current version {version} without a change",
                    c.id
                ),
            }
            if fields.is_empty() {
                plan.unchanged(resource, Op::Keep);
            } else {
                plan.update(resource, fields, Op::ModifyCluster(modify));
            }
        }
    }

    // The writer instance.
    let resource = format!("Aurora instance {} ({INSTANCE_CLASS})", n.instance);
    match &now.instance {
        None => plan.create(resource, Op::CreateInstance),
        Some(i) if i.cluster != n.cluster => {
            return Err(Error::usage(format!(
                "DB instance {} belongs to cluster {}, not {}; delete it or choose another --cluster-name",
                i.id, i.cluster, n.cluster
            )));
        }
        Some(i) if i.class != INSTANCE_CLASS => plan.update(
            resource,
            vec![field("class", &i.class, INSTANCE_CLASS)],
            Op::ModifyInstanceClass,
        ),
        Some(_) => plan.unchanged(resource, Op::Keep),
    }

    // The SSM parameters.
    let values = param_values(now.cluster.as_ref());
    for (index, (name, want)) in n.params.iter().zip(values).enumerate() {
        let resource = format!("SSM parameter {name}");
        match now.params.get(name) {
            None => plan.create(
                resource,
                Op::Param {
                    index,
                    create: true,
                },
            ),
            Some(p) => {
                let want_shown = want.clone().unwrap_or_else(|| PLANNED.to_owned());
                let mut fields = Vec::new();
                if want.as_deref() != Some(p.value.as_str()) {
                    fields.push(field("value", &p.value, &want_shown));
                }
                if p.kind != "String" {
                    fields.push(field("type", &p.kind, "String"));
                }
                if fields.is_empty() {
                    plan.unchanged(resource, Op::Keep);
                } else {
                    plan.update(
                        resource,
                        fields,
                        Op::Param {
                            index,
                            create: false,
                        },
                    );
                }
            }
        }
    }
    Ok(plan)
}

/// The ARN of an SSM parameter (PutParameter does not return it).
pub fn param_arn(cx: &Cx, name: &str) -> String {
    let partition = kit::aws::partition(&cx.region);
    let name = name.strip_prefix('/').unwrap_or(name);
    format!(
        "arn:{partition}:ssm:{}:{}:parameter/{name}",
        cx.region, cx.account
    )
}

/// The section a `--plan` run writes: real identifiers where resources exist.
pub fn planned(cx: &Cx, _args: &Args, now: &Observed) -> Db {
    let n = &now.names;
    let c = now.cluster.as_ref();
    let planned = || PLANNED.to_owned();
    // What is true now: a planned password change has not happened yet.
    let password_version = c.and_then(|c| match password_action(now, c) {
        PasswordAction::Adopt { version } => Some(version),
        PasswordAction::Keep | PasswordAction::Set { .. } => now.password.recorded.clone(),
    });
    Db {
        password_version,
        cluster_id: n.cluster.clone(),
        cluster_arn: c.map_or_else(planned, |c| c.arn.clone()),
        endpoint: c.and_then(|c| c.endpoint.clone()).unwrap_or_else(planned),
        reader_endpoint: c
            .and_then(|c| c.reader_endpoint.clone())
            .unwrap_or_else(planned),
        port: c.map_or(PORT, |c| c.port),
        user: c.map_or_else(|| MASTER_USER.to_owned(), |c| c.master_user.clone()),
        instance_id: n.instance.clone(),
        subnet_group: n.subnet_group.clone(),
        db_security_group_id: id_or_planned(now.db_sg.as_ref()),
        client_security_group_id: id_or_planned(now.client_sg.as_ref()),
        parameters: n
            .params
            .iter()
            .map(|name| NamedArn {
                name: name.clone(),
                arn: now
                    .params
                    .get(name)
                    .map_or_else(|| param_arn(cx, name), |p| p.arn.clone()),
            })
            .collect(),
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
