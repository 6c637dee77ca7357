//! KMS keys as stored: metadata, key policy, tags, rotation, and the versions of their key
//! material sealed under the root key. And how a request's `KeyId` (key id, key ARN, alias
//! name or alias ARN) finds one.

use base64::Engine as _;
use moat_store::{Reader, Record, RootKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::KmsError;

/// A key's lifecycle state, with AWS's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyState {
    Enabled,
    Disabled,
    PendingDeletion,
    PendingImport,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
        }
    }
}

/// One version of a key's material. A key has one until it is rotated; ciphertexts name the
/// version they were made with, so every earlier version still decrypts.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyVersion {
    /// 64 hex characters, as AWS's `KeyMaterialId`.
    pub id: String,
    pub created_ms: i64,
    /// The material sealed under the root key, base64; bound to the key and version.
    pub sealed: String,
    /// How this version came to be, for `ListKeyRotations`: `None` for the first,
    /// `AUTOMATIC` or `ON_DEMAND` for a rotation.
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// Imported material: when it expires, if it does.
    #[serde(default)]
    pub valid_to_ms: Option<i64>,
}

/// Automatic rotation, while enabled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Rotation {
    pub period_days: i32,
    pub next_ms: i64,
}

/// Parameters handed out by GetParametersForImport, valid for 24 hours.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingImport {
    /// The wrapping key pair, sealed.
    pub sealed_wrapping_key: String,
    pub wrapping_algorithm: String,
    pub wrapping_key_spec: String,
    /// The token's random part, which ImportKeyMaterial must present.
    pub token_id: String,
    pub expires_ms: i64,
}

/// What an EXTERNAL key keeps of the material imported into it, even after that material is
/// deleted or expires: a re-import must bring the same material back (AWS's rule), and it
/// keeps its `KeyMaterialId` so ciphertexts made before still decrypt.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImportedMaterial {
    /// `KeyMaterialId`: a MAC of the material under `sealed_secret`, so it identifies the
    /// material without letting anyone who sees it test guesses of low-entropy material.
    pub material_id: String,
    /// The per-key MAC key, sealed under the root key.
    pub sealed_secret: String,
    #[serde(default)]
    pub description: Option<String>,
}

/// A KMS key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key_id: String,
    pub account: String,
    pub arn: String,
    pub created_ms: i64,
    pub description: String,
    pub key_spec: String,
    pub key_usage: String,
    /// `AWS_KMS` or `EXTERNAL` (imported material).
    pub origin: String,
    pub state: KeyState,
    /// When a key pending deletion is deleted.
    #[serde(default)]
    pub deletion_ms: Option<i64>,
    #[serde(default)]
    pub pending_window_days: Option<i32>,
    /// The key policy (its only policy, named `default`), as given.
    pub policy: String,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub rotation: Option<Rotation>,
    /// Material versions, oldest first; the last is current. Empty for an EXTERNAL key
    /// whose material is not (or no longer) imported.
    #[serde(default)]
    pub versions: Vec<KeyVersion>,
    #[serde(default)]
    pub pending_import: Option<PendingImport>,
    /// For EXTERNAL keys: `KEY_MATERIAL_EXPIRES` or `KEY_MATERIAL_DOES_NOT_EXPIRE` once
    /// material was imported.
    #[serde(default)]
    pub expiration_model: Option<String>,
    #[serde(default)]
    pub imported: Option<ImportedMaterial>,
}

impl Record for KeyRecord {
    const KIND: &'static str = "kms.key";
}

/// An alias, keyed by its name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AliasRecord {
    pub name: String,
    pub target_key_id: String,
    pub created_ms: i64,
    pub updated_ms: i64,
}

impl Record for AliasRecord {
    const KIND: &'static str = "kms.alias";
}

impl KeyRecord {
    /// The current material version.
    pub fn current(&self) -> Option<&KeyVersion> {
        self.versions.last()
    }

