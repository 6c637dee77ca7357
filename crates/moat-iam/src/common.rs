//! Helpers every IAM area shares: time, pagination, tags, policy documents.

use moat_store::{Reader, Record};
use moat_types::AccountId;
use moat_wire::Timestamp;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use time::OffsetDateTime;

use crate::records::TagRecord;
use crate::{IamError, Tag};

/// What a handler knows about the call it serves.
pub struct Call<'a> {
    pub account: AccountId,
    pub principal: &'a moat_types::Principal,
    pub now: OffsetDateTime,
    pub root_key: &'a moat_store::RootKey,
    /// The server's `--allow-insecure-oidc-loopback`: `http://` OIDC issuers on loopback hosts
    /// may be registered.
    pub allow_insecure_oidc_loopback: bool,
}

impl Call<'_> {
    pub fn account_key(&self) -> String {
        self.account.to_string()
    }

    pub fn now_ms(&self) -> i64 {
        to_ms(self.now)
    }

    /// The user name a `UserName`-less call refers to: the caller, if the caller is a user;
    /// `None` for the root user. A role session must name the user, as IAM requires.
    pub fn implicit_user(&self, given: Option<&str>) -> Result<Option<String>, IamError> {
        match (given, &self.principal.kind) {
            (Some(name), _) => Ok(Some(name.to_owned())),
            (None, moat_types::PrincipalKind::User { name, .. }) => Ok(Some(name.clone())),
            (None, moat_types::PrincipalKind::Root) => Ok(None),
            (
                None,
                moat_types::PrincipalKind::AssumedRole { .. }
                | moat_types::PrincipalKind::WebIdentity { .. },
            ) => Err(non_user_credentials()),
        }
    }
}

/// IAM's answer to a role session that leaves out the user an operation is about.
pub fn non_user_credentials() -> IamError {
    IamError::Validation("Must specify userName when calling with non-User credentials".into())
}

pub fn to_ms(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

pub fn timestamp(ms: i64) -> Timestamp {
    Timestamp(
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH),
    )
}

/// AWS's default page size for IAM list operations.
pub const DEFAULT_MAX_ITEMS: usize = 100;

/// One page of a listing.
pub struct Page<T> {
    pub items: Vec<T>,
    pub is_truncated: bool,
    /// The marker to pass for the next page, when truncated.
    pub marker: Option<String>,
}

/// Lists records of one kind under `prefix`, after the client's `marker`, keeping those for
/// which `keep` holds. The marker is the last key returned: opaque to clients, stable under
/// concurrent inserts.
pub fn paginate<R: Record>(
    tx: &impl Reader,
    account: &str,
    prefix: &str,
    marker: Option<&str>,
    max_items: Option<i32>,
    keep: &mut dyn FnMut(&str, &R) -> bool,
) -> Result<Page<R>, IamError> {
    let max = max_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS);
    let after = marker.map(decode_marker).transpose()?;
    let mut rows = tx.scan::<R>(account, prefix, after.as_deref(), max + 1, keep)?;
    let is_truncated = rows.len() > max;
    rows.truncate(max);
    let marker = if is_truncated {
        rows.last().map(|(k, _)| encode_marker(k))
    } else {
        None
    };
    Ok(Page {
        items: rows.into_iter().map(|(_, r)| r).collect(),
        is_truncated,
        marker,
    })
}

fn encode_marker(key: &str) -> String {
    hex_marker("m1", key)
}

fn decode_marker(marker: &str) -> Result<String, IamError> {
    unhex_marker("m1", marker)
}

