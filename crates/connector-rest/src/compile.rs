//! Checking a [`RestConfig`] and turning it into the [`Plan`] the connector runs.
//!
//! Every problem is an [`ErrorKind::Config`](connector_sdk::ErrorKind::Config) error whose
//! detail starts with the JSON Pointer of the offending field (`/streams/0/paginator/cursor_path`).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use connector_sdk::secret::split_reference;
use connector_sdk::{ConnectorError, Operation, RetryPolicy};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use reqwest::{Method, Url};
use serde_json::Value;

use crate::config::{
    BatchConfig, BodyFormat, PaginatorConfig, ReadMethod, RestAuth, RestConfig, StreamConfig,
    WriteConfig, WriteEndpoint, WriteMethod,
};
use crate::paginator::{
    CursorPaginator, NextUrlPaginator, OffsetPaginator, PageNumberPaginator, Paginator, StopRules,
};
use crate::raw::RawPlan;
use crate::selector::Selector;
use crate::shape::RecordShape;
use crate::template::{TextTemplate, body_placeholders, scalar_text};

/// Names a body template may use.
const BODY_VARIABLES: [&str; 5] = ["cursor", "offset", "limit", "page", "incremental"];

/// A configuration error at `pointer`.
fn invalid(pointer: impl AsRef<str>, message: impl std::fmt::Display) -> ConnectorError {
    ConnectorError::config(
        Operation::Build,
        format!("`{}`: {message}", pointer.as_ref()),
    )
}

/// The checked configuration, ready to run.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) base: Url,
    pub(crate) headers: HeaderMap,
    pub(crate) auth: RestAuth,
    pub(crate) streams: Vec<CompiledStream>,
    pub(crate) check: Option<CompiledCheck>,
    pub(crate) retry: RetryPolicy,
    pub(crate) timeout: Duration,
    pub(crate) https_only: bool,
    pub(crate) rate_limit: Option<(f64, u32)>,
    pub(crate) max_response_bytes: usize,
}

/// The default of `max_response_bytes`: 64 MiB.
pub(crate) const DEFAULT_MAX_RESPONSE_BYTES: u64 = 64 * 1024 * 1024;
/// The largest `max_response_bytes` accepted: 1 GiB.
pub(crate) const MAX_RESPONSE_BYTES_LIMIT: u64 = 1024 * 1024 * 1024;
/// The smallest `max_response_bytes` accepted: 1 KiB.
pub(crate) const MIN_RESPONSE_BYTES: u64 = 1024;

/// One stream, checked.
#[derive(Debug, Clone)]
pub(crate) struct CompiledStream {
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) method: Method,
    pub(crate) params: Vec<(String, String)>,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Option<Value>,
    pub(crate) records: Selector,
    pub(crate) format: Option<BodyFormat>,
    pub(crate) primary_key: Vec<String>,
    /// The declared fields of the records, when the stream declares them.
    pub(crate) shape: Option<RecordShape>,
    /// How a JSON page is read in one pass, when every place a read looks is a pointer.
    pub(crate) raw: Option<RawPlan>,
    pub(crate) paginator: Paginator,
    pub(crate) stop: StopRules,
    pub(crate) incremental: Option<IncrementalPlan>,
    pub(crate) write: Option<WritePlan>,
}

/// Incremental settings, checked.
#[derive(Debug, Clone)]
pub(crate) struct IncrementalPlan {
    pub(crate) cursor_field: String,
    pub(crate) param: Option<String>,
    pub(crate) start: Option<Value>,
}

/// The write endpoints of a stream.
#[derive(Debug, Clone)]
pub(crate) struct WritePlan {
    pub(crate) insert: WriteTarget,
    pub(crate) upsert: Option<WriteTarget>,
    pub(crate) update: Option<WriteTarget>,
    pub(crate) delete: Option<WriteTarget>,
}

/// One write endpoint.
#[derive(Debug, Clone)]
pub(crate) struct WriteTarget {
    pub(crate) method: Method,
    pub(crate) path: TextTemplate,
    pub(crate) batch: Option<BatchPlan>,
}

/// Batch write settings, checked.
#[derive(Debug, Clone)]
pub(crate) struct BatchPlan {
    pub(crate) size: usize,
    pub(crate) wrap: Option<String>,
    pub(crate) errors: Option<Selector>,
    pub(crate) index_field: String,
    pub(crate) message_field: String,
}

