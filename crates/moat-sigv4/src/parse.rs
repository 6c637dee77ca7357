//! Reading the authentication information out of a request, before any secret is involved.

use std::fmt;

use http::header::{AUTHORIZATION, DATE};
use time::OffsetDateTime;

use crate::canonical::query_pairs;
use crate::error::SigV4Error;
use crate::timefmt::{format_amz_date, parse_amz_date, parse_http_date};
use crate::{RequestParts, ALGORITHM, MAX_PRESIGN_EXPIRES_SECS};

const X_AMZ_DATE: &str = "x-amz-date";
const X_AMZ_SECURITY_TOKEN: &str = "x-amz-security-token";

/// Authentication information read from the `Authorization` header or a presigned query string.
/// Parsed, not yet verified: nothing here is trustworthy until [`Authorization::verify`] passes.
#[derive(Clone, PartialEq, Eq)]
pub struct Authorization {
    /// The access key id from the credential (`AKIA...` or `ASIA...`).
    pub access_key_id: String,
    /// The credential scope the client signed for.
    pub scope: CredentialScope,
    /// `X-Amz-Date`, or the `Date` header when there is no `X-Amz-Date`.
    pub request_time: OffsetDateTime,
    /// Signed header names, lowercase, in the order the client listed them.
    pub signed_headers: Vec<String>,
    /// The signature, hex-decoded; empty when it was not valid hex (it then cannot match).
    pub signature: Vec<u8>,
    /// `X-Amz-Security-Token` (header, or query parameter when presigned).
    pub session_token: Option<String>,
    /// Present when the request was authenticated through the query string.
    pub presigned: Option<PresignInfo>,
}

/// The `date/region/service/terminator` scope of a credential.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CredentialScope {
    /// `yyyyMMdd`, as the client wrote it (checked against the request time by `check`).
    pub date: String,
    /// The region, e.g. `us-east-1`.
    pub region: String,
    /// The service signing name, e.g. `iam`.
    pub service: String,
    /// Should be `aws4_request` (checked by `check`).
    pub terminator: String,
}

impl fmt::Display for CredentialScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/{}/{}/{}",
            self.date, self.region, self.service, self.terminator
        )
    }
}

/// What only presigned requests carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresignInfo {
    /// `X-Amz-Expires`, seconds in `1..=604800`; `None` when absent, and the request is then held
    /// to the usual clock-skew window, as STS does.
    pub expires_secs: Option<u32>,
}

impl fmt::Debug for Authorization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A session token is a bearer-ish credential; keep it out of logs.
        f.debug_struct("Authorization")
            .field("access_key_id", &self.access_key_id)
            .field("scope", &self.scope)
            .field("request_time", &format_amz_date(self.request_time))
            .field("signed_headers", &self.signed_headers)
            .field("signature", &hex::encode(&self.signature))
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .field("presigned", &self.presigned)
            .finish()
    }
}

/// Reads the SigV4 authentication information of a request, in the order AWS checks it, so
/// the first error is the one AWS would report.
pub fn parse(req: &RequestParts<'_>) -> Result<Authorization, SigV4Error> {
    let header = req.headers.get(AUTHORIZATION);
    let presigned = query_pairs(req.query).any(|(name, _)| name.as_ref() == b"X-Amz-Algorithm");
    match (header, presigned) {
        (Some(_), true) => Err(SigV4Error::AmbiguousAuthentication),
        (None, false) => Err(SigV4Error::MissingAuthenticationToken),
        (Some(value), false) => parse_header(req, &String::from_utf8_lossy(value.as_bytes())),
        (None, true) => parse_query(req),
    }
}

