//! AWS Signature Version 4: parse, verify and sign HTTP requests.
//!
//! A pure library: no I/O, no async, no global state. The caller passes the request parts, the
//! current time and the secret, so every rule (clock skew, presign expiry, canonicalization) is
//! testable with an injected clock and fuzzable alone.
//!
//! The server drives it in three steps, in the order AWS reports errors:
//!
//! 1. [`parse`] reads the `Authorization` header or the presigned `X-Amz-*` query parameters
//!    without any secret, exposing [`Authorization::access_key_id`] so the caller can look the
//!    key up (and answer `InvalidClientTokenId` itself when it is unknown);
//! 2. [`Authorization::check`] applies everything that needs no secret: clock skew or presign
//!    expiry, `host` being signed, the credential scope;
//! 3. [`Authorization::verify`] repeats those checks, derives the signing key (through a
//!    [`SigningKeyCache`]) and compares signatures in constant time, then checks
//!    `x-amz-content-sha256` against the body.
//!
//! [`sign_request`] and [`presign_url`] are the client half, used by tests, benchmarks and the
//! load generator; they share the canonicalization code with the verifier, and the AWS test
//! suite pins both directions.

mod canonical;
mod error;
mod key;
mod parse;
mod sign;
mod timefmt;
mod verify;

#[cfg(test)]
mod suite_tests;

pub use error::{ScopeDateMismatch, ScopeMismatch, SigV4Error};
pub use key::{SigningKey, SigningKeyCache};
pub use parse::{parse, Authorization, CredentialScope, PresignInfo};
pub use sign::{presign_url, sign_request, PayloadSigning, SignError, SigningParams};
pub use verify::VerifyOptions;

/// The only signing algorithm SigV4 defines for symmetric keys.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";

/// The `x-amz-content-sha256` value a client sends when it does not sign the body.
pub const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// The last element of every credential scope.
pub const SCOPE_TERMINATOR: &str = "aws4_request";

/// The longest validity a presigned request may ask for (seven days, the lifetime of a
/// signing key's date).
pub const MAX_PRESIGN_EXPIRES_SECS: u32 = 604_800;

/// The parts of an HTTP request that SigV4 covers, borrowed from whatever HTTP stack holds them.
///
/// `headers` must contain `host`; over HTTP/2 the caller inserts the `:authority` value as
/// `host`, since AWS SDKs sign it under that name.
#[derive(Debug, Clone, Copy)]
pub struct RequestParts<'a> {
    /// The method, as sent (`GET`, `POST`, ...).
    pub method: &'a str,
    /// The raw request path as received, still percent-encoded.
    pub path: &'a str,
    /// The raw query string without `?`; empty when there is none.
    pub query: &'a str,
    /// Every request header.
    pub headers: &'a http::HeaderMap,
    /// The complete request body.
    pub body: &'a [u8],
}
