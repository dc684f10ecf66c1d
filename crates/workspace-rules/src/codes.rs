//! Error codes in the sources against the catalogue (`kernel::ErrorCode`), and the error
//! table of `docs/api.md` generated from the catalogue.
//!
//! The scan reads every `crates/*/src/**/*.rs` file except test code (`#[cfg(test)]`
//! items and the files of test-only modules), comments, the catalogue itself and this
//! crate, and finds a code where one is fixed:
//!
//! - `Error::new(<kind>, <code>, <message>)` (also `Self::new` with an `ErrorKind::` first
//!   argument), where `<code>` is a string literal, `ErrorCode::Variant` (optionally
//!   `.as_str()`/`.into()`) or a constant named `CODE`/`*_CODE`; any other expression after
//!   `Error::new(ErrorKind::X, ` is reported, since the scan could not see the code it
//!   passes;
//! - `Problem::new(StatusCode::X, "<code>", ...)`, and helpers named `*_problem("<code>", ...)`;
//! - `const CODE: &str = "<code>"` (or `*_CODE`);
//! - any `ErrorCode::Variant`.
//!
//! The kernel's own constructors (`validation`/`invalid_field`, `not_found`, `internal`,
//! `unavailable`) fix their codes with `Self::new` in `kernel/src/error.rs`, which the scan
//! reads like any other file.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use kernel::ErrorCode;
use kernel::error_code::Status;

use crate::source::{self, call_arguments, is_ident, string_literal};

/// The name of the generated section of `docs/api.md`.
pub const TABLE_SECTION: &str = "error-codes";

/// How a site names its code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeArg {
    /// A string literal, e.g. `"name_taken"`.
    Literal(String),
    /// A catalogue variant, e.g. `ErrorCode::NameTaken` (the variant's name).
    Variant(String),
    /// A constant, e.g. `EgressDenied::CODE` (the constant's name).
    Const(String),
    /// Anything else: the scan cannot tell which code it is.
    Unresolved(String),
}

/// One place in the sources that fixes an error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    /// The file, relative to the workspace root.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The code.
    pub code: CodeArg,
    /// The `ErrorKind` variant it is raised with, when the site says.
    pub kind: Option<String>,
    /// The HTTP status it is answered with, when the site says.
    pub status: Option<u16>,
    /// For `const X_CODE: &str = "..."`: the constant's name.
    pub defines: Option<String>,
}

impl fmt::Display for Site {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file.display(), self.line)
    }
}

/// The sites of one (unsanitized) source file.
pub fn scan_source(file: &Path, text: &str) -> Vec<Site> {
    scan_sanitized(file, &source::sanitize(text).text)
}

