//! The request pipeline end to end with raw signed requests: every declared operation is
//! refused to an unprivileged principal and allowed to root, clock skew both ways, and bad
//! input never yields a 5xx.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use moat_testkit::{signed_query, TestServer, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY};
use moat_types::ManualClock;
use time::OffsetDateTime;

/// Values that satisfy every IAM input shape's constraints, by member name.
fn valid_params(op: &str, access_key_id: &str) -> Vec<(String, String)> {
    let model = moat_iam::model();
    let shape = model.operation(op).and_then(|o| o.input.clone());
    let mut out = vec![
        ("Action".to_owned(), op.to_owned()),
        ("Version".to_owned(), "2010-05-08".to_owned()),
    ];
    let Some(shape) = shape.and_then(|s| model.shape(&s)) else {
        return out;
    };
    let moat_wire::model::ShapeKind::Structure { required, .. } = &shape.kind else {
        return out;
    };
    for member in required {
        let value = match member.as_str() {
            "PolicyArn" | "PermissionsBoundary" => "arn:aws:iam::123456789012:policy/p".to_owned(),
            "PolicyDocument" | "AssumeRolePolicyDocument" => "{}".to_owned(),
            "AccessKeyId" => access_key_id.to_owned(),
            "Status" => "Active".to_owned(),
            "VersionId" => "v1".to_owned(),
            "Password" | "OldPassword" | "NewPassword" => "Password-123".to_owned(),
            "AccountAlias" => "my-alias".to_owned(),
            "Tags" => {
                out.push(("Tags.member.1.Key".into(), "k".into()));
                out.push(("Tags.member.1.Value".into(), "v".into()));
                continue;
            }
            "TagKeys" => {
                out.push(("TagKeys.member.1".into(), "k".into()));
                continue;
            }
            "ActionNames" => {
                out.push(("ActionNames.member.1".into(), "iam:GetUser".into()));
                continue;
            }
            "PolicyInputList" => {
                let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
                out.push(("PolicyInputList.member.1".into(), doc.into()));
                continue;
            }
            "PolicySourceArn" => "arn:aws:iam::123456789012:user/nobody".to_owned(),
            "SerialNumber" => "arn:aws:iam::123456789012:mfa/name1".to_owned(),
            "AuthenticationCode1" | "AuthenticationCode2" => "123456".to_owned(),
            "OpenIDConnectProviderArn" => {
                "arn:aws:iam::123456789012:oidc-provider/oidc.example.com".to_owned()
            }
            "Url" => "https://oidc.example.com".to_owned(),
            "ThumbprintList" => {
                out.push(("ThumbprintList.member.1".into(), "a".repeat(40)));
                continue;
            }
            _ => "name1".to_owned(),
        };
        out.push((member.clone(), value));
    }
    out
}

fn call(
    server: &TestServer,
    params: &[(String, String)],
    key: &str,
    secret: &str,
) -> (u16, String) {
    let pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    signed_query(server.addr, &pairs, key, secret, OffsetDateTime::now_utc()).unwrap()
}

