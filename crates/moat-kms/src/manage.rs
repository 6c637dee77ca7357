//! Managing keys: create, describe, list, enable and disable, describe, schedule and cancel
//! deletion, tags, the key policy, and aliases.

use moat_store::{Reader, Record, Writer, GLOBAL};
use moat_wire::Timestamp;
use serde::{Deserialize, Serialize};

use crate::crypto::{KeySpec, KeyUsage};
use crate::keys::{
    self, alias_arn, from_millis, key_arn, new_key_id, new_version_id, seal_material, AliasRecord,
    KeyRecord, KeyState, KeyVersion,
};
use crate::policy::{self, POLICY_NAME};
use crate::{Call, Kms, KmsError};

/// Something due at a time for one key, indexed across accounts so the housekeeping sweep
/// finds it without reading every key: `{due_ms:020}/{what}/{account}/{key_id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DueRecord {
    pub account: String,
    pub key_id: String,
}

impl Record for DueRecord {
    const KIND: &'static str = "kms.due";
}

pub fn due_key(due_ms: i64, what: &str, account: &str, key_id: &str) -> String {
    format!("{:020}/{what}/{account}/{key_id}", due_ms.max(0))
}

pub fn put_due(
    tx: &mut impl Writer,
    due_ms: i64,
    what: &str,
    account: &str,
    key_id: &str,
) -> Result<(), KmsError> {
    tx.put(
        GLOBAL,
        &due_key(due_ms, what, account, key_id),
        &DueRecord {
            account: account.to_owned(),
            key_id: key_id.to_owned(),
        },
    )?;
    Ok(())
}

pub fn remove_due(
    tx: &mut impl Writer,
    due_ms: i64,
    what: &str,
    account: &str,
    key_id: &str,
) -> Result<(), KmsError> {
    tx.delete::<DueRecord>(GLOBAL, &due_key(due_ms, what, account, key_id))?;
    Ok(())
}

/// Entries of `what` due by `now_ms`, oldest first.
pub fn due_entries(
    tx: &impl Reader,
    what: &str,
    now_ms: i64,
) -> Result<Vec<(String, DueRecord)>, KmsError> {
    let limit = format!("{:020}", now_ms.max(0));
    let marker = format!("/{what}/");
    Ok(
        tx.scan::<DueRecord>(GLOBAL, "", None, usize::MAX, &mut |k, _| {
            k.get(..20).is_some_and(|due| due <= limit.as_str()) && k.contains(&marker)
        })?,
    )
}

/// Reads the key a `KeyId` names inside a write, as it is now.
pub fn load(
    kms: &Kms,
    tx: &impl Reader,
    call: &Call<'_>,
    raw: &str,
) -> Result<KeyRecord, KmsError> {
    Ok(keys::resolve(tx, raw, &call.account(), kms.region(), call.now_ms())?.0)
}

/// Writes a key back under its account.
pub fn save(tx: &mut impl Writer, key: &KeyRecord) -> Result<(), KmsError> {
    tx.put(&key.account, &key.key_id, key)?;
    Ok(())
}

fn parse_spec(input: &crate::CreateKeyRequest) -> Result<KeySpec, KmsError> {
    let raw = match (&input.key_spec, &input.customer_master_key_spec) {
        (Some(_), Some(_)) => {
            return Err(KmsError::Validation(
                "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. \
                 CustomerMasterKeySpec is deprecated."
                    .to_owned(),
            ))
        }
        (Some(s), None) | (None, Some(s)) => s.as_str(),
        (None, None) => "SYMMETRIC_DEFAULT",
    };
    KeySpec::parse(raw).ok_or_else(|| {
        KmsError::UnsupportedOperation(format!("KeySpec {raw} is not supported by Moat."))
    })
}

/// A custom key store a request names: Moat has none.
pub fn custom_key_store_not_found(id: &str) -> KmsError {
    KmsError::CustomKeyStoreNotFound(format!("Custom key store '{id}' does not exist."))
}

