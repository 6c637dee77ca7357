//! Authorization decisions, following AWS's documented evaluation logic.
//!
//! Sources, all in the IAM User Guide: "Policy evaluation logic" and "Determining whether a
//! request is allowed or denied within an account" (the chain and the resource-based policy
//! rules per principal type), "Cross-account policy evaluation logic", "IAM JSON policy
//! elements: Condition operators" (missing keys, `...IfExists`, `Null`), "Conditions with
//! multiple context keys or values" and "Multivalued context keys" (AND/OR/NOR, set
//! operators), "IAM policy elements: Variables and tags" (unresolvable variables),
//! "AWS JSON policy elements: NotPrincipal" and "Permissions boundaries for IAM entities"
//! (`NotPrincipal` with `Deny`), and "Troubleshooting access denied error messages" (the
//! wording of denials).

use std::fmt;

use crate::ast::{Effect, ResourceBlock};
use crate::compile::{
    ArnPattern, BoolValue, CompiledCondition, CompiledPrincipal, CompiledResource,
    CompiledStatement, PlainValue, PolicySet, Test,
};
use crate::condition::SetQualifier;
use crate::context::{ContextValue, PrincipalKind, Request, RequestPrincipal};
use crate::template::{Template, TemplatePart};
use crate::values::{base64_equals, parse_bool, parse_date, parse_ip, Number};
use crate::wildcard::{bytes_eq, match_literal_at};

/// The kinds of policy a decision weighs, as AWS names them in `AccessDenied` messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// The principal's own policies: user inline and managed, group inline and managed, or
    /// the role's.
    Identity,
    /// The policy of the resource (bucket policy, key policy, ...).
    Resource,
    /// A role's trust policy, the resource-based policy of `sts:AssumeRole*`.
    RoleTrust,
    PermissionsBoundary,
    Session,
    ServiceControl,
    ResourceControl,
}

impl PolicyType {
    /// The type as it reads after "no" in an implicit denial: "identity-based policy".
    pub fn name(self) -> &'static str {
        match self {
            PolicyType::Identity => "identity-based policy",
            PolicyType::Resource => "resource-based policy",
            PolicyType::RoleTrust => "role trust policy",
            PolicyType::PermissionsBoundary => "permissions boundary",
            PolicyType::Session => "session policy",
            PolicyType::ServiceControl => "service control policy",
            PolicyType::ResourceControl => "resource control policy",
        }
    }

    /// The type as it reads after "with an explicit deny in".
    fn with_article(self) -> &'static str {
        match self {
            PolicyType::Identity => "an identity-based policy",
            PolicyType::Resource => "a resource-based policy",
            PolicyType::RoleTrust => "the role trust policy",
            PolicyType::PermissionsBoundary => "a permissions boundary",
            PolicyType::Session => "a session policy",
            PolicyType::ServiceControl => "a service control policy",
            PolicyType::ResourceControl => "a resource control policy",
        }
    }
}

impl fmt::Display for PolicyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// How a resource-based policy takes part in the decision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourcePolicyKind {
    /// A bucket, queue, topic or secret policy: within an account, an allow in either it or
    /// the identity-based policies is enough.
    Resource,
    /// A KMS key policy, which must itself allow access (directly, or by naming the account
    /// and so delegating to identity-based policies).
    KeyPolicy,
    /// A role trust policy, which likewise must allow the principal.
    RoleTrust,
}

impl ResourcePolicyKind {
    fn policy_type(self) -> PolicyType {
        match self {
            ResourcePolicyKind::RoleTrust => PolicyType::RoleTrust,
            ResourcePolicyKind::Resource | ResourcePolicyKind::KeyPolicy => PolicyType::Resource,
        }
    }

    fn is_required(self) -> bool {
        !matches!(self, ResourcePolicyKind::Resource)
    }
}

/// The resource-based policy of the resource a request acts on.
#[derive(Debug, Clone, Copy)]
pub struct ResourcePolicy<'a> {
    pub policies: &'a PolicySet,
    pub kind: ResourcePolicyKind,
}

static NO_POLICIES: PolicySet = PolicySet::empty();

/// Every policy that bears on a request.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The principal's identity-based policies: a user's inline and managed policies and its
    /// groups', or a role's; for a federated user session, those of the IAM user who created
    /// it (its permissions are their intersection with the session policy).
    pub identity: &'a PolicySet,
    /// The permissions boundary of the user or role, if it has one.
    pub boundary: Option<&'a PolicySet>,
    /// The session policies passed when a role session or federated user session was created.
    pub session: Option<&'a PolicySet>,
    /// Service control policies of the principal's account, one set per level from the
    /// organization root down to the account; each level must allow. Empty outside an
    /// organization. Leave out service-linked roles, which SCPs do not restrict.
    pub scps: &'a [PolicySet],
    /// Resource control policies of the resource's account, one set per level; empty when
    /// none apply (outside an organization, or for a resource of the management account).
    pub rcps: &'a [PolicySet],
    pub resource: Option<ResourcePolicy<'a>>,
    /// The principal belongs to the organization's management account, which SCPs do not
    /// restrict.
    pub management_account: bool,
    /// The account that owns the resource, when it may differ from the principal's: a
    /// request across accounts needs both the principal's and the resource's side to allow.
    pub resource_account: Option<&'a str>,
}

impl<'a> Inputs<'a> {
    pub fn new(identity: &'a PolicySet) -> Self {
        Inputs {
            identity,
            boundary: None,
            session: None,
            scps: &[],
            rcps: &[],
            resource: None,
            management_account: false,
            resource_account: None,
        }
    }

    /// Inputs with no identity-based policies: for services, identity providers and anonymous
    /// callers, which only resource-based policies can allow.
    pub fn without_identity() -> Inputs<'static> {
        Inputs::new(&NO_POLICIES)
    }

    pub fn with_boundary(mut self, boundary: &'a PolicySet) -> Self {
        self.boundary = Some(boundary);
        self
    }

    pub fn with_session(mut self, session: &'a PolicySet) -> Self {
        self.session = Some(session);
        self
    }

    pub fn with_scps(mut self, levels: &'a [PolicySet], management_account: bool) -> Self {
        self.scps = levels;
        self.management_account = management_account;
        self
    }

    pub fn with_rcps(mut self, levels: &'a [PolicySet]) -> Self {
        self.rcps = levels;
        self
    }

    pub fn with_resource_policy(
        mut self,
        policies: &'a PolicySet,
        kind: ResourcePolicyKind,
    ) -> Self {
        self.resource = Some(ResourcePolicy { policies, kind });
        self
    }

    pub fn with_resource_account(mut self, account: &'a str) -> Self {
        self.resource_account = Some(account);
        self
    }
}

