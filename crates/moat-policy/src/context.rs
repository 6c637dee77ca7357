//! What a request brings to an authorization decision: who makes it, the action, the resource
//! and the request context's keys.

use std::cmp::Ordering;
use std::fmt;

use crate::wildcard::bytes_eq;

/// The principal making a request, as the policy engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestPrincipal {
    kind: PrincipalKind,
    /// The caller's ARN, or for a service or an identity provider its name.
    arn: String,
    /// The 12-digit account the principal belongs to; empty when it belongs to none.
    account: String,
    /// The Amazon S3 canonical user id of the principal's account, which `CanonicalUser`
    /// principals name.
    canonical_user: Option<String>,
}

/// The kinds of principal, which decide which policies apply and how a resource-based policy
/// naming them is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// The account root user.
    Root,
    /// An IAM user.
    User,
    /// A role session (`assumed-role/...`), with the ARN of the role it belongs to.
    RoleSession { role_arn: String },
    /// A federated user session from `GetFederationToken`, with the ARN of the IAM user who
    /// requested it.
    FederatedUser { user_arn: String },
    /// An AWS service principal such as `ec2.amazonaws.com`, acting as itself.
    Service,
    /// A user of a web identity or SAML provider who has not yet assumed a role (the caller of
    /// `AssumeRoleWith...`): a provider ARN or a domain such as `accounts.google.com`.
    Federated,
    /// An unauthenticated caller.
    Anonymous,
}

impl RequestPrincipal {
    /// The root user of `account`.
    pub fn root(account: &str) -> Self {
        Self::aws(
            PrincipalKind::Root,
            format!("arn:aws:iam::{account}:root"),
            account,
        )
    }

    /// The root user, with the ARN in its partition (`arn:aws-cn:iam::...:root`).
    pub fn root_arn(arn: impl Into<String>) -> Self {
        let arn = arn.into();
        let account = arn_account(&arn).to_owned();
        Self::aws(PrincipalKind::Root, arn, &account)
    }

    /// An IAM user, by ARN.
    pub fn user(arn: impl Into<String>) -> Self {
        let arn = arn.into();
        let account = arn_account(&arn).to_owned();
        Self::aws(PrincipalKind::User, arn, &account)
    }

    /// A role session (`arn:aws:sts::123456789012:assumed-role/Name/session`) of the role
    /// `role_arn` (`arn:aws:iam::123456789012:role/path/Name`).
    pub fn role_session(session_arn: impl Into<String>, role_arn: impl Into<String>) -> Self {
        let arn = session_arn.into();
        let account = arn_account(&arn).to_owned();
        Self::aws(
            PrincipalKind::RoleSession {
                role_arn: role_arn.into(),
            },
            arn,
            &account,
        )
    }

    /// A federated user session (`arn:aws:sts::123456789012:federated-user/name`) obtained by
    /// the IAM user `user_arn`.
    pub fn federated_user(arn: impl Into<String>, user_arn: impl Into<String>) -> Self {
        let arn = arn.into();
        let account = arn_account(&arn).to_owned();
        Self::aws(
            PrincipalKind::FederatedUser {
                user_arn: user_arn.into(),
            },
            arn,
            &account,
        )
    }

    /// An AWS service principal (`ec2.amazonaws.com`).
    pub fn service(name: impl Into<String>) -> Self {
        RequestPrincipal {
            kind: PrincipalKind::Service,
            arn: name.into(),
            account: String::new(),
            canonical_user: None,
        }
    }

    /// A web identity or SAML provider's user, named by the provider.
    pub fn federated(provider: impl Into<String>) -> Self {
        RequestPrincipal {
            kind: PrincipalKind::Federated,
            arn: provider.into(),
            account: String::new(),
            canonical_user: None,
        }
    }

    pub fn anonymous() -> Self {
        RequestPrincipal {
            kind: PrincipalKind::Anonymous,
            arn: "*".to_owned(),
            account: String::new(),
            canonical_user: None,
        }
    }

    fn aws(kind: PrincipalKind, arn: String, account: &str) -> Self {
        RequestPrincipal {
            kind,
            arn,
            account: account.to_owned(),
            canonical_user: None,
        }
    }

