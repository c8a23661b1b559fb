//! Hashing: hashString, hashFile, convertHash, placeholder; and the encodings Nix
//! prints hashes in (base16, Nix's base32, base64, SRI).

use sha1::Digest;

use super::{attrs, string, Registry};
use crate::errors::{ErrorKind, R};
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::{NixString, Value};

pub fn hash_bytes(algo: &str, data: &[u8]) -> R<Vec<u8>> {
    Ok(match algo {
        "md5" => md5::Md5::digest(data).to_vec(),
        "sha1" => sha1::Sha1::digest(data).to_vec(),
        "sha256" => sha2::Sha256::digest(data).to_vec(),
        "sha512" => sha2::Sha512::digest(data).to_vec(),
        other => return Err(unknown_algo(other)),
    })
}

fn unknown_algo(algo: &str) -> Box<ErrorKind> {
    ErrorKind::other(format!("unknown hash algorithm '{algo}'")).into()
}

/// `check_first` of `hashString` and `hashFile`: the algorithm is known.
fn algo_first(v: &Value) -> R<()> {
    let algo = string(v)?.to_str_lossy();
    match algo_len(&algo) {
        Some(_) => Ok(()),
        None => Err(unknown_algo(&algo)),
    }
}

fn algo_len(algo: &str) -> Option<usize> {
    Some(match algo {
        "md5" => 16,
        "sha1" => 20,
        "sha256" => 32,
        "sha512" => 64,
        _ => return None,
    })
}

const NIX32: &[u8] = b"0123456789abcdfghijklmnpqrsvwxyz";

pub fn nix32_encode(h: &[u8]) -> String {
    let len = (h.len() * 8).div_ceil(5);
    let mut s = String::with_capacity(len);
    for n in (0..len).rev() {
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        let c = (h[i] >> j) as u16
            | if i + 1 < h.len() {
                (h[i + 1] as u16) << (8 - j)
            } else {
                0
            };
        s.push(NIX32[(c & 0x1f) as usize] as char);
    }
    s
}

fn nix32_decode(s: &str, size: usize) -> Option<Vec<u8>> {
    let mut out = vec![0u8; size];
    let bytes = s.as_bytes();
    for (n, &c) in bytes.iter().rev().enumerate() {
        let digit = NIX32.iter().position(|&x| x == c)? as u16;
        let b = n * 5;
        let i = b / 8;
        let j = b % 8;
        out[i] |= (digit << j) as u8;
        let carry = digit >> (8 - j);
        if i + 1 < size {
            out[i + 1] |= carry as u8;
        } else if carry != 0 {
            return None;
        }
    }
    Some(out)
}

const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn b64_encode(d: &[u8]) -> String {
    let mut s = String::new();
    for chunk in d.chunks(3) {
        let n = chunk.len();
        let v = (chunk[0] as u32) << 16
            | (*chunk.get(1).unwrap_or(&0) as u32) << 8
            | *chunk.get(2).unwrap_or(&0) as u32;
        for k in 0..4 {
            if k <= n {
                s.push(B64[((v >> (18 - 6 * k)) & 63) as usize] as char);
            } else {
                s.push('=');
            }
        }
    }
    s
}

fn b64_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = 0u32;
    let mut bits = 0;
    for c in s.bytes() {
        if c == b'=' {
            break;
        }
        let v = B64.iter().position(|&x| x == c)? as u32;
        buf = buf << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
        }
    }
    Some(out)
}

fn hex(d: &[u8]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).ok())
        .collect()
}

fn encode(d: &[u8], fmt: &str, algo: &str) -> R<String> {
    Ok(match fmt {
        "base16" => hex(d),
        "nix32" | "base32" => nix32_encode(d),
        "base64" => b64_encode(d),
        "sri" => format!("{algo}-{}", b64_encode(d)),
        other => return Err(ErrorKind::other(format!("unknown hash format '{other}'")).into()),
    })
}

