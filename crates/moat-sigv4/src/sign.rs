//! Signing, the client half: tests, benchmarks and the load generator sign with the same
//! canonicalization the server verifies with.
//!
//! The path and query are taken as they will go on the wire (already percent-encoded), and the
//! URI rules are those of every service but S3: normalized and double-encoded.

use std::fmt;

use http::header::{AUTHORIZATION, HOST};
use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

use crate::canonical::{
    self, lower_hex, sha256_hex, signed_headers_line, uri_encode, CanonicalInput, UriRules,
};
use crate::key::SigningKey;
use crate::timefmt::{format_amz_date, format_date_stamp};
use crate::{ALGORITHM, MAX_PRESIGN_EXPIRES_SECS, SCOPE_TERMINATOR, UNSIGNED_PAYLOAD};

/// Headers never signed, as botocore: proxies and HTTP stacks add or rewrite them.
const UNSIGNED_HEADERS: [&str; 5] = [
    "authorization",
    "expect",
    "transfer-encoding",
    "user-agent",
    "x-amzn-trace-id",
];

const URI_RULES: UriRules = UriRules {
    normalize: true,
    double_encode: true,
};

/// How the body enters the signature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PayloadSigning {
    /// Sign the SHA-256 of the body without sending it as a header (botocore's default for
    /// non-S3 services).
    #[default]
    Hash,
    /// Sign the SHA-256 of the body and send it as `x-amz-content-sha256` (ignored by
    /// [`presign_url`], which cannot add headers).
    HashAndHeader,
    /// Sign `UNSIGNED-PAYLOAD` and send it as `x-amz-content-sha256` (or as the
    /// `X-Amz-Content-Sha256` query parameter when presigning).
    Unsigned,
}

/// Who signs, for which scope, when.
#[derive(Clone, Copy)]
pub struct SigningParams<'a> {
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret_access_key: &'a str,
    /// The session token of temporary credentials.
    pub session_token: Option<&'a str>,
    /// The region of the credential scope.
    pub region: &'a str,
    /// The service signing name of the credential scope.
    pub service: &'a str,
    /// The signing time.
    pub time: OffsetDateTime,
    /// How the body is covered.
    pub payload: PayloadSigning,
}

impl fmt::Debug for SigningParams<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningParams")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("session_token", &self.session_token.map(|_| "<redacted>"))
            .field("region", &self.region)
            .field("service", &self.service)
            .field("time", &format_amz_date(self.time))
            .field("payload", &self.payload)
            .finish()
    }
}

/// Why a request could not be signed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignError {
    /// SigV4 requires `host` to be signed.
    #[error("the request has no `host` header")]
    MissingHost,
    /// A credential cannot be carried in a header.
    #[error("`{0}` contains characters not allowed in a header value")]
    InvalidHeaderValue(&'static str),
    /// `X-Amz-Expires` must be between 1 and 604800 seconds.
    #[error("presign expiry must be between 1 and 604800 seconds, got {0}")]
    InvalidExpires(u32),
}

/// Signs a request in place: sets `x-amz-date`, `x-amz-security-token` (with a session token),
/// `x-amz-content-sha256` (per [`PayloadSigning`]) and `authorization`. Every header present
/// (`host` required) is signed except `authorization`, `expect`, `transfer-encoding`,
/// `user-agent` and `x-amzn-trace-id`.
///
/// Returns the hex signature. On error the headers may be partly updated.
pub fn sign_request(
    method: &str,
    path: &str,
    query: &str,
    headers: &mut HeaderMap,
    body: &[u8],
    params: &SigningParams<'_>,
) -> Result<String, SignError> {
    if !headers.contains_key(HOST) {
        return Err(SignError::MissingHost);
    }
    headers.remove(AUTHORIZATION);
    let amz_date = format_amz_date(params.time);
    headers.insert("x-amz-date", header_value(&amz_date, "x-amz-date")?);
    match params.session_token {
        Some(token) => {
            headers.insert(
                "x-amz-security-token",
                header_value(token, "session_token")?,
            );
        }
        None => {
            headers.remove("x-amz-security-token");
        }
    }
    match params.payload {
        PayloadSigning::Hash => {}
        PayloadSigning::HashAndHeader => {
            headers.insert(
                "x-amz-content-sha256",
                header_value(&sha256_hex(body), "x-amz-content-sha256")?,
            );
        }
        PayloadSigning::Unsigned => {
            headers.insert(
                "x-amz-content-sha256",
                HeaderValue::from_static(UNSIGNED_PAYLOAD),
            );
        }
    }

    let signed_headers = signable_header_names(headers);
    let payload_hash = payload_hash(headers, body, params.payload);
    let scope = scope(params);
    let signature = signature(
        params,
        &scope,
        &CanonicalInput {
            method,
            path,
            query,
            headers,
            signed_headers: &signed_headers,
            payload_hash: &payload_hash,
            uri: URI_RULES,
            exclude_signature_param: false,
        },
    );
    let authorization = format!(
        "{ALGORITHM} Credential={}/{scope}, SignedHeaders={}, Signature={signature}",
        params.access_key_id,
        signed_headers_line(&signed_headers),
    );
    headers.insert(
        AUTHORIZATION,
        header_value(&authorization, "access_key_id")?,
    );
    Ok(signature)
}

