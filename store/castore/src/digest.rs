//! The BLAKE3 digest that names every blob, chunk and directory.

use std::fmt;

/// A BLAKE3 digest (32 bytes). Printed and parsed as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct B3Digest(pub [u8; 32]);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DigestParseError {
    #[error("a BLAKE3 digest is 32 bytes, got {0}")]
    WrongLength(usize),
    #[error("invalid hex digit in BLAKE3 digest {0:?}")]
    InvalidHex(String),
}

impl B3Digest {
    /// The digest of `data`.
    pub fn of(data: &[u8]) -> Self {
        B3Digest(*blake3::hash(data).as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Result<Self, DigestParseError> {
        if s.len() != 64 {
            return Err(DigestParseError::WrongLength(s.len() / 2));
        }
        let mut out = [0u8; 32];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(s.get(2 * i..2 * i + 2).unwrap_or("zz"), 16)
                .map_err(|_| DigestParseError::InvalidHex(s.to_string()))?;
        }
        Ok(B3Digest(out))
    }
}

impl TryFrom<&[u8]> for B3Digest {
    type Error = DigestParseError;
    fn try_from(value: &[u8]) -> Result<Self, Self::Error> {
        let arr: [u8; 32] = value
            .try_into()
            .map_err(|_| DigestParseError::WrongLength(value.len()))?;
        Ok(B3Digest(arr))
    }
}

impl From<blake3::Hash> for B3Digest {
    fn from(h: blake3::Hash) -> Self {
        B3Digest(*h.as_bytes())
    }
}

impl fmt::Display for B3Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for B3Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "B3Digest({})", self.to_hex())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_known_value() {
        let d = B3Digest::of(b"");
        // BLAKE3 of the empty input, from the BLAKE3 specification's test vectors.
        assert_eq!(
            d.to_hex(),
            "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"
        );
        assert_eq!(B3Digest::from_hex(&d.to_hex()).unwrap(), d);
        assert!(B3Digest::from_hex("ab").is_err());
        assert!(B3Digest::from_hex(&"g".repeat(64)).is_err());
        assert!(B3Digest::try_from(&[0u8; 31][..]).is_err());
    }
}
