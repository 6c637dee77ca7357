//! Every cryptographic primitive KMS needs, on aws-lc-rs.
//!
//! Pure: no I/O, no storage, no wire types. The service layer decides which key a request may
//! use; this module only checks what cryptography itself demands (a spec supports an
//! algorithm, a digest has the hash's length, a plaintext fits the RSA modulus) and keeps secret
//! bytes in `Zeroizing` buffers.
//!
//! String forms are exactly AWS KMS's enum values, so the wire layer can parse into these types.

use std::fmt;

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::agreement;
use aws_lc_rs::digest;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::hmac;
use aws_lc_rs::key_wrap::{AesKek, KeyWrapPadded, AES_256};
use aws_lc_rs::rand;
use aws_lc_rs::rsa::{
    self, OaepAlgorithm, OaepPrivateDecryptingKey, OaepPublicEncryptingKey, PrivateDecryptingKey,
    OAEP_SHA1_MGF1SHA1, OAEP_SHA256_MGF1SHA256,
};
use aws_lc_rs::signature::{self, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _};
use zeroize::Zeroizing;

/// Length of a `SYMMETRIC_DEFAULT` key: AES-256.
pub const SYMMETRIC_KEY_LEN: usize = 32;

/// Length of the AES key inside an `RSA_AES_KEY_WRAP_*` import: KMS asks for AES-256.
const EPHEMERAL_AES_KEY_LEN: usize = 32;

/// Declares a fieldless enum whose variants map one to one onto AWS's string values.
macro_rules! aws_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every value, in AWS's documentation order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Parses AWS's string form; `None` for anything else (case-sensitive, as AWS).
            #[must_use]
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$variant), )+
                    _ => None,
                }
            }

            /// AWS's string form.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self {
                    $( Self::$variant => $text, )+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

aws_enum! {
    /// The type of key material a KMS key holds (`KeySpec`).
    pub enum KeySpec {
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
        EccNistP256 => "ECC_NIST_P256",
        EccNistP384 => "ECC_NIST_P384",
        EccNistP521 => "ECC_NIST_P521",
        EccSecgP256k1 => "ECC_SECG_P256K1",
        Hmac224 => "HMAC_224",
        Hmac256 => "HMAC_256",
        Hmac384 => "HMAC_384",
        Hmac512 => "HMAC_512",
    }
}

aws_enum! {
    /// What a KMS key may be used for (`KeyUsage`).
    pub enum KeyUsage {
        EncryptDecrypt => "ENCRYPT_DECRYPT",
        SignVerify => "SIGN_VERIFY",
        GenerateVerifyMac => "GENERATE_VERIFY_MAC",
        KeyAgreement => "KEY_AGREEMENT",
    }
}

aws_enum! {
    /// `SigningAlgorithmSpec`.
    pub enum SigningAlgorithm {
        RsassaPssSha256 => "RSASSA_PSS_SHA_256",
        RsassaPssSha384 => "RSASSA_PSS_SHA_384",
        RsassaPssSha512 => "RSASSA_PSS_SHA_512",
        RsassaPkcs1V15Sha256 => "RSASSA_PKCS1_V1_5_SHA_256",
        RsassaPkcs1V15Sha384 => "RSASSA_PKCS1_V1_5_SHA_384",
        RsassaPkcs1V15Sha512 => "RSASSA_PKCS1_V1_5_SHA_512",
        EcdsaSha256 => "ECDSA_SHA_256",
        EcdsaSha384 => "ECDSA_SHA_384",
        EcdsaSha512 => "ECDSA_SHA_512",
    }
}

aws_enum! {
    /// Whether `Sign`/`Verify` receive the message itself or its digest (`MessageType`).
    pub enum MessageType {
        Raw => "RAW",
        Digest => "DIGEST",
    }
}

aws_enum! {
    /// `EncryptionAlgorithmSpec`.
    pub enum EncryptionAlgorithm {
        SymmetricDefault => "SYMMETRIC_DEFAULT",
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
    }
}

aws_enum! {
    /// `MacAlgorithmSpec`.
    pub enum MacAlgorithm {
        HmacSha224 => "HMAC_SHA_224",
        HmacSha256 => "HMAC_SHA_256",
        HmacSha384 => "HMAC_SHA_384",
        HmacSha512 => "HMAC_SHA_512",
    }
}

aws_enum! {
    /// `KeyAgreementAlgorithmSpec`.
    pub enum KeyAgreementAlgorithm {
        Ecdh => "ECDH",
    }
}

aws_enum! {
    /// `DataKeyPairSpec` for `GenerateDataKeyPair`.
    pub enum DataKeyPairSpec {
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
        EccNistP256 => "ECC_NIST_P256",
        EccNistP384 => "ECC_NIST_P384",
        EccNistP521 => "ECC_NIST_P521",
        EccSecgP256k1 => "ECC_SECG_P256K1",
    }
}

aws_enum! {
    /// How imported key material is wrapped (`AlgorithmSpec` of `GetParametersForImport`).
    pub enum WrappingAlgorithm {
        /// Parsed so the service can answer it precisely, but refused: KMS stopped accepting
        /// it on 2023-10-10, and PKCS#1 v1.5 decryption is a padding oracle waiting to happen.
        RsaesPkcs1V15 => "RSAES_PKCS1_V1_5",
        RsaesOaepSha1 => "RSAES_OAEP_SHA_1",
        RsaesOaepSha256 => "RSAES_OAEP_SHA_256",
        RsaAesKeyWrapSha1 => "RSA_AES_KEY_WRAP_SHA_1",
        RsaAesKeyWrapSha256 => "RSA_AES_KEY_WRAP_SHA_256",
    }
}

aws_enum! {
    /// The RSA key that protects imported key material (`WrappingKeySpec`).
    pub enum WrappingKeySpec {
        Rsa2048 => "RSA_2048",
        Rsa3072 => "RSA_3072",
        Rsa4096 => "RSA_4096",
    }
}

/// Why a cryptographic operation failed. No variant carries key material or plaintext.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// The key spec cannot do this at all, e.g. signing with `SYMMETRIC_DEFAULT` or ECDH with
    /// secp256k1. KMS: `InvalidKeyUsageException`.
    #[error("key spec `{spec}` does not support this operation")]
    WrongKeySpec { spec: KeySpec },
    /// The spec supports the operation but not with this algorithm, e.g. `ECDSA_SHA_384` on a
    /// P-256 key. KMS: `InvalidKeyUsageException`.
    #[error("algorithm `{algorithm}` is not valid for key spec `{spec}`")]
    WrongAlgorithmForKey {
        spec: KeySpec,
        algorithm: &'static str,
    },
    /// A `DIGEST` message is not exactly the algorithm's hash length. KMS: `ValidationException`.
    #[error("message digest must be exactly {expected} bytes")]
    InvalidDigestLength { expected: usize },
    /// The plaintext does not fit this RSA key and OAEP hash. KMS: `ValidationException`.
    #[error("plaintext is longer than the {max} bytes this key and algorithm accept")]
    PlaintextTooLarge { max: usize },
    /// Decryption, unwrapping or authentication failed; deliberately says nothing about why.
    /// KMS: `InvalidCiphertextException`.
    #[error("ciphertext is invalid")]
    InvalidCiphertext,
    /// The peer key of a key agreement is not a DER SubjectPublicKeyInfo of a valid point on
    /// the key's curve. KMS: `ValidationException`.
    #[error("public key is not a DER-encoded SubjectPublicKeyInfo on the key's curve")]
    InvalidPeerKey,
    /// Imported key material does not fit the key spec (length, key type, curve or modulus
    /// size). Only `check_imported_material` returns it. KMS: `IncorrectKeyMaterialException`
    /// (or `ValidationException`; the service decides).
    #[error("key material does not match key spec `{spec}`")]
    InvalidKeyMaterial { spec: KeySpec },
    /// The wrapping algorithm is known but not supported (`RSAES_PKCS1_V1_5`).
    /// KMS: `ValidationException`.
    #[error("wrapping algorithm `{0}` is not supported")]
    UnsupportedWrappingAlgorithm(WrappingAlgorithm),
    /// Stored material does not parse as the spec it is stored under: our fault, not the
    /// caller's. KMS: `KMSInternalException`.
    #[error("stored key material does not match its key spec")]
    CorruptKeyMaterial,
    /// aws-lc failed where it should not (random source, key generation, encoding).
    /// KMS: `KMSInternalException`.
    #[error("internal cryptographic failure: {0}")]
    Internal(&'static str),
}

/// Secret key material as KMS stores it: 32 random bytes for `SYMMETRIC_DEFAULT`, the raw key
/// for HMAC, a PKCS#8 DER private key for asymmetric specs.
pub struct Material(Zeroizing<Vec<u8>>);

impl Material {
    /// Wraps bytes read back from storage. They are trusted to match the spec they were stored
    /// under; an operation on mismatched bytes fails with `CorruptKeyMaterial`.
    #[must_use]
    pub fn from_stored(bytes: Zeroizing<Vec<u8>>) -> Self {
        Self(bytes)
    }

    /// The secret bytes, for the storage layer to seal.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Hands over the secret bytes, still zeroized on drop.
    #[must_use]
    pub fn into_bytes(self) -> Zeroizing<Vec<u8>> {
        self.0
    }
}

// Key material must never reach a log line through `{:?}`.
impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Material")
            .field("len", &self.0.len())
            .finish_non_exhaustive()
    }
}

impl KeySpec {
    /// RSA and elliptic-curve specs: a private key with a public half.
    #[must_use]
    pub const fn is_asymmetric(self) -> bool {
        matches!(self.kind(), Kind::Rsa(_) | Kind::Ec(_))
    }

    /// The `HMAC_*` specs.
    #[must_use]
    pub const fn is_hmac(self) -> bool {
        matches!(self.kind(), Kind::Hmac(_))
    }

