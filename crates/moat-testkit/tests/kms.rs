//! KMS key deletion against an injected clock: a key scheduled for deletion stays (pending
//! deletion) through its waiting period and is gone the moment it ends: every request naming
//! it, by id or by alias, is NotFoundException, and ListKeys and ListAliases no longer show it.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use moat_testkit::{
    signed_json_at, TestServer, ACCOUNT_ID, REGION, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY,
};
use moat_types::{Clock, ManualClock};
use serde_json::{json, Value};
use time::{Duration, OffsetDateTime};

struct Kms<'a> {
    server: &'a TestServer,
    clock: &'a ManualClock,
}

impl Kms<'_> {
    fn call(&self, operation: &str, body: Value) -> (u16, Value) {
        let (status, text) = signed_json_at(
            self.server.addr,
            "kms",
            &format!("TrentService.{operation}"),
            &body.to_string(),
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            self.clock.now(),
        )
        .unwrap();
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{operation}: {e}: {text}"))
        };
        (status, value)
    }

    fn ok(&self, operation: &str, body: Value) -> Value {
        let (status, value) = self.call(operation, body);
        assert_eq!(status, 200, "{operation}: {value}");
        value
    }

    fn not_found(&self, operation: &str, body: Value) -> String {
        let (status, value) = self.call(operation, body);
        assert_eq!(status, 400, "{operation}: {value}");
        assert_eq!(value["__type"], "NotFoundException", "{operation}: {value}");
        value["message"].as_str().unwrap_or_default().to_owned()
    }

    fn listed_keys(&self) -> Vec<String> {
        let v = self.ok("ListKeys", json!({"Limit": 1000}));
        v["Keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["KeyId"].as_str().unwrap().to_owned())
            .collect()
    }

    fn listed_aliases(&self) -> Vec<String> {
        let v = self.ok("ListAliases", json!({"Limit": 1000}));
        v["Aliases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["AliasName"].as_str().unwrap().to_owned())
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_key_is_gone_when_its_waiting_period_ends() {
    let start = OffsetDateTime::now_utc();
    let clock = Arc::new(ManualClock::new(start));
    let server = TestServer::start_with_clock(clock.clone()).await.unwrap();
    let kms = Kms {
        server: &server,
        clock: &clock,
    };

    let doomed = kms.ok("CreateKey", json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let kept = kms.ok("CreateKey", json!({}))["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    kms.ok(
        "CreateAlias",
        json!({"AliasName": "alias/doomed", "TargetKeyId": doomed}),
    );
    let blob = kms.ok("Encrypt", json!({"KeyId": doomed, "Plaintext": "aGVsbG8="}))
        ["CiphertextBlob"]
        .clone();

    let scheduled = kms.ok(
        "ScheduleKeyDeletion",
        json!({"KeyId": doomed, "PendingWindowInDays": 7}),
    );
    assert_eq!(scheduled["KeyState"], "PendingDeletion");
    let due = scheduled["DeletionDate"].as_f64().unwrap();
    let expected = (start + Duration::days(7)).unix_timestamp() as f64;
    assert!((due - expected).abs() < 2.0, "{due} vs {expected}");

    // A minute before the end of the window: still there, pending deletion.
    clock.advance(Duration::days(7) - Duration::minutes(1));
    let md = kms.ok("DescribeKey", json!({"KeyId": doomed}));
    assert_eq!(md["KeyMetadata"]["KeyState"], "PendingDeletion");
    assert!(kms.listed_keys().contains(&doomed));
    assert!(kms.listed_aliases().contains(&"alias/doomed".to_owned()));

    // Past it: gone for every request, whether or not the sweep has run yet.
    clock.advance(Duration::minutes(2));
    let arn = format!("arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/{doomed}");
    let message = kms.not_found("DescribeKey", json!({"KeyId": doomed}));
    assert_eq!(message, format!("Key '{arn}' does not exist"));
    kms.not_found("DescribeKey", json!({"KeyId": arn}));
    kms.not_found("CancelKeyDeletion", json!({"KeyId": doomed}));
    kms.not_found("Decrypt", json!({"CiphertextBlob": blob}));
    kms.not_found(
        "Encrypt",
        json!({"KeyId": "alias/doomed", "Plaintext": "aGk="}),
    );
    kms.not_found("GetKeyPolicy", json!({"KeyId": doomed}));
    let keys = kms.listed_keys();
    assert!(!keys.contains(&doomed), "{keys:?}");
    assert!(keys.contains(&kept), "{keys:?}");
    let aliases = kms.listed_aliases();
    assert!(!aliases.contains(&"alias/doomed".to_owned()), "{aliases:?}");
    // The alias name is free again.
    kms.ok(
        "CreateAlias",
        json!({"AliasName": "alias/doomed", "TargetKeyId": kept}),
    );
    assert_eq!(
        kms.ok("DescribeKey", json!({"KeyId": "alias/doomed"}))["KeyMetadata"]["KeyId"],
        kept
    );
    // The other key is untouched.
    kms.ok("Encrypt", json!({"KeyId": kept, "Plaintext": "aGk="}));

    server.stop().await;
}
