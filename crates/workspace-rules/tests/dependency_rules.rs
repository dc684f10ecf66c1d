//! The dependency rules written in ARCHITECTURE.md (section `dependency-rules`) hold for the
//! workspace as `cargo metadata` reports it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use workspace_rules::deps::{self, Rule, Workspace};
use workspace_rules::{markdown, workspace_root};

fn rules() -> Vec<Rule> {
    let doc = std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap();
    let table = markdown::section(&doc, "dependency-rules").unwrap();
    deps::parse_rules(table).unwrap()
}

fn workspace() -> Workspace {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let output = Command::new(cargo)
        .args([
            "metadata",
            "--format-version",
            "1",
            "--no-deps",
            "--offline",
        ])
        .arg("--manifest-path")
        .arg(workspace_root().join("Cargo.toml"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let workspace =
        deps::workspace_from_metadata(&String::from_utf8_lossy(&output.stdout)).unwrap();
    let names: Vec<&str> = workspace.packages.iter().map(|p| p.name.as_str()).collect();
    for known in ["kernel", "api", "server", "grimos", "workspace-rules"] {
        assert!(names.contains(&known), "{known} missing from {names:?}");
    }
    workspace
}

#[test]
fn the_workspace_follows_the_dependency_rules_of_architecture_md() {
    let problems = deps::check(&workspace(), &rules());
    assert!(
        problems.is_empty(),
        "the workspace breaks the dependency rules of ARCHITECTURE.md (fix the dependency, or \
         change the rule there if the design changed):\n{}",
        problems.join("\n")
    );
}

/// Every documented rule has teeth: adding one dependency it forbids to the real graph
/// makes the check fail.
#[test]
fn each_rule_catches_a_dependency_it_forbids() {
    let workspace = workspace();
    let rules = rules();
    assert!(rules.len() >= 5, "{rules:#?}");
    for rule in &rules {
        let subject = workspace
            .packages
            .iter()
            .position(|package| {
                rule.subjects
                    .iter()
                    .any(|pattern| matches(pattern, &package.name))
                    && !rule
                        .except
                        .iter()
                        .any(|pattern| matches(pattern, &package.name))
            })
            .unwrap_or_else(|| panic!("no crate is subject to {rule:?}"));
        let subject_name = workspace.packages[subject].name.clone();
        let forbidden = rule
            .forbidden
            .iter()
            .find_map(|pattern| {
                if pattern.contains('*') {
                    workspace
                        .packages
                        .iter()
                        .map(|package| package.name.clone())
                        .find(|name| *name != subject_name && matches(pattern, name))
                } else {
                    Some(pattern.clone())
                }
            })
            .unwrap_or_else(|| panic!("{rule:?} forbids nothing"));
        let mut broken = workspace.clone();
        broken.packages[subject]
            .dependencies
            .insert(forbidden.clone());
        let problems = deps::check(&broken, std::slice::from_ref(rule));
        assert!(
            problems.iter().any(|problem| problem
                .starts_with(&format!("`{subject_name}` depends on `{forbidden}`"))),
            "adding {subject_name} -> {forbidden} went unnoticed by {rule:?}: {problems:?}"
        );
    }
}

fn matches(pattern: &str, name: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => pattern == name,
    }
}
