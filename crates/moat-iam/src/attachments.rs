//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn list_entities_for_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListEntitiesForPolicyRequest,
) -> Result<ListEntitiesForPolicyResponse, IamError> {
    Err(IamError::Internal(
        "list_entities_for_policy is not implemented yet".into(),
    ))
}

pub fn attach_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AttachUserPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "attach_user_policy is not implemented yet".into(),
    ))
}

pub fn detach_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DetachUserPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "detach_user_policy is not implemented yet".into(),
    ))
}

pub fn attach_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AttachGroupPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "attach_group_policy is not implemented yet".into(),
    ))
}

pub fn detach_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DetachGroupPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "detach_group_policy is not implemented yet".into(),
    ))
}

pub fn attach_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AttachRolePolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "attach_role_policy is not implemented yet".into(),
    ))
}

pub fn detach_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DetachRolePolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "detach_role_policy is not implemented yet".into(),
    ))
}

pub fn list_attached_user_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAttachedUserPoliciesRequest,
) -> Result<ListAttachedUserPoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_attached_user_policies is not implemented yet".into(),
    ))
}

pub fn list_attached_group_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAttachedGroupPoliciesRequest,
) -> Result<ListAttachedGroupPoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_attached_group_policies is not implemented yet".into(),
    ))
}

pub fn list_attached_role_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAttachedRolePoliciesRequest,
) -> Result<ListAttachedRolePoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_attached_role_policies is not implemented yet".into(),
    ))
}

pub fn set_boundary(
    tx: &mut impl Writer,
    c: &Call<'_>,
    kind: crate::records::EntityKind,
    name: &str,
    arn: &str,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "set_boundary is not implemented yet".into(),
    ))
}

/// The managed policies attached to one entity, in ARN order.
pub fn attached_policies(
    tx: &impl Reader,
    account: AccountId,
    kind: crate::records::EntityKind,
    entity_lc: &str,
) -> Result<Vec<crate::records::AttachedPolicyRecord>, IamError> {
    Ok(tx
        .all::<crate::records::AttachedPolicyRecord>(
            &account.to_string(),
            &format!("{}/{entity_lc}/", kind.key()),
        )?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}
