//! KMS: keys, envelope encryption, signing, rotation, key policies and grants.
//!
//! Wire shapes are generated from the botocore model (`build.rs`); this crate holds what an
//! operation means. [`Kms::prepare`] declares every served operation (its action, whether it
//! changes state, the key it acts on and the condition keys its parameters bring);
//! [`Kms::target`] resolves that key for authorization (its ARN, its key policy, its tags, a
//! grant that covers the call), and [`Kms::execute`] runs it.
//!
//! Key material never leaves this crate unsealed except as an operation's output (a data
//! key's plaintext, a public key); it is sealed under the root key at rest.

mod asymmetric;
pub mod ciphertext;
pub mod crypto;
mod error;
pub mod grants;
mod import;
pub mod keys;
mod manage;
pub mod policy;
mod rotation;
mod symmetric;

pub use error::KmsError;

include!(concat!(env!("OUT_DIR"), "/kms_types.rs"));

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

use moat_iam::{Target, TargetPolicy};
use moat_policy::{ContextValue, ResourcePolicyKind};
use moat_store::Store;
use moat_types::Principal;
use moat_wire::ServiceModel;
use time::OffsetDateTime;

use crate::keys::KeyRecord;

static MODEL: OnceLock<Option<ServiceModel>> = OnceLock::new();
const MODEL_JSON: &str = include_str!("../../../models/kms/service-2.json");

/// KMS's botocore model, parsed once.
pub fn model() -> &'static ServiceModel {
    #[expect(clippy::expect_used, reason = "the model is compiled in and tested")]
    // INVARIANT: MODEL_JSON is the checked-in botocore model; `model_loads` tests it parses.
    MODEL
        .get_or_init(|| ServiceModel::from_json(MODEL_JSON).ok())
        .as_ref()
        .expect("the embedded KMS model parses")
}

/// What the pipeline knows of a call when it runs.
pub struct Call<'a> {
    pub principal: &'a Principal,
    pub now: OffsetDateTime,
}

impl Call<'_> {
    pub fn account(&self) -> String {
        self.principal.account.to_string()
    }

    pub fn now_ms(&self) -> i64 {
        keys::millis(self.now)
    }
}

/// How a call names the key it acts on, for its authorization.
#[derive(Debug, Clone)]
enum KeyDecl {
    /// Account-wide: CreateKey, ListKeys, ListAliases, GenerateRandom, ListRetirableGrants.
    Account,
    /// The key a `KeyId` parameter names.
    Key(String),
    /// The key a symmetric ciphertext names, or the `KeyId` given with it (Decrypt).
    Ciphertext {
        key_id: Option<String>,
        blob: Vec<u8>,
    },
    /// No policy decides: RetireGrant is allowed by the grant itself.
    Unchecked,
}

/// A further authorization the same request needs: ReEncrypt's destination key, an alias
/// operation's alias and keys.
#[derive(Debug, Clone)]
struct AlsoDecl {
    action: &'static str,
    key: AlsoKey,
}

#[derive(Debug, Clone)]
enum AlsoKey {
    Key(String),
    /// An alias ARN in the caller's account: IAM policies only, as AWS authorizes it.
    Alias(String),
}

/// A decoded request with its declaration, ready to authorize and run.
pub struct Prepared {
    pub operation: &'static str,
    /// Whether the call changes nothing stored (cryptographic operations and reads).
    pub read_only: bool,
    /// The action the primary authorization checks (`kms:ReEncryptFrom` for ReEncrypt).
    action: &'static str,
    key: KeyDecl,
    also: Vec<AlsoDecl>,
    /// Condition keys from the request's parameters.
    keys: Vec<(String, ContextValue)>,
    /// The encryption context a grant's constraints are checked against.
    context: Option<BTreeMap<String, String>>,
    pub request: Request,
}

impl Prepared {
    /// `kms:Encrypt`.
    pub fn action(&self) -> String {
        self.action.to_owned()
    }
}

/// The KMS service over a store.
#[derive(Clone)]
pub struct Kms {
    store: Store,
    region: String,
    clock: Arc<dyn moat_types::Clock>,
    /// The server's count of writes: cached keys and material serve only the generation they
    /// were read in. Without one, nothing is cached.
    generation: Option<Arc<AtomicU64>>,
    cache: Arc<KeyCache>,
}

/// Keys resolved for requests, their unsealed material and their prepared AES keys, kept for
/// one generation of writes so that a cryptographic request reads no storage, opens no sealed
/// material and expands no key schedule.
#[derive(Default)]
struct KeyCache {
    keys: GenerationMap<(String, String), CachedKey>,
    materials: GenerationMap<(String, String), zeroize::Zeroizing<Vec<u8>>>,
    symmetric: GenerationMap<(String, String), ciphertext::SymmetricKey>,
}

