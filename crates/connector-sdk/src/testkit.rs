//! The behaviour suite every connector passes unchanged (feature `testkit`).
//!
//! A connector's test builds the connector against a system holding known records (a test
//! database, an HTTP server started in the test), describes them in a [`Fixture`] and calls
//! [`run_all`] — or the single checks — then unwraps the result:
//!
//! ```ignore
//! let fixture = Fixture::new("customers", customers())
//!     .with_primary_key(["id"])
//!     .with_cursor_field("updated_at")
//!     .with_write_records(new_customers())
//!     .with_bad_record(json!({"id": "not a number"}));
//! testkit::run_all(&good_connector, &broken_connector, &fixture).await.unwrap();
//! ```
//!
//! Each check consults the connector's [`Capabilities`] and skips what it does not declare.
//! Beyond reads and writes, the kit checks what an engine relies on when it moves data:
//! exact per-record outcomes in a batch mixing good and bad records, checkpoints committed
//! with their batch (or refused by a target that cannot), a write whose answer was lost
//! and that a retry layer sends again, and a write cancelled midway.
//! A failure says which check failed and why ([`KitFailure`]).

use std::collections::HashSet;

use futures::StreamExt;
use serde_json::Value;

use crate::capability::Capabilities;
use crate::connector::{CommitHook, Connector, Layer, TargetCheckpoint, WriteRequest};
use crate::error::ConnectorError;
use crate::layers::{RetryLayer, RetryPolicy};
use crate::record::{
    Checkpoint, ReadBatch, ReadRequest, Record, RecordOutcome, WriteMode, WriteReport,
};

/// A check of the suite that the connector did not pass.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("connector test kit, {check}: {message}")]
pub struct KitFailure {
    /// The check (`spec`, `check`, `discover`, `read`, `incremental_read`, `write`, `reject`,
    /// `partial_failure`, `checkpoint`, `retry`, `cancel`).
    pub check: &'static str,
    /// What was wrong.
    pub message: String,
}

/// The outcome of a check.
pub type KitResult = Result<(), KitFailure>;

fn fail(check: &'static str, message: impl Into<String>) -> KitResult {
    Err(KitFailure {
        check,
        message: message.into(),
    })
}

fn ensure(check: &'static str, condition: bool, message: impl FnOnce() -> String) -> KitResult {
    if condition {
        Ok(())
    } else {
        fail(check, message())
    }
}

fn from_error(check: &'static str, doing: &str) -> impl FnOnce(ConnectorError) -> KitFailure {
    let doing = doing.to_owned();
    move |err| KitFailure {
        check,
        message: format!("{doing} failed: {err}"),
    }
}

/// What the stream under test holds, and what to write to it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fixture {
    /// The stream (table, endpoint) under test.
    pub stream: String,
    /// The records the stream holds before the test, in cursor order when incremental.
    /// A returned record matches when it has every field of the fixture record with an
    /// equal value.
    pub records: Vec<Record>,
    /// The primary key fields (empty: records are matched as a whole).
    pub primary_key: Vec<String>,
    /// The incremental cursor field (needed when the connector declares incremental reads).
    pub cursor_field: Option<String>,
    /// New records (keys not in `records`) the write checks insert, upsert, update and
    /// finally delete again.
    pub write_records: Vec<Record>,
    /// A record the connector must reject on write (wrong type, missing required field).
    pub bad_record: Option<Record>,
    /// The batch size asked for in reads (small, so reads span several batches).
    pub batch_size: usize,
    /// Whether the write checks read the stream back to verify the effect.
    pub verify_writes_by_reading: bool,
    /// A working configuration, validated against the connector's spec.
    pub config: Option<Value>,
}

impl Fixture {
    /// A stream holding `records`.
    pub fn new(stream: impl Into<String>, records: Vec<Record>) -> Self {
        Self {
            stream: stream.into(),
            records,
            primary_key: Vec::new(),
            cursor_field: None,
            write_records: Vec::new(),
            bad_record: None,
            batch_size: 2,
            verify_writes_by_reading: true,
            config: None,
        }
    }

    /// Sets the primary key.
    #[must_use]
    pub fn with_primary_key<I: IntoIterator<Item = S>, S: Into<String>>(mut self, key: I) -> Self {
        self.primary_key = key.into_iter().map(Into::into).collect();
        self
    }

    /// Sets the cursor field.
    #[must_use]
    pub fn with_cursor_field(mut self, field: impl Into<String>) -> Self {
        self.cursor_field = Some(field.into());
        self
    }

