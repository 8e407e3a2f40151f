//! stack-doc as scripts use it: a process, a document on stdin or as a file.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn stack_doc(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_stack-doc"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A usage error exits before reading stdin: the pipe may be closed under the write.
    match child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other.unwrap(),
    }
    child.wait_with_output().unwrap()
}

const DOC: &str = r#"{"version": 1, "app": "backstage", "alb": {"url": "http://x"}, "pipeline": {"settings": {"repo-owner": "o"}}, "core": {"private_subnets": [{"id": "subnet-1"}]}}"#;

#[test]
fn get_prints_a_value_and_a_missing_key_is_exit_1() {
    let out = stack_doc(&["get", "alb.url"], DOC);
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout), "http://x\n");
    let out = stack_doc(&["get", "core.private_subnets.0.id"], DOC);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "subnet-1\n");

    let out = stack_doc(&["get", "db.endpoint"], DOC);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("no db.endpoint"), "{err}");
}

#[test]
fn bad_usage_and_bad_documents_are_exit_2_and_help_is_exit_0() {
    let out = stack_doc(&["frobnicate"], DOC);
    assert_eq!(out.status.code(), Some(2));
    let out = stack_doc(&["get", "x"], "not json");
    assert_eq!(out.status.code(), Some(2));
    let out = stack_doc(&["--help"], "");
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("join") && help.contains("table") && help.contains("Exit codes"));
    let out = stack_doc(&["--version"], "");
    assert!(out.status.success());
}

#[test]
fn table_is_short() {
    let out = stack_doc(&["table"], DOC);
    assert!(out.status.success());
    let t = String::from_utf8_lossy(&out.stdout);
    assert!(t.contains("http://x") && t.contains("subnet-1"), "{t}");
    assert!(
        !t.contains("repo-owner"),
        "settings stay out of the table: {t}"
    );
}
