//! Issue 16, least privilege: the tasks' group lets out HTTPS only; the execution role may do
//! what the ECS agent does at task start for this task and nothing wider; both roles trust
//! ECS tasks of this account only. A stack made before is narrowed by a rerun.

use std::collections::{BTreeMap, BTreeSet};

use testkit::{ACCOUNT, Emulator, Value, ec2, iam};

use crate::common::*;

const MANAGED: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

fn inline(emu: &Emulator, role: &str) -> BTreeMap<String, Value> {
    let c = iam::Client::new(&emu.sdk());
    let names = emu
        .block_on(c.list_role_policies().role_name(role).send())
        .unwrap();
    names
        .policy_names()
        .iter()
        .map(|n| {
            let p = emu
                .block_on(c.get_role_policy().role_name(role).policy_name(n).send())
                .unwrap();
            (n.clone(), decoded_policy(p.policy_document()))
        })
        .collect()
}

fn managed(emu: &Emulator, role: &str) -> Vec<String> {
    let c = iam::Client::new(&emu.sdk());
    emu.block_on(c.list_attached_role_policies().role_name(role).send())
        .unwrap()
        .attached_policies()
        .iter()
        .map(|p| p.policy_arn().unwrap().to_owned())
        .collect()
}

/// Action → resources over every Allow statement.
fn grants(policy: &Value) -> BTreeMap<String, BTreeSet<String>> {
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for st in policy["Statement"].as_array().unwrap() {
        assert_eq!(st["Effect"], "Allow");
        for action in as_set(&st["Action"]) {
            out.entry(action)
                .or_default()
                .extend(as_set(&st["Resource"]));
        }
    }
    out
}

/// One egress rule: protocol, from port, to port, CIDRs.
type Egress = (String, Option<i32>, Option<i32>, Vec<String>);

