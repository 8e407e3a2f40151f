//! Issue 16's acceptance through the whole chain: `scripts/up.sh` and `scripts/down.sh` as
//! processes on the emulator, under lost responses (a sweep over every mutating action the
//! chain makes), seeded mixed faults, SIGKILL at named points, repeated and partial teardowns,
//! and bad inputs. What exists is counted by independent SDK calls (`everything`), never from
//! the tools' own output.
//!
//! One emulator serves many cases. A case starts on the account the last `down.sh` left (its
//! secrets in their recovery window, the service-linked roles), as a user's next `up.sh` does;
//! the emulator is reset (several seconds, and a cold emulator after it) only for a case whose
//! action a fresh account alone makes (CreateSecret, CreateServiceLinkedRole).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use testkit::stack::{Stack, counts, everything};
use testkit::{Fault, Value, json};

fn up(stack: &Stack) -> testkit::Output {
    let out = stack.script("scripts/up.sh").run();
    out.assert_never_shows(&stack.token);
    out
}

/// down.sh as a user tearing everything down (the logs too).
fn down_cmd(stack: &Stack) -> testkit::Tool {
    stack
        .script("scripts/down.sh")
        .env("SVC_ARGS", "--delete-logs")
        .env("PIPELINE_ARGS", "--delete-logs")
}

fn down(stack: &Stack) -> testkit::Output {
    let out = down_cmd(stack).run();
    out.assert_never_shows(&stack.token);
    out
}

fn up_ok(stack: &Stack, what: &str) {
    stack.ok(stack.script("scripts/up.sh"), &format!("{what}: up.sh"));
}

fn down_ok(stack: &Stack, what: &str) {
    stack.ok(down_cmd(stack), &format!("{what}: down.sh"));
}

/// A rerun without faults changes nothing.
fn assert_up_is_a_no_op(stack: &Stack, what: &str) {
    let mark = stack.emu.mark();
    up_ok(stack, &format!("{what}, fault-free rerun"));
    let calls = stack.emu.calls_since(mark);
    assert_eq!(
        calls.mutating(),
        0,
        "{what}: a fault-free rerun of up.sh wrote: {:?}",
        calls.mutating_actions()
    );
}

fn assert_down_is_a_no_op(stack: &Stack, what: &str) {
    let mark = stack.emu.mark();
    down_ok(stack, &format!("{what}, second down.sh"));
    let calls = stack.emu.calls_since(mark);
    assert_eq!(
        calls.mutating(),
        0,
        "{what}: down.sh on a stack that is down wrote: {:?}",
        calls.mutating_actions()
    );
}

/// The next case starts on a fresh account (`fresh`), or on what the last down.sh left; no
/// fault is armed either way.
fn next_case(stack: &Stack, fresh: bool) {
    if fresh {
        stack.reset();
    } else {
        stack.emu.inject(&[]);
    }
}

/// The resources one complete stack has exactly one of.
const ONE_OF_EACH: &[&str] = &[
    "vpc",
    "internet gateway",
    "elastic ip",
    "nat gateway",
    "ecs cluster",
    "ecs service",
    "cloud map namespace",
    "cloud map service",
    "db cluster",
    "db instance",
    "db subnet group",
    "load balancer",
    "target group",
    "ecr repository",
    "bucket",
    "sns topic",
    "codebuild project",
    "pipeline",
    "notification rule",
];

/// Up's inventory on a fault-free run: checked for one of each, returned for comparing cases.
fn baseline(stack: &Stack) -> BTreeMap<&'static str, usize> {
    let base = counts(&everything(&stack.emu));
    for kind in ONE_OF_EACH {
        assert_eq!(
            base.get(kind),
            Some(&1),
            "a fresh stack has one {kind}: {base:?}"
        );
    }
    assert_eq!(base.get("subnet"), Some(&6), "{base:?}");
    base
}

fn assert_same_as(stack: &Stack, base: &BTreeMap<&'static str, usize>, what: &str) {
    let inv = everything(&stack.emu);
    assert_eq!(
        &counts(&inv),
        base,
        "{what}: the stack differs from a fault-free one:\n{inv:#?}"
    );
}

fn assert_nothing_left(stack: &Stack, what: &str) {
    let inv = everything(&stack.emu);
    assert!(
        inv.is_empty(),
        "{what}: down left resources behind:\n{inv:#?}"
    );
}

