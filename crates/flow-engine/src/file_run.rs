//! Running and validating a flow from a file, without a server (the CLI's
//! `grimos flow run FILE` and `grimos flow validate FILE`).
//!
//! Next to `orders.yaml` the run keeps `orders.state.json` (the checkpoint, replaced
//! atomically) and appends rejected records to `orders.rejects.jsonl`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{SecondsFormat, Utc};
use connector_sdk::{
    BuildContext, Catalog, Checkpoint, Connector, SecretSource, StreamDescriptor, WriteMode,
};
use connectors::ConnectorRegistry;
use kernel::FieldError;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

use crate::error::{EngineError, EngineErrorKind};
use crate::journal::{DeadLetter, EventLevel, RunCounts, RunJournal};
use crate::notify::{NotifyPayload, notify};
use crate::runner::{RunRequest, RunStatus, run};
use crate::spec::{ConnectorRef, FlowSpec};

/// How long `validate_file` waits for each connector's `discover`.
pub const DISCOVER_TIMEOUT: Duration = Duration::from_secs(20);

/// The result of [`run_file`], for printing.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileRunReport {
    /// The flow name.
    pub flow: String,
    /// How the run ended (the CLI exits non-zero unless `succeeded`).
    pub status: RunStatus,
    /// Records read.
    pub read: u64,
    /// Records written.
    pub written: u64,
    /// Records dead-lettered (in `rejects_path`).
    pub rejected: u64,
    /// Why the run failed or stopped.
    pub error: Option<String>,
    /// How long it took.
    pub duration: Duration,
    /// Records read per second.
    pub records_per_second: f64,
    /// The checkpoint state file.
    pub state_path: PathBuf,
    /// The dead-letter file.
    pub rejects_path: PathBuf,
}

/// The result of [`validate_file`].
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ValidationReport {
    /// True when there is no error (warnings allowed).
    pub valid: bool,
    /// What must be fixed, each at a JSON Pointer into the flow file (connector findings
    /// under `/source/connector` and `/target/connector`, mapping findings under `/mapping`).
    pub errors: Vec<FieldError>,
    /// What deserves a look (e.g. a connector that could not be reached).
    pub warnings: Vec<FieldError>,
}

impl ValidationReport {
    fn finish(mut self) -> Self {
        self.valid = self.errors.is_empty();
        self
    }
}

/// The state file and dead-letter file of a flow file.
pub fn state_paths(flow_path: &Path) -> (PathBuf, PathBuf) {
    let directory = flow_path.parent().unwrap_or_else(|| Path::new("."));
    let stem = flow_path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("flow");
    (
        directory.join(format!("{stem}.state.json")),
        directory.join(format!("{stem}.rejects.jsonl")),
    )
}

/// Runs the flow in `path` to completion; see [`run_file_with_cancel`].
pub async fn run_file(
    path: &Path,
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
) -> Result<FileRunReport, EngineError> {
    run_file_with_cancel(path, registry, secrets, CancellationToken::new()).await
}

