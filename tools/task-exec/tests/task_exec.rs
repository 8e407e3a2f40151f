//! task-exec against the emulator: a service whose task definition is made with plain SDK calls
//! (every `valueFrom` form ECS accepts), and the child's environment read back from the child.

use std::collections::BTreeMap;

use testkit::{ACCOUNT, Emulator, REGION, Value, ecs, json, secretsmanager, ssm};

const CLUSTER: &str = "core-infra";
const SERVICE: &str = "backstage";
const CONTAINER: &str = "backstage";
const PASSWORD_1: &str = "Pw1-first-version-0000000000";
const PASSWORD_2: &str = "Pw2-rotated-version-111111111";
const TOKEN: &str = "ghp_TaskExecToken000000000000000000000";
const OAUTH_SECRET: &str = "oauth-client-secret-2222222222";

/// The secrets, parameters, cluster, task definition and service; returns the document and
/// the first version id of the password secret.
struct Fixture {
    emu: Emulator,
    doc: Value,
    password_arn: String,
    first_version: String,
}

fn fixture() -> Fixture {
    let emu = Emulator::start();
    let sdk = emu.sdk();
    let sm = secretsmanager::Client::new(&sdk);
    let ps = ssm::Client::new(&sdk);
    let ec = ecs::Client::new(&sdk);
    let (password_arn, first_version, token_arn, oauth_arn, host_arn) = emu.block_on(async {
        let pw = sm
            .create_secret()
            .name("postgresdb_passwd")
            .secret_string(PASSWORD_1)
            .send()
            .await
            .unwrap();
        let first = pw.version_id().unwrap().to_owned();
        let token = sm
            .create_secret()
            .name("ecs-github-token")
            .secret_string(TOKEN)
            .send()
            .await
            .unwrap();
        let oauth = sm
            .create_secret()
            .name("github-oauth")
            .secret_string(
                json!({"clientId": "Iv1.abc", "clientSecret": OAUTH_SECRET, "n": 7}).to_string(),
            )
            .send()
            .await
            .unwrap();
        let host = ps
            .put_parameter()
            .name("/backstage/POSTGRES_HOST")
            .value("db.cluster-x.us-west-2.rds.amazonaws.com")
            .r#type(ssm::types::ParameterType::String)
            .send()
            .await
            .unwrap();
        let _ = host;
        ps.put_parameter()
            .name("/backstage/POSTGRES_USER")
            .value("postgres")
            .r#type(ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
        let host_arn = format!("arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/backstage/POSTGRES_HOST");
        ec.create_cluster()
            .cluster_name(CLUSTER)
            .send()
            .await
            .unwrap();
        (
            pw.arn().unwrap().to_owned(),
            first,
            token.arn().unwrap().to_owned(),
            oauth.arn().unwrap().to_owned(),
            host_arn,
        )
    });
    // Rotate once, so AWSPREVIOUS and a version id select the first value.
    emu.block_on(
        sm.put_secret_value()
            .secret_id(&password_arn)
            .secret_string(PASSWORD_2)
            .send(),
    )
    .unwrap();
    let secret = |name: &str, from: String| {
        ecs::types::Secret::builder()
            .name(name)
            .value_from(from)
            .build()
            .unwrap()
    };
    let container = ecs::types::ContainerDefinition::builder()
        .name(CONTAINER)
        .image("backstage:latest")
        .memory(512)
        .essential(true)
        .environment(
            ecs::types::KeyValuePair::builder()
                .name("BASE_URL")
                .value("http://alb.example")
                .build(),
        )
        .environment(
            ecs::types::KeyValuePair::builder()
                .name("EMPTY")
                .value("")
                .build(),
        )
        .secrets(secret("POSTGRES_HOST", host_arn))
        .secrets(secret("POSTGRES_USER", "/backstage/POSTGRES_USER".into()))
        .secrets(secret("POSTGRES_PASSWORD", password_arn.clone()))
        .secrets(secret(
            "PREVIOUS_PASSWORD",
            format!("{password_arn}::AWSPREVIOUS:"),
        ))
        .secrets(secret(
            "FIRST_PASSWORD",
            format!("{password_arn}:::{first_version}"),
        ))
        .secrets(secret("GITHUB_TOKEN", token_arn))
        .secrets(secret(
            "AUTH_GITHUB_CLIENT_SECRET",
            format!("{oauth_arn}:clientSecret::"),
        ))
        .secrets(secret("OAUTH_N", format!("{oauth_arn}:n::")))
        .build();
    let td = emu
        .block_on(
            ec.register_task_definition()
                .family(SERVICE)
                .container_definitions(container)
                .send(),
        )
        .unwrap();
    let td_arn = td
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned();
    let svc = emu
        .block_on(
            ec.create_service()
                .cluster(CLUSTER)
                .service_name(SERVICE)
                .task_definition(&td_arn)
                .desired_count(0)
                .send(),
        )
        .unwrap();
    let service_arn = svc.service().unwrap().service_arn().unwrap().to_owned();
    let doc = json!({
        "version": 1,
        "app": "backstage",
        "region": REGION,
        "account": ACCOUNT,
        "svc": {
            "repository_name": "backstage",
            "repository_uri": format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/backstage"),
            "execution_role_arn": format!("arn:aws:iam::{ACCOUNT}:role/backstage-exec"),
            "task_role_arn": format!("arn:aws:iam::{ACCOUNT}:role/backstage-task"),
            "log_group": "/ecs/backstage",
            "security_group_id": "sg-0123456789abcdef0",
            "task_definition_arn": td_arn,
            "cloudmap_service_arn": "arn:aws:servicediscovery:us-west-2:123456789012:service/srv-x",
            "cluster_name": CLUSTER,
            "service_name": SERVICE,
            "service_arn": service_arn,
            "container_name": CONTAINER,
            "container_port": 7007
        }
    });
    Fixture {
        emu,
        doc,
        password_arn,
        first_version,
    }
}