    /// The key usages `CreateKey` accepts for this spec.
    #[must_use]
    pub const fn allowed_usages(self) -> &'static [KeyUsage] {
        match self.kind() {
            Kind::Symmetric => &[KeyUsage::EncryptDecrypt],
            Kind::Rsa(_) => &[KeyUsage::EncryptDecrypt, KeyUsage::SignVerify],
            Kind::Ec(Curve::Secp256k1) => &[KeyUsage::SignVerify],
            Kind::Ec(_) => &[KeyUsage::SignVerify, KeyUsage::KeyAgreement],
            Kind::Hmac(_) => &[KeyUsage::GenerateVerifyMac],
        }
    }

    /// `EncryptionAlgorithms` as `DescribeKey` lists them for this spec and usage.
    #[must_use]
    pub const fn encryption_algorithms(self, usage: KeyUsage) -> &'static [EncryptionAlgorithm] {
        match (self.kind(), usage) {
            (Kind::Symmetric, KeyUsage::EncryptDecrypt) => &[EncryptionAlgorithm::SymmetricDefault],
            (Kind::Rsa(_), KeyUsage::EncryptDecrypt) => &[
                EncryptionAlgorithm::RsaesOaepSha1,
                EncryptionAlgorithm::RsaesOaepSha256,
            ],
            _ => &[],
        }
    }

    /// `SigningAlgorithms` as `DescribeKey` lists them for this spec and usage.
    #[must_use]
    pub const fn signing_algorithms(self, usage: KeyUsage) -> &'static [SigningAlgorithm] {
        match (self.kind(), usage) {
            (Kind::Rsa(_), KeyUsage::SignVerify) => &[
                SigningAlgorithm::RsassaPkcs1V15Sha256,
                SigningAlgorithm::RsassaPkcs1V15Sha384,
                SigningAlgorithm::RsassaPkcs1V15Sha512,
                SigningAlgorithm::RsassaPssSha256,
                SigningAlgorithm::RsassaPssSha384,
                SigningAlgorithm::RsassaPssSha512,
            ],
            (Kind::Ec(curve), KeyUsage::SignVerify) => curve.signing_algorithms(),
            _ => &[],
        }
    }

    /// `MacAlgorithms` as `DescribeKey` lists them for this spec and usage.
    #[must_use]
    pub const fn mac_algorithms(self, usage: KeyUsage) -> &'static [MacAlgorithm] {
        match (self, usage) {
            (Self::Hmac224, KeyUsage::GenerateVerifyMac) => &[MacAlgorithm::HmacSha224],
            (Self::Hmac256, KeyUsage::GenerateVerifyMac) => &[MacAlgorithm::HmacSha256],
            (Self::Hmac384, KeyUsage::GenerateVerifyMac) => &[MacAlgorithm::HmacSha384],
            (Self::Hmac512, KeyUsage::GenerateVerifyMac) => &[MacAlgorithm::HmacSha512],
            _ => &[],
        }
    }

    /// `KeyAgreementAlgorithms` as `DescribeKey` lists them for this spec and usage.
    #[must_use]
    pub const fn key_agreement_algorithms(
        self,
        usage: KeyUsage,
    ) -> &'static [KeyAgreementAlgorithm] {
        match (self.kind(), usage) {
            (Kind::Ec(Curve::Secp256k1), _) => &[],
            (Kind::Ec(_), KeyUsage::KeyAgreement) => &[KeyAgreementAlgorithm::Ecdh],
            _ => &[],
        }
    }

    const fn kind(self) -> Kind {
        match self {
            Self::SymmetricDefault => Kind::Symmetric,
            Self::Rsa2048 => Kind::Rsa(RsaSize::Rsa2048),
            Self::Rsa3072 => Kind::Rsa(RsaSize::Rsa3072),
            Self::Rsa4096 => Kind::Rsa(RsaSize::Rsa4096),
            Self::EccNistP256 => Kind::Ec(Curve::P256),
            Self::EccNistP384 => Kind::Ec(Curve::P384),
            Self::EccNistP521 => Kind::Ec(Curve::P521),
            Self::EccSecgP256k1 => Kind::Ec(Curve::Secp256k1),
            Self::Hmac224 => Kind::Hmac(MacAlgorithm::HmacSha224),
            Self::Hmac256 => Kind::Hmac(MacAlgorithm::HmacSha256),
            Self::Hmac384 => Kind::Hmac(MacAlgorithm::HmacSha384),
            Self::Hmac512 => Kind::Hmac(MacAlgorithm::HmacSha512),
        }
    }
}

impl DataKeyPairSpec {
    /// The KMS key spec with the same key type.
    #[must_use]
    pub const fn key_spec(self) -> KeySpec {
        match self {
            Self::Rsa2048 => KeySpec::Rsa2048,
            Self::Rsa3072 => KeySpec::Rsa3072,
            Self::Rsa4096 => KeySpec::Rsa4096,
            Self::EccNistP256 => KeySpec::EccNistP256,
            Self::EccNistP384 => KeySpec::EccNistP384,
            Self::EccNistP521 => KeySpec::EccNistP521,
            Self::EccSecgP256k1 => KeySpec::EccSecgP256k1,
        }
    }
}

impl WrappingKeySpec {
    /// The RSA key spec of the wrapping key, for `public_key_der`.
    #[must_use]
    pub const fn key_spec(self) -> KeySpec {
        match self {
            Self::Rsa2048 => KeySpec::Rsa2048,
            Self::Rsa3072 => KeySpec::Rsa3072,
            Self::Rsa4096 => KeySpec::Rsa4096,
        }
    }
}

impl SigningAlgorithm {
    const fn digest(self) -> &'static digest::Algorithm {
        match self {
            Self::RsassaPssSha256 | Self::RsassaPkcs1V15Sha256 | Self::EcdsaSha256 => {
                &digest::SHA256
            }
            Self::RsassaPssSha384 | Self::RsassaPkcs1V15Sha384 | Self::EcdsaSha384 => {
                &digest::SHA384
            }
            Self::RsassaPssSha512 | Self::RsassaPkcs1V15Sha512 | Self::EcdsaSha512 => {
                &digest::SHA512
            }
        }
    }

    /// RSA padding for signing and the matching verification parameters. PSS uses a salt as
    /// long as the hash, as KMS does (aws-lc-rs's default `RsaPssSaltLength::Digest`).
    fn rsa(
        self,
    ) -> Option<(
        &'static dyn signature::RsaEncoding,
        &'static signature::RsaParameters,
    )> {
        match self {
            Self::RsassaPssSha256 => Some((
                &signature::RSA_PSS_SHA256,
                &signature::RSA_PSS_2048_8192_SHA256,
            )),
            Self::RsassaPssSha384 => Some((
                &signature::RSA_PSS_SHA384,
                &signature::RSA_PSS_2048_8192_SHA384,
            )),
            Self::RsassaPssSha512 => Some((
                &signature::RSA_PSS_SHA512,
                &signature::RSA_PSS_2048_8192_SHA512,
            )),
            Self::RsassaPkcs1V15Sha256 => Some((
                &signature::RSA_PKCS1_SHA256,
                &signature::RSA_PKCS1_2048_8192_SHA256,
            )),
            Self::RsassaPkcs1V15Sha384 => Some((
                &signature::RSA_PKCS1_SHA384,
                &signature::RSA_PKCS1_2048_8192_SHA384,
            )),
            Self::RsassaPkcs1V15Sha512 => Some((
                &signature::RSA_PKCS1_SHA512,
                &signature::RSA_PKCS1_2048_8192_SHA512,
            )),
            Self::EcdsaSha256 | Self::EcdsaSha384 | Self::EcdsaSha512 => None,
        }
    }
}

impl MacAlgorithm {
    const fn hmac(self) -> hmac::Algorithm {
        match self {
            Self::HmacSha224 => hmac::HMAC_SHA224,
            Self::HmacSha256 => hmac::HMAC_SHA256,
            Self::HmacSha384 => hmac::HMAC_SHA384,
            Self::HmacSha512 => hmac::HMAC_SHA512,
        }
    }

    /// The length KMS generates: the hash's output length.
    const fn generated_key_len(self) -> usize {
        match self {
            Self::HmacSha224 => 28,
            Self::HmacSha256 => 32,
            Self::HmacSha384 => 48,
            Self::HmacSha512 => 64,
        }
    }

    /// Lengths KMS accepts on import: at least the hash length, at most the hash's block
    /// length (longer keys would be hashed down by HMAC anyway).
    const fn imported_key_lens(self) -> (usize, usize) {
        match self {
            Self::HmacSha224 => (28, 64),
            Self::HmacSha256 => (32, 64),
            Self::HmacSha384 => (48, 128),
            Self::HmacSha512 => (64, 128),
        }
    }
}

/// Generates fresh key material for `spec`.
///
/// # Errors
/// `Internal` if the random source or key generation fails.
pub fn generate(spec: KeySpec) -> Result<Material, CryptoError> {
    match spec.kind() {
        Kind::Symmetric => random_secret(SYMMETRIC_KEY_LEN),
        Kind::Hmac(mac) => random_secret(mac.generated_key_len()),
        Kind::Rsa(size) => {
            let key = rsa::KeyPair::generate(size.aws_lc())
                .map_err(|_| CryptoError::Internal("rsa key generation failed"))?;
            let pkcs8 = key
                .as_der()
                .map_err(|_| CryptoError::Internal("rsa private key encoding failed"))?;
            Ok(Material(Zeroizing::new(pkcs8.as_ref().to_vec())))
        }
        Kind::Ec(curve) => {
            let key = EcdsaKeyPair::generate(curve.ecdsa_signing())
                .map_err(|_| CryptoError::Internal("ec key generation failed"))?;
            let pkcs8 = key
                .to_pkcs8v1()
                .map_err(|_| CryptoError::Internal("ec private key encoding failed"))?;
            Ok(Material(Zeroizing::new(pkcs8.as_ref().to_vec())))
        }
    }
}

/// The DER SubjectPublicKeyInfo of an asymmetric key, as `GetPublicKey` returns it.
///
/// # Errors
/// `WrongKeySpec` for symmetric and HMAC specs; `CorruptKeyMaterial` if the material is not a
/// private key of the spec.
pub fn public_key_der(spec: KeySpec, material: &Material) -> Result<Vec<u8>, CryptoError> {
    let spki = match spec.kind() {
        Kind::Rsa(size) => rsa_key_pair(size, material)?.public_key().as_der(),
        Kind::Ec(curve) => ec_key_pair(curve, material)?.public_key().as_der(),
        Kind::Symmetric | Kind::Hmac(_) => return Err(CryptoError::WrongKeySpec { spec }),
    };
    spki.map(|der| der.as_ref().to_vec())
        .map_err(|_| CryptoError::Internal("public key encoding failed"))
}

