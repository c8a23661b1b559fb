//! toJSON and fromJSON.

use super::{string, sym, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{call, force, Co, GenFuture};
use crate::print::format_float;
use crate::symbol::Symbol;
use crate::value::{Attrs, NixContext, NixString, Value};

pub fn escape_json(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 => out.extend_from_slice(format!("\\u{:04x}", c).as_bytes()),
            c => out.push(c),
        }
    }
    out.push(b'"');
}

enum Task {
    Value(Value),
    Emit(&'static [u8]),
    Key(Symbol),
}

/// Serialise `v`, forcing as needed, with an explicit work stack (deeply nested values
/// must not recurse on the Rust stack); string contexts are collected into `ctx`.
pub async fn to_json(co: &Co, v: Value, out: &mut Vec<u8>, ctx: &mut NixContext) -> R<()> {
    let mut work = vec![Task::Value(v)];
    while let Some(task) = work.pop() {
        let v = match task {
            Task::Emit(b) => {
                out.extend_from_slice(b);
                continue;
            }
            Task::Key(k) => {
                escape_json(k.as_str().as_bytes(), out);
                out.push(b':');
                continue;
            }
            Task::Value(v) => force(co, v).await?,
        };
        match &v {
            Value::Null => out.extend_from_slice(b"null"),
            Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
            Value::Int(i) => out.extend_from_slice(i.to_string().as_bytes()),
            Value::Float(f) => out.extend_from_slice(format_float(*f).as_bytes()),
            Value::String(s) => {
                if let Some(c) = s.context() {
                    ctx.extend(c.iter().cloned());
                }
                if let Err(e) = std::str::from_utf8(s.as_bytes()) {
                    let at = e.valid_up_to();
                    return Err(ErrorKind::other(format!(
                        "JSON serialization error: invalid UTF-8 byte at index {at}: 0x{:02X}",
                        s.as_bytes()[at]
                    ))
                    .into());
                }
                escape_json(s.as_bytes(), out)
            }
            Value::Path(_) => {
                let s =
                    super::strings::coerce(co, v.clone(), super::strings::Coerce::INTERPOLATION)
                        .await?;
                if let Some(c) = s.context() {
                    ctx.extend(c.iter().cloned());
                }
                escape_json(s.as_bytes(), out)
            }
            Value::List(l) => {
                out.push(b'[');
                work.push(Task::Emit(b"]"));
                for (i, e) in l.iter().enumerate().rev() {
                    work.push(Task::Value(e.clone()));
                    if i > 0 {
                        work.push(Task::Emit(b","));
                    }
                }
            }
            Value::Attrs(a) => {
                if let Some(f) = a.get(sym::to_string()) {
                    let s = call(co, f.clone(), v.clone()).await?;
                    let s = super::strings::coerce(co, s, super::strings::Coerce::INTERPOLATION)
                        .await?;
                    work.push(Task::Value(Value::String(s)));
                    continue;
                }
                if let Some(p) = a.get(sym::out_path()) {
                    work.push(Task::Value(p.clone()));
                    continue;
                }
                out.push(b'{');
                work.push(Task::Emit(b"}"));
                let entries: Vec<_> = a.iter().map(|(k, v)| (k, v.clone())).collect();
                for (i, (k, e)) in entries.into_iter().enumerate().rev() {
                    work.push(Task::Value(e));
                    work.push(Task::Key(k));
                    if i > 0 {
                        work.push(Task::Emit(b","));
                    }
                }
            }
            Value::Closure(_) | Value::Builtin(_) => {
                return Err(ErrorKind::other("cannot convert a function to JSON").into())
            }
            Value::Thunk(_) => unreachable!("forced"),
        }
    }
    Ok(())
}

fn to_json_builtin(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let mut out = Vec::new();
        let mut ctx = NixContext::new();
        to_json(&co, a[0].clone(), &mut out, &mut ctx).await?;
        Ok(Value::String(NixString::new(out, Some(ctx))))
    })
}

/// Parse JSON text straight into Nix values (no intermediate JSON tree, which would
/// double the memory a large document needs).
pub fn from_json_bytes(text: &[u8]) -> R<Value> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let v = serde::de::DeserializeSeed::deserialize(JsonToNix, &mut de)
        .and_then(|v| de.end().map(|()| v))
        .map_err(|e| {
            let msg = e.to_string();
            match msg.rsplit_once(" at line ") {
                // Our own complaints about a well-formed document read as before.
                Some((own, _)) if e.is_data() => ErrorKind::other(own),
                _ => ErrorKind::other(format!("while decoding a JSON string: {msg}")),
            }
        })?;
    Ok(v)
}

