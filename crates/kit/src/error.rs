//! The one error type of every tool. It carries its exit code: 1 AWS or runtime failure,
//! 2 bad usage or bad input, 3 timed out waiting.

use std::fmt;

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

/// One line naming the resource and what to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub kind: Kind,
    pub message: String,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn aws(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Aws,
            message: message.into(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Usage,
            message: message.into(),
        }
    }
    pub fn timeout(message: impl Into<String>) -> Self {
        Error {
            kind: Kind::Timeout,
            message: message.into(),
        }
    }
    pub fn exit_code(&self) -> u8 {
        match self.kind {
            Kind::Aws => 1,
            Kind::Usage => 2,
            Kind::Timeout => 3,
        }
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

impl std::error::Error for Error {}

impl From<stackdoc::DocError> for Error {
    fn from(e: stackdoc::DocError) -> Self {
        Error::usage(e.to_string())
    }
}

/// Adds "what we were doing" to an AWS SDK error: `client.create_x().send().await.ctx("creating x")?`
/// gives "creating x: AccessDenied: User ... is not authorized ...".
pub trait AwsContext<T> {
    fn ctx(self, doing: impl fmt::Display) -> Result<T>;
}

impl<T, E> AwsContext<T> for std::result::Result<T, E>
where
    E: ProvideErrorMetadata + std::error::Error,
{
    fn ctx(self, doing: impl fmt::Display) -> Result<T> {
        self.map_err(|e| Error::aws(format!("{doing}: {}", crate::aws::describe(&e))))
    }
}
