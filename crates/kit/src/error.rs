//! The one error type of every tool. It carries its exit code and keeps its cause: the AWS
//! error code (so callers match codes, never message text) and the SDK error itself.
//!
//! Exit codes: 1 AWS or runtime failure, 2 bad usage or bad input, 3 timed out waiting.
//!
//! The rule for 1 versus 2 when the account is in a state the user must fix: when stagehand
//! itself refuses, from what read-only calls found, before any write of this run (a name taken
//! by another app's resource, a destroy guard, an engine that is not Serverless v2), it is
//! [`Kind::Usage`] (exit 2): nothing was changed, and the user changes an input or the
//! account. When AWS refuses or fails a call, or a resource ends in a failed state, it is
//! [`Kind::Aws`] (exit 1).

use std::fmt;
use std::sync::Arc;

use aws_smithy_types::error::metadata::ProvideErrorMetadata;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// AWS or runtime failure: exit 1.
    Aws,
    /// Bad usage or bad input (flags, document, account state the user must fix): exit 2.
    Usage,
    /// A wait ran past `--timeout`: exit 3.
    Timeout,
}

type Cause = Arc<dyn std::error::Error + Send + Sync + 'static>;

/// One line naming the resource and what to do.
#[derive(Debug, Clone)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
    /// The code AWS answered with ("DBClusterNotFoundFault"), when the error came from AWS.
    pub code: Option<String>,
    cause: Option<Cause>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message && self.code == other.code
    }
}

impl Error {
    fn of(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            code: None,
            cause: None,
        }
    }
    pub fn aws(message: impl Into<String>) -> Self {
        Self::of(Kind::Aws, message)
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::of(Kind::Usage, message)
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Self::of(Kind::Timeout, message)
    }

    /// An AWS SDK error with what we were doing: "creating x: AccessDenied: …". Keeps the code
    /// and the SDK error.
    pub fn from_sdk<E>(doing: impl fmt::Display, err: E) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        Error {
            kind: Kind::Aws,
            message: format!("{doing}: {}", crate::aws::describe(&err)),
            code: err.code().map(str::to_owned),
            cause: Some(Arc::new(err)),
        }
    }

    /// The same error with another exit code (an AWS answer that means the user must act).
    pub fn with_kind(mut self, kind: Kind) -> Self {
        self.kind = kind;
        self
    }

    /// The same error (kind, code, cause) with another message.
    pub fn context_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The same error with more context in front: "deleting the stack: <message>".
    pub fn context(mut self, doing: impl fmt::Display) -> Self {
        self.message = format!("{doing}: {}", self.message);
        self
    }

    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Aws => 1,
            Kind::Usage => 2,
            Kind::Timeout => 3,
        }
    }

    /// The AWS error code, if AWS answered with one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Whether AWS answered with exactly this code.
    pub fn is_code(&self, code: &str) -> bool {
        self.code() == Some(code)
    }

    /// "This thing does not exist", across services' spellings.
    pub fn is_not_found(&self) -> bool {
        self.code().is_some_and(crate::aws::is_not_found_code)
    }

    /// "This thing exists already".
    pub fn is_already_exists(&self) -> bool {
        self.code().is_some_and(crate::aws::is_already_exists_code)
    }

    /// A dependent resource still holds on (retried while it drains).
    pub fn is_dependency_violation(&self) -> bool {
        self.code()
            .is_some_and(crate::aws::is_dependency_violation_code)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always one line, whatever an AWS message carried.
        let one_line: String = self
            .message
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        f.write_str(&one_line)
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl From<stackdoc::DocError> for Error {
    fn from(e: stackdoc::DocError) -> Self {
        Error::usage(e.to_string())
    }
}

/// Adds "what we were doing" to an AWS SDK error, and the three idioms of idempotent code:
///
/// ```ignore
/// client.create_x().send().await.ctx("creating x")?;            // any error fails
/// let x = client.describe_x().send().await.found("reading x")?; // not found → None
/// let made = client.create_x().send().await.created("creating x")?; // exists → None
/// let was_there = client.delete_x().send().await.deleted("deleting x")?; // gone → false
/// ```
pub trait AwsContext<T> {
    fn ctx(self, doing: impl fmt::Display) -> Result<T>;
    /// Not found is `Ok(None)`.
    fn found(self, doing: impl fmt::Display) -> Result<Option<T>>;
    /// Already exists (a rerun, a retried call whose first answer was lost) is `Ok(None)`.
    fn created(self, doing: impl fmt::Display) -> Result<Option<T>>;
    /// Deleting what is already gone succeeds: `Ok(false)`; `Ok(true)` when this call deleted it.
    fn deleted(self, doing: impl fmt::Display) -> Result<bool>;
}

impl<T, E> AwsContext<T> for std::result::Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn ctx(self, doing: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::from_sdk(doing, e))
    }
    fn found(self, doing: impl fmt::Display) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code().is_some_and(crate::aws::is_not_found_code) => Ok(None),
            Err(e) => Err(Error::from_sdk(doing, e)),
        }
    }
    fn created(self, doing: impl fmt::Display) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.code().is_some_and(crate::aws::is_already_exists_code) => Ok(None),
            Err(e) => Err(Error::from_sdk(doing, e)),
        }
    }
    fn deleted(self, doing: impl fmt::Display) -> Result<bool> {
        match self {
            Ok(_) => Ok(true),
            Err(e) if e.code().is_some_and(crate::aws::is_not_found_code) => Ok(false),
            Err(e) => Err(Error::from_sdk(doing, e)),
        }
    }
}

