//! Operations on asymmetric and HMAC keys: Sign, Verify, GetPublicKey, GenerateMac,
//! VerifyMac, DeriveSharedSecret, RSA Encrypt/Decrypt (reached through
//! [`crate::symmetric`]), and GenerateDataKeyPair(WithoutPlaintext), whose private key is
//! sealed under a symmetric key like any data key.

use std::collections::BTreeMap;

use moat_wire::Blob;
use zeroize::Zeroizing;

use crate::crypto::{
    self, CryptoError, DataKeyPairSpec, EncryptionAlgorithm, KeyAgreementAlgorithm, KeySpec,
    KeyUsage, MacAlgorithm, Material, MessageType, SigningAlgorithm,
};
use crate::keys::KeyRecord;
use crate::symmetric::{current_material, refuse_recipient, usable_key};
use crate::{ciphertext, Call, Kms, KmsError};

/// The spec and usage a stored key was created with. Both were checked at CreateKey, so a
/// value that does not parse is a corrupt record, not the caller's fault.
fn spec_and_usage(key: &KeyRecord) -> Result<(KeySpec, KeyUsage), KmsError> {
    let spec = KeySpec::parse(&key.key_spec)
        .ok_or_else(|| KmsError::Internal(format!("{} has an unknown key spec", key.arn)))?;
    let usage = KeyUsage::parse(&key.key_usage)
        .ok_or_else(|| KmsError::Internal(format!("{} has an unknown key usage", key.arn)))?;
    Ok((spec, usage))
}

/// The key's current material, for crypto: a copy of the cached bytes, zeroized on drop.
fn key_material(kms: &Kms, key: &KeyRecord) -> Result<Material, KmsError> {
    let (_, material) = current_material(kms, key)?;
    Ok(Material::from_stored(Zeroizing::new(material.to_vec())))
}

fn incompatible(algorithm: &str, spec: KeySpec) -> KmsError {
    KmsError::InvalidKeyUsage(format!(
        "Algorithm {algorithm} is incompatible with key spec {spec}."
    ))
}

/// A signing algorithm the key's spec lists. The model admits algorithms Moat has no key for
/// (SM2DSA, ML-DSA, Ed25519): they are incompatible with every key here.
fn signing_algorithm(
    raw: &str,
    spec: KeySpec,
    usage: KeyUsage,
) -> Result<SigningAlgorithm, KmsError> {
    SigningAlgorithm::parse(raw)
        .filter(|a| spec.signing_algorithms(usage).contains(a))
        .ok_or_else(|| incompatible(raw, spec))
}

/// `MessageType`, `RAW` by default. `EXTERNAL_MU` belongs to ML-DSA keys, which Moat has not.
fn message_type(raw: Option<&str>, spec: KeySpec) -> Result<MessageType, KmsError> {
    let raw = raw.unwrap_or("RAW");
    MessageType::parse(raw).ok_or_else(|| {
        KmsError::Validation(format!(
            "Message type {raw} is incompatible with key spec {spec}."
        ))
    })
}

/// Crypto errors of Sign and Verify, with AWS's wording for a digest of the wrong length.
fn signing_error(e: CryptoError, algorithm: SigningAlgorithm) -> KmsError {
    match e {
        CryptoError::InvalidDigestLength { .. } => KmsError::Validation(format!(
            "Digest is invalid length for algorithm {algorithm}."
        )),
        other => other.into(),
    }
}

/// An RSA-OAEP algorithm the key's spec lists for encryption.
fn encryption_algorithm(
    key: &KeyRecord,
    raw: &str,
) -> Result<(KeySpec, EncryptionAlgorithm), KmsError> {
    let (spec, usage) = spec_and_usage(key)?;
    let algorithm = EncryptionAlgorithm::parse(raw)
        .filter(|a| spec.encryption_algorithms(usage).contains(a))
        .ok_or_else(|| incompatible(raw, spec))?;
    Ok((spec, algorithm))
}

/// RSA-OAEP encryption under an asymmetric `ENCRYPT_DECRYPT` key the caller already checked
/// is usable.
pub fn encrypt(
    kms: &Kms,
    key: &KeyRecord,
    algorithm: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let (spec, algorithm) = encryption_algorithm(key, algorithm)?;
    let material = key_material(kms, key)?;
    Ok(crypto::encrypt_asymmetric(
        spec, &material, algorithm, plaintext,
    )?)
}

