//! Grants: CreateGrant, ListGrants, RevokeGrant, RetireGrant, ListRetirableGrants, and the
//! grant that allows a call no policy allows.
//!
//! A grant is stored in its key's account under `{key_id}/{grant_id}`, so the grants of one
//! key are one prefix scan: the lookup every request on a key makes stays small. Moat's
//! grants take effect at once, so a grant token only has to be one Moat issued: it is the
//! grant's coordinates sealed under the root key, which also lets RetireGrant find the grant
//! from the token alone.

use std::collections::BTreeMap;

use base64::Engine as _;
use moat_store::{Reader, Record, Writer};
use moat_types::Principal;
use moat_wire::Timestamp;
use serde::{Deserialize, Serialize};

use crate::keys::{from_millis, KeyRecord, KeyState};
use crate::manage::{decode_marker, encode_marker, load, page_limit};
use crate::{Call, Keys, Kms, KmsError};

/// An encryption context or a constraint's pairs.
type Context = BTreeMap<String, String>;

/// A grant as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantRecord {
    /// 64 hex characters, as AWS's.
    pub grant_id: String,
    pub key_id: String,
    pub key_arn: String,
    #[serde(default)]
    pub name: Option<String>,
    pub grantee_principal: String,
    #[serde(default)]
    pub retiring_principal: Option<String>,
    pub operations: Vec<String>,
    #[serde(default)]
    pub equals: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub subset: Option<BTreeMap<String, String>>,
    /// The account id of the caller who created the grant.
    pub issuing_account: String,
    pub created_ms: i64,
    pub token: String,
}

impl Record for GrantRecord {
    const KIND: &'static str = "kms.grant";
}

/// AWS's `GrantOperation` values.
const OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "Sign",
    "Verify",
    "GetPublicKey",
    "CreateGrant",
    "RetireGrant",
    "DescribeKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateMac",
    "VerifyMac",
    "DeriveSharedSecret",
];

/// Operations a grant's encryption context constraints are checked on: those that take an
/// encryption context.
const CONTEXT_OPERATIONS: &[&str] = &[
    "Decrypt",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyWithoutPlaintext",
    "ReEncryptFrom",
    "ReEncryptTo",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
];

/// Operations every key's grants may include; constraints do not apply to them.
const MANAGEMENT_OPERATIONS: &[&str] = &["CreateGrant", "RetireGrant", "DescribeKey"];

const MAX_CONSTRAINT_PAIRS: usize = 8;
const MAX_CONSTRAINT_VALUE: usize = 384;
const MAX_GRANTS_PER_KEY: u64 = 50_000;
const MAX_TOKENS: usize = 10;
const TOKEN_PURPOSE: &str = "kms.grant-token";

/// The grant operations AWS allows on a key of this spec and usage, besides the management
/// ones.
fn key_operations(key: &KeyRecord) -> &'static [&'static str] {
    match key.key_usage.as_str() {
        "ENCRYPT_DECRYPT" if key.key_spec == "SYMMETRIC_DEFAULT" => CONTEXT_OPERATIONS,
        "ENCRYPT_DECRYPT" => &[
            "Decrypt",
            "Encrypt",
            "GetPublicKey",
            "ReEncryptFrom",
            "ReEncryptTo",
        ],
        "SIGN_VERIFY" => &["GetPublicKey", "Sign", "Verify"],
        "GENERATE_VERIFY_MAC" => &["GenerateMac", "VerifyMac"],
        "KEY_AGREEMENT" => &["DeriveSharedSecret", "GetPublicKey"],
        _ => &[],
    }
}

fn grant_key(key_id: &str, grant_id: &str) -> String {
    format!("{key_id}/{grant_id}")
}

fn key_prefix(key_id: &str) -> String {
    format!("{key_id}/")
}

/// The grant operation an action is granted by: `kms:ReEncryptFrom` by `ReEncryptFrom`.
fn operation_of(action: &str) -> &str {
    action.strip_prefix("kms:").unwrap_or(action)
}

/// Whether a grant's principal ARN names the caller: its own ARN (user, root, role session)
/// or, for a role session, the role's.
fn names(arn: &str, principal: &Principal) -> bool {
    arn == principal.arn || principal.role_arn().as_deref() == Some(arn)
}

/// An encryption context with its keys folded to lower case: constraint keys are compared
/// without case, values with it.
fn folded(context: &BTreeMap<String, String>) -> BTreeMap<String, &str> {
    context
        .iter()
        .map(|(k, v)| (k.to_lowercase(), v.as_str()))
        .collect()
}

fn includes(context: &BTreeMap<String, &str>, required: &BTreeMap<String, String>) -> bool {
    required
        .iter()
        .all(|(k, v)| context.get(&k.to_lowercase()) == Some(&v.as_str()))
}

impl GrantRecord {
    /// Whether a request's encryption context meets the grant's constraints.
    fn context_allowed(&self, context: Option<&BTreeMap<String, String>>) -> bool {
        let empty = BTreeMap::new();
        let context = folded(context.unwrap_or(&empty));
        if let Some(equals) = &self.equals {
            if context.len() != equals.len() || !includes(&context, equals) {
                return false;
            }
        }
        self.subset
            .as_ref()
            .is_none_or(|subset| includes(&context, subset))
    }

