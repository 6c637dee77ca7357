//! One workload of IAM identity policies, written out twice: as IAM JSON for Moat's policy
//! engine and as Cedar for the `cedar-policy` crate, with the same meaning, so that the two
//! engines can be timed deciding the same requests.
//!
//! A policy is modelled once ([`policy`]) and rendered by [`iam_json`] and [`cedar_text`].
//! The rendering rules, IAM on the left, Cedar on the right:
//!
//! - `Allow` / `Deny` -> `permit` / `forbid`. Both engines deny unless something allows, and an
//!   explicit deny (a satisfied `forbid`) beats any allow.
//! - An identity policy has no `Principal`: it applies to the principal it is attached to. In
//!   Cedar the principal is named in the scope: `principal == User::"<user ARN>"`.
//! - `Action` patterns -> `action in [...]`. Cedar matches actions only by identity or
//!   through an action hierarchy, never by pattern, so IAM's action wildcards (`iam:Get*`,
//!   `s3:*`) are translated in one of two ways ([`CedarActions`]):
//!   - [`CedarActions::Lists`]: each wildcard is expanded against [`SERVICES`], the catalogue
//!     of actions the benchmark uses: `action in [Action::"iam:GetUser", Action::"iam:GetRole",
//!     ...]`, a few to thirty-odd actions a statement;
//!   - [`CedarActions::Groups`]: each wildcard is an action group, `action in
//!     [Action::"iam:Get*", ...]`, and the requested action's entity has as parents the groups
//!     whose pattern matches it (what a Cedar schema's `memberOf` would declare).
//!
//!   Either way the two engines agree on every catalogued action, which are the only actions
//!   requested here; IAM's pattern would also match actions outside the catalogue.
//!   `Action: "*"` leaves the Cedar scope's `action` unconstrained.
//! - `Resource` ARN patterns -> `resource.arn like "<pattern>"`, or-ed. Both match the whole
//!   ARN case-sensitively, with `*` matching any run of characters (`?` is not used: Cedar has
//!   no single-character wildcard). The resource is a Cedar entity whose `arn` attribute is
//!   the requested ARN. `Resource: "*"` leaves `resource` unconstrained.
//! - Conditions, and-ed; the values of one key or-ed. IAM treats a missing key as "condition
//!   not met" for these operators, which Cedar says with `context has "<key>" && ...`; the
//!   guard also keeps Cedar from evaluating an error, which it would skip the policy for.
//!   - `StringEquals` -> `context["<key>"] == "<value>"`;
//!   - `IpAddress` -> `context["<key>"].isInRange(ip("<cidr>"))`, the request's address being
//!     an `ip` value in the Cedar context;
//!   - `Bool` -> `context["<key>"] == true`, the value being a Cedar boolean.
//!
//! The request context is built once as Moat's [`ContextKeys`] and converted key by key into
//! the Cedar context ([`cedar_context`]), so both engines see the same keys.
//!
//! [`check_agreement`] decides many requests with both engines and reports any difference;
//! the benchmark runs it before timing anything, and the tests run it over every catalogued
//! action.

#![expect(
    clippy::expect_used,
    clippy::indexing_slicing,
    reason = "benchmark set-up over fixed data; a failure should stop the run"
)]

pub mod cases;

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::str::FromStr;

use cedar_policy::{
    Authorizer, Context, Entities, Entity, EntityUid, Request as CedarRequest, RestrictedExpression,
};
use moat_policy::{
    evaluate, parse, ContextKeys, ContextValue, Inputs, PolicyKind, PolicySet, Request,
    RequestPrincipal,
};
use serde_json::{json, Map, Value};

pub const ACCOUNT: &str = "123456789012";

/// A service of the catalogue: its action prefix, the resource type its ARNs name, and real
/// action names of the service (a subset of each).
pub struct Service {
    pub prefix: &'static str,
    pub resource_type: &'static str,
    pub actions: &'static [&'static str],
}

/// The services policies are written for. IAM comes three times in fifteen, so a fifth of the
/// account's policies are about IAM and a request for an IAM action has many candidates.
pub const POLICY_SERVICES: [&str; 15] = [
    "iam",
    "s3",
    "ec2",
    "dynamodb",
    "sqs",
    "iam",
    "sns",
    "kms",
    "lambda",
    "logs",
    "iam",
    "ssm",
    "secretsmanager",
    "cloudwatch",
    "ec2",
];