/// The `check` request.
#[derive(Debug, Clone)]
pub(crate) struct CompiledCheck {
    pub(crate) path: String,
    pub(crate) params: Vec<(String, String)>,
}

/// Checks `config` and builds the plan.
pub(crate) fn compile(config: &RestConfig) -> Result<Plan, ConnectorError> {
    if let Some(kind) = &config.connector_type
        && kind != "rest"
    {
        return Err(invalid("/type", format!("must be `rest`, not `{kind}`")));
    }
    let base = parse_http_url(&config.base_url, config.allow_insecure_http, "/base_url")?;
    if base.query().is_some() || base.fragment().is_some() {
        return Err(invalid(
            "/base_url",
            "must not have a query or fragment (use params)",
        ));
    }
    if base.scheme() == "http" {
        tracing::warn!(
            base_url = %base,
            "allow_insecure_http is set: requests and credentials travel unencrypted"
        );
    }
    check_auth(&config.auth, config.allow_insecure_http)?;
    let headers = header_map(&config.headers, "/headers")?;
    if config.streams.is_empty() {
        return Err(invalid("/streams", "at least one stream is needed"));
    }
    let mut names = HashSet::new();
    let mut streams = Vec::new();
    for (index, stream) in config.streams.iter().enumerate() {
        let pointer = format!("/streams/{index}");
        if !names.insert(stream.name.as_str()) {
            return Err(invalid(
                format!("{pointer}/name"),
                format!("stream `{}` is defined twice", stream.name),
            ));
        }
        streams.push(compile_stream(stream, &pointer)?);
    }
    let check = match &config.check {
        Some(check) => {
            check_read_path(&check.path, "/check/path")?;
            Some(CompiledCheck {
                path: check.path.clone(),
                params: scalar_params(&check.params, "/check/params")?,
            })
        }
        None => None,
    };
    let retry = &config.retry;
    if retry.max_attempts == 0 {
        return Err(invalid("/retry/max_attempts", "must be at least 1"));
    }
    if config.timeout_seconds == 0 {
        return Err(invalid("/timeout_seconds", "must be at least 1"));
    }
    let max_response_bytes = config
        .max_response_bytes
        .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES);
    if !(MIN_RESPONSE_BYTES..=MAX_RESPONSE_BYTES_LIMIT).contains(&max_response_bytes) {
        return Err(invalid(
            "/max_response_bytes",
            format!("must be between {MIN_RESPONSE_BYTES} and {MAX_RESPONSE_BYTES_LIMIT} (1 GiB)"),
        ));
    }
    let max_response_bytes = usize::try_from(max_response_bytes)
        .map_err(|_| invalid("/max_response_bytes", "is too large for this platform"))?;
    let rate_limit = match &config.rate_limit {
        Some(limit) if !(limit.per_second.is_finite() && limit.per_second > 0.0) => {
            return Err(invalid(
                "/rate_limit/per_second",
                "must be a positive number",
            ));
        }
        Some(limit) => Some((limit.per_second, limit.burst.max(1))),
        None => None,
    };
    Ok(Plan {
        base,
        headers,
        auth: config.auth.clone(),
        streams,
        check,
        retry: RetryPolicy {
            max_attempts: retry.max_attempts,
            initial_backoff: Duration::from_millis(retry.initial_backoff_ms),
            max_backoff: Duration::from_millis(retry.max_backoff_ms),
            max_elapsed: Some(Duration::from_secs(retry.max_elapsed_seconds)),
            ..RetryPolicy::default()
        },
        timeout: Duration::from_secs(config.timeout_seconds),
        https_only: !config.allow_insecure_http,
        rate_limit,
        max_response_bytes,
    })
}

fn parse_http_url(text: &str, allow_http: bool, pointer: &str) -> Result<Url, ConnectorError> {
    let url = Url::parse(text)
        .map_err(|e| invalid(pointer, format!("`{text}` is not a valid URL: {e}")))?;
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http => Ok(url),
        "http" => Err(invalid(
            pointer,
            "an http:// URL sends credentials unencrypted; use https:// or set allow_insecure_http: true",
        )),
        other => Err(invalid(
            pointer,
            format!("the scheme must be https (or http), not `{other}`"),
        )),
    }
}