/// Presigns a request: returns the query string to send (without `?`), made of `query`
/// followed by the `X-Amz-*` parameters and `X-Amz-Signature` last. Every header in `headers`
/// (`host` required) is signed except those [`sign_request`] skips; the client must send them.
pub fn presign_url(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    params: &SigningParams<'_>,
    expires_secs: u32,
) -> Result<String, SignError> {
    if !(1..=MAX_PRESIGN_EXPIRES_SECS).contains(&expires_secs) {
        return Err(SignError::InvalidExpires(expires_secs));
    }
    if !headers.contains_key(HOST) {
        return Err(SignError::MissingHost);
    }
    let signed_headers = signable_header_names(headers);
    let scope = scope(params);

    let mut out = String::with_capacity(query.len() + 256);
    out.push_str(query);
    let mut push = |name: &str, value: &str| {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(&uri_encode(value));
    };
    push("X-Amz-Algorithm", ALGORITHM);
    push(
        "X-Amz-Credential",
        &format!("{}/{scope}", params.access_key_id),
    );
    push("X-Amz-Date", &format_amz_date(params.time));
    push("X-Amz-Expires", &expires_secs.to_string());
    push("X-Amz-SignedHeaders", &signed_headers_line(&signed_headers));
    if let Some(token) = params.session_token {
        push("X-Amz-Security-Token", token);
    }
    if params.payload == PayloadSigning::Unsigned {
        push("X-Amz-Content-Sha256", UNSIGNED_PAYLOAD);
    }

    let payload_hash = payload_hash(headers, body, params.payload);
    let signature = signature(
        params,
        &scope,
        &CanonicalInput {
            method,
            path,
            query: &out,
            headers,
            signed_headers: &signed_headers,
            payload_hash: &payload_hash,
            uri: URI_RULES,
            exclude_signature_param: true,
        },
    );
    out.push_str("&X-Amz-Signature=");
    out.push_str(&signature);
    Ok(out)
}

fn header_value(value: &str, what: &'static str) -> Result<HeaderValue, SignError> {
    HeaderValue::from_str(value).map_err(|_| SignError::InvalidHeaderValue(what))
}

fn scope(params: &SigningParams<'_>) -> String {
    format!(
        "{}/{}/{}/{SCOPE_TERMINATOR}",
        format_date_stamp(params.time),
        params.region,
        params.service
    )
}

/// The header names to sign, sorted; `HeaderName`s are already lowercase.
fn signable_header_names(headers: &HeaderMap) -> Vec<String> {
    let mut names: Vec<String> = headers
        .keys()
        .map(|name| name.as_str())
        .filter(|name| !UNSIGNED_HEADERS.contains(name))
        .map(str::to_owned)
        .collect();
    names.sort_unstable();
    names
}

/// The same rule the verifier applies: a declared `x-amz-content-sha256` is what gets signed.
fn payload_hash(headers: &HeaderMap, body: &[u8], payload: PayloadSigning) -> String {
    if let Some(value) = headers.get("x-amz-content-sha256") {
        return String::from_utf8_lossy(value.as_bytes()).trim().to_owned();
    }
    if payload == PayloadSigning::Unsigned {
        return UNSIGNED_PAYLOAD.to_owned();
    }
    sha256_hex(body)
}

