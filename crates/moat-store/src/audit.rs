//! The audit trail: an append-only, hash-chained log of events with signed checkpoints.
//!
//! Each event is stored as its canonical bytes ([`AuditEvent::canonical_bytes`]) together with
//! `prev` (the hash of the event before it; 32 zero bytes for the first) and
//! `hash = SHA-256(prev || bytes)`. Altering an event breaks its own hash; removing, inserting
//! or reordering events breaks the link from one event to the next. Hashes alone can be
//! recomputed by whoever can write the file, so the chain's head is also signed on every
//! append, and a digest (a signed `(count, chain hash, time)`) is kept every
//! [`DIGEST_EVERY`] events and whenever [`crate::Store::audit_checkpoint`] runs (the server
//! does so every minute). Signatures are HMAC-SHA256 under a random key sealed by the root key,
//! so neither a chain rewritten from scratch nor a truncated one verifies without that key.
//!
//! Events are stored in blocks, one per appended batch (see [`BlockBuilder`]): the events'
//! bytes compressed together, each event's hash, and a filter that lets lookups skip blocks.
//! The chain is per event whatever the storage, so a trail begun as one row per event (the
//! first builds) continues into blocks and verifies as one chain.
//!
//! This module is backend-neutral: the types, the hashing and signing, the block format, and
//! the verifier's rules. `audit_sqlite` stores and queries them.

use ring::digest::{Context, SHA256};
use ring::hmac;
use serde::{Deserialize, Serialize};

/// A digest is written whenever the chain's length reaches a multiple of this.
pub const DIGEST_EVERY: u64 = 1000;

/// The `prev` of the first event.
pub const GENESIS: [u8; 32] = [0u8; 32];

/// The purpose the signing key is sealed under (also its name in `meta`).
pub(crate) const SIGNING_KEY_PURPOSE: &str = "audit-signing-key";

/// One audited call, as it is chained. The fields besides `cloudtrail_event` are what lookups
/// filter on; they are copied into indexed columns (rows) or a block's filter, and the
/// verifier checks that the copies still match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditEvent {
    pub event_id: String,
    /// Milliseconds since the Unix epoch.
    pub event_time_ms: i64,
    /// The account whose trail holds the event (CloudTrail's `recipientAccountId`).
    pub account: String,
    pub event_source: String,
    pub event_name: String,
    pub read_only: bool,
    /// `root` for the account root, the user name for IAM users.
    pub username: String,
    pub access_key_id: String,
    pub resources: Vec<AuditResource>,
    /// The CloudTrail record as JSON text, returned verbatim by lookups.
    pub cloudtrail_event: String,
}

/// A resource an event names, as LookupEvents reports it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditResource {
    pub resource_type: String,
    pub resource_name: String,
}

/// The fields of an event besides its CloudTrail record, as the header of its stored bytes.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Header<S, R> {
    /// The format of the stored bytes: [`FORMAT`].
    v: u32,
    event_id: S,
    event_time_ms: i64,
    account: S,
    event_source: S,
    event_name: S,
    read_only: bool,
    username: S,
    access_key_id: S,
    resources: R,
}

/// The format [`AuditEvent::canonical_bytes`] writes. Format 1 (the first trails) was the JSON
/// of the whole [`AuditEvent`], the record escaped as a JSON string; it is still read.
pub const FORMAT: u32 = 2;

impl AuditEvent {
    /// The bytes that are stored and hashed (format 2): the JSON of every field but the
    /// record (one line: compact JSON holds no raw newline), a newline, then the CloudTrail
    /// record verbatim. Writing the record as is, rather than escaped inside a JSON string,
    /// makes events smaller and cheaper to encode.
    pub fn canonical_bytes(&self) -> Result<Vec<u8>, serde_json::Error> {
        let mut out = Vec::with_capacity(HEADER_CAPACITY + self.cloudtrail_event.len());
        self.write_canonical_bytes(&mut out)?;
        Ok(out)
    }

    /// [`AuditEvent::canonical_bytes`] appended to `out` (a block's buffer: no copy).
    pub fn write_canonical_bytes(&self, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
        serde_json::to_writer(
            &mut *out,
            &Header {
                v: FORMAT,
                event_id: self.event_id.as_str(),
                event_time_ms: self.event_time_ms,
                account: self.account.as_str(),
                event_source: self.event_source.as_str(),
                event_name: self.event_name.as_str(),
                read_only: self.read_only,
                username: self.username.as_str(),
                access_key_id: self.access_key_id.as_str(),
                resources: self.resources.as_slice(),
            },
        )?;
        out.push(b'\n');
        out.extend_from_slice(self.cloudtrail_event.as_bytes());
        Ok(())
    }

