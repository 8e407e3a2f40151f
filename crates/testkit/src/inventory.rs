//! What the account holds, read resource by resource with independent SDK calls (never from
//! the document or the tools' output): every resource by kind ([`everything`]), or one app's
//! by its `stagehand:app` tag ([`inventory`]). One walk serves both; tags are read only for
//! an app's inventory.
//!
//! Never counted: what AWS provides by default (the default VPC and what is in it, each VPC's
//! default security group and main route table, service-linked roles), the log groups
//! CodeBuild makes for its builds, and what AWS still lists for a while after a delete (a
//! deleted NAT gateway, an inactive ECS cluster or service, a secret in its recovery window).
//! Final snapshots are the teardown's intent and not listed.

use std::collections::BTreeMap;

use crate::Emulator;

const TAG_APP: &str = "stagehand:app";

/// Resources by kind ("vpc", "db cluster", …), each by its id or name.
pub type Inventory = BTreeMap<&'static str, Vec<String>>;

/// Everything in the account but AWS's own defaults, by kind: for tests whose emulator holds
/// one stack, where a resource created twice or left untagged must count too.
pub fn everything(emu: &Emulator) -> Inventory {
    scan(emu, None)
}

/// What the account holds of `app`, one line per resource ("vpc vpc-…", "db cluster …"), by
/// its tags: a resource of another app is never listed (SSM parameters: those under /app/).
pub fn inventory(emu: &Emulator, app: &str) -> Vec<String> {
    scan(emu, Some(app))
        .into_iter()
        .flat_map(|(kind, ids)| ids.into_iter().map(move |id| format!("{kind} {id}")))
        .collect()
}

/// How many of each kind.
pub fn counts(inv: &Inventory) -> BTreeMap<&'static str, usize> {
    inv.iter().map(|(k, v)| (*k, v.len())).collect()
}

/// The resources found so far; with an app, only those tagged with it are kept.
struct Found<'a> {
    app: Option<&'a str>,
    inv: Inventory,
}

impl Found<'_> {
    /// Whether tags matter (and must be read).
    fn by_app(&self) -> bool {
        self.app.is_some()
    }

    fn add<'t>(
        &mut self,
        kind: &'static str,
        id: Option<&str>,
        tags: impl IntoIterator<Item = (Option<&'t str>, Option<&'t str>)>,
    ) {
        let keep = match self.app {
            None => true,
            Some(app) => tags
                .into_iter()
                .any(|(k, v)| k == Some(TAG_APP) && v == Some(app)),
        };
        if keep {
            self.inv
                .entry(kind)
                .or_default()
                .push(id.unwrap_or("?").to_owned());
        }
    }
}

/// `$read` (the calls that read one resource's tags) only for an app's inventory; none
/// otherwise.
macro_rules! read_tags {
    ($found:expr, $read:expr) => {
        if $found.by_app() {
            $read
        } else {
            Default::default()
        }
    };
}

/// EC2's tags in the shape [`Found::add`] takes.
fn ec2_tags(tags: &[crate::ec2::types::Tag]) -> impl Iterator<Item = (Option<&str>, Option<&str>)> {
    tags.iter().map(|t| (t.key(), t.value()))
}

/// Tags given as plain key and value strings, in the SDKs' optional shape.
fn plain<'t>(
    tags: impl IntoIterator<Item = (&'t str, &'t str)>,
) -> impl Iterator<Item = (Option<&'t str>, Option<&'t str>)> {
    tags.into_iter().map(|(k, v)| (Some(k), Some(v)))
}

