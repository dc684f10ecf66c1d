//! Rewrites the error table of docs/api.md from the catalogue `kernel::ErrorCode`:
//! `cargo run -p workspace-rules --example gen-error-table`.

use std::process::ExitCode;

use kernel::ErrorCode;
use workspace_rules::{codes, markdown, workspace_root};

fn main() -> ExitCode {
    let path = workspace_root().join("docs/api.md");
    let result = std::fs::read_to_string(&path)
        .map_err(|error| error.to_string())
        .and_then(|doc| {
            let table = codes::render_table(ErrorCode::ALL);
            let updated = markdown::replace_section(&doc, codes::TABLE_SECTION, &table)?;
            if updated == doc {
                return Ok("up to date");
            }
            std::fs::write(&path, updated).map_err(|error| error.to_string())?;
            Ok("rewritten")
        });
    match result {
        Ok(what) => {
            println!("{}: error table {what}", path.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("{}: {error}", path.display());
            ExitCode::FAILURE
        }
    }
}
