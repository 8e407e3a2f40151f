//! The names and ARNs every per-app resource derives from, and the idempotency tokens of the
//! creates that take one (deterministic per stack and resource, so that a retried call, or a
//! rerun after a kill, repeats the same request).

use sha2::{Digest, Sha256};

/// The name every per-app resource derives from.
#[derive(Debug, Clone)]
pub struct Names {
    pub log_group: String,
    pub exec_role: String,
    pub task_role: String,
    pub exec_policy: String,
    pub task_policy: String,
    pub sg: String,
    pub family: String,
    pub container: String,
    pub cloudmap: String,
    pub service: String,
}

impl Names {
    /// The service's, its family's, container's and roles' names are the ones pipeline-up also
    /// derives (it names them before the service exists): one definition, in ecs-service.
    pub fn of(app: &str) -> Names {
        let shared = ecs_service::names::ServiceNames::of(app);
        Names {
            log_group: format!("/ecs/{app}"),
            exec_role: shared.execution_role,
            task_role: shared.task_role,
            exec_policy: format!("{app}-task-execution"),
            task_policy: format!("{app}-ecs-exec"),
            sg: format!("{app}-task"),
            family: shared.family,
            container: shared.container,
            cloudmap: app.to_owned(),
            service: shared.service,
        }
    }
}

/// Where the stack lives: what ARNs are built from.
#[derive(Debug, Clone)]
pub struct Place {
    pub partition: &'static str,
    pub region: String,
    pub account: String,
}

impl Place {
    pub fn of(cx: &kit::Cx) -> Place {
        Place {
            partition: kit::aws::partition(&cx.region),
            region: cx.region.clone(),
            account: cx.account.clone(),
        }
    }

    pub fn role_arn(&self, name: &str) -> String {
        format!("arn:{}:iam::{}:role/{name}", self.partition, self.account)
    }

    pub fn log_group_arn(&self, name: &str) -> String {
        format!(
            "arn:{}:logs:{}:{}:log-group:{name}",
            self.partition, self.region, self.account
        )
    }
}

/// The ECR repository ARN of a private ECR image reference
/// (`ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME[:TAG|@DIGEST]`); `None` for any other registry.
pub fn ecr_repo_arn(partition: &str, image: &str) -> Option<String> {
    let (host, path) = image.split_once('/')?;
    let mut parts = host.split('.');
    let (account, dkr, ecr, region) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if dkr != "dkr"
        || ecr != "ecr"
        || account.len() != 12
        || !account.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let name = path.split(['@', ':']).next()?;
    (!name.is_empty()).then(|| format!("arn:{partition}:ecr:{region}:{account}:repository/{name}"))
}

/// The tag of an image reference in `repo_uri` (`URI:TAG`), if it is one.
pub fn tag_in<'a>(image: &'a str, repo_uri: &str) -> Option<&'a str> {
    image.strip_prefix(repo_uri)?.strip_prefix(':')
}

fn digest(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Cloud Map CreateService's CreatorRequestId (at most 64 characters, whatever the app's
/// name): one per stack, namespace and service name.
pub fn cloudmap_request_id(place: &Place, app: &str, namespace_id: &str, name: &str) -> String {
    let h = digest(&[&place.account, &place.region, app, namespace_id, name]);
    format!("stagehand-svc-{}", &h[..32])
}

/// ECS CreateService's clientToken (at most 36 ASCII characters): one per stack, cluster,
/// service and first task definition, so a retried create returns the same service.
pub fn service_client_token(
    place: &Place,
    app: &str,
    cluster: &str,
    task_definition: &str,
) -> String {
    digest(&[&place.account, &place.region, app, cluster, task_definition])[..32].to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> Place {
        Place {
            partition: "aws",
            region: "us-west-2".into(),
            account: "123456789012".into(),
        }
    }

    #[test]
    fn tokens_fit_aws_limits_and_are_deterministic() {
        let app = "a".repeat(48);
        let id = cloudmap_request_id(&place(), &app, "ns-abcdefghijklmnop", &app);
        assert!(id.len() <= 64, "{id}");
        assert_eq!(
            id,
            cloudmap_request_id(&place(), &app, "ns-abcdefghijklmnop", &app)
        );
        assert_ne!(id, cloudmap_request_id(&place(), &app, "ns-other", &app));
        let t = service_client_token(&place(), &app, "arn:cluster", "arn:td:1");
        assert!(t.len() <= 36 && t.is_ascii());
        assert_ne!(
            t,
            service_client_token(&place(), &app, "arn:cluster", "arn:td:2")
        );
    }

    #[test]
    fn image_references() {
        assert_eq!(
            ecr_repo_arn(
                "aws",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/web:v1"
            ),
            Some("arn:aws:ecr:eu-west-1:123456789012:repository/team/web".into())
        );
        assert_eq!(
            ecr_repo_arn(
                "aws",
                "123456789012.dkr.ecr.eu-west-1.amazonaws.com/web@sha256:ab"
            ),
            Some("arn:aws:ecr:eu-west-1:123456789012:repository/web".into())
        );
        assert_eq!(
            ecr_repo_arn("aws", "public.ecr.aws/backstage/backstage:1.0"),
            None
        );
        assert_eq!(ecr_repo_arn("aws", "nginx:latest"), None);
        let uri = "123456789012.dkr.ecr.us-west-2.amazonaws.com/web";
        assert_eq!(tag_in(&format!("{uri}:abcd1234"), uri), Some("abcd1234"));
        assert_eq!(tag_in(&format!("{uri}x:abcd1234"), uri), None);
        assert_eq!(tag_in("public.ecr.aws/x:1", uri), None);
    }
}