    /// Reads stored bytes of either format.
    pub fn from_canonical_bytes(bytes: &[u8]) -> Result<AuditEvent, serde_json::Error> {
        let Some(newline) = bytes.iter().position(|&b| b == b'\n') else {
            // Format 1: compact JSON, no newline anywhere.
            return serde_json::from_slice(bytes);
        };
        let (header, record) = bytes.split_at(newline);
        let header: Header<String, Vec<AuditResource>> = serde_json::from_slice(header)?;
        if header.v != FORMAT {
            return Err(serde::de::Error::custom(format_args!(
                "unknown event format {}",
                header.v
            )));
        }
        let record = record.get(1..).unwrap_or_default();
        let cloudtrail_event = String::from_utf8(record.to_vec())
            .map_err(|_| serde::de::Error::custom("the record is not UTF-8"))?;
        Ok(AuditEvent {
            event_id: header.event_id,
            event_time_ms: header.event_time_ms,
            account: header.account,
            event_source: header.event_source,
            event_name: header.event_name,
            read_only: header.read_only,
            username: header.username,
            access_key_id: header.access_key_id,
            resources: header.resources,
            cloudtrail_event,
        })
    }
}

/// Room for a typical header, so encoding allocates once.
const HEADER_CAPACITY: usize = 384;

/// Separators of the indexed resources column: each resource is `RS type US name RS`, so a
/// lookup matches a whole type (`RS type US`) or a whole name (`US name RS`) with one substring
/// search. The separators are control characters no IAM name holds; any in a value are
/// replaced, identically on append and in the verifier.
pub(crate) const RS: char = '\u{1e}';
pub(crate) const US: char = '\u{1f}';

fn push_clean(out: &mut String, s: &str) {
    out.extend(s.chars().map(|c| if c == RS || c == US { '?' } else { c }));
}

/// The indexed form of an event's resources.
pub(crate) fn resources_column(resources: &[AuditResource]) -> String {
    let mut out = String::new();
    for r in resources {
        out.push(RS);
        push_clean(&mut out, &r.resource_type);
        out.push(US);
        push_clean(&mut out, &r.resource_name);
        out.push(RS);
    }
    out
}

/// The search string that matches a resource type in the column.
pub(crate) fn type_needle(resource_type: &str) -> String {
    let mut out = String::from(RS);
    push_clean(&mut out, resource_type);
    out.push(US);
    out
}

/// The search string that matches a resource name in the column.
pub(crate) fn name_needle(resource_name: &str) -> String {
    let mut out = String::from(US);
    push_clean(&mut out, resource_name);
    out.push(RS);
    out
}

/// `SHA-256(prev || bytes)`.
pub fn chain_hash(prev: &[u8], bytes: &[u8]) -> [u8; 32] {
    let mut ctx = Context::new(&SHA256);
    ctx.update(prev);
    ctx.update(bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// One lookup condition; CloudTrail allows one per call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupFilter {
    EventId(String),
    EventName(String),
    ReadOnly(bool),
    Username(String),
    ResourceType(String),
    ResourceName(String),
    EventSource(String),
    AccessKeyId(String),
}

/// A position in newest-first order: lookups continue strictly after (older than) it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub event_time_ms: i64,
    pub seq: u64,
}

/// A page of one account's events, newest first.
#[derive(Debug, Clone)]
pub struct LookupQuery {
    pub account: String,
    /// Inclusive bounds in milliseconds.
    pub start_ms: Option<i64>,
    pub end_ms: Option<i64>,
    pub filter: Option<LookupFilter>,
    pub after: Option<Cursor>,
    pub limit: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub seq: u64,
    pub event: AuditEvent,
}

#[derive(Debug, Clone)]
pub struct LookupPage {
    pub events: Vec<StoredEvent>,
    /// Where the next page starts, when there may be one.
    pub next: Option<Cursor>,
}

/// Signs the chain's head and digests. Holds the unsealed key; never printed.
pub(crate) struct Signer {
    key: hmac::Key,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    pub(crate) fn new(key_bytes: &[u8]) -> Signer {
        Signer {
            key: hmac::Key::new(hmac::HMAC_SHA256, key_bytes),
        }
    }

    fn head_message(seq: u64, hash: &[u8]) -> Vec<u8> {
        let mut m = b"moat-audit-head-v1\0".to_vec();
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(hash);
        m
    }

    fn digest_message(seq: u64, created_ms: i64, hash: &[u8]) -> Vec<u8> {
        let mut m = b"moat-audit-digest-v1\0".to_vec();
        m.extend_from_slice(&seq.to_be_bytes());
        m.extend_from_slice(&created_ms.to_be_bytes());
        m.extend_from_slice(hash);
        m
    }

    pub(crate) fn sign_head(&self, seq: u64, hash: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, &Self::head_message(seq, hash))
            .as_ref()
            .to_vec()
    }

    pub(crate) fn sign_digest(&self, seq: u64, created_ms: i64, hash: &[u8]) -> Vec<u8> {
        hmac::sign(&self.key, &Self::digest_message(seq, created_ms, hash))
            .as_ref()
            .to_vec()
    }

    /// Constant-time checks.
    pub(crate) fn head_is_valid(&self, seq: u64, hash: &[u8], signature: &[u8]) -> bool {
        hmac::verify(&self.key, &Self::head_message(seq, hash), signature).is_ok()
    }

    pub(crate) fn digest_is_valid(
        &self,
        seq: u64,
        created_ms: i64,
        hash: &[u8],
        signature: &[u8],
    ) -> bool {
        hmac::verify(
            &self.key,
            &Self::digest_message(seq, created_ms, hash),
            signature,
        )
        .is_ok()
    }
}

