//! Route tables, their default routes and their subnets. Each call's "already done" answer
//! (a retried call whose first answer was lost) counts as done once a read confirms it.

use aws_sdk_ec2::types::ResourceType;
use kit::{AwsContext, Cx, Result};

use crate::create::{client_token, settle, tag_spec};
use crate::layout::{self, Tier};
use crate::observe::{Clients, filter};

/// A new route table of a tier, with a ClientToken: a retried call gets the same table.
pub async fn create_table(
    cx: &Cx,
    c: &Clients,
    core: &str,
    vpc: &str,
    tier: Tier,
) -> Result<String> {
    let name = layout::route_table_name(core, tier);
    let token = client_token(&[vpc, tier.word()]);
    let out = settle(cx, &format!("creating the route table {name}"), || {
        c.ec2
            .create_route_table()
            .vpc_id(vpc)
            .client_token(&token)
            .tag_specifications(tag_spec(cx, ResourceType::RouteTable, &name))
            .send()
    })
    .await?;
    let id = out
        .route_table()
        .and_then(|t| t.route_table_id())
        .unwrap_or_default()
        .to_owned();
    kit::info!("created route table {name} {id}");
    Ok(id)
}

/// Where a default route goes.
#[derive(Clone, Copy)]
pub enum Target<'a> {
    Gateway(&'a str),
    Nat(&'a str),
}

impl Target<'_> {
    fn id(&self) -> &str {
        match self {
            Target::Gateway(id) | Target::Nat(id) => id,
        }
    }
}

/// The target of a table's default route, as EC2 shows it now.
async fn default_route_target(c: &Clients, table: &str) -> Result<Option<String>> {
    let out = c
        .ec2
        .describe_route_tables()
        .route_table_ids(table)
        .send()
        .await
        .ctx(format!("reading the route table {table}"))?;
    Ok(out
        .route_tables()
        .iter()
        .flat_map(|t| t.routes())
        .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
        .and_then(|r| r.gateway_id().or(r.nat_gateway_id()).map(str::to_owned)))
}

/// Create or replace the default route of a table. RouteAlreadyExists on a create is done
/// when the route goes where it should (else it is pointed there).
pub async fn route(
    cx: &Cx,
    c: &Clients,
    create: bool,
    tier: Tier,
    table: &str,
    target: Target<'_>,
) -> Result<()> {
    let (gw, nat) = match target {
        Target::Gateway(id) => (Some(id), None),
        Target::Nat(id) => (None, Some(id)),
    };
    let what = |verb: &str| {
        format!(
            "{verb} the route 0.0.0.0/0 → {} in route table {table}",
            target.id()
        )
    };
    let mut replace = !create;
    if create {
        let made = settle(cx, &what("creating"), || {
            c.ec2
                .create_route()
                .route_table_id(table)
                .destination_cidr_block("0.0.0.0/0")
                .set_gateway_id(gw.map(str::to_owned))
                .set_nat_gateway_id(nat.map(str::to_owned))
                .send()
        })
        .await;
        match made {
            Ok(_) => {}
            Err(e) if e.is_code("RouteAlreadyExists") => {
                if default_route_target(c, table).await?.as_deref() == Some(target.id()) {
                    kit::debug!("{}: already there", what("creating"));
                    return Ok(());
                }
                replace = true;
            }
            Err(e) => return Err(e),
        }
    }
    if replace {
        settle(cx, &what("replacing"), || {
            c.ec2
                .replace_route()
                .route_table_id(table)
                .destination_cidr_block("0.0.0.0/0")
                .set_gateway_id(gw.map(str::to_owned))
                .set_nat_gateway_id(nat.map(str::to_owned))
                .send()
        })
        .await?;
    }
    kit::info!(
        "{} route 0.0.0.0/0 → {} in {} route table {table}",
        if replace { "replaced" } else { "created" },
        target.id(),
        tier.word()
    );
    Ok(())
}

