//! docgen: what `make install` puts beside the binaries, generated from the same clap
//! definitions the binaries parse with, so completions and man pages cannot drift.
//!
//!     docgen bins            the binaries to install, one per line
//!     docgen write PREFIX    bash, zsh and fish completions and section-1 man pages under
//!                            PREFIX/share (the places those shells and man look by default)

use std::path::Path;
use std::process::ExitCode;

use clap_complete::Shell;

/// Every installed binary's command line.
fn commands() -> Vec<clap::Command> {
    vec![
        kit::command::<secrets_init::SecretsInit>(),
        kit::command::<slr_check::SlrCheck>(),
        kit::command::<ecr_up::EcrUp>(),
        kit::command::<core_up::CoreUp>(),
        kit::command::<db_up::DbUp>(),
        kit::command::<alb_up::AlbUp>(),
        kit::command::<svc_up::SvcUp>(),
        kit::command::<pipeline_up::PipelineUp>(),
        stack_run::command(),
        stack_status::command(),
        svc_ops::command(),
        task_exec::command(),
        stackdoc::cli::command(),
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["bins"] => {
            for cmd in commands() {
                println!("{}", cmd.get_name());
            }
            Ok(())
        }
        ["write", prefix] => write(Path::new(prefix)),
        _ => {
            eprintln!("usage: docgen bins | docgen write PREFIX");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("docgen: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn write(prefix: &Path) -> std::io::Result<()> {
    let share = prefix.join("share");
    // Where each shell looks, and the file name it looks for there.
    let places = [
        (Shell::Bash, share.join("bash-completion/completions"), "{}"),
        (Shell::Zsh, share.join("zsh/site-functions"), "_{}"),
        (
            Shell::Fish,
            share.join("fish/vendor_completions.d"),
            "{}.fish",
        ),
    ];
    let man = share.join("man/man1");
    for (_, dir, _) in &places {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::create_dir_all(&man)?;
    for mut cmd in commands() {
        let name = cmd.get_name().to_owned();
        for (shell, dir, file) in &places {
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut cmd, &name, &mut script);
            std::fs::write(dir.join(file.replace("{}", &name)), script)?;
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
        std::fs::write(man.join(format!("{name}.1")), page)?;
    }
    Ok(())
}
