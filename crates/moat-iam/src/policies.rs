//! Managed policies: customer managed policies with their versions and tags, and read access to
//! AWS managed policies (`arn:aws:iam::aws:policy/...`), which every account sees but no
//! customer can change.
//!
//! A customer managed policy is a `PolicyRecord` keyed by its lower-cased name plus one
//! `PolicyVersionRecord` per version keyed `policy_lc/{n:010}`. Attachment and boundary counts
//! are not stored on the policy: they are counted from the records `attachments.rs` keeps, so
//! they cannot drift.

use moat_store::{Reader, Record, Writer};
use moat_types::{iam_path_arn, new_unique_id, AccountId, IdKind, PARTITION};

use crate::common::{
    check_policy_document, encode_document, matches_path_prefix, merge_tags, paginate_vec,
    path_or_default, remove_tags, tags_from, timestamp, wire_tags, wire_tags_opt, Call,
    DocumentUse, DEFAULT_MAX_ITEMS,
};
use crate::managed::{self, AwsPolicy};
use crate::records::{name_key, PolicyRecord, PolicyVersionRecord};
use crate::{
    attachments, CreatePolicyRequest, CreatePolicyResponse, CreatePolicyVersionRequest,
    CreatePolicyVersionResponse, DeletePolicyRequest, DeletePolicyVersionRequest, GetPolicyRequest,
    GetPolicyResponse, GetPolicyVersionRequest, GetPolicyVersionResponse, IamError,
    ListPoliciesRequest, ListPoliciesResponse, ListPolicyTagsRequest, ListPolicyTagsResponse,
    ListPolicyVersionsRequest, ListPolicyVersionsResponse, Policy, PolicyVersion,
    SetDefaultPolicyVersionRequest, TagPolicyRequest, UntagPolicyRequest,
};

/// IAM's default quota of customer managed policies per account.
pub const MAX_POLICIES: u64 = 1_500;

/// The most versions a managed policy keeps (a fixed IAM limit).
pub const MAX_VERSIONS: usize = 5;

/// A managed policy an ARN resolved to.
#[derive(Debug, Clone)]
pub enum Managed {
    Customer(PolicyRecord),
    Aws(&'static AwsPolicy),
}

impl Managed {
    pub fn arn(&self) -> &str {
        match self {
            Managed::Customer(p) => &p.arn,
            Managed::Aws(p) => &p.arn,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            Managed::Customer(p) => &p.name,
            Managed::Aws(p) => &p.name,
        }
    }

    pub fn is_aws(&self) -> bool {
        matches!(self, Managed::Aws(_))
    }
}

/// `NoSuchEntity` as IAM words it for a policy that is looked up rather than attached.
pub fn not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} was not found."))
}

fn version_not_found(arn: &str, version_id: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "Policy {arn} version {version_id} does not exist or is not attachable."
    ))
}

fn invalid_arn(arn: &str) -> IamError {
    IamError::InvalidInput(format!("ARN {arn} is not valid."))
}

/// AWS managed policies belong to AWS's account: changing one is a cross-account request that
/// no resource-based policy allows, so IAM refuses it as an authorization failure.
fn aws_owned(c: &Call<'_>, action: &str, arn: &str) -> IamError {
    IamError::AccessDenied(format!(
        "User: {} is not authorized to perform: iam:{action} on resource: policy {arn} because \
         no resource-based policy allows the iam:{action} action",
        c.principal.arn
    ))
}

/// The parts of a policy ARN: its owner (`aws` or an account id) and its path and name.
struct PolicyArn<'a> {
    owner: &'a str,
    name: &'a str,
}

fn parse_arn(arn: &str) -> Result<PolicyArn<'_>, IamError> {
    let (partition, rest) = arn
        .strip_prefix("arn:")
        .and_then(|r| r.split_once(':'))
        .ok_or_else(|| invalid_arn(arn))?;
    if partition.is_empty() {
        return Err(invalid_arn(arn));
    }
    if partition != PARTITION {
        // An ARN of another partition (`aws-cn`, ...) is refused as IAM refuses it.
        return Err(IamError::Validation("Invalid ARN partition".to_owned()));
    }
    let rest = rest.strip_prefix("iam::").ok_or_else(|| invalid_arn(arn))?;
    let (owner, resource) = rest.split_once(':').ok_or_else(|| invalid_arn(arn))?;
    let path_and_name = resource
        .strip_prefix("policy")
        .filter(|p| p.starts_with('/'))
        .ok_or_else(|| invalid_arn(arn))?;
    let name = path_and_name
        .rsplit_once('/')
        .map(|(_, n)| n)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| invalid_arn(arn))?;
    let owner_ok =
        owner == "aws" || (owner.len() == 12 && owner.bytes().all(|b| b.is_ascii_digit()));
    if !owner_ok {
        return Err(invalid_arn(arn));
    }
    Ok(PolicyArn { owner, name })
}

/// The path part of a policy ARN (`/` or `/a/b/`); `/` for anything unparsable.
pub fn path_of_arn(arn: &str) -> &str {
    arn.find(":policy/")
        .and_then(|i| {
            let tail = arn.get(i + ":policy".len()..)?;
            tail.get(..=tail.rfind('/')?)
        })
        .unwrap_or("/")
}

/// Resolves a policy ARN to the customer managed policy of this account or the AWS managed
/// policy it names. ARNs compare exactly, as everywhere in IAM. A malformed ARN is
/// `InvalidInput`; a well-formed ARN that names nothing (or another account) is `None`.
pub fn resolve(
    tx: &impl Reader,
    account: AccountId,
    arn: &str,
) -> Result<Option<Managed>, IamError> {
    let parsed = parse_arn(arn)?;
    if parsed.owner == "aws" {
        return Ok(managed::find(arn).map(Managed::Aws));
    }
    let account = account.to_string();
    if parsed.owner != account {
        return Ok(None);
    }
    Ok(tx
        .get::<PolicyRecord>(&account, &name_key(parsed.name))?
        .filter(|p| p.arn == arn)
        .map(Managed::Customer))
}

