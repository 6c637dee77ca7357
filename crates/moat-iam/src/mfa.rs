//! Virtual MFA devices: RFC 6238 time-based one-time passwords (HMAC-SHA1, 6 digits, 30 s
//! steps), as AWS's virtual devices and every authenticator app speak them.
//!
//! A device's seed is 40 random bytes, sealed under the root key in its record; it leaves the
//! server once, in the CreateVirtualMFADevice response (base32, and as the QR code PNG of
//! `otpauth://totp/NAME@ACCOUNT?secret=SEED`), and never appears in logs or audit events
//! (`Base32StringSeed` and `QRCodePNG` are sensitive in AWS's model, and the audit trail hides
//! seeds and authentication codes by name too).
//!
//! The root user enables its own device through the API: `EnableMFADevice` (and
//! `ResyncMFADevice`) without `UserName`, signed by root, is about root's device. AWS does this
//! only in its console; Moat has no console, and the onboarding flow needs it. botocore and the
//! aws CLI insist on `UserName` client-side, so such a call is made with parameter validation
//! off (boto3: `Config(parameter_validation=False)`) or by a client that sends what it is given.
//!
//! # Checking codes
//!
//! [`check_code`] is what STS calls for a `TokenCode`. A code is accepted when the device
//! exists, is enabled for the caller, the code is the device's code for the current time step
//! or one step either side (after any drift learned by ResyncMFADevice), and that step is later
//! than the last accepted one: each code is good once, and never one older than a code already
//! used.
//!
//! Failures slow an attacker down to nothing: after [`FAILURES_BEFORE_LOCKOUT`] consecutive
//! rejected codes the device refuses every code, right or wrong, for a lockout window of
//! 60 seconds, doubled with each further failure (2, 4, 8 ... minutes) up to one hour. While
//! locked, attempts are refused without being counted. An accepted code clears the count. A
//! guess at the 10^6 codes of a step thus gets about 5 tries in the first minute and then
//! fewer than one per lockout window. A code for a device that is not the caller's (or does
//! not exist) is refused without touching that device, so nobody can lock someone else out.
//! EnableMFADevice and ResyncMFADevice count their failures into the same state and answer
//! `LimitExceeded` while the device is locked.
//!
//! The check state (last accepted step, failures, lockout, drift) is written with
//! `put_surviving_rollback`: a refused call is an error, its transaction rolls back, and the
//! failure (or the code just used) must still be remembered.

use moat_store::{Reader, Writer};
use moat_types::{iam_arn, iam_path_arn, AccountId, PrincipalKind};
use time::OffsetDateTime;
use totp_rs::{Algorithm, Secret, TOTP};
use zeroize::Zeroizing;

use crate::common::{
    merge_tags, paginate, paginate_vec, path_or_default, remove_tags, tags_from, timestamp, to_ms,
    wire_tags, wire_tags_opt, Call,
};
use crate::records::{
    mfa_seed_purpose, name_key, AccountRecord, MfaCodeStateRecord, MfaDeviceRecord, MfaOwner,
    OwnerMfaDeviceRecord,
};
use crate::{
    users, CreateVirtualMFADeviceRequest, CreateVirtualMFADeviceResponse,
    DeactivateMFADeviceRequest, DeleteVirtualMFADeviceRequest, EnableMFADeviceRequest,
    GetMFADeviceRequest, GetMFADeviceResponse, IamError, ListMFADeviceTagsRequest,
    ListMFADeviceTagsResponse, ListMFADevicesRequest, ListMFADevicesResponse,
    ListVirtualMFADevicesRequest, ListVirtualMFADevicesResponse, MFADevice, ResyncMFADeviceRequest,
    TagMFADeviceRequest, UntagMFADeviceRequest, User, VirtualMFADevice,
};

/// IAM's quota of MFA devices enabled per user (the root user included).
pub const MAX_DEVICES_PER_USER: usize = 8;
/// Consecutive rejected codes after which a device locks.
pub const FAILURES_BEFORE_LOCKOUT: u32 = 5;
const FIRST_LOCKOUT_SECONDS: i64 = 60;
const MAX_LOCKOUT_SECONDS: i64 = 3_600;
const STEP_SECONDS: i64 = 30;
const DIGITS: usize = 6;
/// AWS's virtual devices have 64 base32 characters of seed: 40 bytes.
const SEED_BYTES: usize = 40;
/// How far (in steps, either way) ResyncMFADevice looks for the device's clock: 20 minutes.
const RESYNC_WINDOW_STEPS: i64 = 40;
/// The name IAM reports for devices of the account's root user.
const ROOT_USER_NAME: &str = "root";

/// Whose device a call is about.
fn resolve_owner(
    tx: &impl Reader,
    c: &Call<'_>,
    given: Option<&str>,
) -> Result<MfaOwner, IamError> {
    // Exhaustive on purpose: a new kind of principal must decide here whose devices a
    // name-less call means.
    let name = match (given, &c.principal.kind) {
        (Some(name), _) => name,
        (None, PrincipalKind::User { name, .. }) => name.as_str(),
        (None, PrincipalKind::Root) => return Ok(MfaOwner::Root),
        (None, PrincipalKind::AssumedRole { .. } | PrincipalKind::WebIdentity { .. }) => {
            return Err(crate::common::non_user_credentials())
        }
    };
    Ok(MfaOwner::User(users::require(tx, c.account, name)?.name))
}

fn wire_name(owner: &MfaOwner) -> String {
    match owner {
        MfaOwner::Root => ROOT_USER_NAME.to_owned(),
        MfaOwner::User(name) => name.clone(),
    }
}

/// The device key of a serial number in `account`, or `None` for anything that is not one of
/// its virtual devices' ARNs.
fn device_key(account: AccountId, serial_number: &str) -> Option<String> {
    let prefix = iam_arn(account, "mfa/");
    serial_number
        .strip_prefix(&prefix)
        .filter(|rest| !rest.is_empty())
        .map(name_key)
}

fn no_such_device(serial_number: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "VirtualMFADevice with serial number {serial_number} doesn't exist."
    ))
}

fn invalid_for_user() -> IamError {
    IamError::NoSuchEntity("MFA Device invalid for user.".to_owned())
}

fn invalid_code() -> IamError {
    IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".to_owned())
}