    /// Sets the S3 canonical user id of the principal's account.
    pub fn with_canonical_user(mut self, id: impl Into<String>) -> Self {
        self.canonical_user = Some(id.into());
        self
    }

    pub fn canonical_user(&self) -> Option<&str> {
        self.canonical_user.as_deref()
    }

    pub fn kind(&self) -> &PrincipalKind {
        &self.kind
    }

    /// The caller's ARN (for a service or identity provider, its name; `*` when anonymous).
    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The account the principal belongs to; empty for services, identity providers and
    /// anonymous callers.
    pub fn account(&self) -> &str {
        &self.account
    }

    /// True for the principals IAM policies are attached to, directly or through their
    /// session: users, role sessions, federated users and the root user.
    pub fn is_iam_principal(&self) -> bool {
        matches!(
            self.kind,
            PrincipalKind::Root
                | PrincipalKind::User
                | PrincipalKind::RoleSession { .. }
                | PrincipalKind::FederatedUser { .. }
        )
    }

    /// The value of `aws:PrincipalType`.
    pub fn principal_type(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Root => "Account",
            PrincipalKind::User => "User",
            PrincipalKind::RoleSession { .. } => "AssumedRole",
            PrincipalKind::FederatedUser { .. } => "FederatedUser",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "WebIdentityUser",
            PrincipalKind::Anonymous => "Anonymous",
        }
    }

    /// The value of `aws:PrincipalArn`: for a role session, the role's ARN.
    pub fn principal_arn(&self) -> &str {
        match &self.kind {
            PrincipalKind::RoleSession { role_arn } => role_arn,
            _ => &self.arn,
        }
    }

    /// The value of `aws:username`, which only IAM users have: the last segment of the ARN.
    pub fn username(&self) -> Option<&str> {
        match self.kind {
            PrincipalKind::User => self.arn.rsplit('/').next(),
            _ => None,
        }
    }
}

/// The account field of an ARN (`arn:partition:service:region:account:resource`).
fn arn_account(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or_default()
}

/// The value of a context key: one string, or a set of strings for a multivalued key such as
/// `aws:TagKeys`. Values are strings, as in the request context; each condition operator
/// reads them as its type (number, date, IP address...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl ContextValue {
    pub fn values(&self) -> &[String] {
        match self {
            ContextValue::Single(v) => std::slice::from_ref(v),
            ContextValue::Multi(v) => v,
        }
    }

    /// The value a policy variable takes: only single-valued keys can be policy variables.
    pub fn single(&self) -> Option<&str> {
        match self {
            ContextValue::Single(v) => Some(v),
            ContextValue::Multi(_) => None,
        }
    }
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        ContextValue::Single(v.to_owned())
    }
}

impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        ContextValue::Single(v)
    }
}

impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        ContextValue::Single(if v { "true" } else { "false" }.to_owned())
    }
}

impl From<i64> for ContextValue {
    fn from(v: i64) -> Self {
        ContextValue::Single(v.to_string())
    }
}

impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        ContextValue::Multi(v)
    }
}

impl From<&[&str]> for ContextValue {
    fn from(v: &[&str]) -> Self {
        ContextValue::Multi(v.iter().map(|s| (*s).to_owned()).collect())
    }
}

/// The request context's keys and values. Key names compare without regard to (ASCII) case,
/// as in IAM: `aws:SourceIp` and `AWS:sourceip` are the same key.
///
/// Lookups run on every condition of every decision, so each key is stored with a hash of its
/// case-folded name, which compiled conditions compute once: a lookup is a binary search over
/// integers and one comparison of names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextKeys {
    /// The hash of each entry's key, ascending, kept apart so that a lookup scans a few
    /// contiguous integers.
    hashes: Vec<u64>,
    /// One entry per key, in the order of `hashes`.
    entries: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    hash: u64,
    /// The key in ASCII lower case, compared byte for byte.
    lower: Box<str>,
    key: String,
    value: ContextValue,
}

