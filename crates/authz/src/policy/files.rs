//! Rego files of any package: the engines of `grimos policy test` and `grimos policy eval`.

use std::io::{self, BufRead, Write};
use std::sync::mpsc;

use regorus::{Engine, Value};
use serde::Serialize;

use super::engine::{Backend, Evaluator, check_rules, is_policy_error};
use super::error::{char_column, located};
use super::set::{data_value, new_engine, rules_of, test_outcome, tests_of};
use super::{PolicyError, TestOutcome};

/// One Rego file: its path (as shown in errors) and its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegoFile {
    /// The path, as given on the command line.
    pub path: String,
    /// The Rego v1 source.
    pub source: String,
}

/// Rego v1 files of any package, with a data document, compiled together (like the files
/// given to `opa test` or `opa eval`).
pub struct RegoFiles {
    engine: Engine,
    data: Value,
    /// For each file: its path, package (without `data.`) and tests.
    files: Vec<(String, String, Vec<String>)>,
}

impl std::fmt::Debug for RegoFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegoFiles")
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

impl RegoFiles {
    /// Parse and check `files` with `data` (a JSON object; `None`: empty). Errors carry the
    /// file's path, line and column.
    pub fn compile(
        files: Vec<RegoFile>,
        data: Option<&serde_json::Value>,
    ) -> Result<Self, PolicyError> {
        let data = match data {
            Some(data) => data_value(data)?,
            None => Value::new_object(),
        };
        let mut engine = new_engine();
        let mut described = Vec::with_capacity(files.len());
        let mut rules = Vec::new();
        let sources: Vec<(String, String)> = files
            .iter()
            .map(|file| (file.path.clone(), file.source.clone()))
            .collect();
        let file_error = |error: &anyhow::Error, default_file: &str| {
            let place = located(error);
            let file = place.file.unwrap_or_else(|| default_file.to_string());
            let column = sources
                .iter()
                .find(|(path, _)| *path == file)
                .map_or(place.column, |(_, source)| {
                    char_column(source, place.line, place.column)
                });
            PolicyError::new(file, place.line, column, place.message)
        };
        for file in files {
            let package = engine
                .add_policy(file.path.clone(), file.source)
                .map_err(|error| file_error(&error, &file.path))?;
            let module = engine.get_modules().last().cloned();
            let tests = module.as_ref().map(|m| tests_of(m)).unwrap_or_default();
            rules.extend(
                module
                    .as_ref()
                    .map(|m| rules_of(m))
                    .unwrap_or_default()
                    .into_iter()
                    .map(|rule| format!("{package}.{rule}")),
            );
            let package = package.trim_start_matches("data.").to_string();
            described.push((file.path, package, tests));
        }
        engine
            .add_data(data.clone())
            .map_err(|error| PolicyError::new("", 0, 0, format!("the data document: {error}")))?;
        // Evaluating a constant prepares the engine: the semantic checks of every module.
        engine
            .eval_query("true".to_string(), false)
            .map_err(|error| file_error(&error, ""))?;
        // What the interpreter only finds when a rule runs (unsafe variables, unknown
        // functions), the RVM compiler finds now.
        if let Some(first) = rules.first() {
            let compiled = engine
                .clone()
                .compile_with_entrypoint(&regorus::Rc::from(first.as_str()))
                .map_err(|error| file_error(&error, ""))?;
            check_rules(&compiled, &rules).map_err(|error| file_error(&error, ""))?;
        }
        Ok(Self {
            engine,
            data,
            files: described,
        })
    }

    /// Run every `test_*` rule of every file, with no input.
    pub fn run_tests(&self) -> Vec<TestOutcome> {
        let mut outcomes = Vec::new();
        for (path, package, tests) in &self.files {
            for test in tests {
                let mut engine = self.engine.clone();
                let result = engine.eval_rule(format!("data.{package}.{test}"));
                outcomes.push(test_outcome(path, package, test, result));
            }
        }
        outcomes
    }

    /// Prepare `query` for evaluation over many inputs: a rule path (`data.x.allow`) is
    /// compiled for the RVM when it supports it (else evaluated by the interpreter); any
    /// other query is evaluated with `eval_query`.
    pub fn query(&self, query: &str) -> Result<Query, PolicyError> {
        self.query_with(query, false)
    }

