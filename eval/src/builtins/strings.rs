//! Strings: coercion (interpolation, `toString`) and the string builtins.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;

use super::{int, list, string, sym, Registry};
use crate::errors::ErrorKind;
use crate::generators::{call, force, type_error, Co, GenFuture, Generator};
use crate::value::{NixString, StringBuilder, Value};

type R<T> = Result<T, ErrorKind>;

#[derive(Clone, Copy)]
pub struct Coerce {
    /// `toString` rules: numbers, Booleans, null and lists too.
    pub strong: bool,
    /// Paths become store paths (interpolation) rather than their own text.
    pub copy_paths: bool,
}

impl Coerce {
    /// What `"${x}"` accepts: strings, paths (copied to the store) and sets with
    /// `outPath` or `__toString`.
    pub const INTERPOLATION: Coerce = Coerce {
        strong: false,
        copy_paths: true,
    };
}

/// `v` as a string under `how`. A value that forces to a string (or, under `toString`
/// rules, a scalar), which `concatStringsSep` and interpolation meet nearly always, is
/// answered without boxing a future.
pub async fn coerce(co: &Co, v: Value, how: Coerce) -> R<NixString> {
    let v = force(co, v).await?;
    match coerce_scalar(&v, how) {
        Some(s) => Ok(s),
        None => coerce_other(co, v, how).await,
    }
}

/// `coerce` of a forced value `coerce_scalar` declined; boxed, as it recurses.
fn coerce_other<'a>(
    co: &'a Co,
    v: Value,
    how: Coerce,
) -> Pin<Box<dyn Future<Output = R<NixString>> + 'a>> {
    Box::pin(async move {
        Ok(match &v {
            Value::Path(p) => {
                if how.copy_paths {
                    return match co
                        .yield_(crate::generators::Request::ImportPath((**p).clone()))
                        .await
                    {
                        crate::generators::Response::Value(Value::String(s)) => Ok(s),
                        _ => Err(ErrorKind::other("internal error: bad resume of import")),
                    };
                }
                NixString::from(p.to_string_lossy().into_owned())
            }
            Value::Attrs(a) => {
                if let Some(f) = a.get(sym::to_string()) {
                    let r = call(co, f.clone(), v.clone()).await?;
                    return coerce(co, r, how).await;
                }
                if let Some(p) = a.get(sym::out_path()) {
                    return coerce(co, p.clone(), how).await;
                }
                return Err(ErrorKind::other("cannot coerce a set to a string"));
            }
            Value::List(l) if how.strong => {
                let mut sb = StringBuilder::default();
                for (i, e) in l.iter().enumerate() {
                    let s = coerce(co, e.clone(), how).await?;
                    if i > 0 {
                        sb.push_bytes(b" ");
                    }
                    sb.push(&s);
                }
                sb.finish()
            }
            other => {
                let mut msg = format!("cannot coerce {} to a string", other.describe());
                if let Value::Closure(c) = other {
                    let loc = crate::errors::Location {
                        file: c.proto.file.clone(),
                        span: c.proto.span,
                    };
                    let (l, col) = loc.line_col();
                    msg.push_str(&format!(": «lambda @ {}:{}:{}»", c.proto.file.name, l, col));
                }
                return Err(ErrorKind::Other(msg));
            }
        })
    })
}

/// The coercions that need no evaluation: a string, and under `toString` rules a number,
/// Boolean or null. Shared by `coerce` and the builtins' quick paths, so both follow
/// one set of rules.
fn coerce_scalar(v: &Value, how: Coerce) -> Option<NixString> {
    Some(match v {
        Value::String(s) => s.clone(),
        Value::Int(i) if how.strong => NixString::of_int(*i),
        Value::Float(f) if how.strong => NixString::from(format!("{f:.6}")),
        Value::Bool(b) if how.strong => NixString::from(if *b { "1" } else { "" }),
        Value::Null if how.strong => NixString::from(""),
        _ => return None,
    })
}

/// String interpolation when some part is not already a string.
pub fn interpolate_gen(parts: Vec<Value>, path_mode: bool) -> Generator {
    crate::generators::start(move |co| {
        Box::pin(async move {
            let mut sb = StringBuilder::default();
            for p in parts {
                let s = coerce(
                    &co,
                    p,
                    Coerce {
                        strong: false,
                        copy_paths: !path_mode,
                    },
                )
                .await?;
                sb.push(&s);
            }
            Ok(Value::String(sb.finish()))
        })
    })
}

fn to_string(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let v = args.into_iter().next().unwrap();
        let s = coerce(
            &co,
            v,
            Coerce {
                strong: true,
                copy_paths: false,
            },
        )
        .await?;
        Ok(Value::String(s))
    })
}

fn concat_strings_sep(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let sep = force(&co, args[0].clone()).await?;
        let sep = string(&sep)?.clone();
        let l = force(&co, args[1].clone()).await?;
        let l = list(&l)?.clone();
        let mut sb = StringBuilder::default();
        for (i, e) in l.iter().enumerate() {
            if i > 0 {
                sb.push(&sep);
            }
            let s = coerce(&co, e.clone(), Coerce::INTERPOLATION).await?;
            sb.push(&s);
        }
        Ok(Value::String(sb.finish()))
    })
}

