//! What should change, from what observe found and what the run was given: pure.
//!
//! Rules: a missing secret is created (the token and the OAuth pair only from a given value;
//! the password is generated when none is given); one scheduled for deletion by this stack is
//! restored; an existing one is kept unless `--rotate` names it. Another app's secret is never
//! adopted, and a hand-made one with a value its consumers cannot use is refused.

use kit::{Error, PLANNED, Plan, Result};
use sha2::{Digest, Sha256};
use stackdoc::{SecretRef, Secrets};

use crate::observe::{Found, Observed, Owner, Problem, Secret};
use crate::{Rotate, Which};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    Keep(Which),
    Create(Which),
    /// Cancel its scheduled deletion, then store a new value with this token when rotating.
    Restore {
        which: Which,
        rotate: Option<String>,
    },
    /// Store a new value as the version `token` (PutSecretValue's ClientRequestToken).
    Rotate {
        which: Which,
        token: String,
    },
}

impl Op {
    pub fn which(&self) -> Which {
        match self {
            Op::Keep(w) | Op::Create(w) => *w,
            Op::Restore { which, .. } | Op::Rotate { which, .. } => *which,
        }
    }
    /// Whether the secret's AWSCURRENT version changes.
    fn new_version(&self) -> bool {
        matches!(
            self,
            Op::Create(_)
                | Op::Rotate { .. }
                | Op::Restore {
                    rotate: Some(_),
                    ..
                }
        )
    }
}

pub fn diff(rotate: &[Rotate], now: &Observed) -> Result<Plan<Op>> {
    let mut plan = Plan::new();
    for s in &now.secrets {
        let rotating = rotate.iter().any(|r| r.covers(s.which));
        let resource = format!("secret {}", s.name);
        let Some(found) = &s.found else {
            if let Some(op) = create(s, now)? {
                plan.create(resource, op);
            }
            continue;
        };
        if let Owner::App(other) = &found.owner {
            return Err(other_app(s, other, &now.app));
        }
        if found.pending_deletion {
            if found.owner != Owner::Ours {
                return Err(Error::usage(format!(
                    "the {} {} is scheduled for deletion and was not created by stagehand for app {}; restore it (aws secretsmanager restore-secret --secret-id {}) or choose another name",
                    s.which.label(),
                    s.name,
                    now.app,
                    s.name
                )));
            }
            let mut fields = vec!["restore: scheduled for deletion → kept"];
            let token = match rotating.then(|| rotation(found, s.recorded_version.as_deref())) {
                Some(Rotation::Put(token)) => {
                    fields.push("value: rotated");
                    Some(token)
                }
                _ => None,
            };
            plan.update(
                resource,
                fields,
                Op::Restore {
                    which: s.which,
                    rotate: token,
                },
            );
            continue;
        }
        if let Some(problem) = &found.problem
            && !rotating
        {
            return Err(refused(s, problem));
        }
        match rotating.then(|| rotation(found, s.recorded_version.as_deref())) {
            Some(Rotation::Put(token)) => plan.update(
                resource,
                vec!["value: rotated"],
                Op::Rotate {
                    which: s.which,
                    token,
                },
            ),
            Some(Rotation::Done) => {
                kit::info!(
                    "secret {}: already rotated from the version this document records (an earlier run that did not save its document); kept",
                    s.name
                );
                plan.unchanged(resource, Op::Keep(s.which));
            }
            None => plan.unchanged(resource, Op::Keep(s.which)),
        }
    }
    Ok(plan)
}

/// The create of a missing secret, None when it is an absent optional one.
fn create(s: &Secret, now: &Observed) -> Result<Option<Op>> {
    match s.which {
        Which::GithubToken if !now.given.token => Err(Error::usage(format!(
            "no GitHub token given for the new secret {}; set GITHUB_TOKEN or pass --github-token-file FILE",
            s.name
        ))),
        Which::GithubToken | Which::DbPassword => Ok(Some(Op::Create(s.which))),
        _ if now.given.oauth => Ok(Some(Op::Create(s.which))),
        _ => {
            // Half a pair is useless to the app: say which half is missing.
            let other = now
                .secrets
                .iter()
                .find(|o| o.which.is_oauth() && o.which != s.which && o.found.is_some());
            match other {
                Some(o) => Err(Error::usage(format!(
                    "the {} {} exists but the {} {} does not; give AUTH_GITHUB_CLIENT_ID and AUTH_GITHUB_CLIENT_SECRET (or the --oauth-client-*-file flags) to create it",
                    o.which.label(),
                    o.name,
                    s.which.label(),
                    s.name
                ))),
                None => Ok(None),
            }
        }
    }
}

