//! diff (pure) and apply: independent resources concurrently, then the task definition, then
//! the service, then the watched rollout.

use std::collections::BTreeSet;

use kit::{AwsContext, Cx, Error, Plan, Result, aws, field, wait};
use security_groups::{Peer, Rule, Rules};
use serde_json::Value;
use stackdoc::{PLANNED, Svc};

use crate::desired::{self, ContainerDef, Names, RoleKind, TaskDef};
use crate::observe::{Clients, EcsService, Observed, Role};
use crate::{Args, Inputs, Op, rollout};

/// The task definition svc-up wants, given the repository URI and role ARNs.
pub fn want_task_def(
    cx: &Cx,
    args: &Args,
    inputs: &Inputs,
    repo_uri: &str,
    exec_role: &str,
    task_role: &str,
) -> TaskDef {
    let n = Names::of(&cx.app);
    let port = i32::from(inputs.alb.container_port);
    let image = args
        .image
        .clone()
        .unwrap_or_else(|| format!("{repo_uri}:latest"));
    let mut secrets: std::collections::BTreeMap<String, String> =
        ["POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_USER"]
            .iter()
            .zip(&inputs.db.parameters)
            .map(|(name, p)| ((*name).to_owned(), p.arn.clone()))
            .collect();
    secrets.insert(
        "POSTGRES_PASSWORD".into(),
        inputs.secrets.db_password.arn.clone(),
    );
    secrets.insert(
        "GITHUB_TOKEN".into(),
        inputs.secrets.github_token.arn.clone(),
    );
    TaskDef {
        family: n.family.clone(),
        task_role_arn: task_role.to_owned(),
        execution_role_arn: exec_role.to_owned(),
        network_mode: "awsvpc".into(),
        requires_compatibilities: vec!["FARGATE".into()],
        cpu: args.cpu.to_string(),
        memory: args.memory.to_string(),
        containers: vec![ContainerDef {
            name: n.container.clone(),
            image,
            essential: true,
            ports: vec![(port, port, "tcp".into())],
            environment: [("BASE_URL".to_owned(), inputs.alb.url.clone())].into(),
            secrets,
            log_driver: "awslogs".into(),
            log_options: [
                ("awslogs-group".to_owned(), n.log_group.clone()),
                ("awslogs-region".to_owned(), cx.region.clone()),
                ("awslogs-stream-prefix".to_owned(), "ecs".to_owned()),
            ]
            .into(),
            init_process_enabled: true,
        }],
    }
}

fn repo_uri_guess(cx: &Cx, name: &str) -> String {
    let suffix = if cx.region.starts_with("cn-") {
        ".cn"
    } else {
        ""
    };
    format!(
        "{}.dkr.ecr.{}.amazonaws.com{suffix}/{name}",
        cx.account, cx.region
    )
}

fn task_rules(inputs: &Inputs) -> Rules {
    Rules {
        ingress: [Rule::tcp(
            inputs.alb.container_port,
            Peer::Group(inputs.alb.security_group_id.clone()),
        )]
        .into(),
        egress: [Rule::all(Peer::Cidr("0.0.0.0/0".into()))].into(),
    }
}

/// The service's settings svc-up wants (the task definition and group ids given).
pub struct WantService {
    pub desired_count: i32,
    pub task_definition: String,
    pub subnets: BTreeSet<String>,
    pub security_groups: BTreeSet<String>,
    pub load_balancers: BTreeSet<(String, String, i32)>,
    pub registries: BTreeSet<String>,
    pub grace_period: i32,
}

fn want_service(
    cx: &Cx,
    args: &Args,
    inputs: &Inputs,
    task_definition: &str,
    sg_id: &str,
    registry: &str,
) -> WantService {
    let n = Names::of(&cx.app);
    WantService {
        desired_count: args.desired_count as i32,
        task_definition: task_definition.to_owned(),
        subnets: inputs
            .core
            .private_subnets
            .iter()
            .map(|s| s.id.clone())
            .collect(),
        security_groups: [sg_id.to_owned(), inputs.db.client_security_group_id.clone()].into(),
        load_balancers: [(
            inputs.alb.target_group_arn.clone(),
            n.container.clone(),
            i32::from(inputs.alb.container_port),
        )]
        .into(),
        registries: [registry.to_owned()].into(),
        grace_period: args.health_check_grace_period,
    }
}