pub const SERVICES: &[Service] = &[
    Service {
        prefix: "iam",
        resource_type: "user",
        actions: &[
            "GetUser",
            "GetRole",
            "GetGroup",
            "GetPolicy",
            "GetPolicyVersion",
            "GetAccessKeyLastUsed",
            "GetLoginProfile",
            "ListUsers",
            "ListRoles",
            "ListGroups",
            "ListPolicies",
            "ListAccessKeys",
            "ListAttachedUserPolicies",
            "ListGroupsForUser",
            "CreateUser",
            "CreateRole",
            "CreateAccessKey",
            "CreateLoginProfile",
            "UpdateUser",
            "UpdateAccessKey",
            "UpdateLoginProfile",
            "PutUserPolicy",
            "PutRolePolicy",
            "TagUser",
            "TagRole",
            "DeleteUser",
            "DeleteRole",
            "DeleteAccessKey",
            "DeleteLoginProfile",
            "AttachUserPolicy",
            "DetachUserPolicy",
            "PassRole",
        ],
    },
    Service {
        prefix: "s3",
        resource_type: "",
        actions: &[
            "GetObject",
            "GetObjectAcl",
            "GetObjectTagging",
            "GetBucketPolicy",
            "GetBucketLocation",
            "ListBucket",
            "ListAllMyBuckets",
            "ListBucketVersions",
            "PutObject",
            "PutObjectAcl",
            "PutObjectTagging",
            "PutBucketPolicy",
            "CreateBucket",
            "DeleteObject",
            "DeleteBucket",
            "DeleteBucketPolicy",
        ],
    },
    Service {
        prefix: "ec2",
        resource_type: "instance",
        actions: &[
            "DescribeInstances",
            "DescribeVolumes",
            "DescribeSecurityGroups",
            "DescribeSubnets",
            "DescribeVpcs",
            "DescribeImages",
            "CreateTags",
            "CreateVolume",
            "CreateSecurityGroup",
            "RunInstances",
            "StartInstances",
            "StopInstances",
            "RebootInstances",
            "TerminateInstances",
            "DeleteVolume",
            "DeleteSecurityGroup",
            "DeleteTags",
        ],
    },
    Service {
        prefix: "dynamodb",
        resource_type: "table",
        actions: &[
            "GetItem",
            "BatchGetItem",
            "Query",
            "Scan",
            "DescribeTable",
            "ListTables",
            "ListTagsOfResource",
            "PutItem",
            "UpdateItem",
            "BatchWriteItem",
            "CreateTable",
            "UpdateTable",
            "TagResource",
            "DeleteItem",
            "DeleteTable",
        ],
    },
    Service {
        prefix: "sqs",
        resource_type: "queue",
        actions: &[
            "GetQueueUrl",
            "GetQueueAttributes",
            "ListQueues",
            "ListQueueTags",
            "ReceiveMessage",
            "SendMessage",
            "CreateQueue",
            "SetQueueAttributes",
            "TagQueue",
            "DeleteMessage",
            "DeleteQueue",
            "PurgeQueue",
        ],
    },
    Service {
        prefix: "sns",
        resource_type: "topic",
        actions: &[
            "GetTopicAttributes",
            "GetSubscriptionAttributes",
            "ListTopics",
            "ListSubscriptions",
            "ListTagsForResource",
            "Publish",
            "Subscribe",
            "CreateTopic",
            "SetTopicAttributes",
            "TagResource",
            "DeleteTopic",
            "Unsubscribe",
        ],
    },
    Service {
        prefix: "kms",
        resource_type: "key",
        actions: &[
            "DescribeKey",
            "GetKeyPolicy",
            "GetKeyRotationStatus",
            "GetPublicKey",
            "ListKeys",
            "ListAliases",
            "ListGrants",
            "Encrypt",
            "Decrypt",
            "GenerateDataKey",
            "CreateKey",
            "CreateAlias",
            "CreateGrant",
            "PutKeyPolicy",
            "UpdateAlias",
            "TagResource",
            "DeleteAlias",
            "ScheduleKeyDeletion",
        ],
    },
    Service {
        prefix: "lambda",
        resource_type: "function",
        actions: &[
            "GetFunction",
            "GetFunctionConfiguration",
            "GetPolicy",
            "ListFunctions",
            "ListVersionsByFunction",
            "ListTags",
            "InvokeFunction",
            "CreateFunction",
            "UpdateFunctionCode",
            "UpdateFunctionConfiguration",
            "PublishVersion",
            "TagResource",
            "DeleteFunction",
        ],
    },
    Service {
        prefix: "logs",
        resource_type: "log-group",
        actions: &[
            "GetLogEvents",
            "DescribeLogGroups",
            "DescribeLogStreams",
            "FilterLogEvents",
            "ListTagsForResource",
            "CreateLogGroup",
            "CreateLogStream",
            "PutLogEvents",
            "PutRetentionPolicy",
            "TagResource",
            "DeleteLogGroup",
            "DeleteLogStream",
        ],
    },
    Service {
        prefix: "ssm",
        resource_type: "parameter",
        actions: &[
            "GetParameter",
            "GetParameters",
            "GetParametersByPath",
            "GetParameterHistory",
            "DescribeParameters",
            "ListTagsForResource",
            "PutParameter",
            "AddTagsToResource",
            "DeleteParameter",
            "DeleteParameters",
        ],
    },
    Service {
        prefix: "secretsmanager",
        resource_type: "secret",
        actions: &[
            "GetSecretValue",
            "DescribeSecret",
            "ListSecrets",
            "ListSecretVersionIds",
            "GetResourcePolicy",
            "CreateSecret",
            "PutSecretValue",
            "UpdateSecret",
            "TagResource",
            "DeleteSecret",
            "RotateSecret",
        ],
    },
    Service {
        prefix: "cloudwatch",
        resource_type: "alarm",
        actions: &[
            "GetMetricData",
            "GetMetricStatistics",
            "DescribeAlarms",
            "ListMetrics",
            "ListDashboards",
            "GetDashboard",
            "PutMetricData",
            "PutMetricAlarm",
            "PutDashboard",
            "TagResource",
            "DeleteAlarms",
            "DeleteDashboards",
        ],
    },
];