/// Runs the flow in `path`: loads and checks it, builds its connectors (`Named` = a
/// connector file relative to the flow file), compiles its mapping, runs it with the
/// checkpoint in `<flow>.state.json` and dead letters in `<flow>.rejects.jsonl`, then sends
/// its notification (a failure to notify is logged only). `Err` means the run could not
/// start; a run that started returns its report, whatever its status.
pub async fn run_file_with_cancel(
    path: &Path,
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
    cancel: CancellationToken,
) -> Result<FileRunReport, EngineError> {
    let spec = load_spec(path)?;
    let errors = spec.validate();
    if !errors.is_empty() {
        return Err(EngineError::invalid_flow(format!(
            "{} is not a valid flow: {}",
            path.display(),
            describe(&errors)
        )));
    }
    let Some(mapping_spec) = &spec.mapping else {
        return Err(EngineError::invalid_flow(
            "`mapping_id` refers to a mapping stored on a server; a flow run from a file needs \
             an inline `mapping`",
        ));
    };
    let mapping = mapping::Mapping::compile(mapping_spec).map_err(|errors| {
        EngineError::new(
            EngineErrorKind::Mapping,
            format!(
                "the mapping does not compile: {}",
                errors
                    .iter()
                    .map(|e| format!("/mapping{}: {}", e.path, e.message))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        )
    })?;
    let directory = path.parent().unwrap_or_else(|| Path::new("."));
    let source = build_connector(&spec.source.connector, directory, registry, &secrets)
        .await
        .map_err(|m| EngineError::invalid_flow(format!("source connector: {m}")))?;
    let target = build_connector(&spec.target.connector, directory, registry, &secrets)
        .await
        .map_err(|m| EngineError::invalid_flow(format!("target connector: {m}")))?;
    let (state_path, rejects_path) = state_paths(path);
    let journal = Arc::new(FileJournal::new(&spec.name, &state_path, &rejects_path));
    let outcome = run(RunRequest {
        flow_key: file_flow_key(&spec),
        source,
        source_stream: spec.source.stream.clone(),
        target,
        target_stream: spec.target.stream.clone(),
        mode: spec.target.mode,
        mapping: Arc::new(mapping),
        batch_size: spec.options.batch_size,
        max_attempts: spec.options.max_attempts,
        cancel,
        journal,
        cursor_field: spec.source.cursor_field.clone(),
        timeout: spec.options.run_timeout_secs.map(Duration::from_secs),
    })
    .await;
    if let Some(notify_spec) = &spec.notify {
        let payload = NotifyPayload::from_outcome(&spec.name, None, &outcome);
        let egress = egress::EgressPolicy::default();
        if let Err(error) = notify(notify_spec, &payload, secrets.as_ref(), &egress).await {
            tracing::warn!(error = %error, "run notification failed");
        }
    }
    let seconds = outcome.duration.as_secs_f64();
    Ok(FileRunReport {
        flow: spec.name,
        status: outcome.status,
        read: outcome.counts.read,
        written: outcome.counts.written,
        rejected: outcome.counts.rejected,
        error: outcome.error,
        duration: outcome.duration,
        records_per_second: if seconds > 0.0 {
            outcome.counts.read as f64 / seconds
        } else {
            0.0
        },
        state_path,
        rejects_path,
    })
}

/// The checkpoint key of a flow run from a file: its name and both streams, so that a flow
/// pointed at another stream starts afresh instead of resuming from the old stream's
/// checkpoint. Keys longer than 200 characters are replaced by a SHA-256 digest.
pub fn file_flow_key(spec: &FlowSpec) -> String {
    let key = format!(
        "{}:{}->{}",
        spec.name, spec.source.stream, spec.target.stream
    );
    if key.chars().count() <= 200 {
        return key;
    }
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(key.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("flow-{hex}")
}

/// Checks the flow in `path` without moving data: its shape, both connector
/// configurations (against their type's JSON Schema, then by building them), the target's
/// support of the write mode, and the mapping (compiled, then validated against the
/// source and target schemas `discover` reports when the systems are reachable; a
/// connector that cannot be reached is a warning). `Err` only when the file cannot be read
/// or parsed.
pub async fn validate_file(
    path: &Path,
    registry: &ConnectorRegistry,
    secrets: Arc<dyn SecretSource>,
) -> Result<ValidationReport, EngineError> {
    let value = connectors::config_file::read(path)
        .map_err(|error| EngineError::invalid_flow(error.to_string()))?;
    let mut report = ValidationReport::default();
    let spec = match FlowSpec::from_value(value) {
        Ok(spec) => spec,
        Err(error) => {
            report.errors.push(error);
            return Ok(report.finish());
        }
    };
    report.errors.extend(spec.validate());
    let directory = path.parent().unwrap_or_else(|| Path::new("."));
    let source = check_connector(
        "/source",
        &spec.source.connector,
        &spec.source.stream,
        None,
        directory,
        registry,
        &secrets,
        &mut report,
    )
    .await;
    let target = check_connector(
        "/target",
        &spec.target.connector,
        &spec.target.stream,
        Some(spec.target.mode),
        directory,
        registry,
        &secrets,
        &mut report,
    )
    .await;
    match (&spec.mapping, &spec.mapping_id) {
        (Some(mapping_spec), _) => {
            let source_schema = source.as_ref().map(mapping::Schema::from_stream);
            let target_schema = target.as_ref().map(mapping::Schema::from_stream);
            let found =
                mapping::validate(mapping_spec, source_schema.as_ref(), target_schema.as_ref());
            let issue = |i: mapping::ValidationIssue| {
                let message = match &i.field {
                    Some(field) => format!("{} (target field `{field}`)", i.message),
                    None => i.message,
                };
                FieldError::new(format!("/mapping{}", i.path), message)
            };
            report.errors.extend(found.errors.into_iter().map(issue));
            report
                .warnings
                .extend(found.warnings.into_iter().map(issue));
        }
        (None, Some(_)) => report.warnings.push(FieldError::new(
            "/mapping_id",
            "a stored mapping is resolved by the server; it was not checked here",
        )),
        (None, None) => {}
    }
    Ok(report.finish())
}

/// Checks one side's connector; returns its stream's descriptor when discovered.
#[allow(clippy::too_many_arguments)]
async fn check_connector(
    side: &str,
    reference: &ConnectorRef,
    stream: &str,
    mode: Option<WriteMode>,
    directory: &Path,
    registry: &ConnectorRegistry,
    secrets: &Arc<dyn SecretSource>,
    report: &mut ValidationReport,
) -> Option<StreamDescriptor> {
    let at = format!("{side}/connector");
    let (kind, config) = match connector_config(reference, directory) {
        Ok(found) => found,
        Err(message) => {
            report.errors.push(FieldError::new(&at, message));
            return None;
        }
    };
    let Some(factory) = registry.factory(&kind) else {
        report.errors.push(FieldError::new(
            format!("{at}/type"),
            format!(
                "unknown connector type `{kind}`; known types: {}",
                registry.type_names().join(", ")
            ),
        ));
        return None;
    };
    // The same check as the API's (schema, literal secrets), so a flow file validates
    // exactly when the API would store its connectors.
    let problems = connectors::validate_config(&factory.spec(), &config, &at);
    if !problems.is_empty() {
        for problem in problems {
            report
                .errors
                .push(FieldError::new(problem.path, problem.message));
        }
        return None;
    }
    let connector = match registry
        .build(&kind, config, &BuildContext::new(secrets.clone()))
        .await
    {
        Ok(connector) => connector,
        Err(error) => {
            report.errors.push(FieldError::new(&at, error.to_string()));
            return None;
        }
    };
    check_capabilities(side, connector.as_ref(), mode, report);
    let catalog: Result<Catalog, String> =
        match tokio::time::timeout(DISCOVER_TIMEOUT, connector.discover()).await {
            Ok(Ok(catalog)) => Ok(catalog),
            Ok(Err(error)) => Err(error.to_string()),
            Err(_) => Err(format!("no answer within {} s", DISCOVER_TIMEOUT.as_secs())),
        };
    match catalog {
        Ok(catalog) => {
            let descriptor = catalog.streams.iter().find(|s| s.name == stream).cloned();
            if descriptor.is_none() {
                let mut names: Vec<&str> =
                    catalog.streams.iter().map(|s| s.name.as_str()).collect();
                names.truncate(20);
                report.errors.push(FieldError::new(
                    format!("{side}/stream"),
                    format!("stream `{stream}` not found; streams: {}", names.join(", ")),
                ));
            }
            descriptor
        }
        Err(message) => {
            report.warnings.push(FieldError::new(
                &at,
                format!(
                    "could not discover the streams, so the mapping was not checked against \
                     this side's schema: {message}"
                ),
            ));
            None
        }
    }
}

fn check_capabilities(
    side: &str,
    connector: &dyn Connector,
    mode: Option<WriteMode>,
    report: &mut ValidationReport,
) {
    let capabilities = connector.capabilities();
    match mode {
        None if !capabilities.read => report.errors.push(FieldError::new(
            format!("{side}/connector"),
            format!("a `{}` connector cannot read", connector.connector_type()),
        )),
        Some(mode) => {
            let write = capabilities.write;
            let supported = match mode {
                WriteMode::Insert => write.insert,
                WriteMode::Upsert => write.upsert,
                WriteMode::Update => write.update,
                WriteMode::Delete => write.delete,
            };
            if !supported {
                report.errors.push(FieldError::new(
                    format!("{side}/mode"),
                    format!(
                        "this `{}` connector cannot {mode}",
                        connector.connector_type()
                    ),
                ));
            }
        }
        None => {}
    }
}

/// Reads and parses a flow file.
fn load_spec(path: &Path) -> Result<FlowSpec, EngineError> {
    let value = connectors::config_file::read(path)
        .map_err(|error| EngineError::invalid_flow(error.to_string()))?;
    FlowSpec::from_value(value).map_err(|error| {
        EngineError::invalid_flow(format!(
            "{} is not a valid flow: {}: {}",
            path.display(),
            error.path,
            error.message
        ))
    })
}

fn describe(errors: &[FieldError]) -> String {
    errors
        .iter()
        .map(|e| format!("{}: {}", e.path, e.message))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The connector type and configuration a reference designates.
fn connector_config(reference: &ConnectorRef, directory: &Path) -> Result<(String, Value), String> {
    let config = match reference {
        ConnectorRef::Inline(config) => Value::Object(config.clone()),
        ConnectorRef::Named(name) => connectors::config_file::read(&directory.join(name))
            .map_err(|error| error.to_string())?,
    };
    let kind = config
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| "the connector configuration has no `type` (e.g. `rest`, `sql`)".to_owned())?
        .to_owned();
    Ok((kind, config))
}

async fn build_connector(
    reference: &ConnectorRef,
    directory: &Path,
    registry: &ConnectorRegistry,
    secrets: &Arc<dyn SecretSource>,
) -> Result<Arc<dyn Connector>, String> {
    let (kind, config) = connector_config(reference, directory)?;
    registry
        .build(&kind, config, &BuildContext::new(secrets.clone()))
        .await
        .map_err(|error| error.to_string())
}

/// A [`RunJournal`] over files: the checkpoint in a JSON state file replaced atomically
/// (write, fsync, rename), dead letters appended to a JSON Lines file and synced before the
/// checkpoint moves. Staged dead letters (a batch a SQL target is committing) wait in a
/// third file beside the state file (`<flow>.state.staged.json`, replaced atomically) until
/// they are settled. Events go to `tracing`.
pub struct FileJournal {
    flow: String,
    state_path: PathBuf,
    rejects_path: PathBuf,
    staged_path: PathBuf,
    lock: tokio::sync::Mutex<()>,
}

impl FileJournal {
    /// A journal for flow `flow` over these files (created when first needed).
    pub fn new(flow: &str, state_path: &Path, rejects_path: &Path) -> Self {
        Self {
            flow: flow.to_owned(),
            state_path: state_path.to_owned(),
            rejects_path: rejects_path.to_owned(),
            staged_path: state_path.with_extension("staged.json"),
            lock: tokio::sync::Mutex::new(()),
        }
    }

    /// The file holding staged dead letters while a batch commits.
    pub fn staged_path(&self) -> &Path {
        &self.staged_path
    }

    async fn read_staged(&self) -> Result<Option<StagedFile>, EngineError> {
        let text = match tokio::fs::read_to_string(&self.staged_path).await {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("cannot read", &self.staged_path, error)),
        };
        serde_json::from_str(&text).map(Some).map_err(|error| {
            EngineError::storage(format!(
                "{} is not a staged dead-letter file: {error}",
                self.staged_path.display()
            ))
        })
    }
}

/// The staged dead letters of a flow file.
#[derive(Serialize, Deserialize)]
struct StagedFile {
    flow: String,
    /// The checkpoint their batch moves to.
    checkpoint: Value,
    /// The length of the dead-letter file when they were staged: a settle interrupted
    /// after appending them is undone (truncated to it) before they are appended again.
    rejects_length: u64,
    letters: Vec<DeadLetter>,
}

/// The JSON Lines of `letters` in the dead-letter file.
fn reject_lines(letters: &[DeadLetter]) -> String {
    let at = Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true);
    let mut text = String::new();
    for letter in letters {
        let line = json!({
            "at": at,
            "stage": letter.stage,
            "reason": letter.reason,
            "source_record": letter.source_record,
            "mapped_record": letter.mapped_record,
        });
        text.push_str(&line.to_string());
        text.push('\n');
    }
    text
}