/// `CreateKey`.
pub fn create_key(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::CreateKeyRequest,
) -> Result<crate::CreateKeyResponse, KmsError> {
    let spec = parse_spec(&input)?;
    let usage_raw = input.key_usage.as_deref().unwrap_or("ENCRYPT_DECRYPT");
    let usage = KeyUsage::parse(usage_raw)
        .ok_or_else(|| KmsError::Validation(format!("KeyUsage {usage_raw} is not valid.")))?;
    if !spec.allowed_usages().contains(&usage) {
        return Err(KmsError::Validation(format!(
            "KeyUsage {} is not compatible with KeySpec {}",
            usage.as_str(),
            spec.as_str()
        )));
    }
    if let Some(id) = &input.custom_key_store_id {
        return Err(custom_key_store_not_found(id));
    }
    let origin = input.origin.as_deref().unwrap_or("AWS_KMS");
    match origin {
        "AWS_KMS" | "EXTERNAL" => {}
        other => {
            return Err(KmsError::UnsupportedOperation(format!(
                "Origin {other} needs a custom key store, which Moat does not provide."
            )))
        }
    }
    if input.xks_key_id.is_some() {
        return Err(KmsError::UnsupportedOperation(
            "Custom key stores are not supported by Moat.".to_owned(),
        ));
    }
    if input.multi_region == Some(true) {
        return Err(KmsError::UnsupportedOperation(
            "Multi-Region keys are not supported by Moat: one Moat serves one Region.".to_owned(),
        ));
    }
    let tags = check_tags(input.tags.as_deref().unwrap_or_default())?;
    let account = call.account();
    let key_id = new_key_id()?;
    let arn = key_arn(kms.region(), &account, &key_id);
    let policy = match &input.policy {
        Some(p) => {
            policy::check(
                p,
                &arn,
                call.principal,
                input.bypass_policy_lockout_safety_check == Some(true),
            )?;
            p.clone()
        }
        None => policy::default_policy(&account),
    };
    let now_ms = call.now_ms();
    let mut versions = Vec::new();
    let state = if origin == "EXTERNAL" {
        KeyState::PendingImport
    } else {
        let material = crate::crypto::generate(spec)?;
        let version = new_version_id()?;
        let sealed = seal_material(
            kms.store().root_key(),
            &key_id,
            &version,
            material.as_bytes(),
        )?;
        versions.push(KeyVersion {
            id: version,
            created_ms: now_ms,
            sealed,
            rotation_type: None,
            valid_to_ms: None,
        });
        KeyState::Enabled
    };
    let key = KeyRecord {
        key_id,
        account,
        arn,
        created_ms: now_ms,
        description: input.description.unwrap_or_default(),
        key_spec: spec.as_str().to_owned(),
        key_usage: usage.as_str().to_owned(),
        origin: origin.to_owned(),
        state,
        deletion_ms: None,
        pending_window_days: None,
        policy,
        tags,
        rotation: None,
        versions,
        pending_import: None,
        expiration_model: None,
        imported: None,
    };
    kms.store().write(|tx| save(tx, &key))?;
    Ok(crate::CreateKeyResponse {
        key_metadata: Some(metadata(&key)?),
    })
}

