//! `grimos policy test` and `grimos policy eval`: Rego v1 files checked and evaluated
//! without a server, like `opa test` and `opa eval` (the engines are in
//! `authz::policy`).
//!
//! Exit codes: `test` — 0 every test passed (or there were none), 1 a test failed, 2 a
//! file is unreadable or does not compile (printed as `FILE:LINE:COLUMN: message`).
//! `eval` — 0 every input line was evaluated, 1 some line printed an error object (invalid
//! JSON, an evaluation error) or the output failed, 2 a policy, the data or the query is
//! unreadable or does not compile.

use std::fs::File;
use std::io::{BufReader, BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use authz::policy::{self, RegoFile, RegoFiles};

/// Exit code for unreadable or invalid files, data or query (as in `cli`).
const EXIT_USAGE: u8 = 2;
/// Exit code for a failed test or a failed input line.
const EXIT_FAILURE: u8 = 1;

fn usage(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("grimos: {message}");
    ExitCode::from(EXIT_USAGE)
}

fn read_files(paths: &[PathBuf]) -> Result<Vec<RegoFile>, ExitCode> {
    paths
        .iter()
        .map(|path| {
            std::fs::read_to_string(path)
                .map(|source| RegoFile {
                    path: path.display().to_string(),
                    source,
                })
                .map_err(|error| usage(format!("cannot read {}: {error}", path.display())))
        })
        .collect()
}

fn read_data(path: Option<&Path>) -> Result<Option<serde_json::Value>, ExitCode> {
    let Some(path) = path else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(path)
        .map_err(|error| usage(format!("cannot read {}: {error}", path.display())))?;
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|error| usage(format!("{}: not JSON: {error}", path.display())))
}

fn compile(paths: &[PathBuf], data: Option<&Path>) -> Result<RegoFiles, ExitCode> {
    let files = read_files(paths)?;
    let data = read_data(data)?;
    RegoFiles::compile(files, data.as_ref()).map_err(|error| {
        eprintln!("{error}");
        ExitCode::from(EXIT_USAGE)
    })
}

/// `grimos policy test FILE...`: one line per `test_*` rule, then a summary.
pub(crate) fn test(paths: &[PathBuf], data: Option<&Path>) -> Result<ExitCode, ExitCode> {
    let files = compile(paths, data)?;
    let outcomes = files.run_tests();
    let mut stdout = std::io::stdout().lock();
    let mut failed = 0;
    for outcome in &outcomes {
        let line = match (&outcome.passed, &outcome.error) {
            (true, _) => format!("PASS {}", outcome.full_name()),
            (false, error) => {
                failed += 1;
                format!(
                    "FAIL {} ({}): {}",
                    outcome.full_name(),
                    outcome.policy,
                    error.as_deref().unwrap_or("false")
                )
            }
        };
        let _ = writeln!(stdout, "{line}");
    }
    let _ = writeln!(
        stdout,
        "{} tests: {} passed, {failed} failed",
        outcomes.len(),
        outcomes.len() - failed
    );
    if outcomes.is_empty() {
        eprintln!("grimos: no test_* rules in the given files");
    }
    if failed == 0 {
        Ok(ExitCode::SUCCESS)
    } else {
        Err(ExitCode::from(EXIT_FAILURE))
    }
}

/// `grimos policy eval`: one JSON result per input line on stdout.
pub(crate) fn eval(
    paths: &[PathBuf],
    data: Option<&Path>,
    query: &str,
    inputs: &Path,
    threads: Option<usize>,
) -> Result<ExitCode, ExitCode> {
    let files = compile(paths, data)?;
    let query = files.query(query).map_err(|error| {
        eprintln!("{error}");
        ExitCode::from(EXIT_USAGE)
    })?;
    let threads = threads.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(1)
    });
    let stdout = std::io::stdout().lock();
    let mut out = BufWriter::with_capacity(1 << 20, stdout);
    let summary = if inputs == Path::new("-") {
        let stdin = std::io::stdin();
        policy::eval_lines(
            &query,
            BufReader::with_capacity(1 << 20, stdin),
            &mut out,
            threads,
        )
    } else {
        let file = File::open(inputs)
            .map_err(|error| usage(format!("cannot read {}: {error}", inputs.display())))?;
        policy::eval_lines(
            &query,
            BufReader::with_capacity(1 << 20, file),
            &mut out,
            threads,
        )
    }
    .map_err(|error| {
        eprintln!("grimos: {error}");
        ExitCode::from(EXIT_FAILURE)
    })?;
    if summary.errors > 0 {
        eprintln!(
            "grimos: {} of {} input lines printed an error",
            summary.errors, summary.lines
        );
        return Err(ExitCode::from(EXIT_FAILURE));
    }
    Ok(ExitCode::SUCCESS)
}
