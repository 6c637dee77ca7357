//! What IAM keeps in the store. Names are unique per account case-insensitively, so records are
//! keyed by the lower-cased name and keep the name as given.

use moat_store::Record;
use serde::{Deserialize, Serialize};

/// A tag as stored; order is preserved as the client gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagRecord {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: i64,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub password_last_used: Option<i64>,
}
impl Record for UserRecord {
    const KIND: &'static str = "iam.user";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: i64,
}
impl Record for GroupRecord {
    const KIND: &'static str = "iam.group";
}

/// Group -> user; keyed `group_lc/user_lc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupMemberRecord {
    pub user_name: String,
}
impl Record for GroupMemberRecord {
    const KIND: &'static str = "iam.group_member";
}

/// User -> group; keyed `user_lc/group_lc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserGroupRecord {
    pub group_name: String,
}
impl Record for UserGroupRecord {
    const KIND: &'static str = "iam.user_group";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    pub create_date: i64,
    /// As submitted (not URL-encoded).
    pub assume_role_policy_document: String,
    #[serde(default)]
    pub description: Option<String>,
    pub max_session_duration: i32,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub last_used: Option<RoleLastUsedRecord>,
}
impl Record for RoleRecord {
    const KIND: &'static str = "iam.role";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RoleLastUsedRecord {
    pub date: i64,
    pub region: String,
}

/// An access key, stored under the global account keyed by its id so that authentication can
/// find it without knowing the account. The secret is sealed under the root key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKeyRecord {
    pub access_key_id: String,
    pub account: String,
    /// `None` for the account's root user.
    pub user_name: Option<String>,
    pub status: String,
    pub create_date: i64,
    pub sealed_secret: Vec<u8>,
    #[serde(default)]
    pub last_used: Option<AccessKeyLastUsedRecord>,
}
impl Record for AccessKeyRecord {
    const KIND: &'static str = "iam.access_key";
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessKeyLastUsedRecord {
    pub date: i64,
    pub service: String,
    pub region: String,
}

/// The per-user index of access keys: `user_lc/AKIA...` in the user's account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UserAccessKeyRecord {
    pub access_key_id: String,
}
impl Record for UserAccessKeyRecord {
    const KIND: &'static str = "iam.user_access_key";
}

/// The purpose bound to a sealed secret access key.
pub fn access_key_purpose(access_key_id: &str) -> String {
    format!("iam.access_key:{access_key_id}")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoginProfileRecord {
    /// Argon2id PHC string; never the password.
    pub password_hash: String,
    pub create_date: i64,
    pub password_reset_required: bool,
    #[serde(default)]
    pub password_set_date: Option<i64>,
    /// Hashes of earlier passwords, newest first, for PasswordReusePrevention.
    #[serde(default)]
    pub previous_hashes: Vec<String>,
}
impl Record for LoginProfileRecord {
    const KIND: &'static str = "iam.login_profile";
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PasswordPolicyRecord {
    pub minimum_password_length: i32,
    pub require_symbols: bool,
    pub require_numbers: bool,
    pub require_uppercase_characters: bool,
    pub require_lowercase_characters: bool,
    pub allow_users_to_change_password: bool,
    pub max_password_age: Option<i32>,
    pub password_reuse_prevention: Option<i32>,
    pub hard_expiry: Option<bool>,
}
impl Record for PasswordPolicyRecord {
    const KIND: &'static str = "iam.password_policy";
}

/// A customer managed policy; keyed by lower-cased name.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyRecord {
    pub name: String,
    pub id: String,
    pub path: String,
    pub arn: String,
    #[serde(default)]
    pub description: Option<String>,
    pub default_version_id: String,
    pub create_date: i64,
    pub update_date: i64,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    /// The number the next version gets (`v{n}`); versions are never renumbered.
    pub next_version: u32,
}
impl Record for PolicyRecord {
    const KIND: &'static str = "iam.policy";
}

/// A version of a customer managed policy; keyed `policy_lc/{n:010}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyVersionRecord {
    pub version_id: String,
    /// As submitted (not URL-encoded).
    pub document: String,
    pub create_date: i64,
}
impl Record for PolicyVersionRecord {
    const KIND: &'static str = "iam.policy_version";
}

/// Policy -> attached entity; keyed `policy_arn|kind|entity_lc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PolicyAttachmentRecord {
    pub entity_kind: EntityKind,
    pub entity_name: String,
    pub entity_id: String,
}
impl Record for PolicyAttachmentRecord {
    const KIND: &'static str = "iam.policy_attachment";
}