/// An opaque marker: a tag saying which listing it belongs to, then the position in hex (so
/// any key survives the Marker pattern and URL encoding).
pub(crate) fn hex_marker(tag: &str, position: &str) -> String {
    use std::fmt::Write as _;
    let mut out = String::with_capacity(tag.len() + position.len() * 2);
    out.push_str(tag);
    for b in position.bytes() {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Reverses `hex_marker`; anything else is IAM's `InvalidInput`.
pub(crate) fn unhex_marker(tag: &str, marker: &str) -> Result<String, IamError> {
    let invalid = || IamError::InvalidInput("Invalid Marker.".to_owned());
    let hex = marker.strip_prefix(tag).ok_or_else(invalid)?;
    if hex.len() % 2 != 0 {
        return Err(invalid());
    }
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|p| u8::from_str_radix(p, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
        .ok_or_else(invalid)?;
    String::from_utf8(bytes).map_err(|_| invalid())
}

/// Moves an entity's managed-policy attachments (both directions) and inline policies from
/// its old name to its new one, within the caller's transaction. Used by renames.
pub(crate) fn move_entity_policies(
    tx: &mut impl moat_store::Writer,
    account: &str,
    kind: crate::records::EntityKind,
    old_lc: &str,
    new_lc: &str,
    new_name: &str,
) -> Result<(), IamError> {
    use crate::records::{AttachedPolicyRecord, InlinePolicyRecord, PolicyAttachmentRecord};
    let kind = kind.key();
    for (key, a) in tx.all::<AttachedPolicyRecord>(account, &format!("{kind}/{old_lc}/"))? {
        tx.delete::<AttachedPolicyRecord>(account, &key)?;
        tx.put(account, &format!("{kind}/{new_lc}/{}", a.policy_arn), &a)?;
        let old_att = format!("{}|{kind}|{old_lc}", a.policy_arn);
        if let Some(mut att) = tx.get::<PolicyAttachmentRecord>(account, &old_att)? {
            tx.delete::<PolicyAttachmentRecord>(account, &old_att)?;
            att.entity_name = new_name.to_owned();
            tx.put(account, &format!("{}|{kind}|{new_lc}", a.policy_arn), &att)?;
        }
    }
    for (key, p) in tx.all::<InlinePolicyRecord>(account, &format!("{kind}/{old_lc}/"))? {
        tx.delete::<InlinePolicyRecord>(account, &key)?;
        tx.put(account, &format!("{kind}/{new_lc}/{}", p.policy_name), &p)?;
    }
    Ok(())
}

/// The most tags an IAM entity carries.
pub const MAX_TAGS: usize = 50;

/// Rejects a request that names the same tag key twice (keys compare case-insensitively).
pub fn check_tag_keys_unique(tags: &[Tag]) -> Result<(), IamError> {
    let mut seen = std::collections::HashSet::new();
    for t in tags {
        if !seen.insert(t.key.to_lowercase()) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive."
                    .to_owned(),
            ));
        }
    }
    Ok(())
}

/// Adds or replaces tags, keeping existing order; fails past the quota.
pub fn merge_tags(existing: &mut Vec<TagRecord>, new: &[Tag]) -> Result<(), IamError> {
    check_tag_keys_unique(new)?;
    let mut merged = existing.clone();
    for t in new {
        match merged
            .iter_mut()
            .find(|e| e.key.eq_ignore_ascii_case(&t.key))
        {
            Some(e) => {
                e.key.clone_from(&t.key);
                e.value.clone_from(&t.value);
            }
            None => merged.push(TagRecord {
                key: t.key.clone(),
                value: t.value.clone(),
            }),
        }
    }
    if merged.len() > MAX_TAGS {
        return Err(IamError::LimitExceeded(format!(
            "The number of tags has reached the maximum limit of {MAX_TAGS}."
        )));
    }
    *existing = merged;
    Ok(())
}

pub fn remove_tags(existing: &mut Vec<TagRecord>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

pub fn tags_from(input: Option<&Vec<Tag>>) -> Result<Vec<TagRecord>, IamError> {
    let mut out = Vec::new();
    if let Some(tags) = input {
        merge_tags(&mut out, tags)?;
    }
    Ok(out)
}

pub fn wire_tags(tags: &[TagRecord]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag {
            key: t.key.clone(),
            value: t.value.clone(),
        })
        .collect()
}

/// `None` when there are no tags: IAM omits the element.
pub fn wire_tags_opt(tags: &[TagRecord]) -> Option<Vec<Tag>> {
    (!tags.is_empty()).then(|| wire_tags(tags))
}

/// What a policy document is for; decides grammar rules and size quota.
#[derive(Debug, Clone, Copy)]
pub enum DocumentUse {
    Managed,
    UserInline,
    GroupInline,
    RoleInline,
    Trust,
}

