//! Placeholder: being implemented.
#![allow(unused_variables, dead_code, unused_imports)]
use crate::common::Call;
use crate::*;
use moat_store::{Reader, Writer};

pub fn get_account_authorization_details(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetAccountAuthorizationDetailsRequest,
) -> Result<GetAccountAuthorizationDetailsResponse, IamError> {
    Err(IamError::Internal(
        "get_account_authorization_details is not implemented yet".into(),
    ))
}
