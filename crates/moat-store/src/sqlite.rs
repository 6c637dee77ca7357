//! The embedded SQLite backend: one writer connection, a few reader connections, WAL.
//!
//! The writer connection sits behind a reentrant lock so that a write scope (see
//! [`Sqlite::write_scope`]) can hold one transaction open while the code it runs makes its own
//! `write` calls on the same thread: those join the open transaction as savepoints instead of
//! committing, and the scope then appends to the audit trail and commits once.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use parking_lot::{ReentrantMutex, ReentrantMutexGuard};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::audit::{AuditBuffers, AuditEvent, LookupPage, LookupQuery, Signer};
use crate::cache::{self, Chunk, Lookup, RecordCache, Shared, CHUNK};
use crate::{audit_sqlite, Reader, Record, RootKey, StoreError, Writer, MIGRATIONS};

const READERS: usize = 4;
/// Prepared statements kept per connection: every query the store makes (LookupEvents has one
/// per filter) stays prepared.
const STATEMENT_CACHE: usize = 64;
pub(crate) const ROOT_KEY_CHECK: &str = "root-key-check";
pub(crate) const ROOT_KEY_CHECK_PLAINTEXT: &[u8] = b"moat root key check v1";

/// The writer connection, whether a write scope has a transaction open on it, and the
/// writes of the open transaction that must outlive its rollback.
struct WriterConn {
    conn: Connection,
    in_scope: Cell<bool>,
    surviving: RefCell<Vec<Surviving>>,
    /// Whether the open transaction changed records (audit appends alone do not).
    changed: Cell<bool>,
    /// Reused by every audit append (they all hold the writer).
    audit_buffers: RefCell<AuditBuffers>,
}

impl WriterConn {
    fn new(conn: Connection) -> WriterConn {
        WriterConn {
            conn,
            in_scope: Cell::new(false),
            surviving: RefCell::new(Vec::new()),
            changed: Cell::new(false),
            audit_buffers: RefCell::new(AuditBuffers::default()),
        }
    }
}

/// The database's generation (see `cache`): odd while a commit that changes records is under
/// way, even otherwise.
struct Generation(AtomicU64);

impl Generation {
    fn current(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }

    /// Runs `commit` with the generation odd, then moves it on to the next even one whatever
    /// the outcome (a failed commit only costs the cache its entries).
    fn committing<T>(&self, changed: bool, commit: impl FnOnce() -> T) -> T {
        if !changed {
            return commit();
        }
        self.0.fetch_add(1, Ordering::SeqCst);
        let result = commit();
        self.0.fetch_add(1, Ordering::SeqCst);
        result
    }
}

/// A record written with [`Writer::put_surviving_rollback`], kept to be written again if the
/// transaction that wrote it rolls back.
#[derive(Clone)]
pub(crate) struct Surviving {
    kind: &'static str,
    account: String,
    key: String,
    data: Vec<u8>,
}

fn upsert(
    conn: &Connection,
    kind: &str,
    account: &str,
    key: &str,
    data: &[u8],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO records (kind, account, key, data) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (kind, account, key) DO UPDATE SET data = excluded.data",
    )?;
    stmt.execute(params![kind, account, key, data])?;
    Ok(())
}

/// Writes again, in a transaction of their own, the surviving records of a transaction that
/// rolled back. A failure is logged: the call it belongs to is failing already.
fn replay_surviving(w: &WriterConn, generation: &Generation) {
    let pending = std::mem::take(&mut *w.surviving.borrow_mut());
    if pending.is_empty() {
        return;
    }
    let result = (|| -> rusqlite::Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(&w.conn, TransactionBehavior::Immediate)?;
        for s in &pending {
            upsert(&tx, s.kind, &s.account, &s.key, &s.data)?;
        }
        generation.committing(true, || tx.commit())
    })();
    if let Err(e) = result {
        tracing::error!(error = %e, "cannot keep the records a failed call must leave behind");
    }
}

pub(crate) struct Sqlite {
    writer: ReentrantMutex<WriterConn>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    root_key: RootKey,
    signer: Signer,
    generation: Arc<Generation>,
    /// Absent for an in-memory database, whose reads share the writer's connection and so
    /// would see a write scope's uncommitted records.
    cache: Option<RecordCache>,
}

/// The connection a read runs on.
enum ReaderGuard<'a> {
    Pool(MutexGuard<'a, Connection>),
    /// An in-memory database's only connection.
    Writer(ReentrantMutexGuard<'a, WriterConn>),
}

impl ReaderGuard<'_> {
    fn conn(&self) -> &Connection {
        match self {
            ReaderGuard::Pool(c) => c,
            ReaderGuard::Writer(w) => &w.conn,
        }
    }
}

/// A read's connection with its snapshot open, ended (rolled back) when dropped however the
/// read ends. `BEGIN` and `ROLLBACK` are cached statements: `execute_batch`, which rusqlite's
/// `Transaction` uses, parses them again on every read.
struct Snapshot<'a> {
    guard: ReaderGuard<'a>,
    in_transaction: bool,
}

