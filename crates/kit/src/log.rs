//! stderr output: "tool: message" lines through tracing, at the level -v/-q choose.
//!
//! Every stagehand crate logs through [`crate::info!`] and its siblings, which log under one
//! tracing target, [`TARGET`]; the filter follows that target, so a shared crate's lines are
//! never lost to a list of crate names. `RUST_LOG`, when set, replaces the filter.

use std::fmt;
use std::io::IsTerminal;
use std::time::Instant;

use tracing::span::{Attributes, Id};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{EnvFilter, filter_fn};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, format::Writer};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

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

/// The filter for -q / default / -v / -vv: stagehand's lines at that level, nothing from
/// other crates. The SDK's own events are noise to an operator (IMDS probes on a
/// workstation) and can carry request or response bodies, which can hold secrets; what the
/// SDK does is shown by stagehand's own lines (-vv: each AWS operation). RUST_LOG opens more.
pub fn filter(verbose: u8, quiet: bool) -> String {
    let ours = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    format!("off,{TARGET}={ours}")
}

/// Whether stderr may carry colours: a terminal, and NO_COLOR unset (no-color.org).
pub fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

pub fn init(tool: &'static str, verbose: u8, quiet: bool) {
    let filter = match std::env::var("RUST_LOG") {
        Ok(v) if !v.trim().is_empty() => v,
        _ => filter(verbose, quiet),
    };
    let lines = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(colour())
        .event_format(ToolLines(tool))
        .with_filter(EnvFilter::new(filter));
    // -vv: one line per AWS operation (service, operation, duration), from the SDK's own
    // operation spans; their fields and events (which can carry bodies) are never printed.
    let operations = (verbose >= 2 && !quiet).then(|| {
        AwsOperations(tool).with_filter(filter_fn(|meta| {
            meta.is_span() && meta.target().starts_with("aws_sdk_") && meta.name().contains('.')
        }))
    });
    let _ = tracing_subscriber::registry()
        .with(lines)
        .with(operations)
        .try_init();
}

/// Times the SDK's operation spans ("STS.GetCallerIdentity") and prints one line when each
/// ends.
struct AwsOperations(&'static str);

struct Started(Instant);

impl<S> Layer<S> for AwsOperations
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, _attrs: &Attributes<'_>, id: &Id, cx: Context<'_, S>) {
        if let Some(span) = cx.span(id) {
            span.extensions_mut().insert(Started(Instant::now()));
        }
    }

    fn on_close(&self, id: Id, cx: Context<'_, S>) {
        if let Some(span) = cx.span(&id) {
            let took = span
                .extensions()
                .get::<Started>()
                .map(|s| s.0.elapsed().as_millis());
            if let Some(ms) = took {
                eprintln!("{}: debug: aws {} ({ms} ms)", self.0, span.name());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn levels() {
        assert_eq!(super::filter(0, false), "off,stagehand=info");
        assert_eq!(super::filter(1, false), "off,stagehand=debug");
        assert_eq!(super::filter(0, true), "off,stagehand=warn");
    }
}