/// `service:Action` → a lost-response fault on that action's next call.
fn lost(action: &str) -> Fault {
    let (service, action) = action.split_once(':').expect("service:Action");
    Fault::lost(service, action)
}

/// The mutating actions among `calls`, as `service:Action`, in the order first made.
fn first_seen(calls: &testkit::Calls) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for r in calls.requests() {
        if r["mutating"].as_bool() == Some(true) {
            let a = format!(
                "{}:{}",
                r["service"].as_str().unwrap_or("?"),
                r["action"].as_str().unwrap_or("?")
            );
            if !seen.contains(&a) {
                seen.push(a);
            }
        }
    }
    seen
}

/// The calls of one fault-free up.sh and down.sh, checking that up makes one of each and down
/// leaves nothing: (up's calls, down's calls, up's inventory counts).
fn fault_free_round(
    stack: &Stack,
    what: &str,
) -> (
    testkit::Calls,
    testkit::Calls,
    BTreeMap<&'static str, usize>,
) {
    let mark = stack.emu.mark();
    up_ok(stack, what);
    let up = stack.emu.calls_since(mark);
    let base = baseline(stack);
    let mark = stack.emu.mark();
    down_ok(stack, what);
    let down = stack.emu.calls_since(mark);
    assert_nothing_left(stack, what);
    (up, down, base)
}

/// One sweep case: an action, and whether only a fresh account makes it.
type Case = (String, bool);

/// Every mutating action of a fault-free up.sh and down.sh, on a fresh account and again on
/// the account the down left, each marked with whether only the fresh account makes it.
fn chain_actions(stack: &Stack) -> (Vec<Case>, Vec<Case>, BTreeMap<&'static str, usize>) {
    let (up, down, base) = fault_free_round(stack, "fault-free, fresh account");
    let (fresh_up, fresh_down) = (first_seen(&up), first_seen(&down));
    let (up, down, again) = fault_free_round(stack, "fault-free, after a down");
    assert_eq!(again, base, "up.sh after a down.sh makes the same stack");
    let (again_up, again_down) = (first_seen(&up), first_seen(&down));
    let cases = |fresh: &[String], again: &[String]| -> Vec<Case> {
        let mut all: Vec<Case> = fresh
            .iter()
            .map(|a| (a.clone(), !again.contains(a)))
            .chain(
                again
                    .iter()
                    .filter(|a| !fresh.contains(a))
                    .map(|a| (a.clone(), false)),
            )
            .collect();
        // Fresh-account cases first, so that the rounds that reset are few.
        all.sort_by_key(|(_, fresh)| !fresh);
        all
    };
    let (up, down) = (cases(&fresh_up, &again_up), cases(&fresh_down, &again_down));
    assert!(up.len() > 30 && down.len() > 20, "up {up:?}\ndown {down:?}");
    (up, down, base)
}

/// One case of the lost-response sweep on up.sh: the answer to `action`'s first call is lost;
/// up converges with at most one rerun to exactly the fault-free stack, and a rerun writes
/// nothing.
fn lost_on_up(stack: &Stack, action: &str, base: &BTreeMap<&'static str, usize>) {
    let what = format!("lost answer to {action} on up");
    stack.emu.inject(&[lost(action)]);
    let mark = stack.emu.mark();
    let first = up(stack);
    assert!(
        stack.emu.calls_since(mark).count(action) > 0,
        "{what}: up.sh never called it"
    );
    stack.emu.inject(&[]);
    if first.code != 0 {
        assert_eq!(
            first.code, 1,
            "{what}: exit {}:\n{}",
            first.code, first.stderr
        );
        up_ok(stack, &format!("{what}, the one rerun"));
    }
    assert_same_as(stack, base, &what);
    assert_up_is_a_no_op(stack, &what);
}

/// The same on down.sh: nothing is left after at most one rerun, and another down writes
/// nothing.
fn lost_on_down(stack: &Stack, action: &str) {
    let what = format!("lost answer to {action} on down");
    stack.emu.inject(&[lost(action)]);
    let mark = stack.emu.mark();
    let first = down(stack);
    assert!(
        stack.emu.calls_since(mark).count(action) > 0,
        "{what}: down.sh never called it"
    );
    stack.emu.inject(&[]);
    if first.code != 0 {
        assert_eq!(
            first.code, 1,
            "{what}: exit {}:\n{}",
            first.code, first.stderr
        );
        down_ok(stack, &format!("{what}, the one rerun"));
    }
    assert_nothing_left(stack, &what);
    assert_down_is_a_no_op(stack, &what);
}