fn signature(params: &SigningParams<'_>, scope: &str, input: &CanonicalInput<'_>) -> String {
    let canonical_request = canonical::canonical_request(input);
    let string_to_sign =
        canonical::string_to_sign(&format_amz_date(params.time), scope, &canonical_request);
    let key = SigningKey::derive(
        params.secret_access_key.as_bytes(),
        &format_date_stamp(params.time),
        params.region,
        params.service,
    );
    lower_hex(key.sign(string_to_sign.as_bytes()).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn params() -> SigningParams<'static> {
        SigningParams {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
            session_token: None,
            region: "us-east-1",
            service: "iam",
            time: datetime!(2015-08-30 12:36:00 UTC),
            payload: PayloadSigning::Hash,
        }
    }

    fn iam_headers() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        headers
    }

    /// AWS General Reference, "Signature Version 4 signing process" IAM ListUsers example.
    #[test]
    fn signs_the_aws_iam_documentation_example() {
        let mut headers = iam_headers();
        let signature = sign_request(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &mut headers,
            b"",
            &params(),
        )
        .unwrap();
        assert_eq!(
            signature,
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(
            headers["authorization"],
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(headers["x-amz-date"], "20150830T123600Z");
        assert!(!headers.contains_key("x-amz-content-sha256"));
    }

    #[test]
    fn resigning_replaces_previous_headers() {
        let mut headers = iam_headers();
        let mut with_token = params();
        with_token.session_token = Some("token");
        sign_request("GET", "/", "", &mut headers, b"", &with_token).unwrap();
        assert_eq!(headers["x-amz-security-token"], "token");
        let first = headers["authorization"].clone();
        let mut later = params();
        later.time = datetime!(2015-08-30 12:37:00 UTC);
        sign_request("GET", "/", "", &mut headers, b"", &later).unwrap();
        assert!(!headers.contains_key("x-amz-security-token"));
        assert_eq!(headers.get_all("authorization").iter().count(), 1);
        assert_ne!(headers["authorization"], first);
        assert_eq!(headers["x-amz-date"], "20150830T123700Z");
    }

    #[test]
    fn payload_modes_set_the_header() {
        let mut headers = iam_headers();
        let mut p = params();
        p.payload = PayloadSigning::HashAndHeader;
        sign_request("POST", "/", "", &mut headers, b"Action=ListUsers", &p).unwrap();
        assert_eq!(
            headers["x-amz-content-sha256"],
            sha256_hex(b"Action=ListUsers").as_str()
        );
        assert!(headers["authorization"]
            .to_str()
            .unwrap()
            .contains("x-amz-content-sha256"));

        p.payload = PayloadSigning::Unsigned;
        sign_request("POST", "/", "", &mut headers, b"Action=ListUsers", &p).unwrap();
        assert_eq!(headers["x-amz-content-sha256"], UNSIGNED_PAYLOAD);
    }

    #[test]
    fn skips_hop_and_agent_headers() {
        let mut headers = iam_headers();
        headers.insert("user-agent", HeaderValue::from_static("aws-cli/2"));
        headers.insert("expect", HeaderValue::from_static("100-continue"));
        headers.insert("x-amzn-trace-id", HeaderValue::from_static("Root=1"));
        sign_request("GET", "/", "", &mut headers, b"", &params()).unwrap();
        assert!(headers["authorization"]
            .to_str()
            .unwrap()
            .contains("SignedHeaders=content-type;host;x-amz-date,"));
    }

    #[test]
    fn refuses_what_cannot_be_signed() {
        let mut no_host = HeaderMap::new();
        assert_eq!(
            sign_request("GET", "/", "", &mut no_host, b"", &params()),
            Err(SignError::MissingHost)
        );
        assert_eq!(
            presign_url("GET", "/", "", &HeaderMap::new(), b"", &params(), 60),
            Err(SignError::MissingHost)
        );
        let mut p = params();
        p.session_token = Some("bad\ntoken");
        assert_eq!(
            sign_request("GET", "/", "", &mut iam_headers(), b"", &p),
            Err(SignError::InvalidHeaderValue("session_token"))
        );
        for expires in [0, 604_801] {
            assert_eq!(
                presign_url("GET", "/", "", &iam_headers(), b"", &params(), expires),
                Err(SignError::InvalidExpires(expires))
            );
        }
    }

    #[test]
    fn presign_appends_parameters_in_botocore_order() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        let mut p = params();
        p.session_token = Some("a/b+c");
        let query = presign_url(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            b"",
            &p,
            3600,
        )
        .unwrap();
        let names: Vec<&str> = query
            .split('&')
            .map(|kv| kv.split('=').next().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "Action",
                "Version",
                "X-Amz-Algorithm",
                "X-Amz-Credential",
                "X-Amz-Date",
                "X-Amz-Expires",
                "X-Amz-SignedHeaders",
                "X-Amz-Security-Token",
                "X-Amz-Signature"
            ]
        );
        assert!(query
            .contains("X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiam%2Faws4_request&"));
        assert!(query.contains("X-Amz-Security-Token=a%2Fb%2Bc&"));
        assert!(presign_url("GET", "/", "", &headers, b"", &params(), 60)
            .unwrap()
            .starts_with("X-Amz-Algorithm="));
    }

    #[test]
    fn debug_redacts_secrets() {
        let mut p = params();
        p.session_token = Some("tok");
        let debug = format!("{p:?}");
        assert!(
            !debug.contains("EXAMPLEKEY") && !debug.contains("tok\""),
            "{debug}"
        );
    }
}
