//! JSON lines in and out: records from standard input in bounded batches, each line
//! numbered, and the reject lines of `connector write`.

use std::io::{BufRead, Write};

use connector_sdk::{ErrorKind, Record};
use serde_json::{Value, json};

use super::error::CliError;

/// One input line: a record, or the reason it is not one.
#[derive(Debug, Clone, PartialEq)]
pub enum Line {
    /// A JSON object.
    Record {
        /// The 1-based line number.
        line: u64,
        /// The record.
        record: Record,
    },
    /// Anything else; rejected with its line number.
    Invalid {
        /// The 1-based line number.
        line: u64,
        /// The line as given (parsed when it is JSON, else the text).
        value: Value,
        /// Why it is not a record.
        reason: String,
    },
}

/// Reads JSON lines from `input` one batch at a time. Blank lines are skipped (they hold
/// nothing to write); every other line becomes a [`Line`].
pub struct LineReader<R> {
    input: R,
    line: u64,
    buffer: Vec<u8>,
}

impl<R: BufRead> LineReader<R> {
    /// A reader over `input`.
    pub fn new(input: R) -> Self {
        Self {
            input,
            line: 0,
            buffer: Vec::new(),
        }
    }

    /// The next `size` lines at most; empty at the end of the input.
    pub fn next_batch(&mut self, size: usize) -> Result<Vec<Line>, CliError> {
        let mut batch = Vec::with_capacity(size.min(1024));
        while batch.len() < size {
            self.buffer.clear();
            let read = self
                .input
                .read_until(b'\n', &mut self.buffer)
                .map_err(|e| CliError::io("cannot read standard input", e))?;
            if read == 0 {
                break;
            }
            self.line += 1;
            if let Some(line) = parse(self.line, &self.buffer) {
                batch.push(line);
            }
        }
        Ok(batch)
    }
}

/// The line numbered `line`, `None` when blank.
fn parse(line: u64, bytes: &[u8]) -> Option<Line> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            return Some(Line::Invalid {
                line,
                value: Value::String(String::from_utf8_lossy(bytes).trim_end().to_owned()),
                reason: format!("the line is not UTF-8: {e}"),
            });
        }
    };
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    Some(match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(record)) => Line::Record { line, record },
        Ok(other) => Line::Invalid {
            line,
            reason: format!("expected a JSON object, got {}", kind_of(&other)),
            value: other,
        },
        Err(e) => Line::Invalid {
            line,
            value: Value::String(text.to_owned()),
            reason: format!("not valid JSON: {e}"),
        },
    })
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Writes one reject line: `{"line", "record", "reason", "kind"}`.
pub fn write_reject(
    out: &mut impl Write,
    line: u64,
    record: &Value,
    reason: &str,
    kind: ErrorKind,
) -> std::io::Result<()> {
    let reject = json!({"line": line, "record": record, "reason": reason, "kind": kind.as_str()});
    serde_json::to_writer(&mut *out, &reject)?;
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn lines_become_records_or_numbered_rejects() {
        let input = b"{\"id\": 1}\n\n[1, 2]\nnot json\n\xff\n{\"id\": 2}";
        let mut reader = LineReader::new(&input[..]);
        let first = reader.next_batch(3).unwrap();
        let second = reader.next_batch(3).unwrap();
        assert!(reader.next_batch(3).unwrap().is_empty());
        let numbers: Vec<(u64, bool)> = first
            .iter()
            .chain(&second)
            .map(|l| match l {
                Line::Record { line, .. } => (*line, true),
                Line::Invalid { line, .. } => (*line, false),
            })
            .collect();
        assert_eq!(
            numbers,
            vec![(1, true), (3, false), (4, false), (5, false), (6, true)]
        );
        match &first[1] {
            Line::Invalid { value, reason, .. } => {
                assert_eq!(value, &json!([1, 2]));
                assert!(reason.contains("an array"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
