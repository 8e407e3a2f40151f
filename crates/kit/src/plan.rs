//! What a step would do, per resource: the shared currency of `--plan` and apply.

use std::fmt;

/// What happens to one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create,
    /// The fields that change, each "name: old → new".
    Update(Vec<String>),
    Delete,
    Unchanged,
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
    pub fn update(&mut self, resource: impl Into<String>, fields: Vec<String>, op: Op) {
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
                    format!("  ~ update     {} ({})", c.resource, fields.join("; "))
                }
                Action::Delete => format!("  - delete     {}", c.resource),
                Action::Unchanged => format!("  = unchanged  {}", c.resource),
            })
            .collect()
    }
}

/// Counts per action; its Display is the line `scripts/plan.sh` adds up.
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

/// "name: old → new" for an update's field list.
pub fn field(name: &str, old: impl fmt::Display, new: impl fmt::Display) -> String {
    format!("{name}: {old} → {new}")
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
}
