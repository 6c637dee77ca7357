//! The cost of authorizing one request in the server, for an IAM user with 10 attached
//! managed policies (50 statements), in accounts holding 10, 1,000 and 100,000 policies.
//!
//! `decide` is the whole of authorization once the user's policies are compiled: the cached
//! identity, the request's context keys, the resource read (ARN with path, tags) and the
//! engine's decision (the engine alone: `cargo bench -p moat-policy --bench evaluate`). The
//! account's other policies are stored but never read: a decision looks only at the caller's
//! compiled set.
//!
//! Run: `cargo bench -p moat-server --bench authorize`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use moat_iam::records::{name_key, PolicyRecord, PolicyVersionRecord};
use moat_iam::Iam;
use moat_server::authz::{authorize, IdentityCache, RequestFacts};
use moat_server::iam_service::IamService;
use moat_server::service::{CallContext, Service};
use moat_store::{RootKey, Store, Writer};
use moat_types::{iam_arn, AccountId, Principal, PrincipalKind};
use serde_json::json;

const ACCOUNT: &str = "123456789012";

fn document(i: usize) -> String {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": [format!("s3:Get{i}*"), "s3:List*"],
         "Resource": format!("arn:aws:s3:::bucket-{i}/*")},
        {"Effect": "Allow", "Action": "ec2:Describe*", "Resource": "*",
         "Condition": {"StringEquals": {"aws:RequestedRegion": "eu-west-1"}}},
        {"Effect": "Deny", "Action": "iam:Delete*",
         "Resource": format!("arn:aws:iam::{ACCOUNT}:user/protected-{i}")},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}},
        {"Effect": "Allow", "Action": if i == 9 { "iam:Get*".to_owned() } else { format!("iam:List{i}*") },
         "Resource": format!("arn:aws:iam::{ACCOUNT}:user/*"),
         "Condition": {"StringEqualsIfExists": {"aws:PrincipalTag/team": "blue"}}},
    ]})
    .to_string()
}

struct Setup {
    store: Store,
    service: IamService,
    user: Principal,
}

fn setup(policies_in_account: usize) -> Setup {
    let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
    let account: AccountId = ACCOUNT.parse().unwrap();
    let now = time::OffsetDateTime::now_utc();
    moat_iam::auth::bootstrap(&store, Some(account), None, now).unwrap();
    let service = IamService {
        iam: Iam::new(store.clone()),
    };
    let root = Principal {
        account,
        kind: PrincipalKind::Root,
        arn: iam_arn(account, "root"),
        id: ACCOUNT.to_owned(),
        access_key_id: "AKIAROOT".to_owned(),
        session: None,
    };
    let call = |op: &str, input: serde_json::Value| {
        let prepared = service.prepare(op, input).unwrap().unwrap();
        let ctx = CallContext {
            principal: &root,
            now,
            request_id: "bench",
        };
        prepared
            .execute(&ctx)
            .unwrap()
            .map(|output| output.to_value().unwrap())
    };
    call(
        "CreateUser",
        json!({"UserName": "bencher", "Path": "/eng/",
        "Tags": [{"Key": "team", "Value": "blue"}]}),
    );
    call("CreateUser", json!({"UserName": "u050"}));
    for i in 0..10 {
        let out = call(
            "CreatePolicy",
            json!({"PolicyName": format!("attached-{i}"), "PolicyDocument": document(i)}),
        )
        .unwrap();
        let arn = out["Policy"]["Arn"].as_str().unwrap().to_owned();
        call(
            "AttachUserPolicy",
            json!({"UserName": "bencher", "PolicyArn": arn}),
        );
    }
    // The rest of the account's policies, written as records: past IAM's quota of 1,500 per
    // account, which the API enforces.
    store
        .write(|tx| {
            for i in 10..policies_in_account {
                let name = format!("other-{i:06}");
                let key = name_key(&name);
                tx.put(
                    ACCOUNT,
                    &key,
                    &PolicyRecord {
                        arn: iam_arn(account, &format!("policy/{name}")),
                        name,
                        id: format!("ANPA{i:017}"),
                        path: "/".to_owned(),
                        description: None,
                        default_version_id: "v1".to_owned(),
                        create_date: 0,
                        update_date: 0,
                        tags: Vec::new(),
                        next_version: 2,
                    },
                )?;
                tx.put(
                    ACCOUNT,
                    &format!("{key}/{:010}", 1),
                    &PolicyVersionRecord {
                        version_id: "v1".to_owned(),
                        document: document(i % 10),
                        create_date: 0,
                    },
                )?;
            }
            Ok::<_, moat_store::StoreError>(())
        })
        .unwrap();
    let me = call("GetUser", json!({"UserName": "bencher"})).unwrap();
    let user = Principal {
        account,
        kind: PrincipalKind::User {
            name: "bencher".to_owned(),
            path: "/eng/".to_owned(),
        },
        arn: me["User"]["Arn"].as_str().unwrap().to_owned(),
        id: me["User"]["UserId"].as_str().unwrap().to_owned(),
        access_key_id: "AKIABENCHER".to_owned(),
        session: None,
    };
    Setup {
        store,
        service,
        user,
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("authorize GetUser, 10 attached policies");
    for policies in [10, 1_000, 100_000] {
        let s = setup(policies);
        let cache = IdentityCache::default();
        let call = s
            .service
            .prepare("GetUser", json!({"UserName": "u050"}))
            .unwrap()
            .unwrap();
        let facts = RequestFacts {
            source_ip: "10.1.2.3".parse().unwrap(),
            secure_transport: true,
            user_agent: "aws-cli/2.15.0",
            region: "us-east-1",
            now: time::OffsetDateTime::now_utc(),
        };
        authorize(&s.store, &cache, 0, &s.user, call.as_ref(), &facts)
            .expect("the bencher may GetUser");
        group.bench_function(format!("decide, {policies} policies in the account"), |b| {
            b.iter(|| {
                black_box(authorize(
                    &s.store,
                    &cache,
                    0,
                    &s.user,
                    black_box(call.as_ref()),
                    &facts,
                ))
            });
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