impl<'a> Snapshot<'a> {
    fn begin(guard: ReaderGuard<'a>) -> Result<Snapshot<'a>, rusqlite::Error> {
        let ReaderGuard::Pool(conn) = &guard else {
            return Ok(Snapshot {
                guard,
                in_transaction: false,
            });
        };
        if !conn.is_autocommit() {
            // A previous read could not end its transaction: end it now, or BEGIN fails.
            conn.execute_batch("ROLLBACK")?;
        }
        conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
        let snapshot = Snapshot {
            guard,
            in_transaction: true,
        };
        // A deferred transaction takes its snapshot at its first read: take it now, so that
        // the generation checked next is the one the snapshot holds.
        snapshot
            .guard
            .conn()
            .prepare_cached("SELECT 1 FROM meta LIMIT 1")?
            .query_row([], |_| Ok(()))
            .optional()?;
        Ok(snapshot)
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        if !self.in_transaction {
            return;
        }
        let ended = self
            .guard
            .conn()
            .prepare_cached("ROLLBACK")
            .and_then(|mut s| s.execute([]));
        if let Err(e) = ended {
            tracing::error!(error = %e, "cannot end a read transaction");
        }
    }
}

/// Clears the scope flag however the scope's body ends (an unwinding panic included).
struct ScopeFlag<'a>(&'a Cell<bool>);