fn egress(emu: &Emulator, group: &str) -> Vec<Egress> {
    let c = ec2::Client::new(&emu.sdk());
    let sg = emu
        .block_on(c.describe_security_groups().group_ids(group).send())
        .unwrap()
        .security_groups()[0]
        .clone();
    sg.ip_permissions_egress()
        .iter()
        .map(|p| {
            (
                p.ip_protocol().unwrap_or_default().to_owned(),
                p.from_port(),
                p.to_port(),
                p.ip_ranges()
                    .iter()
                    .filter_map(|r| r.cidr_ip().map(str::to_owned))
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn the_task_and_its_roles_get_exactly_what_they_use() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &[]);
    let svc = &doc["svc"];

    // Tasks: 7007 in from the ALB's group only; out, HTTPS only.
    let c = ec2::Client::new(&emu.sdk());
    let sg = emu
        .block_on(
            c.describe_security_groups()
                .group_ids(svc["security_group_id"].as_str().unwrap())
                .send(),
        )
        .unwrap()
        .security_groups()[0]
        .clone();
    let ingress = sg.ip_permissions();
    assert_eq!(ingress.len(), 1);
    assert_eq!(
        (ingress[0].from_port(), ingress[0].to_port()),
        (Some(7007), Some(7007))
    );
    assert!(
        ingress[0].ip_ranges().is_empty(),
        "no CIDR may reach the tasks"
    );
    assert_eq!(
        ingress[0].user_id_group_pairs()[0].group_id(),
        input["alb"]["security_group_id"].as_str()
    );
    assert_eq!(
        egress(&emu, svc["security_group_id"].as_str().unwrap()),
        [(
            "tcp".to_owned(),
            Some(443),
            Some(443),
            vec!["0.0.0.0/0".to_owned()]
        )]
    );

    // Both roles trust ECS tasks of this account only.
    let iamc = iam::Client::new(&emu.sdk());
    for role in ["unicorn-ui-task-execution", "unicorn-ui-task"] {
        let r = emu
            .block_on(iamc.get_role().role_name(role).send())
            .unwrap()
            .role
            .unwrap();
        assert!(tags_ok(r.tags().iter().map(|t| (t.key(), t.value()))));
        let trust = decoded_policy(r.assume_role_policy_document().unwrap());
        let st = &trust["Statement"][0];
        assert_eq!(
            as_set(&st["Principal"]["Service"]),
            ["ecs-tasks.amazonaws.com".to_owned()].into()
        );
        assert_eq!(
            as_set(&st["Condition"]["StringEquals"]["aws:SourceAccount"]),
            [ACCOUNT.to_owned()].into(),
            "{role}"
        );
        assert!(managed(&emu, role).is_empty(), "{role}: no managed policy");
    }

    // The execution role: pull from the repository, write the log group, read the two secrets
    // and three parameters; ecr:GetAuthorizationToken is the one "*".
    let policies = inline(&emu, "unicorn-ui-task-execution");
    assert_eq!(policies.len(), 1, "{policies:?}");
    let repo = format!(
        "arn:aws:ecr:{}:{ACCOUNT}:repository/unicorn-ui",
        testkit::REGION
    );
    let group = format!(
        "arn:aws:logs:{}:{ACCOUNT}:log-group:/ecs/unicorn-ui",
        testkit::REGION
    );
    let secrets: BTreeSet<String> = ["github_token", "db_password"]
        .iter()
        .map(|k| input["secrets"][k]["arn"].as_str().unwrap().to_owned())
        .collect();
    let params: BTreeSet<String> = input["db"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["arn"].as_str().unwrap().to_owned())
        .collect();
    let set = |items: &[&str]| {
        items
            .iter()
            .map(|s| (*s).to_owned())
            .collect::<BTreeSet<_>>()
    };
    let logs = set(&[&group, &format!("{group}:*")]);
    let expected: BTreeMap<String, BTreeSet<String>> = [
        ("ecr:GetAuthorizationToken", set(&["*"])),
        ("ecr:BatchCheckLayerAvailability", set(&[&repo])),
        ("ecr:GetDownloadUrlForLayer", set(&[&repo])),
        ("ecr:BatchGetImage", set(&[&repo])),
        ("logs:CreateLogStream", logs.clone()),
        ("logs:PutLogEvents", logs),
        ("secretsmanager:GetSecretValue", secrets),
        ("ssm:GetParameters", params),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r))
    .collect();
    assert_eq!(grants(policies.values().next().unwrap()), expected);

    // The task role: ECS Exec's channels only.
    let policies = inline(&emu, "unicorn-ui-task");
    let actions: BTreeSet<String> = grants(policies.values().next().unwrap())
        .into_keys()
        .collect();
    assert!(
        actions.iter().all(|a| a.starts_with("ssmmessages:")),
        "{actions:?}"
    );
}

#[test]
fn a_stack_made_before_is_narrowed_by_a_rerun() {
    let emu = Emulator::start();
    let input = stack(&emu, APP);
    let doc = up(&emu, &input, &["--image", PUBLIC_IMAGE]);
    // How svc-up left a stack before: the managed policy, the old inline policy, open egress
    // and trust without the account condition.
    let iamc = iam::Client::new(&emu.sdk());
    let role = "unicorn-ui-task-execution";
    let open_trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let sg = doc["svc"]["security_group_id"].as_str().unwrap();
    let c = ec2::Client::new(&emu.sdk());
    emu.block_on(async {
        iamc.attach_role_policy().role_name(role).policy_arn(MANAGED).send().await.unwrap();
        iamc.put_role_policy()
            .role_name(role)
            .policy_name("unicorn-ui-read-secrets")
            .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"*"}]}"#)
            .send()
            .await
            .unwrap();
        iamc.update_assume_role_policy().role_name(role).policy_document(open_trust).send().await.unwrap();
        c.authorize_security_group_egress()
            .group_id(sg)
            .ip_permissions(
                ec2::types::IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(ec2::types::IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .send()
            .await
            .unwrap();
    });

    let out = emu.tool("svc-up").arg("--plan").doc(&doc).run();
    out.ok();
    for expect in [
        &format!("detach {MANAGED}"),
        "delete policy unicorn-ui-read-secrets",
        "trust policy.Statement.0.Condition",
        "egress -all traffic 0.0.0.0/0",
    ] {
        assert!(out.stderr.contains(expect), "{expect}:\n{}", out.stderr);
    }
    let mark = emu.mark();
    let after = up(&emu, &doc, &[]);
    let calls = emu.calls_since(mark);
    assert_eq!(
        calls.count("ecs:RegisterTaskDefinition"),
        0,
        "the task definition stays"
    );
    assert_eq!(calls.count("ecs:UpdateService"), 0, "no deployment");
    assert!(managed(&emu, role).is_empty());
    assert_eq!(inline(&emu, role).len(), 1);
    assert_eq!(
        egress(&emu, sg),
        [(
            "tcp".to_owned(),
            Some(443),
            Some(443),
            vec!["0.0.0.0/0".to_owned()]
        )]
    );
    let mark = emu.mark();
    up(&emu, &after, &[]);
    emu.calls_since(mark).assert_no_mutations();
}
