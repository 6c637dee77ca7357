//! The audit trail in SQLite: tables from migrations 2 (one row per event, as the first builds
//! wrote) and 3 (blocks, as appends write now), appends inside a write transaction, lookups,
//! checkpoints, and the verifier's walk over a database opened read-only.
//!
//! Appends serialize on the `audit_head` row (SQLite has one writer; PostgreSQL will take the
//! row with `SELECT ... FOR UPDATE`), so the chain has one order whatever the concurrency.

use std::path::Path;

use ring::rand::{SecureRandom, SystemRandom};
use rusqlite::{params, Connection, OpenFlags, OptionalExtension};
use zeroize::Zeroizing;

#[cfg(test)]
use crate::audit::{chain_hash, resources_column};
use crate::audit::{
    decompress_body, filter_matches, filter_may_contain, name_needle, query_keys, split_events,
    type_needle, AuditBuffers, AuditEvent, BlockBuilder, Cursor, Digest, EncodedBlock, FindHash,
    Head, IndexColumns, LookupFilter, LookupPage, LookupQuery, Row, Signer, StoredEvent,
    SummaryBuilder, Verifier, VerifyError, VerifyReport, DIGEST_EVERY, GENESIS, HASH_LEN,
    MAX_BLOCK_SPAN_MS, SIGNING_KEY_PURPOSE,
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

/// Appends `events` in order inside the caller's transaction, as one block (more when the
/// batch is too large or spans too long for one); returns the new chain length.
pub(crate) fn append(
    conn: &Connection,
    signer: &Signer,
    buffers: &mut AuditBuffers,
    events: &[AuditEvent],
) -> Result<u64, StoreError> {
    let (mut seq, mut hash) = head(conn)?;
    if events.is_empty() {
        return Ok(seq);
    }
    let mut block = BlockBuilder::new(seq + 1, hash.clone(), buffers);
    for event in events {
        if block.must_cut_before(event) {
            insert_block(conn, block.finish())?;
            block = BlockBuilder::new(seq + 1, hash.clone(), buffers);
        }
        let next = block.push(event, &hash).map_err(|e| StoreError::Corrupt {
            kind: "audit_event".to_owned(),
            key: event.event_id.clone(),
            detail: e.to_string(),
        })?;
        seq += 1;
        hash = next.to_vec();
        if seq % DIGEST_EVERY == 0 {
            write_digest(conn, signer, seq, event.event_time_ms, &hash)?;
        }
    }
    insert_block(conn, block.finish())?;
    let mut update = conn
        .prepare_cached("UPDATE audit_head SET seq = ?1, hash = ?2, signature = ?3 WHERE id = 1")?;
    update.execute(params![to_i64(seq), hash, signer.sign_head(seq, &hash)])?;
    Ok(seq)
}

fn insert_block(conn: &Connection, b: EncodedBlock) -> Result<(), StoreError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO audit_blocks (last_seq, first_seq, min_time, max_time, filter, prev, \
         hashes, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    insert.execute(params![
        to_i64(b.last_seq),
        to_i64(b.first_seq),
        b.summary.min_time_ms,
        b.summary.max_time_ms,
        b.summary.filter,
        b.prev,
        b.hashes,
        b.body,
    ])?;
    Ok(())
}

/// Appends `events` as rows of `audit_events`, one per event, as builds before blocks did (tests
/// make such trails with it, in any format).
#[cfg(test)]
fn append_rows(
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

/// One page of an account's events, newest first by (time, seq): the rows' best and the
/// blocks' best merged. Event times are not monotonic in seq (a write's event is appended at
/// once, queued events a little later), so blocks' time ranges overlap: every block whose range
/// reaches the bounds is a candidate, read newest `max_time` first, until the page is full and
/// no further block can hold an event that sorts before its last.
pub(crate) fn lookup(conn: &Connection, q: &LookupQuery) -> Result<LookupPage, StoreError> {
    let want = q.limit.saturating_add(1);
    let mut found = lookup_rows(conn, q)?;
    let start = q.start_ms.unwrap_or(i64::MIN);
    let end = q.end_ms.unwrap_or(i64::MAX);
    let (after_time, after_seq) = match q.after {
        Some(c) => (c.event_time_ms, c.seq),
        None => (i64::MAX, u64::MAX),
    };
    let upper = end.min(after_time);
    if start <= upper {
        let keys = query_keys(&q.account, q.filter.as_ref());
        let mut blocks = conn.prepare_cached(
            "SELECT last_seq, first_seq, max_time, filter FROM audit_blocks \
             WHERE max_time >= ?1 AND max_time <= ?2 AND min_time <= ?3 ORDER BY max_time DESC",
        )?;
        let mut body_stmt =
            conn.prepare_cached("SELECT body FROM audit_blocks WHERE last_seq = ?1")?;
        let mut rows = blocks.query(params![
            start,
            upper.saturating_add(MAX_BLOCK_SPAN_MS),
            upper
        ])?;
        let mut sorted = false;
        while let Some(row) = rows.next()? {
            let max_time: i64 = row.get(2)?;
            if found.len() >= want {
                if !sorted {
                    sort_newest_first(&mut found);
                    found.truncate(want);
                    sorted = true;
                }
                // Every later block ends before the page's last event.
                if found
                    .last()
                    .is_some_and(|e| max_time < e.event.event_time_ms)
                {
                    break;
                }
            }
            let filter: Vec<u8> = row.get(3)?;
            if !keys.iter().all(|&k| filter_may_contain(&filter, k)) {
                continue;
            }
            let last_seq: i64 = row.get(0)?;
            let first_seq = to_u64(row.get(1)?);
            let body: Vec<u8> = body_stmt.query_row(params![last_seq], |r| r.get(0))?;
            let unreadable = |detail: String| StoreError::Corrupt {
                kind: "audit_block".to_owned(),
                key: last_seq.to_string(),
                detail,
            };
            let raw = decompress_body(&body).map_err(|e| unreadable(e.to_string()))?;
            let entries = split_events(&raw).map_err(|e| unreadable(e.to_string()))?;
            for (seq, bytes) in (first_seq..).zip(entries) {
                let event =
                    AuditEvent::from_canonical_bytes(bytes).map_err(|e| StoreError::Corrupt {
                        kind: "audit_event".to_owned(),
                        key: seq.to_string(),
                        detail: e.to_string(),
                    })?;
                let t = event.event_time_ms;
                if event.account == q.account
                    && (start..=end).contains(&t)
                    && (t, seq) < (after_time, after_seq)
                    && filter_matches(&event, q.filter.as_ref())
                {
                    found.push(StoredEvent { seq, event });
                    sorted = false;
                }
            }
        }
    }
    sort_newest_first(&mut found);
    let more = found.len() > q.limit;
    found.truncate(q.limit);
    let next = if more {
        found.last().map(|e| Cursor {
            event_time_ms: e.event.event_time_ms,
            seq: e.seq,
        })
    } else {
        None
    };
    Ok(LookupPage {
        events: found,
        next,
    })
}

fn sort_newest_first(events: &mut [StoredEvent]) {
    events.sort_unstable_by(|a, b| {
        (b.event.event_time_ms, b.seq).cmp(&(a.event.event_time_ms, a.seq))
    });
}

/// The best `limit + 1` events among the rows of `audit_events` (trails begun before blocks).
fn lookup_rows(conn: &Connection, q: &LookupQuery) -> Result<Vec<StoredEvent>, StoreError> {
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
    while let Some(row) = rows.next()? {
        let seq = to_u64(row.get(0)?);
        let body: Vec<u8> = row.get(2)?;
        let event = AuditEvent::from_canonical_bytes(&body).map_err(|e| StoreError::Corrupt {
            kind: "audit_event".to_owned(),
            key: seq.to_string(),
            detail: e.to_string(),
        })?;
        events.push(StoredEvent { seq, event });
    }
    Ok(events)
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
    let mut find_blocks = tx.prepare("SELECT first_seq, hashes FROM audit_blocks")?;
    let mut find_hash = |hash: &[u8]| -> Result<Option<u64>, VerifyError> {
        if let Some(seq) = find_stmt
            .query_row(params![hash], |r| r.get::<_, i64>(0))
            .optional()?
        {
            return Ok(Some(to_u64(seq)));
        }
        let mut blocks = find_blocks.query([])?;
        while let Some(b) = blocks.next()? {
            let first = to_u64(b.get(0)?);
            let hashes: Vec<u8> = b.get(1)?;
            if let Some(i) = hashes.chunks_exact(HASH_LEN).position(|h| h == hash) {
                return Ok(Some(first + u64::try_from(i).unwrap_or(0)));
            }
        }
        Ok(None)
    };

    // Rows (trails begun before blocks) and blocks, merged in seq order: rows all come first
    // in an intact trail, and a row or block out of place breaks the chain where it sits.
    let mut rows_stmt = tx.prepare(
        "SELECT seq, account, event_time, event_id, event_name, event_source, read_only, \
         username, access_key_id, resources, prev, hash, body FROM audit_events ORDER BY seq",
    )?;
    let mut blocks_stmt = tx.prepare(
        "SELECT first_seq, last_seq, min_time, max_time, filter, prev, hashes, body \
         FROM audit_blocks ORDER BY last_seq",
    )?;
    let mut rows = rows_stmt.query([])?;
    let mut blocks = blocks_stmt.query([])?;
    let mut row = rows.next()?;
    let mut block = blocks.next()?;
    loop {
        let row_seq = row.map(|r| r.get::<_, i64>(0)).transpose()?;
        let block_seq = block.map(|b| b.get::<_, i64>(0)).transpose()?;
        match (row_seq, block_seq) {
            (None, None) => break,
            (Some(r_seq), b) if b.is_none_or(|b| r_seq <= b) => {
                if let Some(r) = row {
                    verify_row(&mut verifier, r, &mut find_hash)?;
                }
                row = rows.next()?;
            }
            _ => {
                if let Some(b) = block {
                    verify_block(&mut verifier, b, &mut find_hash)?;
                }
                block = blocks.next()?;
            }
        }
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

fn verify_row(
    verifier: &mut Verifier<'_>,
    r: &rusqlite::Row<'_>,
    find_hash: &mut FindHash<'_>,
) -> Result<(), VerifyError> {
    let (prev, hash, body): (Vec<u8>, Vec<u8>, Vec<u8>) = (r.get(10)?, r.get(11)?, r.get(12)?);
    let row = Row {
        seq: to_u64(r.get(0)?),
        columns: Some(IndexColumns {
            account: r.get(1)?,
            event_time_ms: r.get(2)?,
            event_id: r.get(3)?,
            event_name: r.get(4)?,
            event_source: r.get(5)?,
            read_only: r.get(6)?,
            username: r.get(7)?,
            access_key_id: r.get(8)?,
            resources: r.get(9)?,
        }),
        prev: &prev,
        hash: &hash,
        body: &body,
    };
    verifier.next(&row, find_hash).map(|_| ())
}

/// Checks a block's events one by one along the chain, then its columns against them.
fn verify_block(
    verifier: &mut Verifier<'_>,
    b: &rusqlite::Row<'_>,
    find_hash: &mut FindHash<'_>,
) -> Result<(), VerifyError> {
    let first = to_u64(b.get(0)?);
    let last = to_u64(b.get(1)?);
    let altered = |field| VerifyError::BlockAltered { first, last, field };
    let (prev, hashes, body): (Vec<u8>, Vec<u8>, Vec<u8>) = (b.get(5)?, b.get(6)?, b.get(7)?);
    let raw = decompress_body(&body).map_err(|e| VerifyError::Unreadable {
        seq: first,
        detail: e.to_string(),
    })?;
    let events = split_events(&raw).map_err(|e| VerifyError::Unreadable {
        seq: first,
        detail: e.to_string(),
    })?;
    let count = u64::try_from(events.len()).unwrap_or(u64::MAX);
    if count == 0 || last < first || last - first + 1 != count {
        return Err(altered("last_seq"));
    }
    if hashes.len() != events.len() * HASH_LEN || prev.len() != HASH_LEN {
        return Err(altered("hashes"));
    }
    let mut summary = SummaryBuilder::new();
    let mut before: &[u8] = &prev;
    for ((seq, bytes), hash) in (first..).zip(events).zip(hashes.chunks_exact(HASH_LEN)) {
        let event = verifier.next(
            &Row {
                seq,
                prev: before,
                hash,
                body: bytes,
                columns: None,
            },
            find_hash,
        )?;
        summary.add(&event);
        before = hash;
    }
    let summary = summary.finish();
    // Events regrouped into a longer block (their chain intact) would escape time-bounded
    // lookups, which only search so far past their bounds.
    if summary.max_time_ms.saturating_sub(summary.min_time_ms) > MAX_BLOCK_SPAN_MS {
        return Err(VerifyError::BlockTooLong { first, last });
    }
    if b.get::<_, i64>(2)? != summary.min_time_ms {
        return Err(altered("min_time"));
    }
    if b.get::<_, i64>(3)? != summary.max_time_ms {
        return Err(altered("max_time"));
    }
    if b.get::<_, Vec<u8>>(4)? != summary.filter {
        return Err(altered("filter"));
    }
    Ok(())
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

    /// The same trail written as one row per event, as builds before blocks wrote it.
    fn row_trail(n: u64) -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        let events: Vec<AuditEvent> = (1..=n).map(event).collect();
        for chunk in events.chunks(7) {
            store
                .write(|tx| append_rows(tx.conn(), tx.signer(), chunk, AuditEvent::canonical_bytes))
                .unwrap();
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
            "audit_blocks_append_only_u",
            "audit_blocks_append_only_d",
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
        let (dir, _store) = row_trail(3);
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
        let (dir, _s) = row_trail(20);
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
        let (dir, _s) = row_trail(20);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(10);
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
        let (dir, _s) = row_trail(1003);
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
        let (dir, _s) = row_trail(1003);
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
        let (dir, s) = row_trail(1001);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let old_head: (Vec<u8>, Vec<u8>) = conn
            .query_row("SELECT hash, signature FROM audit_head", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        s.append_audit(&[event(1002), event(1003)]).unwrap();
        s.audit_checkpoint(5).unwrap();
        tamper(&dir, "DELETE FROM audit_blocks WHERE first_seq > 1001");
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
            .write(|tx| append_rows(tx.conn(), tx.signer(), old, legacy))
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
        let blocks = read_blocks(&dir);
        assert_eq!(blocks.len(), 1, "the rest is one block");
        assert_eq!((blocks[0].first, blocks[0].last), (1003, 1005));
        assert!(blocks[0].events[2].starts_with(b"{\"v\":2,"), "format 2");
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
        let (dir, _s) = row_trail(10);
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

    // --- Blocks -------------------------------------------------------------------------------

    /// A block as an attacker with the file reads it, its body decompressed.
    #[derive(Clone)]
    struct RawBlock {
        first: i64,
        last: i64,
        min: i64,
        max: i64,
        filter: Vec<u8>,
        prev: Vec<u8>,
        hashes: Vec<u8>,
        events: Vec<Vec<u8>>,
    }

    fn read_blocks(dir: &tempfile::TempDir) -> Vec<RawBlock> {
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT first_seq, last_seq, min_time, max_time, filter, prev, hashes, body \
                 FROM audit_blocks ORDER BY last_seq",
            )
            .unwrap();
        stmt.query_map([], |r| {
            let body: Vec<u8> = r.get(7)?;
            let raw = decompress_body(&body).unwrap();
            Ok(RawBlock {
                first: r.get(0)?,
                last: r.get(1)?,
                min: r.get(2)?,
                max: r.get(3)?,
                filter: r.get(4)?,
                prev: r.get(5)?,
                hashes: r.get(6)?,
                events: split_events(&raw)
                    .unwrap()
                    .into_iter()
                    .map(<[u8]>::to_vec)
                    .collect(),
            })
        })
        .unwrap()
        .map(Result::unwrap)
        .collect()
    }

    fn body_of(events: &[Vec<u8>]) -> Vec<u8> {
        let mut raw = Vec::new();
        for e in events {
            raw.extend_from_slice(&u32::try_from(e.len()).unwrap().to_le_bytes());
            raw.extend_from_slice(e);
        }
        lz4_flex::compress_prepend_size(&raw)
    }

    /// Replaces the block stored under `old_last` with `b`, as is.
    fn rewrite_block(dir: &tempfile::TempDir, old_last: i64, b: &RawBlock) {
        tamper(dir, "SELECT 1");
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        conn.execute(
            "DELETE FROM audit_blocks WHERE last_seq = ?1",
            params![old_last],
        )
        .unwrap();
        conn.execute(
            "INSERT INTO audit_blocks VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                b.last,
                b.first,
                b.min,
                b.max,
                b.filter,
                b.prev,
                b.hashes,
                body_of(&b.events)
            ],
        )
        .unwrap();
    }

    /// Rewrites every block with `edit` applied to each event's bytes and the whole chain
    /// recomputed (hashes, links), as an attacker without the signing key can.
    fn rechain(dir: &tempfile::TempDir, edit: impl Fn(i64, Vec<u8>) -> Vec<u8>) {
        let mut prev = GENESIS.to_vec();
        for mut b in read_blocks(dir) {
            b.prev = prev.clone();
            b.hashes.clear();
            let events = std::mem::take(&mut b.events);
            for (seq, bytes) in (b.first..).zip(events) {
                let bytes = edit(seq, bytes);
                let hash = chain_hash(&prev, &bytes);
                b.hashes.extend_from_slice(&hash);
                prev = hash.to_vec();
                b.events.push(bytes);
            }
            rewrite_block(dir, b.last, &b);
        }
    }

    fn replace_in(bytes: Vec<u8>, from: &str, to: &str) -> Vec<u8> {
        String::from_utf8(bytes)
            .unwrap()
            .replacen(from, to, 1)
            .into_bytes()
    }

    #[test]
    fn appends_are_blocks_and_the_store_refuses_to_change_them() {
        let (dir, _store) = trail(10);
        let blocks = read_blocks(&dir);
        let ranges: Vec<(i64, i64)> = blocks.iter().map(|b| (b.first, b.last)).collect();
        assert_eq!(ranges, [(1, 7), (8, 10)]);
        assert_eq!(blocks[0].events.len(), 7);
        assert_eq!(blocks[0].hashes.len(), 7 * HASH_LEN);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM audit_events", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 0, "no event is a row any more");
        for sql in [
            "UPDATE audit_blocks SET filter = x'00' WHERE last_seq = 7",
            "DELETE FROM audit_blocks WHERE last_seq = 10",
        ] {
            let err = conn.execute_batch(sql).unwrap_err().to_string();
            assert!(err.contains("append-only"), "{sql}: {err}");
        }
        assert_eq!(verify_dir(&dir).unwrap().events, 10);
    }

    #[test]
    fn an_event_altered_in_a_block_is_named() {
        let (dir, _s) = trail(20);
        let mut b = read_blocks(&dir)[0].clone();
        b.events[4] = replace_in(b.events[4].clone(), "user5", "user6");
        rewrite_block(&dir, b.last, &b);
        let err = verify_dir(&dir).unwrap_err();
        assert!(matches!(err, VerifyError::Altered { seq: 5 }), "{err}");

        // Its hash recomputed too: the next event no longer follows it.
        let (dir, _s) = trail(20);
        let mut b = read_blocks(&dir)[0].clone();
        b.events[4] = replace_in(b.events[4].clone(), "user5", "user6");
        let h = chain_hash(&b.hashes[3 * HASH_LEN..4 * HASH_LEN], &b.events[4]);
        b.hashes[4 * HASH_LEN..5 * HASH_LEN].copy_from_slice(&h);
        rewrite_block(&dir, b.last, &b);
        let err = verify_dir(&dir).unwrap_err();
        assert!(matches!(err, VerifyError::Altered { seq: 6 }), "{err}");

        // The last event of a block so: the next block's link breaks.
        let (dir, _s) = trail(20);
        let mut b = read_blocks(&dir)[0].clone();
        // The record's copy only: the block's filter still matches.
        b.events[6] = replace_in(
            b.events[6].clone(),
            "\"eventID\":\"id-7\"",
            "\"eventID\":\"id-X\"",
        );
        let h = chain_hash(&b.hashes[5 * HASH_LEN..6 * HASH_LEN], &b.events[6]);
        b.hashes[6 * HASH_LEN..].copy_from_slice(&h);
        rewrite_block(&dir, b.last, &b);
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Unlinked {
                    seq: 8,
                    expected: 7
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn an_altered_block_column_or_body_is_named() {
        type Change = fn(&mut RawBlock);
        let cases: [(&str, Change); 5] = [
            ("min_time", |b| b.min -= 1),
            ("max_time", |b| b.max += 1),
            ("filter", |b| {
                b.filter.iter_mut().skip(1).for_each(|x| *x = 0)
            }),
            ("last_seq", |b| b.first += 1),
            ("hashes", |b| b.hashes.truncate(HASH_LEN)),
        ];
        for (field, change) in cases {
            let (dir, _s) = trail(10);
            let mut b = read_blocks(&dir)[0].clone();
            change(&mut b);
            rewrite_block(&dir, 7, &b);
            let err = verify_dir(&dir).unwrap_err();
            let first = if field == "last_seq" { 2 } else { 1 };
            assert!(
                matches!(err, VerifyError::BlockAltered { first: f, last: 7, field: x } if f == first && x == field),
                "{field}: {err}"
            );
        }
        let (dir, _s) = trail(10);
        tamper(
            &dir,
            "UPDATE audit_blocks SET body = x'ffffff7f00' WHERE last_seq = 10",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::Unreadable { seq: 8, .. }),
            "{err}"
        );
        tamper(
            &dir,
            "UPDATE audit_blocks SET body = substr(body, 1, 20) WHERE last_seq = 10",
        );
        assert!(matches!(
            verify_dir(&dir).unwrap_err(),
            VerifyError::Unreadable { seq: 8, .. }
        ));
    }

    #[test]
    fn removed_inserted_and_reordered_blocks_are_named() {
        let (dir, _s) = trail(21);
        tamper(&dir, "DELETE FROM audit_blocks WHERE last_seq = 14");
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Removed {
                    seq: 8,
                    before: 7,
                    after: 15
                }
            ),
            "{err}"
        );

        let (dir, _s) = trail(21);
        tamper(
            &dir,
            "DELETE FROM audit_blocks WHERE last_seq = 14;
             UPDATE audit_blocks SET first_seq = 8, last_seq = 14 WHERE last_seq = 21;",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Unlinked {
                    seq: 8,
                    expected: 7
                }
            ),
            "{err}"
        );

        let (dir, _s) = trail(21);
        tamper(
            &dir,
            "UPDATE audit_blocks SET first_seq = -7, last_seq = -1 WHERE last_seq = 14;
             UPDATE audit_blocks SET first_seq = 8, last_seq = 14 WHERE last_seq = 21;
             UPDATE audit_blocks SET first_seq = 15, last_seq = 21 WHERE last_seq = -1;",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Reordered {
                    seq: 8,
                    follows: 21,
                    expected: 7
                }
            ),
            "{err}"
        );

        // Removed from the end: the signed head tells.
        let (dir, _s) = trail(10);
        tamper(&dir, "DELETE FROM audit_blocks WHERE last_seq = 10");
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::Truncated { from: 8, to: 10 }),
            "{err}"
        );

        // A block forged at the end, correctly chained and summarized.
        let (dir, _s) = trail(10);
        let last = read_blocks(&dir)[1].hashes[2 * HASH_LEN..].to_vec();
        let mut buffers = AuditBuffers::default();
        let mut forged = BlockBuilder::new(11, last.clone(), &mut buffers);
        forged.push(&event(11), &last).unwrap();
        let forged = forged.finish();
        tamper(&dir, "SELECT 1");
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        insert_block(&conn, forged).unwrap();
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::Appended { from: 11, head: 10 }),
            "{err}"
        );

        // A block forged in the middle, the later blocks renumbered around it.
        let (dir, _s) = trail(14);
        let hash7 = read_blocks(&dir)[0].hashes[6 * HASH_LEN..].to_vec();
        tamper(
            &dir,
            "UPDATE audit_blocks SET first_seq = 9, last_seq = 15 WHERE last_seq = 14",
        );
        let mut forged = BlockBuilder::new(8, hash7.clone(), &mut buffers);
        forged.push(&event(8), &hash7).unwrap();
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        insert_block(&conn, forged.finish()).unwrap();
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Reordered {
                    seq: 9,
                    follows: 7,
                    expected: 8
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn blocks_regrouped_past_the_longest_span_are_caught() {
        // Two blocks an hour apart merged into one, chain intact and columns recomputed: a
        // lookup of the first hour would skip it.
        let (dir, store) = trail(0);
        let mut late = event(2);
        late.event_time_ms += 3_600_000;
        store.append_audit(&[event(1)]).unwrap();
        store.append_audit(&[late]).unwrap();
        let blocks = read_blocks(&dir);
        let events: Vec<AuditEvent> = blocks
            .iter()
            .flat_map(|b| &b.events)
            .map(|e| AuditEvent::from_canonical_bytes(e).unwrap())
            .collect();
        let mut summary = SummaryBuilder::new();
        events.iter().for_each(|e| summary.add(e));
        let summary = summary.finish();
        let merged = RawBlock {
            first: 1,
            last: 2,
            min: summary.min_time_ms,
            max: summary.max_time_ms,
            filter: summary.filter,
            prev: blocks[0].prev.clone(),
            hashes: [blocks[0].hashes.clone(), blocks[1].hashes.clone()].concat(),
            events: blocks.iter().flat_map(|b| b.events.clone()).collect(),
        };
        tamper(&dir, "DELETE FROM audit_blocks WHERE last_seq = 1");
        rewrite_block(&dir, 2, &merged);
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::BlockTooLong { first: 1, last: 2 }),
            "{err}"
        );
    }

    #[test]
    fn a_rechained_block_trail_is_caught_by_digests_and_its_filter() {
        // Every hash recomputed after changing a record: only the signed digest can tell.
        let (dir, _s) = trail(1003);
        rechain(&dir, |seq, bytes| {
            if seq == 2 {
                replace_in(bytes, "\"eventID\":\"id-2\"", "\"eventID\":\"id-Z\"")
            } else {
                bytes
            }
        });
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(err, VerifyError::DigestMismatch { seq: 1000 }),
            "{err}"
        );

        // A header changed and rechained: the block's filter no longer matches its events.
        let (dir, _s) = trail(10);
        rechain(&dir, |seq, bytes| {
            if seq == 4 {
                replace_in(bytes, "\"username\":\"root\"", "\"username\":\"mallory\"")
            } else {
                bytes
            }
        });
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::BlockAltered {
                    first: 1,
                    last: 7,
                    field: "filter"
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_trail_of_rows_continues_in_blocks() {
        let (dir, store) = row_trail(12);
        store.append_audit(&[event(13), event(14)]).unwrap();
        store.append_audit(&[event(15)]).unwrap();
        let blocks = read_blocks(&dir);
        let ranges: Vec<(i64, i64)> = blocks.iter().map(|b| (b.first, b.last)).collect();
        assert_eq!(ranges, [(13, 14), (15, 15)]);
        let conn = Connection::open(dir.path().join("moat.db")).unwrap();
        let last_row: Vec<u8> = conn
            .query_row("SELECT hash FROM audit_events WHERE seq = 12", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(blocks[0].prev, last_row, "the chain goes on from the rows");
        assert_eq!(verify_dir(&dir).unwrap().events, 15);
        let ids: Vec<String> = all_pages(&store, None, 4)
            .into_iter()
            .map(|e| e.event.event_id)
            .collect();
        let want: Vec<String> = (1..=15).rev().map(|i| format!("id-{i}")).collect();
        assert_eq!(ids, want);

        // A row forged after the blocks is out of place in the chain.
        tamper(
            &dir,
            "INSERT INTO audit_events SELECT 16, account, event_time, event_id, event_name, \
             event_source, read_only, username, access_key_id, resources, prev, hash, body \
             FROM audit_events WHERE seq = 12",
        );
        let err = verify_dir(&dir).unwrap_err();
        assert!(
            matches!(
                err,
                VerifyError::Reordered {
                    seq: 16,
                    follows: 11,
                    expected: 15
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn single_event_blocks_and_long_batches_split_by_time() {
        let (dir, store) = trail(0);
        for i in 1..=5 {
            store
                .write_scope(
                    || Ok::<_, StoreError>(()),
                    |tx, ()| tx.append_audit(&[event(i)]).map(|_| ()),
                )
                .unwrap()
                .unwrap();
        }
        // Events 1000 s apart: each its own block (no block spans more than a minute).
        store
            .append_audit(&[event(6), event(1006), event(7)])
            .unwrap();
        let ranges: Vec<(i64, i64)> = read_blocks(&dir)
            .iter()
            .map(|b| (b.first, b.last))
            .collect();
        assert_eq!(
            ranges,
            [
                (1, 1),
                (2, 2),
                (3, 3),
                (4, 4),
                (5, 5),
                (6, 6),
                (7, 7),
                (8, 8)
            ]
        );
        assert_eq!(verify_dir(&dir).unwrap().events, 8);
        let seqs: Vec<u64> = all_pages(&store, None, 3).iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [7, 8, 6, 5, 4, 3, 2, 1]);
    }

    fn all_pages(store: &Store, filter: Option<LookupFilter>, limit: usize) -> Vec<StoredEvent> {
        let mut out = Vec::new();
        let mut after = None;
        loop {
            let page = store
                .lookup_audit(&LookupQuery {
                    account: ACCOUNT.to_owned(),
                    start_ms: None,
                    end_ms: None,
                    filter: filter.clone(),
                    after,
                    limit,
                })
                .unwrap();
            assert!(page.events.len() <= limit);
            out.extend(page.events);
            match page.next {
                Some(c) => after = Some(c),
                None => return out,
            }
        }
    }

    #[test]
    fn paging_crosses_block_boundaries() {
        let (_dir, store) = trail(30);
        for limit in [1, 3, 7, 8, 50] {
            let ids: Vec<u64> = all_pages(&store, None, limit)
                .iter()
                .map(|e| e.seq)
                .collect();
            assert_eq!(ids, (1..=30).rev().collect::<Vec<_>>(), "limit {limit}");
        }
        let odd: Vec<u64> = all_pages(&store, Some(LookupFilter::ReadOnly(false)), 4)
            .iter()
            .map(|e| e.seq)
            .collect();
        assert_eq!(
            odd,
            (1..=30).rev().filter(|i| i % 2 == 1).collect::<Vec<_>>()
        );
    }

    /// A small deterministic generator (xorshift64*), so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn pick<'a>(&mut self, of: &[&'a str]) -> &'a str {
            of[usize::try_from(self.below(of.len() as u64)).unwrap()]
        }
    }

    const ACCOUNTS: [&str; 3] = [ACCOUNT, "222222222222", "333333333333"];
    const NAMES: [&str; 4] = ["GetUser", "CreateUser", "ListUsers", "Encrypt"];
    const USERS: [&str; 3] = ["root", "alice", "bob\u{1e}x"];
    const KEYS: [&str; 3] = ["AKIAONE", "AKIATWO", ""];
    const SOURCES: [&str; 2] = ["iam.amazonaws.com", "kms.amazonaws.com"];
    const TYPES: [&str; 3] = ["AWS::IAM::User", "AWS::KMS::Key", "AWS::IAM::Role"];
    const RNAMES: [&str; 5] = ["u1", "u2", "u\u{1f}3", "key/1", "r"];

    fn random_event(rng: &mut Rng, i: u64, base: i64) -> AuditEvent {
        // Times drift forward but jitter back and forth, so blocks' ranges overlap.
        let jitter = i64::try_from(rng.below(81)).unwrap() - 40;
        let mut resources = Vec::new();
        for _ in 0..rng.below(3) {
            resources.push(AuditResource {
                resource_type: rng.pick(&TYPES).to_owned(),
                resource_name: rng.pick(&RNAMES).to_owned(),
            });
        }
        AuditEvent {
            event_id: format!("id-{}", rng.below(400)),
            event_time_ms: base + i64::try_from(i).unwrap() * 3 + jitter,
            account: rng.pick(&ACCOUNTS).to_owned(),
            event_source: rng.pick(&SOURCES).to_owned(),
            event_name: rng.pick(&NAMES).to_owned(),
            read_only: rng.below(2) == 0,
            username: rng.pick(&USERS).to_owned(),
            access_key_id: rng.pick(&KEYS).to_owned(),
            resources,
            cloudtrail_event: format!("{{\"n\":{i}}}"),
        }
    }

    fn random_filter(rng: &mut Rng) -> Option<LookupFilter> {
        Some(match rng.below(10) {
            0 | 1 => return None,
            2 => LookupFilter::EventId(format!("id-{}", rng.below(400))),
            3 => LookupFilter::EventName(rng.pick(&NAMES).to_owned()),
            4 => LookupFilter::ReadOnly(rng.below(2) == 0),
            5 => LookupFilter::Username(rng.pick(&USERS).to_owned()),
            6 => LookupFilter::ResourceType(rng.pick(&TYPES).to_owned()),
            7 => LookupFilter::ResourceName(rng.pick(&RNAMES).to_owned()),
            8 => LookupFilter::EventSource(rng.pick(&SOURCES).to_owned()),
            _ => LookupFilter::AccessKeyId(rng.pick(&KEYS).to_owned()),
        })
    }

    /// The lookup's meaning, written plainly.
    fn reference(all: &[StoredEvent], q: &LookupQuery) -> Vec<StoredEvent> {
        let mut hits: Vec<StoredEvent> = all
            .iter()
            .filter(|s| {
                let e = &s.event;
                let resource = |f: &dyn Fn(&AuditResource) -> bool| e.resources.iter().any(f);
                e.account == q.account
                    && q.start_ms.is_none_or(|t| e.event_time_ms >= t)
                    && q.end_ms.is_none_or(|t| e.event_time_ms <= t)
                    && q.after
                        .is_none_or(|c| (e.event_time_ms, s.seq) < (c.event_time_ms, c.seq))
                    && match &q.filter {
                        None => true,
                        Some(LookupFilter::EventId(v)) => e.event_id == *v,
                        Some(LookupFilter::EventName(v)) => e.event_name == *v,
                        Some(LookupFilter::ReadOnly(v)) => e.read_only == *v,
                        Some(LookupFilter::Username(v)) => e.username == *v,
                        Some(LookupFilter::EventSource(v)) => e.event_source == *v,
                        Some(LookupFilter::AccessKeyId(v)) => e.access_key_id == *v,
                        Some(LookupFilter::ResourceType(v)) => resource(&|r| r.resource_type == *v),
                        Some(LookupFilter::ResourceName(v)) => resource(&|r| r.resource_name == *v),
                    }
            })
            .cloned()
            .collect();
        hits.sort_by_key(|s| std::cmp::Reverse((s.event.event_time_ms, s.seq)));
        hits
    }

    #[test]
    fn lookups_over_rows_and_blocks_match_a_plain_reference() {
        let mut rng = Rng(0x5eed_1234_abcd_0001);
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open_sqlite(dir.path(), key()).unwrap();
        let base = 1_700_000_000_000;
        let all: Vec<StoredEvent> = (1..=900)
            .map(|i| StoredEvent {
                seq: i,
                event: random_event(&mut rng, i, base),
            })
            .collect();
        // The first 200 as rows (an older build's trail), the rest in batches of 1 to 40.
        let events: Vec<AuditEvent> = all.iter().map(|s| s.event.clone()).collect();
        let (rows, rest) = events.split_at(200);
        for chunk in rows.chunks(50) {
            store
                .write(|tx| append_rows(tx.conn(), tx.signer(), chunk, AuditEvent::canonical_bytes))
                .unwrap();
        }
        let mut rest = rest;
        while !rest.is_empty() {
            let n = usize::try_from(1 + rng.below(40)).unwrap().min(rest.len());
            let (batch, tail) = rest.split_at(n);
            store.append_audit(batch).unwrap();
            rest = tail;
        }
        assert_eq!(verify_dir(&dir).unwrap().events, 900);
        let span = 900 * 3;
        for round in 0..300 {
            let bound = |rng: &mut Rng| {
                (rng.below(3) == 0)
                    .then(|| base - 50 + i64::try_from(rng.below(span + 100)).unwrap())
            };
            let (a, b) = (bound(&mut rng), bound(&mut rng));
            let (start_ms, end_ms) = match (a, b) {
                (Some(a), Some(b)) => (Some(a.min(b)), Some(a.max(b))),
                other => other,
            };
            let mut q = LookupQuery {
                account: ACCOUNTS[usize::try_from(rng.below(3)).unwrap()].to_owned(),
                start_ms,
                end_ms,
                filter: random_filter(&mut rng),
                after: None,
                limit: usize::try_from(1 + rng.below(60)).unwrap(),
            };
            let want = reference(&all, &q);
            let mut got = Vec::new();
            let mut pages = 0;
            loop {
                let page = store.lookup_audit(&q).unwrap();
                let page_ids: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
                let expected_ids: Vec<u64> = want
                    .iter()
                    .skip(got.len())
                    .take(q.limit)
                    .map(|e| e.seq)
                    .collect();
                assert_eq!(page_ids, expected_ids, "round {round}, page {pages}: {q:?}");
                got.extend(page.events);
                pages += 1;
                match page.next {
                    Some(c) => q.after = Some(c),
                    None => break,
                }
            }
            assert_eq!(got.len(), want.len(), "round {round}: {q:?}");
            assert!(got.iter().zip(&want).all(|(g, w)| g == w), "round {round}");
        }
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