fn other_app(s: &Secret, other: &str, app: &str) -> Error {
    let hint = match s.which {
        Which::GithubToken => format!(
            "give app {app} its own secret with --github-token-secret NAME (or --reset github-token-secret)"
        ),
        Which::DbPassword => format!(
            "give app {app} its own secret with --db-password-secret NAME (or --reset db-password-secret)"
        ),
        _ => format!("delete or rename it, or run for app {other}"),
    };
    Error::usage(format!(
        "the {} {} belongs to app {other} (tagged stagehand:app={other}), not to app {app}; it is not adopted: {hint}",
        s.which.label(),
        s.name
    ))
}

fn refused(s: &Secret, problem: &Problem) -> Error {
    let rotate = match s.which {
        Which::GithubToken => "github-token",
        Which::DbPassword => "db-password",
        _ => "oauth",
    };
    match problem {
        Problem::KeyValue => Error::usage(format!(
            "the {} {} holds a JSON key/value pair, but it must be plain text (CodePipeline and the container read the whole string); store the bare value with: aws secretsmanager put-secret-value --secret-id {} --secret-string file://FILE, or secrets-init --rotate {rotate}",
            s.which.label(),
            s.name,
            s.name
        )),
        Problem::Password(rule) => Error::usage(format!(
            "the {} {} holds a password that {rule}; rotate it: secrets-init --rotate {rotate}",
            s.which.label(),
            s.name
        )),
    }
}

/// How a rotation goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// Store the new value as this version.
    Put(String),
    /// The rotation from the document's version already happened (a run that stored the value
    /// but did not get to write its document): nothing to do.
    Done,
}

/// The rotation of a secret. Its version id (the ClientRequestToken) is derived from the
/// secret and the version the rotation starts from: a retried PutSecretValue and a rerun of
/// the same document after a kill both send the same token, so a lost answer never rotates
/// twice; the next rotation starts from the new version and gets a new token.
pub fn rotation(found: &Found, recorded: Option<&str>) -> Rotation {
    if let Some(from) = recorded {
        let t = token(&["rotate", &found.arn, from]);
        if found.current.as_deref() == Some(t.as_str()) {
            return Rotation::Done;
        }
        if !found.versions.contains(&t) {
            return Rotation::Put(t);
        }
    }
    let from = found.current.as_deref().unwrap_or("none");
    let mut t = token(&["rotate", &found.arn, from]);
    let mut n = 0u32;
    while found.versions.contains(&t) {
        n += 1;
        t = token(&["rotate", &found.arn, from, &n.to_string()]);
    }
    Rotation::Put(t)
}

