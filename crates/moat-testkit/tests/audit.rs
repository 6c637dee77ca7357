//! The audit trail end to end with raw signed requests: one event per call (success, error,
//! denial, bad signature), served by CloudTrail's LookupEvents, no secret anywhere on disk or
//! in an event, a mutating call that cannot be recorded fails and changes nothing, and the
//! chain verifies.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use moat_testkit::{
    signed_json, signed_query, TestServer, ACCOUNT_ID, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY,
};
use serde_json::{json, Value};
use time::OffsetDateTime;

const LOOKUP: &str = "com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents";

fn iam(server: &TestServer, params: &[(&str, &str)], key: &str, secret: &str) -> (u16, String) {
    let mut all = vec![("Version", "2010-05-08")];
    all.extend_from_slice(params);
    signed_query(server.addr, &all, key, secret, OffsetDateTime::now_utc()).unwrap()
}

fn root(server: &TestServer, params: &[(&str, &str)]) -> (u16, String) {
    iam(server, params, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY)
}

fn xml_field(body: &str, tag: &str) -> String {
    body.split(&format!("<{tag}>"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or_else(|| panic!("no <{tag}> in {body}"))
        .to_owned()
}

/// Every event LookupEvents returns for `input` (all pages).
fn lookup(server: &TestServer, input: Value) -> Vec<Value> {
    let mut events = Vec::new();
    let mut input = input;
    loop {
        let (status, body) = signed_json(
            server.addr,
            "cloudtrail",
            LOOKUP,
            &input.to_string(),
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        events.extend(page["Events"].as_array().unwrap().iter().cloned());
        match page.get("NextToken").and_then(Value::as_str) {
            Some(t) => input["NextToken"] = json!(t),
            None => return events,
        }
    }
}

/// The CloudTrail record of the one event with this request id.
fn record_of(events: &[Value], request_id: &str) -> (Value, Value) {
    let found: Vec<&Value> = events
        .iter()
        .filter(|e| {
            let r: Value = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
            r["requestID"] == request_id
        })
        .collect();
    assert_eq!(found.len(), 1, "one event for request {request_id}");
    let e = found[0].clone();
    let r = serde_json::from_str(e["CloudTrailEvent"].as_str().unwrap()).unwrap();
    (e, r)
}

fn request_id_of(body: &str) -> String {
    xml_field(body, "RequestId")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_call_has_one_event_allowed_or_denied_success_or_error() {
    let server = TestServer::start().await.unwrap();

    // A write that succeeds.
    let (status, body) = root(&server, &[("Action", "CreateUser"), ("UserName", "alice")]);
    assert_eq!(status, 200, "{body}");
    let create_id = request_id_of(&body);
    // A write that fails, and a read that fails.
    let (status, body) = root(&server, &[("Action", "CreateUser"), ("UserName", "alice")]);
    assert_eq!(status, 409, "{body}");
    let duplicate_id = request_id_of(&body);
    let (status, body) = root(&server, &[("Action", "GetUser"), ("UserName", "nobody")]);
    assert_eq!(status, 404, "{body}");
    let missing_id = request_id_of(&body);
    // A user's key: denied, then a bad signature with a known key.
    let (_, body) = root(
        &server,
        &[("Action", "CreateAccessKey"), ("UserName", "alice")],
    );
    let key = xml_field(&body, "AccessKeyId");
    let secret = xml_field(&body, "SecretAccessKey");
    let (status, body) = iam(&server, &[("Action", "ListUsers")], &key, &secret);
    assert_eq!(status, 403, "{body}");
    let denied_id = request_id_of(&body);
    let (status, body) = iam(&server, &[("Action", "ListUsers")], &key, "not-the-secret");
    assert_eq!(status, 403, "{body}");
    let bad_sig_id = request_id_of(&body);
    // An unknown key belongs to no account: nothing to record.
    let (status, _) = iam(
        &server,
        &[("Action", "ListUsers")],
        "AKIAUNKNOWNKEY000000",
        "x",
    );
    assert_eq!(status, 403);

    let events = lookup(&server, json!({}));
    assert_eq!(events.len(), 6, "{events:#?}");

    let (e, r) = record_of(&events, &create_id);
    assert_eq!(e["EventName"], "CreateUser");
    assert_eq!(e["ReadOnly"], "false");
    assert_eq!(e["Username"], "root");
    assert_eq!(e["AccessKeyId"], ROOT_ACCESS_KEY_ID);
    assert_eq!(e["EventSource"], "iam.amazonaws.com");
    assert_eq!(
        e["Resources"],
        json!([{"ResourceType": "AWS::IAM::User", "ResourceName": "alice"}])
    );
    assert_eq!(r["eventVersion"], "1.08");
    assert_eq!(r["eventID"], e["EventId"]);
    assert_eq!(r["userIdentity"]["type"], "Root");
    assert_eq!(r["userIdentity"]["accountId"], ACCOUNT_ID);
    assert_eq!(
        r["userIdentity"]["arn"],
        format!("arn:aws:iam::{ACCOUNT_ID}:root")
    );
    assert_eq!(r["requestParameters"], json!({"userName": "alice"}));
    assert_eq!(r["responseElements"]["user"]["userName"], "alice");
    assert_eq!(r["recipientAccountId"], ACCOUNT_ID);
    assert_eq!(r["sourceIPAddress"], "127.0.0.1");
    assert_eq!(r["awsRegion"], "us-east-1");
    assert_eq!(r["eventType"], "AwsApiCall");
    assert_eq!(r["managementEvent"], true);
    assert!(r.get("errorCode").is_none());

    let (_, r) = record_of(&events, &duplicate_id);
    assert_eq!(r["errorCode"], "EntityAlreadyExists");
    assert_eq!(r["responseElements"], Value::Null);
    assert_eq!(r["readOnly"], false);

    let (e, r) = record_of(&events, &missing_id);
    assert_eq!(e["ReadOnly"], "true");
    assert_eq!(r["errorCode"], "NoSuchEntity");
    assert!(r["errorMessage"].as_str().unwrap().contains("nobody"));
    assert_eq!(r["responseElements"], Value::Null);

    let (e, r) = record_of(&events, &denied_id);
    assert_eq!(e["Username"], "alice");
    assert_eq!(e["AccessKeyId"], key.as_str());
    assert_eq!(r["errorCode"], "AccessDenied");
    assert_eq!(r["userIdentity"]["type"], "IAMUser");
    assert_eq!(r["userIdentity"]["userName"], "alice");
    assert!(r["userIdentity"]["principalId"]
        .as_str()
        .unwrap()
        .starts_with("AIDA"));

    let (e, r) = record_of(&events, &bad_sig_id);
    assert_eq!(e["EventName"], "ListUsers");
    assert_eq!(r["errorCode"], "SignatureDoesNotMatch");
    assert_eq!(r["requestParameters"], Value::Null);

    // Filters: one attribute per call, as AWS.
    let by_user = lookup(
        &server,
        json!({"LookupAttributes": [{"AttributeKey": "Username", "AttributeValue": "alice"}]}),
    );
    assert_eq!(by_user.len(), 2);
    let writes = lookup(
        &server,
        json!({"LookupAttributes": [{"AttributeKey": "ReadOnly", "AttributeValue": "false"}]}),
    );
    // CreateUser twice, CreateAccessKey (the lookups themselves are reads).
    assert_eq!(writes.len(), 3, "{writes:#?}");
    let (status, body) = signed_json(
        server.addr,
        "cloudtrail",
        LOOKUP,
        &json!({"LookupAttributes": [
            {"AttributeKey": "Username", "AttributeValue": "a"},
            {"AttributeKey": "EventName", "AttributeValue": "b"}]})
        .to_string(),
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
    )
    .unwrap();
    assert_eq!(status, 400);
    assert!(body.contains("InvalidLookupAttributesException"), "{body}");

    // LookupEvents is declared like every operation: root only for now.
    let (status, body) =
        signed_json(server.addr, "cloudtrail", LOOKUP, "{}", &key, &secret).unwrap();
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("AccessDeniedException"), "{body}");
    assert!(body.contains("cloudtrail:LookupEvents"), "{body}");

    let root_key = std::fs::read_to_string(server.data_dir().join("root.key")).unwrap();
    let report = moat_store::verify_audit_sqlite(
        server.data_dir(),
        &moat_store::RootKey::from_hex(&root_key).unwrap(),
    )
    .unwrap();
    assert!(report.events >= 6);
    server.stop().await;
}

/// Every file under `dir`, as bytes.
fn all_files(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            out.push((path.clone(), std::fs::read(&path).unwrap()));
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_the_disk_or_an_event() {
    let server = TestServer::start().await.unwrap();
    root(&server, &[("Action", "CreateUser"), ("UserName", "carol")]);
    let (status, body) = root(
        &server,
        &[("Action", "CreateAccessKey"), ("UserName", "carol")],
    );
    assert_eq!(status, 200);
    let key = xml_field(&body, "AccessKeyId");
    let secret = xml_field(&body, "SecretAccessKey");
    let password = "Audit-Test-Passw0rd!-7f3e9c";
    let new_password = "Audit-Test-Passw0rd!-new-1b2d";
    let (status, body) = root(
        &server,
        &[
            ("Action", "CreateLoginProfile"),
            ("UserName", "carol"),
            ("Password", password),
        ],
    );
    assert_eq!(status, 200, "{body}");
    // Denied calls carry secrets in their input too.
    let (status, _) = iam(
        &server,
        &[
            ("Action", "ChangePassword"),
            ("OldPassword", password),
            ("NewPassword", new_password),
        ],
        &key,
        &secret,
    );
    assert_eq!(status, 403);
    // A failed write whose input holds a password.
    let (status, _) = root(
        &server,
        &[
            ("Action", "CreateLoginProfile"),
            ("UserName", "nobody"),
            ("Password", new_password),
        ],
    );
    assert_eq!(status, 404);

    let events = lookup(&server, json!({}));
    let names: Vec<&str> = events
        .iter()
        .map(|e| e["EventName"].as_str().unwrap())
        .collect();
    for op in ["CreateAccessKey", "CreateLoginProfile", "ChangePassword"] {
        assert!(names.contains(&op), "{op} in {names:?}");
    }
    let everything = serde_json::to_string(&events).unwrap();
    for s in [secret.as_str(), password, new_password] {
        assert!(!everything.contains(s), "a secret is in the events");
    }
    assert!(everything.contains("HIDDEN_DUE_TO_SECURITY_REASONS"));

    // Events still queued were committed by the lookup; the database, its WAL and every other
    // file hold no secret in the clear.
    let files = all_files(server.data_dir());
    assert!(files.iter().any(|(p, _)| p.ends_with("moat.db")));
    for (path, bytes) in &files {
        for s in [secret.as_str(), password, new_password] {
            assert!(
                !contains(bytes, s.as_bytes()),
                "a secret is in {}",
                path.display()
            );
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_write_whose_event_cannot_be_recorded_fails_and_changes_nothing() {
    let server = TestServer::start().await.unwrap();
    let db = rusqlite::Connection::open(server.data_dir().join("moat.db")).unwrap();
    db.execute_batch(
        "CREATE TRIGGER audit_broken BEFORE INSERT ON audit_blocks \
         BEGIN SELECT RAISE(ABORT, 'the trail is broken'); END;",
    )
    .unwrap();
    let (status, body) = root(&server, &[("Action", "CreateUser"), ("UserName", "dave")]);
    assert_eq!(status, 500, "{body}");
    assert!(body.contains("InternalFailure"), "{body}");
    assert!(!body.contains("trail is broken"), "{body}");
    db.execute_batch("DROP TRIGGER audit_broken").unwrap();

    // The user was not created; the failure itself is on the record.
    let (status, body) = root(&server, &[("Action", "GetUser"), ("UserName", "dave")]);
    assert_eq!(status, 404, "{body}");
    let events = lookup(
        &server,
        json!({"LookupAttributes": [{"AttributeKey": "EventName", "AttributeValue": "CreateUser"}]}),
    );
    assert_eq!(events.len(), 1, "{events:#?}");
    let r: Value = serde_json::from_str(events[0]["CloudTrailEvent"].as_str().unwrap()).unwrap();
    assert_eq!(r["errorCode"], "InternalFailure");
    server.stop().await;
}
