//! Printing values exactly as `nix-instantiate --eval` prints them.

use std::collections::HashSet;

use crate::value::{ThunkState, Value};

/// C++ `std::ostream << double` with the default precision (6 significant digits).
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        return if f.is_sign_negative() { "-nan" } else { "nan" }.into();
    }
    if f.is_infinite() {
        return if f < 0.0 { "-inf" } else { "inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // The shortest digits that read back as `f` come cheaply; when there are at most
    // six, rounding to six significant digits (C's %g) keeps exactly them.
    let short = format!("{:e}", f);
    if let Some((mant, exp)) = short.split_once('e') {
        if mant.bytes().filter(u8::is_ascii_digit).count() <= 6 {
            let exp: i32 = exp.parse().unwrap_or(0);
            if (-4..6).contains(&exp) {
                return format!("{f}");
            }
            let sign = if exp < 0 { '-' } else { '+' };
            return format!("{mant}e{sign}{:02}", exp.abs());
        }
    }
    let sci = format!("{:.5e}", f);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let mant = trim_zeros(mant);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (5 - exp).max(0) as usize;
        trim_zeros(&format!("{:.*}", decimals, f)).to_string()
    }
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

pub fn escape_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'$' if s.get(i + 1) == Some(&b'{') => out.extend_from_slice(b"\\$"),
            c => out.push(c),
        }
        i += 1;
    }
    out.push(b'"');
}

pub fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '\'' || c == '-')
        && !matches!(
            s,
            "if" | "then" | "else" | "assert" | "with" | "let" | "in" | "rec" | "inherit" | "or"
        )
}

pub fn print_attr_name(name: &str, out: &mut Vec<u8>) {
    if is_identifier(name) {
        out.extend_from_slice(name.as_bytes());
    } else {
        escape_string(name.as_bytes(), out);
    }
}

/// Print a value; unevaluated thunks print as `<CODE>` (what `--eval` without `--strict`
/// shows), values met twice in one print as `«repeated»`.
pub fn print_value(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    print_into(v, &mut out, &mut seen, None);
    out
}

/// One line, for debuggers: like `print_value` with thunks left alone.
pub fn print_shallow(v: &Value) -> String {
    String::from_utf8_lossy(&print_value(v)).into_owned()
}