/// The final answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Allow,
    /// A `Deny` statement applied.
    ExplicitDeny,
    /// Nothing allowed the request (or a policy type that must allow did not).
    ImplicitDeny,
}

impl Outcome {
    /// The simulator's `EvalDecision` value.
    pub fn simulator_name(self) -> &'static str {
        match self {
            Outcome::Allow => "allowed",
            Outcome::ExplicitDeny => "explicitDeny",
            Outcome::ImplicitDeny => "implicitDeny",
        }
    }
}

/// A statement that applied to the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedStatement<'a> {
    pub policy_type: PolicyType,
    /// For service and resource control policies, the level (0 for the organization root).
    pub level: Option<usize>,
    /// The name the policy was given when its set was compiled.
    pub policy_id: &'a str,
    /// The statement's position in its policy, from 0.
    pub statement_index: usize,
    pub sid: Option<&'a str>,
    pub effect: Effect,
}

/// Whether each policy type that was evaluated allowed the request (`None`: not evaluated,
/// because it does not apply to this principal or was not given).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TypeResults {
    pub identity: Option<bool>,
    pub resource: Option<bool>,
    pub boundary: Option<bool>,
    pub session: Option<bool>,
    /// Every level allowed and none denied.
    pub scps: Option<bool>,
    pub rcps: Option<bool>,
}

/// The decision on a request, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision<'a> {
    pub outcome: Outcome,
    /// For a denial, the policy type that denied it (the first, in AWS's order, when several
    /// did); for an allow, the type whose statement allowed it (`None` for the root user,
    /// who needs no identity-based policy).
    pub decided_by: Option<PolicyType>,
    /// Every statement that applied, allows and denies, in evaluation order.
    pub matched: Vec<MatchedStatement<'a>>,
    /// Context keys that statements needed but the request lacked, as written in the
    /// policies, once each.
    pub missing_context_keys: Vec<&'a str>,
    pub types: TypeResults,
}

impl Decision<'_> {
    pub fn is_allowed(&self) -> bool {
        self.outcome == Outcome::Allow
    }

    /// The end of an `AccessDenied` message, as AWS words it: "because no identity-based
    /// policy allows the iam:CreateUser action", "with an explicit deny in a permissions
    /// boundary". AWS words every denial by a service control policy as an explicit deny, and
    /// this does the same for resource control policies. `None` for an allow.
    pub fn reason(&self, action: &str) -> Option<String> {
        let ty = self.decided_by?;
        match self.outcome {
            Outcome::Allow => None,
            Outcome::ExplicitDeny => {
                Some(format!("with an explicit deny in {}", ty.with_article()))
            }
            Outcome::ImplicitDeny => match ty {
                PolicyType::ServiceControl | PolicyType::ResourceControl => {
                    Some(format!("with an explicit deny in {}", ty.with_article()))
                }
                _ => Some(format!(
                    "because no {} allows the {action} action",
                    ty.name()
                )),
            },
        }
    }

    /// The whole `AccessDenied` message: "User: arn:aws:iam::123456789012:user/bob is not
    /// authorized to perform: iam:CreateUser on resource: arn:aws:iam::123456789012:user/alice
    /// because no identity-based policy allows the iam:CreateUser action". The resource part
    /// is left out for `*`. `None` for an allow.
    pub fn access_denied_message(
        &self,
        principal_arn: &str,
        action: &str,
        resource: &str,
    ) -> Option<String> {
        let reason = self.reason(action)?;
        Some(if resource == "*" || resource.is_empty() {
            format!("User: {principal_arn} is not authorized to perform: {action} {reason}")
        } else {
            format!(
                "User: {principal_arn} is not authorized to perform: {action} on resource: \
                 {resource} {reason}"
            )
        })
    }
}

/// How directly a resource-based policy statement names the caller, which decides what else
/// must allow the request within one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Grant {
    /// The caller's account: access is delegated to the account's own policies.
    Account,
    /// The role of a role session, or the IAM user behind a federated user session: the
    /// identity-based policies need not allow, but the permissions boundary and session
    /// policies must.
    Entity,
    /// The caller itself (or everyone): nothing else need allow.
    Direct,
}

#[derive(Debug, Clone, Copy, Default)]
struct SetResult {
    allow: bool,
    deny: bool,
    grant: Option<Grant>,
}

impl SetResult {
    fn allowed(self) -> bool {
        self.allow && !self.deny
    }
}

/// Decides `request` against `inputs`.
pub fn evaluate<'a>(inputs: &Inputs<'a>, request: &Request<'_>) -> Decision<'a> {
    let who = request.principal;
    let kind = who.kind();
    let iam = who.is_iam_principal();
    let root = matches!(kind, PrincipalKind::Root);
    let entity = iam && !root;
    let session_principal = matches!(
        kind,
        PrincipalKind::RoleSession { .. } | PrincipalKind::FederatedUser { .. }
    );
    let boundary = inputs.boundary.filter(|_| entity);
    let mut buffer = [0u8; 128];
    let mut ev = Evaluator {
        request,
        action_lower: ascii_lowercase(request.action, &mut buffer),
        service: request.service(),
        has_boundary: boundary.is_some(),
        matched: Vec::new(),
        missing: Vec::new(),
    };

    // Every applicable policy is weighed, so that the decision can list every statement that
    // applied and any explicit deny is found wherever it is.
    let scps = (iam && !inputs.management_account && !inputs.scps.is_empty())
        .then(|| ev.levels(inputs.scps, PolicyType::ServiceControl));
    let rcps =
        (!inputs.rcps.is_empty()).then(|| ev.levels(inputs.rcps, PolicyType::ResourceControl));
    let resource = inputs
        .resource
        .map(|rp| (rp.kind, ev.set(rp.policies, rp.kind.policy_type(), None)));
    let identity = entity.then(|| ev.set(inputs.identity, PolicyType::Identity, None));
    let boundary = boundary.map(|b| ev.set(b, PolicyType::PermissionsBoundary, None));
    let session = inputs
        .session
        .filter(|_| session_principal)
        .map(|s| ev.set(s, PolicyType::Session, None));

    let types = TypeResults {
        identity: identity.map(SetResult::allowed),
        resource: resource.map(|(_, r)| r.allowed()),
        boundary: boundary.map(SetResult::allowed),
        session: session.map(SetResult::allowed),
        scps: scps.map(SetResult::allowed),
        rcps: rcps.map(SetResult::allowed),
    };
    let (outcome, decided_by) = decide(Chain {
        scps,
        rcps,
        resource,
        identity,
        boundary,
        session,
        root,
        iam,
        kind,
        cross_account: iam && inputs.resource_account.is_some_and(|a| a != who.account()),
    });
    Decision {
        outcome,
        decided_by,
        matched: ev.matched,
        missing_context_keys: ev.missing,
        types,
    }
}

