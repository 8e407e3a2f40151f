//! A generic field diff of JSON documents, as ecspresso diffs task definitions: instead of a
//! hand-listed comparison per resource kind, a tool writes what it wants as a document in the
//! service's own shape, reads what exists into the same shape, and lists every leaf that
//! differs as a [`Field`] named by its path (`containerDefinitions.web.image`).
//!
//! Before comparing, [`Rules::changes`]
//! - projects what exists onto what is wanted ([`project`]): members AWS adds that the tool
//!   never sets (status, timestamps, new API fields) are not compared, so a new AWS field never
//!   shows as drift; lists are compared whole, so an extra element is drift;
//! - normalises both sides ([`Rules::normalise`]): keys sorted; nulls, empty lists and empty
//!   objects dropped; values AWS fills in by default dropped ([`Rules::aws_default`]); lists whose
//!   order means nothing sorted ([`Rules::set`]); members never compared removed
//!   ([`Rules::ignore`]).
//!
//! Paths in rules are member names joined by dots, with `*` for any list element or member:
//! `containerDefinitions.*.environment`.
//!
//! SDK values become JSON with [`sdk_json`] (the service model's member names, as the JSON
//! protocols put them on the wire) and JSON becomes an SDK value with [`from_json`], so a
//! tool can write what it wants as a document and still send typed input.

use std::collections::BTreeMap;

use aws_smithy_json::codec::{JsonCodec, JsonCodecSettings};
use aws_smithy_schema::codec::Codec;
use aws_smithy_schema::serde::{
    SerdeError, SerializableStruct, ShapeDeserializer, ShapeSerializer,
};
use serde_json::{Map, Value};

use crate::plan::{Field, field};
use crate::{Error, Result};

/// How one kind of document is normalised. Built once per kind, e.g.:
///
/// ```
/// use serde_json::json;
/// let rules = kit::jsondiff::Rules::new()
///     .set("containerDefinitions.*.environment", "name")
///     .aws_default("containerDefinitions.*.cpu", json!(0))
///     .ignore("revision");
/// let have = json!({"revision": 3, "containerDefinitions": [{"name": "web", "cpu": 0, "image": "a:1"}]});
/// let want = json!({"containerDefinitions": [{"name": "web", "image": "a:2"}]});
/// let fields = rules.changes(&have, &want);
/// assert_eq!(fields[0].to_string(), "containerDefinitions.web.image: a:1 → a:2");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Rules {
    defaults: Vec<(Vec<String>, Value)>,
    sets: Vec<(Vec<String>, String)>,
    ignored: Vec<Vec<String>>,
}

fn pattern(path: &str) -> Vec<String> {
    path.split('.').map(str::to_owned).collect()
}

fn matches(pattern: &[String], path: &[String]) -> bool {
    pattern.len() == path.len() && pattern.iter().zip(path).all(|(p, s)| p == "*" || p == s)
}

impl Rules {
    pub fn new() -> Self {
        Self::default()
    }

    /// The member at `path` is `value` when not given (AWS fills it in): where it equals
    /// `value` it is dropped, on both sides.
    pub fn aws_default(mut self, path: &str, value: Value) -> Self {
        self.defaults.push((pattern(path), value));
        self
    }

    /// The list at `path` is a set: sorted by each element's member `key`, or by the whole
    /// element when `key` is empty.
    pub fn set(mut self, path: &str, key: &str) -> Self {
        self.sets.push((pattern(path), key.to_owned()));
        self
    }

    /// The member at `path` is never compared (a revision number, a timestamp).
    pub fn ignore(mut self, path: &str) -> Self {
        self.ignored.push(pattern(path));
        self
    }

    /// The document in the form two spellings of the same settings share.
    pub fn normalise(&self, v: &Value) -> Value {
        // An empty document stays a document of its kind, so it still compares member by member.
        self.norm(&mut Vec::new(), v).unwrap_or_else(|| match v {
            Value::Object(_) => Value::Object(Map::new()),
            Value::Array(_) => Value::Array(Vec::new()),
            _ => Value::Null,
        })
    }

