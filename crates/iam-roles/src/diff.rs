//! What a role should be ([`Want`]), what IAM has ([`Found`]), and the pure comparison of the
//! two ([`diff`] → [`Change`]).

use std::collections::{BTreeMap, BTreeSet};

use kit::{Field, jsondiff};
use serde_json::Value;

use crate::policy;

/// A role as the step wants it.
#[derive(Debug, Clone, PartialEq)]
pub struct Want {
    pub name: String,
    /// Set at creation (IAM keeps it; a later difference is not corrected).
    pub description: String,
    /// The trust (assume-role) policy.
    pub trust: Value,
    /// Inline policies by name: exactly these, any other inline policy is deleted.
    pub inline: BTreeMap<String, Value>,
    /// Managed policy ARNs: exactly these are attached, any other is detached.
    pub managed: BTreeSet<String>,
}

/// A role as IAM has it, its policies normalised ([`policy::normalise`]).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Found {
    pub arn: String,
    /// `None` when IAM's document could not be read as a policy.
    pub trust: Option<Value>,
    /// The inline policies [`Want`] names that exist, by name.
    pub inline: BTreeMap<String, Value>,
    /// Inline policies the role has beyond those [`Want`] names.
    pub other_inline: BTreeSet<String>,
    pub managed: BTreeSet<String>,
    pub tags: BTreeMap<String, String>,
}

/// What to do to make a role what is wanted. Empty (and not `create`): nothing.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    pub create: bool,
    /// Set the trust policy (UpdateAssumeRolePolicy).
    pub trust: bool,
    /// Inline policies to put.
    pub put: Vec<String>,
    /// Inline policies to delete.
    pub delete: Vec<String>,
    pub attach: Vec<String>,
    pub detach: Vec<String>,
    /// The plan's fields of an update, as "trust policy.Statement.0…: old → new".
    pub fields: Vec<Field>,
}

impl Change {
    /// Nothing to do.
    pub fn is_empty(&self) -> bool {
        !self.create
            && !self.trust
            && self.put.is_empty()
            && self.delete.is_empty()
            && self.attach.is_empty()
            && self.detach.is_empty()
    }
}

/// How many fields one policy contributes to a plan line at most.
const FIELDS_PER_POLICY: usize = 4;

fn policy_fields(label: &str, have: Option<&Value>, want: &Value) -> Vec<Field> {
    let fields = jsondiff::diff(have.unwrap_or(&Value::Null), want)
        .into_iter()
        .map(|f| Field {
            name: if f.name == "value" {
                label.to_owned()
            } else {
                format!("{label}.{}", f.name)
            },
            ..f
        })
        .collect();
    jsondiff::limit(fields, FIELDS_PER_POLICY)
}

