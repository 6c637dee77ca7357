//! Encrypt, Decrypt, ReEncrypt, GenerateDataKey(WithoutPlaintext) and GenerateRandom. A
//! symmetric key encrypts with AES-256-GCM ([`crate::ciphertext`]); an RSA key with
//! RSAES-OAEP ([`crate::asymmetric`]).

use std::collections::BTreeMap;

use moat_wire::Blob;
use zeroize::Zeroizing;

use crate::keys::{self, KeyRecord};
use crate::{ciphertext, Call, Kms, KmsError};

const SYMMETRIC_DEFAULT: &str = "SYMMETRIC_DEFAULT";

/// Unsealed key material, shared with the key cache.
pub type Material = std::sync::Arc<Zeroizing<Vec<u8>>>;

/// The key a `KeyId` names, ready for a cryptographic operation of `usage`.
pub fn usable_key(
    kms: &Kms,
    call: &Call<'_>,
    raw: &str,
    usage: &str,
    operation: &str,
) -> Result<KeyRecord, KmsError> {
    let key = kms
        .resolve(&call.account(), raw, call.now_ms())?
        .key
        .clone();
    key.usable(call.now_ms())?;
    key.require_usage(usage, operation)?;
    Ok(key)
}

/// The unsealed material of one version of a key.
pub fn material(
    kms: &Kms,
    key: &KeyRecord,
    version: &keys::KeyVersion,
) -> Result<Material, KmsError> {
    kms.material(key, version)
}

/// The current material of a key, with its version id.
/// The current version of a symmetric key, ready to seal, with its version id.
fn current_symmetric_key(
    kms: &Kms,
    key: &KeyRecord,
) -> Result<(String, std::sync::Arc<ciphertext::SymmetricKey>), KmsError> {
    let version = key
        .current()
        .ok_or_else(|| KmsError::InvalidState(format!("{} is pending import.", key.arn)))?;
    Ok((version.id.clone(), kms.symmetric_key(key, version)?))
}

pub fn current_material(kms: &Kms, key: &KeyRecord) -> Result<(String, Material), KmsError> {
    let version = key
        .current()
        .ok_or_else(|| KmsError::InvalidState(format!("{} is pending import.", key.arn)))?;
    Ok((version.id.clone(), material(kms, key, version)?))
}

pub(crate) fn refuse_recipient(recipient: Option<&crate::RecipientInfo>) -> Result<(), KmsError> {
    if recipient.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Recipient (AWS Nitro Enclaves attestation) is not supported by Moat.".to_owned(),
        ));
    }
    Ok(())
}

fn is_symmetric(key: &KeyRecord) -> bool {
    key.key_spec == SYMMETRIC_DEFAULT
}

