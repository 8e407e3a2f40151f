//! Carry out the plan. The subnet group and both security groups are made concurrently; then
//! the cluster is created, restored or modified while the groups' rules are set; as soon as
//! the cluster's endpoint is known the SSM parameters are written and the writer instance is
//! created, concurrently; and only then does db-up wait (unless `--no-wait`).
//!
//! Creates are idempotent by identifier: a create that answers "already exists" (a retry
//! after a lost response, a concurrent run) is success when the existing resource carries
//! this step's tags, and an error naming it when it does not.

use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};
use kit::wait;
use kit::{AwsContext, Cx, Error, Plan, Result};
use secret::{ExposeSecret, SecretString};
use security_groups::Group;
use stackdoc::{Db, NamedArn};

use crate::diff::{self, Modify, Op};
use crate::observe::{self, Clients, Cluster, Observed, owns_rds};
use crate::password::Action as PasswordAction;
use crate::{Args, ENGINE, INSTANCE_CLASS, MASTER_USER, Names, PORT, restore, waits};

/// What the plan asks of each resource.
#[derive(Default)]
struct Work {
    subnet_group: Option<Op>,
    cluster: Option<Op>,
    instance: Option<Op>,
    params: Vec<(usize, bool)>,
}

fn sort(plan: Plan<Op>) -> Work {
    let mut w = Work::default();
    for change in plan.changes {
        match change.op {
            Op::Keep => {}
            op @ (Op::CreateSubnetGroup | Op::ModifySubnetGroup) => w.subnet_group = Some(op),
            // Groups are created when missing and their rules always reconciled, which makes
            // no call when they already match.
            Op::SecurityGroup { .. } => {}
            op @ (Op::CreateCluster | Op::RestoreCluster | Op::ModifyCluster(_)) => {
                w.cluster = Some(op)
            }
            op @ (Op::CreateInstance | Op::ModifyInstanceClass) => w.instance = Some(op),
            Op::Param { index, create } => w.params.push((index, create)),
        }
    }
    w
}

