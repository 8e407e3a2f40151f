use thiserror::Error;

/// Everything that can be wrong with a stack document. Every message names the problem and
/// the fix, on one line.
#[derive(Debug, Error, PartialEq)]
pub enum DocError {
    #[error("the stack document is not valid JSON ({0}); pass the output of a stagehand tool")]
    Malformed(String),
    #[error("the stack document must be a JSON object, not {0}")]
    NotAnObject(&'static str),
    #[error(
        "the stack document has version {found}, but this tool reads version {expected}; use a stagehand release that matches the document"
    )]
    Version { found: String, expected: u32 },
    #[error("the stack document has no \"version\"; pass the output of a stagehand tool")]
    NoVersion,
    #[error("field \"{field}\" of the stack document {problem}")]
    TopLevel {
        field: &'static str,
        problem: String,
    },
    #[error("the stack document has no \"{section}\" section; run {producer} first")]
    MissingSection {
        section: &'static str,
        producer: &'static str,
    },
    #[error(
        "section \"{section}\" of the stack document is incomplete: {problem}; rerun {producer} to rewrite it"
    )]
    Incomplete {
        section: &'static str,
        producer: &'static str,
        problem: String,
    },
    #[error(
        "section \"{section}\" is only planned (from {producer} --plan); run {producer} without --plan first"
    )]
    Planned {
        section: &'static str,
        producer: &'static str,
    },
    #[error(
        "the documents to merge disagree on \"{path}\" ({left} vs {right}); merge documents of one stack only"
    )]
    MergeConflict {
        path: String,
        left: String,
        right: String,
    },
}
