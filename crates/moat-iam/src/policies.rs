//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn create_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreatePolicyRequest,
) -> Result<CreatePolicyResponse, IamError> {
    Err(IamError::Internal(
        "create_policy is not implemented yet".into(),
    ))
}

pub fn get_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetPolicyRequest,
) -> Result<GetPolicyResponse, IamError> {
    Err(IamError::Internal(
        "get_policy is not implemented yet".into(),
    ))
}

pub fn delete_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeletePolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_policy is not implemented yet".into(),
    ))
}

pub fn list_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListPoliciesRequest,
) -> Result<ListPoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_policies is not implemented yet".into(),
    ))
}

pub fn create_policy_version(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreatePolicyVersionRequest,
) -> Result<CreatePolicyVersionResponse, IamError> {
    Err(IamError::Internal(
        "create_policy_version is not implemented yet".into(),
    ))
}

pub fn get_policy_version(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetPolicyVersionRequest,
) -> Result<GetPolicyVersionResponse, IamError> {
    Err(IamError::Internal(
        "get_policy_version is not implemented yet".into(),
    ))
}

pub fn list_policy_versions(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListPolicyVersionsRequest,
) -> Result<ListPolicyVersionsResponse, IamError> {
    Err(IamError::Internal(
        "list_policy_versions is not implemented yet".into(),
    ))
}

pub fn delete_policy_version(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeletePolicyVersionRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_policy_version is not implemented yet".into(),
    ))
}

pub fn set_default_policy_version(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: SetDefaultPolicyVersionRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "set_default_policy_version is not implemented yet".into(),
    ))
}

pub fn tag_policy(tx: &mut impl Writer, c: &Call<'_>, i: TagPolicyRequest) -> Result<(), IamError> {
    Err(IamError::Internal(
        "tag_policy is not implemented yet".into(),
    ))
}

pub fn untag_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UntagPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "untag_policy is not implemented yet".into(),
    ))
}

pub fn list_policy_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListPolicyTagsRequest,
) -> Result<ListPolicyTagsResponse, IamError> {
    Err(IamError::Internal(
        "list_policy_tags is not implemented yet".into(),
    ))
}
