//! One typed view per tool's section. Each names the tool that produces it, so that a missing
//! or incomplete section can say which tool to run.

use serde::{Serialize, de::DeserializeOwned};

mod alb;
mod core;
mod db;
mod ecr;
mod pipeline;
mod secrets;
mod slr;
mod svc;

pub use alb::Alb;
pub use core::{Core, Subnet};
pub use db::Db;
pub use ecr::Ecr;
pub use pipeline::Pipeline;
pub use secrets::{SecretRef, Secrets};
pub use slr::Slr;
pub use svc::Svc;

/// A section of the stack document.
pub trait Section: Serialize + DeserializeOwned {
    /// The key in the document ("core").
    const NAME: &'static str;
    /// The tool that writes it ("core-up").
    const PRODUCER: &'static str;
    /// Checks serde cannot express; returns the problem, phrased to follow "incomplete: ".
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// A resource known by name and ARN (a secret, an SSM parameter, a role).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NamedArn {
    pub name: String,
    pub arn: String,
}

/// Fails with "`field` is empty" for the first empty string among `fields`.
pub(crate) fn non_empty(fields: &[(&str, &str)]) -> Result<(), String> {
    match fields.iter().find(|(_, v)| v.trim().is_empty()) {
        Some((name, _)) => Err(format!("\"{name}\" is empty")),
        None => Ok(()),
    }
}
