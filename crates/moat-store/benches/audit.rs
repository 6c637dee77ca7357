//! Audit trail append cost: events of a realistic size (a GetUser call's CloudTrail record,
//! ~1 KB) committed in group-commit batches to an on-disk database, as the server's queue does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use moat_store::{AuditEvent, AuditResource, RootKey, Store};

// The server's allocator, so allocation costs are the server's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn event(i: u64) -> AuditEvent {
    let record = format!(
        r#"{{"eventVersion":"1.08","userIdentity":{{"type":"Root","principalId":"123456789012","arn":"arn:aws:iam::123456789012:root","accountId":"123456789012","accessKeyId":"AKIAMOATTESTROOT0001"}},"eventTime":"2026-11-29T23:28:46Z","eventSource":"iam.amazonaws.com","eventName":"GetUser","awsRegion":"us-east-1","sourceIPAddress":"127.0.0.1","userAgent":"Boto3/1.43.11 md/Botocore#1.43.11 ua/2.1 os/linux#6.18.44 md/arch#x86_64 lang/python#3.11.7 md/pyimpl#CPython cfg/retry-mode#legacy Botocore/1.43.11","requestParameters":{{"userName":"u050"}},"responseElements":null,"requestID":"15188a6e-8708-4ad2-afc0-bcfbda649b3e","eventID":"{i:08}-8ca5-46f9-a8f8-0bddd6f871dd","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}}"#
    );
    AuditEvent {
        event_id: format!("{i:08}-8ca5-46f9-a8f8-0bddd6f871dd"),
        event_time_ms: 1_764_458_926_000 + i64::try_from(i).unwrap(),
        account: "123456789012".to_owned(),
        event_source: "iam.amazonaws.com".to_owned(),
        event_name: "GetUser".to_owned(),
        read_only: true,
        username: "root".to_owned(),
        access_key_id: "AKIAMOATTESTROOT0001".to_owned(),
        resources: vec![AuditResource {
            resource_type: "AWS::IAM::User".to_owned(),
            resource_name: "u050".to_owned(),
        }],
        cloudtrail_event: record,
    }
}

fn append(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_sqlite(dir.path(), RootKey::from_bytes(&[1u8; 32]).unwrap()).unwrap();
    let mut group = c.benchmark_group("audit_append");
    let mut next = 0u64;
    for batch in [1usize, 10, 100, 300] {
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(format!("batch_of_{batch}"), |b| {
            b.iter_batched(
                || {
                    let events: Vec<AuditEvent> = (next..next + batch as u64).map(event).collect();
                    next += batch as u64;
                    events
                },
                |events| store.append_audit(&events).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
    report_sizes(dir.path());
}

/// What the appended events take on disk, per event.
fn report_sizes(dir: &std::path::Path) {
    let conn = rusqlite::Connection::open(dir.join("moat.db")).unwrap();
    let Ok((events, body, hashes, filter, blocks)) = conn
        .query_row::<(i64, i64, i64, i64, i64), _, _>(
            "SELECT total(last_seq - first_seq + 1), total(length(body)), total(length(hashes)), \
             total(length(filter)), count(*) FROM audit_blocks",
            [],
            |r| {
                let f = |i| r.get::<_, f64>(i).map(|v| v as i64);
                Ok((f(0)?, f(1)?, f(2)?, f(3)?, r.get(4)?))
            },
        )
    else {
        return; // a trail of rows
    };
    if events > 0 {
        eprintln!(
            "stored per event over {events} events in {blocks} blocks: body {} B, hashes {} B, \
             filter {} B",
            body / events,
            hashes / events,
            filter / events
        );
    }
}

/// The calling thread's CPU time (the store runs on it: SQLite starts no threads).
fn thread_cpu() -> std::time::Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let ns = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    std::time::Duration::from_nanos(ns)
}

/// CPU time per appended event, apart from the wall time criterion reports (which includes
/// waiting for fsync, and so the disk's load): the least of five rounds, on disk and in memory
/// (no I/O: what the encoding, hashing, compression and B-tree cost alone).
fn append_cpu(_: &mut Criterion) {
    // MOAT_BENCH_BATCH=N measures one batch size alone.
    let only: Option<u64> = std::env::var("MOAT_BENCH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let dir = tempfile::tempdir().unwrap();
    let key = || RootKey::from_bytes(&[1u8; 32]).unwrap();
    let disk = Store::open_sqlite(dir.path(), key()).unwrap();
    let memory = Store::open_in_memory(key()).unwrap();
    let mut next = 0u64;
    for (batch, batches) in [(1u64, 500u64), (10, 200), (100, 60), (300, 40)] {
        if only.is_some_and(|o| o != batch) {
            continue;
        }
        for (name, store) in [("disk", &disk), ("memory", &memory)] {
            let mut best = (f64::MAX, f64::MAX);
            for _ in 0..5 {
                let all: Vec<Vec<AuditEvent>> = (0..batches)
                    .map(|_| {
                        next += batch;
                        (next - batch..next).map(event).collect()
                    })
                    .collect();
                let (cpu, wall) = (thread_cpu(), std::time::Instant::now());
                for events in &all {
                    store.append_audit(events).unwrap();
                }
                let n = (batch * batches) as f64;
                let cpu = (thread_cpu() - cpu).as_secs_f64() * 1e6 / n;
                let wall = wall.elapsed().as_secs_f64() * 1e6 / n;
                best = (best.0.min(cpu), best.1.min(wall));
            }
            eprintln!(
                "audit_append_cpu/{name}/batch_of_{batch}: {:.2} µs CPU/event, {:.2} µs wall/event",
                best.0, best.1
            );
        }
    }
}

fn encode(c: &mut Criterion) {
    let e = event(1);
    c.bench_function("audit_encode_and_hash", |b| {
        b.iter(|| {
            let bytes = e.canonical_bytes().unwrap();
            moat_store::audit::chain_hash(&moat_store::audit::GENESIS, &bytes)
        })
    });
}

criterion_group!(benches, append, append_cpu, encode);
criterion_main!(benches);
