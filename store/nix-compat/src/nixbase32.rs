//! Nix's base-32 encoding.
//!
//! It differs from RFC 4648 in two ways: the alphabet omits `e`, `o`, `t` and `u`,
//! and the bytes are read from the *end*: the first character printed holds the
//! most significant bits of the last byte. Store path digests and `sha256:...`
//! hashes printed by Nix use it.

use thiserror::Error;

/// The 32 characters, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdfghijklmnpqrsvwxyz";

/// Why a string is not valid nixbase32 for the requested length.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    #[error("invalid nixbase32 character {0:?} at position {1}")]
    InvalidCharacter(char, usize),
    #[error("nixbase32 string of length {0} does not encode a whole number of bytes")]
    InvalidLength(usize),
    #[error("nixbase32 string has non-zero bits beyond the encoded bytes")]
    NonZeroPadding,
}

/// Number of characters needed to encode `len` bytes.
pub const fn encode_len(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        (len * 8 - 1) / 5 + 1
    }
}

/// Number of bytes encoded by a string of `len` characters, if that length is one
/// that [`encode_len`] can produce.
pub fn decode_len(len: usize) -> Option<usize> {
    let bytes = len * 5 / 8;
    (encode_len(bytes) == len).then_some(bytes)
}

/// Encode bytes as nixbase32.
pub fn encode(input: &[u8]) -> String {
    let out_len = encode_len(input.len());
    let mut out = String::with_capacity(out_len);
    for n in (0..out_len).rev() {
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let lo = input[i] as u16 >> j;
        let hi = if i + 1 < input.len() {
            (input[i + 1] as u16) << (8 - j)
        } else {
            0
        };
        out.push(ALPHABET[((lo | hi) & 0x1f) as usize] as char);
    }
    out
}

fn char_value(c: u8) -> Option<u8> {
    // The alphabet is small; a lookup table keeps decoding branch-free enough.
    const TABLE: [u8; 256] = {
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 32 {
            t[ALPHABET[i] as usize] = i as u8;
            i += 1;
        }
        t
    };
    let v = TABLE[c as usize];
    (v != 0xff).then_some(v)
}

/// Decode a nixbase32 string. Its length determines the number of bytes.
pub fn decode(input: impl AsRef<[u8]>) -> Result<Vec<u8>, DecodeError> {
    let input = input.as_ref();
    let len = decode_len(input.len()).ok_or(DecodeError::InvalidLength(input.len()))?;
    let mut out = vec![0u8; len];
    for (pos, &c) in input.iter().enumerate() {
        let digit = char_value(c).ok_or(DecodeError::InvalidCharacter(c as char, pos))? as u16;
        let n = input.len() - 1 - pos;
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let shifted = digit << j;
        out[i] |= shifted as u8;
        let carry = (shifted >> 8) as u8;
        if i + 1 < len {
            out[i + 1] |= carry;
        } else if carry != 0 {
            return Err(DecodeError::NonZeroPadding);
        }
    }
    Ok(out)
}

/// Decode into a fixed-size array; the string must have exactly the matching length.
pub fn decode_fixed<const N: usize>(input: impl AsRef<[u8]>) -> Result<[u8; N], DecodeError> {
    let input = input.as_ref();
    if input.len() != encode_len(N) {
        return Err(DecodeError::InvalidLength(input.len()));
    }
    let v = decode(input)?;
    let mut out = [0u8; N];
    out.copy_from_slice(&v);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_vectors() {
        // sha256 of "" as printed by `nix-hash --type sha256 --to-base32`.
        let hex = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let bytes = data_encoding::HEXLOWER.decode(hex.as_bytes()).unwrap();
        assert_eq!(
            encode(&bytes),
            "0mdqa9w1p6cmli6976v4wi0sw9r4p5prkj7lzfd1877wk11c9c73"
        );
        assert_eq!(encode(&[0x1f]), "0z");
        assert_eq!(encode(&[]), "");
        assert_eq!(decode("0z").unwrap(), vec![0x1f]);
    }

    #[test]
    fn lengths() {
        assert_eq!(encode_len(20), 32);
        assert_eq!(encode_len(32), 52);
        assert_eq!(encode_len(64), 103);
        assert_eq!(decode_len(32), Some(20));
        assert_eq!(decode_len(52), Some(32));
        assert_eq!(decode_len(3), None);
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(decode("0e"), Err(DecodeError::InvalidCharacter('e', 1)));
        assert_eq!(decode("abc"), Err(DecodeError::InvalidLength(3)));
        // 2 chars = 10 bits for 1 byte: the top two bits must be zero.
        assert_eq!(decode("zz"), Err(DecodeError::NonZeroPadding));
        assert!(decode_fixed::<20>("0z").is_err());
    }

    proptest! {
        #[test]
        fn round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let s = encode(&bytes);
            prop_assert_eq!(s.len(), encode_len(bytes.len()));
            prop_assert_eq!(decode(&s).unwrap(), bytes);
        }

        #[test]
        fn decode_never_panics(s in "[0-9a-z]{0,60}") {
            if let Ok(b) = decode(&s) {
                prop_assert_eq!(encode(&b), s);
            }
        }
    }
}
