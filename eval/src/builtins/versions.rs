//! Version strings: compareVersions, splitVersion, parseDrvName.

use super::{string, Registry};
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};

/// The next component of a version string, as C++ Nix splits them.
fn next_component<'a>(s: &'a [u8], p: &mut usize) -> &'a [u8] {
    while *p < s.len() && (s[*p] == b'.' || s[*p] == b'-') {
        *p += 1;
    }
    let start = *p;
    if *p < s.len() && s[*p].is_ascii_digit() {
        while *p < s.len() && s[*p].is_ascii_digit() {
            *p += 1;
        }
    } else {
        while *p < s.len() && !s[*p].is_ascii_digit() && s[*p] != b'.' && s[*p] != b'-' {
            *p += 1;
        }
    }
    &s[start..*p]
}

fn as_num(c: &[u8]) -> Option<u64> {
    if c.is_empty() || !c.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(c).ok()?.parse().ok()
}

fn component_lt(c1: &[u8], c2: &[u8]) -> bool {
    let (n1, n2) = (as_num(c1), as_num(c2));
    match (n1, n2) {
        (Some(a), Some(b)) => a < b,
        _ if c1.is_empty() && n2.is_some() => true,
        _ if c1 == b"pre" && c2 != b"pre" => true,
        _ if c2 == b"pre" => false,
        (_, Some(_)) => true,
        (Some(_), _) => false,
        _ => c1 < c2,
    }
}

pub fn compare_versions(v1: &[u8], v2: &[u8]) -> i64 {
    let (mut p1, mut p2) = (0, 0);
    while p1 < v1.len() || p2 < v2.len() {
        let c1 = next_component(v1, &mut p1);
        let c2 = next_component(v2, &mut p2);
        if component_lt(c1, c2) {
            return -1;
        } else if component_lt(c2, c1) {
            return 1;
        }
    }
    0
}

pub fn register(r: &mut Registry) {
    r.plain_checked("compareVersions", 2, super::string_first, |_, a| {
        Ok(Value::Int(compare_versions(
            string(&a[0])?.as_bytes(),
            string(&a[1])?.as_bytes(),
        )))
    });
    r.plain("splitVersion", 1, |_, a| {
        let s = string(&a[0])?.as_bytes().to_vec();
        let mut p = 0;
        let mut out = Vec::new();
        while p < s.len() {
            let c = next_component(&s, &mut p);
            if c.is_empty() {
                break;
            }
            out.push(Value::String(NixString::from(c)));
        }
        Ok(Value::list(out))
    });
    r.plain("parseDrvName", 1, |_, a| {
        let s = string(&a[0])?.as_bytes().to_vec();
        let mut name = &s[..];
        let mut version: &[u8] = b"";
        for i in 0..s.len() {
            if s[i] == b'-' && i + 1 < s.len() && !s[i + 1].is_ascii_alphabetic() {
                name = &s[..i];
                version = &s[i + 1..];
                break;
            }
        }
        Ok(Value::attrs(Attrs::from_sorted(vec![
            (Symbol::intern("name"), Value::String(NixString::from(name))),
            (
                Symbol::intern("version"),
                Value::String(NixString::from(version)),
            ),
        ])))
    });
}