pub(crate) fn rds_tags(cx: &Cx) -> Vec<Tag> {
    cx.tags()
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The password value observe read (to create, restore or rotate), with its version.
fn password_value(now: &Observed) -> Result<&(SecretString, String)> {
    now.password.value.as_ref().ok_or_else(|| {
        Error::aws(format!(
            "the DB password was not read from {}; rerun db-up",
            now.password
                .secret
                .as_deref()
                .unwrap_or("the password secret")
        ))
    })
}

pub async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Db> {
    let c = Clients::new(cx);
    let work = sort(plan);
    let n = &now.names;
    let restoring = matches!(work.cluster, Some(Op::RestoreCluster));
    // The version the cluster's password will have when this run ends, if known.
    let mut password_version = match (&work.cluster, &now.cluster) {
        (Some(Op::CreateCluster), _) => Some(password_value(&now)?.1.clone()),
        (Some(Op::ModifyCluster(m)), _) if m.password => Some(password_value(&now)?.1.clone()),
        (_, Some(cl)) => match diff::password_action(&now, cl) {
            PasswordAction::Adopt { version } => Some(version),
            _ => now.password.recorded.clone(),
        },
        // Restored: the snapshot's password until it is set below.
        (_, None) => None,
    };
    // Nothing to change and both already available: there is nothing to wait for either.
    let already_available = work.cluster.is_none()
        && work.instance.is_none()
        && now
            .cluster
            .as_ref()
            .is_some_and(|c| c.status == "available")
        && now
            .instance
            .as_ref()
            .is_some_and(|i| i.status == "available");
    let vpc_id = now.upstream.vpc_id.clone().ok_or_else(|| {
        Error::usage("the core section has no VPC id; run core-up (without --plan) first")
    })?;

    // 1. The subnet group and both security groups, concurrently.
    let db_sg_description = format!("stagehand {}: Aurora cluster {}", cx.app, n.cluster);
    let client_sg_description = format!(
        "stagehand {}: clients of Aurora cluster {} (tasks)",
        cx.app, n.cluster
    );
    let (_, db_sg, client_sg) = futures::try_join!(
        subnet_group(cx, &c, &now, work.subnet_group.as_ref()),
        group(
            cx,
            &c,
            &vpc_id,
            &n.db_sg,
            &db_sg_description,
            now.db_sg.clone(),
        ),
        group(
            cx,
            &c,
            &vpc_id,
            &n.client_sg,
            &client_sg_description,
            now.client_sg.clone(),
        ),
    )?;

    // 2. The groups' rules (no call when they match) while the cluster is made or modified.
    let (db_rules, client_rules) = (diff::db_rules(&client_sg.id), diff::client_rules(&db_sg.id));
    let (_, _, cluster) = futures::try_join!(
        security_groups::reconcile(&c.ec2, &db_sg, &db_rules),
        security_groups::reconcile(&c.ec2, &client_sg, &client_rules),
        cluster(cx, &c, args, &now, work.cluster, &db_sg.id),
    )?;

    // 3. The endpoint is known: parameters and the writer instance, concurrently.
    let (params, ()) = futures::try_join!(
        write_params(cx, &c, &now, &cluster, &work.params),
        instance(cx, &c, n, work.instance.as_ref()),
    )?;

    // 4. Wait for Aurora, unless asked not to.
    let cluster = if already_available {
        cluster
    } else if cx.no_wait() {
        kit::info!(
            "Aurora cluster {} is {}; not waiting (--no-wait); a rerun waits for it{}",
            cluster.id,
            cluster.status,
            if restoring {
                " and then sets the stack's master password"
            } else {
                ""
            }
        );
        cluster
    } else {
        waits::available(cx, &c, n).await?
    };

    // 5. A restored cluster has the snapshot's password: set the stack's (see password.rs).
    if restoring && !cx.no_wait() {
        let (value, version) = password_value(&now)?;
        let m = Modify {
            password: true,
            ..Modify::default()
        };
        modify_cluster(cx, &c, &cluster, &m, &db_sg.id, Some(value)).await?;
        password_version = Some(version.clone());
    }

    Ok(Db {
        password_version,
        cluster_id: cluster.id.clone(),
        cluster_arn: cluster.arn.clone(),
        endpoint: cluster.endpoint.clone().unwrap_or_default(),
        reader_endpoint: cluster.reader_endpoint.clone().unwrap_or_default(),
        port: cluster.port,
        user: cluster.master_user.clone(),
        instance_id: n.instance.clone(),
        subnet_group: n.subnet_group.clone(),
        db_security_group_id: db_sg.id,
        client_security_group_id: client_sg.id,
        parameters: params,
    })
}

async fn subnet_group(cx: &Cx, c: &Clients, now: &Observed, op: Option<&Op>) -> Result<()> {
    let name = &now.names.subnet_group;
    let subnets = now.upstream.private_subnets.clone();
    match op {
        Some(Op::CreateSubnetGroup) => {
            let created = c
                .rds
                .create_db_subnet_group()
                .db_subnet_group_name(name)
                .db_subnet_group_description(format!(
                    "stagehand {}: private subnets of Aurora cluster {}",
                    cx.app, now.names.cluster
                ))
                .set_subnet_ids(Some(subnets))
                .set_tags(Some(rds_tags(cx)))
                .send()
                .await
                .created(format!("creating DB subnet group {name}"))?;
            match created {
                Some(_) => kit::info!("created DB subnet group {name}"),
                None => existing_subnet_group(cx, c, name).await?,
            }
        }
        Some(Op::ModifySubnetGroup) => {
            c.rds
                .modify_db_subnet_group()
                .db_subnet_group_name(name)
                .set_subnet_ids(Some(subnets))
                .send()
                .await
                .ctx(format!(
                    "setting the subnets of DB subnet group {name} to the private subnets"
                ))?;
            kit::info!("DB subnet group {name}: subnets set to the private subnets");
        }
        _ => {}
    }
    Ok(())
}

async fn group(
    cx: &Cx,
    c: &Clients,
    vpc_id: &str,
    name: &str,
    description: &str,
    found: Option<Group>,
) -> Result<Group> {
    match found {
        Some(g) => Ok(g),
        None => security_groups::create(cx, &c.ec2, vpc_id, name, description).await,
    }
}

async fn cluster(
    cx: &Cx,
    c: &Clients,
    args: &Args,
    now: &Observed,
    op: Option<Op>,
    db_sg_id: &str,
) -> Result<Cluster> {
    let id = &now.names.cluster;
    match op {
        Some(Op::CreateCluster) => create_cluster(cx, c, args, now, db_sg_id).await,
        Some(Op::RestoreCluster) => {
            let snapshot = now.snapshot.as_ref().ok_or_else(|| {
                Error::aws(format!(
                    "the snapshot to restore Aurora cluster {id} from was not found; rerun db-up"
                ))
            })?;
            restore::restore(cx, c, args, now, snapshot, db_sg_id).await
        }
        Some(Op::ModifyCluster(m)) => {
            let found = now.cluster.clone().expect("a modified cluster exists");
            let value = if m.password {
                Some(&password_value(now)?.0)
            } else {
                None
            };
            modify_cluster(cx, c, &found, &m, db_sg_id, value).await
        }
        _ => now
            .cluster
            .clone()
            .ok_or_else(|| Error::aws(format!("Aurora cluster {id} is gone; rerun db-up"))),
    }
}

async fn create_cluster(
    cx: &Cx,
    c: &Clients,
    args: &Args,
    now: &Observed,
    db_sg_id: &str,
) -> Result<Cluster> {
    let id = &now.names.cluster;
    let (password, _) = password_value(now)?;
    let created = c
        .rds
        .create_db_cluster()
        .db_cluster_identifier(id)
        .engine(ENGINE)
        .engine_version(&args.engine_version)
        .engine_mode("provisioned")
        .serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfiguration::builder()
                .min_capacity(args.min_acu)
                .max_capacity(args.max_acu)
                .build(),
        )
        .master_username(MASTER_USER)
        .master_user_password(password.expose_secret())
        .port(i32::from(PORT))
        .db_subnet_group_name(&now.names.subnet_group)
        .vpc_security_group_ids(db_sg_id)
        .storage_encrypted(true)
        .backup_retention_period(args.backup_retention_days)
        .copy_tags_to_snapshot(true)
        .deletion_protection(args.deletion_protection)
        .set_tags(Some(rds_tags(cx)))
        .send()
        .await
        .created(format!("creating Aurora cluster {id}"))?;
    match created.as_ref().and_then(|out| out.db_cluster()) {
        Some(d) => {
            let cluster = observe::cluster_of(cx, d);
            kit::info!(
                "created Aurora cluster {id} (Serverless v2, {}-{} ACU); endpoint {}",
                args.min_acu,
                args.max_acu,
                cluster.endpoint.as_deref().unwrap_or("(pending)")
            );
            if cluster.endpoint.is_some() {
                return Ok(cluster);
            }
        }
        None if created.is_none() => {
            kit::debug!("Aurora cluster {id} already exists: a retried create");
        }
        None => {}
    }
    existing_cluster(cx, c, id).await
}