fn parse_header(req: &RequestParts<'_>, header: &str) -> Result<Authorization, SigV4Error> {
    let trimmed = header.trim();
    let (algorithm, params) = trimmed
        .split_once(|c: char| c.is_ascii_whitespace())
        .unwrap_or((trimmed, ""));

    // AWS tokenizes on commas and whitespace alike: `Credential= AKID/...` fails on the
    // `AKID/...` piece, not on an empty credential.
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for piece in params
        .split(|c: char| c == ',' || c.is_ascii_whitespace())
        .filter(|piece| !piece.is_empty())
    {
        let Some((name, value)) = piece.split_once('=') else {
            return Err(SigV4Error::MissingEqualSign {
                pair: piece.to_owned(),
                header: header.to_owned(),
            });
        };
        let slot = match name {
            "Credential" => &mut credential,
            "SignedHeaders" => &mut signed_headers,
            "Signature" => &mut signature,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(value);
        }
    }

    let amz_date = first_header(req, X_AMZ_DATE);
    let http_date = first_header(req, DATE.as_str());
    let mut missing = Vec::new();
    for (name, value) in [
        ("Credential", credential),
        ("Signature", signature),
        ("SignedHeaders", signed_headers),
    ] {
        if value.is_none_or(str::is_empty) {
            missing.push(name);
        }
    }
    let date_missing = amz_date.is_none() && http_date.is_none();
    let (Some(credential), Some(signature), Some(signed_headers), false) = (
        credential,
        signature,
        signed_headers,
        !missing.is_empty() || date_missing,
    ) else {
        return Err(SigV4Error::MissingHeaderParameters {
            missing,
            date_missing,
            header: header.to_owned(),
        });
    };

    let request_time = match (amz_date, http_date) {
        (Some(value), _) => parse_amz_date(value.trim()),
        (None, Some(value)) => parse_http_date(value),
        (None, None) => None,
    }
    .ok_or_else(|| SigV4Error::InvalidDate {
        value: amz_date.or(http_date).unwrap_or_default().to_owned(),
    })?;

    check_algorithm(algorithm)?;
    let (access_key_id, scope) = parse_credential(credential)?;

    Ok(Authorization {
        access_key_id,
        scope,
        request_time,
        signed_headers: parse_signed_headers(signed_headers),
        signature: hex::decode(signature).unwrap_or_default(),
        session_token: first_header(req, X_AMZ_SECURITY_TOKEN).map(str::to_owned),
        presigned: None,
    })
}

fn parse_query(req: &RequestParts<'_>) -> Result<Authorization, SigV4Error> {
    let mut algorithm = None;
    let mut credential = None;
    let mut signature = None;
    let mut signed_headers = None;
    let mut date = None;
    let mut expires = None;
    let mut session_token = None;
    for (name, value) in query_pairs(req.query) {
        let slot = match name.as_ref() {
            b"X-Amz-Algorithm" => &mut algorithm,
            b"X-Amz-Credential" => &mut credential,
            b"X-Amz-Signature" => &mut signature,
            b"X-Amz-SignedHeaders" => &mut signed_headers,
            b"X-Amz-Date" => &mut date,
            b"X-Amz-Expires" => &mut expires,
            b"X-Amz-Security-Token" => &mut session_token,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(String::from_utf8_lossy(&value).into_owned());
        }
    }

    let mut missing = Vec::new();
    for (name, value) in [
        ("X-Amz-Algorithm", &algorithm),
        ("X-Amz-Credential", &credential),
        ("X-Amz-Signature", &signature),
        ("X-Amz-SignedHeaders", &signed_headers),
        ("X-Amz-Date", &date),
    ] {
        if value.as_deref().is_none_or(str::is_empty) {
            missing.push(name);
        }
    }
    let (
        Some(algorithm),
        Some(credential),
        Some(signature),
        Some(signed_headers),
        Some(date),
        true,
    ) = (
        algorithm,
        credential,
        signature,
        signed_headers,
        date,
        missing.is_empty(),
    )
    else {
        return Err(SigV4Error::MissingQueryParameters { missing });
    };

    let request_time = parse_amz_date(&date).ok_or(SigV4Error::InvalidDate { value: date })?;
    check_algorithm(&algorithm)?;
    let (access_key_id, scope) = parse_credential(&credential)?;
    let expires_secs = expires.as_deref().map(parse_expires).transpose()?;

    Ok(Authorization {
        access_key_id,
        scope,
        request_time,
        signed_headers: parse_signed_headers(&signed_headers),
        signature: hex::decode(&signature).unwrap_or_default(),
        session_token,
        presigned: Some(PresignInfo { expires_secs }),
    })
}

fn first_header<'a>(req: &RequestParts<'a>, name: &str) -> Option<&'a str> {
    // A value that is not visible ASCII cannot be a valid date or token; treating it as absent
    // lets the date check report it rather than failing on encoding.
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn check_algorithm(algorithm: &str) -> Result<(), SigV4Error> {
    if algorithm == ALGORITHM {
        Ok(())
    } else {
        Err(SigV4Error::UnsupportedAlgorithm {
            algorithm: algorithm.to_owned(),
        })
    }
}

