//! Audit trail append cost: events of a realistic size (a GetUser call's CloudTrail record,
//! ~1 KB) committed in group-commit batches to an on-disk database, as the server's queue does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use moat_store::{AuditEvent, AuditResource, RootKey, Store};

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
    for batch in [1usize, 300] {
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

criterion_group!(benches, append, encode);
criterion_main!(benches);
