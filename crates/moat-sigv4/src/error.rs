//! Why a request failed authentication, with AWS's codes and messages.
//!
//! The messages are AWS's own, word for word, because clients and people search for them; the
//! usual lowercase style gives way here. No message carries the secret key or the signature the
//! server computed: the expected signature would let a caller forge the request it failed to
//! sign.

use std::fmt;

use time::OffsetDateTime;

use crate::timefmt::format_amz_date;

/// A request that failed SigV4 parsing or verification.
///
/// [`aws_code`](Self::aws_code) and [`http_status`](Self::http_status) give the query-protocol
/// (IAM, STS) flavour; the server maps them to other protocols' shapes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SigV4Error {
    /// Neither an `Authorization` header nor an `X-Amz-Algorithm` query parameter.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,

    /// Both an `Authorization` header and an `X-Amz-Algorithm` query parameter.
    #[error(
        "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."
    )]
    AmbiguousAuthentication,

    /// A piece of the `Authorization` header that is not `key=value`.
    #[error("'{pair}' not a valid key=value pair (missing equal-sign) in Authorization header: '{header}'.")]
    MissingEqualSign {
        /// The offending piece.
        pair: String,
        /// The whole header, as received.
        header: String,
    },

    /// `Credential`, `Signature` or `SignedHeaders` missing from the `Authorization` header, or
    /// no `X-Amz-Date`/`Date` header.
    #[error("{}", missing_header_parameters_message(.missing, *.date_missing, .header))]
    MissingHeaderParameters {
        /// The missing parameter names, in AWS's order.
        missing: Vec<&'static str>,
        /// Neither `X-Amz-Date` nor `Date` is present.
        date_missing: bool,
        /// The whole header, as received.
        header: String,
    },

    /// Required `X-Amz-*` parameters missing from a presigned query string.
    #[error("{}", missing_query_parameters_message(.missing))]
    MissingQueryParameters {
        /// The missing parameter names, in AWS's order.
        missing: Vec<&'static str>,
    },

    /// `X-Amz-Date` (or `Date`) is not a timestamp in the expected format.
    #[error("Date must be in ISO-8601 'basic format'. Got '{value}'. See http://en.wikipedia.org/wiki/ISO_8601")]
    InvalidDate {
        /// The value received.
        value: String,
    },

    /// An algorithm other than `AWS4-HMAC-SHA256`.
    #[error("Unsupported AWS 'algorithm': '{algorithm}' (only AWS4-HMAC-SHA256 for now). ")]
    UnsupportedAlgorithm {
        /// The algorithm received.
        algorithm: String,
    },

    /// A `Credential` that is not `keyid/date/region/service/aws4_request`.
    #[error("Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term, got '{credential}'")]
    MalformedCredential {
        /// The credential received.
        credential: String,
    },

    /// An `X-Amz-Expires` that is not a number of seconds in `1..=604800`.
    #[error("{reason}")]
    InvalidExpires {
        /// AWS's sentence for the problem.
        reason: &'static str,
    },

    /// The request time is more than the allowed skew before the server's clock.
    #[error(
        "Signature expired: {} is now earlier than {} ({} - {} min.)",
        format_amz_date(*.request_time),
        format_amz_date(*.earliest),
        format_amz_date(*.now),
        .skew_minutes
    )]
    SignatureExpired {
        /// `X-Amz-Date` (or `Date`) of the request.
        request_time: OffsetDateTime,
        /// The earliest request time accepted.
        earliest: OffsetDateTime,
        /// The server's clock.
        now: OffsetDateTime,
        /// The allowed skew.
        skew_minutes: i64,
    },

    /// The request time is more than the allowed skew after the server's clock.
    #[error(
        "Signature not yet current: {} is still later than {} ({} + {} min.)",
        format_amz_date(*.request_time),
        format_amz_date(*.latest),
        format_amz_date(*.now),
        .skew_minutes
    )]
    SignatureNotYetCurrent {
        /// `X-Amz-Date` (or `Date`) of the request.
        request_time: OffsetDateTime,
        /// The latest request time accepted.
        latest: OffsetDateTime,
        /// The server's clock.
        now: OffsetDateTime,
        /// The allowed skew.
        skew_minutes: i64,
    },

    /// A presigned request used after `X-Amz-Date` + `X-Amz-Expires`.
    #[error("Request has expired.")]
    PresignedExpired {
        /// `X-Amz-Date` of the request.
        request_time: OffsetDateTime,
        /// `X-Amz-Expires` of the request.
        expires_secs: u32,
        /// The server's clock.
        now: OffsetDateTime,
    },

    /// `host` is not among the signed headers, so the request could be replayed elsewhere.
    #[error("'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")]
    HostNotSigned,

    /// The credential scope names another region, service, terminator or date.
    #[error("{0}")]
    ScopeMismatch(Box<ScopeMismatch>),

    /// The signature does not match. The canonical request and string to sign are what the
    /// server computed: AWS returns them to help a client find its mistake, and neither reveals
    /// the secret or the expected signature.
    #[error("The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.")]
    SignatureMismatch {
        /// The canonical request the server built.
        canonical_request: String,
        /// The string to sign the server built.
        string_to_sign: String,
    },

    /// `x-amz-content-sha256` is not the SHA-256 of the body (or is `UNSIGNED-PAYLOAD` where
    /// that is not allowed).
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    PayloadHashMismatch {
        /// The value the client sent.
        provided: String,
        /// The hex SHA-256 of the body received.
        computed: String,
    },
}

