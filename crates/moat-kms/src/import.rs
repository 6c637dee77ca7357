//! Importing key material into EXTERNAL keys: wrapping parameters, the import itself, its
//! deletion, and the expiry of material imported with a `ValidTo`.

use base64::Engine as _;
use moat_store::{Reader, Writer, GLOBAL};
use moat_wire::{Blob, Timestamp};
use serde::{Deserialize, Serialize};

use crate::crypto::{self, KeySpec, Material, WrappingAlgorithm, WrappingKeySpec};
use crate::keys::{
    self, from_millis, hex_lower, seal_material, ImportedMaterial, KeyRecord, KeyState, KeyVersion,
    PendingImport,
};
use crate::manage::{self, DueRecord};
use crate::{Call, Kms, KmsError};

/// How long GetParametersForImport's public key and token stay valid.
const PARAMETERS_VALID_MS: i64 = 24 * 3_600_000;
/// The latest `ValidTo` AWS accepts: 365 days from the request.
const MAX_VALID_TO_MS: i64 = 365 * 86_400_000;
const DUE: &str = "expire";
const EXPIRES: &str = "KEY_MATERIAL_EXPIRES";
const DOES_NOT_EXPIRE: &str = "KEY_MATERIAL_DOES_NOT_EXPIRE";
const TOKEN_PURPOSE: &str = "kms.import-token";

/// What an import token says, sealed under the root key so a client can neither read nor
/// forge it.
#[derive(Serialize, Deserialize)]
struct Token {
    account: String,
    key_id: String,
    token_id: String,
    expires_ms: i64,
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(text: &str) -> Result<Vec<u8>, KmsError> {
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| KmsError::Internal(format!("sealed import data is not base64: {e}")))
}

fn wrapping_purpose(key_id: &str, token_id: &str) -> String {
    format!("kms.import-wrapping-key/{key_id}/{token_id}")
}

fn secret_purpose(key_id: &str) -> String {
    format!("kms.import-material-id/{key_id}")
}

fn seal(kms: &Kms, purpose: &str, bytes: &[u8]) -> Result<String, KmsError> {
    let sealed = kms
        .store()
        .root_key()
        .seal(purpose, bytes)
        .map_err(|e| KmsError::Internal(format!("cannot seal import data: {e}")))?;
    Ok(b64(&sealed))
}

fn open(kms: &Kms, purpose: &str, sealed: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, KmsError> {
    kms.store()
        .root_key()
        .open(purpose, &unb64(sealed)?)
        .map_err(|e| KmsError::Internal(format!("cannot open import data: {e}")))
}

/// Import operations act on EXTERNAL keys of the caller's own account.
fn require_external(key: &KeyRecord, call: &Call<'_>) -> Result<(), KmsError> {
    key.require_own_account(&call.account())?;
    if key.origin != "EXTERNAL" {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} origin is {} which is not valid for this operation.",
            key.arn, key.origin
        )));
    }
    key.not_pending_deletion()
}

fn key_spec(key: &KeyRecord) -> Result<KeySpec, KmsError> {
    KeySpec::parse(&key.key_spec)
        .ok_or_else(|| KmsError::Internal(format!("stored key spec {}", key.key_spec)))
}

fn is_rsa(spec: KeySpec) -> bool {
    matches!(spec, KeySpec::Rsa2048 | KeySpec::Rsa3072 | KeySpec::Rsa4096)
}

fn is_key_wrap(algorithm: WrappingAlgorithm) -> bool {
    matches!(
        algorithm,
        WrappingAlgorithm::RsaAesKeyWrapSha1 | WrappingAlgorithm::RsaAesKeyWrapSha256
    )
}

/// RSA private keys are longer than RSA-OAEP can carry: AWS asks for RSA_AES_KEY_WRAP_*.
fn check_algorithm_for(
    key: &KeyRecord,
    spec: KeySpec,
    algorithm: WrappingAlgorithm,
) -> Result<(), KmsError> {
    if is_rsa(spec) && !is_key_wrap(algorithm) {
        return Err(KmsError::Validation(format!(
            "{} has key spec {}: RSA private key material can only be imported with the \
             RSA_AES_KEY_WRAP_SHA_1 or RSA_AES_KEY_WRAP_SHA_256 wrapping algorithm.",
            key.arn, key.key_spec
        )));
    }
    Ok(())
}

