//! Carry out the plan. The subnet group and both security groups are made concurrently; then
//! the cluster is created (or modified) while the groups' rules are set; as soon as the
//! cluster's endpoint is known the SSM parameters are written and the writer instance is
//! created, concurrently; and only then does db-up wait (unless `--no-wait`).

use std::fmt;

use aws_sdk_rds::types::{ServerlessV2ScalingConfiguration, Tag};
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Plan, Result, aws};
use security_groups::Group;
use stackdoc::{Db, NamedArn};

use crate::diff::{self, Modify, Op};
use crate::observe::{self, Clients, Cluster, Observed};
use crate::{Args, ENGINE, INSTANCE_CLASS, MASTER_USER, Names, PORT};

/// The master password: shows as <redacted> in any Debug output, so no log line can leak it.
struct Password(String);

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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
            op @ (Op::CreateCluster | Op::ModifyCluster(_)) => w.cluster = Some(op),
            op @ (Op::CreateInstance | Op::ModifyInstanceClass) => w.instance = Some(op),
            Op::Param { index, create } => w.params.push((index, create)),
        }
    }
    w
}

fn rds_tags(cx: &Cx) -> Vec<Tag> {
    cx.tags()
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Db> {
    let c = Clients::new(cx);
    let work = sort(plan);
    let n = &now.names;
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
            "Aurora cluster {} is {}; not waiting (--no-wait); a rerun waits for it",
            cluster.id,
            cluster.status
        );
        cluster
    } else {
        wait_available(cx, &c, n).await?
    };

    Ok(Db {
        password_version: None,
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
                .await;
            match created {
                Ok(_) => kit::info!("created DB subnet group {name}"),
                Err(e) if aws::is_already_exists(&e) => {}
                Err(e) => {
                    return Err(Error::aws(format!(
                        "creating DB subnet group {name}: {}",
                        aws::describe(&e)
                    )));
                }
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
        Some(Op::ModifyCluster(m)) => {
            let found = now.cluster.clone().expect("a modified cluster exists");
            modify_cluster(cx, c, &found, &m, db_sg_id).await
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
    let password = secret_password(cx, &now.upstream.password_secret).await?;
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
        .master_user_password(&password.0)
        .port(i32::from(PORT))
        .db_subnet_group_name(&now.names.subnet_group)
        .vpc_security_group_ids(db_sg_id)
        .storage_encrypted(true)
        .backup_retention_period(args.backup_retention_days)
        .copy_tags_to_snapshot(true)
        .deletion_protection(args.deletion_protection)
        .set_tags(Some(rds_tags(cx)))
        .send()
        .await;
    drop(password);
    match created {
        Ok(out) => {
            let cluster = out
                .db_cluster()
                .map(|d| observe::cluster_of(cx, d))
                .ok_or_else(|| Error::aws(format!("CreateDBCluster {id} returned no cluster")))?;
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
        // Another run created it between our look and our create.
        Err(e) if aws::is_already_exists(&e) => {}
        Err(e) => {
            return Err(Error::aws(format!(
                "creating Aurora cluster {id}: {}",
                aws::describe(&e)
            )));
        }
    }
    observe::cluster(cx, &c.rds, id)
        .await?
        .ok_or_else(|| Error::aws(format!("Aurora cluster {id} vanished after creation")))
}

/// The master password from the secrets section's secret, read now and dropped after use.
async fn secret_password(cx: &Cx, arn: &str) -> Result<Password> {
    let sm = aws_sdk_secretsmanager::Client::new(&cx.sdk);
    let out = sm
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .ctx(format!(
            "reading the DB master password from secret {arn} (run secrets-init if it is missing)"
        ))?;
    match out.secret_string() {
        Some(s) if !s.is_empty() => Ok(Password(s.to_owned())),
        _ => Err(Error::aws(format!(
            "the DB-password secret {arn} holds no text value; rotate it with secrets-init --rotate"
        ))),
    }
}

async fn modify_cluster(
    cx: &Cx,
    c: &Clients,
    found: &Cluster,
    m: &Modify,
    db_sg_id: &str,
) -> Result<Cluster> {
    let id = &found.id;
    // AWS refuses ModifyDBCluster unless the cluster is available.
    if found.status != "available" {
        wait::until(
            cx,
            &format!("Aurora cluster {id} before changing it"),
            || cluster_ready(cx, &c.rds, id),
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
    let out = req
        .send()
        .await
        .ctx(format!("correcting the settings of Aurora cluster {id}"))?;
    kit::info!("Aurora cluster {id}: settings corrected (applied immediately)");
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
                .await;
            match created {
                Ok(_) => kit::info!("created Aurora instance {id} ({INSTANCE_CLASS})"),
                Err(e) if aws::is_already_exists(&e) => {}
                Err(e) => {
                    return Err(Error::aws(format!(
                        "creating Aurora instance {id} in cluster {}: {}",
                        n.cluster,
                        aws::describe(&e)
                    )));
                }
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
    let result = if create {
        match put(false).await {
            Err(e) if aws::is_already_exists(&e) => put(true).await,
            other => other,
        }
    } else {
        put(true).await
    };
    result.ctx(format!("writing SSM parameter {name}"))?;
    kit::info!("SSM parameter {name} = {value}");
    Ok(())
}

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

async fn cluster_ready(cx: &Cx, rds: &aws_sdk_rds::Client, id: &str) -> Result<Poll<Cluster>> {
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
async fn wait_available(cx: &Cx, c: &Clients, n: &Names) -> Result<Cluster> {
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
