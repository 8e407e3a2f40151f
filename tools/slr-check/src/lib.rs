//! slr-check: the account-wide service-linked roles the stack relies on. CodeStar
//! Notifications' role is never created automatically (the notification rule fails without
//! it); ECS's usually is, but not in a brand-new account before the first cluster.
//!
//! Roles are found by listing the path `/aws-service-role/<service>/`, so the check does not
//! depend on the role's exact name. `--create` creates what is missing. Nothing is ever
//! deleted: other stacks in the account use these roles, so `--destroy` only removes the
//! section from the document. A role just created is waited for until IAM reads it back
//! (IAM is eventually consistent). Whether its service can assume it yet has no read-only
//! probe (ECS: "Unable to assume the service linked role"; CodeStar Notifications: up to 15
//! minutes), so the steps that call those services retry on exactly those answers.

mod apply;
pub mod diff;

use aws_sdk_iam::Client;
use kit::{AwsContext, Cx, Plan, Result, Step};
use stackdoc::Slr;

pub use diff::{Observed, Op};

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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    pub principal: &'static str,
    pub label: &'static str,
}

impl Service {
    pub fn path(&self) -> String {
        format!("{SLR_PATH}{}/", self.principal)
    }
}

impl Step for SlrCheck {
    const TOOL: &'static str = "slr-check";
    const ABOUT: &'static str = "Check (and with --create, create) the service-linked roles the stack needs; never deletes them";
    type Args = Args;
    type Section = Slr;
    type Observed = Observed;
    type Op = Op;

    fn command(cmd: clap::Command) -> clap::Command {
        cmd.mut_arg("destroy", |a| {
            a.help("Delete nothing: the roles are account-wide and shared with other stacks; only the slr section leaves the document")
        })
    }

    async fn observe(cx: &Cx, _args: &Args) -> Result<Observed> {
        // One listing of every service-linked role serves both checks.
        let client = Client::new(&cx.sdk);
        let mut pages = client
            .list_roles()
            .path_prefix(SLR_PATH)
            .into_paginator()
            .send();
        let mut roles = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.ctx("listing the account's service-linked roles")?;
            roles.extend(
                page.roles()
                    .iter()
                    .map(|r| (r.path().to_owned(), r.arn().to_owned())),
            );
        }
        Ok(diff::observed(&roles))
    }

    fn diff(_cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
        diff::diff(args.create, now)
    }

    fn planned(_cx: &Cx, _args: &Args, now: &Observed, _plan: &Plan<Op>) -> Result<Slr> {
        Ok(diff::planned(now))
    }

    async fn apply(cx: &Cx, _args: &Args, now: Observed, plan: Plan<Op>) -> Result<Slr> {
        apply::apply(cx, now, plan).await
    }

    async fn destroy(_cx: &Cx, _args: &Args) -> Result<()> {
        kit::info!(
            "slr-check deletes nothing: service-linked roles are account-wide and shared with other stacks, so they are left in place (delete one yourself with aws iam delete-service-linked-role --role-name NAME); the slr section leaves the document"
        );
        Ok(())
    }
}