fn find_device(
    tx: &impl Reader,
    account: AccountId,
    serial_number: &str,
) -> Result<Option<(String, MfaDeviceRecord)>, IamError> {
    let Some(key) = device_key(account, serial_number) else {
        return Ok(None);
    };
    Ok(tx
        .get::<MfaDeviceRecord>(&account.to_string(), &key)?
        .map(|d| (key, d)))
}

fn require_device(
    tx: &impl Reader,
    account: AccountId,
    serial_number: &str,
) -> Result<(String, MfaDeviceRecord), IamError> {
    find_device(tx, account, serial_number)?.ok_or_else(|| no_such_device(serial_number))
}

fn owned_by(device: &MfaDeviceRecord, owner: &MfaOwner) -> bool {
    match (&device.owner, owner) {
        (Some(MfaOwner::Root), MfaOwner::Root) => true,
        (Some(MfaOwner::User(a)), MfaOwner::User(b)) => name_key(a) == name_key(b),
        _ => false,
    }
}

// ---- TOTP ----------------------------------------------------------------------------------

/// The time step of `now`.
fn step_of(now: OffsetDateTime) -> i64 {
    now.unix_timestamp().div_euclid(STEP_SECONDS)
}

/// The device's code generator; the seed is opened from its sealed form.
fn generator(root_key: &moat_store::RootKey, device: &MfaDeviceRecord) -> Result<TOTP, IamError> {
    let seed = root_key
        .open(
            &mfa_seed_purpose(&device.serial_number),
            &device.sealed_seed,
        )
        .map_err(|e| IamError::Store(e.into()))?;
    TOTP::new(
        Algorithm::SHA1,
        DIGITS,
        0,
        STEP_SECONDS as u64,
        seed.to_vec(),
    )
    .map_err(|e| IamError::Internal(format!("stored MFA seed is unusable: {e}")))
}

fn code_at(totp: &TOTP, step: i64) -> Option<String> {
    let seconds = u64::try_from(step.checked_mul(STEP_SECONDS)?).ok()?;
    Some(totp.generate(seconds))
}

/// Compares in time independent of where the strings differ.
fn same_code(expected: &str, given: &str) -> bool {
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn well_formed(code: &str) -> bool {
    code.len() == DIGITS && code.bytes().all(|b| b.is_ascii_digit())
}

/// The first step in `steps` after `last_step` whose code is `code`.
fn matching_step(
    totp: &TOTP,
    steps: impl Iterator<Item = i64>,
    last_step: Option<i64>,
    code: &str,
) -> Option<i64> {
    if !well_formed(code) {
        return None;
    }
    steps
        .filter(|s| last_step.is_none_or(|last| *s > last))
        .find(|s| code_at(totp, *s).is_some_and(|expected| same_code(&expected, code)))
}

/// The first step `s` in `steps` after `last_step` where `code1` is the code of `s` and `code2`
/// the code of `s + 1`.
fn consecutive_steps(
    totp: &TOTP,
    steps: impl Iterator<Item = i64>,
    last_step: Option<i64>,
    code1: &str,
    code2: &str,
) -> Option<i64> {
    if !well_formed(code1) || !well_formed(code2) {
        return None;
    }
    steps
        .filter(|s| last_step.is_none_or(|last| *s > last))
        .find(|s| {
            let first = code_at(totp, *s).is_some_and(|e| same_code(&e, code1));
            let second = code_at(totp, s.saturating_add(1)).is_some_and(|e| same_code(&e, code2));
            first && second
        })
}

fn load_state(tx: &impl Reader, account: &str, key: &str) -> Result<MfaCodeStateRecord, IamError> {
    Ok(tx
        .get::<MfaCodeStateRecord>(account, key)?
        .unwrap_or_default())
}

fn locked(state: &MfaCodeStateRecord, now: OffsetDateTime) -> bool {
    state.locked_until.is_some_and(|until| until > to_ms(now))
}

/// Counts a rejected code and locks the device once there are enough of them.
fn record_failure(state: &mut MfaCodeStateRecord, now: OffsetDateTime) {
    state.failures = state.failures.saturating_add(1);
    if state.failures >= FAILURES_BEFORE_LOCKOUT {
        let doublings = state.failures - FAILURES_BEFORE_LOCKOUT;
        let seconds = if doublings >= 6 {
            MAX_LOCKOUT_SECONDS
        } else {
            (FIRST_LOCKOUT_SECONDS << doublings).min(MAX_LOCKOUT_SECONDS)
        };
        state.locked_until = Some(to_ms(now).saturating_add(seconds.saturating_mul(1_000)));
    }
}

fn record_success(state: &mut MfaCodeStateRecord, step: i64) {
    state.failures = 0;
    state.locked_until = None;
    state.last_step = Some(step);
}

fn save_state(
    tx: &mut impl Writer,
    account: &str,
    key: &str,
    state: &MfaCodeStateRecord,
) -> Result<(), IamError> {
    Ok(tx.put_surviving_rollback(account, key, state)?)
}

/// Whether `code` is a valid, unused code of the device `serial_number`, enabled for `owner`
/// (a user name, `None` for the root user), at `now`. See the module documentation for the
/// rules, the lockout and what is remembered; the transaction need not commit for a failure
/// or a used code to be remembered.
pub fn check_code(
    tx: &mut impl Writer,
    account: AccountId,
    serial_number: &str,
    owner: Option<&str>,
    code: &str,
    now: OffsetDateTime,
) -> Result<bool, IamError> {
    let Some((key, device)) = find_device(tx, account, serial_number)? else {
        return Ok(false);
    };
    let owner = match owner {
        Some(name) => MfaOwner::User(name.to_owned()),
        None => MfaOwner::Root,
    };
    if !owned_by(&device, &owner) {
        return Ok(false);
    }
    let account_key = account.to_string();
    let mut state = load_state(tx, &account_key, &key)?;
    if locked(&state, now) {
        return Ok(false);
    }
    let totp = generator(tx.root_key(), &device)?;
    let current = step_of(now).saturating_add(state.drift);
    let steps = current.saturating_sub(1)..=current.saturating_add(1);
    let accepted = match matching_step(&totp, steps, state.last_step, code) {
        Some(step) => {
            record_success(&mut state, step);
            true
        }
        None => {
            record_failure(&mut state, now);
            false
        }
    };
    save_state(tx, &account_key, &key, &state)?;
    Ok(accepted)
}

// ---- the seed, its URI and QR code -----------------------------------------------------------

/// `otpauth://totp/NAME@ACCOUNT?secret=SEED`, as AWS documents the QR code's content.
fn otpauth_uri(device_name: &str, account: AccountId, base32_seed: &str) -> Zeroizing<String> {
    use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
    const LABEL: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'_')
        .remove(b'.')
        .remove(b'~')
        .remove(b'@');
    let label = utf8_percent_encode(&format!("{device_name}@{account}"), LABEL).to_string();
    Zeroizing::new(format!("otpauth://totp/{label}?secret={base32_seed}"))
}