/// What a successful verification covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub digests: u64,
    /// The time of the newest digest, in milliseconds, if any.
    pub last_digest_ms: Option<i64>,
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: u64| if n == 1 { "" } else { "s" };
        write!(
            f,
            "audit trail intact: {} event{}, {} signed digest{}, signed head at event #{}",
            self.events,
            plural(self.events),
            self.digests,
            plural(self.digests),
            self.events
        )
    }
}

/// Why the trail does not verify. Each message is one line naming the event.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("this database holds no audit trail (no signing key); it was not written by a moat that audits, or the trail was removed")]
    NoTrail,
    #[error("the root key does not match this data directory")]
    WrongRootKey,
    #[error("event #{seq} was altered: its hash does not match its contents")]
    Altered { seq: u64 },
    #[error("event #{seq} was altered: its indexed `{field}` differs from its record")]
    IndexAltered { seq: u64, field: &'static str },
    #[error("events #{first} to #{last} were altered: their block's `{field}` differs from their records")]
    BlockAltered {
        first: u64,
        last: u64,
        field: &'static str,
    },
    #[error("events #{first} to #{last} were regrouped: their block spans more time than one may, so lookups would miss some of them")]
    BlockTooLong { first: u64, last: u64 },
    #[error("event #{seq} is unreadable: {detail}")]
    Unreadable { seq: u64, detail: String },
    #[error("event #{seq} was removed (the trail jumps from #{before} to #{after})")]
    Removed { seq: u64, before: u64, after: u64 },
    #[error("event #{seq} follows event #{follows} instead of #{expected}: events were reordered, inserted or removed")]
    Reordered {
        seq: u64,
        follows: u64,
        expected: u64,
    },
    #[error("the chain is broken between events #{expected} and #{seq}: an event was altered, inserted or removed")]
    Unlinked { seq: u64, expected: u64 },
    #[error("events #{from} to #{to} were removed from the end of the trail (the signed head covers #{to})")]
    Truncated { from: u64, to: u64 },
    #[error("event #{from} and later are not covered by the signed head (which ends at #{head}): they were inserted")]
    Appended { from: u64, head: u64 },
    #[error("the trail's head signature is invalid")]
    BadHeadSignature,
    #[error("the signed head is missing")]
    NoHead,
    #[error("the signed head does not match event #{seq}: the trail was rewritten")]
    HeadMismatch { seq: u64 },
    #[error("the digest at event #{seq} has an invalid signature")]
    BadDigestSignature { seq: u64 },
    #[error("the digest at event #{seq} does not match the chain: events up to #{seq} were altered, removed, inserted or reordered")]
    DigestMismatch { seq: u64 },
    #[error(
        "the digest at event #{seq} covers events that were removed (the trail ends at #{last})"
    )]
    DigestBeyondEnd { seq: u64, last: u64 },
    #[error("cannot read the trail: {0}")]
    Store(#[from] crate::StoreError),
}

impl From<rusqlite::Error> for VerifyError {
    fn from(e: rusqlite::Error) -> Self {
        VerifyError::Store(crate::StoreError::from(e))
    }
}

/// One stored event as the verifier reads it: a row, or one event of a block.
pub(crate) struct Row<'a> {
    pub seq: u64,
    pub prev: &'a [u8],
    pub hash: &'a [u8],
    pub body: &'a [u8],
    /// A row's indexed copies; a block's are checked for the whole block.
    pub columns: Option<IndexColumns>,
}

/// The copies of an event's fields kept for lookups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IndexColumns {
    pub account: String,
    pub event_time_ms: i64,
    pub event_id: String,
    pub event_name: String,
    pub event_source: String,
    pub read_only: bool,
    pub username: String,
    pub access_key_id: String,
    pub resources: String,
}

impl IndexColumns {
    pub(crate) fn of(e: &AuditEvent) -> IndexColumns {
        IndexColumns {
            account: e.account.clone(),
            event_time_ms: e.event_time_ms,
            event_id: e.event_id.clone(),
            event_name: e.event_name.clone(),
            event_source: e.event_source.clone(),
            read_only: e.read_only,
            username: e.username.clone(),
            access_key_id: e.access_key_id.clone(),
            resources: resources_column(&e.resources),
        }
    }

    /// The first field that differs, by name.
    fn first_difference(&self, other: &IndexColumns) -> Option<&'static str> {
        if self.account != other.account {
            Some("account")
        } else if self.event_time_ms != other.event_time_ms {
            Some("event_time")
        } else if self.event_id != other.event_id {
            Some("event_id")
        } else if self.event_name != other.event_name {
            Some("event_name")
        } else if self.event_source != other.event_source {
            Some("event_source")
        } else if self.read_only != other.read_only {
            Some("read_only")
        } else if self.username != other.username {
            Some("username")
        } else if self.access_key_id != other.access_key_id {
            Some("access_key_id")
        } else if self.resources != other.resources {
            Some("resources")
        } else {
            None
        }
    }
}

