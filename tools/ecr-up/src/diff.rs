//! Pure: what should exist against what does → the plan, and the section a `--plan` run
//! writes. Apply runs exactly this plan, so a plan never lies and a rerun whose plan is empty
//! makes no mutating call.
//!
//! The rules a user relies on (each has a test below):
//! - a rerun over what ecr-up made changes nothing;
//! - scan on push off, or another (or no) lifecycle policy, is an update naming the field;
//! - a repository svc-up made before the split is adopted: an update that retags it;
//! - one another app's stagehand step made is refused (exit 2) before any write;
//! - encryption cannot change: another one is a warning, not a change.

use kit::{Cx, Error, Plan, Result, TAG_STEP, field};
use serde_json::{Value, json};
use stackdoc::{Ecr, PLANNED};

use crate::observe::{Observed, Owner, repository_uri};
use crate::{LEGACY_STEP, Op, repository_name};

/// How many images the lifecycle policy keeps.
pub const KEEP_IMAGES: u32 = 30;

pub fn lifecycle_policy() -> Value {
    json!({"rules": [{
        "rulePriority": 1,
        "description": format!("keep the last {KEEP_IMAGES} images"),
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": KEEP_IMAGES},
        "action": {"type": "expire"}
    }]})
}

pub fn diff(cx: &Cx, now: &Observed) -> Result<Plan<Op>> {
    let name = repository_name(&cx.app);
    let res = format!("ECR repository {name}");
    let mut plan = Plan::new();
    let Some(r) = &now.repo else {
        plan.create(
            res,
            Op::Repo {
                create: true,
                scan: true,
                lifecycle: true,
                retag: true,
            },
        );
        return Ok(plan);
    };
    let mut fields = Vec::new();
    match &r.owner {
        Owner::OtherApp(app) => {
            return Err(Error::usage(format!(
                "ECR repository {name} belongs to app {app} (its stagehand:app tag), not {}; delete it or use another --app",
                cx.app
            )));
        }
        Owner::Legacy => fields.push(field(TAG_STEP, LEGACY_STEP, cx.section)),
        Owner::Foreign => kit::info!(
            "ECR repository {name} was not created by stagehand (it has no stagehand tags): used as it is, and left in place by --destroy"
        ),
        Owner::Ours => {}
    }
    if !r.scan_on_push {
        fields.push(field("scan_on_push", false, true));
    }
    let lifecycle = r.lifecycle.as_ref() != Some(&lifecycle_policy());
    if lifecycle {
        fields.push(field(
            "lifecycle policy",
            if r.lifecycle.is_some() {
                "other"
            } else {
                "none"
            },
            format!("keep the last {KEEP_IMAGES} images"),
        ));
    }
    if r.encryption != "AES256" {
        kit::warn!(
            "ECR repository {name} is encrypted with {}, not AES256; encryption cannot change, so it is left as it is",
            r.encryption
        );
    }
    if fields.is_empty() {
        plan.unchanged(res, Op::Keep);
    } else {
        let op = Op::Repo {
            create: false,
            scan: !r.scan_on_push,
            lifecycle,
            retag: r.owner == Owner::Legacy,
        };
        plan.update(res, fields, op);
    }
    Ok(plan)
}

