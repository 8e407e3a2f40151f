//! The drift rules a user relies on, without an emulator: a rerun over what exists changes
//! nothing, each drift field is planned as an update of its resource, each missing resource
//! as a create, a rotated password as an update of the cluster, and every refusal is exit 2.

use std::collections::BTreeMap;

use kit::{Cx, Doc, Plan};
use secret::SecretString;
use security_groups::Group;

use super::*;
use crate::Names;
use crate::engine::{Range, Support};
use crate::observe::{Instance, Network, Param, Password, SubnetGroup, Upstream};
use crate::restore::Snapshot;

const VPC: &str = "vpc-1";
const SUBNETS: [&str; 3] = ["subnet-a", "subnet-b", "subnet-c"];
const SECRET: &str =
    "arn:aws:secretsmanager:us-west-2:123456789012:secret:postgresdb_passwd-AbCdEf";

fn args() -> Args {
    Args {
        cluster_name: None,
        engine_version: "16.6".into(),
        min_acu: 0.5,
        max_acu: 2.0,
        backup_retention_days: 7,
        deletion_protection: false,
        no_deletion_protection: false,
        restore_from_snapshot: None,
        skip_final_snapshot: false,
        force: false,
    }
}

fn cx() -> Cx {
    Cx::for_test("db-up", "db", "unicorn-ui", Doc::new())
}

fn group(id: &str, name: &str, rules: Rules) -> Group {
    Group {
        id: id.into(),
        name: name.into(),
        ingress: rules.ingress,
        egress: rules.egress,
        tags: BTreeMap::new(),
    }
}

/// Everything in place as the defaults ask, the password at version v1.
fn existing() -> Observed {
    let cx = cx();
    let names = Names::new(&cx, &args());
    let cluster = Cluster {
        id: names.cluster.clone(),
        arn: "arn:aws:rds:us-west-2:123456789012:cluster:unicorn-ui-db".into(),
        status: "available".into(),
        endpoint: Some("unicorn-ui-db.cluster-abc.us-west-2.rds.amazonaws.com".into()),
        reader_endpoint: Some("unicorn-ui-db.cluster-ro-abc.us-west-2.rds.amazonaws.com".into()),
        port: 5432,
        engine: ENGINE.into(),
        engine_mode: "provisioned".into(),
        engine_version: "16.6".into(),
        master_user: "postgres".into(),
        min_acu: Some(0.5),
        max_acu: Some(2.0),
        backup_retention_days: 7,
        deletion_protection: false,
        copy_tags_to_snapshot: true,
        storage_encrypted: true,
        security_groups: ["sg-db".to_owned()].into(),
        subnet_group: names.subnet_group.clone(),
        owned: true,
        restored_from: None,
    };
    let values = param_values(Some(&cluster));
    let params = names
        .params
        .iter()
        .zip(values)
        .map(|(name, value)| {
            (
                name.clone(),
                Param {
                    value: value.unwrap(),
                    kind: "String".into(),
                    arn: format!("arn:aws:ssm:us-west-2:123456789012:parameter{name}"),
                },
            )
        })
        .collect();
    Observed {
        instance: Some(Instance {
            id: names.instance.clone(),
            class: INSTANCE_CLASS.into(),
            status: "available".into(),
            cluster: names.cluster.clone(),
            owned: true,
        }),
        subnet_group: Some(SubnetGroup {
            name: names.subnet_group.clone(),
            arn: "arn:aws:rds:us-west-2:123456789012:subgrp:unicorn-ui-db".into(),
            subnets: SUBNETS.iter().map(|s| s.to_string()).collect(),
        }),
        db_sg: Some(group("sg-db", &names.db_sg, db_rules("sg-client"))),
        client_sg: Some(group("sg-client", &names.client_sg, client_rules("sg-db"))),
        params,
        upstream: Upstream {
            vpc_id: Some(VPC.into()),
            private_subnets: SUBNETS.iter().map(|s| s.to_string()).collect(),
            password_secret: Some(SECRET.into()),
        },
        password: Password {
            secret: Some(SECRET.into()),
            current: Some("v1".into()),
            recorded: Some("v1".into()),
            value: None,
        },
        cluster: Some(cluster),
        names,
        engine: None,
        snapshot: None,
        other_cluster: None,
        network: Network::Unchecked,
    }
}