    pub fn version(&self, id: &str) -> Option<&KeyVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    /// Checks the key may be used for a cryptographic operation: enabled, with material.
    /// Imported material past its `ValidTo` counts as gone from that instant, whether or not
    /// the sweep has removed it yet.
    pub fn usable(&self, now_ms: i64) -> Result<(), KmsError> {
        if self.state == KeyState::Enabled
            && self
                .versions
                .iter()
                .any(|v| v.valid_to_ms.is_some_and(|t| t <= now_ms))
        {
            return Err(KmsError::InvalidState(format!(
                "{} is pending import.",
                self.arn
            )));
        }
        match self.state {
            KeyState::Enabled => Ok(()),
            KeyState::Disabled => Err(KmsError::Disabled(format!("{} is disabled.", self.arn))),
            KeyState::PendingDeletion => Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                self.arn
            ))),
            KeyState::PendingImport => Err(KmsError::InvalidState(format!(
                "{} is pending import.",
                self.arn
            ))),
        }
    }

    /// Checks the key belongs to `account`: keys are managed in their own account only, and
    /// to any other they do not exist.
    pub fn require_own_account(&self, account: &str) -> Result<(), KmsError> {
        if self.account != account {
            return Err(KmsError::key_not_found(&self.arn));
        }
        Ok(())
    }

    /// Checks the key is not pending deletion, for operations that manage it.
    pub fn not_pending_deletion(&self) -> Result<(), KmsError> {
        if self.state == KeyState::PendingDeletion {
            return Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                self.arn
            )));
        }
        Ok(())
    }

    /// Checks the key's usage allows `operation`.
    pub fn require_usage(&self, usage: &str, operation: &str) -> Result<(), KmsError> {
        if self.key_usage == usage {
            return Ok(());
        }
        Err(KmsError::InvalidKeyUsage(format!(
            "{} key usage is {} which is not valid for {operation}.",
            self.arn, self.key_usage
        )))
    }

    /// Whether the key has been due for deletion since `now`: it is gone, whether or not the
    /// sweep has removed its record yet.
    pub fn is_deleted_at(&self, now_ms: i64) -> bool {
        self.state == KeyState::PendingDeletion && self.deletion_ms.is_some_and(|d| d <= now_ms)
    }
}

/// The purpose a key version's material is sealed for: bound to its key and version, so
/// sealed material cannot be moved to another key.
fn material_purpose(key_id: &str, version: &str) -> String {
    format!("kms.key-material/{key_id}/{version}")
}

pub fn seal_material(
    root: &RootKey,
    key_id: &str,
    version: &str,
    material: &[u8],
) -> Result<String, KmsError> {
    let sealed = root
        .seal(&material_purpose(key_id, version), material)
        .map_err(|e| KmsError::Internal(format!("cannot seal key material: {e}")))?;
    Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
}

pub fn open_material(
    root: &RootKey,
    key_id: &str,
    version: &KeyVersion,
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let sealed = base64::engine::general_purpose::STANDARD
        .decode(&version.sealed)
        .map_err(|e| KmsError::Internal(format!("sealed key material is not base64: {e}")))?;
    root.open(&material_purpose(key_id, &version.id), &sealed)
        .map_err(|e| KmsError::Internal(format!("cannot open key material: {e}")))
}

/// A new key material version id: 64 hex characters.
pub fn new_version_id() -> Result<String, KmsError> {
    let bytes = crate::random_bytes(32)?;
    Ok(hex_lower(&bytes))
}

/// Lower-case hex; on every Decrypt (the blob's key and version), so without `fmt`.
pub fn hex_lower(bytes: &[u8]) -> String {
    let digit = |n: u8| char::from_digit(u32::from(n), 16).unwrap_or('0');
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(digit(b >> 4));
        s.push(digit(b & 0x0f));
    }
    s
}

/// A new key id: a version-4 UUID.
pub fn new_key_id() -> Result<String, KmsError> {
    let bytes = crate::random_bytes(16)?;
    let mut b = [0u8; 16];
    b.copy_from_slice(&bytes);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    Ok(uuid_string(&b))
}

pub fn uuid_string(b: &[u8; 16]) -> String {
    let h = hex_lower(b);
    let part = |r: std::ops::Range<usize>| h.get(r).unwrap_or_default().to_owned();
    format!(
        "{}-{}-{}-{}-{}",
        part(0..8),
        part(8..12),
        part(12..16),
        part(16..20),
        part(20..32)
    )
}

/// The 16 bytes of a UUID string, if it is one.
pub fn uuid_bytes(s: &str) -> Option<[u8; 16]> {
    if s.len() != 36 {
        return None;
    }
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    if hex.len() != 32 || s.chars().filter(|c| *c == '-').count() != 4 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, slot) in out.iter_mut().enumerate() {
        let pair = hex.get(i * 2..i * 2 + 2)?;
        *slot = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// How a request names a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key id or key ARN (account, key id).
    Key { account: String, key_id: String },
    /// An alias name or alias ARN (account, `alias/...`).
    Alias { account: String, name: String },
}

/// Parses a `KeyId` parameter in the caller's `account` and this Moat's `region`. `None`
/// when it cannot name a key here.
pub fn parse_key_ref(raw: &str, account: &str, region: &str) -> Option<KeyRef> {
    if raw.starts_with("alias/") {
        return Some(KeyRef::Alias {
            account: account.to_owned(),
            name: raw.to_owned(),
        });
    }
    if let Some(rest) = raw.strip_prefix("arn:aws:kms:") {
        let mut parts = rest.splitn(3, ':');
        let (r, a, resource) = (parts.next()?, parts.next()?, parts.next()?);
        if r != region || a.len() != 12 || !a.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        if let Some(id) = resource.strip_prefix("key/") {
            uuid_bytes(id)?;
            return Some(KeyRef::Key {
                account: a.to_owned(),
                key_id: id.to_owned(),
            });
        }
        if resource.starts_with("alias/") {
            return Some(KeyRef::Alias {
                account: a.to_owned(),
                name: resource.to_owned(),
            });
        }
        return None;
    }
    uuid_bytes(raw)?;
    Some(KeyRef::Key {
        account: account.to_owned(),
        key_id: raw.to_owned(),
    })
}