/// The cluster a create or restore answered for with "already exists" (or without an
/// endpoint): success when it is ours.
pub(crate) async fn existing_cluster(cx: &Cx, c: &Clients, id: &str) -> Result<Cluster> {
    match observe::cluster(cx, &c.rds, id).await? {
        Some(cl) if cl.owned => Ok(cl),
        Some(_) => Err(Error::aws(format!(
            "Aurora cluster {id} was just created by someone else (it does not carry db-up's stagehand tags for app {}); choose another --cluster-name",
            cx.app
        ))),
        None => Err(Error::aws(format!(
            "Aurora cluster {id} vanished after creation; rerun db-up"
        ))),
    }
}

/// A subnet group that "already exists" on create: ours (by its tags) is success.
async fn existing_subnet_group(cx: &Cx, c: &Clients, name: &str) -> Result<()> {
    let group = observe::subnet_group(&c.rds, name).await?.ok_or_else(|| {
        Error::aws(format!(
            "DB subnet group {name} exists but cannot be described; rerun db-up"
        ))
    })?;
    let tags = c
        .rds
        .list_tags_for_resource()
        .resource_name(&group.arn)
        .send()
        .await
        .ctx(format!("reading the tags of DB subnet group {name}"))?;
    if owns_rds(cx, tags.tag_list()) {
        kit::debug!("DB subnet group {name} already exists: a retried create");
        Ok(())
    } else {
        Err(Error::aws(format!(
            "DB subnet group {name} was just created by someone else (it does not carry db-up's stagehand tags for app {}); choose another --cluster-name",
            cx.app
        )))
    }
}

