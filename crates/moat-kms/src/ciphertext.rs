//! The ciphertext blob of a symmetric key: which key and material version made it, and the
//! AES-256-GCM ciphertext whose additional data binds that header and the encryption context.
//!
//! ```text
//! 0x01 | account (8, big-endian) | key id (16) | material version (32) | nonce (12) | ciphertext+tag
//! ```
//!
//! Decrypt needs no `KeyId`: the blob says which key to use. Nothing in the header is secret;
//! changing any of it, or the encryption context, fails authentication.

use std::collections::BTreeMap;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};

use crate::keys::{hex_lower, uuid_bytes, uuid_string};
use crate::KmsError;

const FORMAT: u8 = 0x01;
const HEADER_LEN: usize = 1 + 8 + 16 + 32;
const TAG_LEN: usize = 16;

/// What a blob's header says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub account: String,
    pub key_id: String,
    pub version: String,
}

/// Reads a blob's header; `InvalidCiphertextException` for anything that is not one of ours.
pub fn header(blob: &[u8]) -> Result<Header, KmsError> {
    if blob.len() < HEADER_LEN + NONCE_LEN + TAG_LEN || blob.first() != Some(&FORMAT) {
        return Err(KmsError::InvalidCiphertext);
    }
    let account_bytes: [u8; 8] = blob
        .get(1..9)
        .and_then(|b| b.try_into().ok())
        .ok_or(KmsError::InvalidCiphertext)?;
    let key_bytes: [u8; 16] = blob
        .get(9..25)
        .and_then(|b| b.try_into().ok())
        .ok_or(KmsError::InvalidCiphertext)?;
    let version = blob
        .get(25..HEADER_LEN)
        .ok_or(KmsError::InvalidCiphertext)?;
    Ok(Header {
        account: format!("{:012}", u64::from_be_bytes(account_bytes)),
        key_id: uuid_string(&key_bytes),
        version: hex_lower(version),
    })
}

/// The additional authenticated data: the header, then the encryption context as
/// length-prefixed pairs in key order (so `{"a":"bc"}` and `{"ab":"c"}` differ).
fn aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + 64);
    out.extend_from_slice(header);
    for (k, v) in context {
        out.extend_from_slice(&(k.len() as u64).to_be_bytes());
        out.extend_from_slice(k.as_bytes());
        out.extend_from_slice(&(v.len() as u64).to_be_bytes());
        out.extend_from_slice(v.as_bytes());
    }
    out
}

fn header_bytes(account: &str, key_id: &str, version: &str) -> Result<Vec<u8>, KmsError> {
    let account: u64 = account
        .parse()
        .map_err(|_| KmsError::Internal(format!("account id `{account}` is not numeric")))?;
    let key = uuid_bytes(key_id)
        .ok_or_else(|| KmsError::Internal(format!("key id `{key_id}` is not a UUID")))?;
    let version = hex_decode(version)
        .filter(|v| v.len() == 32)
        .ok_or_else(|| KmsError::Internal("a material version id is not 32 hex bytes".into()))?;
    let mut out = Vec::with_capacity(HEADER_LEN);
    out.push(FORMAT);
    out.extend_from_slice(&account.to_be_bytes());
    out.extend_from_slice(&key);
    out.extend_from_slice(&version);
    Ok(out)
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(s.get(i * 2..i * 2 + 2)?, 16).ok())
        .collect()
}

/// One version of a symmetric key, ready to seal and open: its AES-GCM key schedule and the
/// header its ciphertexts carry.
pub struct SymmetricKey {
    aes: LessSafeKey,
    header: Vec<u8>,
}

impl SymmetricKey {
    pub fn new(
        account: &str,
        key_id: &str,
        version: &str,
        material: &[u8],
    ) -> Result<SymmetricKey, KmsError> {
        let unbound = UnboundKey::new(&AES_256_GCM, material)
            .map_err(|_| KmsError::Internal("symmetric key material is not 32 bytes".into()))?;
        Ok(SymmetricKey {
            aes: LessSafeKey::new(unbound),
            header: header_bytes(account, key_id, version)?,
        })
    }