/// A digest row.
pub(crate) struct Digest {
    pub seq: u64,
    pub created_ms: i64,
    pub hash: Vec<u8>,
    pub signature: Vec<u8>,
}

/// The signed head row.
pub(crate) struct Head {
    pub seq: u64,
    pub hash: Vec<u8>,
    pub signature: Vec<u8>,
}

/// Finds the event whose hash is given (only asked when a link is broken).
pub(crate) type FindHash<'f> = dyn FnMut(&[u8]) -> Result<Option<u64>, VerifyError> + 'f;

/// Walks the chain in order; the backend feeds it rows and then the head.
pub(crate) struct Verifier<'a> {
    signer: &'a Signer,
    /// Digests by ascending seq, not yet reached.
    digests: std::collections::VecDeque<Digest>,
    digest_count: u64,
    last_digest_ms: Option<i64>,
    last_seq: u64,
    last_hash: Vec<u8>,
}

impl<'a> Verifier<'a> {
    pub(crate) fn new(signer: &'a Signer, mut digests: Vec<Digest>) -> Result<Self, VerifyError> {
        digests.sort_by_key(|d| d.seq);
        for d in &digests {
            if !signer.digest_is_valid(d.seq, d.created_ms, &d.hash, &d.signature) {
                return Err(VerifyError::BadDigestSignature { seq: d.seq });
            }
        }
        let digest_count = u64::try_from(digests.len()).unwrap_or(u64::MAX);
        let last_digest_ms = digests.iter().map(|d| d.created_ms).max();
        let mut v = Verifier {
            signer,
            digests: digests.into(),
            digest_count,
            last_digest_ms,
            last_seq: 0,
            last_hash: GENESIS.to_vec(),
        };
        v.check_digests_at_current()?;
        Ok(v)
    }

    /// Checks the next row. `find_hash` locates the event whose hash is given, to tell a
    /// reordering from a removal; it runs only when a link is broken.
    /// Returns the event, read.
    pub(crate) fn next(
        &mut self,
        row: &Row<'_>,
        find_hash: &mut FindHash<'_>,
    ) -> Result<AuditEvent, VerifyError> {
        let expected = self.last_seq + 1;
        if chain_hash(row.prev, row.body).as_slice() != row.hash {
            return Err(VerifyError::Altered { seq: row.seq });
        }
        if row.prev != self.last_hash {
            if row.seq > expected {
                return Err(VerifyError::Removed {
                    seq: expected,
                    before: self.last_seq,
                    after: row.seq,
                });
            }
            return Err(match find_hash(row.prev)? {
                Some(follows) => VerifyError::Reordered {
                    seq: row.seq,
                    follows,
                    expected: self.last_seq,
                },
                None => VerifyError::Unlinked {
                    seq: row.seq,
                    expected: self.last_seq,
                },
            });
        }
        if row.seq != expected {
            // Linked correctly but renumbered: something was removed and the rest shifted.
            return Err(VerifyError::Removed {
                seq: expected,
                before: self.last_seq,
                after: row.seq,
            });
        }
        let event =
            AuditEvent::from_canonical_bytes(row.body).map_err(|e| VerifyError::Unreadable {
                seq: row.seq,
                detail: e.to_string(),
            })?;
        if let Some(columns) = &row.columns {
            if let Some(field) = IndexColumns::of(&event).first_difference(columns) {
                return Err(VerifyError::IndexAltered {
                    seq: row.seq,
                    field,
                });
            }
        }
        self.last_seq = row.seq;
        self.last_hash = row.hash.to_vec();
        self.check_digests_at_current()?;
        Ok(event)
    }

    fn check_digests_at_current(&mut self) -> Result<(), VerifyError> {
        while let Some(d) = self.digests.front() {
            if d.seq > self.last_seq {
                break;
            }
            if d.seq < self.last_seq || d.hash != self.last_hash {
                return Err(VerifyError::DigestMismatch { seq: d.seq });
            }
            self.digests.pop_front();
        }
        Ok(())
    }

    /// Checks the head against the end of the chain.
    pub(crate) fn finish(self, head: Option<Head>) -> Result<VerifyReport, VerifyError> {
        let head = head.ok_or(VerifyError::NoHead)?;
        if !self
            .signer
            .head_is_valid(head.seq, &head.hash, &head.signature)
        {
            return Err(VerifyError::BadHeadSignature);
        }
        if head.seq > self.last_seq {
            return Err(VerifyError::Truncated {
                from: self.last_seq + 1,
                to: head.seq,
            });
        }
        if head.seq < self.last_seq {
            return Err(VerifyError::Appended {
                from: head.seq + 1,
                head: head.seq,
            });
        }
        if head.hash != self.last_hash {
            return Err(VerifyError::HeadMismatch { seq: head.seq });
        }
        // A digest past a head that checks out: an older signed head was put back after the
        // events that followed it were removed.
        if let Some(d) = self.digests.front() {
            return Err(VerifyError::DigestBeyondEnd {
                seq: d.seq,
                last: self.last_seq,
            });
        }
        Ok(VerifyReport {
            events: self.last_seq,
            digests: self.digest_count,
            last_digest_ms: self.last_digest_ms,
        })
    }
}

