//! The audit trail in SQLite: tables from migration 2, appends inside a write transaction,
//! lookups, checkpoints, and the verifier's walk over a database opened read-only.
//!
//! Appends serialize on the `audit_head` row (SQLite has one writer; PostgreSQL will take the
//! row with `SELECT ... FOR UPDATE`), so the chain has one order whatever the concurrency.

use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use zeroize::Zeroizing;

use crate::audit::{
    chain_hash, name_needle, resources_column, type_needle, AuditEvent, Cursor, Digest, Head,
    IndexColumns, LookupFilter, LookupPage, LookupQuery, Row, Signer, StoredEvent, Verifier,
    VerifyError, VerifyReport, DIGEST_EVERY, GENESIS, SIGNING_KEY_PURPOSE,
};
use crate::{RootKey, SecretError, StoreError};

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn to_u64(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

/// Loads the trail's signing key, creating it (and the head at event 0) on first open.
pub(crate) fn init(conn: &Connection, root_key: &RootKey) -> Result<Signer, StoreError> {
    let sealed: Option<Vec<u8>> = conn
        .query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![SIGNING_KEY_PURPOSE],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(sealed) = sealed {
        let key = root_key
            .open(SIGNING_KEY_PURPOSE, &sealed)
            .map_err(|_| StoreError::WrongRootKey)?;
        return Ok(Signer::new(key.as_slice()));
    }
    let mut key = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(key.as_mut_slice())
        .map_err(|_| SecretError::Random)?;
    let signer = Signer::new(key.as_slice());
    let sealed = root_key.seal(SIGNING_KEY_PURPOSE, key.as_slice())?;
    let tx = rusqlite::Transaction::new_unchecked(conn, rusqlite::TransactionBehavior::Immediate)?;
    tx.execute(
        "INSERT INTO meta (name, value) VALUES (?1, ?2)",
        params![SIGNING_KEY_PURPOSE, sealed],
    )?;
    // A trail that already has events (a key removed by hand) keeps its head; verification
    // will then report the bad signature.
    tx.execute(
        "INSERT OR IGNORE INTO audit_head (id, seq, hash, signature) VALUES (1, 0, ?1, ?2)",
        params![GENESIS.as_slice(), signer.sign_head(0, &GENESIS)],
    )?;
    tx.commit()?;
    Ok(signer)
}

fn head(conn: &Connection) -> Result<(u64, Vec<u8>), StoreError> {
    let mut stmt = conn.prepare_cached("SELECT seq, hash FROM audit_head WHERE id = 1")?;
    let found: Option<(i64, Vec<u8>)> = stmt
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    match found {
        Some((seq, hash)) => Ok((to_u64(seq), hash)),
        None => Err(StoreError::Corrupt {
            kind: "audit_head".to_owned(),
            key: "1".to_owned(),
            detail: "the audit trail's head is missing".to_owned(),
        }),
    }
}

fn write_digest(
    conn: &Connection,
    signer: &Signer,
    seq: u64,
    created_ms: i64,
    hash: &[u8],
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT OR IGNORE INTO audit_digests (seq, created, hash, signature) VALUES (?1, ?2, ?3, ?4)",
    )?;
    stmt.execute(params![
        to_i64(seq),
        created_ms,
        hash,
        signer.sign_digest(seq, created_ms, hash)
    ])?;
    Ok(())
}

/// Appends `events` in order inside the caller's transaction; returns the new chain length.
pub(crate) fn append(
    conn: &Connection,
    signer: &Signer,
    events: &[AuditEvent],
) -> Result<u64, StoreError> {
    append_encoded(conn, signer, events, AuditEvent::canonical_bytes)
}

