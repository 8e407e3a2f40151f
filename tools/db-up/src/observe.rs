//! Read-only calls: what exists now, found by the deterministic names, in two rounds of
//! concurrent calls. Round one: the cluster, the instance, the subnet group, both security
//! groups (one DescribeSecurityGroups), the three parameters (one GetParameters), the password
//! secret's AWSCURRENT version (one DescribeSecret) and the snapshot to restore. Round two,
//! only when this run needs it: the password's value (to create or set it), the engine
//! version's Serverless v2 range (to create or rescale), the private subnets' VPC (before
//! anything is made or repointed in the network) and the cluster the app's parameters point
//! at when it is not ours. A no-op rerun makes round one only.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_rds::types::Tag;
use kit::{AwsContext, Cx, Error, PLANNED, Result};
use secret::SecretString;
use security_groups::Group;
use stackdoc::{Core, Db, Secrets, Section};

use crate::restore::{self, Snapshot};
use crate::{Args, Names, engine, password};

/// The AWS clients db-up uses.
pub struct Clients {
    pub rds: aws_sdk_rds::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub sm: aws_sdk_secretsmanager::Client,
}

impl Clients {
    pub fn new(cx: &Cx) -> Clients {
        Clients {
            rds: aws_sdk_rds::Client::new(&cx.sdk),
            ec2: aws_sdk_ec2::Client::new(&cx.sdk),
            ssm: aws_sdk_ssm::Client::new(&cx.sdk),
            sm: aws_sdk_secretsmanager::Client::new(&cx.sdk),
        }
    }
}

/// The upstream sections as this run reads them. In `--plan` mode a planned upstream section
/// is accepted and its placeholder ids mean "does not exist yet".
#[derive(Debug, Clone)]
pub struct Upstream {
    /// None when core-up has only planned the VPC.
    pub vpc_id: Option<String>,
    pub private_subnets: Vec<String>,
    /// None when secrets-init has only planned the secret.
    pub password_secret: Option<String>,
}

impl Upstream {
    pub fn read(cx: &Cx) -> Result<Upstream> {
        let core = cx.upstream::<Core>()?;
        let secrets = cx.upstream::<Secrets>()?;
        Ok(Upstream {
            vpc_id: Some(core.vpc_id).filter(|v| v != PLANNED),
            private_subnets: core.private_subnets.into_iter().map(|s| s.id).collect(),
            password_secret: Some(secrets.db_password.arn).filter(|a| a != PLANNED),
        })
    }
}

/// The Aurora cluster as found.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    pub id: String,
    pub arn: String,
    pub status: String,
    pub endpoint: Option<String>,
    pub reader_endpoint: Option<String>,
    pub port: u16,
    pub engine: String,
    pub engine_mode: String,
    pub engine_version: String,
    pub master_user: String,
    pub min_acu: Option<f64>,
    pub max_acu: Option<f64>,
    pub backup_retention_days: i32,
    pub deletion_protection: bool,
    pub copy_tags_to_snapshot: bool,
    pub storage_encrypted: bool,
    pub security_groups: BTreeSet<String>,
    pub subnet_group: String,
    pub owned: bool,
    /// The snapshot it was restored from (`stagehand:restored-from`), if db-up restored it.
    pub restored_from: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    pub id: String,
    pub class: String,
    pub status: String,
    pub cluster: String,
    pub owned: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SubnetGroup {
    pub name: String,
    pub arn: String,
    pub subnets: BTreeSet<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    pub value: String,
    pub kind: String,
    pub arn: String,
}

/// The master password as far as observe can tell, never its value unless it will be set.
#[derive(Debug, Default)]
pub struct Password {
    /// The password secret (ARN), None while the secrets section is only planned.
    pub secret: Option<String>,
    /// AWSCURRENT's version id; None when the secret does not exist (or is only planned).
    pub current: Option<String>,
    /// The version db-up last set on the cluster (`db.password_version`).
    pub recorded: Option<String>,
    /// The value with its version, read only when it will be set (create, restore,
    /// rotation).
    pub value: Option<(SecretString, String)>,
}

/// The private subnets' VPCs, looked up when a run creates or repoints anything in the
/// network (a phantom VPC must get nothing).
#[derive(Debug, Clone, PartialEq)]
pub enum Network {
    /// Nothing in the network changes: not looked up.
    Unchecked,
    /// Subnet id → its VPC.
    Subnets(BTreeMap<String, String>),
    /// At least one of the private subnets does not exist.
    SubnetsMissing,
}

