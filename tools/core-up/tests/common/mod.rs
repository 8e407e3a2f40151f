//! What core-up's tests share: independent describes of what exists, and a tool process that
//! can be killed mid-run (testkit's Tool waits for the end).

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};

use testkit::ec2::types::Filter;
use testkit::{Emulator, Fault, FaultKind, Holds, ec2};

/// NAT gateways and namespace operations take a moment, as on AWS, so the waits are exercised.
pub fn emulator() -> Emulator {
    let emu = Emulator::start();
    emu.hold(Holds {
        nat_gateway_s: Some(0.4),
        namespace_s: Some(0.3),
        ..Holds::default()
    });
    emu
}

/// A lost answer: AWS applies the call, and the caller gets a 503 instead of its answer (the
/// SDK's retry, where there is one, then sends it again).
pub fn lost(service: &str, action: &str) -> Fault {
    Fault {
        service: service.into(),
        action: action.into(),
        kind: FaultKind::Error {
            code: "ServiceUnavailable".into(),
            message: "the answer was lost (injected)".into(),
            status: "503 Service Unavailable".into(),
            forward: true,
        },
        times: 1,
    }
}

/// AWS applies the call and answers `code`: what a retried call whose first answer was lost
/// is told ("already associated", "not found" on a delete).
pub fn already_done(service: &str, action: &str, code: &str) -> Fault {
    Fault::error(service, action, code, "already done (injected)").forwarded()
}

/// (VPCs, subnets, gateways, NAT gateways, addresses, route tables) carrying core-up's tags.
pub fn counts(emu: &Emulator, app: &str) -> (usize, usize, usize, usize, usize, usize) {
    let t = tagged(emu, app);
    (
        t.vpcs.len(),
        t.subnets.len(),
        t.igws.len(),
        t.nats.len(),
        t.eips.len(),
        t.route_tables.len(),
    )
}

/// Exactly one core-infra of the seed's shape.
pub const ONE_OF_EACH: (usize, usize, usize, usize, usize, usize) = (1, 6, 1, 1, 1, 2);

/// core-up as a child process aimed at `emu`, with the same clean environment testkit gives
/// its tools, stdin closed (a new document).
pub fn spawn(emu: &Emulator, args: &[&str]) -> Child {
    let mut cmd = Command::new(testkit::tool_path("core-up"));
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("AWS_") || key.starts_with("STAGEHAND_") {
            cmd.env_remove(&key);
        }
    }
    cmd.env("AWS_ENDPOINT_URL", &emu.url)
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", testkit::REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn core-up")
}

pub fn filter(name: &str, values: &[&str]) -> Filter {
    let mut f = Filter::builder().name(name);
    for v in values {
        f = f.values(*v);
    }
    f.build()
}

/// Everything EC2 has that carries core-up's tags for `app`, by kind (NAT gateways that are
/// deleted excluded).
#[derive(Debug, Default)]
pub struct Tagged {
    pub vpcs: Vec<String>,
    pub subnets: Vec<String>,
    pub igws: Vec<String>,
    pub nats: Vec<String>,
    pub eips: Vec<String>,
    pub route_tables: Vec<String>,
}

impl Tagged {
    pub fn is_empty(&self) -> bool {
        self.vpcs.is_empty()
            && self.subnets.is_empty()
            && self.igws.is_empty()
            && self.nats.is_empty()
            && self.eips.is_empty()
            && self.route_tables.is_empty()
    }
}

pub fn tagged(emu: &Emulator, app: &str) -> Tagged {
    let c = ec2::Client::new(&emu.sdk());
    let tags = || {
        vec![
            filter("tag:stagehand:app", &[app]),
            filter("tag:stagehand:step", &["core"]),
        ]
    };
    emu.block_on(async {
        let vpcs = c
            .describe_vpcs()
            .set_filters(Some(tags()))
            .send()
            .await
            .unwrap();
        let subnets = c
            .describe_subnets()
            .set_filters(Some(tags()))
            .send()
            .await
            .unwrap();
        let igws = c
            .describe_internet_gateways()
            .set_filters(Some(tags()))
            .send()
            .await
            .unwrap();
        let nats = c
            .describe_nat_gateways()
            .set_filter(Some(tags()))
            .send()
            .await
            .unwrap();
        let eips = c
            .describe_addresses()
            .set_filters(Some(tags()))
            .send()
            .await
            .unwrap();
        let rts = c
            .describe_route_tables()
            .set_filters(Some(tags()))
            .send()
            .await
            .unwrap();
        Tagged {
            vpcs: vpcs
                .vpcs()
                .iter()
                .map(|v| v.vpc_id().unwrap().to_owned())
                .collect(),
            subnets: subnets
                .subnets()
                .iter()
                .map(|s| s.subnet_id().unwrap().to_owned())
                .collect(),
            igws: igws
                .internet_gateways()
                .iter()
                .map(|g| g.internet_gateway_id().unwrap().to_owned())
                .collect(),
            nats: nats
                .nat_gateways()
                .iter()
                .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
                .map(|n| n.nat_gateway_id().unwrap().to_owned())
                .collect(),
            eips: eips
                .addresses()
                .iter()
                .map(|a| a.allocation_id().unwrap().to_owned())
                .collect(),
            route_tables: rts
                .route_tables()
                .iter()
                .map(|t| t.route_table_id().unwrap().to_owned())
                .collect(),
        }
    })
}

/// The ECS cluster's status, if ECS knows it.
pub fn cluster_status(emu: &Emulator, name: &str) -> Option<String> {
    let c = testkit::ecs::Client::new(&emu.sdk());
    let out = emu
        .block_on(c.describe_clusters().clusters(name).send())
        .unwrap();
    out.clusters()
        .first()
        .and_then(|c| c.status())
        .map(str::to_owned)
}

/// The namespaces of that name.
pub fn namespaces(emu: &Emulator, name: &str) -> Vec<String> {
    let c = testkit::servicediscovery::Client::new(&emu.sdk());
    let out = emu.block_on(c.list_namespaces().send()).unwrap();
    out.namespaces()
        .iter()
        .filter(|n| n.name() == Some(name))
        .map(|n| n.id().unwrap().to_owned())
        .collect()
}