/// Decides a request that acts on several resources, one decision per resource: the request
/// is allowed only when every one of them is.
pub fn evaluate_each<'i, 'a, 'r>(
    inputs: &'i Inputs<'a>,
    request: Request<'r>,
    resources: &'r [&'r str],
) -> impl Iterator<Item = (&'r str, Decision<'a>)> + use<'i, 'a, 'r> {
    resources.iter().map(move |&resource| {
        let one = Request {
            resource,
            ..request
        };
        (resource, evaluate(inputs, &one))
    })
}

/// `s` in ASCII lower case, written into `buffer`; `None` when `s` is not ASCII or does not
/// fit.
fn ascii_lowercase<'b>(s: &str, buffer: &'b mut [u8]) -> Option<&'b str> {
    if !s.is_ascii() {
        return None;
    }
    let out = buffer.get_mut(..s.len())?;
    out.copy_from_slice(s.as_bytes());
    out.make_ascii_lowercase();
    std::str::from_utf8(out).ok()
}

/// What each policy type said, for [`decide`].
struct Chain<'k> {
    scps: Option<SetResult>,
    rcps: Option<SetResult>,
    resource: Option<(ResourcePolicyKind, SetResult)>,
    identity: Option<SetResult>,
    boundary: Option<SetResult>,
    session: Option<SetResult>,
    root: bool,
    iam: bool,
    kind: &'k PrincipalKind,
    cross_account: bool,
}

/// AWS's chain: explicit denies, then SCPs and RCPs, then resource-based, identity-based,
/// boundary and session policies, within one account or across two.
fn decide(c: Chain<'_>) -> (Outcome, Option<PolicyType>) {
    use Outcome::{Allow, ExplicitDeny, ImplicitDeny};
    let resource_type = c
        .resource
        .map_or(PolicyType::Resource, |(k, _)| k.policy_type());
    let denied = |r: Option<SetResult>| r.is_some_and(|r| r.deny);
    let explicit = [
        (denied(c.scps), PolicyType::ServiceControl),
        (denied(c.rcps), PolicyType::ResourceControl),
        (denied(c.resource.map(|(_, r)| r)), resource_type),
        (denied(c.identity), PolicyType::Identity),
        (denied(c.boundary), PolicyType::PermissionsBoundary),
        (denied(c.session), PolicyType::Session),
    ];
    if let Some((_, ty)) = explicit.iter().find(|(d, _)| *d) {
        return (ExplicitDeny, Some(*ty));
    }
    if c.scps.is_some_and(|r| !r.allow) {
        return (ImplicitDeny, Some(PolicyType::ServiceControl));
    }
    if c.rcps.is_some_and(|r| !r.allow) {
        return (ImplicitDeny, Some(PolicyType::ResourceControl));
    }

    let grant = c.resource.and_then(|(_, r)| r.grant);
    let required = c.resource.is_some_and(|(k, _)| k.is_required());

    // Services, identity providers and anonymous callers have no policies of their own: only
    // a resource-based policy naming them can allow them.
    if !c.iam {
        return if grant == Some(Grant::Direct) {
            (Allow, Some(resource_type))
        } else {
            (ImplicitDeny, Some(resource_type))
        };
    }

    let identity_allows = c.root || c.identity.is_some_and(|r| r.allow);
    // A role session may lack a session policy; a federated user session gets its
    // permissions only from one.
    let session_allows = match (c.kind, c.session) {
        (_, Some(r)) => r.allow,
        (PrincipalKind::FederatedUser { .. }, None) => false,
        _ => true,
    };
    let boundary_allows = c.boundary.is_none_or(|r| r.allow);
    let principal_side = || {
        if !identity_allows {
            Some(PolicyType::Identity)
        } else if !boundary_allows {
            Some(PolicyType::PermissionsBoundary)
        } else if !session_allows {
            Some(PolicyType::Session)
        } else {
            None
        }
    };

    if c.cross_account {
        // Both accounts must allow: the principal's through its own policies, the resource's
        // through its resource-based policy.
        if let Some(ty) = principal_side() {
            return (ImplicitDeny, Some(ty));
        }
        if grant.is_none() {
            return (ImplicitDeny, Some(resource_type));
        }
        return (Allow, Some(PolicyType::Identity));
    }

    if required && grant.is_none() {
        return (ImplicitDeny, Some(resource_type));
    }
    match grant {
        // Granted to the user or session itself: implicit denies elsewhere do not matter.
        Some(Grant::Direct) => (Allow, Some(resource_type)),
        // Granted to the role or to the user behind the session: bounded by the permissions
        // boundary and session policies, but needs no identity-based allow.
        Some(Grant::Entity) => {
            if !boundary_allows {
                (ImplicitDeny, Some(PolicyType::PermissionsBoundary))
            } else if !session_allows {
                (ImplicitDeny, Some(PolicyType::Session))
            } else {
                (Allow, Some(resource_type))
            }
        }
        Some(Grant::Account) | None => match principal_side() {
            Some(ty) => (ImplicitDeny, Some(ty)),
            None if c.root => (Allow, None),
            None => (Allow, Some(PolicyType::Identity)),
        },
    }
}

