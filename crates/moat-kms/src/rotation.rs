//! Key rotation: automatic (on a period, through the due index and the housekeeping sweep) and
//! on demand, its status and its history.
//!
//! A rotation appends a new material version; the last version is current, so new ciphertexts
//! use it while ciphertexts naming any earlier version still decrypt.

use moat_store::{Reader, Writer, GLOBAL};
use moat_wire::Timestamp;

use crate::crypto::KeySpec;
use crate::keys::{from_millis, new_version_id, seal_material, KeyRecord, KeyState, KeyVersion};
use crate::manage::{self, DueRecord};
use crate::{Call, Kms, KmsError};

const DAY_MS: i64 = 86_400_000;
const DEFAULT_PERIOD_DAYS: i32 = 365;
const MIN_PERIOD_DAYS: i32 = 90;
const MAX_PERIOD_DAYS: i32 = 2560;
/// AWS's limit of on-demand rotations per key.
const ON_DEMAND_LIMIT: usize = 25;
const DUE: &str = "rotate";

pub const AUTOMATIC: &str = "AUTOMATIC";
pub const ON_DEMAND: &str = "ON_DEMAND";

fn check_period(days: i32) -> Result<(), KmsError> {
    if days < MIN_PERIOD_DAYS {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to \
             satisfy constraint: Member must have value greater than or equal to {MIN_PERIOD_DAYS}"
        )));
    }
    if days > MAX_PERIOD_DAYS {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to \
             satisfy constraint: Member must have value less than or equal to {MAX_PERIOD_DAYS}"
        )));
    }
    Ok(())
}

/// Only symmetric encryption keys rotate.
fn require_symmetric(key: &KeyRecord) -> Result<(), KmsError> {
    if key.key_spec != KeySpec::SymmetricDefault.as_str() {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} key spec {} is not valid for this operation: only symmetric encryption keys \
             rotate.",
            key.arn, key.key_spec
        )));
    }
    Ok(())
}

/// Only keys whose material KMS generated rotate automatically.
fn require_kms_origin(key: &KeyRecord) -> Result<(), KmsError> {
    require_symmetric(key)?;
    if key.origin != "AWS_KMS" {
        return Err(KmsError::UnsupportedOperation(format!(
            "{} origin is {} which is not valid for this operation.",
            key.arn, key.origin
        )));
    }
    Ok(())
}

/// Rotation is managed in the key's own account only (no cross-account use).
fn require_own(key: &KeyRecord, call: &Call<'_>) -> Result<(), KmsError> {
    if key.account != call.account() {
        return Err(KmsError::NotFound(format!(
            "Key '{}' does not exist",
            key.arn
        )));
    }
    Ok(())
}

/// Checks the key can be managed now: not pending deletion, not disabled.
fn require_enabled_for_rotation(key: &KeyRecord) -> Result<(), KmsError> {
    key.not_pending_deletion()?;
    if key.state == KeyState::Disabled {
        return Err(KmsError::Disabled(format!("{} is disabled.", key.arn)));
    }
    Ok(())
}

/// Appends a version of fresh material and makes it current.
fn add_version(
    kms: &Kms,
    key: &mut KeyRecord,
    rotation_type: &str,
    now_ms: i64,
) -> Result<(), KmsError> {
    let material = crate::crypto::generate(KeySpec::SymmetricDefault)?;
    let id = new_version_id()?;
    let sealed = seal_material(
        kms.store().root_key(),
        &key.key_id,
        &id,
        material.as_bytes(),
    )?;
    key.versions.push(KeyVersion {
        id,
        created_ms: now_ms,
        sealed,
        rotation_type: Some(rotation_type.to_owned()),
        valid_to_ms: None,
    });
    Ok(())
}

/// `EnableKeyRotation`: the first rotation one period from now; changing the period of a key
/// already rotating moves its next rotation to one new period after the last one.
pub fn enable(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::EnableKeyRotationRequest,
) -> Result<(), KmsError> {
    let days = input.rotation_period_in_days.unwrap_or(DEFAULT_PERIOD_DAYS);
    check_period(days)?;
    let now_ms = call.now_ms();
    kms.store().write(|tx| {
        let mut key = manage::load(kms, tx, call, &input.key_id)?;
        require_own(&key, call)?;
        key.not_pending_deletion()?;
        require_kms_origin(&key)?;
        require_enabled_for_rotation(&key)?;
        let period_ms = i64::from(days) * DAY_MS;
        let next_ms = match &key.rotation {
            Some(r) if r.period_days == days => return Ok(()),
            Some(r) => {
                manage::remove_due(tx, r.next_ms, DUE, &key.account, &key.key_id)?;
                let last = r.next_ms - i64::from(r.period_days) * DAY_MS;
                (last + period_ms).max(now_ms)
            }
            None => now_ms + period_ms,
        };
        manage::put_due(tx, next_ms, DUE, &key.account, &key.key_id)?;
        key.rotation = Some(crate::keys::Rotation {
            period_days: days,
            next_ms,
        });
        manage::save(tx, &key)
    })
}

