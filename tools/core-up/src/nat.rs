//! The NAT gateway and its Elastic IP: created, waited for, deleted.

use aws_sdk_ec2::types::{DomainType, ResourceType};
use kit::wait::{self, Poll};
use kit::{AwsContext, Cx, Error, Result};

use crate::create::{client_token, create_or_find, no_sdk_retry, settle, tag_spec};
use crate::layout;
use crate::observe::{Clients, Observed, filter};

/// A new Elastic IP for the NAT gateway. AllocateAddress has no idempotency token: a lost
/// answer is followed by a look for a free address of ours before another is allocated.
pub async fn allocate_eip(cx: &Cx, c: &Clients, core: &str) -> Result<String> {
    let name = layout::nat_name(core);
    let id = create_or_find(
        &format!("allocating the Elastic IP {name} for the NAT gateway"),
        || async {
            c.ec2
                .allocate_address()
                .domain(DomainType::Vpc)
                .tag_specifications(tag_spec(cx, ResourceType::ElasticIp, &name))
                .customize()
                .config_override(no_sdk_retry())
                .send()
                .await
                .map(|out| {
                    let id = out.allocation_id().unwrap_or_default();
                    kit::info!(
                        "allocated Elastic IP {id} ({})",
                        out.public_ip().unwrap_or_default()
                    );
                    id.to_owned()
                })
        },
        || free_eip(cx, c, &name),
    )
    .await?;
    Ok(id)
}

async fn free_eip(cx: &Cx, c: &Clients, name: &str) -> Result<Option<String>> {
    let out = c
        .ec2
        .describe_addresses()
        .filters(filter("tag:Name", &[name]))
        .send()
        .await
        .ctx(format!("looking for the Elastic IP {name}"))?;
    Ok(out
        .addresses()
        .iter()
        .filter(|a| a.association_id().is_none_or(str::is_empty))
        .find(|a| cx.owns(crate::observe::tags_of_ec2(a.tags())))
        .and_then(|a| a.allocation_id().map(str::to_owned)))
}

/// The NAT gateway: the one found (waited on while pending, unless `--no-wait`), or a new one
/// in the first public subnet, created with an idempotency token so that a retried call or a
/// run killed mid-call and rerun gets the same gateway, not a second one.
pub async fn ensure(
    cx: &Cx,
    c: &Clients,
    now: &Observed,
    create: bool,
    subnet: &str,
    eip: Option<&str>,
) -> Result<String> {
    let name = layout::nat_name(&now.settings.core);
    if let Some(n) = now.nat() {
        if n.state == "pending" && !cx.no_wait() {
            wait_available(cx, c, &n.id).await?;
        }
        return Ok(n.id.clone());
    }
    if !create {
        return Err(Error::aws("internal: no NAT gateway and none planned"));
    }
    let eip = eip.unwrap_or_default();
    // A gateway of ours still being deleted holds the address: let it go first.
    let deleting: Vec<&str> = now
        .nats
        .iter()
        .filter(|n| n.owned && n.state == "deleting")
        .map(|n| n.id.as_str())
        .collect();
    if !deleting.is_empty() {
        wait_gone(cx, c, &deleting).await?;
    }
    // Failed attempts keep their token's answer: a new attempt needs a new token.
    let failed = now
        .nats
        .iter()
        .filter(|n| n.subnet_id == subnet && n.state == "failed")
        .count()
        .to_string();
    let token = client_token(&[subnet, eip, failed.as_str()]);
    let out = settle(cx, &format!("creating the NAT gateway {name}"), || {
        c.ec2
            .create_nat_gateway()
            .subnet_id(subnet)
            .allocation_id(eip)
            .client_token(&token)
            .tag_specifications(tag_spec(cx, ResourceType::Natgateway, &name))
            .send()
    })
    .await?;
    let id = out
        .nat_gateway()
        .and_then(|n| n.nat_gateway_id())
        .unwrap_or_default()
        .to_owned();
    kit::info!("created NAT gateway {id} in subnet {subnet}");
    if !cx.no_wait() {
        wait_available(cx, c, &id).await?;
    }
    Ok(id)
}

