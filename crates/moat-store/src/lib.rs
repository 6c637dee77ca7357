//! Moat's storage interface and its embedded SQLite backend.
//!
//! State is a set of typed records, each addressed by (kind, account, key) and stored as
//! JSON. Services keep their own secondary records (indexes) in the same transaction, so the
//! interface stays small enough to implement again over PostgreSQL without touching services.
//! Every operation is one transaction: `read` runs on a snapshot, `write` commits or rolls
//! back as a whole, and a committed write is on disk (WAL, `synchronous=FULL`) before it is
//! acknowledged.
//!
//! The audit trail (`audit`) lives in the same database: a mutating call's event is appended in
//! the call's own transaction through [`Store::write_scope`], and batches of other events
//! through [`Store::append_audit`]; each append is stored as one compressed block.

pub mod audit;
mod audit_sqlite;
mod cache;
pub mod secrets;
mod sqlite;

use std::path::Path;

pub use audit::{AuditEvent, AuditResource, LookupFilter, LookupPage, LookupQuery, VerifyError};
pub use secrets::{RootKey, SecretError};
pub use sqlite::{ReadTx, WriteTx};

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The account id used for records that belong to no account (global indexes).
pub const GLOBAL: &str = "";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot open data directory `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("stored record {kind}/{key} is unreadable: {detail}")]
    Corrupt {
        kind: String,
        key: String,
        detail: String,
    },
    #[error(
        "the database was written by a newer moat (schema {found}, this binary knows up to \
         {supported}); upgrade moat"
    )]
    NewerSchema { found: i64, supported: i64 },
    #[error("the root key does not match this data directory (it was sealed under another key)")]
    WrongRootKey,
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error("a write scope cannot open inside another on the same thread")]
    NestedScope,
}

/// A record type: its kind names the collection it lives in. Records are cloneable and
/// shareable because reads may be answered from memory (see `cache`).
pub trait Record: Serialize + DeserializeOwned + Clone + Send + Sync + 'static {
    const KIND: &'static str;
}

/// Read access shared by read and write transactions.
pub trait Reader {
    fn get<R: Record>(&self, account: &str, key: &str) -> Result<Option<R>, StoreError>;

    /// Records of one kind in key order whose key starts with `prefix` and sorts after
    /// `after`, for which `keep` holds; at most `limit` of them.
    fn scan<R: Record>(
        &self,
        account: &str,
        prefix: &str,
        after: Option<&str>,
        limit: usize,
        keep: &mut dyn FnMut(&str, &R) -> bool,
    ) -> Result<Vec<(String, R)>, StoreError>;

    fn count(&self, kind: &str, account: &str, prefix: &str) -> Result<u64, StoreError>;

    fn exists<R: Record>(&self, account: &str, key: &str) -> Result<bool, StoreError> {
        Ok(self.get::<R>(account, key)?.is_some())
    }

    /// Every record of a kind under a prefix (for small collections).
    fn all<R: Record>(&self, account: &str, prefix: &str) -> Result<Vec<(String, R)>, StoreError> {
        self.scan(account, prefix, None, usize::MAX, &mut |_, _| true)
    }
}

/// Write access; changes become visible and durable only when the transaction commits.
pub trait Writer: Reader {
    fn put<R: Record>(&mut self, account: &str, key: &str, record: &R) -> Result<(), StoreError>;
    /// Returns whether a record was removed.
    fn delete<R: Record>(&mut self, account: &str, key: &str) -> Result<bool, StoreError>;
    /// Removes every record of a kind under a prefix; returns how many.
    fn delete_prefix(&mut self, kind: &str, account: &str, prefix: &str)
        -> Result<u64, StoreError>;
    /// Writes a record that outlives the rollback of the transaction writing it: security
    /// state a refused call must leave behind (failed one-time codes, lockouts, codes already
    /// used), since a refusal is an error and an error rolls the call's transaction back. If
    /// the transaction commits, the record commits with it; if it rolls back, the record (as
    /// last written here) is written again on its own right after.
    fn put_surviving_rollback<R: Record>(
        &mut self,
        account: &str,
        key: &str,
        record: &R,
    ) -> Result<(), StoreError>;
    /// The key sealing this store's secrets, for code that opens one inside a transaction.
    fn root_key(&self) -> &RootKey;
}

/// The handle services hold. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    inner: std::sync::Arc<sqlite::Sqlite>,
}

impl Store {
    /// Opens (creating if needed) the embedded database in `data_dir`, applies migrations, and
    /// checks that `root_key` is the key this data was sealed under.
    pub fn open_sqlite(data_dir: &Path, root_key: RootKey) -> Result<Store, StoreError> {
        let inner = sqlite::Sqlite::open(&data_dir.join("moat.db"), root_key)?;
        Ok(Store {
            inner: std::sync::Arc::new(inner),
        })
    }

    /// An in-memory database, for tests and benchmarks.
    pub fn open_in_memory(root_key: RootKey) -> Result<Store, StoreError> {
        Ok(Store {
            inner: std::sync::Arc::new(sqlite::Sqlite::open_memory(root_key)?),
        })
    }

    pub fn root_key(&self) -> &RootKey {
        self.inner.root_key()
    }

    /// Runs `f` on a consistent snapshot. Records may come from memory, kept from earlier
    /// reads of the same generation of the data; if a write commits while `f` mixes such
    /// records with the database's, `f` runs again on the database alone, so it must not act
    /// outside the read.
    pub fn read<T, E: From<StoreError>>(
        &self,
        f: impl Fn(&ReadTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.inner.read(f)
    }

    /// Runs `f` in one transaction, committed only if `f` succeeds.
    pub fn write<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce(&mut WriteTx<'_>) -> Result<T, E>,
    ) -> Result<T, E> {
        self.inner.write(f)
    }

    /// Runs `body` with one transaction held open: every `write` that `body` makes on this
    /// thread joins it (as a savepoint) instead of committing alone. If `body` succeeds,
    /// `finish` runs in the same transaction with its result (to append the call's audit event)
    /// and the whole commits once; if either fails, everything rolls back. The outer `Err` is a
    /// storage failure (including `finish`'s); the inner result is `body`'s.
    ///
    /// `body` must not wait for writes made on other threads: they queue behind this one.
    pub fn write_scope<T, E>(
        &self,
        body: impl FnOnce() -> Result<T, E>,
        finish: impl FnOnce(&mut WriteTx<'_>, &T) -> Result<(), StoreError>,
    ) -> Result<Result<T, E>, StoreError> {
        self.inner.write_scope(body, finish)
    }

    /// Appends a batch of events to the audit trail in a transaction of its own (one commit
    /// for the batch). Returns the trail's new length.
    pub fn append_audit(&self, events: &[AuditEvent]) -> Result<u64, StoreError> {
        self.write(|tx| tx.append_audit(events))
    }

    /// Signs a digest of the trail's current head, unless one exists already; returns the
    /// number of events it covers when it wrote one.
    pub fn audit_checkpoint(&self, now_ms: i64) -> Result<Option<u64>, StoreError> {
        self.inner.audit_checkpoint(now_ms)
    }

    /// One page of an account's audit events, newest first.
    pub fn lookup_audit(&self, query: &LookupQuery) -> Result<LookupPage, StoreError> {
        self.inner.audit_lookup(query)
    }

    /// The number of events in the audit trail.
    pub fn audit_length(&self) -> Result<u64, StoreError> {
        self.inner.audit_length()
    }

    /// The schema version of the open database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.inner.schema_version()
    }
}

/// Checks the whole audit trail of the embedded database in `data_dir` without changing it:
/// every event's hash and link, its indexed copies, the digests and the signed head.
pub fn verify_audit_sqlite(
    data_dir: &Path,
    root_key: &RootKey,
) -> Result<audit::VerifyReport, VerifyError> {
    audit_sqlite::verify(&data_dir.join("moat.db"), root_key)
}

/// The migrations, numbered from 1; each backend carries the same list.
pub const MIGRATIONS: &[&str] = &[
    // 1: typed records as JSON, addressed by (kind, account, key).
    "CREATE TABLE records (
        kind TEXT NOT NULL,
        account TEXT NOT NULL,
        key TEXT NOT NULL,
        data BLOB NOT NULL,
        PRIMARY KEY (kind, account, key)
    ) WITHOUT ROWID;
    CREATE TABLE meta (name TEXT PRIMARY KEY, value BLOB NOT NULL) WITHOUT ROWID;",
    // 2: the audit trail. Events are chained by `prev`/`hash` (see `audit`); the other columns
    // copy fields for lookups. Triggers refuse updates and deletes of events and digests; the
    // signed head is the one row that changes, and only forward.
    "CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        account TEXT NOT NULL,
        event_time INTEGER NOT NULL,
        event_id TEXT NOT NULL,
        event_name TEXT NOT NULL,
        event_source TEXT NOT NULL,
        read_only INTEGER NOT NULL,
        username TEXT NOT NULL,
        access_key_id TEXT NOT NULL,
        resources TEXT NOT NULL,
        prev BLOB NOT NULL,
        hash BLOB NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX audit_events_by_time ON audit_events (account, event_time, seq);
    CREATE TABLE audit_digests (
        seq INTEGER PRIMARY KEY,
        created INTEGER NOT NULL,
        hash BLOB NOT NULL,
        signature BLOB NOT NULL
    );
    CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        seq INTEGER NOT NULL,
        hash BLOB NOT NULL,
        signature BLOB NOT NULL
    );
    CREATE TRIGGER audit_events_append_only_u BEFORE UPDATE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_events_append_only_d BEFORE DELETE ON audit_events
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_digests_append_only_u BEFORE UPDATE ON audit_digests
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_digests_append_only_d BEFORE DELETE ON audit_digests
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_head_forward_only BEFORE UPDATE ON audit_head
        WHEN NEW.seq < OLD.seq
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_head_kept BEFORE DELETE ON audit_head
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
    // 3: the audit trail in blocks, one per appended batch (see `audit::BlockBuilder`): one row
    // and one index entry per batch instead of per event. Events appended before stay rows of
    // `audit_events`; their seqs all precede the blocks'. `hashes` is each event's chain hash
    // (32 bytes each), `prev` the hash before the block's first event; `min_time`, `max_time`
    // and `filter` let lookups skip blocks, and are checked against the events by the verifier.
    "CREATE TABLE audit_blocks (
        last_seq INTEGER PRIMARY KEY,
        first_seq INTEGER NOT NULL,
        min_time INTEGER NOT NULL,
        max_time INTEGER NOT NULL,
        filter BLOB NOT NULL,
        prev BLOB NOT NULL,
        hashes BLOB NOT NULL,
        body BLOB NOT NULL
    );
    CREATE INDEX audit_blocks_by_time ON audit_blocks (max_time, min_time);
    CREATE TRIGGER audit_blocks_append_only_u BEFORE UPDATE ON audit_blocks
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;
    CREATE TRIGGER audit_blocks_append_only_d BEFORE DELETE ON audit_blocks
        BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END;",
];