/// Pixels per QR module and modules of quiet zone around the code.
const QR_SCALE: usize = 4;
const QR_QUIET: usize = 4;

/// A PNG (8-bit grayscale) of the QR code of `text`.
fn qr_png(text: &str) -> Result<Vec<u8>, IamError> {
    use qrcode::{Color, EcLevel, QrCode};
    let internal = |what: &str| IamError::Internal(format!("cannot draw the MFA QR code: {what}"));
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| internal(&e.to_string()))?;
    let width = code.width();
    let colors = code.to_colors();
    let modules = width + 2 * QR_QUIET;
    let size = modules * QR_SCALE;
    let dark = |x: usize, y: usize| -> bool {
        let (mx, my) = (x / QR_SCALE, y / QR_SCALE);
        if mx < QR_QUIET || my < QR_QUIET || mx >= QR_QUIET + width || my >= QR_QUIET + width {
            return false;
        }
        colors.get((my - QR_QUIET) * width + (mx - QR_QUIET)) == Some(&Color::Dark)
    };
    let pixels: Vec<u8> = (0..size)
        .flat_map(|y| (0..size).map(move |x| (x, y)))
        .map(|(x, y)| if dark(x, y) { 0 } else { 255 })
        .collect();
    let side = u32::try_from(size).map_err(|_| internal("too large"))?;
    let mut out = Vec::new();
    {
        let mut encoder = png::Encoder::new(&mut out, side, side);
        encoder.set_color(png::ColorType::Grayscale);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder
            .write_header()
            .map_err(|e| internal(&e.to_string()))?;
        writer
            .write_image_data(&pixels)
            .map_err(|e| internal(&e.to_string()))?;
        writer.finish().map_err(|e| internal(&e.to_string()))?;
    }
    Ok(out)
}

// ---- operations ------------------------------------------------------------------------------

pub fn create_virtual_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreateVirtualMFADeviceRequest,
) -> Result<CreateVirtualMFADeviceResponse, IamError> {
    use rand::RngCore as _;
    let account = c.account_key();
    let path = path_or_default(i.path.as_deref());
    let name = i.virtual_mfa_device_name;
    let serial_number = iam_path_arn(c.account, "mfa", &path, &name);
    let key = device_key(c.account, &serial_number)
        .ok_or_else(|| IamError::Internal("serial number of a new device".to_owned()))?;
    if tx.exists::<MfaDeviceRecord>(&account, &key)? {
        return Err(IamError::EntityAlreadyExists(
            "MFADevice entity at the same path and name already exists.".to_owned(),
        ));
    }
    let tags = tags_from(i.tags.as_ref())?;
    let mut seed = Zeroizing::new(vec![0u8; SEED_BYTES]);
    rand::rngs::OsRng.fill_bytes(&mut seed);
    let sealed_seed = c
        .root_key
        .seal(&mfa_seed_purpose(&serial_number), &seed)
        .map_err(|e| IamError::Store(e.into()))?;
    let base32 = match Secret::Raw(seed.to_vec()).to_encoded() {
        Secret::Encoded(ref text) => Zeroizing::new(text.clone()),
        Secret::Raw(_) => return Err(IamError::Internal("base32 of an MFA seed".to_owned())),
    };
    let png = qr_png(&otpauth_uri(&name, c.account, &base32))?;
    let record = MfaDeviceRecord {
        name,
        path,
        serial_number: serial_number.clone(),
        create_date: c.now_ms(),
        sealed_seed,
        tags,
        owner: None,
        enable_date: None,
    };
    tx.put(&account, &key, &record)?;
    // A name used again starts afresh: no failures or used codes of an earlier device.
    tx.delete::<MfaCodeStateRecord>(&account, &key)?;
    Ok(CreateVirtualMFADeviceResponse {
        virtual_mfa_device: VirtualMFADevice {
            serial_number,
            base32_string_seed: Some(moat_wire::Blob(base32.as_bytes().to_vec())),
            qr_code_png: Some(moat_wire::Blob(png)),
            tags: wire_tags_opt(&record.tags),
            ..VirtualMFADevice::default()
        },
    })
}

pub fn delete_virtual_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeleteVirtualMFADeviceRequest,
) -> Result<(), IamError> {
    let (key, device) = require_device(tx, c.account, &i.serial_number)?;
    if device.owner.is_some() {
        return Err(IamError::DeleteConflict(
            "MFA VirtualDevice in use. Must deactivate first.".to_owned(),
        ));
    }
    let account = c.account_key();
    tx.delete::<MfaDeviceRecord>(&account, &key)?;
    tx.delete::<MfaCodeStateRecord>(&account, &key)?;
    Ok(())
}

/// The `User` element of a listed device: the IAM user, or the root user as GetUser shows it.
fn wire_owner(tx: &impl Reader, c: &Call<'_>, owner: &MfaOwner) -> Result<Option<User>, IamError> {
    Ok(match owner {
        MfaOwner::User(name) => {
            users::find(tx, c.account, name)?.map(|u| users::wire_user(&u, false))
        }
        MfaOwner::Root => {
            let created = tx
                .get::<AccountRecord>(moat_store::GLOBAL, &c.account_key())?
                .map_or(0, |a| a.create_date);
            Some(User {
                user_id: c.account_key(),
                arn: iam_arn(c.account, "root"),
                path: "/".to_owned(),
                create_date: timestamp(created),
                ..User::default()
            })
        }
    })
}

