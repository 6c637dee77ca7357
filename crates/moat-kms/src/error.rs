//! KMS's errors, mapped to AWS codes and statuses in one place.

use moat_store::StoreError;
use moat_wire::AwsError;

use crate::crypto::CryptoError;

#[derive(Debug, thiserror::Error)]
pub enum KmsError {
    /// A key, alias, grant or policy that does not exist.
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    AlreadyExists(String),
    /// The key is disabled.
    #[error("{0}")]
    Disabled(String),
    /// The key's state does not allow the operation (pending deletion, pending import...).
    #[error("{0}")]
    InvalidState(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    InvalidArn(String),
    #[error("{0}")]
    InvalidAliasName(String),
    /// A ciphertext that was tampered with, encrypted under another context, or not one of
    /// Moat's. AWS says nothing more, and neither does Moat.
    #[error("")]
    InvalidCiphertext,
    /// A ciphertext encrypted under another key than the one the request names.
    #[error("")]
    IncorrectKey,
    #[error("{0}")]
    InvalidKeyUsage(String),
    #[error("")]
    InvalidSignature,
    #[error("")]
    InvalidMac,
    #[error("{0}")]
    InvalidGrantToken(String),
    #[error("{0}")]
    InvalidGrantId(String),
    #[error("{0}")]
    InvalidMarker(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    UnsupportedOperation(String),
    /// Moat has no custom key stores, so every one a request names is missing.
    #[error("{0}")]
    CustomKeyStoreNotFound(String),
    #[error("{0}")]
    Tag(String),
    #[error("{0}")]
    InvalidImportToken(String),
    #[error("{0}")]
    ExpiredImportToken(String),
    #[error("{0}")]
    IncorrectKeyMaterial(String),
    /// `DryRun`: the call would have succeeded.
    #[error("The request would have succeeded, but the DryRun option is set.")]
    DryRun,
    #[error("{0}")]
    AccessDenied(String),
    /// An alias under the reserved `alias/aws/` prefix.
    #[error("")]
    NotAuthorized,
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("internal failure: {0}")]
    Internal(String),
}

impl KmsError {
    /// A key that does not exist (or is past its deletion date), as AWS words it.
    pub fn key_not_found(arn: &str) -> KmsError {
        KmsError::NotFound(format!("Key '{arn}' does not exist"))
    }

    /// An alias that does not exist, as AWS words it.
    pub fn alias_not_found(arn: &str) -> KmsError {
        KmsError::NotFound(format!("Alias {arn} is not found."))
    }
}

impl From<CryptoError> for KmsError {
    fn from(e: CryptoError) -> Self {
        match e {
            CryptoError::WrongKeySpec { .. } | CryptoError::WrongAlgorithmForKey { .. } => {
                KmsError::InvalidKeyUsage(e.to_string())
            }
            CryptoError::InvalidDigestLength { .. }
            | CryptoError::PlaintextTooLarge { .. }
            | CryptoError::InvalidPeerKey
            | CryptoError::UnsupportedWrappingAlgorithm(_) => KmsError::Validation(e.to_string()),
            CryptoError::InvalidCiphertext => KmsError::InvalidCiphertext,
            CryptoError::InvalidKeyMaterial { .. } => KmsError::IncorrectKeyMaterial(e.to_string()),
            CryptoError::CorruptKeyMaterial | CryptoError::Internal(_) => {
                KmsError::Internal(e.to_string())
            }
        }
    }
}

impl AwsError for KmsError {
    fn code(&self) -> &str {
        match self {
            KmsError::NotFound(_) => "NotFoundException",
            KmsError::AlreadyExists(_) => "AlreadyExistsException",
            KmsError::Disabled(_) => "DisabledException",
            KmsError::InvalidState(_) => "KMSInvalidStateException",
            KmsError::Validation(_) => "ValidationException",
            KmsError::InvalidArn(_) => "InvalidArnException",
            KmsError::InvalidAliasName(_) => "InvalidAliasNameException",
            KmsError::InvalidCiphertext => "InvalidCiphertextException",
            KmsError::IncorrectKey => "IncorrectKeyException",
            KmsError::InvalidKeyUsage(_) => "InvalidKeyUsageException",
            KmsError::InvalidSignature => "KMSInvalidSignatureException",
            KmsError::InvalidMac => "KMSInvalidMacException",
            KmsError::InvalidGrantToken(_) => "InvalidGrantTokenException",
            KmsError::InvalidGrantId(_) => "InvalidGrantIdException",
            KmsError::InvalidMarker(_) => "InvalidMarkerException",
            KmsError::MalformedPolicyDocument(_) => "MalformedPolicyDocumentException",
            KmsError::LimitExceeded(_) => "LimitExceededException",
            KmsError::UnsupportedOperation(_) => "UnsupportedOperationException",
            KmsError::CustomKeyStoreNotFound(_) => "CustomKeyStoreNotFoundException",
            KmsError::Tag(_) => "TagException",
            KmsError::InvalidImportToken(_) => "InvalidImportTokenException",
            KmsError::ExpiredImportToken(_) => "ExpiredImportTokenException",
            KmsError::IncorrectKeyMaterial(_) => "IncorrectKeyMaterialException",
            KmsError::DryRun => "DryRunOperationException",
            KmsError::AccessDenied(_) => "AccessDeniedException",
            KmsError::NotAuthorized => "NotAuthorizedException",
            KmsError::Store(_) | KmsError::Internal(_) => "KMSInternalException",
        }
    }

    fn http_status(&self) -> u16 {
        match self {
            KmsError::Store(_) | KmsError::Internal(_) => 500,
            KmsError::DryRun => 412,
            _ => 400,
        }
    }

    fn client_message(&self) -> String {
        match self {
            // The detail of an internal failure is for the log, not the client.
            KmsError::Store(_) | KmsError::Internal(_) => {
                "The request processing has failed because of an unknown error.".to_owned()
            }
            other => other.to_string(),
        }
    }
}
