//! The admin web app: static files from the built `dist` folder, with an SPA fallback to
//! `index.html`, long-lived caching for hashed assets, and a Content-Security-Policy.

use std::path::Path;

use axum::Router;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use tower_http::services::{ServeDir, ServeFile};

/// The policy the app is built to run under: no inline scripts, no eval, no third-party
/// origins. Inline styles are allowed because Radix injects a `<style>` element while a
/// dialog holds the scroll lock.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; \
     img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// Paths that belong to the API: they never fall back to the app.
const API_PREFIXES: [&str; 4] = ["/api/", "/livez", "/readyz", "/metrics"];

/// A router serving the app in `dist` (or a short page explaining how to build it).
pub fn router(dist: &Path) -> Router {
    let index = dist.join("index.html");
    let app = if index.is_file() {
        let files = ServeDir::new(dist)
            .append_index_html_on_directories(true)
            .fallback(ServeFile::new(&index));
        Router::new().fallback_service(files)
    } else {
        let message = not_built_page(dist);
        Router::new().fallback(move || {
            let message = message.clone();
            async move { (StatusCode::OK, axum::response::Html(message)) }
        })
    };
    app.layer(axum::middleware::from_fn(web_headers))
}

fn not_built_page(dist: &Path) -> String {
    format!(
        "<!doctype html><title>grimOS</title><h1>grimOS is running</h1>\
         <p>The web app is not built at <code>{}</code>: run <code>./scripts/run.sh</code> \
         (or <code>pnpm install &amp;&amp; pnpm build</code>). The API is at \
         <a href=\"/api/docs\">/api/docs</a>.</p>",
        html_escape(&dist.display().to_string())
    )
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Keep API paths out of the SPA fallback, and set caching and security headers.
async fn web_headers(request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if API_PREFIXES.iter().any(|prefix| path.starts_with(prefix)) {
        // An unknown API path: a 404 problem (written by the problem middleware).
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let cache = if path.starts_with("/assets/") {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}
