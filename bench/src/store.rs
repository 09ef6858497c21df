//! The store layer alone against PostgreSQL's COPY, on the same rows in the
//! same run: pages fetched once into memory, written by
//! `store::upsert::store_pull_requests` one transaction per page, then read
//! back with COPY TO and written again with COPY FROM into a fresh database.

use std::time::{Duration, Instant};

use backfill::github::{FetchedChunk, RepositoryInfo};
use backfill::store::{self, state, upsert, Route};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgPool};

/// The tables that hold a chunk's data, in foreign-key order.
const DATA_TABLES: [&str; 4] = ["contributors", "pull_requests", "reviews", "comments"];

pub struct StoreTimes {
    pub store: Duration,
    pub copy: Duration,
    pub prs: usize,
}

async fn fresh_database(admin: &PgPool, base: &PgConnectOptions, name: &str) -> Result<PgPool, String> {
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(admin).await.map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(admin).await.map_err(|e| e.to_string())?;
    let pool = store::connect(base.clone().database(name), Route::Direct).await.map_err(|e| e.to_string())?;
    store::migrate(&pool, Route::Direct).await.map_err(|e| e.to_string())?;
    Ok(pool)
}

pub async fn store_vs_copy(
    admin: &PgPool,
    base: &PgConnectOptions,
    repo: &RepositoryInfo,
    pages: &[FetchedChunk],
) -> Result<StoreTimes, String> {
    let err = |e: sqlx::Error| e.to_string();
    let source = fresh_database(admin, base, "backfill_bench_store").await?;
    let repository_id = state::add_repository(&source, repo, None).await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    for page in pages {
        let mut tx = source.begin().await.map_err(err)?;
        upsert::store_pull_requests(&mut tx, repository_id, &page.prs).await.map_err(|e| e.to_string())?;
        tx.commit().await.map_err(err)?;
    }
    let store = started.elapsed();

    let mut out = source.acquire().await.map_err(err)?;
    let mut dumps = Vec::new();
    for table in ["repositories"].into_iter().chain(DATA_TABLES) {
        let mut stream = out.copy_out_raw(&format!("COPY {table} TO STDOUT")).await.map_err(err)?;
        let mut bytes = Vec::new();
        while let Some(chunk) = futures_util::StreamExt::next(&mut stream).await {
            bytes.extend_from_slice(&chunk.map_err(err)?);
        }
        dumps.push((table, bytes));
    }
    drop(out);
    source.close().await;

    let target = fresh_database(admin, base, "backfill_bench_copy").await?;
    let mut conn = target.acquire().await.map_err(err)?;
    let mut copy = Duration::ZERO;
    for (table, bytes) in &dumps {
        let timed = *table != "repositories";
        let started = Instant::now();
        let mut tx = conn.begin().await.map_err(err)?;
        let mut sink = tx.copy_in_raw(&format!("COPY {table} FROM STDIN")).await.map_err(err)?;
        sink.send(bytes.as_slice()).await.map_err(err)?;
        sink.finish().await.map_err(err)?;
        tx.commit().await.map_err(err)?;
        if timed {
            copy += started.elapsed();
        }
    }
    drop(conn);
    target.close().await;
    for name in ["backfill_bench_store", "backfill_bench_copy"] {
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {name}")).execute(admin).await;
    }
    Ok(StoreTimes { store, copy, prs: pages.iter().map(|p| p.prs.len()).sum() })
}