/// A key's metadata as DescribeKey and CreateKey return it.
pub fn metadata(key: &KeyRecord) -> Result<crate::KeyMetadata, KmsError> {
    let spec = KeySpec::parse(&key.key_spec)
        .ok_or_else(|| KmsError::Internal(format!("stored key spec {}", key.key_spec)))?;
    let usage = KeyUsage::parse(&key.key_usage)
        .ok_or_else(|| KmsError::Internal(format!("stored key usage {}", key.key_usage)))?;
    fn list<T: Copy + std::fmt::Display>(algorithms: &[T]) -> Option<Vec<String>> {
        (!algorithms.is_empty()).then(|| algorithms.iter().map(|a| a.to_string()).collect())
    }
    let symmetric = spec == KeySpec::SymmetricDefault;
    Ok(crate::KeyMetadata {
        aws_account_id: Some(key.account.clone()),
        arn: Some(key.arn.clone()),
        creation_date: Some(Timestamp(from_millis(key.created_ms))),
        current_key_material_id: if symmetric {
            key.current().map(|v| v.id.clone())
        } else {
            None
        },
        customer_master_key_spec: Some(key.key_spec.clone()),
        deletion_date: key.deletion_ms.map(|ms| Timestamp(from_millis(ms))),
        pending_deletion_window_in_days: key.pending_window_days,
        description: Some(key.description.clone()),
        enabled: Some(key.state == KeyState::Enabled),
        encryption_algorithms: list(spec.encryption_algorithms(usage)),
        signing_algorithms: list(spec.signing_algorithms(usage)),
        mac_algorithms: list(spec.mac_algorithms(usage)),
        key_agreement_algorithms: list(spec.key_agreement_algorithms(usage)),
        expiration_model: if key.origin == "EXTERNAL" {
            key.expiration_model.clone()
        } else {
            None
        },
        valid_to: key
            .current()
            .and_then(|v| v.valid_to_ms)
            .map(|ms| Timestamp(from_millis(ms))),
        key_id: key.key_id.clone(),
        key_manager: Some("CUSTOMER".to_owned()),
        key_spec: Some(key.key_spec.clone()),
        key_state: Some(key.state.as_str().to_owned()),
        key_usage: Some(key.key_usage.clone()),
        multi_region: Some(false),
        origin: Some(key.origin.clone()),
        ..Default::default()
    })
}

/// `DescribeKey`.
pub fn describe_key(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::DescribeKeyRequest,
) -> Result<crate::DescribeKeyResponse, KmsError> {
    let key = kms.store().read(|tx| load(kms, tx, call, &input.key_id))?;
    Ok(crate::DescribeKeyResponse {
        key_metadata: Some(metadata(&key)?),
    })
}

/// A page size: `Limit` when given, else the operation's default.
pub fn page_limit(limit: Option<i32>, default: usize) -> usize {
    limit
        .and_then(|l| usize::try_from(l).ok())
        .filter(|l| *l > 0)
        .unwrap_or(default)
}

/// Markers are the last key of the previous page, base64-encoded so they stay opaque.
pub fn decode_marker(marker: Option<&String>) -> Result<Option<String>, KmsError> {
    use base64::Engine as _;
    let Some(marker) = marker else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(marker)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| KmsError::InvalidMarker("Invalid marker.".to_owned()))
}

pub fn encode_marker(last: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last)
}

/// `ListKeys`: the account's keys, by key id.
pub fn list_keys(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListKeysRequest,
) -> Result<crate::ListKeysResponse, KmsError> {
    let limit = page_limit(input.limit, 100);
    let after = decode_marker(input.marker.as_ref())?;
    let now_ms = call.now_ms();
    let mut page = kms.store().read(|tx| {
        tx.scan::<KeyRecord>(
            &call.account(),
            "",
            after.as_deref(),
            limit + 1,
            &mut |_, k| !k.is_deleted_at(now_ms),
        )
    })?;
    let truncated = page.len() > limit;
    page.truncate(limit);
    Ok(crate::ListKeysResponse {
        next_marker: truncated
            .then(|| page.last().map(|(k, _)| encode_marker(k)))
            .flatten(),
        keys: Some(
            page.into_iter()
                .map(|(_, k)| crate::KeyListEntry {
                    key_arn: Some(k.arn),
                    key_id: Some(k.key_id),
                })
                .collect(),
        ),
        truncated: Some(truncated),
    })
}