/// `GetParametersForImport`: a fresh RSA wrapping key pair and a token for it, replacing any
/// parameters handed out before.
pub fn get_parameters(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::GetParametersForImportRequest,
) -> Result<crate::GetParametersForImportResponse, KmsError> {
    let algorithm = WrappingAlgorithm::parse(&input.wrapping_algorithm).ok_or_else(|| {
        KmsError::Validation(format!(
            "Wrapping algorithm {} is not supported in this Region.",
            input.wrapping_algorithm
        ))
    })?;
    if algorithm == WrappingAlgorithm::RsaesPkcs1V15 {
        return Err(KmsError::Validation(
            "The RSAES_PKCS1_V1_5 wrapping algorithm is no longer supported. Use \
             RSAES_OAEP_SHA_256 or RSA_AES_KEY_WRAP_SHA_256."
                .to_owned(),
        ));
    }
    let wrapping_spec = WrappingKeySpec::parse(&input.wrapping_key_spec).ok_or_else(|| {
        KmsError::Validation(format!(
            "Wrapping key spec {} is not supported in this Region.",
            input.wrapping_key_spec
        ))
    })?;
    // Checked before the (slow) key generation, and again inside the write.
    let key = kms
        .store()
        .read(|tx| manage::load(kms, tx, call, &input.key_id))?;
    require_external(&key, call)?;
    check_algorithm_for(&key, key_spec(&key)?, algorithm)?;

    let wrapping = crypto::generate_wrapping_key(wrapping_spec)?;
    let public = crypto::public_key_der(wrapping_spec.key_spec(), &wrapping)?;
    let token_id = hex_lower(&crate::random_bytes(16)?);
    let expires_ms = call.now_ms() + PARAMETERS_VALID_MS;
    let sealed_wrapping_key = seal(
        kms,
        &wrapping_purpose(&key.key_id, &token_id),
        wrapping.as_bytes(),
    )?;
    let token = serde_json::to_vec(&Token {
        account: key.account.clone(),
        key_id: key.key_id.clone(),
        token_id: token_id.clone(),
        expires_ms,
    })
    .map_err(|e| KmsError::Internal(format!("cannot encode an import token: {e}")))?;
    let token = kms
        .store()
        .root_key()
        .seal(TOKEN_PURPOSE, &token)
        .map_err(|e| KmsError::Internal(format!("cannot seal an import token: {e}")))?;

    kms.store().write(|tx| {
        let mut key = manage::load(kms, tx, call, &input.key_id)?;
        require_external(&key, call)?;
        key.pending_import = Some(PendingImport {
            sealed_wrapping_key,
            wrapping_algorithm: algorithm.as_str().to_owned(),
            wrapping_key_spec: wrapping_spec.as_str().to_owned(),
            token_id,
            expires_ms,
        });
        manage::save(tx, &key)?;
        Ok(crate::GetParametersForImportResponse {
            key_id: Some(key.arn.clone()),
            import_token: Some(Blob(token)),
            public_key: Some(Blob(public)),
            parameters_valid_to: Some(Timestamp(from_millis(expires_ms))),
        })
    })
}

/// The expiration model and `ValidTo` of an import, after AWS's checks.
fn expiration(
    input: &crate::ImportKeyMaterialRequest,
    now_ms: i64,
) -> Result<(&'static str, Option<i64>), KmsError> {
    let valid_to = input.valid_to.as_ref().map(|t| keys::millis(t.0));
    match input.expiration_model.as_deref().unwrap_or(EXPIRES) {
        EXPIRES => {
            let Some(valid_to) = valid_to else {
                return Err(KmsError::Validation(
                    "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
                        .to_owned(),
                ));
            };
            if valid_to <= now_ms {
                return Err(KmsError::Validation(
                    "The validTo date must be in the future.".to_owned(),
                ));
            }
            if valid_to > now_ms + MAX_VALID_TO_MS {
                return Err(KmsError::Validation(
                    "The validTo date must be at most 365 days from now.".to_owned(),
                ));
            }
            Ok((EXPIRES, Some(valid_to)))
        }
        DOES_NOT_EXPIRE => {
            if valid_to.is_some() {
                return Err(KmsError::Validation(
                    "A validTo date is only valid if the ExpirationModel is \
                     KEY_MATERIAL_EXPIRES"
                        .to_owned(),
                ));
            }
            Ok((DOES_NOT_EXPIRE, None))
        }
        other => Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{other}' at 'expirationModel' failed to \
             satisfy constraint: Member must satisfy enum value set: \
             [KEY_MATERIAL_DOES_NOT_EXPIRE, KEY_MATERIAL_EXPIRES]"
        ))),
    }
}