/// RSA-OAEP decryption; any failure is `InvalidCiphertextException`, whatever its cause.
pub fn decrypt(
    kms: &Kms,
    key: &KeyRecord,
    algorithm: &str,
    blob: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let (spec, algorithm) = encryption_algorithm(key, algorithm)?;
    let material = key_material(kms, key)?;
    Ok(crypto::decrypt_asymmetric(
        spec, &material, algorithm, blob,
    )?)
}

/// `Sign`.
pub fn sign(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::SignRequest,
) -> Result<crate::SignResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let key = usable_key(kms, call, &input.key_id, "SIGN_VERIFY", "Sign")?;
    let (spec, usage) = spec_and_usage(&key)?;
    let algorithm = signing_algorithm(&input.signing_algorithm, spec, usage)?;
    let message_type = message_type(input.message_type.as_deref(), spec)?;
    let material = key_material(kms, &key)?;
    let signature = crypto::sign(spec, &material, algorithm, message_type, &input.message.0)
        .map_err(|e| signing_error(e, algorithm))?;
    Ok(crate::SignResponse {
        key_id: Some(key.arn),
        signature: Some(Blob(signature)),
        signing_algorithm: Some(algorithm.as_str().to_owned()),
    })
}

/// `Verify`. A signature that does not verify is `KMSInvalidSignatureException`: AWS never
/// answers `SignatureValid: false`.
pub fn verify(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::VerifyRequest,
) -> Result<crate::VerifyResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let key = usable_key(kms, call, &input.key_id, "SIGN_VERIFY", "Verify")?;
    let (spec, usage) = spec_and_usage(&key)?;
    let algorithm = signing_algorithm(&input.signing_algorithm, spec, usage)?;
    let message_type = message_type(input.message_type.as_deref(), spec)?;
    let material = key_material(kms, &key)?;
    let valid = crypto::verify(
        spec,
        &material,
        algorithm,
        message_type,
        &input.message.0,
        &input.signature.0,
    )
    .map_err(|e| signing_error(e, algorithm))?;
    if !valid {
        return Err(KmsError::InvalidSignature);
    }
    Ok(crate::VerifyResponse {
        key_id: Some(key.arn),
        signature_valid: Some(true),
        signing_algorithm: Some(algorithm.as_str().to_owned()),
    })
}

/// The algorithm names of a list, or nothing for an empty one (AWS omits the member).
fn names<T: Copy>(list: &[T], name: fn(T) -> &'static str) -> Option<Vec<String>> {
    (!list.is_empty()).then(|| list.iter().map(|a| name(*a).to_owned()).collect())
}

/// `GetPublicKey`.
pub fn get_public_key(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::GetPublicKeyRequest,
) -> Result<crate::GetPublicKeyResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let key = kms
        .resolve(&call.account(), &input.key_id, call.now_ms())?
        .key
        .clone();
    key.usable(call.now_ms())?;
    let (spec, usage) = spec_and_usage(&key)?;
    if !spec.is_asymmetric() {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} is a {spec} key, which has no public key: GetPublicKey is supported on \
             asymmetric KMS keys only.",
            key.arn
        )));
    }
    let material = key_material(kms, &key)?;
    let public = crypto::public_key_der(spec, &material)?;
    Ok(crate::GetPublicKeyResponse {
        customer_master_key_spec: Some(spec.as_str().to_owned()),
        encryption_algorithms: names(
            spec.encryption_algorithms(usage),
            EncryptionAlgorithm::as_str,
        ),
        key_agreement_algorithms: names(
            spec.key_agreement_algorithms(usage),
            KeyAgreementAlgorithm::as_str,
        ),
        key_id: Some(key.arn),
        key_spec: Some(spec.as_str().to_owned()),
        key_usage: Some(usage.as_str().to_owned()),
        public_key: Some(Blob(public)),
        signing_algorithms: names(spec.signing_algorithms(usage), SigningAlgorithm::as_str),
    })
}

