//! The templates/ contract: what the app reads is what svc-up sets, the buildspec is valid and
//! has its four phases, and the container it names is the service's.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::{APP, pipeline_up, stack};
use testkit::{Emulator, Value, codebuild, ecs};

/// The environment and secrets svc-up's task definition sets (DESIGN.md).
const TASK_ENV: [&str; 8] = [
    "BASE_URL",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "GITHUB_TOKEN",
    // GitHub sign-in; svc-up sets them when the OAuth secrets exist.
    "AUTH_GITHUB_CLIENT_ID",
    "AUTH_GITHUB_CLIENT_SECRET",
];

fn template(name: &str) -> String {
    std::fs::read_to_string(testkit::root().join("templates").join(name))
        .unwrap_or_else(|e| panic!("templates/{name}: {e}"))
}

/// Parse YAML with PyYAML from the emulator's virtualenv (moto installs it), as JSON.
fn yaml(name: &str) -> Value {
    let python = testkit::root().join("emulator/.venv/bin/python");
    let out = Command::new(python)
        .args([
            "-c",
            "import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
        ])
        .arg(testkit::root().join("templates").join(name))
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "templates/{name} is not valid YAML: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json_parse(&String::from_utf8(out.stdout).unwrap())
}

fn serde_json_parse(text: &str) -> Value {
    text.parse().expect("JSON from python")
}

/// Every `${NAME}` in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let tail = &rest[start + 2..];
        let end = tail.find('}').expect("closed ${...}");
        found.insert(tail[..end].to_owned());
        rest = &tail[end..];
    }
    found
}

#[test]
fn app_config_reads_exactly_what_the_task_definition_sets() {
    let text = template("app-config.production.yaml");
    let used = variables(&text);
    let set: BTreeSet<String> = TASK_ENV.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(
        used, set,
        "app-config.production.yaml vs the task environment"
    );
    let config = yaml("app-config.production.yaml");
    assert_eq!(config["app"]["baseUrl"], "${BASE_URL}");
    assert_eq!(config["backend"]["listen"]["port"], 7007);
    let db = &config["backend"]["database"];
    assert_eq!(db["client"], "pg");
    for (key, var) in [
        ("host", "POSTGRES_HOST"),
        ("port", "POSTGRES_PORT"),
        ("user", "POSTGRES_USER"),
        ("password", "POSTGRES_PASSWORD"),
    ] {
        assert_eq!(db["connection"][key], format!("${{{var}}}"));
    }
    assert_eq!(
        config["integrations"]["github"][0]["token"],
        "${GITHUB_TOKEN}"
    );
}

#[test]
fn buildspec_parses_and_has_the_four_phases() {
    let spec = yaml("buildspec.yml");
    assert_eq!(spec["version"], 0.2);
    let phases = spec["phases"].as_object().expect("phases");
    for phase in ["install", "pre_build", "build", "post_build"] {
        let commands = phases
            .get(phase)
            .and_then(|p| p["commands"].as_array())
            .unwrap_or_else(|| panic!("phase {phase} has no commands"));
        assert!(!commands.is_empty(), "{phase}");
    }
    // A current Node LTS.
    let node = phases["install"]["runtime-versions"]["nodejs"]
        .as_u64()
        .expect("nodejs runtime");
    assert!(
        node >= 20 && node.is_multiple_of(2),
        "nodejs {node} is not a current LTS"
    );
    let all = template("buildspec.yml");
    for needle in [
        "yarn install",
        "yarn tsc",
        "yarn build:backend",
        "docker image build",
        "docker login",
        "docker push",
        "CODEBUILD_RESOLVED_SOURCE_VERSION",
        "$CONTAINER_NAME",
        "$REPO_URL",
        "> imagedefinition.json",
    ] {
        assert!(all.contains(needle), "buildspec.yml lacks {needle}");
    }
    assert_eq!(spec["artifacts"]["files"][0], "imagedefinition.json");
}

/// The commands of one buildspec phase.
fn commands(spec: &Value, phase: &str) -> Vec<String> {
    spec["phases"][phase]["commands"]
        .as_array()
        .unwrap_or_else(|| panic!("phase {phase} has no commands"))
        .iter()
        .map(|c| c.as_str().expect("a command is a string").to_owned())
        .collect()
}

