//! `--destroy`: the instance, then the cluster (with a final snapshot unless
//! `--skip-final-snapshot`), then — once the cluster is gone — the subnet group, the security
//! groups and the parameters. Only what carries this step's stagehand tags is deleted, and
//! nothing at all while the cluster has deletion protection on or an ECS service still uses
//! the database (unless `--force`). It needs only the app (and the db section's settings,
//! when the cluster has another name): everything is found by name and tags, so it resumes
//! after a failure at any point and is a no-op once everything is gone.

use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Result, ResultExt, aws};
use security_groups::{Group, Peer, Rules};
use stackdoc::{Core, Db};

use crate::observe::{self, Clients, owns_rds};
use crate::{Args, Names, guard};

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
        return Err(Error::usage(format!(
            "Aurora cluster {} has deletion protection on; turn it off first (rerun db-up --no-deletion-protection, or aws rds modify-db-cluster --db-cluster-identifier {} --no-deletion-protection --apply-immediately), then rerun --destroy",
            cl.id, cl.id
        )));
    }
    let foreign_cluster = cluster.as_ref().is_some_and(|cl| !cl.owned);
    let client_group = groups
        .iter()
        .find(|g| g.name == n.client_sg && owned(cx, g))
        .cloned();
    let users = match &client_group {
        Some(g) if !foreign_cluster => {
            let ecs = aws_sdk_ecs::Client::new(&cx.sdk);
            guard::users(cx, &ecs, &c.ec2, &g.id).await?
        }
        _ => Vec::new(),
    };
    if let (Some(first), Some(g)) = (users.first(), &client_group) {
        let more = match users.len() {
            1 => String::new(),
            k => format!(" (and {} more)", k - 1),
        };
        if !args.force {
            return Err(Error::usage(format!(
                "{first}{more} still uses the database: it carries the DB-client security group {} ({}) of Aurora cluster {}; destroy the service first (svc-up --destroy), or pass --force to delete the database anyway",
                g.name, g.id, n.cluster
            )));
        }
        kit::warn!(
            "{first}{more} still uses the database; deleting it anyway (--force), and leaving the DB-client security group {} ({}) in place for the service",
            g.name,
            g.id
        );
    }
    let keep_client_group = !users.is_empty();
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
                .deleted()?;
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
        .deleted()?;
        match &snapshot {
            Some(s) => kit::info!(
                "deleting Aurora cluster {} with final snapshot {s} (bring it back with: db-up --restore-from-snapshot {s}{})",
                cl.id,
                restore_flags(cx)
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
            } else if keep_client_group {
                delete_keeping_client(cx, &c, &groups, &n).await
            } else {
                security_groups::delete_owned(cx, &c.ec2, &groups).await
            }
        },
        delete_params(&c, param_tags),
    )?;
    Ok(())
}

fn owned(cx: &Cx, g: &Group) -> bool {
    cx.owns(g.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))
}

/// With --force while a service uses the client group: that group stays (a service's
/// network interfaces hold it), without its rule to the DB group, which is deleted.
async fn delete_keeping_client(cx: &Cx, c: &Clients, groups: &[Group], n: &Names) -> Result<()> {
    let Some(client) = groups.iter().find(|g| g.name == n.client_sg) else {
        return security_groups::delete_owned(cx, &c.ec2, groups).await;
    };
    let db_ids: Vec<&str> = groups
        .iter()
        .filter(|g| g.name == n.db_sg)
        .map(|g| g.id.as_str())
        .collect();
    let to_db = |r: &security_groups::Rule| matches!(&r.peer, Peer::Group(id) if db_ids.contains(&id.as_str()));
    let keep = Rules {
        ingress: client
            .ingress
            .iter()
            .filter(|r| !to_db(r))
            .cloned()
            .collect(),
        egress: client
            .egress
            .iter()
            .filter(|r| !to_db(r))
            .cloned()
            .collect(),
    };
    security_groups::reconcile(&c.ec2, client, &keep).await?;
    let rest: Vec<Group> = groups
        .iter()
        .filter(|g| g.name != n.client_sg)
        .cloned()
        .collect();
    security_groups::delete_owned(cx, &c.ec2, &rest).await
}

/// The settings to pass with --restore-from-snapshot on a document that no longer records
/// them (destroy removes the section), so the cluster comes back as it was.
fn restore_flags(cx: &Cx) -> String {
    let mut out = String::new();
    for (name, value) in &cx.settings {
        match value {
            serde_json::Value::Bool(true) => out.push_str(&format!(" --{name}")),
            serde_json::Value::Bool(false) => {}
            serde_json::Value::String(v) => out.push_str(&format!(" --{name} {v}")),
            other => out.push_str(&format!(" --{name} {other}")),
        }
    }
    if cx.app != kit::DEFAULT_APP {
        out.push_str(&format!(" --app {}", cx.app));
    }
    out
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
        .ctx(format!("reading the tags of DB subnet group {name}"))?;
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
    .deleted()?;
    kit::info!("deleted DB subnet group {name}");
    Ok(())
}

/// Both groups: by name in the core VPC, else by the ids the db section recorded, else by
/// name and this step's tags anywhere in the region (when the document has neither).
async fn groups(cx: &Cx, c: &Clients, n: &Names) -> Result<Vec<Group>> {
    let names = [n.db_sg.as_str(), n.client_sg.as_str()];
    if let Ok(Some(core)) = cx.doc.section::<Core>()
        && core.vpc_id != kit::PLANNED
    {
        let found = security_groups::find(&c.ec2, &core.vpc_id, &names).await?;
        return Ok(found.into_values().collect());
    }
    let recorded: Vec<String> = match cx.doc.section::<Db>() {
        Ok(Some(db)) => [db.db_security_group_id, db.client_security_group_id]
            .into_iter()
            .filter(|id| id != kit::PLANNED)
            .collect(),
        _ => Vec::new(),
    };
    let ids = if recorded.is_empty() {
        let filter = |k: &str, v: &[&str]| {
            aws_sdk_ec2::types::Filter::builder()
                .name(k)
                .set_values(Some(v.iter().map(|s| s.to_string()).collect()))
                .build()
        };
        let out = c
            .ec2
            .describe_security_groups()
            .filters(filter(&format!("tag:{}", kit::TAG_APP), &[&cx.app]))
            .filters(filter(&format!("tag:{}", kit::TAG_STEP), &[cx.section]))
            .filters(filter("group-name", &names))
            .send()
            .await
            .ctx(format!("finding security groups {}", names.join(", ")))?;
        out.security_groups()
            .iter()
            .filter_map(|g| g.group_id())
            .map(str::to_owned)
            .collect()
    } else {
        recorded
    };
    let found =
        futures::future::try_join_all(ids.iter().map(|id| security_groups::get(&c.ec2, id)))
            .await?;
    Ok(found.into_iter().flatten().collect())
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
            .ctx(format!("reading the tags of SSM parameter {name}"))?;
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
    // DeleteParameters reports names that are already gone as InvalidParameters, not an error.
    c.ssm
        .delete_parameters()
        .set_names(Some(names.clone()))
        .send()
        .await
        .ctx(format!("deleting SSM parameters {}", names.join(", ")))?;
    kit::info!("deleted SSM parameters {}", names.join(", "));
    Ok(())
}
