//! The stack document: the JSON contract between stagehand's tools.
//!
//! One object, `"version": 1`, with top-level `app`, `region`, `account`, `tags`, then one
//! section per tool. A tool reads the sections it needs through typed views
//! ([`Doc::require`]) and writes only its own ([`Doc::put`]); every other key, known or not,
//! is kept byte-for-byte as it was found, because the document is stored as JSON values and
//! only the owner's section is ever re-serialised.
//!
//! Pure: serde types and validation, no AWS dependency, so it is unit-tested on its own.

pub mod cli;
mod doc;
mod error;
pub mod sections;

pub use doc::{Doc, VERSION};
pub use error::DocError;
pub use sections::{
    Alb, Core, Db, Ecr, NamedArn, Pipeline, SecretRef, Secrets, Section, Slr, Subnet, Svc,
};

/// Identifier placeholder in a planned document for what apply would create.
pub const PLANNED: &str = "(known after apply)";
