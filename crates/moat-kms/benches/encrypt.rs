//! One symmetric Encrypt in process, against the raw AES-256-GCM seal of the crypto library it
//! uses: how close Moat's Encrypt comes to the physical limit.
//!
//! - `aes-256-gcm seal`: aws-lc-rs sealing the plaintext in place, nothing else.
//! - `envelope seal`: Moat's ciphertext blob (header, fresh nonce, header and encryption
//!   context as additional data) with the key version prepared, as the server keeps it.
//! - `envelope seal, new key`: the same, expanding the AES key schedule from the material.
//! - `Encrypt (target + execute)`: the whole operation as the server runs it after
//!   authentication, with the server's key cache: resolving the key for authorization (its
//!   policy, tags, aliases, grants), checking it in the call, and sealing the blob.
//! - `Encrypt, uncached`: the same with every key read from storage and its material
//!   unsealed under the root key, as the first request after a write does.
//!
//! `cargo bench -p moat-kms --bench encrypt`

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::sync::Arc;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use moat_kms::{Call, EncryptRequest, Kms, Request, Response};
use moat_store::{RootKey, Store};
use moat_types::{Principal, PrincipalKind, SystemClock};

fn root() -> Principal {
    Principal::long_term(
        "123456789012".parse().unwrap(),
        PrincipalKind::Root,
        "arn:aws:iam::123456789012:root".into(),
        "123456789012".into(),
        "AKIAMOATTESTROOT0001".into(),
    )
}

fn bench(c: &mut Criterion) {
    let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
    let uncached = Kms::new(store, "us-east-1", Arc::new(SystemClock));
    let kms = uncached
        .clone()
        .with_generation(Arc::new(std::sync::atomic::AtomicU64::new(0)));
    let principal = root();
    let call = Call {
        principal: &principal,
        now: time::OffsetDateTime::now_utc(),
    };
    let created = kms
        .execute(
            Kms::prepare(Request::CreateKey(moat_kms::CreateKeyRequest::default())),
            &call,
        )
        .unwrap();
    let Response::CreateKey(created) = created else {
        panic!("CreateKey answered something else");
    };
    let key_id = created.key_metadata.unwrap().key_id;

    let mut group = c.benchmark_group("kms encrypt");
    group.bench_function("random 12-byte nonce", |b| {
        b.iter(|| {
            let mut nonce = [0u8; 12];
            aws_lc_rs::rand::fill(&mut nonce).unwrap();
            nonce
        })
    });
    for size in [32usize, 4096] {
        let plaintext = vec![0x5au8; size];
        group.throughput(Throughput::Bytes(size as u64));

        let raw = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[9u8; 32]).unwrap());
        group.bench_with_input(
            BenchmarkId::new("aes-256-gcm seal", size),
            &plaintext,
            |b, p| {
                b.iter(|| {
                    let mut buf = p.clone();
                    raw.seal_in_place_append_tag(
                        Nonce::assume_unique_for_key([1u8; 12]),
                        Aad::empty(),
                        &mut buf,
                    )
                    .unwrap();
                    buf
                })
            },
        );

        let material = [9u8; 32];
        let context: BTreeMap<String, String> = [("purpose".to_owned(), "bench".to_owned())].into();
        let version = "ab".repeat(32);
        group.bench_with_input(
            BenchmarkId::new("envelope seal", size),
            &plaintext,
            |b, p| {
                b.iter(|| {
                    moat_kms::ciphertext::seal(
                        "123456789012",
                        &key_id,
                        &version,
                        &material,
                        &context,
                        p,
                    )
                    .unwrap()
                })
            },
        );

        group.bench_with_input(
            BenchmarkId::new("Encrypt (target + execute)", size),
            &plaintext,
            |b, p| {
                b.iter(|| {
                    let prepared = Kms::prepare(Request::Encrypt(EncryptRequest {
                        key_id: key_id.clone(),
                        plaintext: moat_wire::Blob(p.clone()),
                        encryption_context: Some(context.clone()),
                        ..Default::default()
                    }));
                    kms.target(&principal, &prepared).unwrap();
                    kms.execute(prepared, &call).unwrap()
                })
            },
        );

        group.bench_with_input(
            BenchmarkId::new("Encrypt, uncached", size),
            &plaintext,
            |b, p| {
                b.iter(|| {
                    let prepared = Kms::prepare(Request::Encrypt(EncryptRequest {
                        key_id: key_id.clone(),
                        plaintext: moat_wire::Blob(p.clone()),
                        encryption_context: Some(context.clone()),
                        ..Default::default()
                    }));
                    uncached.target(&principal, &prepared).unwrap();
                    uncached.execute(prepared, &call).unwrap()
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