/// Entity -> attached managed policy; keyed `kind/entity_lc/policy_arn`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AttachedPolicyRecord {
    pub policy_name: String,
    pub policy_arn: String,
}
impl Record for AttachedPolicyRecord {
    const KIND: &'static str = "iam.attached_policy";
}

/// Records that a managed policy is some entity's permissions boundary; keyed
/// `policy_arn|kind|entity_lc`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BoundaryUsageRecord {
    pub entity_kind: EntityKind,
    pub entity_name: String,
}
impl Record for BoundaryUsageRecord {
    const KIND: &'static str = "iam.boundary_usage";
}

/// An inline policy; keyed `kind/entity_lc/policy_name`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InlinePolicyRecord {
    pub policy_name: String,
    /// As submitted (not URL-encoded).
    pub document: String,
}
impl Record for InlinePolicyRecord {
    const KIND: &'static str = "iam.inline_policy";
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum EntityKind {
    User,
    Group,
    Role,
}

impl EntityKind {
    pub fn key(self) -> &'static str {
        match self {
            EntityKind::User => "user",
            EntityKind::Group => "group",
            EntityKind::Role => "role",
        }
    }
}

/// The account's alias (at most one); keyed "".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountAliasRecord {
    pub alias: String,
}
impl Record for AccountAliasRecord {
    const KIND: &'static str = "iam.account_alias";
}

/// Aliases are unique across all accounts; keyed by alias in the global account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AliasOwnerRecord {
    pub account: String,
}
impl Record for AliasOwnerRecord {
    const KIND: &'static str = "iam.alias_owner";
}

/// An account known to this node; keyed by account id in the global account.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccountRecord {
    pub account_id: String,
    pub create_date: i64,
}
impl Record for AccountRecord {
    const KIND: &'static str = "account";
}

/// Lower-cased key for case-insensitive uniqueness.
pub fn name_key(name: &str) -> String {
    name.to_lowercase()
}

/// A virtual MFA device; keyed by the lower-cased path (without its leading `/`) and name, the
/// part of its serial number after `mfa/`. The TOTP seed is sealed under the root key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MfaDeviceRecord {
    pub name: String,
    pub path: String,
    /// `arn:aws:iam::ACCOUNT:mfa/PATH/NAME`, as created.
    pub serial_number: String,
    pub create_date: i64,
    /// The raw seed, sealed with `mfa_seed_purpose(serial_number)`.
    pub sealed_seed: Vec<u8>,
    #[serde(default)]
    pub tags: Vec<TagRecord>,
    /// Who the device is enabled for; `None` while unassigned.
    #[serde(default)]
    pub owner: Option<MfaOwner>,
    #[serde(default)]
    pub enable_date: Option<i64>,
}
impl Record for MfaDeviceRecord {
    const KIND: &'static str = "iam.mfa_device";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MfaOwner {
    /// The account's root user.
    Root,
    /// An IAM user, by name as stored.
    User(String),
}

impl MfaOwner {
    /// The owner's part of `OwnerMfaDeviceRecord` keys: the lower-cased user name, or `:root`
    /// (no user name contains `:`).
    pub fn key(&self) -> String {
        match self {
            MfaOwner::Root => ":root".to_owned(),
            MfaOwner::User(name) => name_key(name),
        }
    }
}

/// What checking a device's codes remembers, keyed like the device. Written so that it
/// survives the rollback of a refused call (`Writer::put_surviving_rollback`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MfaCodeStateRecord {
    /// The last time step whose code was accepted: no code of that step or before is taken.
    #[serde(default)]
    pub last_step: Option<i64>,
    /// Consecutive rejected codes.
    #[serde(default)]
    pub failures: u32,
    /// Until when (ms) the device refuses every code.
    #[serde(default)]
    pub locked_until: Option<i64>,
    /// Steps the device's clock runs ahead of ours, learned by ResyncMFADevice.
    #[serde(default)]
    pub drift: i64,
}
impl Record for MfaCodeStateRecord {
    const KIND: &'static str = "iam.mfa_code_state";
}

/// Owner -> enabled device; keyed `owner_key/device_key` (see `MfaOwner::key`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnerMfaDeviceRecord {
    pub serial_number: String,
}
impl Record for OwnerMfaDeviceRecord {
    const KIND: &'static str = "iam.owner_mfa_device";
}

/// The purpose bound to a sealed MFA seed.
pub fn mfa_seed_purpose(serial_number: &str) -> String {
    format!("iam.mfa_seed:{serial_number}")
}

/// The account's latest credential report; keyed "".
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CredentialReportRecord {
    pub generated: i64,
    /// The CSV, as GetCredentialReport returns it.
    pub content: String,
}
impl Record for CredentialReportRecord {
    const KIND: &'static str = "iam.credential_report";
}