fn code(body: &str) -> &str {
    body.split("<Code>")
        .nth(1)
        .and_then(|s| s.split("</Code>").next())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_is_denied_to_a_user_without_policies_and_allowed_to_root() {
    let server = TestServer::start().await.unwrap();
    let root =
        |p: &[(String, String)]| call(&server, p, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY);
    let (status, _) = root(&[
        ("Action".into(), "CreateUser".into()),
        ("Version".into(), "2010-05-08".into()),
        ("UserName".into(), "nobody".into()),
    ]);
    assert_eq!(status, 200);
    let (status, body) = root(&[
        ("Action".into(), "CreateAccessKey".into()),
        ("Version".into(), "2010-05-08".into()),
        ("UserName".into(), "nobody".into()),
    ]);
    assert_eq!(status, 200);
    let key = body
        .split("<AccessKeyId>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();
    let secret = body
        .split("<SecretAccessKey>")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_owned();

    for op in moat_iam::OPERATION_NAMES {
        let params = valid_params(op, &key);
        let (status, body) = call(&server, &params, &key, &secret);
        assert_eq!((status, code(&body)), (403, "AccessDenied"), "{op}: {body}");
        assert!(
            body.contains(&format!("is not authorized to perform: iam:{op}")),
            "{op}: {body}"
        );
        // Root is authorized: whatever it gets is the operation's own answer, never a denial
        // and never a server error.
        let (status, body) = root(&params);
        assert!(status < 500, "{op}: {status} {body}");
        assert_ne!(code(&body), "AccessDenied", "{op}: {body}");
    }
    server.stop().await;
}

fn q(op: &str, rest: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out = vec![
        ("Action".to_owned(), op.to_owned()),
        ("Version".to_owned(), "2010-05-08".to_owned()),
    ];
    out.extend(rest.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    out
}

fn tag<'b>(body: &'b str, name: &str) -> &'b str {
    body.split(&format!("<{name}>"))
        .nth(1)
        .and_then(|s| s.split('<').next())
        .unwrap_or("")
}

fn message(body: &str) -> String {
    tag(body, "Message").replace("&apos;", "'")
}

/// Creates a user with an access key as root; returns its key and secret.
fn user_with_key(server: &TestServer, name: &str) -> (String, String) {
    let root = |p: &[(String, String)]| call(server, p, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY);
    let (status, body) = root(&q("CreateUser", &[("UserName", name)]));
    assert_eq!(status, 200, "{body}");
    let (status, body) = root(&q("CreateAccessKey", &[("UserName", name)]));
    assert_eq!(status, 200, "{body}");
    (
        tag(&body, "AccessKeyId").to_owned(),
        tag(&body, "SecretAccessKey").to_owned(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_is_allowed_to_an_administrator_user() {
    let server = TestServer::start().await.unwrap();
    let (key, secret) = user_with_key(&server, "admin");
    let root =
        |p: &[(String, String)]| call(&server, p, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY);
    let (status, _) = root(&q(
        "AttachUserPolicy",
        &[
            ("UserName", "admin"),
            ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
        ],
    ));
    assert_eq!(status, 200);
    for op in moat_iam::OPERATION_NAMES {
        // Leave the administrator's own key and policy alone, so the loop can go on.
        if matches!(
            *op,
            "DeleteAccessKey" | "UpdateAccessKey" | "DetachUserPolicy" | "DeleteUser"
        ) {
            continue;
        }
        let params = valid_params(op, &key);
        let (status, body) = call(&server, &params, &key, &secret);
        assert!(status < 500, "{op}: {status} {body}");
        assert_ne!(code(&body), "AccessDenied", "{op}: {body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn policies_decide_and_changes_apply_to_the_next_request() {
    let server = TestServer::start().await.unwrap();
    let (key, secret) = user_with_key(&server, "bob");
    let root =
        |p: &[(String, String)]| call(&server, p, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY);
    let bob = |p: &[(String, String)]| call(&server, p, &key, &secret);
    let list = q("ListUsers", &[]);

    let (status, body) = bob(&list);
    assert_eq!(status, 403);
    assert_eq!(
        message(&body),
        "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: iam:ListUsers \
         on resource: arn:aws:iam::123456789012:user/ because no identity-based policy allows \
         the iam:ListUsers action"
    );

    let allow = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:List*","Resource":"*"}}"#;
    let (status, _) = root(&q(
        "PutUserPolicy",
        &[
            ("UserName", "bob"),
            ("PolicyName", "list"),
            ("PolicyDocument", allow),
        ],
    ));
    assert_eq!(status, 200);
    assert_eq!(bob(&list).0, 200);
    // Not every action: GetUser is still refused.
    assert_eq!(bob(&q("GetUser", &[])).0, 403);

    let deny = r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iam:ListUsers","Resource":"*"}}"#;
    let (status, _) = root(&q(
        "PutUserPolicy",
        &[
            ("UserName", "bob"),
            ("PolicyName", "deny"),
            ("PolicyDocument", deny),
        ],
    ));
    assert_eq!(status, 200);
    let (status, body) = bob(&list);
    assert_eq!(status, 403);
    assert!(
        message(&body).ends_with("with an explicit deny in an identity-based policy"),
        "{body}"
    );
    let (status, _) = root(&q(
        "DeleteUserPolicy",
        &[("UserName", "bob"), ("PolicyName", "deny")],
    ));
    assert_eq!(status, 200);
    assert_eq!(bob(&list).0, 200);

    // A boundary caps what the identity policies allow.
    let (status, _) = root(&q(
        "PutUserPermissionsBoundary",
        &[
            ("UserName", "bob"),
            (
                "PermissionsBoundary",
                "arn:aws:iam::aws:policy/AWSCloudTrail_ReadOnlyAccess",
            ),
        ],
    ));
    assert_eq!(status, 200, "boundary");
    let (status, body) = bob(&list);
    assert_eq!(status, 403);
    assert!(
        message(&body).ends_with("because no permissions boundary allows the iam:ListUsers action"),
        "{body}"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sts_operations_are_authorized_as_aws_does() {
    let server = TestServer::start().await.unwrap();
    let (key, secret) = user_with_key(&server, "nobody");
    let sts = |params: &[(&str, &str)], key: &str, secret: &str| {
        let mut all = vec![("Version", "2011-06-15")];
        all.extend_from_slice(params);
        moat_testkit::signed_query_to(
            server.addr,
            "sts",
            &all,
            key,
            secret,
            OffsetDateTime::now_utc(),
        )
        .unwrap()
    };
    for op in moat_sts::OPERATION_NAMES {
        let params: Vec<(&str, &str)> = match *op {
            "AssumeRole" => vec![
                ("Action", op),
                ("RoleArn", "arn:aws:iam::123456789012:role/r"),
                ("RoleSessionName", "s1"),
            ],
            "GetAccessKeyInfo" => vec![("Action", op), ("AccessKeyId", ROOT_ACCESS_KEY_ID)],
            "DecodeAuthorizationMessage" => {
                vec![("Action", op), ("EncodedMessage", "not-a-message")]
            }
            "AssumeRoleWithWebIdentity" => vec![
                ("Action", op),
                ("RoleArn", "arn:aws:iam::123456789012:role/r"),
                ("RoleSessionName", "s1"),
                ("WebIdentityToken", "not-a-jwt"),
            ],
            _ => vec![("Action", op)],
        };
        let (status, body) = sts(&params, &key, &secret);
        // AWS asks no permission for GetCallerIdentity and GetSessionToken.
        if matches!(*op, "GetCallerIdentity" | "GetSessionToken") {
            assert_eq!(status, 200, "{op}: {body}");
        } else if *op == "AssumeRoleWithWebIdentity" {
            // Its caller is the token's bearer, whatever signed the request: the token is
            // checked first.
            assert_eq!(
                (status, code(&body)),
                (400, "InvalidIdentityToken"),
                "{op}: {body}"
            );
        } else {
            assert_eq!((status, code(&body)), (403, "AccessDenied"), "{op}: {body}");
            assert!(
                body.contains(&format!("is not authorized to perform: sts:{op}")),
                "{op}: {body}"
            );
        }
        let (status, body) = sts(&params, ROOT_ACCESS_KEY_ID, ROOT_SECRET_ACCESS_KEY);
        assert!(status < 500, "{op}: {status} {body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudtrail_operations_are_denied_to_a_user_without_policies_and_allowed_to_root() {
    let server = TestServer::start().await.unwrap();
    let (key, secret) = user_with_key(&server, "nobody");
    for op in moat_cloudtrail::OPERATION_NAMES {
        let target = format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{op}");
        let (status, body) =
            moat_testkit::signed_json(server.addr, "cloudtrail", &target, "{}", &key, &secret)
                .unwrap();
        assert_eq!(status, 403, "{op}: {body}");
        assert!(body.contains("AccessDeniedException"), "{op}: {body}");
        assert!(
            body.contains(&format!("is not authorized to perform: cloudtrail:{op}")),
            "{op}: {body}"
        );
        let (status, body) = moat_testkit::signed_json(
            server.addr,
            "cloudtrail",
            &target,
            "{}",
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
        )
        .unwrap();
        assert_eq!(status, 200, "{op}: {body}");
    }
    server.stop().await;
}

/// A JSON input satisfying every required member of a KMS operation, acting on `key_id`.
fn kms_input(op: &str, key_id: &str, user_arn: &str) -> String {
    let model = moat_kms::model();
    let shape = model.operation(op).and_then(|o| o.input.clone());
    let mut out = serde_json::Map::new();
    let Some(shape) = shape.and_then(|s| model.shape(&s)) else {
        return "{}".to_owned();
    };
    let moat_wire::model::ShapeKind::Structure { required, .. } = &shape.kind else {
        return "{}".to_owned();
    };
    let mut members: Vec<String> = required.to_vec();
    // Decrypt and ReEncrypt name the key so that it is found before it is authorized.
    match op {
        "Decrypt" => members.extend(["KeyId".to_owned(), "CiphertextBlob".to_owned()]),
        "ReEncrypt" => members.extend(["SourceKeyId".to_owned(), "CiphertextBlob".to_owned()]),
        _ => {}
    }
    for member in members {
        let value = match member.as_str() {
            "KeyId" | "TargetKeyId" | "DestinationKeyId" | "SourceKeyId" => {
                serde_json::json!(key_id)
            }
            "AliasName" => serde_json::json!("alias/coverage"),
            "Description" => serde_json::json!("coverage"),
            "Plaintext"
            | "Message"
            | "CiphertextBlob"
            | "Signature"
            | "Mac"
            | "PublicKey"
            | "EncryptedKeyMaterial"
            | "ImportToken" => serde_json::json!("AAAA"),
            // The account's IAM policies decide, as with the default key policy.
            "Policy" => serde_json::json!(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{}:root"}},"Action":"kms:*","Resource":"*"}}]}}"#,
                user_arn.split(':').nth(4).unwrap_or_default()
            )),
            "SigningAlgorithm" => serde_json::json!("RSASSA_PSS_SHA_256"),
            "MacAlgorithm" => serde_json::json!("HMAC_SHA_256"),
            "KeyAgreementAlgorithm" => serde_json::json!("ECDH"),
            "WrappingAlgorithm" => serde_json::json!("RSAES_OAEP_SHA_256"),
            "WrappingKeySpec" | "KeyPairSpec" => serde_json::json!("RSA_2048"),
            "Tags" => serde_json::json!([{"TagKey": "k", "TagValue": "v"}]),
            "TagKeys" => serde_json::json!(["k"]),
            "Operations" => serde_json::json!(["Encrypt"]),
            // Another user: a grant to the caller would allow what the test expects refused.
            "GranteePrincipal" | "RetiringPrincipal" => {
                serde_json::json!(user_arn.replace(":user/", ":user/grantee-of-"))
            }
            "GrantId" => serde_json::json!("a".repeat(64)),
            other => panic!("{op}: no coverage value for required member {other}"),
        };
        out.insert(member, value);
    }
    serde_json::Value::Object(out).to_string()
}

fn kms_call(server: &TestServer, op: &str, body: &str, key: &str, secret: &str) -> (u16, String) {
    let target = format!("TrentService.{op}");
    moat_testkit::signed_json(server.addr, "kms", &target, body, key, secret).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_operations_are_denied_to_a_user_without_policies_and_allowed_to_root() {
    let server = TestServer::start().await.unwrap();
    let (key, secret) = user_with_key(&server, "nobody");
    let root = |op: &str, body: &str| {
        kms_call(
            &server,
            op,
            body,
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
        )
    };
    let (status, body) = root("CreateKey", "{}");
    assert_eq!(status, 200, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let account = created["KeyMetadata"]["AWSAccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_arn = format!("arn:aws:iam::{account}:user/nobody");
    let (status, body) = root(
        "CreateAlias",
        &format!(r#"{{"AliasName":"alias/coverage","TargetKeyId":"{key_id}"}}"#),
    );
    assert_eq!(status, 200, "{body}");

    for op in moat_kms::OPERATION_NAMES {
        let input = kms_input(op, &key_id, &user_arn);
        let (status, body) = kms_call(&server, op, &input, &key, &secret);
        if *op == "RetireGrant" {
            // Allowed or refused by the grant it names, not by policies.
            assert!(status < 500, "{op}: {status} {body}");
        } else {
            let action = if *op == "ReEncrypt" {
                "ReEncryptFrom"
            } else {
                op
            };
            assert!(
                body.contains("AccessDeniedException"),
                "{op}: {status} {body}"
            );
            assert!(
                body.contains(&format!("is not authorized to perform: kms:{action}")),
                "{op}: {body}"
            );
        }
        // Root is admitted by the default key policy: whatever it gets is the operation's
        // own answer, never a denial and never a server error.
        let (status, body) = root(op, &input);
        assert!(status < 500, "{op}: {status} {body}");
        assert!(!body.contains("AccessDenied"), "{op}: {body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_operations_are_allowed_to_an_administrator_by_the_default_key_policy() {
    let server = TestServer::start().await.unwrap();
    let (key, secret) = user_with_key(&server, "admin");
    let (status, _) = call(
        &server,
        &q(
            "AttachUserPolicy",
            &[
                ("UserName", "admin"),
                ("PolicyArn", "arn:aws:iam::aws:policy/AdministratorAccess"),
            ],
        ),
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
    );
    assert_eq!(status, 200);
    let (status, body) = kms_call(&server, "CreateKey", "{}", &key, &secret);
    assert_eq!(status, 200, "{body}");
    let created: serde_json::Value = serde_json::from_str(&body).unwrap();
    let key_id = created["KeyMetadata"]["KeyId"].as_str().unwrap().to_owned();
    let account = created["KeyMetadata"]["AWSAccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let user_arn = format!("arn:aws:iam::{account}:user/admin");
    let (status, body) = kms_call(
        &server,
        "CreateAlias",
        &format!(r#"{{"AliasName":"alias/coverage","TargetKeyId":"{key_id}"}}"#),
        &key,
        &secret,
    );
    assert_eq!(status, 200, "{body}");
    for op in moat_kms::OPERATION_NAMES {
        let input = kms_input(op, &key_id, &user_arn);
        let (status, body) = kms_call(&server, op, &input, &key, &secret);
        assert!(status < 500, "{op}: {status} {body}");
        assert!(!body.contains("AccessDenied"), "{op}: {body}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn clock_skew_is_refused_both_ways_as_aws_words_it() {
    let clock = ManualClock::new(OffsetDateTime::now_utc());
    let server = TestServer::start_with_clock(Arc::new(clock.clone()))
        .await
        .unwrap();
    let params = [("Action", "ListUsers"), ("Version", "2010-05-08")];
    let signed_at = OffsetDateTime::now_utc();
    let ok = signed_query(
        server.addr,
        &params,
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
        signed_at,
    )
    .unwrap();
    assert_eq!(ok.0, 200, "{}", ok.1);

    clock.advance(time::Duration::minutes(16));
    let (status, body) = signed_query(
        server.addr,
        &params,
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
        signed_at,
    )
    .unwrap();
    assert_eq!(
        (status, code(&body)),
        (403, "SignatureDoesNotMatch"),
        "{body}"
    );
    assert!(body.contains("Signature expired"), "{body}");

    clock.advance(time::Duration::minutes(-32));
    let (status, body) = signed_query(
        server.addr,
        &params,
        ROOT_ACCESS_KEY_ID,
        ROOT_SECRET_ACCESS_KEY,
        signed_at,
    )
    .unwrap();
    assert_eq!(
        (status, code(&body)),
        (403, "SignatureDoesNotMatch"),
        "{body}"
    );
    assert!(body.contains("Signature not yet current"), "{body}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_get_aws_errors_and_never_5xx() {
    let server = TestServer::start().await.unwrap();
    let now = OffsetDateTime::now_utc();
    let send = |params: &[(&str, &str)]| {
        signed_query(
            server.addr,
            params,
            ROOT_ACCESS_KEY_ID,
            ROOT_SECRET_ACCESS_KEY,
            now,
        )
        .unwrap()
    };
    let (status, body) = send(&[("Action", "NoSuchThing"), ("Version", "2010-05-08")]);
    assert_eq!((status, code(&body)), (400, "InvalidAction"), "{body}");
    let (status, body) = send(&[("Version", "2010-05-08")]);
    assert_eq!((status, code(&body)), (400, "MissingAction"), "{body}");
    let (status, body) = send(&[("Action", "CreateUser"), ("Version", "2010-05-08")]);
    assert_eq!((status, code(&body)), (400, "ValidationError"), "{body}");
    assert!(body.contains("Value null at &apos;userName&apos; failed to satisfy constraint: Member must not be null")
        || body.contains("Value null at 'userName' failed to satisfy constraint: Member must not be null"), "{body}");
    let (status, body) = send(&[
        ("Action", "ListUsers"),
        ("Version", "2010-05-08"),
        ("MaxItems", "abc"),
    ]);
    assert_eq!((status, code(&body)), (400, "ValidationError"), "{body}");
    let (status, body) = send(&[
        ("Action", "CreatePolicy"),
        ("Version", "2010-05-08"),
        ("PolicyName", "p"),
        ("PolicyDocument", "{not json"),
    ]);
    assert_eq!(
        (status, code(&body)),
        (400, "MalformedPolicyDocument"),
        "{body}"
    );

    let (status, body) = signed_query(
        server.addr,
        &[("Action", "ListUsers"), ("Version", "2010-05-08")],
        "AKIANOSUCHKEY0000000",
        "x",
        now,
    )
    .unwrap();
    assert_eq!(
        (status, code(&body)),
        (403, "InvalidClientTokenId"),
        "{body}"
    );
    let (status, body) = signed_query(
        server.addr,
        &[("Action", "ListUsers"), ("Version", "2010-05-08")],
        ROOT_ACCESS_KEY_ID,
        "wrong",
        now,
    )
    .unwrap();
    assert_eq!(
        (status, code(&body)),
        (403, "SignatureDoesNotMatch"),
        "{body}"
    );

    let mut headers = http::HeaderMap::new();
    headers.insert(http::header::HOST, server.addr.to_string().parse().unwrap());
    let (status, body) = moat_testkit::raw_http(
        server.addr,
        "POST",
        "/",
        &headers,
        b"Action=ListUsers&Version=2010-05-08",
    )
    .unwrap();
    assert_eq!(
        (status, code(&body)),
        (403, "MissingAuthenticationToken"),
        "{body}"
    );
    let big = vec![b'a'; 2 * 1024 * 1024];
    let (status, _) = moat_testkit::raw_http(server.addr, "POST", "/", &headers, &big).unwrap();
    assert_eq!(status, 413);
    let (status, body) =
        moat_testkit::raw_http(server.addr, "GET", "/health", &headers, b"").unwrap();
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ok"}"#));
    server.stop().await;
}