pub fn service(prefix: &str) -> &'static Service {
    SERVICES
        .iter()
        .find(|s| s.prefix == prefix)
        .expect("every policy service is in the catalogue")
}

/// Every catalogued action, `service:Name`.
pub fn all_actions() -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|s| s.actions.iter().map(move |a| format!("{}:{a}", s.prefix)))
        .collect()
}

/// The start of the service's resource ARNs, to which a resource name is appended. IAM and S3
/// ARNs have no region, and S3's no account either.
pub fn arn_base(service: &Service) -> String {
    match service.prefix {
        "iam" => format!("arn:aws:iam::{ACCOUNT}:user/"),
        "s3" => "arn:aws:s3:::".to_owned(),
        svc => format!(
            "arn:aws:{svc}:us-east-1:{ACCOUNT}:{}/",
            service.resource_type
        ),
    }
}

pub const TEAMS: [&str; 4] = ["team0", "team1", "team2", "team3"];

/// The service policy `n` is about.
pub fn policy_service(n: usize) -> &'static Service {
    service(POLICY_SERVICES[n % POLICY_SERVICES.len()])
}

/// The team policy `n` grants to: its conditions test `aws:PrincipalTag/team` against it.
pub fn policy_team(n: usize) -> &'static str {
    TEAMS[n % TEAMS.len()]
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

#[derive(Debug, Clone)]
pub enum Actions {
    /// `"*"`.
    Any,
    /// Action names or patterns with `*`.
    Patterns(Vec<String>),
}