/// Appends `text` to `path` and syncs it, first cutting the file back to `truncate_to`
/// when it is longer.
fn append_synced(path: &Path, text: &str, truncate_to: Option<u64>) -> Result<(), EngineError> {
    use std::io::Write as _;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| io_error("cannot open", path, e))?;
    if let Some(length) = truncate_to {
        let current = file
            .metadata()
            .map_err(|e| io_error("cannot inspect", path, e))?
            .len();
        if current > length {
            file.set_len(length)
                .map_err(|e| io_error("cannot truncate", path, e))?;
        }
    }
    file.write_all(text.as_bytes())
        .map_err(|e| io_error("cannot append to", path, e))?;
    file.sync_data()
        .map_err(|e| io_error("cannot sync", path, e))
}

/// Removes `path` (gone already is fine) and syncs its directory.
fn remove_synced(path: &Path) -> Result<(), EngineError> {
    match std::fs::remove_file(path) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(error) => return Err(io_error("cannot remove", path, error)),
    }
    if let Some(directory) = path.parent()
        && let Ok(directory) = std::fs::File::open(directory)
    {
        let _ = directory.sync_all();
    }
    Ok(())
}

fn writer_stopped(error: tokio::task::JoinError) -> EngineError {
    EngineError::storage(format!("the journal's file writer stopped: {error}"))
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    flow: String,
    checkpoint: Option<Value>,
    updated_at: String,
}

