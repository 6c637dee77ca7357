//! From JSON text to a validated [`Policy`].
//!
//! IAM validates in phases and reports the first failure of the earliest phase, so which
//! message a bad document gets depends on that order, not on where the problem sits in the
//! text. The phases, as observed through moto's AWS-derived test suite and reported errors:
//!
//! 1. JSON and document shape ("Syntax errors in policy.").
//! 2. Policy-type rules: version for identity policies, prohibited elements.
//! 3. The legacy parser: exact `Effect` case, `Date...` values, misplaced `::` in resources.
//!    Resource format errors are found here but reported only after steps 4-5.
//! 4. `Sid` rules, then that every statement has actions.
//! 5. The deferred resource format error, then action syntax, then missing resources.
//! 6. Principals and trust policy actions.
//!
//! Parsing first reads the JSON into borrowed "raw" statements, checking only shape, so that
//! the later phases can run over all statements in IAM's order before anything is compiled.

use serde_json::{Map, Value};

use crate::action::{check_action, is_trust_policy_action, ActionPattern};
use crate::ast::{ActionBlock, Effect, Policy, PolicyVersion, ResourceBlock, Statement};
use crate::condition::{
    parse_operator_key, passes_legacy_date_parse, Condition, ConditionValue, OperatorKey,
};
use crate::error::PolicyError;
use crate::principal::{check_principals, is_empty, parse_principals, PrincipalBlock, Principals};
use crate::resource::{check_format, passes_legacy_parse, ResourcePattern};
use crate::template::Template;
use crate::PolicyKind;

pub(crate) fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(document).map_err(|_| PolicyError::Syntax)?;
    let raw = RawPolicy::read(&value)?;
    raw.validate(kind)?;
    raw.build()
}

struct RawPolicy<'a> {
    version: Option<PolicyVersion>,
    id: Option<&'a str>,
    statements: Vec<RawStatement<'a>>,
}

struct RawStatement<'a> {
    sid: Option<&'a str>,
    effect: &'a str,
    principal: Option<Negatable<Principals>>,
    action: Option<Negatable<Vec<&'a str>>>,
    resource: Option<Negatable<RawResources<'a>>>,
    conditions: Vec<RawCondition<'a>>,
}

struct Negatable<T> {
    negated: bool,
    value: T,
}

struct RawResources<'a> {
    /// Non-null entries.
    values: Vec<&'a str>,
    /// Entries as written, nulls included: IAM accepts `[null]` as a non-empty list.
    written: usize,
}

struct RawCondition<'a> {
    operator: OperatorKey,
    key: &'a str,
    values: Vec<RawValue<'a>>,
}

enum RawValue<'a> {
    String(&'a str),
    Number(String),
    Bool(bool),
}

impl RawValue<'_> {
    fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            RawValue::String(s) => (*s).into(),
            RawValue::Number(n) => n.as_str().into(),
            RawValue::Bool(b) => if *b { "true" } else { "false" }.into(),
        }
    }
}

// ---- Phase 1: shape -------------------------------------------------------------------------

impl<'a> RawPolicy<'a> {
    fn read(value: &'a Value) -> Result<Self, PolicyError> {
        let doc = value.as_object().ok_or(PolicyError::Syntax)?;
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        for (key, value) in doc {
            match key.as_str() {
                "Version" => {
                    version = Some(
                        value
                            .as_str()
                            .and_then(PolicyVersion::from_str_exact)
                            .ok_or(PolicyError::Syntax)?,
                    );
                }
                "Id" => id = Some(value.as_str().ok_or(PolicyError::Syntax)?),
                "Statement" => {
                    statements = Some(match value {
                        Value::Object(st) => vec![RawStatement::read(st)?],
                        Value::Array(items) if !items.is_empty() => items
                            .iter()
                            .map(|v| {
                                v.as_object()
                                    .ok_or(PolicyError::Syntax)
                                    .and_then(RawStatement::read)
                            })
                            .collect::<Result<_, _>>()?,
                        _ => return Err(PolicyError::Syntax),
                    });
                }
                _ => return Err(PolicyError::Syntax),
            }
        }
        Ok(RawPolicy {
            version,
            id,
            statements: statements.ok_or(PolicyError::Syntax)?,
        })
    }
}