/// The sweep, shard `shard` of `shards` (nextest runs the shards side by side): each round
/// runs one up case (or a fault-free up) and one down case, on a fresh account when either
/// case needs one.
fn lost_response_sweep(name: &str, shard: usize, shards: usize) {
    let stack = Stack::new(name);
    let (up, down, base) = chain_actions(&stack);
    let mine = |list: &[Case]| -> Vec<Case> {
        list.iter()
            .enumerate()
            .filter(|(i, _)| i % shards == shard)
            .map(|(_, c)| c.clone())
            .collect()
    };
    let (up, down) = (mine(&up), mine(&down));
    for round in 0..up.len().max(down.len()) {
        let fresh = |c: Option<&Case>| c.is_some_and(|(_, fresh)| *fresh);
        next_case(&stack, fresh(up.get(round)) || fresh(down.get(round)));
        match up.get(round) {
            Some((action, _)) => lost_on_up(&stack, action, &base),
            None => up_ok(&stack, "fault-free up"),
        }
        match down.get(round) {
            Some((action, _)) => lost_on_down(&stack, action),
            None => {
                down_ok(&stack, "fault-free down");
                assert_nothing_left(&stack, "fault-free down");
            }
        }
    }
}

#[test]
fn lost_responses_on_every_mutating_action_converge_shard_1_of_3() {
    lost_response_sweep("lost-1", 0, 3);
}

#[test]
fn lost_responses_on_every_mutating_action_converge_shard_2_of_3() {
    lost_response_sweep("lost-2", 1, 3);
}

#[test]
fn lost_responses_on_every_mutating_action_converge_shard_3_of_3() {
    lost_response_sweep("lost-3", 2, 3);
}

/// splitmix64: a seeded generator, so a failing seed can be rerun as it was.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// True with probability `p`.
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Faults for 15% of the calls a fault-free run made (`calls`): throttling, 503, a reset
/// connection, or (on a mutating call) a lost response. The emulator fires a fault on the
/// next matching calls, so each action gets as many faults as the draw gave its calls, at
/// most 3 (the SDK makes 8 attempts; more in a row would only test its backoff).
fn mixed_faults(seed: u64, calls: &testkit::Calls) -> Vec<Fault> {
    let mut rng = Rng(seed);
    let mut drawn: BTreeMap<(String, String, usize), i64> = BTreeMap::new();
    let mut per_action: BTreeMap<(String, String), i64> = BTreeMap::new();
    for r in calls.requests() {
        let service = r["service"].as_str().unwrap_or("?").to_owned();
        let action = r["action"].as_str().unwrap_or("?").to_owned();
        if !rng.chance(0.15) {
            continue;
        }
        let kinds = if r["mutating"].as_bool() == Some(true) {
            4
        } else {
            3
        };
        let kind = rng.below(kinds);
        let n = per_action
            .entry((service.clone(), action.clone()))
            .or_default();
        if *n < 3 {
            *n += 1;
            *drawn.entry((service, action, kind)).or_default() += 1;
        }
    }
    drawn
        .into_iter()
        .map(|((service, action, kind), times)| {
            match kind {
                0 => Fault::throttle(&service, &action),
                1 => Fault::server_error(&service, &action),
                2 => Fault::drop(&service, &action),
                _ => Fault::lost(&service, &action),
            }
            .times(times)
        })
        .collect()
}

/// Up to `runs` runs of a script with the faults armed (what a failed run left unfired stays
/// armed for the next); true when one exited 0.
fn under_faults(runs: usize, run: impl Fn() -> testkit::Output, what: &str) {
    let mut last = None;
    for _ in 0..runs {
        let out = run();
        if out.code == 0 {
            return;
        }
        assert_eq!(out.code, 1, "{what}: exit {}:\n{}", out.code, out.stderr);
        last = Some(out.stderr);
    }
    panic!(
        "{what}: no run of {runs} succeeded; the last said:\n{}",
        last.unwrap()
    );
}

