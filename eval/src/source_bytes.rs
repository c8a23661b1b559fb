//! Nix source files are bytes, but the parser (rnix) takes `&str`. A file that is not
//! valid UTF-8 is decoded reversibly: every byte that is not part of a valid UTF-8
//! sequence becomes one private-use character (U+10FF80 + (byte - 0x80)), and string
//! literals turn those characters back into their bytes, so
//! `"\xff"` written raw in a file is the one-byte string C++ Nix sees.
//!
//! So that the mapping is exact, a character of the reserved range that the file
//! really contains is escaped the same way, one character per byte of its UTF-8 form;
//! restoring then gives back the bytes the file had.

use std::borrow::Cow;

/// The first of the 128 reserved characters (one per byte 0x80..=0xFF).
const BASE: u32 = 0x10FF80;

fn reserved(c: char) -> Option<u8> {
    let c = c as u32;
    (c >= BASE).then(|| (c - BASE + 0x80) as u8)
}

fn byte_char(b: u8) -> char {
    debug_assert!(b >= 0x80, "ASCII is always valid UTF-8");
    char::from_u32(BASE + (b - 0x80) as u32).expect("in the Unicode range")
}

/// Source text for the parser from a file's bytes.
pub fn decode(bytes: &[u8]) -> Cow<'_, str> {
    // Valid UTF-8 without reserved characters (every real file) is used as it is.
    if let Ok(s) = std::str::from_utf8(bytes) {
        // Reserved characters are encoded with a leading 0xF4 byte.
        if !bytes.contains(&0xF4) || !s.chars().any(|c| reserved(c).is_some()) {
            return Cow::Borrowed(s);
        }
    }
    let mut out = String::with_capacity(bytes.len() + 8);
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            if reserved(c).is_some() {
                let mut buf = [0; 4];
                out.extend(c.encode_utf8(&mut buf).bytes().map(byte_char));
            } else {
                out.push(c);
            }
        }
        out.extend(chunk.invalid().iter().map(|&b| byte_char(b)));
    }
    Cow::Owned(out)
}

/// The bytes a piece of decoded source text stood for.
pub fn restore(s: &str) -> Cow<'_, [u8]> {
    // Reserved characters are encoded with a leading 0xF4 byte.
    if !s.as_bytes().contains(&0xF4) || !s.chars().any(|c| reserved(c).is_some()) {
        return Cow::Borrowed(s.as_bytes());
    }
    let mut out = Vec::with_capacity(s.len());
    for c in s.chars() {
        match reserved(c) {
            Some(b) => out.push(b),
            None => {
                let mut buf = [0; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    Cow::Owned(out)
}

/// How many bytes of the original file `s` (decoded text) stood for: a reserved
/// character is one byte. Columns in messages count the file's bytes, as C++ Nix does.
pub fn original_len(s: &str) -> usize {
    if !s.as_bytes().contains(&0xF4) {
        return s.len();
    }
    s.chars()
        .map(|c| {
            if reserved(c).is_some() {
                1
            } else {
                c.len_utf8()
            }
        })
        .sum()
}

/// Text for a message: reserved characters become U+FFFD.
pub fn for_display(s: &str) -> Cow<'_, str> {
    if !s.as_bytes().contains(&0xF4) {
        return Cow::Borrowed(s);
    }
    Cow::Owned(
        s.chars()
            .map(|c| if reserved(c).is_some() { '\u{FFFD}' } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_utf8_is_untouched() {
        let s = "let x = \"é ✓ 😀\"; in x";
        assert!(matches!(decode(s.as_bytes()), Cow::Borrowed(_)));
        assert!(matches!(restore(s), Cow::Borrowed(_)));
    }

    #[test]
    fn invalid_bytes_round_trip() {
        let bytes = b"\"a\xff b\xc3\x28 c\xe2\x82\"".to_vec();
        let text = decode(&bytes);
        assert!(text.is_char_boundary(0));
        assert_eq!(&*restore(&text), &bytes[..]);
        assert_eq!(original_len(&text), bytes.len());
    }

    #[test]
    fn reserved_characters_in_the_file_round_trip() {
        let mut bytes = "x = \"".as_bytes().to_vec();
        bytes.extend_from_slice("\u{10FF80}\u{10FFFF}".as_bytes());
        bytes.extend_from_slice(b"\xff\";");
        let text = decode(&bytes);
        assert_eq!(&*restore(&text), &bytes[..]);
        assert_eq!(original_len(&text), bytes.len());
    }
}
