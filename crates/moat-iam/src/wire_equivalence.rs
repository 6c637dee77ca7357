//! Real IAM outputs, written to query XML from their typed structs, give the very bytes the
//! value walk gave from `serde_json::to_value` of them.

use serde_json::{json, Value};

use crate::testing::Env;
use crate::{model, Response, OPERATION_NAMES};

const TRUST: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}"#;
const DOC: &str = r#"{"Version": "2012-10-17", "Statement": [{"Sid": "A1", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*", "Condition": {"StringLike": {"s3:prefix": "a<&>'\"*"}}}]}"#;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// Both encodings of `response` to `op`, which must be byte-identical; the XML.
fn both(op: &str, response: Response) -> String {
    let value = response.to_value().unwrap();
    let walked = moat_wire::query::reference::encode_output(model(), op, value.as_ref(), "r");
    let output = response.into_output();
    let typed = moat_wire::query::encode_output(model(), op, output.as_deref(), "r").unwrap();
    assert_eq!(typed, walked, "{op}");
    typed
}

/// Runs `op`, checks both encodings agree, and returns the output value.
fn run(env: &Env, op: &str, input: Value) -> Value {
    match env.call(op, input) {
        Ok(response) => {
            let value = response.to_value().unwrap().unwrap_or(Value::Null);
            both(op, response);
            value
        }
        Err(e) => panic!("{op} failed: {e:?}"),
    }
}

#[test]
fn iam_outputs_encode_identically_from_their_types() {
    let env = Env::new();
    let tags = json!([{"Key": "team", "Value": "blue & <green>"}, {"Key": "k'", "Value": ""}]);
    for i in 0..100 {
        run(
            &env,
            "CreateUser",
            json!({"UserName": format!("user-{i:03}"), "Path": "/eng/", "Tags": tags}),
        );
    }
    run(&env, "CreateGroup", json!({"GroupName": "devs"}));
    run(
        &env,
        "AddUserToGroup",
        json!({"GroupName": "devs", "UserName": "user-000"}),
    );
    run(
        &env,
        "PutUserPolicy",
        json!({"UserName": "user-000", "PolicyName": "inline", "PolicyDocument": DOC}),
    );
    run(
        &env,
        "PutGroupPolicy",
        json!({"GroupName": "devs", "PolicyName": "g", "PolicyDocument": DOC}),
    );
    let policy = run(
        &env,
        "CreatePolicy",
        json!({"PolicyName": "custom", "PolicyDocument": DOC, "Description": "d<>",
               "Tags": tags}),
    );
    let policy_arn = policy["Policy"]["Arn"].as_str().unwrap().to_owned();
    run(
        &env,
        "CreatePolicyVersion",
        json!({"PolicyArn": policy_arn, "PolicyDocument": DOC, "SetAsDefault": true}),
    );
    run(
        &env,
        "AttachUserPolicy",
        json!({"UserName": "user-000", "PolicyArn": policy_arn}),
    );
    run(
        &env,
        "AttachGroupPolicy",
        json!({"GroupName": "devs", "PolicyArn": ADMIN}),
    );
    run(
        &env,
        "CreateRole",
        json!({"RoleName": "app", "AssumeRolePolicyDocument": TRUST, "Tags": tags,
               "MaxSessionDuration": 7200, "PermissionsBoundary": ADMIN}),
    );
    run(
        &env,
        "PutRolePolicy",
        json!({"RoleName": "app", "PolicyName": "r", "PolicyDocument": DOC}),
    );
    run(
        &env,
        "AttachRolePolicy",
        json!({"RoleName": "app", "PolicyArn": policy_arn}),
    );
    run(&env, "CreateAccessKey", json!({"UserName": "user-000"}));
    run(
        &env,
        "CreateVirtualMFADevice",
        json!({"VirtualMFADeviceName": "dev", "Tags": tags}),
    );
    run(
        &env,
        "UpdateAccountPasswordPolicy",
        json!({"MinimumPasswordLength": 12, "MaxPasswordAge": 90, "RequireSymbols": true}),
    );
    run(
        &env,
        "CreateAccountAlias",
        json!({"AccountAlias": "moat-test"}),
    );
    run(
        &env,
        "CreateOpenIDConnectProvider",
        json!({"Url": "https://idp.example", "ClientIDList": ["a", "b"],
               "ThumbprintList": ["0123456789012345678901234567890123456789"]}),
    );
    run(&env, "GenerateCredentialReport", json!({}));

    let xml = both(
        "GetAccountSummary",
        env.call("GetAccountSummary", json!({})).unwrap(),
    );
    assert!(xml.contains("<entry><key>Users</key><value>100</value></entry>"));
    let xml = both("ListUsers", env.call("ListUsers", json!({})).unwrap());
    assert_eq!(xml.matches("<member><Arn>").count(), 100);
    let xml = both(
        "GetAccountAuthorizationDetails",
        env.call("GetAccountAuthorizationDetails", json!({}))
            .unwrap(),
    );
    assert!(xml.contains("<UserDetailList><member>"));
    assert!(xml.contains("<Tags><member><Key>team</Key><Value>blue &amp; &lt;green&gt;</Value>"));
    let xml = both(
        "GetAccountAuthorizationDetails",
        env.call(
            "GetAccountAuthorizationDetails",
            json!({"Filter": ["Role", "Group", "LocalManagedPolicy"]}),
        )
        .unwrap(),
    );
    assert!(xml.contains("<RoleDetailList><member>"));
    assert!(xml.contains("<CreateDate>2026-11-29T12:00:00Z</CreateDate>"));

    // Every read, with an input naming what was made above; those that refuse it are skipped.
    let input = json!({
        "UserName": "user-000", "GroupName": "devs", "RoleName": "app", "PolicyArn": policy_arn,
        "PolicyName": "inline", "VersionId": "v2", "AccessKeyId": "AKIAXXXXXXXXXXXXXXXX",
        "SerialNumber": "arn:aws:iam::123456789012:mfa/dev",
        "OpenIDConnectProviderArn": "arn:aws:iam::123456789012:oidc-provider/idp.example",
        "PolicySourceArn": "arn:aws:iam::123456789012:user/user-000",
        "PolicyInputList": [DOC], "ActionNames": ["s3:GetObject", "iam:GetUser"],
    });
    let mut checked = 0;
    for op in OPERATION_NAMES {
        let read = op.starts_with("Get") || op.starts_with("List") || op.starts_with("Simulate");
        if !read {
            continue;
        }
        if let Ok(response) = env.call(op, input.clone()) {
            both(op, response);
            checked += 1;
        }
    }
    assert!(checked >= 35, "only {checked} reads answered");
}