fn service_changes(have: &EcsService, want: &WantService) -> Vec<kit::Field> {
    let mut out = Vec::new();
    let list = |s: &BTreeSet<String>| s.iter().cloned().collect::<Vec<_>>().join(",");
    if have.desired_count != want.desired_count {
        out.push(field(
            "desired_count",
            have.desired_count,
            want.desired_count,
        ));
    }
    if have.task_definition != want.task_definition {
        out.push(field(
            "task_definition",
            &have.task_definition,
            &want.task_definition,
        ));
    }
    if have.subnets != want.subnets {
        out.push(field("subnets", list(&have.subnets), list(&want.subnets)));
    }
    if have.security_groups != want.security_groups {
        out.push(field(
            "security_groups",
            list(&have.security_groups),
            list(&want.security_groups),
        ));
    }
    if have.assign_public_ip != "DISABLED" {
        out.push(field(
            "assign_public_ip",
            &have.assign_public_ip,
            "DISABLED",
        ));
    }
    if have.load_balancers != want.load_balancers {
        out.push(field(
            "load_balancers",
            format!("{:?}", have.load_balancers),
            format!("{:?}", want.load_balancers),
        ));
    }
    if have.registries != want.registries {
        out.push(field(
            "service_registries",
            list(&have.registries),
            list(&want.registries),
        ));
    }
    if !have.enable_execute_command {
        out.push(field("enable_execute_command", false, true));
    }
    if have.circuit_breaker != (true, true) {
        out.push(field(
            "circuit_breaker(enable,rollback)",
            format!("{:?}", have.circuit_breaker),
            "(true, true)",
        ));
    }
    if have.grace_period != want.grace_period {
        out.push(field(
            "health_check_grace_period",
            have.grace_period,
            want.grace_period,
        ));
    }
    if have.propagate_tags != "SERVICE" {
        out.push(field("propagate_tags", &have.propagate_tags, "SERVICE"));
    }
    out
}

struct RoleWant {
    trust: Value,
    attached: Vec<String>,
    inline: Value,
}

fn role_want(cx: &Cx, inputs: &Inputs, which: RoleKind) -> RoleWant {
    match which {
        RoleKind::Execution => RoleWant {
            trust: desired::ecs_tasks_trust(),
            attached: vec![desired::managed_policy_arn(&cx.region)],
            inline: desired::exec_policy(&inputs.secret_arns(), &inputs.parameter_arns()),
        },
        RoleKind::Task => RoleWant {
            trust: desired::ecs_tasks_trust(),
            attached: vec![],
            inline: desired::ecs_exec_policy(),
        },
    }
}

fn diff_role(
    plan: &mut Plan<Op>,
    resource: String,
    which: RoleKind,
    have: Option<&Role>,
    want: &RoleWant,
) {
    let Some(have) = have else {
        plan.create(
            resource,
            Op::Role {
                which,
                create: true,
                trust: true,
                attach: want.attached.clone(),
                detach: vec![],
                inline: true,
            },
        );
        return;
    };
    let mut fields = Vec::new();
    let trust = have.trust.as_ref() != Some(&desired::normalise_policy(&want.trust));
    if trust {
        fields.push("trust policy: → ecs-tasks.amazonaws.com only".to_owned());
    }
    let attach: Vec<String> = want
        .attached
        .iter()
        .filter(|a| !have.attached.contains(a))
        .cloned()
        .collect();
    let detach: Vec<String> = have
        .attached
        .iter()
        .filter(|a| !want.attached.contains(a))
        .cloned()
        .collect();
    fields.extend(attach.iter().map(|a| format!("attach {a}")));
    fields.extend(detach.iter().map(|a| format!("detach {a}")));
    let inline = have.inline.as_ref() != Some(&desired::normalise_policy(&want.inline));
    if inline {
        fields.push(match have.inline {
            None => "inline policy: none → set".to_owned(),
            Some(_) => "inline policy: differs → set".to_owned(),
        });
    }
    let op = Op::Role {
        which,
        create: false,
        trust,
        attach,
        detach,
        inline,
    };
    if fields.is_empty() {
        plan.unchanged(resource, Op::Keep);
    } else {
        plan.update(resource, fields, op);
    }
}