/// [`append`] with the encoding given (tests write older formats with it).
fn append_encoded(
    conn: &Connection,
    signer: &Signer,
    events: &[AuditEvent],
    encode: fn(&AuditEvent) -> Result<Vec<u8>, serde_json::Error>,
) -> Result<u64, StoreError> {
    let (mut seq, mut hash) = head(conn)?;
    if events.is_empty() {
        return Ok(seq);
    }
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_events (seq, account, event_time, event_id, event_name, event_source, \
         read_only, username, access_key_id, resources, prev, hash, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?;
    for event in events {
        let body = encode(event).map_err(|e| StoreError::Corrupt {
            kind: "audit_event".to_owned(),
            key: event.event_id.clone(),
            detail: e.to_string(),
        })?;
        let next = chain_hash(&hash, &body);
        seq += 1;
        insert.execute(params![
            to_i64(seq),
            event.account,
            event.event_time_ms,
            event.event_id,
            event.event_name,
            event.event_source,
            event.read_only,
            event.username,
            event.access_key_id,
            resources_column(&event.resources),
            hash,
            next.as_slice(),
            body,
        ])?;
        hash = next.to_vec();
        if seq % DIGEST_EVERY == 0 {
            write_digest(conn, signer, seq, event.event_time_ms, &hash)?;
        }
    }
    let mut update = conn
        .prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2, signature = ?3 WHERE id = 1")?;
    update.execute(params![to_i64(seq), hash, signer.sign_head(seq, &hash)])?;
    Ok(seq)
}

/// Writes a digest of the current head unless one exists for it; returns its event count.
pub(crate) fn checkpoint(
    conn: &Connection,
    signer: &Signer,
    now_ms: i64,
) -> Result<Option<u64>, StoreError> {
    let (seq, hash) = head(conn)?;
    if seq == 0 {
        return Ok(None);
    }
    let last: Option<i64> = conn
        .prepare_cached("SELECT max(seq) FROM audit_digests")?
        .query_row([], |r| r.get(0))?;
    if last.is_some_and(|l| to_u64(l) >= seq) {
        return Ok(None);
    }
    write_digest(conn, signer, seq, now_ms, &hash)?;
    Ok(Some(seq))
}

/// The number of events in the trail.
pub(crate) fn length(conn: &Connection) -> Result<u64, StoreError> {
    Ok(head(conn)?.0)
}

pub(crate) fn lookup(conn: &Connection, q: &LookupQuery) -> Result<LookupPage, StoreError> {
    let (filter_sql, filter_value): (&str, Option<rusqlite::types::Value>) = match &q.filter {
        None => ("", None),
        Some(LookupFilter::EventId(v)) => (" AND event_id = ?6", Some(v.clone().into())),
        Some(LookupFilter::EventName(v)) => (" AND event_name = ?6", Some(v.clone().into())),
        Some(LookupFilter::ReadOnly(v)) => (" AND read_only = ?6", Some(i64::from(*v).into())),
        Some(LookupFilter::Username(v)) => (" AND username = ?6", Some(v.clone().into())),
        Some(LookupFilter::EventSource(v)) => (" AND event_source = ?6", Some(v.clone().into())),
        Some(LookupFilter::AccessKeyId(v)) => (" AND access_key_id = ?6", Some(v.clone().into())),
        Some(LookupFilter::ResourceType(v)) => {
            (" AND instr(resources, ?6) > 0", Some(type_needle(v).into()))
        }
        Some(LookupFilter::ResourceName(v)) => {
            (" AND instr(resources, ?6) > 0", Some(name_needle(v).into()))
        }
    };
    let sql = format!(
        "SELECT seq, event_time, body FROM audit_events WHERE account = ?1 \
         AND event_time >= ?2 AND event_time <= ?3 AND (event_time, seq) < (?4, ?5){filter_sql} \
         ORDER BY event_time DESC, seq DESC LIMIT ?7"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let (after_time, after_seq) = match q.after {
        Some(c) => (c.event_time_ms, to_i64(c.seq)),
        None => (i64::MAX, i64::MAX),
    };
    // One more than asked, to know whether another page follows.
    let limit = to_i64(u64::try_from(q.limit).unwrap_or(u64::MAX).saturating_add(1));
    let filter_value = filter_value.unwrap_or(rusqlite::types::Value::Null);
    let mut rows = stmt.query(params![
        q.account,
        q.start_ms.unwrap_or(i64::MIN),
        q.end_ms.unwrap_or(i64::MAX),
        after_time,
        after_seq,
        filter_value,
        limit,
    ])?;
    let mut events = Vec::new();
    let mut more = false;
    while let Some(row) = rows.next()? {
        if events.len() >= q.limit {
            more = true;
            break;
        }
        let seq = to_u64(row.get(0)?);
        let body: Vec<u8> = row.get(2)?;
        let event = AuditEvent::from_canonical_bytes(&body).map_err(|e| StoreError::Corrupt {
            kind: "audit_event".to_owned(),
            key: seq.to_string(),
            detail: e.to_string(),
        })?;
        events.push(StoredEvent { seq, event });
    }
    let next = if more {
        events.last().map(|e| Cursor {
            event_time_ms: e.event.event_time_ms,
            seq: e.seq,
        })
    } else {
        None
    };
    Ok(LookupPage { events, next })
}

/// Verifies the whole trail of the database at `path`, opened read-only (a running server
/// may keep writing; the check covers a consistent snapshot).
pub(crate) fn verify(path: &Path, root_key: &RootKey) -> Result<VerifyReport, VerifyError> {
    if !path.exists() {
        return Err(VerifyError::Store(StoreError::Io {
            path: path.display().to_string(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such database"),
        }));
    }
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    let tx = rusqlite::Transaction::new_unchecked(&conn, rusqlite::TransactionBehavior::Deferred)?;
    let meta = |name: &str| -> Result<Option<Vec<u8>>, rusqlite::Error> {
        tx.query_row(
            "SELECT value FROM meta WHERE name = ?1",
            params![name],
            |r| r.get(0),
        )
        .optional()
    };
    match meta(crate::sqlite::ROOT_KEY_CHECK)? {
        Some(sealed) => match root_key.open(crate::sqlite::ROOT_KEY_CHECK, &sealed) {
            Ok(p) if p.as_slice() == crate::sqlite::ROOT_KEY_CHECK_PLAINTEXT => {}
            _ => return Err(VerifyError::WrongRootKey),
        },
        None => return Err(VerifyError::NoTrail),
    }
    let Some(sealed) = meta(SIGNING_KEY_PURPOSE)? else {
        return Err(VerifyError::NoTrail);
    };
    let key = root_key
        .open(SIGNING_KEY_PURPOSE, &sealed)
        .map_err(|_| VerifyError::WrongRootKey)?;
    let signer = Signer::new(key.as_slice());

    let mut digests = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT seq, created, hash, signature FROM audit_digests")?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            digests.push(Digest {
                seq: to_u64(r.get(0)?),
                created_ms: r.get(1)?,
                hash: r.get(2)?,
                signature: r.get(3)?,
            });
        }
    }
    let mut verifier = Verifier::new(&signer, digests)?;

    let mut find_stmt = tx.prepare("SELECT seq FROM audit_events WHERE hash = ?1 LIMIT 1")?;
    let mut find_hash = |hash: &[u8]| -> Result<Option<u64>, VerifyError> {
        Ok(find_stmt
            .query_row(params![hash], |r| r.get::<_, i64>(0))
            .optional()?
            .map(to_u64))
    };

    let mut stmt = tx.prepare(
        "SELECT seq, account, event_time, event_id, event_name, event_source, read_only, \
         username, access_key_id, resources, prev, hash, body FROM audit_events ORDER BY seq",
    )?;
    let mut rows = stmt.query([])?;
    while let Some(r) = rows.next()? {
        let seq = to_u64(r.get(0)?);
        let row = Row {
            seq,
            columns: IndexColumns {
                account: r.get(1)?,
                event_time_ms: r.get(2)?,
                event_id: r.get(3)?,
                event_name: r.get(4)?,
                event_source: r.get(5)?,
                read_only: r.get(6)?,
                username: r.get(7)?,
                access_key_id: r.get(8)?,
                resources: r.get(9)?,
            },
            prev: r.get(10)?,
            hash: r.get(11)?,
            body: r.get(12)?,
        };
        verifier.next(&row, &mut find_hash)?;
    }
    let head: Option<Head> = tx
        .query_row(
            "SELECT seq, hash, signature FROM audit_head WHERE id = 1",
            [],
            |r| {
                Ok(Head {
                    seq: to_u64(r.get(0)?),
                    hash: r.get(1)?,
                    signature: r.get(2)?,
                })
            },
        )
        .optional()?;
    verifier.finish(head)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditResource;
    use crate::{Reader as _, Record, Store, Writer as _};
    use serde::{Deserialize, Serialize};

    const ACCOUNT: &str = "111111111111";

    #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
    struct Thing {
        n: u32,
    }
    impl Record for Thing {
        const KIND: &'static str = "thing";
    }

    fn key() -> RootKey {
        RootKey::from_bytes(&[5u8; 32]).unwrap()
    }

    fn event(i: u64) -> AuditEvent {
        AuditEvent {
            event_id: format!("id-{i}"),
            event_time_ms: 1_700_000_000_000 + i64::try_from(i).unwrap() * 1000,
            account: ACCOUNT.to_owned(),
            event_source: "iam.amazonaws.com".to_owned(),
            event_name: if i % 2 == 0 { "GetUser" } else { "CreateUser" }.to_owned(),
            read_only: i % 2 == 0,
            username: "root".to_owned(),
            access_key_id: "AKIAEXAMPLE".to_owned(),
            resources: vec![AuditResource {
                resource_type: "AWS::IAM::User".to_owned(),
                resource_name: format!("user{i}"),
            }],
            cloudtrail_event: format!("{{\"eventID\":\"id-{i}\"}}"),
        }
    }

    /// A store in a temp dir holding `n` events appended in batches of 7.
    fn trail(n: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        let events: Vec<AuditEvent> = (1..=n).map(event).collect();
        for chunk in events.chunks(7) {
            store.append_audit(chunk).unwrap();
        }
        (dir, store)
    }

    /// Opens the database as an attacker with file access would, triggers removed.
    fn tamper(dir: &tempfile::TempDir, sql: &str) {
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        for t in [
            "audit_events_append_only_u",
            "audit_events_append_only_d",
            "audit_digests_append_only_u",
            "audit_digests_append_only_d",
            "audit_head_forward_only",
            "audit_head_kept",
        ] {
            conn.execute_batch(&format!("DROP TRIGGER IF EXISTS {t}"))
                .unwrap();
        }
        conn.execute_batch(sql).unwrap();
    }

    fn verify_dir(dir: &tempfile::TempDir) -> Result<crate::audit::VerifyReport, VerifyError> {
        crate::verify_audit_sqlite(dir.path(), &key())
    }

    #[test]
    fn an_intact_trail_verifies_with_digests_and_head() {
        let (dir, store) = trail(2005);
        assert_eq!(store.audit_length().unwrap(), 2005);
        let report = verify_dir(&dir).unwrap();
        assert_eq!(report.events, 2005);
        assert_eq!(report.digests, 2); // at 1000 and 2000
        assert_eq!(store.audit_checkpoint(1).unwrap(), Some(2005));
        assert_eq!(store.audit_checkpoint(2).unwrap(), None);
        assert_eq!(verify_dir(&dir).unwrap().digests, 3);
        // An empty trail verifies too.
        let (empty, _s) = trail(0);
        assert_eq!(verify_dir(&empty).unwrap().events, 0);
    }

    #[test]
    fn the_store_refuses_to_change_or_delete_events() {
        let (dir, _store) = trail(3);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        for sql in [
            "UPDATE audit_events SET event_name = 'x' WHERE seq = 2",
            "DELETE FROM audit_events WHERE seq = 3",
            "UPDATE audit_head SET seq = 1",
            "DELETE FROM audit_head",
        ] {
            let err = conn.execute_batch(sql).unwrap_err().to_string();
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
        assert_eq!(verify_dir(&dir).unwrap().events, 3);
    }

    #[test]
    fn an_altered_event_is_named() {
        let (dir, _s) = trail(20);
        tamper(
            &dir,
            "UPDATE audit_events SET body = CAST(replace(CAST(body AS TEXT), 'user5', 'user6') AS BLOB) WHERE seq = 5",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(matches!(err, VerifyError::Altered { seq: 5 }), "{err}");
        assert_eq!(
            err.to_string(),
            "event #5 was altered: its hash does not match its contents"
        );
    }

    #[test]
    fn an_altered_event_with_a_recomputed_hash_breaks_the_link() {
        let (dir, _s) = trail(20);
        // Rewrite event 5 and its own hash consistently; event 6 still points at the old hash.
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let (prev, body): (Vec<u8>, Vec<u8>) = conn
            .query_row(
                "SELECT prev, body FROM audit_events WHERE seq = 5",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let forged = String::from_utf8(body).unwrap().replace("id-5", "id-X");
        let hash = chain_hash(&prev, forged.as_bytes());
        tamper(&dir, "SELECT 1");
        conn.execute(
            "UPDATE audit_events SET body = ?1, hash = ?2, event_id = 'id-X' WHERE seq = 5",
            params![forged.as_bytes(), hash.as_slice()],
        )
        .unwrap();
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Unlinked {
                    seq: 6,
                    expected: 5
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn an_altered_index_column_is_named() {
        let (dir, _s) = trail(10);
        tamper(
            &dir,
            "UPDATE audit_events SET event_name = 'Nothing' WHERE seq = 4",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::IndexAltered {
                    seq: 4,
                    field: "event_name"
                }
            ),
            "{err}"
        );
        let (dir, _s) = trail(10);
        tamper(
            &dir,
            "UPDATE audit_events SET resources = replace(resources, 'user4', 'other') WHERE seq = 4",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::IndexAltered {
                    seq: 4,
                    field: "resources"
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_removed_event_is_named() {
        let (dir, _s) = trail(10);
        tamper(&dir, "DELETE FROM audit_events WHERE seq = 4");
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Removed {
                    seq: 4,
                    before: 3,
                    after: 5
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "event #4 was removed (the trail jumps from #3 to #5)"
        );
    }

    #[test]
    fn removing_and_renumbering_is_caught() {
        let (dir, _s) = trail(10);
        tamper(
            &dir,
            "DELETE FROM audit_events WHERE seq = 4;
             UPDATE audit_events SET seq = seq - 1 WHERE seq > 4;",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Unlinked {
                    seq: 4,
                    expected: 3
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn events_removed_from_the_end_are_caught_by_the_head() {
        let (dir, _s) = trail(10);
        tamper(&dir, "DELETE FROM audit_events WHERE seq > 8");
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::Truncated { from: 9, to: 10 }),
            "{err}"
        );
        // Rolling the head back too needs the signing key.
        tamper(&dir, "UPDATE audit_head SET seq = 8");
        assert!(matches!(
            verify_dir(&dir).unwrap_err(),
            VerifyError::BadHeadSignature
        ));
    }

    #[test]
    fn an_event_inserted_at_the_end_is_caught() {
        let (dir, _s) = trail(10);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let last: Vec<u8> = conn
            .query_row("SELECT hash FROM audit_events WHERE seq = 10", [], |r| {
                r.get(0)
            })
            .unwrap();
        let forged = event(11);
        let body = forged.canonical_bytes().unwrap();
        let hash = chain_hash(&last, &body);
        conn.execute(
            "INSERT INTO audit_events VALUES (11, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
            params![
                forged.account,
                forged.event_time_ms,
                forged.event_id,
                forged.event_name,
                forged.event_source,
                forged.read_only,
                forged.username,
                forged.access_key_id,
                resources_column(&forged.resources),
                last,
                hash.as_slice(),
                body
            ],
        )
        .unwrap();
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::Appended { from: 11, head: 10 }),
            "{err}"
        );
    }

    #[test]
    fn an_event_inserted_in_the_middle_is_caught() {
        let (dir, _s) = trail(10);
        tamper(
            &dir,
            "UPDATE audit_events SET seq = seq + 100 WHERE seq > 5;
             UPDATE audit_events SET seq = seq - 99 WHERE seq > 100;
             INSERT INTO audit_events SELECT 6, account, event_time, 'forged', event_name, \
                 event_source, read_only, username, access_key_id, resources, hash, hash, body \
                 FROM audit_events WHERE seq = 5;",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(matches!(err, VerifyError::Altered { seq: 6 }), "{err}");
    }

    #[test]
    fn reordered_events_are_named() {
        let (dir, _s) = trail(10);
        tamper(
            &dir,
            "UPDATE audit_events SET seq = 100 WHERE seq = 4;
             UPDATE audit_events SET seq = 4 WHERE seq = 5;
             UPDATE audit_events SET seq = 5 WHERE seq = 100;",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Reordered {
                    seq: 4,
                    follows: 5,
                    expected: 3
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("reordered"), "{err}");
    }

    #[test]
    fn digests_are_checked() {
        let (dir, _s) = trail(1003);
        tamper(
            &dir,
            "UPDATE audit_digests SET signature = zeroblob(32) WHERE seq = 1000",
        );
        assert!(matches!(
            verify_dir(&dir).unwrap_err(),
            VerifyError::BadDigestSignature { seq: 1000 }
        ));

        // A chain rewritten from the first event on (all hashes recomputed): only the signed
        // digest and head can tell.
        let (dir, _s) = trail(1003);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        tamper(&dir, "SELECT 1");
        let rows: Vec<(i64, Vec<u8>)> = conn
            .prepare("SELECT seq, body FROM audit_events ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut prev = GENESIS.to_vec();
        for (seq, body) in rows {
            let body = if seq == 2 {
                String::from_utf8(body)
                    .unwrap()
                    // The record's copy only: the indexed header stays consistent.
                    .replace("\"eventID\":\"id-2\"", "\"eventID\":\"id-Z\"")
                    .into_bytes()
            } else {
                body
            };
            let hash = chain_hash(&prev, &body);
            conn.execute(
                "UPDATE audit_events SET prev = ?1, hash = ?2, body = ?3 WHERE seq = ?4",
                params![prev, hash.as_slice(), body, seq],
            )
            .unwrap();
            prev = hash.to_vec();
        }
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::DigestMismatch { seq: 1000 }),
            "{err}"
        );

        // An older signed head put back after removing the events that followed it: the
        // digests written since give it away.
        let (dir, s) = trail(1001);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let old_head: (Vec<u8>, Vec<u8>) = conn
            .query_row("SELECT hash, signature FROM audit_head", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        s.append_audit(&[event(1002), event(1003)]).unwrap();
        s.audit_checkpoint(5).unwrap();
        tamper(&dir, "DELETE FROM audit_events WHERE seq > 1001");
        conn.execute(
            "UPDATE audit_head SET seq = 1001, hash = ?1, signature = ?2",
            params![old_head.0, old_head.1],
        )
        .unwrap();
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::DigestBeyondEnd {
                    seq: 1003,
                    last: 1001
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_trail_begun_in_format_1_still_verifies_and_reads() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        let legacy = |e: &AuditEvent| serde_json::to_vec(e);
        let events: Vec<AuditEvent> = (1..=1005).map(event).collect();
        let (old, new) = events.split_at(1002);
        store
            .write(|tx| append_encoded(tx.conn(), tx.signer(), old, legacy))
            .unwrap();
        store.append_audit(new).unwrap();
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let first: Vec<u8> = conn
            .query_row("SELECT body FROM audit_events WHERE seq = 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(first.starts_with(b"{\"eventId\""), "format 1");
        assert!(!first.contains(&b'\n'));
        let last: Vec<u8> = conn
            .query_row("SELECT body FROM audit_events WHERE seq = 1005", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert!(last.starts_with(b"{\"v\":2,"), "format 2");
        assert_eq!(verify_dir(&dir).unwrap().events, 1005);
        let page = store
            .lookup_audit(&LookupQuery {
                account: ACCOUNT.to_owned(),
                start_ms: None,
                end_ms: None,
                filter: None,
                after: None,
                limit: 5,
            })
            .unwrap();
        let got: Vec<AuditEvent> = page.events.into_iter().map(|e| e.event).collect();
        let want: Vec<AuditEvent> = events.iter().rev().take(5).cloned().collect();
        assert_eq!(got, want, "both formats read back whole");
        let one = store
            .lookup_audit(&LookupQuery {
                account: ACCOUNT.to_owned(),
                start_ms: None,
                end_ms: None,
                filter: Some(LookupFilter::EventId("id-7".into())),
                after: None,
                limit: 5,
            })
            .unwrap();
        assert_eq!(one.events.first().map(|e| &e.event), Some(&event(7)));

        // Tampering is caught in either format.
        tamper(
            &dir,
            "UPDATE audit_events SET body = CAST(replace(CAST(body AS TEXT), 'user3', 'userX') AS BLOB) WHERE seq = 3",
        );
        assert!(matches!(
            verify_dir(&dir).unwrap_err(),
            VerifyError::Altered { seq: 3 }
        ));
    }

    #[test]
    fn a_format_2_event_whose_header_and_record_disagree_with_the_index_is_caught() {
        let (dir, _s) = trail(10);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        // An attacker rewrites the whole chain from event 4 with the header's user name
        // changed: every hash recomputed, but the indexed copy no longer matches.
        tamper(&dir, "SELECT 1");
        let rows: Vec<(i64, Vec<u8>, Vec<u8>)> = conn
            .prepare("SELECT seq, prev, body FROM audit_events WHERE seq >= 4 ORDER BY seq")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        let mut prev = rows[0].1.clone();
        for (seq, _, body) in rows {
            let body = if seq == 4 {
                String::from_utf8(body)
                    .unwrap()
                    .replacen("\"username\":\"root\"", "\"username\":\"mallory\"", 1)
                    .into_bytes()
            } else {
                body
            };
            let hash = chain_hash(&prev, &body);
            conn.execute(
                "UPDATE audit_events SET prev = ?1, hash = ?2, body = ?3 WHERE seq = ?4",
                params![prev, hash.as_slice(), body, seq],
            )
            .unwrap();
            prev = hash.to_vec();
        }
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::IndexAltered {
                    seq: 4,
                    field: "username"
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn verification_needs_the_root_key_and_a_trail() {
        let (dir, _s) = trail(3);
        let other = RootKey::from_bytes(&[6u8; 32]).unwrap();
        assert!(matches!(
            crate::verify_audit_sqlite(dir.path(), &other),
            Err(VerifyError::WrongRootKey)
        ));
        tamper(&dir, "DELETE FROM meta WHERE name = 'audit-signing-key'");
        assert!(matches!(verify_dir(&dir), Err(VerifyError::NoTrail)));
        let empty = tempfile::tempdir().unwrap();
        assert!(matches!(
            crate::verify_audit_sqlite(empty.path(), &key()),
            Err(VerifyError::Store(_))
        ));
    }

    #[test]
    fn lookups_are_newest_first_filtered_paged_and_per_account() {
        let (_dir, store) = trail(30);
        let mut other = event(99);
        other.account = "222222222222".to_owned();
        store.append_audit(&[other]).unwrap();
        let query = |filter, after, limit| LookupQuery {
            account: ACCOUNT.to_owned(),
            start_ms: None,
            end_ms: None,
            filter,
            after,
            limit,
        };
        let page = store.lookup_audit(&query(None, None, 10)).unwrap();
        let ids: Vec<&str> = page
            .events
            .iter()
            .map(|e| e.event.event_id.as_str())
            .collect();
        assert_eq!(ids.first(), Some(&"id-30"));
        assert_eq!(ids.len(), 10);
        let mut seen = ids.len();
        let mut next = page.next;
        while let Some(cursor) = next {
            let page = store.lookup_audit(&query(None, Some(cursor), 10)).unwrap();
            seen += page.events.len();
            next = page.next;
        }
        assert_eq!(seen, 30, "the other account's event is not listed");

        for (filter, n) in [
            (LookupFilter::EventName("CreateUser".into()), 15),
            (LookupFilter::ReadOnly(true), 15),
            (LookupFilter::EventId("id-7".into()), 1),
            (LookupFilter::ResourceName("user7".into()), 1),
            (LookupFilter::ResourceType("AWS::IAM::User".into()), 30),
            (LookupFilter::Username("root".into()), 30),
            (LookupFilter::Username("bob".into()), 0),
            (LookupFilter::AccessKeyId("AKIAEXAMPLE".into()), 30),
            (LookupFilter::EventSource("iam.amazonaws.com".into()), 30),
            (LookupFilter::EventId("id-99".into()), 0),
        ] {
            let page = store
                .lookup_audit(&query(Some(filter.clone()), None, 50))
                .unwrap();
            assert_eq!(page.events.len(), n, "{filter:?}");
        }
        let mut q = query(None, None, 50);
        q.start_ms = Some(event(10).event_time_ms);
        q.end_ms = Some(event(12).event_time_ms);
        let ids: Vec<String> = store
            .lookup_audit(&q)
            .unwrap()
            .events
            .into_iter()
            .map(|e| e.event.event_id)
            .collect();
        assert_eq!(ids, ["id-12", "id-11", "id-10"]);
    }

    #[test]
    fn a_write_scope_commits_the_change_and_its_event_together() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        let inner = store.clone();
        let r = store.write_scope(
            || inner.write(|tx| tx.put(ACCOUNT, "a", &Thing { n: 1 }).map(|()| 7)),
            |tx, n| {
                assert_eq!(*n, 7);
                // The body's write is visible inside the open transaction.
                assert_eq!(tx.get::<Thing>(ACCOUNT, "a")?, Some(Thing { n: 1 }));
                tx.append_audit(&[event(1)]).map(|_| ())
            },
        );
        assert_eq!(r.unwrap().unwrap(), 7);
        assert_eq!(
            store.read(|tx| tx.get::<Thing>(ACCOUNT, "a")).unwrap(),
            Some(Thing { n: 1 })
        );
        assert_eq!(store.audit_length().unwrap(), 1);
        assert_eq!(verify_dir(&dir).unwrap().events, 1);
    }

    #[test]
    fn a_write_scope_fails_closed_when_its_event_cannot_be_recorded() {
        let store = Store::open_in_memory(key()).unwrap();
        let inner = store.clone();
        let r: Result<Result<(), StoreError>, StoreError> = store.write_scope(
            || inner.write(|tx| tx.put(ACCOUNT, "a", &Thing { n: 1 })),
            |_, ()| {
                Err(StoreError::Corrupt {
                    kind: "audit".into(),
                    key: "x".into(),
                    detail: "disk full".into(),
                })
            },
        );
        assert!(r.is_err());
        assert_eq!(
            store.read(|tx| tx.get::<Thing>(ACCOUNT, "a")).unwrap(),
            None
        );
        assert_eq!(store.audit_length().unwrap(), 0);
    }

    #[test]
    fn a_failed_body_rolls_back_and_records_nothing() {
        let store = Store::open_in_memory(key()).unwrap();
        let inner = store.clone();
        let r = store.write_scope(
            || {
                inner.write(|tx| tx.put(ACCOUNT, "a", &Thing { n: 1 }))?;
                // A second write fails: its savepoint is undone, then the whole scope.
                inner.write(|tx| {
                    tx.put(ACCOUNT, "b", &Thing { n: 2 })?;
                    Err::<(), _>(StoreError::WrongRootKey)
                })
            },
            |tx, ()| tx.append_audit(&[event(1)]).map(|_| ()),
        );
        assert!(matches!(r, Ok(Err(StoreError::WrongRootKey))));
        store
            .read(|tx| {
                assert_eq!(tx.get::<Thing>(ACCOUNT, "a")?, None);
                assert_eq!(tx.get::<Thing>(ACCOUNT, "b")?, None);
                Ok::<_, StoreError>(())
            })
            .unwrap();
        assert_eq!(store.audit_length().unwrap(), 0);
        // The connection is usable afterwards, and scopes do not nest.
        store
            .write(|tx| tx.put(ACCOUNT, "c", &Thing { n: 3 }))
            .unwrap();
        let outer = store.clone();
        let nested = store.write_scope(
            || outer.write_scope(|| Ok::<_, StoreError>(()), |_, ()| Ok(())),
            |_, _| Ok(()),
        );
        assert!(matches!(nested, Ok(Err(StoreError::NestedScope))));
    }

    #[test]
    fn writes_from_other_threads_wait_for_an_open_scope() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let other = store.clone();
        let inner = store.clone();
        let handle = std::thread::spawn(move || {
            started_rx.recv().unwrap();
            other.append_audit(&[event(2)]).unwrap();
        });
        store
            .write_scope(
                || {
                    started_tx.send(()).unwrap();
                    std::thread::sleep(std::time::Duration::from_millis(50));
                    inner.write(|tx| tx.put(ACCOUNT, "a", &Thing { n: 1 }))
                },
                |tx, ()| tx.append_audit(&[event(1)]).map(|_| ()),
            )
            .unwrap()
            .unwrap();
        handle.join().unwrap();
        let page = store
            .lookup_audit(&LookupQuery {
                account: ACCOUNT.to_owned(),
                start_ms: None,
                end_ms: None,
                filter: None,
                after: None,
                limit: 10,
            })
            .unwrap();
        let seqs: Vec<(u64, &str)> = page
            .events
            .iter()
            .map(|e| (e.seq, e.event.event_id.as_str()))
            .collect();
        assert_eq!(seqs, [(2, "id-2"), (1, "id-1")]);
        assert_eq!(verify_dir(&dir).unwrap().events, 2);
    }
}
