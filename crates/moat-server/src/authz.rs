//! Authorization of every request by the policy engine.
//!
//! An IAM user's policies (its own, its groups', its permissions boundary) are loaded and
//! compiled once, then kept in memory for as long as nothing has been written: every write
//! bumps the node's generation, and the next request of each principal recompiles its set. A
//! decision itself reads only memory; what the request acts on (the resource's ARN with its
//! path, its tags) is read with the call, as part of its request context.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, RwLock};

use moat_iam::authorization::{entity_policies, EntityRef};
use moat_policy::{evaluate, ContextKeys, Inputs, PolicySet, Request, RequestPrincipal};
use moat_store::Store;
use moat_types::{AccountId, Principal, PrincipalKind, Session};
use moat_wire::{CommonError, ErrorResponse};
use time::OffsetDateTime;

use crate::service::PreparedCall;

/// Facts of the request itself, which become global condition keys.
pub struct RequestFacts<'a> {
    pub source_ip: IpAddr,
    pub secure_transport: bool,
    pub user_agent: &'a str,
    /// The region the request was signed for (`aws:RequestedRegion`).
    pub region: &'a str,
    pub now: OffsetDateTime,
}

/// An IAM user's or role's policies, compiled, with the condition keys every principal acting
/// as it shares. Keys that differ per session of a role (`aws:userid`, the session ARN) are
/// not kept here: they are added per request.
pub struct CompiledIdentity {
    generation: u64,
    /// The user's or role's ARN.
    entity_arn: String,
    identity: PolicySet,
    boundary: Option<PolicySet>,
    /// `aws:PrincipalTag/*` from the user's or role's tags.
    keys: ContextKeys,
}

/// Compiled identities by account, kind and lower-cased name, and the session policies of
/// temporary credentials by access key id.
#[derive(Default)]
pub struct IdentityCache {
    entries: RwLock<HashMap<IdentityKey, Arc<CompiledIdentity>>>,
    sessions: RwLock<HashMap<String, Arc<CompiledSession>>>,
    /// Resource policies (key policies, trust policies) compiled, by resource; an entry
    /// serves only the very document it was compiled from, so no write can make it stale.
    resource_policies: RwLock<HashMap<String, Arc<CompiledResourcePolicy>>>,
}

struct CompiledResourcePolicy {
    document: Arc<str>,
    set: PolicySet,
}

/// Account, `user` or `role`, lower-cased name.
type IdentityKey = (AccountId, &'static str, String);

/// A session's policies (inline and managed, together one session policy set), compiled.
struct CompiledSession {
    generation: u64,
    policies: Option<PolicySet>,
}

/// More entries than this in memory at once and a cache starts over; entries are recompiled
/// on their next use.
const IDENTITY_CACHE_CAPACITY: usize = 10_000;

/// The IAM identity whose policies a principal acts with.
#[derive(Clone, Copy)]
enum Identity<'a> {
    User(&'a str),
    Role(&'a str),
}

impl IdentityCache {
    fn identity(
        &self,
        store: &Store,
        principal: &Principal,
        who: Identity<'_>,
        generation: u64,
    ) -> Result<Arc<CompiledIdentity>, ErrorResponse> {
        let key = match who {
            Identity::User(name) => (principal.account, "user", name.to_lowercase()),
            Identity::Role(name) => (principal.account, "role", name.to_lowercase()),
        };
        if let Some(found) = self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if found.generation == generation {
                return Ok(found.clone());
            }
        }
        let compiled = Arc::new(compile(store, principal, who, generation)?);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= IDENTITY_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(key, compiled.clone());
        Ok(compiled)
    }

    fn session(
        &self,
        store: &Store,
        principal: &Principal,
        session: &Session,
        generation: u64,
    ) -> Result<Arc<CompiledSession>, ErrorResponse> {
        if let Some(found) = self
            .sessions
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&principal.access_key_id)
        {
            if found.generation == generation {
                return Ok(found.clone());
            }
        }
        let loaded = store
            .read(|tx| session_policies(tx, principal.account, session))
            .map_err(|e| {
                tracing::error!(principal = %principal.arn, error = %e, "cannot load session policies");
                ErrorResponse::from_error(&e)
            })?;
        let policies = (session.policy.is_some() || !session.policy_arns.is_empty())
            .then(|| PolicySet::new(loaded.iter().map(|(id, p)| (id.clone(), p.as_ref()))));
        let compiled = Arc::new(CompiledSession {
            generation,
            policies,
        });
        let mut sessions = self.sessions.write().unwrap_or_else(|p| p.into_inner());
        if sessions.len() >= IDENTITY_CACHE_CAPACITY {
            sessions.clear();
        }
        sessions.insert(principal.access_key_id.clone(), compiled.clone());
        Ok(compiled)
    }
}