/// Encrypts under a key: AES-GCM for a symmetric key, RSA-OAEP for an RSA one. Returns the
/// blob, the algorithm and the material version (symmetric only).
fn encrypt_with(
    kms: &Kms,
    key: &KeyRecord,
    algorithm: Option<&str>,
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<(Vec<u8>, String, Option<String>), KmsError> {
    // The default applies to asymmetric keys too, which then refuse it as AWS does:
    // "Algorithm SYMMETRIC_DEFAULT is incompatible with key spec RSA_2048."
    let algorithm = algorithm.unwrap_or(SYMMETRIC_DEFAULT);
    if is_symmetric(key) {
        if algorithm != SYMMETRIC_DEFAULT {
            return Err(KmsError::InvalidKeyUsage(format!(
                "Encryption algorithm {algorithm} is not valid for {}: it supports \
                 SYMMETRIC_DEFAULT only.",
                key.arn
            )));
        }
        let (version, sealing) = current_symmetric_key(kms, key)?;
        let blob = sealing.seal(context, plaintext)?;
        return Ok((blob, algorithm.to_owned(), Some(version)));
    }
    if !context.is_empty() {
        return Err(KmsError::Validation(
            "EncryptionContext is not supported with asymmetric KMS keys.".to_owned(),
        ));
    }
    let blob = crate::asymmetric::encrypt(kms, key, algorithm, plaintext)?;
    Ok((blob, algorithm.to_owned(), None))
}

/// What a decryption yields.
struct Decrypted {
    key: KeyRecord,
    plaintext: Zeroizing<Vec<u8>>,
    algorithm: String,
    version: Option<String>,
}

/// Decrypts a blob, under the key `key_id` names when given (which must be the key that
/// encrypted it), else the key the blob names.
fn decrypt_with(
    kms: &Kms,
    call: &Call<'_>,
    key_id: Option<&str>,
    blob: &[u8],
    algorithm: Option<&str>,
    context: &BTreeMap<String, String>,
    operation: &str,
) -> Result<Decrypted, KmsError> {
    let account = call.account();
    let now_ms = call.now_ms();
    let named = match key_id {
        Some(raw) => Some(kms.resolve(&account, raw, now_ms)?.key.clone()),
        None => None,
    };
    if let Some(key) = named.as_ref().filter(|k| !is_symmetric(k)) {
        key.usable(now_ms)?;
        key.require_usage("ENCRYPT_DECRYPT", operation)?;
        let algorithm = algorithm.unwrap_or(SYMMETRIC_DEFAULT);
        if !context.is_empty() {
            return Err(KmsError::InvalidCiphertext);
        }
        let plaintext = crate::asymmetric::decrypt(kms, key, algorithm, blob)?;
        return Ok(Decrypted {
            key: key.clone(),
            plaintext,
            algorithm: algorithm.to_owned(),
            version: None,
        });
    }
    let algorithm = algorithm.unwrap_or(SYMMETRIC_DEFAULT);
    if algorithm != SYMMETRIC_DEFAULT {
        return Err(KmsError::InvalidCiphertext);
    }
    let header = ciphertext::header(blob)?;
    let key = match named {
        Some(key) => {
            if key.key_id != header.key_id || key.account != header.account {
                return Err(KmsError::IncorrectKey);
            }
            key
        }
        None => kms
            .resolve(&header.account, &header.key_id, now_ms)?
            .key
            .clone(),
    };
    key.usable(now_ms)?;
    key.require_usage("ENCRYPT_DECRYPT", operation)?;
    let version = key
        .version(&header.version)
        .ok_or(KmsError::InvalidCiphertext)?;
    let plaintext = kms.symmetric_key(&key, version)?.open(blob, context)?;
    let version = header.version;
    Ok(Decrypted {
        key,
        plaintext,
        algorithm: algorithm.to_owned(),
        version: Some(version),
    })
}

fn required_blob(blob: Option<&Blob>) -> Result<&[u8], KmsError> {
    blob.map(|b| b.0.as_slice()).ok_or_else(|| {
        KmsError::Validation(
            "1 validation error detected: Value null at 'ciphertextBlob' failed to satisfy \
             constraint: Member must not be null"
                .to_owned(),
        )
    })
}

/// `Encrypt`.
pub fn encrypt(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::EncryptRequest,
) -> Result<crate::EncryptResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let key = usable_key(kms, call, &input.key_id, "ENCRYPT_DECRYPT", "Encrypt")?;
    let context = input.encryption_context.unwrap_or_default();
    let (blob, algorithm, _) = encrypt_with(
        kms,
        &key,
        input.encryption_algorithm.as_deref(),
        &context,
        &input.plaintext.0,
    )?;
    Ok(crate::EncryptResponse {
        ciphertext_blob: Some(Blob(blob)),
        encryption_algorithm: Some(algorithm),
        key_id: Some(key.arn),
    })
}

/// `Decrypt`.
pub fn decrypt(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::DecryptRequest,
) -> Result<crate::DecryptResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    refuse_recipient(input.recipient.as_ref())?;
    let blob = required_blob(input.ciphertext_blob.as_ref())?;
    let context = input.encryption_context.clone().unwrap_or_default();
    let d = decrypt_with(
        kms,
        call,
        input.key_id.as_deref(),
        blob,
        input.encryption_algorithm.as_deref(),
        &context,
        "Decrypt",
    )?;
    Ok(crate::DecryptResponse {
        key_id: Some(d.key.arn),
        plaintext: Some(Blob(d.plaintext.to_vec())),
        encryption_algorithm: Some(d.algorithm),
        key_material_id: d.version,
        ciphertext_for_recipient: None,
    })
}

/// `ReEncrypt`: decrypts under the source key and encrypts under the destination key
/// without the plaintext leaving Moat.
pub fn re_encrypt(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::ReEncryptRequest,
) -> Result<crate::ReEncryptResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let blob = required_blob(input.ciphertext_blob.as_ref())?;
    let source_context = input.source_encryption_context.clone().unwrap_or_default();
    let d = decrypt_with(
        kms,
        call,
        input.source_key_id.as_deref(),
        blob,
        input.source_encryption_algorithm.as_deref(),
        &source_context,
        "ReEncrypt",
    )?;
    let destination = usable_key(
        kms,
        call,
        &input.destination_key_id,
        "ENCRYPT_DECRYPT",
        "ReEncrypt",
    )?;
    let destination_context = input.destination_encryption_context.unwrap_or_default();
    let (new_blob, algorithm, version) = encrypt_with(
        kms,
        &destination,
        input.destination_encryption_algorithm.as_deref(),
        &destination_context,
        &d.plaintext,
    )?;
    Ok(crate::ReEncryptResponse {
        ciphertext_blob: Some(Blob(new_blob)),
        source_key_id: Some(d.key.arn),
        key_id: Some(destination.arn),
        source_encryption_algorithm: Some(d.algorithm),
        destination_encryption_algorithm: Some(algorithm),
        source_key_material_id: d.version,
        destination_key_material_id: version,
    })
}

