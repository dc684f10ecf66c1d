//! Error codes come from one catalogue (`kernel::ErrorCode`): every code the sources raise
//! is listed there with the kind it is raised with, every entry is used, and the error
//! table of docs/api.md is generated from it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use kernel::ErrorCode;
use workspace_rules::{codes, markdown, workspace_root};

#[test]
fn the_sources_raise_exactly_the_codes_of_the_catalogue() {
    let sites = codes::scan_workspace(&workspace_root()).unwrap();
    // The scan sees the workspace (a scan finding nothing would report every entry unused).
    assert!(sites.len() > 50, "only {} sites found", sites.len());
    let problems = codes::check(&sites, ErrorCode::ALL);
    assert!(
        problems.is_empty(),
        "error codes and their catalogue (crates/kernel/src/error_code.rs) disagree:\n{}",
        problems.join("\n")
    );
}

/// `UPDATE_SNAPSHOTS=1` rewrites the table (as `cargo run -p workspace-rules --example
/// gen-error-table` does).
#[test]
fn the_error_table_of_docs_api_md_is_generated_from_the_catalogue() {
    let path = workspace_root().join("docs/api.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let table = codes::render_table(ErrorCode::ALL);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        let updated = markdown::replace_section(&doc, codes::TABLE_SECTION, &table).unwrap();
        if updated != doc {
            std::fs::write(&path, updated).unwrap();
        }
        return;
    }
    let current = markdown::section(&doc, codes::TABLE_SECTION).unwrap();
    assert!(
        current == table,
        "the error table of docs/api.md differs from the catalogue; regenerate it with \
         `cargo run -p workspace-rules --example gen-error-table`.\nexpected:\n{table}\nfound:\n{current}"
    );
}
