//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn create_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateGroupRequest,
) -> Result<CreateGroupResponse, IamError> {
    Err(IamError::Internal(
        "create_group is not implemented yet".into(),
    ))
}

pub fn get_group(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetGroupRequest,
) -> Result<GetGroupResponse, IamError> {
    Err(IamError::Internal(
        "get_group is not implemented yet".into(),
    ))
}

pub fn update_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateGroupRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "update_group is not implemented yet".into(),
    ))
}

pub fn delete_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteGroupRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_group is not implemented yet".into(),
    ))
}

pub fn list_groups(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListGroupsRequest,
) -> Result<ListGroupsResponse, IamError> {
    Err(IamError::Internal(
        "list_groups is not implemented yet".into(),
    ))
}

pub fn add_user_to_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: AddUserToGroupRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "add_user_to_group is not implemented yet".into(),
    ))
}

pub fn remove_user_from_group(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: RemoveUserFromGroupRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "remove_user_from_group is not implemented yet".into(),
    ))
}

pub fn list_groups_for_user(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListGroupsForUserRequest,
) -> Result<ListGroupsForUserResponse, IamError> {
    Err(IamError::Internal(
        "list_groups_for_user is not implemented yet".into(),
    ))
}

pub fn find(
    tx: &impl Reader,
    account: AccountId,
    name: &str,
) -> Result<Option<crate::records::GroupRecord>, IamError> {
    Ok(tx.get(&account.to_string(), &crate::records::name_key(name))?)
}
