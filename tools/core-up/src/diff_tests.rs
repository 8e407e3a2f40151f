//! The diff's rules on plain data: what core-up made, changed one way at a time.

use super::*;
use crate::observe::{
    Association, Cluster, Eip, Igw, Namespace, Nat, Network, Route, RouteTable, Vpc,
};
use crate::settings::Settings;
use kit::Action;
use serde_json::json;

const ZONES: [&str; 4] = ["us-west-2a", "us-west-2b", "us-west-2c", "us-west-2d"];

fn settings() -> Settings {
    Settings {
        core: "core-infra".into(),
        cidr: "10.0.0.0/16".parse().unwrap(),
        cidr_given: false,
        azs: 3,
        azs_given: false,
    }
}

fn fresh() -> Observed {
    Observed::empty(settings(), ZONES.iter().map(|z| (*z).to_owned()).collect())
}

fn subnet(tier: Tier, k: usize) -> SubnetFound {
    let (word, third) = match tier {
        Tier::Public => ("public", k),
        Tier::Private => ("private", k + 10),
    };
    SubnetFound {
        id: format!("subnet-{word}{k}"),
        vpc_id: "vpc-1".into(),
        cidr: format!("10.0.{third}.0/24"),
        az: ZONES[k].into(),
        name: format!("core-infra-{word}-{}", ZONES[k]),
        tier: Some(tier),
        owned: true,
    }
}

fn table(tier: Tier, target: &str) -> RouteTable {
    RouteTable {
        id: format!("rtb-{}", tier.word()),
        vpc_id: "vpc-1".into(),
        name: format!("core-infra-{}", tier.word()),
        owned: true,
        routes: vec![
            Route {
                destination: "10.0.0.0/16".into(),
                target: "local".into(),
                state: "active".into(),
            },
            Route {
                destination: "0.0.0.0/0".into(),
                target: target.into(),
                state: "active".into(),
            },
        ],
        associations: (0..3)
            .map(|k| Association {
                id: format!("rtbassoc-{}{k}", tier.word()),
                subnet_id: Some(subnet(tier, k).id),
                main: false,
            })
            .collect(),
    }
}

fn nat(id: &str, state: &str, eip: &str) -> Nat {
    Nat {
        id: id.into(),
        vpc_id: "vpc-1".into(),
        name: "core-infra-nat".into(),
        state: state.into(),
        subnet_id: "subnet-public0".into(),
        allocation_ids: vec![eip.into()],
        eni_ids: vec![format!("eni-{id}")],
        owned: true,
    }
}

fn eip(id: &str, associated: bool) -> Eip {
    Eip {
        allocation_id: id.into(),
        association_id: associated.then(|| format!("eipassoc-{id}")),
        public_ip: "198.51.100.7".into(),
        owned: true,
    }
}

/// A core-infra as core-up leaves it.
fn built() -> Observed {
    let mut now = fresh();
    now.vpc = Some(Vpc {
        id: "vpc-1".into(),
        cidr: "10.0.0.0/16".into(),
        owned: true,
    });
    now.subnets = Tier::BOTH
        .into_iter()
        .flat_map(|t| (0..3).map(move |k| subnet(t, k)))
        .collect();
    now.igws = vec![Igw {
        id: "igw-1".into(),
        owned: true,
        attached_to: vec!["vpc-1".into()],
    }];
    now.eips = vec![eip("eipalloc-1", true)];
    now.nats = vec![nat("nat-1", "available", "eipalloc-1")];
    now.route_tables = vec![table(Tier::Public, "igw-1"), table(Tier::Private, "nat-1")];
    now.dns_hostnames = Some(true);
    now.cluster = Some(Cluster {
        name: "core-infra".into(),
        arn: "arn:aws:ecs:us-west-2:123456789012:cluster/core-infra".into(),
        owned: true,
        capacity_providers: vec!["FARGATE".into(), "FARGATE_SPOT".into()],
        has_default_strategy: true,
        insights: "enabled".into(),
    });
    now.namespace = Some(Namespace {
        id: "ns-1".into(),
        arn: "arn:aws:servicediscovery:us-west-2:123456789012:namespace/ns-1".into(),
        name: "default.core-infra.local".into(),
        owned: true,
    });
    now
}

/// The plan's changes other than "unchanged": (action, resource, op).
fn changes(now: &Observed) -> Vec<(&'static str, String, Op)> {
    diff(now)
        .unwrap()
        .changes
        .into_iter()
        .filter(|c| c.action != Action::Unchanged)
        .map(|c| (c.action.word(), c.resource, c.op))
        .collect()
}