/// `DisableKeyRotation`.
pub fn disable(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::DisableKeyRotationRequest,
) -> Result<(), KmsError> {
    kms.store().write(|tx| {
        let mut key = manage::load(kms, tx, call, &input.key_id)?;
        require_own(&key, call)?;
        key.not_pending_deletion()?;
        require_kms_origin(&key)?;
        require_enabled_for_rotation(&key)?;
        if let Some(r) = key.rotation.take() {
            manage::remove_due(tx, r.next_ms, DUE, &key.account, &key.key_id)?;
            manage::save(tx, &key)?;
        }
        Ok(())
    })
}

/// `GetKeyRotationStatus`. A key pending deletion reports rotation off but keeps its
/// schedule, which comes back if the deletion is cancelled.
pub fn status(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::GetKeyRotationStatusRequest,
) -> Result<crate::GetKeyRotationStatusResponse, KmsError> {
    let key = kms
        .store()
        .read(|tx| manage::load(kms, tx, call, &input.key_id))?;
    require_symmetric(&key)?;
    let rotation = key
        .rotation
        .as_ref()
        .filter(|_| key.state != KeyState::PendingDeletion);
    Ok(crate::GetKeyRotationStatusResponse {
        key_id: Some(key.key_id.clone()),
        key_rotation_enabled: Some(rotation.is_some()),
        next_rotation_date: rotation.map(|r| Timestamp(from_millis(r.next_ms))),
        // On-demand rotations complete within the call, so none is ever in progress.
        on_demand_rotation_start_date: None,
        rotation_period_in_days: rotation.map(|r| r.period_days),
    })
}

/// `RotateKeyOnDemand`: rotates now, whether or not automatic rotation is enabled, without
/// moving the automatic schedule.
pub fn rotate_on_demand(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::RotateKeyOnDemandRequest,
) -> Result<crate::RotateKeyOnDemandResponse, KmsError> {
    kms.store().write(|tx| {
        let mut key = manage::load(kms, tx, call, &input.key_id)?;
        require_own(&key, call)?;
        key.not_pending_deletion()?;
        require_symmetric(&key)?;
        if key.origin != "AWS_KMS" {
            // AWS rotates imported keys to material imported beforehand with
            // ImportType NEW_KEY_MATERIAL, which Moat does not accept.
            return Err(KmsError::UnsupportedOperation(format!(
                "{} has imported key material: Moat does not rotate imported key material.",
                key.arn
            )));
        }
        require_enabled_for_rotation(&key)?;
        let done = key
            .versions
            .iter()
            .filter(|v| v.rotation_type.as_deref() == Some(ON_DEMAND))
            .count();
        if done >= ON_DEMAND_LIMIT {
            return Err(KmsError::LimitExceeded(format!(
                "{} has reached the limit of {ON_DEMAND_LIMIT} on-demand rotations.",
                key.arn
            )));
        }
        add_version(kms, &mut key, ON_DEMAND, call.now_ms())?;
        manage::save(tx, &key)?;
        Ok(crate::RotateKeyOnDemandResponse {
            key_id: Some(key.key_id.clone()),
        })
    })
}