/// Signs `message` (`RAW`: hashed here) or a precomputed digest (`DIGEST`). RSA signatures are
/// PKCS#1 encoded; ECDSA signatures are DER (X9.62 / RFC 3279), as KMS returns them.
///
/// # Errors
/// `WrongKeySpec` unless the spec is asymmetric; `WrongAlgorithmForKey` if the spec does not
/// list the algorithm; `InvalidDigestLength` for a `DIGEST` of the wrong length;
/// `CorruptKeyMaterial` if the material does not parse.
pub fn sign(
    spec: KeySpec,
    material: &Material,
    algorithm: SigningAlgorithm,
    message_type: MessageType,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    check_signing_algorithm(spec, algorithm)?;
    let digest = match message_type {
        MessageType::Raw => None,
        MessageType::Digest => Some(import_digest(message, algorithm)?),
    };
    match spec.kind() {
        Kind::Rsa(size) => {
            let (encoding, _) = algorithm.rsa().ok_or(CryptoError::WrongAlgorithmForKey {
                spec,
                algorithm: algorithm.as_str(),
            })?;
            let key = rsa_key_pair(size, material)?;
            let mut out = vec![0; key.public_modulus_len()];
            match &digest {
                None => key.sign(encoding, &rand::SystemRandom::new(), message, &mut out),
                Some(digest) => key.sign_digest(encoding, digest, &mut out),
            }
            .map_err(|_| CryptoError::Internal("rsa signing failed"))?;
            Ok(out)
        }
        Kind::Ec(curve) => {
            let key = ec_key_pair(curve, material)?;
            let signed = match &digest {
                None => key.sign(&rand::SystemRandom::new(), message),
                Some(digest) => key.sign_digest(digest),
            }
            .map_err(|_| CryptoError::Internal("ecdsa signing failed"))?;
            Ok(signed.as_ref().to_vec())
        }
        Kind::Symmetric | Kind::Hmac(_) => Err(CryptoError::WrongKeySpec { spec }),
    }
}

/// Verifies a signature made by `sign` (or by anyone holding the private key). A signature that
/// does not verify, including a malformed one, is `Ok(false)`, not an error.
///
/// # Errors
/// As `sign`, for the key, the algorithm and the digest length.
pub fn verify(
    spec: KeySpec,
    material: &Material,
    algorithm: SigningAlgorithm,
    message_type: MessageType,
    message: &[u8],
    signature: &[u8],
) -> Result<bool, CryptoError> {
    check_signing_algorithm(spec, algorithm)?;
    let digest = match message_type {
        MessageType::Raw => None,
        MessageType::Digest => Some(import_digest(message, algorithm)?),
    };
    let verification: &'static dyn signature::VerificationAlgorithm = match spec.kind() {
        Kind::Rsa(_) => {
            let (_, parameters) = algorithm.rsa().ok_or(CryptoError::WrongAlgorithmForKey {
                spec,
                algorithm: algorithm.as_str(),
            })?;
            parameters
        }
        Kind::Ec(curve) => curve.ecdsa_verification(),
        Kind::Symmetric | Kind::Hmac(_) => return Err(CryptoError::WrongKeySpec { spec }),
    };
    let spki = public_key_der(spec, material)?;
    let public = signature::ParsedPublicKey::new(verification, &spki)
        .map_err(|_| CryptoError::CorruptKeyMaterial)?;
    let verified = match &digest {
        None => public.verify_sig(message, signature),
        Some(digest) => public.verify_digest_sig(digest, signature),
    };
    Ok(verified.is_ok())
}

/// RSA-OAEP encryption with an asymmetric `ENCRYPT_DECRYPT` key (MGF1 uses the same hash).
///
/// # Errors
/// `WrongKeySpec` unless the spec is RSA; `WrongAlgorithmForKey` for `SYMMETRIC_DEFAULT`;
/// `PlaintextTooLarge` past AWS's limit (RSA_2048: 214 bytes with SHA-1, 190 with SHA-256;
/// 3072: 342/318; 4096: 470/446).
pub fn encrypt_asymmetric(
    spec: KeySpec,
    material: &Material,
    algorithm: EncryptionAlgorithm,
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let (size, oaep) = oaep_for(spec, algorithm)?;
    let private = rsa_decrypting_key(size, material)?;
    let public = OaepPublicEncryptingKey::new(private.public_key())
        .map_err(|_| CryptoError::Internal("rsa public key unusable"))?;
    let max = public.max_plaintext_size(oaep);
    if plaintext.len() > max {
        return Err(CryptoError::PlaintextTooLarge { max });
    }
    let mut out = vec![0; public.ciphertext_size()];
    let written = public
        .encrypt(oaep, plaintext, &mut out, None)
        .map_err(|_| CryptoError::Internal("rsa encryption failed"))?
        .len();
    out.truncate(written);
    Ok(out)
}

/// RSA-OAEP decryption. Every failure, whatever its cause, is the same `InvalidCiphertext`, so
/// the answer tells an attacker nothing about the padding (aws-lc decodes OAEP in constant time).
///
/// # Errors
/// `WrongKeySpec` / `WrongAlgorithmForKey` as `encrypt_asymmetric`; `InvalidCiphertext`.
pub fn decrypt_asymmetric(
    spec: KeySpec,
    material: &Material,
    algorithm: EncryptionAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (size, oaep) = oaep_for(spec, algorithm)?;
    let private = rsa_decrypting_key(size, material)?;
    oaep_decrypt(private, oaep, ciphertext)
}

/// HMAC of `message` under an `HMAC_*` key.
///
/// # Errors
/// `WrongKeySpec` unless the spec is HMAC; `WrongAlgorithmForKey` if the MAC algorithm is not
/// the spec's.
pub fn generate_mac(
    spec: KeySpec,
    material: &Material,
    algorithm: MacAlgorithm,
    message: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = hmac_key(spec, material, algorithm)?;
    Ok(hmac::sign(&key, message).as_ref().to_vec())
}

/// Checks a MAC in constant time. A wrong MAC is `Ok(false)`.
///
/// # Errors
/// As `generate_mac`.
pub fn verify_mac(
    spec: KeySpec,
    material: &Material,
    algorithm: MacAlgorithm,
    message: &[u8],
    mac: &[u8],
) -> Result<bool, CryptoError> {
    let key = hmac_key(spec, material, algorithm)?;
    Ok(hmac::verify(&key, message, mac).is_ok())
}

/// ECDH between a `KEY_AGREEMENT` key and a peer's DER SubjectPublicKeyInfo. Returns the raw
/// shared secret (the x-coordinate of the shared point), as `DeriveSharedSecret` does.
///
/// # Errors
/// `WrongKeySpec` unless the spec is a NIST curve; `InvalidPeerKey` if the peer key is not an
/// SPKI, is on another curve, or is not a valid point.
pub fn derive_shared_secret(
    spec: KeySpec,
    material: &Material,
    peer_public_key: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let algorithm = match spec.kind() {
        Kind::Ec(curve) => curve.ecdh(),
        _ => None,
    }
    .ok_or(CryptoError::WrongKeySpec { spec })?;
    let private = agreement::PrivateKey::from_private_key_der(algorithm, material.as_bytes())
        .map_err(|_| CryptoError::CorruptKeyMaterial)?;
    let peer = agreement::ParsedPublicKey::try_from(agreement::UnparsedPublicKey::new(
        algorithm,
        peer_public_key,
    ))
    .map_err(|_| CryptoError::InvalidPeerKey)?;
    // aws-lc-rs also accepts bare SEC1 points; KMS takes only SubjectPublicKeyInfo.
    if peer.format() != agreement::ParsedPublicKeyFormat::X509 {
        return Err(CryptoError::InvalidPeerKey);
    }
    agreement::agree(&private, peer, CryptoError::InvalidPeerKey, |secret| {
        Ok(Zeroizing::new(secret.to_vec()))
    })
}

/// A fresh key pair for `GenerateDataKeyPair`: (PKCS#8 DER private key, DER SPKI public key).
///
/// # Errors
/// `Internal` if generation or encoding fails.
pub fn generate_data_key_pair(
    spec: DataKeyPairSpec,
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), CryptoError> {
    let material = generate(spec.key_spec())?;
    let public = public_key_der(spec.key_spec(), &material)?;
    Ok((material.into_bytes(), public))
}

