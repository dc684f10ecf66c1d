#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! The type model, records and errors as a connector author and the engine see them.

use std::time::Duration;

use connector_sdk::{
    ConnectorError, ErrorKind, Field, FieldType, Operation, RecordOutcome, StreamDescriptor,
    WriteReport,
};
use serde_json::json;

#[test]
fn field_types_serialise_to_a_stable_tagged_form() {
    let cases = [
        (
            FieldType::decimal(12, 2),
            json!({"type": "decimal", "precision": 12, "scale": 2}),
        ),
        (FieldType::TimestampTz, json!({"type": "timestamp_tz"})),
        (
            FieldType::array(FieldType::Uuid),
            json!({"type": "array", "items": {"type": "uuid"}}),
        ),
        (
            FieldType::unknown("geometry"),
            json!({"type": "unknown", "native": "geometry"}),
        ),
    ];
    for (field_type, expected) in cases {
        assert_eq!(serde_json::to_value(&field_type).unwrap(), expected);
        assert_eq!(
            serde_json::from_value::<FieldType>(expected).unwrap(),
            field_type
        );
    }
}

#[test]
fn check_record_gives_the_reason_a_record_does_not_fit() {
    let stream = StreamDescriptor::new(
        "orders",
        vec![
            Field::required("id", FieldType::Uuid),
            Field::required("total", FieldType::decimal(10, 2)),
            Field::nullable("tags", FieldType::array(FieldType::String)),
        ],
    );
    let record = |v: serde_json::Value| v.as_object().unwrap().clone();
    let id = "0191b5a0-0000-7000-8000-000000000001";
    let cases = [
        (json!({"id": id, "total": "12.50"}), Ok(())),
        (
            json!({"id": id, "total": 12.5, "tags": ["a", null]}),
            Ok(()),
        ),
        (
            json!({"id": "nope", "total": "1"}),
            Err("field `id`: expected uuid, got string"),
        ),
        (json!({"id": id}), Err("field `total` is required")),
        (
            json!({"id": id, "total": "1", "tags": [1]}),
            Err("field `tags`: item 0: expected string, got number"),
        ),
        (
            json!({"id": id, "total": "1", "colour": "red"}),
            Err("unknown field `colour`"),
        ),
    ];
    for (input, expected) in cases {
        assert_eq!(
            stream.check_record(&record(input.clone())),
            expected.map_err(String::from),
            "{input}"
        );
    }
}

#[test]
fn errors_say_what_where_and_whether_to_retry() {
    let err = ConnectorError::rate_limited(Operation::Read, Some(Duration::from_secs(3)))
        .with_stream("orders");
    assert!(err.retryable());
    assert_eq!(
        err.to_string(),
        "rate_limited error during read on stream `orders`: rate limit exceeded"
    );
    let retryable: Vec<ErrorKind> = [401u16, 403, 404, 409, 429, 503]
        .into_iter()
        .map(ErrorKind::from_http_status)
        .collect();
    assert_eq!(
        retryable,
        [
            ErrorKind::Auth,
            ErrorKind::Permission,
            ErrorKind::NotFound,
            ErrorKind::Data,
            ErrorKind::RateLimited,
            ErrorKind::Transient
        ]
    );
}

#[test]
fn a_write_report_pairs_rejections_with_their_records_for_the_dead_letter_store() {
    let input = vec![
        json!({"id": 1}).as_object().unwrap().clone(),
        json!({"id": 2}).as_object().unwrap().clone(),
    ];
    let report = WriteReport::new(vec![
        RecordOutcome::Ok,
        RecordOutcome::rejected(ErrorKind::Data, "duplicate key"),
    ]);
    let rejected: Vec<_> = report.rejections(&input).collect();
    assert_eq!(
        rejected,
        vec![(&input[1], ErrorKind::Data, "duplicate key")]
    );
    assert_eq!((report.ok_count(), report.rejected_count()), (1, 1));
}