/// `ListKeyRotations`: the key's rotations, oldest first; with `ALL_KEY_MATERIAL` also its
/// first material.
pub fn list(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListKeyRotationsRequest,
) -> Result<crate::ListKeyRotationsResponse, KmsError> {
    let all = match input.include_key_material.as_deref() {
        None | Some("ROTATIONS_ONLY") => false,
        Some("ALL_KEY_MATERIAL") => true,
        Some(other) => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'includeKeyMaterial' failed to \
                 satisfy constraint: Member must satisfy enum value set: [ALL_KEY_MATERIAL, \
                 ROTATIONS_ONLY]"
            )))
        }
    };
    let limit = manage::page_limit(input.limit, 100);
    let after = manage::decode_marker(input.marker.as_ref())?;
    let key = kms
        .store()
        .read(|tx| manage::load(kms, tx, call, &input.key_id))?;
    require_own(&key, call)?;
    require_symmetric(&key)?;
    let external = key.origin == "EXTERNAL";
    let current = key.current().map(|v| v.id.clone());
    let mut entries: Vec<crate::RotationsListEntry> = key
        .versions
        .iter()
        .filter(|v| all || v.rotation_type.is_some())
        .map(|v| crate::RotationsListEntry {
            key_id: Some(key.key_id.clone()),
            key_material_id: Some(v.id.clone()),
            key_material_state: Some(
                if current.as_deref() == Some(v.id.as_str()) {
                    "CURRENT"
                } else {
                    "NON_CURRENT"
                }
                .to_owned(),
            ),
            rotation_date: Some(Timestamp(from_millis(v.created_ms))),
            rotation_type: v.rotation_type.clone(),
            expiration_model: if external {
                key.expiration_model.clone()
            } else {
                None
            },
            valid_to: v.valid_to_ms.map(|ms| Timestamp(from_millis(ms))),
            import_state: external.then(|| "IMPORTED".to_owned()),
            key_material_description: if external {
                key.imported.as_ref().and_then(|i| i.description.clone())
            } else {
                None
            },
        })
        .collect();
    // Imported material that was deleted or expired is still the key's, awaiting re-import.
    if all && external && key.versions.is_empty() {
        if let Some(imported) = &key.imported {
            entries.push(crate::RotationsListEntry {
                key_id: Some(key.key_id.clone()),
                key_material_id: Some(imported.material_id.clone()),
                key_material_state: Some("CURRENT".to_owned()),
                import_state: Some("PENDING_IMPORT".to_owned()),
                key_material_description: imported.description.clone(),
                ..Default::default()
            });
        }
    }
    let mut page: Vec<_> = entries
        .into_iter()
        .skip_while(|e| {
            after
                .as_ref()
                .is_some_and(|a| e.key_material_id.as_deref() != Some(a.as_str()))
        })
        .skip(usize::from(after.is_some()))
        .take(limit + 1)
        .collect();
    let truncated = page.len() > limit;
    page.truncate(limit);
    Ok(crate::ListKeyRotationsResponse {
        next_marker: truncated
            .then(|| {
                page.last()
                    .and_then(|e| e.key_material_id.as_deref())
                    .map(manage::encode_marker)
            })
            .flatten(),
        rotations: Some(page),
        truncated: Some(truncated),
    })
}

/// Rotates keys whose automatic rotation is due; how many. A key that is disabled or pending
/// deletion is not rotated: its entry stays due, so it rotates once it is enabled again.
pub fn rotate_due(kms: &Kms, now_ms: i64) -> Result<usize, KmsError> {
    kms.store().write(|tx| {
        let mut rotated = 0;
        for (due_key, entry) in manage::due_entries(tx, DUE, now_ms)? {
            let Some(mut key) = tx.get::<KeyRecord>(&entry.account, &entry.key_id)? else {
                tx.delete::<DueRecord>(GLOBAL, &due_key)?;
                continue;
            };
            let Some(rotation) = key.rotation.clone() else {
                tx.delete::<DueRecord>(GLOBAL, &due_key)?;
                continue;
            };
            if rotation.next_ms > now_ms {
                // A stale entry: the schedule moved and has its own entry.
                if manage::due_key(rotation.next_ms, DUE, &key.account, &key.key_id) != due_key {
                    tx.delete::<DueRecord>(GLOBAL, &due_key)?;
                }
                continue;
            }
            if key.state != KeyState::Enabled {
                continue;
            }
            add_version(kms, &mut key, AUTOMATIC, now_ms)?;
            tx.delete::<DueRecord>(GLOBAL, &due_key)?;
            let period_ms = i64::from(rotation.period_days) * DAY_MS;
            let mut next_ms = rotation.next_ms + period_ms;
            if next_ms <= now_ms {
                next_ms = now_ms + period_ms;
            }
            manage::put_due(tx, next_ms, DUE, &key.account, &key.key_id)?;
            key.rotation = Some(crate::keys::Rotation {
                period_days: rotation.period_days,
                next_ms,
            });
            manage::save(tx, &key)?;
            tracing::info!(key = %key.arn, "rotated a KMS key's material on schedule");
            rotated += 1;
        }
        Ok(rotated)
    })
}
