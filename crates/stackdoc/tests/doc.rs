use serde_json::json;
use stackdoc::{Core, Doc, DocError, SecretRef, Secrets, Section, Subnet, VERSION};

fn secrets() -> Secrets {
    Secrets {
        github_token: SecretRef {
            name: "ecs-github-token".into(),
            arn: "arn:aws:secretsmanager:us-west-2:123456789012:secret:ecs-github-token-AbCdEf"
                .into(),
            version: None,
        },
        db_password: SecretRef {
            name: "postgresdb_passwd".into(),
            arn: "arn:aws:secretsmanager:us-west-2:123456789012:secret:postgresdb_passwd-AbCdEf"
                .into(),
            version: None,
        },
        oauth_client_id: None,
        oauth_client_secret: None,
    }
}

#[test]
fn empty_input_is_a_new_version_1_document() {
    let doc = Doc::parse("  \n").unwrap();
    assert_eq!(doc.as_value(), json!({"version": VERSION}));
    assert_eq!(Doc::parse("").unwrap(), Doc::new());
}

#[test]
fn malformed_json_is_refused() {
    let err = Doc::parse("{\"version\": 1,").unwrap_err();
    assert!(matches!(err, DocError::Malformed(_)), "{err}");
    assert!(err.to_string().contains("not valid JSON"));
    assert_eq!(
        Doc::parse("[1]").unwrap_err(),
        DocError::NotAnObject("an array")
    );
}