fn replace_strings(co: Co, args: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let from = force(&co, args[0].clone()).await?;
        let to = force(&co, args[1].clone()).await?;
        let s = force(&co, args[2].clone()).await?;
        let (from, to) = (list(&from)?.clone(), list(&to)?.clone());
        if from.len() != to.len() {
            return Err(ErrorKind::other(
                "'from' and 'to' arguments passed to builtins.replaceStrings have different lengths",
            ));
        }
        let mut froms = Vec::new();
        for f in from.iter() {
            froms.push(string(&force(&co, f.clone()).await?)?.clone());
        }
        let mut tos: Vec<Option<NixString>> = vec![None; to.len()];
        let s = string(&s)?.clone();
        let bytes = s.as_bytes();
        let mut sb = StringBuilder::default();
        if let Some(c) = s.context() {
            sb.ctx.extend(c.iter().cloned());
        }
        sb.bytes.reserve(bytes.len());
        // Bytes that start no pattern are copied in runs (unless a pattern is empty,
        // which matches everywhere).
        let has_empty = froms.iter().any(|f| f.is_empty());
        let mut starts = [false; 256];
        for f in &froms {
            if let Some(&b) = f.as_bytes().first() {
                starts[b as usize] = true;
            }
        }
        let mut i = 0;
        loop {
            if !has_empty {
                let run = bytes[i..]
                    .iter()
                    .position(|&b| starts[b as usize])
                    .unwrap_or(bytes.len() - i);
                sb.push_bytes(&bytes[i..i + run]);
                i += run;
                if i == bytes.len() {
                    break;
                }
            }
            let mut matched = false;
            for (k, f) in froms.iter().enumerate() {
                if bytes[i..].starts_with(f.as_bytes()) {
                    if tos[k].is_none() {
                        tos[k] = Some(string(&force(&co, to[k].clone()).await?)?.clone());
                    }
                    let t = tos[k].as_ref().unwrap();
                    sb.push(t);
                    if f.is_empty() {
                        if i < bytes.len() {
                            sb.push_bytes(&bytes[i..i + 1]);
                        }
                        i += 1;
                    } else {
                        i += f.len();
                    }
                    matched = true;
                    break;
                }
            }
            if !matched {
                if i < bytes.len() {
                    sb.push_bytes(&bytes[i..i + 1]);
                }
                i += 1;
            }
            if i > bytes.len() || (i == bytes.len() && !has_empty) {
                break;
            }
        }
        Ok(Value::String(sb.finish()))
    })
}

fn coerce_plain(v: &Value) -> R<NixString> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Path(p) => Ok(NixString::from(p.to_string_lossy().into_owned())),
        other => Err(ErrorKind::other(format!(
            "cannot coerce {} to a string",
            other.describe()
        ))),
    }
}

fn base_name_of(v: &Value) -> R<Value> {
    let s = coerce_plain(v)?;
    let b = s.as_bytes();
    let b = b.strip_suffix(b"/").unwrap_or(b);
    let start = b.iter().rposition(|c| *c == b'/').map_or(0, |i| i + 1);
    Ok(Value::String(NixString::new(
        &b[start..],
        s.context().cloned(),
    )))
}

fn dir_of(v: &Value) -> R<Value> {
    let s = coerce_plain(v)?;
    let b = s.as_bytes();
    let dir: &[u8] = match b.iter().rposition(|c| *c == b'/') {
        None => b".",
        Some(0) => b"/",
        Some(i) => &b[..i],
    };
    match v {
        Value::Path(_) => Ok(Value::Path(Rc::new(std::path::PathBuf::from(
            String::from_utf8_lossy(dir).into_owned(),
        )))),
        _ => Ok(Value::String(NixString::new(dir, s.context().cloned()))),
    }
}

pub fn register(r: &mut Registry) {
    r.gen_quick("toString", 1, to_string, |a| {
        let how = Coerce {
            strong: true,
            copy_paths: false,
        };
        coerce_scalar(&plain(&a[0])?, how).map(Value::String)
    });
    r.gen("concatStringsSep", 2, concat_strings_sep);
    r.gen("replaceStrings", 3, replace_strings);
    r.gen_quick("stringLength", 1, string_length, |a| match plain(&a[0])? {
        Value::String(s) => Some(Value::Int(s.len() as i64)),
        _ => None,
    });
    r.gen_quick("substring", 3, substring, |a| {
        match (plain(&a[0])?, plain(&a[1])?, plain(&a[2])?) {
            (Value::Int(start), Value::Int(len), Value::String(s)) if start >= 0 => {
                Some(substring_of(start, len, &s))
            }
            _ => None,
        }
    });
    r.plain("baseNameOf", 1, |_, a| base_name_of(&a[0]));
    r.plain("dirOf", 1, |_, a| dir_of(&a[0]));
    let _ = type_error;
}

/// `v`, or what it evaluated to if it is a forced thunk; `None` if not yet forced.
fn plain(v: &Value) -> Option<Value> {
    match v {
        Value::Thunk(t) => t.value(),
        v => Some(v.clone()),
    }
}

fn substring_of(start: i64, len: i64, s: &NixString) -> Value {
    let b = s.as_bytes();
    let start = (start as usize).min(b.len());
    let end = if len < 0 {
        b.len()
    } else {
        start.saturating_add(len as usize).min(b.len())
    };
    Value::String(NixString::new(&b[start..end], s.context().cloned()))
}

fn string_length(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let s = coerce(&co, a[0].clone(), Coerce::INTERPOLATION).await?;
        Ok(Value::Int(s.len() as i64))
    })
}

fn substring(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let start = int(&force(&co, a[0].clone()).await?)?;
        let len = int(&force(&co, a[1].clone()).await?)?;
        let s = coerce(&co, a[2].clone(), Coerce::INTERPOLATION).await?;
        if start < 0 {
            return Err(ErrorKind::other("negative start position in 'substring'"));
        }
        Ok(substring_of(start, len, &s))
    })
}