// --- Blocks ------------------------------------------------------------------------------------

/// A block is cut before an event that would widen its time range past this, so a lookup
/// bounded by time finds every block that may hold its events in one index range (a block's
/// `max_time` is at most this past any of its events).
pub const MAX_BLOCK_SPAN_MS: i64 = 60_000;

/// A block is cut before an event that would take its uncompressed bytes past this (unless it
/// is the block's first), which bounds what a lookup decompresses for one block.
pub const MAX_BLOCK_BYTES: usize = 1 << 20;

/// A stored size larger than this is refused rather than allocated (the size is read from a
/// file anyone with access could edit). Far above [`MAX_BLOCK_BYTES`] plus one event.
const MAX_BODY_BYTES: usize = 64 << 20;

/// Length of an event hash, and of each entry of a block's `hashes`.
pub const HASH_LEN: usize = 32;

/// The filter's probes per key (the first byte of a stored filter).
const FILTER_PROBES: u8 = 7;
/// Filter bits per distinct key: about 1% false positives with 7 probes.
const FILTER_BITS_PER_KEY: usize = 10;
const FILTER_MIN_BYTES: usize = 64;

/// What a filter key names; its byte is part of the key, so it is stored format.
#[derive(Clone, Copy)]
#[repr(u8)]
enum KeyTag {
    Account = 0,
    EventId = 1,
    EventName = 2,
    ReadOnly = 3,
    Username = 4,
    ResourceType = 5,
    ResourceName = 6,
    EventSource = 7,
    AccessKeyId = 8,
}

/// A stable 64-bit hash of `tag || account || 0xFF || value` (0xFF never occurs in UTF-8, so
/// the parts cannot run together). Stored filters depend on it: it must never change.
fn key_hash(buf: &mut Vec<u8>, tag: KeyTag, account: &str, value: &[u8]) -> u64 {
    buf.clear();
    buf.push(tag as u8);
    buf.extend_from_slice(account.as_bytes());
    buf.push(0xFF);
    buf.extend_from_slice(value);
    hash64(buf)
}

fn hash64(bytes: &[u8]) -> u64 {
    const M: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = u64::try_from(bytes.len())
        .unwrap_or(u64::MAX)
        .wrapping_mul(M);
    let mut chunks = bytes.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = (h ^ u64::from_le_bytes(w)).wrapping_mul(M).rotate_left(29);
    }
    let mut tail = [0u8; 8];
    for (t, b) in tail.iter_mut().zip(chunks.remainder()) {
        *t = *b;
    }
    h = (h ^ u64::from_le_bytes(tail)).wrapping_mul(M);
    // MurmurHash3's finalizer.
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

fn clean(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains([RS, US]) {
        let mut out = String::with_capacity(s.len());
        push_clean(&mut out, s);
        std::borrow::Cow::Owned(out)
    } else {
        std::borrow::Cow::Borrowed(s)
    }
}

/// The filter keys a lookup needs present in a block: its account's, and its filter's. A
/// resource's type and name are keyed as the resources column matches them (cleaned).
pub(crate) fn query_keys(account: &str, filter: Option<&LookupFilter>) -> Vec<u64> {
    let mut buf = Vec::new();
    let mut keys = vec![key_hash(&mut buf, KeyTag::Account, account, b"")];
    let (tag, value) = match filter {
        None => return keys,
        Some(LookupFilter::EventId(v)) => (KeyTag::EventId, v.clone()),
        Some(LookupFilter::EventName(v)) => (KeyTag::EventName, v.clone()),
        Some(LookupFilter::ReadOnly(v)) => (KeyTag::ReadOnly, read_only_value(*v).to_owned()),
        Some(LookupFilter::Username(v)) => (KeyTag::Username, v.clone()),
        Some(LookupFilter::ResourceType(v)) => (KeyTag::ResourceType, clean(v).into_owned()),
        Some(LookupFilter::ResourceName(v)) => (KeyTag::ResourceName, clean(v).into_owned()),
        Some(LookupFilter::EventSource(v)) => (KeyTag::EventSource, v.clone()),
        Some(LookupFilter::AccessKeyId(v)) => (KeyTag::AccessKeyId, v.clone()),
    };
    keys.push(key_hash(&mut buf, tag, account, value.as_bytes()));
    keys
}

fn read_only_value(v: bool) -> &'static str {
    if v {
        "true"
    } else {
        "false"
    }
}