impl ContextKeys {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets `key`, replacing any value it had under any spelling.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<ContextValue>) {
        let key = key.into();
        let value = value.into();
        let hash = key_hash(&key);
        let lower = key.to_ascii_lowercase().into_boxed_str();
        let entry = Entry {
            hash,
            lower,
            key,
            value,
        };
        match self.find(hash, &entry.lower) {
            Ok(i) => {
                if let Some(slot) = self.entries.get_mut(i) {
                    *slot = entry;
                }
            }
            Err(i) => {
                self.hashes.insert(i, hash);
                self.entries.insert(i, entry);
            }
        }
    }

    /// Builder form of [`ContextKeys::insert`].
    pub fn with(mut self, key: impl Into<String>, value: impl Into<ContextValue>) -> Self {
        self.insert(key, value);
        self
    }

    pub fn remove(&mut self, key: &str) -> Option<ContextValue> {
        let i = self.find(key_hash(key), &key.to_ascii_lowercase()).ok()?;
        self.hashes.remove(i);
        Some(self.entries.remove(i).value)
    }

    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        let hash = key_hash(key);
        self.same_hash(hash)
            .find(|e| e.lower.eq_ignore_ascii_case(key))
            .map(|e| &e.value)
    }

    /// [`ContextKeys::get`] for a key already in ASCII lower case, with its [`key_hash`].
    pub(crate) fn get_lower(&self, hash: u64, lower: &str) -> Option<&ContextValue> {
        self.same_hash(hash)
            .find(|e| bytes_eq(e.lower.as_bytes(), lower.as_bytes()))
            .map(|e| &e.value)
    }

    /// The values of `key`; `None` when the key is absent or has no values, which IAM treats
    /// alike.
    pub fn values(&self, key: &str) -> Option<&[String]> {
        self.get(key)
            .map(ContextValue::values)
            .filter(|v| !v.is_empty())
    }

    /// [`ContextKeys::values`] for a key already in ASCII lower case, with its [`key_hash`].
    pub(crate) fn values_lower(&self, hash: u64, lower: &str) -> Option<&[String]> {
        self.get_lower(hash, lower)
            .map(ContextValue::values)
            .filter(|v| !v.is_empty())
    }

    /// The keys and their values, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.entries.iter().map(|e| (e.key.as_str(), &e.value))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds the global keys that describe the principal: `aws:PrincipalArn`,
    /// `aws:PrincipalAccount`, `aws:PrincipalType`, and `aws:username` for IAM users. Keys
    /// already set are left alone.
    pub fn add_principal_keys(&mut self, principal: &RequestPrincipal) {
        let mut set = |key: &str, value: &str| {
            if self.get(key).is_none() {
                self.insert(key, value);
            }
        };
        set("aws:PrincipalType", principal.principal_type());
        if principal.is_iam_principal() {
            set("aws:PrincipalArn", principal.principal_arn());
            set("aws:PrincipalAccount", principal.account());
        }
        if let Some(name) = principal.username() {
            set("aws:username", name);
        }
    }

    /// The entries whose key has this hash: almost always none or one.
    fn same_hash(&self, hash: u64) -> impl Iterator<Item = &Entry> {
        let start = self.first_at_least(hash);
        self.entries
            .get(start..)
            .unwrap_or_default()
            .iter()
            .take_while(move |e| e.hash == hash)
    }

    /// The first position whose hash is not below `hash`. Request contexts hold a few dozen
    /// keys at most, where a straight scan of the hashes beats a binary search.
    fn first_at_least(&self, hash: u64) -> usize {
        if self.hashes.len() <= 32 {
            self.hashes
                .iter()
                .position(|&h| h >= hash)
                .unwrap_or(self.hashes.len())
        } else {
            self.hashes.partition_point(|&h| h < hash)
        }
    }

    /// The position of the key `lower` (in ASCII lower case), or where it would go.
    fn find(&self, hash: u64, lower: &str) -> Result<usize, usize> {
        let start = self.first_at_least(hash);
        match self.same_hash(hash).position(|e| &*e.lower == lower) {
            Some(i) => Ok(start + i),
            None => Err(start),
        }
    }
}