fn scan(emu: &Emulator, app: Option<&str>) -> Inventory {
    let sdk = emu.sdk();
    let mut found = Found {
        app,
        inv: Inventory::new(),
    };
    let f = &mut found;
    emu.block_on(async {
        let ec2 = crate::ec2::Client::new(&sdk);
        let vpcs = ec2.describe_vpcs().send().await.unwrap();
        let default_vpcs: Vec<String> = vpcs
            .vpcs()
            .iter()
            .filter(|v| v.is_default() == Some(true))
            .filter_map(|v| v.vpc_id().map(str::to_owned))
            .collect();
        let ours = |vpc: Option<&str>| !default_vpcs.iter().any(|d| Some(d.as_str()) == vpc);
        for v in vpcs.vpcs().iter().filter(|v| v.is_default() != Some(true)) {
            f.add("vpc", v.vpc_id(), ec2_tags(v.tags()));
        }
        for s in ec2.describe_subnets().send().await.unwrap().subnets() {
            if ours(s.vpc_id()) {
                f.add("subnet", s.subnet_id(), ec2_tags(s.tags()));
            }
        }
        let gateways = ec2.describe_internet_gateways().send().await.unwrap();
        for g in gateways.internet_gateways() {
            if g.attachments().iter().all(|a| ours(a.vpc_id())) {
                f.add(
                    "internet gateway",
                    g.internet_gateway_id(),
                    ec2_tags(g.tags()),
                );
            }
        }
        for a in ec2.describe_addresses().send().await.unwrap().addresses() {
            f.add("elastic ip", a.allocation_id(), ec2_tags(a.tags()));
        }
        for n in ec2
            .describe_nat_gateways()
            .send()
            .await
            .unwrap()
            .nat_gateways()
        {
            if n.state().map(|s| s.as_str()) != Some("deleted") {
                f.add("nat gateway", n.nat_gateway_id(), ec2_tags(n.tags()));
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
                f.add("route table", r.route_table_id(), ec2_tags(r.tags()));
            }
        }
        let groups = ec2.describe_security_groups().send().await.unwrap();
        for g in groups.security_groups() {
            if ours(g.vpc_id()) && g.group_name() != Some("default") {
                f.add("security group", g.group_id(), ec2_tags(g.tags()));
            }
        }

        let ecs = crate::ecs::Client::new(&sdk);
        let clusters = ecs.list_clusters().send().await.unwrap();
        if !clusters.cluster_arns().is_empty() {
            let described = ecs
                .describe_clusters()
                .set_clusters(Some(clusters.cluster_arns().to_vec()))
                .include(crate::ecs::types::ClusterField::Tags)
                .send()
                .await
                .unwrap();
            for c in described.clusters() {
                if c.status() != Some("ACTIVE") {
                    continue;
                }
                let tags = c.tags().iter().map(|t| (t.key(), t.value()));
                f.add("ecs cluster", c.cluster_name(), tags);
                let arn = c.cluster_arn().unwrap();
                let services = ecs.list_services().cluster(arn).send().await.unwrap();
                for chunk in services.service_arns().chunks(10) {
                    let described = ecs
                        .describe_services()
                        .cluster(arn)
                        .set_services(Some(chunk.to_vec()))
                        .include(crate::ecs::types::ServiceField::Tags)
                        .send()
                        .await
                        .unwrap();
                    for s in described.services() {
                        if s.status() != Some("INACTIVE") {
                            let tags = s.tags().iter().map(|t| (t.key(), t.value()));
                            f.add("ecs service", s.service_arn(), tags);
                        }
                    }
                }
            }
        }

        let sd = crate::servicediscovery::Client::new(&sdk);
        let namespaces = sd.list_namespaces().send().await.unwrap();
        let services = sd.list_services().send().await.unwrap();
        let cloud_map = namespaces
            .namespaces()
            .iter()
            .map(|n| ("cloud map namespace", n.id(), n.arn()))
            .chain(
                services
                    .services()
                    .iter()
                    .map(|s| ("cloud map service", s.id(), s.arn())),
            );
        for (kind, id, arn) in cloud_map {
            let tags = read_tags!(f, {
                let out = sd
                    .list_tags_for_resource()
                    .resource_arn(arn.unwrap_or_default())
                    .send()
                    .await
                    .unwrap();
                out.tags()
                    .iter()
                    .map(|t| (t.key().to_owned(), t.value().to_owned()))
                    .collect::<Vec<_>>()
            });
            f.add(
                kind,
                id,
                plain(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            );
        }

        let rds = crate::rds::Client::new(&sdk);
        for c in rds
            .describe_db_clusters()
            .send()
            .await
            .unwrap()
            .db_clusters()
        {
            let tags = c.tag_list().iter().map(|t| (t.key(), t.value()));
            f.add("db cluster", c.db_cluster_identifier(), tags);
        }
        for i in rds
            .describe_db_instances()
            .send()
            .await
            .unwrap()
            .db_instances()
        {
            let tags = i.tag_list().iter().map(|t| (t.key(), t.value()));
            f.add("db instance", i.db_instance_identifier(), tags);
        }
        let subnet_groups = rds.describe_db_subnet_groups().send().await.unwrap();
        for g in subnet_groups.db_subnet_groups() {
            let tags = read_tags!(f, {
                rds.list_tags_for_resource()
                    .resource_name(g.db_subnet_group_arn().unwrap_or_default())
                    .send()
                    .await
                    .unwrap()
                    .tag_list()
                    .to_vec()
            });
            let tags = tags.iter().map(|t| (t.key(), t.value()));
            f.add("db subnet group", g.db_subnet_group_name(), tags);
        }

        let ssm = crate::ssm::Client::new(&sdk);
        for p in ssm.describe_parameters().send().await.unwrap().parameters() {
            let name = p.name().unwrap_or_default();
            // Parameters belong to an app by their path (/<app>/POSTGRES_HOST).
            let under = f.app.map(|app| format!("/{app}/"));
            if under.is_none_or(|prefix| name.starts_with(&prefix)) {
                f.add(
                    "ssm parameter",
                    Some(name),
                    plain([(TAG_APP, f.app.unwrap_or(""))]),
                );
            }
        }

        let sm = crate::secretsmanager::Client::new(&sdk);
        for s in sm.list_secrets().send().await.unwrap().secret_list() {
            if s.deleted_date().is_none() {
                f.add(
                    "secret",
                    s.name(),
                    s.tags().iter().map(|t| (t.key(), t.value())),
                );
            }
        }

        let elb = crate::elbv2::Client::new(&sdk);
        let mut arns: Vec<(&'static str, String)> = Vec::new();
        for lb in elb
            .describe_load_balancers()
            .send()
            .await
            .unwrap()
            .load_balancers()
        {
            let lb_arn = lb.load_balancer_arn().unwrap_or_default();
            arns.push(("load balancer", lb_arn.to_owned()));
            let listeners = elb
                .describe_listeners()
                .load_balancer_arn(lb_arn)
                .send()
                .await
                .unwrap();
            for l in listeners.listeners() {
                arns.push(("listener", l.listener_arn().unwrap_or_default().to_owned()));
            }
        }
        for tg in elb
            .describe_target_groups()
            .send()
            .await
            .unwrap()
            .target_groups()
        {
            arns.push((
                "target group",
                tg.target_group_arn().unwrap_or_default().to_owned(),
            ));
        }
        for (kind, arn) in arns {
            let tags: Vec<_> = read_tags!(f, {
                let out = elb
                    .describe_tags()
                    .resource_arns(&arn)
                    .send()
                    .await
                    .unwrap();
                out.tag_descriptions()
                    .iter()
                    .flat_map(|d| d.tags())
                    .cloned()
                    .collect()
            });
            f.add(kind, Some(&arn), tags.iter().map(|t| (t.key(), t.value())));
        }

        let ecr = crate::ecr::Client::new(&sdk);
        for r in ecr
            .describe_repositories()
            .send()
            .await
            .unwrap()
            .repositories()
        {
            let tags = read_tags!(f, {
                ecr.list_tags_for_resource()
                    .resource_arn(r.repository_arn().unwrap_or_default())
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .to_vec()
            });
            let tags = tags.iter().map(|t| (Some(t.key()), Some(t.value())));
            f.add("ecr repository", r.repository_name(), tags);
        }

        let logs = crate::logs::Client::new(&sdk);
        for g in logs
            .describe_log_groups()
            .send()
            .await
            .unwrap()
            .log_groups()
        {
            let name = g.log_group_name().unwrap_or_default();
            // CodeBuild makes its builds' group itself (AWS does the same); stagehand never
            // created it.
            if name.starts_with("/aws/codebuild/") {
                continue;
            }
            let tags = read_tags!(f, {
                logs.list_tags_for_resource()
                    .resource_arn(g.arn().unwrap_or_default().trim_end_matches(":*"))
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .cloned()
                    .unwrap_or_default()
            });
            f.add(
                "log group",
                Some(name),
                plain(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            );
        }

        let iam = crate::iam::Client::new(&sdk);
        for role in iam.list_roles().send().await.unwrap().roles() {
            if role.path().starts_with("/aws-service-role/") {
                continue;
            }
            let tags = read_tags!(f, {
                iam.list_role_tags()
                    .role_name(role.role_name())
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .to_vec()
            });
            let tags = tags.iter().map(|t| (Some(t.key()), Some(t.value())));
            f.add("iam role", Some(role.role_name()), tags);
        }

        let s3 = crate::s3::Client::from_conf(
            crate::s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            let name = b.name().unwrap_or_default();
            // An untagged bucket answers NoSuchTagSet: no tags.
            let tags = read_tags!(f, {
                match s3.get_bucket_tagging().bucket(name).send().await {
                    Ok(out) => out.tag_set().to_vec(),
                    Err(_) => Vec::new(),
                }
            });
            let tags = tags.iter().map(|t| (Some(t.key()), Some(t.value())));
            f.add("bucket", Some(name), tags);
        }

        let sns = crate::sns::Client::new(&sdk);
        for t in sns.list_topics().send().await.unwrap().topics() {
            let arn = t.topic_arn().unwrap_or_default();
            let tags = read_tags!(f, {
                sns.list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .to_vec()
            });
            let tags = tags.iter().map(|t| (Some(t.key()), Some(t.value())));
            f.add("sns topic", Some(arn), tags);
        }

        let cb = crate::codebuild::Client::new(&sdk);
        let projects = cb.list_projects().send().await.unwrap();
        if !projects.projects().is_empty() {
            let described = cb
                .batch_get_projects()
                .set_names(Some(projects.projects().to_vec()))
                .send()
                .await
                .unwrap();
            for p in described.projects() {
                let tags = p.tags().iter().map(|t| (t.key(), t.value()));
                f.add("codebuild project", p.name(), tags);
            }
        }

        let cp = crate::codepipeline::Client::new(&sdk);
        for p in cp.list_pipelines().send().await.unwrap().pipelines() {
            let name = p.name().unwrap_or_default();
            let tags = read_tags!(f, {
                let arn = format!(
                    "arn:aws:codepipeline:{}:{}:{name}",
                    crate::REGION,
                    crate::ACCOUNT
                );
                cp.list_tags_for_resource()
                    .resource_arn(arn)
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .to_vec()
            });
            let tags = tags.iter().map(|t| (Some(t.key()), Some(t.value())));
            f.add("pipeline", Some(name), tags);
        }

        let cs = crate::codestar::Client::new(&sdk);
        let rules = cs.list_notification_rules().send().await.unwrap();
        for r in rules.notification_rules() {
            let arn = r.arn().unwrap_or_default();
            let tags = read_tags!(f, {
                cs.describe_notification_rule()
                    .arn(arn)
                    .send()
                    .await
                    .unwrap()
                    .tags()
                    .cloned()
                    .unwrap_or_default()
            });
            f.add(
                "notification rule",
                Some(arn),
                plain(tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            );
        }
    });
    found.inv
}