/// A ClientRequestToken (32 to 64 characters) from its parts, in UUID form.
pub fn token(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    let hex: String = h.finalize()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The section a plan leads to: real names and ARNs where secrets exist, [`PLANNED`] for what
/// apply creates and for versions it changes.
pub fn planned(now: &Observed, plan: &Plan<Op>) -> Secrets {
    section(now, |which| {
        let secret = now.get(which)?;
        let op = plan.changes.iter().find(|c| c.op.which() == which);
        let arn = secret.found.as_ref().map(|f| f.arn.clone());
        let version = match op {
            Some(c) if c.op.new_version() => Some(PLANNED.to_owned()),
            _ => secret.found.as_ref().and_then(|f| f.current.clone()),
        };
        if arn.is_none() && op.is_none() {
            return None;
        }
        Some(SecretRef {
            name: secret.name.clone(),
            arn: arn.unwrap_or_else(|| PLANNED.to_owned()),
            version,
        })
    })
}

/// The section from one entry per secret (None: the optional one is absent).
pub fn section(now: &Observed, entry: impl Fn(Which) -> Option<SecretRef>) -> Secrets {
    let must = |which: Which| {
        entry(which).unwrap_or_else(|| SecretRef {
            name: now.get(which).map(|s| s.name.clone()).unwrap_or_default(),
            arn: String::new(),
            version: None,
        })
    };
    let mut out = Secrets {
        github_token: must(Which::GithubToken),
        db_password: must(Which::DbPassword),
        oauth_client_id: entry(Which::OauthClientId),
        oauth_client_secret: entry(Which::OauthClientSecret),
    };
    // The pair is recorded together or not at all.
    if out.oauth_client_id.is_none() || out.oauth_client_secret.is_none() {
        out.oauth_client_id = None;
        out.oauth_client_secret = None;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::Given;
    use kit::Action;

    fn ours(arn: &str, version: &str) -> Found {
        Found {
            arn: arn.into(),
            pending_deletion: false,
            owner: Owner::Ours,
            current: Some(version.into()),
            versions: vec![version.into()],
            problem: None,
        }
    }

    fn secret(which: Which, found: Option<Found>) -> Secret {
        Secret {
            which,
            name: crate::default_name("backstage", which),
            found,
            recorded_version: None,
        }
    }

    fn observed(secrets: Vec<Secret>, given: Given) -> Observed {
        Observed {
            app: "backstage".into(),
            secrets,
            given,
        }
    }

    /// Token and password exist and are ours.
    fn both() -> Vec<Secret> {
        vec![
            secret(Which::GithubToken, Some(ours("arn:t", "v-t"))),
            secret(Which::DbPassword, Some(ours("arn:d", "v-d"))),
        ]
    }

    fn actions(plan: &Plan<Op>) -> Vec<(String, &'static str)> {
        plan.changes
            .iter()
            .map(|c| (c.resource.clone(), c.action.word()))
            .collect()
    }

    #[test]
    fn a_rerun_with_what_exists_changes_nothing() {
        let now = observed(both(), Given::default());
        let plan = diff(&[], &now).unwrap();
        assert!(!plan.has_work());
        let s = planned(&now, &plan);
        assert_eq!(s.github_token.arn, "arn:t");
        assert_eq!(s.github_token.version.as_deref(), Some("v-t"));
        assert_eq!(s.db_password.version.as_deref(), Some("v-d"));
        assert!(s.oauth_client_id.is_none());
    }

    #[test]
    fn creates_what_is_missing() {
        let token = Given {
            token: true,
            ..Given::default()
        };
        let now = observed(
            vec![
                secret(Which::GithubToken, None),
                secret(Which::DbPassword, None),
                secret(Which::OauthClientId, None),
                secret(Which::OauthClientSecret, None),
            ],
            token,
        );
        let plan = diff(&[], &now).unwrap();
        assert_eq!(
            actions(&plan),
            [
                ("secret ecs-github-token".to_owned(), "create"),
                ("secret postgresdb_passwd".to_owned(), "create"),
            ],
            "the OAuth pair is created only when given"
        );
        let s = planned(&now, &plan);
        assert_eq!(s.db_password.arn, PLANNED);
        assert!(s.oauth_client_id.is_none());

        // No token for a new token secret: refused before any write.
        let e = diff(&[], &observed(now.secrets.clone(), Given::default())).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("GITHUB_TOKEN"), "{}", e.message);

        let all = Given {
            token: true,
            password: false,
            oauth: true,
        };
        let plan = diff(&[], &observed(now.secrets.clone(), all)).unwrap();
        assert_eq!(plan.summary().create, 4);
        let s = planned(&observed(now.secrets, all), &plan);
        assert_eq!(
            s.oauth_client_secret.unwrap().name,
            "github-oauth-client-secret"
        );
    }

    #[test]
    fn rotate_changes_only_the_named_secret() {
        let now = observed(both(), Given::default());
        let plan = diff(&[Rotate::DbPassword], &now).unwrap();
        assert_eq!(
            actions(&plan),
            [
                ("secret ecs-github-token".to_owned(), "unchanged"),
                ("secret postgresdb_passwd".to_owned(), "update"),
            ]
        );
        let Op::Rotate { token: t, .. } = &plan.changes[1].op else {
            panic!("{:?}", plan.changes[1].op)
        };
        assert_eq!(t, &token(&["rotate", "arn:d", "v-d"]));
        let s = planned(&now, &plan);
        assert_eq!(s.db_password.version.as_deref(), Some(PLANNED));
        assert_eq!(s.github_token.version.as_deref(), Some("v-t"));
    }

    #[test]
    fn a_rotation_already_stored_by_a_killed_run_is_not_repeated() {
        let t = token(&["rotate", "arn:d", "v-d"]);
        let mut found = ours("arn:d", &t);
        found.versions = vec!["v-d".into(), t.clone()];
        assert_eq!(rotation(&found, Some("v-d")), Rotation::Done);
        // From the document's newer version, a new one.
        assert_eq!(
            rotation(&found, Some(&t)),
            Rotation::Put(token(&["rotate", "arn:d", &t]))
        );
        // Without a recorded version: from AWSCURRENT.
        assert_eq!(
            rotation(&ours("arn:d", "v-d"), None),
            Rotation::Put(t.clone())
        );
        let mut s = secret(Which::DbPassword, Some(found));
        s.recorded_version = Some("v-d".into());
        let plan = diff(&[Rotate::DbPassword], &observed(vec![s], Given::default())).unwrap();
        assert!(!plan.has_work());
    }

    #[test]
    fn tokens_are_uuid_shaped_and_deterministic() {
        let t = token(&["rotate", "arn:x", "v1"]);
        assert_eq!(t.len(), 36);
        assert_eq!(t, token(&["rotate", "arn:x", "v1"]));
        assert_ne!(t, token(&["rotate", "arn:x", "v2"]));
    }

    #[test]
    fn scheduled_for_deletion_is_restored_when_ours_and_refused_otherwise() {
        let mut pending = ours("arn:d", "v-d");
        pending.pending_deletion = true;
        let now = observed(
            vec![
                secret(Which::GithubToken, Some(ours("arn:t", "v-t"))),
                secret(Which::DbPassword, Some(pending.clone())),
            ],
            Given::default(),
        );
        let plan = diff(&[], &now).unwrap();
        assert_eq!(
            plan.changes[1].op,
            Op::Restore {
                which: Which::DbPassword,
                rotate: None
            }
        );
        assert_eq!(
            planned(&now, &plan).db_password.version.as_deref(),
            Some("v-d"),
            "a restore keeps the version"
        );
        pending.owner = Owner::Untagged;
        let now = observed(
            vec![secret(Which::DbPassword, Some(pending))],
            Given::default(),
        );
        assert_eq!(diff(&[], &now).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn another_apps_secret_is_refused_naming_that_app() {
        let mut theirs = ours("arn:t", "v-t");
        theirs.owner = Owner::App("unicorn".into());
        let now = observed(
            vec![secret(Which::GithubToken, Some(theirs))],
            Given::default(),
        );
        let e = diff(&[], &now).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(
            e.message.contains("app unicorn") && !e.message.contains("no stagehand tags"),
            "{}",
            e.message
        );
    }

    #[test]
    fn a_hand_made_secret_with_a_bad_value_is_refused_unless_rotated() {
        let mut bad = ours("arn:d", "v-d");
        bad.owner = Owner::Untagged;
        bad.problem = Some(Problem::Password("has 50 characters".into()));
        let now = observed(vec![secret(Which::DbPassword, Some(bad))], Given::default());
        let e = diff(&[], &now).unwrap_err();
        assert!(e.message.contains("--rotate db-password"), "{}", e.message);
        let plan = diff(&[Rotate::DbPassword], &now).unwrap();
        assert_eq!(plan.changes[0].action.word(), "update");
    }

    #[test]
    fn the_oauth_pair_stays_once_created_and_half_a_pair_is_refused() {
        let mut secrets = both();
        secrets.push(secret(Which::OauthClientId, Some(ours("arn:i", "v-i"))));
        secrets.push(secret(Which::OauthClientSecret, Some(ours("arn:s", "v-s"))));
        let now = observed(secrets.clone(), Given::default());
        let plan = diff(&[], &now).unwrap();
        assert!(!plan.has_work());
        let s = planned(&now, &plan);
        assert_eq!(s.oauth_client_id.unwrap().arn, "arn:i");
        assert_eq!(
            s.oauth_client_secret.unwrap().version.as_deref(),
            Some("v-s")
        );

        let plan = diff(&[Rotate::Oauth], &now).unwrap();
        let updated: Vec<_> = plan
            .changes
            .iter()
            .filter(|c| matches!(c.action, Action::Update(_)))
            .map(|c| c.op.which())
            .collect();
        assert_eq!(updated, [Which::OauthClientId, Which::OauthClientSecret]);

        secrets[3].found = None;
        let e = diff(&[], &observed(secrets, Given::default())).unwrap_err();
        assert!(
            e.message.contains("AUTH_GITHUB_CLIENT_SECRET"),
            "{}",
            e.message
        );
    }
}
