//! The Cloud Map private DNS namespace: created in the VPC and waited on through its
//! operation, or deleted the same way.

use aws_sdk_servicediscovery::operation::create_private_dns_namespace::CreatePrivateDnsNamespaceError;
use aws_sdk_servicediscovery::types::{
    FilterCondition, OperationStatus, OperationTargetType, ServiceFilter, ServiceFilterName,
};
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Result};

use crate::create::client_token;
use crate::layout;
use crate::observe::{Clients, Namespace, Observed};

/// The namespace: found, or created in the VPC and waited on through its operation.
pub async fn ensure(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    create: bool,
    vpc_id: &str,
) -> Result<(String, String)> {
    if let Some(n) = &now.namespace {
        return Ok((n.id.clone(), n.arn.clone()));
    }
    if !create {
        return Err(Error::aws("internal: no namespace and none planned"));
    }
    let name = layout::namespace_name(&now.settings.core);
    // Idempotent within the hour: a retried or rerun request joins the first one's
    // operation instead of starting a second.
    let request_id = client_token(&[vpc_id]);
    let mut tags = Vec::new();
    for (k, v) in cx.tags() {
        tags.push(
            aws_sdk_servicediscovery::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::aws(format!("internal: {e}")))?,
        );
    }
    let sent =
        c.sd.create_private_dns_namespace()
            .name(&name)
            .vpc(vpc_id)
            .creator_request_id(&request_id)
            .description(format!(
                "Service discovery for the {} core-infra (stagehand core-up)",
                now.settings.core
            ))
            .set_tags(Some(tags))
            .send()
            .await;
    let operation = match sent {
        Ok(out) => out.operation_id().unwrap_or_default().to_owned(),
        Err(e) => match e.as_service_error() {
            Some(CreatePrivateDnsNamespaceError::DuplicateRequest(d))
                if d.duplicate_operation_id().is_some() =>
            {
                d.duplicate_operation_id().unwrap_or_default().to_owned()
            }
            Some(CreatePrivateDnsNamespaceError::NamespaceAlreadyExists(x))
                if x.namespace_id().is_some() =>
            {
                let id = x.namespace_id().unwrap_or_default();
                return by_id(cx, c, id).await;
            }
            _ => {
                return Err(Error::from_sdk(
                    format!("creating the Cloud Map namespace {name} in VPC {vpc_id}"),
                    e,
                ));
            }
        },
    };
    kit::info!("creating Cloud Map namespace {name} (operation {operation})");
    let id = wait_operation(cx, c, &operation, &format!("namespace {name}")).await?;
    let id = id.ok_or_else(|| {
        Error::aws(format!(
            "the operation {operation} that created the namespace {name} names no namespace"
        ))
    })?;
    let found = by_id(cx, c, &id).await?;
    kit::info!("created Cloud Map namespace {name} {id}");
    Ok(found)
}

/// The namespace's id and ARN, once Cloud Map shows it (a namespace still being created is
/// not shown yet).
async fn by_id(cx: &Cx, c: &Clients, id: &str) -> Result<(String, String)> {
    let read = || async {
        let got =
            c.sd.get_namespace()
                .id(id)
                .send()
                .await
                .found(format!("reading the Cloud Map namespace {id}"))?;
        Ok::<_, Error>(got.map(|out| {
            (
                id.to_owned(),
                out.namespace()
                    .and_then(|n| n.arn())
                    .unwrap_or_default()
                    .to_owned(),
            )
        }))
    };
    if let Some(found) = read().await? {
        return Ok(found);
    }
    wait::until(cx, &format!("namespace {id}"), || async {
        Ok(match read().await? {
            Some(found) => Poll::Ready(found),
            None => Poll::Pending("not visible yet".into()),
        })
    })
    .await
}

/// Wait for a Cloud Map operation; returns the namespace it targets.
async fn wait_operation(
    cx: &Cx,
    c: &Clients,
    operation: &str,
    what: &str,
) -> Result<Option<String>> {
    wait::until(cx, what, || async {
        let out =
            c.sd.get_operation()
                .operation_id(operation)
                .send()
                .await
                .ctx(format!("reading the Cloud Map operation {operation}"))?;
        let Some(op) = out.operation() else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        match op.status() {
            Some(OperationStatus::Success) => Ok(Poll::Ready(
                op.targets()
                    .and_then(|t| t.get(&OperationTargetType::Namespace))
                    .cloned(),
            )),
            Some(OperationStatus::Fail) => Err(Error::aws(format!(
                "{what}: the Cloud Map operation {operation} failed: {}: {}",
                op.error_code().unwrap_or("unknown"),
                op.error_message().unwrap_or("no message")
            ))),
            Some(other) => Ok(Poll::Pending(other.as_str().to_lowercase())),
            None => Ok(Poll::Pending("unknown".into())),
        }
    })
    .await
}

/// The names of the services in the namespace.
pub async fn services(c: &Clients, ns: &Namespace) -> Result<Vec<String>> {
    let services =
        c.sd.list_services()
            .filters(
                ServiceFilter::builder()
                    .name(ServiceFilterName::NamespaceId)
                    .values(&ns.id)
                    .condition(FilterCondition::Eq)
                    .build()
                    .map_err(|e| Error::aws(format!("internal: {e}")))?,
            )
            .into_paginator()
            .send()
            .try_collect()
            .await
            .ctx(format!("listing the services of the namespace {}", ns.name))?;
    Ok(services
        .iter()
        .flat_map(|page| page.services())
        .map(|s| s.name().unwrap_or_default().to_owned())
        .collect())
}

/// Delete the namespace and wait for the deletion (already gone is fine).
pub async fn delete(cx: &Cx, c: &Clients, ns: &Namespace) -> Result<()> {
    let out =
        c.sd.delete_namespace()
            .id(&ns.id)
            .send()
            .await
            .found(format!("deleting the namespace {} {}", ns.name, ns.id))?;
    let Some(out) = out else {
        return Ok(());
    };
    let operation = out.operation_id().unwrap_or_default();
    wait_operation(
        cx,
        c,
        operation,
        &format!("deletion of the namespace {}", ns.name),
    )
    .await?;
    kit::info!("deleted Cloud Map namespace {} {}", ns.name, ns.id);
    Ok(())
}