#[derive(Debug, Clone)]
pub enum Condition {
    StringEquals(&'static str, Vec<String>),
    IpAddress(&'static str, Vec<String>),
    Bool(&'static str, bool),
}

#[derive(Debug, Clone)]
pub struct Statement {
    pub sid: String,
    pub effect: Effect,
    pub actions: Actions,
    /// `None` for `"*"`.
    pub resources: Option<Vec<String>>,
    pub conditions: Vec<Condition>,
}

/// Policy `n` of an account: five statements about one service, in shapes real policies take
/// (read by team tag, write from the office network over TLS, no deletes in production, two
/// named actions in one region pair, and either a deny of everything without TLS or a team
/// sandbox).
pub fn policy(n: usize) -> Vec<Statement> {
    let svc = policy_service(n);
    let p = svc.prefix;
    let base = arn_base(svc);
    let team = policy_team(n);
    let team_tag = || Condition::StringEquals("aws:PrincipalTag/team", vec![team.to_owned()]);
    let named = |k: usize| {
        let actions = svc.actions;
        format!("{p}:{}", actions[(n + k) % actions.len()])
    };
    let last = if n.is_multiple_of(5) {
        Statement {
            sid: format!("DenyInsecure{n}"),
            effect: Effect::Deny,
            actions: Actions::Any,
            resources: None,
            conditions: vec![Condition::Bool("aws:SecureTransport", false)],
        }
    } else {
        Statement {
            sid: format!("Sandbox{n}"),
            effect: Effect::Allow,
            actions: Actions::Patterns(vec![format!("{p}:*")]),
            resources: Some(vec![format!("{base}{team}/sandbox-{n}/*")]),
            conditions: vec![team_tag()],
        }
    };
    vec![
        Statement {
            sid: format!("Read{n}"),
            effect: Effect::Allow,
            actions: Actions::Patterns(vec![
                format!("{p}:Get*"),
                format!("{p}:List*"),
                format!("{p}:Describe*"),
            ]),
            resources: Some(vec![format!("{base}{team}/*"), format!("{base}shared-*")]),
            conditions: vec![team_tag()],
        },
        Statement {
            sid: format!("Write{n}"),
            effect: Effect::Allow,
            actions: Actions::Patterns(vec![
                format!("{p}:Create*"),
                format!("{p}:Put*"),
                format!("{p}:Update*"),
                format!("{p}:Tag*"),
            ]),
            resources: Some(vec![format!("{base}{team}/{n}-*")]),
            conditions: vec![
                Condition::IpAddress(
                    "aws:SourceIp",
                    vec![
                        format!("10.{}.0.0/16", n % 250),
                        "203.0.113.0/24".to_owned(),
                    ],
                ),
                Condition::Bool("aws:SecureTransport", true),
            ],
        },
        Statement {
            sid: format!("DenyProdDelete{n}"),
            effect: Effect::Deny,
            actions: Actions::Patterns(vec![format!("{p}:Delete*")]),
            resources: Some(vec![
                format!("{base}prod-*"),
                format!("{base}{team}/prod-*"),
            ]),
            conditions: Vec::new(),
        },
        Statement {
            sid: format!("Named{n}"),
            effect: Effect::Allow,
            actions: Actions::Patterns(vec![named(0), named(3)]),
            resources: Some(vec![format!("{base}{team}/app-{n}")]),
            conditions: vec![Condition::StringEquals(
                "aws:RequestedRegion",
                vec!["us-east-1".to_owned(), "eu-west-1".to_owned()],
            )],
        },
        last,
    ]
}

/// The statements as an IAM policy document.
pub fn iam_json(statements: &[Statement]) -> String {
    let statements: Vec<Value> = statements
        .iter()
        .map(|st| {
            let mut out = Map::new();
            out.insert("Sid".into(), json!(st.sid));
            let effect = match st.effect {
                Effect::Allow => "Allow",
                Effect::Deny => "Deny",
            };
            out.insert("Effect".into(), json!(effect));
            let action = match &st.actions {
                Actions::Any => json!("*"),
                Actions::Patterns(p) => json!(p),
            };
            out.insert("Action".into(), action);
            let resource = match &st.resources {
                None => json!("*"),
                Some(r) => json!(r),
            };
            out.insert("Resource".into(), resource);
            if !st.conditions.is_empty() {
                let mut block = Map::new();
                for c in &st.conditions {
                    let (operator, key, value) = match c {
                        Condition::StringEquals(k, v) => ("StringEquals", *k, json!(v)),
                        Condition::IpAddress(k, v) => ("IpAddress", *k, json!(v)),
                        Condition::Bool(k, v) => ("Bool", *k, json!(v.to_string())),
                    };
                    if let Value::Object(keys) = block
                        .entry(operator)
                        .or_insert_with(|| Value::Object(Map::new()))
                    {
                        keys.insert(key.to_owned(), value);
                    }
                }
                out.insert("Condition".into(), Value::Object(block));
            }
            Value::Object(out)
        })
        .collect();
    json!({"Version": "2012-10-17", "Statement": statements}).to_string()
}

/// Whether `name` matches the IAM action pattern `pattern` (`*` only, any case).
fn action_matches(pattern: &str, name: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), name.as_bytes());
    let (mut pi, mut si) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    loop {
        match (p.get(pi), s.get(si)) {
            (Some(b'*'), _) => {
                star = Some((pi, si));
                pi += 1;
            }
            (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => {
                pi += 1;
                si += 1;
            }
            (None, None) => return true,
            _ => match star {
                Some((sp, ss)) if ss < s.len() => {
                    star = Some((sp, ss + 1));
                    pi = sp + 1;
                    si = ss + 1;
                }
                _ => return false,
            },
        }
    }
}

/// How IAM action wildcards are written in Cedar, which has no action patterns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CedarActions {
    /// Expanded to the list of catalogued actions each matches.
    Lists,
    /// Each an action group that the matching actions are members of.
    Groups,
}

impl CedarActions {
    pub fn name(self) -> &'static str {
        match self {
            CedarActions::Lists => "action lists",
            CedarActions::Groups => "action groups",
        }
    }
}