impl<'a> RawStatement<'a> {
    fn read(st: &'a Map<String, Value>) -> Result<Self, PolicyError> {
        let mut sid = None;
        let mut effect = None;
        let mut principal = None;
        let mut action = None;
        let mut resource = None;
        let mut conditions = Vec::new();
        for (key, value) in st {
            match key.as_str() {
                "Sid" => sid = Some(value.as_str().ok_or(PolicyError::Syntax)?),
                "Effect" => {
                    let e = value.as_str().ok_or(PolicyError::Syntax)?;
                    if !e.eq_ignore_ascii_case("allow") && !e.eq_ignore_ascii_case("deny") {
                        return Err(PolicyError::Syntax);
                    }
                    effect = Some(e);
                }
                "Principal" | "NotPrincipal" => {
                    set_once(
                        &mut principal,
                        Negatable {
                            negated: key == "NotPrincipal",
                            value: parse_principals(value)?,
                        },
                    )?;
                }
                "Action" | "NotAction" => {
                    set_once(
                        &mut action,
                        Negatable {
                            negated: key == "NotAction",
                            value: read_actions(value)?,
                        },
                    )?;
                }
                "Resource" | "NotResource" => {
                    set_once(
                        &mut resource,
                        Negatable {
                            negated: key == "NotResource",
                            value: read_resources(value)?,
                        },
                    )?;
                }
                "Condition" => conditions = read_conditions(value)?,
                _ => return Err(PolicyError::Syntax),
            }
        }
        Ok(RawStatement {
            sid,
            effect: effect.ok_or(PolicyError::Syntax)?,
            principal,
            action,
            resource,
            conditions,
        })
    }
}

/// An element and its `Not` twin may not both appear.
fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), PolicyError> {
    if slot.is_some() {
        return Err(PolicyError::Syntax);
    }
    *slot = Some(value);
    Ok(())
}

fn read_actions(value: &Value) -> Result<Vec<&str>, PolicyError> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or(PolicyError::Syntax))
            .collect(),
        _ => Err(PolicyError::Syntax),
    }
}

fn read_resources(value: &Value) -> Result<RawResources<'_>, PolicyError> {
    match value {
        Value::String(s) => Ok(RawResources {
            values: vec![s.as_str()],
            written: 1,
        }),
        Value::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Value::String(s) => values.push(s.as_str()),
                    Value::Null => {}
                    _ => return Err(PolicyError::Syntax),
                }
            }
            Ok(RawResources {
                values,
                written: items.len(),
            })
        }
        _ => Err(PolicyError::Syntax),
    }
}

fn read_conditions(value: &Value) -> Result<Vec<RawCondition<'_>>, PolicyError> {
    let block = value.as_object().ok_or(PolicyError::Syntax)?;
    let mut out = Vec::new();
    for (operator_key, keys) in block {
        let keys = keys.as_object().ok_or(PolicyError::Syntax)?;
        let mut parsed = Vec::with_capacity(keys.len());
        for (key, values) in keys {
            let values = match values {
                Value::Array(items) => items
                    .iter()
                    .map(read_scalar)
                    .collect::<Result<Vec<_>, _>>()?,
                scalar => vec![read_scalar(scalar)?],
            };
            parsed.push((key.as_str(), values));
        }
        match parse_operator_key(operator_key) {
            Some(operator) => out.extend(parsed.into_iter().map(|(key, values)| RawCondition {
                operator,
                key,
                values,
            })),
            // IAM tolerates an operator it does not know only when it constrains nothing.
            None if parsed.is_empty() => {}
            None => return Err(PolicyError::Syntax),
        }
    }
    Ok(out)
}

fn read_scalar(value: &Value) -> Result<RawValue<'_>, PolicyError> {
    match value {
        Value::String(s) => Ok(RawValue::String(s)),
        Value::Number(n) => Ok(RawValue::Number(n.to_string())),
        Value::Bool(b) => Ok(RawValue::Bool(*b)),
        _ => Err(PolicyError::Syntax),
    }
}

// ---- Phases 2-6: IAM's rules, in IAM's order ------------------------------------------------

