//! The deterministic names and ARNs of everything pipeline-up makes: known from the app,
//! account and region alone, so `--destroy` finds everything without any upstream section,
//! and a rerun after a kill finds what the killed run made.

/// Names and ARNs of the step's resources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    pub bucket: String,
    pub bucket_arn: String,
    pub topic_name: String,
    pub topic_arn: String,
    pub build_role: String,
    pub build_role_arn: String,
    pub pipeline_role: String,
    pub pipeline_role_arn: String,
    pub project: String,
    pub project_arn: String,
    /// The CodeBuild project's log group (its builds' logs).
    pub log_group: String,
    pub pipeline: String,
    pub pipeline_arn: String,
    pub rule_name: String,
}

impl Names {
    pub fn new(app: &str, account: &str, region: &str) -> Names {
        let p = kit::aws::partition(region);
        let bucket = bucket_name(app, account, region);
        let topic_name = format!("{app}-pipeline");
        let build_role = format!("{app}-codebuild");
        let pipeline_role = format!("{app}-pipeline");
        let project = format!("codebuild-{app}");
        let pipeline = format!("pipeline-{app}");
        Names {
            bucket_arn: format!("arn:{p}:s3:::{bucket}"),
            bucket,
            topic_arn: format!("arn:{p}:sns:{region}:{account}:{topic_name}"),
            topic_name,
            build_role_arn: format!("arn:{p}:iam::{account}:role/{build_role}"),
            build_role,
            pipeline_role_arn: format!("arn:{p}:iam::{account}:role/{pipeline_role}"),
            pipeline_role,
            project_arn: format!("arn:{p}:codebuild:{region}:{account}:project/{project}"),
            log_group: format!("/aws/codebuild/{project}"),
            project,
            pipeline_arn: format!("arn:{p}:codepipeline:{region}:{account}:{pipeline}"),
            pipeline,
            rule_name: format!("{app}-pipeline-status"),
        }
    }

    /// The notification rule's ClientRequestToken: the same for every run that makes the
    /// rule on one incarnation of the pipeline after the same recorded rule (so a create
    /// retried after a lost answer or a kill is answered with the rule it made), and new once
    /// the rule it made is recorded, or the pipeline is made again — so a token that once
    /// made a rule since deleted is never sent again. AWS allows `[\w:/-]{1,256}`.
    pub fn rule_token(&self, pipeline_created: i64, recorded_rule: Option<&str>) -> String {
        let key = format!(
            "{}|{}|{pipeline_created}|{}",
            self.pipeline_arn,
            self.rule_name,
            recorded_rule.unwrap_or_default()
        );
        format!("stagehand-rule-{:016x}", fnv1a(&key))
    }
}

/// FNV-1a, 64 bits: a small deterministic hash for shortening names and making tokens.
pub fn fnv1a(text: &str) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in text.bytes() {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// `<app>-pipeline-<account>-<region>`, or, past S3's 63 characters, its first 54 characters
/// (trailing hyphens dropped) and 8 hex digits of its FNV-1a hash: deterministic and unique
/// per app, account and region.
pub fn bucket_name(app: &str, account: &str, region: &str) -> String {
    let full = format!("{app}-pipeline-{account}-{region}");
    if full.len() <= 63 {
        return full;
    }
    let hash = format!("{:08x}", fnv1a(&full) as u32);
    let head = full[..54].trim_end_matches(['-', '.']);
    format!("{head}-{hash}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_fit_s3_and_are_deterministic() {
        assert_eq!(
            bucket_name("unicorn-ui", "123456789012", "us-west-2"),
            "unicorn-ui-pipeline-123456789012-us-west-2"
        );
        let app = "a-very-long-application-name-for-the-portal-x";
        let long = bucket_name(app, "123456789012", "ap-southeast-2");
        assert!(long.len() <= 63, "{long}");
        assert_eq!(long, bucket_name(app, "123456789012", "ap-southeast-2"));
        assert_ne!(long, bucket_name(app, "123456789012", "ap-southeast-1"));
        assert!(
            long.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        );
        assert!(!long.contains("--"));
    }

    #[test]
    fn fnv1a_matches_the_reference_values() {
        assert_eq!(fnv1a(""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a("a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn arns_follow_the_partition() {
        let n = Names::new("unicorn-ui", "123456789012", "cn-north-1");
        assert!(
            n.pipeline_arn
                .starts_with("arn:aws-cn:codepipeline:cn-north-1:")
        );
        assert_eq!(n.log_group, "/aws/codebuild/codebuild-unicorn-ui");
    }

    #[test]
    fn rule_tokens_are_stable_until_the_rule_is_recorded_or_the_pipeline_is_new() {
        let n = Names::new("unicorn-ui", "123456789012", "us-west-2");
        let t = n.rule_token(1_700_000_000, None);
        assert_eq!(t, n.rule_token(1_700_000_000, None));
        assert_ne!(t, n.rule_token(1_700_000_001, None));
        assert_ne!(t, n.rule_token(1_700_000_000, Some("arn:old")));
        assert!(t.len() <= 256);
        assert!(
            t.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '/' | '-'))
        );
    }
}