/// Everything db-up found.
#[derive(Debug)]
pub struct Observed {
    pub names: Names,
    pub upstream: Upstream,
    pub cluster: Option<Cluster>,
    pub instance: Option<Instance>,
    pub subnet_group: Option<SubnetGroup>,
    pub db_sg: Option<Group>,
    pub client_sg: Option<Group>,
    /// By parameter name; missing ones are absent.
    pub params: BTreeMap<String, Param>,
    pub password: Password,
    /// The engine version a create, restore or capacity change would run on, as
    /// DescribeDBEngineVersions has it; None when neither happens.
    pub engine: Option<engine::Support>,
    /// `--restore-from-snapshot`'s snapshot; None when not asked for or not found.
    pub snapshot: Option<Snapshot>,
    /// Another existing cluster that the app's parameters (or its document) point at.
    pub other_cluster: Option<String>,
    pub network: Network,
}

pub async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
    let names = Names::new(cx, args);
    let upstream = Upstream::read(cx)?;
    let c = Clients::new(cx);
    let recorded = recorded_password_version(cx);

    // Round 1: everything found by name, side by side.
    let (cluster, instance, subnet_group, groups, params, current, snapshot) = futures::try_join!(
        cluster(cx, &c.rds, &names.cluster),
        instance(cx, &c.rds, &names.instance),
        subnet_group(&c.rds, &names.subnet_group),
        groups(&c.ec2, upstream.vpc_id.as_deref(), &names),
        params(&c.ssm, &names.params),
        async {
            match &upstream.password_secret {
                Some(arn) => secret::current_version(&c.sm, arn).await,
                None => Ok(None),
            }
        },
        async {
            match &args.restore_from_snapshot {
                Some(id) => restore::lookup(&c.rds, id).await,
                None => Ok(None),
            }
        },
    )?;
    let (db_sg, client_sg) = groups;

    // Round 2: what only some runs need, decided from round 1, side by side.
    let needs_value = current.is_some()
        && match &cluster {
            None => true,
            Some(cl) => matches!(
                password::action(
                    recorded.as_deref(),
                    current.as_deref(),
                    cl.restored_from.as_deref()
                ),
                password::Action::Set { .. }
            ),
        };
    let engine_version: Option<String> = match (&cluster, &args.restore_from_snapshot) {
        (None, Some(_)) => snapshot.as_ref().map(|s| s.engine_version.clone()),
        (None, None) => Some(args.engine_version.clone()),
        (Some(cl), _) if cl.min_acu != Some(args.min_acu) || cl.max_acu != Some(args.max_acu) => {
            Some(cl.engine_version.clone())
        }
        (Some(_), _) => None,
    };
    let want_subnets: BTreeSet<String> = upstream.private_subnets.iter().cloned().collect();
    let network_touched = db_sg.is_none()
        || client_sg.is_none()
        || subnet_group
            .as_ref()
            .is_none_or(|g| g.subnets != want_subnets)
        || cluster.as_ref().is_none_or(|cl| {
            db_sg
                .as_ref()
                .is_none_or(|g| cl.security_groups != BTreeSet::from([g.id.clone()]))
        });
    let candidates = other_cluster_candidates(cx, &names, &params);
    let (value, engine, network, other_cluster) = futures::try_join!(
        async {
            match (&upstream.password_secret, needs_value) {
                (Some(arn), true) => match secret::read_current(&c.sm, arn).await {
                    // A plan ahead of secrets-init: the secret it will restore from its
                    // recovery window cannot be read yet (AWS: InvalidRequestException,
                    // "marked deleted"); the rules are checked again when applying.
                    Err(e)
                        if cx.plan_only()
                            && cx.doc.is_planned("secrets")
                            && e.is_code("InvalidRequestException") =>
                    {
                        Ok(None)
                    }
                    read => read.map(Some),
                },
                _ => Ok(None),
            }
        },
        async {
            Ok::<_, Error>(match &engine_version {
                Some(v) => Some(engine::lookup(&c.rds, v).await),
                None => None,
            })
        },
        async {
            match (&upstream.vpc_id, network_touched) {
                (Some(_), true) => subnet_vpcs(&c.ec2, &upstream.private_subnets).await,
                _ => Ok(Network::Unchecked),
            }
        },
        other_cluster(cx, &c.rds, &candidates, &params, &names),
    )?;

    Ok(Observed {
        names,
        password: Password {
            secret: upstream.password_secret.clone(),
            current,
            recorded,
            value,
        },
        upstream,
        cluster,
        instance,
        subnet_group,
        db_sg,
        client_sg,
        params,
        engine,
        snapshot,
        other_cluster,
        network,
    })
}

