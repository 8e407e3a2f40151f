//! The destroy guard: the database is not deleted while an ECS service still uses it, that
//! is, carries the DB-client security group. Found two ways, both read-only: the services'
//! own network configuration (in the clusters the document names, else every cluster of the
//! account and region), which names the service even while it runs no task; and the network
//! interfaces that carry the group, which catch running ECS tasks in clusters the document
//! does not name.

use kit::{AwsContext, Cx, Result};

/// One user of the group, as a person names it.
pub type User = String;

/// The ECS clusters to look in: those the document names (svc-up's, core-up's), else all.
async fn clusters(cx: &Cx, ecs: &aws_sdk_ecs::Client) -> Result<Vec<String>> {
    let named: Vec<String> = [("svc", "cluster_name"), ("core", "cluster_arn")]
        .iter()
        .filter_map(|(section, key)| {
            cx.doc
                .raw_section(section)?
                .get(key)?
                .as_str()
                .filter(|v| !v.is_empty() && *v != kit::PLANNED)
                .map(str::to_owned)
        })
        .collect();
    if !named.is_empty() {
        return Ok(named);
    }
    ecs_service::clusters(ecs).await
}

/// The services of one cluster whose network configuration carries `group`.
async fn services_in(ecs: &aws_sdk_ecs::Client, cluster: &str, group: &str) -> Result<Vec<User>> {
    let services = ecs_service::services_in(ecs, cluster).await?;
    Ok(services
        .iter()
        .filter(|s| {
            s.network_configuration()
                .and_then(|n| n.awsvpc_configuration())
                .is_some_and(|a| a.security_groups().iter().any(|g| g == group))
        })
        .map(|s| {
            format!(
                "ECS service {} (cluster {})",
                s.service_name().unwrap_or_default(),
                ecs_service::cluster_name(cluster)
            )
        })
        .collect())
}

/// ECS task network interfaces that carry `group`.
async fn task_interfaces(ec2: &aws_sdk_ec2::Client, group: &str) -> Result<Vec<User>> {
    let out = ec2
        .describe_network_interfaces()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .values(group)
                .build(),
        )
        .send()
        .await
        .ctx(format!(
            "describing the network interfaces that carry {group}"
        ))?;
    Ok(out
        .network_interfaces()
        .iter()
        .filter(|n| {
            n.description()
                .is_some_and(|d| d.contains(":ecs:") && d.contains("attachment/"))
        })
        .map(|n| {
            format!(
                "an ECS task's network interface {}",
                n.network_interface_id().unwrap_or_default()
            )
        })
        .collect())
}

/// Everything ECS that uses the DB-client group `group`.
pub async fn users(
    cx: &Cx,
    ecs: &aws_sdk_ecs::Client,
    ec2: &aws_sdk_ec2::Client,
    group: &str,
) -> Result<Vec<User>> {
    let (services, interfaces) = futures::try_join!(
        async {
            let clusters = clusters(cx, ecs).await?;
            let found =
                futures::future::try_join_all(clusters.iter().map(|c| services_in(ecs, c, group)))
                    .await?;
            Ok::<_, kit::Error>(found.into_iter().flatten().collect::<Vec<_>>())
        },
        task_interfaces(ec2, group),
    )?;
    // A service's running tasks show as interfaces too: name the services, and interfaces
    // only when no service was found.
    Ok(if services.is_empty() {
        interfaces
    } else {
        services
    })
}
