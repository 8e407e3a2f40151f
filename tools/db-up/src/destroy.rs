//! `--destroy`: the instance, then the cluster (with a final snapshot unless
//! `--skip-final-snapshot`), then — once the cluster is gone — the subnet group, the security
//! groups and the parameters. Only what carries this step's stagehand tags is deleted, and
//! nothing at all while the cluster has deletion protection on.

use kit::wait::{self, Poll};
use kit::{Cx, Error, Result, aws};
use security_groups::Group;
use stackdoc::{Core, Db};

use crate::observe::{self, Clients, owns_rds};
use crate::{Args, Names};

pub async fn destroy(cx: &Cx, args: &Args) -> Result<()> {
    let n = Names::new(cx, args);
    let c = Clients::new(cx);
    let (cluster, instance, subnet_group, groups, param_tags) = futures::try_join!(
        observe::cluster(cx, &c.rds, &n.cluster),
        observe::instance(cx, &c.rds, &n.instance),
        subnet_group_owned(cx, &c, &n.subnet_group),
        groups(cx, &c, &n),
        params_owned(cx, &c, &n),
    )?;

    // Refuse before deleting anything: a half-deleted database is the worst outcome.
    if let Some(cl) = cluster
        .as_ref()
        .filter(|cl| cl.owned && cl.deletion_protection)
    {
        return Err(Error::aws(format!(
            "Aurora cluster {} has deletion protection on; turn it off first (rerun db-up --no-deletion-protection, or aws rds modify-db-cluster --db-cluster-identifier {} --no-deletion-protection --apply-immediately), then rerun --destroy",
            cl.id, cl.id
        )));
    }
    let foreign_cluster = cluster.as_ref().is_some_and(|cl| !cl.owned);
    if let Some(cl) = cluster.as_ref().filter(|cl| !cl.owned) {
        kit::warn!(
            "Aurora cluster {} does not carry db-up's stagehand tags for app {}: left in place, with its instance, subnet group and security groups",
            cl.id,
            cx.app
        );
    }

    if !foreign_cluster {
        match &instance {
            Some(i) if i.owned => {
                wait::retrying(
                    cx,
                    &format!("deleting Aurora instance {}", i.id),
                    aws::is_dependency_violation,
                    || {
                        c.rds
                            .delete_db_instance()
                            .db_instance_identifier(&i.id)
                            .send()
                    },
                )
                .await
                .map(drop)
                .or_else(gone)?;
                kit::info!("deleting Aurora instance {}", i.id);
            }
            Some(i) => kit::warn!(
                "DB instance {} does not carry db-up's stagehand tags: left in place",
                i.id
            ),
            None => {}
        }
    }

    if let Some(cl) = cluster.as_ref().filter(|cl| cl.owned) {
        let snapshot = (!args.skip_final_snapshot).then(|| final_snapshot_name(&cl.id));
        // Retried while the instance is still leaving the cluster (InvalidDBClusterStateFault).
        wait::retrying(
            cx,
            &format!("deleting Aurora cluster {}", cl.id),
            aws::is_dependency_violation,
            || {
                let req = c.rds.delete_db_cluster().db_cluster_identifier(&cl.id);
                match &snapshot {
                    Some(s) => req.final_db_snapshot_identifier(s),
                    None => req.skip_final_snapshot(true),
                }
                .send()
            },
        )
        .await
        .map(drop)
        .or_else(gone)?;
        match &snapshot {
            Some(s) => kit::info!(
                "deleting Aurora cluster {} with final snapshot {s} (restore with: aws rds restore-db-cluster-from-snapshot --snapshot-identifier {s} --db-cluster-identifier {} --engine {})",
                cl.id,
                cl.id,
                crate::ENGINE
            ),
            None => kit::warn!(
                "deleting Aurora cluster {} without a final snapshot (--skip-final-snapshot)",
                cl.id
            ),
        }
        // The subnet group and the security groups stay in use until the cluster is gone.
        wait::until(
            cx,
            &format!("deletion of Aurora cluster {}", cl.id),
            || async {
                Ok(match observe::cluster(cx, &c.rds, &cl.id).await? {
                    None => Poll::Ready(()),
                    Some(now) => Poll::Pending(now.status),
                })
            },
        )
        .await?;
    }

    let keep_network = foreign_cluster;
    futures::try_join!(
        async {
            match subnet_group {
                Some(name) if !keep_network => delete_subnet_group(cx, &c, &name).await,
                _ => Ok(()),
            }
        },
        async {
            if keep_network {
                Ok(())
            } else {
                security_groups::delete_owned(cx, &c.ec2, &groups).await
            }
        },
        delete_params(&c, param_tags),
    )?;
    Ok(())
}