/// `db.password_version` as the previous run left it (read raw: a planned or older section
/// still tells it).
fn recorded_password_version(cx: &Cx) -> Option<String> {
    cx.doc
        .raw_section(Db::NAME)?
        .get("password_version")?
        .as_str()
        .map(str::to_owned)
}

/// Whether `id` could be an RDS cluster identifier (so it is worth a describe).
fn is_cluster_id(id: &str) -> bool {
    (1..=63).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_alphabetic())
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// Clusters other than ours that the app's POSTGRES_HOST (its endpoint's first label is the
/// cluster identifier) or the document's db section name.
fn other_cluster_candidates(
    cx: &Cx,
    names: &Names,
    params: &BTreeMap<String, Param>,
) -> BTreeSet<String> {
    let from_host = params
        .get(&names.params[0])
        .and_then(|p| p.value.split('.').next().map(str::to_ascii_lowercase));
    let from_doc = cx
        .doc
        .raw_section(Db::NAME)
        .and_then(|d| d.get("cluster_id"))
        .and_then(|v| v.as_str())
        .map(str::to_ascii_lowercase);
    [from_host, from_doc]
        .into_iter()
        .flatten()
        .filter(|id| *id != names.cluster && is_cluster_id(id))
        .collect()
}

/// The first candidate that exists (and is not being deleted); a host-derived candidate
/// counts only when the parameter holds that cluster's endpoint.
async fn other_cluster(
    cx: &Cx,
    rds: &aws_sdk_rds::Client,
    candidates: &BTreeSet<String>,
    params: &BTreeMap<String, Param>,
    names: &Names,
) -> Result<Option<String>> {
    let host = params.get(&names.params[0]).map(|p| p.value.as_str());
    let doc_id = cx
        .doc
        .raw_section(Db::NAME)
        .and_then(|d| d.get("cluster_id"))
        .and_then(|v| v.as_str())
        .map(str::to_ascii_lowercase);
    let found =
        futures::future::try_join_all(candidates.iter().map(|id| cluster(cx, rds, id))).await?;
    Ok(found.into_iter().flatten().find_map(|c| {
        let named_by_doc = doc_id.as_deref() == Some(c.id.as_str());
        let named_by_host = host.is_some() && host == c.endpoint.as_deref();
        (c.status != "deleting" && (named_by_doc || named_by_host)).then_some(c.id)
    }))
}

