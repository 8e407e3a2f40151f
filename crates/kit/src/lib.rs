//! The kit every stagehand tool is built on: the [`Step`] shape and its runner, the shared
//! flags, the one error type with its exit code, AWS configuration and error
//! classification, tagging, and waiters with progress.

pub mod aws;
pub mod cli;
mod error;
pub mod jsondiff;
pub mod log;
pub mod names;
pub mod plan;
pub mod settings;
mod step;
pub mod wait;

pub use cli::SETTINGS;
pub use error::{AwsContext, Error, Kind, Result, ResultExt};
pub use plan::{Action, Field, Plan, field};
pub use stackdoc::{self, Doc, PLANNED};
pub use step::{Cx, DEFAULT_APP, Step, command, parse_args, run};

/// Prefix of stagehand's own tag keys.
pub const TAG_PREFIX: &str = "stagehand:";
/// The app a resource belongs to.
pub const TAG_APP: &str = "stagehand:app";
/// The step (section) that created it; `--destroy` deletes only what carries both tags.
pub const TAG_STEP: &str = "stagehand:step";