/// Opens an import token and checks it is the latest one handed out for this key.
fn check_token(
    kms: &Kms,
    key: &KeyRecord,
    token: &[u8],
    now_ms: i64,
) -> Result<PendingImport, KmsError> {
    let invalid = || {
        KmsError::InvalidImportToken(format!(
            "The import token is not valid for {}. Use the token from the latest \
             GetParametersForImport response for this key.",
            key.arn
        ))
    };
    let opened = kms
        .store()
        .root_key()
        .open(TOKEN_PURPOSE, token)
        .map_err(|_| invalid())?;
    let token: Token = serde_json::from_slice(&opened).map_err(|_| invalid())?;
    let pending = key.pending_import.as_ref().ok_or_else(invalid)?;
    if token.account != key.account
        || token.key_id != key.key_id
        || token.token_id != pending.token_id
    {
        return Err(invalid());
    }
    if token.expires_ms <= now_ms || pending.expires_ms <= now_ms {
        return Err(KmsError::ExpiredImportToken(format!(
            "The import token for {} has expired. Call GetParametersForImport again.",
            key.arn
        )));
    }
    Ok(pending.clone())
}

/// The `KeyMaterialId` of imported material: a MAC under the key's own secret.
fn material_id(key_id: &str, secret: &[u8], material: &Material) -> String {
    let mac_key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let mut ctx = aws_lc_rs::hmac::Context::with_key(&mac_key);
    ctx.update(key_id.as_bytes());
    ctx.update(&[0]);
    ctx.update(material.as_bytes());
    hex_lower(ctx.sign().as_ref())
}