pub fn diff(cx: &Cx, args: &Args, now: &Observed) -> Result<Plan<Op>> {
    let n = Names::of(&cx.app);
    let inputs = &now.inputs;
    let mut plan = Plan::new();

    // ECR repository
    let res = format!("ECR repository {}", n.repo);
    match &now.repo {
        None => plan.create(
            res,
            Op::Repo {
                create: true,
                scan: true,
                lifecycle: true,
            },
        ),
        Some(r) => {
            let mut fields = Vec::new();
            if !r.scan_on_push {
                fields.push(field("scan_on_push", false, true));
            }
            let lifecycle = r.lifecycle.as_ref() != Some(&desired::lifecycle_policy());
            if lifecycle {
                fields.push(
                    format!(
                        "lifecycle policy: → keep the last {} images",
                        desired::KEEP_IMAGES
                    )
                    .into(),
                );
            }
            if r.encryption != "AES256" {
                kit::warn!(
                    "ECR repository {} is encrypted with {}, not AES256; encryption cannot change, so it is left as it is",
                    r.name,
                    r.encryption
                );
            }
            if fields.is_empty() {
                plan.unchanged(res, Op::Keep);
            } else {
                plan.update(
                    res,
                    fields,
                    Op::Repo {
                        create: false,
                        scan: !r.scan_on_push,
                        lifecycle,
                    },
                );
            }
        }
    }

    // Log group
    let res = format!("log group {}", n.log_group);
    match &now.log_group {
        None => plan.create(
            res,
            Op::LogGroup {
                create: true,
                retention: true,
            },
        ),
        Some(g) if g.retention != Some(args.log_retention_days) => plan.update(
            res,
            vec![field(
                "retention_days",
                g.retention
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "never expire".into()),
                args.log_retention_days,
            )],
            Op::LogGroup {
                create: false,
                retention: true,
            },
        ),
        Some(_) => plan.unchanged(res, Op::Keep),
    }

    // Roles
    for (which, name, have) in [
        (RoleKind::Execution, &n.exec_role, now.exec_role.as_ref()),
        (RoleKind::Task, &n.task_role, now.task_role.as_ref()),
    ] {
        let want = role_want(cx, inputs, which);
        diff_role(&mut plan, format!("IAM role {name}"), which, have, &want);
    }

    // Task security group
    let res = format!("security group {}", n.sg);
    let rules = task_rules(inputs);
    match &now.sg {
        None => plan.create(res, Op::SecurityGroup { create: true }),
        Some(g) => {
            let changes = rules.changes_from(g);
            if changes.is_empty() {
                plan.unchanged(res, Op::Keep);
            } else {
                plan.update(res, changes, Op::SecurityGroup { create: false });
            }
        }
    }

    // Cloud Map service
    let res = format!("Cloud Map service {}", n.cloudmap);
    match &now.cloudmap {
        None => plan.create(
            res,
            Op::CloudMap {
                create: true,
                ttl: true,
            },
        ),
        Some(s) => {
            if s.routing != "MULTIVALUE"
                || s.record_type != "A"
                || s.failure_threshold != Some(desired::CLOUDMAP_FAILURE_THRESHOLD)
            {
                kit::warn!(
                    "Cloud Map service {} has routing {}, record {} and health-check failure threshold {:?}, which cannot be changed in place; svc-up --destroy and a rerun recreate it",
                    n.cloudmap,
                    s.routing,
                    s.record_type,
                    s.failure_threshold
                );
            }
            if s.ttl != Some(desired::CLOUDMAP_TTL) {
                plan.update(
                    res,
                    vec![field(
                        "ttl",
                        s.ttl.map(|t| t.to_string()).unwrap_or_default(),
                        desired::CLOUDMAP_TTL,
                    )],
                    Op::CloudMap {
                        create: false,
                        ttl: true,
                    },
                );
            } else {
                plan.unchanged(res, Op::Keep);
            }
        }
    }

    // Task definition
    let repo_uri = now
        .repo
        .as_ref()
        .map(|r| r.uri.clone())
        .unwrap_or_else(|| repo_uri_guess(cx, &n.repo));
    let role = |r: &Option<Role>, name: &str| {
        r.as_ref()
            .map(|r| r.arn.clone())
            .unwrap_or_else(|| desired::role_arn(&cx.region, &cx.account, name))
    };
    let want_td = want_task_def(
        cx,
        args,
        inputs,
        &repo_uri,
        &role(&now.exec_role, &n.exec_role),
        &role(&now.task_role, &n.task_role),
    );
    let res = format!("task definition {}", n.family);
    let td_arn = match &now.task_def {
        None => {
            plan.create(res, Op::TaskDef);
            format!("{}:(new revision)", n.family)
        }
        Some((arn, have)) if *have != want_td => {
            plan.update(res, have.changes_to(&want_td), Op::TaskDef);
            format!("{}:(new revision)", n.family)
        }
        Some((arn, _)) => {
            plan.unchanged(format!("{res} ({})", short_td(arn)), Op::Keep);
            arn.clone()
        }
    };

    // ECS service
    let res = format!("ECS service {}", n.service);
    let sg_id = now
        .sg
        .as_ref()
        .map(|g| g.id.clone())
        .unwrap_or_else(|| PLANNED.to_owned());
    let registry = now
        .cloudmap
        .as_ref()
        .map(|s| s.arn.clone())
        .unwrap_or_else(|| PLANNED.to_owned());
    let want = want_service(cx, args, inputs, &td_arn, &sg_id, &registry);
    match &now.service {
        None => plan.create(res, Op::Service { create: true }),
        Some(s) => {
            if s.launch_type != "FARGATE" && !s.launch_type.is_empty() {
                return Err(Error::usage(format!(
                    "ECS service {} runs on launch type {}, not FARGATE, which cannot change; delete it (svc-up --destroy) and rerun",
                    n.service, s.launch_type
                )));
            }
            let mut changes = service_changes(s, &want);
            if args.redeploy {
                changes.push("deployment: forced (--redeploy)".into());
            }
            if changes.is_empty() {
                plan.unchanged(res, Op::Keep);
            } else {
                plan.update(res, changes, Op::Service { create: false });
            }
        }
    }
    Ok(plan)
}

