//! Authorization decisions.
//!
//! - `evaluate/10_policies`: one decision for a user with 10 attached policies (50
//!   statements across ten services, with conditions, policy variables and denies), the same
//!   user every time.
//! - `evaluate/account_{10,1000,100000}_policies`: the same kind of decision in an account
//!   holding that many policies, for one of 100 principals in turn, each with 10 of the
//!   account's policies attached, taken from a cache of compiled sets (a hash lookup, then the
//!   decision). Only the principal's own policies are in its set, so the size of the account
//!   must not show: the three should take the same time. (They take longer than the first
//!   because each decision reads another principal's set, which is not in the CPU's caches.)
//!
//! Before criterion runs, each scenario is also timed call by call to report the median and
//! the 99th percentile, which criterion does not give.

#![expect(
    clippy::indexing_slicing,
    clippy::panic,
    clippy::expect_used,
    reason = "benchmark set-up over fixed data; a failure should stop the run"
)]

use std::collections::HashMap;
use std::hint::black_box;
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use moat_policy::{
    evaluate, parse, ContextKeys, ContextValue, Inputs, Policy, PolicyKind, PolicySet, Request,
    RequestPrincipal,
};

const ACCOUNT: &str = "123456789012";
/// Services without IAM's special ARN rules (S3 and IAM ARNs have no region), so that one
/// template serves all.
const SERVICES: [&str; 10] = [
    "dynamodb",
    "ec2",
    "sqs",
    "kms",
    "lambda",
    "logs",
    "sns",
    "cloudwatch",
    "secretsmanager",
    "ssm",
];

/// A five-statement policy in the shapes real policies take; `n` varies names and services.
fn policy_document(n: usize) -> String {
    let svc = SERVICES[n % SERVICES.len()];
    format!(
        r#"{{"Version":"2012-10-17","Statement":[
        {{"Sid":"Read{n}","Effect":"Allow","Action":["{svc}:Get*","{svc}:List*","{svc}:Describe*"],"Resource":["arn:aws:{svc}:*:{ACCOUNT}:thing-{n}","arn:aws:{svc}:*:{ACCOUNT}:thing-{n}/*"]}},
        {{"Sid":"Home{n}","Effect":"Allow","Action":"{svc}:*","Resource":"arn:aws:{svc}:::home-{n}/${{aws:username}}/*","Condition":{{"StringLike":{{"{svc}:prefix":["${{aws:username}}/*",""]}}}}}},
        {{"Sid":"Tags{n}","Effect":"Allow","Action":["{svc}:Start*","{svc}:Stop*","{svc}:Tag*"],"Resource":"*","Condition":{{"StringEquals":{{"aws:ResourceTag/Project":"${{aws:PrincipalTag/Project}}"}},"ForAllValues:StringEquals":{{"aws:TagKeys":["Project","Owner"]}}}}}},
        {{"Sid":"DenyNoMfa{n}","Effect":"Deny","NotAction":["iam:*","sts:GetSessionToken"],"Resource":"*","Condition":{{"BoolIfExists":{{"aws:MultiFactorAuthPresent":"false"}},"DateGreaterThan":{{"aws:CurrentTime":"2030-01-01T00:00:00Z"}}}}}},
        {{"Sid":"Net{n}","Effect":"Allow","Action":["{svc}:Put*","{svc}:Create*","{svc}:Update*"],"Resource":"arn:aws:{svc}:us-east-1:{ACCOUNT}:table/T{n}","Condition":{{"IpAddress":{{"aws:SourceIp":["192.0.2.0/24","203.0.113.0/24"]}}}}}}
        ]}}"#
    )
}

fn parse_identity(doc: &str) -> Policy {
    match parse(doc, PolicyKind::Identity) {
        Ok(p) => p,
        Err(e) => panic!("benchmark policy does not parse: {e}"),
    }
}

/// The 10 policies attached to principal `p` of `principals` in an account holding `total`
/// policies, spread over the whole account.
fn attached(p: usize, principals: usize, total: usize) -> Vec<usize> {
    let stride = (total / principals).max(10);
    (0..10).map(|i| (p * stride + i) % total).collect()
}

fn request_keys(principal: &RequestPrincipal) -> ContextKeys {
    let mut keys = ContextKeys::new()
        .with("aws:SourceIp", "203.0.113.10")
        .with("aws:SecureTransport", "true")
        .with("aws:CurrentTime", "2025-06-01T12:00:00Z")
        .with("aws:EpochTime", "1748779200")
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:UserAgent", "aws-cli/2.15.0")
        .with("aws:MultiFactorAuthPresent", "true")
        .with("aws:PrincipalTag/Project", "blue")
        .with("aws:ResourceTag/Project", "blue")
        .with(
            "aws:TagKeys",
            ContextValue::Multi(vec!["Project".to_owned(), "Owner".to_owned()]),
        )
        .with("dynamodb:prefix", "u0/docs");
    keys.add_principal_keys(principal);
    keys
}

/// A compiled set per principal, as the server caches them.
struct Account {
    sets: HashMap<String, PolicySet>,
    principals: Vec<RequestPrincipal>,
}