/// The action groups of [`CedarActions::Groups`]: every action wildcard the policies use.
const GROUP_SUFFIXES: [&str; 9] = [
    "Get*",
    "List*",
    "Describe*",
    "Create*",
    "Put*",
    "Update*",
    "Tag*",
    "Delete*",
    "*",
];

pub fn action_groups() -> Vec<String> {
    SERVICES
        .iter()
        .flat_map(|s| {
            GROUP_SUFFIXES
                .iter()
                .map(move |g| format!("{}:{g}", s.prefix))
        })
        .collect()
}

/// The groups an action is a member of.
pub fn groups_of(action: &str) -> Vec<String> {
    action_groups()
        .into_iter()
        .filter(|g| action_matches(g, action))
        .collect()
}

/// The catalogued actions an IAM action pattern stands for.
pub fn expand_actions(patterns: &[String]) -> Vec<String> {
    all_actions()
        .into_iter()
        .filter(|a| patterns.iter().any(|p| action_matches(p, a)))
        .collect()
}

fn cedar_string(s: &str) -> String {
    s.escape_default().to_string()
}

/// The statements as Cedar policies, one per statement, attached to the user `principal_arn`.
pub fn cedar_text(statements: &[Statement], principal_arn: &str, mode: CedarActions) -> String {
    let groups = action_groups();
    let mut out = String::new();
    for st in statements {
        let effect = match st.effect {
            Effect::Allow => "permit",
            Effect::Deny => "forbid",
        };
        let action = match &st.actions {
            Actions::Any => "action".to_owned(),
            Actions::Patterns(p) => {
                let names = match mode {
                    CedarActions::Lists => expand_actions(p),
                    CedarActions::Groups => {
                        for pattern in p.iter().filter(|p| p.contains('*')) {
                            assert!(groups.contains(pattern), "no group for `{pattern}`");
                        }
                        p.clone()
                    }
                };
                let list: Vec<String> = names
                    .iter()
                    .map(|a| format!("Action::\"{}\"", cedar_string(a)))
                    .collect();
                assert!(!list.is_empty(), "`{p:?}` names no catalogued action");
                format!("action in [{}]", list.join(", "))
            }
        };
        let mut when: Vec<String> = Vec::new();
        if let Some(resources) = &st.resources {
            let any: Vec<String> = resources
                .iter()
                .map(|r| format!("resource.arn like \"{}\"", cedar_string(r)))
                .collect();
            when.push(format!("({})", any.join(" || ")));
        }
        for c in &st.conditions {
            let (key, test) = match c {
                Condition::StringEquals(k, values) => {
                    let any: Vec<String> = values
                        .iter()
                        .map(|v| format!("context[\"{k}\"] == \"{}\"", cedar_string(v)))
                        .collect();
                    (*k, any.join(" || "))
                }
                Condition::IpAddress(k, cidrs) => {
                    let any: Vec<String> = cidrs
                        .iter()
                        .map(|c| format!("context[\"{k}\"].isInRange(ip(\"{c}\"))"))
                        .collect();
                    (*k, any.join(" || "))
                }
                Condition::Bool(k, v) => (*k, format!("context[\"{k}\"] == {v}")),
            };
            when.push(format!("(context has \"{key}\" && ({test}))"));
        }
        let _ = write!(
            out,
            "// {}\n{effect} (\n    principal == User::\"{}\",\n    {action},\n    resource\n)",
            st.sid,
            cedar_string(principal_arn),
        );
        if !when.is_empty() {
            let _ = write!(out, "\nwhen {{\n    {}\n}}", when.join("\n    && "));
        }
        out.push_str(";\n\n");
    }
    out
}

pub fn user_arn(name: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:user/{name}")
}

/// The request context of a principal in `team`: TLS on or off, from the office network.
pub fn request_keys(principal: &RequestPrincipal, team: &str, secure: bool) -> ContextKeys {
    let mut keys = ContextKeys::new()
        .with("aws:SourceIp", "203.0.113.10")
        .with("aws:SecureTransport", secure)
        .with("aws:CurrentTime", "2026-11-30T12:00:00Z")
        .with("aws:EpochTime", "1796040000")
        .with("aws:RequestedRegion", "us-east-1")
        .with("aws:UserAgent", "aws-cli/2.15.0")
        .with("aws:MultiFactorAuthPresent", true)
        .with("aws:PrincipalTag/team", team);
    keys.add_principal_keys(principal);
    keys
}

