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
        key.require_own_account(&call.account())?;
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
        key.require_own_account(&call.account())?;
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
        key.require_own_account(&call.account())?;
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
    key.require_own_account(&call.account())?;
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

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
pub(crate) mod tests {
    use std::sync::Arc;

    use moat_store::{RootKey, Store};
    use moat_types::{Principal, PrincipalKind, SystemClock};

    use super::*;

    pub const ACCOUNT: &str = "111122223333";
    pub const T0: i64 = 1_700_000_000_000;

    pub fn kms() -> Kms {
        let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
        Kms::new(store, "us-east-1", Arc::new(SystemClock))
    }

    pub fn root() -> Principal {
        Principal::long_term(
            ACCOUNT.parse().unwrap(),
            PrincipalKind::Root,
            format!("arn:aws:iam::{ACCOUNT}:root"),
            ACCOUNT.into(),
            "AKIAEXAMPLE".into(),
        )
    }

    pub fn call(principal: &Principal, now_ms: i64) -> Call<'_> {
        Call {
            principal,
            now: from_millis(now_ms),
        }
    }

    pub fn create(kms: &Kms, principal: &Principal, spec: &str, origin: &str) -> KeyRecord {
        let usage = match spec {
            "SYMMETRIC_DEFAULT" => "ENCRYPT_DECRYPT",
            s if s.starts_with("HMAC") => "GENERATE_VERIFY_MAC",
            _ => "SIGN_VERIFY",
        };
        let out = manage::create_key(
            kms,
            &call(principal, T0),
            crate::CreateKeyRequest {
                key_spec: Some(spec.into()),
                key_usage: Some(usage.into()),
                origin: Some(origin.into()),
                ..Default::default()
            },
        )
        .unwrap();
        get(kms, &out.key_metadata.unwrap().key_id)
    }

    pub fn get(kms: &Kms, key_id: &str) -> KeyRecord {
        kms.store()
            .read(|tx| tx.get::<KeyRecord>(ACCOUNT, key_id))
            .unwrap()
            .unwrap()
    }

    fn enable_rotation(kms: &Kms, p: &Principal, key: &KeyRecord, days: Option<i32>, now: i64) {
        enable(
            kms,
            &call(p, now),
            &crate::EnableKeyRotationRequest {
                key_id: key.key_id.clone(),
                rotation_period_in_days: days,
            },
        )
        .unwrap();
    }

    #[test]
    fn due_rotation_adds_a_version_and_schedules_the_next() {
        let kms = kms();
        let p = root();
        let key = create(&kms, &p, "SYMMETRIC_DEFAULT", "AWS_KMS");
        enable_rotation(&kms, &p, &key, Some(90), T0);
        let due = T0 + 90 * DAY_MS;
        assert_eq!(rotate_due(&kms, due - 1).unwrap(), 0);
        assert_eq!(get(&kms, &key.key_id).versions.len(), 1);

        assert_eq!(rotate_due(&kms, due + 5).unwrap(), 1);
        let after = get(&kms, &key.key_id);
        assert_eq!(after.versions.len(), 2);
        assert_eq!(after.versions[1].rotation_type.as_deref(), Some(AUTOMATIC));
        assert_ne!(after.versions[1].id, after.versions[0].id);
        let next = after.rotation.as_ref().unwrap().next_ms;
        assert_eq!(next, due + 90 * DAY_MS);
        // Nothing more is due until the next period ends.
        assert_eq!(rotate_due(&kms, due + 60_000).unwrap(), 0);
        assert_eq!(rotate_due(&kms, next).unwrap(), 1);
        assert_eq!(get(&kms, &key.key_id).versions.len(), 3);
    }

    #[test]
    fn disabling_or_changing_the_period_replaces_the_due_entry() {
        let kms = kms();
        let p = root();
        let key = create(&kms, &p, "SYMMETRIC_DEFAULT", "AWS_KMS");
        enable_rotation(&kms, &p, &key, None, T0);
        assert_eq!(
            get(&kms, &key.key_id).rotation.unwrap().next_ms,
            T0 + 365 * DAY_MS
        );
        enable_rotation(&kms, &p, &key, Some(100), T0 + DAY_MS);
        assert_eq!(
            get(&kms, &key.key_id).rotation.unwrap().next_ms,
            T0 + 100 * DAY_MS
        );
        let entries = kms
            .store()
            .read(|tx| manage::due_entries(tx, DUE, i64::MAX / 2))
            .unwrap();
        assert_eq!(entries.len(), 1);

        disable(
            &kms,
            &call(&p, T0 + 2 * DAY_MS),
            &crate::DisableKeyRotationRequest {
                key_id: key.key_id.clone(),
            },
        )
        .unwrap();
        assert!(kms
            .store()
            .read(|tx| manage::due_entries(tx, DUE, i64::MAX / 2))
            .unwrap()
            .is_empty());
        assert_eq!(rotate_due(&kms, T0 + 400 * DAY_MS).unwrap(), 0);
        assert_eq!(get(&kms, &key.key_id).versions.len(), 1);
    }

    #[test]
    fn a_disabled_key_rotates_once_enabled_again() {
        let kms = kms();
        let p = root();
        let key = create(&kms, &p, "SYMMETRIC_DEFAULT", "AWS_KMS");
        enable_rotation(&kms, &p, &key, Some(90), T0);
        manage::set_enabled(&kms, &call(&p, T0 + 1), &key.key_id, false).unwrap();
        let due = T0 + 91 * DAY_MS;
        assert_eq!(rotate_due(&kms, due).unwrap(), 0);
        manage::set_enabled(&kms, &call(&p, due), &key.key_id, true).unwrap();
        assert_eq!(rotate_due(&kms, due + 1).unwrap(), 1);
        let after = get(&kms, &key.key_id);
        assert_eq!(after.versions.len(), 2);
        // The schedule keeps its cadence: one period after the date that was missed.
        assert_eq!(after.rotation.unwrap().next_ms, T0 + 180 * DAY_MS);
    }

    #[test]
    fn rotation_is_refused_where_aws_refuses_it() {
        let kms = kms();
        let p = root();
        let hmac = create(&kms, &p, "HMAC_256", "AWS_KMS");
        let external = create(&kms, &p, "SYMMETRIC_DEFAULT", "EXTERNAL");
        for key in [&hmac, &external] {
            let err = enable(
                &kms,
                &call(&p, T0),
                &crate::EnableKeyRotationRequest {
                    key_id: key.key_id.clone(),
                    rotation_period_in_days: None,
                },
            )
            .unwrap_err();
            assert!(matches!(err, KmsError::UnsupportedOperation(_)), "{err:?}");
        }
        let key = create(&kms, &p, "SYMMETRIC_DEFAULT", "AWS_KMS");
        for days in [89, 2561] {
            let err = enable(
                &kms,
                &call(&p, T0),
                &crate::EnableKeyRotationRequest {
                    key_id: key.key_id.clone(),
                    rotation_period_in_days: Some(days),
                },
            )
            .unwrap_err();
            assert!(matches!(err, KmsError::Validation(_)), "{err:?}");
        }
    }

    #[test]
    fn on_demand_rotations_stop_at_the_limit() {
        let kms = kms();
        let p = root();
        let key = create(&kms, &p, "SYMMETRIC_DEFAULT", "AWS_KMS");
        let req = crate::RotateKeyOnDemandRequest {
            key_id: key.key_id.clone(),
        };
        for i in 0..ON_DEMAND_LIMIT {
            rotate_on_demand(&kms, &call(&p, T0 + i as i64), &req).unwrap();
        }
        let err = rotate_on_demand(&kms, &call(&p, T0 + 100), &req).unwrap_err();
        assert!(matches!(err, KmsError::LimitExceeded(_)), "{err:?}");
        assert_eq!(get(&kms, &key.key_id).versions.len(), ON_DEMAND_LIMIT + 1);
    }
}