/// The length of a data key: `NumberOfBytes` or `KeySpec`, exactly one of them.
fn data_key_length(
    number_of_bytes: Option<i32>,
    key_spec: Option<&str>,
) -> Result<usize, KmsError> {
    let either =
        || KmsError::Validation("Please specify either number of bytes or key spec.".to_owned());
    match (number_of_bytes, key_spec) {
        (Some(n), None) => usize::try_from(n)
            .ok()
            .filter(|n| (1..=1024).contains(n))
            .ok_or_else(|| {
                KmsError::Validation(format!(
                    "1 validation error detected: Value '{n}' at 'numberOfBytes' failed to \
                     satisfy constraint: Member must have value less than or equal to 1024"
                ))
            }),
        (None, Some("AES_256")) => Ok(32),
        (None, Some("AES_128")) => Ok(16),
        (None, Some(other)) => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'keySpec' failed to satisfy \
             constraint: Member must satisfy enum value set: [AES_256, AES_128]"
        ))),
        _ => Err(either()),
    }
}

/// A data key under a symmetric key.
struct DataKey {
    key: KeyRecord,
    plaintext: Zeroizing<Vec<u8>>,
    blob: Vec<u8>,
    version: String,
}

/// A data key under a symmetric key: its plaintext and its blob.
fn data_key(
    kms: &Kms,
    call: &Call<'_>,
    raw: &str,
    length: usize,
    context: &BTreeMap<String, String>,
    operation: &str,
) -> Result<DataKey, KmsError> {
    let key = usable_key(kms, call, raw, "ENCRYPT_DECRYPT", operation)?;
    if !is_symmetric(&key) {
        return Err(KmsError::InvalidKeyUsage(format!(
            "{} key spec is {}, which is not valid for {operation}: data keys are encrypted \
             under symmetric keys.",
            key.arn, key.key_spec
        )));
    }
    let plaintext = Zeroizing::new(crate::random_bytes(length)?);
    let (version, sealing) = current_symmetric_key(kms, &key)?;
    let blob = sealing.seal(context, &plaintext)?;
    Ok(DataKey {
        key,
        plaintext,
        blob,
        version,
    })
}

/// `GenerateDataKey`.
pub fn generate_data_key(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::GenerateDataKeyRequest,
) -> Result<crate::GenerateDataKeyResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    refuse_recipient(input.recipient.as_ref())?;
    let length = data_key_length(input.number_of_bytes, input.key_spec.as_deref())?;
    let context = input.encryption_context.unwrap_or_default();
    let DataKey {
        key,
        plaintext,
        blob,
        version,
    } = data_key(
        kms,
        call,
        &input.key_id,
        length,
        &context,
        "GenerateDataKey",
    )?;
    Ok(crate::GenerateDataKeyResponse {
        ciphertext_blob: Some(Blob(blob)),
        plaintext: Some(Blob(plaintext.to_vec())),
        key_id: Some(key.arn),
        key_material_id: Some(version),
        ciphertext_for_recipient: None,
    })
}

/// `GenerateDataKeyWithoutPlaintext`.
pub fn generate_data_key_without_plaintext(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::GenerateDataKeyWithoutPlaintextRequest,
) -> Result<crate::GenerateDataKeyWithoutPlaintextResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let length = data_key_length(input.number_of_bytes, input.key_spec.as_deref())?;
    let context = input.encryption_context.unwrap_or_default();
    let DataKey {
        key, blob, version, ..
    } = data_key(
        kms,
        call,
        &input.key_id,
        length,
        &context,
        "GenerateDataKeyWithoutPlaintext",
    )?;
    Ok(crate::GenerateDataKeyWithoutPlaintextResponse {
        ciphertext_blob: Some(Blob(blob)),
        key_id: Some(key.arn),
        key_material_id: Some(version),
    })
}

/// `GenerateRandom`.
pub fn generate_random(
    input: &crate::GenerateRandomRequest,
) -> Result<crate::GenerateRandomResponse, KmsError> {
    refuse_recipient(input.recipient.as_ref())?;
    if let Some(id) = &input.custom_key_store_id {
        return Err(crate::manage::custom_key_store_not_found(id));
    }
    let n = input.number_of_bytes.ok_or_else(|| {
        KmsError::Validation(
            "1 validation error detected: Value null at 'numberOfBytes' failed to satisfy \
             constraint: Member must not be null"
                .to_owned(),
        )
    })?;
    let n = usize::try_from(n).unwrap_or(0);
    Ok(crate::GenerateRandomResponse {
        plaintext: Some(Blob(crate::random_bytes(n)?)),
        ciphertext_for_recipient: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_key_length_needs_exactly_one() {
        assert_eq!(data_key_length(Some(64), None).unwrap(), 64);
        assert_eq!(data_key_length(None, Some("AES_128")).unwrap(), 16);
        assert_eq!(data_key_length(None, Some("AES_256")).unwrap(), 32);
        assert!(matches!(
            data_key_length(None, None),
            Err(KmsError::Validation(_))
        ));
        assert!(matches!(
            data_key_length(Some(32), Some("AES_256")),
            Err(KmsError::Validation(_))
        ));
        assert!(matches!(
            data_key_length(Some(2000), None),
            Err(KmsError::Validation(_))
        ));
    }
}
