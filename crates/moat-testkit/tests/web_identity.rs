//! AssumeRoleWithWebIdentity through the real pipeline: the call comes unsigned, as botocore
//! sends it, its token is verified against an issuer served here on loopback, the role's
//! trust policy decides with the token's claims, the refusal or success is audited, and the
//! session acts as the role. Unsigned calls of every other operation stay refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::io::{BufRead as _, BufReader, Write as _};
use std::net::{SocketAddr, TcpListener};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use moat_testkit::{
    raw_http, signed_json, signed_query, TestServer, REGION, ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

const RSA_PEM: &str = include_str!("../../moat-sts/tests/data/test-rsa-key.pem");
const RSA_N: &str = include_str!("../../moat-sts/tests/data/test-rsa-n.txt");

/// Serves an OpenID Connect discovery document and its key set on a loopback port, on a
/// thread that lives as long as the test process.
fn start_issuer() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let issuer = format!("http://{}", listener.local_addr().unwrap());
    let discovery = json!({"issuer": issuer, "jwks_uri": format!("{issuer}/keys")}).to_string();
    let keys = json!({"keys": [{"kty": "RSA", "kid": "k1", "use": "sig", "alg": "RS256",
        "n": RSA_N.trim(), "e": "AQAB"}]})
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let _ = BufReader::new(&stream).read_line(&mut line);
            let body = if line.contains("/.well-known/openid-configuration") {
                &discovery
            } else {
                &keys
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\
                 connection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    issuer
}

fn token(issuer: &str, sub: &str) -> String {
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some("k1".to_owned());
    let claims = json!({"iss": issuer, "aud": "app", "sub": sub, "iat": now, "exp": now + 600});
    jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn root_iam(server: &TestServer, params: &[(&str, &str)]) -> (u16, String) {
    let mut all = vec![("Version", "2010-05-08")];
    all.extend_from_slice(params);
    signed_query(
        server.addr,
        &all,
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

/// A form POST with no signature at all.
fn unsigned(addr: SocketAddr, params: &[(&str, &str)]) -> (u16, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, addr.to_string().parse().unwrap());
    headers.insert(
        http::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded".parse().unwrap(),
    );
    raw_http(addr, "POST", "/", &headers, body.as_bytes()).unwrap()
}

fn tag<'b>(body: &'b str, name: &str) -> &'b str {
    body.split(&format!("<{name}>"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unsigned_web_identity_call_gets_a_session_of_the_role_its_trust_policy_allows() {
    let issuer = start_issuer();
    let name = issuer.trim_start_matches("http://").to_owned();
    let server = TestServer::start_with_insecure_oidc_loopback()
        .await
        .unwrap();
    let (status, body) = root_iam(
        &server,
        &[
            ("Action", "CreateOpenIDConnectProvider"),
            ("Url", &issuer),
            ("ClientIDList.member.1", "app"),
        ],
    );
    assert_eq!(status, 200, "{body}");
    let provider_arn = tag(&body, "OpenIDConnectProviderArn").to_owned();
    assert_eq!(
        provider_arn,
        format!("arn:aws:iam::123456789012:oidc-provider/{name}")
    );
    let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": provider_arn}, "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {format!("{name}:sub"): "alice",
            format!("{name}:aud"): "app"}}}]})
    .to_string();
    let (status, body) = root_iam(
        &server,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "ci"),
            ("AssumeRolePolicyDocument", &trust),
        ],
    );
    assert_eq!(status, 200, "{body}");

    let assume = |sub: &str| {
        let token = token(&issuer, sub);
        unsigned(
            server.addr,
            &[
                ("Action", "AssumeRoleWithWebIdentity"),
                ("Version", "2011-06-15"),
                ("RoleArn", "arn:aws:iam::123456789012:role/ci"),
                ("RoleSessionName", "build-1"),
                ("WebIdentityToken", &token),
            ],
        )
    };
    let (status, body) = assume("alice");
    assert_eq!(status, 200, "{body}");
    assert_eq!(tag(&body, "SubjectFromWebIdentityToken"), "alice");
    assert_eq!(tag(&body, "Audience"), "app");
    assert_eq!(tag(&body, "Provider"), issuer);
    assert_eq!(
        tag(&body, "Arn"),
        "arn:aws:sts::123456789012:assumed-role/ci/build-1"
    );
    let key = tag(&body, "AccessKeyId").to_owned();
    let secret = tag(&body, "SecretAccessKey").to_owned();
    let session_token = tag(&body, "SessionToken").to_owned();
    assert!(key.starts_with("ASIA"), "{body}");

    // The session acts as the role.
    let (status, body) = signed_sts_with_token(
        server.addr,
        &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
        &key,
        &secret,
        &session_token,
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        tag(&body, "Arn"),
        "arn:aws:sts::123456789012:assumed-role/ci/build-1"
    );

    // The trust policy's condition on `sub` refuses bob.
    let (status, body) = assume("bob");
    assert_eq!(status, 403, "{body}");
    assert_eq!(tag(&body, "Code"), "AccessDenied");
    assert_eq!(
        tag(&body, "Message"),
        "Not authorized to perform sts:AssumeRoleWithWebIdentity"
    );

    // Only the token operation may come unsigned.
    let (status, body) = unsigned(
        server.addr,
        &[("Action", "GetCallerIdentity"), ("Version", "2011-06-15")],
    );
    assert_eq!(
        (status, tag(&body, "Code")),
        (403, "MissingAuthenticationToken"),
        "{body}"
    );

    // Both calls are in the role's account's trail, as the web identity user.
    let (status, body) = signed_json(
        server.addr,
        "cloudtrail",
        "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents",
        &json!({"LookupAttributes": [{"AttributeKey": "EventName",
            "AttributeValue": "AssumeRoleWithWebIdentity"}]})
        .to_string(),
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let page: Value = serde_json::from_str(&body).unwrap();
    let records: Vec<Value> = page["Events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{records:?}");
    let users: Vec<&str> = records
        .iter()
        .map(|r| r["userIdentity"]["userName"].as_str().unwrap())
        .collect();
    assert!(
        users.contains(&"alice") && users.contains(&"bob"),
        "{users:?}"
    );
    for r in &records {
        assert_eq!(r["userIdentity"]["type"], "WebIdentityUser");
        assert_eq!(r["userIdentity"]["identityProvider"], name);
        assert_eq!(r["recipientAccountId"], "123456789012");
        assert_eq!(
            r["requestParameters"]["webIdentityToken"],
            "HIDDEN_DUE_TO_SECURITY_REASONS"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn unregistered_issuers_and_garbage_tokens_are_refused_unsigned() {
    let server = TestServer::start().await.unwrap();
    let call = |token: &str| {
        unsigned(
            server.addr,
            &[
                ("Action", "AssumeRoleWithWebIdentity"),
                ("Version", "2011-06-15"),
                ("RoleArn", "arn:aws:iam::123456789012:role/ci"),
                ("RoleSessionName", "s1"),
                ("WebIdentityToken", token),
            ],
        )
    };
    let (status, body) = call("not-a-jwt");
    assert_eq!((status, tag(&body, "Code")), (400, "InvalidIdentityToken"));
    assert!(
        body.contains("https://sts.amazonaws.com/doc/2011-06-15/"),
        "{body}"
    );
    let (status, body) = call(&token("https://unknown.example", "alice"));
    assert_eq!((status, tag(&body, "Code")), (400, "InvalidIdentityToken"));
    assert_eq!(
        tag(&body, "Message"),
        "No OpenIDConnect provider found in your account for https://unknown.example"
    );
    server.stop().await;
}

fn signed_sts_with_token(
    addr: SocketAddr,
    params: &[(&str, &str)],
    key: &str,
    secret: &str,
    session_token: &str,
) -> (u16, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params)
        .finish();
    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, addr.to_string().parse().unwrap());
    headers.insert(
        http::header::CONTENT_TYPE,
        "application/x-www-form-urlencoded; charset=utf-8"
            .parse()
            .unwrap(),
    );
    let signing = moat_sigv4::SigningParams {
        access_key_id: key,
        secret_access_key: secret,
        session_token: Some(session_token),
        region: REGION,
        service: "sts",
        time: OffsetDateTime::now_utc(),
        payload: moat_sigv4::PayloadSigning::Hash,
    };
    moat_sigv4::sign_request("POST", "/", "", &mut headers, body.as_bytes(), &signing).unwrap();
    raw_http(addr, "POST", "/", &headers, body.as_bytes()).unwrap()
}
