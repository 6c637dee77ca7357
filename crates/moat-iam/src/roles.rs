//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn create_role(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateRoleRequest,
) -> Result<CreateRoleResponse, IamError> {
    Err(IamError::Internal(
        "create_role is not implemented yet".into(),
    ))
}

pub fn get_role(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetRoleRequest,
) -> Result<GetRoleResponse, IamError> {
    Err(IamError::Internal("get_role is not implemented yet".into()))
}

pub fn update_role(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateRoleRequest,
) -> Result<UpdateRoleResponse, IamError> {
    Err(IamError::Internal(
        "update_role is not implemented yet".into(),
    ))
}

pub fn delete_role(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteRoleRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_role is not implemented yet".into(),
    ))
}

pub fn list_roles(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListRolesRequest,
) -> Result<ListRolesResponse, IamError> {
    Err(IamError::Internal(
        "list_roles is not implemented yet".into(),
    ))
}

pub fn update_assume_role_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateAssumeRolePolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "update_assume_role_policy is not implemented yet".into(),
    ))
}

pub fn update_role_description(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateRoleDescriptionRequest,
) -> Result<UpdateRoleDescriptionResponse, IamError> {
    Err(IamError::Internal(
        "update_role_description is not implemented yet".into(),
    ))
}

pub fn tag_role(tx: &mut impl Writer, c: &Call<'_>, i: TagRoleRequest) -> Result<(), IamError> {
    Err(IamError::Internal("tag_role is not implemented yet".into()))
}

pub fn untag_role(tx: &mut impl Writer, c: &Call<'_>, i: UntagRoleRequest) -> Result<(), IamError> {
    Err(IamError::Internal(
        "untag_role is not implemented yet".into(),
    ))
}

pub fn list_role_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListRoleTagsRequest,
) -> Result<ListRoleTagsResponse, IamError> {
    Err(IamError::Internal(
        "list_role_tags is not implemented yet".into(),
    ))
}

pub fn find(
    tx: &impl Reader,
    account: AccountId,
    name: &str,
) -> Result<Option<crate::records::RoleRecord>, IamError> {
    Ok(tx.get(&account.to_string(), &crate::records::name_key(name))?)
}