/// A customer managed policy for an operation that changes it: AWS managed policies are
/// refused, unknown ARNs are `NoSuchEntity`.
fn require_customer(
    tx: &impl Reader,
    c: &Call<'_>,
    arn: &str,
    action: &str,
) -> Result<PolicyRecord, IamError> {
    match resolve(tx, c.account, arn)? {
        Some(Managed::Customer(p)) => Ok(p),
        Some(Managed::Aws(_)) => Err(aws_owned(c, action, arn)),
        None => Err(not_found(arn)),
    }
}

fn version_key(policy_lc: &str, n: u32) -> String {
    format!("{policy_lc}/{n:010}")
}

/// `v7` -> 7; anything else names no version Moat stores.
fn version_number(version_id: &str) -> Option<u32> {
    let digits = version_id.strip_prefix('v')?;
    if digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

fn find_version(
    tx: &impl Reader,
    account: &str,
    policy_lc: &str,
    version_id: &str,
) -> Result<Option<PolicyVersionRecord>, IamError> {
    let Some(n) = version_number(version_id) else {
        return Ok(None);
    };
    Ok(tx
        .get::<PolicyVersionRecord>(account, &version_key(policy_lc, n))?
        .filter(|v| v.version_id == version_id))
}

/// The document of a managed policy's default version: the one that takes effect.
pub fn default_document(
    tx: &impl Reader,
    account: AccountId,
    policy: &Managed,
) -> Result<Option<String>, IamError> {
    match policy {
        Managed::Aws(p) => Ok(Some(p.document.clone())),
        Managed::Customer(p) => Ok(find_version(
            tx,
            &account.to_string(),
            &name_key(&p.name),
            &p.default_version_id,
        )?
        .map(|v| v.document)),
    }
}

/// Every stored version of a customer managed policy, oldest first.
pub fn all_versions(
    tx: &impl Reader,
    account: AccountId,
    policy_lc: &str,
) -> Result<Vec<PolicyVersionRecord>, IamError> {
    Ok(tx
        .all::<PolicyVersionRecord>(&account.to_string(), &format!("{policy_lc}/"))?
        .into_iter()
        .map(|(_, r)| r)
        .collect())
}

/// How many entities in `account` use a policy: attached, and as a permissions boundary.
pub fn usage_counts(
    tx: &impl Reader,
    account: AccountId,
    arn: &str,
) -> Result<(i32, i32), IamError> {
    let attached = attachments::attachment_count(tx, account, arn)?;
    let boundaries = attachments::boundary_usage_count(tx, account, arn)?;
    let clamp = |n: u64| i32::try_from(n).unwrap_or(i32::MAX);
    Ok((clamp(attached), clamp(boundaries)))
}

/// The wire form of a managed policy. `detailed` adds what only GetPolicy and CreatePolicy
/// return (description, tags).
pub fn wire_policy(policy: &Managed, counts: (i32, i32), detailed: bool) -> Policy {
    let (attachment_count, boundary_count) = counts;
    let common = Policy {
        attachment_count: Some(attachment_count),
        permissions_boundary_usage_count: Some(boundary_count),
        is_attachable: Some(true),
        ..Policy::default()
    };
    match policy {
        Managed::Customer(p) => Policy {
            policy_name: Some(p.name.clone()),
            policy_id: Some(p.id.clone()),
            arn: Some(p.arn.clone()),
            path: Some(p.path.clone()),
            default_version_id: Some(p.default_version_id.clone()),
            description: if detailed {
                p.description.clone()
            } else {
                None
            },
            create_date: Some(timestamp(p.create_date)),
            update_date: Some(timestamp(p.update_date)),
            tags: if detailed {
                wire_tags_opt(&p.tags)
            } else {
                None
            },
            ..common
        },
        Managed::Aws(p) => Policy {
            policy_name: Some(p.name.clone()),
            policy_id: Some(p.id.clone()),
            arn: Some(p.arn.clone()),
            path: Some(p.path.clone()),
            default_version_id: Some(p.default_version_id.clone()),
            create_date: Some(timestamp(p.create_date)),
            update_date: Some(timestamp(p.update_date)),
            ..common
        },
    }
}

pub fn create_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreatePolicyRequest,
) -> Result<CreatePolicyResponse, IamError> {
    let account = c.account_key();
    let tags = tags_from(i.tags.as_ref())?;
    check_policy_document(&i.policy_document, DocumentUse::Managed)?;
    let key = name_key(&i.policy_name);
    if tx.exists::<PolicyRecord>(&account, &key)? {
        return Err(IamError::EntityAlreadyExists(format!(
            "A policy called {} already exists. Duplicate names are not allowed.",
            i.policy_name
        )));
    }
    if tx.count(PolicyRecord::KIND, &account, "")? >= MAX_POLICIES {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for PoliciesPerAccount: {MAX_POLICIES}"
        )));
    }
    let path = path_or_default(i.path.as_deref());
    let now = c.now_ms();
    let record = PolicyRecord {
        arn: iam_path_arn(c.account, "policy", &path, &i.policy_name),
        name: i.policy_name,
        id: new_unique_id(IdKind::Policy),
        path,
        description: i.description,
        default_version_id: "v1".to_owned(),
        create_date: now,
        update_date: now,
        tags,
        next_version: 2,
    };
    tx.put(&account, &key, &record)?;
    tx.put(
        &account,
        &version_key(&key, 1),
        &PolicyVersionRecord {
            version_id: "v1".to_owned(),
            document: i.policy_document,
            create_date: now,
        },
    )?;
    Ok(CreatePolicyResponse {
        policy: Some(wire_policy(&Managed::Customer(record), (0, 0), true)),
    })
}

pub fn get_policy(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetPolicyRequest,
) -> Result<GetPolicyResponse, IamError> {
    let policy = resolve(tx, c.account, &i.policy_arn)?.ok_or_else(|| not_found(&i.policy_arn))?;
    let counts = usage_counts(tx, c.account, policy.arn())?;
    Ok(GetPolicyResponse {
        policy: Some(wire_policy(&policy, counts, true)),
    })
}

