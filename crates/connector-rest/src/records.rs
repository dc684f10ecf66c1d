//! Turning a response body into records: JSON (records located by a selector), NDJSON and
//! CSV. Bad input is a [`ConnectorError`] of kind `data` naming the page and position.

use connector_sdk::{ConnectorError, Operation, Record};
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::Value;

use crate::config::BodyFormat;
use crate::selector::Selector;

/// The format of a body: the configured one, else from the `Content-Type`, else JSON.
pub(crate) fn detect_format(configured: Option<BodyFormat>, headers: &HeaderMap) -> BodyFormat {
    if let Some(format) = configured {
        return format;
    }
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if content_type.contains("ndjson")
        || content_type.contains("jsonl")
        || content_type.contains("json-seq")
    {
        BodyFormat::Ndjson
    } else if content_type.contains("csv") {
        BodyFormat::Csv
    } else {
        BodyFormat::Json
    }
}

/// Where in the read an error happened, for messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageLabel<'a> {
    pub(crate) stream: &'a str,
    pub(crate) page: u64,
}

impl PageLabel<'_> {
    pub(crate) fn error(&self, what: impl std::fmt::Display) -> ConnectorError {
        ConnectorError::data(
            Operation::Read,
            format!("page {} of stream `{}`: {what}", self.page, self.stream),
        )
        .with_stream(self.stream)
    }
}

/// Parses the JSON document of a page (kept whole so pagination paths can be read before the
/// records are taken out with [`take_json_records`]).
pub(crate) fn parse_json_document(
    body: &[u8],
    label: PageLabel<'_>,
) -> Result<Value, ConnectorError> {
    serde_json::from_slice(body).map_err(|e| invalid_json(label, &e))
}

/// The error of a body that is not valid JSON, with where it breaks.
pub(crate) fn invalid_json(label: PageLabel<'_>, e: &serde_json::Error) -> ConnectorError {
    label.error(format!(
        "the response is not valid JSON (line {}, column {}): {e}",
        e.line(),
        e.column()
    ))
}

/// Moves the records found by `selector` out of `document`.
pub(crate) fn take_json_records(
    document: &mut Value,
    selector: &Selector,
    label: PageLabel<'_>,
) -> Result<Vec<Record>, ConnectorError> {
    selector
        .take_items(document)
        .into_iter()
        .enumerate()
        .map(|(index, item)| match item {
            Value::Object(record) => Ok(record),
            other => Err(label.error(format!(
                "record {index} is not a JSON object but {}",
                json_kind(&other)
            ))),
        })
        .collect()
}

/// Parses an NDJSON body: one object per non-blank line.
pub(crate) fn parse_ndjson(
    body: &[u8],
    label: PageLabel<'_>,
) -> Result<Vec<Record>, ConnectorError> {
    let mut records = Vec::new();
    for (index, line) in body.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(line) {
            Ok(Value::Object(record)) => records.push(record),
            Ok(other) => {
                return Err(label.error(format!(
                    "NDJSON line {} is not a JSON object but {}",
                    index + 1,
                    json_kind(&other)
                )));
            }
            Err(e) => {
                return Err(
                    label.error(format!("NDJSON line {} is not valid JSON: {e}", index + 1))
                );
            }
        }
    }
    Ok(records)
}

/// Parses a CSV body with a header row; values are strings.
pub(crate) fn parse_csv(body: &[u8], label: PageLabel<'_>) -> Result<Vec<Record>, ConnectorError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(body);
    let headers = reader
        .headers()
        .map_err(|e| label.error(format!("the CSV header row cannot be read: {e}")))?
        .clone();
    let mut records = Vec::new();
    for (index, row) in reader.records().enumerate() {
        let row =
            row.map_err(|e| label.error(format!("CSV record {} cannot be read: {e}", index + 1)))?;
        let record: Record = headers
            .iter()
            .zip(row.iter())
            .map(|(name, value)| (name.to_owned(), Value::String(value.to_owned())))
            .collect();
        records.push(record);
    }
    Ok(records)
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LABEL: PageLabel<'static> = PageLabel {
        stream: "s",
        page: 3,
    };

    #[test]
    fn formats_parse_and_errors_name_the_page_and_position() {
        let csv = parse_csv(b"id,name\n1,Ann\n2,\"Bo, Jr\"\n", LABEL).unwrap();
        assert_eq!(csv[1]["name"], "Bo, Jr");
        let nd = parse_ndjson(b"{\"id\":1}\r\n\n{\"id\":2}\n", LABEL).unwrap();
        assert_eq!(nd.len(), 2);
        let err = parse_ndjson(b"{\"id\":1}\n{oops\n", LABEL).unwrap_err();
        assert!(
            err.detail().contains("page 3") && err.detail().contains("line 2"),
            "{err}"
        );
        let err = parse_json_document(b"{\"data\": [", LABEL).unwrap_err();
        assert!(err.detail().contains("page 3 of stream `s`"), "{err}");
        let mut doc: Value = serde_json::from_str("{\"data\": [1]}").unwrap();
        let err =
            take_json_records(&mut doc, &Selector::parse("$.data").unwrap(), LABEL).unwrap_err();
        assert!(
            err.detail().contains("record 0 is not a JSON object"),
            "{err}"
        );
    }
}
