//! What is missing and what to do about it: pure.

use kit::{Error, PLANNED, Plan, Result};
use stackdoc::Slr;

use crate::{SERVICES, Service};

/// The role ARN found for each of [`SERVICES`], in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed(pub Vec<Option<String>>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Keep,
    Create(Service),
}

/// The role of each service among (path, ARN) pairs of the account's service-linked roles.
pub fn observed(roles: &[(String, String)]) -> Observed {
    Observed(
        SERVICES
            .iter()
            .map(|s| {
                roles
                    .iter()
                    .find(|(path, _)| *path == s.path())
                    .map(|(_, arn)| arn.clone())
            })
            .collect(),
    )
}

/// Keep what exists; create what is missing with `--create`, else refuse naming the exact
/// command (exit 2: nothing was changed, and the account needs the roles).
pub fn diff(create: bool, now: &Observed) -> Result<Plan<Op>> {
    let mut plan = Plan::new();
    let mut missing = Vec::new();
    for (service, arn) in SERVICES.iter().zip(&now.0) {
        let resource = format!("service-linked role for {}", service.principal);
        match arn {
            Some(_) => plan.unchanged(resource, Op::Keep),
            None if create => plan.create(resource, Op::Create(*service)),
            None => missing.push(*service),
        }
    }
    if missing.is_empty() {
        return Ok(plan);
    }
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
    Err(Error::usage(format!(
        "the service-linked role for {} is missing; create it once per account with: {} (or rerun with --create)",
        names.join(" and "),
        remedy.join(" && ")
    )))
}

/// The section as it will be: the roles found, [`PLANNED`] for those to create.
pub fn planned(now: &Observed) -> Slr {
    section(|i| now.0[i].clone().unwrap_or_else(|| PLANNED.to_owned()))
}

pub fn section(arn: impl Fn(usize) -> String) -> Slr {
    Slr {
        codestar_notifications_role_arn: arn(0),
        ecs_role_arn: arn(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODESTAR: &str = "arn:aws:iam::123456789012:role/aws-service-role/codestar-notifications.amazonaws.com/AWSServiceRoleForCodeStarNotifications";
    const ECS: &str =
        "arn:aws:iam::123456789012:role/aws-service-role/ecs.amazonaws.com/AWSServiceRoleForECS";

    fn roles(which: &[&str]) -> Observed {
        let all = [
            (
                "/aws-service-role/codestar-notifications.amazonaws.com/".to_owned(),
                CODESTAR.to_owned(),
            ),
            (
                "/aws-service-role/ecs.amazonaws.com/".to_owned(),
                ECS.to_owned(),
            ),
            (
                "/aws-service-role/rds.amazonaws.com/".to_owned(),
                "arn:rds".to_owned(),
            ),
        ];
        let found: Vec<(String, String)> = all
            .into_iter()
            .filter(|(_, arn)| which.contains(&arn.as_str()) || arn == "arn:rds")
            .collect();
        observed(&found)
    }

    #[test]
    fn roles_are_found_by_their_service_path() {
        assert_eq!(
            roles(&[CODESTAR, ECS]),
            Observed(vec![Some(CODESTAR.into()), Some(ECS.into())])
        );
        assert_eq!(roles(&[]), Observed(vec![None, None]));
    }

    /// Roles present, --create, and per service "unchanged" / "create", or the refusal.
    type Case<'a> = (&'a [&'a str], bool, Result<[&'a str; 2], &'a str>);

    #[test]
    fn the_rules() {
        let cases: [Case; 5] = [
            (&[CODESTAR, ECS], false, Ok(["unchanged", "unchanged"])),
            (&[CODESTAR, ECS], true, Ok(["unchanged", "unchanged"])),
            (&[ECS], true, Ok(["create", "unchanged"])),
            (&[], true, Ok(["create", "create"])),
            (&[ECS], false, Err("CodeStar Notifications")),
        ];
        for (present, create, expect) in cases {
            let got = diff(create, &roles(present));
            match (got, expect) {
                (Ok(plan), Ok(words)) => {
                    let got: Vec<&str> = plan.changes.iter().map(|c| c.action.word()).collect();
                    assert_eq!(got, words, "{present:?} {create}");
                }
                (Err(e), Err(named)) => {
                    assert_eq!(e.exit_code(), 2);
                    assert!(
                        e.message.contains(named)
                            && e.message.contains(
                                "aws iam create-service-linked-role --aws-service-name codestar-notifications.amazonaws.com"
                            )
                            && !e.message.contains("ecs.amazonaws.com"),
                        "{}",
                        e.message
                    );
                }
                (got, expect) => panic!("{present:?} {create}: {got:?} vs {expect:?}"),
            }
        }
    }

    #[test]
    fn the_planned_section_marks_what_apply_creates() {
        let s = planned(&roles(&[ECS]));
        assert_eq!(s.codestar_notifications_role_arn, PLANNED);
        assert_eq!(s.ecs_role_arn, ECS);
    }
}