    /// Sets the records to write.
    #[must_use]
    pub fn with_write_records(mut self, records: Vec<Record>) -> Self {
        self.write_records = records;
        self
    }

    /// Sets the record that must be rejected. Takes a JSON object (anything else is ignored).
    #[must_use]
    pub fn with_bad_record(mut self, record: Value) -> Self {
        if let Value::Object(record) = record {
            self.bad_record = Some(record);
        }
        self
    }

    /// Sets the read batch size (at least 1).
    #[must_use]
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Sets the working configuration checked against the spec.
    #[must_use]
    pub fn with_config(mut self, config: Value) -> Self {
        self.config = Some(config);
        self
    }

    /// Skips reading back after writes (for write-only destinations).
    #[must_use]
    pub fn without_write_verification(mut self) -> Self {
        self.verify_writes_by_reading = false;
        self
    }

    fn key_of(&self, record: &Record) -> Vec<Value> {
        if self.primary_key.is_empty() {
            vec![Value::Object(record.clone())]
        } else {
            self.primary_key
                .iter()
                .map(|k| record.get(k).cloned().unwrap_or(Value::Null))
                .collect()
        }
    }

    fn read_request(&self) -> ReadRequest {
        let mut request = ReadRequest::full(&self.stream).with_batch_size(self.batch_size);
        request.cursor_field = self.cursor_field.clone();
        request
    }
}

/// Runs every check in order: spec, check, discover, read, incremental read, writes,
/// rejection. `broken` is the same connector with a configuration that cannot work
/// (wrong password, unreachable host).
pub async fn run_all(good: &dyn Connector, broken: &dyn Connector, fixture: &Fixture) -> KitResult {
    assert_spec(good, fixture).await?;
    assert_check(good, broken).await?;
    assert_discover(good, fixture).await?;
    assert_read(good, fixture).await?;
    assert_incremental_read(good, fixture).await?;
    assert_writes(good, fixture).await?;
    assert_rejects_bad_record(good, fixture).await?;
    assert_partial_failure(good, fixture).await?;
    assert_checkpoint_commits_with_batch(good, fixture).await?;
    assert_retried_write_applies_once(good, fixture).await?;
    assert_cancelled_write(good, fixture).await
}

/// Names a configuration property should be marked secret by (a heuristic: the last
/// `_`-separated word is password, passphrase, secret, token or apikey, or the name is
/// `api_key`/`private_key`/`access_key`/`secret_key`).
fn looks_secret(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let last = name.rsplit(['_', '-']).next().unwrap_or(&name);
    matches!(
        last,
        "password" | "passphrase" | "secret" | "token" | "apikey"
    ) || matches!(
        name.as_str(),
        "api_key" | "private_key" | "access_key" | "secret_key"
    )
}

fn unmarked_secrets(schema: &Value, pointer: &str, found: &mut Vec<String>) {
    if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            let path = format!("{pointer}/{name}");
            let marked = property.get("x-secret").and_then(Value::as_bool) == Some(true);
            let is_string = property.get("type").and_then(Value::as_str) == Some("string");
            if looks_secret(name) && is_string && !marked {
                found.push(path.clone());
            }
            unmarked_secrets(property, &path, found);
        }
    }
    for combinator in ["oneOf", "anyOf", "allOf"] {
        for variant in schema
            .get(combinator)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            unmarked_secrets(variant, pointer, found);
        }
    }
}

/// The spec is a valid JSON Schema of an object, its secret-looking string properties are
/// marked `"x-secret": true`, and the fixture's configuration (if any) is valid against it.
pub async fn assert_spec(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "spec";
    let spec = connector.spec();
    if let Err(err) = jsonschema::meta::validate(&spec) {
        return fail(CHECK, format!("the spec is not a valid JSON Schema: {err}"));
    }
    ensure(
        CHECK,
        spec.get("type").and_then(Value::as_str) == Some("object"),
        || "the spec must describe an object (\"type\": \"object\")".into(),
    )?;
    let mut unmarked = Vec::new();
    unmarked_secrets(&spec, "", &mut unmarked);
    ensure(CHECK, unmarked.is_empty(), || {
        format!("secret-looking properties are not marked \"x-secret\": true: {unmarked:?}")
    })?;
    if let Some(config) = &fixture.config {
        let validator = jsonschema::validator_for(&spec).map_err(|e| KitFailure {
            check: CHECK,
            message: format!("the spec does not compile: {e}"),
        })?;
        let errors: Vec<String> = validator
            .iter_errors(config)
            .map(|e| e.to_string())
            .collect();
        ensure(CHECK, errors.is_empty(), || {
            format!("the fixture configuration does not satisfy the spec: {errors:?}")
        })?;
    }
    Ok(())
}