/// Changes a key that is not pending deletion, in one write: `change` edits it (and may
/// write index records), then the key is saved.
fn change_key<T>(
    kms: &Kms,
    call: &Call<'_>,
    raw: &str,
    change: impl FnOnce(&mut moat_store::WriteTx<'_>, &mut KeyRecord) -> Result<T, KmsError>,
) -> Result<T, KmsError> {
    kms.store().write(|tx| {
        let mut key = load(kms, tx, call, raw)?;
        key.not_pending_deletion()?;
        let out = change(tx, &mut key)?;
        save(tx, &key)?;
        Ok(out)
    })
}

/// `EnableKey` / `DisableKey`.
pub fn set_enabled(kms: &Kms, call: &Call<'_>, raw: &str, enabled: bool) -> Result<(), KmsError> {
    change_key(kms, call, raw, |_, key| {
        if key.state == KeyState::PendingImport {
            return Err(KmsError::InvalidState(format!(
                "{} is pending import.",
                key.arn
            )));
        }
        key.state = if enabled {
            KeyState::Enabled
        } else {
            KeyState::Disabled
        };
        Ok(())
    })
}

/// `UpdateKeyDescription`.
pub fn update_description(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::UpdateKeyDescriptionRequest,
) -> Result<(), KmsError> {
    change_key(kms, call, &input.key_id, |_, key| {
        key.description.clone_from(&input.description);
        Ok(())
    })
}

/// `ScheduleKeyDeletion`: 7 to 30 days, 30 by default.
pub fn schedule_deletion(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ScheduleKeyDeletionRequest,
) -> Result<crate::ScheduleKeyDeletionResponse, KmsError> {
    let days = input.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to \
             satisfy constraint: Member must have value between 7 and 30"
        )));
    }
    change_key(kms, call, &input.key_id, |tx, key| {
        let due = call.now_ms() + i64::from(days) * 86_400_000;
        key.state = KeyState::PendingDeletion;
        key.deletion_ms = Some(due);
        key.pending_window_days = Some(days);
        put_due(tx, due, "delete", &key.account, &key.key_id)?;
        Ok(crate::ScheduleKeyDeletionResponse {
            key_id: Some(key.arn.clone()),
            deletion_date: Some(Timestamp(from_millis(due))),
            key_state: Some(KeyState::PendingDeletion.as_str().to_owned()),
            pending_window_in_days: Some(days),
        })
    })
}

/// `CancelKeyDeletion`: the key comes back disabled.
pub fn cancel_deletion(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::CancelKeyDeletionRequest,
) -> Result<crate::CancelKeyDeletionResponse, KmsError> {
    kms.store().write(|tx| {
        let mut key = load(kms, tx, call, &input.key_id)?;
        if key.state != KeyState::PendingDeletion {
            return Err(KmsError::InvalidState(format!(
                "{} is not pending deletion.",
                key.arn
            )));
        }
        if let Some(due) = key.deletion_ms.take() {
            remove_due(tx, due, "delete", &key.account, &key.key_id)?;
        }
        key.pending_window_days = None;
        key.state = if key.versions.is_empty() {
            KeyState::PendingImport
        } else {
            KeyState::Disabled
        };
        save(tx, &key)?;
        Ok(crate::CancelKeyDeletionResponse {
            key_id: Some(key.arn.clone()),
        })
    })
}

/// Deletes keys whose waiting period has ended, with their aliases and grants.
pub fn purge_deleted(kms: &Kms, now_ms: i64) -> Result<usize, KmsError> {
    kms.store().write(|tx| {
        let due = due_entries(tx, "delete", now_ms)?;
        let mut purged = 0;
        for (due_key, entry) in due {
            tx.delete::<DueRecord>(GLOBAL, &due_key)?;
            let Some(key) = tx.get::<KeyRecord>(&entry.account, &entry.key_id)? else {
                continue;
            };
            if !key.is_deleted_at(now_ms) {
                continue;
            }
            for alias in keys::aliases_of(tx, &key.account, &key.key_id)? {
                tx.delete::<AliasRecord>(&key.account, &alias.name)?;
            }
            crate::grants::delete_all(tx, &key)?;
            if let Some(r) = &key.rotation {
                remove_due(tx, r.next_ms, "rotate", &key.account, &key.key_id)?;
            }
            tx.delete::<KeyRecord>(&key.account, &key.key_id)?;
            tracing::info!(key = %key.arn, "deleted a KMS key whose waiting period ended");
            purged += 1;
        }
        Ok(purged)
    })
}

