//! Decoded records kept in memory for one generation of the database.
//!
//! The database's generation is even while no write is committing and odd while one is: a
//! write that changed records makes it odd just before its commit and even again after, so a
//! reader that saw the same even generation before and after pinning its snapshot knows the
//! snapshot holds exactly that generation's data. Only such readers fill the cache, under that
//! generation, and a reader at generation `g` is served only entries filled at `g`: what the
//! cache answers is always what the database held at one moment. Entries of older generations
//! are dropped the first time a newer one is filled.

use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::RwLock;

use crate::Record;

/// A record as the cache holds it; downcast to its type on the way out.
pub(crate) type Shared = Arc<dyn Any + Send + Sync>;

/// Entries beyond this many are dropped all at once (the cache refills from use).
const MAX_RECORDS: usize = 20_000;
const MAX_CHUNK_RECORDS: usize = 20_000;
const MAX_COUNTS: usize = 10_000;
/// How many records of a scan are read and kept together.
pub(crate) const CHUNK: usize = 128;

/// The records of a kind under a prefix that follow a position, in key order: at most
/// [`CHUNK`] of them, and whether they run to the end of the prefix.
pub(crate) struct Chunk {
    pub(crate) rows: Vec<(String, Shared)>,
    pub(crate) last: bool,
}

#[derive(Default)]
struct Entries {
    generation: u64,
    /// `None`: known to be absent.
    records: HashMap<String, Option<Shared>>,
    chunks: HashMap<String, Arc<Chunk>>,
    chunk_records: usize,
    counts: HashMap<String, u64>,
}

impl Entries {
    /// Readies the entries for filling at `generation`; false if they already hold a newer one.
    fn fill_at(&mut self, generation: u64) -> bool {
        if generation < self.generation {
            return false;
        }
        if generation > self.generation {
            self.generation = generation;
            self.records.clear();
            self.chunks.clear();
            self.chunk_records = 0;
            self.counts.clear();
        }
        true
    }
}

#[derive(Default)]
pub(crate) struct RecordCache {
    entries: RwLock<Entries>,
}

/// The cache key of one record or one count: kinds and account ids hold no NUL, so the parts
/// cannot run into each other.
pub(crate) fn key(kind: &str, account: &str, key: &str) -> String {
    let mut k = String::with_capacity(kind.len() + account.len() + key.len() + 2);
    k.push_str(kind);
    k.push('\0');
    k.push_str(account);
    k.push('\0');
    k.push_str(key);
    k
}

/// The cache key of the chunk of a prefix that follows `after` (from its start if `None`).
/// The prefix's length is spelled out, so that prefix and position cannot run into each other.
pub(crate) fn chunk_key(kind: &str, account: &str, prefix: &str, after: Option<&str>) -> String {
    let mut k = key(kind, account, &prefix.len().to_string());
    k.push('\0');
    k.push_str(prefix);
    if let Some(a) = after {
        k.push('\0');
        k.push_str(a);
    }
    k
}

/// What the cache knows of one record.
pub(crate) enum Lookup<R> {
    Present(R),
    Absent,
    Unknown,
}

impl RecordCache {
    pub(crate) fn record<R: Record>(&self, generation: u64, k: &str) -> Lookup<R> {
        let entries = self.entries.read();
        if entries.generation != generation {
            return Lookup::Unknown;
        }
        match entries.records.get(k) {
            Some(Some(shared)) => match shared.downcast_ref::<R>() {
                Some(r) => Lookup::Present(r.clone()),
                None => Lookup::Unknown,
            },
            Some(None) => Lookup::Absent,
            None => Lookup::Unknown,
        }
    }

    pub(crate) fn put_record(&self, generation: u64, k: String, record: Option<Shared>) {
        let mut entries = self.entries.write();
        if !entries.fill_at(generation) {
            return;
        }
        if entries.records.len() >= MAX_RECORDS {
            entries.records.clear();
        }
        entries.records.insert(k, record);
    }

    pub(crate) fn chunk(&self, generation: u64, k: &str) -> Option<Arc<Chunk>> {
        let entries = self.entries.read();
        if entries.generation != generation {
            return None;
        }
        entries.chunks.get(k).cloned()
    }

    pub(crate) fn put_chunk(&self, generation: u64, k: String, chunk: Arc<Chunk>) {
        let mut entries = self.entries.write();
        if !entries.fill_at(generation) {
            return;
        }
        if entries.chunk_records >= MAX_CHUNK_RECORDS {
            entries.chunks.clear();
            entries.chunk_records = 0;
        }
        entries.chunk_records += chunk.rows.len().max(1);
        entries.chunks.insert(k, chunk);
    }

    pub(crate) fn count(&self, generation: u64, k: &str) -> Option<u64> {
        let entries = self.entries.read();
        if entries.generation != generation {
            return None;
        }
        entries.counts.get(k).copied()
    }

    pub(crate) fn put_count(&self, generation: u64, k: String, n: u64) {
        let mut entries = self.entries.write();
        if !entries.fill_at(generation) {
            return;
        }
        if entries.counts.len() >= MAX_COUNTS {
            entries.counts.clear();
        }
        entries.counts.insert(k, n);
    }
}