impl<K: Into<String>, V: Into<ContextValue>> FromIterator<(K, V)> for ContextKeys {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut keys = ContextKeys::new();
        for (k, v) in iter {
            keys.insert(k, v);
        }
        keys
    }
}

/// FNV-1a over the ASCII-lowercased key: equal for spellings that differ only in case.
pub(crate) fn key_hash(key: &str) -> u64 {
    key.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    })
}

pub(crate) fn cmp_ignore_ascii_case(a: &str, b: &str) -> Ordering {
    a.bytes()
        .map(|c| c.to_ascii_lowercase())
        .cmp(b.bytes().map(|c| c.to_ascii_lowercase()))
}

/// One authorization question: may `principal` perform `action` on `resource`, given the
/// request context `keys`?
#[derive(Clone, Copy)]
pub struct Request<'r> {
    pub principal: &'r RequestPrincipal,
    /// `service:ActionName`; compared without regard to case.
    pub action: &'r str,
    /// The resource ARN, or `*` for actions that do not act on a particular resource.
    pub resource: &'r str,
    pub keys: &'r ContextKeys,
}

impl<'r> Request<'r> {
    pub fn new(
        principal: &'r RequestPrincipal,
        action: &'r str,
        resource: &'r str,
        keys: &'r ContextKeys,
    ) -> Self {
        Request {
            principal,
            action,
            resource,
            keys,
        }
    }

    /// The service prefix of the action (`iam` in `iam:CreateUser`).
    pub(crate) fn service(&self) -> &'r str {
        self.action.split_once(':').map_or(self.action, |(s, _)| s)
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("principal", &self.principal.arn())
            .field("action", &self.action)
            .field("resource", &self.resource)
            .field("keys", &self.keys)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_ignore_case() {
        let mut keys = ContextKeys::new().with("aws:SourceIp", "192.0.2.1").with(
            "aws:TagKeys",
            ContextValue::Multi(vec!["a".into(), "b".into()]),
        );
        assert_eq!(
            keys.values("AWS:sourceip"),
            Some(&["192.0.2.1".to_owned()][..])
        );
        assert_eq!(keys.values("aws:tagkeys").map(<[String]>::len), Some(2));
        keys.insert("AWS:SOURCEIP", "192.0.2.2");
        assert_eq!(keys.len(), 2);
        assert_eq!(keys.get("aws:SourceIp"), Some(&"192.0.2.2".into()));
        assert_eq!(key_hash("aws:SourceIp"), key_hash("AWS:SOURCEIP"));
        keys.insert("aws:Empty", ContextValue::Multi(Vec::new()));
        assert_eq!(keys.values("aws:empty"), None);
        assert!(keys.get("aws:empty").is_some());
        assert_eq!(
            keys.remove("aws:EMPTY"),
            Some(ContextValue::Multi(Vec::new()))
        );
        assert!(keys.get("aws:empty").is_none());
    }

    #[test]
    fn principals() {
        let user = RequestPrincipal::user("arn:aws:iam::123456789012:user/division/alice");
        assert_eq!(user.account(), "123456789012");
        assert_eq!(user.username(), Some("alice"));
        assert_eq!(user.principal_type(), "User");

        let session = RequestPrincipal::role_session(
            "arn:aws:sts::123456789012:assumed-role/Admin/bob",
            "arn:aws:iam::123456789012:role/Admin",
        );
        assert_eq!(
            session.principal_arn(),
            "arn:aws:iam::123456789012:role/Admin"
        );
        assert_eq!(session.username(), None);

        let root = RequestPrincipal::root("123456789012");
        assert_eq!(root.arn(), "arn:aws:iam::123456789012:root");
        assert_eq!(root.principal_type(), "Account");

        let mut keys = ContextKeys::new().with("aws:username", "preset");
        keys.add_principal_keys(&user);
        assert_eq!(keys.get("aws:username"), Some(&"preset".into()));
        assert_eq!(
            keys.get("aws:PrincipalArn"),
            Some(&"arn:aws:iam::123456789012:user/division/alice".into())
        );
        let service = RequestPrincipal::service("ec2.amazonaws.com");
        assert!(!service.is_iam_principal());
        assert_eq!(service.account(), "");
    }
}
