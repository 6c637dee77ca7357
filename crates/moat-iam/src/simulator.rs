//! The IAM policy simulator: SimulatePrincipalPolicy, SimulateCustomPolicy and the
//! GetContextKeysFor* operations, on the engine and the policy loading that decide real
//! requests.
//!
//! The simulator weighs only the context keys the caller supplies (`ContextEntries`); keys a
//! matching statement needs but was not given are reported in `MissingContextValues`, as
//! AWS's simulator does.

use std::sync::Arc;

use moat_policy::{
    evaluate, statement_positions, ContextKeys, Decision, Effect, Inputs, MatchedStatement,
    Outcome, Policy, PolicyKind, PolicySet, Request, RequestPrincipal, ResourcePolicyKind,
};
use moat_store::Reader;
use moat_types::AccountId;

use crate::authorization::{entity_policies, EntityPolicies, EntityRef, LoadedPolicy};
use crate::common::{paginate_vec, Call};
use crate::records::EntityKind;
use crate::{
    ContextEntry, EvaluationResult, GetContextKeysForCustomPolicyRequest,
    GetContextKeysForPolicyResponse, GetContextKeysForPrincipalPolicyRequest, IamError,
    PermissionsBoundaryDecisionDetail, Position, ResourceSpecificResult,
    SimulateCustomPolicyRequest, SimulatePolicyResponse, SimulatePrincipalPolicyRequest, Statement,
};

/// A policy taking part in a simulation, as `MatchedStatements` names it.
struct Source {
    id: String,
    /// `SourcePolicyType`: user, group, role, aws-managed, user-managed, resource or none.
    source_type: &'static str,
    document: Arc<str>,
    policy: Arc<Policy>,
}

impl Source {
    fn from_loaded(p: &LoadedPolicy) -> Source {
        Source {
            id: p.name.clone(),
            source_type: p.source_type.simulator_name(),
            document: p.document.clone(),
            policy: p.policy.clone(),
        }
    }
}

/// Parses the documents of a `...PolicyInputList` parameter, named `List.1`, `List.2`...
fn input_list(
    documents: &[String],
    list_name: &str,
    kind: PolicyKind,
) -> Result<Vec<Source>, IamError> {
    documents
        .iter()
        .enumerate()
        .map(|(i, document)| {
            let policy = moat_policy::parse(document, kind)
                .map_err(|e| IamError::InvalidInput(format!("{e}")))?;
            Ok(Source {
                id: format!("{list_name}.{}", i + 1),
                source_type: "none",
                document: Arc::from(document.as_str()),
                policy: Arc::new(policy),
            })
        })
        .collect()
}

/// The user, group or role an ARN names in the caller's account.
fn entity_of(arn: &str) -> Result<(AccountId, EntityRef<'_>), IamError> {
    let invalid = || IamError::InvalidInput(format!("Invalid ARN: {arn}"));
    let rest = arn.strip_prefix("arn:aws:iam::").ok_or_else(invalid)?;
    let (account, resource) = rest.split_once(':').ok_or_else(invalid)?;
    let account: AccountId = account.parse().map_err(|_| invalid())?;
    let (kind, path_and_name) = resource.split_once('/').ok_or_else(invalid)?;
    let name = path_and_name
        .rsplit('/')
        .next()
        .filter(|n| !n.is_empty())
        .ok_or_else(invalid)?;
    let entity = match kind {
        "user" => EntityRef::User(name),
        "group" => EntityRef::Group(name),
        "role" => EntityRef::Role(name),
        _ => return Err(invalid()),
    };
    Ok((account, entity))
}

fn load_entity(
    tx: &impl Reader,
    c: &Call<'_>,
    arn: &str,
) -> Result<(EntityKind, EntityPolicies), IamError> {
    let (account, entity) = entity_of(arn)?;
    let missing = || match entity {
        EntityRef::User(n) => IamError::no_such_user(n),
        EntityRef::Group(n) => IamError::no_such_group(n),
        EntityRef::Role(n) => IamError::no_such_role(n),
    };
    if account != c.account {
        return Err(missing());
    }
    let loaded = entity_policies(tx, account, entity)?.ok_or_else(missing)?;
    let kind = match entity {
        EntityRef::User(_) => EntityKind::User,
        EntityRef::Group(_) => EntityKind::Group,
        EntityRef::Role(_) => EntityKind::Role,
    };
    Ok((kind, loaded))
}

