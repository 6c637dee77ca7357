//! Importing key material (in progress).

use crate::{Call, Kms, KmsError};

fn pending(op: &str) -> KmsError {
    KmsError::UnsupportedOperation(format!("{op} is not served yet."))
}

pub fn get_parameters(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::GetParametersForImportRequest,
) -> Result<crate::GetParametersForImportResponse, KmsError> {
    Err(pending("GetParametersForImport"))
}

pub fn import(
    _: &Kms,
    _: &Call<'_>,
    _: crate::ImportKeyMaterialRequest,
) -> Result<crate::ImportKeyMaterialResponse, KmsError> {
    Err(pending("ImportKeyMaterial"))
}

pub fn delete(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::DeleteImportedKeyMaterialRequest,
) -> Result<crate::DeleteImportedKeyMaterialResponse, KmsError> {
    Err(pending("DeleteImportedKeyMaterial"))
}

/// Expires imported material whose ValidTo has passed; how many keys.
pub fn expire_due(_: &Kms, _now_ms: i64) -> Result<usize, KmsError> {
    Ok(0)
}