/// Seeded mixed faults on up.sh and then down.sh, one seed after another on the account the
/// last down left (the faults are drawn from a fault-free round on that same account).
fn mixed_fault_seeds(name: &str, seeds: &[u64]) {
    let stack = Stack::new(name);
    fault_free_round(&stack, "fault-free, fresh account");
    let (up_calls, down_calls, base) = fault_free_round(&stack, "fault-free, after a down");
    for &seed in seeds {
        let what = format!("seed {seed}");
        next_case(&stack, false);
        let faults = mixed_faults(seed, &up_calls);
        assert!(
            faults.iter().any(|f| f.kind == testkit::FaultKind::Lost),
            "{what}: {faults:?}"
        );
        stack.emu.inject(&faults);
        // Faults on the SDK's eighth attempt are possible: a failed run is rerun (twice at
        // most), as a user would.
        under_faults(3, || up(&stack), &format!("{what}, up.sh"));
        stack.emu.inject(&[]);
        assert_same_as(&stack, &base, &what);
        assert_up_is_a_no_op(&stack, &what);

        stack.emu.inject(&mixed_faults(seed ^ 0xd0d0, &down_calls));
        under_faults(3, || down(&stack), &format!("{what}, down.sh"));
        stack.emu.inject(&[]);
        assert_nothing_left(&stack, &what);
    }
}

#[test]
fn seeded_mixed_faults_at_15_percent_converge_and_down_leaves_nothing_seeds_1_to_3() {
    mixed_fault_seeds("mixed", &[1, 2, 3]);
}