fn check_reference(reference: &str, pointer: &str) -> Result<(), ConnectorError> {
    split_reference(reference).map(|_| ()).map_err(|_| {
        invalid(
            pointer,
            "must be a secret reference (env:NAME, file:/path, vault:mount/path#field or local:name), not a value",
        )
    })
}

fn check_auth(auth: &RestAuth, allow_http: bool) -> Result<(), ConnectorError> {
    match auth {
        RestAuth::None => Ok(()),
        RestAuth::ApiKey { name, value, .. } => {
            if name.trim().is_empty() {
                return Err(invalid("/auth/name", "must not be empty"));
            }
            check_reference(value, "/auth/value")
        }
        RestAuth::Bearer { token } => check_reference(token, "/auth/token"),
        RestAuth::Basic { password, .. } => check_reference(password, "/auth/password"),
        RestAuth::OAuth2ClientCredentials {
            token_url,
            client_secret,
            ..
        } => {
            parse_http_url(token_url, allow_http, "/auth/token_url")?;
            check_reference(client_secret, "/auth/client_secret")
        }
    }
}

fn header_map(
    headers: &BTreeMap<String, String>,
    pointer: &str,
) -> Result<HeaderMap, ConnectorError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let here = format!("{pointer}/{name}");
        let header = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| invalid(&here, "is not a valid header name"))?;
        if matches!(
            header.as_str(),
            "authorization" | "proxy-authorization" | "cookie"
        ) {
            return Err(invalid(
                &here,
                "credentials belong in `auth` (as secret references), not in headers",
            ));
        }
        let value = HeaderValue::from_str(value)
            .map_err(|_| invalid(&here, "is not a valid header value"))?;
        map.insert(header, value);
    }
    Ok(map)
}

fn scalar_params(
    params: &BTreeMap<String, Value>,
    pointer: &str,
) -> Result<Vec<(String, String)>, ConnectorError> {
    params
        .iter()
        .map(|(name, value)| {
            scalar_text(value)
                .map(|text| (name.clone(), text))
                .ok_or_else(|| {
                    invalid(
                        format!("{pointer}/{name}"),
                        "must be a string, number or boolean",
                    )
                })
        })
        .collect()
}

fn check_read_path(path: &str, pointer: &str) -> Result<(), ConnectorError> {
    if !path.starts_with('/') {
        return Err(invalid(pointer, "must start with `/`"));
    }
    if path.contains(['{', '}']) {
        return Err(invalid(
            pointer,
            "a read path takes no `{placeholder}` (those are for write paths)",
        ));
    }
    Ok(())
}

fn selector(text: &str, pointer: &str) -> Result<Selector, ConnectorError> {
    Selector::parse(text).map_err(|e| invalid(pointer, e))
}

