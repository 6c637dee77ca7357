//! Secrets at rest: AES-256-GCM under the node's root key. The associated data names what a
//! sealed value is for, so a sealed secret cannot be moved to another record.

use std::io::Write as _;
use std::path::Path;

use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("root key must be 32 bytes (64 hex characters)")]
    BadRootKey,
    #[error("root key file `{path}` is readable by other users; run `chmod 600 {path}`")]
    WorldReadable { path: String },
    #[error("cannot read or create root key file `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("sealed secret is corrupt or was sealed under another root key")]
    Open,
    #[error("system random number generator failed")]
    Random,
}

/// The 256-bit key that seals every secret this node stores.
pub struct RootKey {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl std::fmt::Debug for RootKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RootKey(<redacted>)")
    }
}

const SEALED_VERSION: u8 = 1;

impl RootKey {
    pub fn from_bytes(bytes: &[u8]) -> Result<RootKey, SecretError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SecretError::BadRootKey)?;
        Ok(RootKey {
            key: LessSafeKey::new(unbound),
            rng: SystemRandom::new(),
        })
    }

    /// Parses the hex form used in root key files and `MOAT_ROOT_KEY`.
    pub fn from_hex(text: &str) -> Result<RootKey, SecretError> {
        let text = text.trim();
        if text.len() != 64 {
            return Err(SecretError::BadRootKey);
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (i, slot) in bytes.iter_mut().enumerate() {
            let pair = text.get(i * 2..i * 2 + 2).ok_or(SecretError::BadRootKey)?;
            *slot = u8::from_str_radix(pair, 16).map_err(|_| SecretError::BadRootKey)?;
        }
        RootKey::from_bytes(bytes.as_slice())
    }

    /// Reads the root key file, or creates it (mode 0600) with a fresh key when absent.
    /// Returns whether it was created.
    pub fn load_or_create(path: &Path) -> Result<(RootKey, bool), SecretError> {
        let io = |source| SecretError::Io {
            path: path.display().to_string(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                refuse_world_readable(path)?;
                Ok((RootKey::from_hex(&text)?, false))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let rng = SystemRandom::new();
                let mut bytes = Zeroizing::new([0u8; 32]);
                rng.fill(bytes.as_mut_slice())
                    .map_err(|_| SecretError::Random)?;
                let hex: Zeroizing<String> =
                    Zeroizing::new(bytes.iter().map(|b| format!("{b:02x}")).collect());
                let mut file = create_private(path).map_err(io)?;
                file.write_all(hex.as_bytes()).map_err(io)?;
                file.write_all(b"\n").map_err(io)?;
                file.sync_all().map_err(io)?;
                Ok((RootKey::from_bytes(bytes.as_slice())?, true))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Encrypts `plaintext`; `purpose` is bound as associated data.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Result<Vec<u8>, SecretError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SecretError::Random)?;
        let mut buf = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut buf,
            )
            .map_err(|_| SecretError::Open)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(SEALED_VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buf);
        Ok(out)
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SecretError> {
        let (version, rest) = sealed.split_first().ok_or(SecretError::Open)?;
        if *version != SEALED_VERSION || rest.len() < NONCE_LEN {
            return Err(SecretError::Open);
        }
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SecretError::Open)?;
        let mut buf = Zeroizing::new(ciphertext.to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), buf.as_mut_slice())
            .map_err(|_| SecretError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// Creates a file only its owner can read, failing if it exists.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Secret files must not be readable by group or others.
pub fn refuse_world_readable(path: &Path) -> Result<(), SecretError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| SecretError::Io {
            path: path.display().to_string(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(SecretError::WorldReadable {
                path: path.display().to_string(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> RootKey {
        RootKey::from_bytes(&[7u8; 32]).unwrap()
    }

    #[test]
    fn seal_round_trips_and_binds_purpose() {
        let k = key();
        let sealed = k.seal("access-key:AKIA1", b"secret").unwrap();
        assert!(!sealed.windows(6).any(|w| w == b"secret"));
        assert_eq!(
            k.open("access-key:AKIA1", &sealed).unwrap().as_slice(),
            b"secret"
        );
        assert!(k.open("access-key:AKIA2", &sealed).is_err());
        let other = RootKey::from_bytes(&[8u8; 32]).unwrap();
        assert!(other.open("access-key:AKIA1", &sealed).is_err());
        assert!(k.open("x", &[]).is_err());
        assert!(k.open("x", &[1, 2, 3]).is_err());
    }

    #[test]
    fn root_key_file_is_created_private_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("root.key");
        let (k1, created) = RootKey::load_or_create(&path).unwrap();
        assert!(created);
        let (k2, created) = RootKey::load_or_create(&path).unwrap();
        assert!(!created);
        let sealed = k1.seal("p", b"v").unwrap();
        assert_eq!(k2.open("p", &sealed).unwrap().as_slice(), b"v");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                RootKey::load_or_create(&path),
                Err(SecretError::WorldReadable { .. })
            ));
        }
    }

    #[test]
    fn hex_parsing_rejects_bad_keys() {
        assert!(RootKey::from_hex(&"ab".repeat(32)).is_ok());
        assert!(RootKey::from_hex("abc").is_err());
        assert!(RootKey::from_hex(&"zz".repeat(32)).is_err());
    }
}