pub fn delete_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeletePolicyRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let p = require_customer(tx, c, &i.policy_arn, "DeletePolicy")?;
    let (attached, boundaries) = usage_counts(tx, c.account, &p.arn)?;
    if attached > 0 || boundaries > 0 {
        return Err(IamError::DeleteConflict(
            "Cannot delete a policy attached to entities.".to_owned(),
        ));
    }
    let key = name_key(&p.name);
    if all_versions(tx, c.account, &key)?.len() > 1 {
        return Err(IamError::DeleteConflict(
            "This policy has more than one version. Before you delete a policy, you must delete \
             the policy's versions. The default version is deleted with the policy."
                .to_owned(),
        ));
    }
    tx.delete_prefix(PolicyVersionRecord::KIND, &account, &format!("{key}/"))?;
    tx.delete::<PolicyRecord>(&account, &key)?;
    Ok(())
}

/// One policy in the merged listing of AWS and customer managed policies.
enum Listed {
    Aws(&'static AwsPolicy),
    Local(PolicyRecord),
}

impl Listed {
    /// The listing order: by lower-cased name, AWS before customer on a tie (a customer may
    /// reuse an AWS policy's name; the ARNs differ).
    fn sort_key(&self) -> (String, u8) {
        match self {
            Listed::Aws(p) => (name_key(&p.name), 0),
            Listed::Local(p) => (name_key(&p.name), 1),
        }
    }

    fn into_managed(self) -> Managed {
        match self {
            Listed::Aws(p) => Managed::Aws(p),
            Listed::Local(p) => Managed::Customer(p),
        }
    }
}

/// Markers of the merged listing and of ListEntitiesForPolicy: an opaque encoding of the last
/// position returned.
pub(crate) fn encode_marker(position: &str) -> String {
    crate::common::hex_marker("k1", position)
}

pub(crate) fn decode_marker(marker: &str) -> Result<String, IamError> {
    crate::common::unhex_marker("k1", marker)
}

fn list_marker(key: &(String, u8)) -> String {
    encode_marker(&format!("{}|{}", key.0, key.1))
}

fn parse_list_marker(marker: &str) -> Result<(String, u8), IamError> {
    let position = decode_marker(marker)?;
    position
        .rsplit_once('|')
        .and_then(|(name, tag)| tag.parse::<u8>().ok().map(|t| (name.to_owned(), t)))
        .ok_or_else(|| IamError::InvalidInput("Invalid Marker.".to_owned()))
}

fn enum_error(value: &str, member: &str, allowed: &str) -> IamError {
    IamError::Validation(format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: \
         Member must satisfy enum value set: [{allowed}]"
    ))
}

/// Which uses of a policy a listing asks about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Usage {
    Any,
    PermissionsPolicy,
    PermissionsBoundary,
}

pub(crate) fn parse_usage(filter: Option<&str>) -> Result<Usage, IamError> {
    match filter {
        None => Ok(Usage::Any),
        Some("PermissionsPolicy") => Ok(Usage::PermissionsPolicy),
        Some("PermissionsBoundary") => Ok(Usage::PermissionsBoundary),
        Some(other) => Err(enum_error(
            other,
            "policyUsageFilter",
            "PermissionsPolicy, PermissionsBoundary",
        )),
    }
}

pub fn list_policies(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListPoliciesRequest,
) -> Result<ListPoliciesResponse, IamError> {
    let (want_aws, want_local) = match i.scope.as_deref() {
        None | Some("All") => (true, true),
        Some("AWS") => (true, false),
        Some("Local") => (false, true),
        Some(other) => return Err(enum_error(other, "scope", "All, AWS, Local")),
    };
    let usage = parse_usage(i.policy_usage_filter.as_deref())?;
    let only_attached = i.only_attached.unwrap_or(false);
    let prefix = i.path_prefix.as_deref();
    let after = i.marker.as_deref().map(parse_list_marker).transpose()?;
    let max = i
        .max_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS);

    // Customer managed policies are few (a quota of 1,500) and carry no documents, and AWS
    // managed ones are compiled in, so the merge happens in memory; usage counts, which cost
    // a query each, are computed only for the candidates a page actually visits.
    let mut candidates: Vec<((String, u8), Listed)> = Vec::new();
    if want_aws {
        for p in managed::all() {
            if matches_path_prefix(&p.path, prefix) {
                let item = Listed::Aws(p);
                candidates.push((item.sort_key(), item));
            }
        }
    }
    if want_local {
        for (_, p) in tx.all::<PolicyRecord>(&c.account_key(), "")? {
            if matches_path_prefix(&p.path, prefix) {
                let item = Listed::Local(p);
                candidates.push((item.sort_key(), item));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0));

    let mut page: Vec<((String, u8), Policy)> = Vec::new();
    for (key, item) in candidates {
        if after.as_ref().is_some_and(|m| key <= *m) {
            continue;
        }
        let policy = item.into_managed();
        let counts = usage_counts(tx, c.account, policy.arn())?;
        let (attached, boundaries) = counts;
        let keep = match usage {
            Usage::Any => !only_attached || attached > 0,
            Usage::PermissionsPolicy => attached > 0,
            Usage::PermissionsBoundary => boundaries > 0,
        };
        if keep {
            page.push((key, wire_policy(&policy, counts, false)));
            if page.len() > max {
                break;
            }
        }
    }
    let is_truncated = page.len() > max;
    page.truncate(max);
    let marker = if is_truncated {
        page.last().map(|(k, _)| list_marker(k))
    } else {
        None
    };
    Ok(ListPoliciesResponse {
        policies: Some(page.into_iter().map(|(_, p)| p).collect()),
        is_truncated: Some(is_truncated),
        marker,
    })
}

