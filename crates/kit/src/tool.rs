//! What every tool shares beyond the step shape: the AWS configuration checked against the
//! document's region and account, and the `main` of a tool that is not a step (svc-ops,
//! task-exec, stack-status).

use std::process::ExitCode;

use aws_config::SdkConfig;
use stackdoc::Doc;

use crate::cli::Aws;
use crate::{AwsContext, Error, Result};

/// The AWS configuration a tool works with, and the region and account it reaches.
pub struct Account {
    pub sdk: SdkConfig,
    pub region: String,
    pub account: String,
}

/// Check and load the AWS configuration, then refuse (exit 2) a document recorded for
/// another region or account before any call but STS GetCallerIdentity.
pub async fn connect(aws: &Aws, doc: &Doc) -> Result<Account> {
    let (sdk, region) = configure(aws, doc).await?;
    let account = caller_account(&sdk, doc).await?;
    Ok(Account {
        sdk,
        region,
        account,
    })
}

/// The AWS configuration, checked and loaded, and its region: refused (exit 2) when the
/// document was recorded for another region. No AWS call.
pub async fn configure(aws: &Aws, doc: &Doc) -> Result<(SdkConfig, String)> {
    crate::aws::check_config(aws)?;
    let sdk = crate::aws::load_config(aws).await;
    let region = crate::aws::region_of(&sdk)?;
    if let Some(doc_region) = doc.region().filter(|r| *r != region) {
        return Err(Error::usage(format!(
            "the stack document is for region {doc_region}, but the current region is {region}; set AWS_REGION={doc_region} or pass --region {doc_region}"
        )));
    }
    Ok((sdk, region))
}

/// Whose credentials these are (STS GetCallerIdentity): refused (exit 2) when the document
/// was recorded for another account. Inside stack-run's chain the answer stack-run got for
/// the very same credentials is taken instead of asking again ([`CHECKED_CALLER`]).
pub async fn caller_account(sdk: &SdkConfig, doc: &Doc) -> Result<String> {
    let account = match checked_caller(sdk).await {
        Some(account) => account,
        None => ask_caller(sdk).await?,
    };
    if let Some(doc_account) = doc.account().filter(|a| *a != account) {
        return Err(Error::usage(format!(
            "the stack document is for account {doc_account}, but the current credentials are for account {account}; use credentials (AWS_PROFILE) for {doc_account}"
        )));
    }
    Ok(account)
}

/// The environment variable through which stack-run hands the tools it runs the account it
/// checked with STS, for which credentials and endpoint: `ACCOUNT ACCESS_KEY_ID ENDPOINT`
/// (`-` for no endpoint override). A tool takes the account only when its own credentials
/// resolve to that access key id and it talks to that endpoint: the same key is the same
/// principal, so STS would answer the same. Anything else (another --profile or
/// --endpoint-url in a step's flags, a malformed value) and the tool asks STS itself.
pub const CHECKED_CALLER: &str = "STAGEHAND_CHECKED_CALLER";

/// STS GetCallerIdentity: the account.
pub async fn ask_caller(sdk: &SdkConfig) -> Result<String> {
    let identity = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .ctx("reading the caller identity (STS GetCallerIdentity); check your AWS credentials")?;
    Ok(identity.account().unwrap_or_default().to_owned())
}

/// The value of [`CHECKED_CALLER`] for these credentials, after asking STS; None when the
/// credentials are temporary (a role's session: each resolution may give another key, so a
/// tool could not match it, and resolving again could cost a call) or STS failed (each tool
/// then asks and reports the failure itself).
pub async fn checked_caller_value(sdk: &SdkConfig) -> Option<String> {
    let creds = resolve(sdk).await?;
    if creds.expiry().is_some() {
        return None;
    }
    let account = ask_caller(sdk).await.ok()?;
    (!account.is_empty()).then(|| {
        format!(
            "{account} {} {}",
            creds.access_key_id(),
            sdk.endpoint_url().unwrap_or("-")
        )
    })
}

/// The account stack-run checked, if it holds for these credentials and this endpoint.
async fn checked_caller(sdk: &SdkConfig) -> Option<String> {
    let given = std::env::var(CHECKED_CALLER).ok()?;
    let [account, key, endpoint] = given.split(' ').collect::<Vec<_>>()[..] else {
        return None;
    };
    if account.is_empty() || key.is_empty() || endpoint != sdk.endpoint_url().unwrap_or("-") {
        return None;
    }
    let creds = resolve(sdk).await?;
    (creds.expiry().is_none() && creds.access_key_id() == key).then(|| {
        crate::debug!("account {account}: checked by stack-run for the same access key");
        account.to_owned()
    })
}

async fn resolve(sdk: &SdkConfig) -> Option<aws_credential_types::Credentials> {
    use aws_credential_types::provider::ProvideCredentials;
    sdk.credentials_provider()?.provide_credentials().await.ok()
}

/// The whole `main` of a tool that is not a step: parse the command line (a usage error is
/// one line and exit 2), start logging at the level `verbosity` reads from it (-v count,
/// --quiet), run `body` on a current-thread runtime; an error is one line on stderr and its
/// exit code.
pub fn main<C: clap::Parser>(
    tool: &'static str,
    verbosity: impl FnOnce(&C) -> (u8, bool),
    body: impl AsyncFnOnce(&C) -> Result<ExitCode>,
) -> ExitCode {
    let cli: C = match crate::parse_args(tool) {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let (verbose, quiet) = verbosity(&cli);
    crate::log::init(tool, verbose, quiet);
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::aws(format!("cannot start the async runtime: {e}")))
        .and_then(|runtime| runtime.block_on(body(&cli)));
    match result {
        Ok(code) => code,
        Err(e) => fail(tool, &e),
    }
}

/// An error as every tool reports it: one line on stderr, and its exit code.
pub fn fail(tool: &str, e: &Error) -> ExitCode {
    eprintln!("{tool}: error: {e}");
    ExitCode::from(e.exit_code())
}
