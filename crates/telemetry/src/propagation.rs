//! W3C trace context in and out of HTTP headers.

use opentelemetry::global;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// Write the current span's `traceparent` (and `tracestate`) into `headers`, so that the
/// server an outgoing call reaches continues this trace.
pub fn inject_current_context(headers: &mut http::HeaderMap) {
    let context = tracing::Span::current().context();
    global::get_text_map_propagator(|propagator| {
        propagator.inject_context(&context, &mut opentelemetry_http::HeaderInjector(headers));
    });
}

/// Read a `traceparent` from incoming `headers` and make it the parent of `span`.
pub fn continue_remote_context(span: &tracing::Span, headers: &http::HeaderMap) {
    let parent = global::get_text_map_propagator(|propagator| {
        propagator.extract(&opentelemetry_http::HeaderExtractor(headers))
    });
    // A span that is already closed or disabled cannot take a parent; nothing to do then.
    let _ = span.set_parent(parent);
}
