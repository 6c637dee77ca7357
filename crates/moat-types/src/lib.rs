//! Newtypes shared by every Moat crate, and the injected clock.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use rand::Rng;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// The partition every ARN is minted in. Moat runs one partition per deployment.
pub const PARTITION: &str = "aws";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TypeError {
    #[error("`{0}` is not a 12-digit account id")]
    AccountId(String),
}

/// A 12-digit AWS account id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountId(u64);

impl AccountId {
    pub fn random() -> Self {
        // AWS account ids never start with 0 in practice; keeping 12 significant digits
        // avoids surprises in tools that parse them as numbers.
        AccountId(rand::thread_rng().gen_range(100_000_000_000..1_000_000_000_000))
    }
}

impl FromStr for AccountId {
    type Err = TypeError;
    fn from_str(s: &str) -> Result<Self, TypeError> {
        if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
            s.parse::<u64>()
                .map(AccountId)
                .map_err(|_| TypeError::AccountId(s.to_owned()))
        } else {
            Err(TypeError::AccountId(s.to_owned()))
        }
    }
}

impl TryFrom<String> for AccountId {
    type Error = TypeError;
    fn try_from(s: String) -> Result<Self, TypeError> {
        s.parse()
    }
}

impl From<AccountId> for String {
    fn from(a: AccountId) -> String {
        a.to_string()
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:012}", self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({self})")
    }
}

/// The kinds of unique id IAM hands out, with AWS's prefixes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdKind {
    User,
    Group,
    Role,
    Policy,
    InstanceProfile,
    ServerCertificate,
    AccessKey,
    TemporaryAccessKey,
}

impl IdKind {
    pub fn prefix(self) -> &'static str {
        match self {
            IdKind::User => "AIDA",
            IdKind::Group => "AGPA",
            IdKind::Role => "AROA",
            IdKind::Policy => "ANPA",
            IdKind::InstanceProfile => "AIPA",
            IdKind::ServerCertificate => "ASCA",
            IdKind::AccessKey => "AKIA",
            IdKind::TemporaryAccessKey => "ASIA",
        }
    }

    /// Total length including the prefix: 21 for entity ids, 20 for access key ids, as AWS.
    fn len(self) -> usize {
        match self {
            IdKind::AccessKey | IdKind::TemporaryAccessKey => 20,
            _ => 21,
        }
    }
}

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// A fresh unique id such as `AIDAJQABLZS4A3QDU576Q`.
pub fn new_unique_id(kind: IdKind) -> String {
    let mut rng = rand::thread_rng();
    let mut id = String::with_capacity(kind.len());
    id.push_str(kind.prefix());
    while id.len() < kind.len() {
        let i = rng.gen_range(0..BASE32.len());
        id.push(char::from(BASE32.get(i).copied().unwrap_or(b'A')));
    }
    id
}

/// A fresh 40-character secret access key, in AWS's alphabet.
pub fn new_secret_access_key() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = rand::thread_rng();
    (0..40)
        .map(|_| {
            let i = rng.gen_range(0..ALPHABET.len());
            char::from(ALPHABET.get(i).copied().unwrap_or(b'A'))
        })
        .collect()
}

/// `arn:aws:iam::ACCOUNT:<resource>`.
pub fn iam_arn(account: AccountId, resource: &str) -> String {
    format!("arn:{PARTITION}:iam::{account}:{resource}")
}

/// The ARN of an IAM entity that lives under a path: `arn:aws:iam::ACCOUNT:user/eng/alice`.
pub fn iam_path_arn(account: AccountId, kind: &str, path: &str, name: &str) -> String {
    format!("arn:{PARTITION}:iam::{account}:{kind}{path}{name}")
}

/// Who signed a request, once authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub account: AccountId,
    pub kind: PrincipalKind,
    /// `arn:aws:iam::ACCOUNT:root`, the user's ARN, or for a role session
    /// `arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`.
    pub arn: String,
    /// The unique id AWS reports for the principal: the account id for root, `AIDA...` for
    /// users, `AROA...:SESSION` for role sessions.
    pub id: String,
    /// The access key the request was signed with.
    pub access_key_id: String,
    /// For temporary credentials (`ASIA...`), what the session carries.
    pub session: Option<Arc<Session>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    Root,
    User {
        name: String,
        path: String,
    },
    /// A session of a role, from AssumeRole or AssumeRoleWithWebIdentity.
    AssumedRole {
        role_name: String,
        role_path: String,
        /// The role's unique id (`AROA...`).
        role_id: String,
        session_name: String,
    },
    /// A caller of AssumeRoleWithWebIdentity, who holds no AWS credentials: known by the web
    /// identity token it presents. Before the token is verified, `provider_arn` is empty.
    WebIdentity {
        /// The IAM OIDC provider the token was verified against
        /// (`arn:aws:iam::ACCOUNT:oidc-provider/host/path`).
        provider_arn: String,
        /// The issuer without its scheme (`host/path`), as CloudTrail's `identityProvider`.
        issuer: String,
        /// The token's `sub`.
        subject: String,
    },
}