/// Keys whose values are not strings: typed in the Cedar context as the IAM operators that
/// use them read them.
const BOOL_KEYS: [&str; 2] = ["aws:SecureTransport", "aws:MultiFactorAuthPresent"];
const IP_KEYS: [&str; 1] = ["aws:SourceIp"];

/// The same keys as a Cedar context.
pub fn cedar_context(keys: &ContextKeys) -> Context {
    let pairs = keys.iter().map(|(k, v)| {
        let value = match v {
            ContextValue::Multi(values) => RestrictedExpression::new_set(
                values
                    .iter()
                    .map(|s| RestrictedExpression::new_string(s.clone())),
            ),
            ContextValue::Single(s) if BOOL_KEYS.contains(&k) => {
                RestrictedExpression::new_bool(s.eq_ignore_ascii_case("true"))
            }
            ContextValue::Single(s) if IP_KEYS.contains(&k) => RestrictedExpression::new_ip(s),
            ContextValue::Single(s) => RestrictedExpression::new_string(s.clone()),
        };
        (k.to_owned(), value)
    });
    Context::from_pairs(pairs).expect("valid context")
}

pub fn cedar_uid(kind: &str, id: &str) -> EntityUid {
    EntityUid::from_str(&format!("{kind}::\"{}\"", cedar_string(id))).expect("valid entity id")
}

/// The resource entity Cedar policies read the ARN from.
pub fn cedar_resource(arn: &str) -> Entity {
    let attrs = HashMap::from([(
        "arn".to_owned(),
        RestrictedExpression::new_string(arn.to_owned()),
    )]);
    Entity::new(cedar_uid("Resource", arn), attrs, HashSet::new()).expect("valid entity")
}

pub fn parse_cedar(text: &str) -> cedar_policy::PolicySet {
    cedar_policy::PolicySet::from_str(text).expect("generated Cedar parses")
}

pub fn parse_iam(n: usize) -> moat_policy::Policy {
    parse(&iam_json(&policy(n)), PolicyKind::Identity).expect("generated policy parses")
}

/// One principal with a set of policies, compiled for both engines.
pub struct Principal {
    pub moat: RequestPrincipal,
    pub team: &'static str,
    /// The numbers of its policies (see [`policy`]).
    pub policies: Vec<usize>,
    pub set: PolicySet,
}

impl Principal {
    /// A user `name` in `team` with `policies` (numbers of [`policy`]) attached.
    pub fn new(name: &str, team: &'static str, policies: &[usize]) -> Self {
        let arn = user_arn(name);
        let parsed: Vec<(String, moat_policy::Policy)> = policies
            .iter()
            .map(|&n| (format!("arn:aws:iam::{ACCOUNT}:policy/p{n}"), parse_iam(n)))
            .collect();
        let set = PolicySet::new(parsed.iter().map(|(id, p)| (id.as_str(), p)));
        Principal {
            moat: RequestPrincipal::user(arn),
            team,
            policies: policies.to_vec(),
            set,
        }
    }

    /// The Cedar translation of its policies, scoped to it.
    pub fn cedar_text(&self, mode: CedarActions) -> String {
        self.policies
            .iter()
            .map(|&n| cedar_text(&policy(n), self.moat.arn(), mode))
            .collect()
    }
}

/// One request, ready for both engines.
pub struct Prepared {
    pub principal: RequestPrincipal,
    pub action: String,
    pub resource: String,
    pub keys: ContextKeys,
    pub cedar: CedarRequest,
    pub entities: Entities,
}

impl Prepared {
    pub fn new(
        principal: &RequestPrincipal,
        action: &str,
        resource: &str,
        keys: ContextKeys,
        mode: CedarActions,
    ) -> Self {
        let cedar = CedarRequest::new(
            cedar_uid("User", principal.arn()),
            cedar_uid("Action", action),
            cedar_uid("Resource", resource),
            cedar_context(&keys),
            None,
        )
        .expect("valid Cedar request");
        let mut entities = vec![
            Entity::new_no_attrs(cedar_uid("User", principal.arn()), HashSet::new()),
            cedar_resource(resource),
        ];
        if mode == CedarActions::Groups {
            let parents = groups_of(action)
                .iter()
                .map(|g| cedar_uid("Action", g))
                .collect();
            entities.push(Entity::new_no_attrs(cedar_uid("Action", action), parents));
        }
        let entities = Entities::from_entities(entities, None).expect("valid entities");
        Prepared {
            principal: principal.clone(),
            action: action.to_owned(),
            resource: resource.to_owned(),
            keys,
            cedar,
            entities,
        }
    }