impl SigV4Error {
    /// The AWS error code, query-protocol flavour.
    pub fn aws_code(&self) -> &'static str {
        match self {
            Self::MissingAuthenticationToken => "MissingAuthenticationToken",
            Self::MissingEqualSign { .. }
            | Self::MissingHeaderParameters { .. }
            | Self::MissingQueryParameters { .. }
            | Self::InvalidDate { .. }
            | Self::UnsupportedAlgorithm { .. }
            | Self::MalformedCredential { .. }
            | Self::InvalidExpires { .. } => "IncompleteSignature",
            Self::AmbiguousAuthentication
            | Self::SignatureExpired { .. }
            | Self::SignatureNotYetCurrent { .. }
            | Self::HostNotSigned
            | Self::ScopeMismatch(_)
            | Self::SignatureMismatch { .. } => "SignatureDoesNotMatch",
            Self::PresignedExpired { .. } => "RequestExpired",
            Self::PayloadHashMismatch { .. } => "XAmzContentSHA256Mismatch",
        }
    }

    /// The HTTP status AWS answers with, query-protocol flavour.
    pub fn http_status(&self) -> u16 {
        match self.aws_code() {
            "IncompleteSignature" | "RequestExpired" | "XAmzContentSHA256Mismatch" => 400,
            _ => 403,
        }
    }

    /// AWS's full message: for a signature mismatch, the canonical request and string to sign
    /// the server expected (IAM and STS append them); otherwise the same as `Display`.
    pub fn detailed_message(&self) -> String {
        match self {
            Self::SignatureMismatch {
                canonical_request,
                string_to_sign,
            } => format!(
                "{self}\n\nThe Canonical String for this request should have been\n'{canonical_request}'\n\nThe String-to-Sign should have been\n'{string_to_sign}'\n"
            ),
            _ => self.to_string(),
        }
    }
}

/// How a credential scope differs from what the server expects. AWS reports every difference
/// in one message, so this collects them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScopeMismatch {
    /// The region in the scope, when the server serves another.
    pub region: Option<String>,
    /// The service the server expected, when the scope names another.
    pub service: Option<String>,
    /// The terminator in the scope, when it is not `aws4_request`.
    pub terminator: Option<String>,
    /// The scope date, when it is not the request's date.
    pub date: Option<ScopeDateMismatch>,
}

/// A credential scope dated another day than the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeDateMismatch {
    /// The date in the scope.
    pub scope_date: String,
    /// The `yyyyMMdd` of the request time.
    pub request_date: String,
    /// The request time, `yyyyMMddTHHmmssZ`.
    pub request_timestamp: String,
}

impl ScopeMismatch {
    pub(crate) fn is_empty(&self) -> bool {
        self.region.is_none()
            && self.service.is_none()
            && self.terminator.is_none()
            && self.date.is_none()
    }
}

impl fmt::Display for ScopeMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // AWS ends each of the first three sentences with ". " even when it is the last one.
        if let Some(region) = &self.region {
            write!(
                f,
                "Credential should be scoped to a valid region, not '{region}'. "
            )?;
        }
        if let Some(service) = &self.service {
            write!(
                f,
                "Credential should be scoped to correct service: '{service}'. "
            )?;
        }
        if let Some(terminator) = &self.terminator {
            write!(
                f,
                "Credential should be scoped with a valid terminator: 'aws4_request', not '{terminator}'. "
            )?;
        }
        if let Some(date) = &self.date {
            write!(
                f,
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
                date.scope_date, date.request_date, date.request_timestamp
            )?;
        }
        Ok(())
    }
}