/// The section a `--plan` run writes: the URI as ECR will form it (images are named after
/// it), the ARN once the repository exists.
pub fn planned_section(cx: &Cx, now: &Observed) -> Ecr {
    let name = repository_name(&cx.app);
    match &now.repo {
        Some(r) => Ecr {
            repository_name: name,
            repository_arn: r.arn.clone(),
            repository_uri: r.uri.clone(),
        },
        None => Ecr {
            repository_uri: repository_uri(cx, &name),
            repository_name: name,
            repository_arn: PLANNED.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observe::Repo;
    use kit::Action;
    use stackdoc::Doc;

    fn cx() -> Cx {
        Cx::for_test("ecr-up", "ecr", "web", Doc::new())
    }

    fn made() -> Repo {
        Repo {
            arn: "arn:aws:ecr:us-west-2:123456789012:repository/web".into(),
            uri: "123456789012.dkr.ecr.us-west-2.amazonaws.com/web".into(),
            scan_on_push: true,
            encryption: "AES256".into(),
            lifecycle: Some(lifecycle_policy()),
            owner: Owner::Ours,
        }
    }

    fn lines(repo: Option<Repo>) -> Vec<String> {
        diff(&cx(), &Observed { repo })
            .unwrap()
            .lines()
            .into_iter()
            .map(|l| l.trim().to_owned())
            .collect()
    }

    #[test]
    fn drift_rules() {
        let keep = "= unchanged  ECR repository web";
        let cases: Vec<(&str, Repo, &str)> = vec![
            ("what ecr-up made", made(), keep),
            (
                "scan on push off",
                Repo {
                    scan_on_push: false,
                    ..made()
                },
                "~ update     ECR repository web (scan_on_push: false → true)",
            ),
            (
                "no lifecycle policy",
                Repo {
                    lifecycle: None,
                    ..made()
                },
                "~ update     ECR repository web (lifecycle policy: none → keep the last 30 images)",
            ),
            (
                "another lifecycle policy",
                Repo {
                    lifecycle: Some(json!({"rules": []})),
                    ..made()
                },
                "~ update     ECR repository web (lifecycle policy: other → keep the last 30 images)",
            ),
            (
                "made by svc-up before the split",
                Repo {
                    owner: Owner::Legacy,
                    ..made()
                },
                "~ update     ECR repository web (stagehand:step: svc → ecr)",
            ),
            (
                "not stagehand's",
                Repo {
                    owner: Owner::Foreign,
                    ..made()
                },
                keep,
            ),
            (
                "KMS encryption (cannot change)",
                Repo {
                    encryption: "KMS".into(),
                    ..made()
                },
                keep,
            ),
        ];
        for (what, repo, want) in cases {
            assert_eq!(lines(Some(repo)), [want], "{what}");
        }
    }

    #[test]
    fn the_ops_carry_exactly_what_changes() {
        let plan = diff(
            &cx(),
            &Observed {
                repo: Some(Repo {
                    owner: Owner::Legacy,
                    lifecycle: None,
                    ..made()
                }),
            },
        )
        .unwrap();
        assert_eq!(
            plan.changes[0].op,
            Op::Repo {
                create: false,
                scan: false,
                lifecycle: true,
                retag: true
            }
        );
        let fresh = diff(&cx(), &Observed { repo: None }).unwrap();
        assert_eq!(fresh.changes[0].action, Action::Create);
        assert_eq!(
            fresh.changes[0].op,
            Op::Repo {
                create: true,
                scan: true,
                lifecycle: true,
                retag: true
            }
        );
    }

    #[test]
    fn another_apps_repository_is_refused() {
        let e = diff(
            &cx(),
            &Observed {
                repo: Some(Repo {
                    owner: Owner::OtherApp("shop".into()),
                    ..made()
                }),
            },
        )
        .unwrap_err();
        assert_eq!(e.kind, kit::Kind::Usage);
        assert!(e.message.contains("app shop"), "{}", e.message);
    }

    #[test]
    fn the_planned_section_names_the_uri_images_will_have() {
        let s = planned_section(&cx(), &Observed { repo: None });
        assert_eq!(
            s.repository_uri,
            "123456789012.dkr.ecr.us-west-2.amazonaws.com/web"
        );
        assert_eq!(s.repository_arn, PLANNED);
        let s = planned_section(&cx(), &Observed { repo: Some(made()) });
        assert_eq!(s.repository_arn, made().arn);
    }

    #[test]
    fn ownership_by_tags() {
        let cx = cx();
        let own = |tags: &[(&str, &str)]| Owner::of(&cx, tags.iter().copied());
        assert_eq!(
            own(&[("stagehand:app", "web"), ("stagehand:step", "ecr")]),
            Owner::Ours
        );
        assert_eq!(
            own(&[("stagehand:app", "web"), ("stagehand:step", "svc")]),
            Owner::Legacy
        );
        assert_eq!(
            own(&[("stagehand:app", "shop"), ("stagehand:step", "ecr")]),
            Owner::OtherApp("shop".into())
        );
        assert_eq!(own(&[("team", "x")]), Owner::Foreign);
        assert_eq!(
            own(&[("stagehand:app", "web"), ("stagehand:step", "db")]),
            Owner::Foreign
        );
    }
}
