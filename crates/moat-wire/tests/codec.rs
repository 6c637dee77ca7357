//! The codecs against the real IAM and KMS models: decoding, validation messages, golden XML
//! and JSON, and robustness on arbitrary input.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moat_wire::{json, query, ServiceModel};
use proptest::prelude::*;
use serde_json::json;

fn load(svc: &str) -> ServiceModel {
    let path = format!(
        "{}/../../models/{svc}/service-2.json",
        env!("CARGO_MANIFEST_DIR")
    );
    ServiceModel::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn iam() -> &'static ServiceModel {
    static M: std::sync::OnceLock<ServiceModel> = std::sync::OnceLock::new();
    M.get_or_init(|| load("iam"))
}

fn kms() -> &'static ServiceModel {
    static M: std::sync::OnceLock<ServiceModel> = std::sync::OnceLock::new();
    M.get_or_init(|| load("kms"))
}

#[test]
fn query_lists_structures_and_scalars_decode() {
    let params = query::parse_form(
        b"Action=CreateUser&UserName=alice&Path=%2Feng%2F&Tags.member.2.Key=b&Tags.member.2.Value=2\
          &Tags.member.1.Key=a&Tags.member.1.Value=1",
    );
    let v = query::decode_input(iam(), "CreateUserRequest", &params).unwrap();
    assert_eq!(
        v,
        json!({"UserName": "alice", "Path": "/eng/",
               "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]})
    );
    let params = query::parse_form(b"MaxItems=5&OnlyAttached=true&Scope=Local");
    let v = query::decode_input(iam(), "ListPoliciesRequest", &params).unwrap();
    assert_eq!(
        v,
        json!({"MaxItems": 5, "OnlyAttached": true, "Scope": "Local"})
    );
}

#[test]
fn validation_messages_follow_aws() {
    let params = query::parse_form(b"UserName=bad%20name");
    let e = query::decode_input(iam(), "CreateUserRequest", &params).unwrap_err();
    assert_eq!(
        e.message(),
        "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy \
         constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
    );
    let e = query::decode_input(iam(), "CreateUserRequest", &query::Params::new()).unwrap_err();
    assert_eq!(
        e.message(),
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: \
         Member must not be null"
    );
    let long = format!("UserName={}&MaxItems=0", "a".repeat(129));
    let e = query::decode_input(
        iam(),
        "ListGroupsForUserRequest",
        &query::parse_form(long.as_bytes()),
    )
    .unwrap_err();
    assert_eq!(e.messages.len(), 2);
    assert!(e.message().starts_with("2 validation errors detected: "));
    assert!(e
        .message()
        .contains("Member must have length less than or equal to 128"));
    assert!(e
        .message()
        .contains("Member must have value greater than or equal to 1"));
    let e = query::decode_input(
        iam(),
        "UpdateAccessKeyRequest",
        &query::parse_form(b"AccessKeyId=AKIAAAAAAAAAAAAAAAAA&Status=On"),
    )
    .unwrap_err();
    assert!(e
        .message()
        .contains("Member must satisfy enum value set: [Active, Inactive, Expired]"));
    let e = query::decode_input(
        iam(),
        "ListUsersRequest",
        &query::parse_form(b"MaxItems=many"),
    )
    .unwrap_err();
    assert!(e.message().contains("Value 'many' at 'maxItems'"));
}

#[test]
fn sensitive_values_are_not_echoed() {
    let params = query::parse_form(b"UserName=a&Password=");
    let e = query::decode_input(iam(), "CreateLoginProfileRequest", &params).unwrap_err();
    assert!(
        e.message()
            .starts_with("2 validation errors detected: Value at 'password'"),
        "{}",
        e.message()
    );
}

#[test]
fn golden_query_output_and_error() {
    let out = json!({"User": {"UserName": "alice", "Path": "/", "UserId": "AIDAEXAMPLE",
        "Arn": "arn:aws:iam::123456789012:user/alice", "CreateDate": 1_764_417_600_000_i64,
        "Tags": [{"Key": "k", "Value": "a<b&c"}]}});
    let xml = query::encode_output(
        iam(),
        "CreateUser",
        Some(&out as &dyn moat_wire::Output),
        "req-1",
    )
    .unwrap();
    assert_eq!(
        xml,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<CreateUserResponse \
         xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><CreateUserResult><User>\
         <Arn>arn:aws:iam::123456789012:user/alice</Arn><CreateDate>2025-11-29T12:00:00Z</CreateDate>\
         <Path>/</Path><Tags><member><Key>k</Key><Value>a&lt;b&amp;c</Value></member></Tags>\
         <UserId>AIDAEXAMPLE</UserId><UserName>alice</UserName></User></CreateUserResult>\
         <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></CreateUserResponse>"
    );
    let xml = query::encode_output(iam(), "DeleteUser", None, "req-2").unwrap();
    assert!(xml.ends_with(
        "<DeleteUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <ResponseMetadata><RequestId>req-2</RequestId></ResponseMetadata></DeleteUserResponse>"
    ));
    let err = query::encode_error(
        Some("https://iam.amazonaws.com/doc/2010-05-08/"),
        true,
        "NoSuchEntity",
        "The user with name bob cannot be found.",
        "req-3",
    );
    assert_eq!(
        err,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ErrorResponse \
         xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\n  <Error>\n    \
         <Type>Sender</Type>\n    <Code>NoSuchEntity</Code>\n    \
         <Message>The user with name bob cannot be found.</Message>\n  </Error>\n  \
         <RequestId>req-3</RequestId>\n</ErrorResponse>\n"
    );
}

#[test]
fn json_protocol_decodes_validates_and_encodes() {
    let v = json::decode_input(
        kms(),
        "EncryptRequest",
        br#"{"KeyId":"alias/x","Plaintext":"aGk=","EncryptionContext":{"a":"b"}}"#,
    )
    .unwrap();
    assert_eq!(v["EncryptionContext"], json!({"a": "b"}));
    match json::decode_input(kms(), "EncryptRequest", br#"{"Plaintext":"aGk="}"#) {
        Err(json::JsonInputError::Validation(e)) => assert!(e.message().contains(
            "Value null at 'keyId' failed to satisfy constraint: Member must not be null"
        )),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        json::decode_input(kms(), "EncryptRequest", b"{not json"),
        Err(json::JsonInputError::Serialization(_))
    ));
    assert!(matches!(
        json::decode_input(kms(), "EncryptRequest", br#"{"KeyId": 5}"#),
        Err(json::JsonInputError::Serialization(_))
    ));
    let out = json!({"KeyMetadata": {"KeyId": "k", "CreationDate": 1_500_i64, "Enabled": true}});
    let body = json::encode_output(kms(), "DescribeKey", Some(&out));
    let back: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(back["KeyMetadata"]["CreationDate"], json!(1.5));
    assert_eq!(
        json::encode_error("NotFoundException", "Key 'x' does not exist"),
        br#"{"__type":"NotFoundException","message":"Key 'x' does not exist"}"#.to_vec()
    );
}

#[test]
fn blob_lengths_count_bytes_not_base64() {
    use base64::Engine as _;
    let request = |message: &[u8]| {
        let b64 = base64::engine::general_purpose::STANDARD.encode(message);
        let body = json!({"KeyId": "k", "SigningAlgorithm": "ECDSA_SHA_256", "Message": b64});
        json::decode_input(kms(), "SignRequest", body.to_string().as_bytes())
    };
    for n in [1, 2, 3, 4095, 4096] {
        assert!(request(&vec![7u8; n]).is_ok(), "{n} bytes");
    }
    for n in [0, 4097, 4098, 4099, 6000] {
        match request(&vec![7u8; n]) {
            Err(json::JsonInputError::Validation(e)) => {
                assert!(e.message().contains("Value at 'message' failed"), "{e}");
            }
            other => panic!("{n} bytes: {other:?}"),
        }
    }
}

#[test]
fn blob_limits_count_decoded_bytes_and_bad_base64_is_a_serialization_error() {
    use base64::Engine as _;
    let b64 = |n: usize| base64::engine::general_purpose::STANDARD.encode(vec![7u8; n]);
    let body = |n: usize| format!(r#"{{"KeyId":"alias/x","Plaintext":"{}"}}"#, b64(n));
    // 4096 bytes are 5464 characters of base64: the limit is on the bytes.
    assert!(json::decode_input(kms(), "EncryptRequest", body(4096).as_bytes()).is_ok());
    match json::decode_input(kms(), "EncryptRequest", body(4097).as_bytes()) {
        Err(json::JsonInputError::Validation(e)) => assert_eq!(
            e.message(),
            "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: \
             Member must have length less than or equal to 4096"
        ),
        other => panic!("{other:?}"),
    }
    match json::decode_input(kms(), "EncryptRequest", body(0).as_bytes()) {
        Err(json::JsonInputError::Validation(e)) => assert!(
            e.message()
                .contains("Member must have length greater than or equal to 1"),
            "{}",
            e.message()
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        json::decode_input(
            kms(),
            "DecryptRequest",
            br#"{"CiphertextBlob":"not base64!"}"#
        ),
        Err(json::JsonInputError::Serialization(_))
    ));
}

proptest! {
    #[test]
    fn query_decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512), op in 0usize..400) {
        let params = query::parse_form(&body);
        let mut names: Vec<&String> = iam().operations.keys().collect();
        names.sort();
        let name = names[op % names.len()];
        if let Some(shape) = iam().operation(name).and_then(|o| o.input.as_deref()) {
            let _ = query::decode_input(iam(), shape, &params);
        }
    }

    #[test]
    fn structured_query_keys_never_panic(
        keys in proptest::collection::vec("(Tags|PolicyNames|Filter)(\\.(member|entry|key|value|[0-9]{1,3})){0,4}", 0..12),
        value in ".{0,20}",
    ) {
        let mut params = query::Params::new();
        for k in keys { params.insert(k, value.clone()); }
        let _ = query::decode_input(iam(), "CreateUserRequest", &params);
        let _ = query::decode_input(iam(), "GetAccountAuthorizationDetailsRequest", &params);
    }

    #[test]
    fn json_decoding_never_panics(body in proptest::collection::vec(any::<u8>(), 0..256)) {
        let _ = json::decode_input(kms(), "EncryptRequest", &body);
        let _ = json::decode_input(kms(), "CreateGrantRequest", &body);
    }
}