/// Everything one simulation weighs.
struct Simulation {
    principal: RequestPrincipal,
    identity: Vec<Source>,
    boundary: Vec<Source>,
    resource_policy: Option<Source>,
    resource_owner: Option<String>,
    keys: ContextKeys,
}

/// The parameters both Simulate operations share.
struct Common<'a> {
    action_names: &'a [String],
    resource_arns: Option<&'a [String]>,
    resource_policy: Option<&'a String>,
    resource_owner: Option<&'a String>,
    caller_arn: Option<&'a String>,
    context_entries: Option<&'a [ContextEntry]>,
    boundary_inputs: Option<&'a [String]>,
    max_items: Option<i32>,
    marker: Option<&'a String>,
}

pub fn simulate_principal_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: SimulatePrincipalPolicyRequest,
) -> Result<SimulatePolicyResponse, IamError> {
    let (kind, loaded) = load_entity(tx, c, &i.policy_source_arn)?;
    let mut identity: Vec<Source> = loaded.identity.iter().map(Source::from_loaded).collect();
    identity.extend(input_list(
        i.policy_input_list.as_deref().unwrap_or_default(),
        "PolicyInputList",
        PolicyKind::Identity,
    )?);
    let entity_boundary: Vec<Source> = loaded.boundary.iter().map(Source::from_loaded).collect();
    let principal = match (kind, &i.caller_arn) {
        (_, Some(caller)) => RequestPrincipal::user(caller.clone()),
        (EntityKind::User, None) => RequestPrincipal::user(loaded.arn.clone()),
        (EntityKind::Role, None) => {
            RequestPrincipal::role_session(session_arn(&loaded.arn), loaded.arn.clone())
        }
        (EntityKind::Group, None) => simulated_user(c),
    };
    simulate(
        principal,
        identity,
        entity_boundary,
        Common {
            action_names: &i.action_names,
            resource_arns: i.resource_arns.as_deref(),
            resource_policy: i.resource_policy.as_ref(),
            resource_owner: i.resource_owner.as_ref(),
            caller_arn: i.caller_arn.as_ref(),
            context_entries: i.context_entries.as_deref(),
            boundary_inputs: i.permissions_boundary_policy_input_list.as_deref(),
            max_items: i.max_items,
            marker: i.marker.as_ref(),
        },
    )
}

pub fn simulate_custom_policy(
    _tx: &impl Reader,
    c: &Call<'_>,
    i: SimulateCustomPolicyRequest,
) -> Result<SimulatePolicyResponse, IamError> {
    let identity = input_list(
        &i.policy_input_list,
        "PolicyInputList",
        PolicyKind::Identity,
    )?;
    let principal = match &i.caller_arn {
        Some(caller) => RequestPrincipal::user(caller.clone()),
        None => simulated_user(c),
    };
    simulate(
        principal,
        identity,
        Vec::new(),
        Common {
            action_names: &i.action_names,
            resource_arns: i.resource_arns.as_deref(),
            resource_policy: i.resource_policy.as_ref(),
            resource_owner: i.resource_owner.as_ref(),
            caller_arn: i.caller_arn.as_ref(),
            context_entries: i.context_entries.as_deref(),
            boundary_inputs: i.permissions_boundary_policy_input_list.as_deref(),
            max_items: i.max_items,
            marker: i.marker.as_ref(),
        },
    )
}

/// The caller a simulation assumes when none is named: an IAM user of the account, so that
/// identity-based policies and boundaries apply as they would to one.
fn simulated_user(c: &Call<'_>) -> RequestPrincipal {
    RequestPrincipal::user(format!("arn:aws:iam::{}:user/SimulatedUser", c.account))
}

fn session_arn(role_arn: &str) -> String {
    let name = role_arn.rsplit('/').next().unwrap_or_default();
    let account = role_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split(':').next())
        .unwrap_or_default();
    format!("arn:aws:sts::{account}:assumed-role/{name}/SimulatedSession")
}

