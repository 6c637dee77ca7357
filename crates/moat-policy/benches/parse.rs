//! Parsing a realistic large policy, and the wildcard matching every decision relies on.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use moat_policy::{
    parse, ActionPattern, CaseSensitivity, PolicyKind, ResourcePattern, WildcardPattern,
};

/// A 50-statement identity policy mixing the shapes seen in AWS managed policies: action lists
/// with wildcards, ARNs with policy variables, and conditions with qualifiers.
fn large_policy() -> String {
    let mut statements = Vec::new();
    for i in 0..50 {
        let statement = match i % 5 {
            0 => format!(
                r#"{{"Sid":"Read{i}","Effect":"Allow","Action":["s3:Get*","s3:List*","s3:HeadObject"],"Resource":["arn:aws:s3:::bucket-{i}","arn:aws:s3:::bucket-{i}/*"]}}"#
            ),
            1 => format!(
                r#"{{"Sid":"Home{i}","Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::home-{i}/${{aws:username}}/*","Condition":{{"StringLike":{{"s3:prefix":["${{aws:username}}/*",""]}}}}}}"#
            ),
            2 => format!(
                r#"{{"Sid":"Tags{i}","Effect":"Allow","Action":["ec2:StartInstances","ec2:StopInstances","ec2:Describe*"],"Resource":"arn:aws:ec2:*:123456789012:instance/*","Condition":{{"StringEquals":{{"aws:ResourceTag/Project":"${{aws:PrincipalTag/Project}}"}},"ForAllValues:StringEquals":{{"aws:TagKeys":["Project","Owner"]}}}}}}"#
            ),
            3 => format!(
                r#"{{"Sid":"Deny{i}","Effect":"Deny","NotAction":["iam:*","sts:GetSessionToken"],"Resource":"*","Condition":{{"BoolIfExists":{{"aws:MultiFactorAuthPresent":"false"}},"DateGreaterThan":{{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}}}"#
            ),
            _ => format!(
                r#"{{"Sid":"Table{i}","Effect":"Allow","Action":["dynamodb:BatchGet*","dynamodb:Query","dynamodb:Scan","dynamodb:PutItem"],"Resource":"arn:aws:dynamodb:us-east-1:123456789012:table/Table{i}","Condition":{{"IpAddress":{{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}}}}"#
            ),
        };
        statements.push(statement);
    }
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{}]}}"#,
        statements.join(",")
    )
}

fn bench_parse(c: &mut Criterion) {
    let document = large_policy();
    assert!(parse(&document, PolicyKind::Identity).is_ok());
    let mut group = c.benchmark_group("parse");
    group.throughput(criterion::Throughput::Bytes(document.len() as u64));
    group.bench_function("identity_50_statements", |b| {
        b.iter(|| parse(black_box(&document), PolicyKind::Identity))
    });
    group.finish();
}

fn bench_match(c: &mut Criterion) {
    let mut group = c.benchmark_group("match");
    let everything = ActionPattern::new("*");
    let exact = ActionPattern::new("s3:GetObject");
    let prefix = ActionPattern::new("s3:Get*");
    let general = ActionPattern::new("s3:*Object*Acl");
    group.bench_function("action_star", |b| {
        b.iter(|| everything.matches(black_box("s3:GetObject")))
    });
    group.bench_function("action_exact", |b| {
        b.iter(|| exact.matches(black_box("S3:getobject")))
    });
    group.bench_function("action_prefix", |b| {
        b.iter(|| prefix.matches(black_box("s3:GetObjectVersion")))
    });
    group.bench_function("action_general", |b| {
        b.iter(|| general.matches(black_box("s3:PutObjectVersionAcl")))
    });

    let arn = WildcardPattern::new(
        "arn:aws:s3:::bucket-*/reports/*/2024-??-*.csv",
        CaseSensitivity::Sensitive,
    );
    group.bench_function("arn_general", |b| {
        b.iter(|| arn.matches(black_box("arn:aws:s3:::bucket-7/reports/eu/2024-03-01.csv")))
    });

    let home = ResourcePattern::new("arn:aws:s3:::home/${aws:username}/*", true);
    group.bench_function("arn_with_variable", |b| {
        b.iter(|| {
            home.matches_with(black_box("arn:aws:s3:::home/alice/notes.txt"), |k| {
                (k == "aws:username").then_some("alice")
            })
        })
    });
    group.finish();
}

criterion_group!(benches, bench_parse, bench_match);
criterion_main!(benches);
