//! The workspace dependency rules: parsed from the table in `ARCHITECTURE.md` (section
//! `dependency-rules`), checked against the workspace's packages as `cargo metadata` reports
//! them.
//!
//! A rule row reads `| crates | may not depend on | because |`. Names are written in
//! backticks: a crate name, `prefix*` (the workspace crates whose name starts with
//! `prefix`) or `*` (every workspace crate). In the first column, names after the word
//! `except` are exempt. A forbidden name without `*` may be an outside crate (`axum`).
//! Rules apply to normal and build dependencies (what ships), not to dev-dependencies.

use std::collections::BTreeSet;

/// One row of the rules table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Crates the rule applies to (patterns).
    pub subjects: Vec<String>,
    /// Crates exempt from it (patterns).
    pub except: Vec<String>,
    /// What they may not depend on (patterns).
    pub forbidden: Vec<String>,
    /// Why, as written in the table.
    pub reason: String,
}

/// A workspace crate and the crates it depends on (normal and build dependencies).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// The package name.
    pub name: String,
    /// Names of its normal and build dependencies, workspace or not.
    pub dependencies: BTreeSet<String>,
}

/// The workspace's crates.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Workspace {
    /// Every member.
    pub packages: Vec<Package>,
}

impl Workspace {
    /// A workspace from `(crate, [dependencies])` pairs (for tests of the checker).
    pub fn from_edges(edges: &[(&str, &[&str])]) -> Self {
        Self {
            packages: edges
                .iter()
                .map(|(name, dependencies)| Package {
                    name: (*name).to_owned(),
                    dependencies: dependencies.iter().map(|d| (*d).to_owned()).collect(),
                })
                .collect(),
        }
    }

    fn is_member(&self, name: &str) -> bool {
        self.packages.iter().any(|package| package.name == name)
    }

    fn members_matching<'a>(&'a self, pattern: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.packages
            .iter()
            .map(|package| package.name.as_str())
            .filter(move |name| glob_matches(pattern, name))
    }
}

/// The output of `cargo metadata --format-version 1 --no-deps` as a [`Workspace`].
pub fn workspace_from_metadata(json: &str) -> Result<Workspace, String> {
    let metadata: serde_json::Value =
        serde_json::from_str(json).map_err(|error| format!("cargo metadata: {error}"))?;
    let packages = metadata["packages"]
        .as_array()
        .ok_or("cargo metadata: no `packages` array")?;
    let mut workspace = Workspace::default();
    for package in packages {
        let name = package["name"]
            .as_str()
            .ok_or("cargo metadata: a package without a name")?;
        let dependencies = package["dependencies"]
            .as_array()
            .ok_or_else(|| format!("cargo metadata: {name} has no `dependencies` array"))?;
        let mut names = BTreeSet::new();
        for dependency in dependencies {
            let kind = dependency["kind"].as_str();
            if kind == Some("dev") {
                continue;
            }
            let dependency_name = dependency["name"]
                .as_str()
                .ok_or_else(|| format!("cargo metadata: a dependency of {name} has no name"))?;
            if dependency_name != name {
                names.insert(dependency_name.to_owned());
            }
        }
        workspace.packages.push(Package {
            name: name.to_owned(),
            dependencies: names,
        });
    }
    Ok(workspace)
}

/// The rules of a Markdown table (`| crates | may not depend on | because |`).
pub fn parse_rules(table: &str) -> Result<Vec<Rule>, String> {
    let mut rows = table
        .lines()
        .map(str::trim)
        .filter(|line| line.starts_with('|'));
    let header = rows.next().ok_or("the rules table is empty")?;
    if cells(header).len() != 3 {
        return Err(format!("the rules table needs 3 columns: {header}"));
    }
    match rows.next() {
        Some(separator)
            if separator
                .chars()
                .all(|c| matches!(c, '|' | '-' | ':' | ' ')) => {}
        other => return Err(format!("no separator row under the header: {other:?}")),
    }
    let mut rules = Vec::new();
    for row in rows {
        let columns = cells(row);
        let [subjects, forbidden, reason] = columns.as_slice() else {
            return Err(format!("a rule needs 3 columns: {row}"));
        };
        let (subjects, except) = match subjects.split_once(" except ") {
            Some((subjects, except)) => (names(subjects), names(except)),
            None => (names(subjects), Vec::new()),
        };
        let forbidden = names(forbidden);
        if subjects.is_empty() || forbidden.is_empty() || reason.is_empty() {
            return Err(format!(
                "a rule needs crates and forbidden dependencies in backticks, and a reason: {row}"
            ));
        }
        if except
            .iter()
            .chain(&subjects)
            .chain(&forbidden)
            .any(|name| {
                !name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))
            })
        {
            return Err(format!("a name in this rule is not a crate pattern: {row}"));
        }
        rules.push(Rule {
            subjects,
            except,
            forbidden,
            reason: (*reason).to_owned(),
        });
    }
    if rules.is_empty() {
        return Err("the rules table has no rules".to_owned());
    }
    Ok(rules)
}