/// A new stack: nothing exists yet; observe read what a create needs.
fn fresh() -> Observed {
    let mut now = existing();
    now.cluster = None;
    now.instance = None;
    now.subnet_group = None;
    now.db_sg = None;
    now.client_sg = None;
    now.params.clear();
    now.password.recorded = None;
    now.password.value = Some((
        SecretString::from("s3cret-Pa55word".to_owned()),
        "v1".into(),
    ));
    now.engine = Some(Support::Found {
        version: "16.6".into(),
        serverless_v2: Some(Range {
            min: Some(0.0),
            max: Some(256.0),
        }),
    });
    now.network = Network::Subnets(
        SUBNETS
            .iter()
            .map(|s| (s.to_string(), VPC.to_owned()))
            .collect(),
    );
    now
}

fn plan(args: &Args, now: &Observed) -> Plan<Op> {
    diff(&cx(), args, now).expect("a plan")
}

/// The plan's one line for `resource` (its prefix).
fn line(plan: &Plan<Op>, resource: &str) -> String {
    let lines: Vec<String> = plan
        .lines()
        .into_iter()
        .filter(|l| l.contains(resource))
        .collect();
    assert_eq!(lines.len(), 1, "{resource} in {:?}", plan.lines());
    lines[0].clone()
}

fn refused(args: &Args, now: &Observed) -> String {
    let e = diff(&cx(), args, now).expect_err("a refusal");
    assert_eq!(e.exit_code(), 2, "{}", e.message);
    e.message
}

#[test]
fn a_rerun_over_what_exists_changes_nothing() {
    let p = plan(&args(), &existing());
    assert!(!p.has_work(), "{:?}", p.lines());
    assert_eq!(p.summary().unchanged, 8);
}

#[test]
fn a_new_stack_creates_every_resource() {
    let p = plan(&args(), &fresh());
    assert_eq!(p.summary().create, 8, "{:?}", p.lines());
    assert!(p.changes.iter().any(|c| c.op == Op::CreateCluster));
    assert!(p.changes.iter().any(|c| c.op == Op::CreateInstance));
    assert!(p.changes.iter().any(|c| c.op == Op::CreateSubnetGroup));
    let params: Vec<&Op> = p
        .changes
        .iter()
        .filter(|c| matches!(c.op, Op::Param { .. }))
        .map(|c| &c.op)
        .collect();
    assert_eq!(params.len(), 3);
}

#[test]
fn each_drift_field_is_an_update_of_its_resource() {
    type Change = fn(&mut Observed);
    let cases: Vec<(&str, Change, &str, &str)> = vec![
        (
            "scaling",
            |n| n.cluster.as_mut().unwrap().max_acu = Some(8.0),
            "Aurora cluster",
            "scaling (ACU): 0.5-8 → 0.5-2",
        ),
        (
            "retention",
            |n| n.cluster.as_mut().unwrap().backup_retention_days = 3,
            "Aurora cluster",
            "backup retention (days): 3 → 7",
        ),
        (
            "protection",
            |n| n.cluster.as_mut().unwrap().deletion_protection = true,
            "Aurora cluster",
            "deletion protection: true → false",
        ),
        (
            "copy tags",
            |n| n.cluster.as_mut().unwrap().copy_tags_to_snapshot = false,
            "Aurora cluster",
            "copy tags to snapshot: false → true",
        ),
        (
            "cluster groups",
            |n| {
                n.cluster.as_mut().unwrap().security_groups = ["sg-other".to_owned()].into();
            },
            "Aurora cluster",
            "security groups: sg-other → sg-db",
        ),
        (
            "subnets",
            |n| {
                n.subnet_group.as_mut().unwrap().subnets = ["subnet-a".to_owned()].into();
            },
            "DB subnet group",
            "subnets: subnet-a → subnet-a,subnet-b,subnet-c",
        ),
        (
            "instance class",
            |n| n.instance.as_mut().unwrap().class = "db.r6g.large".into(),
            "Aurora instance",
            "class: db.r6g.large → db.serverless",
        ),
        (
            "host",
            |n| {
                let host = n.names.params[0].clone();
                n.params.get_mut(&host).unwrap().value = "old.example".into();
            },
            "POSTGRES_HOST",
            "value: old.example → unicorn-ui-db.cluster-abc",
        ),
        (
            "type",
            |n| {
                let port = n.names.params[1].clone();
                n.params.get_mut(&port).unwrap().kind = "SecureString".into();
            },
            "POSTGRES_PORT",
            "type: SecureString → String",
        ),
        (
            "db group rules",
            |n| {
                n.db_sg.as_mut().unwrap().egress =
                    [Rule::all(Peer::Cidr("0.0.0.0/0".into()))].into();
            },
            "security group unicorn-ui-db ",
            "egress -all traffic 0.0.0.0/0",
        ),
    ];
    for (what, change, resource, want) in cases {
        let mut now = existing();
        change(&mut now);
        let p = plan(&args(), &now);
        assert_eq!(p.summary().update, 1, "{what}: {:?}", p.lines());
        let l = line(&p, resource);
        assert!(l.contains("~ update") && l.contains(want), "{what}: {l}");
    }
}

