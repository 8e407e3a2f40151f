//! ecr-up against the emulator: what a user would check with independent describe calls.

use testkit::{Emulator, Value, ecr, json};

const APP: &str = "unicorn-ui";

fn client(emu: &Emulator) -> ecr::Client {
    ecr::Client::new(&emu.sdk())
}

fn describe(emu: &Emulator, name: &str) -> Option<ecr::types::Repository> {
    emu.block_on(
        client(emu)
            .describe_repositories()
            .repository_names(name)
            .send(),
    )
    .ok()
    .and_then(|o| o.repositories().first().cloned())
}

fn tags(emu: &Emulator, arn: &str) -> std::collections::BTreeMap<String, String> {
    let out = emu
        .block_on(
            client(emu)
                .list_tags_for_resource()
                .resource_arn(arn)
                .send(),
        )
        .expect("list tags");
    testkit::tag_map(out.tags().iter().map(|t| (t.key(), t.value())))
}

fn image_count(emu: &Emulator, name: &str) -> usize {
    emu.block_on(client(emu).list_images().repository_name(name).send())
        .expect("list images")
        .image_ids()
        .len()
}

/// Push an image tagged `tag`, as the pipeline's build does.
fn push_image(emu: &Emulator, name: &str, tag: &str) {
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 7023,
                   "digest": "sha256:b5b2b2c507a0944348e0303114d8d93aaaa081732b86451d9bce1f432a537bc7"},
        "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654,
                    "digest": "sha256:e692418e4cbaf90ca69d05a66403747baa33ee08806650b51fab815ad7fc331f"}]
    });
    emu.block_on(
        client(emu)
            .put_image()
            .repository_name(name)
            .image_manifest(manifest.to_string())
            .image_tag(tag)
            .send(),
    )
    .expect("put image");
}

/// A repository as svc-up made it before ecr-up existed: its tags name the `svc` step.
fn legacy_repository(emu: &Emulator, step: &str, app: &str) -> String {
    let tag = |k: &str, v: &str| ecr::types::Tag::builder().key(k).value(v).build().unwrap();
    let out = emu
        .block_on(
            client(emu)
                .create_repository()
                .repository_name(APP)
                .image_scanning_configuration(
                    ecr::types::ImageScanningConfiguration::builder()
                        .scan_on_push(true)
                        .build(),
                )
                .tags(tag("stagehand:app", app))
                .tags(tag("stagehand:step", step))
                .send(),
        )
        .expect("create repository");
    let arn = out
        .repository()
        .unwrap()
        .repository_arn()
        .unwrap()
        .to_owned();
    emu.block_on(
        client(emu)
            .put_lifecycle_policy()
            .repository_name(APP)
            .lifecycle_policy_text(ecr_up::lifecycle_policy().to_string())
            .send(),
    )
    .expect("put lifecycle policy");
    arn
}

fn up(emu: &Emulator, doc: &Value, extra: &[&str]) -> Value {
    emu.tool("ecr-up").args(extra).doc(doc).run().ok()
}

fn fresh() -> Value {
    json!({"version": 1, "app": APP})
}

#[test]
fn creates_the_repository_with_scan_on_push_encryption_lifecycle_and_tags() {
    let emu = Emulator::start();
    let doc = up(&emu, &fresh(), &["--tag", "team=portal"]);
    let repo = describe(&emu, APP).expect("the repository exists");
    let section = &doc["ecr"];
    assert_eq!(section["repository_name"], APP);
    assert_eq!(section["repository_arn"], repo.repository_arn().unwrap());
    assert_eq!(section["repository_uri"], repo.repository_uri().unwrap());
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(
        repo.encryption_configuration().unwrap().encryption_type(),
        &ecr::types::EncryptionType::Aes256
    );
    assert_eq!(
        repo.image_tag_mutability(),
        Some(&ecr::types::ImageTagMutability::Mutable),
        "the pipeline pushes :latest on every build"
    );
    let lifecycle: Value = serde_json::from_str(
        emu.block_on(
            client(&emu)
                .get_lifecycle_policy()
                .repository_name(APP)
                .send(),
        )
        .unwrap()
        .lifecycle_policy_text()
        .unwrap(),
    )
    .unwrap();
    assert_eq!(lifecycle["rules"][0]["selection"]["countNumber"], 30);
    assert_eq!(lifecycle["rules"][0]["action"]["type"], "expire");
    let t = tags(&emu, repo.repository_arn().unwrap());
    assert_eq!(t["stagehand:app"], APP);
    assert_eq!(t["stagehand:step"], "ecr");
    assert_eq!(t["team"], "portal");

    // A rerun changes nothing, with one round trip of reads.
    let mark = emu.mark();
    let again = up(&emu, &doc, &[]);
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert!(calls.total() <= 4, "{:?}", calls.requests());
    assert_eq!(again["ecr"], doc["ecr"]);
}

