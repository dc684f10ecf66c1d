//! The interactive API reference at `/api/docs`.
//!
//! When the web app is built, Swagger UI comes from its `api-docs` folder (copied there
//! from the `swagger-ui-dist` package by the web build), so the page works offline.
//! Otherwise the page loads Scalar's renderer from its CDN. Both read `/api/openapi.json`.

use std::path::{Path, PathBuf};

use axum::Router;
use axum::extract::{Path as UrlPath, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};

/// The files of the local reference, and their media types.
const ASSETS: [(&str, &str); 2] = [
    ("swagger-ui-bundle.js", "text/javascript; charset=utf-8"),
    ("swagger-ui.css", "text/css; charset=utf-8"),
];

/// Starts Swagger UI on the page (a file, not an inline script, so a strict CSP holds).
const INIT_SCRIPT: &str = "window.addEventListener('load', function () {\n  window.ui = SwaggerUIBundle({ url: '/api/openapi.json', dom_id: '#swagger-ui', deepLinking: true, persistAuthorization: false });\n});\n";

const LOCAL_PAGE: &str = "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\" />\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\" />\n<title>grimOS API reference</title>\n<link rel=\"stylesheet\" href=\"/api/docs/assets/swagger-ui.css\" />\n</head>\n<body>\n<div id=\"swagger-ui\"></div>\n<script src=\"/api/docs/assets/swagger-ui-bundle.js\"></script>\n<script src=\"/api/docs/assets/init.js\"></script>\n</body>\n</html>\n";

const CDN_PAGE: &str = include_str!("docs_page.html");

/// The routes of the reference, reading the local assets from `<web_dir>/api-docs`.
pub fn router(web_dir: &Path) -> Router {
    Router::new()
        .route("/api/docs", get(page))
        .route("/api/docs/assets/{file}", get(asset))
        .with_state(web_dir.join("api-docs"))
}

async fn page(State(dir): State<PathBuf>) -> Html<&'static str> {
    if dir.join(ASSETS[0].0).is_file() {
        Html(LOCAL_PAGE)
    } else {
        Html(CDN_PAGE)
    }
}

async fn asset(State(dir): State<PathBuf>, UrlPath(file): UrlPath<String>) -> Response {
    if file == "init.js" {
        return with_type(
            INIT_SCRIPT.as_bytes().to_vec(),
            "text/javascript; charset=utf-8",
        );
    }
    let Some((name, media_type)) = ASSETS.iter().find(|(name, _)| *name == file) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    match tokio::fs::read(dir.join(name)).await {
        Ok(bytes) => with_type(bytes, media_type),
        Err(_) => StatusCode::NOT_FOUND.into_response(),
    }
}

fn with_type(bytes: Vec<u8>, media_type: &'static str) -> Response {
    let mut response = bytes.into_response();
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=3600"),
    );
    response
}