#[test]
fn flags_override_what_exists() {
    let mut a = args();
    a.max_acu = 4.0;
    a.deletion_protection = true;
    let p = plan(&a, &existing());
    let change = p
        .changes
        .iter()
        .find(|c| matches!(c.op, Op::ModifyCluster(_)))
        .unwrap();
    let Op::ModifyCluster(m) = &change.op else {
        unreachable!()
    };
    assert_eq!(m.scaling, Some((0.5, 4.0)));
    assert_eq!(m.deletion_protection, Some(true));
    assert!(!m.password);
}

#[test]
fn a_rotated_password_is_an_update_of_the_cluster() {
    let mut now = existing();
    now.password.current = Some("v2".into());
    now.password.value = Some((SecretString::from("n3w-Pa55word".to_owned()), "v2".into()));
    let p = plan(&args(), &now);
    assert_eq!(p.summary().update, 1, "{:?}", p.lines());
    let l = line(&p, "Aurora cluster");
    assert!(l.contains("master password: version v1 → v2"), "{l}");
    assert!(!l.contains("n3w-Pa55word"));
    let change = p
        .changes
        .iter()
        .find(|c| matches!(c.op, Op::ModifyCluster(_)))
        .unwrap();
    assert_eq!(
        change.op,
        Op::ModifyCluster(Modify {
            password: true,
            ..Modify::default()
        })
    );
    // Until applied, the section keeps the version the cluster has.
    assert_eq!(
        planned(&cx(), &args(), &now).password_version.as_deref(),
        Some("v1")
    );
}

#[test]
fn a_document_without_a_password_version_adopts_the_current_one() {
    let mut now = existing();
    now.password.recorded = None;
    let p = plan(&args(), &now);
    assert!(!p.has_work(), "{:?}", p.lines());
    assert_eq!(
        planned(&cx(), &args(), &now).password_version.as_deref(),
        Some("v1")
    );
}

#[test]
fn a_restored_cluster_gets_the_stacks_password() {
    let mut now = existing();
    now.password.recorded = None;
    now.password.value = Some((
        SecretString::from("s3cret-Pa55word".to_owned()),
        "v1".into(),
    ));
    now.cluster.as_mut().unwrap().restored_from = Some("unicorn-ui-db-final-1".into());
    let p = plan(&args(), &now);
    let l = line(&p, "Aurora cluster");
    assert!(
        l.contains("master password: snapshot unicorn-ui-db-final-1's → v1"),
        "{l}"
    );
}

fn snapshot() -> Snapshot {
    Snapshot {
        id: "unicorn-ui-db-final-20250101-120000".into(),
        arn: "arn:aws:rds:us-west-2:123456789012:cluster-snapshot:unicorn-ui-db-final-20250101-120000".into(),
        engine: ENGINE.into(),
        engine_version: "16.6".into(),
        status: "available".into(),
        cluster: "unicorn-ui-db".into(),
    }
}