pub fn list_virtual_mfa_devices(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListVirtualMFADevicesRequest,
) -> Result<ListVirtualMFADevicesResponse, IamError> {
    let status = i.assignment_status.as_deref().unwrap_or("Any");
    let page = paginate::<MfaDeviceRecord>(
        tx,
        &c.account_key(),
        "",
        i.marker.as_deref(),
        i.max_items,
        &mut |_, d| match status {
            "Assigned" => d.owner.is_some(),
            "Unassigned" => d.owner.is_none(),
            _ => true,
        },
    )?;
    let mut virtual_mfa_devices = Vec::with_capacity(page.items.len());
    for d in &page.items {
        let user = match &d.owner {
            Some(owner) => wire_owner(tx, c, owner)?,
            None => None,
        };
        virtual_mfa_devices.push(VirtualMFADevice {
            serial_number: d.serial_number.clone(),
            enable_date: d.enable_date.map(timestamp),
            user,
            tags: wire_tags_opt(&d.tags),
            ..VirtualMFADevice::default()
        });
    }
    Ok(ListVirtualMFADevicesResponse {
        virtual_mfa_devices,
        is_truncated: Some(page.is_truncated),
        marker: page.marker,
    })
}

/// The devices enabled for `owner`, in key order.
fn owner_devices(
    tx: &impl Reader,
    account: &str,
    owner: &MfaOwner,
) -> Result<Vec<MfaDeviceRecord>, IamError> {
    let mut out = Vec::new();
    for (key, _) in tx.all::<OwnerMfaDeviceRecord>(account, &format!("{}/", owner.key()))? {
        let device_key = key.split_once('/').map(|(_, d)| d).unwrap_or_default();
        if let Some(d) = tx.get::<MfaDeviceRecord>(account, device_key)? {
            out.push(d);
        }
    }
    Ok(out)
}

/// How many devices are enabled for `owner`.
pub fn enabled_count(
    tx: &impl Reader,
    account: AccountId,
    owner: &MfaOwner,
) -> Result<u64, IamError> {
    Ok(tx.count(
        <OwnerMfaDeviceRecord as moat_store::Record>::KIND,
        &account.to_string(),
        &format!("{}/", owner.key()),
    )?)
}

/// Refuses a code check on a locked device.
fn refuse_if_locked(
    state: &MfaCodeStateRecord,
    serial_number: &str,
    now: OffsetDateTime,
) -> Result<(), IamError> {
    if locked(state, now) {
        return Err(IamError::LimitExceeded(format!(
            "MFA device {serial_number} is locked after too many invalid authentication codes; \
             try again later."
        )));
    }
    Ok(())
}

pub fn enable_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: EnableMFADeviceRequest,
) -> Result<(), IamError> {
    let owner = resolve_owner(tx, c, i.user_name.as_deref())?;
    let (key, mut device) = require_device(tx, c.account, &i.serial_number)?;
    if device.owner.is_some() {
        return Err(IamError::EntityAlreadyExists(
            "MFA Device is already in use.".to_owned(),
        ));
    }
    if enabled_count(tx, c.account, &owner)? >= MAX_DEVICES_PER_USER as u64 {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for MFADevicesPerUser: {MAX_DEVICES_PER_USER}"
        )));
    }
    let account = c.account_key();
    let mut state = load_state(tx, &account, &key)?;
    refuse_if_locked(&state, &device.serial_number, c.now)?;
    let totp = generator(c.root_key, &device)?;
    // The second code is the current one, or one step either side of it.
    let current = step_of(c.now);
    let steps = current.saturating_sub(2)..=current;
    let Some(step) = consecutive_steps(
        &totp,
        steps,
        state.last_step,
        &i.authentication_code1,
        &i.authentication_code2,
    ) else {
        record_failure(&mut state, c.now);
        save_state(tx, &account, &key, &state)?;
        return Err(invalid_code());
    };
    record_success(&mut state, step.saturating_add(1));
    state.drift = 0;
    save_state(tx, &account, &key, &state)?;
    device.owner = Some(owner.clone());
    device.enable_date = Some(c.now_ms());
    tx.put(&account, &key, &device)?;
    tx.put(
        &account,
        &format!("{}/{key}", owner.key()),
        &OwnerMfaDeviceRecord {
            serial_number: device.serial_number,
        },
    )?;
    Ok(())
}

pub fn resync_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: ResyncMFADeviceRequest,
) -> Result<(), IamError> {
    let owner = resolve_owner(tx, c, i.user_name.as_deref())?;
    let (key, device) = require_device(tx, c.account, &i.serial_number)?;
    if !owned_by(&device, &owner) {
        return Err(invalid_for_user());
    }
    let account = c.account_key();
    let mut state = load_state(tx, &account, &key)?;
    refuse_if_locked(&state, &device.serial_number, c.now)?;
    let totp = generator(c.root_key, &device)?;
    let current = step_of(c.now);
    let steps =
        current.saturating_sub(RESYNC_WINDOW_STEPS)..=current.saturating_add(RESYNC_WINDOW_STEPS);
    let Some(step) = consecutive_steps(
        &totp,
        steps,
        state.last_step,
        &i.authentication_code1,
        &i.authentication_code2,
    ) else {
        record_failure(&mut state, c.now);
        save_state(tx, &account, &key, &state)?;
        return Err(invalid_code());
    };
    let second = step.saturating_add(1);
    record_success(&mut state, second);
    state.drift = second.saturating_sub(current);
    save_state(tx, &account, &key, &state)?;
    Ok(())
}

pub fn deactivate_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeactivateMFADeviceRequest,
) -> Result<(), IamError> {
    let owner = resolve_owner(tx, c, i.user_name.as_deref())?;
    let (key, mut device) = require_device(tx, c.account, &i.serial_number)?;
    if !owned_by(&device, &owner) {
        return Err(invalid_for_user());
    }
    let account = c.account_key();
    device.owner = None;
    device.enable_date = None;
    tx.put(&account, &key, &device)?;
    tx.delete::<OwnerMfaDeviceRecord>(&account, &format!("{}/{key}", owner.key()))?;
    // Failures, lockout and the last used code stay with the device; drift is the user's.
    let mut state = load_state(tx, &account, &key)?;
    if state.drift != 0 {
        state.drift = 0;
        save_state(tx, &account, &key, &state)?;
    }
    Ok(())
}

