//! List filtering in the query: "the flows Ann may view" among 100,000 flows, first page of
//! 50, as `interop::flow_store::list` asks it (the caller's `ListScope::sql` condition and a
//! keyset `WHERE id > $1 … ORDER BY id LIMIT $2`). Target: < 20 ms.
//!
//! 100,000 rows in the real `flows` table (ids are UUIDv7 as the service makes them, a
//! ~300-byte definition each), every flow owned by one of 100 other users, and grants so
//! that
//! - Ann (in `group:oncall`, inside `group:sre`, inside `group:platform`) sees about 3.5 %
//!   of them: 2 % through `group:platform`, 1 % as an operator through `group:oncall`,
//!   0.5 % directly;
//! - Bob sees 50 flows (0.05 %) through one group: the sparse case, where a plan that walks
//!   the flows in id order and probes the grants must go far to fill a page.
//!
//! Each figure is the median of 21 runs of the whole answer: the decision point computes
//! the scope (`Authorizer::scope`), then the page is read. Also printed: a page in the
//! middle of Ann's list, and the count of all her flows (checked against the decision
//! point's own `objects` answer). Ann's first page is the target (the example fails
//! when it misses); the middle page and Bob's page are harder cases reported against the
//! same 20 ms. SQLite always; PostgreSQL too when
//! `GRIMOS_TEST_POSTGRES_URL` is set (a database is created and dropped).
//!
//! `cargo run --release -p authz --example bench_list [rows]` (`BENCH_LIST_KEEP=1` keeps the
//! PostgreSQL database, to look at the plans).

use std::time::{Duration, Instant};

use authz::{Authorizer, Authz, ListScope, ObjectType, Subject, SubjectRef};
use chrono::Utc;
use storage::{Database, PoolSettings, sqlx, with_conn, with_tx};

/// The allocator of the grimos binary.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PAGE: i64 = 50;
const RUNS: usize = 21;
/// Rows per multi-row INSERT.
const CHUNK: usize = 500;

fn err(error: impl std::fmt::Display) -> String {
    error.to_string()
}

/// The grants of flow number `n`: (relation, subject).
fn grants(n: usize) -> Vec<(&'static str, String)> {
    let mut grants = vec![("owner", format!("user:u{:03}", n % 100))];
    if n % 50 == 7 {
        grants.push(("viewer", "group:platform#member".to_owned()));
    }
    if n % 100 == 11 {
        grants.push(("operator", "group:oncall#member".to_owned()));
    }
    if n % 200 == 3 {
        grants.push(("editor", "user:ann".to_owned()));
    }
    if n % 2000 == 5 {
        grants.push(("viewer", "group:tiny#member".to_owned()));
    }
    if n % 30 == 1 {
        grants.push(("viewer", format!("group:other{}#member", n % 7)));
    }
    grants
}

const MEMBERSHIPS: [(&str, &str); 5] = [
    ("platform", "group:sre#member"),
    ("sre", "group:oncall#member"),
    ("oncall", "user:ann"),
    ("tiny", "user:bob"),
    ("other3", "user:carl"),
];