/// Walks policy sets for one request, collecting what applied.
struct Evaluator<'a, 'r> {
    request: &'r Request<'r>,
    /// The action in ASCII lower case, when it is ASCII and short enough to lower on the
    /// stack.
    action_lower: Option<&'r str>,
    service: &'r str,
    has_boundary: bool,
    matched: Vec<MatchedStatement<'a>>,
    missing: Vec<&'a str>,
}

/// A policy variable or condition could not be resolved: the statement does not count.
struct Unresolved;

impl<'a> Evaluator<'a, '_> {
    /// Evaluates the levels of an organization policy type; each must allow.
    fn levels(&mut self, levels: &'a [PolicySet], ty: PolicyType) -> SetResult {
        let mut all = SetResult {
            allow: true,
            ..SetResult::default()
        };
        for (level, set) in levels.iter().enumerate() {
            let r = self.set(set, ty, Some(level));
            all.allow &= r.allow;
            all.deny |= r.deny;
        }
        all
    }

    fn set(&mut self, set: &'a PolicySet, ty: PolicyType, level: Option<usize>) -> SetResult {
        let mut result = SetResult::default();
        for st in set.candidates(self.service) {
            let Some(grant) = self.applies(st) else {
                continue;
            };
            match st.effect {
                Effect::Allow => {
                    result.allow = true;
                    result.grant = result.grant.max(Some(grant));
                }
                Effect::Deny => result.deny = true,
            }
            self.matched.push(MatchedStatement {
                policy_type: ty,
                level,
                policy_id: set.policy_id(st.policy),
                statement_index: usize::try_from(st.index).unwrap_or(usize::MAX),
                sid: st.sid.as_deref(),
                effect: st.effect,
            });
        }
        result
    }

    /// Whether the statement applies to the request, and if so how directly its principal
    /// names the caller (`Direct` when it has no principal element).
    fn applies(&mut self, st: &'a CompiledStatement) -> Option<Grant> {
        if !st.action.applies_to(self.request.action, self.action_lower) {
            return None;
        }
        let grant = match &st.principal {
            None => Grant::Direct,
            Some(p) if p.negated => {
                if excluded(p, self.request.principal, self.has_boundary) {
                    return None;
                }
                Grant::Direct
            }
            Some(p) => grant(p, self.request.principal)?,
        };
        if let Some(resource) = &st.resource {
            if !self.resource_matches(resource).ok()? {
                return None;
            }
        }
        for c in st.conditions.iter() {
            if !self.condition(c).ok()? {
                return None;
            }
        }
        Some(grant)
    }

    fn resource_matches(&mut self, res: &'a CompiledResource) -> Result<bool, Unresolved> {
        let keys = self.request.keys;
        let arn = self.request.resource;
        let mut any = false;
        for p in res.block.patterns() {
            let t = p.template();
            match t.try_matches_with(arn, |k| keys.get(k).and_then(ContextValue::single)) {
                Some(true) => {
                    any = true;
                    // Without variables nothing later can invalidate the statement.
                    if !res.has_variables {
                        break;
                    }
                }
                Some(false) => {}
                None => {
                    self.note_unresolved(t);
                    return Err(Unresolved);
                }
            }
        }
        Ok(match res.block {
            ResourceBlock::Resource(_) => any,
            ResourceBlock::NotResource(_) => !any,
        })
    }

    fn condition(&mut self, c: &'a CompiledCondition) -> Result<bool, Unresolved> {
        let keys = self.request.keys;
        let values = keys.values_lower(c.key_hash, &c.key_lower);
        if let Test::Null(expected) = &c.test {
            let absent = values.is_none();
            return Ok(expected.iter().flatten().any(|&want| want == absent));
        }
        let Some(values) = values else {
            self.note_missing(&c.key);
            return Ok(if c.if_exists {
                true
            } else {
                match c.set {
                    // Every one of no values matches.
                    Some(SetQualifier::ForAllValues) => true,
                    Some(SetQualifier::ForAnyValue) => false,
                    // A key that is not there does not match, so a negated operator holds.
                    None => c.negated,
                }
            });
        };
        // Per request value: whether it matches some policy value (for a negated operator,
        // none). A request value that does not read as the operator's type matches nothing.
        let mut outcome_for = |v: &str| -> Result<bool, Unresolved> {
            Ok(self
                .test_value(&c.test, v)?
                .is_some_and(|matched| matched != c.negated))
        };
        let mut any = false;
        let mut all = true;
        for v in values {
            let r = outcome_for(v)?;
            any |= r;
            all &= r;
        }
        Ok(match c.set {
            Some(SetQualifier::ForAnyValue) => any,
            Some(SetQualifier::ForAllValues) => all,
            // Without a set operator a positive operator holds when any value matches, and a
            // negated one is its complement: no value matches.
            None if c.negated => all,
            None => any,
        })
    }

    /// Whether one request value matches any of the policy's values: `Ok(None)` when the
    /// value is not of the operator's type.
    fn test_value(&mut self, test: &'a Test, v: &str) -> Result<Option<bool>, Unresolved> {
        let keys = self.request.keys;
        let resolve = |k: &str| keys.get(k).and_then(ContextValue::single);
        let matched = match test {
            Test::StringEquals { fold, values } => {
                let mut matched = false;
                for pv in values.iter() {
                    matched |= self.plain_equals(pv, v, *fold)?;
                }
                matched
            }
            Test::StringLike(templates) => {
                let mut matched = false;
                for t in templates.iter() {
                    match t.try_matches_with(v, resolve) {
                        Some(m) => matched |= m,
                        None => {
                            self.note_unresolved(t);
                            return Err(Unresolved);
                        }
                    }
                }
                matched
            }
            Test::Numeric(cmp, values) => {
                let Some(n) = Number::parse(v) else {
                    return Ok(None);
                };
                values
                    .iter()
                    .flatten()
                    .any(|p| n.compare(p).is_some_and(|o| cmp.holds(o)))
            }
            Test::Date(cmp, values) => {
                let Some(t) = parse_date(v) else {
                    return Ok(None);
                };
                values.iter().flatten().any(|p| cmp.holds(t.cmp(p)))
            }
            Test::Bool(values) => {
                let Some(b) = parse_bool(v) else {
                    return Ok(None);
                };
                let mut matched = false;
                for pv in values.iter() {
                    let want = match pv {
                        BoolValue::Fixed(want) => *want,
                        BoolValue::Dynamic(parts) => parse_bool(&self.render(parts)?),
                    };
                    matched |= want == Some(b);
                }
                matched
            }
            Test::Binary(values) => values.iter().flatten().any(|p| base64_equals(v, p)),
            Test::Ip(values) => {
                let Some(ip) = parse_ip(v) else {
                    return Ok(None);
                };
                values.iter().flatten().any(|cidr| cidr.contains(ip))
            }
            Test::Arn(patterns) => {
                let mut fields = v.splitn(6, ':');
                let request: [Option<&str>; 6] = std::array::from_fn(|_| fields.next());
                let [Some(_), Some(_), Some(_), Some(_), Some(_), Some(_)] = request else {
                    return Ok(None);
                };
                let mut matched = false;
                for p in patterns.iter().flatten() {
                    matched |= self.arn_matches(p, &request)?;
                }
                matched
            }
            Test::Null(_) => false,
        };
        Ok(Some(matched))
    }

    fn arn_matches(
        &mut self,
        pattern: &'a ArnPattern,
        request: &[Option<&str>; 6],
    ) -> Result<bool, Unresolved> {
        let keys = self.request.keys;
        let mut all = true;
        for (field, value) in pattern.fields.iter().zip(request) {
            let value = value.unwrap_or_default();
            match field.try_matches_with(value, |k| keys.get(k).and_then(ContextValue::single)) {
                Some(m) => all &= m,
                None => {
                    self.note_unresolved(field);
                    return Err(Unresolved);
                }
            }
        }
        Ok(all)
    }

    /// Exact comparison of a request value with a policy value, variables substituted.
    fn plain_equals(
        &mut self,
        pv: &'a PlainValue,
        input: &str,
        fold: bool,
    ) -> Result<bool, Unresolved> {
        let parts = match pv {
            PlainValue::Literal(s) if fold => {
                return Ok(match_literal_at(s, input, true) == Some(input.len()))
            }
            PlainValue::Literal(s) => return Ok(bytes_eq(s.as_bytes(), input.as_bytes())),
            PlainValue::Dynamic(parts) => parts,
        };
        let keys = self.request.keys;
        let mut rest = Some(input);
        for part in parts.iter() {
            let piece = match part {
                TemplatePart::Literal(s) => s.as_str(),
                TemplatePart::AnyRun => "*",
                TemplatePart::AnyChar => "?",
                TemplatePart::Variable(var) => {
                    match keys
                        .get(&var.key)
                        .and_then(ContextValue::single)
                        .or(var.default.as_deref())
                    {
                        Some(value) => value,
                        None => {
                            self.note_missing(&var.key);
                            return Err(Unresolved);
                        }
                    }
                }
            };
            rest = rest.and_then(|r| r.get(match_literal_at(piece, r, fold)?..));
        }
        Ok(rest == Some(""))
    }

    /// A policy value with variables substituted, for the rare operators that need its text.
    fn render(&mut self, parts: &'a [TemplatePart]) -> Result<String, Unresolved> {
        let keys = self.request.keys;
        let mut out = String::new();
        for part in parts {
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                TemplatePart::AnyRun => out.push('*'),
                TemplatePart::AnyChar => out.push('?'),
                TemplatePart::Variable(var) => {
                    match keys
                        .get(&var.key)
                        .and_then(ContextValue::single)
                        .or(var.default.as_deref())
                    {
                        Some(value) => out.push_str(value),
                        None => {
                            self.note_missing(&var.key);
                            return Err(Unresolved);
                        }
                    }
                }
            }
        }
        Ok(out)
    }

    fn note_unresolved(&mut self, t: &'a Template) {
        let keys = self.request.keys;
        for var in t.variables() {
            if var.default.is_none() && keys.get(&var.key).and_then(ContextValue::single).is_none()
            {
                self.note_missing(&var.key);
            }
        }
    }

    fn note_missing(&mut self, key: &'a str) {
        if !self.missing.iter().any(|k| k.eq_ignore_ascii_case(key)) {
            self.missing.push(key);
        }
    }
}