/// Whether an event matches a lookup's filter, exactly as the rows' SQL matches it.
pub(crate) fn filter_matches(e: &AuditEvent, filter: Option<&LookupFilter>) -> bool {
    match filter {
        None => true,
        Some(LookupFilter::EventId(v)) => e.event_id == *v,
        Some(LookupFilter::EventName(v)) => e.event_name == *v,
        Some(LookupFilter::ReadOnly(v)) => e.read_only == *v,
        Some(LookupFilter::Username(v)) => e.username == *v,
        Some(LookupFilter::EventSource(v)) => e.event_source == *v,
        Some(LookupFilter::AccessKeyId(v)) => e.access_key_id == *v,
        Some(LookupFilter::ResourceType(v)) => {
            resources_column(&e.resources).contains(&type_needle(v))
        }
        Some(LookupFilter::ResourceName(v)) => {
            resources_column(&e.resources).contains(&name_needle(v))
        }
    }
}

/// Whether a stored filter may hold `key`; false only when it certainly does not. A filter
/// that is not one (altered) answers yes: lookups then read the block.
pub(crate) fn filter_may_contain(filter: &[u8], key: u64) -> bool {
    let Some((&probes, bits)) = filter.split_first() else {
        return true;
    };
    let m = u64::try_from(bits.len()).unwrap_or(0).saturating_mul(8);
    if m == 0 {
        return true;
    }
    let (mut h, step) = (key, key.rotate_left(32) | 1);
    for _ in 0..probes {
        let bit = h % m;
        let byte = usize::try_from(bit / 8).unwrap_or(usize::MAX);
        match bits.get(byte) {
            Some(b) if b & (1 << (bit % 8)) != 0 => {}
            _ => return false,
        }
        h = h.wrapping_add(step);
    }
    true
}

/// The columns of a block besides its chain, as computed from its events: the verifier
/// recomputes them and compares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BlockSummary {
    pub min_time_ms: i64,
    pub max_time_ms: i64,
    pub filter: Vec<u8>,
}

/// Gathers a block's time range and filter keys, event by event.
pub(crate) struct SummaryBuilder {
    min_time_ms: i64,
    max_time_ms: i64,
    keys: Vec<u64>,
    buf: Vec<u8>,
    /// Per tag, the account and value last keyed: consecutive events mostly repeat them, and
    /// comparing is cheaper than hashing again.
    recent: [(String, String); RECENT_TAGS],
}

/// Tags below this are remembered in [`SummaryBuilder::recent`].
const RECENT_TAGS: usize = 9;

impl SummaryBuilder {
    pub(crate) fn new() -> SummaryBuilder {
        SummaryBuilder {
            min_time_ms: i64::MAX,
            max_time_ms: i64::MIN,
            keys: Vec::new(),
            buf: Vec::with_capacity(128),
            recent: Default::default(),
        }
    }

    fn key(&mut self, tag: KeyTag, account: &str, value: &str) {
        if let Some((a, v)) = self.recent.get_mut(tag as usize) {
            if a == account && v == value {
                return;
            }
            a.clear();
            a.push_str(account);
            v.clear();
            v.push_str(value);
        }
        let h = key_hash(&mut self.buf, tag, account, value.as_bytes());
        self.keys.push(h);
    }

    pub(crate) fn add(&mut self, e: &AuditEvent) {
        self.min_time_ms = self.min_time_ms.min(e.event_time_ms);
        self.max_time_ms = self.max_time_ms.max(e.event_time_ms);
        let a = e.account.as_str();
        self.key(KeyTag::Account, a, "");
        // Unique per event: not worth remembering.
        let id = key_hash(&mut self.buf, KeyTag::EventId, a, e.event_id.as_bytes());
        self.keys.push(id);
        self.key(KeyTag::EventName, a, &e.event_name);
        self.key(KeyTag::ReadOnly, a, read_only_value(e.read_only));
        self.key(KeyTag::Username, a, &e.username);
        self.key(KeyTag::EventSource, a, &e.event_source);
        self.key(KeyTag::AccessKeyId, a, &e.access_key_id);
        for r in &e.resources {
            self.key(KeyTag::ResourceType, a, &clean(&r.resource_type));
            self.key(KeyTag::ResourceName, a, &clean(&r.resource_name));
        }
    }

    /// Whether `time_ms` can join without widening the range past [`MAX_BLOCK_SPAN_MS`].
    fn fits(&self, time_ms: i64) -> bool {
        let min = self.min_time_ms.min(time_ms);
        let max = self.max_time_ms.max(time_ms);
        max.saturating_sub(min) <= MAX_BLOCK_SPAN_MS
    }