fn short_td(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn or_planned(v: Option<String>) -> String {
    v.unwrap_or_else(|| PLANNED.to_owned())
}

pub fn planned_section(cx: &Cx, _args: &Args, now: &Observed) -> Svc {
    let n = Names::of(&cx.app);
    Svc {
        image: None,
        secret_versions: Default::default(),
        repository_name: n.repo.clone(),
        repository_uri: or_planned(now.repo.as_ref().map(|r| r.uri.clone())),
        execution_role_arn: or_planned(now.exec_role.as_ref().map(|r| r.arn.clone())),
        task_role_arn: or_planned(now.task_role.as_ref().map(|r| r.arn.clone())),
        log_group: n.log_group.clone(),
        security_group_id: or_planned(now.sg.as_ref().map(|g| g.id.clone())),
        task_definition_arn: or_planned(now.task_def.as_ref().map(|t| t.0.clone())),
        cloudmap_service_arn: or_planned(now.cloudmap.as_ref().map(|s| s.arn.clone())),
        cluster_name: now.inputs.core.cluster_name.clone(),
        service_name: n.service.clone(),
        service_arn: or_planned(now.service.as_ref().map(|s| s.arn.clone())),
        container_name: n.container.clone(),
        container_port: now.inputs.alb.container_port,
    }
}

/// What the first phase produced.
enum Made {
    Nothing,
    Repo(String),
    Role(RoleKind, String),
    Sg(String),
    CloudMap(String),
}

pub async fn apply(cx: &Cx, args: &Args, now: Observed, plan: Plan<Op>) -> Result<Svc> {
    let c = Clients::new(cx);
    let n = Names::of(&cx.app);
    let inputs = &now.inputs;

    // Phase 1: everything that depends on nothing of ours, concurrently.
    let phase1 = plan
        .changes
        .iter()
        .map(|ch| run_independent(cx, &c, args, &now, &ch.op));
    let mut repo_uri = now.repo.as_ref().map(|r| r.uri.clone());
    let mut exec_arn = now.exec_role.as_ref().map(|r| r.arn.clone());
    let mut task_arn = now.task_role.as_ref().map(|r| r.arn.clone());
    let mut sg_id = now.sg.as_ref().map(|g| g.id.clone());
    let mut registry = now.cloudmap.as_ref().map(|s| s.arn.clone());
    for made in futures::future::try_join_all(phase1).await? {
        match made {
            Made::Nothing => {}
            Made::Repo(uri) => repo_uri = Some(uri),
            Made::Role(RoleKind::Execution, arn) => exec_arn = Some(arn),
            Made::Role(RoleKind::Task, arn) => task_arn = Some(arn),
            Made::Sg(id) => sg_id = Some(id),
            Made::CloudMap(arn) => registry = Some(arn),
        }
    }
    let missing = |what: &str| {
        Error::aws(format!(
            "{what} was not found after creating it; rerun svc-up"
        ))
    };
    let repo_uri = repo_uri.ok_or_else(|| missing("the ECR repository"))?;
    let exec_arn = exec_arn.ok_or_else(|| missing("the task execution role"))?;
    let task_arn = task_arn.ok_or_else(|| missing("the task role"))?;
    let sg_id = sg_id.ok_or_else(|| missing("the task security group"))?;
    let registry = registry.ok_or_else(|| missing("the Cloud Map service"))?;

    // Phase 2: the task definition.
    let want_td = want_task_def(cx, args, inputs, &repo_uri, &exec_arn, &task_arn);
    let registers = plan.changes.iter().any(|ch| matches!(ch.op, Op::TaskDef));
    let td_arn = match (&now.task_def, registers) {
        (Some((arn, have)), false) if *have == want_td => arn.clone(),
        _ => register_task_def(cx, &c, &want_td).await?,
    };

    // Phase 3: the service.
    let want = want_service(cx, args, inputs, &td_arn, &sg_id, &registry);
    let service_op = plan.changes.iter().find_map(|ch| match ch.op {
        Op::Service { create } => Some(create),
        _ => None,
    });
    let (service_arn, deployment) = match (service_op, &now.service) {
        (Some(true), _) | (_, None) => {
            let (arn, dep) = create_service(cx, &c, inputs, &n, &want).await?;
            (arn, Some(dep))
        }
        (Some(false), Some(_)) => {
            let (arn, dep) = update_service(cx, &c, args, inputs, &n, &want).await?;
            (arn, Some(dep))
        }
        (None, Some(s)) => (s.arn.clone(), None),
    };

    // Waiting: not without an image to run.
    let has_images = now.repo.as_ref().is_some_and(|r| r.has_images);
    if args.image.is_none() && !has_images {
        kit::warn!(
            "ECR repository {repo_uri} holds no image yet: the pipeline's first run (pipeline-up) builds and pushes {repo_uri}:latest and the service starts then; not waiting for the service to become stable"
        );
    } else if cx.no_wait() {
        kit::info!(
            "--no-wait: not waiting for ECS service {} to become stable",
            n.service
        );
    } else {
        rollout::wait(
            cx,
            &c.ecs,
            &inputs.core.cluster_arn,
            &n.service,
            deployment.as_deref(),
            &td_arn,
        )
        .await?;
    }

    Ok(Svc {
        image: None,
        secret_versions: Default::default(),
        repository_name: n.repo.clone(),
        repository_uri: repo_uri,
        execution_role_arn: exec_arn,
        task_role_arn: task_arn,
        log_group: n.log_group.clone(),
        security_group_id: sg_id,
        task_definition_arn: td_arn,
        cloudmap_service_arn: registry,
        cluster_name: inputs.core.cluster_name.clone(),
        service_name: n.service.clone(),
        service_arn,
        container_name: n.container.clone(),
        container_port: inputs.alb.container_port,
    })
}

async fn run_independent(
    cx: &Cx,
    c: &Clients,
    args: &Args,
    now: &Observed,
    op: &Op,
) -> Result<Made> {
    let n = Names::of(&cx.app);
    match op {
        Op::Repo {
            create,
            scan,
            lifecycle,
        } => ensure_repo(cx, c, &n, *create, *scan, *lifecycle).await,
        Op::LogGroup { create, retention } => {
            if *create {
                let made = c
                    .logs
                    .create_log_group()
                    .log_group_name(&n.log_group)
                    .set_tags(Some(cx.tags().clone().into_iter().collect()))
                    .send()
                    .await;
                match made {
                    Ok(_) => kit::info!("created log group {}", n.log_group),
                    Err(e) if aws::is_already_exists(&e) => {}
                    Err(e) => {
                        return Err(Error::aws(format!(
                            "creating log group {}: {}",
                            n.log_group,
                            aws::describe(&e)
                        )));
                    }
                }
            }
            if *retention {
                c.logs
                    .put_retention_policy()
                    .log_group_name(&n.log_group)
                    .retention_in_days(args.log_retention_days)
                    .send()
                    .await
                    .ctx(format!(
                        "setting the retention of log group {}",
                        n.log_group
                    ))?;
            }
            Ok(Made::Nothing)
        }
        Op::Role {
            which,
            create,
            trust,
            attach,
            detach,
            inline,
        } => {
            let arn = ensure_role(
                cx,
                c,
                &now.inputs,
                *which,
                *create,
                *trust,
                attach,
                detach,
                *inline,
            )
            .await?;
            Ok(Made::Role(*which, arn))
        }
        Op::SecurityGroup { create } => {
            let group = if *create {
                security_groups::create(
                    cx,
                    &c.ec2,
                    &now.inputs.core.vpc_id,
                    &n.sg,
                    &format!("stagehand svc: the Backstage tasks of {}", cx.app),
                )
                .await?
            } else {
                now.sg.clone().ok_or_else(|| {
                    Error::aws(format!("security group {} vanished; rerun svc-up", n.sg))
                })?
            };
            security_groups::reconcile(&c.ec2, &group, &task_rules(&now.inputs)).await?;
            Ok(Made::Sg(group.id))
        }
        Op::CloudMap { create, ttl } => {
            if *create {
                create_cloudmap(cx, c, &now.inputs, &n)
                    .await
                    .map(Made::CloudMap)
            } else {
                if *ttl {
                    let Some(s) = &now.cloudmap else {
                        return Ok(Made::Nothing);
                    };
                    update_cloudmap_ttl(c, &n, &s.id).await?;
                }
                Ok(Made::Nothing)
            }
        }
        Op::Keep | Op::TaskDef | Op::Service { .. } => Ok(Made::Nothing),
    }
}

async fn ensure_repo(
    cx: &Cx,
    c: &Clients,
    n: &Names,
    create: bool,
    scan: bool,
    lifecycle: bool,
) -> Result<Made> {
    use aws_sdk_ecr::types::{
        EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
        Tag,
    };
    let mut uri = None;
    if create {
        let tags = cx
            .tags()
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::aws(format!("building ECR tags: {e}")))?;
        let enc = EncryptionConfiguration::builder()
            .encryption_type(EncryptionType::Aes256)
            .build()
            .map_err(|e| Error::aws(format!("building ECR encryption: {e}")))?;
        let made = c
            .ecr
            .create_repository()
            .repository_name(&n.repo)
            .image_tag_mutability(ImageTagMutability::Mutable)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .encryption_configuration(enc)
            .set_tags(Some(tags))
            .send()
            .await;
        match made {
            Ok(out) => {
                uri = out
                    .repository()
                    .and_then(|r| r.repository_uri())
                    .map(str::to_owned);
                kit::info!("created ECR repository {}", n.repo);
            }
            Err(e) if aws::is_already_exists(&e) => {
                uri = crate::observe::find_repo(&c.ecr, &n.repo)
                    .await?
                    .map(|r| r.uri);
            }
            Err(e) => {
                return Err(Error::aws(format!(
                    "creating ECR repository {}: {}",
                    n.repo,
                    aws::describe(&e)
                )));
            }
        }
    } else if scan {
        c.ecr
            .put_image_scanning_configuration()
            .repository_name(&n.repo)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .send()
            .await
            .ctx(format!(
                "turning on scan on push for ECR repository {}",
                n.repo
            ))?;
    }
    if lifecycle {
        c.ecr
            .put_lifecycle_policy()
            .repository_name(&n.repo)
            .lifecycle_policy_text(desired::lifecycle_policy().to_string())
            .send()
            .await
            .ctx(format!(
                "setting the lifecycle policy of ECR repository {}",
                n.repo
            ))?;
    }
    Ok(uri.map(Made::Repo).unwrap_or(Made::Nothing))
}