pub fn create_policy_version(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: CreatePolicyVersionRequest,
) -> Result<CreatePolicyVersionResponse, IamError> {
    let account = c.account_key();
    let mut p = require_customer(tx, c, &i.policy_arn, "CreatePolicyVersion")?;
    check_policy_document(&i.policy_document, DocumentUse::Managed)?;
    let key = name_key(&p.name);
    if all_versions(tx, c.account, &key)?.len() >= MAX_VERSIONS {
        return Err(IamError::LimitExceeded(
            "A managed policy can have up to 5 versions. Before you create a new version, you \
             must delete an existing version."
                .to_owned(),
        ));
    }
    let n = p.next_version;
    let version_id = format!("v{n}");
    let now = c.now_ms();
    tx.put(
        &account,
        &version_key(&key, n),
        &PolicyVersionRecord {
            version_id: version_id.clone(),
            document: i.policy_document,
            create_date: now,
        },
    )?;
    let set_as_default = i.set_as_default.unwrap_or(false);
    p.next_version = n.saturating_add(1);
    // IAM's UpdateDate is the creation date of the newest version.
    p.update_date = now;
    if set_as_default {
        p.default_version_id.clone_from(&version_id);
    }
    tx.put(&account, &key, &p)?;
    Ok(CreatePolicyVersionResponse {
        policy_version: Some(PolicyVersion {
            version_id: Some(version_id),
            is_default_version: Some(set_as_default),
            create_date: Some(timestamp(now)),
            document: None,
        }),
    })
}

pub fn get_policy_version(
    tx: &impl Reader,
    c: &Call<'_>,
    i: GetPolicyVersionRequest,
) -> Result<GetPolicyVersionResponse, IamError> {
    let policy = resolve(tx, c.account, &i.policy_arn)?.ok_or_else(|| not_found(&i.policy_arn))?;
    let version = match &policy {
        Managed::Customer(p) => {
            let v = find_version(tx, &c.account_key(), &name_key(&p.name), &i.version_id)?
                .ok_or_else(|| version_not_found(&i.policy_arn, &i.version_id))?;
            PolicyVersion {
                is_default_version: Some(v.version_id == p.default_version_id),
                document: Some(encode_document(&v.document)),
                version_id: Some(v.version_id),
                create_date: Some(timestamp(v.create_date)),
            }
        }
        // Moat carries only the default version of an AWS managed policy.
        Managed::Aws(p) if p.default_version_id == i.version_id => PolicyVersion {
            version_id: Some(p.default_version_id.clone()),
            is_default_version: Some(true),
            document: Some(encode_document(&p.document)),
            create_date: Some(timestamp(p.update_date)),
        },
        Managed::Aws(_) => return Err(version_not_found(&i.policy_arn, &i.version_id)),
    };
    Ok(GetPolicyVersionResponse {
        policy_version: Some(version),
    })
}

pub fn list_policy_versions(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListPolicyVersionsRequest,
) -> Result<ListPolicyVersionsResponse, IamError> {
    let policy = resolve(tx, c.account, &i.policy_arn)?.ok_or_else(|| not_found(&i.policy_arn))?;
    // Newest first, as IAM lists them.
    let versions: Vec<PolicyVersion> = match &policy {
        Managed::Customer(p) => all_versions(tx, c.account, &name_key(&p.name))?
            .into_iter()
            .rev()
            .map(|v| PolicyVersion {
                is_default_version: Some(v.version_id == p.default_version_id),
                version_id: Some(v.version_id),
                create_date: Some(timestamp(v.create_date)),
                document: None,
            })
            .collect(),
        Managed::Aws(p) => vec![PolicyVersion {
            version_id: Some(p.default_version_id.clone()),
            is_default_version: Some(true),
            create_date: Some(timestamp(p.update_date)),
            document: None,
        }],
    };
    let (versions, is_truncated, marker) =
        paginate_vec(versions, i.marker.as_deref(), i.max_items)?;
    Ok(ListPolicyVersionsResponse {
        versions: Some(versions),
        is_truncated: Some(is_truncated),
        marker,
    })
}

pub fn delete_policy_version(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: DeletePolicyVersionRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let p = require_customer(tx, c, &i.policy_arn, "DeletePolicyVersion")?;
    let key = name_key(&p.name);
    if find_version(tx, &account, &key, &i.version_id)?.is_none() {
        return Err(version_not_found(&i.policy_arn, &i.version_id));
    }
    if i.version_id == p.default_version_id {
        return Err(IamError::DeleteConflict(
            "Cannot delete the default version of a policy.".to_owned(),
        ));
    }
    if let Some(n) = version_number(&i.version_id) {
        tx.delete::<PolicyVersionRecord>(&account, &version_key(&key, n))?;
    }
    Ok(())
}

pub fn set_default_policy_version(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: SetDefaultPolicyVersionRequest,
) -> Result<(), IamError> {
    let account = c.account_key();
    let mut p = require_customer(tx, c, &i.policy_arn, "SetDefaultPolicyVersion")?;
    let key = name_key(&p.name);
    let v = find_version(tx, &account, &key, &i.version_id)?
        .ok_or_else(|| version_not_found(&i.policy_arn, &i.version_id))?;
    p.default_version_id = v.version_id;
    tx.put(&account, &key, &p)?;
    Ok(())
}

pub fn tag_policy(tx: &mut impl Writer, c: &Call<'_>, i: TagPolicyRequest) -> Result<(), IamError> {
    let mut p = require_customer(tx, c, &i.policy_arn, "TagPolicy")?;
    merge_tags(&mut p.tags, &i.tags)?;
    tx.put(&c.account_key(), &name_key(&p.name), &p)?;
    Ok(())
}

pub fn untag_policy(
    tx: &mut impl Writer,
    c: &Call<'_>,
    i: UntagPolicyRequest,
) -> Result<(), IamError> {
    let mut p = require_customer(tx, c, &i.policy_arn, "UntagPolicy")?;
    remove_tags(&mut p.tags, &i.tag_keys);
    tx.put(&c.account_key(), &name_key(&p.name), &p)?;
    Ok(())
}