fn simulate(
    principal: RequestPrincipal,
    identity: Vec<Source>,
    entity_boundary: Vec<Source>,
    p: Common<'_>,
) -> Result<SimulatePolicyResponse, IamError> {
    // Boundaries given as input replace the entity's own, as the simulator documents.
    let boundary = match p.boundary_inputs {
        Some(list) if !list.is_empty() => input_list(
            list,
            "PermissionsBoundaryPolicyInputList",
            PolicyKind::Identity,
        )?,
        _ => entity_boundary,
    };
    let resource_policy = match p.resource_policy {
        Some(document) => {
            if p.caller_arn.is_none() {
                return Err(IamError::InvalidInput(
                    "CallerArn must be specified when a ResourcePolicy is provided.".to_owned(),
                ));
            }
            let policy = moat_policy::parse(document, PolicyKind::Resource)
                .map_err(|e| IamError::InvalidInput(format!("{e}")))?;
            Some(Source {
                id: "ResourcePolicy".to_owned(),
                source_type: "resource",
                document: Arc::from(document.as_str()),
                policy: Arc::new(policy),
            })
        }
        None => None,
    };
    let resource_owner = p
        .resource_owner
        .map(|owner| {
            owner
                .strip_prefix("arn:aws:iam::")
                .and_then(|r| r.split(':').next())
                .unwrap_or(owner)
                .to_owned()
        })
        .filter(|owner| owner.parse::<AccountId>().is_ok());
    if p.resource_owner.is_some() && resource_owner.is_none() {
        return Err(IamError::InvalidInput(format!(
            "Invalid ResourceOwner: {}",
            p.resource_owner.map(String::as_str).unwrap_or_default()
        )));
    }
    let sim = Simulation {
        principal,
        identity,
        boundary,
        resource_policy,
        resource_owner,
        keys: context_keys(p.context_entries.unwrap_or_default())?,
    };

    let identity_set = compiled(&sim.identity, 0);
    let boundary_set = compiled(&sim.boundary, sim.identity.len());
    let resource_set = sim.resource_policy.as_ref().map(|r| {
        compiled(
            std::slice::from_ref(r),
            sim.identity.len() + sim.boundary.len(),
        )
    });
    let mut inputs = Inputs::new(&identity_set);
    if !sim.boundary.is_empty() {
        inputs = inputs.with_boundary(&boundary_set);
    }
    if let Some(set) = &resource_set {
        inputs = inputs.with_resource_policy(set, ResourcePolicyKind::Resource);
    }
    if let Some(owner) = &sim.resource_owner {
        inputs = inputs.with_resource_account(owner);
    }

    let all_sources: Vec<&Source> = sim
        .identity
        .iter()
        .chain(&sim.boundary)
        .chain(sim.resource_policy.as_ref())
        .collect();
    let resources: Vec<&str> = match p.resource_arns {
        Some(list) if !list.is_empty() => list.iter().map(String::as_str).collect(),
        _ => vec!["*"],
    };
    let explicit_resources = p.resource_arns.is_some_and(|l| !l.is_empty());
    if let Some(action) = p.action_names.iter().find(|a| a.contains(['*', '?'])) {
        return Err(IamError::InvalidInput(format!(
            "Action names may not contain wildcards: {action}"
        )));
    }
    let has_boundary = !sim.boundary.is_empty();
    let mut results = Vec::with_capacity(p.action_names.len() * resources.len());
    for action in p.action_names {
        for resource in &resources {
            let request = Request::new(&sim.principal, action, resource, &sim.keys);
            let decision = evaluate(&inputs, &request);
            let statements = matched(&decision, &all_sources);
            let missing = missing(&decision);
            let boundary_detail = has_boundary.then(|| PermissionsBoundaryDecisionDetail {
                allowed_by_permissions_boundary: Some(decision.types.boundary.unwrap_or(false)),
            });
            let decision_name = decision.outcome.simulator_name().to_owned();
            let specific = explicit_resources.then(|| {
                vec![ResourceSpecificResult {
                    eval_resource_name: (*resource).to_owned(),
                    eval_resource_decision: decision_name.clone(),
                    matched_statements: Some(statements.clone()),
                    missing_context_values: Some(missing.clone()),
                    eval_decision_details: None,
                    permissions_boundary_decision_detail: boundary_detail.clone(),
                }]
            });
            results.push(EvaluationResult {
                eval_action_name: action.clone(),
                eval_resource_name: Some((*resource).to_owned()),
                eval_decision: decision_name,
                matched_statements: Some(statements),
                // With resources named, missing keys are reported per resource instead.
                missing_context_values: Some(if explicit_resources {
                    Vec::new()
                } else {
                    missing
                }),
                eval_decision_details: None,
                organizations_decision_detail: None,
                permissions_boundary_decision_detail: boundary_detail,
                resource_specific_results: specific,
            });
        }
    }
    let (page, is_truncated, marker) =
        paginate_vec(results, p.marker.map(String::as_str), p.max_items)?;
    Ok(SimulatePolicyResponse {
        evaluation_results: Some(page),
        is_truncated: Some(is_truncated),
        marker,
    })
}

