//! Asymmetric and HMAC operations (in progress): Sign, Verify, GetPublicKey, GenerateMac,
//! VerifyMac, DeriveSharedSecret, GenerateDataKeyPair(WithoutPlaintext), RSA Encrypt/Decrypt.

use zeroize::Zeroizing;

use crate::keys::KeyRecord;
use crate::{Call, Kms, KmsError};

fn pending(op: &str) -> KmsError {
    KmsError::UnsupportedOperation(format!("{op} is not served yet."))
}

pub fn encrypt(_: &Kms, _: &KeyRecord, _: &str, _: &[u8]) -> Result<Vec<u8>, KmsError> {
    Err(pending("Encrypt with an RSA key"))
}

pub fn decrypt(_: &Kms, _: &KeyRecord, _: &str, _: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    Err(pending("Decrypt with an RSA key"))
}

pub fn sign(_: &Kms, _: &Call<'_>, _: crate::SignRequest) -> Result<crate::SignResponse, KmsError> {
    Err(pending("Sign"))
}

pub fn verify(
    _: &Kms,
    _: &Call<'_>,
    _: crate::VerifyRequest,
) -> Result<crate::VerifyResponse, KmsError> {
    Err(pending("Verify"))
}

pub fn get_public_key(
    _: &Kms,
    _: &Call<'_>,
    _: &crate::GetPublicKeyRequest,
) -> Result<crate::GetPublicKeyResponse, KmsError> {
    Err(pending("GetPublicKey"))
}

pub fn generate_mac(
    _: &Kms,
    _: &Call<'_>,
    _: crate::GenerateMacRequest,
) -> Result<crate::GenerateMacResponse, KmsError> {
    Err(pending("GenerateMac"))
}

pub fn verify_mac(
    _: &Kms,
    _: &Call<'_>,
    _: crate::VerifyMacRequest,
) -> Result<crate::VerifyMacResponse, KmsError> {
    Err(pending("VerifyMac"))
}

pub fn derive_shared_secret(
    _: &Kms,
    _: &Call<'_>,
    _: crate::DeriveSharedSecretRequest,
) -> Result<crate::DeriveSharedSecretResponse, KmsError> {
    Err(pending("DeriveSharedSecret"))
}

pub fn generate_data_key_pair(
    _: &Kms,
    _: &Call<'_>,
    _: crate::GenerateDataKeyPairRequest,
) -> Result<crate::GenerateDataKeyPairResponse, KmsError> {
    Err(pending("GenerateDataKeyPair"))
}

pub fn generate_data_key_pair_without_plaintext(
    _: &Kms,
    _: &Call<'_>,
    _: crate::GenerateDataKeyPairWithoutPlaintextRequest,
) -> Result<crate::GenerateDataKeyPairWithoutPlaintextResponse, KmsError> {
    Err(pending("GenerateDataKeyPairWithoutPlaintext"))
}