#[test]
fn plan_on_a_fresh_account_makes_no_write() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let out = emu.tool("ecr-up").arg("--plan").doc(&fresh()).run();
    let doc = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr
            .contains("+ create     ECR repository unicorn-ui"),
        "{}",
        out.stderr
    );
    assert_eq!(doc["ecr"]["planned"], true);
    assert!(
        doc["ecr"]["repository_uri"]
            .as_str()
            .unwrap()
            .ends_with(".amazonaws.com/unicorn-ui")
    );
    assert!(describe(&emu, APP).is_none());
}

#[test]
fn drift_is_put_back() {
    let emu = Emulator::start();
    // The stack's repository without scan on push and without a lifecycle policy (made by
    // hand: the SDK leaves a false scanOnPush out of PutImageScanningConfiguration, which the
    // emulator then ignores).
    let tag = |k: &str, v: &str| ecr::types::Tag::builder().key(k).value(v).build().unwrap();
    emu.block_on(
        client(&emu)
            .create_repository()
            .repository_name(APP)
            .tags(tag("stagehand:app", APP))
            .tags(tag("stagehand:step", "ecr"))
            .send(),
    )
    .expect("create repository");
    let doc = fresh();
    let mark = emu.mark();
    let out = emu.tool("ecr-up").arg("--plan").doc(&doc).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains("scan_on_push: false → true")
            && out
                .stderr
                .contains("lifecycle policy: none → keep the last 30 images"),
        "{}",
        out.stderr
    );
    let mark = emu.mark();
    up(&emu, &doc, &[]);
    let mut changed = emu.calls_since(mark).mutating_actions();
    changed.sort();
    assert_eq!(
        changed,
        [
            "ecr:PutImageScanningConfiguration",
            "ecr:PutLifecyclePolicy"
        ]
    );
    assert!(
        describe(&emu, APP)
            .unwrap()
            .image_scanning_configuration()
            .unwrap()
            .scan_on_push()
    );
    assert!(
        emu.block_on(
            client(&emu)
                .get_lifecycle_policy()
                .repository_name(APP)
                .send()
        )
        .is_ok()
    );
}