    /// Whether a grant made with `child`'s constraints is at least as strict as this one's:
    /// every context the child allows, this grant allows too.
    fn constraints_cover(
        &self,
        equals: Option<&BTreeMap<String, String>>,
        subset: Option<&BTreeMap<String, String>>,
    ) -> bool {
        if let Some(equals) = equals {
            // The child allows exactly one context (up to key case).
            return self.context_allowed(Some(equals));
        }
        if self.equals.is_some() {
            return false;
        }
        match (&self.subset, subset) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some(mine), Some(theirs)) => includes(&folded(theirs), mine),
        }
    }

    fn entry(&self) -> crate::GrantListEntry {
        let constraints =
            (self.equals.is_some() || self.subset.is_some()).then(|| crate::GrantConstraints {
                encryption_context_equals: self.equals.clone(),
                encryption_context_subset: self.subset.clone(),
            });
        crate::GrantListEntry {
            constraints,
            creation_date: Some(Timestamp(from_millis(self.created_ms))),
            grant_id: Some(self.grant_id.clone()),
            grantee_principal: Some(self.grantee_principal.clone()),
            issuing_account: Some(format!("arn:aws:iam::{}:root", self.issuing_account)),
            key_id: Some(self.key_arn.clone()),
            name: self.name.clone(),
            operations: Some(self.operations.clone()),
            retiring_principal: self.retiring_principal.clone(),
        }
    }
}

/// The condition keys of a CreateGrant request: the grant's operations, principals and
/// constraint types, and the encryption context of its constraints as
/// `kms:EncryptionContext:*` / `kms:EncryptionContextKeys`.
pub(crate) fn create_grant_keys(i: &crate::CreateGrantRequest) -> Keys {
    let mut constraint_types = Vec::new();
    let mut context = BTreeMap::new();
    if let Some(c) = &i.constraints {
        if let Some(equals) = c
            .encryption_context_equals
            .as_ref()
            .filter(|m| !m.is_empty())
        {
            constraint_types.push("EncryptionContextEquals".to_owned());
            context.extend(equals.clone());
        }
        if let Some(subset) = c
            .encryption_context_subset
            .as_ref()
            .filter(|m| !m.is_empty())
        {
            constraint_types.push("EncryptionContextSubset".to_owned());
            context.extend(subset.clone());
        }
    }
    let keys = Keys::default()
        .set("kms:GrantOperations", i.operations.clone())
        .set("kms:GranteePrincipal", i.grantee_principal.as_str())
        .opt("kms:RetiringPrincipal", i.retiring_principal.as_ref())
        .set("kms:GrantIsForAWSResource", false);
    let keys = if constraint_types.is_empty() {
        keys
    } else {
        keys.set("kms:GrantConstraintType", constraint_types)
    };
    keys.context(Some(&context))
}

/// The grants of a key, for [`grant_allowing`] to decide from memory.
pub fn of_key(tx: &impl Reader, key: &KeyRecord) -> Result<Vec<GrantRecord>, KmsError> {
    Ok(tx
        .all::<GrantRecord>(&key.account, &key_prefix(&key.key_id))?
        .into_iter()
        .map(|(_, g)| g)
        .collect())
}

/// The id of one of a key's `grants` that gives `principal` the operation of `action`
/// (`kms:Encrypt`), its constraints met by `context`. CreateGrant is decided by
/// [`grant_allowing_create`], RetireGrant by the grant itself.
pub fn grant_allowing(
    grants: &[GrantRecord],
    principal: &Principal,
    action: &str,
    context: Option<&BTreeMap<String, String>>,
) -> Option<String> {
    let operation = operation_of(action);
    if !OPERATIONS.contains(&operation) || matches!(operation, "CreateGrant" | "RetireGrant") {
        return None;
    }
    let constrained = CONTEXT_OPERATIONS.contains(&operation);
    grants
        .iter()
        .find(|g| {
            names(&g.grantee_principal, principal)
                && g.operations.iter().any(|o| o == operation)
                && (!constrained || g.context_allowed(context))
        })
        .map(|g| g.grant_id.clone())
}

/// The id of one of a key's `grants` that lets `principal` create the grant `request` asks
/// for: one with CreateGrant whose operations include all the new grant's, and whose
/// constraints the new grant's are at least as strict as.
pub fn grant_allowing_create(
    grants: &[GrantRecord],
    principal: &Principal,
    request: &crate::CreateGrantRequest,
) -> Option<String> {
    let (equals, subset) = constraints_of(request);
    grants
        .iter()
        .find(|g| {
            names(&g.grantee_principal, principal)
                && g.operations.iter().any(|o| o == "CreateGrant")
                && request
                    .operations
                    .iter()
                    .all(|wanted| g.operations.contains(wanted))
                && g.constraints_cover(equals.as_ref(), subset.as_ref())
        })
        .map(|g| g.grant_id.clone())
}

/// The constraints of a CreateGrant request, an empty map meaning none.
fn constraints_of(request: &crate::CreateGrantRequest) -> (Option<Context>, Option<Context>) {
    let Some(c) = &request.constraints else {
        return (None, None);
    };
    (
        c.encryption_context_equals
            .clone()
            .filter(|m| !m.is_empty()),
        c.encryption_context_subset
            .clone()
            .filter(|m| !m.is_empty()),
    )
}

fn invalid_token() -> KmsError {
    KmsError::InvalidGrantToken("Invalid grant token.".to_owned())
}

/// A grant's token: its account, key and id, sealed under the root key.
fn issue_token(kms: &Kms, account: &str, key_id: &str, grant_id: &str) -> Result<String, KmsError> {
    let sealed = kms
        .store()
        .root_key()
        .seal(
            TOKEN_PURPOSE,
            format!("{account}/{key_id}/{grant_id}").as_bytes(),
        )
        .map_err(|e| KmsError::Internal(format!("cannot seal a grant token: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed))
}

/// The account, key id and grant id a token Moat issued names.
fn open_token(kms: &Kms, token: &str) -> Result<(String, String, String), KmsError> {
    let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| invalid_token())?;
    let plain = kms
        .store()
        .root_key()
        .open(TOKEN_PURPOSE, &sealed)
        .map_err(|_| invalid_token())?;
    let text = std::str::from_utf8(&plain).map_err(|_| invalid_token())?;
    let mut parts = text.splitn(3, '/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(a), Some(k), Some(g)) => Ok((a.to_owned(), k.to_owned(), g.to_owned())),
        _ => Err(invalid_token()),
    }
}

/// Checks a request's grant tokens are tokens Moat issued. Grants take effect at once here,
/// so a valid token adds nothing to what the request may do.
pub fn check_tokens(kms: &Kms, tokens: Option<&[String]>) -> Result<(), KmsError> {
    let tokens = tokens.unwrap_or_default();
    if tokens.len() > MAX_TOKENS {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: \
             Member must have length less than or equal to {MAX_TOKENS}"
        )));
    }
    for token in tokens {
        open_token(kms, token)?;
    }
    Ok(())
}