fn scan_sanitized(file: &Path, text: &str) -> Vec<Site> {
    let mut sites = Vec::new();
    let site = |at: usize, code: CodeArg, kind: Option<String>, status: Option<u16>| Site {
        file: file.to_path_buf(),
        line: text[..at].matches('\n').count() + 1,
        code,
        kind,
        status,
        defines: None,
    };
    for (at, is_self) in needles(text, &["Error::new(", "Self::new("]) {
        let open = at + text[at..].find('(').unwrap_or(0);
        if is_self == 0 && text[..at].ends_with("io::") {
            continue;
        }
        let Some((arguments, _)) = call_arguments(text, open) else {
            continue;
        };
        let [kind, code, _message] = arguments.as_slice() else {
            continue;
        };
        let kind = error_kind(kind);
        if is_self == 1 && kind.is_none() {
            continue;
        }
        let code = code_arg(code);
        if (kind.is_none() || is_self == 1) && matches!(code, CodeArg::Unresolved(_)) {
            // Not recognisably a kernel error: another type's three-argument `new` (such
            // as the connector SDK's `Self::new(ErrorKind::Config, operation, detail)`).
            continue;
        }
        sites.push(site(at, code, kind, None));
    }
    for (at, _) in needles(text, &["Problem::new("]) {
        let open = at + text[at..].find('(').unwrap_or(0);
        if let Some((arguments, _)) = call_arguments(text, open)
            && let [status, code, ..] = arguments.as_slice()
        {
            match code_arg(code) {
                // forwarding a code from elsewhere (`error.code()`, a helper's parameter)
                CodeArg::Unresolved(_) => {}
                code => sites.push(site(at, code, None, status_code(status))),
            }
        }
    }
    // `in_use_problem("in_use", ...)`: the needle continues an identifier
    for (at, _) in text.match_indices("_problem(") {
        let open = at + "_problem".len();
        if let Some((arguments, _)) = call_arguments(text, open)
            && let Some(first) = arguments.first()
            && let CodeArg::Literal(code) | CodeArg::Variant(code) = code_arg(first)
        {
            let arg = if first.starts_with('"') {
                CodeArg::Literal(code)
            } else {
                CodeArg::Variant(code)
            };
            sites.push(site(at, arg, None, None));
        }
    }
    for (at, _) in needles(text, &["const "]) {
        let rest = &text[at + "const ".len()..];
        let Some((name, rest)) = rest.split_once(':') else {
            continue;
        };
        let name = name.trim();
        if !(name == "CODE" || name.ends_with("_CODE")) || !name.chars().all(is_ident) {
            continue;
        }
        let Some((ty, rest)) = rest.split_once('=') else {
            continue;
        };
        if !matches!(
            ty.split_whitespace().collect::<String>().as_str(),
            "&str" | "&'staticstr"
        ) {
            continue;
        }
        let Some(value) = rest.split_once(';').map(|(value, _)| value.trim()) else {
            continue;
        };
        if let Some(code) = string_literal(value) {
            let mut definition = site(at, CodeArg::Literal(code.to_owned()), None, None);
            definition.defines = Some(name.to_owned());
            sites.push(definition);
        }
    }
    for (at, _) in needles(text, &["ErrorCode::"]) {
        let name: String = text[at + "ErrorCode::".len()..]
            .chars()
            .take_while(|&c| is_ident(c))
            .collect();
        if is_variant_name(&name) {
            sites.push(site(at, CodeArg::Variant(name), None, None));
        }
    }
    sites.sort_by_key(|site| site.line);
    sites
}

/// Positions of each needle in `text` that does not continue an identifier, with the
/// needle's index.
fn needles(text: &str, needles: &[&str]) -> Vec<(usize, usize)> {
    let mut found = Vec::new();
    for (index, needle) in needles.iter().enumerate() {
        let continues_identifier = needle.starts_with(is_ident);
        for (at, _) in text.match_indices(needle) {
            let preceded_by_ident = text[..at].chars().next_back().is_some_and(is_ident);
            if !(continues_identifier && preceded_by_ident) {
                found.push((at, index));
            }
        }
    }
    found.sort_unstable();
    found
}

/// `ErrorKind::X` (with any path in front): `X`.
fn error_kind(argument: &str) -> Option<String> {
    let (path, variant) = argument.rsplit_once("::")?;
    (path == "ErrorKind" || path.ends_with("::ErrorKind")).then(|| variant.to_owned())
}

fn code_arg(argument: &str) -> CodeArg {
    if let Some(code) = string_literal(argument) {
        return CodeArg::Literal(code.to_owned());
    }
    let path = argument
        .strip_suffix(".as_str()")
        .or_else(|| argument.strip_suffix(".into()"))
        .unwrap_or(argument);
    if let Some((prefix, last)) = path.rsplit_once("::")
        && last.chars().all(is_ident)
    {
        if (prefix == "ErrorCode" || prefix.ends_with("::ErrorCode")) && is_variant_name(last) {
            return CodeArg::Variant(last.to_owned());
        }
        if last == "CODE" || last.ends_with("_CODE") {
            return CodeArg::Const(last.to_owned());
        }
    }
    if argument == "CODE" || (argument.ends_with("_CODE") && argument.chars().all(is_ident)) {
        return CodeArg::Const(argument.to_owned());
    }
    CodeArg::Unresolved(argument.to_owned())
}

/// `NameTaken` is a variant; `ALL` (a constant) and `parse` (a function) are not.
fn is_variant_name(name: &str) -> bool {
    name.starts_with(|c: char| c.is_ascii_uppercase()) && name.chars().any(|c| c.is_lowercase())
}

fn status_code(argument: &str) -> Option<u16> {
    let name = argument.rsplit("::").next()?;
    let status = match name {
        "BAD_REQUEST" => 400,
        "UNAUTHORIZED" => 401,
        "FORBIDDEN" => 403,
        "NOT_FOUND" => 404,
        "METHOD_NOT_ALLOWED" => 405,
        "REQUEST_TIMEOUT" => 408,
        "CONFLICT" => 409,
        "GONE" => 410,
        "PRECONDITION_FAILED" => 412,
        "PAYLOAD_TOO_LARGE" => 413,
        "UNSUPPORTED_MEDIA_TYPE" => 415,
        "UNPROCESSABLE_ENTITY" => 422,
        "TOO_MANY_REQUESTS" => 429,
        "INTERNAL_SERVER_ERROR" => 500,
        "BAD_GATEWAY" => 502,
        "SERVICE_UNAVAILABLE" => 503,
        "GATEWAY_TIMEOUT" => 504,
        _ => return None,
    };
    Some(status)
}

