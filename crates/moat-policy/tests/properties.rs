//! Properties of the evaluator over generated policies and requests: adding a `Deny` never
//! allows anything new, `NotAction`/`NotResource` are the complements of `Action`/`Resource`,
//! the order of statements and policies never matters, and an allow-all policy allows.

// Test helpers outside #[test] functions may panic on broken fixtures: that is a test failure.
#![allow(clippy::expect_used, clippy::indexing_slicing)]

use moat_policy::{
    evaluate, parse, ContextKeys, ContextValue, Decision, Inputs, Outcome, Policy, PolicyKind,
    PolicySet, PolicyType, Request, RequestPrincipal, ResourcePolicyKind,
};
use proptest::prelude::*;
use serde_json::{json, Map, Value};

const ACTION_PATTERNS: &[&str] = &[
    "*",
    "s3:*",
    "s3:Get*",
    "s3:GetObject",
    "S3:putobject",
    "iam:*",
    "iam:CreateUser",
    "iam:List*",
    "ec2:Describe?nstances",
    "ec2:*",
    "sqs:*Message",
];

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "iam:CreateUser",
    "iam:ListUsers",
    "ec2:DescribeInstances",
    "sqs:SendMessage",
    "kms:Decrypt",
];

const RESOURCE_PATTERNS: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/${aws:username}/*",
    "arn:aws:iam::111122223333:user/*",
    "arn:aws:s3:::other/*",
    "arn:aws:s3:::b/${aws:PrincipalTag/team, 'none'}/*",
];

const RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/alice/x",
    "arn:aws:s3:::b/bob/x",
    "arn:aws:s3:::b/none/x",
    "arn:aws:iam::111122223333:user/bob",
    "*",
    "arn:aws:s3:::other/y",
];

/// Condition blocks, one operator and key each, so that blocks can be combined freely.
const CONDITIONS: &[(&str, &str, &str)] = &[
    ("StringEquals", "aws:PrincipalTag/team", r#""red""#),
    (
        "StringNotEquals",
        "aws:PrincipalTag/team",
        r#"["red","blue"]"#,
    ),
    ("Bool", "aws:SecureTransport", r#""true""#),
    ("IpAddress", "aws:SourceIp", r#""10.0.0.0/8""#),
    (
        "NotIpAddress",
        "aws:SourceIp",
        r#"["10.0.0.0/8","192.0.2.0/24"]"#,
    ),
    ("ForAllValues:StringEquals", "aws:TagKeys", r#"["a","b"]"#),
    ("ForAnyValue:StringLike", "aws:TagKeys", r#""c*""#),
    ("StringNotEqualsIfExists", "aws:RequestTag/env", r#""prod""#),
    ("NumericLessThan", "n", r#""5""#),
    ("Null", "aws:TokenIssueTime", r#""true""#),
    ("StringLike", "k", r#""${aws:username}*""#),
    (
        "DateLessThan",
        "aws:CurrentTime",
        r#""2030-01-01T00:00:00Z""#,
    ),
    ("ArnLike", "aws:PrincipalArn", r#""arn:aws:iam::*:user/*""#),
];

fn statement(deny_only: bool) -> impl Strategy<Value = Value> {
    (
        prop::bool::weighted(0.8),
        prop::bool::weighted(0.2),
        prop::collection::vec(prop::sample::select(ACTION_PATTERNS), 1..4),
        prop::bool::weighted(0.2),
        prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS), 1..3),
        prop::collection::vec(prop::sample::select(CONDITIONS), 0..3),
    )
        .prop_map(
            move |(allow, not_action, actions, not_resource, resources, conditions)| {
                let mut st = Map::new();
                let effect = if allow && !deny_only { "Allow" } else { "Deny" };
                st.insert("Effect".into(), json!(effect));
                let action_key = if not_action { "NotAction" } else { "Action" };
                st.insert(action_key.into(), json!(actions));
                let resource_key = if not_resource {
                    "NotResource"
                } else {
                    "Resource"
                };
                st.insert(resource_key.into(), json!(resources));
                if !conditions.is_empty() {
                    st.insert("Condition".into(), condition_block(&conditions));
                }
                Value::Object(st)
            },
        )
}

fn condition_block(conditions: &[(&str, &str, &str)]) -> Value {
    let mut block = Map::new();
    for (op, key, values) in conditions {
        let values: Value = serde_json::from_str(values).unwrap_or(Value::Null);
        let entry = block
            .entry((*op).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(keys) = entry {
            keys.insert((*key).to_owned(), values);
        }
    }
    Value::Object(block)
}

fn policy_doc(statements: Vec<Value>) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

fn policies(min: usize, max: usize) -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        prop::collection::vec(statement(false), 1..4).prop_map(policy_doc),
        min..max,
    )
}

#[derive(Debug, Clone)]
struct Scenario {
    identity: Vec<Value>,
    boundary: Option<Vec<Value>>,
    session: Option<Vec<Value>>,
    scp: Option<Vec<Value>>,
    role_session: bool,
    action: &'static str,
    resource: &'static str,
    context: Vec<(&'static str, ContextValue)>,
}

fn context() -> impl Strategy<Value = Vec<(&'static str, ContextValue)>> {
    let single = |key: &'static str, values: &'static [&'static str]| {
        prop::option::of(prop::sample::select(values))
            .prop_map(move |v| v.map(|v| (key, ContextValue::from(v))))
    };
    (
        single("aws:PrincipalTag/team", &["red", "blue", "green"]),
        single("aws:SecureTransport", &["true", "false"]),
        single("aws:SourceIp", &["10.1.2.3", "192.0.2.9", "203.0.113.1"]),
        prop::option::of(prop::collection::vec(
            prop::sample::select(&["a", "b", "c1"][..]),
            0..3,
        ))
        .prop_map(|v| {
            v.map(|v| {
                (
                    "aws:TagKeys",
                    ContextValue::Multi(v.into_iter().map(str::to_owned).collect()),
                )
            })
        }),
        single("aws:RequestTag/env", &["prod", "dev"]),
        single("n", &["1", "7", "x"]),
        single("aws:TokenIssueTime", &["2024-01-01T00:00:00Z"]),
        single("k", &["alice-1", "bob"]),
        single(
            "aws:CurrentTime",
            &["2025-01-01T00:00:00Z", "2031-01-01T00:00:00Z"],
        ),
    )
        .prop_map(|(a, b, c, d, e, f, g, h, i)| {
            [a, b, c, d, e, f, g, h, i].into_iter().flatten().collect()
        })
}

fn scenario() -> impl Strategy<Value = Scenario> {
    (
        policies(0, 5),
        prop::option::weighted(0.3, policies(1, 3)),
        prop::option::weighted(0.3, policies(1, 3)),
        prop::option::weighted(0.3, policies(1, 3)),
        any::<bool>(),
        prop::sample::select(ACTIONS),
        prop::sample::select(RESOURCES),
        context(),
    )
        .prop_map(
            |(identity, boundary, session, scp, role_session, action, resource, context)| {
                Scenario {
                    identity,
                    boundary,
                    session,
                    scp,
                    role_session,
                    action,
                    resource,
                    context,
                }
            },
        )
}

fn parse_all(docs: &[Value], kind: PolicyKind) -> Vec<Policy> {
    docs.iter()
        .map(|d| parse(&d.to_string(), kind).expect("generated policies are valid"))
        .collect()
}

fn compile(policies: &[Policy], name: &str) -> PolicySet {
    PolicySet::new(
        policies
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{name}[{i}]"), p)),
    )
}

/// What a decision says, without the statement list.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Summary {
    outcome: Outcome,
    decided_by: Option<PolicyType>,
    matched: Vec<(String, usize)>,
}

fn summarize(d: &Decision<'_>) -> Summary {
    Summary {
        outcome: d.outcome,
        decided_by: d.decided_by,
        matched: d
            .matched
            .iter()
            .map(|m| (m.policy_id.to_owned(), m.statement_index))
            .collect(),
    }
}

fn principal(role_session: bool) -> RequestPrincipal {
    if role_session {
        RequestPrincipal::role_session(
            "arn:aws:sts::111122223333:assumed-role/Dev/alice",
            "arn:aws:iam::111122223333:role/Dev",
        )
    } else {
        RequestPrincipal::user("arn:aws:iam::111122223333:user/alice")
    }
}

fn decide(s: &Scenario) -> Summary {
    let identity = compile(&parse_all(&s.identity, PolicyKind::Identity), "identity");
    let boundary = s
        .boundary
        .as_ref()
        .map(|b| compile(&parse_all(b, PolicyKind::Identity), "boundary"));
    let session = s
        .session
        .as_ref()
        .map(|b| compile(&parse_all(b, PolicyKind::Session), "session"));
    let scps: Vec<PolicySet> = s
        .scp
        .iter()
        .map(|b| compile(&parse_all(b, PolicyKind::ServiceControl), "scp"))
        .collect();
    let who = principal(s.role_session);
    let mut keys: ContextKeys = s.context.iter().cloned().collect();
    keys.add_principal_keys(&who);
    let mut inputs = Inputs::new(&identity).with_scps(&scps, false);
    if let Some(b) = &boundary {
        inputs = inputs.with_boundary(b);
    }
    if let Some(sp) = &session {
        inputs = inputs.with_session(sp);
    }
    let request = Request::new(&who, s.action, s.resource, &keys);
    summarize(&evaluate(&inputs, &request))
}

/// Reverses the statements of every policy and the order of the policies.
fn reversed(docs: &[Value]) -> Vec<Value> {
    docs.iter()
        .rev()
        .map(|d| {
            let mut d = d.clone();
            if let Some(Value::Array(st)) = d.get_mut("Statement") {
                st.reverse();
            }
            d
        })
        .collect()
}

/// Where the statement at `(policy, index)` of the reversed scenario sat originally.
fn original_position(s: &Scenario, policy: &str, index: usize) -> (String, usize) {
    let (set, rest) = policy.split_once('[').unwrap_or((policy, ""));
    let reversed_position: usize = rest.trim_end_matches(']').parse().unwrap_or(0);
    let docs = match set {
        "identity" => &s.identity,
        "boundary" => s.boundary.as_ref().unwrap_or(&s.identity),
        "session" => s.session.as_ref().unwrap_or(&s.identity),
        _ => s.scp.as_ref().unwrap_or(&s.identity),
    };
    let position = docs.len() - 1 - reversed_position;
    let statements = docs[position]["Statement"].as_array().map_or(1, Vec::len);
    (format!("{set}[{position}]"), statements - 1 - index)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn adding_a_deny_never_allows(
        s in scenario(),
        deny in prop::collection::vec(statement(true), 1..3),
        target in 0..3usize,
    ) {
        let before = decide(&s);
        let mut with_deny = s.clone();
        let extra = policy_doc(deny);
        match target {
            0 => with_deny.identity.push(extra),
            1 => with_deny.boundary.get_or_insert_with(Vec::new).push(extra),
            _ => with_deny.scp.get_or_insert_with(Vec::new).push(extra),
        }
        // Adding a boundary or an SCP level that was absent can itself deny; only the deny
        // statements are under test, so compare with the same inputs minus those statements.
        let mut baseline = with_deny.clone();
        match target {
            0 => { baseline.identity.pop(); }
            1 => { baseline.boundary.as_mut().map(Vec::pop); }
            _ => { baseline.scp.as_mut().map(Vec::pop); }
        }
        let base = decide(&baseline);
        let after = decide(&with_deny);
        // Never a new allow, whatever the deny and wherever it goes.
        if before.outcome != Outcome::Allow {
            prop_assert_ne!(after.outcome, Outcome::Allow);
        }
        // And against the same inputs without it, the deny either applies or changes nothing.
        prop_assert!(
            after.outcome == base.outcome || after.outcome == Outcome::ExplicitDeny,
            "{:?} became {:?}", base, after
        );
    }

    #[test]
    fn order_never_matters(s in scenario()) {
        let forward = decide(&s);
        let mut r = s.clone();
        r.identity = reversed(&s.identity);
        r.boundary = s.boundary.as_deref().map(reversed);
        r.session = s.session.as_deref().map(reversed);
        r.scp = s.scp.as_deref().map(reversed);
        let backward = decide(&r);
        prop_assert_eq!(forward.outcome, backward.outcome);
        prop_assert_eq!(forward.decided_by, backward.decided_by);
        // The same statements apply, found at their new positions.
        let mut expected: Vec<(String, usize)> = backward
            .matched
            .iter()
            .map(|(id, j)| original_position(&s, id, *j))
            .collect();
        let mut got = forward.matched.clone();
        expected.sort();
        got.sort();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn not_action_is_the_complement_of_action(
        patterns in prop::collection::vec(prop::sample::select(ACTION_PATTERNS), 1..4),
        action in prop::sample::select(ACTIONS),
    ) {
        let allows = |key: &str| {
            let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", key: patterns, "Resource": "*"}});
            let policy = parse(&doc.to_string(), PolicyKind::Identity).expect("valid");
            let set = PolicySet::new([("p", &policy)]);
            let who = principal(false);
            let keys = ContextKeys::new();
            evaluate(&Inputs::new(&set), &Request::new(&who, action, "*", &keys)).is_allowed()
        };
        prop_assert_ne!(allows("Action"), allows("NotAction"));
    }

    #[test]
    fn not_resource_is_the_complement_of_resource(
        patterns in prop::collection::vec(prop::sample::select(RESOURCE_PATTERNS), 1..3),
        resource in prop::sample::select(RESOURCES),
        team in prop::option::of(prop::sample::select(&["red", "none"][..])),
    ) {
        let allows = |key: &str| {
            let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", key: patterns}});
            let policy = parse(&doc.to_string(), PolicyKind::Identity).expect("valid");
            let set = PolicySet::new([("p", &policy)]);
            let who = principal(false);
            let mut keys = ContextKeys::new();
            keys.add_principal_keys(&who);
            if let Some(t) = team {
                keys.insert("aws:PrincipalTag/team", t);
            }
            evaluate(&Inputs::new(&set), &Request::new(&who, "s3:GetObject", resource, &keys)).is_allowed()
        };
        // Every variable here resolves (aws:username is set, the tag has a default), so the
        // two statements split the resources between them.
        prop_assert_ne!(allows("Resource"), allows("NotResource"));
    }

    #[test]
    fn allow_all_alone_allows(
        action in prop::sample::select(ACTIONS),
        resource in prop::sample::select(RESOURCES),
        role_session in any::<bool>(),
        context in context(),
    ) {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#,
            PolicyKind::Identity,
        ).expect("valid");
        let set = PolicySet::new([("AdministratorAccess", &policy)]);
        let who = principal(role_session);
        let keys: ContextKeys = context.into_iter().collect();
        let d = evaluate(&Inputs::new(&set), &Request::new(&who, action, resource, &keys));
        prop_assert_eq!(d.outcome, Outcome::Allow);
        prop_assert_eq!(d.decided_by, Some(PolicyType::Identity));
    }

    #[test]
    fn a_resource_policy_deny_is_never_overridden(
        s in scenario(),
        deny in statement(true),
    ) {
        // The same deny, as a resource-based policy naming everyone, denies whatever else says.
        let mut deny = deny;
        if let Value::Object(st) = &mut deny {
            st.insert("Principal".into(), json!("*"));
        }
        let doc = policy_doc(vec![deny]);
        let policy = parse(&doc.to_string(), PolicyKind::Resource).expect("valid");
        let resource_set = PolicySet::new([("bucket", &policy)]);
        let alone = {
            let who = principal(s.role_session);
            let mut keys: ContextKeys = s.context.iter().cloned().collect();
            keys.add_principal_keys(&who);
            let inputs = Inputs::without_identity().with_resource_policy(&resource_set, ResourcePolicyKind::Resource);
            evaluate(&inputs, &Request::new(&who, s.action, s.resource, &keys)).outcome
        };
        let identity = compile(&parse_all(&s.identity, PolicyKind::Identity), "identity");
        let who = principal(s.role_session);
        let mut keys: ContextKeys = s.context.iter().cloned().collect();
        keys.add_principal_keys(&who);
        let inputs = Inputs::new(&identity).with_resource_policy(&resource_set, ResourcePolicyKind::Resource);
        let combined = evaluate(&inputs, &Request::new(&who, s.action, s.resource, &keys));
        if alone == Outcome::ExplicitDeny {
            prop_assert_eq!(combined.outcome, Outcome::ExplicitDeny);
        }
    }
}