#[test]
fn a_fresh_account_plans_every_create() {
    let plan = diff(&fresh()).unwrap();
    let s = plan.summary();
    assert_eq!((s.create, s.update, s.delete, s.unchanged), (23, 0, 0, 0));
    assert_eq!(plan.changes[0].resource, "VPC core-infra (10.0.0.0/16)");
    let subnets = plan
        .changes
        .iter()
        .filter(|c| matches!(c.op, Op::CreateSubnet(..)))
        .count();
    assert_eq!(subnets, 6);
}

#[test]
fn a_rerun_on_what_core_up_made_changes_nothing() {
    let plan = diff(&built()).unwrap();
    assert!(!plan.has_work(), "{:?}", plan.lines());
    assert_eq!(plan.summary().unchanged, 21);
    // A NAT gateway still pending (a run with --no-wait) is waited for, not replaced, even
    // while its route shows as a blackhole.
    let mut pending = built();
    pending.nats[0].state = "pending".into();
    pending.route_tables[1].routes[1].state = "blackhole".into();
    assert!(changes(&pending).is_empty());
}

#[test]
fn each_drift_plans_its_own_correction() {
    type Drift = fn(&mut Observed);
    /// (what it plans, the resource, the op)
    type Wanted = Vec<(&'static str, &'static str, Op)>;
    let cases: Vec<(&str, Drift, Wanted)> = vec![
        (
            "DNS hostnames turned off",
            |n| n.dns_hostnames = Some(false),
            vec![("update", "DNS hostnames", Op::EnableDnsHostnames)],
        ),
        (
            "private default route deleted",
            |n| {
                n.route_tables[1].routes.pop();
            },
            vec![(
                "create",
                "route 0.0.0.0/0 → NAT gateway",
                Op::CreateRoute(Tier::Private),
            )],
        ),
        (
            "public route pointed elsewhere",
            |n| n.route_tables[0].routes[1].target = "igw-other".into(),
            vec![(
                "update",
                "route 0.0.0.0/0 → internet gateway",
                Op::ReplaceRoute(Tier::Public),
            )],
        ),
        (
            "private route a blackhole (its gateway deleted)",
            |n| n.route_tables[1].routes[1].state = "blackhole".into(),
            vec![(
                "update",
                "NAT gateway in core-infra-private",
                Op::ReplaceRoute(Tier::Private),
            )],
        ),
        (
            "a subnet moved to another table",
            |n| {
                let a = n.route_tables[1].associations.remove(2);
                n.route_tables.push(RouteTable {
                    id: "rtb-other".into(),
                    name: "other".into(),
                    owned: false,
                    associations: vec![a],
                    ..n.route_tables[0].clone()
                });
            },
            vec![(
                "update",
                "association core-infra-private-us-west-2c",
                Op::ReplaceAssociation(Tier::Private, 2, "rtbassoc-private2".into()),
            )],
        ),
        (
            "a subnet deleted",
            |n| {
                n.subnets.retain(|s| s.id != "subnet-public1");
                n.route_tables[0].associations.remove(1);
            },
            vec![
                (
                    "create",
                    "subnet core-infra-public-us-west-2b (10.0.1.0/24",
                    Op::CreateSubnet(Tier::Public, 1),
                ),
                (
                    "create",
                    "association core-infra-public-us-west-2b",
                    Op::Associate(Tier::Public, 1),
                ),
            ],
        ),
        (
            "the internet gateway detached",
            |n| n.igws[0].attached_to.clear(),
            vec![(
                "create",
                "internet gateway core-infra attachment",
                Op::AttachIgw,
            )],
        ),
        (
            "the NAT gateway deleted, its address kept",
            |n| {
                n.nats.clear();
                n.eips[0].association_id = None;
            },
            vec![
                (
                    "create",
                    "NAT gateway core-infra-nat (in core-infra-public-us-west-2a)",
                    Op::CreateNat,
                ),
                (
                    "update",
                    "NAT gateway in core-infra-private",
                    Op::ReplaceRoute(Tier::Private),
                ),
            ],
        ),
        (
            "Container Insights turned off",
            |n| n.cluster.as_mut().unwrap().insights = "disabled".into(),
            vec![(
                "update",
                "ECS cluster core-infra settings",
                Op::EnableInsights,
            )],
        ),
        (
            "FARGATE_SPOT removed",
            |n| n.cluster.as_mut().unwrap().capacity_providers = vec!["FARGATE".into()],
            vec![(
                "update",
                "ECS cluster core-infra capacity providers",
                Op::PutCapacityProviders(vec!["FARGATE".into(), "FARGATE_SPOT".into()]),
            )],
        ),
        (
            "the namespace deleted",
            |n| n.namespace = None,
            vec![(
                "create",
                "Cloud Map namespace default.core-infra.local",
                Op::CreateNamespace,
            )],
        ),
    ];
    for (name, drift, expected) in cases {
        let mut now = built();
        drift(&mut now);
        let got = changes(&now);
        assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
        for ((action, resource, op), (want_action, want_resource, want_op)) in
            got.iter().zip(&expected)
        {
            assert_eq!(action, want_action, "{name}: {resource}");
            assert!(resource.contains(want_resource), "{name}: {resource}");
            assert_eq!(op, want_op, "{name}: {resource}");
        }
    }
}

