//! The README's main command: `make demo` brings the stack up on its own emulator, shows what
//! it made and the URL, and `make demo-down` takes it all away again.

use std::process::Command;

#[test]
fn make_demo_brings_the_stack_up_and_demo_down_takes_it_away() {
    let root = testkit::root();
    let state = std::env::temp_dir().join(format!("stagehand-demo-{}", std::process::id()));
    std::fs::create_dir_all(&state).unwrap();
    let stack = state.join("stack.json");
    let make = |target: &str| {
        let mut cmd = Command::new("make");
        cmd.arg("-s")
            .arg(target)
            .current_dir(&root)
            .env("STAGEHAND_STATE", &state)
            .env("STACK", &stack);
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy().into_owned();
            if key.starts_with("AWS_") || key == "GITHUB_TOKEN" {
                cmd.env_remove(&key);
            }
        }
        cmd.output().expect("run make")
    };

    let up = make("demo");
    let stdout = String::from_utf8_lossy(&up.stdout);
    let stderr = String::from_utf8_lossy(&up.stderr);
    assert!(up.status.success(), "make demo failed:\n{stdout}\n{stderr}");
    assert!(stdout.contains("Application URL: http://"), "{stdout}");
    assert!(stdout.contains("make demo-down"), "{stdout}");
    assert!(
        stdout.contains("aws --endpoint-url http://127.0.0.1:"),
        "{stdout}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&stack).unwrap()).unwrap();
    assert!(
        doc["alb"]["url"]
            .as_str()
            .is_some_and(|u| stdout.contains(u))
    );
    let url = std::fs::read_to_string(state.join("emulator.url")).unwrap();
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "the emulator is left running: {url}"
    );

    let down = make("demo-down");
    assert!(
        down.status.success(),
        "make demo-down failed:\n{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(
        !state.join("emulator.pid").exists(),
        "the emulator is stopped"
    );
    assert!(!stack.exists(), "the demo document is removed");
    let _ = std::fs::remove_dir_all(&state);
}