/// Work left to do in [`print_into`]: text to emit, or a value (with its key) to print.
enum Item {
    Text(Vec<u8>),
    Static(&'static [u8]),
    Val(Value, Option<usize>),
}

/// Prints with an explicit work stack rather than recursion, so that a value nested
/// 10^5 deep prints instead of overflowing the Rust stack.
///
/// `seen` keys follow C++ Nix 2.8, which remembers the `Bindings` of an attribute set
/// (shared by every copy of it) and the element array of a list; a list of one or two
/// elements keeps its elements inside the cell holding it, so it is only «repeated»
/// when reached through the same cell (here: the same thunk, `key`).
fn print_into(v: &Value, out: &mut Vec<u8>, seen: &mut HashSet<usize>, key: Option<usize>) {
    let mut stack = vec![Item::Val(v.clone(), key)];
    while let Some(item) = stack.pop() {
        let (v, key) = match item {
            Item::Text(t) => {
                out.extend_from_slice(&t);
                continue;
            }
            Item::Static(t) => {
                out.extend_from_slice(t);
                continue;
            }
            Item::Val(v, key) => (v, key),
        };
        match &v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) => out.extend_from_slice(format_float(*f).as_bytes()),
            Value::String(s) => escape_string(s.as_bytes(), out),
            Value::Path(p) => out.extend_from_slice(p.to_string_lossy().as_bytes()),
            Value::Attrs(a) => {
                if a.is_empty() {
                    out.extend_from_slice(b"{ }");
                    continue;
                }
                if !seen.insert(a.as_ptr() as usize) {
                    out.extend_from_slice("«repeated»".as_bytes());
                    continue;
                }
                out.extend_from_slice(b"{ ");
                stack.push(Item::Static(b"}"));
                let entries: Vec<_> = a.iter().map(|(k, v)| (k, v.clone())).collect();
                for (k, v) in entries.into_iter().rev() {
                    stack.push(Item::Static(b"; "));
                    stack.push(Item::Val(v, None));
                    let mut name = Vec::new();
                    print_attr_name(k.as_str(), &mut name);
                    name.extend_from_slice(b" = ");
                    stack.push(Item::Text(name));
                }
            }
            Value::List(l) => {
                if l.is_empty() {
                    out.extend_from_slice(b"[ ]");
                    continue;
                }
                let list_key = l.as_ptr() as usize;
                let id = if l.len() <= 2 {
                    key.unwrap_or(list_key)
                } else {
                    list_key
                };
                if !seen.insert(id) {
                    out.extend_from_slice("«repeated»".as_bytes());
                    continue;
                }
                out.extend_from_slice(b"[ ");
                stack.push(Item::Static(b"]"));
                let items: Vec<_> = l.iter().cloned().collect();
                for v in items.into_iter().rev() {
                    stack.push(Item::Static(b" "));
                    stack.push(Item::Val(v, None));
                }
            }
            Value::Closure(_) => out.extend_from_slice(b"<LAMBDA>"),
            Value::Builtin(b) => {
                if b.args.is_empty() {
                    out.extend_from_slice(b"<PRIMOP>")
                } else {
                    out.extend_from_slice(b"<PRIMOP-APP>")
                }
            }
            Value::Thunk(t) => match &*t.borrow() {
                ThunkState::Evaluated(inner) => {
                    stack.push(Item::Val(inner.clone(), Some(t.as_ptr() as usize)))
                }
                _ => out.extend_from_slice(b"<CODE>"),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::format_float;

    fn strict(e: &str) -> String {
        crate::eval_to_string(e).unwrap()
    }

    #[test]
    fn repeated_follows_cpp_nix_identity() {
        // Checked against `nix-instantiate --eval --strict -E` of C++ Nix 2.8.
        let s = "let s = {x=1;}; f = y: y; in [ s (f s) ]";
        assert_eq!(strict(s), "[ { x = 1; } «repeated» ]");
        let s = "let s = {x=1;}; in [ {a=s;} s ]";
        assert_eq!(strict(s), "[ { a = { x = 1; }; } «repeated» ]");
        let s = "let s = [1 2 3]; f = y: y; in [ s (f s) ]";
        assert_eq!(strict(s), "[ [ 1 2 3 ] «repeated» ]");
        // Lists of one or two elements live inside their cell in C++ Nix.
        let s = "let s = [1 2]; f = y: y; in [ s (f s) ]";
        assert_eq!(strict(s), "[ [ 1 2 ] [ 1 2 ] ]");
    }

    #[test]
    fn deep_values_print_without_overflowing_the_stack() {
        let e = "builtins.foldl' (t: h: {inherit h t;}) null (builtins.genList (x: x) 100000)";
        let out = strict(e);
        assert!(out.starts_with("{ h = 99999; t = { h = 99998; t = "));
        assert!(out.ends_with(&format!("{{ h = 0; t = null; }}{}", "; }".repeat(99_999))));
    }

    #[test]
    fn floats_print_like_cpp() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(1.5e-7), "1.5e-07");
        assert_eq!(format_float(123456789.0), "1.23457e+08");
        assert_eq!(format_float(3e100), "3e+100");
        assert_eq!(format_float(-2.5), "-2.5");
        assert_eq!(format_float(100000.0), "100000");
        assert_eq!(format_float(1000000.0), "1e+06");
        assert_eq!(format_float(123456.0), "123456");
        assert_eq!(format_float(1234567.0), "1.23457e+06");
        assert_eq!(format_float(0.000123), "0.000123");
        assert_eq!(format_float(0.0000123), "1.23e-05");
        assert_eq!(format_float(2.0 / 3.0), "0.666667");
    }
}