#[test]
fn restore_replaces_the_create_and_is_refused_over_an_existing_cluster() {
    let mut a = args();
    a.restore_from_snapshot = Some(snapshot().id);
    let mut now = fresh();
    now.snapshot = Some(snapshot());
    let p = plan(&a, &now);
    assert!(p.changes.iter().any(|c| c.op == Op::RestoreCluster));
    assert!(!p.changes.iter().any(|c| c.op == Op::CreateCluster));
    assert!(line(&p, "Aurora cluster").contains("(from snapshot unicorn-ui-db-final-"));

    let mut over = existing();
    over.snapshot = Some(snapshot());
    assert!(refused(&a, &over).contains("unicorn-ui-db exists"));

    // The same restore run again (up.sh's final pass, a rerun after a kill) is done, by
    // identifier or by ARN, and plans no second restore.
    let mut again = existing();
    again.snapshot = Some(snapshot());
    again.cluster.as_mut().unwrap().restored_from = Some(snapshot().id);
    for named in [snapshot().id, snapshot().arn] {
        let mut a = args();
        a.restore_from_snapshot = Some(named);
        let p = plan(&a, &again);
        assert!(!p.changes.iter().any(|c| c.op == Op::RestoreCluster));
    }

    let mut missing = fresh();
    missing.snapshot = None;
    assert!(refused(&a, &missing).contains("does not exist"));

    let mut mysql = fresh();
    mysql.snapshot = Some(Snapshot {
        engine: "aurora-mysql".into(),
        ..snapshot()
    });
    assert!(refused(&a, &mysql).contains("aurora-mysql"));
}

#[test]
fn refusals_before_any_write() {
    type Change = fn(&mut Observed);
    let cases: Vec<(&str, Change, &str)> = vec![
        (
            "second cluster",
            |n| n.other_cluster = Some("unicorn-ui-db".into()),
            "one cluster per app",
        ),
        (
            "missing secret",
            |n| n.password.current = None,
            "does not exist",
        ),
        (
            "phantom VPC",
            |n| {
                n.network = Network::Subnets(
                    SUBNETS
                        .iter()
                        .map(|s| (s.to_string(), "vpc-real".to_owned()))
                        .collect(),
                );
            },
            "not in the core section's VPC vpc-1",
        ),
        (
            "missing subnets",
            |n| n.network = Network::SubnetsMissing,
            "do not all exist",
        ),
        (
            "no Serverless v2",
            |n| {
                n.engine = Some(Support::Found {
                    version: "16.6".into(),
                    serverless_v2: None,
                });
            },
            "does not support Aurora Serverless v2",
        ),
        (
            "capacity",
            |n| {
                n.engine = Some(Support::Found {
                    version: "16.6".into(),
                    serverless_v2: Some(Range {
                        min: Some(0.5),
                        max: Some(1.0),
                    }),
                });
            },
            "0.5 to 1 ACU",
        ),
        (
            "unknown version",
            |n| {
                n.engine = Some(Support::Unknown {
                    version: "16.6".into(),
                });
            },
            "not an engine version in us-west-2",
        ),
        (
            "password rules",
            |n| n.password.value = Some((SecretString::from("short".to_owned()), "v1".into())),
            "not a valid Aurora master password",
        ),
    ];
    for (what, change, want) in cases {
        let mut now = fresh();
        change(&mut now);
        let message = refused(&args(), &now);
        assert!(message.contains(want), "{what}: {message}");
    }
}

#[test]
fn a_cluster_of_another_engine_is_refused() {
    let mut now = existing();
    now.cluster.as_mut().unwrap().engine_mode = "serverless".into();
    assert!(refused(&args(), &now).contains("not aurora-postgresql provisioned"));
}

#[test]
fn planned_section_keeps_real_ids_and_placeholders() {
    let now = fresh();
    let db = planned(&cx(), &args(), &now);
    assert_eq!(db.cluster_id, "unicorn-ui-db");
    assert_eq!(db.endpoint, kit::PLANNED);
    assert_eq!(db.db_security_group_id, kit::PLANNED);
    assert_eq!(db.password_version, None);
    assert_eq!(db.parameters.len(), 3);
    assert_eq!(
        db.parameters[0].arn,
        "arn:aws:ssm:us-west-2:123456789012:parameter/unicorn-ui/POSTGRES_HOST"
    );
    let db = planned(&cx(), &args(), &existing());
    assert_eq!(db.db_security_group_id, "sg-db");
    assert_eq!(db.password_version.as_deref(), Some("v1"));
}
