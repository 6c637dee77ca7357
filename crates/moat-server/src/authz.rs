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
use moat_types::{AccountId, Principal, PrincipalKind};
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

/// An IAM identity's policies, compiled, with the condition keys that describe it.
pub struct CompiledIdentity {
    generation: u64,
    principal: RequestPrincipal,
    identity: PolicySet,
    boundary: Option<PolicySet>,
    /// `aws:username`, `aws:userid`, `aws:PrincipalArn`, `aws:PrincipalTag/*`, ...
    keys: ContextKeys,
}

/// Compiled identities by account and lower-cased user name.
#[derive(Default)]
pub struct IdentityCache {
    entries: RwLock<HashMap<(AccountId, String), Arc<CompiledIdentity>>>,
}

/// More IAM users than this in memory at once and the cache starts over; they are recompiled
/// on their next request.
const IDENTITY_CACHE_CAPACITY: usize = 10_000;

impl IdentityCache {
    fn get(
        &self,
        store: &Store,
        principal: &Principal,
        name: &str,
        generation: u64,
    ) -> Result<Arc<CompiledIdentity>, ErrorResponse> {
        let key = (principal.account, name.to_lowercase());
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
        let compiled = Arc::new(compile(store, principal, name, generation)?);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= IDENTITY_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(key, compiled.clone());
        Ok(compiled)
    }
}

fn compile(
    store: &Store,
    principal: &Principal,
    name: &str,
    generation: u64,
) -> Result<CompiledIdentity, ErrorResponse> {
    let loaded = store
        .read(|tx| entity_policies(tx, principal.account, EntityRef::User(name)))
        .map_err(|e| {
            tracing::error!(user = %principal.arn, error = %e, "cannot load the policies of a user");
            ErrorResponse::from_error(&e)
        })?;
    // The user was deleted since its key was cached: nothing allows it anything.
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
    let request_principal = RequestPrincipal::user(principal.arn.clone());
    let mut keys = ContextKeys::new();
    keys.add_principal_keys(&request_principal);
    keys.insert("aws:userid", principal.id.as_str());
    for tag in loaded.tags {
        keys.insert(format!("aws:PrincipalTag/{}", tag.key), tag.value);
    }
    Ok(CompiledIdentity {
        generation,
        principal: request_principal,
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
    let name = match &principal.kind {
        // The root user may do everything in its own account, and it only ever acts in its
        // own account; service control policies, which could restrict it in a member account,
        // arrive with Organizations.
        PrincipalKind::Root => return Ok(()),
        PrincipalKind::User { name, .. } => name,
    };
    let identity = cache.get(store, principal, name, generation)?;
    let target = call.target(principal)?;
    let action = call.action();

    let mut keys = identity.keys.clone();
    add_request_keys(&mut keys, facts);
    for (key, value) in target.keys {
        keys.insert(key, value);
    }
    let request = Request::new(&identity.principal, &action, &target.arn, &keys);
    let mut inputs = Inputs::new(&identity.identity);
    if let Some(boundary) = &identity.boundary {
        inputs = inputs.with_boundary(boundary);
    }
    let decision = evaluate(&inputs, &request);
    if decision.is_allowed() {
        return Ok(());
    }
    let message = decision
        .access_denied_message(&principal.arn, &action, &target.arn)
        .unwrap_or_else(|| {
            format!(
                "User: {} is not authorized to perform: {action}",
                principal.arn
            )
        });
    tracing::debug!(
        principal = %principal.arn,
        action,
        resource = %target.arn,
        outcome = ?decision.outcome,
        decided_by = ?decision.decided_by,
        "access denied"
    );
    Err(ErrorResponse::from_error(&CommonError::AccessDenied(
        message,
    )))
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