/// AES-256-GCM encryption; returns ciphertext followed by the 16-byte tag.
///
/// # Errors
/// `CorruptKeyMaterial` unless the key is 32 bytes.
pub fn aes_gcm_seal(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, CryptoError> {
    let key = aes_gcm_key(key)?;
    let mut in_out = plaintext.to_vec();
    key.seal_in_place_append_tag(
        Nonce::assume_unique_for_key(*nonce),
        Aad::from(aad),
        &mut in_out,
    )
    .map_err(|_| CryptoError::Internal("aes-gcm seal failed"))?;
    Ok(in_out)
}

/// AES-256-GCM decryption of `ciphertext || tag`.
///
/// # Errors
/// `CorruptKeyMaterial` unless the key is 32 bytes; `InvalidCiphertext` if authentication
/// fails (wrong key, nonce, AAD, or tampered bytes).
pub fn aes_gcm_open(
    key: &[u8],
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    ciphertext_and_tag: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key = aes_gcm_key(key)?;
    let mut in_out = Zeroizing::new(ciphertext_and_tag.to_vec());
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key(*nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    in_out.truncate(len);
    Ok(in_out)
}

/// `n` bytes from the system's secure random source (`GenerateRandom`, data keys).
///
/// # Errors
/// `Internal` if the random source fails.
pub fn random_bytes(n: usize) -> Result<Vec<u8>, CryptoError> {
    let mut out = vec![0; n];
    rand::fill(&mut out).map_err(|_| CryptoError::Internal("random source failed"))?;
    Ok(out)
}

/// A random 96-bit AES-GCM nonce.
///
/// # Errors
/// `Internal` if the random source fails.
pub fn random_nonce() -> Result<[u8; NONCE_LEN], CryptoError> {
    let mut nonce = [0; NONCE_LEN];
    rand::fill(&mut nonce).map_err(|_| CryptoError::Internal("random source failed"))?;
    Ok(nonce)
}

/// A fresh RSA key pair for `GetParametersForImport`; its public half is
/// `public_key_der(spec.key_spec(), &material)`.
///
/// # Errors
/// `Internal` if generation fails.
pub fn generate_wrapping_key(spec: WrappingKeySpec) -> Result<Material, CryptoError> {
    generate(spec.key_spec())
}

/// Unwraps key material sent to `ImportKeyMaterial`.
///
/// `RSAES_OAEP_*`: the material is RSA-OAEP encrypted directly. `RSA_AES_KEY_WRAP_*`: the first
/// modulus-length bytes are RSA-OAEP of an ephemeral AES-256 key, the rest is the material
/// wrapped under that key with AES Key Wrap with Padding (RFC 5649).
///
/// The result still has to pass `check_imported_material`.
///
/// # Errors
/// `UnsupportedWrappingAlgorithm` for `RSAES_PKCS1_V1_5`; `InvalidCiphertext` for anything that
/// does not decrypt or unwrap; `CorruptKeyMaterial` if `wrapping` is not an RSA private key.
pub fn unwrap_key_material(
    wrapping: &Material,
    algorithm: WrappingAlgorithm,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let private = PrivateDecryptingKey::from_pkcs8(wrapping.as_bytes())
        .map_err(|_| CryptoError::CorruptKeyMaterial)?;
    match algorithm {
        WrappingAlgorithm::RsaesPkcs1V15 => {
            Err(CryptoError::UnsupportedWrappingAlgorithm(algorithm))
        }
        WrappingAlgorithm::RsaesOaepSha1 => oaep_decrypt(private, &OAEP_SHA1_MGF1SHA1, encrypted),
        WrappingAlgorithm::RsaesOaepSha256 => {
            oaep_decrypt(private, &OAEP_SHA256_MGF1SHA256, encrypted)
        }
        WrappingAlgorithm::RsaAesKeyWrapSha1 => {
            rsa_aes_unwrap(private, &OAEP_SHA1_MGF1SHA1, encrypted)
        }
        WrappingAlgorithm::RsaAesKeyWrapSha256 => {
            rsa_aes_unwrap(private, &OAEP_SHA256_MGF1SHA256, encrypted)
        }
    }
}

/// Checks unwrapped material against the key's spec and returns it as stored material.
///
/// `SYMMETRIC_DEFAULT`: exactly 32 bytes. `HMAC_224`: 28–64 bytes, `HMAC_256`: 32–64,
/// `HMAC_384`: 48–128, `HMAC_512`: 64–128. Asymmetric: an unencrypted PKCS#8 private key of the
/// spec's type and size, re-encoded by aws-lc so stored material always has one canonical form.
///
/// # Errors
/// `InvalidKeyMaterial` if the material does not fit the spec.
pub fn check_imported_material(spec: KeySpec, material: &[u8]) -> Result<Material, CryptoError> {
    let invalid = CryptoError::InvalidKeyMaterial { spec };
    match spec.kind() {
        Kind::Symmetric => {
            if material.len() != SYMMETRIC_KEY_LEN {
                return Err(invalid);
            }
            Ok(Material(Zeroizing::new(material.to_vec())))
        }
        Kind::Hmac(mac) => {
            let (min, max) = mac.imported_key_lens();
            if !(min..=max).contains(&material.len()) {
                return Err(invalid);
            }
            Ok(Material(Zeroizing::new(material.to_vec())))
        }
        Kind::Rsa(size) => {
            let key = rsa::KeyPair::from_pkcs8(material).map_err(|_| invalid.clone())?;
            if key.public_modulus_len() != size.bytes() {
                return Err(invalid);
            }
            let pkcs8 = key
                .as_der()
                .map_err(|_| CryptoError::Internal("rsa private key encoding failed"))?;
            Ok(Material(Zeroizing::new(pkcs8.as_ref().to_vec())))
        }
        Kind::Ec(curve) => {
            let key = EcdsaKeyPair::from_pkcs8(curve.ecdsa_signing(), material)
                .map_err(|_| invalid.clone())?;
            let pkcs8 = key
                .to_pkcs8v1()
                .map_err(|_| CryptoError::Internal("ec private key encoding failed"))?;
            Ok(Material(Zeroizing::new(pkcs8.as_ref().to_vec())))
        }
    }
}

/// The cryptographic family of a key spec, with what each family needs to know.
#[derive(Clone, Copy)]
enum Kind {
    Symmetric,
    Rsa(RsaSize),
    Ec(Curve),
    Hmac(MacAlgorithm),
}

#[derive(Clone, Copy)]
enum RsaSize {
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl RsaSize {
    const fn aws_lc(self) -> rsa::KeySize {
        match self {
            Self::Rsa2048 => rsa::KeySize::Rsa2048,
            Self::Rsa3072 => rsa::KeySize::Rsa3072,
            Self::Rsa4096 => rsa::KeySize::Rsa4096,
        }
    }

    const fn bytes(self) -> usize {
        match self {
            Self::Rsa2048 => 256,
            Self::Rsa3072 => 384,
            Self::Rsa4096 => 512,
        }
    }
}

#[derive(Clone, Copy)]
enum Curve {
    P256,
    P384,
    P521,
    Secp256k1,
}

impl Curve {
    /// KMS allows exactly one ECDSA algorithm per curve.
    const fn signing_algorithms(self) -> &'static [SigningAlgorithm] {
        match self {
            Self::P256 | Self::Secp256k1 => &[SigningAlgorithm::EcdsaSha256],
            Self::P384 => &[SigningAlgorithm::EcdsaSha384],
            Self::P521 => &[SigningAlgorithm::EcdsaSha512],
        }
    }

    fn ecdsa_signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_ASN1_SIGNING,
            Self::P384 => &signature::ECDSA_P384_SHA384_ASN1_SIGNING,
            Self::P521 => &signature::ECDSA_P521_SHA512_ASN1_SIGNING,
            Self::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1_SIGNING,
        }
    }

    fn ecdsa_verification(self) -> &'static signature::EcdsaVerificationAlgorithm {
        match self {
            Self::P256 => &signature::ECDSA_P256_SHA256_ASN1,
            Self::P384 => &signature::ECDSA_P384_SHA384_ASN1,
            Self::P521 => &signature::ECDSA_P521_SHA512_ASN1,
            Self::Secp256k1 => &signature::ECDSA_P256K1_SHA256_ASN1,
        }
    }

    /// KMS offers key agreement on the NIST curves only.
    fn ecdh(self) -> Option<&'static agreement::Algorithm> {
        match self {
            Self::P256 => Some(&agreement::ECDH_P256),
            Self::P384 => Some(&agreement::ECDH_P384),
            Self::P521 => Some(&agreement::ECDH_P521),
            Self::Secp256k1 => None,
        }
    }
}

fn random_secret(len: usize) -> Result<Material, CryptoError> {
    let mut bytes = Zeroizing::new(vec![0; len]);
    rand::fill(&mut bytes).map_err(|_| CryptoError::Internal("random source failed"))?;
    Ok(Material(bytes))
}

fn check_signing_algorithm(spec: KeySpec, algorithm: SigningAlgorithm) -> Result<(), CryptoError> {
    if !spec.is_asymmetric() {
        return Err(CryptoError::WrongKeySpec { spec });
    }
    if !spec
        .signing_algorithms(KeyUsage::SignVerify)
        .contains(&algorithm)
    {
        return Err(CryptoError::WrongAlgorithmForKey {
            spec,
            algorithm: algorithm.as_str(),
        });
    }
    Ok(())
}

fn import_digest(
    message: &[u8],
    algorithm: SigningAlgorithm,
) -> Result<digest::Digest, CryptoError> {
    let hash = algorithm.digest();
    digest::Digest::import_less_safe(message, hash).map_err(|_| CryptoError::InvalidDigestLength {
        expected: hash.output_len(),
    })
}

fn rsa_key_pair(size: RsaSize, material: &Material) -> Result<rsa::KeyPair, CryptoError> {
    let key = rsa::KeyPair::from_pkcs8(material.as_bytes())
        .map_err(|_| CryptoError::CorruptKeyMaterial)?;
    if key.public_modulus_len() != size.bytes() {
        return Err(CryptoError::CorruptKeyMaterial);
    }
    Ok(key)
}

fn rsa_decrypting_key(
    size: RsaSize,
    material: &Material,
) -> Result<PrivateDecryptingKey, CryptoError> {
    let key = PrivateDecryptingKey::from_pkcs8(material.as_bytes())
        .map_err(|_| CryptoError::CorruptKeyMaterial)?;
    if key.key_size_bytes() != size.bytes() {
        return Err(CryptoError::CorruptKeyMaterial);
    }
    Ok(key)
}

fn ec_key_pair(curve: Curve, material: &Material) -> Result<EcdsaKeyPair, CryptoError> {
    EcdsaKeyPair::from_pkcs8(curve.ecdsa_signing(), material.as_bytes())
        .map_err(|_| CryptoError::CorruptKeyMaterial)
}

fn oaep_for(
    spec: KeySpec,
    algorithm: EncryptionAlgorithm,
) -> Result<(RsaSize, &'static OaepAlgorithm), CryptoError> {
    let Kind::Rsa(size) = spec.kind() else {
        return Err(CryptoError::WrongKeySpec { spec });
    };
    let oaep = match algorithm {
        EncryptionAlgorithm::RsaesOaepSha1 => &OAEP_SHA1_MGF1SHA1,
        EncryptionAlgorithm::RsaesOaepSha256 => &OAEP_SHA256_MGF1SHA256,
        EncryptionAlgorithm::SymmetricDefault => {
            return Err(CryptoError::WrongAlgorithmForKey {
                spec,
                algorithm: algorithm.as_str(),
            });
        }
    };
    Ok((size, oaep))
}