    fn norm(&self, path: &mut Vec<String>, v: &Value) -> Option<Value> {
        match v {
            Value::Null => None,
            Value::Object(m) => {
                let mut out = BTreeMap::new();
                for (k, x) in m {
                    path.push(k.clone());
                    let ignored = self.ignored.iter().any(|p| matches(p, path));
                    if !ignored && let Some(n) = self.norm(path, x) {
                        let is_default = self
                            .defaults
                            .iter()
                            .any(|(p, d)| matches(p, path) && *d == n);
                        if !is_default {
                            out.insert(k.clone(), n);
                        }
                    }
                    path.pop();
                }
                (!out.is_empty()).then(|| Value::Object(out.into_iter().collect()))
            }
            Value::Array(items) => {
                path.push("*".into());
                let mut out: Vec<Value> = items.iter().filter_map(|x| self.norm(path, x)).collect();
                path.pop();
                if let Some((_, key)) = self.sets.iter().find(|(p, _)| matches(p, path)) {
                    out.sort_by_cached_key(|x| sort_key(x, key));
                }
                (!out.is_empty()).then_some(Value::Array(out))
            }
            other => Some(other.clone()),
        }
    }

    /// What differs between what exists (`have`, projected onto `want`) and what is wanted,
    /// both normalised. Empty: nothing to change.
    pub fn changes(&self, have: &Value, want: &Value) -> Vec<Field> {
        let have = self.normalise(&project(have, want));
        diff(&have, &self.normalise(want))
    }
}

fn sort_key(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) if !key.is_empty() => s.clone(),
        Some(other) if !key.is_empty() => other.to_string(),
        _ => v.to_string(),
    }
}

/// `have` with only the members `shape` has, recursively through objects; each element of a
/// list is projected onto the members of all of `shape`'s elements together. A list or value
/// is otherwise kept whole.
pub fn project(have: &Value, shape: &Value) -> Value {
    match (have, shape) {
        (Value::Object(h), Value::Object(s)) => Value::Object(
            h.iter()
                .filter_map(|(k, v)| s.get(k).map(|sv| (k.clone(), project(v, sv))))
                .collect(),
        ),
        (Value::Array(h), Value::Array(s)) if !s.is_empty() => {
            let element = s.iter().fold(Value::Null, |acc, x| merge_shapes(&acc, x));
            Value::Array(h.iter().map(|x| project(x, &element)).collect())
        }
        _ => have.clone(),
    }
}

fn merge_shapes(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let mut out: Map<String, Value> = x.clone();
            for (k, v) in y {
                let merged = merge_shapes(x.get(k).unwrap_or(&Value::Null), v);
                out.insert(k.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(x), Value::Array(y)) => Value::Array(x.iter().chain(y).cloned().collect()),
        (Value::Null, other) => other.clone(),
        (other, _) => other.clone(),
    }
}

/// Every leaf where `old` and `new` differ, as "path: old → new". Objects are compared member
/// by member; lists whose elements all have a string `name` are matched by name (the name is
/// the path segment), other lists of equal length element by element, anything else whole.
pub fn diff(old: &Value, new: &Value) -> Vec<Field> {
    let mut out = Vec::new();
    walk(&mut String::new(), old, new, &mut out);
    out
}

/// At most `n` fields, the rest summed up as "and N more".
pub fn limit(mut fields: Vec<Field>, n: usize) -> Vec<Field> {
    if fields.len() > n {
        let more = fields.len() - n;
        fields.truncate(n);
        fields.push(Field::from(format!("and {more} more")));
    }
    fields
}

fn named(items: &[Value]) -> Option<Vec<&str>> {
    let names: Vec<&str> = items
        .iter()
        .map(|x| x.get("name").and_then(Value::as_str))
        .collect::<Option<_>>()?;
    let mut unique = names.clone();
    unique.sort_unstable();
    unique.dedup();
    (unique.len() == names.len()).then_some(names)
}

