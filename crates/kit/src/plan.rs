//! What a step would do, per resource: the shared currency of `--plan`, `--plan-json` and
//! apply.

use std::fmt;

use serde::Serialize;
use serde_json::{Value, json};

/// One changed field of an update: "name: old → new".
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub name: String,
    /// Empty when the change has no before/after form (a rule added, a tag removed).
    pub old: String,
    pub new: String,
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.old.is_empty() && self.new.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}: {} → {}", self.name, self.old, self.new)
        }
    }
}

/// A free-form change line ("+ ingress tcp 5432 from sg-1"), or one already written as
/// "name: old → new", which is split back into its parts.
impl From<String> for Field {
    fn from(text: String) -> Field {
        if let Some((name, rest)) = text.split_once(": ")
            && let Some((old, new)) = rest.split_once(" → ")
        {
            return Field {
                name: name.to_owned(),
                old: old.to_owned(),
                new: new.to_owned(),
            };
        }
        Field {
            name: text,
            old: String::new(),
            new: String::new(),
        }
    }
}

impl From<&str> for Field {
    fn from(text: &str) -> Field {
        Field::from(text.to_owned())
    }
}

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    /// The fields that change.
    Update(Vec<Field>),
    Delete,
    Unchanged,
}

impl Action {
    /// "create", "update", "delete", "unchanged": the word `--plan-json` uses.
    pub fn word(&self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update(_) => "update",
            Action::Delete => "delete",
            Action::Unchanged => "unchanged",
        }
    }
}

/// One resource's change, with the tool's own operation to carry it out.
#[derive(Debug, Clone)]
pub struct Change<Op> {
    pub action: Action,
    /// What a person calls it: "secret ecs-github-token".
    pub resource: String,
    pub op: Op,
}

/// The ordered list of changes a step computed from what exists and what should.
#[derive(Debug, Clone)]
pub struct Plan<Op> {
    pub changes: Vec<Change<Op>>,
}

impl<Op> Default for Plan<Op> {
    fn default() -> Self {
        Plan {
            changes: Vec::new(),
        }
    }
}

impl<Op> Plan<Op> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn create(&mut self, resource: impl Into<String>, op: Op) {
        self.push(Action::Create, resource, op);
    }
    pub fn update<F: Into<Field>>(
        &mut self,
        resource: impl Into<String>,
        fields: impl IntoIterator<Item = F>,
        op: Op,
    ) {
        let fields = fields.into_iter().map(Into::into).collect();
        self.push(Action::Update(fields), resource, op);
    }
    pub fn delete(&mut self, resource: impl Into<String>, op: Op) {
        self.push(Action::Delete, resource, op);
    }
    pub fn unchanged(&mut self, resource: impl Into<String>, op: Op) {
        self.push(Action::Unchanged, resource, op);
    }
    pub fn push(&mut self, action: Action, resource: impl Into<String>, op: Op) {
        self.changes.push(Change {
            action,
            resource: resource.into(),
            op,
        });
    }

    /// Whether apply has anything to do (a rerun with an empty plan makes no mutating call).
    pub fn has_work(&self) -> bool {
        self.changes.iter().any(|c| c.action != Action::Unchanged)
    }

    /// The change for a resource, by its name as shown ("Aurora cluster backstage-db").
    pub fn find(&self, resource: &str) -> Option<&Change<Op>> {
        self.changes.iter().find(|c| c.resource == resource)
    }

    pub fn summary(&self) -> Summary {
        let mut s = Summary::default();
        for c in &self.changes {
            match c.action {
                Action::Create => s.create += 1,
                Action::Update(_) => s.update += 1,
                Action::Delete => s.delete += 1,
                Action::Unchanged => s.unchanged += 1,
            }
        }
        s
    }

    /// The plan as lines for stderr, one per resource.
    pub fn lines(&self) -> Vec<String> {
        self.changes
            .iter()
            .map(|c| match &c.action {
                Action::Create => format!("  + create     {}", c.resource),
                Action::Update(fields) => {
                    let fields: Vec<String> = fields.iter().map(ToString::to_string).collect();
                    format!("  ~ update     {} ({})", c.resource, fields.join("; "))
                }
                Action::Delete => format!("  - delete     {}", c.resource),
                Action::Unchanged => format!("  = unchanged  {}", c.resource),
            })
            .collect()
    }

    /// The machine-readable plan (`--plan-json`): the same actions as [`Plan::lines`].
    pub fn to_json(&self, tool: &str, section: &str) -> Value {
        let actions: Vec<Value> = self
            .changes
            .iter()
            .map(|c| {
                let mut a = json!({"action": c.action.word(), "resource": c.resource});
                if let Action::Update(fields) = &c.action {
                    a["fields"] = serde_json::to_value(fields).expect("fields serialise");
                }
                a
            })
            .collect();
        let s = self.summary();
        json!({
            "tool": tool,
            "section": section,
            "summary": {"create": s.create, "update": s.update, "delete": s.delete, "unchanged": s.unchanged},
            "actions": actions,
        })
    }
}

/// Counts per action; its Display is the line a plan ends with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
    pub unchanged: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "plan: {} to create, {} to update, {} to delete, {} unchanged",
            self.create, self.update, self.delete, self.unchanged
        )
    }
}

/// One changed field of an update.
pub fn field(name: &str, old: impl fmt::Display, new: impl fmt::Display) -> Field {
    Field {
        name: name.to_owned(),
        old: old.to_string(),
        new: new.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_each_action() {
        let mut plan = Plan::new();
        plan.create("secret a", ());
        plan.update("cluster b", vec![field("max_acu", 4, 2)], ());
        plan.unchanged("role c", ());
        assert!(plan.has_work());
        assert_eq!(
            plan.summary().to_string(),
            "plan: 1 to create, 1 to update, 0 to delete, 1 unchanged"
        );
        assert!(plan.lines()[1].contains("max_acu: 4 → 2"));
        let mut idle = Plan::new();
        idle.unchanged("x", ());
        assert!(!idle.has_work());
    }

    #[test]
    fn json_lists_the_same_actions_as_the_lines() {
        let mut plan = Plan::new();
        plan.create("secret a", ());
        plan.update(
            "group g",
            vec!["+ ingress tcp 80".to_owned(), "cidr: a → b".to_owned()],
            (),
        );
        let j = plan.to_json("x-up", "x");
        assert_eq!(j["summary"]["create"], 1);
        assert_eq!(j["actions"][0]["action"], "create");
        assert_eq!(j["actions"][1]["fields"][0]["name"], "+ ingress tcp 80");
        assert_eq!(j["actions"][1]["fields"][1]["old"], "a");
        assert_eq!(j["actions"][1]["fields"][1]["new"], "b");
        assert!(plan.lines()[1].contains("+ ingress tcp 80; cidr: a → b"));
    }
}