fn oaep_decrypt(
    private: PrivateDecryptingKey,
    oaep: &'static OaepAlgorithm,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let key = OaepPrivateDecryptingKey::new(private)
        .map_err(|_| CryptoError::Internal("rsa private key unusable"))?;
    // The length is public, so refusing a wrong one early leaks nothing.
    if ciphertext.len() != key.key_size_bytes() {
        return Err(CryptoError::InvalidCiphertext);
    }
    let mut out = Zeroizing::new(vec![0; key.min_output_size()]);
    let len = key
        .decrypt(oaep, ciphertext, &mut out, None)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    out.truncate(len);
    Ok(out)
}

fn rsa_aes_unwrap(
    private: PrivateDecryptingKey,
    oaep: &'static OaepAlgorithm,
    encrypted: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let (wrapped_key, wrapped_material) = encrypted
        .split_at_checked(private.key_size_bytes())
        .ok_or(CryptoError::InvalidCiphertext)?;
    let aes_key = oaep_decrypt(private, oaep, wrapped_key)?;
    if aes_key.len() != EPHEMERAL_AES_KEY_LEN {
        return Err(CryptoError::InvalidCiphertext);
    }
    let kek = AesKek::new(&AES_256, &aes_key)
        .map_err(|_| CryptoError::Internal("aes key wrap key unusable"))?;
    let mut out = Zeroizing::new(vec![0; wrapped_material.len()]);
    let len = kek
        .unwrap_with_padding(wrapped_material, &mut out)
        .map_err(|_| CryptoError::InvalidCiphertext)?
        .len();
    out.truncate(len);
    Ok(out)
}

fn hmac_key(
    spec: KeySpec,
    material: &Material,
    algorithm: MacAlgorithm,
) -> Result<hmac::Key, CryptoError> {
    let Kind::Hmac(expected) = spec.kind() else {
        return Err(CryptoError::WrongKeySpec { spec });
    };
    if algorithm != expected {
        return Err(CryptoError::WrongAlgorithmForKey {
            spec,
            algorithm: algorithm.as_str(),
        });
    }
    Ok(hmac::Key::new(algorithm.hmac(), material.as_bytes()))
}

