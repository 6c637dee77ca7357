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

use crate::action::{check_action, is_trust_policy_action, ActionPattern};
use crate::ast::{ActionBlock, Effect, Policy, PolicyVersion, ResourceBlock, Statement};
use crate::condition::{
    parse_operator_key, passes_legacy_date_parse, Condition, ConditionValue, OperatorKey,
};
use crate::error::PolicyError;
use crate::json::Json;
use crate::principal::{check_principals, is_empty, parse_principals, PrincipalBlock, Principals};
use crate::resource::{check_format, passes_legacy_parse, ResourcePattern};
use crate::template::Template;
use crate::PolicyKind;

pub(crate) fn parse(document: &str, kind: PolicyKind) -> Result<Policy, PolicyError> {
    let json = Json::parse(document).ok_or(PolicyError::Syntax)?;
    let raw = RawPolicy::read(&json)?;
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
    fn read(value: &'a Json<'a>) -> Result<Self, PolicyError> {
        let doc = value.as_object().ok_or(PolicyError::Syntax)?;
        let mut version = None;
        let mut id = None;
        let mut statements = None;
        for (key, value) in doc {
            match key {
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
                        Json::Object(_) => vec![RawStatement::read(value)?],
                        Json::Array(items) if !items.is_empty() => items
                            .iter()
                            .map(RawStatement::read)
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
    fn read(st: &'a Json<'a>) -> Result<Self, PolicyError> {
        let st = st.as_object().ok_or(PolicyError::Syntax)?;
        let mut sid = None;
        let mut effect = None;
        let mut principal = None;
        let mut action = None;
        let mut resource = None;
        let mut conditions = Vec::new();
        for (key, value) in st {
            match key {
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

fn read_actions<'a>(value: &'a Json<'a>) -> Result<Vec<&'a str>, PolicyError> {
    match value {
        Json::String(s) => Ok(vec![s]),
        Json::Array(items) => items
            .iter()
            .map(|v| v.as_str().ok_or(PolicyError::Syntax))
            .collect(),
        _ => Err(PolicyError::Syntax),
    }
}

fn read_resources<'a>(value: &'a Json<'a>) -> Result<RawResources<'a>, PolicyError> {
    match value {
        Json::String(s) => Ok(RawResources {
            values: vec![s],
            written: 1,
        }),
        Json::Array(items) => {
            let mut values = Vec::with_capacity(items.len());
            for item in items {
                match item {
                    Json::String(s) => values.push(s.as_ref()),
                    Json::Null => {}
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

fn read_conditions<'a>(value: &'a Json<'a>) -> Result<Vec<RawCondition<'a>>, PolicyError> {
    let block = value.as_object().ok_or(PolicyError::Syntax)?;
    let mut out = Vec::new();
    for (operator_key, keys) in block {
        let keys = keys.as_object().ok_or(PolicyError::Syntax)?;
        let mut parsed = Vec::with_capacity(keys.len());
        for (key, values) in keys {
            let values = match values {
                Json::Array(items) => items
                    .iter()
                    .map(read_scalar)
                    .collect::<Result<Vec<_>, _>>()?,
                scalar => vec![read_scalar(scalar)?],
            };
            parsed.push((key, values));
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

fn read_scalar<'a>(value: &'a Json<'a>) -> Result<RawValue<'a>, PolicyError> {
    match value {
        Json::String(s) => Ok(RawValue::String(s)),
        Json::Number(n) => Ok(RawValue::Number(n.clone())),
        Json::Bool(b) => Ok(RawValue::Bool(*b)),
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
                        // `*` and `?` are wildcards only for the operators that say so; for
                        // the others they are ordinary characters to compare.
                        RawValue::String(s) if c.operator.operator.uses_wildcards() => {
                            ConditionValue::String(Template::parse(s, variables))
                        }
                        RawValue::String(s) => {
                            ConditionValue::String(Template::parse_plain(s, variables))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse, AwsPrincipal, ConditionOperator, SetQualifier, TemplatePart};
    use proptest::prelude::*;
    use serde_json::Value;
    use PolicyKind::{Identity, Resource, ServiceControl, Session, Trust};

    const OK: &str = "ok";

    /// (document, kind, "ok" or IAM's exact message)
    const CASES: &[(&str, PolicyKind, &str)] = &[
        // ---- From the AWS IAM User Guide -----------------------------------------------------
        // AdministratorAccess.
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
            Identity,
            OK,
        ),
        // Home folder in S3, with ${aws:username}.
        (
            r#"{
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "AllowListingOfUserFolder",
                  "Action": ["s3:ListBucket"],
                  "Effect": "Allow",
                  "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket"],
                  "Condition": {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "home/${aws:username}"]}}
                },
                {
                  "Sid": "AllowAllS3ActionsInUserFolder",
                  "Action": ["s3:*"],
                  "Effect": "Allow",
                  "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket/home/${aws:username}/*"]
                }
              ]
            }"#,
            Identity,
            OK,
        ),
        // Self-managed credentials, denied without MFA (BoolIfExists).
        (
            r#"{
              "Version": "2012-10-17",
              "Statement": [
                {
                  "Sid": "AllowViewAccountInfo",
                  "Effect": "Allow",
                  "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"],
                  "Resource": "*"
                },
                {
                  "Sid": "AllowManageOwnVirtualMFADevice",
                  "Effect": "Allow",
                  "Action": ["iam:CreateVirtualMFADevice"],
                  "Resource": "arn:aws:iam::*:mfa/*"
                },
                {
                  "Sid": "AllowManageOwnUserMFA",
                  "Effect": "Allow",
                  "Action": ["iam:DeactivateMFADevice", "iam:EnableMFADevice", "iam:GetUser",
                             "iam:ListMFADevices", "iam:ResyncMFADevice"],
                  "Resource": "arn:aws:iam::*:user/${aws:username}"
                },
                {
                  "Sid": "DenyAllExceptListedIfNoMFA",
                  "Effect": "Deny",
                  "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:GetUser",
                                "iam:ListMFADevices", "iam:ListVirtualMFADevices",
                                "iam:ResyncMFADevice", "sts:GetSessionToken"],
                  "Resource": "*",
                  "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
                }
              ]
            }"#,
            Identity,
            OK,
        ),
        // Trust policy for a service.
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            OK,
        ),
        // Trust policy for another account, requiring MFA.
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole","Condition":{"Bool":{"aws:MultiFactorAuthPresent":"true"}}}}"#,
            Trust,
            OK,
        ),
        // Trust policy for an account id, old version, no Version at all, several services.
        (
            r#"{"Version":"2008-10-17","Statement":[{"Sid":"","Effect":"Allow","Principal":{"AWS":"123456789012"},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            OK,
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":["lambda.amazonaws.com","edgelambda.amazonaws.com"]},"Action":["sts:AssumeRole","sts:TagSession"]}]}"#,
            Trust,
            OK,
        ),
        // Web identity federation (EKS service accounts).
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"},"Action":"sts:AssumeRoleWithWebIdentity","Condition":{"StringEquals":{"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub":"system:serviceaccount:default:my-sa"}}}]}"#,
            Trust,
            OK,
        ),
        // An S3 bucket policy, whose Sids may hold spaces.
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"Public read","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::amzn-s3-demo-bucket/*"}]}"#,
            Resource,
            OK,
        ),
        // A KMS key policy.
        (
            r#"{"Version":"2012-10-17","Id":"key-default-1","Statement":[{"Sid":"Enable IAM User Permissions","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"}]}"#,
            Resource,
            OK,
        ),
        // An SCP denying leaving the organization.
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"organizations:LeaveOrganization","Resource":"*"}]}"#,
            ServiceControl,
            OK,
        ),
        (
            r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            Session,
            OK,
        ),
        // ---- moto's catalogue of IAM's responses (tests/test_iam/test_iam_policies.py) --------
        ("This is not a json document", Identity, "Syntax errors in policy."),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            r#"{"Version":"2013-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (r#"{"Version":"2012-10-17"}"#, Identity, "Syntax errors in policy."),
        (r#"{"Version":"2012-10-17","Statement":["afd"]}"#, Identity, "Syntax errors in policy."),
        (r#"{"Version":"2012-10-17","Statement":[]}"#, Identity, "Syntax errors in policy."),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},"Extra field":"value"}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Extra field":"value"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Id":["cd3a324d2343d942772346-34234234423404-4c2242343242349d1642ee"],"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Id":{},"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"invalid","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"invalid","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"a a:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Vendor a a is not valid",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:List:Bucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Actions/Condition can contain only one colon.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3s:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Effect":"Allow","Action":"s:3s:ListBucket","Resource":"arn:aws:s3:::example_bucket"}]}"#,
            Identity,
            "Actions/Condition can contain only one colon.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"invalid resource"}}"#,
            Identity,
            r#"Resource invalid resource must be in ARN format or "*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"EnableDisableHongKong","Effect":"Allow","Action":["account:EnableRegion","account:DisableRegion"],"Resource":"","Condition":{"StringEquals":{"account:TargetRegion":"ap-east-1"}}},{"Sid":"ViewConsole","Effect":"Allow","Action":["aws-portal:ViewAccount","account:ListRegions"],"Resource":""}]}"#,
            Identity,
            r#"Resource  must be in ARN format or "*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s:3:ListBucket","Resource":"sdfsadf"}}"#,
            Identity,
            r#"Resource sdfsadf must be in ARN format or "*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":["adf"]}}"#,
            Identity,
            r#"Resource adf must be in ARN format or "*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:bsdfdsafsad"}}"#,
            Identity,
            r#"Partition "bsdfdsafsad" is not valid for resource "arn:bsdfdsafsad:*:*:*:*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:cadfsdf"}}"#,
            Identity,
            r#"Partition "b" is not valid for resource "arn:b:cadfsdf:*:*:*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3s:ListBucket","Resource":"a:b:c:d:e:f:g:h"}}"#,
            Identity,
            r#"Partition "b" is not valid for resource "arn:b:c:d:e:f:g:h"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"aws:s3:::example_bucket"}}"#,
            Identity,
            r#"Partition "s3" is not valid for resource "arn:s3:::example_bucket:*"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:error:s3:::example_bucket","arn:error:s3::example_bucket"]}}"#,
            Identity,
            r#"Partition "error" is not valid for resource "arn:error:s3:::example_bucket"."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket"}}"#,
            Identity,
            "Policy statement must contain resources.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":[]}}"#,
            Identity,
            "Policy statement must contain resources.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"invalid"}}"#,
            Identity,
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Policy statement must contain actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow"}}"#,
            Identity,
            "Policy statement must contain actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[],"Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Policy statement must contain actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny"},{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}]}"#,
            Identity,
            "Policy statement must contain actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::example_bucket"}}"#,
            Identity,
            r#"IAM resource path must either be "*" or start with user/, federated-user/, role/, group/, instance-profile/, mfa/, server-certificate/, policy/, sms-mfa/, saml-provider/, oidc-provider/, report/, access-report/."#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3::example_bucket"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"arn:aws:s3::example_bucket"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws"}}"#,
            Identity,
            "Resource vendor must be fully qualified and cannot contain regexes.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":{"a":"arn:aws:s3:::example_bucket"}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:ListBucket","Resource":["adfdf",{}]}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","NotResource":[]}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":[[]],"Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3s:ListBucket","Action":[],"Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":{},"Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":[]}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":"a"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"a":"b"}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":"b"}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":[]}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":{}}}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":{}}}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"x":{"a":"1"}}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAnyValue::StringEqualsIfExists":{"a":"asf"}}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":[{"ForAllValues:StringEquals":{"aws:TagKeys":"Department"}}]}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:us-east-1::example_bucket"}}"#,
            Identity,
            "IAM resource arn:aws:iam:us-east-1::example_bucket cannot contain region information.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:us-east-1::example_bucket"}}"#,
            Identity,
            "Resource arn:aws:s3:us-east-1::example_bucket can not contain region information.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Sid":{},"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Sid":[],"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Sid":"sdf","Effect":"Allow"}]}"#,
            Identity,
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            r#"{"Statement":[{"Sid":"sdf","Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Sid":"sdf","Effect":"Allow"}]}"#,
            Identity,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:ListBucket","Action":"iam:dsf","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","NotResource":"*"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"denY","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}}"#,
            Identity,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            r#"{"Statement":{"Effect":"denY","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            "Policy document must be version 2012-10-17 or greater.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:ListBucket","Resource":"arn:aws::::example_bucket"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"allow","Resource":"arn:aws:s3:us-east-1::example_bucket"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"sdf","Effect":"aLLow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket"},{"Sid":"sdf","Effect":"Allow"}]}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","NotResource":"arn:aws:s3::example_bucket"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThanEquals":{"a":"234-13"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThanEquals":{"a":"2016-12-13t2:00:00.593194+1"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThanEquals":{"a":"2016-12-13t2:00:00.1999999999+10:59"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThan":{"a":"9223372036854775808"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:error:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"sdfdsf"}}}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws::fdsasf"}}"#,
            Identity,
            "The policy failed legacy parsing",
        ),
        // moto's valid documents.
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam: asdf safdsf af ","Resource":"arn:aws:s3:::example_bucket"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::example_bucket","*"]}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"service-prefix:action-name","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2017-07-01T00:00:00Z"},"DateLessThan":{"aws:CurrentTime":"2017-12-31T23:59:59Z"}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:iam:::user/example_bucket"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s33:::example_bucket"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:fdsasf"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAllValues:StringEquals":{"aws:TagKeys":"Department"}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:cloudwatch:us-east-1::example_bucket"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:invalid-service:us-east-1::example_bucket"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":[]}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"a":{}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"x":{},"y":{}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateGreaterThan":{"a":"01T"}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"DateLessThan":{"a":"-292275054"}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:ListBucket","Resource":"arn:aws:s3:::example_bucket","Condition":{"ForAnyValue:StringEqualsIfExists":{"a":"asf"}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"s3:ListBucket","NotResource":"*"}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":"rds:*","Resource":["arn:aws:rds:region:*:*"]},{"Sid":"","Effect":"Allow","Action":["rds:Describe*"],"Resource":["*"]}]}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"","Effect":"Allow","Action":["s3:*"],"Resource":["arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point","arn:aws:s3:us-west-2:123456789012:accesspoint/my-access-point/object/*"]}]}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"ListYourObjects","Effect":"Allow","Action":"s3:ListBucket","Resource":["arn:aws:s3:::bucket-name"],"Condition":{"StringLike":{"s3:prefix":["cognito/application-name/${cognito-identity.amazonaws.com:sub}"]}}}]}"#,
            Identity,
            OK,
        ),
        // ---- Elements and values moto does not cover -----------------------------------------
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"NumericLessThanEquals":{"s3:max-keys":10},"Bool":{"aws:SecureTransport":true}}}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a":null}}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringEquals":{"a":[["x"]]}}}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":[null]}}"#,
            Identity,
            OK,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":null}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":[null],"Resource":"*"}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*:Untag*","Resource":"*"}}"#,
            Identity,
            "Action vendors (e.g., aws, ec2, etc.) must not contain wildcards",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Sid":"my-sid","Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
            Identity,
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*","Resource":"*"}}"#,
            Identity,
            "Policy document should not specify a principal.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:*"}}"#,
            Identity,
            "Policy document should not specify a principal.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            Session,
            "Policy document should not specify a principal.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"*"}}"#,
            ServiceControl,
            "Policy document should not specify a principal.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*"}}"#,
            ServiceControl,
            "Policy statement must contain resources.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"AWS":"*","Service":"s3.amazonaws.com"},"NotPrincipal":"*","Action":"s3:*"}}"#,
            Resource,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"aws":"*"},"Action":"s3:*"}}"#,
            Resource,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":"arn:aws:iam::123456789012:root","Action":"s3:*"}}"#,
            Resource,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
            Resource,
            "Missing required field Principal",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
            Resource,
            "Allow with NotPrincipal is not allowed.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","NotPrincipal":{"AWS":"123456789012"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::b/*"}}"#,
            Resource,
            OK,
        ),
        // ---- Role trust policies ---------------------------------------------------------------
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["route53:ChangeResourceRecordSets"],"Resource":["arn:aws:route53:::hostedzone/*"]}]}"#,
            Trust,
            "Has prohibited field Resource",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole","NotResource":"*"}]}"#,
            Trust,
            "AssumeRole policy must not contain resources.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole"}]}"#,
            Trust,
            "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            "Invalid principal in policy: com.amazon.balsa.error.InvalidPolicyException: The passed in policy has a statement with no principals!",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"rolesanywhere.amazonaws.com"},"Action":["sts:SetSourceIdentity","sts:AssumeRole","sts:TagSessions"]}]}"#,
            Trust,
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"*"}]}"#,
            Trust,
            "AssumeRole policy may only specify STS AssumeRole actions.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            r#"Invalid principal in policy: "SERVICE":"amazonaws.com""#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:role/*"},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::123456789012:role/*""#,
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"not a domain"},"Action":"sts:AssumeRoleWithWebIdentity"}]}"#,
            Trust,
            "Federated principals must be valid domain names or SAML metadata ARNs",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","NotPrincipal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            "Allow with NotPrincipal is not allowed.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Sid":"trust-ec2","Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
            Trust,
            "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"}}]}"#,
            Trust,
            "Policy statement must contain actions.",
        ),
        // ---- JSON itself ---------------------------------------------------------------------
        ("", Identity, "Syntax errors in policy."),
        ("null", Identity, "Syntax errors in policy."),
        ("[]", Identity, "Syntax errors in policy."),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*",}}"#,
            Identity,
            "Syntax errors in policy.",
        ),
        (
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"*"}} x"#,
            Identity,
            "Syntax errors in policy.",
        ),
    ];

    #[test]
    fn documents() {
        let mut failures = Vec::new();
        for (i, (document, kind, want)) in CASES.iter().enumerate() {
            let got = match parse(document, *kind) {
                Ok(_) => OK.to_owned(),
                Err(e) => e.to_string(),
            };
            if got != *want {
                failures.push(format!(
                    "case {i} ({kind:?}): want {want:?}, got {got:?}\n  {document}"
                ));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn builds_the_home_folder_policy() {
        let Some((document, kind, _)) = CASES.get(1) else {
            panic!("case missing");
        };
        let policy = parse(document, *kind).expect("valid");
        assert_eq!(policy.version, PolicyVersion::V2012_10_17);
        let [list, all] = policy.statements.as_slice() else {
            panic!("two statements");
        };
        assert_eq!(list.sid.as_deref(), Some("AllowListingOfUserFolder"));
        assert_eq!(list.effect, Effect::Allow);
        assert!(list.action.applies_to("s3:ListBucket"));
        assert!(list.action.applies_to("S3:LISTBUCKET"));
        assert!(!list.action.applies_to("s3:GetObject"));
        let [condition] = list.conditions.as_slice() else {
            panic!("one condition");
        };
        assert_eq!(condition.operator, ConditionOperator::StringLike);
        assert_eq!(condition.key, "s3:prefix");
        let Some(ConditionValue::String(t)) = condition.values.first() else {
            panic!("string value");
        };
        assert_eq!(
            t.variables().next().map(|v| v.key.as_str()),
            Some("aws:username")
        );

        assert!(all.action.applies_to("s3:PutObject"));
        let resource = all.resource.as_ref().expect("resource");
        let alice = |k: &str| (k == "aws:username").then_some("alice");
        assert!(resource.applies_to(
            "arn:aws:s3:::amzn-s3-demo-bucket/home/alice/notes.txt",
            alice
        ));
        assert!(!resource.applies_to("arn:aws:s3:::amzn-s3-demo-bucket/home/bob/notes.txt", alice));
    }

    #[test]
    fn builds_the_mfa_policy() {
        let Some((document, kind, _)) = CASES.get(2) else {
            panic!("case missing");
        };
        let policy = parse(document, *kind).expect("valid");
        let deny = policy.statements.last().expect("statements");
        assert_eq!(deny.effect, Effect::Deny);
        assert!(matches!(deny.action, ActionBlock::NotAction(_)));
        assert!(deny.action.applies_to("s3:GetObject"));
        assert!(!deny.action.applies_to("sts:GetSessionToken"));
        let [condition] = deny.conditions.as_slice() else {
            panic!("one condition");
        };
        assert_eq!(condition.operator, ConditionOperator::Bool);
        assert!(condition.if_exists);
        assert_eq!(condition.set, None);
    }

    #[test]
    fn builds_trust_principals() {
        let policy = parse(
            r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":["123456789012","*","arn:aws:iam::123456789012:role/R"],"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}}"#,
            Trust,
        )
        .expect("valid");
        assert_eq!(policy.version, PolicyVersion::V2008_10_17);
        let st = policy.statements.first().expect("statement");
        let Some(PrincipalBlock::Principal(Principals::Named(named))) = &st.principal else {
            panic!("named principals");
        };
        assert_eq!(
            named.aws,
            vec![
                AwsPrincipal::Account("123456789012".into()),
                AwsPrincipal::Everyone,
                AwsPrincipal::Arn("arn:aws:iam::123456789012:role/R".into()),
            ]
        );
        assert_eq!(named.service, vec!["ec2.amazonaws.com".to_owned()]);
        assert!(st.resource.is_none());
    }

    #[test]
    fn old_version_keeps_dollar_braces_literal() {
        let policy = parse(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::b/${aws:username}","Condition":{"ForAnyValue:StringLike":{"k":["${aws:username}",1,true]}}}}"#,
            Resource,
        )
        .expect("valid");
        let st = policy.statements.first().expect("statement");
        let resource = st.resource.as_ref().expect("resource");
        assert!(resource.applies_to("arn:aws:s3:::b/${aws:username}", |_| None));
        let condition = st.conditions.first().expect("condition");
        assert_eq!(condition.set, Some(SetQualifier::ForAnyValue));
        assert_eq!(
            condition.values,
            vec![
                ConditionValue::String(Template::parse("${aws:username}", false)),
                ConditionValue::Number("1".into()),
                ConditionValue::Bool(true),
            ]
        );
        let Some(ConditionValue::String(t)) = condition.values.first() else {
            panic!("string");
        };
        assert_eq!(
            &*t.parts(),
            &[TemplatePart::Literal("${aws:username}".into())]
        );
    }

    #[test]
    fn repeated_members_keep_the_last_value() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"s3:*","Effect":"Allow","Action":"iam:*","Resource":"*"}}"#,
            Identity,
        )
        .expect("valid");
        let st = policy.statements.first().expect("statement");
        assert_eq!(st.effect, Effect::Allow);
        assert!(st.action.applies_to("iam:CreateUser"));
        assert!(!st.action.applies_to("s3:GetObject"));
    }

    #[test]
    fn conditions_keep_document_order() {
        let policy = parse(
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*","Condition":{"StringLike":{"b":"1","a":"2"},"Bool":{"c":"true"}}}}"#,
            Identity,
        )
        .expect("valid");
        let st = policy.statements.first().expect("statement");
        let keys: Vec<&str> = st.conditions.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["b", "a", "c"]);
    }

    #[test]
    fn error_code_is_malformed_policy_document() {
        assert_eq!(PolicyError::Syntax.code(), "MalformedPolicyDocument");
    }

    /// JSON values of any shape, up to a modest depth.
    fn any_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// JSON built from the policy grammar's own words, so generated documents get past the
    /// shape checks and exercise the later phases.
    fn policyish_json() -> impl Strategy<Value = Value> {
        let word = prop::sample::select(vec![
            "Version",
            "Id",
            "Statement",
            "Sid",
            "Effect",
            "Allow",
            "Deny",
            "allow",
            "Principal",
            "NotPrincipal",
            "Action",
            "NotAction",
            "Resource",
            "NotResource",
            "Condition",
            "AWS",
            "Service",
            "Federated",
            "CanonicalUser",
            "2012-10-17",
            "2008-10-17",
            "*",
            "s3:*",
            "sts:AssumeRole",
            "arn:aws:s3:::b/*",
            "arn:aws:iam::123456789012:root",
            "ec2.amazonaws.com",
            "StringLike",
            "ForAnyValue:StringEqualsIfExists",
            "DateLessThan",
            "2019-07-01T00:00:00Z",
            "aws:username",
            "${aws:username}",
            "a:b",
            "",
            "x",
        ])
        .prop_map(str::to_owned);
        let leaf = prop_oneof![
            word.clone().prop_map(Value::String),
            any::<bool>().prop_map(Value::Bool),
            Just(Value::Null),
            (0u32..100).prop_map(Value::from),
        ];
        leaf.prop_recursive(5, 96, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(word.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    const KINDS: [PolicyKind; 5] = [Identity, Trust, Resource, ServiceControl, Session];

    proptest! {
        #[test]
        fn never_panics_on_strings(s in any::<String>()) {
            for kind in KINDS {
                let _ = parse(&s, kind);
            }
            let _ = crate::non_whitespace_len(&s);
        }

        #[test]
        fn never_panics_on_json(v in any_json()) {
            let text = v.to_string();
            for kind in KINDS {
                let _ = parse(&text, kind);
            }
        }

        #[test]
        fn never_panics_on_policyish_json(v in policyish_json()) {
            let text = v.to_string();
            for kind in KINDS {
                let _ = parse(&text, kind);
            }
        }

        #[test]
        fn whitespace_does_not_change_the_outcome(v in policyish_json()) {
            let compact = v.to_string();
            let pretty = serde_json::to_string_pretty(&v).unwrap_or_default();
            for kind in KINDS {
                prop_assert_eq!(parse(&compact, kind), parse(&pretty, kind));
            }
            prop_assert_eq!(crate::non_whitespace_len(&compact), crate::non_whitespace_len(&pretty));
        }
    }
}
