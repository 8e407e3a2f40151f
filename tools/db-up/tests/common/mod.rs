//! Fixtures for db-up's tests: the document its inputs give it, and independent describe
//! helpers (plain SDK calls, never db-up's code).

#![allow(dead_code)]

use testkit::rds::error::ProvideErrorMetadata;
use testkit::{Emulator, Value, ec2, fixtures, rds, secretsmanager, ssm};

pub const APP: &str = "unicorn-ui";
pub const CLUSTER: &str = "unicorn-ui-db";
pub const INSTANCE: &str = "unicorn-ui-db-1";
pub const TOKEN: &str = "ghp_DbUpTestToken0123456789abcdefABCD";

/// `secrets-init | slr-check --create` for APP, plus a core-infra made with plain SDK calls.
pub fn stack(emu: &Emulator) -> Value {
    let doc = fixtures::secrets_and_roles(emu, APP, TOKEN);
    let core = fixtures::core_infra(emu, "core-infra");
    fixtures::with(doc, "core", core)
}

/// The DB master password, read from Secrets Manager by the test itself.
pub fn password(emu: &Emulator, doc: &Value) -> String {
    let sm = secretsmanager::Client::new(&emu.sdk());
    let arn = doc["secrets"]["db_password"]["arn"].as_str().unwrap();
    let out = emu
        .block_on(sm.get_secret_value().secret_id(arn).send())
        .expect("get the DB password");
    out.secret_string().unwrap().to_owned()
}

pub fn rds(emu: &Emulator) -> rds::Client {
    rds::Client::new(&emu.sdk())
}

pub fn cluster(emu: &Emulator, id: &str) -> Option<rds::types::DbCluster> {
    match emu.block_on(
        rds(emu)
            .describe_db_clusters()
            .db_cluster_identifier(id)
            .send(),
    ) {
        Ok(out) => out.db_clusters().first().cloned(),
        Err(e) => {
            // The error's code, not its text (RDS spells it with or without "Fault").
            assert!(
                e.code().is_some_and(|c| c.starts_with("DBClusterNotFound")),
                "describe cluster: {e:?}"
            );
            None
        }
    }
}

pub fn instance(emu: &Emulator, id: &str) -> Option<rds::types::DbInstance> {
    match emu.block_on(
        rds(emu)
            .describe_db_instances()
            .db_instance_identifier(id)
            .send(),
    ) {
        Ok(out) => out.db_instances().first().cloned(),
        Err(e) => {
            // The error's code, not its text (RDS spells it with or without "Fault").
            assert!(
                e.code()
                    .is_some_and(|c| c.starts_with("DBInstanceNotFound")),
                "describe instance: {e:?}"
            );
            None
        }
    }
}

pub fn subnet_group(emu: &Emulator, name: &str) -> Option<rds::types::DbSubnetGroup> {
    match emu.block_on(
        rds(emu)
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send(),
    ) {
        Ok(out) => out.db_subnet_groups().first().cloned(),
        Err(e) => {
            // The error's code, not its text (RDS spells it with or without "Fault").
            assert!(
                e.code()
                    .is_some_and(|c| c.starts_with("DBSubnetGroupNotFound")),
                "describe subnet group: {e:?}"
            );
            None
        }
    }
}

pub fn cluster_snapshots(emu: &Emulator) -> Vec<rds::types::DbClusterSnapshot> {
    emu.block_on(rds(emu).describe_db_cluster_snapshots().send())
        .expect("describe cluster snapshots")
        .db_cluster_snapshots()
        .to_vec()
}

pub fn security_group(emu: &Emulator, id: &str) -> ec2::types::SecurityGroup {
    let ec2c = ec2::Client::new(&emu.sdk());
    emu.block_on(ec2c.describe_security_groups().group_ids(id).send())
        .expect("describe security group")
        .security_groups()
        .first()
        .cloned()
        .expect("the group exists")
}

/// Security groups carrying `stagehand:step=db` for APP.
pub fn db_tagged_groups(emu: &Emulator) -> Vec<ec2::types::SecurityGroup> {
    let ec2c = ec2::Client::new(&emu.sdk());
    let filter = |k: &str, v: &str| {
        ec2::types::Filter::builder()
            .name(format!("tag:{k}"))
            .values(v)
            .build()
    };
    emu.block_on(
        ec2c.describe_security_groups()
            .filters(filter("stagehand:app", APP))
            .filters(filter("stagehand:step", "db"))
            .send(),
    )
    .expect("describe security groups")
    .security_groups()
    .to_vec()
}

pub fn params(emu: &Emulator) -> Vec<ssm::types::Parameter> {
    let client = ssm::Client::new(&emu.sdk());
    let names = ["HOST", "PORT", "USER"].map(|p| format!("/{APP}/POSTGRES_{p}"));
    emu.block_on(
        client
            .get_parameters()
            .set_names(Some(names.to_vec()))
            .send(),
    )
    .expect("get parameters")
    .parameters()
    .to_vec()
}

/// Every rds request since `mark`, with its (redacted) params.
pub fn rds_requests(emu: &Emulator, mark: u64) -> Vec<Value> {
    emu.calls_since(mark)
        .requests()
        .into_iter()
        .filter(|r| r["service"] == "rds")
        .collect()
}

pub fn sm(emu: &Emulator) -> secretsmanager::Client {
    secretsmanager::Client::new(&emu.sdk())
}

/// The password secret's AWSCURRENT version id, read by the test itself.
pub fn current_version(emu: &Emulator, doc: &Value) -> String {
    let arn = doc["secrets"]["db_password"]["arn"].as_str().unwrap();
    let out = emu
        .block_on(sm(emu).describe_secret().secret_id(arn).send())
        .expect("describe the password secret");
    out.version_ids_to_stages()
        .unwrap()
        .iter()
        .find(|(_, stages)| stages.iter().any(|s| s == "AWSCURRENT"))
        .map(|(v, _)| v.clone())
        .expect("an AWSCURRENT version")
}

/// A new AWSCURRENT value of the password secret, as a rotation (outside db-up) leaves it.
/// Returns its version id.
pub fn rotate_password(emu: &Emulator, doc: &Value, value: &str) -> String {
    let arn = doc["secrets"]["db_password"]["arn"].as_str().unwrap();
    let out = emu
        .block_on(
            sm(emu)
                .put_secret_value()
                .secret_id(arn)
                .secret_string(value)
                .send(),
        )
        .expect("put a new password");
    out.version_id().unwrap().to_owned()
}

/// The master password the emulator holds for a cluster (never in a describe, as on AWS).
pub fn master_password(emu: &Emulator, cluster: &str) -> String {
    let answer = emu.control(
        "GET",
        &format!("rds/master-password?cluster={cluster}"),
        None,
    );
    answer["password"].as_str().expect("a password").to_owned()
}

/// The value of one of the app's parameters ("HOST", "PORT", "USER").
pub fn param(emu: &Emulator, suffix: &str) -> Option<String> {
    let name = format!("/{APP}/POSTGRES_{suffix}");
    params(emu)
        .into_iter()
        .find(|p| p.name() == Some(name.as_str()))
        .and_then(|p| p.value().map(str::to_owned))
}

/// `doc` without `section`.
pub fn strip(doc: &Value, section: &str) -> Value {
    let mut doc = doc.clone();
    doc.as_object_mut().unwrap().remove(section);
    doc
}

/// Every request of one action since `mark`.
pub fn requests_of(emu: &Emulator, mark: u64, action: &str) -> Vec<Value> {
    emu.calls_since(mark)
        .requests()
        .into_iter()
        .filter(|r| r["action"] == action)
        .collect()
}