/// `good` checks healthy; `broken` checks failed with an error that has a detail.
pub async fn assert_check(good: &dyn Connector, broken: &dyn Connector) -> KitResult {
    const CHECK: &str = "check";
    let report = good.check().await;
    if let Some(err) = report.error {
        return fail(
            CHECK,
            format!("check failed on the good configuration: {err}"),
        );
    }
    let report = broken.check().await;
    match report.error {
        None => fail(CHECK, "check passed on the broken configuration"),
        Some(err) if err.detail().trim().is_empty() => {
            fail(CHECK, "the failed check has no detail to show the user")
        }
        Some(_) => Ok(()),
    }
}

/// Discover lists the fixture stream with every fixture field, the primary key and the
/// cursor field among the cursor candidates.
pub async fn assert_discover(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "discover";
    if !connector.capabilities().discover {
        return Ok(());
    }
    let catalog = connector
        .discover()
        .await
        .map_err(from_error(CHECK, "discover"))?;
    let Some(stream) = catalog.stream(&fixture.stream) else {
        let names: Vec<_> = catalog.streams.iter().map(|s| s.name.as_str()).collect();
        return fail(
            CHECK,
            format!("stream `{}` not in the catalog {names:?}", fixture.stream),
        );
    };
    for record in fixture.records.iter().chain(&fixture.write_records) {
        if let Some(missing) = record.keys().find(|k| stream.field(k).is_none()) {
            return fail(
                CHECK,
                format!("field `{missing}` missing from stream `{}`", stream.name),
            );
        }
    }
    ensure(CHECK, stream.primary_key == fixture.primary_key, || {
        format!(
            "primary key {:?}, expected {:?}",
            stream.primary_key, fixture.primary_key
        )
    })?;
    if let Some(cursor) = &fixture.cursor_field {
        ensure(CHECK, stream.cursor_candidates.contains(cursor), || {
            format!(
                "cursor field `{cursor}` not among the cursor candidates {:?}",
                stream.cursor_candidates
            )
        })?;
    }
    Ok(())
}

/// Reads a stream to its end and returns the batches (an error item stops the read).
pub async fn read_batches(
    connector: &dyn Connector,
    request: ReadRequest,
) -> Result<Vec<ReadBatch>, ConnectorError> {
    let mut stream = connector.read(request).await?;
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch?);
    }
    Ok(batches)
}

fn contains(actual: &Record, expected: &Record) -> bool {
    expected.iter().all(|(k, v)| actual.get(k) == Some(v))
}

/// Compares read records with the expected ones: each expected record exactly once, nothing
/// else.
fn compare_records(
    fixture: &Fixture,
    actual: &[Record],
    expected: &[&Record],
) -> Result<(), String> {
    let mut seen = HashSet::new();
    for record in actual {
        let key = fixture.key_of(record);
        let key_text = serde_json::to_string(&key).unwrap_or_default();
        if !seen.insert(key_text.clone()) {
            return Err(format!("record {key_text} returned more than once"));
        }
        match expected.iter().find(|e| fixture.key_of(e) == key) {
            Some(e) if contains(record, e) => {}
            Some(e) => {
                return Err(format!(
                    "record {key_text} differs: got {}, expected {}",
                    Value::Object(record.clone()),
                    Value::Object((*e).clone())
                ));
            }
            None => {
                return Err(format!(
                    "unexpected record {}",
                    Value::Object(record.clone())
                ));
            }
        }
    }
    let missing: Vec<String> = expected
        .iter()
        .map(|e| fixture.key_of(e))
        .filter(|k| !actual.iter().any(|a| &fixture.key_of(a) == k))
        .map(|k| serde_json::to_string(&k).unwrap_or_default())
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "records missing from the read: {}",
            missing.join(", ")
        ))
    }
}