fn aes_gcm_key(key: &[u8]) -> Result<LessSafeKey, CryptoError> {
    if key.len() != SYMMETRIC_KEY_LEN {
        return Err(CryptoError::CorruptKeyMaterial);
    }
    let key = UnboundKey::new(&AES_256_GCM, key).map_err(|_| CryptoError::CorruptKeyMaterial)?;
    Ok(LessSafeKey::new(key))
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
mod tests {
    use std::sync::OnceLock;

    use super::*;

    const MESSAGE: &[u8] = b"moat kms test message";

    /// RSA key generation is slow, so each asymmetric spec gets one key per test run.
    fn key(spec: KeySpec) -> &'static Material {
        static KEYS: [OnceLock<Material>; 12] = [const { OnceLock::new() }; 12];
        let index = KeySpec::ALL.iter().position(|s| *s == spec).unwrap();
        KEYS[index].get_or_init(|| generate(spec).unwrap())
    }

    fn asymmetric_specs() -> impl Iterator<Item = KeySpec> {
        KeySpec::ALL.iter().copied().filter(|s| s.is_asymmetric())
    }

    fn hmac_specs() -> impl Iterator<Item = KeySpec> {
        KeySpec::ALL.iter().copied().filter(|s| s.is_hmac())
    }

    fn hash(algorithm: SigningAlgorithm, message: &[u8]) -> Vec<u8> {
        digest::digest(algorithm.digest(), message)
            .as_ref()
            .to_vec()
    }

    fn flip_last(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        *out.last_mut().unwrap() ^= 1;
        out
    }

    fn flip_first(bytes: &[u8]) -> Vec<u8> {
        let mut out = bytes.to_vec();
        out[0] ^= 1;
        out
    }

    #[test]
    fn string_forms_round_trip() {
        fn check<T: Copy + PartialEq + fmt::Debug>(
            all: &[T],
            as_str: fn(T) -> &'static str,
            parse: fn(&str) -> Option<T>,
        ) {
            for value in all {
                assert_eq!(parse(as_str(*value)), Some(*value));
            }
        }
        check(KeySpec::ALL, KeySpec::as_str, KeySpec::parse);
        check(KeyUsage::ALL, KeyUsage::as_str, KeyUsage::parse);
        check(
            SigningAlgorithm::ALL,
            SigningAlgorithm::as_str,
            SigningAlgorithm::parse,
        );
        check(MessageType::ALL, MessageType::as_str, MessageType::parse);
        check(
            EncryptionAlgorithm::ALL,
            EncryptionAlgorithm::as_str,
            EncryptionAlgorithm::parse,
        );
        check(MacAlgorithm::ALL, MacAlgorithm::as_str, MacAlgorithm::parse);
        check(
            KeyAgreementAlgorithm::ALL,
            KeyAgreementAlgorithm::as_str,
            KeyAgreementAlgorithm::parse,
        );
        check(
            DataKeyPairSpec::ALL,
            DataKeyPairSpec::as_str,
            DataKeyPairSpec::parse,
        );
        check(
            WrappingAlgorithm::ALL,
            WrappingAlgorithm::as_str,
            WrappingAlgorithm::parse,
        );
        check(
            WrappingKeySpec::ALL,
            WrappingKeySpec::as_str,
            WrappingKeySpec::parse,
        );
        assert_eq!(
            KeySpec::parse("ECC_SECG_P256K1"),
            Some(KeySpec::EccSecgP256k1)
        );
        assert_eq!(KeySpec::parse("rsa_2048"), None);
        assert_eq!(KeySpec::Hmac384.to_string(), "HMAC_384");
    }

    #[test]
    fn describe_key_tables_match_aws() {
        use EncryptionAlgorithm as E;
        use KeyUsage as U;
        use SigningAlgorithm as S;

        assert_eq!(
            KeySpec::SymmetricDefault.allowed_usages(),
            &[U::EncryptDecrypt]
        );
        assert_eq!(
            KeySpec::Rsa3072.allowed_usages(),
            &[U::EncryptDecrypt, U::SignVerify]
        );
        assert_eq!(
            KeySpec::EccNistP384.allowed_usages(),
            &[U::SignVerify, U::KeyAgreement]
        );
        assert_eq!(KeySpec::EccSecgP256k1.allowed_usages(), &[U::SignVerify]);
        assert_eq!(KeySpec::Hmac224.allowed_usages(), &[U::GenerateVerifyMac]);

        assert_eq!(
            KeySpec::SymmetricDefault.encryption_algorithms(U::EncryptDecrypt),
            &[E::SymmetricDefault]
        );
        assert_eq!(
            KeySpec::Rsa2048.encryption_algorithms(U::EncryptDecrypt),
            &[E::RsaesOaepSha1, E::RsaesOaepSha256]
        );
        assert!(KeySpec::Rsa2048
            .encryption_algorithms(U::SignVerify)
            .is_empty());
        assert!(KeySpec::Rsa2048
            .signing_algorithms(U::EncryptDecrypt)
            .is_empty());
        assert_eq!(KeySpec::Rsa4096.signing_algorithms(U::SignVerify).len(), 6);
        assert_eq!(
            KeySpec::EccNistP256.signing_algorithms(U::SignVerify),
            &[S::EcdsaSha256]
        );
        assert_eq!(
            KeySpec::EccNistP384.signing_algorithms(U::SignVerify),
            &[S::EcdsaSha384]
        );
        assert_eq!(
            KeySpec::EccNistP521.signing_algorithms(U::SignVerify),
            &[S::EcdsaSha512]
        );
        assert_eq!(
            KeySpec::EccSecgP256k1.signing_algorithms(U::SignVerify),
            &[S::EcdsaSha256]
        );
        assert!(KeySpec::EccNistP256
            .signing_algorithms(U::KeyAgreement)
            .is_empty());
        assert_eq!(
            KeySpec::EccNistP521.key_agreement_algorithms(U::KeyAgreement),
            &[KeyAgreementAlgorithm::Ecdh]
        );
        assert!(KeySpec::EccSecgP256k1
            .key_agreement_algorithms(U::KeyAgreement)
            .is_empty());
        assert!(KeySpec::EccNistP256
            .key_agreement_algorithms(U::SignVerify)
            .is_empty());
        assert_eq!(
            KeySpec::Hmac256.mac_algorithms(U::GenerateVerifyMac),
            &[MacAlgorithm::HmacSha256]
        );
        assert!(KeySpec::Hmac256
            .mac_algorithms(U::EncryptDecrypt)
            .is_empty());

        // Every spec lists algorithms for exactly its allowed usages.
        for spec in KeySpec::ALL {
            for usage in KeyUsage::ALL {
                let listed = spec.encryption_algorithms(*usage).len()
                    + spec.signing_algorithms(*usage).len()
                    + spec.mac_algorithms(*usage).len()
                    + spec.key_agreement_algorithms(*usage).len();
                assert_eq!(
                    listed > 0,
                    spec.allowed_usages().contains(usage),
                    "{spec} {usage}"
                );
            }
        }
    }

    #[test]
    fn generated_lengths() {
        assert_eq!(
            generate(KeySpec::SymmetricDefault)
                .unwrap()
                .as_bytes()
                .len(),
            32
        );
        let lens: Vec<usize> = hmac_specs()
            .map(|s| generate(s).unwrap().as_bytes().len())
            .collect();
        assert_eq!(lens, [28, 32, 48, 64]);
        assert_ne!(
            generate(KeySpec::SymmetricDefault).unwrap().as_bytes(),
            generate(KeySpec::SymmetricDefault).unwrap().as_bytes()
        );
    }

    #[test]
    fn material_debug_hides_bytes() {
        let material = Material::from_stored(Zeroizing::new(vec![0xAB; 4]));
        let shown = format!("{material:?}");
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab,"));
        assert!(shown.contains("len: 4"));
    }

    #[test]
    fn public_keys_parse_back() {
        for spec in asymmetric_specs() {
            let spki = public_key_der(spec, key(spec)).unwrap();
            assert_eq!(spki[0], 0x30, "{spec}: DER SEQUENCE");
            let algorithm = spec.signing_algorithms(KeyUsage::SignVerify)[0];
            let verification: &'static dyn signature::VerificationAlgorithm = match spec.kind() {
                Kind::Rsa(_) => algorithm.rsa().unwrap().1,
                Kind::Ec(curve) => curve.ecdsa_verification(),
                _ => unreachable!(),
            };
            let parsed = signature::ParsedPublicKey::new(verification, &spki).unwrap();
            assert_eq!(parsed.as_der().unwrap().as_ref(), spki.as_slice(), "{spec}");
        }
        assert_eq!(
            public_key_der(KeySpec::Hmac256, &generate(KeySpec::Hmac256).unwrap()),
            Err(CryptoError::WrongKeySpec {
                spec: KeySpec::Hmac256
            })
        );
    }

    #[test]
    fn rsa_public_key_sizes() {
        for (spec, modulus) in [
            (KeySpec::Rsa2048, 256),
            (KeySpec::Rsa3072, 384),
            (KeySpec::Rsa4096, 512),
        ] {
            let spki = public_key_der(spec, key(spec)).unwrap();
            let encrypting = rsa::PublicEncryptingKey::from_der(&spki).unwrap();
            assert_eq!(encrypting.key_size_bytes(), modulus);
        }
    }

    #[test]
    fn sign_verify_every_spec_and_algorithm() {
        for spec in asymmetric_specs() {
            let material = key(spec);
            for algorithm in spec.signing_algorithms(KeyUsage::SignVerify) {
                let algorithm = *algorithm;
                let digest = hash(algorithm, MESSAGE);
                let raw = sign(spec, material, algorithm, MessageType::Raw, MESSAGE).unwrap();
                let from_digest =
                    sign(spec, material, algorithm, MessageType::Digest, &digest).unwrap();
                for signature in [&raw, &from_digest] {
                    assert!(
                        verify(
                            spec,
                            material,
                            algorithm,
                            MessageType::Raw,
                            MESSAGE,
                            signature
                        )
                        .unwrap(),
                        "{spec} {algorithm} raw"
                    );
                    assert!(
                        verify(
                            spec,
                            material,
                            algorithm,
                            MessageType::Digest,
                            &digest,
                            signature
                        )
                        .unwrap(),
                        "{spec} {algorithm} digest"
                    );
                    assert!(!verify(
                        spec,
                        material,
                        algorithm,
                        MessageType::Raw,
                        b"another message",
                        signature
                    )
                    .unwrap());
                    assert!(
                        !verify(
                            spec,
                            material,
                            algorithm,
                            MessageType::Raw,
                            MESSAGE,
                            &flip_last(signature)
                        )
                        .unwrap(),
                        "{spec} {algorithm} tampered"
                    );
                }
                assert!(
                    !verify(spec, material, algorithm, MessageType::Raw, MESSAGE, b"").unwrap()
                );
            }
        }
    }

    #[test]
    fn ecdsa_signatures_are_der() {
        for spec in [
            KeySpec::EccNistP256,
            KeySpec::EccNistP521,
            KeySpec::EccSecgP256k1,
        ] {
            let algorithm = spec.signing_algorithms(KeyUsage::SignVerify)[0];
            let signature = sign(spec, key(spec), algorithm, MessageType::Raw, MESSAGE).unwrap();
            assert_eq!(signature[0], 0x30, "{spec}: DER SEQUENCE");
        }
    }

    #[test]
    fn rsa_signatures_are_modulus_length() {
        let signature = sign(
            KeySpec::Rsa3072,
            key(KeySpec::Rsa3072),
            SigningAlgorithm::RsassaPssSha384,
            MessageType::Raw,
            MESSAGE,
        )
        .unwrap();
        assert_eq!(signature.len(), 384);
    }

    #[test]
    fn pkcs1_signatures_are_deterministic_pss_are_not() {
        let spec = KeySpec::Rsa2048;
        let sign_twice = |algorithm| {
            (
                sign(spec, key(spec), algorithm, MessageType::Raw, MESSAGE).unwrap(),
                sign(spec, key(spec), algorithm, MessageType::Raw, MESSAGE).unwrap(),
            )
        };
        let (a, b) = sign_twice(SigningAlgorithm::RsassaPkcs1V15Sha256);
        assert_eq!(a, b);
        let (a, b) = sign_twice(SigningAlgorithm::RsassaPssSha256);
        assert_ne!(a, b);
    }

    #[test]
    fn signature_does_not_verify_under_other_algorithm() {
        let spec = KeySpec::Rsa2048;
        let signature = sign(
            spec,
            key(spec),
            SigningAlgorithm::RsassaPssSha256,
            MessageType::Raw,
            MESSAGE,
        )
        .unwrap();
        assert!(!verify(
            spec,
            key(spec),
            SigningAlgorithm::RsassaPkcs1V15Sha256,
            MessageType::Raw,
            MESSAGE,
            &signature
        )
        .unwrap());
    }

    #[test]
    fn wrong_signing_algorithm_refused() {
        let cases = [
            (KeySpec::Rsa2048, SigningAlgorithm::EcdsaSha256),
            (KeySpec::EccNistP256, SigningAlgorithm::RsassaPssSha256),
            (KeySpec::EccNistP256, SigningAlgorithm::EcdsaSha384),
            (KeySpec::EccNistP384, SigningAlgorithm::EcdsaSha256),
            (KeySpec::EccNistP521, SigningAlgorithm::EcdsaSha384),
            (KeySpec::EccSecgP256k1, SigningAlgorithm::EcdsaSha512),
        ];
        for (spec, algorithm) in cases {
            let expected = Err(CryptoError::WrongAlgorithmForKey {
                spec,
                algorithm: algorithm.as_str(),
            });
            assert_eq!(
                sign(spec, key(spec), algorithm, MessageType::Raw, MESSAGE),
                expected
            );
            assert_eq!(
                verify(
                    spec,
                    key(spec),
                    algorithm,
                    MessageType::Raw,
                    MESSAGE,
                    b"sig"
                )
                .map(|_| ()),
                expected.map(|_: Vec<u8>| ())
            );
        }
        let symmetric = generate(KeySpec::SymmetricDefault).unwrap();
        assert_eq!(
            sign(
                KeySpec::SymmetricDefault,
                &symmetric,
                SigningAlgorithm::EcdsaSha256,
                MessageType::Raw,
                MESSAGE
            ),
            Err(CryptoError::WrongKeySpec {
                spec: KeySpec::SymmetricDefault
            })
        );
    }

    #[test]
    fn digest_length_must_match() {
        let spec = KeySpec::EccNistP384;
        let algorithm = SigningAlgorithm::EcdsaSha384;
        let short = hash(SigningAlgorithm::EcdsaSha256, MESSAGE);
        let expected = CryptoError::InvalidDigestLength { expected: 48 };
        assert_eq!(
            sign(spec, key(spec), algorithm, MessageType::Digest, &short),
            Err(expected.clone())
        );
        assert_eq!(
            verify(
                spec,
                key(spec),
                algorithm,
                MessageType::Digest,
                &short,
                b"x"
            ),
            Err(expected)
        );
        assert_eq!(
            sign(
                KeySpec::Rsa2048,
                key(KeySpec::Rsa2048),
                SigningAlgorithm::RsassaPssSha512,
                MessageType::Digest,
                &[0; 63]
            ),
            Err(CryptoError::InvalidDigestLength { expected: 64 })
        );
    }

    #[test]
    fn corrupt_material_is_internal() {
        let garbage = Material::from_stored(Zeroizing::new(vec![1, 2, 3]));
        assert_eq!(
            sign(
                KeySpec::EccNistP256,
                &garbage,
                SigningAlgorithm::EcdsaSha256,
                MessageType::Raw,
                MESSAGE
            ),
            Err(CryptoError::CorruptKeyMaterial)
        );
        // An RSA-2048 key stored under RSA_3072 is corrupt too.
        assert_eq!(
            public_key_der(KeySpec::Rsa3072, key(KeySpec::Rsa2048)),
            Err(CryptoError::CorruptKeyMaterial)
        );
        // A P-256 key stored under P-384.
        assert_eq!(
            public_key_der(KeySpec::EccNistP384, key(KeySpec::EccNistP256)),
            Err(CryptoError::CorruptKeyMaterial)
        );
    }

    #[test]
    fn rsa_oaep_round_trip_and_aws_limits() {
        let limits = [
            (KeySpec::Rsa2048, 214, 190),
            (KeySpec::Rsa3072, 342, 318),
            (KeySpec::Rsa4096, 470, 446),
        ];
        for (spec, max_sha1, max_sha256) in limits {
            let material = key(spec);
            for (algorithm, max) in [
                (EncryptionAlgorithm::RsaesOaepSha1, max_sha1),
                (EncryptionAlgorithm::RsaesOaepSha256, max_sha256),
            ] {
                for plaintext in [vec![], b"secret".to_vec(), vec![7; max]] {
                    let ciphertext =
                        encrypt_asymmetric(spec, material, algorithm, &plaintext).unwrap();
                    assert_eq!(ciphertext.len(), spec_modulus(spec));
                    let decrypted =
                        decrypt_asymmetric(spec, material, algorithm, &ciphertext).unwrap();
                    assert_eq!(
                        decrypted.as_slice(),
                        plaintext.as_slice(),
                        "{spec} {algorithm}"
                    );
                }
                assert_eq!(
                    encrypt_asymmetric(spec, material, algorithm, &vec![7; max + 1]),
                    Err(CryptoError::PlaintextTooLarge { max })
                );
            }
        }
    }

    fn spec_modulus(spec: KeySpec) -> usize {
        match spec.kind() {
            Kind::Rsa(size) => size.bytes(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn rsa_oaep_rejects_bad_ciphertext() {
        let spec = KeySpec::Rsa2048;
        let material = key(spec);
        let algorithm = EncryptionAlgorithm::RsaesOaepSha256;
        let ciphertext = encrypt_asymmetric(spec, material, algorithm, b"secret").unwrap();
        for bad in [
            flip_last(&ciphertext),
            flip_first(&ciphertext),
            ciphertext[1..].to_vec(),
            [ciphertext.as_slice(), &[0]].concat(),
            vec![],
        ] {
            assert_eq!(
                decrypt_asymmetric(spec, material, algorithm, &bad),
                Err(CryptoError::InvalidCiphertext)
            );
        }
        // Decrypting with the other OAEP hash fails the same way.
        assert_eq!(
            decrypt_asymmetric(
                spec,
                material,
                EncryptionAlgorithm::RsaesOaepSha1,
                &ciphertext
            ),
            Err(CryptoError::InvalidCiphertext)
        );
        // Another key's ciphertext of the right length.
        let other = generate(spec).unwrap();
        let foreign = encrypt_asymmetric(spec, &other, algorithm, b"secret").unwrap();
        assert_eq!(
            decrypt_asymmetric(spec, material, algorithm, &foreign),
            Err(CryptoError::InvalidCiphertext)
        );
    }

    #[test]
    fn rsa_oaep_wrong_algorithm_or_spec_refused() {
        assert_eq!(
            encrypt_asymmetric(
                KeySpec::Rsa2048,
                key(KeySpec::Rsa2048),
                EncryptionAlgorithm::SymmetricDefault,
                b"x"
            ),
            Err(CryptoError::WrongAlgorithmForKey {
                spec: KeySpec::Rsa2048,
                algorithm: "SYMMETRIC_DEFAULT"
            })
        );
        assert_eq!(
            encrypt_asymmetric(
                KeySpec::EccNistP256,
                key(KeySpec::EccNistP256),
                EncryptionAlgorithm::RsaesOaepSha256,
                b"x"
            ),
            Err(CryptoError::WrongKeySpec {
                spec: KeySpec::EccNistP256
            })
        );
    }

    #[test]
    fn hmac_round_trip_every_spec() {
        for spec in hmac_specs() {
            let material = generate(spec).unwrap();
            let algorithm = spec.mac_algorithms(KeyUsage::GenerateVerifyMac)[0];
            let mac = generate_mac(spec, &material, algorithm, MESSAGE).unwrap();
            assert_eq!(mac.len(), algorithm.generated_key_len());
            assert!(verify_mac(spec, &material, algorithm, MESSAGE, &mac).unwrap());
            assert!(!verify_mac(spec, &material, algorithm, MESSAGE, &flip_last(&mac)).unwrap());
            assert!(!verify_mac(spec, &material, algorithm, b"other", &mac).unwrap());
            assert!(!verify_mac(spec, &material, algorithm, MESSAGE, &mac[1..]).unwrap());
            let other = generate(spec).unwrap();
            assert!(!verify_mac(spec, &other, algorithm, MESSAGE, &mac).unwrap());
        }
    }

    #[test]
    fn hmac_matches_known_answer() {
        // RFC 4231 test case 2: key "Jefe".
        let material = Material::from_stored(Zeroizing::new(b"Jefe".to_vec()));
        let mac = generate_mac(
            KeySpec::Hmac256,
            &material,
            MacAlgorithm::HmacSha256,
            b"what do ya want for nothing?",
        )
        .unwrap();
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn hmac_wrong_algorithm_refused() {
        let material = generate(KeySpec::Hmac384).unwrap();
        assert_eq!(
            generate_mac(
                KeySpec::Hmac384,
                &material,
                MacAlgorithm::HmacSha256,
                MESSAGE
            ),
            Err(CryptoError::WrongAlgorithmForKey {
                spec: KeySpec::Hmac384,
                algorithm: "HMAC_SHA_256"
            })
        );
        assert_eq!(
            verify_mac(
                KeySpec::SymmetricDefault,
                &material,
                MacAlgorithm::HmacSha256,
                MESSAGE,
                b""
            ),
            Err(CryptoError::WrongKeySpec {
                spec: KeySpec::SymmetricDefault
            })
        );
    }

    #[test]
    fn ecdh_agrees_both_ways() {
        for (spec, algorithm, len) in [
            (KeySpec::EccNistP256, &agreement::ECDH_P256, 32),
            (KeySpec::EccNistP384, &agreement::ECDH_P384, 48),
            (KeySpec::EccNistP521, &agreement::ECDH_P521, 66),
        ] {
            let material = key(spec);
            let peer = agreement::PrivateKey::generate(algorithm).unwrap();
            let peer_spki = peer.compute_public_key().unwrap().as_der().unwrap();
            let ours = derive_shared_secret(spec, material, peer_spki.as_ref()).unwrap();
            assert_eq!(ours.len(), len, "{spec}");

            let our_spki = public_key_der(spec, material).unwrap();
            let theirs = agreement::agree(
                &peer,
                agreement::UnparsedPublicKey::new(algorithm, &our_spki),
                (),
                |secret| Ok(secret.to_vec()),
            )
            .unwrap();
            assert_eq!(ours.as_slice(), theirs.as_slice(), "{spec}");

            // Two KMS keys agree with each other through their public keys.
            let other = generate(spec).unwrap();
            let other_spki = public_key_der(spec, &other).unwrap();
            assert_eq!(
                derive_shared_secret(spec, material, &other_spki).unwrap(),
                derive_shared_secret(spec, &other, &our_spki).unwrap()
            );
        }
    }

    #[test]
    fn ecdh_rejects_bad_peer_keys() {
        let spec = KeySpec::EccNistP256;
        let material = key(spec);
        let p384 = public_key_der(KeySpec::EccNistP384, key(KeySpec::EccNistP384)).unwrap();
        let k1 = public_key_der(KeySpec::EccSecgP256k1, key(KeySpec::EccSecgP256k1)).unwrap();
        let rsa = public_key_der(KeySpec::Rsa2048, key(KeySpec::Rsa2048)).unwrap();
        // A bare uncompressed point, valid on P-256 but not an SPKI.
        let peer = agreement::PrivateKey::generate(&agreement::ECDH_P256).unwrap();
        let bare_point = peer.compute_public_key().unwrap().as_ref().to_vec();
        let good = public_key_der(spec, key(spec)).unwrap();
        for bad in [
            p384,
            k1,
            rsa,
            bare_point,
            flip_last(&good),
            good[..good.len() - 1].to_vec(),
            vec![],
            b"not a key".to_vec(),
        ] {
            assert_eq!(
                derive_shared_secret(spec, material, &bad),
                Err(CryptoError::InvalidPeerKey)
            );
        }
    }

    #[test]
    fn ecdh_refused_on_other_specs() {
        let peer = public_key_der(KeySpec::EccNistP256, key(KeySpec::EccNistP256)).unwrap();
        for spec in [KeySpec::EccSecgP256k1, KeySpec::Rsa2048] {
            assert_eq!(
                derive_shared_secret(spec, key(spec), &peer),
                Err(CryptoError::WrongKeySpec { spec })
            );
        }
    }

    #[test]
    fn data_key_pairs() {
        for spec in DataKeyPairSpec::ALL {
            let (private, public) = generate_data_key_pair(*spec).unwrap();
            let material = Material::from_stored(private);
            assert_eq!(public_key_der(spec.key_spec(), &material).unwrap(), public);
            let algorithm = spec.key_spec().signing_algorithms(KeyUsage::SignVerify)[0];
            let signature = sign(
                spec.key_spec(),
                &material,
                algorithm,
                MessageType::Raw,
                MESSAGE,
            )
            .unwrap();
            let verification: &'static dyn signature::VerificationAlgorithm =
                match spec.key_spec().kind() {
                    Kind::Rsa(_) => algorithm.rsa().unwrap().1,
                    Kind::Ec(curve) => curve.ecdsa_verification(),
                    _ => unreachable!(),
                };
            signature::UnparsedPublicKey::new(verification, &public)
                .verify(MESSAGE, &signature)
                .unwrap();
        }
    }

    #[test]
    fn aes_gcm_round_trip_and_tamper() {
        let key = generate(KeySpec::SymmetricDefault).unwrap();
        let nonce = random_nonce().unwrap();
        let sealed = aes_gcm_seal(key.as_bytes(), &nonce, b"aad", b"plaintext").unwrap();
        assert_eq!(sealed.len(), b"plaintext".len() + 16);
        assert_eq!(
            aes_gcm_open(key.as_bytes(), &nonce, b"aad", &sealed)
                .unwrap()
                .as_slice(),
            b"plaintext"
        );
        let empty = aes_gcm_seal(key.as_bytes(), &nonce, b"", b"").unwrap();
        assert!(aes_gcm_open(key.as_bytes(), &nonce, b"", &empty)
            .unwrap()
            .is_empty());

        let other_nonce = random_nonce().unwrap();
        let other_key = generate(KeySpec::SymmetricDefault).unwrap();
        type Case<'a> = (&'a [u8], &'a [u8; NONCE_LEN], &'a [u8], Vec<u8>);
        let cases: [Case<'_>; 6] = [
            (key.as_bytes(), &nonce, b"aad", flip_last(&sealed)),
            (key.as_bytes(), &nonce, b"aad", flip_first(&sealed)),
            (key.as_bytes(), &nonce, b"other", sealed.clone()),
            (key.as_bytes(), &other_nonce, b"aad", sealed.clone()),
            (other_key.as_bytes(), &nonce, b"aad", sealed.clone()),
            (key.as_bytes(), &nonce, b"aad", sealed[..10].to_vec()),
        ];
        for (key, nonce, aad, ciphertext) in cases {
            assert_eq!(
                aes_gcm_open(key, nonce, aad, &ciphertext),
                Err(CryptoError::InvalidCiphertext)
            );
        }
        assert_eq!(
            aes_gcm_seal(&[0; 16], &nonce, b"", b"x"),
            Err(CryptoError::CorruptKeyMaterial)
        );
    }

    #[test]
    fn random_sources() {
        assert_eq!(random_bytes(0).unwrap().len(), 0);
        assert_eq!(random_bytes(1024).unwrap().len(), 1024);
        assert_ne!(random_bytes(32).unwrap(), random_bytes(32).unwrap());
        assert_ne!(random_nonce().unwrap(), random_nonce().unwrap());
    }

    /// What a client does with the wrapping public key (the AWS docs' OpenSSL steps).
    fn wrap_for_import(
        wrapping_public: &[u8],
        algorithm: WrappingAlgorithm,
        material: &[u8],
    ) -> Vec<u8> {
        let public = OaepPublicEncryptingKey::new(
            rsa::PublicEncryptingKey::from_der(wrapping_public).unwrap(),
        )
        .unwrap();
        let oaep_encrypt = |oaep: &'static OaepAlgorithm, plaintext: &[u8]| {
            let mut out = vec![0; public.ciphertext_size()];
            public
                .encrypt(oaep, plaintext, &mut out, None)
                .unwrap()
                .to_vec()
        };
        let aes_wrap = |oaep: &'static OaepAlgorithm| {
            let aes_key = random_bytes(32).unwrap();
            let mut wrapped = vec![0; material.len() + 15];
            let wrapped = AesKek::new(&AES_256, &aes_key)
                .unwrap()
                .wrap_with_padding(material, &mut wrapped)
                .unwrap()
                .to_vec();
            [oaep_encrypt(oaep, &aes_key), wrapped].concat()
        };
        match algorithm {
            WrappingAlgorithm::RsaesOaepSha1 => oaep_encrypt(&OAEP_SHA1_MGF1SHA1, material),
            WrappingAlgorithm::RsaesOaepSha256 => oaep_encrypt(&OAEP_SHA256_MGF1SHA256, material),
            WrappingAlgorithm::RsaAesKeyWrapSha1 => aes_wrap(&OAEP_SHA1_MGF1SHA1),
            WrappingAlgorithm::RsaAesKeyWrapSha256 => aes_wrap(&OAEP_SHA256_MGF1SHA256),
            WrappingAlgorithm::RsaesPkcs1V15 => unreachable!(),
        }
    }

    #[test]
    fn import_round_trip_every_wrapping_algorithm() {
        for wrapping_spec in WrappingKeySpec::ALL {
            let wrapping = generate_wrapping_key(*wrapping_spec).unwrap();
            let public = public_key_der(wrapping_spec.key_spec(), &wrapping).unwrap();
            for algorithm in WrappingAlgorithm::ALL {
                if *algorithm == WrappingAlgorithm::RsaesPkcs1V15 {
                    continue;
                }
                let material = random_bytes(32).unwrap();
                let encrypted = wrap_for_import(&public, *algorithm, &material);
                let unwrapped = unwrap_key_material(&wrapping, *algorithm, &encrypted).unwrap();
                assert_eq!(unwrapped.as_slice(), material.as_slice(), "{algorithm}");
                let checked =
                    check_imported_material(KeySpec::SymmetricDefault, &unwrapped).unwrap();
                assert_eq!(checked.as_bytes(), material.as_slice());
            }
        }
    }

    #[test]
    fn import_rsa_private_key_with_aes_key_wrap() {
        // RSA private keys are too large for plain OAEP; KMS requires RSA_AES_KEY_WRAP.
        let wrapping = key(KeySpec::Rsa4096);
        let public = public_key_der(KeySpec::Rsa4096, wrapping).unwrap();
        let imported = key(KeySpec::Rsa3072).as_bytes();
        let encrypted = wrap_for_import(&public, WrappingAlgorithm::RsaAesKeyWrapSha256, imported);
        let unwrapped =
            unwrap_key_material(wrapping, WrappingAlgorithm::RsaAesKeyWrapSha256, &encrypted)
                .unwrap();
        let material = check_imported_material(KeySpec::Rsa3072, &unwrapped).unwrap();
        let signature = sign(
            KeySpec::Rsa3072,
            &material,
            SigningAlgorithm::RsassaPssSha256,
            MessageType::Raw,
            MESSAGE,
        )
        .unwrap();
        assert!(verify(
            KeySpec::Rsa3072,
            key(KeySpec::Rsa3072),
            SigningAlgorithm::RsassaPssSha256,
            MessageType::Raw,
            MESSAGE,
            &signature
        )
        .unwrap());
    }

    #[test]
    fn import_rejects_bad_ciphertext() {
        let wrapping = key(KeySpec::Rsa2048);
        let public = public_key_der(KeySpec::Rsa2048, wrapping).unwrap();
        let material = random_bytes(32).unwrap();
        for algorithm in [
            WrappingAlgorithm::RsaesOaepSha256,
            WrappingAlgorithm::RsaAesKeyWrapSha1,
            WrappingAlgorithm::RsaAesKeyWrapSha256,
        ] {
            let encrypted = wrap_for_import(&public, algorithm, &material);
            for bad in [
                flip_last(&encrypted),
                flip_first(&encrypted),
                encrypted[..encrypted.len() - 8].to_vec(),
                encrypted[..100].to_vec(),
                vec![],
            ] {
                assert_eq!(
                    unwrap_key_material(wrapping, algorithm, &bad),
                    Err(CryptoError::InvalidCiphertext),
                    "{algorithm}"
                );
            }
        }
        // Wrapped with SHA-1, unwrapped claiming SHA-256.
        let encrypted = wrap_for_import(&public, WrappingAlgorithm::RsaAesKeyWrapSha1, &material);
        assert_eq!(
            unwrap_key_material(wrapping, WrappingAlgorithm::RsaAesKeyWrapSha256, &encrypted),
            Err(CryptoError::InvalidCiphertext)
        );
        // Plain OAEP material presented as key wrap has nothing after the RSA block.
        let encrypted = wrap_for_import(&public, WrappingAlgorithm::RsaesOaepSha1, &material);
        assert_eq!(
            unwrap_key_material(wrapping, WrappingAlgorithm::RsaAesKeyWrapSha1, &encrypted),
            Err(CryptoError::InvalidCiphertext)
        );
        assert_eq!(
            unwrap_key_material(wrapping, WrappingAlgorithm::RsaesPkcs1V15, &encrypted),
            Err(CryptoError::UnsupportedWrappingAlgorithm(
                WrappingAlgorithm::RsaesPkcs1V15
            ))
        );
    }

    #[test]
    fn imported_symmetric_and_hmac_lengths() {
        let ok = |spec, len| check_imported_material(spec, &vec![5; len]).is_ok();
        assert!(ok(KeySpec::SymmetricDefault, 32));
        assert!(!ok(KeySpec::SymmetricDefault, 31));
        assert!(!ok(KeySpec::SymmetricDefault, 33));
        assert!(!ok(KeySpec::SymmetricDefault, 16));
        for (spec, min, max) in [
            (KeySpec::Hmac224, 28, 64),
            (KeySpec::Hmac256, 32, 64),
            (KeySpec::Hmac384, 48, 128),
            (KeySpec::Hmac512, 64, 128),
        ] {
            assert!(ok(spec, min), "{spec} min");
            assert!(ok(spec, max), "{spec} max");
            assert!(!ok(spec, min - 1), "{spec} below");
            assert!(!ok(spec, max + 1), "{spec} above");
        }
        assert_eq!(
            check_imported_material(KeySpec::Hmac256, &[0; 10]).map(|_| ()),
            Err(CryptoError::InvalidKeyMaterial {
                spec: KeySpec::Hmac256
            })
        );
        // Imported HMAC material of a non-default length still MACs.
        let material = check_imported_material(KeySpec::Hmac512, &[9; 100]).unwrap();
        let mac = generate_mac(
            KeySpec::Hmac512,
            &material,
            MacAlgorithm::HmacSha512,
            MESSAGE,
        )
        .unwrap();
        assert!(verify_mac(
            KeySpec::Hmac512,
            &material,
            MacAlgorithm::HmacSha512,
            MESSAGE,
            &mac
        )
        .unwrap());
    }

    #[test]
    fn imported_asymmetric_must_match_spec() {
        for spec in asymmetric_specs() {
            let pkcs8 = key(spec).as_bytes();
            let checked = check_imported_material(spec, pkcs8).unwrap();
            assert_eq!(
                public_key_der(spec, &checked).unwrap(),
                public_key_der(spec, key(spec)).unwrap()
            );
        }
        let mismatches = [
            (KeySpec::Rsa3072, KeySpec::Rsa2048),
            (KeySpec::Rsa2048, KeySpec::Rsa4096),
            (KeySpec::Rsa2048, KeySpec::EccNistP256),
            (KeySpec::EccNistP256, KeySpec::EccNistP384),
            (KeySpec::EccNistP256, KeySpec::EccSecgP256k1),
            (KeySpec::EccSecgP256k1, KeySpec::EccNistP256),
            (KeySpec::EccNistP521, KeySpec::Rsa2048),
        ];
        for (spec, other) in mismatches {
            assert_eq!(
                check_imported_material(spec, key(other).as_bytes()).map(|_| ()),
                Err(CryptoError::InvalidKeyMaterial { spec }),
                "{other} imported as {spec}"
            );
        }
        for garbage in [&b""[..], b"\x30\x03\x02\x01\x00", &[0; 200]] {
            assert!(check_imported_material(KeySpec::EccNistP256, garbage).is_err());
            assert!(check_imported_material(KeySpec::Rsa2048, garbage).is_err());
        }
        // A public key is not key material.
        let spki = public_key_der(KeySpec::EccNistP256, key(KeySpec::EccNistP256)).unwrap();
        assert!(check_imported_material(KeySpec::EccNistP256, &spki).is_err());
    }

    #[test]
    fn errors_do_not_leak_secrets() {
        let plaintext = vec![0x41; 300];
        let err = encrypt_asymmetric(
            KeySpec::Rsa2048,
            key(KeySpec::Rsa2048),
            EncryptionAlgorithm::RsaesOaepSha256,
            &plaintext,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "plaintext is longer than the 190 bytes this key and algorithm accept"
        );
        assert_eq!(
            CryptoError::WrongAlgorithmForKey {
                spec: KeySpec::EccNistP256,
                algorithm: "ECDSA_SHA_384"
            }
            .to_string(),
            "algorithm `ECDSA_SHA_384` is not valid for key spec `ECC_NIST_P256`"
        );
    }
}