/// The HMAC key a MAC request names, its spec, material and the algorithm it asks for.
fn mac_key(
    kms: &Kms,
    call: &Call<'_>,
    raw_key: &str,
    raw_algorithm: &str,
    operation: &str,
) -> Result<(KeyRecord, KeySpec, Material, MacAlgorithm), KmsError> {
    let key = usable_key(kms, call, raw_key, "GENERATE_VERIFY_MAC", operation)?;
    let (spec, usage) = spec_and_usage(&key)?;
    let algorithm = MacAlgorithm::parse(raw_algorithm)
        .filter(|a| spec.mac_algorithms(usage).contains(a))
        .ok_or_else(|| incompatible(raw_algorithm, spec))?;
    let material = key_material(kms, &key)?;
    Ok((key, spec, material, algorithm))
}

/// `GenerateMac`.
pub fn generate_mac(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::GenerateMacRequest,
) -> Result<crate::GenerateMacResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let (key, spec, material, algorithm) = mac_key(
        kms,
        call,
        &input.key_id,
        &input.mac_algorithm,
        "GenerateMac",
    )?;
    let mac = crypto::generate_mac(spec, &material, algorithm, &input.message.0)?;
    Ok(crate::GenerateMacResponse {
        key_id: Some(key.arn),
        mac: Some(Blob(mac)),
        mac_algorithm: Some(algorithm.as_str().to_owned()),
    })
}

/// `VerifyMac`. A wrong MAC is `KMSInvalidMacException`, never `MacValid: false`.
pub fn verify_mac(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::VerifyMacRequest,
) -> Result<crate::VerifyMacResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let (key, spec, material, algorithm) =
        mac_key(kms, call, &input.key_id, &input.mac_algorithm, "VerifyMac")?;
    if !crypto::verify_mac(spec, &material, algorithm, &input.message.0, &input.mac.0)? {
        return Err(KmsError::InvalidMac);
    }
    Ok(crate::VerifyMacResponse {
        key_id: Some(key.arn),
        mac_algorithm: Some(algorithm.as_str().to_owned()),
        mac_valid: Some(true),
    })
}

/// `DeriveSharedSecret`: ECDH between the key's private half and the peer's public key.
pub fn derive_shared_secret(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::DeriveSharedSecretRequest,
) -> Result<crate::DeriveSharedSecretResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    refuse_recipient(input.recipient.as_ref())?;
    let key = usable_key(
        kms,
        call,
        &input.key_id,
        "KEY_AGREEMENT",
        "DeriveSharedSecret",
    )?;
    let (spec, usage) = spec_and_usage(&key)?;
    let algorithm = KeyAgreementAlgorithm::parse(&input.key_agreement_algorithm)
        .filter(|a| spec.key_agreement_algorithms(usage).contains(a))
        .ok_or_else(|| incompatible(&input.key_agreement_algorithm, spec))?;
    let material = key_material(kms, &key)?;
    let secret = crypto::derive_shared_secret(spec, &material, &input.public_key.0)?;
    Ok(crate::DeriveSharedSecretResponse {
        ciphertext_for_recipient: None,
        key_agreement_algorithm: Some(algorithm.as_str().to_owned()),
        key_id: Some(key.arn),
        key_origin: Some(key.origin),
        shared_secret: Some(Blob(secret.to_vec())),
    })
}

/// A data key pair: its private key in the clear and sealed under a symmetric key.
struct DataKeyPair {
    key: KeyRecord,
    spec: DataKeyPairSpec,
    private_plaintext: Zeroizing<Vec<u8>>,
    private_blob: Vec<u8>,
    public: Vec<u8>,
    version: String,
}

/// Generates a key pair and seals its PKCS#8 private key under the symmetric key `raw` names,
/// exactly as a data key: `Decrypt` of the blob returns the private key.
fn data_key_pair(
    kms: &Kms,
    call: &Call<'_>,
    raw: &str,
    raw_spec: &str,
    context: &BTreeMap<String, String>,
    operation: &str,
) -> Result<DataKeyPair, KmsError> {
    let key = usable_key(kms, call, raw, "ENCRYPT_DECRYPT", operation)?;
    if key.key_spec != KeySpec::SymmetricDefault.as_str() {
        return Err(KmsError::InvalidKeyUsage(format!(
            "{} key spec is {}, which is not valid for {operation}: data key pairs are \
             encrypted under symmetric keys.",
            key.arn, key.key_spec
        )));
    }
    let spec = DataKeyPairSpec::parse(raw_spec).ok_or_else(|| {
        KmsError::UnsupportedOperation(format!("KeyPairSpec {raw_spec} is not supported by Moat."))
    })?;
    let (private_plaintext, public) = crypto::generate_data_key_pair(spec)?;
    let (version, material) = current_material(kms, &key)?;
    let private_blob = ciphertext::seal(
        &key.account,
        &key.key_id,
        &version,
        &material,
        context,
        &private_plaintext,
    )?;
    Ok(DataKeyPair {
        key,
        spec,
        private_plaintext,
        private_blob,
        public,
        version,
    })
}

