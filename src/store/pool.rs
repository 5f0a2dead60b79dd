//! A sqlx pool that counts the tasks waiting for one of its connections.
//!
//! sqlx's `Pool` tells its size and idle connections, not how many callers queue for
//! one, and that queue is what an exhausted pool looks like from the outside. Every
//! query of the store runs on this type (through [`on_pool!`](super::on_pool) and
//! [`Store::write`](super::Store::write)), so counting around its one `acquire` counts
//! them all without touching a query.

use std::ops::Deref;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use futures_util::{StreamExt, TryStreamExt};
use sqlx::pool::PoolConnection;
use sqlx::{Database, Either, Error, Execute, Executor, Pool, SqlSafeStr, SqlStr, Transaction};

#[derive(Debug)]
pub struct CountedPool<DB: Database> {
    pool: Pool<DB>,
    waiting: Arc<AtomicUsize>,
}

impl<DB: Database> Clone for CountedPool<DB> {
    fn clone(&self) -> Self {
        Self {
            pool: self.pool.clone(),
            waiting: self.waiting.clone(),
        }
    }
}

/// The pool's own methods (size, idle, close, options) stay reachable.
impl<DB: Database> Deref for CountedPool<DB> {
    type Target = Pool<DB>;
    fn deref(&self) -> &Pool<DB> {
        &self.pool
    }
}

/// Counts one waiting task until dropped, so a cancelled wait (a request dropped by
/// its client, a timeout) leaves the count right.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn enter(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Self(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl<DB: Database> CountedPool<DB> {
    pub fn new(pool: Pool<DB>) -> Self {
        Self {
            pool,
            waiting: Arc::default(),
        }
    }

    /// Tasks waiting for a connection now.
    pub fn waiting(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    pub async fn acquire(&self) -> Result<PoolConnection<DB>, Error> {
        let _waiting = Waiting::enter(&self.waiting);
        self.pool.acquire().await
    }

    /// A transaction opened with `statement` (`BEGIN IMMEDIATE` on SQLite); only the
    /// wait for its connection counts, not the `BEGIN` round trip.
    pub async fn begin_with(
        &self,
        statement: Option<&'static str>,
    ) -> Result<Transaction<'static, DB>, Error> {
        let connection = self.acquire().await?;
        // `Pool::begin_with` does exactly this after its own, uncounted, acquire.
        Transaction::begin(connection, statement.map(SqlSafeStr::into_sql_str)).await
    }
}

/// The same executor as sqlx's `&Pool` (one pooled connection per statement), with the
/// wait for that connection counted. Rows are collected before they are handed on,
/// which is what every query of the store does anyway (`fetch_all`, `fetch_one`,
/// `execute`; none streams).
impl<'p, DB: Database> Executor<'p> for &'_ CountedPool<DB>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    type Database = DB;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> futures_util::stream::BoxStream<'e, Result<Either<DB::QueryResult, DB::Row>, Error>>
    where
        E: 'q + Execute<'q, Self::Database>,
    {
        let pool = self.clone();
        futures_util::stream::once(async move {
            let mut connection = pool.acquire().await?;
            let items: Vec<_> = connection.fetch_many(query).try_collect().await?;
            Ok::<_, Error>(futures_util::stream::iter(items.into_iter().map(Ok)))
        })
        .try_flatten()
        .boxed()
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> futures_util::future::BoxFuture<'e, Result<Option<DB::Row>, Error>>
    where
        E: 'q + Execute<'q, Self::Database>,
    {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.fetch_optional(query).await })
    }

    fn prepare_with<'e>(
        self,
        sql: SqlStr,
        parameters: &'e [<Self::Database as Database>::TypeInfo],
    ) -> futures_util::future::BoxFuture<'e, Result<<Self::Database as Database>::Statement, Error>>
    where
        'p: 'e,
    {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.prepare_with(sql, parameters).await })
    }

    fn describe<'e>(
        self,
        sql: SqlStr,
    ) -> futures_util::future::BoxFuture<'e, Result<sqlx::Describe<Self::Database>, Error>> {
        let pool = self.clone();
        Box::pin(async move { pool.acquire().await?.describe(sql).await })
    }
}