/// Compare what exists with what is wanted. Pure: the same answer for `--plan` and apply.
pub fn diff(found: Option<&Found>, want: &Want) -> Change {
    let Some(found) = found else {
        return Change {
            create: true,
            trust: true,
            put: want.inline.keys().cloned().collect(),
            attach: want.managed.iter().cloned().collect(),
            ..Change::default()
        };
    };
    let mut change = Change::default();
    let trust = policy::normalise(&want.trust);
    if found.trust.as_ref() != Some(&trust) {
        change.trust = true;
        change
            .fields
            .extend(policy_fields("trust policy", found.trust.as_ref(), &trust));
    }
    for (name, doc) in &want.inline {
        let doc = policy::normalise(doc);
        let have = found.inline.get(name);
        if have != Some(&doc) {
            change.put.push(name.clone());
            change
                .fields
                .extend(policy_fields(&format!("policy {name}"), have, &doc));
        }
    }
    for name in &found.other_inline {
        change.delete.push(name.clone());
        change
            .fields
            .push(Field::from(format!("delete policy {name}")));
    }
    for arn in want.managed.difference(&found.managed) {
        change.attach.push(arn.clone());
        change.fields.push(Field::from(format!("attach {arn}")));
    }
    for arn in found.managed.difference(&want.managed) {
        change.detach.push(arn.clone());
        change.fields.push(Field::from(format!("detach {arn}")));
    }
    change
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn trust(account: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]})
    }

    fn read(resource: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue", "Resource": resource}]})
    }

    fn want() -> Want {
        Want {
            name: "app-task-execution".into(),
            description: "d".into(),
            trust: trust("123456789012"),
            inline: [("app-task-execution".to_owned(), read("arn:s1"))].into(),
            managed: BTreeSet::new(),
        }
    }

    /// The role as IAM keeps it after [`ensure`](crate::ensure) made `want`.
    fn found(w: &Want) -> Found {
        Found {
            arn: "arn:aws:iam::123456789012:role/app-task-execution".into(),
            trust: Some(policy::normalise(&w.trust)),
            inline: w
                .inline
                .iter()
                .map(|(k, v)| (k.clone(), policy::normalise(v)))
                .collect(),
            managed: w.managed.clone(),
            ..Found::default()
        }
    }

    #[test]
    fn a_role_as_made_needs_nothing() {
        let w = want();
        assert!(diff(Some(&found(&w)), &w).is_empty());
    }

    #[test]
    fn a_missing_role_is_created_with_everything() {
        let mut w = want();
        w.managed.insert("arn:aws:iam::aws:policy/P".into());
        let c = diff(None, &w);
        assert!(c.create && c.trust);
        assert_eq!(c.put, ["app-task-execution"]);
        assert_eq!(c.attach, ["arn:aws:iam::aws:policy/P"]);
    }

    #[test]
    fn each_drift_is_its_own_change() {
        let w = want();
        type Drift = Box<dyn Fn(&mut Found)>;
        let cases: Vec<(&str, Drift, Change)> = vec![
            (
                "trust without the account condition",
                Box::new(|f: &mut Found| {
                    f.trust = Some(policy::normalise(&json!({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"},
                        "Action": "sts:AssumeRole"}]})));
                }),
                Change {
                    trust: true,
                    ..Change::default()
                },
            ),
            (
                "inline policy widened",
                Box::new(|f: &mut Found| {
                    f.inline
                        .insert("app-task-execution".into(), policy::normalise(&read("*")));
                }),
                Change {
                    put: vec!["app-task-execution".into()],
                    ..Change::default()
                },
            ),
            (
                "inline policy deleted",
                Box::new(|f: &mut Found| {
                    f.inline.clear();
                }),
                Change {
                    put: vec!["app-task-execution".into()],
                    ..Change::default()
                },
            ),
            (
                "an extra inline policy",
                Box::new(|f: &mut Found| {
                    f.other_inline.insert("old-read-secrets".into());
                }),
                Change {
                    delete: vec!["old-read-secrets".into()],
                    ..Change::default()
                },
            ),
            (
                "a managed policy attached outside",
                Box::new(|f: &mut Found| {
                    f.managed
                        .insert("arn:aws:iam::aws:policy/AdministratorAccess".into());
                }),
                Change {
                    detach: vec!["arn:aws:iam::aws:policy/AdministratorAccess".into()],
                    ..Change::default()
                },
            ),
        ];
        for (what, drift, expect) in cases {
            let mut f = found(&w);
            drift(&mut f);
            let mut got = diff(Some(&f), &w);
            assert!(!got.fields.is_empty(), "{what}: the plan names the change");
            got.fields.clear();
            assert_eq!(got, expect, "{what}");
        }
    }

    #[test]
    fn fields_name_what_changes_in_a_policy() {
        let w = want();
        let mut f = found(&w);
        f.inline
            .insert("app-task-execution".into(), policy::normalise(&read("*")));
        let fields: Vec<String> = diff(Some(&f), &w)
            .fields
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            fields,
            ["policy app-task-execution.Statement.0.Resource.0: * → arn:s1"]
        );
    }
}