pub fn list_mfa_devices(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListMFADevicesRequest,
) -> Result<ListMFADevicesResponse, IamError> {
    let owner = resolve_owner(tx, c, i.user_name.as_deref())?;
    let devices: Vec<MFADevice> = owner_devices(tx, &c.account_key(), &owner)?
        .into_iter()
        .map(|d| MFADevice {
            user_name: wire_name(&owner),
            serial_number: d.serial_number,
            enable_date: timestamp(d.enable_date.unwrap_or(d.create_date)),
        })
        .collect();
    // At most MAX_DEVICES_PER_USER devices: an in-memory page is enough.
    let (mfa_devices, is_truncated, marker) =
        paginate_vec(devices, i.marker.as_deref(), i.max_items)?;
    Ok(ListMFADevicesResponse {
        mfa_devices,
        is_truncated: Some(is_truncated),
        marker,
    })
}

pub fn get_mfa_device(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetMFADeviceRequest,
) -> Result<GetMFADeviceResponse, IamError> {
    let owner = resolve_owner(tx, c, i.user_name.as_deref())?;
    let (_, device) = require_device(tx, c.account, &i.serial_number)?;
    if !owned_by(&device, &owner) {
        return Err(invalid_for_user());
    }
    Ok(GetMFADeviceResponse {
        serial_number: device.serial_number,
        user_name: Some(wire_name(&owner)),
        enable_date: device.enable_date.map(timestamp),
        certifications: None,
    })
}

pub fn tag_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: TagMFADeviceRequest,
) -> Result<(), IamError> {
    let (key, mut device) = require_device(tx, c.account, &i.serial_number)?;
    merge_tags(&mut device.tags, &i.tags)?;
    tx.put(&c.account_key(), &key, &device)?;
    Ok(())
}

pub fn untag_mfa_device(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UntagMFADeviceRequest,
) -> Result<(), IamError> {
    let (key, mut device) = require_device(tx, c.account, &i.serial_number)?;
    remove_tags(&mut device.tags, &i.tag_keys);
    tx.put(&c.account_key(), &key, &device)?;
    Ok(())
}

pub fn list_mfa_device_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListMFADeviceTagsRequest,
) -> Result<ListMFADeviceTagsResponse, IamError> {
    let (_, device) = require_device(tx, c.account, &i.serial_number)?;
    let (tags, is_truncated, marker) =
        paginate_vec(wire_tags(&device.tags), i.marker.as_deref(), i.max_items)?;
    Ok(ListMFADeviceTagsResponse {
        tags,
        is_truncated: Some(is_truncated),
        marker,
    })
}

/// Whether a user has a device enabled (DeleteUser refuses then).
pub fn user_has_devices(
    tx: &impl Reader,
    account: AccountId,
    user: &str,
) -> Result<bool, IamError> {
    Ok(enabled_count(tx, account, &MfaOwner::User(user.to_owned()))? > 0)
}