/// The VPC of each private subnet, in one call.
async fn subnet_vpcs(ec2: &aws_sdk_ec2::Client, subnets: &[String]) -> Result<Network> {
    if subnets.is_empty() || subnets.iter().any(|s| s == PLANNED) {
        return Ok(Network::Unchecked);
    }
    let out = ec2
        .describe_subnets()
        .set_subnet_ids(Some(subnets.to_vec()))
        .send()
        .await
        .found(format!(
            "describing the private subnets {}",
            subnets.join(", ")
        ))?;
    Ok(match out {
        None => Network::SubnetsMissing,
        Some(out) => Network::Subnets(
            out.subnets()
                .iter()
                .map(|s| {
                    (
                        s.subnet_id().unwrap_or_default().to_owned(),
                        s.vpc_id().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
        ),
    })
}

pub fn owns_rds(cx: &Cx, tags: &[Tag]) -> bool {
    cx.owns(
        tags.iter()
            .map(|t| (t.key().unwrap_or_default(), t.value().unwrap_or_default())),
    )
}

pub fn cluster_of(cx: &Cx, c: &aws_sdk_rds::types::DbCluster) -> Cluster {
    let scaling = c.serverless_v2_scaling_configuration();
    Cluster {
        id: c.db_cluster_identifier().unwrap_or_default().to_owned(),
        arn: c.db_cluster_arn().unwrap_or_default().to_owned(),
        status: c.status().unwrap_or("unknown").to_owned(),
        endpoint: c.endpoint().map(str::to_owned),
        reader_endpoint: c.reader_endpoint().map(str::to_owned),
        port: c
            .port()
            .and_then(|p| u16::try_from(p).ok())
            .unwrap_or(crate::PORT),
        engine: c.engine().unwrap_or_default().to_owned(),
        engine_mode: c.engine_mode().unwrap_or("provisioned").to_owned(),
        engine_version: c.engine_version().unwrap_or_default().to_owned(),
        master_user: c.master_username().unwrap_or_default().to_owned(),
        min_acu: scaling.and_then(|s| s.min_capacity()),
        max_acu: scaling.and_then(|s| s.max_capacity()),
        backup_retention_days: c.backup_retention_period().unwrap_or(0),
        deletion_protection: c.deletion_protection().unwrap_or(false),
        copy_tags_to_snapshot: c.copy_tags_to_snapshot().unwrap_or(false),
        storage_encrypted: c.storage_encrypted().unwrap_or(false),
        security_groups: c
            .vpc_security_groups()
            .iter()
            .filter_map(|g| g.vpc_security_group_id())
            .map(str::to_owned)
            .collect(),
        subnet_group: c.db_subnet_group().unwrap_or_default().to_owned(),
        owned: owns_rds(cx, c.tag_list()),
        restored_from: c
            .tag_list()
            .iter()
            .find(|t| t.key() == Some(crate::TAG_RESTORED_FROM))
            .and_then(|t| t.value())
            .map(str::to_owned),
    }
}

pub async fn cluster(cx: &Cx, rds: &aws_sdk_rds::Client, id: &str) -> Result<Option<Cluster>> {
    Ok(rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
        .found(format!("describing Aurora cluster {id}"))?
        .and_then(|out| out.db_clusters().first().map(|c| cluster_of(cx, c))))
}

pub async fn instance(cx: &Cx, rds: &aws_sdk_rds::Client, id: &str) -> Result<Option<Instance>> {
    Ok(rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
        .found(format!("describing DB instance {id}"))?
        .and_then(|out| {
            out.db_instances().first().map(|i| Instance {
                id: i.db_instance_identifier().unwrap_or_default().to_owned(),
                class: i.db_instance_class().unwrap_or_default().to_owned(),
                status: i.db_instance_status().unwrap_or("unknown").to_owned(),
                cluster: i.db_cluster_identifier().unwrap_or_default().to_owned(),
                owned: owns_rds(cx, i.tag_list()),
            })
        }))
}

pub async fn subnet_group(rds: &aws_sdk_rds::Client, name: &str) -> Result<Option<SubnetGroup>> {
    Ok(rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
        .found(format!("describing DB subnet group {name}"))?
        .and_then(|out| {
            out.db_subnet_groups().first().map(|g| SubnetGroup {
                name: g.db_subnet_group_name().unwrap_or_default().to_owned(),
                arn: g.db_subnet_group_arn().unwrap_or_default().to_owned(),
                subnets: g
                    .subnets()
                    .iter()
                    .filter_map(|s| s.subnet_identifier())
                    .map(str::to_owned)
                    .collect(),
            })
        }))
}

/// Both groups in one call; none when the VPC is only planned.
async fn groups(
    ec2: &aws_sdk_ec2::Client,
    vpc_id: Option<&str>,
    names: &Names,
) -> Result<(Option<Group>, Option<Group>)> {
    let Some(vpc_id) = vpc_id else {
        return Ok((None, None));
    };
    let mut found = security_groups::find(
        ec2,
        vpc_id,
        &[names.db_sg.as_str(), names.client_sg.as_str()],
    )
    .await?;
    Ok((found.remove(&names.db_sg), found.remove(&names.client_sg)))
}

/// The three parameters in one GetParameters.
pub async fn params(
    ssm: &aws_sdk_ssm::Client,
    names: &[String; 3],
) -> Result<BTreeMap<String, Param>> {
    let out = ssm
        .get_parameters()
        .set_names(Some(names.to_vec()))
        .send()
        .await
        .ctx(format!("reading SSM parameters {}", names.join(", ")))?;
    Ok(out
        .parameters()
        .iter()
        .map(|p| {
            (
                p.name().unwrap_or_default().to_owned(),
                Param {
                    value: p.value().unwrap_or_default().to_owned(),
                    kind: p
                        .r#type()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    arn: p.arn().unwrap_or_default().to_owned(),
                },
            )
        })
        .collect())
}
