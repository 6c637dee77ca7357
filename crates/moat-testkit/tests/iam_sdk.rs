//! aws-sdk-rust's IAM client against a real Moat server.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_iam::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::Client;
use moat_testkit::{TestServer, ACCOUNT_ID, REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY};

fn client(server: &TestServer, key: &str, secret: &str) -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&server.endpoint)
        .credentials_provider(Credentials::new(key, secret, None, None, "moat-test"))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

fn root(server: &TestServer) -> Client {
    client(server, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
}

#[tokio::test]
async fn users_round_trip_through_the_sdk() {
    let server = TestServer::start().await.unwrap();
    let iam = root(&server);
    let created = iam
        .create_user()
        .user_name("alice")
        .path("/eng/")
        .tags(
            aws_sdk_iam::types::Tag::builder()
                .key("team")
                .value("core")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let user = created.user().unwrap();
    assert_eq!(
        user.arn(),
        format!("arn:aws:iam::{ACCOUNT_ID}:user/eng/alice")
    );
    assert!(user.user_id().starts_with("AIDA"));

    let got = iam.get_user().user_name("ALICE").send().await.unwrap();
    assert_eq!(got.user().unwrap().user_name(), "alice");
    assert_eq!(got.user().unwrap().tags().len(), 1);

    for i in 0..5 {
        iam.create_user()
            .user_name(format!("page{i}"))
            .send()
            .await
            .unwrap();
    }
    let names: Vec<String> = iam
        .list_users()
        .max_items(2)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.user_name().to_owned())
        .collect();
    assert_eq!(
        names,
        ["alice", "page0", "page1", "page2", "page3", "page4"]
    );

    let err = iam
        .create_user()
        .user_name("Alice")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("EntityAlreadyExists"));
    let err = iam.get_user().user_name("nobody").send().await.unwrap_err();
    assert_eq!(err.code(), Some("NoSuchEntity"));
    assert_eq!(
        err.message(),
        Some("The user with name nobody cannot be found.")
    );
    let err = iam
        .create_user()
        .user_name("bad name")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationError"));
    server.stop().await;
}

#[tokio::test]
async fn the_readme_flow_works_and_policies_decide() {
    let server = TestServer::start().await.unwrap();
    let iam = root(&server);
    iam.create_user()
        .user_name("alice")
        .path("/eng/")
        .send()
        .await
        .unwrap();
    iam.create_group()
        .group_name("Admins")
        .send()
        .await
        .unwrap();
    iam.add_user_to_group()
        .group_name("Admins")
        .user_name("alice")
        .send()
        .await
        .unwrap();
    iam.attach_group_policy()
        .group_name("Admins")
        .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
        .send()
        .await
        .unwrap();
    iam.create_login_profile()
        .user_name("alice")
        .password("Correct-Horse-Battery-9")
        .send()
        .await
        .unwrap();
    let key = iam
        .create_access_key()
        .user_name("alice")
        .send()
        .await
        .unwrap();
    let key = key.access_key().unwrap();
    assert!(key.access_key_id().starts_with("AKIA"));
    assert_eq!(key.secret_access_key().len(), 40);

    // Alice is an administrator through her group; Bob, with no policies, may do nothing.
    let alice = client(&server, key.access_key_id(), key.secret_access_key());
    let users = alice.list_users().send().await.unwrap();
    assert!(users.users().iter().any(|u| u.user_name() == "alice"));
    alice.create_user().user_name("bob").send().await.unwrap();
    let bob_key = alice
        .create_access_key()
        .user_name("bob")
        .send()
        .await
        .unwrap();
    let bob_key = bob_key.access_key().unwrap();
    let bob = client(
        &server,
        bob_key.access_key_id(),
        bob_key.secret_access_key(),
    );
    let err = bob.get_user().user_name("alice").send().await.unwrap_err();
    assert_eq!(err.code(), Some("AccessDenied"));
    assert_eq!(
        err.message(),
        Some(
            format!(
                "User: arn:aws:iam::{ACCOUNT_ID}:user/bob is not authorized to perform: \
                 iam:GetUser on resource: arn:aws:iam::{ACCOUNT_ID}:user/eng/alice because no \
                 identity-based policy allows the iam:GetUser action"
            )
            .as_str()
        )
    );

    let bad = client(
        &server,
        key.access_key_id(),
        "not-the-secret-0000000000000000000000000",
    );
    let err = bad.list_users().send().await.unwrap_err();
    assert_eq!(err.code(), Some("SignatureDoesNotMatch"));
    let unknown = client(&server, "AKIAUNKNOWNKEY000000", ROOT_SECRET_ACCESS_KEY);
    let err = unknown.list_users().send().await.unwrap_err();
    assert_eq!(err.code(), Some("InvalidClientTokenId"));
    server.stop().await;
}
