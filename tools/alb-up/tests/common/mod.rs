//! Fixtures for alb-up's tests: a document with a `core` section, an ACM certificate, and
//! independent describe helpers (plain SDK calls, never alb-up's code).

#![allow(dead_code)]

use std::collections::BTreeSet;
use std::process::Command;

use testkit::{Emulator, Value, ec2, elbv2, fixtures, json};

/// A document holding only the `core` section of a core-infra made with plain SDK calls.
pub fn core_doc(emu: &Emulator) -> Value {
    let core = fixtures::core_infra(emu, "core-infra");
    fixtures::with(json!({"version": 1}), "core", core)
}

/// A self-signed certificate imported into the emulator's ACM (status ISSUED, as AWS needs
/// for an HTTPS listener); returns its ARN. boto3 from the emulator's venv, since testkit
/// carries no ACM client.
pub fn import_certificate(emu: &Emulator, domain: &str) -> String {
    let script = r#"
import sys, datetime, boto3
from cryptography import x509
from cryptography.x509.oid import NameOID
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
url, region, domain = sys.argv[1:4]
key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
now = datetime.datetime.now(datetime.timezone.utc)
cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False)
        .sign(key, hashes.SHA256()))
acm = boto3.client("acm", endpoint_url=url, region_name=region,
                   aws_access_key_id="test", aws_secret_access_key="test")