/// Builds a `Value` from whatever the JSON parser reads.
#[derive(Clone, Copy)]
struct JsonToNix;

const NUL_BYTE: &str = "JSON string contains a null byte, which Nix strings cannot hold";

impl<'de> serde::de::DeserializeSeed<'de> for JsonToNix {
    type Value = Value;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for JsonToNix {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: serde::de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u)
            .map(Value::Int)
            .map_err(|_| E::custom(format!("JSON number {u} does not fit in a Nix integer")))
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Value, E> {
        if s.contains('\0') {
            return Err(E::custom(NUL_BYTE));
        }
        Ok(Value::String(NixString::from(s)))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self)? {
            items.push(v);
        }
        Ok(Value::list(items))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(k) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if k.contains('\0') {
                return Err(serde::de::Error::custom(NUL_BYTE));
            }
            let v = map.next_value_seed(self)?;
            entries.push((Symbol::intern(&k), v));
        }
        Ok(Value::attrs(Attrs::from_unsorted(entries)))
    }
}

pub fn register(r: &mut Registry) {
    r.gen("toJSON", 1, to_json_builtin);
    r.plain("fromJSON", 1, |_, a| {
        from_json_bytes(string(&a[0])?.as_bytes())
    });
}

/// Fractional seconds in milli-, micro- or nanosecond precision, as C++ Nix prints.
fn pad_fraction(s: &str) -> String {
    let Some(dot) = s.find('.') else {
        return s.to_string();
    };
    let digits = s[dot + 1..].bytes().take_while(u8::is_ascii_digit).count();
    let want = digits.div_ceil(3) * 3;
    let mut out = s[..dot + 1 + digits].to_string();
    out.extend(std::iter::repeat_n('0', want - digits));
    out.push_str(&s[dot + 1 + digits..]);
    out
}

fn from_toml_value(v: toml::Value, timestamps: bool) -> R<Value> {
    let nul = || {
        ErrorKind::other(
            "while parsing TOML: a string contains a null byte, which Nix strings cannot hold",
        )
    };
    Ok(match v {
        toml::Value::String(s) => {
            if s.contains('\0') {
                return Err(nul().into());
            }
            Value::String(NixString::from(s))
        }
        toml::Value::Integer(i) => Value::Int(i),
        toml::Value::Float(f) => Value::Float(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(_) if !timestamps => return Err(ErrorKind::other(
            "while parsing TOML: timestamps need the experimental feature 'parse-toml-timestamps'",
        )
        .into()),
        // As C++ Nix's `parse-toml-timestamps` feature shows them.
        toml::Value::Datetime(d) => Value::attrs(Attrs::from_sorted(vec![
            (
                Symbol::intern("_type"),
                Value::String(NixString::from("timestamp")),
            ),
            (
                Symbol::intern("value"),
                Value::String(NixString::from(pad_fraction(&d.to_string()))),
            ),
        ])),
        toml::Value::Array(a) => Value::list(
            a.into_iter()
                .map(|v| from_toml_value(v, timestamps))
                .collect::<R<_>>()?,
        ),
        toml::Value::Table(t) => {
            let mut entries = Vec::with_capacity(t.len());
            for (k, v) in t {
                if k.contains('\0') {
                    return Err(nul().into());
                }
                entries.push((Symbol::intern(&k), from_toml_value(v, timestamps)?));
            }
            Value::attrs(Attrs::from_unsorted(entries))
        }
    })
}

/// `fromTOML` (registered with the JSON group: both parse data formats).
pub fn register_toml(r: &mut Registry, timestamps: bool) {
    r.plain("fromTOML", 1, move |_, a| {
        let s = string(&a[0])?;
        let text = s
            .as_str()
            .ok_or_else(|| ErrorKind::other("while parsing TOML: not valid UTF-8"))?;
        let t: toml::Table = text
            .parse()
            .map_err(|e| ErrorKind::other(format!("while parsing TOML: {e}")))?;
        from_toml_value(toml::Value::Table(t), timestamps)
    });
}