/// Every broken rule, and every rule naming a workspace crate that does not exist (a rule
/// about nothing would pass forever). Empty when all hold.
pub fn check(workspace: &Workspace, rules: &[Rule]) -> Vec<String> {
    let mut problems = Vec::new();
    for rule in rules {
        let patterns = rule.subjects.iter().chain(&rule.except).chain(
            rule.forbidden
                .iter()
                .filter(|pattern| pattern.contains('*')),
        );
        for pattern in patterns {
            if workspace.members_matching(pattern).next().is_none() {
                problems.push(format!(
                    "the rule for {} names `{pattern}`, which matches no workspace crate",
                    rule.subjects.join(", ")
                ));
            }
        }
        for package in &workspace.packages {
            let applies = rule
                .subjects
                .iter()
                .any(|pattern| glob_matches(pattern, &package.name))
                && !rule
                    .except
                    .iter()
                    .any(|pattern| glob_matches(pattern, &package.name));
            if !applies {
                continue;
            }
            for dependency in &package.dependencies {
                let forbidden_by = rule.forbidden.iter().find(|pattern| {
                    if pattern.contains('*') {
                        workspace.is_member(dependency) && glob_matches(pattern, dependency)
                    } else {
                        *pattern == dependency
                    }
                });
                if let Some(pattern) = forbidden_by {
                    problems.push(format!(
                        "`{}` depends on `{dependency}`, but the rule (`{pattern}`) says it may not: {}",
                        package.name, rule.reason
                    ));
                }
            }
        }
    }
    problems
}

/// `*` matches anything, `prefix*` what starts with `prefix`, other patterns themselves.
fn glob_matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}

fn cells(row: &str) -> Vec<&str> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// The names written in backticks.
fn names(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|name| name.trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "\
| crates | may not depend on | because |
|---|---|---|
| `kernel` | `*` | the bottom |
| `storage`, `connector-*` | `api`, `axum` | no HTTP |
| `*` except `bin` | `bin`, `server` | only the binary composes |
";

    fn rules() -> Vec<Rule> {
        parse_rules(TABLE).unwrap()
    }

    #[test]
    fn rows_parse_into_subjects_exceptions_and_forbidden_names() {
        let rules = rules();
        assert_eq!(rules.len(), 3);
        assert_eq!(rules[1].subjects, ["storage", "connector-*"]);
        assert_eq!(rules[1].forbidden, ["api", "axum"]);
        assert_eq!(rules[2].subjects, ["*"]);
        assert_eq!(rules[2].except, ["bin"]);
        assert_eq!(rules[2].reason, "only the binary composes");
    }

    #[test]
    fn a_graph_that_follows_the_rules_passes() {
        let workspace = Workspace::from_edges(&[
            ("kernel", &["serde"]),
            ("storage", &["kernel", "sqlx"]),
            ("connector-rest", &["kernel", "reqwest"]),
            ("api", &["kernel", "axum"]),
            ("server", &["api", "storage"]),
            ("bin", &["server"]),
        ]);
        assert_eq!(check(&workspace, &rules()), Vec::<String>::new());
    }

    #[test]
    fn each_kind_of_broken_rule_is_reported() {
        let workspace = Workspace::from_edges(&[
            // kernel depends on a workspace crate
            ("kernel", &["storage", "serde"]),
            ("storage", &["kernel"]),
            // a connector (by prefix) depends on an outside crate it may not use
            ("connector-rest", &["axum"]),
            ("api", &["kernel"]),
            // a library depends on the server
            ("server", &["api"]),
            ("api-extra", &["server"]),
            ("bin", &["server"]),
        ]);
        let problems = check(&workspace, &rules());
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].starts_with("`kernel` depends on `storage`"));
        assert!(problems[1].starts_with("`connector-rest` depends on `axum`"));
        assert!(problems[2].starts_with("`api-extra` depends on `server`"));
        assert!(problems[2].ends_with("only the binary composes"));
    }

    #[test]
    fn a_star_forbids_workspace_crates_only() {
        let workspace = Workspace::from_edges(&[
            ("kernel", &["serde", "uuid"]),
            ("storage", &[]),
            ("connector-x", &[]),
            ("bin", &[]),
            ("server", &[]),
        ]);
        assert_eq!(check(&workspace, &rules()), Vec::<String>::new());
    }

    #[test]
    fn a_rule_about_a_crate_that_does_not_exist_is_reported() {
        // `storage` was renamed: the rule would silently hold forever.
        let workspace = Workspace::from_edges(&[
            ("kernel", &[]),
            ("store", &["api"]),
            ("connector-x", &[]),
            ("bin", &[]),
        ]);
        let problems = check(&workspace, &rules());
        assert_eq!(
            problems,
            ["the rule for storage, connector-* names `storage`, which matches no workspace crate"]
        );
    }

    #[test]
    fn malformed_tables_are_refused() {
        assert!(parse_rules("").is_err());
        assert!(parse_rules("| a | b | c |\n|---|---|---|\n").is_err());
        assert!(parse_rules("| a | b | c |\n|---|---|---|\n| `x` | `y` |\n").is_err());
        assert!(parse_rules("| a | b | c |\n|---|---|---|\n| x | `y` | why |\n").is_err());
        assert!(parse_rules("| a | b | c |\n|---|---|---|\n| `x` | `y z` | why |\n").is_err());
    }

    #[test]
    fn metadata_yields_normal_and_build_dependencies_only() {
        let json = r#"{"packages": [
            {"name": "a", "dependencies": [
                {"name": "b", "kind": null},
                {"name": "c", "kind": "build"},
                {"name": "d", "kind": "dev"},
                {"name": "a", "kind": null}
            ]},
            {"name": "b", "dependencies": []}
        ]}"#;
        let workspace = workspace_from_metadata(json).unwrap();
        assert_eq!(
            workspace,
            Workspace::from_edges(&[("a", &["b", "c"]), ("b", &[])])
        );
        assert!(workspace_from_metadata("{}").is_err());
    }
}