fn missing_header_parameters_message(
    missing: &[&'static str],
    date_missing: bool,
    header: &str,
) -> String {
    let mut message = String::new();
    for name in missing {
        message.push_str("Authorization header requires '");
        message.push_str(name);
        message.push_str("' parameter. ");
    }
    if date_missing {
        message.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    message.push_str("Authorization=");
    message.push_str(header);
    message
}

fn missing_query_parameters_message(missing: &[&'static str]) -> String {
    let mut message = String::new();
    for name in missing {
        message.push_str("AWS query-string parameters must include '");
        message.push_str(name);
        message.push_str("'. ");
    }
    message.push_str("Re-examine the query-string parameters.");
    message
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn skew_messages_match_aws() {
        let e = SigV4Error::SignatureExpired {
            request_time: datetime!(2013-05-24 00:00:00 UTC),
            earliest: datetime!(2013-05-24 00:05:00 UTC),
            now: datetime!(2013-05-24 00:20:00 UTC),
            skew_minutes: 15,
        };
        assert_eq!(
            e.to_string(),
            "Signature expired: 20130524T000000Z is now earlier than 20130524T000500Z (20130524T002000Z - 15 min.)"
        );
        assert_eq!(
            (e.aws_code(), e.http_status()),
            ("SignatureDoesNotMatch", 403)
        );

        let e = SigV4Error::SignatureNotYetCurrent {
            request_time: datetime!(2015-08-30 12:51:01 UTC),
            latest: datetime!(2015-08-30 12:51:00 UTC),
            now: datetime!(2015-08-30 12:36:00 UTC),
            skew_minutes: 15,
        };
        assert_eq!(
            e.to_string(),
            "Signature not yet current: 20150830T125101Z is still later than 20150830T125100Z (20150830T123600Z + 15 min.)"
        );
    }

    #[test]
    fn missing_parameter_messages_match_aws() {
        let e = SigV4Error::MissingHeaderParameters {
            missing: vec!["Signature", "SignedHeaders"],
            date_missing: false,
            header: "AWS4-HMAC-SHA256 Credential=ABCDEF".to_owned(),
        };
        assert_eq!(
            e.to_string(),
            "Authorization header requires 'Signature' parameter. Authorization header requires 'SignedHeaders' parameter. Authorization=AWS4-HMAC-SHA256 Credential=ABCDEF"
        );
        assert_eq!(
            (e.aws_code(), e.http_status()),
            ("IncompleteSignature", 400)
        );

        let e = SigV4Error::MissingQueryParameters {
            missing: vec!["X-Amz-Credential", "X-Amz-Date"],
        };
        assert_eq!(
            e.to_string(),
            "AWS query-string parameters must include 'X-Amz-Credential'. AWS query-string parameters must include 'X-Amz-Date'. Re-examine the query-string parameters."
        );
    }

    #[test]
    fn scope_mismatch_lists_every_difference() {
        let all = ScopeMismatch {
            region: Some("c".to_owned()),
            service: Some("dynamodb".to_owned()),
            terminator: Some("e".to_owned()),
            date: Some(ScopeDateMismatch {
                scope_date: "b".to_owned(),
                request_date: "20130609".to_owned(),
                request_timestamp: "20130609T095204Z".to_owned(),
            }),
        };
        assert_eq!(
            SigV4Error::ScopeMismatch(Box::new(all)).to_string(),
            "Credential should be scoped to a valid region, not 'c'. Credential should be scoped to correct service: 'dynamodb'. Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: 'b' != '20130609', from '20130609T095204Z'."
        );
        let region_only = ScopeMismatch {
            region: Some("us-east-2".to_owned()),
            ..ScopeMismatch::default()
        };
        assert_eq!(
            region_only.to_string(),
            "Credential should be scoped to a valid region, not 'us-east-2'. "
        );
    }

    #[test]
    fn detailed_message_appends_canonical_strings_for_mismatch_only() {
        let e = SigV4Error::SignatureMismatch {
            canonical_request: "GET\n/".to_owned(),
            string_to_sign: "AWS4-HMAC-SHA256\nX".to_owned(),
        };
        assert!(e.detailed_message().ends_with(
            "\n\nThe Canonical String for this request should have been\n'GET\n/'\n\nThe String-to-Sign should have been\n'AWS4-HMAC-SHA256\nX'\n"
        ));
        assert_eq!(
            SigV4Error::HostNotSigned.detailed_message(),
            SigV4Error::HostNotSigned.to_string()
        );
    }

    #[test]
    fn codes_and_statuses() {
        let cases: Vec<(SigV4Error, &str, u16)> = vec![
            (
                SigV4Error::MissingAuthenticationToken,
                "MissingAuthenticationToken",
                403,
            ),
            (
                SigV4Error::AmbiguousAuthentication,
                "SignatureDoesNotMatch",
                403,
            ),
            (SigV4Error::HostNotSigned, "SignatureDoesNotMatch", 403),
            (
                SigV4Error::InvalidExpires { reason: "x" },
                "IncompleteSignature",
                400,
            ),
            (
                SigV4Error::PresignedExpired {
                    request_time: datetime!(2015-08-30 12:36:00 UTC),
                    expires_secs: 1,
                    now: datetime!(2015-08-30 12:36:02 UTC),
                },
                "RequestExpired",
                400,
            ),
            (
                SigV4Error::PayloadHashMismatch {
                    provided: String::new(),
                    computed: String::new(),
                },
                "XAmzContentSHA256Mismatch",
                400,
            ),
        ];
        for (error, code, status) in cases {
            assert_eq!(
                (error.aws_code(), error.http_status()),
                (code, status),
                "{error:?}"
            );
        }
    }
}
