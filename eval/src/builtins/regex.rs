//! `match` and `split` with POSIX extended regular expressions, as C++ Nix uses them.
//!
//! Patterns are translated to the `regex` crate, which agrees with POSIX ERE for the
//! syntax Nix code uses (bracket expressions incl. `[[:alpha:]]`, groups, `|`, `*+?{}`,
//! anchors). Where it does not: the regex crate picks the leftmost-*first* alternative
//! while POSIX picks the leftmost-*longest* match, so `(a|ab)` against `ab` captures
//! differently in `split` (`match` anchors the whole string, so it agrees); and
//! backreferences are not supported (they are not ERE either).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use super::{string, Registry};
use crate::errors::{ErrorKind, R};
use crate::value::{NixString, Value};

thread_local! {
    /// Compiled patterns, unanchored (`split`) and anchored (`match`). Each is shared,
    /// not cloned: a cloned `Regex` starts with empty match caches and rebuilds them on
    /// every call.
    static CACHE: RefCell<[HashMap<String, Rc<regex::bytes::Regex>>; 2]> = RefCell::default();
}

/// Translate the few POSIX spellings the regex crate reads differently.
fn translate(re: &str) -> String {
    let mut out = String::with_capacity(re.len());
    let chars: Vec<char> = re.chars().collect();
    let mut i = 0;
    let mut in_bracket = false;
    while i < chars.len() {
        let c = chars[i];
        if in_bracket {
            if c == '[' && chars.get(i + 1) == Some(&':') {
                // [:class:] stays as is.
                if let Some(end) = (i + 2..chars.len().saturating_sub(1))
                    .find(|&j| chars[j] == ':' && chars[j + 1] == ']')
                {
                    out.extend(&chars[i..end + 2]);
                    i = end + 2;
                    continue;
                }
            }
            if c == ']' {
                in_bracket = false;
                out.push(']');
            } else if c == '\\' || c == '[' || c == '&' || c == '~' {
                out.push('\\');
                out.push(c);
            } else {
                out.push(c);
            }
            i += 1;
            continue;
        }
        match c {
            '\\' if i + 1 < chars.len() => {
                out.push('\\');
                out.push(chars[i + 1]);
                i += 2;
                continue;
            }
            '[' => {
                in_bracket = true;
                out.push('[');
                i += 1;
                if chars.get(i) == Some(&'^') {
                    out.push('^');
                    i += 1;
                }
                // A `]` first in a bracket expression is literal.
                if chars.get(i) == Some(&']') {
                    out.push_str("\\]");
                    i += 1;
                }
                continue;
            }
            '{' => {
                // `{` not starting a valid bound is literal in practice.
                let rest: String = chars[i + 1..].iter().collect();
                let valid = rest
                    .find('}')
                    .map(|e| {
                        let b = &rest[..e];
                        !b.is_empty() && b.chars().all(|c| c.is_ascii_digit() || c == ',')
                    })
                    .unwrap_or(false);
                if valid {
                    out.push('{');
                } else {
                    out.push_str("\\{");
                }
            }
            '}' => {
                let before: String = out.chars().collect();
                let open = before
                    .rfind('{')
                    .map(|p| p == 0 || !before[..p].ends_with('\\'))
                    .unwrap_or(false);
                if open && before.rfind('{') > before.rfind('}') {
                    out.push('}');
                } else {
                    out.push_str("\\}");
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

fn compile(re: &str, anchored: bool) -> R<Rc<regex::bytes::Regex>> {
    if let Some(r) = CACHE.with(|c| c.borrow()[anchored as usize].get(re).cloned()) {
        return Ok(r);
    }
    let t = translate(re);
    let pat = if anchored { format!("^(?:{t})$") } else { t };
    let r = regex::bytes::RegexBuilder::new(&pat)
        .unicode(false)
        // POSIX `.` matches any character, newlines included.
        .dot_matches_new_line(true)
        .build()
        .map_err(|_| ErrorKind::other(format!("invalid regular expression '{re}'")))?;
    let r = Rc::new(r);
    CACHE.with(|c| c.borrow_mut()[anchored as usize].insert(re.to_string(), r.clone()));
    Ok(r)
}

fn groups(caps: &regex::bytes::Captures) -> Value {
    Value::list(
        caps.iter()
            .skip(1)
            .map(|m| match m {
                Some(m) => Value::String(NixString::from(m.as_bytes())),
                None => Value::Null,
            })
            .collect(),
    )
}

pub fn register(r: &mut Registry) {
    r.plain_checked(
        "match",
        2,
        |re| compile(&string(re)?.to_str_lossy(), true).map(drop),
        |_, a| {
            let re = string(&a[0])?.to_str_lossy();
            let s = string(&a[1])?;
            let re = compile(&re, true)?;
            Ok(match re.captures(s.as_bytes()) {
                Some(c) => groups(&c),
                None => Value::Null,
            })
        },
    );
    r.plain_checked(
        "split",
        2,
        |re| compile(&string(re)?.to_str_lossy(), false).map(drop),
        |_, a| {
            let re = string(&a[0])?.to_str_lossy();
            let s = string(&a[1])?;
            let re = compile(&re, false)?;
            let b = s.as_bytes();
            let mut out = Vec::new();
            let mut last = 0;
            for c in re.captures_iter(b) {
                let m = c.get(0).expect("group 0 always matches");
                out.push(Value::String(NixString::from(&b[last..m.start()])));
                out.push(groups(&c));
                last = m.end();
            }
            out.push(Value::String(NixString::from(&b[last..])));
            Ok(Value::list(out))
        },
    );
}