/// What temporary credentials carry, sealed in their session token: any node can read it back
/// from the token alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub issued_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
    /// When the MFA code that created the session (or the one it was chained from) was
    /// checked; `None` without MFA.
    pub mfa_authenticated_at: Option<OffsetDateTime>,
    /// The inline session policy, as given.
    pub policy: Option<String>,
    /// Managed policies passed as session policies.
    pub policy_arns: Vec<String>,
    /// Session tags, which become `aws:PrincipalTag/*` and override the role's own tags.
    pub tags: Vec<(String, String)>,
    /// The session tag keys that pass on to a chained role session.
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    /// Created with the credentials of another role session (role chaining).
    pub chained: bool,
    /// Created by AssumeRoleWithWebIdentity.
    pub web_identity: bool,
}

impl Principal {
    /// A principal signing with long-term credentials.
    pub fn long_term(
        account: AccountId,
        kind: PrincipalKind,
        arn: String,
        id: String,
        access_key_id: String,
    ) -> Principal {
        Principal {
            account,
            kind,
            arn,
            id,
            access_key_id,
            session: None,
        }
    }

    pub fn is_root(&self) -> bool {
        matches!(self.kind, PrincipalKind::Root)
    }

    /// `Root`, `IAMUser`, `AssumedRole` or `WebIdentityUser`, as CloudTrail's userIdentity.type
    /// says.
    pub fn type_name(&self) -> &'static str {
        match self.kind {
            PrincipalKind::Root => "Root",
            PrincipalKind::User { .. } => "IAMUser",
            PrincipalKind::AssumedRole { .. } => "AssumedRole",
            PrincipalKind::WebIdentity { .. } => "WebIdentityUser",
        }
    }

    /// An unauthenticated caller of AssumeRoleWithWebIdentity, attributed to the account of the
    /// role it asks for until its token is verified.
    pub fn web_identity_caller(account: AccountId) -> Principal {
        Principal {
            account,
            kind: PrincipalKind::WebIdentity {
                provider_arn: String::new(),
                issuer: String::new(),
                subject: String::new(),
            },
            arn: String::new(),
            id: "anonymous".to_owned(),
            access_key_id: String::new(),
            session: None,
        }
    }

    /// The IAM user's name, for users and their GetSessionToken sessions.
    pub fn user_name(&self) -> Option<&str> {
        match &self.kind {
            PrincipalKind::User { name, .. } => Some(name),
            _ => None,
        }
    }

    /// The ARN of the role a role session belongs to.
    pub fn role_arn(&self) -> Option<String> {
        match &self.kind {
            PrincipalKind::AssumedRole {
                role_name,
                role_path,
                ..
            } => Some(iam_path_arn(self.account, "role", role_path, role_name)),
            _ => None,
        }
    }
}

/// Time, injected so expiry, skew and rotation are testable without sleeping.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> OffsetDateTime;
}

#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }
}

/// A clock that tests move by hand.
#[derive(Debug, Clone)]
pub struct ManualClock {
    unix_millis: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(start: OffsetDateTime) -> Self {
        ManualClock {
            unix_millis: Arc::new(AtomicI64::new(to_millis(start))),
        }
    }

    pub fn advance(&self, by: time::Duration) {
        let millis = i64::try_from(by.whole_milliseconds()).unwrap_or(i64::MAX);
        self.unix_millis.fetch_add(millis, Ordering::SeqCst);
    }

    pub fn set(&self, to: OffsetDateTime) {
        self.unix_millis.store(to_millis(to), Ordering::SeqCst);
    }
}

fn to_millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0)
}

impl Clock for ManualClock {
    fn now(&self) -> OffsetDateTime {
        let ms = self.unix_millis.load(Ordering::SeqCst);
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_id_parses_only_twelve_digits() {
        assert!("123456789012".parse::<AccountId>().is_ok());
        assert_eq!(
            "000000000042".parse::<AccountId>().unwrap().to_string(),
            "000000000042"
        );
        for bad in [
            "",
            "12345678901",
            "1234567890123",
            "12345678901a",
            "-12345678901",
        ] {
            assert!(bad.parse::<AccountId>().is_err(), "{bad}");
        }
    }

    #[test]
    fn unique_ids_have_aws_prefixes_and_lengths() {
        let user = new_unique_id(IdKind::User);
        assert!(user.starts_with("AIDA") && user.len() == 21);
        let key = new_unique_id(IdKind::AccessKey);
        assert!(key.starts_with("AKIA") && key.len() == 20);
        assert!(key.bytes().all(|b| BASE32.contains(&b)));
        assert_eq!(new_secret_access_key().len(), 40);
    }

    #[test]
    fn manual_clock_moves_only_when_told() {
        let clock = ManualClock::new(OffsetDateTime::UNIX_EPOCH);
        assert_eq!(clock.now(), OffsetDateTime::UNIX_EPOCH);
        clock.advance(time::Duration::seconds(90));
        assert_eq!(clock.now().unix_timestamp(), 90);
    }

    #[test]
    fn arns_follow_aws() {
        let a: AccountId = "123456789012".parse().unwrap();
        assert_eq!(
            iam_path_arn(a, "user", "/eng/", "alice"),
            "arn:aws:iam::123456789012:user/eng/alice"
        );
        assert_eq!(iam_arn(a, "root"), "arn:aws:iam::123456789012:root");
    }
}
