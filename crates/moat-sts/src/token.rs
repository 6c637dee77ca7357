//! Session tokens: everything a temporary credential means, sealed so that any node can read
//! it back from the token alone, without a database read.
//!
//! A token is `base64(version | key id | nonce | AES-256-GCM(claims))`, the claims being JSON
//! that includes the session's secret access key. The associated data is the `ASIA...` access
//! key id, so a token only ever works with the key id it was issued with. Token keys rotate:
//! a new one is made when the newest is a day old, and old ones are kept for as long as a token
//! they sealed can live. Each key is stored sealed under the node's root key; a node that sees
//! a key id it does not know reloads the keys from the store, so nodes sharing a store agree.

use std::sync::Arc;

use base64::Engine as _;
use moat_store::{Reader, Record, Store, Writer, GLOBAL};
use moat_types::{AccountId, Principal, PrincipalKind, Session};
use parking_lot::RwLock;
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

const TOKEN_VERSION: u8 = 1;
/// How long a token key issues new tokens.
const ISSUE_FOR: Duration = Duration::hours(24);
/// How long a key is kept after it stops issuing: the longest session (36 hours) plus margin.
const KEEP_AFTER: Duration = Duration::hours(48);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Not a token this deployment issued, or altered.
    #[error("the session token is invalid")]
    Invalid,
    #[error("storage failure: {0}")]
    Store(#[from] moat_store::StoreError),
    #[error("cannot seal or unseal a token key: {0}")]
    Sealing(String),
    #[error("the system random number generator failed")]
    Random,
}

/// A token key as stored: its material sealed under the root key.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TokenKeyRecord {
    id: u32,
    created: i64,
    sealed: Vec<u8>,
}

impl Record for TokenKeyRecord {
    const KIND: &'static str = "sts.token_key";
}

fn record_key(id: u32) -> String {
    format!("{id:08x}")
}

fn purpose(id: u32) -> String {
    format!("sts.token_key:{id:08x}")
}

struct TokenKey {
    id: u32,
    created: OffsetDateTime,
    key: LessSafeKey,
}

/// Who a session is, as sealed in its token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind")]
pub enum SessionIdentity {
    Root,
    User {
        name: String,
        path: String,
        id: String,
    },
    Role {
        name: String,
        path: String,
        id: String,
        session_name: String,
    },
}

/// What a token carries.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub account: String,
    pub identity: SessionIdentity,
    pub secret_access_key: String,
    /// Unix seconds.
    pub issued_at: i64,
    pub expires_at: i64,
    #[serde(default)]
    pub mfa_authenticated_at: Option<i64>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub policy_arns: Vec<String>,
    #[serde(default)]
    pub tags: Vec<(String, String)>,
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    #[serde(default)]
    pub source_identity: Option<String>,
    #[serde(default)]
    pub chained: bool,
    #[serde(default)]
    pub web_identity: bool,
}

