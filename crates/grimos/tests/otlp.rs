//! Traces: a request's span reaches an OTLP receiver run by the test, as the child of the
//! caller's `traceparent`, with the HTTP semantic-convention attributes.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod process;

use std::sync::mpsc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use opentelemetry_proto::tonic::trace::v1::Span;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use process::{Server, command};
use prost::Message as _;

const ADMIN_TOKEN: &str = "grm_otlp-test-admin-token-abcdefghijklmnopqrstuvwxyz";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|attribute| attribute.key == key)
        .and_then(
            |attribute| match attribute.value.as_ref()?.value.as_ref()? {
                AnyValue::StringValue(text) => Some(text.clone()),
                AnyValue::IntValue(number) => Some(number.to_string()),
                other => Some(format!("{other:?}")),
            },
        )
}

#[test]
fn a_request_span_is_exported_with_its_remote_parent_and_http_attributes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (spans_sender, spans) = mpsc::channel::<Span>();
    let receiver_address = runtime.block_on(async move {
        let app = Router::new().route(
            "/v1/traces",
            post(move |body: Bytes| {
                let spans_sender = spans_sender.clone();
                async move {
                    let request = ExportTraceServiceRequest::decode(body).expect("OTLP protobuf");
                    for resource_spans in request.resource_spans {
                        for scope_spans in resource_spans.scope_spans {
                            for span in scope_spans.spans {
                                let _ = spans_sender.send(span);
                            }
                        }
                    }
                    (
                        [("content-type", "application/x-protobuf")],
                        Vec::<u8>::new(),
                    )
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        address
    });

    let data_dir = tempfile::tempdir().unwrap();
    let mut server = Server::start({
        let mut command = command(data_dir.path());
        command
            .env("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN)
            .env(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://{receiver_address}"),
            )
            .env("OTEL_BSP_SCHEDULE_DELAY", "100");
        command
    });
    let trace_id = "5b8efff798038103d269b633813fc60c";
    let parent_span_id = "eee19b7ec3c1b174";
    let status = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/auth/whoami"))
        .bearer_auth(ADMIN_TOKEN)
        .header("traceparent", format!("00-{trace_id}-{parent_span_id}-01"))
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 200);

    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let span = loop {
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let span = spans
            .recv_timeout(remaining)
            .expect("the request's span reached the OTLP receiver");
        if hex(&span.trace_id) == trace_id && span.name == "GET /api/v1/auth/whoami" {
            break span;
        }
    };
    assert_eq!(
        hex(&span.parent_span_id),
        parent_span_id,
        "parented to the caller's span"
    );
    assert_eq!(span.kind, SpanKind::Server as i32);
    assert_eq!(
        attribute(&span, "http.request.method").as_deref(),
        Some("GET")
    );
    assert_eq!(
        attribute(&span, "http.route").as_deref(),
        Some("/api/v1/auth/whoami")
    );
    assert_eq!(
        attribute(&span, "http.response.status_code").as_deref(),
        Some("200")
    );
    assert!(attribute(&span, "request_id").is_some());
    server.terminate();
    assert_eq!(server.wait_exit(), Some(0));
}