/// The Rust files the scan reads under `root` (the workspace), relative to it: every
/// `crates/*/src/**/*.rs`, except this crate, the catalogue and test-only module files.
pub fn source_files(root: &Path) -> Result<Vec<(PathBuf, String)>, String> {
    let mut files = Vec::new();
    let crates = root.join("crates");
    let mut crate_dirs = read_dir(&crates)?;
    crate_dirs.retain(|dir| dir.is_dir() && !dir.ends_with("workspace-rules"));
    for dir in crate_dirs {
        collect_rs(&dir.join("src"), &mut files)?;
    }
    files.sort();
    let catalogue = crates.join("kernel/src/error_code.rs");
    let mut sources = Vec::new();
    let mut test_only = Vec::new();
    for path in files {
        if path == catalogue {
            continue;
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?;
        let sanitized = source::sanitize(&text);
        let module_dir = match path.file_name().and_then(|name| name.to_str()) {
            Some("lib.rs" | "main.rs" | "mod.rs") => path.parent().map(Path::to_path_buf),
            _ => Some(path.with_extension("")),
        };
        if let Some(module_dir) = module_dir {
            for name in &sanitized.test_module_files {
                test_only.push(module_dir.join(format!("{name}.rs")));
                test_only.push(module_dir.join(name).join("mod.rs"));
            }
        }
        let relative = path.strip_prefix(root).unwrap_or(&path).to_path_buf();
        sources.push((path, relative, sanitized.text));
    }
    Ok(sources
        .into_iter()
        .filter(|(path, _, _)| !test_only.iter().any(|test| test == path))
        .map(|(_, relative, text)| (relative, text))
        .collect())
}

fn read_dir(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|error| format!("{}: {error}", dir.display()))?;
    let mut paths = Vec::new();
    for entry in entries {
        paths.push(
            entry
                .map_err(|error| format!("{}: {error}", dir.display()))?
                .path(),
        );
    }
    Ok(paths)
}

