//! Temporary credentials against an injected clock: they work until they expire, then
//! `ExpiredToken`; a token key rotation does not end sessions early.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use moat_testkit::{
    signed_query_to, signed_query_with_token, TestServer, ROOT_ACCESS_KEY_ID,
    ROOT_SECRET_ACCESS_KEY,
};
use moat_types::{Clock, ManualClock};
use time::{Duration, OffsetDateTime};

fn tag<'b>(body: &'b str, name: &str) -> &'b str {
    body.split(&format!("<{name}>"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or("")
}

fn code(body: &str) -> &str {
    tag(body, "Code")
}

#[tokio::test(flavor = "multi_thread")]
async fn temporary_credentials_expire_on_the_injected_clock() {
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let server = TestServer::start_with_clock(clock.clone()).await.unwrap();
    let root = |service: &str, params: &[(&str, &str)]| {
        signed_query_to(
            server.addr,
            service,
            params,
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            clock.now(),
        )
        .unwrap()
    };
    let iam = |params: &[(&str, &str)]| {
        let mut all = vec![("Version", "2010-05-08")];
        all.extend_from_slice(params);
        root("iam", &all)
    };
    let (status, _) = iam(&[("Action", "CreateUser"), ("UserName", "ci")]);
    assert_eq!(status, 200);
    let (_, body) = iam(&[("Action", "CreateAccessKey"), ("UserName", "ci")]);
    let (ci_key, ci_secret) = (
        tag(&body, "AccessKeyId").to_owned(),
        tag(&body, "SecretAccessKey").to_owned(),
    );
    let trust = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:user/ci"},"Action":"sts:AssumeRole"}}"#;
    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:ListUsers","Resource":"*"}}"#;
    let (status, body) = iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "Deploy"),
        ("AssumeRolePolicyDocument", trust),
    ]);
    assert_eq!(status, 200, "{body}");
    let (status, _) = iam(&[
        ("Action", "PutRolePolicy"),
        ("RoleName", "Deploy"),
        ("PolicyName", "list"),
        ("PolicyDocument", allow),
    ]);
    assert_eq!(status, 200);

    let (status, body) = signed_query_to(
        server.addr,
        "sts",
        &[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", "arn:aws:iam::123456789012:role/Deploy"),
            ("RoleSessionName", "build-1"),
            ("DurationSeconds", "900"),
        ],
        &ci_key,
        &ci_secret,
        clock.now(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (key, secret, token) = (
        tag(&body, "AccessKeyId").to_owned(),
        tag(&body, "SecretAccessKey").to_owned(),
        tag(&body, "SessionToken").to_owned(),
    );
    let list = |at: OffsetDateTime| {
        signed_query_with_token(
            server.addr,
            "iam",
            &[("Action", "ListUsers"), ("Version", "2010-05-08")],
            &key,
            &secret,
            Some(&token),
            at,
        )
        .unwrap()
    };

    // Valid for its 15 minutes, through a token key rotation...
    assert_eq!(list(clock.now()).0, 200);
    clock.advance(Duration::minutes(14));
    assert_eq!(list(clock.now()).0, 200);
    // ...then expired, whatever the request's own signing time says.
    clock.advance(Duration::minutes(2));
    let (status, body) = list(clock.now());
    assert_eq!((status, code(&body)), (403, "ExpiredToken"), "{body}");
    assert!(body.contains("The security token included in the request is expired"));

    // A day later the token keys have rotated; new sessions work, and the old one stays
    // expired rather than becoming unreadable noise.
    clock.advance(Duration::hours(25));
    let (status, body) = signed_query_to(
        server.addr,
        "sts",
        &[
            ("Action", "AssumeRole"),
            ("Version", "2011-06-15"),
            ("RoleArn", "arn:aws:iam::123456789012:role/Deploy"),
            ("RoleSessionName", "build-2"),
        ],
        &ci_key,
        &ci_secret,
        clock.now(),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = list(clock.now());
    assert_eq!((status, code(&body)), (403, "ExpiredToken"), "{body}");
    server.stop().await;
}