/// A map whose entries serve only the generation they were made in.
struct GenerationMap<K, V> {
    entries: RwLock<HashMap<K, (u64, Arc<V>)>>,
}

impl<K, V> Default for GenerationMap<K, V> {
    fn default() -> Self {
        GenerationMap {
            entries: RwLock::new(HashMap::new()),
        }
    }
}

impl<K: std::hash::Hash + Eq, V> GenerationMap<K, V> {
    /// The entry for `key` made in `generation`, or the one `make` makes now (kept when there
    /// is a generation to keep it for).
    fn get_or_make(
        &self,
        generation: Option<u64>,
        key: K,
        make: impl FnOnce() -> Result<V, KmsError>,
    ) -> Result<Arc<V>, KmsError> {
        let Some(generation) = generation else {
            return make().map(Arc::new);
        };
        if let Some((made_in, found)) = self
            .entries
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
        {
            if *made_in == generation {
                return Ok(found.clone());
            }
        }
        let made = Arc::new(make()?);
        let mut entries = self.entries.write().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= KEY_CACHE_CAPACITY {
            entries.clear();
        }
        entries.insert(key, (generation, made.clone()));
        Ok(made)
    }
}

/// A key as a `KeyId` (in an account) resolved to it.
pub struct CachedKey {
    pub key: KeyRecord,
    /// The alias the `KeyId` named, if it named one.
    pub alias: Option<String>,
    /// Every alias of the key (`kms:ResourceAliases`).
    pub aliases: Vec<String>,
    /// The key's grants, read with it: deciding a call by its grants reads no storage.
    pub grants: Vec<grants::GrantRecord>,
}

/// More entries than this and a cache starts over.
const KEY_CACHE_CAPACITY: usize = 10_000;

/// The action string of an operation.
fn action_of(operation: &str) -> &'static str {
    crate::OPERATION_ACTIONS
        .iter()
        .find(|(op, _)| *op == operation)
        .map_or("kms:Unknown", |(_, a)| *a)
}

