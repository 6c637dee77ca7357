//! Runs the decision corpus in `tests/corpus/*.json`: policies, a request, and the decision
//! AWS documents for it.
//!
//! Each file is `{"description": ..., "cases": [...]}`. A case names its `source` (the AWS
//! documentation page it comes from), its policies, its request and its expectation; a case
//! may list `variants`, each a set of fields that replace the case's own for one more check.
//!
//! Case fields:
//! - `principal`: `{"type": "user", "arn": ...}`, `{"type": "root", "account": ...}`,
//!   `{"type": "role-session", "arn": ..., "role": ...}`,
//!   `{"type": "federated-user", "arn": ..., "user": ...}`, `{"type": "service", "name": ...}`,
//!   `{"type": "federated", "provider": ...}` or `{"type": "anonymous"}`; default: user
//!   `arn:aws:iam::111122223333:user/alice`.
//! - `identity`, `boundary`, `session`: lists of policy documents; `scps`, `rcps`: lists of
//!   levels, each a list of documents; `resource_policy`: `{"kind": "resource" | "key" |
//!   "trust", "policies": [...]}`. Documents are JSON objects, or strings holding JSON.
//!   Policies are named `identity[0]`, `scp[1][0]`, `resource[0]` and so on.
//! - `management_account`, `resource_account`.
//! - `action`, `resource` (default `*`), `context` (a string, number or boolean is one value;
//!   an array is a multivalued key); `principal_keys: false` leaves out the principal's global
//!   keys, which are otherwise added.
//! - `expect`: `Allow`, `ExplicitDeny` or `ImplicitDeny`; optionally `decided_by` (`identity`,
//!   `resource`, `role-trust`, `boundary`, `session`, `scp`, `rcp`, or null), `reason` (the
//!   message tail), `matched` (`["identity[0]#1", ...]`) and `missing` (context keys).

use std::collections::BTreeSet;
use std::fs;
use std::path::Path;

use moat_policy::{
    evaluate, parse, ContextKeys, ContextValue, Decision, Inputs, Outcome, Policy, PolicyKind,
    PolicySet, PolicyType, Request, RequestPrincipal, ResourcePolicyKind,
};
use serde_json::{Map, Value};

#[test]
fn corpus() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<_> = fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty());

    let mut failures = Vec::new();
    let mut checks = 0;
    let mut coverage = Coverage::default();
    for file in &files {
        let text = fs::read_to_string(file).expect("readable");
        let doc: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", file.display()));
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        assert!(
            doc.get("description").and_then(Value::as_str).is_some(),
            "{name}: description"
        );
        let cases = doc["cases"].as_array().expect("cases");
        for (i, case) in cases.iter().enumerate() {
            let case = case.as_object().expect("case object");
            let label = format!(
                "{name} #{i} {}",
                case.get("name").and_then(Value::as_str).unwrap_or("")
            );
            let source = case.get("source").and_then(Value::as_str).unwrap_or("");
            assert!(
                source.starts_with("https://docs.aws.amazon.com/"),
                "{label}: every case cites its AWS documentation page"
            );
            let mut variants = vec![case.clone()];
            if let Some(vs) = case.get("variants").and_then(Value::as_array) {
                for v in vs {
                    let mut merged = case.clone();
                    for (k, val) in v.as_object().expect("variant object") {
                        merged.insert(k.clone(), val.clone());
                    }
                    variants.push(merged);
                }
                // The case's own fields serve as the first check only when it has an
                // expectation of its own.
                if !case.contains_key("expect") {
                    variants.remove(0);
                }
            }
            for (j, check) in variants.iter().enumerate() {
                checks += 1;
                if let Err(e) = run(check, &mut coverage) {
                    failures.push(format!("{label} (check {j}): {e}"));
                }
            }
        }
    }
    eprintln!("corpus: {} files, {checks} checks", files.len());
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    coverage.assert_complete();
}

fn run(case: &Map<String, Value>, coverage: &mut Coverage) -> Result<(), String> {
    let policies = Policies::read(case, coverage)?;
    let principal = principal(case.get("principal"))?;
    let mut keys = ContextKeys::new();
    if let Some(ctx) = case.get("context") {
        for (k, v) in ctx.as_object().ok_or("context must be an object")? {
            keys.insert(k.as_str(), context_value(v)?);
        }
    }
    if case.get("principal_keys") != Some(&Value::Bool(false)) {
        keys.add_principal_keys(&principal);
    }
    let action = str_field(case, "action")?.ok_or("action missing")?;
    let resource = str_field(case, "resource")?.unwrap_or("*");
    let request = Request::new(&principal, action, resource, &keys);

    let mut inputs = Inputs::new(&policies.identity);
    if let Some(b) = &policies.boundary {
        inputs = inputs.with_boundary(b);
    }
    if let Some(s) = &policies.session {
        inputs = inputs.with_session(s);
    }
    let management = case.get("management_account") == Some(&Value::Bool(true));
    inputs = inputs
        .with_scps(&policies.scps, management)
        .with_rcps(&policies.rcps);
    if let Some((set, kind)) = &policies.resource {
        inputs = inputs.with_resource_policy(set, *kind);
    }
    if let Some(account) = str_field(case, "resource_account")? {
        inputs = inputs.with_resource_account(account);
    }
    let decision = evaluate(&inputs, &request);
    check(case, &decision, action).map_err(|e| format!("{e}\n    got {decision:?}"))
}