/// Removes every grant of a key being deleted.
pub fn delete_all(tx: &mut impl Writer, key: &KeyRecord) -> Result<(), KmsError> {
    tx.delete_prefix(GrantRecord::KIND, &key.account, &key_prefix(&key.key_id))?;
    Ok(())
}

/// Checks a principal ARN a grant names: an account, IAM user or role, assumed-role session
/// or federated user.
fn check_principal(arn: &str, field: &str) -> Result<(), KmsError> {
    let invalid = || KmsError::Validation(format!("{field} {arn} is not a valid principal."));
    let (service, rest) = if let Some(rest) = arn.strip_prefix("arn:aws:iam::") {
        ("iam", rest)
    } else if let Some(rest) = arn.strip_prefix("arn:aws:sts::") {
        ("sts", rest)
    } else {
        return Err(invalid());
    };
    let (account, resource) = rest.split_once(':').ok_or_else(invalid)?;
    if account.len() != 12 || !account.bytes().all(|c| c.is_ascii_digit()) {
        return Err(invalid());
    }
    let well_formed = |kind: &str| {
        resource
            .strip_prefix(kind)
            .is_some_and(|name| !name.is_empty() && !name.ends_with('/'))
    };
    let ok = match service {
        "iam" => resource == "root" || well_formed("user/") || well_formed("role/"),
        _ => {
            well_formed("federated-user/")
                || resource
                    .strip_prefix("assumed-role/")
                    .and_then(|r| r.split_once('/'))
                    .is_some_and(|(role, session)| {
                        !role.is_empty() && !session.is_empty() && !session.contains('/')
                    })
        }
    };
    if ok {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn check_name(name: &str) -> Result<(), KmsError> {
    let ok = !name.is_empty()
        && name.len() <= 256
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b':' | b'/' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(KmsError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'name' failed to satisfy \
             constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$"
        )))
    }
}

fn check_constraint(map: &BTreeMap<String, String>, field: &str) -> Result<(), KmsError> {
    if map.len() > MAX_CONSTRAINT_PAIRS {
        return Err(KmsError::Validation(format!(
            "{field} can have at most {MAX_CONSTRAINT_PAIRS} encryption context pairs."
        )));
    }
    if map
        .values()
        .any(|v| v.chars().count() > MAX_CONSTRAINT_VALUE)
    {
        return Err(KmsError::Validation(format!(
            "An encryption context value in {field} cannot exceed {MAX_CONSTRAINT_VALUE} \
             characters."
        )));
    }
    Ok(())
}

/// Checks a grant's operations are AWS's and valid for `key`, and that constraints come only
/// with operations that take an encryption context.
fn check_operations(
    key: &KeyRecord,
    operations: &[String],
    constrained: bool,
) -> Result<(), KmsError> {
    if operations.is_empty() {
        return Err(KmsError::Validation(
            "1 validation error detected: Value '[]' at 'operations' failed to satisfy \
             constraint: Member must have length greater than or equal to 1"
                .to_owned(),
        ));
    }
    if let Some(unknown) = operations
        .iter()
        .find(|o| !OPERATIONS.contains(&o.as_str()))
    {
        return Err(KmsError::Validation(format!(
            "1 validation error detected: Value '[{unknown}]' at 'operations' failed to \
             satisfy constraint: Member must satisfy constraint: [Member must satisfy enum \
             value set: [{}]]",
            OPERATIONS.join(", ")
        )));
    }
    let allowed = key_operations(key);
    let invalid: Vec<&str> = operations
        .iter()
        .map(String::as_str)
        .filter(|o| !allowed.contains(o) && !MANAGEMENT_OPERATIONS.contains(o))
        .collect();
    if !invalid.is_empty() {
        return Err(KmsError::Validation(format!(
            "Grant operations [{}] are not valid for a KMS key with key spec {} and key usage \
             {}.",
            invalid.join(", "),
            key.key_spec,
            key.key_usage
        )));
    }
    if constrained {
        let unconstrainable: Vec<&str> = operations
            .iter()
            .map(String::as_str)
            .filter(|o| !CONTEXT_OPERATIONS.contains(o) && !MANAGEMENT_OPERATIONS.contains(o))
            .collect();
        if !unconstrainable.is_empty() || key.key_spec != "SYMMETRIC_DEFAULT" {
            return Err(KmsError::Validation(format!(
                "Encryption context grant constraints are supported only on operations that \
                 take an encryption context, with symmetric encryption KMS keys; not on {} \
                 with key spec {}.",
                if unconstrainable.is_empty() {
                    operations.join(", ")
                } else {
                    unconstrainable.join(", ")
                },
                key.key_spec
            )));
        }
    }
    Ok(())
}

fn new_grant_id() -> Result<String, KmsError> {
    crate::keys::new_version_id()
}