fn compile_stream(stream: &StreamConfig, pointer: &str) -> Result<CompiledStream, ConnectorError> {
    if stream.name.trim().is_empty() {
        return Err(invalid(format!("{pointer}/name"), "must not be empty"));
    }
    check_read_path(&stream.path, &format!("{pointer}/path"))?;
    let method = match stream.method {
        ReadMethod::GET => Method::GET,
        ReadMethod::POST => Method::POST,
    };
    let body_vars = match &stream.body {
        Some(_) if stream.method == ReadMethod::GET => {
            return Err(invalid(
                format!("{pointer}/body"),
                "a body needs `method: POST`",
            ));
        }
        Some(body) => {
            let names =
                body_placeholders(body).map_err(|e| invalid(format!("{pointer}/body"), e))?;
            if let Some(unknown) = names.iter().find(|n| !BODY_VARIABLES.contains(&n.as_str())) {
                return Err(invalid(
                    format!("{pointer}/body"),
                    format!(
                        "unknown placeholder `{{{unknown}}}`; known: {}",
                        BODY_VARIABLES.join(", ")
                    ),
                ));
            }
            Some(names)
        }
        None => None,
    };
    let uses = |name: &str| {
        body_vars
            .as_ref()
            .is_some_and(|names| names.iter().any(|n| n == name))
    };
    let records = match &stream.records {
        Some(text) => selector(text, &format!("{pointer}/records"))?,
        None => Selector::root(),
    };
    let paginator = compile_paginator(
        &stream.paginator,
        &format!("{pointer}/paginator"),
        body_vars.is_some(),
        &uses,
    )?;
    let stop = &stream.stop;
    let stop_pointer = format!("{pointer}/stop");
    let stop = StopRules {
        has_more: stop
            .has_more_path
            .as_deref()
            .map(|p| selector(p, &format!("{stop_pointer}/has_more_path")))
            .transpose()?,
        total: stop
            .total_path
            .as_deref()
            .map(|p| selector(p, &format!("{stop_pointer}/total_path")))
            .transpose()?,
        max_pages: stop.max_pages,
        max_records: stop.max_records,
        progress_guard: stop.progress_guard,
    };
    if stop.max_pages == Some(0) {
        return Err(invalid(
            format!("{stop_pointer}/max_pages"),
            "must be at least 1",
        ));
    }
    if matches!(stream.format, Some(BodyFormat::Ndjson | BodyFormat::Csv)) {
        let reads_body =
            paginator.needs_json_body() || stop.has_more.is_some() || stop.total.is_some();
        if reads_body {
            return Err(invalid(
                format!("{pointer}/format"),
                "NDJSON and CSV bodies have no JSON document for cursor_path, next_url, has_more_path or total_path; \
                 use offset, page_number or link_header pagination",
            ));
        }
    }
    if let Some(index) = stream.primary_key.iter().position(|k| k.trim().is_empty()) {
        return Err(invalid(
            format!("{pointer}/primary_key/{index}"),
            "must not be empty",
        ));
    }
    let shape = stream
        .schema
        .as_ref()
        .map(|schema| {
            RecordShape::new(schema)
                .map_err(|(at, message)| invalid(format!("{pointer}/schema{at}"), message))
        })
        .transpose()?;
    let incremental = match &stream.incremental {
        Some(incremental) => {
            if incremental.cursor_field.trim().is_empty() {
                return Err(invalid(
                    format!("{pointer}/incremental/cursor_field"),
                    "must not be empty",
                ));
            }
            if body_vars.is_some() && incremental.param.is_some() && !uses("incremental") {
                return Err(invalid(
                    format!("{pointer}/incremental/param"),
                    "with a body, the checkpoint travels in the body: reference `{incremental}` there",
                ));
            }
            Some(IncrementalPlan {
                cursor_field: incremental.cursor_field.clone(),
                param: incremental.param.clone(),
                start: incremental.start.clone(),
            })
        }
        None => None,
    };
    let write = stream
        .write
        .as_ref()
        .map(|write| compile_write(write, &stream.path, &format!("{pointer}/write")))
        .transpose()?;
    let raw = match stream.format {
        Some(BodyFormat::Ndjson | BodyFormat::Csv) => None,
        Some(BodyFormat::Json) | None => {
            let mut looks = paginator.body_selectors();
            looks.extend(stop.body_selectors());
            RawPlan::new(&records, &looks)
        }
    };
    Ok(CompiledStream {
        name: stream.name.clone(),
        path: stream.path.clone(),
        method,
        params: scalar_params(&stream.params, &format!("{pointer}/params"))?,
        headers: header_map(&stream.headers, &format!("{pointer}/headers"))?,
        body: stream.body.clone(),
        records,
        format: stream.format,
        primary_key: stream.primary_key.clone(),
        shape,
        raw,
        paginator,
        stop,
        incremental,
        write,
    })
}

