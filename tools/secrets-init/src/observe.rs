//! Read-only: the stack's secrets as Secrets Manager has them (one DescribeSecret each, side
//! by side). A secret stagehand did not make is read once to check its format, and the value
//! is dropped at once; stagehand's own hold what it stored, and a rerun need not read them.

use aws_sdk_secretsmanager::Client;
use kit::{AwsContext, Cx, Result, TAG_APP};
use secret::{CURRENT, ExposeSecret};

use crate::values::{self, Given};
use crate::{Args, Names, Rotate, Which, own_section, rotations};

/// Whose a secret is, by its stagehand tags.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// Made by secrets-init for this app: reused, rotated and deleted.
    Ours,
    /// No stagehand tags (made by hand): reused as it is, never deleted.
    Untagged,
    /// Another app's (tagged `stagehand:app=<app>`): never adopted.
    App(String),
}

/// What is wrong with the value of a secret stagehand did not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// A JSON key/value object, where the consumers read the whole string.
    KeyValue,
    /// A DB password Aurora would refuse (the rule it breaks, without the value).
    Password(String),
}

/// One secret as found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub arn: String,
    /// Scheduled for deletion (by an earlier --destroy, or by hand).
    pub pending_deletion: bool,
    pub owner: Owner,
    /// The version labelled AWSCURRENT.
    pub current: Option<String>,
    /// Every version that has a label.
    pub versions: Vec<String>,
    pub problem: Option<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secret {
    pub which: Which,
    pub name: String,
    pub found: Option<Found>,
    /// The AWSCURRENT version the document recorded for this name, when it did.
    pub recorded_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    pub app: String,
    /// The two the stack always has, then the OAuth pair when it was looked up.
    pub secrets: Vec<Secret>,
    pub given: Given,
}

impl Observed {
    pub fn get(&self, which: Which) -> Option<&Secret> {
        self.secrets.iter().find(|s| s.which == which)
    }
}

pub async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
    let names = Names::resolve(cx, args)?;
    // Values are checked before the first call, so bad input makes no write.
    let given = values::given(args, &rotations(args)?)?;
    let section = own_section(&cx.doc);
    // The OAuth pair is looked up when it is given or rotated, when the section records it,
    // or on a stack's first run here; a no-op rerun without it makes no extra call.
    let oauth = given.oauth
        || rotations(args)?.contains(&Rotate::Oauth)
        || section.is_none()
        || section
            .as_ref()
            .is_some_and(|s| s.oauth_client_id.is_some() || s.oauth_client_secret.is_some());
    let wanted: Vec<Which> = Which::ALL
        .into_iter()
        .filter(|w| oauth || !w.is_oauth())
        .collect();
    let client = Client::new(&cx.sdk);
    let finds = wanted
        .iter()
        .map(|w| find(cx, &client, *w, names.of(*w), true));
    let found = futures::future::try_join_all(finds).await?;
    let secrets = wanted
        .into_iter()
        .zip(found)
        .map(|(which, found)| {
            let name = names.of(which).to_owned();
            let recorded_version = section
                .as_ref()
                .and_then(|s| which.entry(s))
                .filter(|r| r.name == name)
                .and_then(|r| r.version.clone())
                .filter(|v| v != stackdoc::PLANNED);
            Secret {
                which,
                name,
                found,
                recorded_version,
            }
        })
        .collect();
    Ok(Observed {
        app: cx.app.clone(),
        secrets,
        given,
    })
}

/// One secret by name: None when it does not exist. With `check`, a hand-made one's value is
/// checked (read once, dropped at once).
pub async fn find(
    cx: &Cx,
    client: &Client,
    which: Which,
    name: &str,
    check: bool,
) -> Result<Option<Found>> {
    let Some(described) = client
        .describe_secret()
        .secret_id(name)
        .send()
        .await
        .found(format!("describing the {} {name}", which.label()))?
    else {
        return Ok(None);
    };
    let tags: Vec<(&str, &str)> = described
        .tags()
        .iter()
        .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default()))
        .collect();
    let owner = if cx.owns(tags.iter().copied()) {
        Owner::Ours
    } else {
        match tags.iter().find(|(k, _)| *k == TAG_APP) {
            Some((_, app)) if *app != cx.app => Owner::App((*app).to_owned()),
            _ => Owner::Untagged,
        }
    };
    let mut current = None;
    let mut versions = Vec::new();
    if let Some(map) = described.version_ids_to_stages() {
        for (version, stages) in map {
            if stages.iter().any(|s| s == CURRENT) {
                current = Some(version.clone());
            }
            versions.push(version.clone());
        }
    }
    versions.sort();
    let pending_deletion = described.deleted_date().is_some();
    let mut found = Found {
        arn: described.arn().unwrap_or_default().to_owned(),
        pending_deletion,
        owner,
        current,
        versions,
        problem: None,
    };
    if check && found.owner == Owner::Untagged && !pending_deletion {
        found.problem = check_value(client, which, &found.arn, name).await?;
    }
    Ok(Some(found))
}

/// The seed's warning: a key/value (JSON) secret breaks both consumers, which read the whole
/// string; and a DB password Aurora refuses breaks db-up.
async fn check_value(
    client: &Client,
    which: Which,
    arn: &str,
    name: &str,
) -> Result<Option<Problem>> {
    let out = client
        .get_secret_value()
        .secret_id(arn)
        .send()
        .await
        .ctx(format!(
            "reading the {} {name} to check its format",
            which.label()
        ))?;
    let Some(text) = out
        .secret_string()
        .map(|s| secret::SecretString::from(s.to_owned()))
    else {
        return Ok(None);
    };
    let text = text.expose_secret();
    if values::looks_like_key_value(text) {
        return Ok(Some(Problem::KeyValue));
    }
    if which == Which::DbPassword
        && let Some(rule) = values::password_problem(text)
    {
        return Ok(Some(Problem::Password(rule)));
    }
    Ok(None)
}