    /// Encrypts `plaintext` under this version, bound to `context`.
    pub fn seal(
        &self,
        context: &BTreeMap<String, String>,
        plaintext: &[u8],
    ) -> Result<Vec<u8>, KmsError> {
        // A random 96-bit nonce from the thread's CSPRNG (ChaCha12, reseeded from the OS):
        // aws-lc's RAND_bytes costs about half a microsecond a call, more than the sealing.
        // Key material still comes from aws-lc.
        let mut nonce = [0u8; NONCE_LEN];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut nonce);
        let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + plaintext.len() + TAG_LEN);
        out.extend_from_slice(&self.header);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(plaintext);
        let body = out
            .get_mut(HEADER_LEN + NONCE_LEN..)
            .ok_or_else(|| KmsError::Internal("ciphertext layout".into()))?;
        let tag = self
            .aes
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(&self.header, context)),
                body,
            )
            .map_err(|_| KmsError::Internal("AES-GCM encryption failed".into()))?;
        out.extend_from_slice(tag.as_ref());
        Ok(out)
    }

    /// Decrypts a blob made by this version. A changed blob or context fails with
    /// `InvalidCiphertextException`.
    pub fn open(
        &self,
        blob: &[u8],
        context: &BTreeMap<String, String>,
    ) -> Result<zeroize::Zeroizing<Vec<u8>>, KmsError> {
        if blob.get(..HEADER_LEN) != Some(self.header.as_slice()) {
            return Err(KmsError::InvalidCiphertext);
        }
        let nonce: [u8; NONCE_LEN] = blob
            .get(HEADER_LEN..HEADER_LEN + NONCE_LEN)
            .and_then(|n| n.try_into().ok())
            .ok_or(KmsError::InvalidCiphertext)?;
        let body = blob
            .get(HEADER_LEN + NONCE_LEN..)
            .ok_or(KmsError::InvalidCiphertext)?;
        let mut buf = zeroize::Zeroizing::new(body.to_vec());
        let len = self
            .aes
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(aad(&self.header, context)),
                &mut buf,
            )
            .map_err(|_| KmsError::InvalidCiphertext)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Encrypts `plaintext` under one version of a symmetric key.
pub fn seal(
    account: &str,
    key_id: &str,
    version: &str,
    material: &[u8],
    context: &BTreeMap<String, String>,
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    SymmetricKey::new(account, key_id, version, material)?.seal(context, plaintext)
}

/// Decrypts a blob with the material of the key version its header names. A changed blob or
/// context fails with `InvalidCiphertextException`.
pub fn open(
    blob: &[u8],
    material: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<zeroize::Zeroizing<Vec<u8>>, KmsError> {
    let h = header(blob)?;
    SymmetricKey::new(&h.account, &h.key_id, &h.version, material)?.open(blob, context)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "1234abcd-12ab-44cd-96ef-1234567890ab";

    fn version() -> String {
        "ab".repeat(32)
    }

    #[test]
    fn round_trip_binds_context_and_header() {
        let material = [7u8; 32];
        let mut ctx = BTreeMap::new();
        ctx.insert("purpose".to_owned(), "test".to_owned());
        let blob = seal("111122223333", KEY, &version(), &material, &ctx, b"secret").unwrap();
        let h = header(&blob).unwrap();
        assert_eq!(h.account, "111122223333");
        assert_eq!(h.key_id, KEY);
        assert_eq!(h.version, version());
        assert_eq!(&open(&blob, &material, &ctx).unwrap()[..], b"secret");

        let mut other = ctx.clone();
        other.insert("purpose".to_owned(), "other".to_owned());
        assert!(matches!(
            open(&blob, &material, &other),
            Err(KmsError::InvalidCiphertext)
        ));
        assert!(matches!(
            open(&blob, &material, &BTreeMap::new()),
            Err(KmsError::InvalidCiphertext)
        ));
        for i in 0..blob.len() {
            let mut tampered = blob.clone();
            tampered[i] ^= 1;
            assert!(open(&tampered, &material, &ctx).is_err(), "byte {i}");
        }
    }

    #[test]
    fn context_pairs_are_unambiguous() {
        let h = header_bytes("111122223333", KEY, &version()).unwrap();
        let a: BTreeMap<_, _> = [("a".to_owned(), "bc".to_owned())].into();
        let b: BTreeMap<_, _> = [("ab".to_owned(), "c".to_owned())].into();
        assert_ne!(aad(&h, &a), aad(&h, &b));
    }

    #[test]
    fn foreign_blobs_are_invalid_ciphertext() {
        assert!(matches!(header(b""), Err(KmsError::InvalidCiphertext)));
        assert!(matches!(
            header(&[0u8; 200]),
            Err(KmsError::InvalidCiphertext)
        ));
        assert!(matches!(
            header(&[1u8; 20]),
            Err(KmsError::InvalidCiphertext)
        ));
    }
}