async fn fill(db: &Database, rows: usize) -> Result<Vec<String>, kernel::Error> {
    let now = Utc::now();
    let ids: Vec<String> = (0..rows).map(|_| kernel::new_id()).collect();
    let definition = format!(
        "{{\"name\":\"x\",\"source\":{{\"connector\":\"{}\",\"stream\":\"customers\"}},\
         \"mapping\":\"{}\",\"target\":{{\"connector\":\"{}\",\"stream\":\"crm_customers\",\
         \"mode\":\"upsert\",\"keys\":[\"id\"]}},\"schedule\":\"*/5 * * * *\",\
         \"batch_size\":5000,\"on_error\":\"dead_letter\"}}",
        kernel::new_id(),
        kernel::new_id(),
        kernel::new_id()
    );
    for (chunk_index, chunk) in ids.chunks(CHUNK).enumerate() {
        let values: Vec<String> = (0..chunk.len())
            .map(|i| {
                let b = i * 4;
                format!(
                    "(${}, ${}, ${}, ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 4
                )
            })
            .collect();
        let sql = format!(
            "INSERT INTO flows (id, name, definition, created_at, updated_at) VALUES {}",
            values.join(", ")
        );
        let mut tuples = Vec::new();
        for (i, id) in chunk.iter().enumerate() {
            for (relation, subject) in grants(chunk_index * CHUNK + i) {
                tuples.push((id.clone(), relation, subject));
            }
        }
        let tuple_values: Vec<String> = (0..tuples.len())
            .map(|i| {
                let b = i * 3;
                format!("('flow', ${}, ${}, ${}, 1, $1)", b + 2, b + 3, b + 4)
            })
            .collect();
        let tuple_sql = format!(
            "INSERT INTO authz_tuples (object_type, object_id, relation, subject, \
             created_revision, created_at) VALUES {}",
            tuple_values.join(", ")
        );
        with_tx!(db, |tx| {
            let mut query = sqlx::query(&sql);
            for (i, id) in chunk.iter().enumerate() {
                query = query
                    .bind(id)
                    .bind(format!("flow-{}", chunk_index * CHUNK + i))
                    .bind(&definition)
                    .bind(now);
            }
            query
                .execute(&mut *tx)
                .await
                .map_err(storage::map_sqlx_error)?;
            let mut query = sqlx::query(&tuple_sql).bind(now);
            for (id, relation, subject) in &tuples {
                query = query.bind(id).bind(*relation).bind(subject);
            }
            query
                .execute(&mut *tx)
                .await
                .map_err(storage::map_sqlx_error)?;
            Ok::<_, kernel::Error>(())
        })?;
    }
    for (group, subject) in MEMBERSHIPS {
        with_conn!(db, |conn| {
            sqlx::query(
                "INSERT INTO authz_tuples (object_type, object_id, relation, subject, \
                 created_revision, created_at) VALUES ('group', $1, 'member', $2, 1, $3)",
            )
            .bind(group)
            .bind(subject)
            .bind(now)
            .execute(conn)
            .await
            .map_err(storage::map_sqlx_error)?;
        });
    }
    // As after a bulk load in production (SQLite's planner needs its statistics).
    execute(db, "ANALYZE").await?;
    Ok(ids)
}

/// One page: the flows' list query with the scope's condition.
async fn page(db: &Database, scope: &ListScope, after: &str) -> Result<Vec<String>, kernel::Error> {
    let (visible, binds) = scope.sql("id", 3);
    let sql = format!(
        "SELECT id, name, definition, enabled, version, created_at FROM flows \
         WHERE id > $1 AND {visible} ORDER BY id LIMIT $2"
    );
    let ids: Vec<String> = with_conn!(db, |conn| {
        let mut query =
            sqlx::query_as::<_, (String, String, String, bool, i64, chrono::DateTime<Utc>)>(&sql)
                .bind(after)
                .bind(PAGE);
        for bind in &binds {
            query = query.bind(bind);
        }
        query
            .fetch_all(conn)
            .await
            .map_err(storage::map_sqlx_error)?
            .into_iter()
            .map(|row| row.0)
            .collect()
    });
    Ok(ids)
}

async fn count(db: &Database, scope: &ListScope) -> Result<i64, kernel::Error> {
    let (visible, binds) = scope.sql("id", 1);
    let sql = format!("SELECT COUNT(*) FROM flows WHERE {visible}");
    Ok(with_conn!(db, |conn| {
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for bind in &binds {
            query = query.bind(bind);
        }
        query
            .fetch_one(conn)
            .await
            .map_err(storage::map_sqlx_error)?
    }))
}