impl Drop for ScopeFlag<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL makes every commit durable in WAL mode: an acknowledged write survives kill -9
    // and power loss.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Sqlite {
    pub(crate) fn open(path: &Path, root_key: RootKey) -> Result<Sqlite, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let writer = Connection::open_with_flags(path, flags)?;
        configure(&writer)?;
        migrate(&writer)?;
        check_root_key(&writer, &root_key)?;
        let signer = audit_sqlite::init(&writer, &root_key)?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            r.busy_timeout(std::time::Duration::from_secs(10))?;
            r.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
            readers.push(Mutex::new(r));
        }
        Ok(Sqlite {
            writer: ReentrantMutex::new(WriterConn::new(writer)),
            readers,
            next_reader: AtomicUsize::new(0),
            root_key,
            signer,
            generation: Arc::new(Generation(AtomicU64::new(0))),
            cache: Some(RecordCache::default()),
        })
    }

    pub(crate) fn open_memory(root_key: RootKey) -> Result<Sqlite, StoreError> {
        let writer = Connection::open_in_memory()?;
        migrate(&writer)?;
        check_root_key(&writer, &root_key)?;
        let signer = audit_sqlite::init(&writer, &root_key)?;
        Ok(Sqlite {
            writer: ReentrantMutex::new(WriterConn::new(writer)),
            // An in-memory database is private to its connection, so reads share the writer.
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            root_key,
            signer,
            generation: Arc::new(Generation(AtomicU64::new(0))),
            cache: None,
        })
    }

    pub(crate) fn root_key(&self) -> &RootKey {
        &self.root_key
    }

    pub(crate) fn schema_version(&self) -> Result<i64, StoreError> {
        let w = self.writer.lock();
        Ok(w.conn
            .pragma_query_value(None, "user_version", |r| r.get(0))?)
    }

    pub(crate) fn read<T, E: From<StoreError>>(
        &self,
        f: impl Fn(&ReadTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let generation = self.generation.current();
        let cached_at = (self.cache.is_some() && generation % 2 == 0).then_some(generation);
        let tx = ReadTx::new(self, cached_at);
        let result = f(&tx);
        if !tx.conflict.get() {
            return result;
        }
        // `f` mixed records from memory with a snapshot taken after a commit: run it again on
        // the snapshot alone.
        drop(tx);
        f(&ReadTx::new(self, None))
    }

    #[cfg(test)]
    pub(crate) fn read_uncached<T>(
        &self,
        f: impl Fn(&ReadTx<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&ReadTx::new(self, None))
    }

    /// A reader connection: the first idle one, or the one dealt if all are busy.
    fn reader(&self) -> Result<ReaderGuard<'_>, StoreError> {
        if self.readers.is_empty() {
            return Ok(ReaderGuard::Writer(self.writer.lock()));
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        let n = self.readers.len();
        for i in 0..n {
            if let Some(m) = self.readers.get((start + i) % n) {
                if let Ok(g) = m.try_lock() {
                    return Ok(ReaderGuard::Pool(g));
                }
            }
        }
        match self.readers.get(start % n) {
            Some(m) => Ok(ReaderGuard::Pool(
                m.lock().unwrap_or_else(|p| p.into_inner()),
            )),
            None => Err(StoreError::Io {
                path: String::new(),
                source: std::io::Error::other("no reader connection"),
            }),
        }
    }

    pub(crate) fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let w = self.writer.lock();
        if w.in_scope.get() {
            // This thread's write scope holds a transaction open: join it.
            return self.nested(&w, f);
        }
        w.surviving.borrow_mut().clear();
        w.changed.set(false);
        let tx = rusqlite::Transaction::new_unchecked(&w.conn, TransactionBehavior::Immediate)
            .map_err(|e| E::from(StoreError::from(e)))?;
        let mut wt = WriteTx {
            conn: &tx,
            signer: &self.signer,
            root_key: &self.root_key,
            surviving: &w.surviving,
            changed: &w.changed,
            audit_buffers: &w.audit_buffers,
        };
        let outcome = f(&mut wt).and_then(|value| {
            self.generation
                .committing(w.changed.get(), || tx.commit())
                .map(|()| value)
                .map_err(|e| E::from(StoreError::from(e)))
        });
        match outcome {
            Ok(value) => {
                w.surviving.borrow_mut().clear();
                Ok(value)
            }
            Err(e) => {
                // The transaction rolled back (dropped uncommitted): keep what must survive.
                replay_surviving(&w, &self.generation);
                Err(e)
            }
        }
    }

    /// A write inside an open scope: a savepoint, undone alone if `f` fails.
    fn nested<T, E: From<StoreError>>(
        &self,
        w: &WriterConn,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        let conn = &w.conn;
        let sql = |s: &str| {
            conn.execute_batch(s)
                .map_err(|e| E::from(StoreError::from(e)))
        };
        sql("SAVEPOINT moat_nested")?;
        let mark = w.surviving.borrow().len();
        let mut wt = WriteTx {
            conn,
            signer: &self.signer,
            root_key: &self.root_key,
            surviving: &w.surviving,
            changed: &w.changed,
            audit_buffers: &w.audit_buffers,
        };
        match f(&mut wt) {
            Ok(value) => {
                sql("RELEASE moat_nested")?;
                Ok(value)
            }
            Err(e) => {
                if let Err(undo) =
                    conn.execute_batch("ROLLBACK TO moat_nested; RELEASE moat_nested")
                {
                    tracing::error!(error = %undo, "cannot undo a failed nested write");
                }
                // What must survive this write's failure goes back into the enclosing
                // transaction, which may still commit (and otherwise replays it).
                let again: Vec<Surviving> =
                    w.surviving.borrow().iter().skip(mark).cloned().collect();
                for s in &again {
                    if let Err(redo) = upsert(conn, s.kind, &s.account, &s.key, &s.data) {
                        tracing::error!(error = %redo, "cannot keep a record past a failed write");
                    }
                }
                Err(e)
            }
        }
    }

    pub(crate) fn write_scope<T, E>(
        &self,
        body: impl FnOnce() -> Result<T, E>,
        finish: impl FnOnce(&mut WriteTx<'_>, &T) -> Result<(), StoreError>,
    ) -> Result<Result<T, E>, StoreError> {
        let w = self.writer.lock();
        if w.in_scope.get() {
            return Err(StoreError::NestedScope);
        }
        w.surviving.borrow_mut().clear();
        w.changed.set(false);
        let tx = rusqlite::Transaction::new_unchecked(&w.conn, TransactionBehavior::Immediate)?;
        w.in_scope.set(true);
        let flag = ScopeFlag(&w.in_scope);
        let outcome = body();
        drop(flag);
        match outcome {
            Ok(value) => {
                let mut wt = WriteTx {
                    conn: &tx,
                    signer: &self.signer,
                    root_key: &self.root_key,
                    surviving: &w.surviving,
                    changed: &w.changed,
                    audit_buffers: &w.audit_buffers,
                };
                // On error the transaction is dropped, which rolls back the body's writes too.
                let committed = finish(&mut wt, &value).and_then(|()| {
                    Ok(self
                        .generation
                        .committing(w.changed.get(), || tx.commit())?)
                });
                match committed {
                    Ok(()) => {
                        w.surviving.borrow_mut().clear();
                        Ok(Ok(value))
                    }
                    Err(e) => {
                        replay_surviving(&w, &self.generation);
                        Err(e)
                    }
                }
            }
            // Dropping the transaction rolls the body's writes back, but not what must survive.
            Err(e) => {
                drop(tx);
                replay_surviving(&w, &self.generation);
                Ok(Err(e))
            }
        }
    }

    pub(crate) fn audit_checkpoint(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        self.write(|tx| audit_sqlite::checkpoint(tx.conn, &self.signer, now_ms))
    }

    pub(crate) fn audit_lookup(&self, query: &LookupQuery) -> Result<LookupPage, StoreError> {
        self.read(|tx| tx.with_conn(|conn| audit_sqlite::lookup(conn, query)))
    }

    pub(crate) fn audit_length(&self) -> Result<u64, StoreError> {
        self.read(|tx| tx.with_conn(audit_sqlite::length))
    }
}

