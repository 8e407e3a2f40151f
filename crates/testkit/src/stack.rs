//! Whole-stack tests: a stack document in a temporary directory, the project's scripts run on
//! it (up.sh, down.sh, plan.sh, step.sh, make), and an independent inventory of what an app
//! has in the account, read by its tags (never from the document or the tools' output).

use std::path::PathBuf;
use std::sync::Arc;

use crate::{Emulator, Output, Tool, Value};

/// The GitHub token every whole-stack test uses unless it sets its own.
pub const TOKEN: &str = "ghp_StackTestToken00000000000000000000";

/// A stack document (`stack.json` in a directory of its own) on an emulator, for one app.
/// Several stacks may share one emulator ([`Stack::another_app`]), as apps share an account.
pub struct Stack {
    pub emu: Arc<Emulator>,
    pub dir: PathBuf,
    /// `--app` through STAGEHAND_APP; None is the default app (backstage).
    pub app: Option<String>,
    pub token: String,
}

impl Stack {
    /// A stack on a new emulator; `name` keeps parallel tests' directories apart.
    pub fn new(name: &str) -> Stack {
        Stack::on(Arc::new(Emulator::start()), name, None)
    }

    /// A stack of another app on the same emulator (the same account).
    pub fn another_app(&self, app: &str) -> Stack {
        Stack::on(
            self.emu.clone(),
            &format!("app-{app}"),
            Some(app.to_owned()),
        )
    }