#[test]
fn destroy_refuses_a_repository_holding_images_and_force_deletes_it() {
    let emu = Emulator::start();
    let doc = up(&emu, &fresh(), &[]);
    push_image(&emu, APP, "abcd1234");

    let mark = emu.mark();
    let out = emu.tool("ecr-up").arg("--destroy").doc(&doc).run();
    let line = out.fails(2);
    assert!(
        line.contains("holds images") && line.contains("--force") && !line.contains('\n'),
        "{line}"
    );
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(image_count(&emu, APP), 1, "nothing was deleted");

    let after = up(&emu, &doc, &["--destroy", "--force"]);
    assert!(after.get("ecr").is_none(), "the section is removed");
    assert!(describe(&emu, APP).is_none(), "the repository is gone");

    // A second destroy finds nothing, changes nothing and succeeds.
    let mark = emu.mark();
    up(&emu, &after, &["--destroy"]);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_deletes_an_empty_repository_without_force_and_needs_only_the_identity() {
    let emu = Emulator::start();
    let doc = up(&emu, &fresh(), &[]);
    let bare = json!({"version": 1, "app": doc["app"], "region": doc["region"], "account": doc["account"]});
    assert_eq!(up(&emu, &bare, &["--destroy"]), bare);
    assert!(describe(&emu, APP).is_none());
}

#[test]
fn force_without_destroy_is_bad_usage() {
    let emu = Emulator::start();
    let mark = emu.mark();
    let line = emu
        .tool("ecr-up")
        .arg("--force")
        .doc(&fresh())
        .run()
        .fails(2);
    assert!(line.contains("--destroy"), "{line}");
    assert_eq!(emu.calls_since(mark).total(), 0);
}

#[test]
fn a_repository_not_the_stacks_is_used_and_left_in_place() {
    let emu = Emulator::start();
    emu.block_on(client(&emu).create_repository().repository_name(APP).send())
        .expect("create repository");
    push_image(&emu, APP, "v1");
    let doc = up(&emu, &fresh(), &[]);
    let repo = describe(&emu, APP).unwrap();
    assert_eq!(doc["ecr"]["repository_arn"], repo.repository_arn().unwrap());
    assert!(
        !tags(&emu, repo.repository_arn().unwrap()).contains_key("stagehand:step"),
        "not retagged: it is not the stack's"
    );

    let out = emu
        .tool("ecr-up")
        .args(["--destroy", "--force"])
        .doc(&doc)
        .run();
    let after = out.ok();
    assert!(out.stderr.contains("left in place"), "{}", out.stderr);
    assert!(after.get("ecr").is_none());
    assert!(describe(&emu, APP).is_some(), "the repository stays");
    assert_eq!(image_count(&emu, APP), 1, "with its image");
}

#[test]
fn another_apps_repository_is_refused_before_any_write() {
    let emu = Emulator::start();
    legacy_repository(&emu, "ecr", "shop");
    let mark = emu.mark();
    let line = emu.tool("ecr-up").doc(&fresh()).run().fails(2);
    assert!(line.contains("app shop"), "{line}");
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn a_repository_svc_up_made_before_the_split_is_adopted() {
    let emu = Emulator::start();
    let arn = legacy_repository(&emu, "svc", APP);
    push_image(&emu, APP, "abcd1234");
    // The document of a stack made before the split: no ecr section.
    let old = json!({"version": 1, "app": APP});

    let plan = emu.tool("ecr-up").arg("--plan").doc(&old).run();
    plan.ok();
    assert!(
        plan.stderr.contains("stagehand:step: svc → ecr"),
        "{}",
        plan.stderr
    );

    let mark = emu.mark();
    let doc = up(&emu, &old, &[]);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.mutating_actions(),
        ["ecr:TagResource"],
        "retagged, not recreated"
    );
    assert_eq!(doc["ecr"]["repository_arn"], arn);
    assert_eq!(tags(&emu, &arn)["stagehand:step"], "ecr");
    assert_eq!(tags(&emu, &arn)["stagehand:app"], APP);
    assert_eq!(image_count(&emu, APP), 1, "the images are kept");

    let mark = emu.mark();
    up(&emu, &doc, &[]);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn destroy_treats_a_repository_svc_up_made_as_its_own() {
    let emu = Emulator::start();
    legacy_repository(&emu, "svc", APP);
    push_image(&emu, APP, "abcd1234");
    // A pre-split stack torn down with the new tools: ecr-up --destroy before any ecr-up run.
    let old = json!({"version": 1, "app": APP});
    let line = emu.tool("ecr-up").arg("--destroy").doc(&old).run().fails(2);
    assert!(line.contains("holds images"), "{line}");
    up(&emu, &old, &["--destroy", "--force"]);
    assert!(describe(&emu, APP).is_none());
}

/// A call AWS applied but whose answer was lost gets AWS's "already done" answer on the SDK's
/// retry: success, on up and on down.
#[test]
fn already_done_answers_are_success_on_up_and_down() {
    use testkit::Fault;
    let done = |action: &str, code: &str| {
        Fault::error(
            "ecr",
            action,
            code,
            "already done (injected after applying)",
        )
        .forwarded()
    };
    let emu = Emulator::start();
    emu.inject(&[done("CreateRepository", "RepositoryAlreadyExistsException")]);
    let doc = up(&emu, &fresh(), &[]);
    let repo = describe(&emu, APP).expect("the repository exists");
    assert_eq!(doc["ecr"]["repository_arn"], repo.repository_arn().unwrap());
    assert_eq!(doc["ecr"]["repository_uri"], repo.repository_uri().unwrap());
    emu.inject(&[]);
    let mark = emu.mark();
    up(&emu, &doc, &[]);
    emu.calls_since(mark).assert_no_mutations();

    emu.inject(&[done("DeleteRepository", "RepositoryNotFoundException")]);
    let after = up(&emu, &doc, &["--destroy"]);
    assert!(after.get("ecr").is_none());
    assert!(describe(&emu, APP).is_none());
}
