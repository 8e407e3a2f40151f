//! Read-only calls: what exists now, found by the deterministic names. The cluster, the
//! instance, the subnet group, both security groups (one DescribeSecurityGroups) and the three
//! parameters (one GetParameters) are looked up concurrently.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_rds::types::Tag;
use kit::{AwsContext, Cx, Error, PLANNED, Result, aws};
use security_groups::Group;
use stackdoc::{Core, Secrets};

use crate::{Args, Names};

/// The AWS clients db-up uses.
pub struct Clients {
    pub rds: aws_sdk_rds::Client,
    pub ec2: aws_sdk_ec2::Client,
    pub ssm: aws_sdk_ssm::Client,
}

impl Clients {
    pub fn new(cx: &Cx) -> Clients {
        Clients {
            rds: aws_sdk_rds::Client::new(&cx.sdk),
            ec2: aws_sdk_ec2::Client::new(&cx.sdk),
            ssm: aws_sdk_ssm::Client::new(&cx.sdk),
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
    pub password_secret: String,
}

impl Upstream {
    pub fn read(cx: &Cx) -> Result<Upstream> {
        let (core, secrets) = if cx.plan_only() {
            (cx.doc.require::<Core>()?, cx.doc.require::<Secrets>()?)
        } else {
            (
                cx.doc.require_applied::<Core>()?,
                cx.doc.require_applied::<Secrets>()?,
            )
        };
        Ok(Upstream {
            vpc_id: Some(core.vpc_id).filter(|v| v != PLANNED),
            private_subnets: core.private_subnets.into_iter().map(|s| s.id).collect(),
            password_secret: secrets.db_password.arn,
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
}

pub async fn observe(cx: &Cx, args: &Args) -> Result<Observed> {
    let names = Names::new(cx, args);
    let upstream = Upstream::read(cx)?;
    let c = Clients::new(cx);
    let (cluster, instance, subnet_group, groups, params) = futures::try_join!(
        cluster(cx, &c.rds, &names.cluster),
        instance(cx, &c.rds, &names.instance),
        subnet_group(&c.rds, &names.subnet_group),
        groups(&c.ec2, upstream.vpc_id.as_deref(), &names),
        params(&c.ssm, &names.params),
    )?;
    let (db_sg, client_sg) = groups;
    Ok(Observed {
        names,
        upstream,
        cluster,
        instance,
        subnet_group,
        db_sg,
        client_sg,
        params,
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
    }
}

pub async fn cluster(cx: &Cx, rds: &aws_sdk_rds::Client, id: &str) -> Result<Option<Cluster>> {
    match rds
        .describe_db_clusters()
        .db_cluster_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_clusters().first().map(|c| cluster_of(cx, c))),
        Err(e) if aws::is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::aws(format!(
            "describing Aurora cluster {id}: {}",
            aws::describe(&e)
        ))),
    }
}

pub async fn instance(cx: &Cx, rds: &aws_sdk_rds::Client, id: &str) -> Result<Option<Instance>> {
    match rds
        .describe_db_instances()
        .db_instance_identifier(id)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_instances().first().map(|i| Instance {
            id: i.db_instance_identifier().unwrap_or_default().to_owned(),
            class: i.db_instance_class().unwrap_or_default().to_owned(),
            status: i.db_instance_status().unwrap_or("unknown").to_owned(),
            cluster: i.db_cluster_identifier().unwrap_or_default().to_owned(),
            owned: owns_rds(cx, i.tag_list()),
        })),
        Err(e) if aws::is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::aws(format!(
            "describing DB instance {id}: {}",
            aws::describe(&e)
        ))),
    }
}

pub async fn subnet_group(rds: &aws_sdk_rds::Client, name: &str) -> Result<Option<SubnetGroup>> {
    match rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
    {
        Ok(out) => Ok(out.db_subnet_groups().first().map(|g| SubnetGroup {
            name: g.db_subnet_group_name().unwrap_or_default().to_owned(),
            arn: g.db_subnet_group_arn().unwrap_or_default().to_owned(),
            subnets: g
                .subnets()
                .iter()
                .filter_map(|s| s.subnet_identifier())
                .map(str::to_owned)
                .collect(),
        })),
        Err(e) if aws::is_not_found(&e) => Ok(None),
        Err(e) => Err(Error::aws(format!(
            "describing DB subnet group {name}: {}",
            aws::describe(&e)
        ))),
    }
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
