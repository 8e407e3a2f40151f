//! The shape of every tool: observe → diff → (plan | apply), or destroy; and the runner that
//! does everything around it (flags, document in and out, AWS config, account and region
//! checks, exit codes).

use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::process::ExitCode;
use std::time::Instant;

use std::ffi::OsString;

use aws_config::SdkConfig;
use clap::{CommandFactory, FromArgMatches};
use serde_json::{Map, Value};
use stackdoc::{Doc, Section};

use crate::cli::{Cli, Common, check_app_name};
use crate::plan::Plan;
use crate::tool::fail;
use crate::{Error, Result, TAG_APP, TAG_STEP};

/// The application name when neither the document nor `--app` gives one.
pub const DEFAULT_APP: &str = "backstage";

/// Everything a step needs to talk to AWS about one stack.
pub struct Cx {
    pub tool: &'static str,
    /// The section this step owns ("core").
    pub section: &'static str,
    pub sdk: SdkConfig,
    pub account: String,
    pub region: String,
    pub app: String,
    /// The input document (the step's own section as the previous run left it, if any).
    pub doc: Doc,
    pub common: Common,
    /// When waits give up (`--timeout` from the start of the run).
    pub deadline: Instant,
    /// The step's effective settings (its remembered flags), as the section records them.
    pub settings: Map<String, Value>,
    tags: BTreeMap<String, String>,
}

impl Cx {
    /// A context for unit tests of a step's pure parts (diff, planned): account
    /// 123456789012, region us-west-2, no credentials. Any AWS call made with it fails.
    pub fn for_test(tool: &'static str, section: &'static str, app: &str, doc: Doc) -> Cx {
        let sdk = SdkConfig::builder()
            .region(aws_config::Region::new("us-west-2"))
            .behavior_version(aws_config::BehaviorVersion::latest())
            .build();
        let mut tags = doc.tags();
        tags.insert(TAG_APP.into(), app.to_owned());
        tags.insert(TAG_STEP.into(), section.to_owned());
        Cx {
            tool,
            section,
            sdk,
            account: "123456789012".into(),
            region: "us-west-2".into(),
            app: app.to_owned(),
            doc,
            common: Common::default(),
            deadline: Instant::now() + std::time::Duration::from_secs(60),
            settings: Map::new(),
            tags,
        }
    }

    /// A section this step builds on. With `--plan`, a planned section is accepted (its
    /// placeholders flow on to this step's plan); otherwise it must be applied: real resources
    /// are not built on placeholders. Missing or incomplete names the tool that makes it.
    pub fn upstream<S: Section>(&self) -> Result<S> {
        if self.plan_only() {
            Ok(self.doc.require::<S>()?)
        } else {
            Ok(self.doc.require_applied::<S>()?)
        }
    }

    /// Like [`Cx::upstream`], but absent is `None` (for `--destroy`, which needs only the
    /// step's own section and finds the rest by name and tags).
    pub fn upstream_opt<S: Section>(&self) -> Result<Option<S>> {
        if !self.doc.has_section(S::NAME) {
            return Ok(None);
        }
        self.upstream().map(Some)
    }
    /// Tags for everything this step creates: stagehand's ownership tags plus the user's.
    pub fn tags(&self) -> &BTreeMap<String, String> {
        &self.tags
    }

    /// Whether a resource with these tags was created by this step of this app, the test
    /// `--destroy` applies before deleting anything.
    pub fn owns<'a>(&self, tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> bool {
        let (mut app, mut step) = (false, false);
        for (k, v) in tags {
            app |= k == TAG_APP && v == self.app;
            step |= k == TAG_STEP && v == self.section;
        }
        app && step
    }

    /// Whether S3 (and any service that cares) should use path-style addressing.
    pub fn endpoint_overridden(&self, service_env: &str) -> bool {
        crate::aws::endpoint_overridden(&self.sdk, service_env)
    }

    pub fn plan_only(&self) -> bool {
        self.common.plan || self.common.plan_json.is_some()
    }

    pub fn no_wait(&self) -> bool {
        self.common.no_wait
    }
}