fn check(case: &Map<String, Value>, d: &Decision<'_>, action: &str) -> Result<(), String> {
    let want = str_field(case, "expect")?.ok_or("expect missing")?;
    let got = match d.outcome {
        Outcome::Allow => "Allow",
        Outcome::ExplicitDeny => "ExplicitDeny",
        Outcome::ImplicitDeny => "ImplicitDeny",
    };
    if want != got {
        return Err(format!("expected {want}, got {got}"));
    }
    if let Some(by) = case.get("decided_by") {
        let got = d.decided_by.map(type_name);
        if by.as_str() != got {
            return Err(format!("expected decided_by {by}, got {got:?}"));
        }
    }
    if let Some(reason) = case.get("reason") {
        let got = d.reason(action);
        if reason.as_str() != got.as_deref() {
            return Err(format!("expected reason {reason}, got {got:?}"));
        }
    }
    if let Some(matched) = case.get("matched") {
        let want: Vec<&str> = matched
            .as_array()
            .ok_or("matched must be a list")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        let got: Vec<String> = d
            .matched
            .iter()
            .map(|m| format!("{}#{}", m.policy_id, m.statement_index))
            .collect();
        if want != got {
            return Err(format!("expected matched {want:?}, got {got:?}"));
        }
    }
    if let Some(missing) = case.get("missing") {
        let want: Vec<&str> = missing
            .as_array()
            .ok_or("missing must be a list")?
            .iter()
            .filter_map(Value::as_str)
            .collect();
        if want != d.missing_context_keys {
            return Err(format!(
                "expected missing {want:?}, got {:?}",
                d.missing_context_keys
            ));
        }
    }
    Ok(())
}

fn type_name(t: PolicyType) -> &'static str {
    match t {
        PolicyType::Identity => "identity",
        PolicyType::Resource => "resource",
        PolicyType::RoleTrust => "role-trust",
        PolicyType::PermissionsBoundary => "boundary",
        PolicyType::Session => "session",
        PolicyType::ServiceControl => "scp",
        PolicyType::ResourceControl => "rcp",
    }
}

struct Policies {
    identity: PolicySet,
    boundary: Option<PolicySet>,
    session: Option<PolicySet>,
    scps: Vec<PolicySet>,
    rcps: Vec<PolicySet>,
    resource: Option<(PolicySet, ResourcePolicyKind)>,
}

impl Policies {
    fn read(case: &Map<String, Value>, coverage: &mut Coverage) -> Result<Self, String> {
        let mut list = |field: &str, kind: PolicyKind, name: &str, docs: Option<&Value>| {
            let docs = match docs {
                None => return Ok(None),
                Some(d) => d.as_array().ok_or(format!("{field} must be a list"))?,
            };
            let parsed = docs
                .iter()
                .map(|d| document(d, kind))
                .collect::<Result<Vec<_>, _>>()?;
            for p in &parsed {
                coverage.record(p);
            }
            Ok::<_, String>(Some(PolicySet::new(
                parsed
                    .iter()
                    .enumerate()
                    .map(|(i, p)| (format!("{name}[{i}]"), p)),
            )))
        };
        let identity = list(
            "identity",
            PolicyKind::Identity,
            "identity",
            case.get("identity"),
        )?
        .unwrap_or_default();
        let boundary = list(
            "boundary",
            PolicyKind::Identity,
            "boundary",
            case.get("boundary"),
        )?;
        let session = list(
            "session",
            PolicyKind::Session,
            "session",
            case.get("session"),
        )?;
        let mut levels = |field: &str, kind: PolicyKind, name: &str| {
            let Some(levels) = case.get(field) else {
                return Ok::<_, String>(Vec::new());
            };
            levels
                .as_array()
                .ok_or(format!("{field} must be a list of levels"))?
                .iter()
                .enumerate()
                .map(|(l, docs)| {
                    Ok(list(field, kind, &format!("{name}[{l}]"), Some(docs))?.unwrap_or_default())
                })
                .collect()
        };
        let scps = levels("scps", PolicyKind::ServiceControl, "scp")?;
        let rcps = levels("rcps", PolicyKind::Resource, "rcp")?;
        let resource = match case.get("resource_policy") {
            None => None,
            Some(rp) => {
                let kind = match rp.get("kind").and_then(Value::as_str).unwrap_or("resource") {
                    "resource" => ResourcePolicyKind::Resource,
                    "key" => ResourcePolicyKind::KeyPolicy,
                    "trust" => ResourcePolicyKind::RoleTrust,
                    other => return Err(format!("unknown resource policy kind {other}")),
                };
                let parse_kind = if kind == ResourcePolicyKind::RoleTrust {
                    PolicyKind::Trust
                } else {
                    PolicyKind::Resource
                };
                let set = list(
                    "resource_policy",
                    parse_kind,
                    "resource",
                    rp.get("policies"),
                )?
                .ok_or("resource_policy.policies missing")?;
                Some((set, kind))
            }
        };
        Ok(Policies {
            identity,
            boundary,
            session,
            scps,
            rcps,
            resource,
        })
    }
}

