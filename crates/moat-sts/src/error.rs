//! STS's errors, mapped to AWS codes and statuses in one place.

use moat_store::StoreError;
use moat_wire::AwsError;

use crate::token::TokenError;

#[derive(Debug, thiserror::Error)]
pub enum StsError {
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidAuthorizationMessage(String),
    /// A web identity token that is not a JWT, does not verify, or names an unregistered
    /// provider or an unknown audience.
    #[error("{0}")]
    InvalidIdentityToken(String),
    /// A web identity token past its `exp`.
    #[error("{0}")]
    ExpiredToken(String),
    /// The identity provider's keys could not be fetched.
    #[error("{0}")]
    IdpCommunication(String),
    #[error("{0}")]
    IdpRejectedClaim(String),
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("session token failure: {0}")]
    Token(#[from] TokenError),
    #[error("IAM failure: {0}")]
    Iam(#[from] moat_iam::IamError),
}

impl AwsError for StsError {
    fn code(&self) -> &str {
        match self {
            StsError::AccessDenied(_) => "AccessDenied",
            StsError::Validation(_) => "ValidationError",
            StsError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            StsError::PackedPolicyTooLarge(_) => "PackedPolicyTooLarge",
            StsError::InvalidParameterValue(_) => "InvalidParameterValue",
            StsError::InvalidAuthorizationMessage(_) => "InvalidAuthorizationMessageException",
            StsError::InvalidIdentityToken(_) => "InvalidIdentityToken",
            StsError::ExpiredToken(_) => "ExpiredTokenException",
            StsError::IdpCommunication(_) => "IDPCommunicationError",
            StsError::IdpRejectedClaim(_) => "IDPRejectedClaim",
            StsError::Iam(e) => e.code(),
            StsError::Store(_) | StsError::Token(_) => "InternalFailure",
        }
    }

    fn http_status(&self) -> u16 {
        match self {
            StsError::AccessDenied(_) | StsError::IdpRejectedClaim(_) => 403,
            StsError::Iam(e) => e.http_status(),
            StsError::Store(_) | StsError::Token(_) => 500,
            _ => 400,
        }
    }

    fn client_message(&self) -> String {
        match self {
            // The detail of an internal failure is for the log, not the client.
            StsError::Store(_) | StsError::Token(_) => {
                "An internal error occurred. Try again.".to_owned()
            }
            StsError::Iam(e) => e.client_message(),
            other => other.to_string(),
        }
    }
}
