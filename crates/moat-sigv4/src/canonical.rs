//! The canonical request and the string to sign, byte for byte as AWS builds them.
//!
//! Signer and verifier both go through [`canonical_request`]: a rule implemented once cannot
//! disagree with itself, and the AWS test suite then pins it from both sides.

use std::borrow::Cow;

use http::HeaderMap;
use ring::digest;

use crate::ALGORITHM;

/// Everything the canonical request is built from.
pub(crate) struct CanonicalInput<'a> {
    pub(crate) method: &'a str,
    pub(crate) path: &'a str,
    pub(crate) query: &'a str,
    pub(crate) headers: &'a HeaderMap,
    /// Lowercase header names, in the order the client listed them.
    pub(crate) signed_headers: &'a [String],
    pub(crate) payload_hash: &'a str,
    pub(crate) uri: UriRules,
    /// Presigned requests sign every query parameter except the signature itself.
    pub(crate) exclude_signature_param: bool,
}

/// How the path becomes the canonical URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UriRules {
    /// Remove `.`/`..` segments and empty segments (every service but S3).
    pub(crate) normalize: bool,
    /// Encode the already-encoded path once more (every service but S3).
    pub(crate) double_encode: bool,
}

pub(crate) fn canonical_request(input: &CanonicalInput<'_>) -> Vec<u8> {
    let uri = canonical_uri(input.path, input.uri);
    let query = canonical_query(input.query, input.exclude_signature_param);
    let mut out = Vec::with_capacity(
        input.method.len() + uri.len() + query.len() + 64 * input.signed_headers.len() + 128,
    );
    out.extend_from_slice(input.method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(uri.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(query.as_bytes());
    out.push(b'\n');
    for name in input.signed_headers {
        out.extend_from_slice(name.as_bytes());
        out.push(b':');
        let mut first = true;
        for value in input.headers.get_all(name.as_str()) {
            if !first {
                out.push(b',');
            }
            first = false;
            push_header_value(&mut out, value.as_bytes());
        }
        out.push(b'\n');
    }
    out.push(b'\n');
    push_signed_headers(&mut out, input.signed_headers);
    out.push(b'\n');
    out.extend_from_slice(input.payload_hash.as_bytes());
    out
}

pub(crate) fn string_to_sign(amz_date: &str, scope: &str, canonical_request: &[u8]) -> String {
    let hash = sha256_hex(canonical_request);
    let mut out = String::with_capacity(ALGORITHM.len() + amz_date.len() + scope.len() + 67);
    out.push_str(ALGORITHM);
    out.push('\n');
    out.push_str(amz_date);
    out.push('\n');
    out.push_str(scope);
    out.push('\n');
    out.push_str(&hash);
    out
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    lower_hex(digest::digest(&digest::SHA256, data).as_ref())
}

/// Lowercase hex; hand-rolled because `hex::encode`'s char iterator showed up in profiles of
/// the verify path, which hex-encodes two digests and a signature per request.
pub(crate) fn lower_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(lower_hex_digit(b >> 4)));
        out.push(char::from(lower_hex_digit(b & 0x0f)));
    }
    out
}

fn lower_hex_digit(nibble: u8) -> u8 {
    match nibble {
        0..=9 => b'0' + nibble,
        _ => b'a' + (nibble & 0x0f) - 10,
    }
}

pub(crate) fn signed_headers_line(names: &[String]) -> String {
    let mut out = Vec::new();
    push_signed_headers(&mut out, names);
    String::from_utf8_lossy(&out).into_owned()
}

fn push_signed_headers(out: &mut Vec<u8>, names: &[String]) {
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push(b';');
        }
        out.extend_from_slice(name.as_bytes());
    }
}

/// Trims the value and collapses runs of spaces, as AWS does. Only spaces collapse: botocore
/// also folds tabs but the AWS SDK for Rust does not, and neither sends tabs in practice.
fn push_header_value(out: &mut Vec<u8>, value: &[u8]) {
    let mut previous_space = false;
    for &b in value.trim_ascii() {
        if b == b' ' {
            if !previous_space {
                out.push(b' ');
            }
            previous_space = true;
        } else {
            out.push(b);
            previous_space = false;
        }
    }
}

