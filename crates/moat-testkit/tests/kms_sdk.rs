//! aws-sdk-rust's KMS client against a real Moat server: envelope encryption and signing as an
//! application written in Rust does them.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use aws_sdk_kms::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_kms::error::ProvideErrorMetadata;
use aws_sdk_kms::primitives::Blob;
use aws_sdk_kms::types::{DataKeySpec, KeySpec, KeyUsageType, MessageType, SigningAlgorithmSpec};
use aws_sdk_kms::Client;
use moat_testkit::{TestServer, REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY};

fn root(server: &TestServer) -> Client {
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(&server.endpoint)
        .credentials_provider(Credentials::new(
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            None,
            None,
            "moat-test",
        ))
        .http_client(http)
        .build();
    Client::from_conf(config)
}

#[tokio::test]
async fn envelope_encryption_through_the_sdk() {
    let server = TestServer::start().await.unwrap();
    let kms = root(&server);
    let key = kms
        .create_key()
        .description("sdk")
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    kms.create_alias()
        .alias_name("alias/sdk")
        .target_key_id(key.key_id())
        .send()
        .await
        .unwrap();

    let data_key = kms
        .generate_data_key()
        .key_id("alias/sdk")
        .key_spec(DataKeySpec::Aes256)
        .encryption_context("tenant", "t1")
        .send()
        .await
        .unwrap();
    let plaintext = data_key.plaintext.unwrap();
    assert_eq!(plaintext.as_ref().len(), 32);
    assert_eq!(data_key.key_id.as_deref(), key.arn());

    let decrypted = kms
        .decrypt()
        .ciphertext_blob(data_key.ciphertext_blob.clone().unwrap())
        .encryption_context("tenant", "t1")
        .send()
        .await
        .unwrap();
    assert_eq!(decrypted.plaintext.unwrap().as_ref(), plaintext.as_ref());

    // Another tenant's context does not open it.
    let err = kms
        .decrypt()
        .ciphertext_blob(data_key.ciphertext_blob.unwrap())
        .encryption_context("tenant", "t2")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidCiphertextException"));

    let encrypted = kms
        .encrypt()
        .key_id(key.key_id())
        .plaintext(Blob::new(b"hello from rust".to_vec()))
        .send()
        .await
        .unwrap();
    let round = kms
        .decrypt()
        .ciphertext_blob(encrypted.ciphertext_blob.unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(round.plaintext.unwrap().as_ref(), b"hello from rust");
    server.stop().await;
}

#[tokio::test]
async fn signing_through_the_sdk() {
    let server = TestServer::start().await.unwrap();
    let kms = root(&server);
    let key = kms
        .create_key()
        .key_spec(KeySpec::EccNistP256)
        .key_usage(KeyUsageType::SignVerify)
        .send()
        .await
        .unwrap()
        .key_metadata
        .unwrap();
    let signed = kms
        .sign()
        .key_id(key.key_id())
        .message(Blob::new(b"release-1.2.3".to_vec()))
        .message_type(MessageType::Raw)
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    let verified = kms
        .verify()
        .key_id(key.key_id())
        .message(Blob::new(b"release-1.2.3".to_vec()))
        .signature(signed.signature.unwrap())
        .signing_algorithm(SigningAlgorithmSpec::EcdsaSha256)
        .send()
        .await
        .unwrap();
    assert!(verified.signature_valid);
    let public = kms
        .get_public_key()
        .key_id(key.key_id())
        .send()
        .await
        .unwrap();
    assert!(public.public_key.is_some_and(|k| !k.as_ref().is_empty()));
    server.stop().await;
}