#[test]
fn buildspec_pushes_the_commit_tag_and_latest_and_deploys_the_commit() {
    let spec = yaml("buildspec.yml");
    // <commit8>: the first 8 characters of the source commit.
    let pre = commands(&spec, "pre_build");
    assert!(
        pre.iter().any(|c| c.starts_with("IMAGE_TAG=")
            && c.contains("CODEBUILD_RESOLVED_SOURCE_VERSION")
            && c.contains("cut -c 1-8")),
        "{pre:?}"
    );
    let build = commands(&spec, "build");
    let image_build = build
        .iter()
        .find(|c| c.starts_with("docker image build"))
        .expect("an image build");
    assert!(
        image_build.contains(r#"--tag "$REPO_URL:$IMAGE_TAG""#),
        "{image_build}"
    );
    assert!(
        image_build.contains(r#"--tag "$REPO_URL:latest""#),
        "{image_build}"
    );
    let post = commands(&spec, "post_build");
    let pushes: Vec<&String> = post
        .iter()
        .filter(|c| c.starts_with("docker push"))
        .collect();
    assert_eq!(
        pushes,
        [
            r#"docker push "$REPO_URL:$IMAGE_TAG""#,
            r#"docker push "$REPO_URL:latest""#
        ]
    );
    // The deploy runs the commit's image, never :latest.
    let defs = post
        .iter()
        .find(|c| c.contains("> imagedefinition.json"))
        .expect("imagedefinition.json is written");
    assert!(defs.contains(r#""$REPO_URL:$IMAGE_TAG""#), "{defs}");
    assert!(!defs.contains(":latest"), "{defs}");
    // And every message says so.
    let text = template("buildspec.yml");
    assert!(text.contains("<repository>:<commit8>") && text.contains("<repository>:latest"));
}

#[test]
fn imagedefinition_template_is_valid_and_names_the_container() {
    let defs: Value = template("imagedefinition.json")
        .parse()
        .expect("valid JSON");
    let first = &defs.as_array().expect("an array")[0];
    assert_eq!(first["name"], "${CONTAINER_NAME}");
    assert!(
        first["imageUri"]
            .as_str()
            .unwrap()
            .starts_with("${REPO_URL}:")
    );
    let readme = template("README.md");
    for file in [
        "buildspec.yml",
        "imagedefinition.json",
        "app-config.production.yaml",
        "create-app",
    ] {
        assert!(readme.contains(file), "README.md does not mention {file}");
    }
}

#[test]
fn container_name_matches_the_services_container() {
    let emu = Emulator::start();
    let doc = stack(&emu);
    pipeline_up(&emu).doc(&doc).run().ok();
    let sdk = emu.sdk();
    let cb = codebuild::Client::new(&sdk);
    let project = emu
        .block_on(
            cb.batch_get_projects()
                .names(format!("codebuild-{APP}"))
                .send(),
        )
        .unwrap();
    let env = project.projects()[0].environment().unwrap();
    let container_name = env
        .environment_variables()
        .iter()
        .find(|v| v.name() == "CONTAINER_NAME")
        .map(|v| v.value().to_owned())
        .expect("CONTAINER_NAME set");
    // What the ECS service actually runs, read from ECS.
    let ecsc = ecs::Client::new(&sdk);
    let services = emu
        .block_on(
            ecsc.describe_services()
                .cluster(doc["svc"]["cluster_name"].as_str().unwrap())
                .services(doc["svc"]["service_name"].as_str().unwrap())
                .send(),
        )
        .unwrap();
    let td = services.services()[0].task_definition().unwrap().to_owned();
    let td = emu
        .block_on(ecsc.describe_task_definition().task_definition(td).send())
        .unwrap();
    let names: Vec<&str> = td
        .task_definition()
        .unwrap()
        .container_definitions()
        .iter()
        .filter_map(|c| c.name())
        .collect();
    assert_eq!(names, [container_name.as_str()]);
    assert_eq!(
        container_name,
        doc["svc"]["container_name"].as_str().unwrap()
    );
    assert_eq!(
        container_name, APP,
        "svc-up names the container after the app"
    );
}