pub fn key_arn(region: &str, account: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:key/{key_id}")
}

pub fn alias_arn(region: &str, account: &str, name: &str) -> String {
    format!("arn:aws:kms:{region}:{account}:{name}")
}

/// Finds the key a `KeyId` parameter names. A key past its deletion date is gone.
pub fn resolve(
    tx: &impl Reader,
    raw: &str,
    account: &str,
    region: &str,
    now_ms: i64,
) -> Result<(KeyRecord, Option<String>), KmsError> {
    let Some(key_ref) = parse_key_ref(raw, account, region) else {
        return Err(KmsError::NotFound(format!("Invalid keyId '{raw}'")));
    };
    let (account, key_id, alias) = match key_ref {
        KeyRef::Key { account, key_id } => (account, key_id, None),
        KeyRef::Alias { account, name } => {
            let Some(alias) = tx.get::<AliasRecord>(&account, &name)? else {
                return Err(KmsError::alias_not_found(&alias_arn(
                    region, &account, &name,
                )));
            };
            (account, alias.target_key_id, Some(name))
        }
    };
    match tx.get::<KeyRecord>(&account, &key_id)? {
        Some(key) if !key.is_deleted_at(now_ms) => Ok((key, alias)),
        _ => Err(KmsError::key_not_found(&key_arn(region, &account, &key_id))),
    }
}

/// Aliases of a key, by name.
pub fn aliases_of(
    tx: &impl Reader,
    account: &str,
    key_id: &str,
) -> Result<Vec<AliasRecord>, KmsError> {
    Ok(tx
        .scan::<AliasRecord>(account, "", None, usize::MAX, &mut |_, a| {
            a.target_key_id == key_id
        })?
        .into_iter()
        .map(|(_, a)| a)
        .collect())
}

pub fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

pub fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_refs_parse() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        assert_eq!(
            parse_key_ref(id, "111122223333", "us-east-1"),
            Some(KeyRef::Key {
                account: "111122223333".into(),
                key_id: id.into()
            })
        );
        assert_eq!(
            parse_key_ref(
                &format!("arn:aws:kms:us-east-1:444455556666:key/{id}"),
                "111122223333",
                "us-east-1"
            ),
            Some(KeyRef::Key {
                account: "444455556666".into(),
                key_id: id.into()
            })
        );
        assert_eq!(
            parse_key_ref("alias/app", "111122223333", "us-east-1"),
            Some(KeyRef::Alias {
                account: "111122223333".into(),
                name: "alias/app".into()
            })
        );
        assert_eq!(
            parse_key_ref(
                "arn:aws:kms:us-east-1:444455556666:alias/app",
                "111122223333",
                "us-east-1"
            ),
            Some(KeyRef::Alias {
                account: "444455556666".into(),
                name: "alias/app".into()
            })
        );
        assert_eq!(
            parse_key_ref(
                &format!("arn:aws:kms:eu-west-1:444455556666:key/{id}"),
                "111122223333",
                "us-east-1"
            ),
            None
        );
        assert_eq!(
            parse_key_ref("not-a-key", "111122223333", "us-east-1"),
            None
        );
    }

    #[test]
    fn imported_material_is_unusable_from_its_valid_to() {
        let mut key = KeyRecord {
            key_id: "1234abcd-12ab-44cd-96ef-1234567890ab".into(),
            account: "111122223333".into(),
            arn: "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-44cd-96ef-1234567890ab"
                .into(),
            created_ms: 0,
            description: String::new(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            origin: "EXTERNAL".into(),
            state: KeyState::Enabled,
            deletion_ms: None,
            pending_window_days: None,
            policy: String::new(),
            tags: Vec::new(),
            rotation: None,
            versions: vec![KeyVersion {
                id: "ab".repeat(32),
                created_ms: 0,
                sealed: String::new(),
                rotation_type: None,
                valid_to_ms: Some(1_000),
            }],
            pending_import: None,
            expiration_model: Some("KEY_MATERIAL_EXPIRES".into()),
            imported: None,
        };
        assert!(key.usable(999).is_ok());
        assert!(
            matches!(key.usable(1_000), Err(KmsError::InvalidState(m)) if m.ends_with("is pending import."))
        );
        key.state = KeyState::Disabled;
        assert!(matches!(key.usable(0), Err(KmsError::Disabled(_))));
    }

    #[test]
    fn hex_is_lower_case_two_digits_a_byte() {
        assert_eq!(hex_lower(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
    }

    #[test]
    fn uuids_round_trip() {
        let id = new_key_id().unwrap();
        let b = uuid_bytes(&id).unwrap();
        assert_eq!(uuid_string(&b), id);
        assert_eq!(id.len(), 36);
        assert_eq!(id.chars().nth(14), Some('4'));
    }
}