/// `kms:Operation` for each served operation, as static strings.
const OPERATION_ACTIONS: &[(&str, &str)] = &[
    ("CancelKeyDeletion", "kms:CancelKeyDeletion"),
    ("CreateAlias", "kms:CreateAlias"),
    ("CreateGrant", "kms:CreateGrant"),
    ("CreateKey", "kms:CreateKey"),
    ("Decrypt", "kms:Decrypt"),
    ("DeleteAlias", "kms:DeleteAlias"),
    ("DeleteImportedKeyMaterial", "kms:DeleteImportedKeyMaterial"),
    ("DeriveSharedSecret", "kms:DeriveSharedSecret"),
    ("DescribeKey", "kms:DescribeKey"),
    ("DisableKey", "kms:DisableKey"),
    ("DisableKeyRotation", "kms:DisableKeyRotation"),
    ("EnableKey", "kms:EnableKey"),
    ("EnableKeyRotation", "kms:EnableKeyRotation"),
    ("Encrypt", "kms:Encrypt"),
    ("GenerateDataKey", "kms:GenerateDataKey"),
    ("GenerateDataKeyPair", "kms:GenerateDataKeyPair"),
    (
        "GenerateDataKeyPairWithoutPlaintext",
        "kms:GenerateDataKeyPairWithoutPlaintext",
    ),
    (
        "GenerateDataKeyWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    ),
    ("GenerateMac", "kms:GenerateMac"),
    ("GenerateRandom", "kms:GenerateRandom"),
    ("GetKeyPolicy", "kms:GetKeyPolicy"),
    ("GetKeyRotationStatus", "kms:GetKeyRotationStatus"),
    ("GetParametersForImport", "kms:GetParametersForImport"),
    ("GetPublicKey", "kms:GetPublicKey"),
    ("ImportKeyMaterial", "kms:ImportKeyMaterial"),
    ("ListAliases", "kms:ListAliases"),
    ("ListGrants", "kms:ListGrants"),
    ("ListKeyPolicies", "kms:ListKeyPolicies"),
    ("ListKeyRotations", "kms:ListKeyRotations"),
    ("ListKeys", "kms:ListKeys"),
    ("ListResourceTags", "kms:ListResourceTags"),
    ("ListRetirableGrants", "kms:ListRetirableGrants"),
    ("PutKeyPolicy", "kms:PutKeyPolicy"),
    ("ReEncrypt", "kms:ReEncryptFrom"),
    ("RetireGrant", "kms:RetireGrant"),
    ("RevokeGrant", "kms:RevokeGrant"),
    ("RotateKeyOnDemand", "kms:RotateKeyOnDemand"),
    ("ScheduleKeyDeletion", "kms:ScheduleKeyDeletion"),
    ("Sign", "kms:Sign"),
    ("TagResource", "kms:TagResource"),
    ("UntagResource", "kms:UntagResource"),
    ("UpdateAlias", "kms:UpdateAlias"),
    ("UpdateKeyDescription", "kms:UpdateKeyDescription"),
    ("Verify", "kms:Verify"),
    ("VerifyMac", "kms:VerifyMac"),
];

/// Condition keys of a request, built up per operation.
#[derive(Default)]
struct Keys(Vec<(String, ContextValue)>);

impl Keys {
    fn set(mut self, key: &str, value: impl Into<ContextValue>) -> Self {
        self.0.push((key.to_owned(), value.into()));
        self
    }

    fn opt(self, key: &str, value: Option<&String>) -> Self {
        match value {
            Some(v) => self.set(key, v.as_str()),
            None => self,
        }
    }

    /// `kms:EncryptionAlgorithm`, `SYMMETRIC_DEFAULT` when the request names none.
    fn encryption_algorithm(self, algorithm: Option<&String>) -> Self {
        self.set(
            "kms:EncryptionAlgorithm",
            algorithm.map_or("SYMMETRIC_DEFAULT", String::as_str),
        )
    }

    /// `kms:SigningAlgorithm` and `kms:MessageType` (`RAW` unless named).
    fn signing(self, algorithm: &str, message_type: Option<&String>) -> Self {
        self.set("kms:SigningAlgorithm", algorithm).set(
            "kms:MessageType",
            message_type.map_or("RAW", String::as_str),
        )
    }

    /// `kms:EncryptionContext:<key>` for each pair and `kms:EncryptionContextKeys`.
    fn context(mut self, context: Option<&BTreeMap<String, String>>) -> Self {
        if let Some(context) = context {
            for (k, v) in context {
                self.0.push((
                    format!("kms:EncryptionContext:{k}"),
                    ContextValue::from(v.as_str()),
                ));
            }
            if !context.is_empty() {
                self.0.push((
                    "kms:EncryptionContextKeys".to_owned(),
                    ContextValue::from(context.keys().cloned().collect::<Vec<_>>()),
                ));
            }
        }
        self
    }

    fn tags(mut self, tags: Option<&Vec<Tag>>) -> Self {
        if let Some(tags) = tags {
            for t in tags {
                self.0.push((
                    format!("aws:RequestTag/{}", t.tag_key),
                    ContextValue::from(t.tag_value.as_str()),
                ));
            }
            self.0.push((
                "aws:TagKeys".to_owned(),
                ContextValue::from(tags.iter().map(|t| t.tag_key.clone()).collect::<Vec<_>>()),
            ));
        }
        self
    }
}

impl Kms {
    pub fn new(store: Store, region: impl Into<String>, clock: Arc<dyn moat_types::Clock>) -> Self {
        Kms {
            store,
            region: region.into(),
            clock,
            generation: None,
            cache: Arc::new(KeyCache::default()),
        }
    }

    /// Caches resolved keys and their material for as long as `generation` (bumped by the
    /// server after every write) does not move.
    pub fn with_generation(mut self, generation: Arc<AtomicU64>) -> Self {
        self.generation = Some(generation);
        self
    }

    /// The key a `KeyId` names in `account`, from memory when nothing was written since it
    /// was read. A key past its deletion date is gone.
    pub fn resolve(
        &self,
        account: &str,
        raw: &str,
        now_ms: i64,
    ) -> Result<Arc<CachedKey>, KmsError> {
        let cached = self.cache.keys.get_or_make(
            self.generation(),
            (account.to_owned(), raw.to_owned()),
            || {
                self.store.read(|tx| {
                    let (key, alias) = keys::resolve(tx, raw, account, &self.region, now_ms)?;
                    let aliases = keys::aliases_of(tx, &key.account, &key.key_id)?
                        .into_iter()
                        .map(|a| a.name)
                        .collect();
                    let grants = grants::of_key(tx, &key)?;
                    Ok(CachedKey {
                        key,
                        alias,
                        aliases,
                        grants,
                    })
                })
            },
        )?;
        // Deletion falls due with time, not with a write.
        if cached.key.is_deleted_at(now_ms) {
            return Err(KmsError::key_not_found(&cached.key.arn));
        }
        Ok(cached)
    }

    fn generation(&self) -> Option<u64> {
        self.generation.as_ref().map(|g| g.load(Ordering::SeqCst))
    }

    /// The unsealed material of one version of a key, from memory when nothing was written
    /// since it was opened.
    pub fn material(
        &self,
        key: &KeyRecord,
        version: &keys::KeyVersion,
    ) -> Result<Arc<zeroize::Zeroizing<Vec<u8>>>, KmsError> {
        self.cache.materials.get_or_make(
            self.generation(),
            (key.key_id.clone(), version.id.clone()),
            || keys::open_material(self.store.root_key(), &key.key_id, version),
        )
    }

    /// One version of a symmetric key, ready to seal and open its ciphertexts.
    pub fn symmetric_key(
        &self,
        key: &KeyRecord,
        version: &keys::KeyVersion,
    ) -> Result<Arc<ciphertext::SymmetricKey>, KmsError> {
        self.cache.symmetric.get_or_make(
            self.generation(),
            (key.key_id.clone(), version.id.clone()),
            || {
                let material = self.material(key, version)?;
                ciphertext::SymmetricKey::new(&key.account, &key.key_id, &version.id, &material)
            },
        )
    }

    pub fn region(&self) -> &str {
        &self.region
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// Declares an operation: the action and key it is authorized against, the condition keys
    /// of its parameters, and whether it changes state.
    pub fn prepare(request: Request) -> Prepared {
        use KeyDecl as K;
        use Request as Q;
        let operation = request.operation_name();
        let key_of = |id: &String| K::Key(id.clone());
        let mut also = Vec::new();
        let mut context = None;
        let (read_only, key, keys) = match &request {
            Q::CreateKey(i) => (
                false,
                K::Account,
                Keys::default()
                    .set(
                        "kms:KeySpec",
                        i.key_spec
                            .as_deref()
                            .or(i.customer_master_key_spec.as_deref())
                            .unwrap_or("SYMMETRIC_DEFAULT"),
                    )
                    .set(
                        "kms:KeyUsage",
                        i.key_usage.as_deref().unwrap_or("ENCRYPT_DECRYPT"),
                    )
                    .set("kms:KeyOrigin", i.origin.as_deref().unwrap_or("AWS_KMS"))
                    .set(
                        "kms:BypassPolicyLockoutSafetyCheck",
                        i.bypass_policy_lockout_safety_check.unwrap_or(false),
                    )
                    .set("kms:MultiRegion", i.multi_region.unwrap_or(false))
                    .tags(i.tags.as_ref()),
            ),
            Q::DescribeKey(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::ListKeys(_) => (true, K::Account, Keys::default()),
            Q::EnableKey(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::DisableKey(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::UpdateKeyDescription(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::ScheduleKeyDeletion(i) => (
                false,
                key_of(&i.key_id),
                Keys::default().set(
                    "kms:ScheduleKeyDeletionPendingWindowInDays",
                    i64::from(i.pending_window_in_days.unwrap_or(30)),
                ),
            ),
            Q::CancelKeyDeletion(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::TagResource(i) => (
                false,
                key_of(&i.key_id),
                Keys::default().tags(Some(&i.tags)),
            ),
            Q::UntagResource(i) => (
                false,
                key_of(&i.key_id),
                Keys::default().set("aws:TagKeys", i.tag_keys.clone()),
            ),
            Q::ListResourceTags(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::GetKeyPolicy(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::ListKeyPolicies(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::PutKeyPolicy(i) => (
                false,
                key_of(&i.key_id),
                Keys::default().set(
                    "kms:BypassPolicyLockoutSafetyCheck",
                    i.bypass_policy_lockout_safety_check.unwrap_or(false),
                ),
            ),
            Q::CreateAlias(i) => {
                also.push(AlsoDecl {
                    action: "kms:CreateAlias",
                    key: AlsoKey::Alias(i.alias_name.clone()),
                });
                (false, key_of(&i.target_key_id), Keys::default())
            }
            Q::UpdateAlias(i) => {
                // The alias itself, the key it leaves (by the alias) and the key it moves to.
                also.push(AlsoDecl {
                    action: "kms:UpdateAlias",
                    key: AlsoKey::Alias(i.alias_name.clone()),
                });
                also.push(AlsoDecl {
                    action: "kms:UpdateAlias",
                    key: AlsoKey::Key(i.alias_name.clone()),
                });
                (false, key_of(&i.target_key_id), Keys::default())
            }
            Q::DeleteAlias(i) => {
                also.push(AlsoDecl {
                    action: "kms:DeleteAlias",
                    key: AlsoKey::Alias(i.alias_name.clone()),
                });
                (false, key_of(&i.alias_name), Keys::default())
            }
            Q::ListAliases(_) => (true, K::Account, Keys::default()),
            Q::Encrypt(i) => {
                context.clone_from(&i.encryption_context);
                (
                    true,
                    key_of(&i.key_id),
                    Keys::default()
                        .encryption_algorithm(i.encryption_algorithm.as_ref())
                        .context(i.encryption_context.as_ref()),
                )
            }
            Q::Decrypt(i) => {
                context.clone_from(&i.encryption_context);
                (
                    true,
                    K::Ciphertext {
                        key_id: i.key_id.clone(),
                        blob: blob_bytes(i.ciphertext_blob.as_ref()),
                    },
                    Keys::default()
                        .encryption_algorithm(i.encryption_algorithm.as_ref())
                        .context(i.encryption_context.as_ref()),
                )
            }
            Q::ReEncrypt(i) => {
                context.clone_from(&i.source_encryption_context);
                also.push(AlsoDecl {
                    action: "kms:ReEncryptTo",
                    key: AlsoKey::Key(i.destination_key_id.clone()),
                });
                (
                    true,
                    K::Ciphertext {
                        key_id: i.source_key_id.clone(),
                        blob: blob_bytes(i.ciphertext_blob.as_ref()),
                    },
                    Keys::default()
                        .encryption_algorithm(i.source_encryption_algorithm.as_ref())
                        .context(i.source_encryption_context.as_ref()),
                )
            }
            Q::GenerateDataKey(i) => {
                context.clone_from(&i.encryption_context);
                (
                    true,
                    key_of(&i.key_id),
                    Keys::default().context(i.encryption_context.as_ref()),
                )
            }
            Q::GenerateDataKeyWithoutPlaintext(i) => {
                context.clone_from(&i.encryption_context);
                (
                    true,
                    key_of(&i.key_id),
                    Keys::default().context(i.encryption_context.as_ref()),
                )
            }
            Q::GenerateDataKeyPair(i) => {
                context.clone_from(&i.encryption_context);
                (
                    true,
                    key_of(&i.key_id),
                    Keys::default()
                        .set("kms:DataKeyPairSpec", i.key_pair_spec.as_str())
                        .context(i.encryption_context.as_ref()),
                )
            }
            Q::GenerateDataKeyPairWithoutPlaintext(i) => {
                context.clone_from(&i.encryption_context);
                (
                    true,
                    key_of(&i.key_id),
                    Keys::default()
                        .set("kms:DataKeyPairSpec", i.key_pair_spec.as_str())
                        .context(i.encryption_context.as_ref()),
                )
            }
            Q::GenerateRandom(_) => (true, K::Account, Keys::default()),
            Q::Sign(i) => (
                true,
                key_of(&i.key_id),
                Keys::default().signing(&i.signing_algorithm, i.message_type.as_ref()),
            ),
            Q::Verify(i) => (
                true,
                key_of(&i.key_id),
                Keys::default().signing(&i.signing_algorithm, i.message_type.as_ref()),
            ),
            Q::GetPublicKey(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::GenerateMac(i) => (
                true,
                key_of(&i.key_id),
                Keys::default().set("kms:MacAlgorithm", i.mac_algorithm.as_str()),
            ),
            Q::VerifyMac(i) => (
                true,
                key_of(&i.key_id),
                Keys::default().set("kms:MacAlgorithm", i.mac_algorithm.as_str()),
            ),
            Q::DeriveSharedSecret(i) => (
                true,
                key_of(&i.key_id),
                Keys::default().set(
                    "kms:KeyAgreementAlgorithm",
                    i.key_agreement_algorithm.as_str(),
                ),
            ),
            Q::EnableKeyRotation(i) => (
                false,
                key_of(&i.key_id),
                Keys::default().set(
                    "kms:RotationPeriodInDays",
                    i64::from(i.rotation_period_in_days.unwrap_or(365)),
                ),
            ),
            Q::DisableKeyRotation(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::GetKeyRotationStatus(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::RotateKeyOnDemand(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::ListKeyRotations(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::GetParametersForImport(i) => (
                false,
                key_of(&i.key_id),
                Keys::default()
                    .set("kms:WrappingAlgorithm", i.wrapping_algorithm.as_str())
                    .set("kms:WrappingKeySpec", i.wrapping_key_spec.as_str()),
            ),
            Q::ImportKeyMaterial(i) => (
                false,
                key_of(&i.key_id),
                Keys::default()
                    .set(
                        "kms:ExpirationModel",
                        i.expiration_model
                            .as_deref()
                            .unwrap_or("KEY_MATERIAL_EXPIRES"),
                    )
                    .set(
                        "kms:ValidTo",
                        i.valid_to.as_ref().map_or(0, |t| t.0.unix_timestamp()),
                    ),
            ),
            Q::DeleteImportedKeyMaterial(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::CreateGrant(i) => (false, key_of(&i.key_id), grants::create_grant_keys(i)),
            Q::ListGrants(i) => (true, key_of(&i.key_id), Keys::default()),
            Q::RevokeGrant(i) => (false, key_of(&i.key_id), Keys::default()),
            Q::RetireGrant(_) => (false, K::Unchecked, Keys::default()),
            Q::ListRetirableGrants(_) => (true, K::Account, Keys::default()),
        };
        Prepared {
            operation,
            read_only,
            action: action_of(operation),
            key,
            also,
            keys: keys.0,
            context,
            request,
        }
    }

    /// Whether the caller's policies are consulted at all (RetireGrant is allowed by the
    /// grant it retires).
    pub fn needs_authorization(prepared: &Prepared) -> bool {
        !matches!(prepared.key, KeyDecl::Unchecked)
    }

    /// Resolves what a prepared call acts on: its key's ARN, key policy, tags and any grant
    /// that allows the call, with the request's condition keys.
    pub fn target(&self, principal: &Principal, prepared: &Prepared) -> Result<Target, KmsError> {
        let account = principal.account.to_string();
        let now_ms = keys::millis(self.clock.now());
        let mut keys = prepared.keys.clone();
        keys.push((
            "kms:CallerAccount".to_owned(),
            ContextValue::from(account.as_str()),
        ));
        let cached = match &prepared.key {
            KeyDecl::Account | KeyDecl::Unchecked => return Ok(Target::new("*".to_owned(), keys)),
            KeyDecl::Key(raw)
            | KeyDecl::Ciphertext {
                key_id: Some(raw), ..
            } => self.resolve(&account, raw, now_ms)?,
            KeyDecl::Ciphertext { key_id: None, blob } => {
                let header = ciphertext::header(blob)?;
                self.resolve(&header.account, &header.key_id, now_ms)?
            }
        };
        self.key_target(
            principal,
            prepared,
            prepared.action,
            prepared.context.as_ref(),
            &cached,
            keys,
        )
    }

    /// The target of `action` on one key; `context` is the encryption context a grant's
    /// constraints are checked against.
    fn key_target(
        &self,
        principal: &Principal,
        prepared: &Prepared,
        action: &str,
        context: Option<&BTreeMap<String, String>>,
        cached: &CachedKey,
        mut keys: Vec<(String, ContextValue)>,
    ) -> Result<Target, KmsError> {
        let key = &cached.key;
        keys.push((
            "kms:KeySpec".to_owned(),
            ContextValue::from(key.key_spec.as_str()),
        ));
        keys.push((
            "kms:KeyUsage".to_owned(),
            ContextValue::from(key.key_usage.as_str()),
        ));
        keys.push((
            "kms:KeyOrigin".to_owned(),
            ContextValue::from(key.origin.as_str()),
        ));
        if let Some(alias) = &cached.alias {
            keys.push((
                "kms:RequestAlias".to_owned(),
                ContextValue::from(alias.as_str()),
            ));
        }
        for (k, v) in &key.tags {
            keys.push((
                format!("aws:ResourceTag/{k}"),
                ContextValue::from(v.as_str()),
            ));
        }
        if !cached.aliases.is_empty() {
            keys.push((
                "kms:ResourceAliases".to_owned(),
                ContextValue::from(cached.aliases.clone()),
            ));
        }
        let grant = match &prepared.request {
            Request::CreateGrant(i) => grants::grant_allowing_create(&cached.grants, principal, i),
            _ => grants::grant_allowing(&cached.grants, principal, action, context),
        };
        Ok(Target {
            arn: key.arn.clone(),
            keys,
            resource_policy: Some(TargetPolicy {
                id: key.arn.clone(),
                document: key.policy.as_str().into(),
                kind: ResourcePolicyKind::KeyPolicy,
            }),
            resource_account: Some(key.account.clone()),
            grant,
        })
    }

    /// The further authorizations a request needs, each an action on its own target.
    pub fn further_targets(
        &self,
        principal: &Principal,
        prepared: &Prepared,
    ) -> Result<Vec<(&'static str, Target)>, KmsError> {
        let account = principal.account.to_string();
        let now_ms = keys::millis(self.clock.now());
        let mut out = Vec::new();
        for also in &prepared.also {
            let mut keys = vec![(
                "kms:CallerAccount".to_owned(),
                ContextValue::from(account.as_str()),
            )];
            match &also.key {
                AlsoKey::Alias(name) => {
                    let arn = keys::alias_arn(&self.region, &account, name);
                    out.push((also.action, Target::new(arn, keys)));
                }
                AlsoKey::Key(raw) => {
                    let cached = self.resolve(&account, raw, now_ms)?;
                    let context = match &prepared.request {
                        Request::ReEncrypt(i) if also.action == "kms:ReEncryptTo" => {
                            i.destination_encryption_context.as_ref()
                        }
                        _ => None,
                    };
                    keys.extend(Keys::default().context(context).0);
                    let target =
                        self.key_target(principal, prepared, also.action, context, &cached, keys)?;
                    out.push((also.action, target));
                }
            }
        }
        Ok(out)
    }

    /// Runs a prepared operation.
    pub fn execute(&self, prepared: Prepared, call: &Call<'_>) -> Result<Response, KmsError> {
        use Request as Q;
        use Response as S;
        if dry_run(&prepared.request) {
            return Err(KmsError::DryRun);
        }
        Ok(match prepared.request {
            Q::CreateKey(i) => S::CreateKey(manage::create_key(self, call, i)?),
            Q::DescribeKey(i) => S::DescribeKey(manage::describe_key(self, call, &i)?),
            Q::ListKeys(i) => S::ListKeys(manage::list_keys(self, call, &i)?),
            Q::EnableKey(i) => {
                manage::set_enabled(self, call, &i.key_id, true)?;
                S::EnableKey
            }
            Q::DisableKey(i) => {
                manage::set_enabled(self, call, &i.key_id, false)?;
                S::DisableKey
            }
            Q::UpdateKeyDescription(i) => {
                manage::update_description(self, call, &i)?;
                S::UpdateKeyDescription
            }
            Q::ScheduleKeyDeletion(i) => {
                S::ScheduleKeyDeletion(manage::schedule_deletion(self, call, &i)?)
            }
            Q::CancelKeyDeletion(i) => {
                S::CancelKeyDeletion(manage::cancel_deletion(self, call, &i)?)
            }
            Q::TagResource(i) => {
                manage::tag_resource(self, call, &i)?;
                S::TagResource
            }
            Q::UntagResource(i) => {
                manage::untag_resource(self, call, &i)?;
                S::UntagResource
            }
            Q::ListResourceTags(i) => S::ListResourceTags(manage::list_tags(self, call, &i)?),
            Q::GetKeyPolicy(i) => S::GetKeyPolicy(manage::get_key_policy(self, call, &i)?),
            Q::ListKeyPolicies(i) => S::ListKeyPolicies(manage::list_key_policies(self, call, &i)?),
            Q::PutKeyPolicy(i) => {
                manage::put_key_policy(self, call, &i)?;
                S::PutKeyPolicy
            }
            Q::CreateAlias(i) => {
                manage::create_alias(self, call, &i)?;
                S::CreateAlias
            }
            Q::UpdateAlias(i) => {
                manage::update_alias(self, call, &i)?;
                S::UpdateAlias
            }
            Q::DeleteAlias(i) => {
                manage::delete_alias(self, call, &i)?;
                S::DeleteAlias
            }
            Q::ListAliases(i) => S::ListAliases(manage::list_aliases(self, call, &i)?),
            Q::Encrypt(i) => S::Encrypt(symmetric::encrypt(self, call, i)?),
            Q::Decrypt(i) => S::Decrypt(symmetric::decrypt(self, call, i)?),
            Q::ReEncrypt(i) => S::ReEncrypt(symmetric::re_encrypt(self, call, i)?),
            Q::GenerateDataKey(i) => {
                S::GenerateDataKey(symmetric::generate_data_key(self, call, i)?)
            }
            Q::GenerateDataKeyWithoutPlaintext(i) => S::GenerateDataKeyWithoutPlaintext(
                symmetric::generate_data_key_without_plaintext(self, call, i)?,
            ),
            Q::GenerateRandom(i) => S::GenerateRandom(symmetric::generate_random(&i)?),
            Q::GenerateDataKeyPair(i) => {
                S::GenerateDataKeyPair(asymmetric::generate_data_key_pair(self, call, i)?)
            }
            Q::GenerateDataKeyPairWithoutPlaintext(i) => S::GenerateDataKeyPairWithoutPlaintext(
                asymmetric::generate_data_key_pair_without_plaintext(self, call, i)?,
            ),
            Q::Sign(i) => S::Sign(asymmetric::sign(self, call, i)?),
            Q::Verify(i) => S::Verify(asymmetric::verify(self, call, i)?),
            Q::GetPublicKey(i) => S::GetPublicKey(asymmetric::get_public_key(self, call, &i)?),
            Q::GenerateMac(i) => S::GenerateMac(asymmetric::generate_mac(self, call, i)?),
            Q::VerifyMac(i) => S::VerifyMac(asymmetric::verify_mac(self, call, i)?),
            Q::DeriveSharedSecret(i) => {
                S::DeriveSharedSecret(asymmetric::derive_shared_secret(self, call, i)?)
            }
            Q::EnableKeyRotation(i) => {
                rotation::enable(self, call, &i)?;
                S::EnableKeyRotation
            }
            Q::DisableKeyRotation(i) => {
                rotation::disable(self, call, &i)?;
                S::DisableKeyRotation
            }
            Q::GetKeyRotationStatus(i) => {
                S::GetKeyRotationStatus(rotation::status(self, call, &i)?)
            }
            Q::RotateKeyOnDemand(i) => {
                S::RotateKeyOnDemand(rotation::rotate_on_demand(self, call, &i)?)
            }
            Q::ListKeyRotations(i) => S::ListKeyRotations(rotation::list(self, call, &i)?),
            Q::GetParametersForImport(i) => {
                S::GetParametersForImport(import::get_parameters(self, call, &i)?)
            }
            Q::ImportKeyMaterial(i) => S::ImportKeyMaterial(import::import(self, call, i)?),
            Q::DeleteImportedKeyMaterial(i) => {
                S::DeleteImportedKeyMaterial(import::delete(self, call, &i)?)
            }
            Q::CreateGrant(i) => S::CreateGrant(grants::create(self, call, i)?),
            Q::ListGrants(i) => S::ListGrants(grants::list(self, call, &i)?),
            Q::RevokeGrant(i) => {
                grants::revoke(self, call, &i)?;
                S::RevokeGrant
            }
            Q::RetireGrant(i) => {
                grants::retire(self, call, &i)?;
                S::RetireGrant
            }
            Q::ListRetirableGrants(i) => {
                S::ListRetirableGrants(grants::list_retirable(self, call, &i)?)
            }
        })
    }

    /// Housekeeping that falls due with time: deletes keys whose waiting period ended,
    /// rotates keys whose rotation is due, expires imported material. Returns how many keys
    /// it changed.
    pub fn maintain(&self, now: OffsetDateTime) -> Result<usize, KmsError> {
        let now_ms = keys::millis(now);
        let mut changed = manage::purge_deleted(self, now_ms)?;
        changed += rotation::rotate_due(self, now_ms)?;
        changed += import::expire_due(self, now_ms)?;
        Ok(changed)
    }
}

/// A ciphertext's bytes, empty when the request has none (which the operation refuses).
fn blob_bytes(blob: Option<&moat_wire::Blob>) -> Vec<u8> {
    blob.map(|b| b.0.clone()).unwrap_or_default()
}

/// Whether a request asks only to check its permissions.
fn dry_run(request: &Request) -> bool {
    use Request as Q;
    let flag = match request {
        Q::CreateGrant(i) => i.dry_run,
        Q::Decrypt(i) => i.dry_run,
        Q::DeriveSharedSecret(i) => i.dry_run,
        Q::Encrypt(i) => i.dry_run,
        Q::GenerateDataKey(i) => i.dry_run,
        Q::GenerateDataKeyPair(i) => i.dry_run,
        Q::GenerateDataKeyPairWithoutPlaintext(i) => i.dry_run,
        Q::GenerateDataKeyWithoutPlaintext(i) => i.dry_run,
        Q::GenerateMac(i) => i.dry_run,
        Q::ReEncrypt(i) => i.dry_run,
        Q::RetireGrant(i) => i.dry_run,
        Q::RevokeGrant(i) => i.dry_run,
        Q::Sign(i) => i.dry_run,
        Q::Verify(i) => i.dry_run,
        Q::VerifyMac(i) => i.dry_run,
        _ => None,
    };
    flag == Some(true)
}

/// Cryptographically secure random bytes.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, KmsError> {
    let mut out = vec![0u8; n];
    aws_lc_rs::rand::fill(&mut out)
        .map_err(|_| KmsError::Internal("the random generator failed".into()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads() {
        assert_eq!(model().api_version, "2014-11-01");
    }

    #[test]
    fn every_operation_has_an_action() {
        for op in OPERATION_NAMES {
            assert_eq!(
                action_of(op).strip_prefix("kms:").map(|_| ()),
                Some(()),
                "{op}"
            );
            assert_ne!(action_of(op), "kms:Unknown", "{op}");
        }
    }
}
