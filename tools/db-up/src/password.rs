//! The master password. Secrets Manager owns its value; db-up records which version of the
//! password secret it last set on the cluster (`db.password_version`) and sets the value again
//! when AWSCURRENT moves on.
//!
//! - A new cluster is created with the current value, and that version is recorded.
//! - A rotated secret (AWSCURRENT ≠ the recorded version) is set with ModifyDBCluster
//!   (MasterUserPassword, applied immediately) and the new version recorded.
//! - A document written before versions were recorded (none recorded, the cluster exists)
//!   adopts the current version without a write: the cluster was made from that secret.
//! - A restored cluster keeps its snapshot's password, which may belong to a version rotated
//!   away since, or to a secret deleted and made anew: db-up cannot know that they match, so
//!   it always sets the current value once the restored cluster is available. The cluster
//!   carries `stagehand:restored-from`, so a run that did not get that far (--no-wait, a
//!   kill) leaves no version recorded and the next run sets the password instead of
//!   adopting it.

use kit::{Error, Result};
use secret::{ExposeSecret, SecretString};

/// Aurora PostgreSQL's rules for MasterUserPassword: 8 to 41 printable ASCII characters,
/// without `/`, `@`, `"` or space. Checked on the value before any write; the message never
/// shows the value.
pub fn check_rules(value: &SecretString, secret: &str) -> Result<()> {
    let v = value.expose_secret();
    let len = v.chars().count();
    let problem = if !(8..=41).contains(&len) {
        Some(format!("it has {len} characters"))
    } else if !v.chars().all(|c| c.is_ascii_graphic()) {
        Some("it holds a space, a control or a non-ASCII character".to_owned())
    } else if v.chars().any(|c| matches!(c, '/' | '@' | '"')) {
        Some("it holds / @ or \"".to_owned())
    } else {
        None
    };
    match problem {
        None => Ok(()),
        Some(p) => Err(Error::usage(format!(
            "the DB password in secret {secret} is not a valid Aurora master password ({p}); Aurora needs 8 to 41 printable ASCII characters without / @ \" or space: put a new value with secrets-init --rotate db-password"
        ))),
    }
}

/// What a run does about the master password of an existing cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// The cluster has the current version (or the secret is only planned).
    Keep,
    /// Set the current value on the cluster.
    Set { from: Option<String>, to: String },
    /// Record the current version without a write (a document from before versions).
    Adopt { version: String },
}

/// The action for an existing cluster, from the recorded version, AWSCURRENT's version, and
/// whether the cluster was restored from a snapshot.
pub fn action(
    recorded: Option<&str>,
    current: Option<&str>,
    restored_from: Option<&str>,
) -> Action {
    let Some(current) = current else {
        return Action::Keep;
    };
    match recorded {
        Some(r) if r == current => Action::Keep,
        Some(r) => Action::Set {
            from: Some(r.to_owned()),
            to: current.to_owned(),
        },
        None if restored_from.is_some() => Action::Set {
            from: None,
            to: current.to_owned(),
        },
        None => Action::Adopt {
            version: current.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> SecretString {
        SecretString::from(v.to_owned())
    }

    #[test]
    fn aurora_password_rules() {
        for good in [
            "abcdefgh",
            "A1!#$%&'()*+,-.:;<=>?[]^_`{|}~",
            &"x".repeat(41),
        ] {
            assert!(check_rules(&s(good), "pw").is_ok(), "{good}");
        }
        for bad in [
            "short",
            &"x".repeat(42),
            "has space1",
            "slash/abcd",
            "at@abcdefg",
            "quote\"abcd",
            "tab\tabcdef",
            "ünïcödé123",
        ] {
            let e = check_rules(&s(bad), "pw").unwrap_err();
            assert_eq!(e.exit_code(), 2, "{bad}");
            assert!(
                !e.message.contains(bad),
                "the message shows the value: {}",
                e.message
            );
            assert!(e.message.contains("secrets-init --rotate db-password"));
        }
    }

    #[test]
    fn password_actions() {
        assert_eq!(action(Some("v1"), Some("v1"), None), Action::Keep);
        assert_eq!(
            action(Some("v1"), Some("v2"), None),
            Action::Set {
                from: Some("v1".into()),
                to: "v2".into()
            }
        );
        assert_eq!(
            action(None, Some("v2"), None),
            Action::Adopt {
                version: "v2".into()
            }
        );
        assert_eq!(
            action(None, Some("v2"), Some("snap-1")),
            Action::Set {
                from: None,
                to: "v2".into()
            }
        );
        // A planned secret has no version yet: nothing to do.
        assert_eq!(action(Some("v1"), None, None), Action::Keep);
        // Once recorded, the restore tag no longer matters.
        assert_eq!(action(Some("v2"), Some("v2"), Some("snap-1")), Action::Keep);
    }
}