impl RawPolicy<'_> {
    fn validate(&self, kind: PolicyKind) -> Result<(), PolicyError> {
        if kind == PolicyKind::Identity && self.version != Some(PolicyVersion::V2012_10_17) {
            return Err(PolicyError::VersionTooOld);
        }
        if kind == PolicyKind::Trust {
            for st in &self.statements {
                match &st.resource {
                    Some(r) if r.negated => return Err(PolicyError::TrustPolicyNotResource),
                    Some(_) => return Err(PolicyError::TrustPolicyResource),
                    None => {}
                }
            }
        }
        if !kind.allows_principals() && self.statements.iter().any(|st| st.principal.is_some()) {
            return Err(PolicyError::PrincipalNotAllowed);
        }

        let deferred_resource_error = self.legacy_parse()?;

        if kind.requires_alphanumeric_sids() {
            let alphanumeric = |s: &str| s.bytes().all(|b| b.is_ascii_alphanumeric());
            if self
                .statements
                .iter()
                .filter_map(|st| st.sid)
                .any(|s| !alphanumeric(s))
            {
                return Err(PolicyError::SidNotAlphanumeric);
            }
        }
        let mut sids: Vec<&str> = self
            .statements
            .iter()
            .filter_map(|st| st.sid)
            .filter(|s| !s.is_empty())
            .collect();
        sids.sort_unstable();
        if sids.windows(2).any(|w| w.first() == w.get(1)) {
            return Err(PolicyError::DuplicateSid);
        }

        if self
            .statements
            .iter()
            .any(|st| st.action.as_ref().is_none_or(|a| a.value.is_empty()))
        {
            return Err(PolicyError::MissingActions);
        }

        if let Some(e) = deferred_resource_error {
            return Err(e);
        }

        for negated in [false, true] {
            for st in &self.statements {
                if let Some(a) = st.action.as_ref().filter(|a| a.negated == negated) {
                    a.value.iter().try_for_each(|action| check_action(action))?;
                }
            }
        }

        if kind.requires_resources()
            && self
                .statements
                .iter()
                .any(|st| st.resource.as_ref().is_none_or(|r| r.value.written == 0))
        {
            return Err(PolicyError::MissingResources);
        }

        if kind.requires_principals() {
            for st in &self.statements {
                let principal = st.principal.as_ref().filter(|p| !is_empty(&p.value));
                let Some(principal) = principal else {
                    return Err(if kind == PolicyKind::Trust {
                        PolicyError::TrustPolicyMissingPrincipal
                    } else {
                        PolicyError::MissingPrincipal
                    });
                };
                if principal.negated && st.effect.eq_ignore_ascii_case("allow") {
                    return Err(PolicyError::AllowWithNotPrincipal);
                }
                check_principals(&principal.value)?;
            }
        }

        if kind == PolicyKind::Trust
            && self
                .statements
                .iter()
                .filter_map(|st| st.action.as_ref())
                .any(|a| a.value.iter().any(|action| !is_trust_policy_action(action)))
        {
            return Err(PolicyError::TrustPolicyAction);
        }
        Ok(())
    }

    /// Runs IAM's legacy parser. Its own failures are returned at once; a resource format
    /// error is handed back to be reported later, as IAM does.
    fn legacy_parse(&self) -> Result<Option<PolicyError>, PolicyError> {
        for st in &self.statements {
            if st.effect != "Allow" && st.effect != "Deny" {
                return Err(PolicyError::LegacyParsing);
            }
            for condition in st
                .conditions
                .iter()
                .filter(|c| c.operator.operator.is_date())
            {
                if !condition
                    .values
                    .iter()
                    .all(|v| passes_legacy_date_parse(&v.text()))
                {
                    return Err(PolicyError::LegacyParsing);
                }
            }
        }

        // IAM checks each list in descending order and the last failure found is the one it
        // reports; the legacy checks on resources stop once any format error is known.
        let mut format_error = None;
        for negated in [false, true] {
            for st in &self.statements {
                let Some(resources) = st.resource.as_ref().filter(|r| r.negated == negated) else {
                    continue;
                };
                let mut ordered = resources.value.values.clone();
                ordered.sort_unstable_by(|a, b| b.cmp(a));
                for resource in ordered {
                    if let Err(e) = check_format(resource) {
                        format_error = Some(e);
                    }
                }
                if format_error.is_none()
                    && !resources
                        .value
                        .values
                        .iter()
                        .all(|r| passes_legacy_parse(r))
                {
                    return Err(PolicyError::LegacyParsing);
                }
            }
        }
        Ok(format_error)
    }

    // ---- Building the AST ---------------------------------------------------------------------

    fn build(self) -> Result<Policy, PolicyError> {
        let version = self.version.unwrap_or(PolicyVersion::V2008_10_17);
        let variables = version.has_policy_variables();
        let statements = self
            .statements
            .into_iter()
            .map(|st| st.build(variables))
            .collect::<Result<_, _>>()?;
        Ok(Policy {
            version,
            id: self.id.map(str::to_owned),
            statements,
        })
    }
}

impl RawStatement<'_> {
    fn build(self, variables: bool) -> Result<Statement, PolicyError> {
        let effect = if self.effect == "Allow" {
            Effect::Allow
        } else {
            Effect::Deny
        };
        let action = self.action.ok_or(PolicyError::MissingActions)?;
        let patterns = action.value.into_iter().map(ActionPattern::new).collect();
        let action = if action.negated {
            ActionBlock::NotAction(patterns)
        } else {
            ActionBlock::Action(patterns)
        };
        let resource = self.resource.map(|r| {
            let patterns = r
                .value
                .values
                .into_iter()
                .map(|p| ResourcePattern::new(p, variables))
                .collect();
            if r.negated {
                ResourceBlock::NotResource(patterns)
            } else {
                ResourceBlock::Resource(patterns)
            }
        });
        let principal = self.principal.map(|p| {
            if p.negated {
                PrincipalBlock::NotPrincipal(p.value)
            } else {
                PrincipalBlock::Principal(p.value)
            }
        });
        let conditions = self
            .conditions
            .into_iter()
            .map(|c| Condition {
                operator: c.operator.operator,
                if_exists: c.operator.if_exists,
                set: c.operator.set,
                key: c.key.to_owned(),
                values: c
                    .values
                    .into_iter()
                    .map(|v| match v {
                        RawValue::String(s) => {
                            ConditionValue::String(Template::parse(s, variables))
                        }
                        RawValue::Number(n) => ConditionValue::Number(n),
                        RawValue::Bool(b) => ConditionValue::Bool(b),
                    })
                    .collect(),
            })
            .collect();
        Ok(Statement {
            sid: self.sid.map(str::to_owned),
            effect,
            principal,
            action,
            resource,
            conditions,
        })
    }
}