    pub fn moat(&self, set: &PolicySet) -> bool {
        let request = Request::new(&self.principal, &self.action, &self.resource, &self.keys);
        evaluate(&Inputs::new(set), &request).is_allowed()
    }

    pub fn cedar(&self, authorizer: &Authorizer, set: &cedar_policy::PolicySet) -> bool {
        authorizer
            .is_authorized(&self.cedar, set, &self.entities)
            .decision()
            == cedar_policy::Decision::Allow
    }
}

/// The benchmark's request for `principal`: GetUser on a user of its team.
pub fn get_user(principal: &Principal, secure: bool, mode: CedarActions) -> Prepared {
    Prepared::new(
        &principal.moat,
        "iam:GetUser",
        &format!("arn:aws:iam::{ACCOUNT}:user/{}/bob", principal.team),
        request_keys(&principal.moat, principal.team, secure),
        mode,
    )
}

/// Resources probing every statement shape of policies `policies` for service `svc`.
pub fn probe_resources(svc: &Service, policies: &[usize]) -> Vec<String> {
    let base = arn_base(svc);
    let mut out = vec![
        "*".to_owned(),
        format!("{base}team0/bob"),
        format!("{base}team1/bob"),
        format!("{base}shared-logs"),
        format!("{base}prod-db"),
        format!("{base}team0/prod-1"),
    ];
    for &n in policies.iter().take(20) {
        if policy_service(n).prefix == svc.prefix {
            let team = policy_team(n);
            out.push(format!("{base}{team}/{n}-x"));
            out.push(format!("{base}{team}/app-{n}"));
            out.push(format!("{base}{team}/sandbox-{n}/y"));
        }
    }
    out
}

/// Counts of a comparison: decisions where the engines agreed, allows among them, and the
/// requests on which they disagreed.
#[derive(Debug, Default)]
pub struct Agreement {
    pub agreed: usize,
    pub allowed: usize,
    pub disagreed: Vec<String>,
}