/// Tags as stored, after AWS's checks: no `aws:` keys, at most 50.
fn check_tags(tags: &[crate::Tag]) -> Result<Vec<(String, String)>, KmsError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for t in tags {
        if t.tag_key.starts_with("aws:") {
            return Err(KmsError::Tag(
                "Tags beginning with aws: are reserved.".to_owned(),
            ));
        }
        match out.iter_mut().find(|(k, _)| *k == t.tag_key) {
            Some(slot) => slot.1.clone_from(&t.tag_value),
            None => out.push((t.tag_key.clone(), t.tag_value.clone())),
        }
    }
    if out.len() > 50 {
        return Err(KmsError::LimitExceeded(
            "A KMS key can have at most 50 tags.".to_owned(),
        ));
    }
    Ok(out)
}

/// `TagResource`: adds tags or replaces the values of existing keys.
pub fn tag_resource(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::TagResourceRequest,
) -> Result<(), KmsError> {
    let new = check_tags(&input.tags)?;
    change_key(kms, call, &input.key_id, |_, key| {
        for (k, v) in new {
            match key.tags.iter_mut().find(|(existing, _)| *existing == k) {
                Some(slot) => slot.1 = v,
                None => key.tags.push((k, v)),
            }
        }
        if key.tags.len() > 50 {
            return Err(KmsError::LimitExceeded(
                "A KMS key can have at most 50 tags.".to_owned(),
            ));
        }
        Ok(())
    })
}

/// `UntagResource`.
pub fn untag_resource(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::UntagResourceRequest,
) -> Result<(), KmsError> {
    change_key(kms, call, &input.key_id, |_, key| {
        key.tags.retain(|(k, _)| !input.tag_keys.contains(k));
        Ok(())
    })
}

/// `ListResourceTags`, in key order.
pub fn list_tags(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListResourceTagsRequest,
) -> Result<crate::ListResourceTagsResponse, KmsError> {
    let key = kms.store().read(|tx| load(kms, tx, call, &input.key_id))?;
    let limit = page_limit(input.limit, 50);
    let after = decode_marker(input.marker.as_ref())?;
    let mut tags = key.tags.clone();
    tags.sort();
    let mut page: Vec<_> = tags
        .into_iter()
        .filter(|(k, _)| after.as_ref().is_none_or(|a| k > a))
        .take(limit + 1)
        .collect();
    let truncated = page.len() > limit;
    page.truncate(limit);
    Ok(crate::ListResourceTagsResponse {
        next_marker: truncated
            .then(|| page.last().map(|(k, _)| encode_marker(k)))
            .flatten(),
        tags: Some(
            page.into_iter()
                .map(|(k, v)| crate::Tag {
                    tag_key: k,
                    tag_value: v,
                })
                .collect(),
        ),
        truncated: Some(truncated),
    })
}

fn check_policy_name(name: Option<&String>) -> Result<(), KmsError> {
    match name.map(String::as_str) {
        None | Some(POLICY_NAME) => Ok(()),
        Some(_) => Err(KmsError::NotFound("No such policy exists".to_owned())),
    }
}

/// `GetKeyPolicy`.
pub fn get_key_policy(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::GetKeyPolicyRequest,
) -> Result<crate::GetKeyPolicyResponse, KmsError> {
    check_policy_name(input.policy_name.as_ref())?;
    let key = kms.store().read(|tx| load(kms, tx, call, &input.key_id))?;
    Ok(crate::GetKeyPolicyResponse {
        policy: Some(key.policy),
        policy_name: Some(POLICY_NAME.to_owned()),
    })
}