fn collect_rs(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), String> {
    if !dir.is_dir() {
        return Ok(());
    }
    for path in read_dir(dir)? {
        if path.is_dir() {
            collect_rs(&path, files)?;
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

/// Every site of the workspace at `root`.
pub fn scan_workspace(root: &Path) -> Result<Vec<Site>, String> {
    let mut sites = Vec::new();
    for (file, text) in source_files(root)? {
        sites.extend(scan_sanitized(&file, &text));
    }
    Ok(sites)
}

/// The HTTP status a catalogue entry is answered with.
pub fn http_status(code: ErrorCode) -> u16 {
    match code.status() {
        Status::Kind(kind) => api::problem::status_for(kind).as_u16(),
        Status::Http(status) => status,
    }
}

/// Everything wrong between `sites` and the catalogue `codes`: codes used but not listed,
/// codes raised with another kind or status than listed, sites whose code the scan cannot
/// see, and listed codes nothing uses. Empty when they agree.
pub fn check(sites: &[Site], codes: &[ErrorCode]) -> Vec<String> {
    let listed = |code: &str| codes.iter().copied().find(|entry| entry.as_str() == code);
    let by_variant = |name: &str| {
        codes
            .iter()
            .copied()
            .find(|entry| format!("{entry:?}") == name)
    };
    let mut constants: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for site in sites {
        if let (Some(name), CodeArg::Literal(code)) = (&site.defines, &site.code) {
            constants.entry(name).or_default().push(code);
        }
    }
    let mut problems = Vec::new();
    let mut used = std::collections::BTreeSet::new();
    for site in sites {
        let candidates: Vec<Result<ErrorCode, String>> = match &site.code {
            CodeArg::Literal(code) => vec![listed(code).ok_or_else(|| code.clone())],
            CodeArg::Variant(name) => vec![by_variant(name).ok_or_else(|| name.clone())],
            CodeArg::Const(name) => match constants.get(name.as_str()) {
                Some(values) => values
                    .iter()
                    .map(|code| listed(code).ok_or_else(|| (*code).to_owned()))
                    .collect(),
                None => {
                    problems.push(format!(
                        "{site}: the code constant `{name}` is defined nowhere the scan reads"
                    ));
                    continue;
                }
            },
            CodeArg::Unresolved(expression) => {
                problems.push(format!(
                    "{site}: `{expression}` passes a code the scan cannot see; write the code \
                     as a literal or an `ErrorCode` at the call"
                ));
                continue;
            }
        };
        let mut matched = false;
        let mut mismatches = Vec::new();
        for candidate in candidates {
            let code = match candidate {
                Ok(code) => code,
                Err(code) => {
                    problems.push(format!(
                        "{site}: `{code}` is not in the error-code catalogue \
                         (crates/kernel/src/error_code.rs)"
                    ));
                    continue;
                }
            };
            used.insert(code.as_str());
            let kind_ok = match (&site.kind, code.status()) {
                (None, _) => true,
                (Some(kind), Status::Kind(listed)) => *kind == format!("{listed:?}"),
                (Some(_), Status::Http(_)) => false,
            };
            let status_ok = site.status.is_none_or(|status| status == http_status(code));
            if kind_ok && status_ok {
                matched = true;
            } else {
                mismatches.push(code);
            }
        }
        if !matched {
            for code in mismatches {
                let raised = match (&site.kind, site.status) {
                    (Some(kind), _) => format!("ErrorKind::{kind}"),
                    (None, Some(status)) => format!("status {status}"),
                    (None, None) => String::new(),
                };
                problems.push(format!(
                    "{site}: `{code}` is raised with {raised}, but the catalogue lists it as {:?} ({})",
                    code.status(),
                    http_status(code)
                ));
            }
        }
    }
    for code in codes {
        if !used.contains(code.as_str()) {
            problems.push(format!(
                "`{code}` is in the error-code catalogue, but no source raises it; remove it"
            ));
        }
    }
    problems
}

/// The Markdown table of `codes`: one row per code, by status, in catalogue order within a
/// status.
pub fn render_table(codes: &[ErrorCode]) -> String {
    let mut rows: Vec<ErrorCode> = codes.to_vec();
    rows.sort_by_key(|code| http_status(*code));
    let mut table = String::from("| status | code | meaning |\n|---|---|---|\n");
    for code in rows {
        table.push_str(&format!(
            "| {} | `{}` | {} |\n",
            http_status(code),
            code.as_str(),
            code.meaning()
        ));
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> Vec<Site> {
        scan_source(Path::new("x.rs"), text)
    }

    fn codes(sites: &[Site]) -> Vec<(usize, CodeArg, Option<String>, Option<u16>)> {
        sites
            .iter()
            .map(|site| (site.line, site.code.clone(), site.kind.clone(), site.status))
            .collect()
    }

    fn literal(code: &str) -> CodeArg {
        CodeArg::Literal(code.to_owned())
    }

    #[test]
    fn every_form_that_fixes_a_code_is_found() {
        let source = r#"
fn a() -> Error { Error::new(ErrorKind::Conflict, "name_taken", format!("a, {b}")) }
fn b() -> Error { kernel::Error::new(
    kernel::ErrorKind::NotFound,
    ErrorCode::RouteNotFound.as_str(),
    "x",
) }
fn c() -> Problem { Problem::new(StatusCode::CONFLICT, "in_use", detail) }
fn d() -> Response { in_use_problem("run_in_progress", detail, &flows) }
pub const CODE: &'static str = "egress_denied";
fn e() -> Error { Error::new(ErrorKind::Forbidden, EgressDenied::CODE, m) }
fn f() -> Error { Self { ..Self::new(ErrorKind::Validation, "validation_failed", m) } }
"#;
        assert_eq!(
            codes(&scan(source)),
            [
                (2, literal("name_taken"), Some("Conflict".into()), None),
                (
                    3,
                    CodeArg::Variant("RouteNotFound".into()),
                    Some("NotFound".into()),
                    None
                ),
                (5, CodeArg::Variant("RouteNotFound".into()), None, None),
                (8, literal("in_use"), None, Some(409)),
                (9, literal("run_in_progress"), None, None),
                (10, literal("egress_denied"), None, None),
                (
                    11,
                    CodeArg::Const("CODE".into()),
                    Some("Forbidden".into()),
                    None
                ),
                (
                    12,
                    literal("validation_failed"),
                    Some("Validation".into()),
                    None
                ),
            ]
        );
    }

    #[test]
    fn comments_tests_other_types_and_forwarding_are_not_sites() {
        let source = r#"
// Error::new(ErrorKind::Conflict, "in_a_comment", m)
/// Error::new(ErrorKind::Conflict, "in_a_doc_comment", m)
fn a() { std::io::Error::new(std::io::ErrorKind::Other, "not_a_code") }
fn b() { secrets::Error::new(kind, "a message") }
fn c() { ConnectorError::new(kind, Operation::Read, "detail") }
fn d() { Self::new(path, "message", x) }
fn d2() { Self::new(ErrorKind::Config, operation, detail) }
fn e() { Problem::new(status, error.code(), error.message()) }
fn f(code: &str) { Problem::new(StatusCode::CONFLICT, code, detail) }
fn g() { ErrorCode::ALL; ErrorCode::parse("x"); }
#[cfg(test)]
mod tests {
    fn t() { Error::new(ErrorKind::Conflict, "only_in_a_test", m) }
}
"#;
        assert_eq!(codes(&scan(source)), []);
    }

    #[test]
    fn a_code_the_scan_cannot_see_is_a_site_of_its_own() {
        let sites = scan("fn a(code: &'static str) { Error::new(ErrorKind::Conflict, code, m) }");
        assert_eq!(sites.len(), 1);
        assert_eq!(sites[0].code, CodeArg::Unresolved("code".into()));
        let problems = check(&sites, ErrorCode::ALL);
        assert!(
            problems[0].contains("passes a code the scan cannot see"),
            "{problems:?}"
        );
    }

    #[test]
    fn the_check_reports_unlisted_codes_wrong_kinds_and_unused_entries() {
        let source = r#"
fn a() { Error::new(ErrorKind::Conflict, "name_taken", m) }
fn b() { Error::new(ErrorKind::Conflict, "brand_new_code", m) }
fn c() { Error::new(ErrorKind::Internal, "last_admin", m) }
fn d() { Problem::new(StatusCode::NOT_FOUND, "in_use", m) }
fn e() { Error::new(ErrorKind::Forbidden, MISSING_CODE, m) }
"#;
        let catalogue = [
            ErrorCode::NameTaken,
            ErrorCode::LastAdmin,
            ErrorCode::InUse,
            ErrorCode::GrantExists,
        ];
        let problems = check(&scan(source), &catalogue);
        assert_eq!(problems.len(), 5, "{problems:#?}");
        assert!(
            problems[0].starts_with("x.rs:3: `brand_new_code` is not in the error-code catalogue")
        );
        assert!(problems[1].starts_with("x.rs:4: `last_admin` is raised with ErrorKind::Internal"));
        assert!(problems[2].starts_with("x.rs:5: `in_use` is raised with status 404"));
        assert!(problems[3].contains("`MISSING_CODE` is defined nowhere"));
        assert!(
            problems[4].starts_with(
                "`grant_exists` is in the error-code catalogue, but no source raises it"
            )
        );
    }

    #[test]
    fn a_source_that_agrees_with_its_catalogue_passes() {
        let source = r#"
pub const DENIED_CODE: &str = "secret_use_denied";
fn a() { Error::new(ErrorKind::Forbidden, DENIED_CODE, m) }
fn b() { Error::new(ErrorKind::Conflict, ErrorCode::InUse.as_str(), m) }
fn c() { Problem::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", m) }
"#;
        let catalogue = [
            ErrorCode::SecretUseDenied,
            ErrorCode::InUse,
            ErrorCode::MethodNotAllowed,
        ];
        assert_eq!(check(&scan(source), &catalogue), Vec::<String>::new());
    }

    #[test]
    fn the_table_is_ordered_by_status_then_catalogue_order() {
        let table = render_table(&[
            ErrorCode::Internal,
            ErrorCode::NameTaken,
            ErrorCode::MalformedJson,
            ErrorCode::LastAdmin,
        ]);
        let codes: Vec<&str> = table
            .lines()
            .skip(2)
            .map(|line| line.split('`').nth(1).unwrap())
            .collect();
        assert_eq!(
            codes,
            ["malformed_json", "name_taken", "last_admin", "internal"]
        );
        assert!(
            table.contains("| 409 | `name_taken` | An object with this name already exists. |")
        );
    }
}