    fn on(emu: Arc<Emulator>, name: &str, app: Option<String>) -> Stack {
        let dir = std::env::temp_dir().join(format!(
            "stagehand-e2e-{name}-{}-{}",
            std::process::id(),
            emu.url.rsplit(':').next().unwrap_or_default()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Stack {
            emu,
            dir,
            app,
            token: TOKEN.to_owned(),
        }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.join("stack.json")
    }

    /// The saved document.
    pub fn doc(&self) -> Value {
        let text = std::fs::read_to_string(self.path())
            .unwrap_or_else(|e| panic!("reading {}: {e}", self.path().display()));
        serde_json::from_str(&text).unwrap()
    }

    /// The app's name as the tools use it.
    pub fn app_name(&self) -> &str {
        self.app.as_deref().unwrap_or("backstage")
    }

    /// A script of the project on this stack, as a user runs it: STACK, GITHUB_TOKEN,
    /// REPO_OWNER/REPO_NAME and AUTO_APPROVE set (and STAGEHAND_APP for another app).
    pub fn script(&self, path: &str) -> Tool {
        let mut tool = self
            .emu
            .script(path)
            .env("STACK", self.path())
            .env("GITHUB_TOKEN", &self.token)
            .env("REPO_OWNER", "example-org")
            .env("REPO_NAME", "backstage-app")
            .env("AUTO_APPROVE", "1");
        if let Some(app) = &self.app {
            tool = tool.env("STAGEHAND_APP", app);
        }
        tool
    }

    /// `scripts/up.sh`, which must succeed without showing the token.
    pub fn up(&self) -> Output {
        self.ok(self.script("scripts/up.sh"), "up.sh")
    }

    /// `scripts/down.sh`, which must succeed without showing the token.
    pub fn down(&self) -> Output {
        self.ok(self.script("scripts/down.sh"), "down.sh")
    }

    /// Runs `tool` and asserts exit 0 and that the token never shows.
    pub fn ok(&self, tool: Tool, what: &str) -> Output {
        let out = tool.run();
        assert_eq!(out.code, 0, "{what} failed:\n{}", out.stderr);
        out.assert_never_shows(&self.token);
        out
    }

    /// Everything in the account tagged with (or, for SSM parameters, named under) this app.
    pub fn leftovers(&self) -> Vec<String> {
        inventory(&self.emu, self.app_name())
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

const TAG_APP: &str = "stagehand:app";

fn tagged<'a>(
    tags: impl IntoIterator<Item = (Option<&'a str>, Option<&'a str>)>,
    app: &str,
) -> bool {
    tags.into_iter()
        .any(|(k, v)| k == Some(TAG_APP) && v == Some(app))
}

/// What the account holds of `app`, one line per resource ("vpc vpc-…", "db cluster …"), read
/// resource by resource with its tags: a resource of another app is never listed. A deleted
/// NAT gateway, an inactive ECS cluster and a secret in its recovery window count as gone
/// (AWS lists them for a while); final snapshots are the teardown's intent and not listed.
pub fn inventory(emu: &Emulator, app: &str) -> Vec<String> {
    let sdk = emu.sdk();
    let mut left = Vec::new();
    emu.block_on(async {
        let filter = || {
            crate::ec2::types::Filter::builder()
                .name(format!("tag:{TAG_APP}"))
                .values(app)
                .build()
        };
        let ec2 = crate::ec2::Client::new(&sdk);
        let out = ec2.describe_vpcs().filters(filter()).send().await.unwrap();
        left.extend(
            out.vpcs()
                .iter()
                .map(|v| format!("vpc {}", v.vpc_id().unwrap_or_default())),
        );
        let out = ec2
            .describe_subnets()
            .filters(filter())
            .send()
            .await
            .unwrap();
        left.extend(
            out.subnets()
                .iter()
                .map(|v| format!("subnet {}", v.subnet_id().unwrap_or_default())),
        );
        let out = ec2
            .describe_security_groups()
            .filters(filter())
            .send()
            .await
            .unwrap();
        left.extend(
            out.security_groups()
                .iter()
                .map(|v| format!("security group {}", v.group_id().unwrap_or_default())),
        );
        let out = ec2
            .describe_internet_gateways()
            .filters(filter())
            .send()
            .await
            .unwrap();
        left.extend(out.internet_gateways().iter().map(|v| {
            format!(
                "internet gateway {}",
                v.internet_gateway_id().unwrap_or_default()
            )
        }));
        let out = ec2
            .describe_route_tables()
            .filters(filter())
            .send()
            .await
            .unwrap();
        left.extend(
            out.route_tables()
                .iter()
                .map(|v| format!("route table {}", v.route_table_id().unwrap_or_default())),
        );
        let out = ec2
            .describe_addresses()
            .filters(filter())
            .send()
            .await
            .unwrap();
        left.extend(
            out.addresses()
                .iter()
                .map(|v| format!("elastic ip {}", v.allocation_id().unwrap_or_default())),
        );
        let out = ec2
            .describe_nat_gateways()
            .filter(filter())
            .send()
            .await
            .unwrap();
        left.extend(
            out.nat_gateways()
                .iter()
                // moto's DescribeNatGateways ignores tag filters: check the tags here.
                .filter(|n| tagged(n.tags().iter().map(|t| (t.key(), t.value())), app))
                .filter(|n| n.state().map(|s| s.as_str()) != Some("deleted"))
                .map(|v| format!("nat gateway {}", v.nat_gateway_id().unwrap_or_default())),
        );

        let rds = crate::rds::Client::new(&sdk);
        let out = rds.describe_db_clusters().send().await.unwrap();
        for c in out.db_clusters() {
            if tagged(c.tag_list().iter().map(|t| (t.key(), t.value())), app) {
                left.push(format!(
                    "db cluster {}",
                    c.db_cluster_identifier().unwrap_or_default()
                ));
            }
        }
        let out = rds.describe_db_instances().send().await.unwrap();
        for i in out.db_instances() {
            if tagged(i.tag_list().iter().map(|t| (t.key(), t.value())), app) {
                left.push(format!(
                    "db instance {}",
                    i.db_instance_identifier().unwrap_or_default()
                ));
            }
        }
        let out = rds.describe_db_subnet_groups().send().await.unwrap();
        for g in out.db_subnet_groups() {
            let tags = rds
                .list_tags_for_resource()
                .resource_name(g.db_subnet_group_arn().unwrap_or_default())
                .send()
                .await
                .unwrap();
            if tagged(tags.tag_list().iter().map(|t| (t.key(), t.value())), app) {
                left.push(format!(
                    "db subnet group {}",
                    g.db_subnet_group_name().unwrap_or_default()
                ));
            }
        }

        let ssm = crate::ssm::Client::new(&sdk);
        let out = ssm
            .get_parameters_by_path()
            .path(format!("/{app}"))
            .recursive(true)
            .send()
            .await
            .unwrap();
        left.extend(
            out.parameters()
                .iter()
                .map(|p| format!("parameter {}", p.name().unwrap_or_default())),
        );

        let sm = crate::secretsmanager::Client::new(&sdk);
        let out = sm.list_secrets().send().await.unwrap();
        for s in out.secret_list() {
            if s.deleted_date().is_none()
                && tagged(s.tags().iter().map(|t| (t.key(), t.value())), app)
            {
                left.push(format!("secret {}", s.name().unwrap_or_default()));
            }
        }

        let elb = crate::elbv2::Client::new(&sdk);
        let lbs = elb.describe_load_balancers().send().await.unwrap();
        let tgs = elb.describe_target_groups().send().await.unwrap();
        let arns: Vec<(String, String)> = lbs
            .load_balancers()
            .iter()
            .map(|l| {
                (
                    format!(
                        "load balancer {}",
                        l.load_balancer_name().unwrap_or_default()
                    ),
                    l.load_balancer_arn().unwrap_or_default().to_owned(),
                )
            })
            .chain(tgs.target_groups().iter().map(|t| {
                (
                    format!("target group {}", t.target_group_name().unwrap_or_default()),
                    t.target_group_arn().unwrap_or_default().to_owned(),
                )
            }))
            .collect();
        for (what, arn) in arns {
            let tags = elb
                .describe_tags()
                .resource_arns(&arn)
                .send()
                .await
                .unwrap();
            let pairs = tags
                .tag_descriptions()
                .iter()
                .flat_map(|d| d.tags())
                .map(|t| (t.key(), t.value()));
            if tagged(pairs, app) {
                left.push(what);
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
                if c.status() == Some("ACTIVE")
                    && tagged(c.tags().iter().map(|t| (t.key(), t.value())), app)
                {
                    left.push(format!(
                        "ecs cluster {}",
                        c.cluster_name().unwrap_or_default()
                    ));
                }
            }
        }

        let sd = crate::servicediscovery::Client::new(&sdk);
        let namespaces = sd.list_namespaces().send().await.unwrap();
        let services = sd.list_services().send().await.unwrap();
        let arns: Vec<(String, String)> = namespaces
            .namespaces()
            .iter()
            .map(|n| {
                (
                    format!("namespace {}", n.name().unwrap_or_default()),
                    n.arn().unwrap_or_default().to_owned(),
                )
            })
            .chain(services.services().iter().map(|s| {
                (
                    format!("cloud map service {}", s.name().unwrap_or_default()),
                    s.arn().unwrap_or_default().to_owned(),
                )
            }))
            .collect();
        for (what, arn) in arns {
            let tags = sd
                .list_tags_for_resource()
                .resource_arn(&arn)
                .send()
                .await
                .unwrap();
            if tagged(
                tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                app,
            ) {
                left.push(what);
            }
        }

        let ecr = crate::ecr::Client::new(&sdk);
        let repos = ecr.describe_repositories().send().await.unwrap();
        for r in repos.repositories() {
            let tags = ecr
                .list_tags_for_resource()
                .resource_arn(r.repository_arn().unwrap_or_default())
                .send()
                .await
                .unwrap();
            if tagged(
                tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                app,
            ) {
                left.push(format!(
                    "ecr repository {}",
                    r.repository_name().unwrap_or_default()
                ));
            }
        }

        let logs = crate::logs::Client::new(&sdk);
        let groups = logs.describe_log_groups().send().await.unwrap();
        for g in groups.log_groups() {
            let tags = logs
                .list_tags_for_resource()
                .resource_arn(g.arn().unwrap_or_default().trim_end_matches(":*"))
                .send()
                .await
                .unwrap();
            let pairs = tags
                .tags()
                .into_iter()
                .flatten()
                .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())));
            if tagged(pairs, app) {
                left.push(format!(
                    "log group {}",
                    g.log_group_name().unwrap_or_default()
                ));
            }
        }

        let iam = crate::iam::Client::new(&sdk);
        for role in iam.list_roles().send().await.unwrap().roles() {
            let tags = iam
                .list_role_tags()
                .role_name(role.role_name())
                .send()
                .await
                .unwrap();
            if tagged(
                tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                app,
            ) {
                left.push(format!("role {}", role.role_name()));
            }
        }

        let s3 = crate::s3::Client::from_conf(
            crate::s3::config::Builder::from(&sdk)
                .force_path_style(true)
                .build(),
        );
        for b in s3.list_buckets().send().await.unwrap().buckets() {
            let name = b.name().unwrap_or_default();
            // An untagged bucket answers NoSuchTagSet: not the app's.
            if let Ok(tags) = s3.get_bucket_tagging().bucket(name).send().await
                && tagged(
                    tags.tag_set()
                        .iter()
                        .map(|t| (Some(t.key()), Some(t.value()))),
                    app,
                )
            {
                left.push(format!("bucket {name}"));
            }
        }

        let sns = crate::sns::Client::new(&sdk);
        for t in sns.list_topics().send().await.unwrap().topics() {
            let arn = t.topic_arn().unwrap_or_default();
            let tags = sns
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .unwrap();
            if tagged(
                tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                app,
            ) {
                left.push(format!("topic {arn}"));
            }
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
                if tagged(p.tags().iter().map(|t| (t.key(), t.value())), app) {
                    left.push(format!(
                        "codebuild project {}",
                        p.name().unwrap_or_default()
                    ));
                }
            }
        }

        let cp = crate::codepipeline::Client::new(&sdk);
        for p in cp.list_pipelines().send().await.unwrap().pipelines() {
            let name = p.name().unwrap_or_default();
            let arn = format!(
                "arn:aws:codepipeline:{}:{}:{name}",
                crate::REGION,
                crate::ACCOUNT
            );
            let tags = cp
                .list_tags_for_resource()
                .resource_arn(arn)
                .send()
                .await
                .unwrap();
            if tagged(
                tags.tags().iter().map(|t| (Some(t.key()), Some(t.value()))),
                app,
            ) {
                left.push(format!("pipeline {name}"));
            }
        }

        let cs = crate::codestar::Client::new(&sdk);
        for r in cs
            .list_notification_rules()
            .send()
            .await
            .unwrap()
            .notification_rules()
        {
            let arn = r.arn().unwrap_or_default();
            let rule = cs
                .describe_notification_rule()
                .arn(arn)
                .send()
                .await
                .unwrap();
            let pairs = rule
                .tags()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (Some(k.as_str()), Some(v.as_str())))
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            if tagged(pairs, app) {
                left.push(format!("notification rule {arn}"));
            }
        }
    });
    left
}