async fn execute(db: &Database, sql: &str) -> Result<(), kernel::Error> {
    with_conn!(db, |conn| {
        sqlx::query(sql)
            .execute(conn)
            .await
            .map_err(storage::map_sqlx_error)?;
    });
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// Median of `RUNS` timings of scope + page; the page of the last run.
async fn time_page(
    authz: &Authz,
    user: &str,
    after: &str,
) -> Result<(f64, f64, Vec<String>), String> {
    let subject = Subject::stored(SubjectRef::user(user));
    let mut totals = Vec::new();
    let mut scopes = Vec::new();
    let mut last = Vec::new();
    for _ in 0..RUNS {
        let start = Instant::now();
        let scope = authz
            .scope(&subject, ObjectType::Flow, "view")
            .await
            .map_err(err)?;
        let scoped = start.elapsed();
        last = page(authz.database(), &scope, after).await.map_err(err)?;
        totals.push(ms(start.elapsed()));
        scopes.push(ms(scoped));
    }
    totals.sort_by(f64::total_cmp);
    scopes.sort_by(f64::total_cmp);
    Ok((totals[RUNS / 2], scopes[RUNS / 2], last))
}

async fn bench(name: &str, db: Database, rows: usize) -> Result<bool, String> {
    db.migrate().await.map_err(err)?;
    let start = Instant::now();
    let ids = fill(&db, rows).await.map_err(err)?;
    let authz = Authz::open(db.clone()).await.map_err(err)?;
    println!(
        "{name}: {rows} flows and {} tuples stored and loaded in {:.1} s",
        authz.snapshot().map_err(err)?.len(),
        start.elapsed().as_secs_f64()
    );
    let mut sorted = ids.clone();
    sorted.sort();
    let ann = Subject::stored(SubjectRef::user("ann"));
    let scope = authz
        .scope(&ann, ObjectType::Flow, "view")
        .await
        .map_err(err)?;
    let (expected, _, _) = authz
        .objects(&ann, ObjectType::Flow, "view")
        .await
        .map_err(err)?;
    let total = count(&db, &scope).await.map_err(err)?;
    if total != expected.len() as i64 {
        return Err(format!(
            "{name}: the query counts {total} flows for Ann, the decision point {}",
            expected.len()
        ));
    }
    let mut ok = true;
    // (what, whose, after which id, whether it is the target; the others are
    // harder cases, reported against the same 20 ms)
    for (who, user, after, target) in [
        ("Ann, first page", "ann", String::new(), true),
        (
            "Ann, a page in the middle",
            "ann",
            sorted[rows / 2].clone(),
            false,
        ),
        (
            "Bob (0.05 % visible), first page",
            "bob",
            String::new(),
            false,
        ),
    ] {
        let (median, scope_ms, page_ids) = time_page(&authz, user, &after).await?;
        // The page is exactly the next visible flows after `after`.
        let subject = Subject::stored(SubjectRef::user(user));
        let (visible, _, _) = authz
            .objects(&subject, ObjectType::Flow, "view")
            .await
            .map_err(err)?;
        let wanted: Vec<String> = visible
            .into_iter()
            .map(|(object, _)| object.id)
            .filter(|id| *id > after)
            .take(PAGE as usize)
            .collect();
        if page_ids != wanted {
            return Err(format!("{name}: {who}: the page is not the visible flows"));
        }
        let met = median < 20.0;
        if target {
            ok &= met;
        }
        println!(
            "{name}: {who}: {} rows in {median:.2} ms median of {RUNS} (scope {scope_ms:.3} ms) \
             — {} < 20 ms {}",
            page_ids.len(),
            if target {
                "target"
            } else {
                "beyond the target,"
            },
            if met { "met" } else { "MISSED" }
        );
    }
    println!("{name}: Ann may view {total} of {rows} flows");
    Ok(ok)
}

fn main() -> Result<(), String> {
    let rows: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(err)?;
    runtime.block_on(async {
        let dir = tempfile::tempdir().map_err(err)?;
        let url = format!("sqlite://{}", dir.path().join("list.db").display());
        let db = Database::connect(&url, &PoolSettings::default())
            .await
            .map_err(err)?;
        let mut ok = bench("SQLite", db.clone(), rows).await?;
        db.close().await;
        if let Ok(admin_url) = std::env::var("GRIMOS_TEST_POSTGRES_URL") {
            let name = format!("grimos_bench_list_{}", std::process::id());
            let admin = Database::connect(&admin_url, &PoolSettings::default())
                .await
                .map_err(err)?;
            execute(&admin, &format!("CREATE DATABASE {name}"))
                .await
                .map_err(err)?;
            let base = admin_url
                .rsplit_once('/')
                .map_or(admin_url.as_str(), |(b, _)| b);
            let db = Database::connect(&format!("{base}/{name}"), &PoolSettings::default())
                .await
                .map_err(err)?;
            let result = bench("PostgreSQL", db.clone(), rows).await;
            db.close().await;
            if std::env::var_os("BENCH_LIST_KEEP").is_some() {
                println!("PostgreSQL: kept database {name}");
            } else {
                execute(
                    &admin,
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                )
                .await
                .map_err(err)?;
            }
            ok &= result?;
        } else {
            println!("PostgreSQL: skipped (set GRIMOS_TEST_POSTGRES_URL)");
        }
        if ok {
            Ok(())
        } else {
            Err("Ann's first page took 20 ms or more".to_owned())
        }
    })
}
