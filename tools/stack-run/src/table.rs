//! The step table (scripts/steps.tsv), compiled in: the one list of the stack's steps that the
//! scripts, the Makefile and this runner share.

/// The table as the repository holds it.
pub const TABLE: &str = include_str!("../../../scripts/steps.tsv");

/// One step of the stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepDef {
    /// Its binary ("db-up").
    pub tool: String,
    /// The document section it writes ("db").
    pub section: String,
    /// Its make target ("db").
    pub target: String,
    /// Its variable of extra flags, without `_ARGS` ("DB").
    pub var: String,
    /// Sections it reads: it runs once the steps that write them have run.
    pub needs: Vec<String>,
    /// Flags it always gets.
    pub flags: Vec<String>,
    /// Flags it gets inside up's chain only.
    pub chain: Vec<String>,
    /// Flags of up's final pass, if it has one.
    pub finish: Option<Vec<String>>,
    /// Extra flags of its `--destroy` in down (the whole teardown the user confirmed).
    pub down: Vec<String>,
    /// Sections it reads when they exist but does not wait for: run before one of them was
    /// in the document, it runs once more in the same pass after the step writing it (pipeline-up
    /// starts before the service exists, holding its Deploy stage; it runs again after svc-up
    /// to release it). A plan waits for them, so it shows the end state.
    pub again: Vec<String>,
}

impl StepDef {
    /// Its extra flags from the environment (`DB_ARGS="--max-acu 4"`), split on white space
    /// as the shell scripts always did.
    pub fn env_args(&self) -> Vec<String> {
        std::env::var(format!("{}_ARGS", self.var))
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    }

    /// The sections its plan waits for: what it needs, and what makes it run again.
    pub fn plan_needs(&self) -> impl Iterator<Item = &String> {
        self.needs.iter().chain(self.again.iter())
    }
}

fn list(cell: &str, sep: char) -> Vec<String> {
    if cell == "-" {
        Vec::new()
    } else {
        cell.split(sep)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    }
}

/// Parse the table: one step per line, white-space separated columns, `#` comments.
pub fn parse(text: &str) -> Result<Vec<StepDef>, String> {
    let mut steps: Vec<StepDef> = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split_whitespace().collect();
        let [
            tool,
            section,
            target,
            var,
            needs,
            flags,
            chain,
            finish,
            down,
            again,
        ] = cols[..]
        else {
            return Err(format!(
                "steps.tsv line {}: {} columns, not 10: {line}",
                n + 1,
                cols.len()
            ));
        };
        let needs = list(needs, ',');
        for need in &needs {
            if !steps.iter().any(|s| s.section == *need) {
                return Err(format!(
                    "steps.tsv line {}: {tool} needs section {need}, which no earlier step writes",
                    n + 1
                ));
            }
        }
        steps.push(StepDef {
            tool: tool.into(),
            section: section.into(),
            target: target.into(),
            var: var.into(),
            needs,
            flags: list(flags, ','),
            chain: list(chain, ','),
            finish: match finish {
                "-" => None,
                "=" => Some(Vec::new()),
                other => Some(list(other, ',')),
            },
            down: list(down, ','),
            again: list(again, ','),
        });
    }
    if steps.is_empty() {
        return Err("steps.tsv lists no steps".into());
    }
    for step in &steps {
        for section in &step.again {
            if section == &step.section || !steps.iter().any(|s| s.section == *section) {
                return Err(format!(
                    "steps.tsv: {} runs again after section {section}, which no other step writes",
                    step.tool
                ));
            }
        }
    }
    Ok(steps)
}

/// The compiled-in table.
pub fn steps() -> Vec<StepDef> {
    parse(TABLE).expect("scripts/steps.tsv is valid (its unit test says so)")
}

/// A step by its tool name or its make target.
pub fn find<'a>(steps: &'a [StepDef], name: &str) -> Option<&'a StepDef> {
    steps.iter().find(|s| s.tool == name || s.target == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_valid_and_in_dependency_order() {
        let steps = steps();
        let tools: Vec<&str> = steps.iter().map(|s| s.tool.as_str()).collect();
        assert_eq!(
            tools,
            [
                "secrets-init",
                "slr-check",
                "ecr-up",
                "core-up",
                "db-up",
                "alb-up",
                "svc-up",
                "pipeline-up"
            ]
        );
        let db = find(&steps, "db").unwrap();
        assert_eq!(db.needs, ["secrets", "core"]);
        assert_eq!(db.chain, ["--no-wait"]);
        assert_eq!(db.finish, Some(vec![]));
        assert_eq!(find(&steps, "slr-check").unwrap().flags, ["--create"]);
        assert_eq!(find(&steps, "ecr").unwrap().down, ["--force"]);
        assert!(find(&steps, "svc").unwrap().down.is_empty());
        // The pipeline (and its first build) does not wait for the service; it runs again
        // once svc-up has made it, to release its Deploy stage.
        let pipeline = find(&steps, "pipeline").unwrap();
        assert!(!pipeline.needs.iter().any(|n| n == "svc" || n == "alb"));
        assert_eq!(pipeline.again, ["svc"]);
        assert!(
            steps
                .iter()
                .filter(|s| s.tool != "pipeline-up")
                .all(|s| s.again.is_empty())
        );
    }

    #[test]
    fn bad_tables_are_refused() {
        assert!(parse("a b c\n").unwrap_err().contains("not 10"));
        assert!(
            parse("x-up x x X y - - - - -\n")
                .unwrap_err()
                .contains("needs section y")
        );
        assert!(
            parse("x-up x x X - - - - - z\n")
                .unwrap_err()
                .contains("after section z")
        );
        assert!(parse("# only a comment\n").is_err());
    }
}