pub fn list_policy_tags(
    tx: &impl Reader,
    c: &Call<'_>,
    i: ListPolicyTagsRequest,
) -> Result<ListPolicyTagsResponse, IamError> {
    let tags = match resolve(tx, c.account, &i.policy_arn)? {
        Some(Managed::Customer(p)) => wire_tags(&p.tags),
        // AWS managed policies carry no tags a customer can see.
        Some(Managed::Aws(_)) => Vec::new(),
        None => return Err(not_found(&i.policy_arn)),
    };
    let (tags, is_truncated, marker) = paginate_vec(tags, i.marker.as_deref(), i.max_items)?;
    Ok(ListPolicyTagsResponse {
        tags,
        is_truncated: Some(is_truncated),
        marker,
    })
}

#[cfg(test)]
mod tests {
    use crate::testing::{Env, ACCOUNT};
    use serde_json::{json, Value};

    pub const DOC: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}"#;
    const DOC2: &str =
        r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"*","Resource":"*"}}"#;
    const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

    fn arn(name: &str) -> String {
        format!("arn:aws:iam::{ACCOUNT}:policy/{name}")
    }

    fn create(env: &Env, name: &str) -> Value {
        env.ok(
            "CreatePolicy",
            json!({"PolicyName": name, "PolicyDocument": DOC}),
        )
    }

    /// Every page of a listing, following markers.
    fn all_pages(env: &Env, op: &str, input: Value, list: &str, field: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut req = input.clone();
            if let Some(m) = &marker {
                req["Marker"] = json!(m);
            }
            let page = env.ok(op, req);
            for item in page[list].as_array().unwrap() {
                out.push(item[field].as_str().unwrap().to_owned());
            }
            if page["IsTruncated"] == json!(true) {
                marker = Some(page["Marker"].as_str().unwrap().to_owned());
            } else {
                assert!(page.get("Marker").is_none());
                return out;
            }
        }
    }

    #[test]
    fn create_policy_returns_iam_shape_and_defaults() {
        let env = Env::new();
        let out = env.ok(
            "CreatePolicy",
            json!({"PolicyName": "ReadBucket", "PolicyDocument": DOC, "Path": "/team/",
                   "Description": "reads", "Tags": [{"Key": "env", "Value": "prod"}]}),
        );
        let p = &out["Policy"];
        assert_eq!(
            p["Arn"],
            format!("arn:aws:iam::{ACCOUNT}:policy/team/ReadBucket")
        );
        assert_eq!(p["PolicyName"], "ReadBucket");
        assert_eq!(p["Path"], "/team/");
        assert_eq!(p["DefaultVersionId"], "v1");
        assert_eq!(p["AttachmentCount"], 0);
        assert_eq!(p["PermissionsBoundaryUsageCount"], 0);
        assert_eq!(p["IsAttachable"], true);
        assert_eq!(p["Description"], "reads");
        assert_eq!(p["Tags"], json!([{"Key": "env", "Value": "prod"}]));
        let id = p["PolicyId"].as_str().unwrap();
        assert!(id.starts_with("ANPA") && id.len() == 21, "{id}");
        assert_eq!(p["CreateDate"], p["UpdateDate"]);

        let plain = create(&env, "Plain");
        assert_eq!(plain["Policy"]["Path"], "/");
        assert_eq!(plain["Policy"]["Arn"], arn("Plain"));
        assert!(plain["Policy"].get("Tags").is_none());
        assert!(plain["Policy"].get("Description").is_none());
    }

    #[test]
    fn create_policy_errors() {
        let env = Env::new();
        create(&env, "Dup");
        let (code, msg) = env.err(
            "CreatePolicy",
            json!({"PolicyName": "DUP", "PolicyDocument": DOC, "Path": "/other/"}),
        );
        assert_eq!(code, "EntityAlreadyExists");
        assert_eq!(
            msg,
            "A policy called DUP already exists. Duplicate names are not allowed."
        );
        let (code, _) = env.err(
            "CreatePolicy",
            json!({"PolicyName": "Bad", "PolicyDocument": "{not json"}),
        );
        assert_eq!(code, "MalformedPolicyDocument");
        let big = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::{}"}}]}}"#,
            "b".repeat(6_200)
        );
        let (code, msg) = env.err(
            "CreatePolicy",
            json!({"PolicyName": "Big", "PolicyDocument": big}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for PolicySize: 6144");
        let (code, _) = env.err(
            "CreatePolicy",
            json!({"PolicyName": "T", "PolicyDocument": DOC,
                   "Tags": [{"Key": "a", "Value": "1"}, {"Key": "A", "Value": "2"}]}),
        );
        assert_eq!(code, "InvalidInput");
        // Nothing failed half-way.
        let names = all_pages(
            &env,
            "ListPolicies",
            json!({"Scope": "Local"}),
            "Policies",
            "PolicyName",
        );
        assert_eq!(names, ["Dup"]);
    }

    #[test]
    fn customer_policy_quota_is_enforced() {
        use crate::records::PolicyRecord;
        let env = Env::new();
        env.iam
            .store()
            .write(|tx| {
                use moat_store::Writer;
                for n in 0..super::MAX_POLICIES {
                    let name = format!("p{n}");
                    let record = PolicyRecord {
                        arn: arn(&name),
                        name: name.clone(),
                        id: format!("ANPA{n:017}"),
                        path: "/".into(),
                        description: None,
                        default_version_id: "v1".into(),
                        create_date: 0,
                        update_date: 0,
                        tags: Vec::new(),
                        next_version: 2,
                    };
                    tx.put(ACCOUNT, &name, &record)?;
                }
                Ok::<_, crate::IamError>(())
            })
            .unwrap();
        let (code, msg) = env.err(
            "CreatePolicy",
            json!({"PolicyName": "OneTooMany", "PolicyDocument": DOC}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(msg, "Cannot exceed quota for PoliciesPerAccount: 1500");
    }

    #[test]
    fn get_policy_customer_aws_and_missing() {
        let env = Env::new();
        env.ok(
            "CreatePolicy",
            json!({"PolicyName": "Mine", "PolicyDocument": DOC, "Description": "d",
                   "Tags": [{"Key": "k", "Value": "v"}]}),
        );
        let got = env.ok("GetPolicy", json!({"PolicyArn": arn("Mine")}));
        assert_eq!(got["Policy"]["PolicyName"], "Mine");
        assert_eq!(got["Policy"]["Description"], "d");
        assert_eq!(got["Policy"]["Tags"][0]["Key"], "k");
        assert_eq!(got["Policy"]["AttachmentCount"], 0);

        let aws = env.ok("GetPolicy", json!({"PolicyArn": ADMIN}));
        assert_eq!(aws["Policy"]["PolicyName"], "AdministratorAccess");
        assert_eq!(aws["Policy"]["Arn"], ADMIN);
        assert_eq!(aws["Policy"]["IsAttachable"], true);
        assert_eq!(aws["Policy"]["AttachmentCount"], 0);
        assert!(aws["Policy"]["PolicyId"]
            .as_str()
            .unwrap()
            .starts_with("ANPA"));
        let job = env.ok(
            "GetPolicy",
            json!({"PolicyArn": "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"}),
        );
        assert_eq!(job["Policy"]["Path"], "/job-function/");

        for missing in [
            arn("Nope"),
            "arn:aws:iam::aws:policy/NoSuchAwsPolicy".to_owned(),
            // Same name, wrong path: ARNs name policies exactly.
            format!("arn:aws:iam::{ACCOUNT}:policy/x/Mine"),
            // Another account's policy is invisible.
            "arn:aws:iam::210987654321:policy/Mine".to_owned(),
        ] {
            let (code, msg) = env.err("GetPolicy", json!({"PolicyArn": missing}));
            assert_eq!(code, "NoSuchEntity");
            assert_eq!(msg, format!("Policy {missing} was not found."));
        }
        assert_eq!(
            env.err(
                "GetPolicy",
                json!({"PolicyArn": "arn:aws-cn:iam::aws:policy/AdministratorAccess"})
            ),
            (
                "ValidationError".to_owned(),
                "Invalid ARN partition".to_owned()
            )
        );
        for bad in [
            "arn::iam::123456789012:policy/Mine",
            "arn:aws:iam::123456789012:user/Mine",
            "arn:aws:s3:::bucket/policy/x",
            "arn:aws:iam::12345:policy/Mine",
            "not-an-arn-at-all-really",
            "arn:aws:iam::123456789012:policy/",
        ] {
            let (code, msg) = env.err("GetPolicy", json!({"PolicyArn": bad}));
            assert_eq!(code, "InvalidInput", "{bad}");
            assert_eq!(msg, format!("ARN {bad} is not valid."));
        }
    }

    #[test]
    fn delete_policy_requires_versions_gone_and_refuses_aws_policies() {
        let env = Env::new();
        create(&env, "Gone");
        env.ok(
            "CreatePolicyVersion",
            json!({"PolicyArn": arn("Gone"), "PolicyDocument": DOC2}),
        );
        let (code, msg) = env.err("DeletePolicy", json!({"PolicyArn": arn("Gone")}));
        assert_eq!(code, "DeleteConflict");
        assert_eq!(
            msg,
            "This policy has more than one version. Before you delete a policy, you must delete \
             the policy's versions. The default version is deleted with the policy."
        );
        env.ok(
            "DeletePolicyVersion",
            json!({"PolicyArn": arn("Gone"), "VersionId": "v2"}),
        );
        env.ok("DeletePolicy", json!({"PolicyArn": arn("Gone")}));
        let (code, msg) = env.err("DeletePolicy", json!({"PolicyArn": arn("Gone")}));
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(msg, format!("Policy {} was not found.", arn("Gone")));
        // The name is free again, and versions start over.
        let again = create(&env, "gone");
        assert_eq!(again["Policy"]["DefaultVersionId"], "v1");
        let versions = env.ok("ListPolicyVersions", json!({"PolicyArn": arn("gone")}));
        assert_eq!(versions["Versions"].as_array().unwrap().len(), 1);

        let (code, msg) = env.err("DeletePolicy", json!({"PolicyArn": ADMIN}));
        assert_eq!(code, "AccessDenied");
        assert_eq!(
            msg,
            format!(
                "User: arn:aws:iam::{ACCOUNT}:root is not authorized to perform: \
                 iam:DeletePolicy on resource: policy {ADMIN} because no resource-based policy \
                 allows the iam:DeletePolicy action"
            )
        );
    }

    #[test]
    fn versions_lifecycle() {
        let env = Env::new();
        create(&env, "Ver");
        let a = arn("Ver");
        let later = Env {
            now: env.now + time::Duration::hours(1),
            ..env
        };
        let env = later;
        let v2 = env.ok(
            "CreatePolicyVersion",
            json!({"PolicyArn": a, "PolicyDocument": DOC2}),
        );
        assert_eq!(v2["PolicyVersion"]["VersionId"], "v2");
        assert_eq!(v2["PolicyVersion"]["IsDefaultVersion"], false);
        assert!(v2["PolicyVersion"].get("Document").is_none());
        let p = env.ok("GetPolicy", json!({"PolicyArn": a}));
        assert_eq!(p["Policy"]["DefaultVersionId"], "v1");
        assert_ne!(p["Policy"]["UpdateDate"], p["Policy"]["CreateDate"]);

        for n in 3..=5 {
            let v = env.ok(
                "CreatePolicyVersion",
                json!({"PolicyArn": a, "PolicyDocument": DOC, "SetAsDefault": n == 5}),
            );
            assert_eq!(v["PolicyVersion"]["VersionId"], format!("v{n}"));
        }
        let p = env.ok("GetPolicy", json!({"PolicyArn": a}));
        assert_eq!(p["Policy"]["DefaultVersionId"], "v5");
        let (code, msg) = env.err(
            "CreatePolicyVersion",
            json!({"PolicyArn": a, "PolicyDocument": DOC}),
        );
        assert_eq!(code, "LimitExceeded");
        assert_eq!(
            msg,
            "A managed policy can have up to 5 versions. Before you create a new version, you \
             must delete an existing version."
        );

        // Newest first, only the default flagged, no documents.
        let list = env.ok("ListPolicyVersions", json!({"PolicyArn": a}));
        let ids: Vec<&str> = list["Versions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["VersionId"].as_str().unwrap())
            .collect();
        assert_eq!(ids, ["v5", "v4", "v3", "v2", "v1"]);
        for v in list["Versions"].as_array().unwrap() {
            assert_eq!(v["IsDefaultVersion"], v["VersionId"] == "v5");
            assert!(v.get("Document").is_none());
        }
        let paged = all_pages(
            &env,
            "ListPolicyVersions",
            json!({"PolicyArn": a, "MaxItems": 2}),
            "Versions",
            "VersionId",
        );
        assert_eq!(paged, ["v5", "v4", "v3", "v2", "v1"]);

        let (code, msg) = env.err(
            "DeletePolicyVersion",
            json!({"PolicyArn": a, "VersionId": "v5"}),
        );
        assert_eq!(code, "DeleteConflict");
        assert_eq!(msg, "Cannot delete the default version of a policy.");
        env.ok(
            "DeletePolicyVersion",
            json!({"PolicyArn": a, "VersionId": "v2"}),
        );
        let (code, msg) = env.err(
            "DeletePolicyVersion",
            json!({"PolicyArn": a, "VersionId": "v2"}),
        );
        assert_eq!(code, "NoSuchEntity");
        assert_eq!(
            msg,
            format!("Policy {a} version v2 does not exist or is not attachable.")
        );
        // Version ids are never reused.
        let v6 = env.ok(
            "CreatePolicyVersion",
            json!({"PolicyArn": a, "PolicyDocument": DOC}),
        );
        assert_eq!(v6["PolicyVersion"]["VersionId"], "v6");

        env.ok(
            "SetDefaultPolicyVersion",
            json!({"PolicyArn": a, "VersionId": "v1"}),
        );
        let got = env.ok(
            "GetPolicyVersion",
            json!({"PolicyArn": a, "VersionId": "v1"}),
        );
        assert_eq!(got["PolicyVersion"]["IsDefaultVersion"], true);
        assert_eq!(
            got["PolicyVersion"]["Document"],
            crate::common::encode_document(DOC)
        );
        let got = env.ok(
            "GetPolicyVersion",
            json!({"PolicyArn": a, "VersionId": "v5"}),
        );
        assert_eq!(got["PolicyVersion"]["IsDefaultVersion"], false);
        for bad in ["v2", "v9", "v01", "x"] {
            let (code, msg) = env.err(
                "SetDefaultPolicyVersion",
                json!({"PolicyArn": a, "VersionId": bad}),
            );
            assert_eq!(code, "NoSuchEntity");
            assert_eq!(
                msg,
                format!("Policy {a} version {bad} does not exist or is not attachable.")
            );
            assert_eq!(
                env.err(
                    "GetPolicyVersion",
                    json!({"PolicyArn": a, "VersionId": bad})
                )
                .1,
                msg
            );
        }
        let (code, _) = env.err(
            "CreatePolicyVersion",
            json!({"PolicyArn": arn("Missing"), "PolicyDocument": DOC}),
        );
        assert_eq!(code, "NoSuchEntity");
        let (code, _) = env.err(
            "CreatePolicyVersion",
            json!({"PolicyArn": a, "PolicyDocument": "[]"}),
        );
        assert_eq!(code, "MalformedPolicyDocument");
        assert_eq!(
            env.err("ListPolicyVersions", json!({"PolicyArn": arn("Missing")}))
                .1,
            format!("Policy {} was not found.", arn("Missing"))
        );
    }

    #[test]
    fn aws_managed_policies_are_read_only() {
        let env = Env::new();
        let v = env.ok("GetPolicy", json!({"PolicyArn": ADMIN}))["Policy"]["DefaultVersionId"]
            .as_str()
            .unwrap()
            .to_owned();
        let got = env.ok(
            "GetPolicyVersion",
            json!({"PolicyArn": ADMIN, "VersionId": v}),
        );
        assert_eq!(got["PolicyVersion"]["IsDefaultVersion"], true);
        let doc = got["PolicyVersion"]["Document"].as_str().unwrap();
        assert!(doc.starts_with("%7B"), "{doc}");
        let (code, _) = env.err(
            "GetPolicyVersion",
            json!({"PolicyArn": ADMIN, "VersionId": "v99"}),
        );
        assert_eq!(code, "NoSuchEntity");
        let versions = env.ok("ListPolicyVersions", json!({"PolicyArn": ADMIN}));
        assert_eq!(versions["Versions"][0]["VersionId"], v.as_str());
        let tags = env.ok("ListPolicyTags", json!({"PolicyArn": ADMIN}));
        assert_eq!(tags["Tags"], json!([]));

        let attempts = [
            (
                "CreatePolicyVersion",
                json!({"PolicyArn": ADMIN, "PolicyDocument": DOC}),
            ),
            (
                "DeletePolicyVersion",
                json!({"PolicyArn": ADMIN, "VersionId": v}),
            ),
            (
                "SetDefaultPolicyVersion",
                json!({"PolicyArn": ADMIN, "VersionId": v}),
            ),
            (
                "TagPolicy",
                json!({"PolicyArn": ADMIN, "Tags": [{"Key": "a", "Value": "b"}]}),
            ),
            ("UntagPolicy", json!({"PolicyArn": ADMIN, "TagKeys": ["a"]})),
            ("DeletePolicy", json!({"PolicyArn": ADMIN})),
        ];
        for (op, input) in attempts {
            let (code, msg) = env.err(op, input);
            assert_eq!(code, "AccessDenied", "{op}");
            assert!(
                msg.contains(&format!("iam:{op} on resource: policy {ADMIN}")),
                "{msg}"
            );
        }
    }

    #[test]
    fn policy_tags() {
        let env = Env::new();
        create(&env, "Tagged");
        let a = arn("Tagged");
        env.ok(
            "TagPolicy",
            json!({"PolicyArn": a, "Tags": [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]}),
        );
        env.ok(
            "TagPolicy",
            json!({"PolicyArn": a, "Tags": [{"Key": "A", "Value": "3"}]}),
        );
        let tags = env.ok("ListPolicyTags", json!({"PolicyArn": a}));
        assert_eq!(
            tags["Tags"],
            json!([{"Key": "A", "Value": "3"}, {"Key": "b", "Value": "2"}])
        );
        assert_eq!(tags["IsTruncated"], false);
        let page = env.ok("ListPolicyTags", json!({"PolicyArn": a, "MaxItems": 1}));
        assert_eq!(page["Tags"], json!([{"Key": "A", "Value": "3"}]));
        assert_eq!(page["IsTruncated"], true);
        let next = env.ok(
            "ListPolicyTags",
            json!({"PolicyArn": a, "MaxItems": 1, "Marker": page["Marker"]}),
        );
        assert_eq!(next["Tags"], json!([{"Key": "b", "Value": "2"}]));
        env.ok(
            "UntagPolicy",
            json!({"PolicyArn": a, "TagKeys": ["a", "zz"]}),
        );
        let got = env.ok("GetPolicy", json!({"PolicyArn": a}));
        assert_eq!(got["Policy"]["Tags"], json!([{"Key": "b", "Value": "2"}]));
        let many: Vec<Value> = (0..50)
            .map(|i| json!({"Key": format!("k{i}"), "Value": ""}))
            .collect();
        let (code, msg) = env.err("TagPolicy", json!({"PolicyArn": a, "Tags": many}));
        assert_eq!(code, "LimitExceeded");
        assert_eq!(
            msg,
            "The number of tags has reached the maximum limit of 50."
        );
        for op in ["TagPolicy", "UntagPolicy", "ListPolicyTags"] {
            let input = json!({"PolicyArn": arn("Nope"), "Tags": [], "TagKeys": []});
            assert_eq!(env.err(op, input).0, "NoSuchEntity", "{op}");
        }
    }

    #[test]
    fn list_policies_scopes_paths_and_pagination() {
        let env = Env::new();
        let aws_count = crate::managed::all().len();
        for (name, path) in [
            ("zeta", "/"),
            ("Alpha", "/app/"),
            ("beta", "/app/sub/"),
            // A customer policy may reuse an AWS managed policy's name.
            ("ReadOnlyAccess", "/"),
        ] {
            env.ok(
                "CreatePolicy",
                json!({"PolicyName": name, "PolicyDocument": DOC, "Path": path,
                       "Description": "x", "Tags": [{"Key": "t", "Value": "v"}]}),
            );
        }
        let local = all_pages(
            &env,
            "ListPolicies",
            json!({"Scope": "Local"}),
            "Policies",
            "PolicyName",
        );
        assert_eq!(local, ["Alpha", "beta", "ReadOnlyAccess", "zeta"]);
        let aws = all_pages(
            &env,
            "ListPolicies",
            json!({"Scope": "AWS"}),
            "Policies",
            "Arn",
        );
        assert_eq!(aws.len(), aws_count);
        assert!(aws
            .iter()
            .all(|a| a.starts_with("arn:aws:iam::aws:policy/")));

        // Small pages walk both sets in one order, without loss or repetition.
        let every = all_pages(
            &env,
            "ListPolicies",
            json!({"MaxItems": 3}),
            "Policies",
            "Arn",
        );
        assert_eq!(every.len(), aws_count + 4);
        let unique: std::collections::BTreeSet<&String> = every.iter().collect();
        assert_eq!(unique.len(), every.len());
        let one_page = all_pages(
            &env,
            "ListPolicies",
            json!({"MaxItems": 1000}),
            "Policies",
            "Arn",
        );
        assert_eq!(every, one_page);
        let ro = every
            .iter()
            .position(|a| a == "arn:aws:iam::aws:policy/ReadOnlyAccess")
            .unwrap();
        assert_eq!(every[ro + 1], arn("ReadOnlyAccess"));

        let app = all_pages(
            &env,
            "ListPolicies",
            json!({"PathPrefix": "/app/", "MaxItems": 1}),
            "Policies",
            "PolicyName",
        );
        assert_eq!(app, ["Alpha", "beta"]);
        let job = all_pages(
            &env,
            "ListPolicies",
            json!({"PathPrefix": "/job-function/"}),
            "Policies",
            "PolicyName",
        );
        assert!(job.contains(&"ViewOnlyAccess".to_owned()));

        // Listings carry counts but neither tags nor descriptions.
        let page = env.ok("ListPolicies", json!({"Scope": "Local", "MaxItems": 1}));
        let first = &page["Policies"][0];
        assert!(first.get("Tags").is_none());
        assert!(first.get("Description").is_none());
        assert_eq!(first["AttachmentCount"], 0);
        assert_eq!(first["PermissionsBoundaryUsageCount"], 0);
        assert_eq!(first["IsAttachable"], true);
        assert_eq!(page["IsTruncated"], true);

        let attached = env.ok("ListPolicies", json!({"OnlyAttached": true}));
        assert_eq!(attached["Policies"], json!([]));
        assert_eq!(attached["IsTruncated"], false);

        for marker in ["bogus", "k1zz", "k1616263"] {
            let (code, msg) = env.err("ListPolicies", json!({"Marker": marker}));
            assert_eq!(code, "InvalidInput", "{marker}");
            assert_eq!(msg, "Invalid Marker.");
        }
        assert_eq!(
            env.err("ListPolicies", json!({"Scope": "Mine"})).0,
            "ValidationError"
        );
        assert_eq!(
            env.err("ListPolicies", json!({"PolicyUsageFilter": "Both"}))
                .0,
            "ValidationError"
        );
    }

    #[test]
    fn arn_paths_are_extracted() {
        assert_eq!(super::path_of_arn("arn:aws:iam::aws:policy/A"), "/");
        assert_eq!(
            super::path_of_arn("arn:aws:iam::123456789012:policy/a/b/C"),
            "/a/b/"
        );
        assert_eq!(super::path_of_arn("garbage"), "/");
    }
}