/// A set whose policy ids are positions in the simulation's list of sources, counted from
/// `offset`, so that matched statements lead back to their source.
fn compiled(sources: &[Source], offset: usize) -> PolicySet {
    PolicySet::new(
        sources
            .iter()
            .enumerate()
            .map(|(i, s)| ((offset + i).to_string(), s.policy.as_ref())),
    )
}

/// The statements that decided: for an explicit deny only the denying ones, as IAM's
/// simulator reports them; otherwise every statement that applied.
fn matched(decision: &Decision<'_>, sources: &[&Source]) -> Vec<Statement> {
    let denied = decision.outcome == Outcome::ExplicitDeny;
    decision
        .matched
        .iter()
        .filter(|m| !denied || m.effect == Effect::Deny)
        .filter_map(|m: &MatchedStatement<'_>| {
            let source = m
                .policy_id
                .parse::<usize>()
                .ok()
                .and_then(|i| sources.get(i))?;
            let span = statement_positions(&source.document)
                .get(m.statement_index)
                .copied();
            // IAM's simulator counts a statement's columns from just past each brace.
            let position = |p: moat_policy::Position| Position {
                line: i32::try_from(p.line).ok(),
                column: i32::try_from(p.column.saturating_add(1)).ok(),
            };
            Some(Statement {
                source_policy_id: Some(source.id.clone()),
                source_policy_type: Some(source.source_type.to_owned()),
                start_position: span.map(|(s, _)| position(s)),
                end_position: span.map(|(_, e)| position(e)),
            })
        })
        .collect()
}

fn missing(decision: &Decision<'_>) -> Vec<String> {
    decision
        .missing_context_keys
        .iter()
        .map(|k| (*k).to_owned())
        .collect()
}

/// The simulation's request context, from `ContextEntries`. Values are kept as given; each
/// condition operator reads them as its own type, as in a real request.
fn context_keys(entries: &[ContextEntry]) -> Result<ContextKeys, IamError> {
    let mut keys = ContextKeys::new();
    for entry in entries {
        let Some(name) = entry.context_key_name.as_deref() else {
            continue;
        };
        let values = entry.context_key_values.clone().unwrap_or_default();
        let is_boolean = matches!(
            entry.context_key_type.as_deref(),
            Some("boolean" | "booleanList")
        );
        if is_boolean
            && values
                .iter()
                .any(|v| !v.eq_ignore_ascii_case("true") && !v.eq_ignore_ascii_case("false"))
        {
            return Err(IamError::InvalidInput(format!(
                "Invalid value for context key {name}: expected a boolean"
            )));
        }
        keys.insert(name, values);
    }
    Ok(keys)
}

pub fn get_context_keys_for_custom_policy(
    _tx: &impl Reader,
    _c: &Call<'_>,
    i: GetContextKeysForCustomPolicyRequest,
) -> Result<GetContextKeysForPolicyResponse, IamError> {
    let sources = input_list(
        &i.policy_input_list,
        "PolicyInputList",
        PolicyKind::Identity,
    )?;
    Ok(context_key_names(&sources))
}

pub fn get_context_keys_for_principal_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetContextKeysForPrincipalPolicyRequest,
) -> Result<GetContextKeysForPolicyResponse, IamError> {
    let (_, loaded) = load_entity(tx, c, &i.policy_source_arn)?;
    let mut sources: Vec<Source> = loaded.identity.iter().map(Source::from_loaded).collect();
    sources.extend(input_list(
        i.policy_input_list.as_deref().unwrap_or_default(),
        "PolicyInputList",
        PolicyKind::Identity,
    )?);
    Ok(context_key_names(&sources))
}

