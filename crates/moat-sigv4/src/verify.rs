//! Checking a parsed [`Authorization`] against the request, the clock and the secret.

use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::canonical::{self, query_pairs, sha256_hex, CanonicalInput, UriRules};
use crate::error::{ScopeDateMismatch, ScopeMismatch, SigV4Error};
use crate::key::SigningKeyCache;
use crate::parse::Authorization;
use crate::timefmt::{format_amz_date, format_date_stamp};
use crate::{RequestParts, SCOPE_TERMINATOR, UNSIGNED_PAYLOAD};

const X_AMZ_CONTENT_SHA256: &str = "x-amz-content-sha256";

/// What the server accepts beyond the fixed SigV4 rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (S3 does; IAM and STS do not).
    pub allow_unsigned_payload: bool,
    /// The region the credential scope must name; `None` accepts any.
    pub region: Option<String>,
    /// The service the credential scope must name; `None` accepts any.
    pub service: Option<String>,
    /// How far the request time may be from the server's clock, both ways. AWS allows 15
    /// minutes.
    pub max_clock_skew: Duration,
    /// Remove dot segments and empty segments from the path before signing. True for every
    /// service but S3.
    pub normalize_uri_path: bool,
    /// Percent-encode the (already encoded) path again. True for every service but S3.
    pub double_uri_encode: bool,
    /// Hold presigned requests to the clock-skew window and ignore `X-Amz-Expires`, as STS does
    /// for presigned `GetCallerIdentity` (which EKS and Vault tokens rely on).
    pub ignore_presign_expires: bool,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            allow_unsigned_payload: false,
            region: None,
            service: None,
            max_clock_skew: Duration::minutes(15),
            normalize_uri_path: true,
            double_uri_encode: true,
            ignore_presign_expires: false,
        }
    }
}

impl VerifyOptions {
    fn uri_rules(&self) -> UriRules {
        UriRules {
            normalize: self.normalize_uri_path,
            double_encode: self.double_uri_encode,
        }
    }
}

impl Authorization {
    /// The checks that need no secret, in AWS's order: request time (clock skew, or presign
    /// expiry), `host` signed, credential scope. The server may call this before looking up the
    /// access key, so an expired request is reported as such even when the key is unknown, as
    /// AWS does; [`verify`](Self::verify) runs it again.
    pub fn check(&self, now: OffsetDateTime, options: &VerifyOptions) -> Result<(), SigV4Error> {
        self.check_time(now, options)?;
        if !self
            .signed_headers
            .iter()
            .any(|name| name == "host" || name == ":authority")
        {
            return Err(SigV4Error::HostNotSigned);
        }
        self.check_scope(options)
    }

    /// Verifies the request: [`check`](Self::check), then the signature (constant-time), then
    /// `x-amz-content-sha256` against the body.
    pub fn verify(
        &self,
        req: &RequestParts<'_>,
        secret_access_key: &[u8],
        now: OffsetDateTime,
        cache: &SigningKeyCache,
        options: &VerifyOptions,
    ) -> Result<(), SigV4Error> {
        self.check(now, options)?;

        let claimed_hash = self.claimed_payload_hash(req);
        let computed_hash;
        let payload_hash = match &claimed_hash {
            Some(claimed) => claimed.as_str(),
            None => {
                computed_hash = sha256_hex(req.body);
                computed_hash.as_str()
            }
        };

        let canonical_request = canonical::canonical_request(&CanonicalInput {
            method: req.method,
            path: req.path,
            query: req.query,
            headers: req.headers,
            signed_headers: &self.signed_headers,
            payload_hash,
            uri: options.uri_rules(),
            exclude_signature_param: self.presigned.is_some(),
        });
        let string_to_sign = canonical::string_to_sign(
            &format_amz_date(self.request_time),
            &self.scope.to_string(),
            &canonical_request,
        );
        let key = cache.signing_key(
            secret_access_key,
            &self.scope.date,
            &self.scope.region,
            &self.scope.service,
        );
        let expected = key.sign(string_to_sign.as_bytes());
        if !bool::from(expected.as_ref().ct_eq(&self.signature)) {
            return Err(SigV4Error::SignatureMismatch {
                canonical_request: String::from_utf8_lossy(&canonical_request).into_owned(),
                string_to_sign,
            });
        }

        // Checked after the signature so a tampered body under an intact signature is reported
        // as a body problem, and a forged request as a signature problem.
        if let Some(claimed) = claimed_hash {
            let computed = sha256_hex(req.body);
            let matches = if claimed == UNSIGNED_PAYLOAD {
                options.allow_unsigned_payload
            } else {
                claimed.eq_ignore_ascii_case(&computed)
            };
            if !matches {
                return Err(SigV4Error::PayloadHashMismatch {
                    provided: claimed,
                    computed,
                });
            }
        }
        Ok(())
    }

