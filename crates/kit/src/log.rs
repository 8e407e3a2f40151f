//! stderr output: "tool: message" lines through tracing, at the level -v/-q choose.
//!
//! Every stagehand crate logs through [`crate::info!`] and its siblings, which log under one
//! tracing target, [`TARGET`]; the filter follows that target, so a shared crate's lines are
//! never lost to a list of crate names. `RUST_LOG`, when set, replaces the filter.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, format::Writer};
use tracing_subscriber::registry::LookupSpan;

/// The tracing target of every stagehand log line.
pub const TARGET: &str = "stagehand";

#[doc(hidden)]
pub use tracing as __tracing;

/// `kit::info!("…")`: an info line on stderr, under stagehand's target.
#[macro_export]
macro_rules! info {
    ($($t:tt)*) => { $crate::log::__tracing::info!(target: $crate::log::TARGET, $($t)*) };
}
/// A warning line ("tool: warning: …").
#[macro_export]
macro_rules! warn {
    ($($t:tt)*) => { $crate::log::__tracing::warn!(target: $crate::log::TARGET, $($t)*) };
}
/// A debug line, shown with -v.
#[macro_export]
macro_rules! debug {
    ($($t:tt)*) => { $crate::log::__tracing::debug!(target: $crate::log::TARGET, $($t)*) };
}
/// An error line.
#[macro_export]
macro_rules! error {
    ($($t:tt)*) => { $crate::log::__tracing::error!(target: $crate::log::TARGET, $($t)*) };
}
/// A trace line, shown with -vv.
#[macro_export]
macro_rules! trace {
    ($($t:tt)*) => { $crate::log::__tracing::trace!(target: $crate::log::TARGET, $($t)*) };
}

struct ToolLines(&'static str);

impl<S, N> FormatEvent<S, N> for ToolLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        cx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        write!(w, "{}: ", self.0)?;
        match *event.metadata().level() {
            Level::ERROR => write!(w, "error: ")?,
            Level::WARN => write!(w, "warning: ")?,
            Level::DEBUG | Level::TRACE => write!(w, "debug: ")?,
            Level::INFO => {}
        }
        cx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// The filter for -q / default / -v / -vv: stagehand's lines at that level, everything else
/// (the SDK) only at warn, since its debug output is noise to an operator.
pub fn filter(verbose: u8, quiet: bool) -> String {
    let ours = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    format!("warn,{TARGET}={ours}")
}

pub fn init(tool: &'static str, verbose: u8, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => filter(verbose, quiet),
    };
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .event_format(ToolLines(tool))
        .try_init();
}

#[cfg(test)]
mod tests {
    #[test]
    fn levels() {
        assert_eq!(super::filter(0, false), "warn,stagehand=info");
        assert_eq!(super::filter(1, false), "warn,stagehand=debug");
        assert_eq!(super::filter(0, true), "warn,stagehand=warn");
    }
}