#[allow(clippy::too_many_arguments)]
async fn ensure_role(
    cx: &Cx,
    c: &Clients,
    inputs: &Inputs,
    which: RoleKind,
    create: bool,
    trust: bool,
    attach: &[String],
    detach: &[String],
    inline: bool,
) -> Result<String> {
    use aws_sdk_iam::types::Tag;
    let n = Names::of(&cx.app);
    let (name, policy_name) = match which {
        RoleKind::Execution => (&n.exec_role, &n.exec_policy),
        RoleKind::Task => (&n.task_role, &n.task_policy),
    };
    let want = role_want(cx, inputs, which);
    let mut arn = desired::role_arn(&cx.region, &cx.account, name);
    if create {
        let tags = cx
            .tags()
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::aws(format!("building IAM tags: {e}")))?;
        let description = match which {
            RoleKind::Execution => format!(
                "stagehand svc: ECS pulls the image, writes logs and reads the secrets of {}",
                cx.app
            ),
            RoleKind::Task => format!("stagehand svc: the {} container (ECS Exec only)", cx.app),
        };
        let made = c
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(want.trust.to_string())
            .description(description)
            .set_tags(Some(tags))
            .send()
            .await;
        match made {
            Ok(out) => {
                if let Some(r) = out.role() {
                    arn = r.arn().to_owned();
                }
                kit::info!("created IAM role {name}");
            }
            Err(e) if aws::is_already_exists(&e) => {
                c.iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(want.trust.to_string())
                    .send()
                    .await
                    .ctx(format!("setting the trust policy of IAM role {name}"))?;
            }
            Err(e) => {
                return Err(Error::aws(format!(
                    "creating IAM role {name}: {}",
                    aws::describe(&e)
                )));
            }
        }
    } else if trust {
        c.iam
            .update_assume_role_policy()
            .role_name(name)
            .policy_document(want.trust.to_string())
            .send()
            .await
            .ctx(format!("setting the trust policy of IAM role {name}"))?;
    }
    // A role IAM has just made may not be visible to every IAM endpoint yet: NoSuchEntity
    // is retried with backoff until the deadline.
    let attaches = attach.iter().map(|p| async move {
        wait::retrying(
            cx,
            &format!("attaching {p} to IAM role {name}"),
            role_not_visible,
            move || {
                c.iam
                    .attach_role_policy()
                    .role_name(name)
                    .policy_arn(p)
                    .send()
            },
        )
        .await
    });
    futures::future::try_join_all(attaches).await?;
    for p in detach {
        c.iam
            .detach_role_policy()
            .role_name(name)
            .policy_arn(p)
            .send()
            .await
            .ctx(format!("detaching {p} from IAM role {name}"))?;
        kit::info!("detached {p} from IAM role {name}: svc-up grants nothing wider");
    }
    if inline {
        let doc = want.inline.to_string();
        wait::retrying(
            cx,
            &format!("setting policy {policy_name} of IAM role {name}"),
            role_not_visible,
            || {
                c.iam
                    .put_role_policy()
                    .role_name(name)
                    .policy_name(policy_name)
                    .policy_document(&doc)
                    .send()
            },
        )
        .await?;
    }
    Ok(arn)
}