fn io_error(what: &str, path: &Path, error: std::io::Error) -> EngineError {
    EngineError::storage(format!("{what} {}: {error}", path.display()))
}

#[async_trait]
impl RunJournal for FileJournal {
    async fn event(&self, level: EventLevel, message: &str, fields: Value) {
        tracing::debug!(flow = %self.flow, level = level.as_str(), %fields, "{message}");
    }

    async fn progress(&self, _counts: RunCounts) -> Result<(), EngineError> {
        Ok(())
    }

    async fn dead_letters(&self, letters: Vec<DeadLetter>) -> Result<(), EngineError> {
        let _guard = self.lock.lock().await;
        let path = self.rejects_path.clone();
        let text = reject_lines(&letters);
        tokio::task::spawn_blocking(move || append_synced(&path, &text, None))
            .await
            .map_err(writer_stopped)?
    }

    async fn load_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        let text = match tokio::fs::read_to_string(&self.state_path).await {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io_error("cannot read", &self.state_path, error)),
        };
        let state: StateFile = serde_json::from_str(&text).map_err(|error| {
            EngineError::storage(format!(
                "{} is not a flow state file: {error}",
                self.state_path.display()
            ))
        })?;
        Ok(state.checkpoint.map(Checkpoint))
    }

    async fn commit_checkpoint(&self, checkpoint: &Checkpoint) -> Result<(), EngineError> {
        let _guard = self.lock.lock().await;
        let state = StateFile {
            flow: self.flow.clone(),
            checkpoint: Some(checkpoint.0.clone()),
            updated_at: Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        };
        let text = serde_json::to_vec_pretty(&state)
            .map_err(|e| EngineError::storage(format!("cannot encode the state: {e}")))?;
        let path = self.state_path.clone();
        tokio::task::spawn_blocking(move || write_atomically(&path, &text))
            .await
            .map_err(writer_stopped)?
    }

    async fn stage_dead_letters(
        &self,
        checkpoint: &Checkpoint,
        letters: Vec<DeadLetter>,
    ) -> Result<(), EngineError> {
        let _guard = self.lock.lock().await;
        let staged_path = self.staged_path.clone();
        if letters.is_empty() {
            return tokio::task::spawn_blocking(move || remove_synced(&staged_path))
                .await
                .map_err(writer_stopped)?;
        }
        let rejects_length = match tokio::fs::metadata(&self.rejects_path).await {
            Ok(metadata) => metadata.len(),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => 0,
            Err(error) => return Err(io_error("cannot inspect", &self.rejects_path, error)),
        };
        let staged = StagedFile {
            flow: self.flow.clone(),
            checkpoint: checkpoint.0.clone(),
            rejects_length,
            letters,
        };
        let bytes = serde_json::to_vec(&staged).map_err(|e| {
            EngineError::storage(format!("cannot encode the staged dead letters: {e}"))
        })?;
        tokio::task::spawn_blocking(move || write_atomically(&staged_path, &bytes))
            .await
            .map_err(writer_stopped)?
    }

    async fn staged_checkpoint(&self) -> Result<Option<Checkpoint>, EngineError> {
        let _guard = self.lock.lock().await;
        Ok(self
            .read_staged()
            .await?
            .map(|staged| Checkpoint(staged.checkpoint)))
    }

    async fn settle_staged(&self, committed: bool) -> Result<u64, EngineError> {
        let _guard = self.lock.lock().await;
        let Some(staged) = self.read_staged().await? else {
            return Ok(0);
        };
        let count = if committed {
            staged.letters.len() as u64
        } else {
            0
        };
        let rejects_path = self.rejects_path.clone();
        let staged_path = self.staged_path.clone();
        tokio::task::spawn_blocking(move || {
            if committed {
                let text = reject_lines(&staged.letters);
                append_synced(&rejects_path, &text, Some(staged.rejects_length))?;
            }
            remove_synced(&staged_path)
        })
        .await
        .map_err(writer_stopped)??;
        Ok(count)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it over `path`.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), EngineError> {
    use std::io::Write as _;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = PathBuf::from(temporary);
    let mut file =
        std::fs::File::create(&temporary).map_err(|e| io_error("cannot create", &temporary, e))?;
    file.write_all(bytes)
        .map_err(|e| io_error("cannot write", &temporary, e))?;
    file.sync_all()
        .map_err(|e| io_error("cannot sync", &temporary, e))?;
    drop(file);
    std::fs::rename(&temporary, path).map_err(|e| io_error("cannot replace", path, e))?;
    if let Some(directory) = path.parent()
        && let Ok(directory) = std::fs::File::open(directory)
    {
        let _ = directory.sync_all();
    }
    Ok(())
}