    fn check_time(&self, now: OffsetDateTime, options: &VerifyOptions) -> Result<(), SigV4Error> {
        let skew = options.max_clock_skew;
        let skew_minutes = skew.whole_minutes();
        // Overflow only happens at the ends of the representable range; there, nothing can be
        // earlier (or later), so the bound simply does not apply.
        if let Some(latest) = now.checked_add(skew) {
            if self.request_time > latest {
                return Err(SigV4Error::SignatureNotYetCurrent {
                    request_time: self.request_time,
                    latest,
                    now,
                    skew_minutes,
                });
            }
        }
        let expires = self
            .presigned
            .and_then(|p| p.expires_secs)
            .filter(|_| !options.ignore_presign_expires);
        match expires {
            Some(expires_secs) => {
                let deadline = self
                    .request_time
                    .checked_add(Duration::seconds(i64::from(expires_secs)));
                if deadline.is_some_and(|deadline| now > deadline) {
                    return Err(SigV4Error::PresignedExpired {
                        request_time: self.request_time,
                        expires_secs,
                        now,
                    });
                }
            }
            None => {
                if let Some(earliest) = now.checked_sub(skew) {
                    if self.request_time < earliest {
                        return Err(SigV4Error::SignatureExpired {
                            request_time: self.request_time,
                            earliest,
                            now,
                            skew_minutes,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn check_scope(&self, options: &VerifyOptions) -> Result<(), SigV4Error> {
        let scope = &self.scope;
        let mut mismatch = ScopeMismatch::default();
        if options.region.as_ref().is_some_and(|r| *r != scope.region) {
            mismatch.region = Some(scope.region.clone());
        }
        if let Some(service) = options.service.as_ref().filter(|s| **s != scope.service) {
            mismatch.service = Some(service.clone());
        }
        if scope.terminator != SCOPE_TERMINATOR {
            mismatch.terminator = Some(scope.terminator.clone());
        }
        let request_date = format_date_stamp(self.request_time);
        if scope.date != request_date {
            mismatch.date = Some(ScopeDateMismatch {
                scope_date: scope.date.clone(),
                request_date,
                request_timestamp: format_amz_date(self.request_time),
            });
        }
        if mismatch.is_empty() {
            Ok(())
        } else {
            Err(SigV4Error::ScopeMismatch(Box::new(mismatch)))
        }
    }

    /// The payload hash the client declared: the `x-amz-content-sha256` header, or for a
    /// presigned request the `X-Amz-Content-Sha256` query parameter.
    fn claimed_payload_hash(&self, req: &RequestParts<'_>) -> Option<String> {
        if let Some(value) = req.headers.get(X_AMZ_CONTENT_SHA256) {
            return Some(String::from_utf8_lossy(value.as_bytes()).trim().to_owned());
        }
        if self.presigned.is_some() {
            return query_pairs(req.query)
                .find(|(name, _)| name.as_ref() == b"X-Amz-Content-Sha256")
                .map(|(_, value)| String::from_utf8_lossy(&value).into_owned());
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse;
    use crate::sign::{presign_url, sign_request, PayloadSigning, SigningParams};
    use http::{HeaderMap, HeaderValue};
    use proptest::prelude::*;
    use time::macros::datetime;

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const SIGNED_AT: OffsetDateTime = datetime!(2015-08-30 12:36:00 UTC);
    const BODY: &[u8] = b"Action=ListUsers&Version=2010-05-08";

    struct Signed {
        method: String,
        path: String,
        query: String,
        headers: HeaderMap,
        body: Vec<u8>,
    }

    impl Signed {
        fn parts(&self) -> RequestParts<'_> {
            RequestParts {
                method: &self.method,
                path: &self.path,
                query: &self.query,
                headers: &self.headers,
                body: &self.body,
            }
        }

        fn verify_at(
            &self,
            secret: &str,
            now: OffsetDateTime,
            options: &VerifyOptions,
        ) -> Result<(), SigV4Error> {
            let parts = self.parts();
            parse(&parts)?.verify(
                &parts,
                secret.as_bytes(),
                now,
                &SigningKeyCache::new(),
                options,
            )
        }

        fn verify(&self) -> Result<(), SigV4Error> {
            self.verify_at(SECRET, SIGNED_AT, &VerifyOptions::default())
        }
    }

    fn params(payload: PayloadSigning) -> SigningParams<'static> {
        SigningParams {
            access_key_id: "AKIDEXAMPLE",
            secret_access_key: SECRET,
            session_token: None,
            region: "us-east-1",
            service: "iam",
            time: SIGNED_AT,
            payload,
        }
    }

    fn signed_post(payload: PayloadSigning) -> Signed {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        headers.insert(
            "content-type",
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        headers.insert("user-agent", HeaderValue::from_static("aws-cli/2"));
        sign_request("POST", "/", "", &mut headers, BODY, &params(payload)).unwrap();
        Signed {
            method: "POST".to_owned(),
            path: "/".to_owned(),
            query: String::new(),
            headers,
            body: BODY.to_vec(),
        }
    }

    fn presigned_get(expires: u32) -> Signed {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
        let query = presign_url(
            "GET",
            "/",
            "Action=ListUsers&Version=2010-05-08",
            &headers,
            b"",
            &params(PayloadSigning::Hash),
            expires,
        )
        .unwrap();
        Signed {
            method: "GET".to_owned(),
            path: "/".to_owned(),
            query,
            headers,
            body: Vec::new(),
        }
    }

    fn is_mismatch(result: Result<(), SigV4Error>) -> bool {
        matches!(result, Err(SigV4Error::SignatureMismatch { .. }))
    }

    #[test]
    fn round_trip_succeeds() {
        for payload in [PayloadSigning::Hash, PayloadSigning::HashAndHeader] {
            signed_post(payload).verify().unwrap();
        }
        presigned_get(3600).verify().unwrap();
    }

    #[test]
    fn any_change_fails() {
        let mut r = signed_post(PayloadSigning::Hash);
        r.method = "PUT".to_owned();
        assert!(is_mismatch(r.verify()));

        let mut r = signed_post(PayloadSigning::Hash);
        r.path = "/other".to_owned();
        assert!(is_mismatch(r.verify()));

        let mut r = signed_post(PayloadSigning::Hash);
        r.query = "Action=DeleteUser".to_owned();
        assert!(is_mismatch(r.verify()));

        let mut r = signed_post(PayloadSigning::Hash);
        r.headers
            .insert("content-type", HeaderValue::from_static("text/plain"));
        assert!(is_mismatch(r.verify()));

        let mut r = signed_post(PayloadSigning::Hash);
        r.headers
            .insert("host", HeaderValue::from_static("evil.example.com"));
        assert!(is_mismatch(r.verify()));

        let mut r = signed_post(PayloadSigning::Hash);
        r.body = b"Action=DeleteUser&UserName=root".to_vec();
        assert!(is_mismatch(r.verify()));

        let r = signed_post(PayloadSigning::Hash);
        assert!(is_mismatch(r.verify_at(
            "wrong secret",
            SIGNED_AT,
            &VerifyOptions::default()
        )));

        // An unsigned header may change freely.
        let mut r = signed_post(PayloadSigning::Hash);
        r.headers
            .insert("user-agent", HeaderValue::from_static("curl"));
        r.verify().unwrap();

        let mut r = presigned_get(3600);
        r.query = r.query.replace("Action=ListUsers", "Action=DeleteUser");
        assert!(is_mismatch(r.verify()));
    }

    #[test]
    fn tampered_body_under_signed_hash_header_is_a_payload_error() {
        let mut r = signed_post(PayloadSigning::HashAndHeader);
        r.body = b"Action=DeleteUser".to_vec();
        match r.verify() {
            Err(e @ SigV4Error::PayloadHashMismatch { .. }) => {
                assert_eq!(e.aws_code(), "XAmzContentSHA256Mismatch");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unsigned_payload_needs_the_option() {
        let r = signed_post(PayloadSigning::Unsigned);
        assert!(matches!(
            r.verify(),
            Err(SigV4Error::PayloadHashMismatch { .. })
        ));
        let allow = VerifyOptions {
            allow_unsigned_payload: true,
            ..VerifyOptions::default()
        };
        r.verify_at(SECRET, SIGNED_AT, &allow).unwrap();
        // The body is then not covered at all.
        let mut changed = signed_post(PayloadSigning::Unsigned);
        changed.body = b"anything".to_vec();
        changed.verify_at(SECRET, SIGNED_AT, &allow).unwrap();
    }

    #[test]
    fn skew_boundaries_are_inclusive() {
        let r = signed_post(PayloadSigning::Hash);
        let options = VerifyOptions::default();
        // Server clock ahead: the request is old.
        r.verify_at(SECRET, SIGNED_AT + Duration::minutes(15), &options)
            .unwrap();
        let err = r
            .verify_at(
                SECRET,
                SIGNED_AT + Duration::minutes(15) + Duration::seconds(1),
                &options,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z (20150830T125101Z - 15 min.)"
        );
        assert_eq!(err.aws_code(), "SignatureDoesNotMatch");
        // Server clock behind: the request is from the future.
        r.verify_at(SECRET, SIGNED_AT - Duration::minutes(15), &options)
            .unwrap();
        let err = r
            .verify_at(
                SECRET,
                SIGNED_AT - Duration::minutes(15) - Duration::seconds(1),
                &options,
            )
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z (20150830T122059Z + 15 min.)"
        );
    }

    #[test]
    fn skew_window_is_configurable() {
        let r = signed_post(PayloadSigning::Hash);
        let five = VerifyOptions {
            max_clock_skew: Duration::minutes(5),
            ..VerifyOptions::default()
        };
        let err = r
            .verify_at(SECRET, SIGNED_AT + Duration::minutes(6), &five)
            .unwrap_err();
        assert!(err.to_string().ends_with("- 5 min.)"), "{err}");
    }

    #[test]
    fn presigned_expiry() {
        let r = presigned_get(60);
        let options = VerifyOptions::default();
        r.verify_at(SECRET, SIGNED_AT + Duration::seconds(60), &options)
            .unwrap();
        let err = r
            .verify_at(SECRET, SIGNED_AT + Duration::seconds(61), &options)
            .unwrap_err();
        assert!(
            matches!(
                err,
                SigV4Error::PresignedExpired {
                    expires_secs: 60,
                    ..
                }
            ),
            "{err:?}"
        );
        assert_eq!((err.aws_code(), err.http_status()), ("RequestExpired", 400));

        // A long-lived presigned URL outlives the skew window...
        let week = presigned_get(604_800);
        week.verify_at(SECRET, SIGNED_AT + Duration::days(7), &options)
            .unwrap();
        assert!(week
            .verify_at(
                SECRET,
                SIGNED_AT + Duration::days(7) + Duration::seconds(1),
                &options
            )
            .is_err());
        // ...but is not valid before it was signed, beyond the skew.
        assert!(matches!(
            week.verify_at(SECRET, SIGNED_AT - Duration::minutes(16), &options),
            Err(SigV4Error::SignatureNotYetCurrent { .. })
        ));

        // STS ignores X-Amz-Expires and applies the skew window.
        let sts = VerifyOptions {
            ignore_presign_expires: true,
            ..VerifyOptions::default()
        };
        r.verify_at(SECRET, SIGNED_AT + Duration::minutes(15), &sts)
            .unwrap();
        assert!(matches!(
            week.verify_at(SECRET, SIGNED_AT + Duration::minutes(16), &sts),
            Err(SigV4Error::SignatureExpired { .. })
        ));
    }

    #[test]
    fn host_must_be_signed() {
        let mut headers = HeaderMap::new();
        headers.insert("x-amz-date", HeaderValue::from_static("20150830T123600Z"));
        headers.insert(
            "authorization",
            HeaderValue::from_static("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=x-amz-date, Signature=00"),
        );
        let parts = RequestParts {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            body: b"",
        };
        let auth = parse(&parts).unwrap();
        assert_eq!(
            auth.check(SIGNED_AT, &VerifyOptions::default()),
            Err(SigV4Error::HostNotSigned)
        );
    }

    #[test]
    fn scope_must_match() {
        let r = signed_post(PayloadSigning::Hash);
        let options = VerifyOptions {
            region: Some("us-east-1".to_owned()),
            service: Some("iam".to_owned()),
            ..VerifyOptions::default()
        };
        r.verify_at(SECRET, SIGNED_AT, &options).unwrap();

        let sts_in_eu = VerifyOptions {
            region: Some("eu-west-1".to_owned()),
            service: Some("sts".to_owned()),
            ..VerifyOptions::default()
        };
        assert_eq!(
            r.verify_at(SECRET, SIGNED_AT, &sts_in_eu).unwrap_err().to_string(),
            "Credential should be scoped to a valid region, not 'us-east-1'. Credential should be scoped to correct service: 'sts'. "
        );

        // A scope dated another day than X-Amz-Date.
        let mut r = signed_post(PayloadSigning::Hash);
        let auth = r.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("/20150830/", "/20150829/");
        r.headers
            .insert("authorization", HeaderValue::from_str(&auth).unwrap());
        assert_eq!(
            r.verify().unwrap_err().to_string(),
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '20150829' != '20150830', from '20150830T123600Z'."
        );

        let mut r = signed_post(PayloadSigning::Hash);
        let auth = r.headers["authorization"]
            .to_str()
            .unwrap()
            .replace("aws4_request", "aws5_request");
        r.headers
            .insert("authorization", HeaderValue::from_str(&auth).unwrap());
        assert_eq!(
            r.verify().unwrap_err().to_string(),
            "Credential should be scoped with a valid terminator: 'aws4_request', not 'aws5_request'. "
        );
    }

    #[test]
    fn mismatch_reports_canonical_strings_but_never_the_signature() {
        let mut r = signed_post(PayloadSigning::Hash);
        r.body = b"Action=GetUser".to_vec();
        let parts = r.parts();
        let auth = parse(&parts).unwrap();
        let err = auth
            .verify(
                &parts,
                SECRET.as_bytes(),
                SIGNED_AT,
                &SigningKeyCache::new(),
                &VerifyOptions::default(),
            )
            .unwrap_err();
        let SigV4Error::SignatureMismatch {
            canonical_request,
            string_to_sign,
        } = &err
        else {
            panic!("{err:?}");
        };
        assert!(
            canonical_request.starts_with("POST\n/\n\ncontent-type:"),
            "{canonical_request}"
        );
        assert!(string_to_sign.starts_with(
            "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
        ));
        // The signature the server computed for the tampered request must appear nowhere.
        let mut forged = r.headers.clone();
        sign_request(
            "POST",
            "/",
            "",
            &mut forged,
            &r.body,
            &params(PayloadSigning::Hash),
        )
        .unwrap();
        let forged = forged["authorization"].to_str().unwrap().to_owned();
        let expected = forged.rsplit('=').next().unwrap();
        for text in [err.to_string(), err.detailed_message(), format!("{err:?}")] {
            assert!(!text.contains(expected));
            assert!(!text.contains(SECRET));
        }
    }

    #[test]
    fn session_token_is_exposed() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("sts.amazonaws.com"));
        let mut p = params(PayloadSigning::Hash);
        p.session_token = Some("FwoGZXIvYXdzEB");
        sign_request(
            "GET",
            "/",
            "Action=GetCallerIdentity",
            &mut headers,
            b"",
            &p,
        )
        .unwrap();
        let parts = RequestParts {
            method: "GET",
            path: "/",
            query: "Action=GetCallerIdentity",
            headers: &headers,
            body: b"",
        };
        let auth = parse(&parts).unwrap();
        assert_eq!(auth.session_token.as_deref(), Some("FwoGZXIvYXdzEB"));
        assert!(auth
            .signed_headers
            .contains(&"x-amz-security-token".to_owned()));
        auth.verify(
            &parts,
            SECRET.as_bytes(),
            SIGNED_AT,
            &SigningKeyCache::new(),
            &VerifyOptions::default(),
        )
        .unwrap();

        let mut only_host = HeaderMap::new();
        only_host.insert("host", HeaderValue::from_static("sts.amazonaws.com"));
        let query = presign_url(
            "GET",
            "/",
            "Action=GetCallerIdentity",
            &only_host,
            b"",
            &p,
            60,
        )
        .unwrap();
        let presigned = RequestParts {
            query: &query,
            headers: &only_host,
            ..parts
        };
        let auth = parse(&presigned).unwrap();
        assert_eq!(auth.session_token.as_deref(), Some("FwoGZXIvYXdzEB"));
        auth.verify(
            &presigned,
            SECRET.as_bytes(),
            SIGNED_AT,
            &SigningKeyCache::new(),
            &VerifyOptions::default(),
        )
        .unwrap();
    }

    #[test]
    fn cache_reuse_across_requests() {
        let cache = SigningKeyCache::new();
        for _ in 0..3 {
            let r = signed_post(PayloadSigning::Hash);
            let parts = r.parts();
            parse(&parts)
                .unwrap()
                .verify(
                    &parts,
                    SECRET.as_bytes(),
                    SIGNED_AT,
                    &cache,
                    &VerifyOptions::default(),
                )
                .unwrap();
        }
        assert_eq!(cache.len(), 1);
    }

    fn query_component() -> impl Strategy<Value = String> {
        // Printable ASCII and some non-ASCII, including the characters that need encoding.
        proptest::string::string_regex("[ -~ሴé]{0,12}").unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn random_headers_and_query_round_trip(
            header_values in proptest::collection::vec("[!-~]([ -~]{0,20}[!-~])?", 1..4),
            params_list in proptest::collection::vec((query_component(), query_component()), 0..6),
            raw_plus in any::<bool>(),
            body in proptest::collection::vec(any::<u8>(), 0..64),
        ) {
            let mut headers = HeaderMap::new();
            headers.insert("host", HeaderValue::from_static("iam.amazonaws.com"));
            for value in &header_values {
                headers.append("x-custom", HeaderValue::from_str(value).unwrap());
            }
            let unsigned_headers = headers.clone();
            // Clients differ in how much they encode; the verifier must canonicalize either way.
            let query = params_list
                .iter()
                .map(|(k, v)| {
                    let encode = |s: &str| {
                        let e = canonical::uri_encode(s);
                        if raw_plus { e.replace("%2C", ",").replace("%3A", ":") } else { e }
                    };
                    format!("{}={}", encode(k), encode(v))
                })
                .collect::<Vec<_>>()
                .join("&");
            sign_request("POST", "/", &query, &mut headers, &body, &params(PayloadSigning::HashAndHeader)).unwrap();
            let parts = RequestParts { method: "POST", path: "/", query: &query, headers: &headers, body: &body };
            let auth = parse(&parts).unwrap();
            prop_assert!(auth.signed_headers.contains(&"x-custom".to_owned()));
            prop_assert_eq!(
                auth.verify(&parts, SECRET.as_bytes(), SIGNED_AT, &SigningKeyCache::new(), &VerifyOptions::default()),
                Ok(())
            );

            let presigned_query =
                presign_url("GET", "/", &query, &unsigned_headers, b"", &params(PayloadSigning::Hash), 900).unwrap();
            let presigned = RequestParts {
                method: "GET",
                path: "/",
                query: &presigned_query,
                headers: &unsigned_headers,
                body: b"",
            };
            let auth = parse(&presigned).unwrap();
            prop_assert_eq!(
                auth.verify(&presigned, SECRET.as_bytes(), SIGNED_AT, &SigningKeyCache::new(), &VerifyOptions::default()),
                Ok(())
            );
        }
    }
}
