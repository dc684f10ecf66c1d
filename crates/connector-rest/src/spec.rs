//! The JSON Schema of the configuration ([`crate::RestConfig`]), written by hand to carry
//! descriptions, enums and defaults; secret references are marked `"x-secret": true`.
//! A test validates example configurations against it, so it cannot drift silently.

use connector_sdk::auth::AuthConfig;
use serde_json::{Value, json};

fn selector(description: &str) -> Value {
    json!({"type": "string", "minLength": 1,
           "description": format!("{description} A JSONPath (RFC 9535) starting with `$`, or a JSON Pointer starting with `/`.")})
}

fn string_map(description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": "string"}, "description": description})
}

fn scalar_map(description: &str) -> Value {
    json!({"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
           "description": description})
}

/// The auth schema: the SDK's, with the API key's secret named `value` (`key` accepted too).
fn auth_schema() -> Value {
    let mut schema = AuthConfig::json_schema();
    if let Some(variants) = schema.get_mut("oneOf").and_then(Value::as_array_mut) {
        for variant in variants.iter_mut() {
            let is_api_key = variant.pointer("/properties/type/const") == Some(&json!("api_key"));
            if is_api_key {
                *variant = json!({
                    "type": "object", "title": "API key", "additionalProperties": false,
                    "properties": {
                        "type": {"const": "api_key"},
                        "name": {"type": "string", "minLength": 1, "description": "The header or query parameter name, e.g. X-Api-Key."},
                        "in": {"enum": ["header", "query"], "default": "header"},
                        "value": {"type": "string", "title": "API key", "x-secret": true,
                                  "description": "A secret reference: env:NAME, file:/path, vault:mount/path#field or local:name."}
                    },
                    "required": ["type", "name", "value"]
                });
            } else if let Some(object) = variant.as_object_mut() {
                object.insert("additionalProperties".into(), json!(false));
            }
        }
    }
    schema["description"] =
        json!("How requests authenticate. Secret fields hold references, never values.");
    schema
}

fn write_endpoint(required_method: bool) -> Value {
    let mut schema = json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "method": {"enum": ["POST", "PUT", "PATCH", "DELETE"], "description": "The HTTP method (DELETE sends no body)."},
            "path": {"type": "string", "pattern": "^/", "description": "The path below base_url (default the stream path); `{field}` takes a record field, percent-encoded."},
            "batch": {"$ref": "#/$defs/batch"}
        }
    });
    if required_method {
        schema["required"] = json!(["method"]);
    } else {
        schema["properties"]["method"]["default"] = json!("POST");
    }
    schema
}