fn context_key_names(sources: &[Source]) -> GetContextKeysForPolicyResponse {
    let names = moat_policy::context_keys(sources.iter().map(|s| s.policy.as_ref()))
        .into_iter()
        .map(str::to_owned)
        .collect();
    GetContextKeysForPolicyResponse {
        context_key_names: Some(names),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::testing::Env;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":[
        {"Effect":"Allow","Action":"s3:GetObject","Resource":"*",
         "Condition":{"StringEquals":{"aws:PrincipalTag/team":"blue"}}},
        {"Effect":"Deny","Action":"s3:DeleteObject","Resource":"*"}]}"#;

    #[test]
    fn custom_policies_are_decided_with_the_given_context() {
        let env = Env::new();
        let out = env.ok(
            "SimulateCustomPolicy",
            json!({"PolicyInputList": [DOC], "ActionNames": ["s3:GetObject", "s3:DeleteObject", "s3:PutObject"]}),
        );
        let results = out["EvaluationResults"].as_array().unwrap();
        let decisions: Vec<&str> = results
            .iter()
            .map(|r| r["EvalDecision"].as_str().unwrap())
            .collect();
        assert_eq!(decisions, ["implicitDeny", "explicitDeny", "implicitDeny"]);
        assert_eq!(
            results[0]["MissingContextValues"],
            json!(["aws:PrincipalTag/team"])
        );
        let deny = &results[1]["MatchedStatements"][0];
        assert_eq!(deny["SourcePolicyId"], "PolicyInputList.1");
        assert_eq!(deny["StartPosition"], json!({"Line": 4, "Column": 10}));

        let out = env.ok(
            "SimulateCustomPolicy",
            json!({"PolicyInputList": [DOC], "ActionNames": ["s3:GetObject"],
                "ContextEntries": [{"ContextKeyName": "aws:PrincipalTag/team",
                    "ContextKeyValues": ["blue"], "ContextKeyType": "string"}]}),
        );
        assert_eq!(out["EvaluationResults"][0]["EvalDecision"], "allowed");
    }

    #[test]
    fn a_boundary_input_caps_the_identity_policies() {
        let env = Env::new();
        let admin = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#;
        let s3_only = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        let out = env.ok(
            "SimulateCustomPolicy",
            json!({"PolicyInputList": [admin], "PermissionsBoundaryPolicyInputList": [s3_only],
                "ActionNames": ["s3:GetObject", "iam:CreateUser"]}),
        );
        let r = &out["EvaluationResults"];
        assert_eq!(r[0]["EvalDecision"], "allowed");
        assert_eq!(r[1]["EvalDecision"], "implicitDeny");
        assert_eq!(
            r[1]["PermissionsBoundaryDecisionDetail"]["AllowedByPermissionsBoundary"],
            false
        );
    }

    #[test]
    fn principal_simulation_uses_the_entity_and_its_groups() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "u"}));
        env.ok("CreateGroup", json!({"GroupName": "g"}));
        env.ok("AddUserToGroup", json!({"GroupName": "g", "UserName": "u"}));
        env.ok(
            "AttachGroupPolicy",
            json!({"GroupName": "g",
            "PolicyArn": "arn:aws:iam::aws:policy/IAMReadOnlyAccess"}),
        );
        let out = env.ok(
            "SimulatePrincipalPolicy",
            json!({"PolicySourceArn": "arn:aws:iam::123456789012:user/u",
                "ActionNames": ["iam:GetUser", "iam:CreateUser"], "MaxItems": 1}),
        );
        assert_eq!(out["EvaluationResults"][0]["EvalDecision"], "allowed");
        assert_eq!(
            out["EvaluationResults"][0]["MatchedStatements"][0]["SourcePolicyType"],
            "aws-managed"
        );
        assert_eq!(out["IsTruncated"], true);
        let marker = out["Marker"].as_str().unwrap();
        let next = env.ok(
            "SimulatePrincipalPolicy",
            json!({"PolicySourceArn": "arn:aws:iam::123456789012:user/u",
                "ActionNames": ["iam:GetUser", "iam:CreateUser"], "Marker": marker}),
        );
        assert_eq!(next["EvaluationResults"][0]["EvalDecision"], "implicitDeny");
        assert_eq!(next["IsTruncated"], false);

        let (code, _) = env.err("SimulatePrincipalPolicy",
            json!({"PolicySourceArn": "arn:aws:iam::123456789012:user/ghost", "ActionNames": ["iam:GetUser"]}));
        assert_eq!(code, "NoSuchEntity");
        let (code, _) = env.err(
            "SimulatePrincipalPolicy",
            json!({"PolicySourceArn": "not-an-arn", "ActionNames": ["iam:GetUser"]}),
        );
        assert_eq!(code, "InvalidInput");
        let keys = env.ok("GetContextKeysForPrincipalPolicy",
            json!({"PolicySourceArn": "arn:aws:iam::123456789012:group/g", "PolicyInputList": [DOC]}));
        assert_eq!(keys["ContextKeyNames"], json!(["aws:PrincipalTag/team"]));
    }
}