impl DocumentUse {
    /// IAM's default quotas, counted in characters excluding whitespace.
    fn quota(self) -> (usize, &'static str) {
        match self {
            DocumentUse::Managed => (6_144, "PolicySize"),
            DocumentUse::UserInline => (2_048, "PolicySize"),
            DocumentUse::GroupInline => (5_120, "PolicySize"),
            DocumentUse::RoleInline => (10_240, "PolicySize"),
            DocumentUse::Trust => (2_048, "ACLSizePerRole"),
        }
    }
}

/// Checks a policy document against the IAM grammar and its size quota.
pub fn check_policy_document(document: &str, usage: DocumentUse) -> Result<(), IamError> {
    let kind = match usage {
        DocumentUse::Trust => moat_policy::PolicyKind::Trust,
        _ => moat_policy::PolicyKind::Identity,
    };
    let (quota, name) = usage.quota();
    if moat_policy::non_whitespace_len(document) > quota {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for {name}: {quota}"
        )));
    }
    moat_policy::parse(document, kind)
        .map(|_| ())
        .map_err(|e| IamError::MalformedPolicyDocument(e.to_string()))
}

const URL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// IAM returns policy documents URL-encoded in query responses.
pub fn encode_document(document: &str) -> String {
    utf8_percent_encode(document, URL_ENCODE).to_string()
}

/// `/` when absent; the model's pattern has already checked the shape.
pub fn path_or_default(path: Option<&str>) -> String {
    path.unwrap_or("/").to_owned()
}

pub fn matches_path_prefix(path: &str, prefix: Option<&str>) -> bool {
    prefix.is_none_or(|p| path.starts_with(p))
}

/// Paginates a list already in memory (tags of one entity): the marker is an offset.
pub fn paginate_vec<T>(
    items: Vec<T>,
    marker: Option<&str>,
    max_items: Option<i32>,
) -> Result<(Vec<T>, bool, Option<String>), IamError> {
    let max = max_items
        .and_then(|m| usize::try_from(m).ok())
        .filter(|m| *m > 0)
        .unwrap_or(DEFAULT_MAX_ITEMS);
    let start = match marker {
        Some(m) => m
            .strip_prefix("o")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| IamError::InvalidInput("Invalid Marker.".to_owned()))?,
        None => 0,
    };
    let total = items.len();
    let page: Vec<T> = items.into_iter().skip(start).take(max).collect();
    let end = start.saturating_add(page.len());
    let truncated = end < total;
    Ok((page, truncated, truncated.then(|| format!("o{end}"))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_reject_garbage() {
        let m = encode_marker("user/alice");
        assert_eq!(decode_marker(&m).unwrap(), "user/alice");
        assert!(decode_marker("garbage").is_err());
        assert!(decode_marker("m1zz").is_err());
        assert!(decode_marker("m1abc").is_err());
    }

    #[test]
    fn tags_merge_case_insensitively_and_enforce_quota() {
        let mut tags = Vec::new();
        merge_tags(
            &mut tags,
            &[Tag {
                key: "Team".into(),
                value: "a".into(),
            }],
        )
        .unwrap();
        merge_tags(
            &mut tags,
            &[Tag {
                key: "team".into(),
                value: "b".into(),
            }],
        )
        .unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].value, "b");
        let dup = [
            Tag {
                key: "x".into(),
                value: "1".into(),
            },
            Tag {
                key: "X".into(),
                value: "2".into(),
            },
        ];
        assert!(matches!(
            merge_tags(&mut tags, &dup),
            Err(IamError::InvalidInput(_))
        ));
        let many: Vec<Tag> = (0..50)
            .map(|i| Tag {
                key: format!("k{i}"),
                value: String::new(),
            })
            .collect();
        assert!(matches!(
            merge_tags(&mut tags, &many),
            Err(IamError::LimitExceeded(_))
        ));
        assert_eq!(tags.len(), 1, "a failed merge changes nothing");
    }

    #[test]
    fn documents_are_url_encoded_like_iam() {
        assert_eq!(
            encode_document("{\"Version\": \"2012-10-17\"}"),
            "%7B%22Version%22%3A%20%222012-10-17%22%7D"
        );
    }
}
