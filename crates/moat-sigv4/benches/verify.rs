//! Cost of authenticating one typical IAM query-protocol POST, the per-request work of the
//! server's authenticate step, with the signing key cached (the steady state) and not (the first
//! request of a key each day).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use http::{HeaderMap, HeaderValue};
use moat_sigv4::{
    parse, sign_request, PayloadSigning, RequestParts, SigningKeyCache, SigningParams,
    VerifyOptions,
};
use time::macros::datetime;
use time::OffsetDateTime;

const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const NOW: OffsetDateTime = datetime!(2015-08-30 12:36:05 UTC);
const BODY: &[u8] =
    b"Action=CreateUser&Path=%2Fdivision_abc%2Fsubdivision_xyz%2F&UserName=Bob&Version=2010-05-08";

fn signed_headers() -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
    headers.insert(
        "content-type",
        HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
    );
    headers.insert("content-length", HeaderValue::from(BODY.len()));
    headers.insert(
        "user-agent",
        HeaderValue::from_static(
            "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64 command/iam.create-user",
        ),
    );
    headers.insert("accept-encoding", HeaderValue::from_static("identity"));
    let params = SigningParams {
        access_key_id: "AKIAIOSFODNN7EXAMPLE",
        secret_access_key: SECRET,
        session_token: None,
        region: "us-east-1",
        service: "iam",
        time: datetime!(2015-08-30 12:36:00 UTC),
        payload: PayloadSigning::Hash,
    };
    let signed = sign_request("POST", "/", "", &mut headers, BODY, &params);
    assert!(signed.is_ok(), "{signed:?}");
    headers
}

fn authenticate(parts: &RequestParts<'_>, cache: &SigningKeyCache, options: &VerifyOptions) {
    let result =
        parse(parts).and_then(|auth| auth.verify(parts, SECRET.as_bytes(), NOW, cache, options));
    assert!(result.is_ok(), "{result:?}");
}

fn bench_verify(c: &mut Criterion) {
    let headers = signed_headers();
    let parts = RequestParts {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body: BODY,
    };
    let options = VerifyOptions {
        region: Some("us-east-1".to_owned()),
        service: Some("iam".to_owned()),
        ..VerifyOptions::default()
    };

    let mut group = c.benchmark_group("parse_verify_iam_post");
    let warm = SigningKeyCache::new();
    authenticate(&parts, &warm, &options);
    group.bench_function("warm_key_cache", |b| {
        b.iter(|| authenticate(black_box(&parts), &warm, &options));
    });
    group.bench_function("cold_key_cache", |b| {
        b.iter(|| authenticate(black_box(&parts), &SigningKeyCache::new(), &options));
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