/// How a `Principal` element names the caller, if it does.
fn grant(p: &CompiledPrincipal, who: &RequestPrincipal) -> Option<Grant> {
    if p.everyone {
        return Some(Grant::Direct);
    }
    let named = |arn: &str| p.arns.iter().any(|a| &**a == arn);
    let account = || {
        let id = who.account();
        let by_id = !id.is_empty() && p.accounts.iter().any(|a| &**a == id);
        (by_id || canonical_user_listed(p, who)).then_some(Grant::Account)
    };
    match who.kind() {
        PrincipalKind::Root => account().map(|_| Grant::Direct),
        PrincipalKind::User => {
            if named(who.arn()) {
                Some(Grant::Direct)
            } else {
                account()
            }
        }
        PrincipalKind::RoleSession { role_arn: entity }
        | PrincipalKind::FederatedUser { user_arn: entity } => {
            if named(who.arn()) {
                Some(Grant::Direct)
            } else if named(entity) {
                Some(Grant::Entity)
            } else {
                account()
            }
        }
        PrincipalKind::Service => p
            .services
            .iter()
            .any(|s| s.eq_ignore_ascii_case(who.arn()))
            .then_some(Grant::Direct),
        PrincipalKind::Federated => p
            .federated
            .iter()
            .any(|f| &**f == who.arn())
            .then_some(Grant::Direct),
        PrincipalKind::Anonymous => None,
    }
}

/// Whether the element names the S3 canonical user id of the caller's account.
fn canonical_user_listed(p: &CompiledPrincipal, who: &RequestPrincipal) -> bool {
    who.canonical_user()
        .is_some_and(|id| p.canonical_users.iter().any(|c| &**c == id))
}