/// A full read returns every fixture record exactly once, across batches no larger than
/// asked, and (for incremental connectors) a checkpoint on the last batch.
pub async fn assert_read(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "read";
    let capabilities = connector.capabilities();
    if !capabilities.read {
        return Ok(());
    }
    let batches = read_batches(connector, fixture.read_request())
        .await
        .map_err(from_error(CHECK, "reading"))?;
    if let Some(big) = batches.iter().find(|b| b.batch.len() > fixture.batch_size) {
        return fail(
            CHECK,
            format!(
                "a batch holds {} records, {} were asked for",
                big.batch.len(),
                fixture.batch_size
            ),
        );
    }
    if let Some(other) = batches.iter().find(|b| b.stream != fixture.stream) {
        return fail(
            CHECK,
            format!("a batch is labelled stream `{}`", other.stream),
        );
    }
    let records: Vec<Record> = batches.iter().flat_map(|b| b.records()).collect();
    let expected: Vec<&Record> = fixture.records.iter().collect();
    compare_records(fixture, &records, &expected).map_err(|m| KitFailure {
        check: CHECK,
        message: m,
    })?;
    if capabilities.incremental_read {
        ensure(
            CHECK,
            batches.last().is_none_or(|b| b.checkpoint.is_some()),
            || "the last batch of an incremental stream carries no checkpoint".into(),
        )?;
    }
    Ok(())
}

/// Orders JSON cursor values: numbers numerically, strings lexically (ISO timestamps).
fn cursor_greater(a: &Value, b: &Value) -> Option<bool> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => Some(x.as_f64()? > y.as_f64()?),
        (Value::String(x), Value::String(y)) => Some(x > y),
        _ => None,
    }
}

/// Reading from the checkpoint of the first batch returns exactly the records whose cursor
/// is greater than the first batch's; reading from the last checkpoint returns nothing.
pub async fn assert_incremental_read(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "incremental_read";
    if !connector.capabilities().incremental_read {
        return Ok(());
    }
    let Some(cursor) = &fixture.cursor_field else {
        return fail(
            CHECK,
            "the connector declares incremental reads but the fixture names no cursor field",
        );
    };
    let batches = read_batches(connector, fixture.read_request())
        .await
        .map_err(from_error(CHECK, "the full read"))?;
    let (Some(first), Some(last)) = (batches.first(), batches.last()) else {
        return fail(
            CHECK,
            "the full read returned no batch; the fixture needs records",
        );
    };

    let from_last = read_batches(
        connector,
        fixture
            .read_request()
            .from_checkpoint(last.checkpoint.clone()),
    )
    .await
    .map_err(from_error(CHECK, "reading from the last checkpoint"))?;
    let again: usize = from_last.iter().map(|b| b.batch.len()).sum();
    ensure(CHECK, again == 0, || {
        format!("reading from the last checkpoint returned {again} records, expected none")
    })?;

    if batches.len() < 2 {
        return Ok(());
    }
    let mut high: Option<&Value> = None;
    let first_records = first.records();
    for record in &first_records {
        let Some(value) = record.get(cursor) else {
            return fail(CHECK, format!("a record has no cursor field `{cursor}`"));
        };
        if high.is_none_or(|h| cursor_greater(value, h) == Some(true)) {
            high = Some(value);
        }
    }
    let Some(high) = high else { return Ok(()) };
    let expected: Vec<&Record> = fixture
        .records
        .iter()
        .filter(|r| r.get(cursor).and_then(|v| cursor_greater(v, high)) == Some(true))
        .collect();
    let newer = read_batches(
        connector,
        fixture
            .read_request()
            .from_checkpoint(first.checkpoint.clone()),
    )
    .await
    .map_err(from_error(CHECK, "reading from the first checkpoint"))?;
    let records: Vec<Record> = newer.iter().flat_map(ReadBatch::records).collect();
    compare_records(fixture, &records, &expected).map_err(|m| KitFailure {
        check: CHECK,
        message: format!("after the first batch's checkpoint (cursor {high}): {m}"),
    })
}

async fn write_expecting_ok(
    connector: &dyn Connector,
    fixture: &Fixture,
    mode: WriteMode,
    records: Vec<Record>,
) -> KitResult {
    const CHECK: &str = "write";
    let count = records.len();
    let report = connector
        .write(WriteRequest::new(&fixture.stream, mode, records))
        .await
        .map_err(from_error(CHECK, &format!("{mode}")))?;
    ensure(CHECK, report.outcomes.len() == count, || {
        format!(
            "{mode} of {count} records returned {} outcomes",
            report.outcomes.len()
        )
    })?;
    if let Some((index, outcome)) = report.outcomes.iter().enumerate().find(|(_, o)| !o.is_ok()) {
        return fail(
            CHECK,
            format!("{mode}: record {index} was not applied: {outcome:?}"),
        );
    }
    Ok(())
}