/// One step of the stack. Plan and apply share `observe` and `diff`, so a plan never lies
/// about what apply will do, and a rerun whose diff is empty makes no mutating call.
#[allow(async_fn_in_trait)] // run on a current-thread runtime: no Send bound is needed
pub trait Step {
    /// The binary's name ("core-up").
    const TOOL: &'static str;
    /// One line for --help.
    const ABOUT: &'static str;
    /// Tool-specific example lines for --help, shown before the ones every step shares.
    const EXAMPLES: &'static str = "";
    /// The tool's own flags.
    type Args: clap::Args + std::fmt::Debug;
    /// The section the step writes.
    type Section: Section;
    /// What exists now, as found by read-only calls.
    type Observed;
    /// The tool's own operation attached to each planned change.
    type Op: std::fmt::Debug;

    /// The tool's last word on its command line: help texts of shared flags that mean
    /// something else for this tool (slr-check's `--destroy` deletes nothing), examples.
    fn command(cmd: clap::Command) -> clap::Command {
        cmd
    }

    /// Checks of flags and document that need no AWS call: bad input fails here, before any
    /// call is made (exit 2).
    fn check(_args: &Self::Args, _doc: &Doc) -> Result<()> {
        Ok(())
    }

    /// Checks of the document that an up or `--plan` run needs and `--destroy` does not (the
    /// upstream sections): `--destroy` needs only the step's own section and the identity, so
    /// that a teardown resumes from any point. Run after [`Step::check`], before any call.
    fn check_inputs(_args: &Self::Args, _doc: &Doc) -> Result<()> {
        Ok(())
    }

    /// Read-only calls: what exists now, found by deterministic name or tags.
    async fn observe(cx: &Cx, args: &Self::Args) -> Result<Self::Observed>;

    /// What should change, per resource. Pure.
    fn diff(cx: &Cx, args: &Self::Args, now: &Self::Observed) -> Result<Plan<Self::Op>>;

    /// The section a `--plan` run writes: real identifiers where resources exist,
    /// [`stackdoc::PLANNED`] where apply would create them.
    fn planned(
        cx: &Cx,
        args: &Self::Args,
        now: &Self::Observed,
        plan: &Plan<Self::Op>,
    ) -> Result<Self::Section>;

    /// Carry out the plan (independent changes concurrently), wait unless `--no-wait`, and
    /// return the section.
    async fn apply(
        cx: &Cx,
        args: &Self::Args,
        now: Self::Observed,
        plan: Plan<Self::Op>,
    ) -> Result<Self::Section>;

    /// Delete what this step created and tagged, in dependency order.
    async fn destroy(cx: &Cx, args: &Self::Args) -> Result<()>;

    /// The settings the section records (`<section>.settings`). The default records the
    /// flags in effect as parsed ([`Cx::settings`]); a tool whose defaults depend on what
    /// exists (a reused resource's own values) records the values in effect instead.
    fn settings(cx: &Cx, _args: &Self::Args, _now: &Self::Observed) -> Map<String, Value> {
        cx.settings.clone()
    }
}

/// A tool's whole `main`: `fn main() -> ExitCode { kit::run::<MyStep>() }`.
pub fn run<S: Step>() -> ExitCode {
    let argv: Vec<OsString> = std::env::args_os().collect();
    let first = match parse::<S>(&argv) {
        Ok(parsed) => parsed,
        Err(code) => return code,
    };
    crate::log::init(S::TOOL, first.0.common.verbose, first.0.common.quiet);
    // The document comes first: the remembered settings in it fill the flags not given.
    let (cli, doc) =
        match read_input(&first.0.common).and_then(|doc| with_settings::<S>(&argv, first, doc)) {
            Ok(v) => v,
            Err(e) => return fail(S::TOOL, &e),
        };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            return fail(
                S::TOOL,
                &Error::aws(format!("cannot start the async runtime: {e}")),
            );
        }
    };
    match runtime.block_on(execute::<S>(cli, doc)) {
        Ok(doc) => {
            let mut out = std::io::stdout().lock();
            match out
                .write_all(doc.to_pretty().as_bytes())
                .and_then(|()| out.flush())
            {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(
                    S::TOOL,
                    &Error::aws(format!("cannot write the document to stdout: {e}")),
                ),
            }
        }
        Err(e) => fail(S::TOOL, &e),
    }
}

/// The tool's full command line (its flags and the shared ones), as `--help`, the shell
/// completions and the man page show it.
pub fn command<S: Step>() -> clap::Command {
    S::command(
        Cli::<S::Args>::command()
            .name(S::TOOL)
            .bin_name(S::TOOL)
            .about(S::ABOUT)
            .version(env!("CARGO_PKG_VERSION"))
            .after_help(after_help(S::TOOL, S::EXAMPLES)),
    )
}