fn check_root_key(conn: &Connection, root_key: &RootKey) -> Result<(), StoreError> {
    let existing: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![ROOT_KEY_CHECK],
            |row| row.get(0),
        )
        .optional()?;
    match existing {
        Some(sealed) => match root_key.open(ROOT_KEY_CHECK, &sealed) {
            Ok(p) if p.as_slice() == ROOT_KEY_CHECK_PLAINTEXT => Ok(()),
            _ => Err(StoreError::WrongRootKey),
        },
        None => {
            let sealed = root_key.seal(ROOT_KEY_CHECK, ROOT_KEY_CHECK_PLAINTEXT)?;
            conn.execute(
                "INSERT INTO meta (name, value) VALUES (?1, ?2)",
                params![ROOT_KEY_CHECK, sealed],
            )?;
            Ok(())
        }
    }
}

fn migrate(conn: &Connection) -> Result<(), StoreError> {
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
    if current > supported {
        return Err(StoreError::NewerSchema {
            found: current,
            supported,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(current).unwrap_or(0))
    {
        let version = i64::try_from(i + 1).unwrap_or(i64::MAX);
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {version}; COMMIT;"
        ))?;
        tracing::info!(version, "applied storage migration");
    }
    Ok(())
}

fn decode<R: Record>(key: &str, data: &[u8]) -> Result<R, StoreError> {
    serde_json::from_slice(data).map_err(|e| StoreError::Corrupt {
        kind: R::KIND.to_owned(),
        key: key.to_owned(),
        detail: e.to_string(),
    })
}

/// A read-only snapshot. Its connection is taken, and its snapshot pinned, on its first
/// statement: a read answered from memory alone touches neither.
pub struct ReadTx<'a> {
    db: &'a Sqlite,
    snapshot: RefCell<Option<Snapshot<'a>>>,
    /// The generation memory is consulted and filled at; `None` once the read may not use it.
    cached_at: Cell<Option<u64>>,
    used_cache: Cell<bool>,
    /// Memory answered part of the read, then the snapshot turned out newer.
    conflict: Cell<bool>,
}

impl<'a> ReadTx<'a> {
    fn new(db: &'a Sqlite, cached_at: Option<u64>) -> ReadTx<'a> {
        ReadTx {
            db,
            snapshot: RefCell::new(None),
            cached_at: Cell::new(cached_at),
            used_cache: Cell::new(false),
            conflict: Cell::new(false),
        }
    }

    /// Runs `f` on the read's connection, opening its snapshot first if need be.
    pub(crate) fn with_conn<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let opened = self.snapshot.try_borrow().is_ok_and(|s| s.is_some());
        if !opened {
            let snapshot = Snapshot::begin(self.db.reader()?)?;
            *self.snapshot.try_borrow_mut().map_err(busy)? = Some(snapshot);
            if let Some(generation) = self.cached_at.get() {
                if self.db.generation.current() != generation {
                    // The snapshot may hold a later generation than memory: keep the rest of
                    // the read on the snapshot.
                    self.cached_at.set(None);
                    if self.used_cache.get() {
                        self.conflict.set(true);
                    }
                }
            }
        }
        let snapshot = self.snapshot.try_borrow().map_err(busy)?;
        match snapshot.as_ref() {
            Some(s) => f(s.guard.conn()),
            None => Err(busy(())),
        }
    }

    /// A scan answered chunk by chunk from memory, reading the chunks memory lacks; `None` if a
    /// kept record is of another type than `R`.
    fn scan_chunks<R: Record>(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: &mut dyn FnMut(&str, &R) -> bool,
    ) -> Result<Option<Vec<(String, R)>>, StoreError> {
        let mut out = Vec::new();
        if limit == 0 {
            return Ok(Some(out));
        }
        let mut position = after.map(str::to_owned);
        loop {
            let k = cache::chunk_key(R::KIND, account, prefix, position.as_deref());
            // Memory is asked again for every chunk: taking the snapshot may end its use.
            let cached = self.cache().and_then(|(cache, g)| cache.chunk(g, &k));
            let chunk = match cached {
                Some(chunk) => {
                    self.used_cache.set(true);
                    chunk
                }
                None => {
                    let mut all = |_: &str, _: &R| true;
                    let rows: Vec<(String, R)> = self.with_conn(|c| {
                        scan(c, account, prefix, position.as_deref(), CHUNK, &mut all)
                    })?;
                    let chunk = Arc::new(Chunk {
                        last: rows.len() < CHUNK,
                        rows: rows
                            .into_iter()
                            .map(|(key, r)| (key, Arc::new(r) as Shared))
                            .collect(),
                    });
                    if let Some((cache, generation)) = self.cache() {
                        cache.put_chunk(generation, k, chunk.clone());
                    }
                    chunk
                }
            };
            for (key, shared) in &chunk.rows {
                let Some(record) = shared.downcast_ref::<R>() else {
                    return Ok(None);
                };
                if keep(key, record) {
                    out.push((key.clone(), record.clone()));
                    if out.len() >= limit {
                        return Ok(Some(out));
                    }
                }
            }
            match chunk.rows.last() {
                Some((key, _)) if !chunk.last => position = Some(key.clone()),
                _ => return Ok(Some(out)),
            }
        }
    }

