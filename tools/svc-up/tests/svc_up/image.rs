//! Issue 12: once the service exists its image belongs to the pipeline. The pipeline's deploy
//! is simulated with the calls CodePipeline's ECS action makes (common::pipeline_deploy).

use testkit::Emulator;

use crate::common::*;

#[test]
fn reruns_keep_the_pipelines_image_with_zero_mutating_calls() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let first = up(&emu, &input, &[]);
    let (image, revision) = pipeline_deploy(&emu, &first, "abcd1234");
    settle(&emu, &first);

    // The plan, a rerun and a second rerun change nothing, and say what runs.
    let mark = emu.mark();
    let out = emu.tool("svc-up").arg("--plan").doc(&first).run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr
            .contains("plan: 0 to create, 0 to update, 0 to delete, 7 unchanged"),
        "{}",
        out.stderr
    );
    let mark = emu.mark();
    let doc = up(&emu, &first, &[]);
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(doc["svc"]["image"], image.as_str());
    assert_eq!(doc["svc"]["task_definition_arn"], revision.as_str());
    assert_eq!(running_image(&emu, &doc), image);

    // A second push is deployed by the pipeline; the next rerun again changes nothing.
    let (image2, revision2) = pipeline_deploy(&emu, &doc, "feed5678");
    settle(&emu, &doc);
    let mark = emu.mark();
    let doc = up(&emu, &doc, &[]);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(doc["svc"]["image"], image2.as_str());
    assert_eq!(doc["svc"]["task_definition_arn"], revision2.as_str());
    assert_eq!(running_image(&emu, &doc), image2);
    // ECR holds both tags of each build.
    let ecr = testkit::ecr::Client::new(&emu.sdk());
    let listed = emu
        .block_on(ecr.list_images().repository_name(APP).send())
        .unwrap();
    let tags: std::collections::BTreeSet<&str> = listed
        .image_ids()
        .iter()
        .filter_map(|i| i.image_tag())
        .collect();
    assert_eq!(tags, ["abcd1234", "feed5678", "latest"].into());
}

#[test]
fn a_cpu_change_registers_one_revision_with_the_pipelines_image() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let first = up(&emu, &input, &[]);
    let (image, revision) = pipeline_deploy(&emu, &first, "abcd1234");
    settle(&emu, &first);

    let mark = emu.mark();
    let out = emu
        .tool("svc-up")
        .args(["--plan", "--cpu", "2048", "--memory", "4096"])
        .doc(&first)
        .run();
    out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(
        out.stderr.contains(
            "update     task definition unicorn-ui (cpu: 1024 → 2048; memory: 2048 → 4096)"
        ),
        "only cpu and memory change, not the image:\n{}",
        out.stderr
    );

    let mark = emu.mark();
    let out = emu
        .tool("svc-up")
        .args(["--cpu", "2048", "--memory", "4096"])
        .doc(&first)
        .run();
    let doc = out.ok();
    let calls = emu.calls_since(mark);
    assert_eq!(calls.count("ecs:RegisterTaskDefinition"), 1);
    assert_eq!(calls.count("ecs:UpdateService"), 1);
    assert!(
        out.stderr.contains("rollout IN_PROGRESS"),
        "watched:\n{}",
        out.stderr
    );
    let new = doc["svc"]["task_definition_arn"].as_str().unwrap();
    assert_ne!(new, revision);
    let td = task_def(&emu, new);
    assert_eq!((td.cpu(), td.memory()), (Some("2048"), Some("4096")));
    assert_eq!(td.container_definitions()[0].image(), Some(image.as_str()));
    assert_eq!(service(&emu, &doc).task_definition(), Some(new));
    assert_eq!(doc["svc"]["settings"]["cpu"], "2048");

    // Remembered: a rerun without flags changes nothing.
    let mark = emu.mark();
    up(&emu, &doc, &[]);
    emu.calls_since(mark).assert_no_mutations();
}

#[test]
fn image_pins_until_reset_then_the_pipeline_owns_it_again() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let first = up(&emu, &input, &[]);
    pipeline_deploy(&emu, &first, "abcd1234");
    settle(&emu, &first);

    // --image pins, and is remembered.
    let pinned = up(&emu, &first, &["--image", PUBLIC_IMAGE]);
    assert_eq!(pinned["svc"]["settings"]["image"], PUBLIC_IMAGE);
    assert_eq!(pinned["svc"]["image"], PUBLIC_IMAGE);
    assert_eq!(running_image(&emu, &pinned), PUBLIC_IMAGE);
    let mark = emu.mark();
    let again = up(&emu, &pinned, &[]);
    emu.calls_since(mark).assert_no_mutations();

    // A pin wins over a pipeline deploy: the next rerun puts the pinned image back.
    pipeline_deploy(&emu, &again, "c0ffee00");
    settle(&emu, &again);
    let out = emu.tool("svc-up").arg("--plan").doc(&again).run();
    out.ok();
    assert!(
        out.stderr.contains(&format!(":c0ffee00 → {PUBLIC_IMAGE}")),
        "{}",
        out.stderr
    );
    let again = up(&emu, &again, &[]);
    assert_eq!(running_image(&emu, &again), PUBLIC_IMAGE);

    // --reset image removes the pin and changes nothing that runs...
    let mark = emu.mark();
    let reset = up(&emu, &again, &["--reset", "image"]);
    emu.calls_since(mark).assert_no_mutations();
    assert!(reset["svc"]["settings"].get("image").is_none());
    assert_eq!(reset["svc"]["image"], PUBLIC_IMAGE);
    // ...and the next pipeline run's image is kept.
    let (image, _) = pipeline_deploy(&emu, &reset, "d00dfeed");
    settle(&emu, &reset);
    let mark = emu.mark();
    let after = up(&emu, &reset, &[]);
    emu.calls_since(mark).assert_no_mutations();
    assert_eq!(after["svc"]["image"], image.as_str());
    assert_eq!(running_image(&emu, &after), image);
}

#[test]
fn once_the_repository_has_the_image_a_rerun_waits_for_the_rollout() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    // The pipeline's build pushed :latest (and its commit), but it has not deployed yet.
    push_image(&emu, APP, "abcd1234", &["abcd1234", "latest"]);
    let mark = emu.mark();
    let out = emu.tool("svc-up").doc(&doc).run();
    let again = out.ok();
    emu.calls_since(mark).assert_no_mutations();
    assert!(out.stderr.contains("roll out: ready"), "{}", out.stderr);
    let s = service(&emu, &again);
    assert_eq!(s.deployments().len(), 1);
    assert_eq!(s.running_count(), 3);
    // Settled: a further rerun does not even wait.
    let mark = emu.mark();
    let out = emu.tool("svc-up").doc(&again).run();
    out.ok();
    let calls = emu.calls_since(mark);
    calls.assert_no_mutations();
    assert_eq!(calls.count("ecs:DescribeServices"), 1, "observe only");
    assert!(!out.stderr.contains("roll out"), "{}", out.stderr);
}
