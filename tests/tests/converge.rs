//! Issue 16's acceptance through the whole chain: `scripts/up.sh` and `scripts/down.sh` as
//! processes on the emulator, under lost responses (a sweep over every mutating action the
//! chain makes), seeded mixed faults, SIGKILL at named points, repeated and partial teardowns,
//! and bad inputs. What exists is counted by independent SDK calls (`inventory`), never from
//! the tools' own output. One emulator serves many cases (reset between them).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use testkit::{Emulator, Fault, Value, json};

const TOKEN: &str = "ghp_ConvergeToken00000000000000000000000";

struct Stack {
    emu: Emulator,
    dir: PathBuf,
}

impl Stack {
    fn new(name: &str) -> Stack {
        let dir =
            std::env::temp_dir().join(format!("stagehand-converge-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Stack {
            emu: Emulator::start(),
            dir,
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("stack.json")
    }

    fn doc(&self) -> Value {
        serde_json::from_str(&std::fs::read_to_string(self.path()).unwrap()).unwrap()
    }

    fn doc_has(&self, section: &str) -> bool {
        self.path().exists() && self.doc().get(section).is_some()
    }

    fn save(&self, doc: &Value) {
        std::fs::write(self.path(), doc.to_string()).unwrap();
    }

    /// A fresh account and no document: the next case starts from nothing.
    fn reset(&self) {
        self.emu.inject(&[]);
        self.emu.reset();
        let _ = std::fs::remove_file(self.path());
    }

    fn script(&self, path: &str) -> testkit::Tool {
        self.emu
            .script(path)
            .env("STACK", self.path())
            .env("GITHUB_TOKEN", TOKEN)
            .env("REPO_OWNER", "example-org")
            .env("REPO_NAME", "backstage-app")
    }

    fn up(&self) -> testkit::Output {
        let out = self.script("scripts/up.sh").run();
        out.assert_never_shows(TOKEN);
        out
    }

    /// down.sh as a user tearing everything down (the logs too).
    fn down_cmd(&self) -> testkit::Tool {
        self.script("scripts/down.sh")
            .env("SVC_ARGS", "--delete-logs")
            .env("PIPELINE_ARGS", "--delete-logs")
    }

    fn down(&self) -> testkit::Output {
        self.down_cmd().run()
    }

    fn up_ok(&self, what: &str) {
        let out = self.up();
        assert_eq!(out.code, 0, "{what}: up.sh failed:\n{}", out.stderr);
    }

    fn down_ok(&self, what: &str) {
        let out = self.down();
        assert_eq!(out.code, 0, "{what}: down.sh failed:\n{}", out.stderr);
    }

    /// A rerun without faults changes nothing.
    fn assert_up_is_a_no_op(&self, what: &str) {
        let mark = self.emu.mark();
        self.up_ok(&format!("{what}, fault-free rerun"));
        let calls = self.emu.calls_since(mark);
        assert_eq!(
            calls.mutating(),
            0,
            "{what}: a fault-free rerun of up.sh wrote: {:?}",
            calls.mutating_actions()
        );
    }

    fn assert_down_is_a_no_op(&self, what: &str) {
        let mark = self.emu.mark();
        self.down_ok(&format!("{what}, second down.sh"));
        let calls = self.emu.calls_since(mark);
        assert_eq!(
            calls.mutating(),
            0,
            "{what}: down.sh on a stack that is down wrote: {:?}",
            calls.mutating_actions()
        );
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What exists in the account, by kind, found with independent SDK calls. The emulator holds
/// only this stack, so everything counts except what AWS provides by default (the default VPC
/// and what is in it, each VPC's default security group and main route table, service-linked
/// roles), secrets scheduled for deletion and snapshots (both kept by design).
fn inventory(emu: &Emulator) -> BTreeMap<&'static str, Vec<String>> {
    let sdk = emu.sdk();
    let mut inv: BTreeMap<&'static str, Vec<String>> = BTreeMap::new();
    emu.block_on(async {
        let ec2 = testkit::ec2::Client::new(&sdk);
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        let default_vpcs: Vec<String> = vpcs
            .vpcs()
            .iter()
            .filter(|v| v.is_default() == Some(true))
            .filter_map(|v| v.vpc_id().map(str::to_owned))
            .collect();
        let ours = |vpc: Option<&str>| !default_vpcs.iter().any(|d| Some(d.as_str()) == vpc);
        let mut add = |kind: &'static str, id: Option<&str>| {
            inv.entry(kind)
                .or_default()
                .push(id.unwrap_or("?").to_owned());
        };
        for v in vpcs.vpcs() {
            if v.is_default() != Some(true) {
                add("vpc", v.vpc_id());
            }
        }
        for s in ec2.describe_subnets().send().await.unwrap().subnets() {
            if ours(s.vpc_id()) {
                add("subnet", s.subnet_id());
            }
        }
        for g in ec2
            .describe_internet_gateways()
            .send()
            .await
            .unwrap()
            .internet_gateways()
        {
            if g.attachments().iter().all(|a| ours(a.vpc_id())) {
                add("internet gateway", g.internet_gateway_id());
            }
        }
        for a in ec2.describe_addresses().send().await.unwrap().addresses() {
            add("elastic ip", a.allocation_id());
        }
        for n in ec2
            .describe_nat_gateways()
            .send()
            .await
            .unwrap()
            .nat_gateways()
        {
            if n.state().map(|s| s.as_str()) != Some("deleted") {
                add("nat gateway", n.nat_gateway_id());
            }
        }
        for r in ec2
            .describe_route_tables()
            .send()
            .await
            .unwrap()
            .route_tables()
        {
            let main = r.associations().iter().any(|a| a.main() == Some(true));
            if ours(r.vpc_id()) && !main {
                add("route table", r.route_table_id());
            }
        }
        for g in ec2
            .describe_security_groups()
            .send()
            .await
            .unwrap()
            .security_groups()
        {
            if ours(g.vpc_id()) && g.group_name() != Some("default") {
                add("security group", g.group_id());
            }
        }

        let ecs = testkit::ecs::Client::new(&sdk);
        let clusters = ecs.list_clusters().send().await.unwrap();
        if !clusters.cluster_arns().is_empty() {
            let described = ecs
                .describe_clusters()
                .set_clusters(Some(clusters.cluster_arns().to_vec()))
                .send()
                .await
                .unwrap();
            for c in described.clusters() {
                if c.status() != Some("ACTIVE") {
                    continue;
                }
                add("ecs cluster", c.cluster_name());
                let services = ecs
                    .list_services()
                    .cluster(c.cluster_arn().unwrap())
                    .send()
                    .await
                    .unwrap();
                if services.service_arns().is_empty() {
                    continue;
                }
                let described = ecs
                    .describe_services()
                    .cluster(c.cluster_arn().unwrap())
                    .set_services(Some(services.service_arns().to_vec()))
                    .send()
                    .await
                    .unwrap();
                for s in described.services() {
                    if s.status() != Some("INACTIVE") {
                        add("ecs service", s.service_arn());
                    }
                }
            }
        }
        let sd = testkit::servicediscovery::Client::new(&sdk);
        for n in sd.list_namespaces().send().await.unwrap().namespaces() {
            add("cloud map namespace", n.id());
        }
        for s in sd.list_services().send().await.unwrap().services() {
            add("cloud map service", s.id());
        }

        let rds = testkit::rds::Client::new(&sdk);
        for c in rds
            .describe_db_clusters()
            .send()
            .await
            .unwrap()
            .db_clusters()
        {
            add("db cluster", c.db_cluster_identifier());
        }
        for i in rds
            .describe_db_instances()
            .send()
            .await
            .unwrap()
            .db_instances()
        {
            add("db instance", i.db_instance_identifier());
        }
        for g in rds
            .describe_db_subnet_groups()
            .send()
            .await
            .unwrap()
            .db_subnet_groups()
        {
            add("db subnet group", g.db_subnet_group_name());
        }
        let ssm = testkit::ssm::Client::new(&sdk);
        for p in ssm.describe_parameters().send().await.unwrap().parameters() {
            add("ssm parameter", p.name());
        }

        let elb = testkit::elbv2::Client::new(&sdk);
        for lb in elb
            .describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancers()
        {
            add("load balancer", lb.load_balancer_arn());
            for l in elb
                .describe_listeners()
                .load_balancer_arn(lb.load_balancer_arn().unwrap())
                .send()
                .await
                .unwrap()
                .listeners()
            {
                add("listener", l.listener_arn());
            }
        }
        for tg in elb
            .describe_target_groups()
            .send()
            .await
            .unwrap()
            .target_groups()
        {
            add("target group", tg.target_group_arn());
        }

        let ecr = testkit::ecr::Client::new(&sdk);
        for r in ecr
            .describe_repositories()
            .send()
            .await
            .unwrap()
            .repositories()
        {
            add("ecr repository", r.repository_name());
        }
        let logs = testkit::logs::Client::new(&sdk);
        for g in logs
            .describe_log_groups()
            .send()
            .await
            .unwrap()
            .log_groups()
        {
            // CodeBuild makes its builds' group itself (AWS does the same); stagehand never
            // created it.
            if !g
                .log_group_name()
                .unwrap_or_default()
                .starts_with("/aws/codebuild/")
            {
                add("log group", g.log_group_name());
            }
        }
        let iam = testkit::iam::Client::new(&sdk);
        for r in iam.list_roles().send().await.unwrap().roles() {
            if !r.path().starts_with("/aws-service-role/") {
                add("iam role", Some(r.role_name()));
            }
        }
        let sm = testkit::secretsmanager::Client::new(&sdk);
        for s in sm.list_secrets().send().await.unwrap().secret_list() {
            if s.deleted_date().is_none() {
                add("secret", s.name());
            }
        }

        let s3 = testkit::s3::Client::from_conf(
            testkit::s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            add("bucket", b.name());
        }
        let sns = testkit::sns::Client::new(&sdk);
        for t in sns.list_topics().send().await.unwrap().topics() {
            add("sns topic", t.topic_arn());
        }
        let cb = testkit::codebuild::Client::new(&sdk);
        for p in cb.list_projects().send().await.unwrap().projects() {
            add("codebuild project", Some(p));
        }
        let cp = testkit::codepipeline::Client::new(&sdk);
        for p in cp.list_pipelines().send().await.unwrap().pipelines() {
            add("pipeline", p.name());
        }
        let cs = testkit::codestar::Client::new(&sdk);
        for r in cs
            .list_notification_rules()
            .send()
            .await
            .unwrap()
            .notification_rules()
        {
            add("notification rule", r.arn());
        }
    });
    inv
}

fn counts(inv: &BTreeMap<&'static str, Vec<String>>) -> BTreeMap<&'static str, usize> {
    inv.iter().map(|(k, v)| (*k, v.len())).collect()
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
    let base = counts(&inventory(&stack.emu));
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
    let inv = inventory(&stack.emu);
    assert_eq!(
        &counts(&inv),
        base,
        "{what}: the stack differs from a fault-free one:\n{inv:#?}"
    );
}

fn assert_nothing_left(stack: &Stack, what: &str) {
    let inv = inventory(&stack.emu);
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

/// The mutating actions of a fault-free up.sh and down.sh, in the order they were first made.
fn chain_actions(stack: &Stack) -> (Vec<String>, Vec<String>, BTreeMap<&'static str, usize>) {
    let first_seen = |calls: &testkit::Calls| {
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
    };
    let mark = stack.emu.mark();
    stack.up_ok("fault-free up");
    let up = first_seen(&stack.emu.calls_since(mark));
    let base = baseline(stack);
    let mark = stack.emu.mark();
    stack.down_ok("fault-free down");
    let down = first_seen(&stack.emu.calls_since(mark));
    assert_nothing_left(stack, "fault-free down");
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
    let first = stack.up();
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
        stack.up_ok(&format!("{what}, the one rerun"));
    }
    assert_same_as(stack, base, &what);
    stack.assert_up_is_a_no_op(&what);
}

/// The same on down.sh: nothing is left after at most one rerun, and another down writes
/// nothing.
fn lost_on_down(stack: &Stack, action: &str) {
    let what = format!("lost answer to {action} on down");
    stack.emu.inject(&[lost(action)]);
    let mark = stack.emu.mark();
    let first = stack.down();
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
        stack.down_ok(&format!("{what}, the one rerun"));
    }
    assert_nothing_left(stack, &what);
    stack.assert_down_is_a_no_op(&what);
}

/// The sweep, shard `shard` of `shards` (nextest runs the shards side by side): each round
/// resets the account, runs one up case (or a fault-free up) and one down case.
fn lost_response_sweep(name: &str, shard: usize, shards: usize) {
    let stack = Stack::new(name);
    let (up, down, base) = chain_actions(&stack);
    let mine = |list: &[String]| -> Vec<String> {
        list.iter()
            .enumerate()
            .filter(|(i, _)| i % shards == shard)
            .map(|(_, a)| a.clone())
            .collect()
    };
    let (up, down) = (mine(&up), mine(&down));
    for round in 0..up.len().max(down.len()) {
        stack.reset();
        match up.get(round) {
            Some(action) => lost_on_up(&stack, action, &base),
            None => stack.up_ok("fault-free up"),
        }
        match down.get(round) {
            Some(action) => lost_on_down(&stack, action),
            None => {
                stack.down_ok("fault-free down");
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

fn mixed_fault_seeds(name: &str, seeds: &[u64]) {
    let stack = Stack::new(name);
    let mark = stack.emu.mark();
    stack.up_ok("fault-free up");
    let up_calls = stack.emu.calls_since(mark);
    let base = baseline(&stack);
    let mark = stack.emu.mark();
    stack.down_ok("fault-free down");
    let down_calls = stack.emu.calls_since(mark);
    for &seed in seeds {
        let what = format!("seed {seed}");
        stack.reset();
        let faults = mixed_faults(seed, &up_calls);
        assert!(
            faults.iter().any(|f| f.kind == testkit::FaultKind::Lost),
            "{what}: {faults:?}"
        );
        stack.emu.inject(&faults);
        // Faults on the SDK's eighth attempt are possible: a failed run is rerun (twice at
        // most), as a user would.
        under_faults(3, || stack.up(), &format!("{what}, up.sh"));
        stack.emu.inject(&[]);
        assert_same_as(&stack, &base, &what);
        stack.assert_up_is_a_no_op(&what);

        stack.emu.inject(&mixed_faults(seed ^ 0xd0d0, &down_calls));
        under_faults(3, || stack.down(), &format!("{what}, down.sh"));
        stack.emu.inject(&[]);
        assert_nothing_left(&stack, &what);
    }
}

#[test]
fn seeded_mixed_faults_at_15_percent_converge_and_down_leaves_nothing_seeds_1_to_3() {
    mixed_fault_seeds("mixed-a", &[1, 2, 3]);
}

#[test]
fn seeded_mixed_faults_at_15_percent_converge_and_down_leaves_nothing_seeds_4_to_6() {
    mixed_fault_seeds("mixed-b", &[4, 5, 6]);
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

fn has(stack: &Stack, kind: &str) -> bool {
    inventory(&stack.emu).contains_key(kind)
}

fn kills_after_creates(name: &str, points: &[(&str, &str)]) {
    let stack = Stack::new(name);
    stack.up_ok("fault-free up");
    let base = baseline(&stack);
    for (action, kind) in points {
        let what = format!("up.sh killed after {action}");
        stack.reset();
        kill_after(&stack, stack.script("scripts/up.sh"), action, || {
            has(&stack, kind)
        });
        stack.up_ok(&format!("{what}, the rerun"));
        assert_same_as(&stack, &base, &what);
        stack.assert_up_is_a_no_op(&what);
        stack.down_ok(&what);
        assert_nothing_left(&stack, &what);
    }
}

#[test]
fn a_sigkill_after_the_network_creates_converges_on_rerun_and_down_finishes() {
    kills_after_creates(
        "kill-net",
        &[
            ("ec2:CreateVpc", "vpc"),
            ("ec2:CreateInternetGateway", "internet gateway"),
            ("ec2:AllocateAddress", "elastic ip"),
            ("ec2:CreateNatGateway", "nat gateway"),
        ],
    );
}

#[test]
fn a_sigkill_after_the_service_creates_converges_on_rerun_and_down_finishes() {
    kills_after_creates(
        "kill-svc",
        &[
            ("rds:CreateDBCluster", "db cluster"),
            ("elasticloadbalancing:CreateLoadBalancer", "load balancer"),
            ("s3:CreateBucket", "bucket"),
            ("ecs:CreateService", "ecs service"),
        ],
    );
}

#[test]
fn a_sigkill_during_down_resumes_and_down_finishes() {
    let stack = Stack::new("kill-down");
    for (action, gone) in [
        ("ecs:DeleteService", "ecs service"),
        ("rds:DeleteDBCluster", "db cluster"),
        ("ec2:DeleteNatGateway", "nat gateway"),
    ] {
        let what = format!("down.sh killed after {action}");
        stack.reset();
        stack.up_ok(&what);
        kill_after(&stack, stack.down_cmd(), action, || !has(&stack, gone));
        stack.down_ok(&format!("{what}, the rerun"));
        assert_nothing_left(&stack, &what);
        stack.assert_down_is_a_no_op(&what);
    }
}

#[test]
fn down_twice_exits_0_both_times_and_down_after_a_partial_up_leaves_nothing() {
    let stack = Stack::new("down-twice");
    stack.up_ok("up");
    stack.down_ok("the first down");
    assert_nothing_left(&stack, "the first down");
    stack.assert_down_is_a_no_op("down twice");

    // A partial up: the database cannot be created, so up.sh stops after core-up and alb-up
    // (svc-up and pipeline-up never run).
    for (action, code) in [
        ("rds:CreateDBCluster", "InsufficientDBInstanceCapacity"),
        ("codepipeline:CreatePipeline", "LimitExceededException"),
    ] {
        let what = format!("down after an up that failed at {action}");
        stack.reset();
        let (service, name) = action.split_once(':').unwrap();
        stack
            .emu
            .inject(&[Fault::error(service, name, code, "injected").times(-1)]);
        let out = stack.up();
        assert_eq!(
            out.code, 1,
            "{what}: up.sh exit {}:\n{}",
            out.code, out.stderr
        );
        stack.emu.inject(&[]);
        assert!(has(&stack, "vpc"), "{what}: the partial up made nothing");
        stack.down_ok(&what);
        assert_nothing_left(&stack, &what);
        stack.assert_down_is_a_no_op(&what);
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
            inventory(&stack.emu).is_empty(),
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
            .env("GITHUB_TOKEN", TOKEN)
            .args([flag, value])
            .run();
        let line = out.fails(2);
        assert!(line.contains(flag), "{flag}: {line}");
        stack.emu.calls_since(mark).assert_no_mutations();
    }

    // A saved document with values that must not reach AWS: up.sh refuses them before any
    // write, and leaves the stack as it was.
    stack.up_ok("up");
    let good: Value = stack.doc();
    let base = counts(&inventory(&stack.emu));
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
        assert_eq!(counts(&inventory(&stack.emu)), base, "{what}");
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