async fn read_keys(
    connector: &dyn Connector,
    fixture: &Fixture,
) -> Result<Vec<Record>, KitFailure> {
    let batches = read_batches(connector, fixture.read_request())
        .await
        .map_err(from_error("write", "reading back"))?;
    Ok(batches.iter().flat_map(ReadBatch::records).collect())
}

/// Each supported write mode returns one `Ok` outcome per record of `write_records`
/// (insert/upsert create them, update rewrites them, delete removes them), and — when the
/// connector reads — the effect shows in a read.
pub async fn assert_writes(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "write";
    let Capabilities { write, read, .. } = connector.capabilities();
    if !write.any() {
        return Ok(());
    }
    if fixture.write_records.is_empty() {
        return fail(
            CHECK,
            "the connector writes but the fixture has no write_records",
        );
    }
    let verify = read && fixture.verify_writes_by_reading;
    let records = fixture.write_records.clone();
    let created = write.insert || write.upsert;
    for mode in write.modes() {
        let batch = match mode {
            WriteMode::Delete if !created => continue,
            WriteMode::Update if !created => fixture.records.clone(),
            WriteMode::Delete if !fixture.primary_key.is_empty() => records
                .iter()
                .map(|r| {
                    r.iter()
                        .filter(|(k, _)| fixture.primary_key.contains(k))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .collect(),
            _ => records.clone(),
        };
        write_expecting_ok(connector, fixture, mode, batch).await?;
        if verify {
            let now = read_keys(connector, fixture).await?;
            for record in &records {
                let present = now
                    .iter()
                    .any(|r| fixture.key_of(r) == fixture.key_of(record) && contains(r, record));
                match mode {
                    WriteMode::Delete => ensure(CHECK, !present, || {
                        format!(
                            "record {} still read after delete",
                            Value::Object(record.clone())
                        )
                    })?,
                    WriteMode::Update if !created => {}
                    _ => ensure(CHECK, present, || {
                        format!(
                            "record {} not read back after {mode}",
                            Value::Object(record.clone())
                        )
                    })?,
                }
            }
        }
    }
    Ok(())
}

/// A batch of a good record and the fixture's bad record returns two outcomes: the good
/// one applied, the bad one rejected with a reason (not dropped, no panic, no batch error).
pub async fn assert_rejects_bad_record(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "reject";
    let write = connector.capabilities().write;
    let mode = if write.upsert {
        WriteMode::Upsert
    } else if write.insert {
        WriteMode::Insert
    } else {
        return Ok(());
    };
    let Some(bad) = fixture.bad_record.clone() else {
        return fail(
            CHECK,
            "the connector writes but the fixture has no bad_record",
        );
    };
    let Some(good) = fixture.write_records.first().cloned() else {
        return fail(
            CHECK,
            "the connector writes but the fixture has no write_records",
        );
    };
    let report = connector
        .write(WriteRequest::new(
            &fixture.stream,
            mode,
            vec![good.clone(), bad],
        ))
        .await
        .map_err(from_error(CHECK, "writing a batch with a bad record"))?;
    ensure(CHECK, report.outcomes.len() == 2, || {
        format!(
            "a batch of 2 records returned {} outcomes",
            report.outcomes.len()
        )
    })?;
    ensure(CHECK, report.outcomes[0].is_ok(), || {
        format!(
            "the good record next to a bad one was not applied: {:?}",
            report.outcomes[0]
        )
    })?;
    match &report.outcomes[1] {
        RecordOutcome::Rejected { reason, .. } if !reason.trim().is_empty() => {}
        RecordOutcome::Rejected { .. } => {
            return fail(CHECK, "the bad record was rejected without a reason");
        }
        RecordOutcome::Ok => return fail(CHECK, "the bad record was reported as written"),
    }
    if write.delete {
        let key = if fixture.primary_key.is_empty() {
            good
        } else {
            good.into_iter()
                .filter(|(k, _)| fixture.primary_key.contains(k))
                .collect()
        };
        write_expecting_ok(connector, fixture, WriteMode::Delete, vec![key]).await?;
    }
    Ok(())
}

/// The write mode the failure checks use: upsert where supported (idempotent), else insert.
fn applying_mode(capabilities: &Capabilities) -> Option<WriteMode> {
    if capabilities.write.upsert {
        Some(WriteMode::Upsert)
    } else if capabilities.write.insert {
        Some(WriteMode::Insert)
    } else {
        None
    }
}

/// The primary key fields of `record` (the whole record without a key).
fn key_only(fixture: &Fixture, record: &Record) -> Record {
    if fixture.primary_key.is_empty() {
        record.clone()
    } else {
        record
            .iter()
            .filter(|(k, _)| fixture.primary_key.contains(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// Deletes `records` again (when the connector deletes), ignoring records already gone.
async fn clean_up(connector: &dyn Connector, fixture: &Fixture, records: &[Record]) {
    if connector.capabilities().write.delete {
        let keys = records
            .iter()
            .map(|r| key_only(fixture, r))
            .collect::<Vec<_>>();
        let _ = connector
            .write(WriteRequest::new(&fixture.stream, WriteMode::Delete, keys))
            .await;
    }
}

/// How many records the stream holds with the key of each of `records`.
async fn count_present(
    connector: &dyn Connector,
    fixture: &Fixture,
    check: &'static str,
    records: &[Record],
) -> Result<Vec<usize>, KitFailure> {
    let now = read_batches(connector, fixture.read_request())
        .await
        .map_err(from_error(check, "reading back"))?
        .iter()
        .flat_map(ReadBatch::records)
        .collect::<Vec<_>>();
    Ok(records
        .iter()
        .map(|record| {
            now.iter()
                .filter(|r| fixture.key_of(r) == fixture.key_of(record))
                .count()
        })
        .collect())
}

/// A batch interleaving the good `write_records` with copies of the bad record returns one
/// outcome per record at its own position — each good one applied, each bad one rejected
/// with a reason — and the good ones are in the stream afterwards.
pub async fn assert_partial_failure(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "partial_failure";
    let capabilities = connector.capabilities();
    let Some(mode) = applying_mode(&capabilities) else {
        return Ok(());
    };
    let Some(bad) = fixture.bad_record.clone() else {
        return fail(
            CHECK,
            "the connector writes but the fixture has no bad_record",
        );
    };
    let mut batch = Vec::new();
    let mut expected_ok = Vec::new();
    for (index, good) in fixture.write_records.iter().enumerate() {
        if index % 2 == 0 {
            batch.push(bad.clone());
            expected_ok.push(false);
        }
        batch.push(good.clone());
        expected_ok.push(true);
    }
    batch.push(bad);
    expected_ok.push(false);
    let report = connector
        .write(WriteRequest::new(&fixture.stream, mode, batch))
        .await
        .map_err(from_error(CHECK, "writing good and bad records together"))?;
    ensure(CHECK, report.outcomes.len() == expected_ok.len(), || {
        format!(
            "a batch of {} records returned {} outcomes",
            expected_ok.len(),
            report.outcomes.len()
        )
    })?;
    for (index, (outcome, ok)) in report.outcomes.iter().zip(&expected_ok).enumerate() {
        match (outcome, ok) {
            (RecordOutcome::Ok, true) => {}
            (RecordOutcome::Rejected { reason, .. }, false) if !reason.trim().is_empty() => {}
            (outcome, ok) => {
                return fail(
                    CHECK,
                    format!(
                        "record {index} ({}) came back {outcome:?}",
                        if *ok { "good" } else { "bad" }
                    ),
                );
            }
        }
    }
    if capabilities.read && fixture.verify_writes_by_reading {
        let present = count_present(connector, fixture, CHECK, &fixture.write_records).await?;
        if let Some(index) = present.iter().position(|n| *n != 1) {
            return fail(
                CHECK,
                format!(
                    "good record {index} is in the stream {} times after the write, expected once",
                    present[index]
                ),
            );
        }
    }
    clean_up(connector, fixture, &fixture.write_records).await;
    Ok(())
}

/// Records what a target hands its commit hook, and fails the commit when asked to.
struct RecordingHook {
    fail: bool,
    seen: std::sync::Mutex<Vec<usize>>,
}

#[async_trait::async_trait]
impl CommitHook for RecordingHook {
    async fn before_commit(&self, outcomes: &[RecordOutcome]) -> Result<(), ConnectorError> {
        if let Ok(mut seen) = self.seen.lock() {
            seen.push(outcomes.len());
        }
        if self.fail {
            Err(ConnectorError::transient(
                crate::Operation::Write,
                "the test kit's commit hook refused the commit",
            ))
        } else {
            Ok(())
        }
    }
}

/// A target that commits checkpoints stores the checkpoint of a batch with its rows,
/// calls the commit hook with one outcome per record before committing, and when the hook
/// fails commits neither rows nor checkpoint. A target that cannot refuses a write that
/// carries a checkpoint instead of writing the rows without it.
pub async fn assert_checkpoint_commits_with_batch(
    connector: &dyn Connector,
    fixture: &Fixture,
) -> KitResult {
    const CHECK: &str = "checkpoint";
    let capabilities = connector.capabilities();
    let Some(mode) = applying_mode(&capabilities) else {
        return Ok(());
    };
    let key = format!("testkit-{}", fixture.stream);
    let records = fixture.write_records.clone();
    let verify = capabilities.read && fixture.verify_writes_by_reading;
    if !capabilities.write.checkpoint {
        let checkpoint = TargetCheckpoint::new(&key, Checkpoint(serde_json::json!({"n": 1})));
        let refused = connector
            .write(
                WriteRequest::new(&fixture.stream, mode, records.clone())
                    .with_checkpoint(checkpoint),
            )
            .await;
        ensure(CHECK, refused.is_err(), || {
            "a target without checkpoint support accepted a write carrying a checkpoint".into()
        })?;
        if verify {
            let present = count_present(connector, fixture, CHECK, &records).await?;
            ensure(CHECK, present.iter().all(|n| *n == 0), || {
                "a refused write with a checkpoint wrote records".into()
            })?;
        }
        return Ok(());
    }

    // A failing hook: nothing commits.
    let before = connector
        .load_checkpoint(&key)
        .await
        .map_err(from_error(CHECK, "loading the checkpoint"))?;
    let refusing = std::sync::Arc::new(RecordingHook {
        fail: true,
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let checkpoint = Checkpoint(serde_json::json!({"testkit": "refused"}));
    let result = connector
        .write(
            WriteRequest::new(&fixture.stream, mode, records.clone()).with_checkpoint(
                TargetCheckpoint::new(&key, checkpoint).with_hook(refusing.clone()),
            ),
        )
        .await;
    ensure(CHECK, result.is_err(), || {
        "the write succeeded although its commit hook failed".into()
    })?;
    let after = connector
        .load_checkpoint(&key)
        .await
        .map_err(from_error(CHECK, "loading the checkpoint"))?;
    ensure(CHECK, after == before, || {
        format!("a failed commit moved the checkpoint from {before:?} to {after:?}")
    })?;
    if verify {
        let present = count_present(connector, fixture, CHECK, &records).await?;
        ensure(CHECK, present.iter().all(|n| *n == 0), || {
            "a write whose commit hook failed left records in the stream".into()
        })?;
    }

    // A passing hook: rows and checkpoint commit together, the hook saw every outcome.
    let accepting = std::sync::Arc::new(RecordingHook {
        fail: false,
        seen: std::sync::Mutex::new(Vec::new()),
    });
    let checkpoint = Checkpoint(serde_json::json!({"testkit": "committed", "n": records.len()}));
    let report = connector
        .write(
            WriteRequest::new(&fixture.stream, mode, records.clone()).with_checkpoint(
                TargetCheckpoint::new(&key, checkpoint.clone()).with_hook(accepting.clone()),
            ),
        )
        .await
        .map_err(from_error(CHECK, "writing with a checkpoint"))?;
    ensure(CHECK, report.ok_count() == records.len(), || {
        format!("{} of {} records applied", report.ok_count(), records.len())
    })?;
    let seen = accepting.seen.lock().map(|s| s.clone()).unwrap_or_default();
    ensure(CHECK, seen.last() == Some(&records.len()), || {
        format!(
            "the commit hook saw outcome counts {seen:?}, expected {}",
            records.len()
        )
    })?;
    let stored = connector
        .load_checkpoint(&key)
        .await
        .map_err(from_error(CHECK, "loading the checkpoint"))?;
    ensure(CHECK, stored.as_ref() == Some(&checkpoint), || {
        format!("the committed checkpoint reads back as {stored:?}")
    })?;
    if verify {
        let present = count_present(connector, fixture, CHECK, &records).await?;
        ensure(CHECK, present.iter().all(|n| *n == 1), || {
            format!("after the committed write the records are present {present:?} times")
        })?;
    }
    clean_up(connector, fixture, &records).await;
    Ok(())
}

/// A layer that lets the first write through to the connector and then loses its answer
/// (as when a connection drops after the commit), so the retry layer above it must send
/// the whole request again.
struct LoseFirstAnswer<'a> {
    inner: &'a dyn Connector,
    lost: std::sync::atomic::AtomicBool,
}

#[async_trait::async_trait]
impl Connector for LoseFirstAnswer<'_> {
    fn connector_type(&self) -> &str {
        self.inner.connector_type()
    }

    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    fn spec(&self) -> Value {
        self.inner.spec()
    }

    async fn check(&self) -> crate::HealthReport {
        self.inner.check().await
    }

    async fn write(&self, request: WriteRequest) -> Result<WriteReport, ConnectorError> {
        let report = self.inner.write(request).await?;
        if !self.lost.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return Err(ConnectorError::transient(
                crate::Operation::Write,
                "the test kit lost the answer of this write",
            ));
        }
        Ok(report)
    }
}

/// An upsert whose answer was lost is sent again by the retry layer with the whole batch
/// it was given, and the records are in the stream exactly once. Skipped for connectors
/// without upsert (an insert is not retried as a whole).
pub async fn assert_retried_write_applies_once(
    connector: &dyn Connector,
    fixture: &Fixture,
) -> KitResult {
    const CHECK: &str = "retry";
    let capabilities = connector.capabilities();
    if !capabilities.write.upsert {
        return Ok(());
    }
    let records = fixture.write_records.clone();
    let flaky = LoseFirstAnswer {
        inner: connector,
        lost: std::sync::atomic::AtomicBool::new(false),
    };
    let retrying = RetryLayer::new(RetryPolicy {
        initial_backoff: std::time::Duration::from_millis(1),
        ..RetryPolicy::default()
    })
    .layer(flaky);
    let report = retrying
        .write(WriteRequest::new(
            &fixture.stream,
            WriteMode::Upsert,
            records.clone(),
        ))
        .await
        .map_err(from_error(CHECK, "an upsert retried after a lost answer"))?;
    ensure(
        CHECK,
        report.outcomes.len() == records.len() && report.ok_count() == records.len(),
        || {
            format!(
                "the retried upsert of {} records reported {} outcomes, {} applied",
                records.len(),
                report.outcomes.len(),
                report.ok_count()
            )
        },
    )?;
    if capabilities.read && fixture.verify_writes_by_reading {
        let present = count_present(connector, fixture, CHECK, &records).await?;
        ensure(CHECK, present.iter().all(|n| *n == 1), || {
            format!("after the retried upsert the records are present {present:?} times")
        })?;
    }
    clean_up(connector, fixture, &records).await;
    Ok(())
}

/// A write dropped before it finishes (its future cancelled at its first wait) leaves the
/// connector usable: the same write then succeeds, with each record once in the stream.
pub async fn assert_cancelled_write(connector: &dyn Connector, fixture: &Fixture) -> KitResult {
    const CHECK: &str = "cancel";
    let capabilities = connector.capabilities();
    let Some(mode) = applying_mode(&capabilities) else {
        return Ok(());
    };
    let records = fixture.write_records.clone();
    {
        let write = connector.write(WriteRequest::new(&fixture.stream, mode, records.clone()));
        futures::pin_mut!(write);
        // One poll: the write starts, then is dropped wherever it first waits.
        let _ = futures::poll!(write.as_mut());
    }
    // Whatever the cancelled write left (all or nothing where the target has
    // transactions), an upsert completes it; an insert starts from a clean stream.
    if mode == WriteMode::Insert {
        clean_up(connector, fixture, &records).await;
    }
    let report = connector
        .write(WriteRequest::new(&fixture.stream, mode, records.clone()))
        .await
        .map_err(from_error(CHECK, "writing after a cancelled write"))?;
    ensure(CHECK, report.ok_count() == records.len(), || {
        format!(
            "after a cancelled write, {} of {} records applied: {:?}",
            report.ok_count(),
            records.len(),
            report.outcomes
        )
    })?;
    if capabilities.read && fixture.verify_writes_by_reading {
        let present = count_present(connector, fixture, CHECK, &records).await?;
        ensure(CHECK, present.iter().all(|n| *n == 1), || {
            format!(
                "after the cancelled write and a new one the records are present {present:?} times"
            )
        })?;
    }
    clean_up(connector, fixture, &records).await;
    Ok(())
}