impl std::fmt::Debug for Claims {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claims")
            .field("account", &self.account)
            .field("identity", &self.identity)
            .field("secret_access_key", &"<redacted>")
            .field("issued_at", &self.issued_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl Drop for Claims {
    fn drop(&mut self) {
        use zeroize::Zeroize as _;
        self.secret_access_key.zeroize();
    }
}

fn from_unix(seconds: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(seconds).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

impl Claims {
    pub fn expires_at(&self) -> OffsetDateTime {
        from_unix(self.expires_at)
    }

    /// The principal requests signed with these credentials act as.
    pub fn principal(&self, access_key_id: &str) -> Result<Principal, TokenError> {
        let account: AccountId = self.account.parse().map_err(|_| TokenError::Invalid)?;
        let (kind, arn, id) = match &self.identity {
            SessionIdentity::Root => (
                PrincipalKind::Root,
                moat_types::iam_arn(account, "root"),
                account.to_string(),
            ),
            SessionIdentity::User { name, path, id } => (
                PrincipalKind::User {
                    name: name.clone(),
                    path: path.clone(),
                },
                moat_types::iam_path_arn(account, "user", path, name),
                id.clone(),
            ),
            SessionIdentity::Role {
                name,
                path,
                id,
                session_name,
            } => (
                PrincipalKind::AssumedRole {
                    role_name: name.clone(),
                    role_path: path.clone(),
                    role_id: id.clone(),
                    session_name: session_name.clone(),
                },
                format!("arn:aws:sts::{account}:assumed-role/{name}/{session_name}"),
                format!("{id}:{session_name}"),
            ),
        };
        Ok(Principal {
            account,
            kind,
            arn,
            id,
            access_key_id: access_key_id.to_owned(),
            session: Some(Arc::new(Session {
                issued_at: from_unix(self.issued_at),
                expires_at: from_unix(self.expires_at),
                mfa_authenticated_at: self.mfa_authenticated_at.map(from_unix),
                policy: self.policy.clone(),
                policy_arns: self.policy_arns.clone(),
                tags: self.tags.clone(),
                transitive_tag_keys: self.transitive_tag_keys.clone(),
                source_identity: self.source_identity.clone(),
                chained: self.chained,
                web_identity: self.web_identity,
            })),
        })
    }
}

/// The token keys of a deployment, cached in memory.
pub struct TokenKeys {
    store: Store,
    keys: RwLock<Vec<TokenKey>>,
    rng: SystemRandom,
}

impl TokenKeys {
    pub fn new(store: Store) -> TokenKeys {
        TokenKeys {
            store,
            keys: RwLock::new(Vec::new()),
            rng: SystemRandom::new(),
        }
    }

    /// Seals `claims` for the access key id `access_key_id`.
    pub fn issue(
        &self,
        access_key_id: &str,
        claims: &Claims,
        now: OffsetDateTime,
    ) -> Result<String, TokenError> {
        let body = Zeroizing::new(
            serde_json::to_vec(claims).map_err(|e| TokenError::Sealing(e.to_string()))?,
        );
        self.seal(access_key_id.as_bytes(), &body, now)
    }

    /// Reads a token back. `Invalid` for anything this deployment did not seal for this
    /// access key id; expiry is the caller's to check.
    pub fn open(&self, access_key_id: &str, token: &str) -> Result<Claims, TokenError> {
        let plain = self.unseal(access_key_id.as_bytes(), token)?;
        serde_json::from_slice(&plain).map_err(|_| TokenError::Invalid)
    }

    /// Seals any bytes under the current key, bound to `aad` (what they are for).
    pub fn seal(
        &self,
        aad: &[u8],
        plain: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, TokenError> {
        let id = self.current_key(now)?;
        let keys = self.keys.read();
        let key = keys
            .iter()
            .find(|k| k.id == id)
            .ok_or_else(|| TokenError::Sealing("the current token key vanished".to_owned()))?;
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| TokenError::Random)?;
        let mut body = Zeroizing::new(plain.to_vec());
        key.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut *body,
            )
            .map_err(|_| TokenError::Sealing("sealing failed".to_owned()))?;
        let mut sealed: Vec<u8> = Vec::with_capacity(body.len() + 1 + 4 + NONCE_LEN);
        sealed.push(TOKEN_VERSION);
        sealed.extend_from_slice(&id.to_be_bytes());
        sealed.extend_from_slice(&nonce);
        sealed.extend_from_slice(&body);
        Ok(base64::engine::general_purpose::STANDARD.encode(sealed))
    }

    /// Opens what [`TokenKeys::seal`] sealed for `aad`; `Invalid` for anything else.
    pub fn unseal(&self, aad: &[u8], sealed: &str) -> Result<Zeroizing<Vec<u8>>, TokenError> {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(sealed.trim())
            .map_err(|_| TokenError::Invalid)?;
        let (&version, rest) = raw.split_first().ok_or(TokenError::Invalid)?;
        if version != TOKEN_VERSION || rest.len() < 4 + NONCE_LEN + 16 {
            return Err(TokenError::Invalid);
        }
        let (id_bytes, rest) = rest.split_at(4);
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let id = u32::from_be_bytes(id_bytes.try_into().map_err(|_| TokenError::Invalid)?);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| TokenError::Invalid)?;
        if !self.keys.read().iter().any(|k| k.id == id) {
            // Perhaps made by another node since this one last looked.
            self.reload()?;
        }
        let keys = self.keys.read();
        let key = keys
            .iter()
            .find(|k| k.id == id)
            .ok_or(TokenError::Invalid)?;
        let mut buffer = Zeroizing::new(ciphertext.to_vec());
        let len = key
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad),
                &mut buffer,
            )
            .map_err(|_| TokenError::Invalid)?
            .len();
        buffer.truncate(len);
        Ok(buffer)
    }

    /// The id of the key that issues tokens now, making one when none is young enough.
    fn current_key(&self, now: OffsetDateTime) -> Result<u32, TokenError> {
        let fresh = |keys: &[TokenKey]| {
            keys.iter()
                .filter(|k| now - k.created < ISSUE_FOR && k.created <= now + Duration::minutes(5))
                .max_by_key(|k| k.created)
                .map(|k| k.id)
        };
        if let Some(id) = fresh(&self.keys.read()) {
            return Ok(id);
        }
        self.reload()?;
        if let Some(id) = fresh(&self.keys.read()) {
            return Ok(id);
        }
        self.rotate(now)
    }

    fn rotate(&self, now: OffsetDateTime) -> Result<u32, TokenError> {
        let mut material = Zeroizing::new([0u8; 32]);
        self.rng
            .fill(&mut *material)
            .map_err(|_| TokenError::Random)?;
        let mut id_bytes = [0u8; 4];
        self.rng
            .fill(&mut id_bytes)
            .map_err(|_| TokenError::Random)?;
        let id = u32::from_be_bytes(id_bytes);
        let sealed = self
            .store
            .root_key()
            .seal(&purpose(id), &*material)
            .map_err(|e| TokenError::Sealing(e.to_string()))?;
        let record = TokenKeyRecord {
            id,
            created: now.unix_timestamp(),
            sealed,
        };
        self.store.write(|tx| {
            tx.put(GLOBAL, &record_key(id), &record)?;
            // Keys past any token's life go.
            for (key, old) in tx.all::<TokenKeyRecord>(GLOBAL, "")? {
                if now - from_unix(old.created) > ISSUE_FOR + KEEP_AFTER {
                    tx.delete::<TokenKeyRecord>(GLOBAL, &key)?;
                }
            }
            Ok::<_, moat_store::StoreError>(())
        })?;
        tracing::info!(key_id = %record_key(id), "made a new session token key");
        self.reload()?;
        Ok(id)
    }

    fn reload(&self) -> Result<(), TokenError> {
        let records = self.store.read(|tx| tx.all::<TokenKeyRecord>(GLOBAL, ""))?;
        let mut keys = Vec::with_capacity(records.len());
        for (_, record) in records {
            let material = self
                .store
                .root_key()
                .open(&purpose(record.id), &record.sealed)
                .map_err(|e| TokenError::Sealing(e.to_string()))?;
            let unbound = UnboundKey::new(&AES_256_GCM, &material)
                .map_err(|_| TokenError::Sealing("a token key has the wrong length".to_owned()))?;
            keys.push(TokenKey {
                id: record.id,
                created: from_unix(record.created),
                key: LessSafeKey::new(unbound),
            });
        }
        *self.keys.write() = keys;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use moat_store::RootKey;

    fn claims() -> Claims {
        Claims {
            account: "123456789012".to_owned(),
            identity: SessionIdentity::Role {
                name: "Deploy".to_owned(),
                path: "/ci/".to_owned(),
                id: "AROAEXAMPLEEXAMPLE01".to_owned(),
                session_name: "build-7".to_owned(),
            },
            secret_access_key: "s3cr3t/ExampleExampleExampleExample0000".to_owned(),
            issued_at: 1_800_000_000,
            expires_at: 1_800_003_600,
            mfa_authenticated_at: Some(1_800_000_000),
            policy: None,
            policy_arns: vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".to_owned()],
            tags: vec![("team".to_owned(), "blue".to_owned())],
            transitive_tag_keys: vec!["team".to_owned()],
            source_identity: Some("alice".to_owned()),
            chained: false,
            web_identity: false,
        }
    }

    fn keys() -> TokenKeys {
        TokenKeys::new(Store::open_in_memory(RootKey::from_bytes(&[3u8; 32]).unwrap()).unwrap())
    }

    #[test]
    fn a_token_reads_back_only_with_its_key_id() {
        let keys = keys();
        let now = from_unix(1_800_000_000);
        let token = keys.issue("ASIAEXAMPLE000000001", &claims(), now).unwrap();
        assert!(!token.contains("s3cr3t"));
        let back = keys.open("ASIAEXAMPLE000000001", &token).unwrap();
        assert!(back == claims());
        assert!(matches!(
            keys.open("ASIAEXAMPLE000000002", &token),
            Err(TokenError::Invalid)
        ));
        let principal = back.principal("ASIAEXAMPLE000000001").unwrap();
        assert_eq!(
            principal.arn,
            "arn:aws:sts::123456789012:assumed-role/Deploy/build-7"
        );
        assert_eq!(principal.id, "AROAEXAMPLEEXAMPLE01:build-7");
    }

    #[test]
    fn altered_tokens_are_refused() {
        let keys = keys();
        let now = from_unix(1_800_000_000);
        let token = keys.issue("ASIAEXAMPLE000000001", &claims(), now).unwrap();
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        for i in [0, 3, 10, raw.len() / 2, raw.len() - 1] {
            raw[i] ^= 0x01;
            let altered = base64::engine::general_purpose::STANDARD.encode(&raw);
            assert!(
                keys.open("ASIAEXAMPLE000000001", &altered).is_err(),
                "byte {i}"
            );
            raw[i] ^= 0x01;
        }
        assert!(keys.open("ASIAEXAMPLE000000001", "not base64!").is_err());
        assert!(keys.open("ASIAEXAMPLE000000001", "").is_err());
    }

    #[test]
    fn keys_rotate_daily_and_old_tokens_still_open() {
        let keys = keys();
        let day0 = from_unix(1_800_000_000);
        let old = keys.issue("ASIAEXAMPLE000000001", &claims(), day0).unwrap();
        let first = keys.current_key(day0).unwrap();
        let day1 = day0 + Duration::hours(25);
        let second = keys.current_key(day1).unwrap();
        assert_ne!(first, second);
        assert!(keys.open("ASIAEXAMPLE000000001", &old).is_ok());

        // Another node sharing the store opens tokens of keys it has not seen yet.
        let other = TokenKeys::new(keys.store.clone());
        assert!(other.open("ASIAEXAMPLE000000001", &old).is_ok());

        // Long after, the first key is gone and so are its tokens.
        let later = day0 + Duration::hours(24 * 5);
        keys.current_key(later).unwrap();
        let fresh = TokenKeys::new(keys.store.clone());
        assert!(fresh.open("ASIAEXAMPLE000000001", &old).is_err());
    }
}