impl IdentityCache {
    /// A resource's own policy, compiled once per document.
    fn resource_policy(
        &self,
        p: &moat_iam::TargetPolicy,
    ) -> Result<Arc<CompiledResourcePolicy>, ErrorResponse> {
        if let Some(found) = self
            .resource_policies
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&p.id)
        {
            if found.document == p.document {
                return Ok(found.clone());
            }
        }
        let compiled = Arc::new(CompiledResourcePolicy {
            document: p.document.clone(),
            set: compile_resource_policy(p)?,
        });
        let mut entries = self
            .resource_policies
            .write()
            .unwrap_or_else(|p| p.into_inner());
        if entries.len() >= IDENTITY_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(p.id.clone(), compiled.clone());
        Ok(compiled)
    }
}

fn compile(
    store: &Store,
    principal: &Principal,
    who: Identity<'_>,
    generation: u64,
) -> Result<CompiledIdentity, ErrorResponse> {
    let entity = match who {
        Identity::User(name) => EntityRef::User(name),
        Identity::Role(name) => EntityRef::Role(name),
    };
    let loaded = store
        .read(|tx| entity_policies(tx, principal.account, entity))
        .map_err(|e| {
            tracing::error!(principal = %principal.arn, error = %e, "cannot load the policies of an identity");
            ErrorResponse::from_error(&e)
        })?;
    // The user or role was deleted since the credentials were issued: nothing allows it
    // anything.
    let loaded = loaded.unwrap_or_else(|| moat_iam::authorization::EntityPolicies {
        arn: principal.arn.clone(),
        id: principal.id.clone(),
        identity: Vec::new(),
        boundary: None,
        tags: Vec::new(),
    });
    let identity = PolicySet::new(
        loaded
            .identity
            .iter()
            .map(|p| (p.display_id(), p.policy.as_ref())),
    );
    let boundary = loaded
        .boundary
        .as_ref()
        .map(|b| PolicySet::new([(b.display_id(), b.policy.as_ref())]));
    let mut keys = ContextKeys::new();
    for tag in loaded.tags {
        keys.insert(format!("aws:PrincipalTag/{}", tag.key), tag.value);
    }
    Ok(CompiledIdentity {
        generation,
        entity_arn: loaded.arn,
        identity,
        boundary,
        keys,
    })
}

/// Decides whether `principal` may make `call`: `Ok` to go on, `Err(AccessDenied)` worded as
/// AWS words it.
pub fn authorize(
    store: &Store,
    cache: &IdentityCache,
    generation: u64,
    principal: &Principal,
    call: &dyn PreparedCall,
    facts: &RequestFacts<'_>,
) -> Result<(), ErrorResponse> {
    check_session_scope(principal, call)?;
    if !call.needs_authorization() {
        return Ok(());
    }
    let who = match &principal.kind {
        // The root user may do everything in its own account, and it only ever acts in its
        // own account; service control policies, which could restrict it in a member account,
        // arrive with Organizations. Only a KMS key policy can refuse it.
        PrincipalKind::Root => return authorize_root(cache, principal, call, facts),
        PrincipalKind::User { name, .. } => Identity::User(name),
        PrincipalKind::AssumedRole { role_name, .. } => Identity::Role(role_name),
        PrincipalKind::WebIdentity { provider_arn, .. } => {
            return authorize_federated(principal, provider_arn, call, facts)
        }
    };
    let identity = cache.identity(store, principal, who, generation)?;
    let session = match &principal.session {
        Some(s) => Some((s, cache.session(store, principal, s, generation)?)),
        None => None,
    };
    let request_principal = match who {
        Identity::User(_) => RequestPrincipal::user(principal.arn.clone()),
        Identity::Role(_) => {
            RequestPrincipal::role_session(principal.arn.clone(), identity.entity_arn.clone())
        }
    };
    let request_keys = || {
        let mut keys = identity.keys.clone();
        keys.add_principal_keys(&request_principal);
        keys.insert("aws:userid", principal.id.as_str());
        add_request_keys(&mut keys, facts);
        if let Some((s, _)) = &session {
            add_session_keys(&mut keys, s, facts.now);
        }
        keys
    };
    let caller = Caller {
        cache,
        principal,
        request_principal: &request_principal,
        identity: &identity.identity,
        boundary: identity.boundary.as_ref(),
        session: session.as_ref().and_then(|(_, c)| c.policies.as_ref()),
    };
    caller.decide_all(call, &request_keys)
}

