//! ed25519 keys and signatures in Nix's text form: `name:base64`.
//!
//! A secret key is libsodium's 64 bytes (seed, then public key), a public key 32
//! bytes, a signature 64 bytes; `name` says which key made or checks it (for
//! example `cache.nixos.org-1`). What gets signed is a path's fingerprint, see
//! [`crate::narinfo::NarInfo::fingerprint`].

use std::fmt;
use std::str::FromStr;

use data_encoding::BASE64;
use ed25519_dalek::{Signer, Verifier};
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    #[error("key or signature '{0}' is not of the form 'name:base64'")]
    MissingName(String),
    #[error("invalid base64 in key or signature named '{0}'")]
    InvalidBase64(String),
    #[error("{what} named '{name}' has {len} bytes, expected {expected}")]
    WrongLength {
        what: &'static str,
        name: String,
        len: usize,
        expected: usize,
    },
    #[error("secret key '{0}' is inconsistent: its public half does not match its seed")]
    InconsistentSecretKey(String),
    #[error("public key '{0}' is not a valid ed25519 point")]
    InvalidPublicKey(String),
}

fn split(s: &str) -> Result<(&str, Vec<u8>), KeyError> {
    let (name, b64) = s
        .split_once(':')
        .filter(|(n, _)| !n.is_empty())
        .ok_or_else(|| KeyError::MissingName(s.to_owned()))?;
    let bytes = BASE64
        .decode(b64.trim().as_bytes())
        .map_err(|_| KeyError::InvalidBase64(name.to_owned()))?;
    Ok((name, bytes))
}

fn fixed<const N: usize>(
    what: &'static str,
    name: &str,
    bytes: &[u8],
) -> Result<[u8; N], KeyError> {
    bytes.try_into().map_err(|_| KeyError::WrongLength {
        what,
        name: name.to_owned(),
        len: bytes.len(),
        expected: N,
    })
}

/// A signature with the name of the key that made it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Signature {
    pub name: String,
    pub bytes: [u8; 64],
}

impl FromStr for Signature {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let (name, bytes) = split(s)?;
        Ok(Signature {
            bytes: fixed("signature", name, &bytes)?,
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, BASE64.encode(&self.bytes))
    }
}

/// A secret key, as `nix-store --generate-binary-cache-key` writes it.
#[derive(Clone)]
pub struct SigningKey {
    name: String,
    key: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print the secret.
        write!(f, "SigningKey({})", self.name)
    }
}

impl SigningKey {
    /// A key from a 32-byte seed (for example from a random number generator).
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Self {
        SigningKey {
            name: name.to_owned(),
            key: ed25519_dalek::SigningKey::from_bytes(&seed),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature {
            name: self.name.clone(),
            bytes: self.key.sign(message).to_bytes(),
        }
    }

    /// The `name:base64` text form (seed followed by public key).
    pub fn to_secret_string(&self) -> String {
        format!(
            "{}:{}",
            self.name,
            BASE64.encode(&self.key.to_keypair_bytes())
        )
    }
}

impl FromStr for SigningKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let (name, bytes) = split(s)?;
        let pair: [u8; 64] = fixed("secret key", name, &bytes)?;
        let key = ed25519_dalek::SigningKey::from_keypair_bytes(&pair)
            .map_err(|_| KeyError::InconsistentSecretKey(name.to_owned()))?;
        Ok(SigningKey {
            name: name.to_owned(),
            key,
        })
    }
}

/// A public key that checks signatures of the same name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyingKey {
    name: String,
    key: ed25519_dalek::VerifyingKey,
}

impl VerifyingKey {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `sig` was made by this key over `message`. A signature under a
    /// different key name is not ours and does not verify.
    pub fn verify(&self, message: &[u8], sig: &Signature) -> bool {
        sig.name == self.name
            && self
                .key
                .verify(message, &ed25519_dalek::Signature::from_bytes(&sig.bytes))
                .is_ok()
    }
}

impl FromStr for VerifyingKey {
    type Err = KeyError;
    fn from_str(s: &str) -> Result<Self, KeyError> {
        let (name, bytes) = split(s)?;
        let b: [u8; 32] = fixed("public key", name, &bytes)?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&b)
            .map_err(|_| KeyError::InvalidPublicKey(name.to_owned()))?;
        Ok(VerifyingKey {
            name: name.to_owned(),
            key,
        })
    }
}

impl fmt::Display for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.name, BASE64.encode(self.key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The public key of cache.nixos.org.
    const CACHE_PUB: &str = "cache.nixos.org-1:6NCHdD59X431o0gWypbMrAURkbJ16ZPMQFGspcDShjY=";

    #[test]
    fn keys_round_trip_and_sign() {
        let sk = SigningKey::from_seed("test-1", [7; 32]);
        let text = sk.to_secret_string();
        let parsed: SigningKey = text.parse().unwrap();
        assert_eq!(parsed.verifying_key(), sk.verifying_key());
        let pk: VerifyingKey = sk.verifying_key().to_string().parse().unwrap();
        let sig = sk.sign(b"message");
        let sig2: Signature = sig.to_string().parse().unwrap();
        assert_eq!(sig2, sig);
        assert!(pk.verify(b"message", &sig));
        assert!(!pk.verify(b"other message", &sig));
        let renamed = Signature {
            name: "other-1".into(),
            ..sig
        };
        assert!(!pk.verify(b"message", &renamed));
    }

    #[test]
    fn parses_a_real_public_key() {
        let pk: VerifyingKey = CACHE_PUB.parse().unwrap();
        assert_eq!(pk.name(), "cache.nixos.org-1");
        assert_eq!(pk.to_string(), CACHE_PUB);
    }

    #[test]
    fn rejects_bad_keys() {
        assert!(matches!(
            "nocolon".parse::<VerifyingKey>(),
            Err(KeyError::MissingName(_))
        ));
        assert!(matches!(
            ":abc=".parse::<VerifyingKey>(),
            Err(KeyError::MissingName(_))
        ));
        assert!(matches!(
            "n:!!!".parse::<VerifyingKey>(),
            Err(KeyError::InvalidBase64(_))
        ));
        assert!(matches!(
            "n:AAAA".parse::<VerifyingKey>(),
            Err(KeyError::WrongLength { .. })
        ));
        // A secret key whose public half belongs to another seed.
        let a = SigningKey::from_seed("k", [1; 32]).key.to_keypair_bytes();
        let b = SigningKey::from_seed("k", [2; 32]).key.to_keypair_bytes();
        let mut mixed = a;
        mixed[32..].copy_from_slice(&b[32..]);
        let s = format!("k:{}", BASE64.encode(&mixed));
        assert!(matches!(
            s.parse::<SigningKey>(),
            Err(KeyError::InconsistentSecretKey(_))
        ));
    }
}