/// Splits `keyid/date/region/service/terminator`. Trailing slashes are ignored, as AWS does.
fn parse_credential(credential: &str) -> Result<(String, CredentialScope), SigV4Error> {
    let malformed = || SigV4Error::MalformedCredential {
        credential: credential.to_owned(),
    };
    let mut parts = credential.trim_end_matches('/').split('/');
    let (Some(key), Some(date), Some(region), Some(service), Some(terminator), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(malformed());
    };
    Ok((
        key.to_owned(),
        CredentialScope {
            date: date.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            terminator: terminator.to_owned(),
        },
    ))
}

fn parse_signed_headers(value: &str) -> Vec<String> {
    value
        .split(';')
        .filter(|name| !name.is_empty())
        .map(str::to_ascii_lowercase)
        .collect()
}

/// `X-Amz-Expires`, with S3's messages (the only service AWS documents them for).
fn parse_expires(value: &str) -> Result<u32, SigV4Error> {
    let invalid = |reason| SigV4Error::InvalidExpires { reason };
    let seconds: i64 = value
        .parse()
        .map_err(|_| invalid("X-Amz-Expires should be a number"))?;
    if seconds < 0 {
        return Err(invalid("X-Amz-Expires must be non-negative"));
    }
    if seconds == 0 {
        return Err(invalid("X-Amz-Expires must be greater than 0"));
    }
    u32::try_from(seconds)
        .ok()
        .filter(|s| *s <= MAX_PRESIGN_EXPIRES_SECS)
        .ok_or_else(|| {
            invalid("X-Amz-Expires must be less than a week (in seconds) that is 604800")
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};
    use time::macros::datetime;

    const GOOD: &str = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn parse_with(headers: &HeaderMap, query: &str) -> Result<Authorization, SigV4Error> {
        parse(&RequestParts {
            method: "GET",
            path: "/",
            query,
            headers,
            body: b"",
        })
    }

    fn header_error(auth: &str, extra: &[(&'static str, &str)]) -> String {
        let mut pairs = vec![("authorization", auth)];
        pairs.extend_from_slice(extra);
        parse_with(&headers(&pairs), "").unwrap_err().to_string()
    }

    #[test]
    fn parses_a_header() {
        let map = headers(&[
            ("authorization", GOOD),
            ("x-amz-date", "20150830T123600Z"),
            ("x-amz-security-token", "token"),
        ]);
        let auth = parse_with(&map, "Action=ListUsers").unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(
            auth.scope.to_string(),
            "20150830/us-east-1/iam/aws4_request"
        );
        assert_eq!(auth.request_time, datetime!(2015-08-30 12:36:00 UTC));
        assert_eq!(auth.signed_headers, ["content-type", "host", "x-amz-date"]);
        assert_eq!(
            hex::encode(&auth.signature),
            "5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
        );
        assert_eq!(auth.session_token.as_deref(), Some("token"));
        assert_eq!(auth.presigned, None);
        let debug = format!("{auth:?}");
        assert!(
            debug.contains("<redacted>") && !debug.contains("\"token\""),
            "{debug}"
        );
    }

    #[test]
    fn falls_back_to_the_date_header() {
        let map = headers(&[
            ("authorization", GOOD),
            ("date", "Mon, 09 Sep 2011 23:36:00 GMT"),
        ]);
        assert_eq!(
            parse_with(&map, "").unwrap().request_time,
            datetime!(2011-09-09 23:36:00 UTC)
        );
    }

    #[test]
    fn accepts_compact_and_reordered_parameters() {
        let auth = "AWS4-HMAC-SHA256 Signature=abcd,SignedHeaders=Host;X-Amz-Date,Credential=AKID/20150830/us-east-1/iam/aws4_request/";
        let map = headers(&[("authorization", auth), ("x-amz-date", "20150830T123600Z")]);
        let parsed = parse_with(&map, "").unwrap();
        assert_eq!(parsed.signed_headers, ["host", "x-amz-date"]);
        assert_eq!(parsed.signature, [0xab, 0xcd]);
        assert_eq!(parsed.scope.terminator, "aws4_request");
    }

    #[test]
    fn non_hex_signature_parses_but_is_empty() {
        let auth = GOOD.replace("Signature=5d67", "Signature=zz67");
        let map = headers(&[("authorization", &auth), ("x-amz-date", "20150830T123600Z")]);
        assert!(parse_with(&map, "").unwrap().signature.is_empty());
    }

    #[test]
    fn missing_everything() {
        assert_eq!(
            parse_with(&HeaderMap::new(), "Action=ListUsers"),
            Err(SigV4Error::MissingAuthenticationToken)
        );
        let map = headers(&[("authorization", GOOD)]);
        assert_eq!(
            parse_with(&map, "X-Amz-Algorithm=AWS4-HMAC-SHA256"),
            Err(SigV4Error::AmbiguousAuthentication)
        );
    }

    #[test]
    fn header_errors_match_aws() {
        assert_eq!(
            header_error("AWS4-HMAC-SHA256", &[]),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"
        );
        assert_eq!(
            header_error("AWS AKIAI2HBJEUM7LRSTWOQ:qaNdqGsI6bq4Hi+9Gzovwyjbh0E=", &[("x-amz-date", "20150830T123600Z")]),
            "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS AKIAI2HBJEUM7LRSTWOQ:qaNdqGsI6bq4Hi+9Gzovwyjbh0E="
        );
        assert_eq!(
            header_error("AWS4-HMAC-SHA256 Credential=ABCDEF", &[("date", "x")]),
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=ABCDEF"
        );
        assert_eq!(
            header_error("AWS4-HMAC-SHA256 Credential=AKIAXXXXXXXXXX /20150620/us-east-1/cloudformation/aws4_request, SignedHeaders=host;x-amz-date, Signature=24", &[]),
            "'/20150620/us-east-1/cloudformation/aws4_request' not a valid key=value pair (missing equal-sign) in Authorization header: 'AWS4-HMAC-SHA256 Credential=AKIAXXXXXXXXXX /20150620/us-east-1/cloudformation/aws4_request, SignedHeaders=host;x-amz-date, Signature=24'."
        );
        assert_eq!(
            header_error("Bearer eyJhbGciOiJIUzI1NiJ9.e30.x", &[]),
            "'eyJhbGciOiJIUzI1NiJ9.e30.x' not a valid key=value pair (missing equal-sign) in Authorization header: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.x'."
        );
        assert_eq!(
            header_error(GOOD, &[("x-amz-date", "2015/08/30T12/36/00Z")]),
            "Date must be in ISO-8601 'basic format'. Got '2015/08/30T12/36/00Z'. See http://en.wikipedia.org/wiki/ISO_8601"
        );
        assert_eq!(
            header_error(
                &GOOD.replace("AWS4-HMAC-SHA256", "AWS4-HMAC-SHA25"),
                &[("x-amz-date", "20150830T123600Z")]
            ),
            "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA25' (only AWS4-HMAC-SHA256 for now). "
        );
        assert_eq!(
            header_error(
                "AWS4-HMAC-SHA256 Credential=a/b/c/d, SignedHeaders=host, Signature=00",
                &[("x-amz-date", "20150830T123600Z")]
            ),
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got 'a/b/c/d'"
        );
        let error = parse_with(
            &headers(&[
                (
                    "authorization",
                    "AWS4-HMAC-SHA256 Credential=a/b/c/d/e/f, SignedHeaders=host, Signature=00",
                ),
                ("x-amz-date", "20150830T123600Z"),
            ]),
            "",
        )
        .unwrap_err();
        assert!(matches!(error, SigV4Error::MalformedCredential { .. }));
        assert_eq!(error.aws_code(), "IncompleteSignature");
    }

    #[test]
    fn empty_parameter_counts_as_missing() {
        assert_eq!(
            header_error("AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00", &[("x-amz-date", "20150830T123600Z")]),
            "Authorization header requires 'Credential' parameter. Authorization=AWS4-HMAC-SHA256 Credential=, SignedHeaders=host, Signature=00"
        );
    }

    const PRESIGNED: &str = "Action=ListUsers&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20150830%2Fus-east-1%2Fiam%2Faws4_request&X-Amz-Date=20150830T123600Z&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok%2Ben&X-Amz-Signature=00ff";

    #[test]
    fn parses_a_presigned_query() {
        let auth = parse_with(&HeaderMap::new(), PRESIGNED).unwrap();
        assert_eq!(auth.access_key_id, "AKIDEXAMPLE");
        assert_eq!(auth.scope.service, "iam");
        assert_eq!(auth.signed_headers, ["host"]);
        assert_eq!(auth.signature, [0x00, 0xff]);
        assert_eq!(auth.session_token.as_deref(), Some("tok+en"));
        assert_eq!(
            auth.presigned,
            Some(PresignInfo {
                expires_secs: Some(3600)
            })
        );

        let without_expires = PRESIGNED.replace("&X-Amz-Expires=3600", "");
        assert_eq!(
            parse_with(&HeaderMap::new(), &without_expires)
                .unwrap()
                .presigned,
            Some(PresignInfo { expires_secs: None })
        );
    }

    #[test]
    fn presigned_errors_match_aws() {
        let error = |query: &str| {
            parse_with(&HeaderMap::new(), query)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            error("X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature="),
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Signature'. AWS query-string parameters must include 'X-Amz-SignedHeaders'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
        );
        assert_eq!(
            error(&PRESIGNED.replace("X-Amz-Date=20150830T123600Z", "X-Amz-Date=2015")),
            "Date must be in ISO-8601 'basic format'. Got '2015'. See http://en.wikipedia.org/wiki/ISO_8601"
        );
        assert_eq!(
            error(&PRESIGNED.replace("X-Amz-Algorithm=AWS4-HMAC-SHA256", "X-Amz-Algorithm=AWS4-ECDSA-P256-SHA256")),
            "Unsupported AWS 'algorithm': 'AWS4-ECDSA-P256-SHA256' (only AWS4-HMAC-SHA256 for now). "
        );
        for (expires, message) in [
            ("abc", "X-Amz-Expires should be a number"),
            ("-1", "X-Amz-Expires must be non-negative"),
            ("0", "X-Amz-Expires must be greater than 0"),
            (
                "604801",
                "X-Amz-Expires must be less than a week (in seconds) that is 604800",
            ),
            ("99999999999999999999", "X-Amz-Expires should be a number"),
        ] {
            assert_eq!(
                error(
                    &PRESIGNED.replace("X-Amz-Expires=3600", &format!("X-Amz-Expires={expires}"))
                ),
                message
            );
        }
        assert_eq!(
            parse_with(
                &HeaderMap::new(),
                &PRESIGNED.replace("X-Amz-Expires=3600", "X-Amz-Expires=604800")
            )
            .unwrap()
            .presigned,
            Some(PresignInfo {
                expires_secs: Some(604_800)
            })
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]

        #[test]
        fn parse_never_panics_on_any_header(
            auth in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200),
            date in "[ -~]{0,20}",
            query in "[ -~]{0,120}",
        ) {
            let mut map = HeaderMap::new();
            if let Ok(value) = HeaderValue::from_bytes(&auth) {
                map.insert("authorization", value);
            }
            if let Ok(value) = HeaderValue::from_str(&date) {
                map.insert("x-amz-date", value);
            }
            let parts = RequestParts { method: "GET", path: "/", query: &query, headers: &map, body: b"" };
            if let Ok(auth) = parse(&parts) {
                let options = crate::VerifyOptions::default();
                let _ = auth.check(datetime!(2015-08-30 12:36:00 UTC), &options);
                let _ = auth.verify(&parts, b"secret", datetime!(2015-08-30 12:36:00 UTC), &crate::SigningKeyCache::new(), &options);
            }
        }

        #[test]
        fn parse_never_panics_on_near_valid_headers(
            algorithm in "AWS4-HMAC-SHA256|AWS4-[A-Z0-9-]{0,12}|",
            credential in "[A-Za-z0-9/_-]{0,40}",
            signed in "[a-z;:-]{0,30}",
            signature in "[0-9a-fA-Fz]{0,70}",
            separator in "(, |,| |\\t){1,2}",
            presigned in proptest::prelude::any::<bool>(),
        ) {
            let map_and_query = if presigned {
                (HeaderMap::new(), format!(
                    "X-Amz-Algorithm={algorithm}&X-Amz-Credential={credential}&X-Amz-Date=20150830T123600Z&X-Amz-SignedHeaders={signed}&X-Amz-Signature={signature}"
                ))
            } else {
                let header = format!("{algorithm} Credential={credential}{separator}SignedHeaders={signed}{separator}Signature={signature}");
                let mut map = HeaderMap::new();
                if let Ok(value) = HeaderValue::from_str(&header) {
                    map.insert("authorization", value);
                }
                map.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
                (map, String::new())
            };
            let (map, query) = map_and_query;
            let parts = RequestParts { method: "GET", path: "/", query: &query, headers: &map, body: b"" };
            if let Ok(auth) = parse(&parts) {
                let _ = auth.verify(&parts, b"secret", datetime!(2015-08-30 12:36:00 UTC), &crate::SigningKeyCache::new(), &crate::VerifyOptions::default());
            }
        }
    }
}
