//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn create_login_profile(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateLoginProfileRequest,
) -> Result<CreateLoginProfileResponse, IamError> {
    Err(IamError::Internal(
        "create_login_profile is not implemented yet".into(),
    ))
}

pub fn get_login_profile(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetLoginProfileRequest,
) -> Result<GetLoginProfileResponse, IamError> {
    Err(IamError::Internal(
        "get_login_profile is not implemented yet".into(),
    ))
}

pub fn update_login_profile(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateLoginProfileRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "update_login_profile is not implemented yet".into(),
    ))
}

pub fn delete_login_profile(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteLoginProfileRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_login_profile is not implemented yet".into(),
    ))
}

pub fn change_password(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: ChangePasswordRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "change_password is not implemented yet".into(),
    ))
}

pub fn update_account_password_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateAccountPasswordPolicyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "update_account_password_policy is not implemented yet".into(),
    ))
}

pub fn get_account_password_policy(
    tx: &impl Reader,
    c: &Call<'_>,
) -> Result<GetAccountPasswordPolicyResponse, IamError> {
    Err(IamError::Internal(
        "get_account_password_policy is not implemented yet".into(),
    ))
}

pub fn delete_account_password_policy(tx: &mut impl Writer, c: &Call<'_>) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_account_password_policy is not implemented yet".into(),
    ))
}