/// `ImportKeyMaterial`.
pub fn import(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::ImportKeyMaterialRequest,
) -> Result<crate::ImportKeyMaterialResponse, KmsError> {
    let now_ms = call.now_ms();
    let (model, valid_to_ms) = expiration(&input, now_ms)?;
    let import_type = match input.import_type.as_deref() {
        None => None,
        Some(t @ ("NEW_KEY_MATERIAL" | "EXISTING_KEY_MATERIAL")) => Some(t),
        Some(other) => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'importType' failed to satisfy \
                 constraint: Member must satisfy enum value set: [NEW_KEY_MATERIAL, \
                 EXISTING_KEY_MATERIAL]"
            )))
        }
    };
    if input
        .key_material_description
        .as_ref()
        .is_some_and(|d| d.chars().count() > 256)
    {
        return Err(KmsError::Validation(
            "1 validation error detected: Value at 'keyMaterialDescription' failed to satisfy \
             constraint: Member must have length less than or equal to 256"
                .to_owned(),
        ));
    }
    kms.store().write(|tx| {
        let mut key = manage::load(kms, tx, call, &input.key_id)?;
        require_external(&key, call)?;
        let spec = key_spec(&key)?;
        let symmetric_only = import_type.is_some()
            || input.key_material_id.is_some()
            || input.key_material_description.is_some();
        if symmetric_only && spec != KeySpec::SymmetricDefault {
            return Err(KmsError::Validation(
                "ImportType, KeyMaterialId and KeyMaterialDescription are only valid for \
                 symmetric encryption KMS keys."
                    .to_owned(),
            ));
        }
        let pending = check_token(kms, &key, &input.import_token.0, now_ms)?;
        let algorithm = WrappingAlgorithm::parse(&pending.wrapping_algorithm).ok_or_else(|| {
            KmsError::Internal(format!(
                "stored wrapping algorithm {}",
                pending.wrapping_algorithm
            ))
        })?;
        check_algorithm_for(&key, spec, algorithm)?;
        let wrapping = Material::from_stored(open(
            kms,
            &wrapping_purpose(&key.key_id, &pending.token_id),
            &pending.sealed_wrapping_key,
        )?);
        let unwrapped =
            crypto::unwrap_key_material(&wrapping, algorithm, &input.encrypted_key_material.0)?;
        let material = crypto::check_imported_material(spec, &unwrapped)?;

        let (sealed_secret, secret) = match &key.imported {
            Some(prev) => (
                prev.sealed_secret.clone(),
                open(kms, &secret_purpose(&key.key_id), &prev.sealed_secret)?,
            ),
            None => {
                let secret = zeroize::Zeroizing::new(crate::random_bytes(32)?);
                (seal(kms, &secret_purpose(&key.key_id), &secret)?, secret)
            }
        };
        let id = material_id(&key.key_id, &secret, &material);
        match &key.imported {
            Some(prev) => {
                if import_type == Some("NEW_KEY_MATERIAL") {
                    return Err(KmsError::UnsupportedOperation(format!(
                        "{} already has key material: Moat does not import new key material \
                         for rotation. Reimport the same key material with ImportType \
                         EXISTING_KEY_MATERIAL.",
                        key.arn
                    )));
                }
                if prev.material_id != id {
                    return Err(KmsError::IncorrectKeyMaterial(format!(
                        "The key material imported is not the key material previously \
                         imported into {}.",
                        key.arn
                    )));
                }
            }
            None => {
                if import_type == Some("EXISTING_KEY_MATERIAL") {
                    return Err(KmsError::Validation(format!(
                        "{} has no key material to reimport: use ImportType NEW_KEY_MATERIAL.",
                        key.arn
                    )));
                }
                if input.key_material_id.is_some() {
                    return Err(KmsError::Validation(
                        "KeyMaterialId cannot be specified when importing new key material."
                            .to_owned(),
                    ));
                }
            }
        }
        if input.key_material_id.as_ref().is_some_and(|m| *m != id) {
            return Err(KmsError::IncorrectKeyMaterial(format!(
                "The key material imported does not have the KeyMaterialId given for {}.",
                key.arn
            )));
        }

        // A reimport of material still present changes only its expiration.
        if let Some(current) = key.versions.iter_mut().find(|v| v.id == id) {
            if let Some(old) = current.valid_to_ms {
                manage::remove_due(tx, old, DUE, &key.account, &key.key_id)?;
            }
            current.valid_to_ms = valid_to_ms;
        } else {
            let sealed = seal_material(
                kms.store().root_key(),
                &key.key_id,
                &id,
                material.as_bytes(),
            )?;
            key.versions.push(KeyVersion {
                id: id.clone(),
                created_ms: now_ms,
                sealed,
                rotation_type: None,
                valid_to_ms,
            });
        }
        if let Some(valid_to) = valid_to_ms {
            manage::put_due(tx, valid_to, DUE, &key.account, &key.key_id)?;
        }
        let description = input
            .key_material_description
            .clone()
            .or_else(|| key.imported.as_ref().and_then(|i| i.description.clone()));
        key.imported = Some(ImportedMaterial {
            material_id: id.clone(),
            sealed_secret,
            description,
        });
        key.expiration_model = Some(model.to_owned());
        if key.state == KeyState::PendingImport {
            key.state = KeyState::Enabled;
        }
        manage::save(tx, &key)?;
        Ok(crate::ImportKeyMaterialResponse {
            key_id: Some(key.arn.clone()),
            key_material_id: Some(id),
        })
    })
}

/// Removes a key's imported material; the key waits for it to be imported again.
fn remove_material(tx: &mut impl Writer, key: &mut KeyRecord) -> Result<(), KmsError> {
    for v in key.versions.drain(..) {
        if let Some(valid_to) = v.valid_to_ms {
            manage::remove_due(tx, valid_to, DUE, &key.account, &key.key_id)?;
        }
    }
    key.expiration_model = None;
    if key.state != KeyState::PendingDeletion {
        key.state = KeyState::PendingImport;
    }
    Ok(())
}

