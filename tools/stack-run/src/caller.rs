//! The account check, once for the chain: stack-run asks STS who the credentials are and
//! hands the answer to every tool it runs (kit::tool::CHECKED_CALLER), which takes it only
//! for the same access key and endpoint, and otherwise asks STS itself. Seven tools, one
//! GetCallerIdentity.

use std::sync::OnceLock;

static CHECKED: OnceLock<Option<String>> = OnceLock::new();

/// Ask STS once (credentials and endpoint from the environment, as the tools resolve them
/// without step flags). Nothing is handed on when the credentials are temporary or the
/// question fails: each tool then asks, and reports a failure, as it would alone.
pub fn check() {
    CHECKED.get_or_init(|| {
        let aws = kit::cli::Aws::default();
        kit::aws::check_config(&aws).ok()?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .ok()?;
        runtime.block_on(async {
            let sdk = kit::aws::load_config(&aws).await;
            kit::tool::checked_caller_value(&sdk).await
        })
    });
}

/// The environment a tool runs with: the checked caller, when there is one.
pub fn env() -> Option<(&'static str, &'static str)> {
    CHECKED
        .get()
        .and_then(|v| v.as_deref())
        .map(|v| (kit::tool::CHECKED_CALLER, v))
}