    fn cache(&self) -> Option<(&'a RecordCache, u64)> {
        Some((self.db.cache.as_ref()?, self.cached_at.get()?))
    }
}

fn busy<E>(_: E) -> StoreError {
    StoreError::Io {
        path: String::new(),
        source: std::io::Error::other("a read's connection is in use by the same read"),
    }
}

/// An open write transaction.
pub struct WriteTx<'a> {
    conn: &'a Connection,
    signer: &'a Signer,
    root_key: &'a RootKey,
    surviving: &'a RefCell<Vec<Surviving>>,
    changed: &'a Cell<bool>,
    audit_buffers: &'a RefCell<AuditBuffers>,
}

impl WriteTx<'_> {
    #[cfg(test)]
    pub(crate) fn conn(&self) -> &Connection {
        self.conn
    }

    #[cfg(test)]
    pub(crate) fn signer(&self) -> &Signer {
        self.signer
    }

    /// Appends events to the audit trail in this transaction: they commit, or roll back, with
    /// everything else it holds. Returns the trail's new length.
    pub fn append_audit(&mut self, events: &[AuditEvent]) -> Result<u64, StoreError> {
        audit_sqlite::append(
            self.conn,
            self.signer,
            &mut self.audit_buffers.borrow_mut(),
            events,
        )
    }
}

fn get<R: Record>(conn: &Connection, account: &str, key: &str) -> Result<Option<R>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT data FROM records WHERE kind = ?1 AND account = ?2 AND key = ?3")?;
    let data: Option<Vec<u8>> = stmt
        .query_row(params![R::KIND, account, key], |row| row.get(0))
        .optional()?;
    data.map(|d| decode(key, &d)).transpose()
}

fn scan<R: Record>(
    conn: &Connection,
    account: &str,
    prefix: &str,
    after: Option<&str>,
    limit: usize,
    keep: &mut dyn FnMut(&str, &R) -> bool,
) -> Result<Vec<(String, R)>, StoreError> {
    let mut out = Vec::new();
    if limit == 0 {
        return Ok(out);
    }
    let start = match after {
        Some(a) if a >= prefix => a.to_owned(),
        _ => String::new(),
    };
    let mut stmt = conn.prepare_cached(
        "SELECT key, data FROM records WHERE kind = ?1 AND account = ?2 AND key >= ?3 \
         AND key > ?4 ORDER BY key",
    )?;
    let mut rows = stmt.query(params![R::KIND, account, prefix, start])?;
    while let Some(row) = rows.next()? {
        let key: String = row.get(0)?;
        if !key.starts_with(prefix) {
            break;
        }
        let data: Vec<u8> = row.get(1)?;
        let record: R = decode(&key, &data)?;
        if keep(&key, &record) {
            out.push((key, record));
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}

fn count(conn: &Connection, kind: &str, account: &str, prefix: &str) -> Result<u64, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT count(*) FROM records WHERE kind = ?1 AND account = ?2 AND substr(key, 1, ?4) = ?3",
    )?;
    let n: i64 = stmt.query_row(
        params![
            kind,
            account,
            prefix,
            i64::try_from(prefix.len()).unwrap_or(0)
        ],
        |r| r.get(0),
    )?;
    Ok(u64::try_from(n).unwrap_or(0))
}

impl Reader for ReadTx<'_> {
    fn get<R: Record>(&self, account: &str, key: &str) -> Result<Option<R>, StoreError> {
        let Some((cache, generation)) = self.cache() else {
            return self.with_conn(|c| get(c, account, key));
        };
        let k = cache::key(R::KIND, account, key);
        match cache.record::<R>(generation, &k) {
            Lookup::Present(r) => {
                self.used_cache.set(true);
                return Ok(Some(r));
            }
            Lookup::Absent => {
                self.used_cache.set(true);
                return Ok(None);
            }
            Lookup::Unknown => {}
        }
        let found: Option<R> = self.with_conn(|c| get(c, account, key))?;
        if let Some((cache, generation)) = self.cache() {
            let shared = found.clone().map(|r| Arc::new(r) as Shared);
            cache.put_record(generation, k, shared);
        }
        Ok(found)
    }
    fn scan<R: Record>(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: &mut dyn FnMut(&str, &R) -> bool,
    ) -> Result<Vec<(String, R)>, StoreError> {
        if self.cache().is_none() {
            return self.with_conn(|c| scan(c, account, prefix, after, limit, keep));
        }
        if let Some(found) = self.scan_chunks(account, prefix, after, limit, keep)? {
            return Ok(found);
        }
        self.with_conn(|c| scan(c, account, prefix, after, limit, keep))
    }
    fn count(&self, kind: &str, account: &str, prefix: &str) -> Result<u64, StoreError> {
        let Some((cache, generation)) = self.cache() else {
            return self.with_conn(|c| count(c, kind, account, prefix));
        };
        let k = cache::key(kind, account, prefix);
        if let Some(n) = cache.count(generation, &k) {
            self.used_cache.set(true);
            return Ok(n);
        }
        let n = self.with_conn(|c| count(c, kind, account, prefix))?;
        if let Some((cache, generation)) = self.cache() {
            cache.put_count(generation, k, n);
        }
        Ok(n)
    }
}