    /// A Bloom filter over the distinct keys: `[probes] ++ bits`.
    pub(crate) fn finish(mut self) -> BlockSummary {
        self.keys.sort_unstable();
        self.keys.dedup();
        let bytes = (self.keys.len() * FILTER_BITS_PER_KEY)
            .div_ceil(8)
            .max(FILTER_MIN_BYTES);
        let mut filter = vec![0u8; bytes + 1];
        let m = u64::try_from(bytes).unwrap_or(0) * 8;
        if let Some((probes, bits)) = filter.split_first_mut() {
            *probes = FILTER_PROBES;
            for &key in &self.keys {
                let (mut h, step) = (key, key.rotate_left(32) | 1);
                for _ in 0..FILTER_PROBES {
                    let bit = h % m;
                    if let Some(b) = bits.get_mut(usize::try_from(bit / 8).unwrap_or(usize::MAX)) {
                        *b |= 1 << (bit % 8);
                    }
                    h = h.wrapping_add(step);
                }
            }
        }
        BlockSummary {
            min_time_ms: self.min_time_ms,
            max_time_ms: self.max_time_ms,
            filter,
        }
    }
}

/// Buffers every append reuses (one set per store, used under its writer): a block's bytes
/// and their compression. Allocated per block, they would be fresh pages each time, faulted in
/// and zeroed, and kept around by the allocator of each thread that appended.
#[derive(Default)]
pub(crate) struct AuditBuffers {
    raw: Vec<u8>,
    compressed: Vec<u8>,
}

/// Larger buffers (a block of huge events) are not kept.
const BUFFERS_KEPT: usize = 2 * MAX_BLOCK_BYTES;

/// A block being appended: consecutive events, each as `u32 LE length ++ canonical bytes`, and
/// each event's chain hash.
pub(crate) struct BlockBuilder<'b> {
    pub first_seq: u64,
    /// The hash of the event before the block.
    pub prev: Vec<u8>,
    buffers: &'b mut AuditBuffers,
    hashes: Vec<u8>,
    summary: SummaryBuilder,
}

/// A block ready to store.
pub(crate) struct EncodedBlock {
    pub first_seq: u64,
    pub last_seq: u64,
    pub summary: BlockSummary,
    pub prev: Vec<u8>,
    pub hashes: Vec<u8>,
    /// `u32 LE uncompressed length ++ LZ4 block`.
    pub body: Vec<u8>,
}

impl<'b> BlockBuilder<'b> {
    pub(crate) fn new(first_seq: u64, prev: Vec<u8>, buffers: &'b mut AuditBuffers) -> Self {
        buffers.raw.clear();
        BlockBuilder {
            first_seq,
            prev,
            buffers,
            hashes: Vec::new(),
            summary: SummaryBuilder::new(),
        }
    }

    pub(crate) fn len(&self) -> u64 {
        u64::try_from(self.hashes.len() / HASH_LEN).unwrap_or(u64::MAX)
    }

    /// Whether `e` belongs in a new block instead (this one is full, or would span too long).
    pub(crate) fn must_cut_before(&self, e: &AuditEvent) -> bool {
        self.len() > 0
            && (self.buffers.raw.len() + HEADER_CAPACITY + e.cloudtrail_event.len()
                > MAX_BLOCK_BYTES
                || !self.summary.fits(e.event_time_ms))
    }

    /// Encodes `e` into the block, chains it after `prev_hash` and returns its hash.
    pub(crate) fn push(
        &mut self,
        e: &AuditEvent,
        prev_hash: &[u8],
    ) -> Result<[u8; HASH_LEN], serde_json::Error> {
        let raw = &mut self.buffers.raw;
        let start = raw.len();
        raw.extend_from_slice(&[0u8; 4]);
        if let Err(err) = e.write_canonical_bytes(raw) {
            raw.truncate(start);
            return Err(err);
        }
        let bytes = raw.get(start + 4..).unwrap_or_default();
        let len = u32::try_from(bytes.len())
            .map_err(|_| serde::ser::Error::custom("an event larger than 4 GiB"))?;
        let hash = chain_hash(prev_hash, bytes);
        if let Some(prefix) = raw.get_mut(start..start + 4) {
            prefix.copy_from_slice(&len.to_le_bytes());
        }
        self.hashes.extend_from_slice(&hash);
        self.summary.add(e);
        Ok(hash)
    }

    pub(crate) fn finish(self) -> EncodedBlock {
        let last_seq = self.first_seq + self.len().saturating_sub(1);
        let AuditBuffers { raw, compressed } = self.buffers;
        compressed.clear();
        compressed.resize(lz4_flex::block::get_maximum_output_size(raw.len()), 0);
        let body = match lz4_flex::block::compress_into(raw, compressed) {
            Ok(n) => {
                let len = u32::try_from(raw.len()).unwrap_or(u32::MAX);
                let mut body = Vec::with_capacity(4 + n);
                body.extend_from_slice(&len.to_le_bytes());
                body.extend_from_slice(compressed.get(..n).unwrap_or_default());
                body
            }
            // Cannot happen (the output has the maximum size): compress afresh.
            Err(_) => lz4_flex::compress_prepend_size(raw),
        };
        for buffer in [raw, compressed] {
            if buffer.capacity() > BUFFERS_KEPT {
                *buffer = Vec::new();
            }
        }
        EncodedBlock {
            first_seq: self.first_seq,
            last_seq,
            summary: self.summary.finish(),
            prev: self.prev,
            hashes: self.hashes,
            body,
        }
    }
}