#[test]
fn duplicates_of_its_own_are_deleted_keeping_the_one_in_use() {
    type Dup = fn(&mut Observed);
    /// (the resource deleted, the op)
    type Wanted = Vec<(&'static str, Op)>;
    let cases: Vec<(&str, Dup, Wanted)> = vec![
        (
            "a second VPC (a lost CreateVpc answer)",
            |n| {
                n.extra_vpcs.push(Network {
                    vpc: Vpc {
                        id: "vpc-2".into(),
                        cidr: "10.0.0.0/16".into(),
                        owned: true,
                    },
                    subnets: Vec::new(),
                    route_tables: Vec::new(),
                    nats: Vec::new(),
                })
            },
            vec![(
                "duplicate VPC core-infra vpc-2 (keeping vpc-1)",
                Op::DeleteExtraVpc("vpc-2".into()),
            )],
        ),
        (
            "a gateway attached nowhere",
            |n| {
                n.igws.push(Igw {
                    id: "igw-2".into(),
                    owned: true,
                    attached_to: Vec::new(),
                })
            },
            vec![(
                "spare internet gateway core-infra igw-2",
                Op::DeleteSpareIgw("igw-2".into()),
            )],
        ),
        (
            "a free address beside the NAT's",
            |n| n.eips.push(eip("eipalloc-2", false)),
            vec![(
                "spare Elastic IP core-infra-nat eipalloc-2",
                Op::ReleaseSpareEip("eipalloc-2".into()),
            )],
        ),
        (
            "a second NAT gateway the route does not use",
            |n| {
                n.eips.push(eip("eipalloc-2", true));
                n.nats.push(nat("nat-0", "available", "eipalloc-2"));
            },
            vec![(
                "duplicate NAT gateway core-infra-nat nat-0 (keeping nat-1)",
                Op::DeleteExtraNat("nat-0".into()),
            )],
        ),
        (
            "a second public route table serving no subnet",
            |n| {
                let mut extra = table(Tier::Public, "igw-1");
                extra.id = "rtb-0".into();
                extra.associations.clear();
                n.route_tables.push(extra);
            },
            vec![(
                "duplicate route table core-infra-public rtb-0 (keeping rtb-public)",
                Op::DeleteExtraTable("rtb-0".into()),
            )],
        ),
    ];
    for (name, dup, expected) in cases {
        let mut now = built();
        dup(&mut now);
        let got = changes(&now);
        let got: Vec<(&str, Op)> = got
            .iter()
            .map(|(a, r, o)| {
                assert_eq!(*a, "delete", "{name}: {r}");
                (r.as_str(), o.clone())
            })
            .collect();
        assert_eq!(got.len(), expected.len(), "{name}: {got:?}");
        for ((r, o), (want_r, want_o)) in got.iter().zip(&expected) {
            assert!(r.contains(want_r), "{name}: {r}");
            assert_eq!(o, want_o, "{name}");
        }
    }
}

#[test]
fn what_others_own_is_never_deleted() {
    let mut now = built();
    now.igws.push(Igw {
        id: "igw-theirs".into(),
        owned: false,
        attached_to: Vec::new(),
    });
    now.eips.push(Eip {
        owned: false,
        ..eip("eipalloc-theirs", false)
    });
    let mut theirs = table(Tier::Public, "igw-1");
    theirs.id = "rtb-theirs".into();
    theirs.owned = false;
    theirs.associations.clear();
    now.route_tables.push(theirs);
    assert!(changes(&now).is_empty(), "{:?}", changes(&now));
}

#[test]
fn a_spare_address_is_used_for_a_new_nat_gateway_before_any_is_allocated() {
    let mut now = built();
    now.nats.clear();
    now.eips = vec![eip("eipalloc-b", false), eip("eipalloc-a", false)];
    let got = changes(&now);
    assert!(got.iter().all(|(_, _, o)| *o != Op::AllocateEip), "{got:?}");
    assert!(
        got.iter()
            .any(|(_, _, o)| *o == Op::ReleaseSpareEip("eipalloc-b".into()))
    );
    assert_eq!(now.free_eip().unwrap().allocation_id, "eipalloc-a");
}

#[test]
fn someone_elses_core_infra_is_reused_as_it_is() {
    let mut now = built();
    now.vpc.as_mut().unwrap().owned = false;
    now.vpc.as_mut().unwrap().cidr = "172.31.0.0/16".into();
    for s in &mut now.subnets {
        s.owned = false;
        s.cidr = s.cidr.replace("10.0.", "172.31.");
    }
    now.nats.clear();
    now.route_tables.clear();
    now.igws.clear();
    now.eips.clear();
    now.dns_hostnames = None;
    now.cluster.as_mut().unwrap().owned = false;
    now.namespace.as_mut().unwrap().owned = false;
    assert!(changes(&now).is_empty(), "{:?}", changes(&now));
    let section = planned(&now).unwrap();
    assert!(!section.created);
    assert_eq!(section.vpc_cidr, "172.31.0.0/16");
    assert_eq!(section.public_subnets[0].id, "subnet-public0");
    // Its CIDR and zones are not core-up's to record; a --cidr given is not kept.
    let mut parsed = Map::new();
    parsed.insert("cidr".into(), json!("10.9.0.0/16"));
    assert_eq!(
        Value::Object(recorded(&now, &parsed)),
        json!({"core-name": "core-infra"})
    );
    // Without subnets named for the tiers it cannot be used.
    now.subnets.retain(|s| s.tier == Some(Tier::Public));
    let e = diff(&now).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message.contains("no private subnets"), "{}", e.message);
}