/// `CreateGrant`. With `Name`, a request identical to an existing grant's returns that grant.
pub fn create(
    kms: &Kms,
    call: &Call<'_>,
    input: crate::CreateGrantRequest,
) -> Result<crate::CreateGrantResponse, KmsError> {
    check_tokens(kms, input.grant_tokens.as_deref())?;
    check_principal(&input.grantee_principal, "GranteePrincipal")?;
    if let Some(r) = &input.retiring_principal {
        check_principal(r, "RetiringPrincipal")?;
    }
    if let Some(name) = &input.name {
        check_name(name)?;
    }
    let (equals, subset) = constraints_of(&input);
    if let Some(m) = &equals {
        check_constraint(m, "EncryptionContextEquals")?;
    }
    if let Some(m) = &subset {
        check_constraint(m, "EncryptionContextSubset")?;
    }
    let mut operations = Vec::new();
    for o in &input.operations {
        if !operations.contains(o) {
            operations.push(o.clone());
        }
    }
    kms.store().write(|tx| {
        let key = load(kms, tx, call, &input.key_id)?;
        if key.state == KeyState::PendingDeletion {
            return Err(KmsError::InvalidState(format!(
                "{} is pending deletion.",
                key.arn
            )));
        }
        check_operations(&key, &operations, equals.is_some() || subset.is_some())?;
        let prefix = key_prefix(&key.key_id);
        if let Some(name) = &input.name {
            let same = tx.scan::<GrantRecord>(&key.account, &prefix, None, 1, &mut |_, g| {
                g.name.as_deref() == Some(name.as_str())
                    && g.grantee_principal == input.grantee_principal
                    && g.retiring_principal == input.retiring_principal
                    && same_set(&g.operations, &operations)
                    && g.equals == equals
                    && g.subset == subset
            })?;
            if let Some((_, g)) = same.into_iter().next() {
                return Ok(crate::CreateGrantResponse {
                    grant_id: Some(g.grant_id),
                    grant_token: Some(g.token),
                });
            }
        }
        if tx.count(GrantRecord::KIND, &key.account, &prefix)? >= MAX_GRANTS_PER_KEY {
            return Err(KmsError::LimitExceeded(format!(
                "The KMS key {} has the maximum number of grants.",
                key.arn
            )));
        }
        let grant_id = new_grant_id()?;
        let token = issue_token(kms, &key.account, &key.key_id, &grant_id)?;
        let grant = GrantRecord {
            grant_id: grant_id.clone(),
            key_id: key.key_id.clone(),
            key_arn: key.arn.clone(),
            name: input.name.clone(),
            grantee_principal: input.grantee_principal.clone(),
            retiring_principal: input.retiring_principal.clone(),
            operations: operations.clone(),
            equals: equals.clone(),
            subset: subset.clone(),
            issuing_account: call.account(),
            created_ms: call.now_ms(),
            token: token.clone(),
        };
        tx.put(&key.account, &grant_key(&key.key_id, &grant_id), &grant)?;
        Ok(crate::CreateGrantResponse {
            grant_id: Some(grant_id),
            grant_token: Some(token),
        })
    })
}

fn same_set(a: &[String], b: &[String]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x))
}

/// ListGrants and ListRetirableGrants allow 1 to 100 a page, 50 by default.
fn grants_page_limit(limit: Option<i32>) -> usize {
    page_limit(limit, 50).min(100)
}

fn page(
    tx: &impl Reader,
    account: &str,
    prefix: &str,
    marker: Option<&String>,
    limit: Option<i32>,
    keep: &mut dyn FnMut(&GrantRecord) -> bool,
) -> Result<crate::ListGrantsResponse, KmsError> {
    let limit = grants_page_limit(limit);
    let after = decode_marker(marker)?;
    let mut found =
        tx.scan::<GrantRecord>(account, prefix, after.as_deref(), limit + 1, &mut |_, g| {
            keep(g)
        })?;
    let truncated = found.len() > limit;
    found.truncate(limit);
    Ok(crate::ListGrantsResponse {
        next_marker: truncated
            .then(|| found.last().map(|(k, _)| encode_marker(k)))
            .flatten(),
        grants: Some(found.iter().map(|(_, g)| g.entry()).collect()),
        truncated: Some(truncated),
    })
}

/// `ListGrants`: a key's grants, optionally one grant or one grantee's.
pub fn list(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListGrantsRequest,
) -> Result<crate::ListGrantsResponse, KmsError> {
    kms.store().read(|tx| {
        let key = load(kms, tx, call, &input.key_id)?;
        page(
            tx,
            &key.account,
            &key_prefix(&key.key_id),
            input.marker.as_ref(),
            input.limit,
            &mut |g| {
                input.grant_id.as_ref().is_none_or(|id| *id == g.grant_id)
                    && input
                        .grantee_principal
                        .as_ref()
                        .is_none_or(|p| *p == g.grantee_principal)
            },
        )
    })
}

/// `ListRetirableGrants`: the grants in the caller's account a principal may retire.
pub fn list_retirable(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::ListRetirableGrantsRequest,
) -> Result<crate::ListGrantsResponse, KmsError> {
    check_principal(&input.retiring_principal, "RetiringPrincipal")?;
    kms.store().read(|tx| {
        page(
            tx,
            &call.account(),
            "",
            input.marker.as_ref(),
            input.limit,
            &mut |g| g.retiring_principal.as_ref() == Some(&input.retiring_principal),
        )
    })
}

fn check_grant_id(grant_id: &str) -> Result<(), KmsError> {
    if grant_id.len() == 64 && grant_id.bytes().all(|c| c.is_ascii_hexdigit()) {
        Ok(())
    } else {
        Err(KmsError::InvalidGrantId(format!(
            "Grant ID {grant_id} is not valid."
        )))
    }
}

fn grant_not_found(grant_id: &str) -> KmsError {
    KmsError::NotFound(format!("Grant ID {grant_id} not found"))
}

/// `RevokeGrant`: authorized by policy as `kms:RevokeGrant`.
pub fn revoke(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::RevokeGrantRequest,
) -> Result<(), KmsError> {
    check_grant_id(&input.grant_id)?;
    kms.store().write(|tx| {
        let key = load(kms, tx, call, &input.key_id)?;
        if !tx.delete::<GrantRecord>(&key.account, &grant_key(&key.key_id, &input.grant_id))? {
            return Err(grant_not_found(&input.grant_id));
        }
        Ok(())
    })
}