fn compile_paginator(
    config: &PaginatorConfig,
    pointer: &str,
    has_body: bool,
    uses: &dyn Fn(&str) -> bool,
) -> Result<Paginator, ConnectorError> {
    let needs_in_body = |variable: &str| {
        if has_body && !uses(variable) {
            Err(invalid(
                format!("{pointer}/type"),
                format!(
                    "with a body template, reference `{{{variable}}}` in the body so each page differs"
                ),
            ))
        } else {
            Ok(())
        }
    };
    Ok(match config {
        PaginatorConfig::None => Paginator::None,
        PaginatorConfig::Cursor { cursor_path, param } => {
            if has_body {
                needs_in_body("cursor")?;
            } else if param.as_deref().is_none_or(|p| p.trim().is_empty()) {
                return Err(invalid(
                    format!("{pointer}/param"),
                    "names the query parameter the cursor is sent in",
                ));
            }
            Paginator::Cursor(CursorPaginator {
                cursor_path: selector(cursor_path, &format!("{pointer}/cursor_path"))?,
                param: param.clone(),
            })
        }
        PaginatorConfig::Offset {
            limit_param,
            offset_param,
            limit,
            start,
        } => {
            if *limit == 0 {
                return Err(invalid(format!("{pointer}/limit"), "must be at least 1"));
            }
            needs_in_body("offset")?;
            Paginator::Offset(OffsetPaginator {
                limit_param: limit_param.clone(),
                offset_param: offset_param.clone(),
                limit: *limit,
                start: *start,
            })
        }
        PaginatorConfig::PageNumber {
            param,
            start,
            page_size_param,
            page_size,
        } => {
            if *page_size == Some(0) {
                return Err(invalid(
                    format!("{pointer}/page_size"),
                    "must be at least 1",
                ));
            }
            if page_size_param.is_some() && page_size.is_none() {
                return Err(invalid(
                    format!("{pointer}/page_size"),
                    "is needed with page_size_param",
                ));
            }
            needs_in_body("page")?;
            Paginator::PageNumber(PageNumberPaginator {
                param: param.clone(),
                start: *start,
                page_size_param: page_size_param.clone(),
                page_size: *page_size,
            })
        }
        PaginatorConfig::NextUrl { path } => Paginator::NextUrl(NextUrlPaginator {
            path: selector(path, &format!("{pointer}/path"))?,
        }),
        PaginatorConfig::LinkHeader {} => Paginator::LinkHeader,
    })
}

fn compile_write(
    write: &WriteConfig,
    stream_path: &str,
    pointer: &str,
) -> Result<WritePlan, ConnectorError> {
    let insert = compile_target(
        write.method,
        write.path.as_deref(),
        write.batch.as_ref(),
        stream_path,
        pointer,
    )?;
    let mode = |endpoint: &Option<WriteEndpoint>, name: &str| {
        endpoint
            .as_ref()
            .map(|e| {
                compile_target(
                    e.method,
                    e.path.as_deref(),
                    e.batch.as_ref(),
                    stream_path,
                    &format!("{pointer}/{name}"),
                )
            })
            .transpose()
    };
    Ok(WritePlan {
        insert,
        upsert: mode(&write.upsert, "upsert")?,
        update: mode(&write.update, "update")?,
        delete: mode(&write.delete, "delete")?,
    })
}

fn compile_target(
    method: WriteMethod,
    path: Option<&str>,
    batch: Option<&BatchConfig>,
    stream_path: &str,
    pointer: &str,
) -> Result<WriteTarget, ConnectorError> {
    let path_text = path.unwrap_or(stream_path);
    if !path_text.starts_with('/') {
        return Err(invalid(format!("{pointer}/path"), "must start with `/`"));
    }
    let template =
        TextTemplate::parse(path_text).map_err(|e| invalid(format!("{pointer}/path"), e))?;
    let batch = match batch {
        Some(batch) => {
            if batch.size == 0 {
                return Err(invalid(
                    format!("{pointer}/batch/size"),
                    "must be at least 1",
                ));
            }
            if !template.is_literal() {
                return Err(invalid(
                    format!("{pointer}/path"),
                    "a batch write path cannot take `{field}` placeholders (one request carries many records)",
                ));
            }
            if batch.wrap.as_deref().is_some_and(|w| w.trim().is_empty()) {
                return Err(invalid(
                    format!("{pointer}/batch/wrap"),
                    "must not be empty",
                ));
            }
            Some(BatchPlan {
                size: batch.size,
                wrap: batch.wrap.clone(),
                errors: batch
                    .errors_path
                    .as_deref()
                    .map(|p| selector(p, &format!("{pointer}/batch/errors_path")))
                    .transpose()?,
                index_field: batch.index_field.clone(),
                message_field: batch.message_field.clone(),
            })
        }
        None => None,
    };
    let method = match method {
        WriteMethod::POST => Method::POST,
        WriteMethod::PUT => Method::PUT,
        WriteMethod::PATCH => Method::PATCH,
        WriteMethod::DELETE => Method::DELETE,
    };
    Ok(WriteTarget {
        method,
        path: template,
        batch,
    })
}
