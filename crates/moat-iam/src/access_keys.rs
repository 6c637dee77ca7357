//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn create_access_key(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateAccessKeyRequest,
) -> Result<CreateAccessKeyResponse, IamError> {
    Err(IamError::Internal(
        "create_access_key is not implemented yet".into(),
    ))
}

pub fn list_access_keys(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAccessKeysRequest,
) -> Result<ListAccessKeysResponse, IamError> {
    Err(IamError::Internal(
        "list_access_keys is not implemented yet".into(),
    ))
}

pub fn update_access_key(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UpdateAccessKeyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "update_access_key is not implemented yet".into(),
    ))
}

pub fn delete_access_key(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteAccessKeyRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_access_key is not implemented yet".into(),
    ))
}

pub fn get_access_key_last_used(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetAccessKeyLastUsedRequest,
) -> Result<GetAccessKeyLastUsedResponse, IamError> {
    Err(IamError::Internal(
        "get_access_key_last_used is not implemented yet".into(),
    ))
}
