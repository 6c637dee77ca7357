//! Signing-key derivation and its cache.
//!
//! A signing key depends only on (secret, date, region, service), so a busy client reuses one
//! key for a whole day; caching saves four HMACs per request. The cache is keyed by a SHA-256
//! over those four values, so it never holds a secret, only keys derived from it.

use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

use ring::{digest, hmac};

use crate::SCOPE_TERMINATOR;

/// A derived SigV4 signing key, ready to sign strings to sign.
///
/// Secret: it signs any request of its scope. `Debug` prints no key material.
#[derive(Clone)]
pub struct SigningKey(hmac::Key);

impl SigningKey {
    /// Derives the key for `secret_access_key` and the scope `date/region/service/aws4_request`.
    pub fn derive(secret_access_key: &[u8], date: &str, region: &str, service: &str) -> Self {
        Self(hmac::Key::new(
            hmac::HMAC_SHA256,
            &derive_bytes(secret_access_key, date, region, service),
        ))
    }

    /// HMAC-SHA256 of `message` under this key.
    pub(crate) fn sign(&self, message: &[u8]) -> hmac::Tag {
        hmac::sign(&self.0, message)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SigningKey(<redacted>)")
    }
}

/// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
pub(crate) fn derive_bytes(
    secret_access_key: &[u8],
    date: &str,
    region: &str,
    service: &str,
) -> [u8; 32] {
    let mut k_secret = Vec::with_capacity(4 + secret_access_key.len());
    k_secret.extend_from_slice(b"AWS4");
    k_secret.extend_from_slice(secret_access_key);
    let k_date = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, &k_secret),
        date.as_bytes(),
    );
    let k_region = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, k_date.as_ref()),
        region.as_bytes(),
    );
    let k_service = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, k_region.as_ref()),
        service.as_bytes(),
    );
    let k_signing = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, k_service.as_ref()),
        SCOPE_TERMINATOR.as_bytes(),
    );
    let mut out = [0u8; 32];
    out.copy_from_slice(k_signing.as_ref());
    out
}

/// A thread-safe, bounded cache of signing keys.
///
/// When full it is cleared rather than evicting one entry at a time: at 10,000 entries that
/// happens at most once per 10,000 distinct (key, day, region, service), and keeps the hot path a
/// plain read lock.
pub struct SigningKeyCache {
    entries: RwLock<HashMap<[u8; 32], SigningKey>>,
    capacity: usize,
}

impl SigningKeyCache {
    /// The capacity of [`SigningKeyCache::new`].
    pub const DEFAULT_CAPACITY: usize = 10_000;

    /// A cache holding up to [`Self::DEFAULT_CAPACITY`] keys.
    pub fn new() -> Self {
        Self::with_capacity(Self::DEFAULT_CAPACITY)
    }

    /// A cache holding up to `capacity` keys; `0` disables caching.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            entries: RwLock::new(HashMap::new()),
            capacity,
        }
    }

    /// The signing key for this secret and scope, derived on a miss.
    pub fn signing_key(
        &self,
        secret_access_key: &[u8],
        date: &str,
        region: &str,
        service: &str,
    ) -> SigningKey {
        let id = cache_id(secret_access_key, date, region, service);
        // A poisoned lock only means another thread panicked mid-insert; the map is still a
        // valid map of correctly derived keys, so keep using it.
        if let Some(key) = self
            .entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
        {
            return key.clone();
        }
        let key = SigningKey::derive(secret_access_key, date, region, service);
        if self.capacity > 0 {
            let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
            if entries.len() >= self.capacity {
                entries.clear();
            }
            entries.insert(id, key.clone());
        }
        key
    }

    /// How many keys are cached.
    pub fn len(&self) -> usize {
        self.entries
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Whether no key is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets every cached key, e.g. after a secret was rotated out.
    pub fn clear(&self) {
        self.entries
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
    }
}

impl Default for SigningKeyCache {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for SigningKeyCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKeyCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// SHA-256 over the length-prefixed inputs: the lengths keep `("ab", "c")` and `("a", "bc")`
/// apart, and the hash keeps the secret itself out of the map.
fn cache_id(secret_access_key: &[u8], date: &str, region: &str, service: &str) -> [u8; 32] {
    let mut ctx = digest::Context::new(&digest::SHA256);
    for part in [
        secret_access_key,
        date.as_bytes(),
        region.as_bytes(),
        service.as_bytes(),
    ] {
        ctx.update(&(part.len() as u64).to_be_bytes());
        ctx.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    const SECRET: &[u8] = b"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";

    /// AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
    #[test]
    fn derivation_matches_aws_iam_example() {
        assert_eq!(
            hex::encode(derive_bytes(SECRET, "20150830", "us-east-1", "iam")),
            "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"
        );
    }

    #[test]
    fn cached_key_signs_like_a_fresh_one() {
        let cache = SigningKeyCache::new();
        let fresh = SigningKey::derive(SECRET, "20150830", "us-east-1", "iam");
        for _ in 0..2 {
            let cached = cache.signing_key(SECRET, "20150830", "us-east-1", "iam");
            assert_eq!(cached.sign(b"x").as_ref(), fresh.sign(b"x").as_ref());
        }
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn cache_separates_every_input() {
        let cache = SigningKeyCache::new();
        let a = cache.signing_key(b"secret", "20150830", "us-east-1", "iam");
        let others = [
            cache.signing_key(b"secreT", "20150830", "us-east-1", "iam"),
            cache.signing_key(b"secret", "20150831", "us-east-1", "iam"),
            cache.signing_key(b"secret", "20150830", "us-east-2", "iam"),
            cache.signing_key(b"secret", "20150830", "us-east-1", "sts"),
        ];
        for other in &others {
            assert_ne!(a.sign(b"x").as_ref(), other.sign(b"x").as_ref());
        }
        assert_eq!(cache.len(), 5);
        assert_ne!(cache_id(b"ab", "c", "", ""), cache_id(b"a", "bc", "", ""));
    }

    #[test]
    fn cache_is_bounded() {
        let cache = SigningKeyCache::with_capacity(3);
        for i in 0..10 {
            cache.signing_key(
                format!("secret{i}").as_bytes(),
                "20150830",
                "us-east-1",
                "iam",
            );
            assert!(cache.len() <= 3);
        }
        assert!(!cache.is_empty());
        cache.clear();
        assert!(cache.is_empty());

        let disabled = SigningKeyCache::with_capacity(0);
        disabled.signing_key(SECRET, "20150830", "us-east-1", "iam");
        assert!(disabled.is_empty());
    }

    #[test]
    fn debug_prints_no_key_material() {
        let cache = SigningKeyCache::new();
        let key = cache.signing_key(SECRET, "20150830", "us-east-1", "iam");
        assert_eq!(format!("{key:?}"), "SigningKey(<redacted>)");
        let debug = format!("{cache:?}");
        assert!(debug.contains("len: 1"), "{debug}");
        assert!(!debug.contains("c4afb1cc"), "{debug}");
    }

    #[test]
    fn cache_is_shared_across_threads() {
        let cache = Arc::new(SigningKeyCache::new());
        let handles: Vec<_> = (0..4)
            .map(|i| {
                let cache = Arc::clone(&cache);
                std::thread::spawn(move || {
                    for j in 0..50 {
                        cache.signing_key(
                            format!("s{}", (i + j) % 10).as_bytes(),
                            "20150830",
                            "us-east-1",
                            "iam",
                        );
                    }
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        assert_eq!(cache.len(), 10);
    }
}