/// Decides, with both engines, each of `actions` on each resource [`probe_resources`] gives,
/// in four contexts: the principal's own (TLS on), TLS off, another team's tag from another
/// network, and no optional keys at all.
pub fn check_agreement(principal: &Principal, actions: &[String], mode: CedarActions) -> Agreement {
    let cedar = parse_cedar(&principal.cedar_text(mode));
    let policies = &principal.policies;
    let authorizer = Authorizer::new();
    let mut contexts = vec![
        request_keys(&principal.moat, principal.team, true),
        request_keys(&principal.moat, principal.team, false),
    ];
    let mut other = request_keys(&principal.moat, "team1", true);
    other.insert("aws:SourceIp", "198.51.100.7");
    other.insert("aws:RequestedRegion", "ap-south-1");
    contexts.push(other);
    let mut bare = ContextKeys::new();
    bare.add_principal_keys(&principal.moat);
    contexts.push(bare);
    let mut result = Agreement::default();
    for action in actions {
        let svc = service(action.split(':').next().unwrap_or_default());
        for resource in probe_resources(svc, policies) {
            for keys in &contexts {
                let request = Prepared::new(&principal.moat, action, &resource, keys.clone(), mode);
                let moat = request.moat(&principal.set);
                let response = authorizer.is_authorized(&request.cedar, &cedar, &request.entities);
                let cedar_allowed = response.decision() == cedar_policy::Decision::Allow;
                // An erroring Cedar policy is skipped, which could hide a bad translation.
                let errors: Vec<String> = response
                    .diagnostics()
                    .errors()
                    .map(ToString::to_string)
                    .collect();
                if !errors.is_empty() {
                    result
                        .disagreed
                        .push(format!("{action} on {resource}: cedar errors {errors:?}"));
                } else if moat == cedar_allowed {
                    result.agreed += 1;
                    result.allowed += usize::from(moat);
                } else {
                    result.disagreed.push(format!(
                        "{action} on {resource} (TLS {:?}, team {:?}): moat {moat}, cedar {cedar_allowed}",
                        keys.get("aws:SecureTransport").and_then(ContextValue::single),
                        keys.get("aws:PrincipalTag/team").and_then(ContextValue::single),
                    ));
                }
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODES: [CedarActions; 2] = [CedarActions::Lists, CedarActions::Groups];

    #[test]
    fn action_patterns() {
        assert!(action_matches("iam:Get*", "iam:GetUser"));
        assert!(action_matches("iam:get*", "iam:GetUser"));
        assert!(action_matches("iam:*", "iam:GetUser"));
        assert!(action_matches("*", "iam:GetUser"));
        assert!(action_matches("iam:*User", "iam:GetUser"));
        assert!(!action_matches("iam:*User", "iam:GetUsers"));
        assert!(!action_matches("iam:Get*", "iam:ListUsers"));
        assert!(!action_matches("iam:GetUser", "iam:GetUserX"));
        assert_eq!(
            expand_actions(&["iam:Get*".to_owned()]).len(),
            7,
            "the seven catalogued iam:Get actions"
        );
        assert_eq!(groups_of("iam:GetUser"), ["iam:Get*", "iam:*"]);
    }

    #[test]
    fn every_statement_names_a_catalogued_action() {
        for n in 0..POLICY_SERVICES.len() * TEAMS.len() * 5 {
            for st in policy(n) {
                if let Actions::Patterns(p) = &st.actions {
                    assert!(!expand_actions(p).is_empty(), "policy {n}: {p:?}");
                }
            }
        }
    }

    /// Every catalogued action, on resources probing every statement, in four contexts.
    #[test]
    fn engines_agree_on_ten_policies() {
        let principal = Principal::new("alice", "team0", &(0..10).collect::<Vec<_>>());
        for mode in MODES {
            let result = check_agreement(&principal, &all_actions(), mode);
            println!("{}: {result:?}", mode.name());
            assert!(result.disagreed.is_empty(), "{:#?}", result.disagreed);
            assert!(result.allowed > 50, "allows too few to test: {result:?}");
            let denied = result.agreed - result.allowed;
            assert!(denied > 50, "denies too few to test: {result:?}");
        }
    }

    /// Principals of other teams, over other stretches of the account.
    #[test]
    fn engines_agree_on_other_principals() {
        for (start, team) in [(37usize, "team1"), (250, "team2"), (991, "team3")] {
            let policies: Vec<usize> = (start..start + 10).collect();
            let principal = Principal::new("carol", team, &policies);
            for mode in MODES {
                let result = check_agreement(&principal, &all_actions(), mode);
                assert!(result.disagreed.is_empty(), "{:#?}", result.disagreed);
                assert!(result.allowed > 0, "{result:?}");
            }
        }
    }

    #[test]
    fn get_user_allowed_and_denied_without_tls() {
        let principal = Principal::new("alice", "team0", &(0..10).collect::<Vec<_>>());
        let authorizer = Authorizer::new();
        for mode in MODES {
            let cedar = parse_cedar(&principal.cedar_text(mode));
            let allowed = get_user(&principal, true, mode);
            assert!(allowed.moat(&principal.set));
            assert!(allowed.cedar(&authorizer, &cedar));
            let denied = get_user(&principal, false, mode);
            assert!(!denied.moat(&principal.set));
            assert!(!denied.cedar(&authorizer, &cedar));
        }
    }

    /// `cargo test --release -- --nocapture cedar_shape` shows policy 0 in IAM and both Cedar
    /// translations.
    #[test]
    fn cedar_shape() {
        let alice = user_arn("alice");
        println!("{}", iam_json(&policy(0)));
        let lists = cedar_text(&policy(0), &alice, CedarActions::Lists);
        let groups = cedar_text(&policy(0), &alice, CedarActions::Groups);
        println!("{lists}\n{groups}");
        assert!(lists.contains("principal == User::\"arn:aws:iam::123456789012:user/alice\""));
        assert!(lists.contains("action in [Action::\"iam:GetUser\", Action::\"iam:GetRole\""));
        assert!(groups.contains("action in [Action::\"iam:Get*\", Action::\"iam:List*\""));
        assert!(lists.contains("resource.arn like \"arn:aws:iam::123456789012:user/team0/*\""));
        assert!(lists.contains("context[\"aws:SourceIp\"].isInRange(ip(\"203.0.113.0/24\"))"));
        assert_eq!(parse_cedar(&lists).policies().count(), 5);
        assert_eq!(parse_cedar(&groups).policies().count(), 5);
    }
}