pub async fn wait_available(cx: &Cx, c: &Clients, id: &str) -> Result<()> {
    wait::until(cx, &format!("NAT gateway {id}"), || async {
        let out = c
            .ec2
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", &[id]))
            .send()
            .await
            .ctx(format!("describing the NAT gateway {id}"))?;
        let Some(n) = out.nat_gateways().first() else {
            return Ok(Poll::Pending("not visible yet".into()));
        };
        let state = n.state().map(|s| s.as_str()).unwrap_or_default();
        match state {
            "available" => Ok(Poll::Ready(())),
            "failed" => Err(Error::aws(format!(
                "NAT gateway {id} failed: {}: {}; rerun core-up to create another",
                n.failure_code().unwrap_or("unknown"),
                n.failure_message().unwrap_or("no message")
            ))),
            "deleting" | "deleted" => Err(Error::aws(format!(
                "NAT gateway {id} is {state} (deleted by someone else); rerun core-up to create another"
            ))),
            other => Ok(Poll::Pending(other.to_owned())),
        }
    })
    .await
}

/// Delete NAT gateways (already gone or going is fine) and wait until each is deleted: until
/// then its address stays mapped and its interface stays in the subnet.
pub async fn delete_and_wait(cx: &Cx, c: &Clients, ids: &[&str]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    futures::future::try_join_all(ids.iter().map(|id| async move {
        let deleted = c
            .ec2
            .delete_nat_gateway()
            .nat_gateway_id(*id)
            .send()
            .await
            .deleted(format!("deleting the NAT gateway {id}"))?;
        if deleted {
            kit::info!("deleting NAT gateway {id}");
        }
        Ok::<_, Error>(())
    }))
    .await?;
    wait_gone(cx, c, ids).await?;
    kit::info!("deleted NAT gateway {}", ids.join(", "));
    Ok(())
}

/// Wait until each NAT gateway is deleted (or gone).
pub async fn wait_gone(cx: &Cx, c: &Clients, ids: &[&str]) -> Result<()> {
    let what = format!("deletion of NAT gateway {}", ids.join(", "));
    wait::until(cx, &what, || async {
        let out = c
            .ec2
            .describe_nat_gateways()
            .filter(filter("nat-gateway-id", ids))
            .send()
            .await
            .ctx(format!("describing the NAT gateway {}", ids.join(", ")))?;
        let busy: Vec<String> = out
            .nat_gateways()
            .iter()
            .filter(|n| !matches!(n.state().map(|s| s.as_str()), Some("deleted" | "failed")))
            .map(|n| {
                format!(
                    "{} {}",
                    n.nat_gateway_id().unwrap_or_default(),
                    n.state().map(|s| s.as_str()).unwrap_or_default()
                )
            })
            .collect();
        if busy.is_empty() {
            Ok(Poll::Ready(()))
        } else {
            Ok(Poll::Pending(busy.join(", ")))
        }
    })
    .await
}

/// Release Elastic IPs of ours. An address still mapped (its NAT gateway not quite gone) is
/// retried until the deadline; already released is fine.
pub async fn release(cx: &Cx, c: &Clients, eips: &[(&str, &str)]) -> Result<()> {
    futures::future::try_join_all(eips.iter().map(|(id, ip)| async move {
        let released = wait::retrying(
            cx,
            &format!("releasing the Elastic IP {id}"),
            |err: &aws_sdk_ec2::error::SdkError<_, _>| {
                matches!(
                    aws_sdk_ec2::error::ProvideErrorMetadata::code(err),
                    Some("InvalidIPAddress.InUse")
                )
            },
            || c.ec2.release_address().allocation_id(*id).send(),
        )
        .await;
        if kit::ResultExt::deleted(released)? {
            kit::info!("released Elastic IP {id} ({ip})");
        }
        Ok::<_, Error>(())
    }))
    .await?;
    Ok(())
}