/// `GenerateDataKeyPair`.
pub fn generate_data_key_pair(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::GenerateDataKeyPairRequest,
) -> Result<crate::GenerateDataKeyPairResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    refuse_recipient(input.recipient.as_ref())?;
    let context = input.encryption_context.unwrap_or_default();
    let pair = data_key_pair(
        kms,
        call,
        &input.key_id,
        &input.key_pair_spec,
        &context,
        "GenerateDataKeyPair",
    )?;
    Ok(crate::GenerateDataKeyPairResponse {
        ciphertext_for_recipient: None,
        key_id: Some(pair.key.arn),
        key_material_id: Some(pair.version),
        key_pair_spec: Some(pair.spec.as_str().to_owned()),
        private_key_ciphertext_blob: Some(Blob(pair.private_blob)),
        private_key_plaintext: Some(Blob(pair.private_plaintext.to_vec())),
        public_key: Some(Blob(pair.public)),
    })
}

/// `GenerateDataKeyPairWithoutPlaintext`.
pub fn generate_data_key_pair_without_plaintext(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::GenerateDataKeyPairWithoutPlaintextRequest,
) -> Result<crate::GenerateDataKeyPairWithoutPlaintextResponse, KmsError> {
    crate::grants::check_tokens(kms, input.grant_tokens.as_deref())?;
    let context = input.encryption_context.unwrap_or_default();
    let pair = data_key_pair(
        kms,
        call,
        &input.key_id,
        &input.key_pair_spec,
        &context,
        "GenerateDataKeyPairWithoutPlaintext",
    )?;
    Ok(crate::GenerateDataKeyPairWithoutPlaintextResponse {
        key_id: Some(pair.key.arn),
        key_material_id: Some(pair.version),
        key_pair_spec: Some(pair.spec.as_str().to_owned()),
        private_key_ciphertext_blob: Some(Blob(pair.private_blob)),
        public_key: Some(Blob(pair.public)),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::Arc;

    use moat_store::{RootKey, Store};
    use moat_types::{Principal, PrincipalKind, SystemClock};
    use time::OffsetDateTime;

    use super::*;

    fn kms() -> Kms {
        let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
        Kms::new(store, "us-east-1", Arc::new(SystemClock))
    }

    fn root() -> Principal {
        Principal::long_term(
            "111122223333".parse().unwrap(),
            PrincipalKind::Root,
            "arn:aws:iam::111122223333:root".to_owned(),
            "111122223333".to_owned(),
            "AKIAEXAMPLE".to_owned(),
        )
    }

    fn create(kms: &Kms, call: &Call<'_>, spec: &str, usage: &str) -> String {
        let out = crate::manage::create_key(
            kms,
            call,
            crate::CreateKeyRequest {
                key_spec: Some(spec.to_owned()),
                key_usage: Some(usage.to_owned()),
                ..Default::default()
            },
        )
        .unwrap();
        out.key_metadata.unwrap().key_id
    }

    fn sign_request(key: &str, algorithm: &str, kind: &str, message: &[u8]) -> crate::SignRequest {
        crate::SignRequest {
            key_id: key.to_owned(),
            signing_algorithm: algorithm.to_owned(),
            message_type: Some(kind.to_owned()),
            message: Blob(message.to_vec()),
            ..Default::default()
        }
    }

    fn verify_request(sign: &crate::SignRequest, signature: &[u8]) -> crate::VerifyRequest {
        crate::VerifyRequest {
            key_id: sign.key_id.clone(),
            signing_algorithm: sign.signing_algorithm.clone(),
            message_type: sign.message_type.clone(),
            message: sign.message.clone(),
            signature: Blob(signature.to_vec()),
            ..Default::default()
        }
    }

    #[test]
    fn sign_verify_and_their_refusals() {
        let kms = kms();
        let principal = root();
        let call = Call {
            principal: &principal,
            now: OffsetDateTime::now_utc(),
        };
        let key = create(&kms, &call, "ECC_NIST_P256", "SIGN_VERIFY");
        let request = sign_request(&key, "ECDSA_SHA_256", "RAW", b"hello");
        let signed = sign(&kms, &call, request.clone()).unwrap();
        assert!(signed.key_id.unwrap().ends_with(&key));
        let signature = signed.signature.unwrap().0;
        assert!(
            verify(&kms, &call, verify_request(&request, &signature))
                .unwrap()
                .signature_valid
                == Some(true)
        );

        let tampered = sign_request(&key, "ECDSA_SHA_256", "RAW", b"hellO");
        assert!(matches!(
            verify(&kms, &call, verify_request(&tampered, &signature)),
            Err(KmsError::InvalidSignature)
        ));
        assert!(matches!(
            sign(
                &kms,
                &call,
                sign_request(&key, "ECDSA_SHA_384", "RAW", b"x")
            ),
            Err(KmsError::InvalidKeyUsage(_))
        ));
        assert!(matches!(
            sign(&kms, &call, sign_request(&key, "SM2DSA", "RAW", b"x")),
            Err(KmsError::InvalidKeyUsage(_))
        ));
        assert!(matches!(
            sign(
                &kms,
                &call,
                sign_request(&key, "ECDSA_SHA_256", "DIGEST", &[0u8; 31])
            ),
            Err(KmsError::Validation(_))
        ));
        assert!(matches!(
            sign(
                &kms,
                &call,
                sign_request(&key, "ECDSA_SHA_256", "EXTERNAL_MU", &[0u8; 64])
            ),
            Err(KmsError::Validation(_))
        ));
        sign(
            &kms,
            &call,
            sign_request(&key, "ECDSA_SHA_256", "DIGEST", &[0u8; 32]),
        )
        .unwrap();

        let mac_key = create(&kms, &call, "HMAC_256", "GENERATE_VERIFY_MAC");
        assert!(matches!(
            sign(
                &kms,
                &call,
                sign_request(&mac_key, "ECDSA_SHA_256", "RAW", b"x")
            ),
            Err(KmsError::InvalidKeyUsage(_))
        ));
    }

    #[test]
    fn macs_and_public_keys() {
        let kms = kms();
        let principal = root();
        let call = Call {
            principal: &principal,
            now: OffsetDateTime::now_utc(),
        };
        let key = create(&kms, &call, "HMAC_384", "GENERATE_VERIFY_MAC");
        let generated = generate_mac(
            &kms,
            &call,
            crate::GenerateMacRequest {
                key_id: key.clone(),
                mac_algorithm: "HMAC_SHA_384".to_owned(),
                message: Blob(b"m".to_vec()),
                ..Default::default()
            },
        )
        .unwrap();
        let mac = generated.mac.unwrap().0;
        assert_eq!(mac.len(), 48);
        let verify_with = |mac: Vec<u8>| {
            verify_mac(
                &kms,
                &call,
                crate::VerifyMacRequest {
                    key_id: key.clone(),
                    mac_algorithm: "HMAC_SHA_384".to_owned(),
                    message: Blob(b"m".to_vec()),
                    mac: Blob(mac),
                    ..Default::default()
                },
            )
        };
        assert_eq!(verify_with(mac.clone()).unwrap().mac_valid, Some(true));
        let mut bad = mac;
        bad[0] ^= 1;
        assert!(matches!(verify_with(bad), Err(KmsError::InvalidMac)));
        assert!(matches!(
            generate_mac(
                &kms,
                &call,
                crate::GenerateMacRequest {
                    key_id: key.clone(),
                    mac_algorithm: "HMAC_SHA_256".to_owned(),
                    message: Blob(b"m".to_vec()),
                    ..Default::default()
                },
            ),
            Err(KmsError::InvalidKeyUsage(_))
        ));
        let public = |key: &str| {
            get_public_key(
                &kms,
                &call,
                &crate::GetPublicKeyRequest {
                    key_id: key.to_owned(),
                    grant_tokens: None,
                },
            )
        };
        assert!(matches!(
            public(&key),
            Err(KmsError::UnsupportedOperation(_))
        ));
        let agreement = create(&kms, &call, "ECC_NIST_P384", "KEY_AGREEMENT");
        let info = public(&agreement).unwrap();
        assert_eq!(info.key_agreement_algorithms, Some(vec!["ECDH".to_owned()]));
        assert_eq!(info.signing_algorithms, None);
        assert_eq!(info.encryption_algorithms, None);
        assert_eq!(info.key_usage.as_deref(), Some("KEY_AGREEMENT"));
        // The key agrees with itself: ECDH(d, d·G) is symmetric in who holds which half.
        let secret = derive_shared_secret(
            &kms,
            &call,
            crate::DeriveSharedSecretRequest {
                key_id: agreement.clone(),
                key_agreement_algorithm: "ECDH".to_owned(),
                public_key: info.public_key.unwrap(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(secret.shared_secret.unwrap().0.len(), 48);
        assert_eq!(secret.key_origin.as_deref(), Some("AWS_KMS"));
    }

    #[test]
    fn rsa_encryption_and_data_key_pairs() {
        let kms = kms();
        let principal = root();
        let call = Call {
            principal: &principal,
            now: OffsetDateTime::now_utc(),
        };
        let rsa = create(&kms, &call, "RSA_2048", "ENCRYPT_DECRYPT");
        let record = kms
            .resolve("111122223333", &rsa, call.now_ms())
            .unwrap()
            .key
            .clone();
        let blob = encrypt(&kms, &record, "RSAES_OAEP_SHA_256", b"secret").unwrap();
        assert_eq!(blob.len(), 256);
        assert_eq!(
            decrypt(&kms, &record, "RSAES_OAEP_SHA_256", &blob)
                .unwrap()
                .as_slice(),
            b"secret"
        );
        assert!(matches!(
            decrypt(&kms, &record, "RSAES_OAEP_SHA_1", &blob),
            Err(KmsError::InvalidCiphertext)
        ));
        assert!(matches!(
            encrypt(&kms, &record, "SYMMETRIC_DEFAULT", b"x"),
            Err(KmsError::InvalidKeyUsage(_))
        ));
        assert!(matches!(
            encrypt(&kms, &record, "RSAES_OAEP_SHA_1", &[0u8; 215]),
            Err(KmsError::Validation(_))
        ));
        encrypt(&kms, &record, "RSAES_OAEP_SHA_1", &[0u8; 214]).unwrap();

        let symmetric = create(&kms, &call, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT");
        let context = BTreeMap::from([("purpose".to_owned(), "test".to_owned())]);
        let pair = generate_data_key_pair(
            &kms,
            &call,
            crate::GenerateDataKeyPairRequest {
                key_id: symmetric.clone(),
                key_pair_spec: "ECC_NIST_P256".to_owned(),
                encryption_context: Some(context.clone()),
                ..Default::default()
            },
        )
        .unwrap();
        let private = pair.private_key_plaintext.unwrap().0;
        let spki = crypto::public_key_der(
            KeySpec::EccNistP256,
            &Material::from_stored(Zeroizing::new(private.clone())),
        )
        .unwrap();
        assert_eq!(Some(spki), pair.public_key.map(|b| b.0));
        let opened = crate::symmetric::decrypt(
            &kms,
            &call,
            crate::DecryptRequest {
                ciphertext_blob: pair.private_key_ciphertext_blob,
                encryption_context: Some(context),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(opened.plaintext.unwrap().0, private);
        assert_eq!(opened.key_material_id, pair.key_material_id);

        for (key, spec) in [(&rsa, "RSA_2048"), (&symmetric, "SM2")] {
            let refused = generate_data_key_pair_without_plaintext(
                &kms,
                &call,
                crate::GenerateDataKeyPairWithoutPlaintextRequest {
                    key_id: key.clone(),
                    key_pair_spec: spec.to_owned(),
                    ..Default::default()
                },
            );
            assert!(
                matches!(
                    refused,
                    Err(KmsError::InvalidKeyUsage(_) | KmsError::UnsupportedOperation(_))
                ),
                "{spec}"
            );
        }
    }
}