/// up.sh (or down.sh) SIGKILLed, with every tool it started, once `action` is sent: the
/// emulator holds that call for a second and applies it after the kill, as AWS applies a call
/// whose caller died. The case goes on once `applied` sees the call's effect.
fn kill_after(stack: &Stack, cmd: testkit::Tool, action: &str, applied: impl Fn() -> bool) {
    let (service, name) = action.split_once(':').unwrap();
    stack.emu.inject(&[Fault::latency(service, name, 1000)]);
    let mark = stack.emu.mark();
    let mut run = cmd.spawn();
    let deadline = Instant::now() + Duration::from_secs(120);
    while stack.emu.calls_since(mark).count(action) == 0 {
        assert!(!run.finished(), "the run ended before calling {action}");
        assert!(Instant::now() < deadline, "{action} was never called");
        std::thread::sleep(Duration::from_millis(20));
    }
    run.kill();
    let out = run.wait();
    assert_eq!(out.code, -1, "the run was not killed:\n{}", out.stderr);
    stack.emu.inject(&[]);
    while !applied() {
        assert!(Instant::now() < deadline, "{action} was never applied");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn count(stack: &Stack, kind: &str) -> usize {
    everything(&stack.emu).get(kind).map_or(0, Vec::len)
}

fn has(stack: &Stack, kind: &str) -> bool {
    count(stack, kind) > 0
}

/// Kills of up.sh in a row, each after a create (`action`, what it creates): each rerun is
/// killed at the next point, in a later step of the chain (or, in one step, a create that
/// needs the one before), so it must first recover from the kill before — which leaves
/// exactly one of what that create made. The last rerun converges to the fault-free stack,
/// a further rerun writes nothing, and down.sh leaves nothing.
fn kills_after_creates(
    stack: &Stack,
    base: &BTreeMap<&'static str, usize>,
    points: &[(&str, &str)],
) {
    next_case(stack, false);
    let mut before: Option<&str> = None;
    for (action, kind) in points {
        kill_after(stack, stack.script("scripts/up.sh"), action, || {
            has(stack, kind)
        });
        if let Some(kind) = before {
            assert_eq!(
                count(stack, kind),
                1,
                "the rerun killed after {action} recovered from the kill after the {kind} create"
            );
        }
        before = Some(kind);
    }
    let what = format!(
        "up.sh killed after {}",
        points
            .iter()
            .map(|p| p.0)
            .collect::<Vec<_>>()
            .join(", then ")
    );
    up_ok(stack, &format!("{what}, the last rerun"));
    assert_same_as(stack, base, &what);
    assert_up_is_a_no_op(stack, &what);
    down_ok(stack, &what);
    assert_nothing_left(stack, &what);
}

#[test]
fn a_sigkill_after_each_named_create_converges_on_rerun_and_down_finishes() {
    let stack = Stack::new("kill-up");
    up_ok(&stack, "fault-free up");
    let base = baseline(&stack);
    down_ok(&stack, "fault-free down");
    // ecr-up beside core-up; then db-up, alb-up and pipeline-up side by side (pipeline-up
    // needs core and ecr); then svc-up (it needs db and alb). Each row's points come in an
    // order the chain guarantees.
    for points in [
        &[
            ("ec2:CreateVpc", "vpc"),
            ("rds:CreateDBCluster", "db cluster"),
            ("ecs:CreateService", "ecs service"),
        ][..],
        &[
            ("ec2:CreateInternetGateway", "internet gateway"),
            ("elasticloadbalancing:CreateLoadBalancer", "load balancer"),
            ("servicediscovery:CreateService", "cloud map service"),
        ],
        // The NAT gateway needs the address: created after it, in the same step; the
        // pipeline's bucket after core-up has returned.
        &[
            ("ec2:AllocateAddress", "elastic ip"),
            ("ec2:CreateNatGateway", "nat gateway"),
            ("s3:CreateBucket", "bucket"),
        ],
        &[("ecr:CreateRepository", "ecr repository")],
    ] {
        kills_after_creates(&stack, &base, points);
    }
}

#[test]
fn a_sigkill_during_down_resumes_and_down_finishes() {
    let stack = Stack::new("kill-down");
    up_ok(&stack, "up");
    // svc-up's destroy, then db-up's (with alb-up's), then core-up's: each rerun is killed at
    // a later point, after resuming past the one before.
    let points = [
        ("ecs:DeleteService", "ecs service"),
        ("rds:DeleteDBCluster", "db cluster"),
        ("ec2:DeleteNatGateway", "nat gateway"),
    ];
    for (action, gone) in points {
        kill_after(&stack, down_cmd(&stack), action, || !has(&stack, gone));
    }
    let what = "down.sh killed after ecs:DeleteService, then rds:DeleteDBCluster, then ec2:DeleteNatGateway";
    down_ok(&stack, &format!("{what}, the last rerun"));
    assert_nothing_left(&stack, what);
    assert_down_is_a_no_op(&stack, what);
}

#[test]
fn down_twice_exits_0_both_times_and_down_after_a_partial_up_leaves_nothing() {
    let stack = Stack::new("down-twice");
    up_ok(&stack, "up");
    down_ok(&stack, "the first down");
    assert_nothing_left(&stack, "the first down");
    assert_down_is_a_no_op(&stack, "down twice");

    // A partial up: the database cannot be created, so up.sh stops after core-up and alb-up
    // (svc-up and pipeline-up never run).
    for (action, code) in [
        ("rds:CreateDBCluster", "InsufficientDBInstanceCapacity"),
        ("codepipeline:CreatePipeline", "LimitExceededException"),
    ] {
        let what = format!("down after an up that failed at {action}");
        next_case(&stack, false);
        let (service, name) = action.split_once(':').unwrap();
        stack
            .emu
            .inject(&[Fault::error(service, name, code, "injected").times(-1)]);
        let out = up(&stack);
        assert_eq!(
            out.code, 1,
            "{what}: up.sh exit {}:\n{}",
            out.code, out.stderr
        );
        stack.emu.inject(&[]);
        assert!(has(&stack, "vpc"), "{what}: the partial up made nothing");
        down_ok(&stack, &what);
        assert_nothing_left(&stack, &what);
        assert_down_is_a_no_op(&stack, &what);
    }
}

/// A run that must be refused before the first write: exit 2, no mutating call, and an error
/// line that names `names`.
fn assert_refused(stack: &Stack, what: &str, out: &testkit::Output, mark: u64, names: &str) {
    assert_eq!(
        out.code, 2,
        "{what}: exit {} instead of 2:\n{}",
        out.code, out.stderr
    );
    let calls = stack.emu.calls_since(mark);
    assert_eq!(
        calls.mutating(),
        0,
        "{what}: writes before the refusal: {:?}",
        calls.mutating_actions()
    );
    assert!(
        out.stderr.contains(names),
        "{what}: the error does not name {names}:\n{}",
        out.stderr
    );
}

#[test]
fn bad_inputs_are_refused_before_any_write_and_bad_aws_settings_are_exit_2() {
    let stack = Stack::new("bad");
    let cert =
        "arn:aws:acm:us-west-2:123456789012:certificate/00000000-0000-0000-0000-000000000000";
    let password = "Pässwörd-long-enough-1";
    // A fresh account: flags and environment given to up.sh.
    for (what, var, value, names) in [
        (
            "a certificate that does not exist",
            "ALB_ARGS",
            format!("--certificate-arn {cert}"),
            "certificate",
        ),
        (
            "--timeout 0",
            "DB_ARGS",
            "--timeout 0".to_owned(),
            "timeout",
        ),
        (
            "a tag key in AWS's space",
            "CORE_ARGS",
            "--tag aws:owner=me".to_owned(),
            "aws:",
        ),
        (
            "a password Aurora refuses",
            "POSTGRES_PASSWORD",
            password.to_owned(),
            "password",
        ),
        (
            "an unknown profile",
            "AWS_PROFILE",
            "no-such-profile".to_owned(),
            "AWS_PROFILE",
        ),
        (
            "an unknown region",
            "AWS_REGION",
            "us-nowhere-1".to_owned(),
            "AWS_REGION",
        ),
        (
            "a malformed region",
            "AWS_REGION",
            "us west 2".to_owned(),
            "AWS_REGION",
        ),
        (
            "a malformed endpoint",
            "AWS_ENDPOINT_URL",
            "ftp://127.0.0.1:1".to_owned(),
            "AWS_ENDPOINT_URL",
        ),
    ] {
        let mark = stack.emu.mark();
        let out = stack.script("scripts/up.sh").env(var, &value).run();
        assert_refused(&stack, what, &out, mark, names);
        out.assert_never_shows(password);
        assert!(
            everything(&stack.emu).is_empty(),
            "{what}: something was made"
        );
        assert!(!stack.path().exists() || !stack.doc_has("core"), "{what}");
    }
    // The same AWS settings given to a tool as flags: exit 2 naming the flag.
    for (flag, value) in [
        ("--profile", "no-such-profile"),
        ("--region", "us-nowhere-1"),
        ("--endpoint-url", "ftp://127.0.0.1:1"),
    ] {
        let mark = stack.emu.mark();
        let out = stack
            .emu
            .tool("secrets-init")
            .env("GITHUB_TOKEN", &stack.token)
            .args([flag, value])
            .run();
        let line = out.fails(2);
        assert!(line.contains(flag), "{flag}: {line}");
        stack.emu.calls_since(mark).assert_no_mutations();
    }

    // A saved document with values that must not reach AWS: up.sh refuses them before any
    // write, and leaves the stack as it was.
    up_ok(&stack, "up");
    let good: Value = stack.doc();
    let base = counts(&everything(&stack.emu));
    for (what, edit, names) in [
        (
            "a document tag in AWS's space",
            json!({"tags": {"aws:owner": "me"}}),
            "aws:",
        ),
        (
            "alb.container_port 0",
            json!({"alb": {"container_port": 0}}),
            "container_port",
        ),
    ] {
        let mut doc = good.clone();
        merge(&mut doc, &edit);
        stack.save(&doc);
        let mark = stack.emu.mark();
        let out = stack.script("scripts/up.sh").run();
        assert_refused(&stack, what, &out, mark, names);
        assert_eq!(counts(&everything(&stack.emu)), base, "{what}");
    }
    stack.save(&good);

    // db-up (make db) on a document whose VPC is gone, and with its password secret gone.
    let mut phantom = good.clone();
    phantom["core"]["vpc_id"] = json!("vpc-0123456789abcdef0");
    let mark = stack.emu.mark();
    let out = stack.emu.tool("db-up").doc(&phantom).run();
    assert_refused(&stack, "a phantom VPC", &out, mark, "vpc-0123456789abcdef0");
    let sdk = stack.emu.sdk();
    let sm = testkit::secretsmanager::Client::new(&sdk);
    stack
        .emu
        .block_on(
            sm.delete_secret()
                .secret_id(good["secrets"]["db_password"]["arn"].as_str().unwrap())
                .force_delete_without_recovery(true)
                .send(),
        )
        .expect("delete the password secret");
    let mark = stack.emu.mark();
    let out = stack.emu.tool("db-up").doc(&good).run();
    assert_refused(
        &stack,
        "a missing password secret",
        &out,
        mark,
        "postgresdb_passwd",
    );
}

/// `edit`'s keys set into `doc`, recursively.
fn merge(doc: &mut Value, edit: &Value) {
    match (doc, edit) {
        (Value::Object(d), Value::Object(e)) => {
            for (k, v) in e {
                merge(d.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (d, e) => *d = e.clone(),
    }
}
