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
pub mod tool;
pub mod wait;

pub use cli::SETTINGS;
pub use error::{AwsContext, Error, Kind, Result, ResultExt};
pub use plan::{Action, Field, Plan, field};
pub use stackdoc::cli::parse_args;
pub use stackdoc::{self, Doc, PLANNED};
pub use step::{Cx, DEFAULT_APP, Step, command, run};

/// Prefix of stagehand's own tag keys.
pub const TAG_PREFIX: &str = "stagehand:";
/// The app a resource belongs to.
pub const TAG_APP: &str = "stagehand:app";
/// The step (section) that created it; `--destroy` deletes only what carries both tags.
pub const TAG_STEP: &str = "stagehand:step";

/// A resource's tags as the SDKs give them (a key and a value, each optional) as a map; a
/// missing key or value is empty.
pub fn tag_map<'a>(
    pairs: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
) -> std::collections::BTreeMap<String, String> {
    pairs
        .into_iter()
        .map(|(k, v)| {
            (
                k.unwrap_or_default().to_owned(),
                v.unwrap_or_default().to_owned(),
            )
        })
        .collect()
}
