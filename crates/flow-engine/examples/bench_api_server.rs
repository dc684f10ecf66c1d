//! A stand-alone JSON API for the REST → PostgreSQL data-plane benchmark
//! (`scripts/bench/data-plane.sh`): `GET /v1/customers?cursor=N` answers pages of 1,000
//! customers (about 260 bytes of JSON each, with a nested address) and `next_cursor`, from
//! pages rendered once at start-up, so that the API costs almost nothing next to the flow
//! reading it. It runs in a process of its own, prints `listening on http://ADDR` and serves
//! until killed.
//!
//! `cargo run --release -p flow-engine --example bench_api_server -- [RECORDS] [PAGE_SIZE]`

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use serde_json::json;

type Error = Box<dyn std::error::Error>;

/// Customer `id` as the API serves it.
fn customer(id: u64) -> serde_json::Value {
    json!({
        "id": id.to_string(),
        "first_name": format!("Ada{id}"),
        "last_name": "Lovelace",
        "email": format!("Customer{id}@Example.COM"),
        "phone": format!("+33 6 {:02} {:02} {:02} {:02}", id % 100, (id / 100) % 100, (id / 7) % 100, (id / 13) % 100),
        "address": {
            "street": format!("{} rue de la Paix", 1 + id % 200),
            "city": "Paris",
            "postcode": format!("750{:02}", 1 + id % 20),
            "country": "FR"
        },
        "balance": format!("{}.{:02}", id % 100_000, id % 100),
        "created_at": format!("2024-{:02}-{:02}T{:02}:{:02}:{:02}Z", 1 + id % 12, 1 + id % 28, id % 24, id % 60, id % 60),
        "status": if id.is_multiple_of(3) { "active" } else { "trial" }
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1);
    let total: u64 = args.next().map_or(Ok(200_000), |a| a.parse())?;
    let page_size: u64 = args.next().map_or(Ok(1_000), |a| a.parse())?;
    let mut pages = Vec::new();
    let mut bytes = 0usize;
    let mut offset = 0;
    while offset < total {
        let end = (offset + page_size).min(total);
        let data: Vec<serde_json::Value> = (offset..end).map(customer).collect();
        bytes += data.iter().map(|r| r.to_string().len()).sum::<usize>();
        let next = (end < total).then(|| end.to_string());
        pages.push(json!({"data": data, "next_cursor": next}).to_string());
        offset = end;
    }
    let pages = Arc::new(pages);
    let app = Router::new()
        .route(
            "/v1/customers",
            get(
                move |State(pages): State<Arc<Vec<String>>>,
                      Query(q): Query<HashMap<String, String>>| async move {
                    let offset: u64 = q.get("cursor").and_then(|c| c.parse().ok()).unwrap_or(0);
                    let page = usize::try_from(offset / page_size).unwrap_or(usize::MAX);
                    let body = pages
                        .get(page)
                        .cloned()
                        .unwrap_or_else(|| r#"{"data":[],"next_cursor":null}"#.to_owned());
                    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
                },
            ),
        )
        .with_state(pages);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!(
        "listening on http://{} ({total} records, {:.0} bytes per record)",
        listener.local_addr()?,
        bytes as f64 / total.max(1) as f64
    );
    axum::serve(listener, app).await?;
    Ok(())
}