/// Parse a hash in any of Nix's notations.
pub(crate) fn parse_hash(s: &str, algo: Option<&str>) -> R<(String, Vec<u8>)> {
    let bad = || ErrorKind::other(format!("invalid hash '{s}'"));
    let (algo, rest) =
        if let Some((a, r)) = s.split_once('-').filter(|(a, _)| algo_len(a).is_some()) {
            (a.to_string(), (r, true))
        } else if let Some((a, r)) = s.split_once(':').filter(|(a, _)| algo_len(a).is_some()) {
            (a.to_string(), (r, false))
        } else {
            let a = algo.ok_or_else(|| {
                ErrorKind::other(format!(
                "hash '{s}' does not include a type, nor is the type otherwise known from context"
            ))
            })?;
            (a.to_string(), (s, false))
        };
    let size = algo_len(&algo).ok_or_else(bad)?;
    let (body, sri) = rest;
    let d = if sri {
        b64_decode(body)
    } else if body.len() == size * 2 {
        unhex(body)
    } else if body.len() == (size * 8).div_ceil(5) {
        nix32_decode(body, size)
    } else {
        b64_decode(body)
    };
    match d {
        Some(d) if d.len() == size => Ok((algo, d)),
        _ => Err(bad().into()),
    }
}

pub fn register(r: &mut Registry) {
    r.plain_checked("hashString", 2, algo_first, |_, a| {
        let algo = string(&a[0])?.to_str_lossy().into_owned();
        let d = hash_bytes(&algo, string(&a[1])?.as_bytes())?;
        Ok(Value::String(NixString::from(hex(&d))))
    });
    r.plain_checked("hashFile", 2, algo_first, |s: &mut EvalState, a| {
        let algo = string(&a[0])?.to_str_lossy().into_owned();
        let p = super::io::path_arg(&a[1])?;
        let data =
            s.io.read_file(&p)
                .map_err(|e| ErrorKind::Io(format!("opening file '{}': {e}", p.display())))?;
        Ok(Value::String(NixString::from(hex(&hash_bytes(
            &algo, &data,
        )?))))
    });
    r.gen("convertHash", 1, |co, a| {
        Box::pin(async move {
            let args = crate::generators::force(&co, a[0].clone()).await?;
            let args = attrs(&args)?.clone();
            let mut get = Vec::new();
            for n in ["hash", "hashAlgo", "toHashFormat"] {
                get.push(match args.get(Symbol::intern(n)) {
                    Some(v) => match crate::generators::force(&co, v.clone()).await? {
                        Value::String(s) => Some(s.to_str_lossy().into_owned()),
                        other => return Err(crate::generators::type_error("a string", &other)),
                    },
                    None => None,
                });
            }
            let hash = get[0].clone().ok_or_else(|| ErrorKind::AttributeMissing {
                name: "hash".into(),
                suggestion: None,
            })?;
            let fmt = get[2].clone().ok_or_else(|| ErrorKind::AttributeMissing {
                name: "toHashFormat".into(),
                suggestion: None,
            })?;
            let (algo, d) = parse_hash(&hash, get[1].as_deref())?;
            Ok(Value::String(NixString::from(encode(&d, &fmt, &algo)?)))
        })
    });
    r.plain("placeholder", 1, |_, a| {
        let out = string(&a[0])?;
        let mut data = b"nix-output:".to_vec();
        data.extend_from_slice(out.as_bytes());
        let d = hash_bytes("sha256", &data)?;
        Ok(Value::String(NixString::from(format!(
            "/{}",
            nix32_encode(&d)
        ))))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nix32_round_trip() {
        let d = hash_bytes("sha256", b"abc").unwrap();
        let s = nix32_encode(&d);
        assert_eq!(nix32_decode(&s, 32).unwrap(), d);
        assert_eq!(b64_decode(&b64_encode(&d)).unwrap(), d);
    }
}
