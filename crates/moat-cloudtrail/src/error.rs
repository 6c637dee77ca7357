//! CloudTrail's errors, mapped to AWS codes and statuses in one place.

use moat_store::StoreError;
use moat_wire::AwsError;

#[derive(Debug, thiserror::Error)]
pub enum CloudTrailError {
    #[error("{0}")]
    InvalidLookupAttributes(String),
    #[error("Start time must be before end time.")]
    InvalidTimeRange,
    #[error("Invalid NextToken.")]
    InvalidNextToken,
    #[error("MaxResults must be between 1 and 50.")]
    InvalidMaxResults,
    #[error("storage failure: {0}")]
    Store(#[from] StoreError),
}

impl AwsError for CloudTrailError {
    fn code(&self) -> &str {
        match self {
            CloudTrailError::InvalidLookupAttributes(_) => "InvalidLookupAttributesException",
            CloudTrailError::InvalidTimeRange => "InvalidTimeRangeException",
            CloudTrailError::InvalidNextToken => "InvalidNextTokenException",
            CloudTrailError::InvalidMaxResults => "InvalidMaxResultsException",
            CloudTrailError::Store(_) => "InternalFailure",
        }
    }

    fn http_status(&self) -> u16 {
        match self {
            CloudTrailError::Store(_) => 500,
            _ => 400,
        }
    }

    fn client_message(&self) -> String {
        match self {
            // The detail of an internal failure is for the log, not the client.
            CloudTrailError::Store(_) => {
                "The request processing has failed because of an unknown error.".to_owned()
            }
            other => other.to_string(),
        }
    }
}
