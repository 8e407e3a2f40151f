//! `make install` (scripts/install.sh on the build): every tool on PATH with its completions and a man page that renders, and
//! every tool's --help with examples and exit codes (issue 17).

use std::path::Path;
use std::process::Command;

use testkit::root;

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd.output().expect("run");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn make_install_puts_every_tool_its_completions_and_a_rendering_man_page_under_prefix() {
    let prefix = tempfile_dir("install");
    // `make install` is `cargo build --profile $(PROFILE)` and then this script on the build;
    // the test installs the debug build `make test` made (a second cargo run inside a test
    // would rebuild under the test's environment).
    let build = testkit::tool_path("docgen");
    let (ok, _, err) = run(Command::new(root().join("scripts/install.sh"))
        .arg(&prefix)
        .arg(build.parent().unwrap())
        .current_dir(root()));
    assert!(ok, "scripts/install.sh failed:\n{err}");
    let makefile = std::fs::read_to_string(root().join("Makefile")).unwrap();
    assert!(
        makefile.contains("scripts/install.sh \"$(PREFIX)\""),
        "make install runs scripts/install.sh"
    );

    let bins: Vec<String> = std::fs::read_dir(prefix.join("bin"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for tool in [
        "secrets-init",
        "slr-check",
        "ecr-up",
        "core-up",
        "db-up",
        "alb-up",
        "svc-up",
        "pipeline-up",
        "stack-run",
        "stack-status",
        "task-exec",
        "svc-ops",
        "stack-doc",
    ] {
        assert!(bins.iter().any(|b| b == tool), "{tool} not in {bins:?}");
        let bin = prefix.join("bin").join(tool);
        let (ok, version, _) = run(Command::new(&bin).arg("--version"));
        assert!(
            ok && version.starts_with(tool),
            "{tool} --version: {version}"
        );

        let share = prefix.join("share");
        let bash = share.join("bash-completion/completions").join(tool);
        let (ok, _, err) = run(Command::new("bash")
            .arg("-c")
            .arg(format!("source '{}' && complete -p {tool}", bash.display())));
        assert!(ok, "bash completion for {tool} does not load: {err}");
        let zsh =
            std::fs::read_to_string(share.join("zsh/site-functions").join(format!("_{tool}")))
                .unwrap();
        assert!(
            zsh.starts_with(&format!("#compdef {tool}")),
            "zsh completion of {tool}"
        );
        let fish = std::fs::read_to_string(
            share
                .join("fish/vendor_completions.d")
                .join(format!("{tool}.fish")),
        )
        .unwrap();
        assert!(
            fish.contains(&format!("complete -c {tool}")),
            "fish completion of {tool}"
        );

        let page = share.join("man/man1").join(format!("{tool}.1"));
        let (ok, text, err) = run(Command::new("man")
            .arg("-l")
            .arg(&page)
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100"));
        assert!(ok, "man -l {} failed: {err}", page.display());
        assert!(
            text.contains(tool) && text.contains("--help"),
            "man page of {tool}:\n{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&prefix);
}

#[test]
fn every_step_tool_s_help_has_examples_exit_codes_and_says_stdout_is_the_document() {
    for tool in [
        "secrets-init",
        "slr-check",
        "ecr-up",
        "core-up",
        "db-up",
        "alb-up",
        "svc-up",
        "pipeline-up",
    ] {
        let (ok, help, _) = run(Command::new(testkit::tool_path(tool)).arg("--help"));
        assert!(ok, "{tool} --help");
        for part in [
            "Examples:",
            &format!("{tool} --plan"),
            "stdout carries only the stack document",
            "Exit codes: 0 done; 1 AWS or runtime failure; 2 bad input",
        ] {
            assert!(help.contains(part), "{tool} --help lacks {part:?}:\n{help}");
        }
        assert!(
            !help.contains('\x1b'),
            "{tool} --help to a pipe has escape codes"
        );
    }
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("stagehand-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    assert!(Path::new(&dir).is_dir());
    dir
}