/// `ListKeyPolicies`: a key has one policy, `default`.
pub fn list_key_policies(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListKeyPoliciesRequest,
) -> Result<crate::ListKeyPoliciesResponse, KmsError> {
    kms.store().read(|tx| load(kms, tx, call, &input.key_id))?;
    decode_marker(input.marker.as_ref())?;
    Ok(crate::ListKeyPoliciesResponse {
        policy_names: Some(vec![POLICY_NAME.to_owned()]),
        next_marker: None,
        truncated: Some(false),
    })
}

/// `PutKeyPolicy`, with the lockout safety check.
pub fn put_key_policy(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::PutKeyPolicyRequest,
) -> Result<(), KmsError> {
    check_policy_name(input.policy_name.as_ref())?;
    change_key(kms, call, &input.key_id, |_, key| {
        policy::check(
            &input.policy,
            &key.arn,
            call.principal,
            input.bypass_policy_lockout_safety_check == Some(true),
        )?;
        key.policy.clone_from(&input.policy);
        Ok(())
    })
}

/// Checks an alias name a request creates or changes.
fn check_alias_name(name: &str) -> Result<(), KmsError> {
    if !name.starts_with("alias/") || name.len() <= "alias/".len() {
        return Err(KmsError::Validation(
            "Alias must start with the prefix \"alias/\". Please see \
             https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html"
                .to_owned(),
        ));
    }
    if name.starts_with("alias/aws/") || name == "alias/aws" {
        return Err(KmsError::NotAuthorized);
    }
    Ok(())
}

/// The key an alias may point at: named by key id or key ARN, not by another alias, and not
/// pending deletion.
fn alias_target(
    kms: &Kms,
    tx: &impl Reader,
    call: &Call<'_>,
    raw: &str,
) -> Result<KeyRecord, KmsError> {
    if raw.starts_with("alias/") || raw.contains(":alias/") {
        return Err(KmsError::Validation(
            "Aliases must refer to keys. Not aliases".to_owned(),
        ));
    }
    let key = load(kms, tx, call, raw)?;
    key.require_own_account(&call.account())?;
    key.not_pending_deletion()?;
    Ok(key)
}

/// An alias as requests see it: one whose key is past its deletion date went with the key,
/// whether or not the sweep has removed its record yet.
fn live_alias(
    tx: &impl Reader,
    account: &str,
    name: &str,
    now_ms: i64,
) -> Result<Option<AliasRecord>, KmsError> {
    let Some(alias) = tx.get::<AliasRecord>(account, name)? else {
        return Ok(None);
    };
    let live = tx
        .get::<KeyRecord>(account, &alias.target_key_id)?
        .is_some_and(|k| !k.is_deleted_at(now_ms));
    Ok(live.then_some(alias))
}

/// `CreateAlias`.
pub fn create_alias(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::CreateAliasRequest,
) -> Result<(), KmsError> {
    check_alias_name(&input.alias_name)?;
    let account = call.account();
    kms.store().write(|tx| {
        let key = alias_target(kms, tx, call, &input.target_key_id)?;
        if live_alias(tx, &account, &input.alias_name, call.now_ms())?.is_some() {
            return Err(KmsError::AlreadyExists(format!(
                "An alias with the name {} already exists",
                alias_arn(kms.region(), &account, &input.alias_name)
            )));
        }
        let now_ms = call.now_ms();
        tx.put(
            &account,
            &input.alias_name,
            &AliasRecord {
                name: input.alias_name.clone(),
                target_key_id: key.key_id,
                created_ms: now_ms,
                updated_ms: now_ms,
            },
        )?;
        Ok(())
    })
}

