//! The embedded SQLite backend: one writer connection, a few reader connections, WAL.
//!
//! The writer connection sits behind a reentrant lock so that a write scope (see
//! [`Sqlite::write_scope`]) can hold one transaction open while the code it runs makes its own
//! `write` calls on the same thread: those join the open transaction as savepoints instead of
//! committing, and the scope then appends to the audit trail and commits once.

use std::cell::{Cell, RefCell};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use parking_lot::ReentrantMutex;
use rusqlite::{params, Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::audit::{AuditEvent, LookupPage, LookupQuery, Signer};
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
fn replay_surviving(w: &WriterConn) {
    let pending = std::mem::take(&mut *w.surviving.borrow_mut());
    if pending.is_empty() {
        return;
    }
    let result = (|| -> rusqlite::Result<()> {
        let tx = rusqlite::Transaction::new_unchecked(&w.conn, TransactionBehavior::Immediate)?;
        for s in &pending {
            upsert(&tx, s.kind, &s.account, &s.key, &s.data)?;
        }
        tx.commit()
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
}

/// A read transaction on a reader connection, ended (rolled back) when dropped however the read
/// ends. Its `BEGIN` and `ROLLBACK` are cached statements: `execute_batch`, which rusqlite's
/// `Transaction` uses, parses them again on every read.
struct Snapshot<'a>(&'a Connection);

impl<'a> Snapshot<'a> {
    fn begin(conn: &'a Connection) -> Result<Snapshot<'a>, rusqlite::Error> {
        if !conn.is_autocommit() {
            // A previous read could not end its transaction: end it now, or BEGIN fails.
            conn.execute_batch("ROLLBACK")?;
        }
        conn.prepare_cached("BEGIN DEFERRED")?.execute([])?;
        Ok(Snapshot(conn))
    }
}

impl Drop for Snapshot<'_> {
    fn drop(&mut self) {
        let ended = self
            .0
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
            writer: ReentrantMutex::new(WriterConn {
                conn: writer,
                in_scope: Cell::new(false),
                surviving: RefCell::new(Vec::new()),
            }),
            readers,
            next_reader: AtomicUsize::new(0),
            root_key,
            signer,
        })
    }

    pub(crate) fn open_memory(root_key: RootKey) -> Result<Sqlite, StoreError> {
        let writer = Connection::open_in_memory()?;
        migrate(&writer)?;
        check_root_key(&writer, &root_key)?;
        let signer = audit_sqlite::init(&writer, &root_key)?;
        Ok(Sqlite {
            writer: ReentrantMutex::new(WriterConn {
                conn: writer,
                in_scope: Cell::new(false),
                surviving: RefCell::new(Vec::new()),
            }),
            // An in-memory database is private to its connection, so reads share the writer.
            readers: Vec::new(),
            next_reader: AtomicUsize::new(0),
            root_key,
            signer,
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
        f: impl FnOnce(&ReadTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        if self.readers.is_empty() {
            let w = self.writer.lock();
            return f(&ReadTx { conn: &w.conn });
        }
        let start = self.next_reader.fetch_add(1, Ordering::Relaxed);
        // Take the first idle reader; if all are busy, wait on the one we were dealt.
        let n = self.readers.len();
        let mut guard = None;
        for i in 0..n {
            if let Some(m) = self.readers.get((start + i) % n) {
                if let Ok(g) = m.try_lock() {
                    guard = Some(g);
                    break;
                }
            }
        }
        let guard = match guard {
            Some(g) => g,
            None => match self.readers.get(start % n) {
                Some(m) => m.lock().unwrap_or_else(|p| p.into_inner()),
                None => {
                    return Err(StoreError::Io {
                        path: String::new(),
                        source: std::io::Error::other("no reader connection"),
                    }
                    .into())
                }
            },
        };
        let snapshot = Snapshot::begin(&guard).map_err(|e| E::from(StoreError::from(e)))?;
        let result = f(&ReadTx { conn: &guard });
        // A read transaction has nothing to commit; ending it releases the snapshot.
        drop(snapshot);
        result
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
        let tx = rusqlite::Transaction::new_unchecked(&w.conn, TransactionBehavior::Immediate)
            .map_err(|e| E::from(StoreError::from(e)))?;
        let mut wt = WriteTx {
            conn: &tx,
            signer: &self.signer,
            root_key: &self.root_key,
            surviving: &w.surviving,
        };
        let outcome = f(&mut wt).and_then(|value| {
            tx.commit()
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
                replay_surviving(&w);
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
                };
                // On error the transaction is dropped, which rolls back the body's writes too.
                let committed = finish(&mut wt, &value).and_then(|()| Ok(tx.commit()?));
                match committed {
                    Ok(()) => {
                        w.surviving.borrow_mut().clear();
                        Ok(Ok(value))
                    }
                    Err(e) => {
                        replay_surviving(&w);
                        Err(e)
                    }
                }
            }
            // Dropping the transaction rolls the body's writes back, but not what must survive.
            Err(e) => {
                drop(tx);
                replay_surviving(&w);
                Ok(Err(e))
            }
        }
    }

    pub(crate) fn audit_checkpoint(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        self.write(|tx| audit_sqlite::checkpoint(tx.conn, &self.signer, now_ms))
    }

    pub(crate) fn audit_lookup(&self, query: &LookupQuery) -> Result<LookupPage, StoreError> {
        self.read(|tx| audit_sqlite::lookup(tx.conn, query))
    }

    pub(crate) fn audit_length(&self) -> Result<u64, StoreError> {
        self.read(|tx| audit_sqlite::length(tx.conn))
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

/// A read-only snapshot.
pub struct ReadTx<'a> {
    conn: &'a Connection,
}

/// An open write transaction.
pub struct WriteTx<'a> {
    conn: &'a Connection,
    signer: &'a Signer,
    root_key: &'a RootKey,
    surviving: &'a RefCell<Vec<Surviving>>,
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
        audit_sqlite::append(self.conn, self.signer, events)
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
        Ok(stmt.execute(params![R::KIND, account, key])? > 0)
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
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Store;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
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
}