/// A caller's policies and keys, for the decisions one request needs.
struct Caller<'a> {
    cache: &'a IdentityCache,
    principal: &'a Principal,
    request_principal: &'a RequestPrincipal,
    identity: &'a PolicySet,
    boundary: Option<&'a PolicySet>,
    session: Option<&'a PolicySet>,
}

impl Caller<'_> {
    /// Decides the call: its action and every extra action on its target, then each further
    /// target's action. `request_keys` makes the request's own keys, to which each target adds
    /// its keys; they are made again only for a further target, which only a few calls have.
    fn decide_all(
        &self,
        call: &dyn PreparedCall,
        request_keys: &dyn Fn() -> ContextKeys,
    ) -> Result<(), ErrorResponse> {
        let mut target = call.target(self.principal)?;
        let with_target = |target: &mut moat_iam::Target| {
            let mut keys = request_keys();
            for (key, value) in std::mem::take(&mut target.keys) {
                keys.insert(key, value);
            }
            keys
        };
        let keys = with_target(&mut target);
        self.decide(&call.action(), &target, &keys)?;
        for extra in call.extra_actions() {
            self.decide(extra, &target, &keys)?;
        }
        for (action, mut target) in call.further_targets(self.principal)? {
            let keys = with_target(&mut target);
            self.decide(action, &target, &keys)?;
        }
        Ok(())
    }

    /// Decides `action` on `target` with `keys` (the request's and the target's): its
    /// resource policy, the caller's policies, and a grant that allows what no policy allows.
    fn decide(
        &self,
        action: &str,
        target: &moat_iam::Target,
        keys: &ContextKeys,
    ) -> Result<(), ErrorResponse> {
        let request = Request::new(self.request_principal, action, &target.arn, keys);
        let resource_policy = match &target.resource_policy {
            Some(p) => Some(self.cache.resource_policy(p)?),
            None => None,
        };
        let mut inputs = Inputs::new(self.identity);
        if let (Some(compiled), Some(p)) = (&resource_policy, &target.resource_policy) {
            inputs = inputs.with_resource_policy(&compiled.set, p.kind);
        }
        if let Some(account) = &target.resource_account {
            inputs = inputs.with_resource_account(account);
        }
        if let Some(boundary) = self.boundary {
            inputs = inputs.with_boundary(boundary);
        }
        if let Some(policies) = self.session {
            inputs = inputs.with_session(policies);
        }
        let decision = evaluate(&inputs, &request);
        if decision.is_allowed() {
            return Ok(());
        }
        if decision.outcome == moat_policy::Outcome::ImplicitDeny {
            if let Some(grant) = &target.grant {
                tracing::debug!(principal = %self.principal.arn, action, grant, "allowed by a grant");
                return Ok(());
            }
        }
        Err(denied(self.principal, action, &target.arn, &decision))
    }
}

/// The root user: allowed everything in its account, except where a KMS key policy does not
/// admit it (directly or by leaving the decision to the account's IAM policies).
fn authorize_root(
    cache: &IdentityCache,
    principal: &Principal,
    call: &dyn PreparedCall,
    facts: &RequestFacts<'_>,
) -> Result<(), ErrorResponse> {
    if !call.root_needs_resource_policy() {
        return Ok(());
    }
    let request_principal = RequestPrincipal::root(&principal.account.to_string());
    let request_keys = || {
        let mut keys = ContextKeys::new();
        keys.add_principal_keys(&request_principal);
        keys.insert("aws:userid", principal.id.as_str());
        add_request_keys(&mut keys, facts);
        keys
    };
    let caller = Caller {
        cache,
        principal,
        request_principal: &request_principal,
        identity: allow_all()?,
        boundary: None,
        session: None,
    };
    caller.decide_all(call, &request_keys)
}

