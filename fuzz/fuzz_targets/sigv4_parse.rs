//! Untrusted bytes as the `Authorization` header, `X-Amz-Date` and query string: `parse` must
//! never panic, and neither may `verify` on whatever `parse` accepts (it canonicalizes the same
//! untrusted path, query and headers).

#![no_main]

use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use moat_sigv4::{parse, RequestParts, SigningKeyCache, VerifyOptions};
use time::macros::datetime;

fuzz_target!(|data: &[u8]| {
    // Split the input into fields on 0xFF, a byte that never occurs in UTF-8, so text seeds keep
    // their fields apart.
    let mut fields = data.split(|b| *b == 0xff);
    let authorization = fields.next().unwrap_or_default();
    let query = String::from_utf8_lossy(fields.next().unwrap_or_default());
    let date = fields.next().unwrap_or_default();
    let path = String::from_utf8_lossy(fields.next().unwrap_or(b"/"));
    let body = fields.next().unwrap_or_default();

    let mut headers = HeaderMap::new();
    headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
    if let Ok(value) = HeaderValue::from_bytes(authorization) {
        if !authorization.is_empty() {
            headers.insert("authorization", value);
        }
    }
    if let Ok(value) = HeaderValue::from_bytes(date) {
        headers.insert("x-amz-date", value);
    }
    let parts = RequestParts {
        method: "POST",
        path: &path,
        query: &query,
        headers: &headers,
        body,
    };
    if let Ok(auth) = parse(&parts) {
        let now = datetime!(2015-08-30 12:36:00 UTC);
        let _ = auth.verify(
            &parts,
            b"secret",
            now,
            &SigningKeyCache::new(),
            &VerifyOptions::default(),
        );
    }
});
