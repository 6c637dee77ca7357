//! The seam between the pipeline and each AWS service: decode into the service's typed
//! request, declare action and resource, execute, encode.

pub use moat_iam::Target;
use moat_types::Principal;
use moat_wire::{ErrorResponse, Output, ServiceModel};
use serde_json::Value;
use time::OffsetDateTime;

/// What the pipeline knows of the call by the time it executes.
pub struct CallContext<'a> {
    pub principal: &'a Principal,
    pub now: OffsetDateTime,
    pub request_id: &'a str,
}

/// An AWS service served on the shared endpoint.
pub trait Service: Send + Sync + 'static {
    /// The SigV4 signing name (`iam`), which routes requests.
    fn signing_name(&self) -> &'static str;
    fn model(&self) -> &'static ServiceModel;
    /// The HTTP status of a denial: 403 for most services, 400 for KMS, which answers every
    /// client error with 400.
    fn access_denied_status(&self) -> u16 {
        403
    }
    /// Turns a decoded, validated input into the typed request with its declaration.
    /// `Ok(None)` when the operation exists in AWS's model but Moat does not serve it.
    fn prepare(
        &self,
        operation: &str,
        input: Value,
    ) -> Result<Option<Box<dyn PreparedCall>>, ErrorResponse>;
}

/// One declared operation, ready to authorize and run.
pub trait PreparedCall: Send {
    fn operation(&self) -> &'static str;
    /// `service:Operation`.
    fn action(&self) -> String;
    fn read_only(&self) -> bool;
    /// Whether the call reads the audit trail: events still queued are committed before it
    /// runs, so a lookup sees every call answered before it.
    fn reads_audit_trail(&self) -> bool {
        false
    }
    /// Whether the caller's policies are consulted: a few operations (GetCallerIdentity,
    /// GetSessionToken) need no permission, as in AWS.
    fn needs_authorization(&self) -> bool {
        true
    }
    /// Whether the audit event of a call that changes nothing records its output, as
    /// CloudTrail does for STS's credentials (secrets hidden).
    fn audits_output(&self) -> bool {
        false
    }
    /// Further actions the same request needs on the same resource: `sts:TagSession` when
    /// AssumeRole passes session tags, `sts:SetSourceIdentity` when it sets a source identity.
    fn extra_actions(&self) -> Vec<&'static str> {
        Vec::new()
    }
    /// Whether the resource's own policy must admit even the account's root user, as a KMS
    /// key policy must; otherwise root is allowed everything in its account.
    fn root_needs_resource_policy(&self) -> bool {
        false
    }
    /// Whether the caller is known by a token in the call's input rather than by its signature
    /// (AssumeRoleWithWebIdentity). Only such a call may arrive unsigned; it is authenticated
    /// by [`PreparedCall::authenticate_token`] instead.
    fn authenticates_by_token(&self) -> bool {
        false
    }
    /// For such a call: the caller before its token is checked, attributed to the account the
    /// call addresses so that a refusal is audited there. `None` when no account is named.
    fn token_caller(&self) -> Option<Principal> {
        None
    }
    /// For such a call: verifies the token and returns the caller it stands for. Blocking
    /// (it may fetch an identity provider's keys): the pipeline runs it on the blocking pool.
    fn authenticate_token(&self, _now: OffsetDateTime) -> Result<Principal, ErrorResponse> {
        Err(ErrorResponse::from_error(
            &moat_wire::CommonError::MissingAuthenticationToken,
        ))
    }
    /// What the action applies to: the resource ARN (with an entity's path, so it may read
    /// storage) and the condition keys the resource and the request's parameters bring.
    fn target(&self, principal: &Principal) -> Result<Target, ErrorResponse>;
    /// Further authorizations the request needs, each an action on its own target, all of
    /// which must allow it too: ReEncrypt's `kms:ReEncryptTo` on the destination key, an
    /// alias operation's alias and keys.
    fn further_targets(
        &self,
        _principal: &Principal,
    ) -> Result<Vec<(&'static str, Target)>, ErrorResponse> {
        Ok(Vec::new())
    }
    /// Runs the operation in one storage transaction; the output as the service built it (the
    /// encoder writes query XML from it directly). For a write, the pipeline holds that
    /// transaction open around this call (a write scope) and appends the call's audit event to
    /// it before it commits.
    fn execute(
        self: Box<Self>,
        ctx: &CallContext<'_>,
    ) -> Result<Option<Box<dyn Output>>, ErrorResponse>;
}

/// The error for an input the model accepted but the typed request did not.
pub(crate) fn invalid_input(e: &dyn std::fmt::Display) -> ErrorResponse {
    ErrorResponse::from_error(&moat_wire::CommonError::ValidationError(format!(
        "1 validation error detected: {e}"
    )))
}

/// A service's answer as the encoder takes it: the output, or the error mapped to its AWS code
/// (server-side failures logged, their detail kept from the client).
pub(crate) fn answer<E: moat_wire::AwsError>(
    service: &'static str,
    request_id: &str,
    result: Result<Option<Box<dyn Output>>, E>,
) -> Result<Option<Box<dyn Output>>, ErrorResponse> {
    match result {
        Ok(output) => Ok(output),
        Err(e) => {
            if e.http_status() >= 500 {
                tracing::error!(request_id, service, error = %e, "operation failed");
            }
            Err(ErrorResponse::from_error(&e))
        }
    }
}
