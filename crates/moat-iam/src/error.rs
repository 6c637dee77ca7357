//! IAM's errors, mapped to AWS codes and statuses in one place.

use moat_store::StoreError;
use moat_wire::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum IamError {
    #[error("{0}")]
    NoSuchEntity(String),
    #[error("{0}")]
    EntityAlreadyExists(String),
    #[error("{0}")]
    DeleteConflict(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    MalformedPolicyDocument(String),
    #[error("{0}")]
    PasswordPolicyViolation(String),
    #[error("{0}")]
    UnmodifiableEntity(String),
    #[error("{0}")]
    PolicyNotAttachable(String),
    #[error("{0}")]
    InvalidUserType(String),
    #[error("{0}")]
    Validation(String),
    #[error("{0}")]
    AccessDenied(String),
    #[error("{0}")]
    InvalidAuthenticationCode(String),
    #[error("{0}")]
    ReportNotPresent(String),
    #[error("{0}")]
    ReportExpired(String),
    #[error("{0}")]
    ReportInProgress(String),
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl AwsError for IamError {
    fn code(&self) -> &str {
        match self {
            IamError::NoSuchEntity(_) => "NoSuchEntity",
            IamError::EntityAlreadyExists(_) => "EntityAlreadyExists",
            IamError::DeleteConflict(_) => "DeleteConflict",
            IamError::LimitExceeded(_) => "LimitExceeded",
            IamError::InvalidInput(_) => "InvalidInput",
            IamError::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            IamError::PasswordPolicyViolation(_) => "PasswordPolicyViolation",
            IamError::UnmodifiableEntity(_) => "UnmodifiableEntity",
            IamError::PolicyNotAttachable(_) => "PolicyNotAttachable",
            IamError::InvalidUserType(_) => "InvalidUserType",
            IamError::Validation(_) => "ValidationError",
            IamError::AccessDenied(_) => "AccessDenied",
            IamError::InvalidAuthenticationCode(_) => "InvalidAuthenticationCode",
            IamError::ReportNotPresent(_) => "ReportNotPresent",
            IamError::ReportExpired(_) => "ReportExpired",
            IamError::ReportInProgress(_) => "ReportInProgress",
            IamError::Store(_) | IamError::Internal(_) => "ServiceFailure",
        }
    }

    fn http_status(&self) -> u16 {
        match self {
            IamError::NoSuchEntity(_) => 404,
            IamError::EntityAlreadyExists(_)
            | IamError::DeleteConflict(_)
            | IamError::LimitExceeded(_) => 409,
            IamError::AccessDenied(_) | IamError::InvalidAuthenticationCode(_) => 403,
            IamError::ReportNotPresent(_) | IamError::ReportExpired(_) => 410,
            IamError::ReportInProgress(_) => 404,
            IamError::Store(_) | IamError::Internal(_) => 500,
            _ => 400,
        }
    }

    fn client_message(&self) -> String {
        match self {
            // The detail of an internal failure is for the log, not the client.
            IamError::Store(_) | IamError::Internal(_) => {
                "The request processing has failed because of an unknown error, exception or \
                 failure."
                    .to_owned()
            }
            other => other.to_string(),
        }
    }
}

impl IamError {
    pub fn no_such_user(name: &str) -> IamError {
        IamError::NoSuchEntity(format!("The user with name {name} cannot be found."))
    }
    pub fn no_such_group(name: &str) -> IamError {
        IamError::NoSuchEntity(format!("The group with name {name} cannot be found."))
    }
    pub fn no_such_role(name: &str) -> IamError {
        IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
    }
    pub fn no_such_policy(arn: &str) -> IamError {
        IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every code we send must be one IAM's model declares, with the model's status.
    #[test]
    fn codes_and_statuses_match_the_model() {
        let model = crate::model();
        let samples = [
            IamError::NoSuchEntity(String::new()),
            IamError::EntityAlreadyExists(String::new()),
            IamError::DeleteConflict(String::new()),
            IamError::LimitExceeded(String::new()),
            IamError::InvalidInput(String::new()),
            IamError::MalformedPolicyDocument(String::new()),
            IamError::PasswordPolicyViolation(String::new()),
            IamError::UnmodifiableEntity(String::new()),
            IamError::PolicyNotAttachable(String::new()),
            IamError::InvalidUserType(String::new()),
            IamError::InvalidAuthenticationCode(String::new()),
            IamError::ReportNotPresent(String::new()),
            IamError::ReportExpired(String::new()),
            IamError::ReportInProgress(String::new()),
            IamError::Internal(String::new()),
        ];
        for e in samples {
            let declared = model
                .errors_by_code
                .get(e.code())
                .unwrap_or_else(|| panic!("{} is not in the IAM model", e.code()));
            assert_eq!(declared.http_status, e.http_status(), "{}", e.code());
        }
    }
}