/// The child's environment, from `env -0` run as the command.
fn child_env(out: &testkit::Output) -> BTreeMap<String, String> {
    assert_eq!(out.code, 0, "task-exec failed:\n{}", out.stderr);
    out.stdout
        .split('\0')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

fn assert_quiet_about_values(out: &testkit::Output) {
    for secret in [PASSWORD_1, PASSWORD_2, TOKEN, OAUTH_SECRET] {
        assert!(
            !out.stderr.contains(secret),
            "task-exec printed a secret value on stderr:\n{}",
            out.stderr
        );
    }
}

#[test]
fn the_child_gets_the_task_environment_with_every_secret_form_resolved() {
    let f = fixture();
    let out = f
        .emu
        .tool("task-exec")
        .doc(&f.doc)
        .args(["--", "env", "-0"])
        .run();
    let env = child_env(&out);
    assert_quiet_about_values(&out);

    assert_eq!(env["BASE_URL"], "http://alb.example");
    assert_eq!(env["EMPTY"], "");
    assert_eq!(
        env["POSTGRES_HOST"],
        "db.cluster-x.us-west-2.rds.amazonaws.com"
    );
    assert_eq!(env["POSTGRES_USER"], "postgres", "a SecureString, by name");
    assert_eq!(
        env["POSTGRES_PASSWORD"], PASSWORD_2,
        "AWSCURRENT after a rotation"
    );
    assert_eq!(
        env["PREVIOUS_PASSWORD"], PASSWORD_1,
        "the AWSPREVIOUS stage"
    );
    assert_eq!(env["FIRST_PASSWORD"], PASSWORD_1, "a version id");
    assert_eq!(env["GITHUB_TOKEN"], TOKEN);
    assert_eq!(env["AUTH_GITHUB_CLIENT_SECRET"], OAUTH_SECRET, "a JSON key");
    assert_eq!(env["OAUTH_N"], "7", "a JSON key whose value is a number");
    assert!(
        env.contains_key("PATH"),
        "the caller's environment is kept under the task's"
    );
    assert!(
        out.stderr.contains(&format!("{SERVICE}:1")) && out.stderr.contains("from secrets"),
        "says which task definition it used:\n{}",
        out.stderr
    );
}

#[test]
fn set_overrides_a_variable_and_the_document_can_come_from_a_file() {
    let f = fixture();
    let dir = std::env::temp_dir().join(format!("task-exec-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("stack.json");
    std::fs::write(&path, f.doc.to_string()).unwrap();
    let out = f
        .emu
        .tool("task-exec")
        .arg("--in")
        .arg(&path)
        .args([
            "--set",
            "BASE_URL=http://localhost:7007",
            "--set",
            "POSTGRES_PORT=15432",
            "--",
            "env",
            "-0",
        ])
        .run();
    let _ = std::fs::remove_dir_all(&dir);
    let env = child_env(&out);
    assert_eq!(env["BASE_URL"], "http://localhost:7007");
    assert_eq!(env["POSTGRES_PORT"], "15432");
    assert_eq!(
        env["POSTGRES_PASSWORD"], PASSWORD_2,
        "the rest is the task's"
    );
    assert!(
        out.stderr.contains("set locally: BASE_URL, POSTGRES_PORT"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the task does not set POSTGRES_PORT"),
        "a --set name the task lacks is pointed out:\n{}",
        out.stderr
    );
}

#[test]
fn the_service_s_current_revision_is_the_one_used() {
    let f = fixture();
    let ec = ecs::Client::new(&f.emu.sdk());
    let rev2 = f
        .emu
        .block_on(
            ec.register_task_definition()
                .family(SERVICE)
                .container_definitions(
                    ecs::types::ContainerDefinition::builder()
                        .name(CONTAINER)
                        .image("backstage:abcdef12")
                        .memory(512)
                        .environment(
                            ecs::types::KeyValuePair::builder()
                                .name("BASE_URL")
                                .value("https://portal.example")
                                .build(),
                        )
                        .build(),
                )
                .send(),
        )
        .unwrap();
    let rev2 = rev2
        .task_definition()
        .unwrap()
        .task_definition_arn()
        .unwrap()
        .to_owned();
    f.emu
        .block_on(
            ec.update_service()
                .cluster(CLUSTER)
                .service(SERVICE)
                .task_definition(&rev2)
                .send(),
        )
        .unwrap();
    let out = f
        .emu
        .tool("task-exec")
        .doc(&f.doc)
        .args(["--", "env", "-0"])
        .run();
    let env = child_env(&out);
    assert_eq!(env["BASE_URL"], "https://portal.example");
    assert!(
        !env.contains_key("POSTGRES_PASSWORD"),
        "revision 2 has no secrets"
    );
}

#[test]
fn list_names_each_variable_and_its_source_without_values() {
    let f = fixture();
    let out = f.emu.tool("task-exec").doc(&f.doc).arg("--list").run();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("BASE_URL\tenvironment"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout
            .contains(&format!("POSTGRES_PASSWORD\tsecret {}", f.password_arn)),
        "{}",
        out.stdout
    );
    for secret in [
        PASSWORD_1,
        PASSWORD_2,
        TOKEN,
        OAUTH_SECRET,
        "http://alb.example",
    ] {
        assert!(!out.stdout.contains(secret), "--list printed a value");
    }
    assert_quiet_about_values(&out);
    let _ = &f.first_version;
}

#[test]
fn a_missing_secret_exits_1_naming_it_and_runs_nothing() {
    let f = fixture();
    let sm = secretsmanager::Client::new(&f.emu.sdk());
    f.emu
        .block_on(
            sm.delete_secret()
                .secret_id("ecs-github-token")
                .force_delete_without_recovery(true)
                .send(),
        )
        .unwrap();
    let out = f
        .emu
        .tool("task-exec")
        .doc(&f.doc)
        .args(["--", "echo", "the command ran"])
        .run();
    let line = out.fails(1);
    assert!(line.contains("GITHUB_TOKEN"), "{line}");
    assert!(
        line.contains("ecs-github-token"),
        "names the secret: {line}"
    );
    assert_quiet_about_values(&out);
}

#[test]
fn a_missing_json_key_exits_1_naming_it() {
    let f = fixture();
    let sm = secretsmanager::Client::new(&f.emu.sdk());
    f.emu
        .block_on(
            sm.put_secret_value()
                .secret_id("github-oauth")
                .secret_string(json!({"clientId": "Iv1.abc"}).to_string())
                .send(),
        )
        .unwrap();
    let out = f
        .emu
        .tool("task-exec")
        .doc(&f.doc)
        .args(["--", "true"])
        .run();
    let line = out.fails(1);
    assert!(line.contains("AUTH_GITHUB_CLIENT_SECRET"), "{line}");
    assert!(line.contains("clientSecret"), "{line}");
}

#[test]
fn no_svc_section_exits_2_before_any_call() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let doc = json!({"version": 1, "app": "backstage", "region": REGION});
    let out = emu.tool("task-exec").doc(&doc).args(["--", "true"]).run();
    let line = out.fails(2);
    assert!(
        line.contains("\"svc\"") && line.contains("svc-up"),
        "{line}"
    );
    assert_eq!(emu.calls_since(mark).total(), 0, "no AWS call was made");
}

#[test]
fn a_command_is_required_and_bad_set_is_usage() {
    let emu = Emulator::start();
    let out = emu.tool("task-exec").doc(&json!({"version": 1})).run();
    out.fails(2);
    let out = emu
        .tool("task-exec")
        .args(["--set", "NOEQUALS", "--", "true"])
        .run();
    let line = out.fails(2);
    assert!(line.contains("K=V"), "{line}");
}