/// `UpdateAlias`: to a key of the same type and usage.
pub fn update_alias(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::UpdateAliasRequest,
) -> Result<(), KmsError> {
    let account = call.account();
    kms.store().write(|tx| {
        let Some(mut alias) = live_alias(tx, &account, &input.alias_name, call.now_ms())? else {
            return Err(KmsError::alias_not_found(&alias_arn(
                kms.region(),
                &account,
                &input.alias_name,
            )));
        };
        let new = alias_target(kms, tx, call, &input.target_key_id)?;
        if let Some(old) = tx.get::<KeyRecord>(&account, &alias.target_key_id)? {
            if old.key_spec != new.key_spec || old.key_usage != new.key_usage {
                return Err(KmsError::Validation(format!(
                    "The new target key {} must have the same key spec and key usage as the \
                     current target key {}.",
                    new.arn, old.arn
                )));
            }
        }
        alias.target_key_id = new.key_id;
        alias.updated_ms = call.now_ms();
        tx.put(&account, &input.alias_name, &alias)?;
        Ok(())
    })
}

/// `DeleteAlias`.
pub fn delete_alias(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::DeleteAliasRequest,
) -> Result<(), KmsError> {
    let account = call.account();
    kms.store().write(|tx| {
        if live_alias(tx, &account, &input.alias_name, call.now_ms())?.is_none() {
            return Err(KmsError::alias_not_found(&alias_arn(
                kms.region(),
                &account,
                &input.alias_name,
            )));
        }
        tx.delete::<AliasRecord>(&account, &input.alias_name)?;
        Ok(())
    })
}