impl Reader for WriteTx<'_> {
    fn get<R: Record>(&self, account: &str, key: &str) -> Result<Option<R>, StoreError> {
        get(self.conn, account, key)
    }
    fn scan<R: Record>(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: &mut dyn FnMut(&str, &R) -> bool,
    ) -> Result<Vec<(String, R)>, StoreError> {
        scan(self.conn, account, prefix, after, limit, keep)
    }
    fn count(&self, kind: &str, account: &str, prefix: &str) -> Result<u64, StoreError> {
        count(self.conn, kind, account, prefix)
    }
}

impl Writer for WriteTx<'_> {
    fn put<R: Record>(&mut self, account: &str, key: &str, record: &R) -> Result<(), StoreError> {
        let data = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            kind: R::KIND.to_owned(),
            key: key.to_owned(),
            detail: e.to_string(),
        })?;
        upsert(self.conn, R::KIND, account, key, &data)?;
        self.changed.set(true);
        Ok(())
    }

    fn put_surviving_rollback<R: Record>(
        &mut self,
        account: &str,
        key: &str,
        record: &R,
    ) -> Result<(), StoreError> {
        self.put(account, key, record)?;
        let data = serde_json::to_vec(record).map_err(|e| StoreError::Corrupt {
            kind: R::KIND.to_owned(),
            key: key.to_owned(),
            detail: e.to_string(),
        })?;
        let mut pending = self.surviving.borrow_mut();
        pending.retain(|s| !(s.kind == R::KIND && s.account == account && s.key == key));
        pending.push(Surviving {
            kind: R::KIND,
            account: account.to_owned(),
            key: key.to_owned(),
            data,
        });
        Ok(())
    }

    fn root_key(&self) -> &RootKey {
        self.root_key
    }

    fn delete<R: Record>(&mut self, account: &str, key: &str) -> Result<bool, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("DELETE FROM records WHERE kind = ?1 AND account = ?2 AND key = ?3")?;
        let removed = stmt.execute(params![R::KIND, account, key])? > 0;
        self.changed.set(self.changed.get() || removed);
        Ok(removed)
    }

    fn delete_prefix(
        &mut self,
        kind: &str,
        account: &str,
        prefix: &str,
    ) -> Result<u64, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "DELETE FROM records WHERE kind = ?1 AND account = ?2 AND substr(key, 1, ?4) = ?3",
        )?;
        let n = stmt.execute(params![
            kind,
            account,
            prefix,
            i64::try_from(prefix.len()).unwrap_or(0)
        ])?;
        self.changed.set(self.changed.get() || n > 0);
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Thing {
        n: u32,
    }
    impl Record for Thing {
        const KIND: &'static str = "thing";
    }

    fn key() -> RootKey {
        RootKey::from_bytes(&[1u8; 32]).unwrap()
    }

    #[derive(Debug)]
    struct Refused;
    impl From<StoreError> for Refused {
        fn from(_: StoreError) -> Self {
            Refused
        }
    }

    fn thing(store: &Store, k: &str) -> Option<u32> {
        store
            .read(|tx| tx.get::<Thing>("111111111111", k))
            .unwrap()
            .map(|t| t.n)
    }

    #[test]
    fn surviving_writes_outlive_a_rollback_and_others_do_not() {
        let store = Store::open_in_memory(key()).unwrap();
        assert_eq!(store.root_key().seal("p", b"x").map(|_| ()).ok(), Some(()));
        // A failed write: the plain record rolls back, the surviving one stays (last value).
        let r = store.write(|tx| {
            assert!(tx.root_key().seal("p", b"x").is_ok());
            tx.put("111111111111", "plain", &Thing { n: 1 })?;
            tx.put_surviving_rollback("111111111111", "kept", &Thing { n: 1 })?;
            tx.put_surviving_rollback("111111111111", "kept", &Thing { n: 2 })?;
            Err::<(), _>(Refused)
        });
        assert!(r.is_err());
        assert_eq!(thing(&store, "plain"), None);
        assert_eq!(thing(&store, "kept"), Some(2));

        // A committed write keeps both, and a later failure does not replay old records.
        store
            .write(|tx| {
                tx.put("111111111111", "plain", &Thing { n: 3 })?;
                tx.put_surviving_rollback("111111111111", "kept", &Thing { n: 3 })?;
                Ok::<_, Refused>(())
            })
            .unwrap();
        let _ = store.write(|tx| {
            tx.put("111111111111", "kept", &Thing { n: 9 })?;
            Err::<(), _>(Refused)
        });
        assert_eq!(thing(&store, "plain"), Some(3));
        assert_eq!(thing(&store, "kept"), Some(3));

        // Inside a write scope whose body fails: the nested write's surviving record stays,
        // everything else of the scope rolls back.
        let outcome = store
            .write_scope(
                || {
                    store.write(|tx| {
                        tx.put("111111111111", "scoped", &Thing { n: 4 })?;
                        Ok::<_, Refused>(())
                    })?;
                    store.write(|tx| {
                        tx.put_surviving_rollback("111111111111", "kept", &Thing { n: 5 })?;
                        Err::<(), _>(Refused)
                    })
                },
                |_, _| Ok(()),
            )
            .unwrap();
        assert!(outcome.is_err());
        assert_eq!(thing(&store, "scoped"), None);
        assert_eq!(thing(&store, "kept"), Some(5));
    }

    #[test]
    fn put_get_scan_delete() {
        let store = Store::open_in_memory(key()).unwrap();
        store
            .write(|tx| {
                for (k, n) in [("a/1", 1), ("a/2", 2), ("a/3", 3), ("b/1", 4)] {
                    tx.put("111111111111", k, &Thing { n })?;
                }
                Ok::<_, StoreError>(())
            })
            .unwrap();
        store
            .read(|tx| {
                assert_eq!(
                    tx.get::<Thing>("111111111111", "a/2")?,
                    Some(Thing { n: 2 })
                );
                assert_eq!(tx.get::<Thing>("222222222222", "a/2")?, None);
                let page =
                    tx.scan::<Thing>("111111111111", "a/", Some("a/1"), 10, &mut |_, _| true)?;
                assert_eq!(page.len(), 2);
                assert_eq!(page[0].0, "a/2");
                let odd =
                    tx.scan::<Thing>("111111111111", "", None, 10, &mut |_, t| t.n % 2 == 1)?;
                assert_eq!(odd.len(), 2);
                assert_eq!(tx.count("thing", "111111111111", "a/")?, 3);
                Ok::<_, StoreError>(())
            })
            .unwrap();
    }

    #[test]
    fn reads_see_committed_writes_and_end_their_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        for n in 0..20 {
            store.write(|tx| tx.put("1", "k", &Thing { n })).unwrap();
            // Each read starts a fresh snapshot on a reader connection.
            assert_eq!(
                store.read(|tx| tx.get::<Thing>("1", "k")).unwrap(),
                Some(Thing { n })
            );
        }
        // A failing read ends its transaction too.
        let r: Result<(), StoreError> = store.read(|_| Err(StoreError::WrongRootKey));
        assert!(r.is_err());
        for _ in 0..8 {
            assert!(store
                .read(|tx| tx.get::<Thing>("1", "k"))
                .unwrap()
                .is_some());
        }
    }

    #[test]
    fn failed_write_rolls_back() {
        let store = Store::open_in_memory(key()).unwrap();
        let r: Result<(), StoreError> = store.write(|tx| {
            tx.put("1", "k", &Thing { n: 1 })?;
            Err(StoreError::WrongRootKey)
        });
        assert!(r.is_err());
        let got = store.read(|tx| tx.get::<Thing>("1", "k")).unwrap();
        assert_eq!(got, None);
    }

    #[test]
    fn reopen_with_other_root_key_fails_and_newer_schema_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open_sqlite(dir.path(), key()).unwrap();
            store.write(|tx| tx.put("1", "k", &Thing { n: 9 })).unwrap();
        }
        let other = RootKey::from_bytes(&[2u8; 32]).unwrap();
        assert!(matches!(
            Store::open_sqlite(dir.path(), other),
            Err(StoreError::WrongRootKey)
        ));
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        assert_eq!(
            store.read(|tx| tx.get::<Thing>("1", "k")).unwrap(),
            Some(Thing { n: 9 })
        );
        drop(store);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        assert!(matches!(
            Store::open_sqlite(dir.path(), key()),
            Err(StoreError::NewerSchema { found: 99, .. })
        ));
    }

    fn file_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        (dir, store)
    }

    fn put(store: &Store, k: &str, n: u32) {
        store.write(|tx| tx.put("1", k, &Thing { n })).unwrap();
    }

    fn get(store: &Store, k: &str) -> Option<u32> {
        store
            .read(|tx| tx.get::<Thing>("1", k))
            .unwrap()
            .map(|t| t.n)
    }

    fn listed(
        store: &Store,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Vec<(String, u32)> {
        store
            .read(|tx| tx.scan::<Thing>("1", prefix, after, limit, &mut |_, t| t.n != 99))
            .unwrap()
            .into_iter()
            .map(|(k, t)| (k, t.n))
            .collect()
    }

    #[test]
    fn reads_from_memory_see_every_committed_change() {
        let (_dir, store) = file_store();
        assert_eq!(get(&store, "a"), None);
        put(&store, "a", 1);
        assert_eq!(get(&store, "a"), Some(1));
        assert_eq!(get(&store, "a"), Some(1));
        put(&store, "a", 2);
        assert_eq!(get(&store, "a"), Some(2));
        store
            .write(|tx| tx.delete::<Thing>("1", "a").map(|_| ()))
            .unwrap();
        assert_eq!(get(&store, "a"), None);

        for (k, n) in [("p/1", 1), ("p/2", 2), ("p/3", 99), ("p/4", 4), ("q/1", 5)] {
            put(&store, k, n);
        }
        let all = vec![
            ("p/1".to_owned(), 1),
            ("p/2".to_owned(), 2),
            ("p/4".to_owned(), 4),
        ];
        assert_eq!(listed(&store, "p/", None, 10), all);
        // Served from memory the second time, with the same paging as the database.
        assert_eq!(listed(&store, "p/", None, 10), all);
        assert_eq!(
            listed(&store, "p/", Some("p/1"), 1),
            vec![("p/2".to_owned(), 2)]
        );
        assert_eq!(
            listed(&store, "p/", Some("p/2"), 10),
            vec![("p/4".to_owned(), 4)]
        );
        assert_eq!(
            listed(&store, "p/", Some("a"), 1),
            vec![("p/1".to_owned(), 1)]
        );
        assert_eq!(listed(&store, "p/", Some("z"), 10), vec![]);
        assert_eq!(listed(&store, "p/", None, 0), vec![]);
        let count = |store: &Store| store.read(|tx| tx.count("thing", "1", "p/")).unwrap();
        assert_eq!(count(&store), 4);
        assert_eq!(count(&store), 4);
        store
            .write(|tx| tx.delete_prefix("thing", "1", "p/").map(|_| ()))
            .unwrap();
        assert_eq!(listed(&store, "p/", None, 10), vec![]);
        assert_eq!(count(&store), 0);
        assert_eq!(get(&store, "q/1"), Some(5));
    }

    #[test]
    fn scans_over_many_chunks_match_the_database() {
        let (_dir, store) = file_store();
        let n = u32::try_from(CHUNK * 2 + 3).unwrap();
        store
            .write(|tx| {
                for i in 0..n {
                    tx.put("1", &format!("big/{i:05}"), &Thing { n: i })?;
                }
                tx.put("1", "bigger", &Thing { n: 0 })?;
                Ok::<_, StoreError>(())
            })
            .unwrap();
        let direct = |after: Option<&str>, limit: usize, every: u32| {
            store
                .inner
                .read_uncached(|tx| {
                    tx.with_conn(|c| {
                        scan::<Thing>(c, "1", "big/", after, limit, &mut |_, t| t.n % every == 0)
                    })
                })
                .unwrap()
        };
        let cases = [
            (None, usize::MAX, 1),
            (None, 5, 1),
            (Some("big/00100"), 100, 1),
            (Some("big/00127"), 3, 1),
            (Some("big/00128"), usize::MAX, 7),
            (None, 10, 50),
            (Some("a"), 2, 1),
            (Some("big/99999"), 10, 1),
        ];
        // Twice: once filling memory, once answered from it.
        for _ in 0..2 {
            for (after, limit, every) in cases {
                let got = store
                    .read(|tx| {
                        tx.scan::<Thing>("1", "big/", after, limit, &mut |_, t| t.n % every == 0)
                    })
                    .unwrap();
                assert_eq!(
                    got,
                    direct(after, limit, every),
                    "after {after:?} limit {limit}"
                );
            }
        }
    }

    #[test]
    fn audit_appends_leave_memory_in_place_and_record_writes_do_not() {
        let (_dir, store) = file_store();
        put(&store, "a", 1);
        let before = store.inner.generation.current();
        store.append_audit(&[]).unwrap();
        store
            .write(|tx| tx.get::<Thing>("1", "a").map(|_| ()))
            .unwrap();
        assert_eq!(store.inner.generation.current(), before);
        put(&store, "a", 2);
        let after = store.inner.generation.current();
        assert_eq!(after, before + 2);
        assert_eq!(after % 2, 0);
    }

    #[test]
    fn a_read_that_mixed_memory_with_a_later_snapshot_runs_again() {
        let (_dir, store) = file_store();
        put(&store, "a", 1);
        put(&store, "b", 1);
        assert_eq!(get(&store, "a"), Some(1));
        let runs = std::sync::atomic::AtomicUsize::new(0);
        let (a, b) = store
            .read(|tx| {
                let run = runs.fetch_add(1, Ordering::SeqCst);
                let a = tx.get::<Thing>("1", "a")?.map(|t| t.n);
                if run == 0 {
                    // A write commits between this read's memory lookup and its first
                    // statement.
                    let other = store.clone();
                    std::thread::spawn(move || {
                        other
                            .write(|tx| {
                                tx.put("1", "a", &Thing { n: 2 })?;
                                tx.put("1", "b", &Thing { n: 2 })
                            })
                            .unwrap()
                    })
                    .join()
                    .unwrap();
                }
                let b = tx.get::<Thing>("1", "b")?.map(|t| t.n);
                Ok::<_, StoreError>((a, b))
            })
            .unwrap();
        assert_eq!(
            (a, b),
            (Some(2), Some(2)),
            "never one record before the write and one after"
        );
        assert_eq!(runs.load(Ordering::SeqCst), 2);
    }
}
