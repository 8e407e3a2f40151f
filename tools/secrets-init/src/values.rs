//! Where secret values come from (an environment variable or a file, never argv) and the
//! rules they must meet. A value is read when it is needed and dropped after the call that
//! stores it; nothing here prints one.

use std::path::Path;

use kit::{Error, Result};
use secret::{ExposeSecret, SecretString};

use crate::{Args, Rotate};

pub const TOKEN_ENV: &str = "GITHUB_TOKEN";
pub const PASSWORD_ENV: &str = "POSTGRES_PASSWORD";
pub const OAUTH_ID_ENV: &str = "AUTH_GITHUB_CLIENT_ID";
pub const OAUTH_SECRET_ENV: &str = "AUTH_GITHUB_CLIENT_SECRET";

/// Characters Aurora refuses in a master password (besides non-printable ones).
pub const RDS_REFUSED: &str = "/@\" ";

/// Which values the run was given (their presence only).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Given {
    pub token: bool,
    pub password: bool,
    /// Both OAuth values (one without the other is refused).
    pub oauth: bool,
}

/// Read and check every given value, and what `--rotate` needs: bad input is exit 2 before
/// any write. The values themselves are dropped here.
pub fn given(args: &Args, rotate: &[Rotate]) -> Result<Given> {
    let given = Given {
        token: token(args)?.is_some(),
        password: password(args)?.is_some(),
        oauth: oauth(args)?.is_some(),
    };
    if rotate.contains(&Rotate::GithubToken) && !given.token {
        return Err(Error::usage(
            "--rotate github-token needs the new token: set GITHUB_TOKEN or pass --github-token-file FILE",
        ));
    }
    if rotate.contains(&Rotate::Oauth) && !given.oauth {
        return Err(Error::usage(
            "--rotate oauth needs the new values: set AUTH_GITHUB_CLIENT_ID and AUTH_GITHUB_CLIENT_SECRET (or pass --oauth-client-id-file and --oauth-client-secret-file)",
        ));
    }
    Ok(given)
}

/// A value from `file`, else the variable `env`. An empty variable counts as not set (a
/// Makefile's `VAR ?=`); an empty file is bad input.
fn read(env: &str, file: Option<&Path>, flag: &str) -> Result<Option<SecretString>> {
    if file.is_none() && std::env::var_os(env).is_none_or(|v| v.is_empty()) {
        return Ok(None);
    }
    secret::from_env_or_file(env, file, flag)
}

/// A value the consumers read whole: no whitespace, not a JSON key/value object.
fn plain_text(value: &SecretString, what: &str, source: &str) -> Result<()> {
    let v = value.expose_secret();
    if v.chars().any(char::is_whitespace) {
        return Err(Error::usage(format!(
            "the {what} contains whitespace; give the bare value in {source}"
        )));
    }
    if looks_like_key_value(v) {
        return Err(Error::usage(format!(
            "the {what} is a JSON object; give the bare value in {source}, not a key/value pair"
        )));
    }
    Ok(())
}

/// The token, from `--github-token-file` or `GITHUB_TOKEN`; None when neither is given.
pub fn token(args: &Args) -> Result<Option<SecretString>> {
    let value = read(
        TOKEN_ENV,
        args.github_token_file.as_deref(),
        "--github-token-file",
    )?;
    if let Some(v) = &value {
        plain_text(v, "GitHub token", "GITHUB_TOKEN or --github-token-file")?;
    }
    Ok(value)
}

/// The password, from `--db-password-file` or `POSTGRES_PASSWORD`; None means generate one.
pub fn password(args: &Args) -> Result<Option<SecretString>> {
    let value = read(
        PASSWORD_ENV,
        args.db_password_file.as_deref(),
        "--db-password-file",
    )?;
    if let Some(v) = &value
        && let Some(problem) = password_problem(v.expose_secret())
    {
        let source = match &args.db_password_file {
            Some(f) => format!("--db-password-file {}", f.display()),
            None => PASSWORD_ENV.to_owned(),
        };
        return Err(Error::usage(format!(
            "the DB password in {source} {problem}; choose another, or leave it out to have one generated"
        )));
    }
    Ok(value)
}

/// The OAuth app's client id and secret: both, or neither.
pub fn oauth(args: &Args) -> Result<Option<(SecretString, SecretString)>> {
    let id = read(
        OAUTH_ID_ENV,
        args.oauth_client_id_file.as_deref(),
        "--oauth-client-id-file",
    )?;
    let secret = read(
        OAUTH_SECRET_ENV,
        args.oauth_client_secret_file.as_deref(),
        "--oauth-client-secret-file",
    )?;
    match (id, secret) {
        (Some(id), Some(secret)) => {
            plain_text(&id, "OAuth client id", "AUTH_GITHUB_CLIENT_ID")?;
            plain_text(&secret, "OAuth client secret", "AUTH_GITHUB_CLIENT_SECRET")?;
            Ok(Some((id, secret)))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(Error::usage(
            "the OAuth client id is given but not its secret; set AUTH_GITHUB_CLIENT_SECRET (or --oauth-client-secret-file) too",
        )),
        (None, Some(_)) => Err(Error::usage(
            "the OAuth client secret is given but not its id; set AUTH_GITHUB_CLIENT_ID (or --oauth-client-id-file) too",
        )),
    }
}

/// What is wrong with a master password for Aurora PostgreSQL (8 to 41 printable ASCII
/// characters, without / @ " or space), said without the value.
/// <https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBCluster.html>
pub fn password_problem(p: &str) -> Option<String> {
    let len = p.chars().count();
    if !(8..=41).contains(&len) {
        return Some(format!(
            "has {len} characters; Aurora needs 8 to 41 printable ASCII characters"
        ));
    }
    if p.chars().any(|c| !c.is_ascii_graphic() && c != ' ') {
        return Some(
            "has a character that is not printable ASCII, which Aurora refuses".to_owned(),
        );
    }
    if p.contains(|c| RDS_REFUSED.contains(c)) {
        return Some("contains a character Aurora refuses (/ @ \" or space)".to_owned());
    }
    None
}

pub fn looks_like_key_value(text: &str) -> bool {
    text.trim_start().starts_with('{')
        && serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aurora_password_rules() {
        assert_eq!(password_problem("Given-Passw0rd-42"), None);
        assert_eq!(password_problem(&"a".repeat(41)), None);
        for bad in [
            "short",
            &"a".repeat(42),
            "has space in it",
            "with/slash1",
            "with@at12345",
            "with\"quote1",
            "ünïcödé-pässwörd",
            "tab\tinside1",
        ] {
            let problem = password_problem(bad).unwrap_or_else(|| panic!("{bad:?} accepted"));
            assert!(!problem.contains(bad), "the problem shows the value");
        }
    }

    #[test]
    fn key_value_secrets_are_recognised() {
        assert!(looks_like_key_value(r#"{"token": "abc"}"#));
        assert!(!looks_like_key_value("ghp_abc"));
        assert!(!looks_like_key_value("{not json"));
    }
}