/// `DeleteImportedKeyMaterial`.
pub fn delete(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::DeleteImportedKeyMaterialRequest,
) -> Result<crate::DeleteImportedKeyMaterialResponse, KmsError> {
    kms.store().write(|tx| {
        let mut key = manage::load(kms, tx, call, &input.key_id)?;
        require_external(&key, call)?;
        let Some(current) = key.current().map(|v| v.id.clone()) else {
            return Err(KmsError::InvalidState(format!(
                "{} is pending import.",
                key.arn
            )));
        };
        if input
            .key_material_id
            .as_ref()
            .is_some_and(|m| *m != current)
        {
            return Err(KmsError::NotFound(format!(
                "Key material {} is not associated with {}.",
                input.key_material_id.as_deref().unwrap_or_default(),
                key.arn
            )));
        }
        remove_material(tx, &mut key)?;
        manage::save(tx, &key)?;
        Ok(crate::DeleteImportedKeyMaterialResponse {
            key_id: Some(key.arn.clone()),
            key_material_id: Some(current),
        })
    })
}

/// Expires imported material whose ValidTo has passed; how many keys.
pub fn expire_due(kms: &Kms, now_ms: i64) -> Result<usize, KmsError> {
    kms.store().write(|tx| {
        let mut expired = 0;
        for (due_key, entry) in manage::due_entries(tx, DUE, now_ms)? {
            tx.delete::<DueRecord>(GLOBAL, &due_key)?;
            let Some(mut key) = tx.get::<KeyRecord>(&entry.account, &entry.key_id)? else {
                continue;
            };
            let due = key
                .versions
                .iter()
                .any(|v| v.valid_to_ms.is_some_and(|t| t <= now_ms));
            if !due {
                continue;
            }
            remove_material(tx, &mut key)?;
            manage::save(tx, &key)?;
            tracing::info!(key = %key.arn, "imported KMS key material expired");
            expired += 1;
        }
        Ok(expired)
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use aws_lc_rs::rsa::{OaepPublicEncryptingKey, PublicEncryptingKey, OAEP_SHA256_MGF1SHA256};

    use super::*;
    use crate::rotation::tests::{call, create, get, kms, root, T0};

    const HOUR_MS: i64 = 3_600_000;

    /// GetParametersForImport, then what a client does: RSA-OAEP-SHA256 of the material.
    fn params_and_wrap(
        kms: &Kms,
        key: &KeyRecord,
        material: &[u8],
        now: i64,
    ) -> (Vec<u8>, Vec<u8>) {
        let p = root();
        let params = get_parameters(
            kms,
            &call(&p, now),
            &crate::GetParametersForImportRequest {
                key_id: key.key_id.clone(),
                wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                wrapping_key_spec: "RSA_2048".into(),
            },
        )
        .unwrap();
        let public = OaepPublicEncryptingKey::new(
            PublicEncryptingKey::from_der(&params.public_key.unwrap().0).unwrap(),
        )
        .unwrap();
        let mut out = vec![0; public.ciphertext_size()];
        let wrapped = public
            .encrypt(&OAEP_SHA256_MGF1SHA256, material, &mut out, None)
            .unwrap()
            .to_vec();
        (params.import_token.unwrap().0, wrapped)
    }

    fn import_at(
        kms: &Kms,
        key: &KeyRecord,
        token: Vec<u8>,
        wrapped: Vec<u8>,
        valid_to: Option<i64>,
        now: i64,
    ) -> Result<crate::ImportKeyMaterialResponse, KmsError> {
        let p = root();
        import(
            kms,
            &call(&p, now),
            crate::ImportKeyMaterialRequest {
                key_id: key.key_id.clone(),
                import_token: Blob(token),
                encrypted_key_material: Blob(wrapped),
                expiration_model: Some(
                    if valid_to.is_some() {
                        EXPIRES
                    } else {
                        DOES_NOT_EXPIRE
                    }
                    .into(),
                ),
                valid_to: valid_to.map(|ms| Timestamp(from_millis(ms))),
                ..Default::default()
            },
        )
    }

    #[test]
    fn expired_material_is_removed_by_the_sweep_and_can_come_back() {
        let kms = kms();
        let key = create(&kms, &root(), "SYMMETRIC_DEFAULT", "EXTERNAL");
        assert_eq!(key.state, KeyState::PendingImport);
        let material = [9u8; 32];
        let (token, wrapped) = params_and_wrap(&kms, &key, &material, T0);
        let valid_to = T0 + 2 * HOUR_MS;
        let out = import_at(&kms, &key, token, wrapped, Some(valid_to), T0 + 1).unwrap();
        let id = out.key_material_id.unwrap();
        let imported = get(&kms, &key.key_id);
        assert_eq!(imported.state, KeyState::Enabled);
        assert_eq!(imported.current().unwrap().id, id);
        assert_eq!(imported.current().unwrap().valid_to_ms, Some(valid_to));

        assert_eq!(expire_due(&kms, valid_to - 1).unwrap(), 0);
        assert_eq!(get(&kms, &key.key_id).state, KeyState::Enabled);
        assert_eq!(expire_due(&kms, valid_to).unwrap(), 1);
        let expired = get(&kms, &key.key_id);
        assert_eq!(expired.state, KeyState::PendingImport);
        assert!(expired.versions.is_empty());
        assert_eq!(expire_due(&kms, valid_to + HOUR_MS).unwrap(), 0);

        // Other material is refused; the same comes back with the same KeyMaterialId.
        let (token, wrapped) = params_and_wrap(&kms, &key, &[8u8; 32], valid_to + 1);
        let err = import_at(&kms, &key, token, wrapped, None, valid_to + 2).unwrap_err();
        assert!(matches!(err, KmsError::IncorrectKeyMaterial(_)), "{err:?}");
        let (token, wrapped) = params_and_wrap(&kms, &key, &material, valid_to + 3);
        let out = import_at(&kms, &key, token, wrapped, None, valid_to + 4).unwrap();
        assert_eq!(out.key_material_id.unwrap(), id);
        let back = get(&kms, &key.key_id);
        assert_eq!(back.state, KeyState::Enabled);
        assert_eq!(back.current().unwrap().valid_to_ms, None);
        assert_eq!(back.expiration_model.as_deref(), Some(DOES_NOT_EXPIRE));
        // Material that does not expire has no due entry.
        assert_eq!(expire_due(&kms, valid_to + 400 * 24 * HOUR_MS).unwrap(), 0);
    }

    #[test]
    fn tokens_expire_and_only_the_latest_counts() {
        let kms = kms();
        let key = create(&kms, &root(), "SYMMETRIC_DEFAULT", "EXTERNAL");
        let material = [5u8; 32];
        let (old_token, old_wrapped) = params_and_wrap(&kms, &key, &material, T0);
        let (token, wrapped) = params_and_wrap(&kms, &key, &material, T0 + 1);
        let err = import_at(&kms, &key, old_token, old_wrapped, None, T0 + 2).unwrap_err();
        assert!(matches!(err, KmsError::InvalidImportToken(_)), "{err:?}");
        let err = import_at(
            &kms,
            &key,
            b"garbage".to_vec(),
            wrapped.clone(),
            None,
            T0 + 2,
        )
        .unwrap_err();
        assert!(matches!(err, KmsError::InvalidImportToken(_)), "{err:?}");
        let err = import_at(
            &kms,
            &key,
            token.clone(),
            wrapped.clone(),
            None,
            T0 + 1 + PARAMETERS_VALID_MS,
        )
        .unwrap_err();
        assert!(matches!(err, KmsError::ExpiredImportToken(_)), "{err:?}");
        import_at(&kms, &key, token, wrapped, None, T0 + 2 * HOUR_MS).unwrap();
    }

    #[test]
    fn wrong_size_material_is_incorrect() {
        let kms = kms();
        let key = create(&kms, &root(), "SYMMETRIC_DEFAULT", "EXTERNAL");
        let (token, wrapped) = params_and_wrap(&kms, &key, &[1u8; 16], T0);
        let err = import_at(&kms, &key, token, wrapped, None, T0 + 1).unwrap_err();
        assert!(matches!(err, KmsError::IncorrectKeyMaterial(_)), "{err:?}");
        assert_eq!(get(&kms, &key.key_id).state, KeyState::PendingImport);
    }

    #[test]
    fn rsa_keys_need_key_wrap() {
        let kms = kms();
        let key = create(&kms, &root(), "RSA_2048", "EXTERNAL");
        let err = get_parameters(
            &kms,
            &call(&root(), T0),
            &crate::GetParametersForImportRequest {
                key_id: key.key_id.clone(),
                wrapping_algorithm: "RSAES_OAEP_SHA_256".into(),
                wrapping_key_spec: "RSA_2048".into(),
            },
        )
        .unwrap_err();
        assert!(matches!(err, KmsError::Validation(_)), "{err:?}");
    }
}
