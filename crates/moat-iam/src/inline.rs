//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn put_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutUserPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "put_user_policy is not implemented yet".into(),
    ))
}

pub fn get_user_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetUserPolicyRequest,
) -> Result<GetUserPolicyResponse, IamError> {
    Err(IamError::Internal(
        "get_user_policy is not implemented yet".into(),
    ))
}

pub fn delete_user_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteUserPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_user_policy is not implemented yet".into(),
    ))
}

pub fn list_user_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListUserPoliciesRequest,
) -> Result<ListUserPoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_user_policies is not implemented yet".into(),
    ))
}

pub fn put_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutGroupPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "put_group_policy is not implemented yet".into(),
    ))
}

pub fn get_group_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetGroupPolicyRequest,
) -> Result<GetGroupPolicyResponse, IamError> {
    Err(IamError::Internal(
        "get_group_policy is not implemented yet".into(),
    ))
}

pub fn delete_group_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteGroupPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_group_policy is not implemented yet".into(),
    ))
}

pub fn list_group_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListGroupPoliciesRequest,
) -> Result<ListGroupPoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_group_policies is not implemented yet".into(),
    ))
}

pub fn put_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: PutRolePolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "put_role_policy is not implemented yet".into(),
    ))
}

pub fn get_role_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetRolePolicyRequest,
) -> Result<GetRolePolicyResponse, IamError> {
    Err(IamError::Internal(
        "get_role_policy is not implemented yet".into(),
    ))
}

pub fn delete_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteRolePolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_role_policy is not implemented yet".into(),
    ))
}

pub fn list_role_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListRolePoliciesRequest,
) -> Result<ListRolePoliciesResponse, IamError> {
    Err(IamError::Internal(
        "list_role_policies is not implemented yet".into(),
    ))
}