#[test]
fn several_vpcs_of_the_name_none_of_them_core_ups_are_refused() {
    let mut now = fresh();
    now.ambiguous = vec!["vpc-a".into(), "vpc-b".into()];
    let e = diff(&now).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(
        e.message
            .contains("2 VPCs are named core-infra (vpc-a, vpc-b)"),
        "{}",
        e.message
    );
}

#[test]
fn zones_follow_azs_and_the_region() {
    // The default is trimmed to what the region has.
    let mut now = fresh();
    now.zones.truncate(2);
    assert_eq!(want_subnets(&now).unwrap().len(), 4);
    // Asked for more than there are: refused.
    let mut now = fresh();
    now.settings.azs = 5;
    now.settings.azs_given = true;
    let e = want_subnets(&now).unwrap_err();
    assert!(e.message.contains("only 4 available"), "{}", e.message);
    // A region with one zone cannot hold a core-infra.
    let mut now = fresh();
    now.zones.truncate(1);
    assert_eq!(want_subnets(&now).unwrap_err().exit_code(), 2);
}

#[test]
fn a_cidr_other_than_the_vpcs_own_is_refused() {
    let mut now = built();
    now.settings.cidr = "10.9.0.0/16".parse().unwrap();
    now.settings.cidr_given = true;
    let e = diff(&now).unwrap_err();
    assert_eq!(e.exit_code(), 2);
    assert!(e.message.contains("10.0.0.0/16"), "{}", e.message);
}

#[test]
fn recorded_settings_are_the_ones_in_effect() {
    let parsed = Map::new();
    assert_eq!(
        Value::Object(recorded(&fresh(), &parsed)),
        json!({"core-name": "core-infra", "cidr": "10.0.0.0/16", "azs": "3"})
    );
    let mut two_zones = built();
    two_zones.zones.truncate(2);
    assert_eq!(recorded(&two_zones, &parsed)["azs"], json!("2"));
}

#[test]
fn the_planned_section_has_real_ids_where_things_exist() {
    let fresh_section = planned(&fresh()).unwrap();
    assert_eq!(fresh_section.vpc_id, PLANNED);
    assert_eq!(fresh_section.private_subnets[2].cidr, "10.0.12.0/24");
    assert_eq!(fresh_section.private_subnets[2].id, PLANNED);
    let section = planned(&built()).unwrap();
    assert_eq!(section.vpc_id, "vpc-1");
    assert!(section.created);
    assert_eq!(section.namespace_id, "ns-1");
    let ids: Vec<&str> = section.subnets().map(|s| s.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "subnet-public0",
            "subnet-public1",
            "subnet-public2",
            "subnet-private0",
            "subnet-private1",
            "subnet-private2"
        ]
    );
}