/// The root user's identity: everything. Compiled once.
fn allow_all() -> Result<&'static PolicySet, ErrorResponse> {
    static ALLOW_ALL: std::sync::OnceLock<Option<PolicySet>> = std::sync::OnceLock::new();
    ALLOW_ALL
        .get_or_init(|| {
            moat_policy::parse(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
                moat_policy::PolicyKind::Identity,
            )
            .map(|policy| PolicySet::new([("root".to_owned(), &policy)]))
            .inspect_err(|e| {
                tracing::error!(error = %e, "the root user's allow-all policy does not parse");
            })
            .ok()
        })
        .as_ref()
        .ok_or_else(|| ErrorResponse::from_error(&CommonError::InternalFailure(String::new())))
}

fn denied(
    principal: &Principal,
    action: &str,
    resource: &str,
    decision: &moat_policy::Decision<'_>,
) -> ErrorResponse {
    let message = decision
        .access_denied_message(&principal.arn, action, resource)
        .unwrap_or_else(|| {
            format!(
                "User: {} is not authorized to perform: {action}",
                principal.arn
            )
        });
    tracing::debug!(
        principal = %principal.arn,
        action,
        resource,
        outcome = ?decision.outcome,
        decided_by = ?decision.decided_by,
        "access denied"
    );
    ErrorResponse::from_error(&CommonError::AccessDenied(message))
}

/// Decides the call of a web identity caller (AssumeRoleWithWebIdentity): it has no policies
/// of its own, so only the target's resource policy (the role's trust policy) naming its
/// provider as `Federated` principal can allow it, with the token's claims as condition keys.
fn authorize_federated(
    principal: &Principal,
    provider_arn: &str,
    call: &dyn PreparedCall,
    facts: &RequestFacts<'_>,
) -> Result<(), ErrorResponse> {
    let action = call.action();
    let denied = || {
        ErrorResponse::from_error(&CommonError::AccessDenied(format!(
            "Not authorized to perform {action}"
        )))
    };
    // A caller whose token was not verified names no provider: nothing can allow it.
    if provider_arn.is_empty() {
        return Err(denied());
    }
    let who = RequestPrincipal::federated(provider_arn);
    let target = call.target(principal)?;
    let mut keys = ContextKeys::new();
    add_request_keys(&mut keys, facts);
    for (key, value) in target.keys {
        keys.insert(key, value);
    }
    let request = Request::new(&who, &action, &target.arn, &keys);
    let Some(policy) = &target.resource_policy else {
        return Err(denied());
    };
    let resource_policy = compile_resource_policy(policy)?;
    let no_identity = PolicySet::new(std::iter::empty::<(String, &moat_policy::Policy)>());
    let mut inputs = Inputs::new(&no_identity).with_resource_policy(&resource_policy, policy.kind);
    if let Some(account) = &target.resource_account {
        inputs = inputs.with_resource_account(account);
    }
    let decision = evaluate(&inputs, &request);
    if decision.is_allowed() {
        return Ok(());
    }
    tracing::debug!(
        provider = provider_arn,
        action,
        resource = %target.arn,
        outcome = ?decision.outcome,
        "web identity access denied"
    );
    Err(denied())
}

/// What credentials from GetSessionToken may do, as AWS limits them: IAM only with MFA, and
/// of STS only AssumeRole and GetCallerIdentity. AWS refuses the rest as an invalid token.
fn check_session_scope(
    principal: &Principal,
    call: &dyn PreparedCall,
) -> Result<(), ErrorResponse> {
    let Some(session) = &principal.session else {
        return Ok(());
    };
    if matches!(principal.kind, PrincipalKind::AssumedRole { .. }) {
        return Ok(());
    }
    let action = call.action();
    let allowed = match action.split_once(':').map(|(service, _)| service) {
        Some("iam") => session.mfa_authenticated_at.is_some(),
        // GetSessionToken answers such credentials itself, with AWS's AccessDenied.
        Some("sts") => matches!(
            action.as_str(),
            "sts:AssumeRole" | "sts:GetCallerIdentity" | "sts:GetSessionToken"
        ),
        _ => true,
    };
    if allowed {
        Ok(())
    } else {
        Err(ErrorResponse::from_error(
            &CommonError::InvalidClientTokenId,
        ))
    }
}