    pub(crate) fn query_with(
        &self,
        query: &str,
        force_interpreter: bool,
    ) -> Result<Query, PolicyError> {
        let query = query.trim();
        if query.is_empty() {
            return Err(PolicyError::new("", 0, 0, "the query is empty"));
        }
        let as_rule = is_rule_path(query);
        let evaluator = if as_rule {
            match Evaluator::new(
                self.engine.clone(),
                query.to_string(),
                self.data.clone(),
                true,
                &[],
                force_interpreter,
            ) {
                Ok(evaluator) => evaluator,
                Err(error) if is_policy_error(&error) => return Err(query_error(&error)),
                // Not a rule (a package, a partial path): evaluate it as a query.
                Err(_) => self.query_evaluator(query)?,
            }
        } else {
            self.query_evaluator(query)?
        };
        Ok(Query { evaluator })
    }

    fn query_evaluator(&self, query: &str) -> Result<Evaluator, PolicyError> {
        Evaluator::new(
            self.engine.clone(),
            query.to_string(),
            self.data.clone(),
            false,
            &[],
            true,
        )
        .map_err(|error| query_error(&error))
    }
}

/// `data` followed by identifiers: a candidate rule path.
fn is_rule_path(query: &str) -> bool {
    query.starts_with("data.")
        && query
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
        && !query.ends_with('.')
}

/// An error of a query: no source text to locate columns in.
fn query_error(error: &anyhow::Error) -> PolicyError {
    let place = located(error);
    PolicyError::new(
        place.file.unwrap_or_default(),
        place.line,
        place.column,
        place.message,
    )
}

/// A query prepared over [`RegoFiles`]: `Send + Sync`, evaluated by pooled workers.
#[derive(Debug)]
pub struct Query {
    evaluator: Evaluator,
}

impl Query {
    /// Evaluate the query with `input`: its value, or `Value::Undefined`.
    pub fn eval(&self, input: Value) -> Result<Value, String> {
        let mut session = self.evaluator.session().map_err(|e| message(&e))?;
        session.eval(input).map_err(|e| message(&e))
    }

    /// Which regorus engine evaluates the query.
    pub fn backend(&self) -> Backend {
        self.evaluator.backend()
    }
}

fn message(error: &anyhow::Error) -> String {
    let place = located(error);
    match (place.file, place.line) {
        (Some(file), line) if line > 0 => format!("{file}:{line}: {}", place.message),
        _ => place.message,
    }
}

/// What [`eval_lines`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct EvalSummary {
    /// Input lines evaluated (blank lines are skipped and not counted).
    pub lines: u64,
    /// Lines that printed an error object (invalid JSON, or an evaluation error).
    pub errors: u64,
}

/// How many lines a worker takes at a time.
const CHUNK_LINES: usize = 2048;
/// Chunks queued per worker (input and output), bounding memory.
const QUEUE: usize = 2;

struct Chunk {
    first_line: u64,
    text: Vec<u8>,
    /// Where each line ends in `text` (its newline excluded).
    ends: Vec<usize>,
}

struct Output {
    text: Vec<u8>,
    summary: EvalSummary,
}

/// Evaluate `query` once per JSON line of `input` and write one JSON line per input line
/// to `out`, in input order (the engine of `grimos policy eval`):
///
/// - `{"result": <value>}` when the query is defined for that input,
/// - `{}` when it is undefined (as OPA's data API answers),
/// - `{"error": {"line": <n>, "message": "..."}}` when the line is not JSON or the
///   evaluation fails; the other lines go on.
///
/// Blank lines are skipped. `threads` workers (at least one) evaluate chunks of lines
/// with a worker of their own each; a reader thread feeds them and the calling thread
/// writes their outputs in order.
pub fn eval_lines<R, W>(
    query: &Query,
    input: R,
    out: &mut W,
    threads: usize,
) -> io::Result<EvalSummary>
where
    R: BufRead + Send,
    W: Write,
{
    let threads = threads.max(1);
    std::thread::scope(|scope| {
        let mut to_workers = Vec::with_capacity(threads);
        let mut from_workers = Vec::with_capacity(threads);
        for _ in 0..threads {
            let (chunk_tx, chunk_rx) = mpsc::sync_channel::<Chunk>(QUEUE);
            let (output_tx, output_rx) = mpsc::sync_channel::<Output>(QUEUE);
            to_workers.push(chunk_tx);
            from_workers.push(output_rx);
            scope.spawn(move || work(query, &chunk_rx, &output_tx));
        }
        let reader = scope.spawn(move || read_chunks(input, &to_workers));

        let mut summary = EvalSummary::default();
        let mut next = 0usize;
        while let Ok(output) = from_workers[next % threads].recv() {
            out.write_all(&output.text)?;
            summary.lines += output.summary.lines;
            summary.errors += output.summary.errors;
            next += 1;
        }
        out.flush()?;
        drop(from_workers);
        match reader.join() {
            Ok(result) => result?,
            Err(_) => return Err(io::Error::other("the input reader failed")),
        }
        Ok(summary)
    })
}

