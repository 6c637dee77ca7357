//! Grants (in progress): CreateGrant, ListGrants, RevokeGrant, RetireGrant,
//! ListRetirableGrants, and the grant that allows a call.

use std::collections::BTreeMap;

use moat_store::{Store, Writer};
use moat_types::Principal;

use crate::keys::KeyRecord;
use crate::{Call, Keys, Kms, KmsError};

fn pending(op: &str) -> KmsError {
    KmsError::UnsupportedOperation(format!("{op} is not served yet."))
}

/// The condition keys of a CreateGrant request.
pub(crate) fn create_grant_keys(i: &crate::CreateGrantRequest) -> Keys {
    Keys::default()
        .set("kms:GrantOperations", i.operations.clone())
        .set("kms:GranteePrincipal", i.grantee_principal.as_str())
        .opt("kms:RetiringPrincipal", i.retiring_principal.as_ref())
        .set("kms:GrantIsForAWSResource", false)
}

/// The id of a grant on `key` that gives `principal` `operation`, its constraints satisfied
/// by `context`.
pub fn grant_allowing(
    _store: &Store,
    _key: &KeyRecord,
    _principal: &Principal,
    _operation: &str,
    _context: Option<&BTreeMap<String, String>>,
) -> Result<Option<String>, KmsError> {
    Ok(None)
}

/// Checks grant tokens are well formed.
pub fn check_tokens(_tokens: Option<&[String]>) -> Result<(), KmsError> {
    Ok(())
}

/// Removes every grant of a key being deleted.
pub fn delete_all(_tx: &mut impl Writer, _key: &KeyRecord) -> Result<(), KmsError> {
    Ok(())
}

pub fn create(
    _: &Kms,
    _: &Call<'_>,
    _: crate::CreateGrantRequest,
) -> Result<crate::CreateGrantResponse, KmsError> {
    Err(pending("CreateGrant"))
}

pub fn list(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::ListGrantsRequest,
) -> Result<crate::ListGrantsResponse, KmsError> {
    Err(pending("ListGrants"))
}

pub fn revoke(_: &Kms, _: &Call<'_>, _: &crate::RevokeGrantRequest) -> Result<(), KmsError> {
    Err(pending("RevokeGrant"))
}

pub fn retire(_: &Kms, _: &Call<'_>, _: &crate::RetireGrantRequest) -> Result<(), KmsError> {
    Err(pending("RetireGrant"))
}

pub fn list_retirable(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::ListRetirableGrantsRequest,
) -> Result<crate::ListGrantsResponse, KmsError> {
    Err(pending("ListRetirableGrants"))
}