/// The same idioms on a kit [`Result`] (after a `retrying` or a helper that already added
/// context).
pub trait ResultExt<T> {
    fn found(self) -> Result<Option<T>>;
    fn deleted(self) -> Result<bool>;
}

impl<T> ResultExt<T> for Result<T> {
    fn found(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn deleted(self) -> Result<bool> {
        match self {
            Ok(_) => Ok(true),
            Err(e) if e.is_not_found() => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Fake(aws_smithy_types::error::ErrorMetadata);
    fn fake(code: &str) -> Fake {
        Fake(
            aws_smithy_types::error::ErrorMetadata::builder()
                .code(code)
                .message("it says so")
                .build(),
        )
    }
    impl fmt::Display for Fake {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0.code().unwrap_or_default())
        }
    }
    impl std::error::Error for Fake {}
    impl ProvideErrorMetadata for Fake {
        fn meta(&self) -> &aws_smithy_types::error::ErrorMetadata {
            &self.0
        }
    }

    #[test]
    fn keeps_the_code_and_the_cause() {
        let e = Error::from_sdk("reading x", fake("DBClusterNotFoundFault"));
        assert_eq!(e.code(), Some("DBClusterNotFoundFault"));
        assert!(e.is_not_found());
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(
            e.to_string(),
            "reading x: DBClusterNotFoundFault: it says so"
        );
        assert_eq!(e.exit_code(), 1);
    }

    #[test]
    fn idioms() {
        let gone: std::result::Result<(), Fake> = Err(fake("NoSuchEntity"));
        assert_eq!(gone.deleted("deleting"), Ok(false));
        let missing: std::result::Result<(), Fake> = Err(fake("ResourceNotFoundException"));
        assert_eq!(missing.found("reading"), Ok(None));
        let exists: std::result::Result<(), Fake> = Err(fake("EntityAlreadyExists"));
        assert_eq!(exists.created("creating"), Ok(None));
        let denied: std::result::Result<(), Fake> = Err(fake("AccessDenied"));
        let e = denied.found("reading").unwrap_err();
        assert!(e.is_code("AccessDenied"));
        assert_eq!(Err::<(), _>(e).deleted().unwrap_err().kind, Kind::Aws);
    }

    #[test]
    fn one_line() {
        let e = Error::usage("two\nlines   here");
        assert_eq!(e.to_string(), "two lines here");
        assert_eq!(e.exit_code(), 2);
    }
}
