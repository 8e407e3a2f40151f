//! stderr output: "tool: message" lines through tracing, at the level -v/-q choose.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, format::Writer};
use tracing_subscriber::registry::LookupSpan;

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

/// Our crates log at info (-q: warn, -v: debug, -vv: trace); the SDK's only at warn, since its
/// debug output is noise to an operator.
pub fn init(tool: &'static str, verbose: u8, quiet: bool) {
    let ours = match (quiet, verbose) {
        (true, _) => "warn",
        (false, 0) => "info",
        (false, 1) => "debug",
        _ => "trace",
    };
    let crate_name = tool.replace('-', "_");
    // Shared crates that act for the tool (security-groups, iam-roles) speak at its level.
    let filter =
        format!("warn,kit={ours},security_groups={ours},iam_roles={ours},{crate_name}={ours}");
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .event_format(ToolLines(tool))
        .try_init();
}
