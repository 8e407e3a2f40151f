//! Whole-stack tests: a stack document in a temporary directory, and the project's scripts run
//! on it (up.sh, down.sh, plan.sh, step.sh, make) as a user runs them. What the account holds
//! is read independently ([`crate::inventory`]).

use std::path::PathBuf;
use std::sync::Arc;

use crate::{Emulator, Output, Tool, Value};

pub use crate::inventory::{Inventory, counts, everything, inventory};

/// The GitHub token every whole-stack test uses unless it sets its own.
pub const TOKEN: &str = "ghp_StackTestToken00000000000000000000";

/// A stack document (`stack.json` in a directory of its own) on an emulator, for one app.
/// Several stacks may share one emulator ([`Stack::another_app`]), as apps share an account.
pub struct Stack {
    pub emu: Arc<Emulator>,
    pub dir: PathBuf,
    /// `--app` through STAGEHAND_APP; None is the default app (backstage).
    pub app: Option<String>,
    pub token: String,
}

impl Stack {
    /// A stack on a new emulator; `name` keeps parallel tests' directories apart.
    pub fn new(name: &str) -> Stack {
        Stack::on(Arc::new(Emulator::start()), name, None)
    }

    /// A stack of another app on the same emulator (the same account).
    pub fn another_app(&self, app: &str) -> Stack {
        Stack::on(
            self.emu.clone(),
            &format!("app-{app}"),
            Some(app.to_owned()),
        )
    }

    fn on(emu: Arc<Emulator>, name: &str, app: Option<String>) -> Stack {
        let dir = std::env::temp_dir().join(format!(
            "stagehand-e2e-{name}-{}-{}",
            std::process::id(),
            emu.url.rsplit(':').next().unwrap_or_default()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Stack {
            emu,
            dir,
            app,
            token: TOKEN.to_owned(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("stack.json")
    }

    /// The saved document.
    pub fn doc(&self) -> Value {
        let text = std::fs::read_to_string(self.path())
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.path().display()));
        serde_json::from_str(&text).unwrap()
    }

    /// Whether the saved document has `section`.
    pub fn doc_has(&self, section: &str) -> bool {
        self.path().exists() && self.doc().get(section).is_some()
    }

    /// Save `doc` as the stack's document.
    pub fn save(&self, doc: &Value) {
        std::fs::write(self.path(), doc.to_string()).unwrap();
    }

    /// A fresh account (no faults armed) and no document: the next case starts from nothing.
    pub fn reset(&self) {
        self.emu.inject(&[]);
        self.emu.reset();
        let _ = std::fs::remove_file(self.path());
    }

    /// The app's name as the tools use it.
    pub fn app_name(&self) -> &str {
        self.app.as_deref().unwrap_or("backstage")
    }

    /// A script of the project on this stack, as a user runs it: STACK, GITHUB_TOKEN,
    /// REPO_OWNER/REPO_NAME and AUTO_APPROVE set (and STAGEHAND_APP for another app).
    pub fn script(&self, path: &str) -> Tool {
        let mut tool = self
            .emu
            .script(path)
            .env("STACK", self.path())
            .env("GITHUB_TOKEN", &self.token)
            .env("REPO_OWNER", "example-org")
            .env("REPO_NAME", "backstage-app")
            .env("AUTO_APPROVE", "1");
        if let Some(app) = &self.app {
            tool = tool.env("STAGEHAND_APP", app);
        }
        tool
    }

    /// A script with only the AWS configuration and the document's path (and the app): no
    /// token, no repository, no per-step flags.
    pub fn bare(&self, path: &str) -> Tool {
        let tool = self.emu.script(path).env("STACK", self.path());
        match &self.app {
            Some(app) => tool.env("STAGEHAND_APP", app),
            None => tool,
        }
    }

    /// `scripts/up.sh`, which must succeed without showing the token.
    pub fn up(&self) -> Output {
        self.ok(self.script("scripts/up.sh"), "up.sh")
    }

    /// `scripts/down.sh`, which must succeed without showing the token.
    pub fn down(&self) -> Output {
        self.ok(self.script("scripts/down.sh"), "down.sh")
    }

    /// Runs `tool` and asserts exit 0 and that the token never shows.
    pub fn ok(&self, tool: Tool, what: &str) -> Output {
        let out = tool.run();
        assert_eq!(out.code, 0, "{what} failed:\n{}", out.stderr);
        out.assert_never_shows(&self.token);
        out
    }

    /// Everything in the account tagged with (or, for SSM parameters, named under) this app.
    pub fn leftovers(&self) -> Vec<String> {
        inventory(&self.emu, self.app_name())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