/// Whether a `NotPrincipal` element exempts the caller. AWS may check the caller's account,
/// then its role, then the session, so the caller is exempt only when each of them is listed;
/// and a `NotPrincipal` deny always applies to a user or role with a permissions boundary.
fn excluded(p: &CompiledPrincipal, who: &RequestPrincipal, has_boundary: bool) -> bool {
    if p.everyone {
        return true;
    }
    let named = |arn: &str| p.arns.iter().any(|a| &**a == arn);
    let account = || {
        let id = who.account();
        (!id.is_empty() && p.accounts.iter().any(|a| &**a == id)) || canonical_user_listed(p, who)
    };
    match who.kind() {
        PrincipalKind::User
        | PrincipalKind::RoleSession { .. }
        | PrincipalKind::FederatedUser { .. }
            if has_boundary =>
        {
            false
        }
        PrincipalKind::Root => account(),
        PrincipalKind::User | PrincipalKind::FederatedUser { .. } => named(who.arn()) && account(),
        PrincipalKind::RoleSession { role_arn } => named(who.arn()) && named(role_arn) && account(),
        PrincipalKind::Service => p.services.iter().any(|s| s.eq_ignore_ascii_case(who.arn())),
        PrincipalKind::Federated => p.federated.iter().any(|f| &**f == who.arn()),
        PrincipalKind::Anonymous => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::ContextKeys;
    use crate::{parse, PolicyKind};

    fn set(docs: &[&str], kind: PolicyKind) -> PolicySet {
        let policies: Vec<_> = docs
            .iter()
            .map(|d| parse(d, kind).expect("valid policy"))
            .collect();
        PolicySet::new(
            policies
                .iter()
                .enumerate()
                .map(|(i, p)| (format!("p{i}"), p)),
        )
    }

    fn identity(docs: &[&str]) -> PolicySet {
        set(docs, PolicyKind::Identity)
    }

    fn alice() -> RequestPrincipal {
        RequestPrincipal::user("arn:aws:iam::111122223333:user/alice")
    }

    fn cond(block: &str) -> String {
        format!(
            r#"{{"Version":"2012-10-17","Statement":{{"Effect":"Allow","Action":"s3:GetObject","Resource":"*","Condition":{block}}}}}"#
        )
    }

    /// Whether an allow statement with `block` applies to a request with `keys`.
    fn holds(block: &str, keys: &ContextKeys) -> bool {
        let policies = identity(&[&cond(block)]);
        let who = alice();
        let request = Request::new(&who, "s3:GetObject", "arn:aws:s3:::b/k", keys);
        evaluate(&Inputs::new(&policies), &request).is_allowed()
    }

    fn keys(pairs: &[(&str, &str)]) -> ContextKeys {
        pairs.iter().map(|(k, v)| (*k, *v)).collect()
    }

    fn multi(key: &str, values: &[&str]) -> ContextKeys {
        ContextKeys::new().with(key, values)
    }

    #[test]
    fn string_operators() {
        let k = keys(&[("aws:PrincipalTag/team", "Red"), ("aws:username", "alice")]);
        assert!(holds(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"Red"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringEquals":{"AWS:PRINCIPALTAG/TEAM":["Blue","Red"]}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"red"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringEqualsIgnoreCase":{"aws:PrincipalTag/team":"rED"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":["Blue","Green"]}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"StringNotEquals":{"aws:PrincipalTag/team":["Blue","Red"]}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"StringNotEqualsIgnoreCase":{"aws:PrincipalTag/team":"RED"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringLike":{"aws:PrincipalTag/team":"R*"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringLike":{"aws:PrincipalTag/team":"R?d"}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"StringLike":{"aws:PrincipalTag/team":"r*"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringNotLike":{"aws:PrincipalTag/team":"B*"}}"#,
            &k
        ));
        // `*` is a plain character for StringEquals.
        assert!(!holds(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"R*"}}"#,
            &k
        ));
        let star = keys(&[("k", "a**")]);
        assert!(holds(r#"{"StringEquals":{"k":"a**"}}"#, &star));
        assert!(!holds(r#"{"StringEquals":{"k":"a*"}}"#, &star));
        assert!(holds(r#"{"StringLike":{"k":"a${*}${*}"}}"#, &star));
        assert!(!holds(r#"{"StringLike":{"k":"a${*}"}}"#, &star));
        // Variables.
        assert!(holds(
            r#"{"StringEquals":{"aws:PrincipalTag/team":"${aws:PrincipalTag/team}"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringLike":{"k":"${aws:username}*"}}"#,
            &keys(&[("k", "alice-1"), ("aws:username", "alice")])
        ));
        assert!(holds(
            r#"{"StringEqualsIgnoreCase":{"k":"x-${aws:username}"}}"#,
            &keys(&[("k", "X-ALICE"), ("aws:username", "alice")])
        ));
    }

    #[test]
    fn unresolvable_variables_void_the_statement() {
        let k = keys(&[("k", "v")]);
        // Neither a positive nor a negated operator applies when a variable cannot be resolved.
        assert!(!holds(r#"{"StringEquals":{"k":"${aws:username}"}}"#, &k));
        assert!(!holds(r#"{"StringNotEquals":{"k":"${aws:username}"}}"#, &k));
        assert!(!holds(r#"{"StringNotLike":{"k":"${aws:username}"}}"#, &k));
        assert!(holds(
            r#"{"StringNotEquals":{"k":"${aws:username, 'x'}"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"StringEquals":{"k":"${aws:username, 'v'}"}}"#,
            &k
        ));
        // A multivalued key is not a policy variable.
        let m = multi("aws:TagKeys", &["v"]).with("k", "v");
        assert!(!holds(r#"{"StringEquals":{"k":"${aws:TagKeys}"}}"#, &m));
    }

    #[test]
    fn missing_keys() {
        let none = ContextKeys::new();
        assert!(!holds(r#"{"StringEquals":{"k":"v"}}"#, &none));
        assert!(holds(r#"{"StringNotEquals":{"k":"v"}}"#, &none));
        assert!(holds(r#"{"StringNotLike":{"k":"v"}}"#, &none));
        assert!(holds(
            r#"{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}"#,
            &none
        ));
        assert!(holds(
            r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sns:*:*:*"}}"#,
            &none
        ));
        assert!(!holds(r#"{"NumericLessThan":{"k":"5"}}"#, &none));
        assert!(holds(r#"{"StringEqualsIfExists":{"k":"v"}}"#, &none));
        assert!(holds(r#"{"ForAllValues:StringEquals":{"k":"v"}}"#, &none));
        assert!(!holds(r#"{"ForAnyValue:StringEquals":{"k":"v"}}"#, &none));
        assert!(holds(
            r#"{"ForAllValues:StringNotEquals":{"k":"v"}}"#,
            &none
        ));
        assert!(!holds(
            r#"{"ForAnyValue:StringNotEquals":{"k":"v"}}"#,
            &none
        ));
        assert!(holds(r#"{"Null":{"k":"true"}}"#, &none));
        assert!(!holds(r#"{"Null":{"k":"false"}}"#, &none));
        // A key with no values counts as missing.
        let empty = ContextKeys::new().with("k", ContextValue::Multi(Vec::new()));
        assert!(holds(r#"{"Null":{"k":true}}"#, &empty));
        assert!(holds(r#"{"ForAllValues:StringEquals":{"k":"v"}}"#, &empty));
        let present = keys(&[("k", "x")]);
        assert!(holds(r#"{"Null":{"k":"false"}}"#, &present));
        assert!(holds(r#"{"Null":{"k":["true","false"]}}"#, &present));
        assert!(!holds(r#"{"StringEqualsIfExists":{"k":"v"}}"#, &present));
    }

    #[test]
    fn set_operators() {
        let tags = multi("aws:TagKeys", &["Project", "Owner"]);
        assert!(holds(
            r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["Project","Owner","Env"]}}"#,
            &tags
        ));
        assert!(!holds(
            r#"{"ForAllValues:StringEquals":{"aws:TagKeys":["Project"]}}"#,
            &tags
        ));
        assert!(holds(
            r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["Project"]}}"#,
            &tags
        ));
        assert!(!holds(
            r#"{"ForAnyValue:StringEquals":{"aws:TagKeys":["Env"]}}"#,
            &tags
        ));
        assert!(holds(
            r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["Env"]}}"#,
            &tags
        ));
        assert!(!holds(
            r#"{"ForAllValues:StringNotEquals":{"aws:TagKeys":["Owner"]}}"#,
            &tags
        ));
        assert!(holds(
            r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["Owner"]}}"#,
            &tags
        ));
        assert!(!holds(
            r#"{"ForAnyValue:StringNotEquals":{"aws:TagKeys":["Owner","Project"]}}"#,
            &tags
        ));
        assert!(holds(
            r#"{"ForAllValues:StringLike":{"aws:TagKeys":["Pro*","Own*"]}}"#,
            &tags
        ));
        // Without a set operator, a positive operator needs one value to match and a negated
        // one needs none to.
        assert!(holds(r#"{"StringEquals":{"aws:TagKeys":"Owner"}}"#, &tags));
        assert!(!holds(
            r#"{"StringNotEquals":{"aws:TagKeys":"Owner"}}"#,
            &tags
        ));
        assert!(holds(r#"{"StringNotEquals":{"aws:TagKeys":"Env"}}"#, &tags));
    }

    #[test]
    fn typed_operators() {
        let k = keys(&[
            ("s3:max-keys", "10"),
            ("aws:CurrentTime", "2020-06-01T12:00:00Z"),
            ("aws:EpochTime", "1591012800"),
            ("aws:SecureTransport", "true"),
            ("aws:SourceIp", "203.0.113.7"),
            ("bin", "QmluYXJ5VmFsdWVJbkJhc2U2NA=="),
            ("aws:SourceArn", "arn:aws:sns:us-east-2:123456789012:topic"),
            ("text", "abc"),
        ]);
        assert!(holds(
            r#"{"NumericLessThanEquals":{"s3:max-keys":"10"}}"#,
            &k
        ));
        assert!(holds(r#"{"NumericLessThanEquals":{"s3:max-keys":10}}"#, &k));
        assert!(!holds(r#"{"NumericLessThan":{"s3:max-keys":"10"}}"#, &k));
        assert!(holds(r#"{"NumericGreaterThan":{"s3:max-keys":"9.5"}}"#, &k));
        assert!(holds(
            r#"{"NumericGreaterThanEquals":{"s3:max-keys":"1e1"}}"#,
            &k
        ));
        assert!(holds(r#"{"NumericEquals":{"s3:max-keys":["1","10"]}}"#, &k));
        assert!(holds(
            r#"{"NumericNotEquals":{"s3:max-keys":["1","2"]}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"NumericNotEquals":{"s3:max-keys":["1","10"]}}"#,
            &k
        ));
        assert!(!holds(r#"{"NumericEquals":{"s3:max-keys":"ten"}}"#, &k));
        // A request value that is not a number matches neither way.
        assert!(!holds(r#"{"NumericEquals":{"text":"1"}}"#, &k));
        assert!(!holds(r#"{"NumericNotEquals":{"text":"1"}}"#, &k));
        assert!(holds(
            r#"{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"DateLessThan":{"aws:CurrentTime":"2021-01-01"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"DateEquals":{"aws:CurrentTime":"1591012800"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"DateEquals":{"aws:EpochTime":"2020-06-01T14:00:00+02:00"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"DateLessThanEquals":{"aws:EpochTime":"2020-06-01T12:00:00Z"}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"DateGreaterThanEquals":{"aws:EpochTime":"2020-06-01T12:00:01Z"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"DateNotEquals":{"aws:CurrentTime":"2020-06-01T12:00:01Z"}}"#,
            &k
        ));
        assert!(holds(r#"{"Bool":{"aws:SecureTransport":"true"}}"#, &k));
        assert!(holds(r#"{"Bool":{"aws:SecureTransport":true}}"#, &k));
        assert!(holds(r#"{"Bool":{"aws:SecureTransport":"TRUE"}}"#, &k));
        assert!(!holds(r#"{"Bool":{"aws:SecureTransport":"false"}}"#, &k));
        assert!(holds(
            r#"{"BinaryEquals":{"bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
            &k
        ));
        assert!(holds(
            r#"{"BinaryEquals":{"bin":"QmluYXJ5VmFsdWVJbkJhc2U2NA"}}"#,
            &k
        ));
        assert!(!holds(r#"{"BinaryEquals":{"bin":"QUJD"}}"#, &k));
        assert!(holds(
            r#"{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","203.0.113.0/24"]}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"IpAddress":{"aws:SourceIp":"203.0.114.0/24"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"NotIpAddress":{"aws:SourceIp":"203.0.114.0/24"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:us-east-2:123456789012:topic"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sns:*:123456789012:*"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"ArnEquals":{"aws:SourceArn":"arn:aws:sns:*:123456789012:t?pic"}}"#,
            &k
        ));
        assert!(!holds(
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:sqs:*:123456789012:*"}}"#,
            &k
        ));
        assert!(holds(
            r#"{"ArnNotLike":{"aws:SourceArn":"arn:aws:sqs:*:*:*"}}"#,
            &k
        ));
        assert!(!holds(r#"{"ArnLike":{"aws:SourceArn":"*"}}"#, &k));
    }

    #[test]
    fn arn_fields_are_matched_separately() {
        // The example from "Condition operators", ARN condition operators.
        let k = keys(&[(
            "aws:SourceArn",
            "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt",
        )]);
        let pattern = "arn:aws:someservice:*:111122223333:finance/*";
        assert!(holds(
            &format!(r#"{{"StringLike":{{"aws:SourceArn":"{pattern}"}}}}"#),
            &k
        ));
        assert!(!holds(
            &format!(r#"{{"ArnLike":{{"aws:SourceArn":"{pattern}"}}}}"#),
            &k
        ));
        let var = keys(&[
            ("aws:SourceArn", "arn:aws:iam::123456789012:user/alice"),
            ("aws:PrincipalAccount", "123456789012"),
        ]);
        assert!(holds(
            r#"{"ArnLike":{"aws:SourceArn":"arn:aws:iam::${aws:PrincipalAccount}:user/*"}}"#,
            &var
        ));
    }

    #[test]
    fn missing_keys_are_recorded_once() {
        let policies = identity(&[&cond(
            r#"{"StringEqualsIfExists":{"aws:RequestTag/x":"1"},"StringLike":{"k":"${aws:PrincipalTag/team}"},"Bool":{"AWS:REQUESTTAG/X":"true"}}"#,
        )]);
        let who = alice();
        let k = keys(&[("k", "v")]);
        let request = Request::new(&who, "s3:GetObject", "*", &k);
        let d = evaluate(&Inputs::new(&policies), &request);
        assert_eq!(
            d.missing_context_keys,
            ["aws:RequestTag/x", "aws:PrincipalTag/team"]
        );
        assert_eq!(d.outcome, Outcome::ImplicitDeny);
    }

    #[test]
    fn canonical_users_stand_for_their_account() {
        let bucket = set(
            &[
                r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Principal":{"CanonicalUser":"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"},"Action":"s3:GetObject","Resource":"*"}}"#,
            ],
            PolicyKind::Resource,
        );
        let allow_s3 = identity(&[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#,
        ]);
        let who = RequestPrincipal::user("arn:aws:iam::444455556666:user/bob").with_canonical_user(
            "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be",
        );
        let k = ContextKeys::new();
        let inputs = Inputs::new(&allow_s3)
            .with_resource_policy(&bucket, ResourcePolicyKind::Resource)
            .with_resource_account("111122223333");
        let request = Request::new(&who, "s3:GetObject", "arn:aws:s3:::b/k", &k);
        assert!(evaluate(&inputs, &request).is_allowed());
        let stranger = RequestPrincipal::user("arn:aws:iam::444455556666:user/bob");
        let request = Request::new(&stranger, "s3:GetObject", "arn:aws:s3:::b/k", &k);
        assert!(!evaluate(&inputs, &request).is_allowed());
    }

    #[test]
    fn each_resource_is_decided() {
        let policies = identity(&[
            r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::a/*"}}"#,
        ]);
        let who = alice();
        let k = ContextKeys::new();
        let inputs = Inputs::new(&policies);
        let request = Request::new(&who, "s3:CopyObject", "*", &k);
        let decisions: Vec<(&str, bool)> =
            evaluate_each(&inputs, request, &["arn:aws:s3:::a/1", "arn:aws:s3:::b/2"])
                .map(|(r, d)| (r, d.is_allowed()))
                .collect();
        assert_eq!(
            decisions,
            [("arn:aws:s3:::a/1", true), ("arn:aws:s3:::b/2", false)]
        );
    }

    #[test]
    fn messages() {
        let policies = identity(&[
            r#"{"Version":"2012-10-17","Statement":{"Sid":"Deny1","Effect":"Deny","Action":"iam:DeleteUser","Resource":"*"}}"#,
        ]);
        let who = RequestPrincipal::user("arn:aws:iam::123456789012:user/bob");
        let k = ContextKeys::new();
        let inputs = Inputs::new(&policies);
        let create = Request::new(
            &who,
            "iam:CreateUser",
            "arn:aws:iam::123456789012:user/alice",
            &k,
        );
        let d = evaluate(&inputs, &create);
        assert_eq!(
            d.access_denied_message(who.arn(), create.action, create.resource)
                .as_deref(),
            Some(
                "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: \
                 iam:CreateUser on resource: arn:aws:iam::123456789012:user/alice because no \
                 identity-based policy allows the iam:CreateUser action"
            )
        );
        let delete = Request::new(&who, "iam:DeleteUser", "*", &k);
        let d = evaluate(&inputs, &delete);
        assert_eq!(d.outcome, Outcome::ExplicitDeny);
        assert_eq!(
            d.reason("iam:DeleteUser").as_deref(),
            Some("with an explicit deny in an identity-based policy")
        );
        assert_eq!(
            d.matched,
            [MatchedStatement {
                policy_type: PolicyType::Identity,
                level: None,
                policy_id: "p0",
                statement_index: 0,
                sid: Some("Deny1"),
                effect: Effect::Deny,
            }]
        );
        assert_eq!(
            d.access_denied_message(who.arn(), "iam:DeleteUser", "*")
                .as_deref(),
            Some(
                "User: arn:aws:iam::123456789012:user/bob is not authorized to perform: \
                 iam:DeleteUser with an explicit deny in an identity-based policy"
            )
        );
        let scp_denied = Decision {
            outcome: Outcome::ImplicitDeny,
            decided_by: Some(PolicyType::ServiceControl),
            matched: Vec::new(),
            missing_context_keys: Vec::new(),
            types: TypeResults::default(),
        };
        assert_eq!(
            scp_denied.reason("s3:GetObject").as_deref(),
            Some("with an explicit deny in a service control policy")
        );
    }
}