/// The JSON Schema of a REST connector configuration.
pub fn config_schema() -> Value {
    let mut write = write_endpoint(false);
    write["description"] = json!(
        "How records are written. method/path is the insert endpoint; upsert, update and delete add those modes."
    );
    for mode in ["upsert", "update", "delete"] {
        write["properties"][mode] = write_endpoint(true);
    }
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "REST API connection",
        "type": "object",
        "additionalProperties": false,
        "required": ["base_url", "streams"],
        "properties": {
            "type": {"const": "rest", "description": "The connector type."},
            "base_url": {"type": "string", "format": "uri", "description": "The API root every path is appended to, e.g. https://api.example.com/v1."},
            "allow_insecure_http": {"type": "boolean", "default": false,
                "description": "Allow an http:// base_url or token_url (credentials then travel unencrypted; a warning is logged)."},
            "ca_cert": {"type": "string",
                "description": "A PEM file of extra CA certificates to trust (a private CA); server certificates are always verified."},
            "auth": auth_schema(),
            "headers": string_map("Headers sent with every request (not for credentials: use auth)."),
            "streams": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/stream"},
                        "description": "The endpoints this connection reads and writes."},
            "check": {"type": "object", "additionalProperties": false, "required": ["path"],
                "description": "The request `check` sends (default: the first stream's first page, limit 1).",
                "properties": {
                    "path": {"type": "string", "pattern": "^/"},
                    "params": scalar_map("Query parameters.")
                }},
            "retry": {"type": "object", "additionalProperties": false,
                "description": "Retries of each HTTP request (page fetch, record write): 429 (honouring Retry-After), 408, 5xx and connection errors.",
                "properties": {
                    "max_attempts": {"type": "integer", "minimum": 1, "default": 5},
                    "initial_backoff_ms": {"type": "integer", "minimum": 0, "default": 200},
                    "max_backoff_ms": {"type": "integer", "minimum": 0, "default": 30000},
                    "max_elapsed_seconds": {"type": "integer", "minimum": 0, "default": 120}
                }},
            "timeout_seconds": {"type": "integer", "minimum": 1, "default": 30, "description": "Deadline of one HTTP request."},
            "max_response_bytes": {"type": "integer", "minimum": 1024, "maximum": 1073741824, "default": 67108864,
                "description": "The largest response body read (each page), in bytes; a larger answer fails the request."},
            "rate_limit": {"type": "object", "additionalProperties": false, "required": ["per_second"],
                "description": "Client-side rate limit per operation and per read batch.",
                "properties": {
                    "per_second": {"type": "number", "exclusiveMinimum": 0},
                    "burst": {"type": "integer", "minimum": 1, "default": 1}
                }}
        },
        "$defs": {
            "stream": {
                "type": "object", "additionalProperties": false, "required": ["name", "path"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "description": "The stream name used in reads and writes."},
                    "path": {"type": "string", "pattern": "^/", "description": "The path below base_url."},
                    "method": {"enum": ["GET", "POST"], "default": "GET", "description": "POST for search endpoints taking a body."},
                    "params": scalar_map("Static query parameters."),
                    "headers": string_map("Extra headers for this stream."),
                    "body": {"description": "A JSON body template (method POST). {cursor}, {offset}, {limit}, {page} and {incremental} are substituted where referenced; with a body, pagination and incremental values travel only there."},
                    "records": selector("Where the records are in a JSON body (default the whole body)."),
                    "format": {"enum": ["json", "ndjson", "csv"], "description": "The body format (default from Content-Type, else json)."},
                    "primary_key": {"type": "array", "items": {"type": "string", "minLength": 1}},
                    "schema": {"$ref": "#/$defs/schema"},
                    "paginator": {"$ref": "#/$defs/paginator"},
                    "stop": {"$ref": "#/$defs/stop"},
                    "incremental": {"type": "object", "additionalProperties": false, "required": ["cursor_field"],
                        "description": "Incremental reads: the checkpoint is the largest cursor_field value seen.",
                        "properties": {
                            "cursor_field": {"type": "string", "minLength": 1},
                            "param": {"type": "string", "description": "The query parameter receiving the checkpoint (records at or below it are also dropped client-side)."},
                            "start": {"description": "The value sent on the first run."}
                        }},
                    "write": write
                }
            },
            "schema": {
                "type": "object", "additionalProperties": false, "required": ["fields"],
                "description": "The declared fields of the records: each page decodes into columns of these types (default: typed from each page's values). A value that does not fit its type exactly (or a field some record lacks) is not lost: that field is then typed from its values on that page, as without a schema.",
                "properties": {
                    "fields": {"type": "array", "items": {
                        "type": "object", "additionalProperties": false, "required": ["name", "type"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "type": {"$ref": "#/$defs/field_type"},
                            "nullable": {"type": "boolean", "default": true}
                        }}},
                    "extra_fields": {"enum": ["keep", "drop", "reject"], "default": "keep",
                        "description": "Fields the schema does not declare: keep them (typed from their values), drop them, or fail the read (reject)."}
                }
            },
            "field_type": {
                "type": "object", "required": ["type"],
                "description": "A type as the catalog writes it: {\"type\": \"integer\"}, {\"type\": \"decimal\", \"precision\": 12, \"scale\": 2}, {\"type\": \"array\", \"items\": {...}}.",
                "properties": {
                    "type": {"enum": ["boolean", "integer", "number", "decimal", "string", "date", "time",
                                      "timestamp", "timestamp_tz", "json", "bytes", "uuid", "array", "object", "unknown"]},
                    "precision": {"type": ["integer", "null"], "minimum": 1, "maximum": 38},
                    "scale": {"type": ["integer", "null"], "minimum": 0, "maximum": 38},
                    "items": {"$ref": "#/$defs/field_type"},
                    "fields": {"type": "array", "items": {
                        "type": "object", "required": ["name", "type", "nullable"],
                        "properties": {"name": {"type": "string"}, "type": {"$ref": "#/$defs/field_type"},
                                       "nullable": {"type": "boolean"}, "native_type": {"type": "string"}}}},
                    "native": {"type": "string"}
                },
                "allOf": [
                    {"if": {"properties": {"type": {"const": "array"}}}, "then": {"required": ["items"]}},
                    {"if": {"properties": {"type": {"const": "object"}}}, "then": {"required": ["fields"]}},
                    {"if": {"properties": {"type": {"const": "unknown"}}}, "then": {"required": ["native"]}}
                ]
            },
            "paginator": {
                "description": "How to get the next page (default: a single page).",
                "oneOf": [
                    {"type": "object", "title": "Single page", "additionalProperties": false, "required": ["type"],
                     "properties": {"type": {"const": "none"}}},
                    {"type": "object", "title": "Cursor in the body", "additionalProperties": false, "required": ["type", "cursor_path"],
                     "properties": {"type": {"const": "cursor"},
                                    "cursor_path": selector("Where the next cursor is; absent, null or empty = last page."),
                                    "param": {"type": "string", "description": "The query parameter the cursor is sent in (not with a body template)."}}},
                    {"type": "object", "title": "Offset and limit", "additionalProperties": false, "required": ["type", "limit"],
                     "properties": {"type": {"const": "offset"},
                                    "limit_param": {"type": "string", "default": "limit"},
                                    "offset_param": {"type": "string", "default": "offset"},
                                    "limit": {"type": "integer", "minimum": 1, "description": "Records per page; a shorter page is the last."},
                                    "start": {"type": "integer", "minimum": 0, "default": 0}}},
                    {"type": "object", "title": "Page number", "additionalProperties": false, "required": ["type"],
                     "properties": {"type": {"const": "page_number"},
                                    "param": {"type": "string", "default": "page"},
                                    "start": {"type": "integer", "minimum": 0, "default": 1},
                                    "page_size_param": {"type": "string"},
                                    "page_size": {"type": "integer", "minimum": 1, "description": "A shorter page is the last."}}},
                    {"type": "object", "title": "Next URL in the body", "additionalProperties": false, "required": ["type", "path"],
                     "properties": {"type": {"const": "next_url"},
                                    "path": selector("Where the next page's URL is; absent, null or empty = last page.")}},
                    {"type": "object", "title": "RFC 8288 Link header", "additionalProperties": false, "required": ["type"],
                     "properties": {"type": {"const": "link_header"}}}
                ]
            },
            "stop": {
                "type": "object", "additionalProperties": false,
                "description": "Stop conditions besides an empty page and the paginator's own end.",
                "properties": {
                    "has_more_path": selector("A boolean; false = last page."),
                    "total_path": selector("The total number of records; reached = last page."),
                    "max_pages": {"type": "integer", "minimum": 1, "description": "Safety cap (a warning is logged when reached)."},
                    "max_records": {"type": "integer", "minimum": 0, "description": "Safety cap (a warning is logged when reached)."},
                    "progress_guard": {"type": "boolean", "default": true,
                        "description": "Fail with a clear error when a cursor, next URL or page content repeats."}
                }
            },
            "batch": {
                "type": "object", "additionalProperties": false, "required": ["size"],
                "description": "Several records per request body.",
                "properties": {
                    "size": {"type": "integer", "minimum": 1},
                    "wrap": {"type": "string", "minLength": 1, "description": "Wrap the array in an object under this key (default a bare array)."},
                    "errors_path": selector("Where the response lists per-item errors (objects with index and message); without it the batch shares one outcome."),
                    "index_field": {"type": "string", "default": "index"},
                    "message_field": {"type": "string", "default": "message"}
                }
            }
        }
    })
}