fn after_help(tool: &str, examples: &str) -> String {
    let mut own = String::new();
    for line in examples.lines().filter(|l| !l.trim().is_empty()) {
        own.push_str("  ");
        own.push_str(line.trim());
        own.push('\n');
    }
    format!(
        "Examples:\n{own}  \
         {tool} --plan < stack.json > /dev/null     show what would change, change nothing\n  \
         {tool} < stack.json > next && mv next stack.json   apply, keep the updated document\n  \
         {tool} --destroy < stack.json > next       tear this step down (see --destroy)\n\n\
         stdout carries only the stack document (the planned one with --plan); messages go to stderr.\n\
         Exit codes: 0 done; 1 AWS or runtime failure; 2 bad input or a refusal (nothing was \
         changed); 3 timed out waiting."
    )
}

/// The parsed command line with its matches (which tell a typed flag from a default).
type Parsed<A> = (Cli<A>, clap::ArgMatches);

/// Parse flags. A usage error is one line (clap's first) and exit 2; --help and --version
/// print as usual and exit 0.
fn parse<S: Step>(argv: &[OsString]) -> std::result::Result<Parsed<S::Args>, ExitCode> {
    match try_parse::<S>(argv) {
        Ok(p) => Ok(p),
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            Err(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "{}: error: {} (see {} --help)",
                S::TOOL,
                stackdoc::cli::one_line(&e),
                S::TOOL
            );
            Err(ExitCode::from(2))
        }
    }
}

fn try_parse<S: Step>(argv: &[OsString]) -> std::result::Result<Parsed<S::Args>, clap::Error> {
    let matches = command::<S>().try_get_matches_from(argv)?;
    let mut cli = Cli::<S::Args>::from_arg_matches(&matches)?;
    if cli.common.plan_json.is_some() {
        cli.common.plan = true;
    }
    Ok((cli, matches))
}

/// Parse again with the recorded settings of the step's section in front of the user's flags,
/// and note the effective settings in the returned flags' place.
fn with_settings<S: Step>(
    argv: &[OsString],
    first: Parsed<S::Args>,
    doc: Doc,
) -> Result<(Cli<S::Args>, Doc)> {
    let section = <S::Section as Section>::NAME;
    let cmd = command::<S>();
    let specs = crate::settings::specs(&cmd);
    let (first_cli, first_matches) = first;
    crate::settings::check_resets(&specs, &first_cli.common.reset, S::TOOL)?;
    let extra = crate::settings::injected(
        &specs,
        &first_matches,
        doc.settings(section),
        &first_cli.common.reset,
        S::TOOL,
        section,
    )?;
    let (mut cli, matches) = if extra.is_empty() {
        (first_cli, first_matches)
    } else {
        let shown: Vec<String> = extra
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        crate::debug!("from {section}.settings: {}", shown.join(" "));
        let mut full = vec![argv.first().cloned().unwrap_or_else(|| S::TOOL.into())];
        full.extend(extra);
        full.extend(argv.iter().skip(1).cloned());
        try_parse::<S>(&full).map_err(|e| {
            Error::usage(format!(
                "the document's {section}.settings do not parse: {}; pass the flag to override the recorded value, or --reset it",
                stackdoc::cli::one_line(&e)
            ))
        })?
    };
    cli.common.settings = crate::settings::effective(&specs, &matches);
    Ok((cli, doc))
}