async fn create_cloudmap(cx: &Cx, c: &Clients, inputs: &Inputs, n: &Names) -> Result<String> {
    use aws_sdk_servicediscovery::types::{
        DnsConfig, DnsRecord, HealthCheckCustomConfig, RecordType, RoutingPolicy, Tag,
    };
    let build = |e: aws_sdk_servicediscovery::error::BuildError| {
        Error::aws(format!("building the Cloud Map request: {e}"))
    };
    let record = DnsRecord::builder()
        .r#type(RecordType::A)
        .ttl(desired::CLOUDMAP_TTL)
        .build()
        .map_err(build)?;
    let dns = DnsConfig::builder()
        .routing_policy(RoutingPolicy::Multivalue)
        .dns_records(record)
        .build()
        .map_err(build)?;
    let tags = cx
        .tags()
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(build)?;
    let made =
        c.sd.create_service()
            .name(&n.cloudmap)
            .namespace_id(&inputs.core.namespace_id)
            .description(format!("stagehand svc: the tasks of {}", cx.app))
            .dns_config(dns)
            .health_check_custom_config(
                // AWS now fixes the threshold at 1 and deprecates setting it; it is sent anyway
                // so that the service says so explicitly, as the seed's does.
                #[allow(deprecated)]
                HealthCheckCustomConfig::builder()
                    .failure_threshold(desired::CLOUDMAP_FAILURE_THRESHOLD)
                    .build(),
            )
            .creator_request_id(format!("stagehand-{}-{}", cx.app, inputs.core.namespace_id))
            .set_tags(Some(tags))
            .send()
            .await;
    match made {
        Ok(out) => {
            kit::info!("created Cloud Map service {}", n.cloudmap);
            Ok(out
                .service()
                .and_then(|s| s.arn())
                .unwrap_or_default()
                .to_owned())
        }
        Err(e) if aws::is_already_exists(&e) => {
            crate::observe::find_cloudmap(&c.sd, &inputs.core.namespace_id, &n.cloudmap)
                .await?
                .map(|s| s.arn)
                .ok_or_else(|| {
                    Error::aws(format!(
                        "Cloud Map service {} exists but is not in namespace {}",
                        n.cloudmap, inputs.core.namespace_name
                    ))
                })
        }
        Err(e) => Err(Error::aws(format!(
            "creating Cloud Map service {}: {}",
            n.cloudmap,
            aws::describe(&e)
        ))),
    }
}