/// Whether `principal` may retire `grant`: its retiring principal, its grantee when it
/// includes RetireGrant, or the account that created it.
fn may_retire(grant: &GrantRecord, principal: &Principal) -> bool {
    grant
        .retiring_principal
        .as_deref()
        .is_some_and(|r| names(r, principal))
        || (names(&grant.grantee_principal, principal)
            && grant.operations.iter().any(|o| o == "RetireGrant"))
        || (principal.is_root() && principal.account.to_string() == grant.issuing_account)
}

/// `RetireGrant`, by grant token or by key and grant id. No policy decides: the grant names
/// who may retire it.
pub fn retire(
    kms: &Kms,
    call: &Call<'_>,
    input: &crate::RetireGrantRequest,
) -> Result<(), KmsError> {
    let (account, key_id, grant_id) = match (&input.grant_token, &input.key_id, &input.grant_id) {
        (Some(token), _, _) => open_token(kms, token)?,
        (None, Some(key), Some(grant_id)) => {
            check_grant_id(grant_id)?;
            let key = kms.store().read(|tx| load(kms, tx, call, key))?;
            (key.account, key.key_id, grant_id.clone())
        }
        _ => {
            return Err(KmsError::Validation(
                "Either GrantToken, or both KeyId and GrantId, must be specified.".to_owned(),
            ))
        }
    };
    kms.store().write(|tx| {
        let k = grant_key(&key_id, &grant_id);
        let Some(grant) = tx.get::<GrantRecord>(&account, &k)? else {
            return Err(grant_not_found(&grant_id));
        };
        if !may_retire(&grant, call.principal) {
            return Err(KmsError::AccessDenied(format!(
                "User: {} is not authorized to perform: kms:RetireGrant on resource: {} \
                 because the grant does not allow it",
                call.principal.arn, grant.key_arn
            )));
        }
        tx.delete::<GrantRecord>(&account, &k)?;
        Ok(())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use std::sync::Arc;

    use moat_store::{RootKey, Store};
    use moat_types::{AccountId, PrincipalKind, SystemClock};

    use super::*;

    const ACCOUNT: &str = "111122223333";

    // The lookups as a request makes them: the key's grants read from storage, then decided.
    fn grant_allowing(
        store: &Store,
        key: &KeyRecord,
        p: &Principal,
        action: &str,
        context: Option<&BTreeMap<String, String>>,
    ) -> Result<Option<String>, KmsError> {
        let grants = store.read(|tx| of_key(tx, key))?;
        Ok(super::grant_allowing(&grants, p, action, context))
    }

    fn grant_allowing_create(
        store: &Store,
        key: &KeyRecord,
        p: &Principal,
        request: &crate::CreateGrantRequest,
    ) -> Result<Option<String>, KmsError> {
        let grants = store.read(|tx| of_key(tx, key))?;
        Ok(super::grant_allowing_create(&grants, p, request))
    }

    fn kms() -> Kms {
        let store = Store::open_in_memory(RootKey::from_bytes(&[7u8; 32]).unwrap()).unwrap();
        Kms::new(store, "us-east-1", Arc::new(SystemClock))
    }

    fn account() -> AccountId {
        ACCOUNT.parse().unwrap()
    }

    fn root() -> Principal {
        Principal::long_term(
            account(),
            PrincipalKind::Root,
            format!("arn:aws:iam::{ACCOUNT}:root"),
            ACCOUNT.into(),
            "AKIAROOT".into(),
        )
    }

    fn user(name: &str) -> Principal {
        Principal::long_term(
            account(),
            PrincipalKind::User {
                name: name.into(),
                path: "/".into(),
            },
            format!("arn:aws:iam::{ACCOUNT}:user/{name}"),
            format!("AIDA{name}"),
            "AKIAUSER".into(),
        )
    }

    fn session(role: &str, name: &str) -> Principal {
        Principal::long_term(
            account(),
            PrincipalKind::AssumedRole {
                role_name: role.into(),
                role_path: "/app/".into(),
                role_id: "AROAEXAMPLE".into(),
                session_name: name.into(),
            },
            format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{name}"),
            format!("AROAEXAMPLE:{name}"),
            "ASIAEXAMPLE".into(),
        )
    }

    fn call(p: &Principal) -> Call<'_> {
        Call {
            principal: p,
            now: time::OffsetDateTime::now_utc(),
        }
    }

    fn key(kms: &Kms, spec: &str, usage: &str) -> KeyRecord {
        let p = root();
        let out = crate::manage::create_key(
            kms,
            &call(&p),
            crate::CreateKeyRequest {
                key_spec: Some(spec.into()),
                key_usage: Some(usage.into()),
                ..Default::default()
            },
        )
        .unwrap();
        let id = out.key_metadata.unwrap().key_id;
        kms.store()
            .read(|tx| tx.get::<KeyRecord>(ACCOUNT, &id))
            .unwrap()
            .unwrap()
    }

    fn symmetric(kms: &Kms) -> KeyRecord {
        key(kms, "SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT")
    }

    fn request(key: &KeyRecord, grantee: &str, ops: &[&str]) -> crate::CreateGrantRequest {
        crate::CreateGrantRequest {
            key_id: key.key_id.clone(),
            grantee_principal: grantee.into(),
            operations: ops.iter().map(|o| (*o).to_owned()).collect(),
            ..Default::default()
        }
    }

    fn ctx(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_grant_allows_its_grantee_its_operations() {
        let kms = kms();
        let k = symmetric(&kms);
        let alice = user("alice");
        let bob = user("bob");
        let r = root();
        let out = create(&kms, &call(&r), request(&k, &alice.arn, &["Encrypt"])).unwrap();
        let id = out.grant_id.unwrap();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|c| c.is_ascii_hexdigit()));
        let allowed =
            |p: &Principal, action: &str| grant_allowing(kms.store(), &k, p, action, None).unwrap();
        assert_eq!(allowed(&alice, "kms:Encrypt"), Some(id.clone()));
        assert_eq!(allowed(&alice, "kms:Decrypt"), None);
        assert_eq!(allowed(&bob, "kms:Encrypt"), None);
        let other = symmetric(&kms);
        assert_eq!(
            grant_allowing(kms.store(), &other, &alice, "kms:Encrypt", None).unwrap(),
            None
        );
    }

    #[test]
    fn role_grants_cover_its_sessions_and_session_grants_one_session() {
        let kms = kms();
        let k = symmetric(&kms);
        let r = root();
        let one = session("worker", "one");
        let two = session("worker", "two");
        let role_arn = one.role_arn().unwrap();
        assert_eq!(role_arn, format!("arn:aws:iam::{ACCOUNT}:role/app/worker"));
        create(&kms, &call(&r), request(&k, &role_arn, &["Decrypt"])).unwrap();
        create(&kms, &call(&r), request(&k, &one.arn, &["Encrypt"])).unwrap();
        let allowed = |p: &Principal, action: &str| {
            grant_allowing(kms.store(), &k, p, action, None)
                .unwrap()
                .is_some()
        };
        assert!(allowed(&one, "kms:Decrypt"));
        assert!(allowed(&two, "kms:Decrypt"));
        assert!(allowed(&one, "kms:Encrypt"));
        assert!(!allowed(&two, "kms:Encrypt"));
    }

    #[test]
    fn constraints_check_the_request_context() {
        let kms = kms();
        let k = symmetric(&kms);
        let alice = user("alice");
        let bob = user("bob");
        let r = root();
        let mut eq = request(&k, &alice.arn, &["Encrypt", "Decrypt", "DescribeKey"]);
        eq.constraints = Some(crate::GrantConstraints {
            encryption_context_equals: Some(ctx(&[("Dept", "IT")])),
            encryption_context_subset: None,
        });
        create(&kms, &call(&r), eq).unwrap();
        let mut sub = request(&k, &bob.arn, &["Encrypt"]);
        sub.constraints = Some(crate::GrantConstraints {
            encryption_context_equals: None,
            encryption_context_subset: Some(ctx(&[("dept", "IT")])),
        });
        create(&kms, &call(&r), sub).unwrap();
        let allowed = |p: &Principal, action: &str, c: Option<&BTreeMap<String, String>>| {
            grant_allowing(kms.store(), &k, p, action, c)
                .unwrap()
                .is_some()
        };
        let exact = ctx(&[("Dept", "IT")]);
        let other_case_key = ctx(&[("DEPT", "IT")]);
        let other_case_value = ctx(&[("Dept", "it")]);
        let more = ctx(&[("Dept", "IT"), ("Project", "x")]);
        // Equals: exactly these pairs, keys without case, values with it.
        assert!(allowed(&alice, "kms:Encrypt", Some(&exact)));
        assert!(allowed(&alice, "kms:Decrypt", Some(&other_case_key)));
        assert!(!allowed(&alice, "kms:Encrypt", Some(&other_case_value)));
        assert!(!allowed(&alice, "kms:Encrypt", Some(&more)));
        assert!(!allowed(&alice, "kms:Encrypt", None));
        // The constraint does not apply to DescribeKey.
        assert!(allowed(&alice, "kms:DescribeKey", None));
        // Subset: at least these pairs.
        assert!(allowed(&bob, "kms:Encrypt", Some(&exact)));
        assert!(allowed(&bob, "kms:Encrypt", Some(&more)));
        assert!(!allowed(&bob, "kms:Encrypt", Some(&other_case_value)));
        assert!(!allowed(&bob, "kms:Encrypt", None));
    }

    #[test]
    fn create_grant_by_grant_needs_a_subset_as_strict() {
        let kms = kms();
        let k = symmetric(&kms);
        let alice = user("alice");
        let r = root();
        let mut parent = request(&k, &alice.arn, &["CreateGrant", "Encrypt", "Decrypt"]);
        parent.constraints = Some(crate::GrantConstraints {
            encryption_context_equals: None,
            encryption_context_subset: Some(ctx(&[("a", "1")])),
        });
        create(&kms, &call(&r), parent).unwrap();
        let may = |ops: &[&str], eq: Option<&[(&str, &str)]>, sub: Option<&[(&str, &str)]>| {
            let mut child = request(&k, "arn:aws:iam::111122223333:user/bob", ops);
            child.constraints = Some(crate::GrantConstraints {
                encryption_context_equals: eq.map(ctx),
                encryption_context_subset: sub.map(ctx),
            });
            grant_allowing_create(kms.store(), &k, &alice, &child)
                .unwrap()
                .is_some()
        };
        assert!(may(&["Encrypt"], None, Some(&[("a", "1")])));
        assert!(may(&["Encrypt"], None, Some(&[("A", "1"), ("b", "2")])));
        assert!(may(&["Decrypt"], Some(&[("a", "1"), ("b", "2")]), None));
        assert!(!may(&["Encrypt"], None, None));
        assert!(!may(&["Encrypt"], None, Some(&[("b", "2")])));
        assert!(!may(&["Encrypt"], Some(&[("b", "2")]), None));
        assert!(!may(
            &["Encrypt", "GenerateDataKey"],
            None,
            Some(&[("a", "1")])
        ));
        // Without CreateGrant in the grant, no grant may be created by it.
        let bob = user("bob");
        create(&kms, &call(&r), request(&k, &bob.arn, &["Encrypt"])).unwrap();
        assert!(grant_allowing_create(
            kms.store(),
            &k,
            &bob,
            &request(&k, &alice.arn, &["Encrypt"])
        )
        .unwrap()
        .is_none());
    }

    #[test]
    fn create_grant_validates_as_aws() {
        let kms = kms();
        let k = symmetric(&kms);
        let r = root();
        let alice = "arn:aws:iam::111122223333:user/alice";
        let fails = |req: crate::CreateGrantRequest| create(&kms, &call(&r), req).unwrap_err();
        assert!(matches!(
            fails(request(&k, alice, &["Sign"])),
            KmsError::Validation(_)
        ));
        assert!(matches!(
            fails(request(&k, alice, &["Frobnicate"])),
            KmsError::Validation(_)
        ));
        assert!(matches!(
            fails(request(&k, alice, &[])),
            KmsError::Validation(_)
        ));
        for bad in [
            "alice",
            "arn:aws:iam::1111:user/alice",
            "arn:aws:s3:::bucket",
            "arn:aws:iam::111122223333:group/devs",
            "arn:aws:sts::111122223333:assumed-role/r",
        ] {
            assert!(
                matches!(
                    fails(request(&k, bad, &["Encrypt"])),
                    KmsError::Validation(_)
                ),
                "{bad}"
            );
        }
        let mut retiring = request(&k, alice, &["Encrypt"]);
        retiring.retiring_principal = Some("nobody".into());
        assert!(matches!(fails(retiring), KmsError::Validation(_)));
        // Constraints only with operations that take an encryption context.
        let hmac = key(&kms, "HMAC_256", "GENERATE_VERIFY_MAC");
        let mut on_hmac = request(&hmac, alice, &["GenerateMac"]);
        on_hmac.constraints = Some(crate::GrantConstraints {
            encryption_context_equals: Some(ctx(&[("a", "1")])),
            encryption_context_subset: None,
        });
        assert!(matches!(fails(on_hmac), KmsError::Validation(_)));
        assert!(matches!(
            fails(request(&hmac, alice, &["Encrypt"])),
            KmsError::Validation(_)
        ));
        create(
            &kms,
            &call(&r),
            request(&hmac, alice, &["GenerateMac", "VerifyMac"]),
        )
        .unwrap();
        let mut too_many = request(&k, alice, &["Encrypt"]);
        too_many.constraints = Some(crate::GrantConstraints {
            encryption_context_equals: None,
            encryption_context_subset: Some(
                (0..9).map(|i| (format!("k{i}"), "v".to_owned())).collect(),
            ),
        });
        assert!(matches!(fails(too_many), KmsError::Validation(_)));
        // Disabled keys still take grants; keys pending deletion do not.
        crate::manage::set_enabled(&kms, &call(&r), &k.key_id, false).unwrap();
        create(&kms, &call(&r), request(&k, alice, &["Encrypt"])).unwrap();
        crate::manage::schedule_deletion(
            &kms,
            &call(&r),
            &crate::ScheduleKeyDeletionRequest {
                key_id: k.key_id.clone(),
                pending_window_in_days: Some(7),
            },
        )
        .unwrap();
        assert!(matches!(
            fails(request(&k, alice, &["Encrypt"])),
            KmsError::InvalidState(_)
        ));
    }

    #[test]
    fn a_name_makes_create_grant_idempotent() {
        let kms = kms();
        let k = symmetric(&kms);
        let r = root();
        let alice = "arn:aws:iam::111122223333:user/alice";
        let mut first = request(&k, alice, &["Encrypt", "Decrypt"]);
        first.name = Some("app-grant".into());
        let a = create(&kms, &call(&r), first.clone()).unwrap();
        let mut reordered = first.clone();
        reordered.operations = vec!["Decrypt".into(), "Encrypt".into()];
        let b = create(&kms, &call(&r), reordered).unwrap();
        assert_eq!(a.grant_id, b.grant_id);
        let mut changed = first.clone();
        changed.operations = vec!["Encrypt".into()];
        let c = create(&kms, &call(&r), changed).unwrap();
        assert_ne!(a.grant_id, c.grant_id);
        let mut bad = first;
        bad.name = Some("no spaces".into());
        assert!(matches!(
            create(&kms, &call(&r), bad),
            Err(KmsError::Validation(_))
        ));
    }

    #[test]
    fn tokens_are_ours_or_refused() {
        let kms = kms();
        let k = symmetric(&kms);
        let r = root();
        let out = create(
            &kms,
            &call(&r),
            request(&k, "arn:aws:iam::111122223333:user/alice", &["Encrypt"]),
        )
        .unwrap();
        let token = out.grant_token.unwrap();
        check_tokens(&kms, Some(std::slice::from_ref(&token))).unwrap();
        check_tokens(&kms, None).unwrap();
        assert!(matches!(
            check_tokens(&kms, Some(&["bogus".to_owned()])),
            Err(KmsError::InvalidGrantToken(_))
        ));
        let mut forged = token.into_bytes();
        let last = forged.len() - 2;
        forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
        assert!(matches!(
            check_tokens(&kms, Some(&[String::from_utf8(forged).unwrap()])),
            Err(KmsError::InvalidGrantToken(_))
        ));
        // Another Moat's tokens are not ours.
        let elsewhere = Kms::new(
            Store::open_in_memory(RootKey::from_bytes(&[8u8; 32]).unwrap()).unwrap(),
            "us-east-1",
            Arc::new(SystemClock),
        );
        let k2 = symmetric(&elsewhere);
        let theirs = create(
            &elsewhere,
            &call(&r),
            request(&k2, "arn:aws:iam::111122223333:user/alice", &["Encrypt"]),
        )
        .unwrap()
        .grant_token
        .unwrap();
        assert!(matches!(
            check_tokens(&kms, Some(&[theirs])),
            Err(KmsError::InvalidGrantToken(_))
        ));
    }

    #[test]
    fn retire_follows_the_grant_and_revoke_the_policy() {
        let kms = kms();
        let k = symmetric(&kms);
        let r = root();
        let alice = user("alice");
        let bob = user("bob");
        let carol = user("carol");
        let mut req = request(&k, &alice.arn, &["Encrypt"]);
        req.retiring_principal = Some(bob.arn.clone());
        let g = create(&kms, &call(&r), req.clone()).unwrap();
        let by_id = |id: &str| crate::RetireGrantRequest {
            key_id: Some(k.arn.clone()),
            grant_id: Some(id.to_owned()),
            ..Default::default()
        };
        let id = g.grant_id.clone().unwrap();
        // The grantee without RetireGrant, and strangers, may not.
        assert!(matches!(
            retire(&kms, &call(&alice), &by_id(&id)),
            Err(KmsError::AccessDenied(_))
        ));
        assert!(matches!(
            retire(&kms, &call(&carol), &by_id(&id)),
            Err(KmsError::AccessDenied(_))
        ));
        retire(&kms, &call(&bob), &by_id(&id)).unwrap();
        assert!(grant_allowing(kms.store(), &k, &alice, "kms:Encrypt", None)
            .unwrap()
            .is_none());
        assert!(matches!(
            retire(&kms, &call(&bob), &by_id(&id)),
            Err(KmsError::NotFound(_))
        ));
        // The grantee with RetireGrant, by token.
        let g = create(
            &kms,
            &call(&r),
            request(&k, &alice.arn, &["Encrypt", "RetireGrant"]),
        )
        .unwrap();
        let by_token = crate::RetireGrantRequest {
            grant_token: g.grant_token.clone(),
            ..Default::default()
        };
        retire(&kms, &call(&alice), &by_token).unwrap();
        // The issuing account.
        let g = create(&kms, &call(&r), request(&k, &alice.arn, &["Encrypt"])).unwrap();
        retire(&kms, &call(&r), &by_id(&g.grant_id.unwrap())).unwrap();
        assert!(matches!(
            retire(
                &kms,
                &call(&r),
                &crate::RetireGrantRequest {
                    grant_token: Some("not-a-token".into()),
                    ..Default::default()
                }
            ),
            Err(KmsError::InvalidGrantToken(_))
        ));
        assert!(matches!(
            retire(&kms, &call(&r), &crate::RetireGrantRequest::default()),
            Err(KmsError::Validation(_))
        ));
        // Revoke.
        let g = create(&kms, &call(&r), request(&k, &alice.arn, &["Encrypt"])).unwrap();
        let revoke_req = |id: &str| crate::RevokeGrantRequest {
            key_id: k.key_id.clone(),
            grant_id: id.to_owned(),
            dry_run: None,
        };
        let id = g.grant_id.unwrap();
        revoke(&kms, &call(&r), &revoke_req(&id)).unwrap();
        assert!(matches!(
            revoke(&kms, &call(&r), &revoke_req(&id)),
            Err(KmsError::NotFound(_))
        ));
        assert!(matches!(
            revoke(&kms, &call(&r), &revoke_req("short")),
            Err(KmsError::InvalidGrantId(_))
        ));
    }

    #[test]
    fn lists_filter_and_page() {
        let kms = kms();
        let k = symmetric(&kms);
        let other = symmetric(&kms);
        let r = root();
        let alice = "arn:aws:iam::111122223333:user/alice";
        let bob = "arn:aws:iam::111122223333:user/bob";
        let mut ids = Vec::new();
        for i in 0..5 {
            let mut req = request(&k, if i % 2 == 0 { alice } else { bob }, &["Encrypt"]);
            req.retiring_principal = Some(bob.into());
            ids.push(create(&kms, &call(&r), req).unwrap().grant_id.unwrap());
        }
        create(&kms, &call(&r), request(&other, alice, &["Decrypt"])).unwrap();
        let list_req = |marker: Option<String>| crate::ListGrantsRequest {
            key_id: k.key_id.clone(),
            limit: Some(2),
            marker,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut marker = None;
        loop {
            let page = list(&kms, &call(&r), &list_req(marker)).unwrap();
            for g in page.grants.unwrap() {
                assert_eq!(g.key_id.as_deref(), Some(k.arn.as_str()));
                assert_eq!(
                    g.issuing_account.as_deref(),
                    Some("arn:aws:iam::111122223333:root")
                );
                seen.push(g.grant_id.unwrap());
            }
            if page.truncated != Some(true) {
                break;
            }
            marker = page.next_marker;
        }
        seen.sort();
        ids.sort();
        assert_eq!(seen, ids);
        let only_alice = list(
            &kms,
            &call(&r),
            &crate::ListGrantsRequest {
                key_id: k.key_id.clone(),
                grantee_principal: Some(alice.into()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(only_alice.grants.unwrap().len(), 3);
        let one = list(
            &kms,
            &call(&r),
            &crate::ListGrantsRequest {
                key_id: k.key_id.clone(),
                grant_id: Some(ids[0].clone()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(one.grants.unwrap().len(), 1);
        let retirable = list_retirable(
            &kms,
            &call(&r),
            &crate::ListRetirableGrantsRequest {
                retiring_principal: bob.into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(retirable.grants.unwrap().len(), 5);
        // A deleted key's grants go with it.
        kms.store().write(|tx| delete_all(tx, &k)).unwrap();
        let after = list_retirable(
            &kms,
            &call(&r),
            &crate::ListRetirableGrantsRequest {
                retiring_principal: bob.into(),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(after.grants.unwrap().is_empty());
        assert!(
            grant_allowing(kms.store(), &other, &user("alice"), "kms:Decrypt", None)
                .unwrap()
                .is_some()
        );
    }

    #[test]
    fn create_grant_condition_keys() {
        let mut req = crate::CreateGrantRequest {
            key_id: "k".into(),
            grantee_principal: "arn:aws:iam::111122223333:user/alice".into(),
            operations: vec!["Encrypt".into()],
            ..Default::default()
        };
        req.constraints = Some(crate::GrantConstraints {
            encryption_context_equals: Some(ctx(&[("Dept", "IT")])),
            encryption_context_subset: None,
        });
        let keys = create_grant_keys(&req).0;
        let names: Vec<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
        for expected in [
            "kms:GrantOperations",
            "kms:GranteePrincipal",
            "kms:GrantIsForAWSResource",
            "kms:GrantConstraintType",
            "kms:EncryptionContext:Dept",
            "kms:EncryptionContextKeys",
        ] {
            assert!(names.contains(&expected), "{expected}");
        }
        assert!(!names.contains(&"kms:RetiringPrincipal"));
    }
}