async fn modify_cluster(
    cx: &Cx,
    c: &Clients,
    found: &Cluster,
    m: &Modify,
    db_sg_id: &str,
    password: Option<&SecretString>,
) -> Result<Cluster> {
    let id = &found.id;
    // AWS refuses ModifyDBCluster unless the cluster is available.
    if found.status != "available" {
        wait::until(
            cx,
            &format!("Aurora cluster {id} before changing it"),
            || waits::cluster_ready(cx, &c.rds, id),
        )
        .await?;
    }
    let mut req = c
        .rds
        .modify_db_cluster()
        .db_cluster_identifier(id)
        .apply_immediately(true)
        .set_backup_retention_period(m.backup_retention_days)
        .set_deletion_protection(m.deletion_protection)
        .set_copy_tags_to_snapshot(m.copy_tags_to_snapshot);
    if let Some((min, max)) = m.scaling {
        req = req.serverless_v2_scaling_configuration(
            ServerlessV2ScalingConfiguration::builder()
                .min_capacity(min)
                .max_capacity(max)
                .build(),
        );
    }
    if m.security_groups {
        req = req.vpc_security_group_ids(db_sg_id);
    }
    if let (true, Some(p)) = (m.password, password) {
        req = req.master_user_password(p.expose_secret());
    }
    let out = req
        .send()
        .await
        .ctx(format!("changing Aurora cluster {id}"))?;
    let settings = *m
        != Modify {
            password: m.password,
            ..Modify::default()
        };
    match (settings, m.password) {
        (true, true) => kit::info!(
            "Aurora cluster {id}: settings corrected and master password set to the secret's current version (applied immediately)"
        ),
        (false, true) => kit::info!(
            "Aurora cluster {id}: master password set to the secret's current version (applied immediately)"
        ),
        _ => kit::info!("Aurora cluster {id}: settings corrected (applied immediately)"),
    }
    Ok(out
        .db_cluster()
        .map(|d| observe::cluster_of(cx, d))
        .unwrap_or_else(|| found.clone()))
}

async fn instance(cx: &Cx, c: &Clients, n: &Names, op: Option<&Op>) -> Result<()> {
    let id = &n.instance;
    match op {
        Some(Op::CreateInstance) => {
            let created = c
                .rds
                .create_db_instance()
                .db_instance_identifier(id)
                .db_cluster_identifier(&n.cluster)
                .engine(ENGINE)
                .db_instance_class(INSTANCE_CLASS)
                .publicly_accessible(false)
                .set_tags(Some(rds_tags(cx)))
                .send()
                .await
                .created(format!(
                    "creating Aurora instance {id} in cluster {}",
                    n.cluster
                ))?;
            match created {
                Some(_) => kit::info!("created Aurora instance {id} ({INSTANCE_CLASS})"),
                None => match observe::instance(cx, &c.rds, id).await? {
                    Some(i) if i.owned && i.cluster == n.cluster => {
                        kit::debug!("Aurora instance {id} already exists: a retried create");
                    }
                    _ => {
                        return Err(Error::aws(format!(
                            "DB instance {id} was just created by someone else (not db-up's for cluster {} of app {}); choose another --cluster-name",
                            n.cluster, cx.app
                        )));
                    }
                },
            }
        }
        Some(Op::ModifyInstanceClass) => {
            c.rds
                .modify_db_instance()
                .db_instance_identifier(id)
                .db_instance_class(INSTANCE_CLASS)
                .apply_immediately(true)
                .send()
                .await
                .ctx(format!("changing Aurora instance {id} to {INSTANCE_CLASS}"))?;
            kit::info!("Aurora instance {id}: class set to {INSTANCE_CLASS}");
        }
        _ => {}
    }
    Ok(())
}

async fn write_params(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    cluster: &Cluster,
    work: &[(usize, bool)],
) -> Result<Vec<NamedArn>> {
    let values = diff::param_values(Some(cluster));
    let writes = work.iter().map(|&(index, create)| {
        let name = &now.names.params[index];
        let value = values[index].clone();
        async move {
            let value = value.ok_or_else(|| {
                Error::aws(format!(
                    "Aurora cluster {} reported no endpoint; rerun db-up",
                    cluster.id
                ))
            })?;
            put_param(cx, c, name, &value, create).await
        }
    });
    futures::future::try_join_all(writes).await?;
    Ok(now
        .names
        .params
        .iter()
        .map(|name| NamedArn {
            name: name.clone(),
            arn: now
                .params
                .get(name)
                .map_or_else(|| diff::param_arn(cx, name), |p| p.arn.clone()),
        })
        .collect())
}

async fn put_param(cx: &Cx, c: &Clients, name: &str, value: &str, create: bool) -> Result<()> {
    let put = |overwrite: bool| {
        let mut req = c
            .ssm
            .put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::String)
            .description(format!("stagehand {}: written by db-up", cx.app));
        if overwrite {
            req = req.overwrite(true);
        } else {
            // Tags only on creation: AWS refuses tags together with Overwrite.
            req = req.set_tags(Some(
                cx.tags()
                    .iter()
                    .map(|(k, v)| {
                        aws_sdk_ssm::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .expect("key and value are set")
                    })
                    .collect(),
            ));
        }
        req.send()
    };
    let doing = format!("writing SSM parameter {name}");
    if !create || put(false).await.created(&doing)?.is_none() {
        // An existing parameter (ours after a lost answer, or one to correct) is overwritten.
        put(true).await.ctx(&doing)?;
    }
    kit::info!("SSM parameter {name} = {value}");
    Ok(())
}
