//! The ECS cluster: created with both Fargate capacity providers and Container Insights, or
//! corrected where core-up's own cluster drifted; deleted on `--destroy`.
//!
//! On a fresh account, ECS creates its service-linked role with the first cluster, and for a
//! while after the role exists ECS cannot assume it yet: CreateCluster (and
//! PutClusterCapacityProviders) with capacity providers answer "Unable to assume the service
//! linked role". That answer is waited through, bounded by `--timeout`. The failed create may
//! still leave the cluster, without its capacity providers: they are put after the create.

use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{
    CapacityProviderStrategyItem, ClusterField, ClusterSetting, ClusterSettingName,
};
use kit::wait;
use kit::{AwsContext, Cx, Error, Result};

use crate::observe::{Clients, Observed};
use crate::{CAPACITY_PROVIDERS, Op};

/// ECS's answer while its service-linked role is too new to assume, and only that answer.
pub fn role_lag<E, R>(e: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    e.code() == Some("InvalidParameterException")
        && e.message()
            .is_some_and(|m| m.contains("Unable to assume the service linked role"))
}

fn fargate_first() -> Result<CapacityProviderStrategyItem> {
    CapacityProviderStrategyItem::builder()
        .capacity_provider("FARGATE")
        .weight(1)
        .build()
        .map_err(|e| Error::aws(format!("internal: {e}")))
}

fn insights_on() -> ClusterSetting {
    ClusterSetting::builder()
        .name(ClusterSettingName::ContainerInsights)
        .value("enabled")
        .build()
}

pub async fn ensure(cx: &Cx, c: &Clients, now: &Observed, ops: &[Op]) -> Result<String> {
    let core = &now.settings.core;
    let mut arn = now.cluster.as_ref().map(|cl| cl.arn.clone());
    for op in ops {
        match op {
            Op::CreateCluster => arn = Some(create(cx, c, core).await?),
            Op::PutCapacityProviders(providers) => {
                let keep = now
                    .cluster
                    .as_ref()
                    .is_some_and(|cl| cl.has_default_strategy);
                put_providers(cx, c, core, providers, keep).await?;
            }
            Op::EnableInsights => {
                c.ecs
                    .update_cluster()
                    .cluster(core)
                    .settings(insights_on())
                    .send()
                    .await
                    .ctx(format!(
                        "turning on Container Insights for the ECS cluster {core}"
                    ))?;
                kit::info!("turned on Container Insights for ECS cluster {core}");
            }
            _ => {}
        }
    }
    arn.ok_or_else(|| Error::aws(format!("internal: no ECS cluster {core} and none planned")))
}

async fn create(cx: &Cx, c: &Clients, core: &str) -> Result<String> {
    let strategy = fargate_first()?;
    let out = wait::retrying(
        cx,
        &format!("creating the ECS cluster {core}"),
        role_lag,
        || {
            let mut req = c
                .ecs
                .create_cluster()
                .cluster_name(core)
                .default_capacity_provider_strategy(strategy.clone())
                .settings(insights_on());
            for p in CAPACITY_PROVIDERS {
                req = req.capacity_providers(p);
            }
            for (k, v) in cx.tags() {
                req = req.tags(aws_sdk_ecs::types::Tag::builder().key(k).value(v).build());
            }
            req.send()
        },
    )
    .await?;
    let cluster = out.cluster();
    let arn = cluster
        .and_then(|cl| cl.cluster_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!("created ECS cluster {core} (FARGATE, FARGATE_SPOT, Container Insights)");
    let has = cluster
        .map(|cl| cl.capacity_providers().to_vec())
        .unwrap_or_default();
    let lacking = CAPACITY_PROVIDERS
        .iter()
        .any(|p| !has.iter().any(|h| h.as_str() == *p));
    if lacking {
        // An earlier create that ECS refused left the cluster without its providers, and
        // this create found it (CreateCluster of an existing name answers that cluster).
        let providers: Vec<String> = CAPACITY_PROVIDERS.iter().map(|p| (*p).to_owned()).collect();
        put_providers(cx, c, core, &providers, false).await?;
    }
    Ok(arn)
}

/// Put the capacity providers (the call replaces the default strategy: the current one is
/// kept when there is one, else FARGATE first).
async fn put_providers(
    cx: &Cx,
    c: &Clients,
    core: &str,
    providers: &[String],
    keep_strategy: bool,
) -> Result<()> {
    let strategy = if keep_strategy {
        let out = c
            .ecs
            .describe_clusters()
            .clusters(core)
            .include(ClusterField::Settings)
            .send()
            .await
            .ctx(format!("reading the capacity provider strategy of {core}"))?;
        out.clusters()
            .first()
            .map(|cl| cl.default_capacity_provider_strategy().to_vec())
            .unwrap_or_default()
    } else {
        vec![fargate_first()?]
    };
    wait::retrying(
        cx,
        &format!("adding the Fargate capacity providers to the ECS cluster {core}"),
        role_lag,
        || {
            c.ecs
                .put_cluster_capacity_providers()
                .cluster(core)
                .set_capacity_providers(Some(providers.to_vec()))
                .set_default_capacity_provider_strategy(Some(strategy.clone()))
                .send()
        },
    )
    .await?;
    kit::info!(
        "set the capacity providers of ECS cluster {core}: {}",
        providers.join(", ")
    );
    Ok(())
}

/// Delete the cluster (already gone is fine). Services still in it are refused by the
/// destroy guard before anything is deleted.
pub async fn delete(cx: &Cx, c: &Clients, name: &str) -> Result<()> {
    let deleted = wait::retrying(
        cx,
        &format!("deleting the ECS cluster {name}"),
        |e: &SdkError<_, _>| e.code() == Some("UpdateInProgressException"),
        || c.ecs.delete_cluster().cluster(name).send(),
    )
    .await;
    match kit::ResultExt::deleted(deleted) {
        Ok(true) => kit::info!("deleted ECS cluster {name}"),
        Ok(false) => {}
        Err(e)
            if e.code()
                .is_some_and(|code| code.starts_with("ClusterContains")) =>
        {
            return Err(e.context_message(format!(
                "deleting the ECS cluster {name}: it still has services or tasks; delete them first (svc-up --destroy), then rerun core-up --destroy"
            )));
        }
        Err(e) => return Err(e),
    }
    Ok(())
}