async fn update_cloudmap_ttl(c: &Clients, n: &Names, id: &str) -> Result<()> {
    use aws_sdk_servicediscovery::types::{DnsConfigChange, DnsRecord, RecordType, ServiceChange};
    let build = |e: aws_sdk_servicediscovery::error::BuildError| {
        Error::aws(format!("building the Cloud Map request: {e}"))
    };
    let change = ServiceChange::builder()
        .dns_config(
            DnsConfigChange::builder()
                .dns_records(
                    DnsRecord::builder()
                        .r#type(RecordType::A)
                        .ttl(desired::CLOUDMAP_TTL)
                        .build()
                        .map_err(build)?,
                )
                .build()
                .map_err(build)?,
        )
        .build();
    c.sd.update_service()
        .id(id)
        .service(change)
        .send()
        .await
        .ctx(format!(
            "setting the TTL of Cloud Map service {}",
            n.cloudmap
        ))?;
    Ok(())
}

async fn register_task_def(cx: &Cx, c: &Clients, td: &TaskDef) -> Result<String> {
    use aws_sdk_ecs::types::{
        Compatibility, ContainerDefinition, KeyValuePair, LinuxParameters, LogConfiguration,
        LogDriver, NetworkMode, PortMapping, Secret, Tag, TransportProtocol,
    };
    let build = |e: aws_sdk_ecs::error::BuildError| {
        Error::aws(format!("building the task definition: {e}"))
    };
    let mut containers = Vec::new();
    for ct in &td.containers {
        let mut b = ContainerDefinition::builder()
            .name(&ct.name)
            .image(&ct.image)
            .essential(ct.essential)
            .linux_parameters(
                LinuxParameters::builder()
                    .init_process_enabled(ct.init_process_enabled)
                    .build(),
            );
        for (cport, hport, proto) in &ct.ports {
            b = b.port_mappings(
                PortMapping::builder()
                    .container_port(*cport)
                    .host_port(*hport)
                    .protocol(TransportProtocol::from(proto.as_str()))
                    .build(),
            );
        }
        for (k, v) in &ct.environment {
            b = b.environment(KeyValuePair::builder().name(k).value(v).build());
        }
        for (k, v) in &ct.secrets {
            b = b.secrets(
                Secret::builder()
                    .name(k)
                    .value_from(v)
                    .build()
                    .map_err(build)?,
            );
        }
        let mut log =
            LogConfiguration::builder().log_driver(LogDriver::from(ct.log_driver.as_str()));
        for (k, v) in &ct.log_options {
            log = log.options(k, v);
        }
        b = b.log_configuration(log.build().map_err(build)?);
        containers.push(b.build());
    }
    let out = c
        .ecs
        .register_task_definition()
        .family(&td.family)
        .task_role_arn(&td.task_role_arn)
        .execution_role_arn(&td.execution_role_arn)
        .network_mode(NetworkMode::from(td.network_mode.as_str()))
        .set_requires_compatibilities(Some(
            td.requires_compatibilities
                .iter()
                .map(|c| Compatibility::from(c.as_str()))
                .collect(),
        ))
        .cpu(&td.cpu)
        .memory(&td.memory)
        .set_container_definitions(Some(containers))
        .set_tags(Some(
            cx.tags()
                .iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect(),
        ))
        .send()
        .await
        .ctx(format!("registering task definition {}", td.family))?;
    let arn = out
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!("registered task definition {}", short_td(&arn));
    Ok(arn)
}

