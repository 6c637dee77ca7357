//! Key rotation (in progress): automatic and on demand, status and history.

use crate::{Call, Kms, KmsError};

fn pending(op: &str) -> KmsError {
    KmsError::UnsupportedOperation(format!("{op} is not served yet."))
}

pub fn enable(_: &Kms, _: &Call<'_>, _: &crate::EnableKeyRotationRequest) -> Result<(), KmsError> {
    Err(pending("EnableKeyRotation"))
}

pub fn disable(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::DisableKeyRotationRequest,
) -> Result<(), KmsError> {
    Err(pending("DisableKeyRotation"))
}

pub fn status(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::GetKeyRotationStatusRequest,
) -> Result<crate::GetKeyRotationStatusResponse, KmsError> {
    Err(pending("GetKeyRotationStatus"))
}

pub fn rotate_on_demand(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::RotateKeyOnDemandRequest,
) -> Result<crate::RotateKeyOnDemandResponse, KmsError> {
    Err(pending("RotateKeyOnDemand"))
}

pub fn list(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::ListKeyRotationsRequest,
) -> Result<crate::ListKeyRotationsResponse, KmsError> {
    Err(pending("ListKeyRotations"))
}

/// Rotates keys whose automatic rotation is due; how many.
pub fn rotate_due(_: &Kms, _now_ms: i64) -> Result<usize, KmsError> {
    Ok(0)
}