/// The route table a subnet is associated with now, and the association.
async fn association_of(c: &Clients, subnet: &str) -> Result<Option<(String, String)>> {
    let out = c
        .ec2
        .describe_route_tables()
        .filters(filter("association.subnet-id", &[subnet]))
        .send()
        .await
        .ctx(format!("reading the route table of subnet {subnet}"))?;
    Ok(out.route_tables().iter().find_map(|t| {
        t.associations()
            .iter()
            .find(|a| a.subnet_id() == Some(subnet))
            .map(|a| {
                (
                    t.route_table_id().unwrap_or_default().to_owned(),
                    a.route_table_association_id()
                        .unwrap_or_default()
                        .to_owned(),
                )
            })
    }))
}

/// Associate a subnet with a table, or move it there from another (`replace`: the current
/// association). "Already associated" or a replaced association that no longer exists is done
/// when the subnet is with the table; with another table, it is moved.
pub async fn associate(
    cx: &Cx,
    c: &Clients,
    table: &str,
    subnet: &str,
    replace: Option<&str>,
) -> Result<()> {
    let result = match replace {
        None => settle(
            cx,
            &format!("associating subnet {subnet} with route table {table}"),
            || {
                c.ec2
                    .associate_route_table()
                    .route_table_id(table)
                    .subnet_id(subnet)
                    .send()
            },
        )
        .await
        .map(|_| ()),
        Some(assoc) => replace_association(cx, c, table, subnet, assoc).await,
    };
    match result {
        Ok(()) => Ok(()),
        Err(e)
            if e.is_code("Resource.AlreadyAssociated")
                || (replace.is_some() && e.is_not_found()) =>
        {
            match association_of(c, subnet).await? {
                Some((t, _)) if t == table => {
                    kit::debug!("subnet {subnet} is already with route table {table}");
                    Ok(())
                }
                Some((_, assoc)) => replace_association(cx, c, table, subnet, &assoc).await,
                None => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

async fn replace_association(
    cx: &Cx,
    c: &Clients,
    table: &str,
    subnet: &str,
    assoc: &str,
) -> Result<()> {
    settle(
        cx,
        &format!("moving subnet {subnet} to route table {table}"),
        || {
            c.ec2
                .replace_route_table_association()
                .association_id(assoc)
                .route_table_id(table)
                .send()
        },
    )
    .await?;
    kit::info!("moved subnet {subnet} to route table {table}");
    Ok(())
}

/// Attach the internet gateway; "already attached" (Resource.AlreadyAssociated) to this VPC is
/// done.
pub async fn attach_igw(cx: &Cx, c: &Clients, igw: &str, vpc: &str) -> Result<()> {
    let attached = settle(
        cx,
        &format!("attaching the internet gateway {igw} to VPC {vpc}"),
        || {
            c.ec2
                .attach_internet_gateway()
                .internet_gateway_id(igw)
                .vpc_id(vpc)
                .send()
        },
    )
    .await;
    match attached {
        Ok(_) => {
            kit::info!("attached internet gateway {igw} to VPC {vpc}");
            Ok(())
        }
        Err(e) if e.is_code("Resource.AlreadyAssociated") => {
            let out = c
                .ec2
                .describe_internet_gateways()
                .internet_gateway_ids(igw)
                .send()
                .await
                .ctx(format!("reading the internet gateway {igw}"))?;
            let here = out
                .internet_gateways()
                .iter()
                .flat_map(|g| g.attachments())
                .any(|a| a.vpc_id() == Some(vpc));
            if here { Ok(()) } else { Err(e) }
        }
        Err(e) => Err(e),
    }
}

/// Delete a route table of ours: its subnets are let go first; already gone is done.
pub async fn delete_table(c: &Clients, id: &str, name: &str, associations: &[&str]) -> Result<()> {
    futures::future::try_join_all(associations.iter().map(|a| async move {
        c.ec2
            .disassociate_route_table()
            .association_id(*a)
            .send()
            .await
            .deleted(format!("disassociating {a} from route table {id}"))
    }))
    .await?;
    if c.ec2
        .delete_route_table()
        .route_table_id(id)
        .send()
        .await
        .deleted(format!("deleting the route table {name} {id}"))?
    {
        kit::info!("deleted route table {name} {id}");
    }
    Ok(())
}
