//! The one trait every service error implements, and the errors common to all AWS services.

/// What the wire needs from any error: AWS's code, HTTP status and fault side. The encoder is
/// chosen by the protocol of the request, not by the error.
pub trait AwsError: std::error::Error {
    fn code(&self) -> &str;
    fn http_status(&self) -> u16;
    fn sender_fault(&self) -> bool {
        self.http_status() < 500
    }
    /// The message sent to the client. Internal errors override this so their detail stays in
    /// the log.
    fn client_message(&self) -> String {
        self.to_string()
    }
}

/// Errors any AWS service can answer, before or around the service's own logic.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum CommonError {
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    #[error("{0}")]
    IncompleteSignature(String),
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    #[error("{0}")]
    InvalidSignature(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("Could not find operation {0} for version {1}")]
    InvalidAction(String, String),
    #[error("The request must contain the parameter Action.")]
    MissingAction,
    #[error("The HTTP method {0} is not supported; AWS query and JSON APIs use POST (or GET).")]
    UnsupportedMethod(String),
    #[error("Credential should be scoped to a service this endpoint serves, not '{0}'.")]
    UnknownService(String),
    #[error("{0}")]
    ValidationError(String),
    #[error("{0}")]
    Serialization(String),
    #[error("{0}")]
    UnknownOperation(String),
    #[error("{0}")]
    PayloadTooLarge(String),
    #[error("{0}")]
    MalformedQueryString(String),
    #[error("An internal error occurred. Request id: {0}")]
    InternalFailure(String),
    #[error("Service is unavailable. Try again later.")]
    ServiceUnavailable,
}

impl AwsError for CommonError {
    fn code(&self) -> &str {
        match self {
            CommonError::MissingAuthenticationToken => "MissingAuthenticationToken",
            CommonError::IncompleteSignature(_) => "IncompleteSignature",
            CommonError::InvalidClientTokenId => "InvalidClientTokenId",
            CommonError::ExpiredToken => "ExpiredToken",
            CommonError::SignatureDoesNotMatch(_) => "SignatureDoesNotMatch",
            CommonError::InvalidSignature(_) => "InvalidSignatureException",
            CommonError::AccessDenied(_) => "AccessDenied",
            CommonError::InvalidAction(..) => "InvalidAction",
            CommonError::MissingAction => "MissingAction",
            CommonError::UnsupportedMethod(_) => "InvalidAction",
            CommonError::UnknownService(_) => "SignatureDoesNotMatch",
            CommonError::ValidationError(_) => "ValidationError",
            CommonError::Serialization(_) => "SerializationException",
            CommonError::UnknownOperation(_) => "UnknownOperationException",
            CommonError::PayloadTooLarge(_) => "RequestEntityTooLarge",
            CommonError::MalformedQueryString(_) => "MalformedQueryString",
            CommonError::InternalFailure(_) => "InternalFailure",
            CommonError::ServiceUnavailable => "ServiceUnavailable",
        }
    }

    fn http_status(&self) -> u16 {
        match self {
            CommonError::MissingAuthenticationToken
            | CommonError::UnknownService(_)
            | CommonError::InvalidClientTokenId
            | CommonError::ExpiredToken
            | CommonError::SignatureDoesNotMatch(_)
            | CommonError::AccessDenied(_) => 403,
            CommonError::InvalidSignature(_) => 400,
            CommonError::PayloadTooLarge(_) => 413,
            CommonError::MalformedQueryString(_) => 404,
            CommonError::InternalFailure(_) => 500,
            CommonError::ServiceUnavailable => 503,
            CommonError::UnsupportedMethod(_) => 405,
            _ => 400,
        }
    }
}

/// An error after mapping: everything the encoder needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ErrorResponse {
    pub code: String,
    pub message: String,
    pub http_status: u16,
    pub sender_fault: bool,
}

impl ErrorResponse {
    pub fn from_error<E: AwsError + ?Sized>(e: &E) -> Self {
        ErrorResponse {
            code: e.code().to_owned(),
            message: e.client_message(),
            http_status: e.http_status(),
            sender_fault: e.sender_fault(),
        }
    }
}