/// The canonical URI of a raw (percent-encoded) request path.
pub(crate) fn canonical_uri(path: &str, rules: UriRules) -> String {
    let mut out = String::with_capacity(path.len() + 16);
    if rules.normalize {
        // RFC 3986 remove_dot_segments, plus AWS's removal of empty segments: `//example//`
        // signs as `/example/` (suite case get-slashes-normalized).
        let mut segments: Vec<&str> = Vec::new();
        for segment in path.split('/') {
            match segment {
                "" | "." => {}
                ".." => {
                    segments.pop();
                }
                s => segments.push(s),
            }
        }
        out.push('/');
        for (i, segment) in segments.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            push_path_segment(&mut out, segment, rules.double_encode);
        }
        if path.ends_with('/') && !segments.is_empty() {
            out.push('/');
        }
    } else {
        if !path.starts_with('/') {
            out.push('/');
        }
        for (i, segment) in path.split('/').enumerate() {
            if i > 0 {
                out.push('/');
            }
            push_path_segment(&mut out, segment, rules.double_encode);
        }
    }
    out
}

fn push_path_segment(out: &mut String, segment: &str, double_encode: bool) {
    if double_encode {
        // The wire path is already encoded once; encoding its bytes again is the "double"
        // encoding, and it also encodes raw bytes a lax client left unencoded (get-utf8).
        uri_encode_into(out, segment.as_bytes());
    } else {
        uri_encode_into(out, &percent_decode(segment.as_bytes()));
    }
}

/// The canonical query string: parameters decoded, re-encoded with the strict RFC 3986 set,
/// sorted by encoded name then encoded value.
pub(crate) fn canonical_query(query: &str, exclude_signature_param: bool) -> String {
    let mut pairs: Vec<(String, String)> = Vec::new();
    for (name, value) in query_pairs(query) {
        if exclude_signature_param && name.as_ref() == b"X-Amz-Signature" {
            continue;
        }
        let mut encoded_name = String::with_capacity(name.len());
        uri_encode_into(&mut encoded_name, &name);
        let mut encoded_value = String::with_capacity(value.len());
        uri_encode_into(&mut encoded_value, &value);
        pairs.push((encoded_name, encoded_value));
    }
    pairs.sort_unstable();
    let mut out = String::with_capacity(query.len() + 16);
    for (i, (name, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        out.push_str(value);
    }
    out
}

/// Decoded `(name, value)` pairs of a raw query string. A piece without `=` has an empty value
/// and empty pieces (`a=1&&b=2`) are skipped, as botocore does. `+` stays a plus: SigV4 query
/// strings are RFC 3986, not HTML forms.
pub(crate) fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, [u8]>, Cow<'_, [u8]>)> {
    query
        .split('&')
        .filter(|piece| !piece.is_empty())
        .map(|piece| {
            let (name, value) = piece.split_once('=').unwrap_or((piece, ""));
            (
                percent_decode(name.as_bytes()),
                percent_decode(value.as_bytes()),
            )
        })
}