/// `ListAliases`: the account's aliases by name, or one key's.
pub fn list_aliases(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListAliasesRequest,
) -> Result<crate::ListAliasesResponse, KmsError> {
    let account = call.account();
    let limit = page_limit(input.limit, 50);
    let after = decode_marker(input.marker.as_ref())?;
    let (page, truncated) = kms.store().read(|tx| {
        let only = match &input.key_id {
            Some(raw) => {
                if raw.starts_with("alias/") || raw.contains(":alias/") {
                    return Err(KmsError::InvalidArn(format!(
                        "{raw} is not a key id or key ARN."
                    )));
                }
                Some(load(kms, tx, call, raw)?.key_id)
            }
            None => None,
        };
        let now_ms = call.now_ms();
        let candidates =
            tx.scan::<AliasRecord>(&account, "", after.as_deref(), usize::MAX, &mut |_, a| {
                only.as_ref().is_none_or(|k| *k == a.target_key_id)
            })?;
        // Aliases of keys past their deletion date are gone with them.
        let mut page = Vec::new();
        for (name, alias) in candidates {
            if page.len() > limit {
                break;
            }
            let live = tx
                .get::<KeyRecord>(&account, &alias.target_key_id)?
                .is_some_and(|k| !k.is_deleted_at(now_ms));
            if live {
                page.push((name, alias));
            }
        }
        let truncated = page.len() > limit;
        page.truncate(limit);
        Ok::<_, KmsError>((page, truncated))
    })?;
    Ok(crate::ListAliasesResponse {
        next_marker: truncated
            .then(|| page.last().map(|(k, _)| encode_marker(k)))
            .flatten(),
        aliases: Some(
            page.into_iter()
                .map(|(_, a)| crate::AliasListEntry {
                    alias_arn: Some(alias_arn(kms.region(), &account, &a.name)),
                    alias_name: Some(a.name),
                    creation_date: Some(Timestamp(from_millis(a.created_ms))),
                    last_updated_date: Some(Timestamp(from_millis(a.updated_ms))),
                    target_key_id: Some(a.target_key_id),
                })
                .collect(),
        ),
        truncated: Some(truncated),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use std::sync::Arc;

    use moat_store::{RootKey, Store};
    use moat_types::{ManualClock, Principal, PrincipalKind};
    use time::{Duration, OffsetDateTime};

    use super::*;
    use crate::{Request, Response};

    fn root() -> Principal {
        Principal::long_term(
            "111122223333".parse().unwrap(),
            PrincipalKind::Root,
            "arn:aws:iam::111122223333:root".into(),
            "111122223333".into(),
            "AKIAEXAMPLE".into(),
        )
    }

    #[test]
    fn the_sweep_deletes_a_key_and_its_aliases_only_when_due() {
        let start = OffsetDateTime::now_utc();
        let clock = Arc::new(ManualClock::new(start));
        let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
        let kms = Kms::new(store, "us-east-1", clock.clone());
        let principal = root();
        let run = |request: Request, now: OffsetDateTime| {
            kms.execute(
                Kms::prepare(request),
                &Call {
                    principal: &principal,
                    now,
                },
            )
        };
        let create = |now| match run(Request::CreateKey(Default::default()), now).unwrap() {
            Response::CreateKey(r) => r.key_metadata.unwrap().key_id,
            _ => panic!("not a CreateKey response"),
        };
        let doomed = create(start);
        let kept = create(start);
        run(
            Request::CreateAlias(crate::CreateAliasRequest {
                alias_name: "alias/doomed".into(),
                target_key_id: doomed.clone(),
            }),
            start,
        )
        .unwrap();
        run(
            Request::ScheduleKeyDeletion(crate::ScheduleKeyDeletionRequest {
                key_id: doomed.clone(),
                pending_window_in_days: Some(7),
            }),
            start,
        )
        .unwrap();

        let account = "111122223333";
        let exists = |id: &str| {
            kms.store()
                .read(|tx| tx.get::<KeyRecord>(account, id))
                .unwrap()
                .is_some()
        };
        let alias_exists = || {
            kms.store()
                .read(|tx| tx.get::<AliasRecord>(account, "alias/doomed"))
                .unwrap()
                .is_some()
        };
        assert_eq!(kms.maintain(start + Duration::days(6)).unwrap(), 0);
        assert!(exists(&doomed) && alias_exists());
        assert_eq!(kms.maintain(start + Duration::days(7)).unwrap(), 1);
        assert!(!exists(&doomed), "the due key is deleted");
        assert!(!alias_exists(), "its alias with it");
        assert!(exists(&kept), "the other key stays");
        // Its due entry went with it: nothing more to do.
        assert_eq!(kms.maintain(start + Duration::days(8)).unwrap(), 0);
        let due = kms
            .store()
            .read(|tx| due_entries(tx, "delete", i64::MAX))
            .unwrap();
        assert!(due.is_empty(), "{due:?}");
    }

    #[test]
    fn a_cancelled_deletion_is_not_swept() {
        let start = OffsetDateTime::now_utc();
        let clock = Arc::new(ManualClock::new(start));
        let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
        let kms = Kms::new(store, "us-east-1", clock);
        let principal = root();
        let call = Call {
            principal: &principal,
            now: start,
        };
        let id = match kms
            .execute(Kms::prepare(Request::CreateKey(Default::default())), &call)
            .unwrap()
        {
            Response::CreateKey(r) => r.key_metadata.unwrap().key_id,
            _ => panic!("not a CreateKey response"),
        };
        let key_id = id.clone();
        kms.execute(
            Kms::prepare(Request::ScheduleKeyDeletion(
                crate::ScheduleKeyDeletionRequest {
                    key_id,
                    pending_window_in_days: None,
                },
            )),
            &call,
        )
        .unwrap();
        kms.execute(
            Kms::prepare(Request::CancelKeyDeletion(
                crate::CancelKeyDeletionRequest { key_id: id.clone() },
            )),
            &call,
        )
        .unwrap();
        assert_eq!(kms.maintain(start + Duration::days(31)).unwrap(), 0);
        let key = kms
            .store()
            .read(|tx| tx.get::<KeyRecord>("111122223333", &id))
            .unwrap()
            .unwrap();
        assert_eq!(key.state, KeyState::Disabled);
    }
}
