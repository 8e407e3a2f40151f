use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::{DocError, Section};

/// The document version this build reads and writes.
pub const VERSION: u32 = 1;

/// A stack document. Stored as JSON values so that what a tool does not own survives a round
/// trip exactly, unknown keys and key order included.
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    root: Map<String, Value>,
}

impl Default for Doc {
    fn default() -> Self {
        let mut root = Map::new();
        root.insert("version".into(), VERSION.into());
        Doc { root }
    }
}

impl Doc {
    /// A new, empty document (what a tool starts from when stdin is empty).
    pub fn new() -> Self {
        Self::default()
    }

    /// Parse and validate the top level. Empty or whitespace-only input is a new document.
    pub fn parse(text: &str) -> Result<Doc, DocError> {
        if text.trim().is_empty() {
            return Ok(Doc::new());
        }
        let value: Value =
            serde_json::from_str(text).map_err(|e| DocError::Malformed(e.to_string()))?;
        Doc::from_value(value)
    }

    pub fn from_value(value: Value) -> Result<Doc, DocError> {
        let root = match value {
            Value::Object(map) => map,
            other => return Err(DocError::NotAnObject(kind_of(&other))),
        };
        match root.get("version") {
            None => return Err(DocError::NoVersion),
            Some(v) if v.as_u64() == Some(u64::from(VERSION)) => {}
            Some(v) => {
                return Err(DocError::Version {
                    found: v.to_string(),
                    expected: VERSION,
                });
            }
        }
        for field in ["app", "region", "account"] {
            match root.get(field) {
                None | Some(Value::String(_)) => {}
                Some(other) => {
                    return Err(DocError::TopLevel {
                        field: static_name(field),
                        problem: format!("must be a string, not {}", kind_of(other)),
                    });
                }
            }
        }
        if let Some(tags) = root.get("tags") {
            let ok = tags
                .as_object()
                .is_some_and(|m| m.values().all(Value::is_string));
            if !ok {
                return Err(DocError::TopLevel {
                    field: "tags",
                    problem: "must be an object of string values".into(),
                });
            }
        }
        Ok(Doc { root })
    }

    /// The document as pretty JSON with a trailing newline, as tools print it.
    pub fn to_pretty(&self) -> String {
        let mut text = serde_json::to_string_pretty(&self.root).expect("JSON values serialise");
        text.push('\n');
        text
    }

    pub fn as_value(&self) -> Value {
        Value::Object(self.root.clone())
    }

    fn str_field(&self, field: &str) -> Option<&str> {
        self.root.get(field).and_then(Value::as_str)
    }

    pub fn app(&self) -> Option<&str> {
        self.str_field("app")
    }
    pub fn region(&self) -> Option<&str> {
        self.str_field("region")
    }
    pub fn account(&self) -> Option<&str> {
        self.str_field("account")
    }

    pub fn set_app(&mut self, app: &str) {
        self.root.insert("app".into(), app.into());
    }
    pub fn set_region(&mut self, region: &str) {
        self.root.insert("region".into(), region.into());
    }
    pub fn set_account(&mut self, account: &str) {
        self.root.insert("account".into(), account.into());
    }