/// A resource's own policy, compiled for one decision. A stored policy that no longer parses
/// fails the request rather than being left out.
fn compile_resource_policy(p: &moat_iam::TargetPolicy) -> Result<PolicySet, ErrorResponse> {
    let kind = match p.kind {
        moat_policy::ResourcePolicyKind::RoleTrust => moat_policy::PolicyKind::Trust,
        _ => moat_policy::PolicyKind::Resource,
    };
    let policy = moat_policy::parse(&p.document, kind).map_err(|e| {
        tracing::error!(resource = %p.id, error = %e, "a stored resource policy does not parse");
        ErrorResponse::from_error(&CommonError::InternalFailure(String::new()))
    })?;
    Ok(PolicySet::new([(p.id.clone(), &policy)]))
}

/// The session's policies: the inline one, then the managed ones by ARN.
fn session_policies(
    tx: &impl moat_store::Reader,
    account: AccountId,
    session: &Session,
) -> Result<Vec<(String, Arc<moat_policy::Policy>)>, moat_iam::IamError> {
    let mut out = Vec::new();
    if let Some(document) = &session.policy {
        let policy =
            moat_policy::parse(document, moat_policy::PolicyKind::Session).map_err(|e| {
                moat_iam::IamError::Internal(format!("a session policy does not parse: {e}"))
            })?;
        out.push(("session-policy".to_owned(), Arc::new(policy)));
    }
    for arn in &session.policy_arns {
        // A managed session policy deleted since: it allows nothing, so nothing it alone
        // allowed stays allowed.
        if let Some(loaded) = moat_iam::authorization::managed_policy(tx, account, arn)? {
            out.push((arn.clone(), loaded.policy));
        }
    }
    Ok(out)
}

/// The keys temporary credentials carry: when they were issued, whether MFA was used and how
/// long ago, the session's tags and source identity.
fn add_session_keys(keys: &mut ContextKeys, session: &Session, now: OffsetDateTime) {
    keys.insert("aws:TokenIssueTime", iso8601(session.issued_at));
    keys.insert(
        "aws:MultiFactorAuthPresent",
        session.mfa_authenticated_at.is_some(),
    );
    if let Some(at) = session.mfa_authenticated_at {
        keys.insert("aws:MultiFactorAuthAge", (now - at).whole_seconds().max(0));
    }
    for (k, v) in &session.tags {
        keys.insert(format!("aws:PrincipalTag/{k}"), v.as_str());
    }
    if let Some(source) = &session.source_identity {
        keys.insert("aws:SourceIdentity", source.as_str());
    }
}

/// The global condition keys every request carries. Long-term access keys carry no MFA or
/// token keys: AWS leaves `aws:MultiFactorAuthPresent`, `aws:MultiFactorAuthAge` and
/// `aws:TokenIssueTime` out of such requests, which the `...IfExists` and `Null` operators
/// rely on.
fn add_request_keys(keys: &mut ContextKeys, facts: &RequestFacts<'_>) {
    keys.insert("aws:SourceIp", canonical_ip(facts.source_ip).to_string());
    keys.insert("aws:SecureTransport", facts.secure_transport);
    keys.insert("aws:CurrentTime", iso8601(facts.now));
    keys.insert("aws:EpochTime", facts.now.unix_timestamp());
    keys.insert("aws:RequestedRegion", facts.region);
    keys.insert("aws:PrincipalIsAWSService", false);
    keys.insert("aws:ViaAWSService", false);
    if !facts.user_agent.is_empty() {
        keys.insert("aws:UserAgent", facts.user_agent);
    }
}

/// An IPv4 client reaching a dual-stack listener shows as `::ffff:a.b.c.d`; policies name it
/// as IPv4.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// `2026-11-30T12:34:56Z`, as AWS sets `aws:CurrentTime`.
fn iso8601(t: OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn current_time_is_iso8601_utc() {
        let t = time::macros::datetime!(2026-11-30 01:02:03.456 +02:00);
        assert_eq!(iso8601(t), "2026-11-29T23:02:03Z");
    }

    #[test]
    fn mapped_ipv4_reads_as_ipv4() {
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(canonical_ip(mapped).to_string(), "10.1.2.3");
        let v6: IpAddr = "2001:db8::1".parse().unwrap();
        assert_eq!(canonical_ip(v6), v6);
    }
}
