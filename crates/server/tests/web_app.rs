//! The admin web app is served at `/` with an SPA fallback, caching and security headers,
//! while API paths keep answering problems.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use reqwest::{Method, StatusCode};
use support::{Backend, Options, TestApp, problem};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_is_served_with_spa_fallback_and_headers() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("assets")).unwrap();
    std::fs::write(
        dist.path().join("index.html"),
        "<!doctype html><div id=root></div>",
    )
    .unwrap();
    std::fs::write(dist.path().join("assets/app-1234.js"), "console.log(1)").unwrap();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("GRIMOS_WEB_DIR", dist.path().display().to_string())],
        },
    )
    .await;

    for path in ["/", "/connectors", "/connectors/123/edit"] {
        let response = app.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let csp = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-eval"),
            "{csp}"
        );
        assert_eq!(response.headers()["cache-control"], "no-cache");
        assert!(
            response.text().await.unwrap().contains("id=root"),
            "{path} falls back to index.html"
        );
    }
    let asset = app
        .request(Method::GET, "/assets/app-1234.js", None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        asset.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert!(
        asset.headers()["content-type"]
            .to_str()
            .unwrap()
            .contains("javascript")
    );

    // API paths never fall back to the app.
    let unknown = app
        .request(Method::GET, "/api/v1/nothing-here", None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(unknown, StatusCode::NOT_FOUND).await["code"],
        "route_not_found"
    );
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_built_app_the_root_explains_how_to_build_it() {
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("GRIMOS_WEB_DIR", "/nonexistent/dist".to_owned())],
        },
    )
    .await;
    let page = app
        .request(Method::GET, "/", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("./scripts/run.sh"), "{page}");
    app.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_works_offline_when_the_web_app_is_built() {
    let dist = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dist.path().join("api-docs")).unwrap();
    std::fs::write(
        dist.path().join("api-docs/swagger-ui-bundle.js"),
        "window.SwaggerUIBundle = function () {};",
    )
    .unwrap();
    std::fs::write(dist.path().join("api-docs/swagger-ui.css"), "body {}").unwrap();
    let app = TestApp::spawn_with(
        Backend::Sqlite,
        Options {
            env: vec![("GRIMOS_WEB_DIR", dist.path().display().to_string())],
        },
    )
    .await;
    let page = app
        .request(Method::GET, "/api/docs", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("/api/docs/assets/swagger-ui-bundle.js"),
        "{page}"
    );
    assert!(
        !page.contains("https://"),
        "no CDN when the assets are local: {page}"
    );
    let bundle = app
        .request(Method::GET, "/api/docs/assets/swagger-ui-bundle.js", None)
        .send()
        .await
        .unwrap();
    assert_eq!(bundle.status(), StatusCode::OK);
    assert!(
        bundle.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let init = app
        .request(Method::GET, "/api/docs/assets/init.js", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(init.contains("/api/openapi.json"));
    let other = app
        .request(Method::GET, "/api/docs/assets/..%2F..%2Fetc%2Fpasswd", None)
        .send()
        .await
        .unwrap();
    assert_eq!(problem(other, StatusCode::NOT_FOUND).await["status"], 404);
    app.stop().await;
}