impl Account {
    /// An account of `total` policies (kept as documents, as the store holds them) and
    /// `principals` users whose compiled sets are cached.
    fn new(total: usize, principals: usize) -> Self {
        let documents: Vec<String> = (0..total).map(policy_document).collect();
        let mut parsed: HashMap<usize, Policy> = HashMap::new();
        let mut sets = HashMap::new();
        let mut list = Vec::new();
        for p in 0..principals {
            let ids = attached(p, principals, total);
            for &id in &ids {
                parsed
                    .entry(id)
                    .or_insert_with(|| parse_identity(&documents[id]));
            }
            let set = PolicySet::new(
                ids.iter()
                    .map(|id| (format!("arn:aws:iam::{ACCOUNT}:policy/p{id}"), &parsed[id])),
            );
            let principal = RequestPrincipal::user(format!("arn:aws:iam::{ACCOUNT}:user/u{p}"));
            sets.insert(principal.arn().to_owned(), set);
            list.push(principal);
        }
        Account {
            sets,
            principals: list,
        }
    }
}

/// A request each of the principal's policies has something to say about: `n` picks the
/// service of one of its policies.
fn action_and_resource(n: usize) -> (String, String) {
    let svc = SERVICES[n % SERVICES.len()];
    (
        format!("{svc}:GetObject"),
        format!("arn:aws:{svc}:us-east-1:{ACCOUNT}:thing-{n}/key"),
    )
}

struct Scenario {
    name: &'static str,
    account: Account,
    keys: Vec<ContextKeys>,
    requests: Vec<(String, String)>,
}

impl Scenario {
    fn new(name: &'static str, total: usize, principals: usize) -> Self {
        let account = Account::new(total, principals);
        let keys = account.principals.iter().map(request_keys).collect();
        let requests = (0..account.principals.len())
            .map(|p| action_and_resource(attached(p, principals, total)[0]))
            .collect();
        Scenario {
            name,
            account,
            keys,
            requests,
        }
    }

    /// One decision for principal `i`: find its compiled set, then decide.
    fn decide(&self, i: usize) -> bool {
        let i = i % self.account.principals.len();
        let principal = &self.account.principals[i];
        let set = &self.account.sets[principal.arn()];
        let (action, resource) = &self.requests[i];
        let request = Request::new(principal, action, resource, &self.keys[i]);
        evaluate(&Inputs::new(set), &request).is_allowed()
    }
}

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario::new("10_policies", 10, 1),
        Scenario::new("account_10_policies", 10, 100),
        Scenario::new("account_1000_policies", 1_000, 100),
        Scenario::new("account_100000_policies", 100_000, 100),
    ]
}

/// Times single decisions and prints the median and 99th percentile, less the cost of
/// reading the clock. The machine may be shared, so the scenarios take turns over several
/// rounds: the figures of the quietest round (lowest median) are printed, and those of all
/// rounds pooled.
fn percentiles(scenarios: &[Scenario]) {
    const ROUNDS: usize = 7;
    const N: usize = 100_000;
    let mut clock = Vec::with_capacity(N);
    for _ in 0..N {
        let t = Instant::now();
        clock.push(t.elapsed().as_nanos());
    }
    clock.sort_unstable();
    let overhead = clock[N / 2];
    for s in scenarios {
        assert!(
            s.decide(0),
            "{}: the benchmark request must be allowed",
            s.name
        );
    }
    let mut rounds: Vec<Vec<Vec<u128>>> = vec![Vec::new(); scenarios.len()];
    for _ in 0..ROUNDS {
        for (s, rounds) in scenarios.iter().zip(&mut rounds) {
            let mut times = Vec::with_capacity(N);
            for i in 0..N {
                let t = Instant::now();
                black_box(s.decide(black_box(i)));
                times.push(t.elapsed().as_nanos().saturating_sub(overhead));
            }
            times.sort_unstable();
            rounds.push(times);
        }
    }
    let pct = |t: &[u128], p: usize| t[t.len() * p / 1000];
    println!(
        "single decisions, {N} per round, {ROUNDS} rounds, clock overhead {overhead} ns subtracted"
    );
    for (s, rounds) in scenarios.iter().zip(&rounds) {
        let best = rounds
            .iter()
            .min_by_key(|t| pct(t, 500))
            .expect("at least one round");
        let mut pooled: Vec<u128> = rounds.iter().flatten().copied().collect();
        pooled.sort_unstable();
        println!(
            "evaluate/{:<26} quietest round: median {:>5} ns  p99 {:>6} ns | all rounds: median {:>5} ns  p99 {:>6} ns",
            s.name,
            pct(best, 500),
            pct(best, 990),
            pct(&pooled, 500),
            pct(&pooled, 990),
        );
    }
}

fn bench(c: &mut Criterion, scenarios: &[Scenario]) {
    let mut group = c.benchmark_group("evaluate");
    for s in scenarios {
        let mut i = 0usize;
        group.bench_function(s.name, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                s.decide(black_box(i))
            })
        });
    }
    group.finish();
}

fn benches_with_scenarios(c: &mut Criterion) {
    let scenarios = scenarios();
    percentiles(&scenarios);
    bench(c, &scenarios);
}

criterion_group!(benches, benches_with_scenarios);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