#[test]
fn unknown_version_is_refused_naming_both_versions() {
    let err = Doc::parse(r#"{"version": 99}"#).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("version 99") && msg.contains("version 1"),
        "{msg}"
    );
    assert_eq!(
        Doc::parse(r#"{"app": "x"}"#).unwrap_err(),
        DocError::NoVersion
    );
    assert!(matches!(
        Doc::parse(r#"{"version": "1"}"#).unwrap_err(),
        DocError::Version { .. }
    ));
}

#[test]
fn top_level_fields_are_type_checked() {
    let err = Doc::parse(r#"{"version": 1, "region": 5}"#).unwrap_err();
    assert!(err.to_string().contains("\"region\""), "{err}");
    let err = Doc::parse(r#"{"version": 1, "tags": {"a": 1}}"#).unwrap_err();
    assert!(err.to_string().contains("\"tags\""), "{err}");
}

#[test]
fn unknown_sections_and_keys_survive_a_round_trip_exactly() {
    let text = r#"{
  "version": 1,
  "zeta": {"kept": [1, 2.50, null]},
  "app": "unicorn-ui",
  "core": {"future_key": true, "vpc_id": "vpc-1"},
  "region": "us-west-2"
}"#;
    let mut doc = Doc::parse(text).unwrap();
    doc.put(&secrets());
    let out: serde_json::Value = serde_json::from_str(&doc.to_pretty()).unwrap();
    let original: serde_json::Value = serde_json::from_str(text).unwrap();
    for key in ["zeta", "core", "app", "region", "version"] {
        assert_eq!(out[key], original[key], "{key} changed");
    }
    // Key order is kept too: the new section goes last.
    let keys: Vec<_> = out.as_object().unwrap().keys().cloned().collect();
    assert_eq!(
        keys,
        ["version", "zeta", "app", "core", "region", "secrets"]
    );
}

#[test]
fn a_missing_section_names_the_tool_that_produces_it() {
    let doc = Doc::new();
    let err = doc.require::<Core>().unwrap_err();
    assert_eq!(
        err,
        DocError::MissingSection {
            section: "core",
            producer: "core-up"
        }
    );
    assert!(err.to_string().contains("run core-up first"));
}

#[test]
fn an_incomplete_section_names_the_missing_field_and_the_tool() {
    let doc = Doc::parse(r#"{"version": 1, "core": {"name": "core-infra"}}"#).unwrap();
    let msg = doc.require::<Core>().unwrap_err().to_string();
    assert!(
        msg.contains("\"core\"") && msg.contains("core-up") && msg.contains("missing field"),
        "{msg}"
    );

    let mut s = secrets();
    s.db_password.arn.clear();
    let mut doc = Doc::new();
    doc.put(&s);
    let msg = doc.require::<Secrets>().unwrap_err().to_string();
    assert!(
        msg.contains("db_password.arn") && msg.contains("secrets-init"),
        "{msg}"
    );
}

#[test]
fn typed_sections_round_trip() {
    let core = Core {
        name: "core-infra".into(),
        created: true,
        vpc_id: "vpc-1".into(),
        vpc_cidr: "10.0.0.0/16".into(),
        public_subnets: vec![Subnet {
            id: "subnet-1".into(),
            cidr: "10.0.0.0/24".into(),
            az: "us-west-2a".into(),
        }],
        private_subnets: vec![Subnet {
            id: "subnet-2".into(),
            cidr: "10.0.10.0/24".into(),
            az: "us-west-2a".into(),
        }],
        cluster_name: "core-infra".into(),
        cluster_arn: "arn:aws:ecs:us-west-2:123456789012:cluster/core-infra".into(),
        namespace_id: "ns-1".into(),
        namespace_name: "default.core-infra.local".into(),
        namespace_arn: "arn:ns".into(),
    };
    let mut doc = Doc::new();
    doc.put(&core);
    let again = Doc::parse(&doc.to_pretty()).unwrap();
    assert_eq!(again.require::<Core>().unwrap(), core);
    assert!(again.has_section(Core::NAME));
}

#[test]
fn planned_sections_are_refused_where_real_resources_are_needed() {
    let mut doc = Doc::new();
    doc.put_planned(&secrets());
    assert!(doc.is_planned("secrets"));
    assert!(doc.require::<Secrets>().is_ok());
    let err = doc.require_applied::<Secrets>().unwrap_err();
    assert!(
        err.to_string().contains("run secrets-init without --plan"),
        "{err}"
    );
}

#[test]
fn merge_joins_sections_written_in_parallel() {
    let base = r#"{"version": 1, "app": "a", "region": "us-west-2", "core": {"x": 1}}"#;
    let mut left = Doc::parse(base).unwrap();
    let mut right = Doc::parse(base).unwrap();
    let mut l = left.as_value();
    l["db"] = json!({"cluster_id": "a-db"});
    left = Doc::from_value(l).unwrap();
    let mut r = right.as_value();
    r["alb"] = json!({"name": "a"});
    right = Doc::from_value(r).unwrap();
    left.merge(right).unwrap();
    let v = left.as_value();
    assert_eq!(v["db"]["cluster_id"], "a-db");
    assert_eq!(v["alb"]["name"], "a");
    assert_eq!(v["core"]["x"], 1);
}

#[test]
fn merge_refuses_documents_that_disagree() {
    let mut a = Doc::parse(r#"{"version": 1, "region": "us-west-2"}"#).unwrap();
    let b = Doc::parse(r#"{"version": 1, "region": "eu-west-1"}"#).unwrap();
    let err = a.merge(b).unwrap_err();
    assert!(
        matches!(err, DocError::MergeConflict { ref path, .. } if path == "region"),
        "{err}"
    );
}

#[test]
fn tags_round_trip() {
    let mut doc = Doc::new();
    let tags = [("team".to_string(), "platform".to_string())]
        .into_iter()
        .collect();
    doc.set_tags(&tags);
    assert_eq!(Doc::parse(&doc.to_pretty()).unwrap().tags(), tags);
}

#[test]
fn settings_are_recorded_in_the_section_and_read_back() {
    let mut doc = Doc::new();
    doc.put(&secrets());
    let mut settings = serde_json::Map::new();
    settings.insert("max-acu".into(), json!("4"));
    doc.set_settings("secrets", settings.clone());
    assert_eq!(doc.settings("secrets"), Some(&settings));
    // Still a valid section: settings ride along without disturbing the typed view.
    assert_eq!(doc.require::<Secrets>().unwrap(), secrets());
    doc.set_settings("secrets", serde_json::Map::new());
    assert_eq!(doc.settings("secrets"), None);
    // No section, no settings.
    doc.set_settings("db", settings);
    assert!(!doc.has_section("db"));
}
