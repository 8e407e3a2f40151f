//! slr-check: the account-wide service-linked roles the stack relies on. CodeStar
//! Notifications' role is never created automatically (the notification rule fails without
//! it); ECS's usually is, but not in a brand-new account before the first cluster.
//!
//! Roles are found by listing the path `/aws-service-role/<service>/`, so the check does not
//! depend on the role's exact name. `--create` creates what is missing; `--destroy` never
//! deletes these roles, since other stacks in the account use them.

use aws_sdk_iam::Client;
use aws_sdk_iam::error::ProvideErrorMetadata;
use kit::{AwsContext, Cx, Error, Plan, Result, Step, aws, wait};
use stackdoc::{PLANNED, Slr};

pub struct SlrCheck;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Create the roles that are missing (iam:CreateServiceLinkedRole)
    #[arg(long)]
    pub create: bool,
}

/// Where IAM keeps service-linked roles: `/aws-service-role/<service principal>/`.
const SLR_PATH: &str = "/aws-service-role/";

/// The roles the stack needs, by service principal.
pub const SERVICES: [Service; 2] = [
    Service {
        principal: "codestar-notifications.amazonaws.com",
        label: "CodeStar Notifications",
    },
    Service {
        principal: "ecs.amazonaws.com",
        label: "ECS",
    },
];

#[derive(Debug, Clone, Copy)]
pub struct Service {
    pub principal: &'static str,
    pub label: &'static str,
}

impl Service {
    fn path(&self) -> String {
        format!("/aws-service-role/{}/", self.principal)
    }
}

/// The role ARN found for each of [`SERVICES`], in order.
#[derive(Debug)]
pub struct Observed(Vec<Option<String>>);

#[derive(Debug)]
pub enum Op {
    Keep,
    Create(Service),
}

impl Step for SlrCheck {
    const TOOL: &'static str = "slr-check";
    const ABOUT: &'static str =
        "Check (and with --create, create) the service-linked roles the stack needs";
    type Args = Args;
    type Section = Slr;
    type Observed = Observed;
    type Op = Op;

    async fn observe(cx: &Cx, _args: &Args) -> Result<Observed> {
        // One listing of every service-linked role serves both checks.
        let client = Client::new(&cx.sdk);
        let mut roles = client
            .list_roles()
            .path_prefix(SLR_PATH)
            .into_paginator()
            .send();
        let mut found = vec![None; SERVICES.len()];
        while let Some(page) = roles.next().await {
            let page = page.ctx("listing the account's service-linked roles")?;
            for role in page.roles() {
                if let Some(i) = SERVICES.iter().position(|s| role.path() == s.path()) {
                    found[i].get_or_insert_with(|| role.arn().to_owned());
                }
            }
        }
        Ok(Observed(found))
    }

    fn diff(_cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
        let mut plan = Plan::new();
        let mut missing = Vec::new();
        for (service, arn) in SERVICES.iter().zip(&now.0) {
            let resource = format!("service-linked role for {}", service.principal);
            match arn {
                Some(_) => plan.unchanged(resource, Op::Keep),
                None if args.create => plan.create(resource, Op::Create(*service)),
                None => missing.push(*service),
            }
        }
        if !missing.is_empty() {
            let remedy: Vec<String> = missing
                .iter()
                .map(|s| {
                    format!(
                        "aws iam create-service-linked-role --aws-service-name {}",
                        s.principal
                    )
                })
                .collect();
            let names: Vec<&str> = missing.iter().map(|s| s.label).collect();
            return Err(Error::aws(format!(
                "the service-linked role for {} is missing; create it once per account with: {} (or rerun with --create)",
                names.join(" and "),
                remedy.join(" && ")
            )));
        }
        Ok(plan)
    }

    fn planned(_cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Slr> {
        let arn = |i: usize| now.0[i].clone().unwrap_or_else(|| PLANNED.to_owned());
        Ok(Slr {
            codestar_notifications_role_arn: arn(0),
            ecs_role_arn: arn(1),
        })
    }

    async fn apply(cx: &Cx, _args: &Args, now: Observed, plan: Plan<Op>) -> Result<Slr> {
        let client = Client::new(&cx.sdk);
        let mut arns = now.0;
        for (i, change) in plan.changes.iter().enumerate() {
            if let Op::Create(service) = change.op {
                arns[i] = Some(create(cx, &client, &service).await?);
            }
        }
        let arn = |i: usize| arns[i].clone().unwrap_or_default();
        Ok(Slr {
            codestar_notifications_role_arn: arn(0),
            ecs_role_arn: arn(1),
        })
    }

    async fn destroy(_cx: &Cx, _args: &Args) -> Result<()> {
        kit::info!(
            "service-linked roles are account-wide and shared with other stacks: left in place (delete one yourself with aws iam delete-service-linked-role --role-name NAME)"
        );
        Ok(())
    }
}

async fn find(client: &Client, service: &Service) -> Result<Option<String>> {
    let out = client
        .list_roles()
        .path_prefix(service.path())
        .send()
        .await
        .ctx(format!(
            "listing the service-linked roles of {}",
            service.principal
        ))?;
    Ok(out.roles().first().map(|r| r.arn().to_owned()))
}

/// Create the role, and wait until a list shows it (IAM is eventually consistent).
async fn create(cx: &Cx, client: &Client, service: &Service) -> Result<String> {
    match client
        .create_service_linked_role()
        .aws_service_name(service.principal)
        .send()
        .await
    {
        Ok(_) => kit::info!("created the service-linked role for {}", service.principal),
        // Another run (or person) made it in the meantime: that is what we wanted.
        Err(e) if already_there(&e) => {
            kit::info!(
                "the service-linked role for {} exists already",
                service.principal
            )
        }
        Err(e) => {
            return Err(Error::aws(format!(
                "creating the service-linked role for {}: {}; it needs iam:CreateServiceLinkedRole",
                service.principal,
                aws::describe(&e)
            )));
        }
    }
    wait::until(
        cx,
        &format!("the service-linked role for {}", service.label),
        || async {
            Ok(match find(client, service).await? {
                Some(arn) => wait::Poll::Ready(arn),
                None => wait::Poll::Pending("not visible yet".into()),
            })
        },
    )
    .await
}

/// "already exists" or "has been taken in this account" (how IAM answers a duplicate
/// service-linked role).
fn already_there<E>(e: &E) -> bool
where
    E: ProvideErrorMetadata,
{
    aws::is_already_exists(e)
        || e.message()
            .is_some_and(|m| m.contains("has been taken") || m.contains("already exists"))
}