/// Why a block's body does not read back.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    #[error("its block's body is too short")]
    Short,
    #[error("its block's body claims {0} bytes, more than a block holds")]
    TooLarge(usize),
    #[error("its block's body does not decompress: {0}")]
    Lz4(String),
    #[error("its block's body decompresses to {got} bytes, not {want}")]
    Size { got: usize, want: usize },
    #[error("its block's body ends inside an event")]
    Truncated,
}

/// Decompresses a block's body.
pub(crate) fn decompress_body(body: &[u8]) -> Result<Vec<u8>, BodyError> {
    let (size, data) = body.split_first_chunk::<4>().ok_or(BodyError::Short)?;
    let want = usize::try_from(u32::from_le_bytes(*size)).unwrap_or(usize::MAX);
    if want > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge(want));
    }
    let raw = lz4_flex::block::decompress(data, want).map_err(|e| BodyError::Lz4(e.to_string()))?;
    if raw.len() != want {
        return Err(BodyError::Size {
            got: raw.len(),
            want,
        });
    }
    Ok(raw)
}

/// The events' bytes in a decompressed body, in order.
pub(crate) fn split_events(raw: &[u8]) -> Result<Vec<&[u8]>, BodyError> {
    let mut out = Vec::new();
    let mut rest = raw;
    while !rest.is_empty() {
        let (len, after) = rest.split_first_chunk::<4>().ok_or(BodyError::Truncated)?;
        let len = usize::try_from(u32::from_le_bytes(*len)).unwrap_or(usize::MAX);
        if after.len() < len {
            return Err(BodyError::Truncated);
        }
        let (bytes, tail) = after.split_at(len);
        out.push(bytes);
        rest = tail;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hash_is_sha256_of_prev_and_bytes() {
        let h = chain_hash(&GENESIS, b"abc");
        let mut input = GENESIS.to_vec();
        input.extend_from_slice(b"abc");
        assert_eq!(h.as_slice(), ring::digest::digest(&SHA256, &input).as_ref());
    }

    fn sample() -> AuditEvent {
        AuditEvent {
            event_id: "id-1".into(),
            event_time_ms: 1_764_458_926_000,
            account: "123456789012".into(),
            event_source: "iam.amazonaws.com".into(),
            event_name: "Get\nUser \"quoted\"".into(),
            read_only: true,
            username: "root".into(),
            access_key_id: "AKIAEXAMPLE".into(),
            resources: vec![AuditResource {
                resource_type: "AWS::IAM::User".into(),
                resource_name: "a\nb".into(),
            }],
            // Records are written verbatim, newlines and all.
            cloudtrail_event: "{\"eventID\":\"id-1\",\n\"userAgent\":\"x\\\"y\"}".into(),
        }
    }

    #[test]
    fn canonical_bytes_are_a_header_line_then_the_record_verbatim() {
        let e = sample();
        let bytes = e.canonical_bytes().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        let (header, record) = text.split_once('\n').unwrap();
        assert!(
            header.starts_with("{\"v\":2,\"eventId\":\"id-1\","),
            "{header}"
        );
        assert_eq!(record, e.cloudtrail_event);
        assert_eq!(AuditEvent::from_canonical_bytes(&bytes).unwrap(), e);
    }

    #[test]
    fn format_1_still_reads_and_unknown_formats_do_not() {
        let e = sample();
        let v1 = serde_json::to_vec(&e).unwrap();
        assert!(!v1.contains(&b'\n'));
        assert_eq!(AuditEvent::from_canonical_bytes(&v1).unwrap(), e);
        let v3 = String::from_utf8(e.canonical_bytes().unwrap())
            .unwrap()
            .replacen("{\"v\":2,", "{\"v\":3,", 1);
        assert!(AuditEvent::from_canonical_bytes(v3.as_bytes()).is_err());
        assert!(AuditEvent::from_canonical_bytes(b"{}\n{}").is_err());
        assert!(AuditEvent::from_canonical_bytes(b"not json").is_err());
    }

    #[test]
    fn signatures_bind_every_field() {
        let s = Signer::new(&[3u8; 32]);
        let sig = s.sign_head(5, &[1u8; 32]);
        assert!(s.head_is_valid(5, &[1u8; 32], &sig));
        assert!(!s.head_is_valid(6, &[1u8; 32], &sig));
        assert!(!s.head_is_valid(5, &[2u8; 32], &sig));
        assert!(!Signer::new(&[4u8; 32]).head_is_valid(5, &[1u8; 32], &sig));
        let d = s.sign_digest(1000, 77, &[1u8; 32]);
        assert!(s.digest_is_valid(1000, 77, &[1u8; 32], &d));
        assert!(!s.digest_is_valid(1000, 78, &[1u8; 32], &d));
        // A head signature is not a digest signature.
        assert!(!s.digest_is_valid(5, 0, &[1u8; 32], &sig));
    }

    #[test]
    fn signer_debug_hides_the_key() {
        assert_eq!(
            format!("{:?}", Signer::new(&[3u8; 32])),
            "Signer(<redacted>)"
        );
    }
}