fn walk(path: &mut String, old: &Value, new: &Value, out: &mut Vec<Field>) {
    let child = |path: &mut String, seg: &str, a: &Value, b: &Value, out: &mut Vec<Field>| {
        let len = path.len();
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(seg);
        walk(path, a, b, out);
        path.truncate(len);
    };
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let (x, y) = (
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                );
                child(path, k, x, y, out);
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            if let (Some(na), Some(nb)) = (named(a), named(b)) {
                let mut names: Vec<&str> = na.clone();
                names.extend(nb.iter().filter(|n| !na.contains(n)));
                for name in names {
                    let pick = |items: &[Value], names: &[&str]| {
                        names
                            .iter()
                            .position(|n| *n == name)
                            .map_or(Value::Null, |i| items[i].clone())
                    };
                    child(path, name, &pick(a, &na), &pick(b, &nb), out);
                }
            } else if a.len() == b.len() {
                for (i, (x, y)) in a.iter().zip(b).enumerate() {
                    child(path, &i.to_string(), x, y, out);
                }
            } else {
                out.push(leaf(path, old, new));
            }
        }
        _ if old == new => {}
        _ => out.push(leaf(path, old, new)),
    }
}

fn leaf(path: &str, old: &Value, new: &Value) -> Field {
    field(
        if path.is_empty() { "value" } else { path },
        short(old),
        short(new),
    )
}

fn short(v: &Value) -> String {
    let text = match v {
        Value::Null => "(none)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 100 {
        format!("{}…", text.chars().take(99).collect::<String>())
    } else {
        text
    }
}

fn codec() -> JsonCodec {
    // Model member names (awsJson protocols; ECS's are camelCase), timestamps as epoch seconds.
    JsonCodec::new(JsonCodecSettings::builder().use_json_name(false).build())
}

/// An SDK value (an output shape such as `aws_sdk_ecs::types::TaskDefinition`) as JSON with
/// the service model's member names.
pub fn sdk_json(value: &dyn SerializableStruct) -> Result<Value> {
    let mut ser = codec().create_serializer();
    ser.write_struct(value.schema(), value)
        .map_err(|e| Error::aws(format!("reading an AWS answer as JSON: {e}")))?;
    serde_json::from_slice(&ser.finish())
        .map_err(|e| Error::aws(format!("reading an AWS answer as JSON: {e}")))
}