/// Percent-decodes leniently: a `%` not followed by two hex digits stays a literal `%`. The
/// suite's post-vanilla-query-nonunreserved case signs a raw `%^` this way, and strictness would
/// buy nothing since a mangled escape still has to match the client's signature.
pub(crate) fn percent_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.contains(&b'%') {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while let Some(&b) = input.get(i) {
        if b == b'%' {
            let high = input.get(i + 1).copied().and_then(hex_value);
            let low = input.get(i + 2).copied().and_then(hex_value);
            if let (Some(high), Some(low)) = (high, low) {
                out.push(high << 4 | low);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Appends `bytes` URI-encoded: everything but `A-Za-z0-9-_.~` becomes `%XX` with uppercase hex.
pub(crate) fn uri_encode_into(out: &mut String, bytes: &[u8]) {
    for &b in bytes {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(hex_digit(b >> 4));
            out.push(hex_digit(b & 0x0f));
        }
    }
}

pub(crate) fn uri_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    uri_encode_into(&mut out, value.as_bytes());
    out
}

fn hex_digit(nibble: u8) -> char {
    match nibble {
        0..=9 => char::from(b'0' + nibble),
        _ => char::from(b'A' + (nibble & 0x0f) - 10),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    const NORMALIZED: UriRules = UriRules {
        normalize: true,
        double_encode: true,
    };
    const S3: UriRules = UriRules {
        normalize: false,
        double_encode: false,
    };

    #[test]
    fn uri_encoding_keeps_only_unreserved() {
        assert_eq!(
            uri_encode("-._~AZaz09 /+%=&ሴ"),
            "-._~AZaz09%20%2F%2B%25%3D%26%E1%88%B4"
        );
    }

    #[test]
    fn lower_hex_matches_the_hex_crate() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(lower_hex(&bytes), hex::encode(&bytes));
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode(b"a%20b").as_ref(), b"a b");
        assert_eq!(percent_decode(b"%e1%88%B4").as_ref(), "ሴ".as_bytes());
        assert_eq!(percent_decode(b"%^&%2").as_ref(), b"%^&%2");
        assert_eq!(percent_decode(b"%").as_ref(), b"%");
        assert_eq!(percent_decode(b"%zz%41").as_ref(), b"%zzA");
        assert!(matches!(percent_decode(b"plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn normalized_uri_removes_dot_and_empty_segments() {
        for (path, expected) in [
            ("", "/"),
            ("/", "/"),
            ("//", "/"),
            ("/./", "/"),
            ("/example/..", "/"),
            ("/example1/example2/../..", "/"),
            ("/./example", "/example"),
            ("//example//", "/example/"),
            ("/a/b/c/./../../g", "/a/g"),
            ("/../../a", "/a"),
            ("/a/..b/.c", "/a/..b/.c"),
            ("/a/%2E%2E/b", "/a/%252E%252E/b"),
            ("relative/path", "/relative/path"),
        ] {
            assert_eq!(canonical_uri(path, NORMALIZED), expected, "{path:?}");
        }
    }

    #[test]
    fn normalized_uri_double_encodes() {
        assert_eq!(canonical_uri("/%E1%88%B4", NORMALIZED), "/%25E1%2588%25B4");
        assert_eq!(canonical_uri("/ሴ", NORMALIZED), "/%E1%88%B4");
        assert_eq!(
            canonical_uri("/example space/", NORMALIZED),
            "/example%20space/"
        );
        assert_eq!(canonical_uri("/a%2Fb", NORMALIZED), "/a%252Fb");
        assert_eq!(canonical_uri("/100%25", NORMALIZED), "/100%2525");
    }

    #[test]
    fn s3_uri_is_encoded_once_and_not_normalized() {
        assert_eq!(canonical_uri("//example//", S3), "//example//");
        assert_eq!(canonical_uri("/a/../b", S3), "/a/../b");
        assert_eq!(canonical_uri("/%E1%88%B4", S3), "/%E1%88%B4");
        assert_eq!(
            canonical_uri("/key%20with%7Espace", S3),
            "/key%20with~space"
        );
        assert_eq!(canonical_uri("/a%2Fb", S3), "/a%2Fb");
        assert_eq!(canonical_uri("", S3), "/");
    }

    #[test]
    fn canonical_query_sorts_and_reencodes() {
        for (query, exclude, expected) in [
            ("", false, ""),
            (
                "Param2=value2&Param1=value1",
                false,
                "Param1=value1&Param2=value2",
            ),
            (
                "Param1=value2&Param1=value1",
                false,
                "Param1=value1&Param1=value2",
            ),
            ("a=10&a=9", false, "a=10&a=9"),
            ("x=a.b&x=a%2Fb", false, "x=a%2Fb&x=a.b"),
            ("q=a+b", false, "q=a%2Bb"),
            ("q=a%20b", false, "q=a%20b"),
            ("b&a=1", false, "a=1&b="),
            ("a=1=2", false, "a=1%3D2"),
            ("a=1&&b=2&", false, "a=1&b=2"),
            ("%7e=%7E", false, "~=~"),
            ("a-b=1&a=1", false, "a=1&a-b=1"),
            ("X-Amz-Signature=abc&a=1", true, "a=1"),
            ("X-Amz-Signature=abc&a=1", false, "X-Amz-Signature=abc&a=1"),
        ] {
            assert_eq!(canonical_query(query, exclude), expected, "{query:?}");
        }
    }

    #[test]
    fn header_values_are_trimmed_and_collapsed() {
        let mut out = Vec::new();
        push_header_value(&mut out, b"  \"a   b   c\"  ");
        assert_eq!(out, b"\"a b c\"");
        out.clear();
        push_header_value(&mut out, b"\ta\tb ");
        assert_eq!(out, b"a\tb");
    }

    #[test]
    fn canonical_request_joins_repeated_headers_in_order() {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("example.amazonaws.com"));
        headers.append("my-header1", HeaderValue::from_static("value4"));
        headers.append("my-header1", HeaderValue::from_static(" value1 "));
        let signed = vec![
            "host".to_owned(),
            "my-header1".to_owned(),
            "missing".to_owned(),
        ];
        let creq = canonical_request(&CanonicalInput {
            method: "GET",
            path: "/",
            query: "",
            headers: &headers,
            signed_headers: &signed,
            payload_hash: "e3b0",
            uri: NORMALIZED,
            exclude_signature_param: false,
        });
        assert_eq!(
            String::from_utf8(creq).unwrap(),
            "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value4,value1\nmissing:\n\n\
             host;my-header1;missing\ne3b0"
        );
    }
}