out = acm.import_certificate(
    Certificate=cert.public_bytes(serialization.Encoding.PEM),
    PrivateKey=key.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
arn = out["CertificateArn"]
assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "ISSUED"
print(arn)
"#;
    let python = testkit::root().join("emulator/.venv/bin/python");
    let out = Command::new(python)
        .args(["-c", script, &emu.url, testkit::REGION, domain])
        .output()
        .expect("run the emulator's python");
    assert!(
        out.status.success(),
        "importing a certificate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// An ACM certificate requested with DNS validation: PENDING_VALIDATION until validated, as
/// on AWS. Returns its ARN.
pub fn request_certificate(emu: &Emulator, domain: &str) -> String {
    let script = r#"
import sys, boto3
url, region, domain = sys.argv[1:4]
acm = boto3.client("acm", endpoint_url=url, region_name=region,
                   aws_access_key_id="test", aws_secret_access_key="test")
arn = acm.request_certificate(DomainName=domain, ValidationMethod="DNS")["CertificateArn"]
assert acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"] == "PENDING_VALIDATION"
print(arn)
"#;
    let python = testkit::root().join("emulator/.venv/bin/python");
    let out = Command::new(python)
        .args(["-c", script, &emu.url, testkit::REGION, domain])
        .output()
        .expect("run the emulator's python");
    assert!(
        out.status.success(),
        "requesting a certificate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// An ECS service in `cluster` attached to the target group (desired count 0: no tasks),
/// as svc-up would make it.
pub fn service_on_target_group(emu: &Emulator, cluster: &str, name: &str, tg_arn: &str) {
    let ecs = testkit::ecs::Client::new(&emu.sdk());
    emu.block_on(async {
        let td = ecs
            .register_task_definition()
            .family(name)
            .requires_compatibilities(testkit::ecs::types::Compatibility::Fargate)
            .network_mode(testkit::ecs::types::NetworkMode::Awsvpc)
            .cpu("256")
            .memory("512")
            .container_definitions(
                testkit::ecs::types::ContainerDefinition::builder()
                    .name("backstage")
                    .image("public.ecr.aws/nginx/nginx:latest")
                    .port_mappings(
                        testkit::ecs::types::PortMapping::builder()
                            .container_port(7007)
                            .build(),
                    )
                    .build(),
            )
            .send()
            .await
            .expect("register a task definition");
        let td_arn = td
            .task_definition()
            .and_then(|t| t.task_definition_arn())
            .unwrap()
            .to_owned();
        ecs.create_service()
            .cluster(cluster)
            .service_name(name)
            .task_definition(td_arn)
            .desired_count(0)
            .load_balancers(
                testkit::ecs::types::LoadBalancer::builder()
                    .target_group_arn(tg_arn)
                    .container_name("backstage")
                    .container_port(7007)
                    .build(),
            )
            .send()
            .await
            .expect("create a service");
    });
}

pub fn elb(emu: &Emulator) -> elbv2::Client {
    elbv2::Client::new(&emu.sdk())
}

pub fn ec2c(emu: &Emulator) -> ec2::Client {
    ec2::Client::new(&emu.sdk())
}

/// Every load balancer in the emulator.
pub fn all_lbs(emu: &Emulator) -> Vec<elbv2::types::LoadBalancer> {
    let out = emu
        .block_on(elb(emu).describe_load_balancers().send())
        .expect("describe load balancers");
    out.load_balancers().to_vec()
}

pub fn lb_by_name(emu: &Emulator, name: &str) -> elbv2::types::LoadBalancer {
    let out = emu
        .block_on(elb(emu).describe_load_balancers().names(name).send())
        .expect("describe the load balancer");
    out.load_balancers()[0].clone()
}

pub fn tg_by_name(emu: &Emulator, name: &str) -> elbv2::types::TargetGroup {
    let out = emu
        .block_on(elb(emu).describe_target_groups().names(name).send())
        .expect("describe the target group");
    out.target_groups()[0].clone()
}

pub fn listeners(emu: &Emulator, lb_arn: &str) -> Vec<elbv2::types::Listener> {
    let out = emu
        .block_on(
            elb(emu)
                .describe_listeners()
                .load_balancer_arn(lb_arn)
                .send(),
        )
        .expect("describe listeners");
    out.listeners().to_vec()
}

pub fn listener_on(emu: &Emulator, lb_arn: &str, port: i32) -> elbv2::types::Listener {
    listeners(emu, lb_arn)
        .into_iter()
        .find(|l| l.port() == Some(port))
        .unwrap_or_else(|| panic!("no listener on port {port}"))
}

pub fn lb_attr(emu: &Emulator, lb_arn: &str, key: &str) -> Option<String> {
    let out = emu
        .block_on(
            elb(emu)
                .describe_load_balancer_attributes()
                .load_balancer_arn(lb_arn)
                .send(),
        )
        .expect("describe load balancer attributes");
    out.attributes()
        .iter()
        .find(|a| a.key() == Some(key))
        .and_then(|a| a.value().map(str::to_owned))
}

pub fn tg_attr(emu: &Emulator, tg_arn: &str, key: &str) -> Option<String> {
    let out = emu
        .block_on(
            elb(emu)
                .describe_target_group_attributes()
                .target_group_arn(tg_arn)
                .send(),
        )
        .expect("describe target group attributes");
    out.attributes()
        .iter()
        .find(|a| a.key() == Some(key))
        .and_then(|a| a.value().map(str::to_owned))
}

pub fn elb_tags(emu: &Emulator, arn: &str) -> std::collections::BTreeMap<String, String> {
    let out = emu
        .block_on(elb(emu).describe_tags().resource_arns(arn).send())
        .expect("describe tags");
    testkit::tag_map(
        out.tag_descriptions()
            .iter()
            .flat_map(|d| d.tags())
            .map(|t| (t.key().unwrap(), t.value().unwrap_or_default())),
    )
}

pub fn security_group(emu: &Emulator, id: &str) -> ec2::types::SecurityGroup {
    let out = emu
        .block_on(ec2c(emu).describe_security_groups().group_ids(id).send())
        .expect("describe the security group");
    out.security_groups()[0].clone()
}

/// "tcp 80 0.0.0.0/0" for each (permission, range) of a list of IP permissions.
pub fn rules(perms: &[ec2::types::IpPermission]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in perms {
        let proto = p.ip_protocol().unwrap_or("-1");
        let ports = if proto == "-1" {
            "all".to_owned()
        } else {
            format!("{}", p.from_port().unwrap_or(0))
        };
        for r in p.ip_ranges() {
            out.insert(format!("{proto} {ports} {}", r.cidr_ip().unwrap()));
        }
        for g in p.user_id_group_pairs() {
            out.insert(format!("{proto} {ports} {}", g.group_id().unwrap()));
        }
    }
    out
}

pub fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

/// The target group ARNs a listener's default action forwards to.
pub fn forwards_to(l: &elbv2::types::Listener) -> Option<String> {
    let [a] = l.default_actions() else {
        return None;
    };
    if a.r#type() != Some(&elbv2::types::ActionTypeEnum::Forward) {
        return None;
    }
    a.target_group_arn().map(str::to_owned).or_else(|| {
        a.forward_config()
            .and_then(|c| c.target_groups().first())
            .and_then(|t| t.target_group_arn())
            .map(str::to_owned)
    })
}