/// IAM answers NoSuchEntity "The role with name X cannot be found" for a role it has just
/// made, for a moment (a missing policy is a different message and is not retried).
fn role_not_visible<E: aws_sdk_iam::error::ProvideErrorMetadata>(e: &E) -> bool {
    aws::is_not_found(e)
        && e.message()
            .is_some_and(|m| m.to_ascii_lowercase().contains("role"))
}

fn network(want: &WantService) -> Result<aws_sdk_ecs::types::NetworkConfiguration> {
    use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration};
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(want.subnets.iter().cloned().collect()))
        .set_security_groups(Some(want.security_groups.iter().cloned().collect()))
        .assign_public_ip(AssignPublicIp::Disabled)
        .build()
        .map_err(|e| Error::aws(format!("building the network configuration: {e}")))?;
    Ok(NetworkConfiguration::builder()
        .awsvpc_configuration(vpc)
        .build())
}

fn deployment_configuration() -> aws_sdk_ecs::types::DeploymentConfiguration {
    use aws_sdk_ecs::types::{DeploymentCircuitBreaker, DeploymentConfiguration};
    DeploymentConfiguration::builder()
        .deployment_circuit_breaker(
            DeploymentCircuitBreaker::builder()
                .enable(true)
                .rollback(true)
                .build(),
        )
        .maximum_percent(200)
        .minimum_healthy_percent(100)
        .build()
}

fn load_balancers(want: &WantService) -> Vec<aws_sdk_ecs::types::LoadBalancer> {
    want.load_balancers
        .iter()
        .map(|(tg, name, port)| {
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(tg)
                .container_name(name)
                .container_port(*port)
                .build()
        })
        .collect()
}

fn registries(want: &WantService) -> Vec<aws_sdk_ecs::types::ServiceRegistry> {
    want.registries
        .iter()
        .map(|r| {
            aws_sdk_ecs::types::ServiceRegistry::builder()
                .registry_arn(r)
                .build()
        })
        .collect()
}

fn primary_deployment(s: Option<&aws_sdk_ecs::types::Service>) -> String {
    s.and_then(|s| {
        s.deployments()
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.id())
    })
    .unwrap_or_default()
    .to_owned()
}

async fn create_service(
    cx: &Cx,
    c: &Clients,
    inputs: &Inputs,
    n: &Names,
    want: &WantService,
) -> Result<(String, String)> {
    use aws_sdk_ecs::types::{LaunchType, PropagateTags, Tag};
    let net = network(want)?;
    let out = wait::retrying(
        cx,
        &format!("creating ECS service {}", n.service),
        aws::is_role_propagating,
        || {
            c.ecs
                .create_service()
                .cluster(&inputs.core.cluster_arn)
                .service_name(&n.service)
                .task_definition(&want.task_definition)
                .desired_count(want.desired_count)
                .launch_type(LaunchType::Fargate)
                .network_configuration(net.clone())
                .set_load_balancers(Some(load_balancers(want)))
                .set_service_registries(Some(registries(want)))
                .enable_execute_command(true)
                .deployment_configuration(deployment_configuration())
                .health_check_grace_period_seconds(want.grace_period)
                .propagate_tags(PropagateTags::Service)
                .set_tags(Some(
                    cx.tags()
                        .iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
        },
    )
    .await?;
    let arn = out
        .service()
        .and_then(|s| s.service_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!(
        "created ECS service {} in cluster {}",
        n.service,
        inputs.core.cluster_name
    );
    Ok((arn, primary_deployment(out.service())))
}

async fn update_service(
    cx: &Cx,
    c: &Clients,
    args: &Args,
    inputs: &Inputs,
    n: &Names,
    want: &WantService,
) -> Result<(String, String)> {
    use aws_sdk_ecs::types::PropagateTags;
    let net = network(want)?;
    let out = wait::retrying(
        cx,
        &format!("updating ECS service {}", n.service),
        aws::is_role_propagating,
        || {
            c.ecs
                .update_service()
                .cluster(&inputs.core.cluster_arn)
                .service(&n.service)
                .task_definition(&want.task_definition)
                .desired_count(want.desired_count)
                .network_configuration(net.clone())
                .set_load_balancers(Some(load_balancers(want)))
                .set_service_registries(Some(registries(want)))
                .enable_execute_command(true)
                .deployment_configuration(deployment_configuration())
                .health_check_grace_period_seconds(want.grace_period)
                .propagate_tags(PropagateTags::Service)
                .force_new_deployment(args.redeploy)
                .send()
        },
    )
    .await?;
    let arn = out
        .service()
        .and_then(|s| s.service_arn())
        .unwrap_or_default()
        .to_owned();
    kit::info!("updated ECS service {}", n.service);
    Ok((arn, primary_deployment(out.service())))
}