/// An SDK value from JSON with the service model's member names, read by the type's own
/// `deserialize` (e.g. `from_json(&doc, aws_sdk_ecs::types::TaskDefinition::deserialize)`).
/// Unknown members are ignored; a value of the wrong type is an error naming `what`.
pub fn from_json<T>(
    value: &Value,
    what: &str,
    read: impl FnOnce(&mut dyn ShapeDeserializer) -> std::result::Result<T, SerdeError>,
) -> Result<T> {
    let bytes = serde_json::to_vec(value).expect("JSON values serialise");
    let codec = codec();
    let mut de = codec.create_deserializer(&bytes);
    read(&mut de).map_err(|e| Error::aws(format!("building {what} from its document: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rules() -> Rules {
        Rules::new()
            .set("containerDefinitions.*.environment", "name")
            .set("requiresCompatibilities", "")
            .aws_default("containerDefinitions.*.cpu", json!(0))
            .aws_default("containerDefinitions.*.essential", json!(true))
            .ignore("revision")
    }

    #[test]
    fn normalising_sorts_drops_empties_defaults_and_ignored_members() {
        let v = json!({
            "revision": 4,
            "requiresCompatibilities": ["FARGATE", "EC2"],
            "volumes": [],
            "placementConstraints": null,
            "containerDefinitions": [{
                "name": "web", "cpu": 0, "essential": true, "mountPoints": [],
                "environment": [{"name": "B", "value": "2"}, {"name": "A", "value": "1"}],
                "linuxParameters": {"capabilities": {}},
            }]
        });
        let n = rules().normalise(&v);
        assert_eq!(
            n,
            json!({
                "containerDefinitions": [{
                    "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                    "name": "web",
                }],
                "requiresCompatibilities": ["EC2", "FARGATE"],
            })
        );
        let keys: Vec<&String> = n.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["containerDefinitions", "requiresCompatibilities"]);
        // A value that is not the default is kept.
        let v = json!({"containerDefinitions": [{"name": "web", "cpu": 256}]});
        assert_eq!(rules().normalise(&v), v);
    }

    #[test]
    fn what_exists_is_compared_only_where_the_tool_has_a_wish() {
        let have = json!({
            "status": "ACTIVE", "registeredAt": 1.5e9,
            "containerDefinitions": [{"name": "web", "image": "a:1", "cpu": 0,
                "portMappings": [{"containerPort": 80, "appProtocol": "http"}]}]
        });
        let want = json!({"containerDefinitions": [{"name": "web", "image": "a:1",
            "portMappings": [{"containerPort": 80}]}]});
        assert!(rules().changes(&have, &want).is_empty());
        assert_eq!(
            project(&have, &want)["containerDefinitions"][0]["portMappings"][0],
            json!({"containerPort": 80})
        );
    }

    #[test]
    fn each_changed_leaf_is_one_field_named_by_its_path() {
        let r = rules();
        let cases: Vec<(Value, Value, Vec<&str>)> = vec![
            (
                json!({"cpu": "1024"}),
                json!({"cpu": "2048"}),
                vec!["cpu: 1024 → 2048"],
            ),
            (json!({"a": 1}), json!({"a": 1}), vec![]),
            (
                json!({"containerDefinitions": [{"name": "web", "image": "x:1"}]}),
                json!({"containerDefinitions": [{"name": "web", "image": "x:2"}]}),
                vec!["containerDefinitions.web.image: x:1 → x:2"],
            ),
            (
                json!({"containerDefinitions": [{"name": "web", "environment": [{"name": "A", "value": "1"}]}]}),
                json!({"containerDefinitions": [{"name": "web", "environment": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]}]}),
                vec![
                    r#"containerDefinitions.web.environment.B: (none) → {"name":"B","value":"2"}"#,
                ],
            ),
            (
                json!({"subnets": ["a", "b"]}),
                json!({"subnets": ["a", "b", "c"]}),
                vec![r#"subnets: ["a","b"] → ["a","b","c"]"#],
            ),
            (
                json!({"n": {"x": 1}}),
                json!({"n": {"x": 1, "y": true}}),
                vec!["n.y: (none) → true"],
            ),
            (json!({"gone": "v"}), json!({}), vec!["gone: v → (none)"]),
        ];
        for (have, want, expect) in cases {
            let got: Vec<String> = diff(&r.normalise(&have), &r.normalise(&want))
                .iter()
                .map(ToString::to_string)
                .collect();
            assert_eq!(got, expect, "{have} → {want}");
        }
    }

    #[test]
    fn long_lists_of_fields_are_cut() {
        let fields = (0..5).map(|i| field(&i.to_string(), 0, 1)).collect();
        let cut = limit(fields, 2);
        assert_eq!(cut.len(), 3);
        assert_eq!(cut[2].to_string(), "and 3 more");
    }

    #[test]
    fn sdk_values_round_trip_through_json() {
        let tag = aws_sdk_servicediscovery::types::Tag::builder()
            .key("stagehand:app")
            .value("web")
            .build()
            .unwrap();
        let v = sdk_json(&tag).unwrap();
        assert_eq!(v, json!({"Key": "stagehand:app", "Value": "web"}));
        let back = from_json(
            &v,
            "a tag",
            aws_sdk_servicediscovery::types::Tag::deserialize,
        )
        .unwrap();
        assert_eq!(back, tag);
        assert!(
            from_json(
                &json!({"Key": 3}),
                "a tag",
                aws_sdk_servicediscovery::types::Tag::deserialize
            )
            .is_err()
        );
    }
}
