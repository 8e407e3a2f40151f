//! What the runner shows on stderr. On a terminal: one spinner per running step, with its
//! latest line, and every line the steps print above the spinners (indicatif's MultiProgress),
//! so steps running side by side never overwrite each other; a finished step says how long it
//! took, once. Otherwise: the steps' lines as they come, and one line per finished step.

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone)]
pub struct Progress {
    who: &'static str,
    bars: Option<Arc<MultiProgress>>,
}

impl Progress {
    pub fn new(who: &'static str) -> Progress {
        let tty = std::io::stderr().is_terminal();
        Progress {
            who,
            bars: tty
                .then(|| Arc::new(MultiProgress::with_draw_target(ProgressDrawTarget::stderr()))),
        }
    }

    /// A line of the runner's own ("up: …").
    pub fn say(&self, text: &str) {
        self.line(&format!("{}: {text}", self.who));
    }

    /// A line as is, above any spinners.
    pub fn line(&self, text: &str) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.println(text);
            }
            None => eprintln!("{text}"),
        }
    }

    /// A step starts.
    pub fn start(&self, tool: &str) -> Task {
        let bar = self.bars.as_ref().map(|bars| {
            let bar = bars.add(ProgressBar::new_spinner());
            bar.set_style(
                ProgressStyle::with_template("{spinner} {prefix}: {msg} [{elapsed}]")
                    .expect("valid template"),
            );
            bar.set_prefix(tool.to_owned());
            bar.set_message("running");
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Task {
            progress: self.clone(),
            tool: tool.to_owned(),
            bar,
        }
    }
}

/// One running step's display.
#[derive(Clone)]
pub struct Task {
    progress: Progress,
    tool: String,
    bar: Option<ProgressBar>,
}

impl Task {
    /// A line the step printed: shown, and (on a terminal) kept as the spinner's message.
    pub fn line(&self, text: &str) {
        if let Some(bar) = &self.bar {
            let short = text
                .strip_prefix(&format!("{}: ", self.tool))
                .unwrap_or(text);
            bar.set_message(short.to_owned());
        }
        self.progress.line(text);
    }

    pub fn finish(&self, ok: bool, took: Duration) {
        let how = if ok { "done" } else { "failed" };
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        self.progress
            .say(&format!("{} {how} in {}", self.tool, human(took)));
    }
}

pub fn human(d: Duration) -> String {
    let secs = d.as_secs();
    if secs >= 60 {
        format!("{}m{:02}s", secs / 60, secs % 60)
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