/// Moves a renamed user's devices to the new name, in the rename's transaction.
pub fn rename_owner(
    tx: &mut impl Writer,
    account: AccountId,
    old: &str,
    new: &str,
) -> Result<(), IamError> {
    let account_key = account.to_string();
    let (old_owner, new_owner) = (
        MfaOwner::User(old.to_owned()),
        MfaOwner::User(new.to_owned()),
    );
    for (key, index) in
        tx.all::<OwnerMfaDeviceRecord>(&account_key, &format!("{}/", old_owner.key()))?
    {
        let device_key = key
            .split_once('/')
            .map(|(_, d)| d.to_owned())
            .unwrap_or_default();
        tx.delete::<OwnerMfaDeviceRecord>(&account_key, &key)?;
        tx.put(
            &account_key,
            &format!("{}/{device_key}", new_owner.key()),
            &index,
        )?;
        if let Some(mut device) = tx.get::<MfaDeviceRecord>(&account_key, &device_key)? {
            device.owner = Some(new_owner.clone());
            tx.put(&account_key, &device_key, &device)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::MfaCodeStateRecord;
    use crate::testing::{Env, ACCOUNT};
    use base64::Engine as _;
    use serde_json::json;
    use time::Duration;

    /// The seed and serial of a new device, from the response as a client decodes it.
    fn create(env: &Env, name: &str) -> (String, Vec<u8>, serde_json::Value) {
        let out = env.ok(
            "CreateVirtualMFADevice",
            json!({"VirtualMFADeviceName": name}),
        );
        let d = &out["VirtualMFADevice"];
        let b64 = base64::engine::general_purpose::STANDARD;
        let base32 = b64.decode(d["Base32StringSeed"].as_str().unwrap()).unwrap();
        let seed = match Secret::Encoded(String::from_utf8(base32).unwrap()).to_bytes() {
            Ok(s) => s,
            Err(e) => panic!("{e:?}"),
        };
        (
            d["SerialNumber"].as_str().unwrap().to_owned(),
            seed,
            d.clone(),
        )
    }

    fn code(seed: &[u8], at: OffsetDateTime) -> String {
        let totp = TOTP::new(Algorithm::SHA1, 6, 0, 30, seed.to_vec()).unwrap();
        totp.generate(u64::try_from(at.unix_timestamp()).unwrap())
    }

    fn step(n: i64) -> Duration {
        Duration::seconds(30 * n)
    }

    fn enable(env: &Env, user: Option<&str>, serial: &str, seed: &[u8]) {
        let mut input = json!({"SerialNumber": serial,
            "AuthenticationCode1": code(seed, env.now - step(1)),
            "AuthenticationCode2": code(seed, env.now)});
        if let Some(u) = user {
            input["UserName"] = json!(u);
        }
        env.ok("EnableMFADevice", input);
    }

    fn check(
        env: &Env,
        serial: &str,
        owner: Option<&str>,
        code: &str,
        now: OffsetDateTime,
    ) -> bool {
        env.iam
            .store()
            .write(|tx| check_code(tx, env.root.account, serial, owner, code, now))
            .unwrap()
    }

    #[test]
    fn create_returns_a_seed_and_a_real_qr_png_and_seals_the_seed() {
        let env = Env::new();
        let (serial, seed, d) = create(&env, "alice-phone");
        assert_eq!(serial, format!("arn:aws:iam::{ACCOUNT}:mfa/alice-phone"));
        assert_eq!(seed.len(), SEED_BYTES);
        let b64 = base64::engine::general_purpose::STANDARD;
        let base32 =
            String::from_utf8(b64.decode(d["Base32StringSeed"].as_str().unwrap()).unwrap())
                .unwrap();
        assert_eq!(base32.len(), 64);
        let png_bytes = b64.decode(d["QRCodePNG"].as_str().unwrap()).unwrap();
        assert_eq!(&png_bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png_bytes));
        let reader = decoder.read_info().unwrap();
        let info = reader.info();
        assert_eq!(info.width, info.height);
        assert!(info.width >= 100);
        assert!(d.get("User").is_none() && d.get("EnableDate").is_none());

        // Stored sealed: neither the seed nor its base32 appear in the record.
        let stored = env
            .iam
            .store()
            .read(|tx| tx.get::<MfaDeviceRecord>(ACCOUNT, "alice-phone"))
            .unwrap()
            .unwrap();
        let record_json = serde_json::to_string(&stored).unwrap();
        assert!(!record_json.contains(&base32));
        assert!(!stored
            .sealed_seed
            .windows(seed.len())
            .any(|w| w == seed.as_slice()));
        let opened = env
            .iam
            .store()
            .root_key()
            .open(&mfa_seed_purpose(&serial), &stored.sealed_seed)
            .unwrap();
        assert_eq!(opened.as_slice(), seed.as_slice());

        // The response's Debug never shows the seed or the PNG.
        let r = env
            .call(
                "CreateVirtualMFADevice",
                json!({"VirtualMFADeviceName": "other", "Path": "/eng/"}),
            )
            .unwrap();
        let text = format!("{r:?}");
        let v = r.to_value().unwrap().unwrap();
        assert_eq!(
            v["VirtualMFADevice"]["SerialNumber"],
            format!("arn:aws:iam::{ACCOUNT}:mfa/eng/other")
        );
        let other_seed = String::from_utf8(
            b64.decode(v["VirtualMFADevice"]["Base32StringSeed"].as_str().unwrap())
                .unwrap(),
        )
        .unwrap();
        assert!(!text.contains(&other_seed), "{text}");
    }

    #[test]
    fn the_uri_is_awss_and_the_qr_code_holds_it() {
        let account: AccountId = ACCOUNT.parse().unwrap();
        let uri = otpauth_uri("alice+phone", account, "ABCDEFGH");
        assert_eq!(
            uri.as_str(),
            "otpauth://totp/alice%2Bphone@123456789012?secret=ABCDEFGH"
        );
        let expected =
            qrcode::QrCode::with_error_correction_level(uri.as_bytes(), qrcode::EcLevel::M)
                .unwrap();
        let png_bytes = qr_png(&uri).unwrap();
        let mut reader = png::Decoder::new(std::io::Cursor::new(&png_bytes))
            .read_info()
            .unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let frame = reader.next_frame(&mut buf).unwrap();
        let side = frame.width as usize;
        let width = expected.width();
        assert_eq!(side, (width + 2 * QR_QUIET) * QR_SCALE);
        // Sample every module's centre: the picture is the code's matrix.
        let colors = expected.to_colors();
        for my in 0..width {
            for mx in 0..width {
                let px = (mx + QR_QUIET) * QR_SCALE + QR_SCALE / 2;
                let py = (my + QR_QUIET) * QR_SCALE + QR_SCALE / 2;
                let dark = buf[py * side + px] == 0;
                assert_eq!(dark, colors[my * width + mx] == qrcode::Color::Dark);
            }
        }
    }

    #[test]
    fn names_are_unique_per_path_and_name_and_deletion_needs_deactivation() {
        let env = Env::new();
        let (serial, seed, _) = create(&env, "dev");
        let (code_, msg) = env.err(
            "CreateVirtualMFADevice",
            json!({"VirtualMFADeviceName": "DEV"}),
        );
        assert_eq!(code_, "EntityAlreadyExists");
        assert_eq!(
            msg,
            "MFADevice entity at the same path and name already exists."
        );
        env.ok(
            "CreateVirtualMFADevice",
            json!({"VirtualMFADeviceName": "dev", "Path": "/other/"}),
        );

        env.ok("CreateUser", json!({"UserName": "alice"}));
        enable(&env, Some("alice"), &serial, &seed);
        let (code_, msg) = env.err("DeleteVirtualMFADevice", json!({"SerialNumber": serial}));
        assert_eq!(code_, "DeleteConflict");
        assert_eq!(msg, "MFA VirtualDevice in use. Must deactivate first.");
        let (code_, msg) = env.err("DeleteUser", json!({"UserName": "alice"}));
        assert_eq!(code_, "DeleteConflict");
        assert_eq!(msg, "Cannot delete entity, must delete MFA device first.");
        env.ok(
            "DeactivateMFADevice",
            json!({"UserName": "alice", "SerialNumber": serial}),
        );
        env.ok("DeleteVirtualMFADevice", json!({"SerialNumber": serial}));
        let (code_, msg) = env.err("DeleteVirtualMFADevice", json!({"SerialNumber": serial}));
        assert_eq!(code_, "NoSuchEntity");
        assert_eq!(
            msg,
            format!("VirtualMFADevice with serial number {serial} doesn't exist.")
        );
        // Another account's serial is nobody's here.
        let foreign = "arn:aws:iam::210987654321:mfa/dev";
        assert_eq!(
            env.err("DeleteVirtualMFADevice", json!({"SerialNumber": foreign}))
                .0,
            "NoSuchEntity"
        );
        env.ok("DeleteUser", json!({"UserName": "alice"}));
    }

    #[test]
    fn enable_needs_two_consecutive_current_codes() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "bob"}));
        let (serial, seed, _) = create(&env, "bob");
        let now = env.now;
        let bad = |c1: String, c2: String| {
            let (code_, msg) = env.err(
                "EnableMFADevice",
                json!({"UserName": "bob", "SerialNumber": serial,
                    "AuthenticationCode1": c1, "AuthenticationCode2": c2}),
            );
            assert_eq!(code_, "InvalidAuthenticationCode");
            assert_eq!(msg, "Authentication code for device is not valid.");
        };
        // Same code twice, reversed, not consecutive, too old.
        bad(code(&seed, now), code(&seed, now));
        bad(code(&seed, now), code(&seed, now - step(1)));
        bad(code(&seed, now - step(2)), code(&seed, now));
        bad(code(&seed, now - step(5)), code(&seed, now - step(4)));
        // Four failures so far: the device is not locked yet, and the right codes work.
        enable(&env, Some("bob"), &serial, &seed);
        let (code_, msg) = env.err(
            "EnableMFADevice",
            json!({"UserName": "bob", "SerialNumber": serial,
                "AuthenticationCode1": code(&seed, now - step(1)), "AuthenticationCode2": code(&seed, now)}),
        );
        assert_eq!(
            (code_.as_str(), msg.as_str()),
            ("EntityAlreadyExists", "MFA Device is already in use.")
        );

        let listed = env.ok("ListMFADevices", json!({"UserName": "bob"}));
        assert_eq!(listed["MFADevices"][0]["SerialNumber"], serial.as_str());
        assert_eq!(listed["MFADevices"][0]["UserName"], "bob");
        let got = env.ok(
            "GetMFADevice",
            json!({"UserName": "bob", "SerialNumber": serial}),
        );
        assert_eq!(got["UserName"], "bob");
        assert!(got.get("EnableDate").is_some());
        let virt = env.ok(
            "ListVirtualMFADevices",
            json!({"AssignmentStatus": "Assigned"}),
        );
        assert_eq!(virt["VirtualMFADevices"][0]["User"]["UserName"], "bob");
        assert!(virt["VirtualMFADevices"][0]
            .get("Base32StringSeed")
            .is_none());
        let unassigned = env.ok(
            "ListVirtualMFADevices",
            json!({"AssignmentStatus": "Unassigned"}),
        );
        assert_eq!(unassigned["VirtualMFADevices"], json!([]));

        // Unknown user, unknown device.
        assert_eq!(
            env.err(
                "EnableMFADevice",
                json!({"UserName": "ghost", "SerialNumber": serial,
                "AuthenticationCode1": "123456", "AuthenticationCode2": "123456"})
            )
            .0,
            "NoSuchEntity"
        );
        let (code_, msg) = env.err(
            "EnableMFADevice",
            json!({"UserName": "bob",
            "SerialNumber": format!("arn:aws:iam::{ACCOUNT}:mfa/nope"),
            "AuthenticationCode1": "123456", "AuthenticationCode2": "123456"}),
        );
        assert_eq!(code_, "NoSuchEntity");
        assert_eq!(msg, format!("VirtualMFADevice with serial number arn:aws:iam::{ACCOUNT}:mfa/nope doesn't exist."));
    }

    #[test]
    fn check_code_accepts_each_code_once_within_one_step() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "carol"}));
        let (serial, seed, _) = create(&env, "carol");
        // Unassigned: refused.
        assert!(!check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, env.now + step(1)),
            env.now
        ));
        enable(&env, Some("carol"), &serial, &seed);
        // The enabling codes are used up.
        assert!(!check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, env.now),
            env.now
        ));
        let later = env.now + step(10);
        assert!(check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, later),
            later
        ));
        assert!(
            !check(&env, &serial, Some("carol"), &code(&seed, later), later),
            "replay"
        );
        // One step ahead is fine, then an older one is not.
        assert!(check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, later + step(1)),
            later
        ));
        assert!(!check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, later),
            later + step(1)
        ));
        let much_later = later + step(20);
        assert!(!check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, much_later + step(2)),
            much_later
        ));
        assert!(check(
            &env,
            &serial,
            Some("carol"),
            &code(&seed, much_later - step(1)),
            much_later
        ));
        // Someone else's device, the root, an unknown serial, garbage.
        env.ok("CreateUser", json!({"UserName": "mallory"}));
        let t = much_later + step(5);
        assert!(!check(&env, &serial, Some("mallory"), &code(&seed, t), t));
        assert!(!check(&env, &serial, None, &code(&seed, t), t));
        assert!(!check(
            &env,
            "arn:aws:iam::123456789012:mfa/none",
            Some("carol"),
            "000000",
            t
        ));
        assert!(!check(&env, &serial, Some("carol"), "12345x", t));
        // Those that were not carol's device did not count against it.
        let state: MfaCodeStateRecord = env
            .iam
            .store()
            .read(|tx| tx.get(ACCOUNT, "carol"))
            .unwrap()
            .unwrap();
        assert_eq!(state.failures, 1);
        assert!(check(&env, &serial, Some("CAROL"), &code(&seed, t), t));
    }

    #[test]
    fn repeated_failures_lock_the_device_for_a_growing_window() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "dave"}));
        let (serial, seed, _) = create(&env, "dave");
        enable(&env, Some("dave"), &serial, &seed);
        let mut t = env.now + step(10);
        let wrong = |at: OffsetDateTime| {
            let right = code(&seed, at);
            let n: u32 = right.parse().unwrap();
            format!("{:06}", (n + 1) % 1_000_000)
        };
        for _ in 0..FAILURES_BEFORE_LOCKOUT {
            assert!(!check(&env, &serial, Some("dave"), &wrong(t), t));
        }
        // Locked: even the right code is refused, for 60 seconds.
        assert!(!check(&env, &serial, Some("dave"), &code(&seed, t), t));
        t += Duration::seconds(59);
        assert!(!check(&env, &serial, Some("dave"), &code(&seed, t), t));
        t += Duration::seconds(2);
        // Unlocked; one more failure locks again, for twice as long.
        assert!(!check(&env, &serial, Some("dave"), &wrong(t), t));
        t += Duration::seconds(61);
        assert!(!check(&env, &serial, Some("dave"), &code(&seed, t), t));
        t += Duration::seconds(60);
        assert!(check(&env, &serial, Some("dave"), &code(&seed, t), t));
        // A success clears the count.
        let state: MfaCodeStateRecord = env
            .iam
            .store()
            .read(|tx| tx.get(ACCOUNT, "dave"))
            .unwrap()
            .unwrap();
        assert_eq!((state.failures, state.locked_until), (0, None));

        // The window grows to an hour and no further.
        let mut s = MfaCodeStateRecord::default();
        for _ in 0..40 {
            record_failure(&mut s, t);
        }
        assert_eq!(s.locked_until, Some(to_ms(t) + 3_600_000));
    }

    #[test]
    fn failures_survive_a_refused_call_and_lock_enable_and_resync() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "erin"}));
        let (serial, seed, _) = create(&env, "erin");
        enable(&env, Some("erin"), &serial, &seed);
        let bad = json!({"UserName": "erin", "SerialNumber": serial,
            "AuthenticationCode1": "000000", "AuthenticationCode2": "000001"});
        for _ in 0..FAILURES_BEFORE_LOCKOUT {
            assert_eq!(
                env.err("ResyncMFADevice", bad.clone()).0,
                "InvalidAuthenticationCode"
            );
        }
        // The calls failed (and rolled back), yet their failures were kept: now it is locked.
        let later = env.now + step(3);
        let good = json!({"UserName": "erin", "SerialNumber": serial,
            "AuthenticationCode1": code(&seed, later - step(1)), "AuthenticationCode2": code(&seed, later)});
        let (code_, msg) = env.err("ResyncMFADevice", good);
        assert_eq!(code_, "LimitExceeded");
        assert!(msg.contains("locked"), "{msg}");
        assert!(!check(
            &env,
            &serial,
            Some("erin"),
            &code(&seed, env.now + step(1)),
            env.now
        ));
    }

    #[test]
    fn resync_learns_the_drift_of_the_device_clock() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "fay"}));
        let (serial, seed, _) = create(&env, "fay");
        enable(&env, Some("fay"), &serial, &seed);
        // The device runs 10 minutes fast: its codes are 20 steps ahead.
        let device = env.now + step(20);
        assert!(!check(
            &env,
            &serial,
            Some("fay"),
            &code(&seed, device),
            env.now
        ));
        env.ok("ResyncMFADevice", json!({"UserName": "fay", "SerialNumber": serial,
            "AuthenticationCode1": code(&seed, device - step(1)), "AuthenticationCode2": code(&seed, device)}));
        let (t, d) = (env.now + step(4), device + step(4));
        assert!(check(&env, &serial, Some("fay"), &code(&seed, d), t));
        // Not someone else's device.
        env.ok("CreateUser", json!({"UserName": "gus"}));
        let (code_, msg) = env.err(
            "ResyncMFADevice",
            json!({"UserName": "gus", "SerialNumber": serial,
            "AuthenticationCode1": "123456", "AuthenticationCode2": "123456"}),
        );
        assert_eq!(
            (code_.as_str(), msg.as_str()),
            ("NoSuchEntity", "MFA Device invalid for user.")
        );
    }

    #[test]
    fn root_enables_its_own_device_without_a_user_name() {
        let env = Env::new();
        let (serial, seed, _) = create(&env, "root-account-mfa-device");
        enable(&env, None, &serial, &seed);
        let listed = env.ok("ListMFADevices", json!({}));
        assert_eq!(listed["MFADevices"][0]["SerialNumber"], serial.as_str());
        assert_eq!(listed["MFADevices"][0]["UserName"], "root");
        let virt = env.ok("ListVirtualMFADevices", json!({}));
        assert_eq!(
            virt["VirtualMFADevices"][0]["User"]["Arn"],
            format!("arn:aws:iam::{ACCOUNT}:root")
        );
        let summary = env.ok("GetAccountSummary", json!({}));
        assert_eq!(summary["SummaryMap"]["AccountMFAEnabled"], 1);
        assert_eq!(summary["SummaryMap"]["MFADevices"], 1);
        assert_eq!(summary["SummaryMap"]["MFADevicesInUse"], 1);
        let t = env.now + step(2);
        assert!(check(&env, &serial, None, &code(&seed, t), t));
        env.ok("DeactivateMFADevice", json!({"SerialNumber": serial}));
        assert_eq!(env.ok("ListMFADevices", json!({}))["MFADevices"], json!([]));
        let summary = env.ok("GetAccountSummary", json!({}));
        assert_eq!(summary["SummaryMap"]["AccountMFAEnabled"], 0);
        assert_eq!(summary["SummaryMap"]["MFADevicesInUse"], 0);
    }

    #[test]
    fn a_user_may_enable_eight_devices() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "hal"}));
        for n in 0..MAX_DEVICES_PER_USER {
            let (serial, seed, _) = create(&env, &format!("hal{n}"));
            enable(&env, Some("hal"), &serial, &seed);
        }
        let (serial, seed, _) = create(&env, "hal-extra");
        let (code_, msg) = env.err("EnableMFADevice", json!({"UserName": "hal", "SerialNumber": serial,
            "AuthenticationCode1": code(&seed, env.now - step(1)), "AuthenticationCode2": code(&seed, env.now)}));
        assert_eq!(
            (code_.as_str(), msg.as_str()),
            (
                "LimitExceeded",
                "Cannot exceed quota for MFADevicesPerUser: 8"
            )
        );
        let page = env.ok("ListMFADevices", json!({"UserName": "hal", "MaxItems": 5}));
        assert_eq!(page["MFADevices"].as_array().unwrap().len(), 5);
        assert_eq!(page["IsTruncated"], json!(true));
        let page = env.ok("ListVirtualMFADevices", json!({"MaxItems": 4}));
        assert_eq!(page["VirtualMFADevices"].as_array().unwrap().len(), 4);
        assert_eq!(page["IsTruncated"], json!(true));
        let rest = env.ok("ListVirtualMFADevices", json!({"Marker": page["Marker"]}));
        assert_eq!(rest["VirtualMFADevices"].as_array().unwrap().len(), 5);
    }

    #[test]
    fn renaming_a_user_carries_their_devices_and_tags_work() {
        let env = Env::new();
        env.ok("CreateUser", json!({"UserName": "old"}));
        let (serial, seed, _) = create(&env, "old-phone");
        enable(&env, Some("old"), &serial, &seed);
        env.ok(
            "UpdateUser",
            json!({"UserName": "old", "NewUserName": "new"}),
        );
        let listed = env.ok("ListMFADevices", json!({"UserName": "new"}));
        assert_eq!(listed["MFADevices"][0]["UserName"], "new");
        let t = env.now + step(2);
        assert!(check(&env, &serial, Some("new"), &code(&seed, t), t));

        env.ok("TagMFADevice", json!({"SerialNumber": serial, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}));
        env.ok(
            "UntagMFADevice",
            json!({"SerialNumber": serial, "TagKeys": ["A"]}),
        );
        let tags = env.ok("ListMFADeviceTags", json!({"SerialNumber": serial}));
        assert_eq!(tags["Tags"], json!([{"Key": "b", "Value": "2"}]));
        let missing = format!("arn:aws:iam::{ACCOUNT}:mfa/missing");
        assert_eq!(
            env.err("ListMFADeviceTags", json!({"SerialNumber": missing}))
                .0,
            "NoSuchEntity"
        );
        assert_eq!(
            env.err(
                "GetMFADevice",
                json!({"UserName": "new", "SerialNumber": missing})
            )
            .0,
            "NoSuchEntity"
        );
    }
}