/// "Not found" on delete means someone got there first.
fn gone(e: Error) -> Result<()> {
    if e.message.contains("NotFound") {
        Ok(())
    } else {
        Err(e)
    }
}

/// `<cluster>-final-<UTC timestamp>`, in the lowercase letters, digits and hyphens RDS keeps.
pub fn final_snapshot_name(cluster: &str) -> String {
    let now = time::OffsetDateTime::now_utc();
    let stamp = now
        .format(time::macros::format_description!(
            "[year][month][day]-[hour][minute][second]"
        ))
        .unwrap_or_else(|_| now.unix_timestamp().to_string());
    format!("{cluster}-final-{stamp}")
}

/// The subnet group's name when it exists and is this step's.
async fn subnet_group_owned(cx: &Cx, c: &Clients, name: &str) -> Result<Option<String>> {
    let Some(group) = observe::subnet_group(&c.rds, name).await? else {
        return Ok(None);
    };
    let tags = c
        .rds
        .list_tags_for_resource()
        .resource_name(&group.arn)
        .send()
        .await
        .map_err(|e| {
            Error::aws(format!(
                "reading the tags of DB subnet group {name}: {}",
                aws::describe(&e)
            ))
        })?;
    if owns_rds(cx, tags.tag_list()) {
        Ok(Some(group.name))
    } else {
        kit::warn!("DB subnet group {name} does not carry db-up's stagehand tags: left in place");
        Ok(None)
    }
}

async fn delete_subnet_group(cx: &Cx, c: &Clients, name: &str) -> Result<()> {
    wait::retrying(
        cx,
        &format!("deleting DB subnet group {name}"),
        aws::is_dependency_violation,
        || {
            c.rds
                .delete_db_subnet_group()
                .db_subnet_group_name(name)
                .send()
        },
    )
    .await
    .map(drop)
    .or_else(gone)?;
    kit::info!("deleted DB subnet group {name}");
    Ok(())
}

/// Both groups: by name in the core VPC, or by the ids the db section recorded.
async fn groups(cx: &Cx, c: &Clients, n: &Names) -> Result<Vec<Group>> {
    if let Ok(Some(core)) = cx.doc.section::<Core>()
        && core.vpc_id != kit::PLANNED
    {
        let found = security_groups::find(
            &c.ec2,
            &core.vpc_id,
            &[n.db_sg.as_str(), n.client_sg.as_str()],
        )
        .await?;
        return Ok(found.into_values().collect());
    }
    let mut out = Vec::new();
    if let Ok(Some(db)) = cx.doc.section::<Db>() {
        for id in [db.db_security_group_id, db.client_security_group_id] {
            if id != kit::PLANNED
                && let Some(g) = security_groups::get(&c.ec2, &id).await?
            {
                out.push(g);
            }
        }
    }
    Ok(out)
}

/// The parameters that exist and carry this step's tags.
async fn params_owned(cx: &Cx, c: &Clients, n: &Names) -> Result<Vec<String>> {
    let found = observe::params(&c.ssm, &n.params).await?;
    let checks = found.keys().map(|name| async move {
        let tags = c
            .ssm
            .list_tags_for_resource()
            .resource_type(aws_sdk_ssm::types::ResourceTypeForTagging::Parameter)
            .resource_id(name)
            .send()
            .await
            .map_err(|e| {
                Error::aws(format!(
                    "reading the tags of SSM parameter {name}: {}",
                    aws::describe(&e)
                ))
            })?;
        let owned = cx.owns(tags.tag_list().iter().map(|t| (t.key(), t.value())));
        if !owned {
            kit::warn!("SSM parameter {name} does not carry db-up's stagehand tags: left in place");
        }
        Ok::<_, Error>(owned.then(|| name.clone()))
    });
    Ok(futures::future::try_join_all(checks)
        .await?
        .into_iter()
        .flatten()
        .collect())
}

async fn delete_params(c: &Clients, names: Vec<String>) -> Result<()> {
    if names.is_empty() {
        return Ok(());
    }
    c.ssm
        .delete_parameters()
        .set_names(Some(names.clone()))
        .send()
        .await
        .map_err(|e| {
            Error::aws(format!(
                "deleting SSM parameters {}: {}",
                names.join(", "),
                aws::describe(&e)
            ))
        })?;
    kit::info!("deleted SSM parameters {}", names.join(", "));
    Ok(())
}