async fn execute<S: Step>(cli: Cli<S::Args>, mut doc: Doc) -> Result<Doc> {
    let Cli { mut common, args } = cli;
    let started = Instant::now();
    let settings = std::mem::take(&mut common.settings);

    // Everything that can be checked without AWS is checked before the first call.
    let app = resolve_app(&common, &doc)?;
    let mut user_tags = doc.tags();
    // The document's tags go to AWS with every create, as --tag's do: held to the same check
    // (not on --destroy, which creates nothing and must not be blocked by a bad tag).
    for (key, value) in user_tags.iter().filter(|_| !common.destroy) {
        crate::cli::check_tag(key, value).map_err(|why| {
            Error::usage(format!(
                "the stack document's tags: {why}; fix \"tags\" in the document"
            ))
        })?;
    }
    user_tags.extend(common.tags.iter().cloned());
    S::check(&args, &doc)?;
    if !common.destroy {
        S::check_inputs(&args, &doc)?;
    }

    let (sdk, region) = crate::tool::configure(&common.aws, &doc).await?;
    // Whose credentials these are. On a document that names its account (every rerun) the
    // question runs side by side with observe's reads, which are read-only and are dropped
    // when the answer disagrees: one round trip less before the plan. Otherwise (a new
    // document, --destroy, which writes) the answer comes first.
    let caller = {
        let (sdk, doc) = (sdk.clone(), doc.clone());
        async move { crate::tool::caller_account(&sdk, &doc).await }
    };
    let known = doc.account().filter(|_| !common.destroy).map(str::to_owned);
    let (account, caller) = match known {
        Some(account) => (account, Some(caller)),
        None => (caller.await?, None),
    };
    doc.set_app(&app);
    doc.set_region(&region);
    doc.set_account(&account);
    doc.set_tags(&user_tags);

    let section = <S::Section as Section>::NAME;
    let mut tags = user_tags;
    tags.insert(TAG_APP.into(), app.clone());
    tags.insert(TAG_STEP.into(), section.into());
    let cx = Cx {
        tool: S::TOOL,
        section,
        sdk,
        account,
        region,
        app,
        doc: doc.clone(),
        deadline: started + common.timeout,
        common,
        settings,
        tags,
    };

    if cx.common.destroy {
        S::destroy(&cx, &args).await?;
        doc.remove(section);
        return Ok(doc);
    }
    let observed = match caller {
        Some(caller) => {
            let (who, observed) = futures::join!(caller, S::observe(&cx, &args));
            who?;
            observed?
        }
        None => S::observe(&cx, &args).await?,
    };
    let plan = S::diff(&cx, &args, &observed)?;
    let recorded = S::settings(&cx, &args, &observed);
    if cx.plan_only() {
        for line in plan.lines() {
            if !cx.common.quiet {
                eprintln!("{line}");
            }
        }
        eprintln!("{}: {}", S::TOOL, plan.summary());
        if let Some(path) = &cx.common.plan_json {
            let mut text = serde_json::to_string_pretty(&plan.to_json(S::TOOL, section))
                .expect("plans serialise");
            text.push('\n');
            std::fs::write(path, text).map_err(|e| {
                Error::usage(format!("cannot write --plan-json {}: {e}", path.display()))
            })?;
        }
        let planned = S::planned(&cx, &args, &observed, &plan)?;
        if plan.has_work() {
            doc.put_planned(&planned);
        } else {
            doc.put(&planned);
        }
        doc.set_settings(section, recorded);
        return Ok(doc);
    }
    for line in plan.lines() {
        crate::debug!("{}", line.trim_start());
    }
    let written = S::apply(&cx, &args, observed, plan).await?;
    doc.put(&written);
    doc.set_settings(section, recorded);
    Ok(doc)
}

fn resolve_app(common: &Common, doc: &Doc) -> Result<String> {
    let app = match (common.app.as_deref(), doc.app()) {
        (Some(flag), Some(in_doc)) if flag != in_doc => {
            return Err(Error::usage(format!(
                "--app {flag} does not match the document's app {in_doc}; drop --app or use the document of {flag}"
            )));
        }
        (Some(flag), _) => flag.to_owned(),
        (None, Some(in_doc)) => in_doc.to_owned(),
        (None, None) => DEFAULT_APP.to_owned(),
    };
    check_app_name(&app).map_err(Error::usage)?;
    Ok(app)
}

/// The input document: `--in` files deep-merged, else stdin; no stdin (a terminal) or an
/// empty one starts a new document.
fn read_input(common: &Common) -> Result<Doc> {
    if !common.inputs.is_empty() {
        let mut merged: Option<Doc> = None;
        for path in &common.inputs {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Error::usage(format!("cannot read --in {}: {e}", path.display())))?;
            let doc =
                Doc::parse(&text).map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
            match &mut merged {
                None => merged = Some(doc),
                Some(m) => m.merge(doc)?,
            }
        }
        return Ok(merged.unwrap_or_default());
    }
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        return Ok(Doc::new());
    }
    let mut text = String::new();
    stdin
        .lock()
        .read_to_string(&mut text)
        .map_err(|e| Error::usage(format!("cannot read the document from stdin: {e}")))?;
    Ok(Doc::parse(&text)?)
}