    /// User tags (`--tag K=V`), applied by every tool to what it creates.
    pub fn tags(&self) -> BTreeMap<String, String> {
        self.root
            .get("tags")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn set_tags(&mut self, tags: &BTreeMap<String, String>) {
        if tags.is_empty() {
            self.root.remove("tags");
        } else {
            let map = tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect();
            self.root.insert("tags".into(), Value::Object(map));
        }
    }

    pub fn has_section(&self, name: &str) -> bool {
        self.root.get(name).is_some_and(|v| !v.is_null())
    }

    /// The raw JSON of a section, for sections this build does not know.
    pub fn raw_section(&self, name: &str) -> Option<&Value> {
        self.root.get(name)
    }

    /// A section if present; an error if present but incomplete.
    pub fn section<S: Section>(&self) -> Result<Option<S>, DocError> {
        let Some(value) = self.root.get(S::NAME).filter(|v| !v.is_null()) else {
            return Ok(None);
        };
        let section: S =
            serde_json::from_value(value.clone()).map_err(|e| DocError::Incomplete {
                section: S::NAME,
                producer: S::PRODUCER,
                problem: e.to_string(),
            })?;
        section.validate().map_err(|problem| DocError::Incomplete {
            section: S::NAME,
            producer: S::PRODUCER,
            problem,
        })?;
        Ok(Some(section))
    }

    /// A section a tool needs: missing or incomplete is an error naming its producer.
    pub fn require<S: Section>(&self) -> Result<S, DocError> {
        self.section::<S>()?.ok_or(DocError::MissingSection {
            section: S::NAME,
            producer: S::PRODUCER,
        })
    }

    /// Like [`Doc::require`], and refuses a section that a `--plan` run wrote: real resources
    /// cannot be built on placeholders.
    pub fn require_applied<S: Section>(&self) -> Result<S, DocError> {
        let section = self.require::<S>()?;
        if self.is_planned(S::NAME) {
            return Err(DocError::Planned {
                section: S::NAME,
                producer: S::PRODUCER,
            });
        }
        Ok(section)
    }

    /// Whether a section was written by a `--plan` run.
    pub fn is_planned(&self, name: &str) -> bool {
        self.root
            .get(name)
            .and_then(|v| v.get("planned"))
            .and_then(Value::as_bool)
            == Some(true)
    }

    /// Write a tool's own section (replacing the previous one).
    pub fn put<S: Section>(&mut self, section: &S) {
        let value = serde_json::to_value(section).expect("sections serialise");
        self.root.insert(S::NAME.into(), value);
    }

    /// Write a tool's own section marked as planned: identifiers of what does not exist yet
    /// are [`crate::PLANNED`].
    pub fn put_planned<S: Section>(&mut self, section: &S) {
        let mut value = serde_json::to_value(section).expect("sections serialise");
        if let Value::Object(map) = &mut value {
            map.insert("planned".into(), true.into());
        }
        self.root.insert(S::NAME.into(), value);
    }

    /// A section's recorded settings (its tool's remembered flags), if any. Documents written
    /// before settings existed have none; the next write adds them.
    pub fn settings(&self, section: &str) -> Option<&Map<String, Value>> {
        self.root
            .get(section)
            .and_then(|v| v.get("settings"))
            .and_then(Value::as_object)
    }

    /// Record a section's settings (after its tool wrote the section). Nothing when the
    /// section is absent or the tool remembers no settings.
    pub fn set_settings(&mut self, section: &str, settings: Map<String, Value>) {
        if let Some(Value::Object(map)) = self.root.get_mut(section) {
            if settings.is_empty() {
                map.remove("settings");
            } else {
                map.insert("settings".into(), Value::Object(settings));
            }
        }
    }

    /// Take section `name` from `other` as it is there (or remove it here when `other` has
    /// none): how a runner joins a step's output into the stack's document, so that steps
    /// run side by side contribute only their own sections.
    pub fn take_section(&mut self, other: &Doc, name: &str) {
        match other.root.get(name) {
            Some(v) => {
                self.root.insert(name.into(), v.clone());
            }
            None => {
                self.root.remove(name);
            }
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.root.remove(name);
    }

    /// Deep-merge `other` into this document (`--in a --in b`, after two steps ran in
    /// parallel from one document). Objects merge key by key; any other value must agree,
    /// except that a section present on one side only is taken from that side.
    pub fn merge(&mut self, other: Doc) -> Result<(), DocError> {
        merge_maps(&mut self.root, other.root, "")
    }
}

fn merge_maps(
    left: &mut Map<String, Value>,
    right: Map<String, Value>,
    at: &str,
) -> Result<(), DocError> {
    for (key, rv) in right {
        let path = if at.is_empty() {
            key.clone()
        } else {
            format!("{at}.{key}")
        };
        match left.get_mut(&key) {
            None => {
                left.insert(key, rv);
            }
            Some(Value::Object(lm)) if rv.is_object() => {
                let Value::Object(rm) = rv else {
                    unreachable!("checked is_object")
                };
                merge_maps(lm, rm, &path)?;
            }
            Some(lv) if *lv == rv => {}
            Some(lv) => {
                return Err(DocError::MergeConflict {
                    path,
                    left: lv.to_string(),
                    right: rv.to_string(),
                });
            }
        }
    }
    Ok(())
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn static_name(field: &str) -> &'static str {
    match field {
        "app" => "app",
        "region" => "region",
        _ => "account",
    }
}