fn read_chunks<R: BufRead>(mut input: R, workers: &[mpsc::SyncSender<Chunk>]) -> io::Result<()> {
    let mut line_number: u64 = 1;
    let mut sequence = 0usize;
    loop {
        let first_line = line_number;
        let mut text = Vec::with_capacity(256 * 1024);
        let mut ends = Vec::with_capacity(CHUNK_LINES);
        while ends.len() < CHUNK_LINES {
            let read = input.read_until(b'\n', &mut text)?;
            if read == 0 {
                break;
            }
            if text.last() == Some(&b'\n') {
                ends.push(text.len() - 1);
            } else {
                ends.push(text.len());
                text.push(b'\n');
            }
            line_number += 1;
        }
        if ends.is_empty() {
            return Ok(());
        }
        if workers[sequence % workers.len()]
            .send(Chunk {
                first_line,
                text,
                ends,
            })
            .is_err()
        {
            // The writer stopped (its error is reported there).
            return Ok(());
        }
        sequence += 1;
    }
}

fn work(query: &Query, chunks: &mpsc::Receiver<Chunk>, outputs: &mpsc::SyncSender<Output>) {
    let mut session = query.evaluator.session();
    while let Ok(chunk) = chunks.recv() {
        let mut text = Vec::with_capacity(chunk.text.len() / 2 + 64);
        let mut summary = EvalSummary::default();
        // Valid UTF-8 as a whole (the usual case), each line parses as a `str`, which
        // serde_json does not validate again string by string.
        let utf8 = std::str::from_utf8(&chunk.text).ok();
        let mut start = 0;
        for (offset, &end) in chunk.ends.iter().enumerate() {
            let line = &chunk.text[start..end];
            let range = start..end;
            start = end + 1;
            let line_number = chunk.first_line + offset as u64;
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            summary.lines += 1;
            let parsed = match utf8.and_then(|text| text.get(range)) {
                Some(line) => serde_json::from_str::<Value>(line),
                None => serde_json::from_slice::<Value>(line),
            };
            let result = match &mut session {
                Ok(session) => parsed
                    .map_err(|e| format!("invalid JSON: {e}"))
                    .and_then(|input| session.eval(input).map_err(|e| message(&e))),
                Err(error) => Err(message(error)),
            };
            match result {
                Ok(Value::Undefined) => text.extend_from_slice(b"{}\n"),
                Ok(value) => {
                    let start = text.len();
                    text.extend_from_slice(b"{\"result\":");
                    if let Err(error) = serde_json::to_writer(&mut text, &value) {
                        summary.errors += 1;
                        text.truncate(start);
                        write_error(&mut text, line_number, &error.to_string());
                        continue;
                    }
                    text.extend_from_slice(b"}\n");
                }
                Err(error) => {
                    summary.errors += 1;
                    write_error(&mut text, line_number, &error);
                }
            }
        }
        if outputs.send(Output { text, summary }).is_err() {
            return;
        }
    }
}

fn write_error(text: &mut Vec<u8>, line: u64, message: &str) {
    #[derive(Serialize)]
    struct ErrorLine<'a> {
        error: ErrorBody<'a>,
    }
    #[derive(Serialize)]
    struct ErrorBody<'a> {
        line: u64,
        message: &'a str,
    }
    let body = ErrorLine {
        error: ErrorBody { line, message },
    };
    if serde_json::to_writer(&mut *text, &body).is_ok() {
        text.push(b'\n');
    }
}