fn document(doc: &Value, kind: PolicyKind) -> Result<Policy, String> {
    let text = match doc {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    parse(&text, kind).map_err(|e| format!("policy does not parse as {kind:?}: {e}\n    {text}"))
}

fn principal(v: Option<&Value>) -> Result<RequestPrincipal, String> {
    let Some(v) = v else {
        return Ok(RequestPrincipal::user(
            "arn:aws:iam::111122223333:user/alice",
        ));
    };
    let field = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .ok_or(format!("principal.{k} missing"))
    };
    Ok(match field("type")? {
        "user" => RequestPrincipal::user(field("arn")?),
        "root" => RequestPrincipal::root(field("account")?),
        "role-session" => RequestPrincipal::role_session(field("arn")?, field("role")?),
        "federated-user" => RequestPrincipal::federated_user(field("arn")?, field("user")?),
        "service" => RequestPrincipal::service(field("name")?),
        "federated" => RequestPrincipal::federated(field("provider")?),
        "anonymous" => RequestPrincipal::anonymous(),
        other => return Err(format!("unknown principal type {other}")),
    })
}

fn context_value(v: &Value) -> Result<ContextValue, String> {
    let scalar = |v: &Value| match v {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(format!("bad context value {other}")),
    };
    match v {
        Value::Array(items) => Ok(ContextValue::Multi(
            items.iter().map(scalar).collect::<Result<_, _>>()?,
        )),
        other => Ok(ContextValue::Single(scalar(other)?)),
    }
}

fn str_field<'c>(case: &'c Map<String, Value>, key: &str) -> Result<Option<&'c str>, String> {
    match case.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(other) => Err(format!("{key} must be a string, not {other}")),
    }
}

/// What the corpus exercises, so that a missing operator or element fails the run.
#[derive(Default)]
struct Coverage {
    seen: BTreeSet<String>,
}

impl Coverage {
    fn record(&mut self, policy: &Policy) {
        use moat_policy::{ActionBlock, PrincipalBlock, ResourceBlock};
        for st in &policy.statements {
            if matches!(st.action, ActionBlock::NotAction(_)) {
                self.seen.insert("NotAction".into());
            }
            if matches!(st.resource, Some(ResourceBlock::NotResource(_))) {
                self.seen.insert("NotResource".into());
            }
            if matches!(st.principal, Some(PrincipalBlock::NotPrincipal(_))) {
                self.seen.insert("NotPrincipal".into());
            }
            for c in &st.conditions {
                self.seen.insert(c.operator.name().to_owned());
                if c.if_exists {
                    self.seen.insert("IfExists".into());
                }
                if let Some(q) = c.set {
                    self.seen.insert(format!("{q:?}"));
                }
            }
        }
    }

    fn assert_complete(&self) {
        let mut want: Vec<String> = [
            "StringEquals",
            "StringNotEquals",
            "StringEqualsIgnoreCase",
            "StringNotEqualsIgnoreCase",
            "StringLike",
            "StringNotLike",
            "NumericEquals",
            "NumericNotEquals",
            "NumericLessThan",
            "NumericLessThanEquals",
            "NumericGreaterThan",
            "NumericGreaterThanEquals",
            "DateEquals",
            "DateNotEquals",
            "DateLessThan",
            "DateLessThanEquals",
            "DateGreaterThan",
            "DateGreaterThanEquals",
            "Bool",
            "BinaryEquals",
            "IpAddress",
            "NotIpAddress",
            "ArnEquals",
            "ArnLike",
            "ArnNotEquals",
            "ArnNotLike",
            "Null",
            "IfExists",
            "ForAllValues",
            "ForAnyValue",
            "NotAction",
            "NotResource",
            "NotPrincipal",
        ]
        .map(str::to_owned)
        .to_vec();
        want.retain(|w| !self.seen.contains(w));
        assert!(want.is_empty(), "the corpus never uses {want:?}");
    }
}
