//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};
use moat_types::AccountId;

pub fn create_account_alias(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateAccountAliasRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "create_account_alias is not implemented yet".into(),
    ))
}

pub fn delete_account_alias(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteAccountAliasRequest,
) -> Result<(), IamError> {
    Err(IamError::Internal(
        "delete_account_alias is not implemented yet".into(),
    ))
}

pub fn list_account_aliases(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListAccountAliasesRequest,
) -> Result<ListAccountAliasesResponse, IamError> {
    Err(IamError::Internal(
        "list_account_aliases is not implemented yet".into(),
    ))
}

pub fn get_account_summary(
    tx: &impl Reader,
    c: &Call<'_>,
) -> Result<GetAccountSummaryResponse, IamError> {
    Err(IamError::Internal(
        "get_account_summary is not implemented yet".into(),
    ))
}
