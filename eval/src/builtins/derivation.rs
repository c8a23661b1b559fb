//! `derivationStrict`, and `derivation` as C++ Nix has it: a bundled Nix wrapper
//! (`derivation.nix`) around `derivationStrict`. The derivation is built with
//! nix-compat (ATerm, `hashDerivationModulo`, output paths) and handed to
//! `EvalIO::add_derivation`; nothing is written here.

use std::collections::BTreeSet;

use nix_compat::derivation::{Derivation, DerivationError, DrvHash, Output};
use nix_compat::store_path::compute::FileIngestionMethod;
use nix_compat::{ContentAddress, HashAlgo, StoreDir, StorePath};

use super::store_paths::{parse_hash_allow_empty, with_state};
use super::strings::{coerce, Coerce};
use super::{attrs, boolean, list, string, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{force, Co, GenFuture};
use crate::io::EvalIO;
use crate::state::EvalState;
use crate::symbol::Symbol;
use crate::value::{Attrs, NixContext, NixString, Value};

/// The `derivation` function's source (C++ Nix bundles the same wrapper as
/// `derivation-internal.nix`); `Evaluator::new` compiles it once globals exist.
pub const DERIVATION_NIX: &str = include_str!("../derivation.nix");

fn err(msg: impl Into<String>) -> ErrorKind {
    ErrorKind::other(msg)
}

/// What is collected from the attributes before the derivation is put together.
#[derive(Default)]
struct Collected {
    drv: Derivation,
    ctx: NixContext,
    outputs: Option<Vec<String>>,
    output_hash: Option<String>,
    output_hash_algo: Option<String>,
    output_hash_mode: Option<String>,
}

fn check_outputs(names: Vec<String>) -> R<Vec<String>> {
    let mut seen = BTreeSet::new();
    for n in &names {
        if !seen.insert(n.clone()) {
            return Err(err(format!("duplicate derivation output '{n}'")).into());
        }
        // `drv` would give the output attribute `drvPath`, which is taken (C++ Nix 2.8
        // rejects `drv`, later versions `drvPath`; both clash).
        if n == "drv" || n == "drvPath" || n.is_empty() {
            return Err(err(format!("invalid derivation output name '{n}'")).into());
        }
    }
    if names.is_empty() {
        return Err(err("derivation cannot have an empty set of outputs").into());
    }
    Ok(names)
}

fn no_ctx(s: &NixString, what: &str) -> R<String> {
    if s.has_context() {
        return Err(err(format!(
            "the string '{}' (attribute '{what}') is not allowed to refer to a store path",
            s.to_str_lossy()
        ))
        .into());
    }
    Ok(s.to_str_lossy().into_owned())
}

const STRONG_COPY: Coerce = Coerce {
    strong: true,
    copy_paths: true,
};

async fn collect(co: &Co, name: &str, set: &Attrs) -> R<Collected> {
    let mut c = Collected::default();
    let get_bool = |k: &str| set.get(Symbol::intern(k)).cloned();
    let ignore_nulls = match get_bool("__ignoreNulls") {
        Some(v) => boolean(&force(co, v).await?)?,
        None => false,
    };
    let structured = match get_bool("__structuredAttrs") {
        Some(v) => boolean(&force(co, v).await?)?,
        None => false,
    };
    let mut json: Option<Vec<u8>> = structured.then(|| b"{".to_vec());
    for (k, v) in set.iter() {
        let key = k.as_str();
        if key == "__ignoreNulls" {
            continue;
        }
        let in_attr = |mut e: Box<ErrorKind>| {
            if let ErrorKind::Other(m) = &mut *e {
                *m = format!("{m}\n(while evaluating attribute '{key}' of derivation '{name}')");
            }
            e
        };
        if ignore_nulls && matches!(force(co, v.clone()).await?, Value::Null) {
            continue;
        }
        match key {
            "__contentAddressed" | "__impure" => {
                return Err(err(format!(
                    "derivation '{name}' uses '{key}', which needs an experimental Nix feature (ca-derivations, impure-derivations) that tvix-eval does not support"
                )).into())
            }
            "args" => {
                let l = force(co, v.clone()).await?;
                for e in list(&l).map_err(in_attr)?.iter() {
                    let s = coerce(co, e.clone(), STRONG_COPY).await.map_err(in_attr)?;
                    c.ctx.extend(s.context().into_iter().flatten().cloned());
                    c.drv.arguments.push(s.as_bytes().to_vec());
                }
                continue;
            }
            _ => {}
        }
        if let Some(out) = json.as_mut() {
            if key == "__structuredAttrs" {
                continue;
            }
            if out.len() > 1 {
                out.push(b',');
            }
            super::json::escape_json(key.as_bytes(), out);
            out.push(b':');
            super::json::to_json(co, v.clone(), out, &mut c.ctx)
                .await
                .map_err(in_attr)?;
            let forced = force(co, v.clone()).await?;
            match key {
                "builder" => {
                    let s = string(&forced).map_err(in_attr)?;
                    c.ctx.extend(s.context().into_iter().flatten().cloned());
                    c.drv.builder = s.as_bytes().to_vec();
                }
                "system" => {
                    c.drv.system = no_ctx(string(&forced).map_err(in_attr)?, key)?.into_bytes()
                }
                "outputHash" => {
                    c.output_hash = Some(no_ctx(string(&forced).map_err(in_attr)?, key)?)
                }
                "outputHashAlgo" => {
                    c.output_hash_algo = Some(no_ctx(string(&forced).map_err(in_attr)?, key)?)
                }
                "outputHashMode" => {
                    c.output_hash_mode = Some(no_ctx(string(&forced).map_err(in_attr)?, key)?)
                }
                "outputs" => {
                    let mut names = Vec::new();
                    for e in list(&forced).map_err(in_attr)?.iter() {
                        let e = force(co, e.clone()).await?;
                        names.push(no_ctx(string(&e).map_err(in_attr)?, key)?);
                    }
                    c.outputs = Some(check_outputs(names).map_err(in_attr)?);
                }
                _ => {}
            }
        } else {
            let s = coerce(co, v.clone(), STRONG_COPY).await.map_err(in_attr)?;
            c.ctx.extend(s.context().into_iter().flatten().cloned());
            c.drv
                .environment
                .insert(key.as_bytes().to_vec(), s.as_bytes().to_vec());
            let text = || s.to_str_lossy().into_owned();
            match key {
                "builder" => c.drv.builder = s.as_bytes().to_vec(),
                "system" => c.drv.system = s.as_bytes().to_vec(),
                "outputHash" => c.output_hash = Some(text()),
                "outputHashAlgo" => c.output_hash_algo = Some(text()),
                "outputHashMode" => c.output_hash_mode = Some(text()),
                "outputs" => {
                    let names = text()
                        .split([' ', '\t', '\n', '\r'])
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect();
                    c.outputs = Some(check_outputs(names).map_err(in_attr)?);
                }
                _ => {}
            }
        }
    }
    if let Some(mut out) = json {
        out.push(b'}');
        check_json_depth(&out)?;
        let out = control_escapes_as_cpp(&out);
        c.drv.environment.insert(b"__json".to_vec(), out);
    }
    Ok(c)
}

/// How deeply structured attributes may nest. C++ Nix serialises them recursively and
/// stops at its call depth limit; the same limit here keeps `__json` readable by any
/// builder's JSON parser.
const MAX_JSON_DEPTH: usize = 10_000;

fn check_json_depth(json: &[u8]) -> R<()> {
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for &b in json {
        match (in_str, escaped, b) {
            (true, true, _) => escaped = false,
            (true, false, b'\\') => escaped = true,
            (true, false, b'"') => in_str = false,
            (true, false, _) => {}
            (false, _, b'"') => in_str = true,
            (false, _, b'[' | b'{') => {
                depth += 1;
                if depth > MAX_JSON_DEPTH {
                    return Err(err(format!(
                        "structured attributes nest deeper than {MAX_JSON_DEPTH} levels (stack overflow; max-call-depth exceeded)"
                    )).into());
                }
            }
            (false, _, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// C++ Nix (2.8, the reference) writes `__json` with every control character other
/// than `\n`, `\r` and `\t` as `\u00XX`, where `toJSON` here writes `\b` and `\f`.
fn control_escapes_as_cpp(json: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len());
    let mut i = 0;
    while i < json.len() {
        if json[i] == b'\\' && i + 1 < json.len() {
            match json[i + 1] {
                b'b' => out.extend_from_slice(b"\\u0008"),
                b'f' => out.extend_from_slice(b"\\u000c"),
                c => out.extend_from_slice(&[b'\\', c]),
            }
            i += 2;
        } else {
            out.push(json[i]);
            i += 1;
        }
    }
    out
}

fn compute_error(name: &str, e: DerivationError) -> ErrorKind {
    err(format!(
        "while computing the paths of derivation '{name}': {e}"
    ))
}

/// `hashDerivationModulo` of a derivation EvalIO knows, computed once per `.drv` path.
fn drv_hash(io: &dyn EvalIO, dir: &StoreDir, p: &StorePath, depth: usize) -> Option<DrvHash> {
    let cache = crate::pending::thread_default();
    if let Some(h) = cache.drv_hashes.borrow().get(p) {
        return Some(*h);
    }
    if depth > 10_000 {
        return None;
    }
    let drv = io.get_derivation(p)?;
    let h = drv
        .hash_derivation_modulo(dir, |q| drv_hash(io, dir, q, depth + 1))
        .ok()?;
    cache.drv_hashes.borrow_mut().insert(p.clone(), h);
    Some(h)
}

/// Put the derivation together from what was collected: inputs from the string
/// context, outputs and their paths; hand it to EvalIO and return `derivationStrict`'s
/// result.
fn finish(state: &mut EvalState, name: String, mut c: Collected) -> R<Value> {
    let dir = StoreDir::default();
    let io = state.io.clone();
    for e in &c.ctx {
        if let Some(p) = e.strip_prefix('=') {
            // All outputs of a derivation and its whole closure: the builder may look
            // at any of it.
            let root = dir.parse(p.as_bytes()).map_err(|e| err(e.to_string()))?;
            let mut todo = vec![root];
            let mut seen = BTreeSet::new();
            while let Some(q) = todo.pop() {
                if !seen.insert(q.clone()) {
                    continue;
                }
                if q.is_derivation() {
                    let d = io.get_derivation(&q).ok_or_else(|| {
                        err(format!(
                            "derivation '{}' is not known to this evaluation",
                            dir.display(&q)
                        ))
                    })?;
                    c.drv
                        .input_derivations
                        .entry(q.clone())
                        .or_default()
                        .extend(d.outputs.keys().cloned());
                }
                todo.extend(io.references(&q).unwrap_or_default());
                c.drv.input_sources.insert(q);
            }
        } else if let Some(rest) = e.strip_prefix('!') {
            let (out, p) = rest
                .split_once('!')
                .ok_or_else(|| err(format!("malformed string context '{e}'")))?;
            let p = dir.parse(p.as_bytes()).map_err(|e| err(e.to_string()))?;
            c.drv
                .input_derivations
                .entry(p)
                .or_default()
                .insert(out.to_string());
        } else {
            let p = dir.parse(e.as_bytes()).map_err(|e| err(e.to_string()))?;
            c.drv.input_sources.insert(p);
        }
    }
    if c.drv.builder.is_empty() {
        return Err(err("required attribute 'builder' missing").into());
    }
    if c.drv.system.is_empty() {
        return Err(err("required attribute 'system' missing").into());
    }
    if name.ends_with(".drv") {
        return Err(err(format!(
            "derivation names are not allowed to end in '.drv' ('{name}')"
        ))
        .into());
    }
    let outputs = c.outputs.take().unwrap_or_else(|| vec!["out".to_string()]);
    if let Some(h) = &c.output_hash {
        if outputs.len() != 1 || outputs[0] != "out" {
            return Err(err(format!(
                "multiple outputs are not supported in fixed-output derivations (derivation '{name}')"
            )).into());
        }
        let algo = match c.output_hash_algo.as_deref() {
            None | Some("") => None,
            Some(a) => Some(
                a.parse::<HashAlgo>()
                    .map_err(|e| err(format!("derivation '{name}': {e}")))?,
            ),
        };
        let hash = parse_hash_allow_empty(h, algo).map_err(|mut e| {
            if let ErrorKind::Other(m) = &mut *e {
                *m = format!("derivation '{name}': {m}");
            }
            e
        })?;
        let method = match c.output_hash_mode.as_deref() {
            None | Some("flat") => FileIngestionMethod::Flat,
            Some("recursive") => FileIngestionMethod::Recursive,
            Some(m) => {
                return Err(err(format!(
                    "invalid value '{m}' for 'outputHashMode' attribute"
                ))
                .into())
            }
        };
        c.drv.outputs.insert(
            "out".into(),
            Output {
                path: None,
                ca: Some(ContentAddress::Fixed { method, hash }),
            },
        );
    } else {
        for o in &outputs {
            c.drv.outputs.insert(o.clone(), Output::default());
        }
    }
    let io_ref: &dyn EvalIO = &*io;
    c.drv
        .calculate_output_paths(&dir, &name, |p| drv_hash(io_ref, &dir, p, 0))
        .map_err(|e| compute_error(&name, e))?;
    let drv_path = c
        .drv
        .drv_path(&dir, &name)
        .map_err(|e| compute_error(&name, e))?;
    let h = c
        .drv
        .hash_derivation_modulo(&dir, |p| drv_hash(io_ref, &dir, p, 0))
        .map_err(|e| compute_error(&name, e))?;
    crate::pending::thread_default()
        .drv_hashes
        .borrow_mut()
        .insert(drv_path.clone(), h);
    io.add_derivation(&drv_path, &c.drv)
        .map_err(ErrorKind::Io)?;

    let drv_str = dir.display(&drv_path);
    let mut result = vec![(
        Symbol::intern("drvPath"),
        Value::String(NixString::new(
            drv_str.clone().into_bytes(),
            Some([format!("={drv_str}")].into_iter().collect()),
        )),
    )];
    for (o, out) in &c.drv.outputs {
        let p = out
            .path
            .as_ref()
            .map(|p| dir.display(p))
            .unwrap_or_default();
        let ctx: NixContext = [format!("!{o}!{drv_str}")].into_iter().collect();
        result.push((
            Symbol::intern(o),
            Value::String(NixString::new(p.into_bytes(), Some(ctx))),
        ));
    }
    Ok(Value::attrs(Attrs::from_unsorted(result)))
}

fn derivation_strict(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let set = force(&co, a[0].clone()).await?;
        let set = attrs(&set)?.clone();
        let name_v = set
            .get(Symbol::intern("name"))
            .cloned()
            .ok_or_else(|| err("required attribute 'name' missing"))?;
        let name_v = force(&co, name_v).await?;
        let name = no_ctx(string(&name_v)?, "name")?;
        let collected = collect(&co, &name, &set).await?;
        with_state(&co, move |s| finish(s, name, collected)).await
    })
}

pub fn register(r: &mut Registry) {
    r.gen("derivationStrict", 1, derivation_strict);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_depth_counts_brackets_outside_strings() {
        let deep = "[".repeat(MAX_JSON_DEPTH + 1) + &"]".repeat(MAX_JSON_DEPTH + 1);
        assert!(check_json_depth(deep.as_bytes()).is_err());
        let shallow = "[".repeat(MAX_JSON_DEPTH) + &"]".repeat(MAX_JSON_DEPTH);
        assert!(check_json_depth(shallow.as_bytes()).is_ok());
        // Brackets inside strings, with escaped quotes, do not count.
        let inside = format!("{{\"a\":\"\\\"{}\"}}", "[".repeat(MAX_JSON_DEPTH + 5));
        assert!(check_json_depth(inside.as_bytes()).is_ok());
    }

    #[test]
    fn control_escapes_follow_cpp_nix() {
        let got = control_escapes_as_cpp(br#"{"a\\b":"x\by\fz\n"}"#);
        assert_eq!(got, br#"{"a\\b":"x\u0008y\u000cz\n"}"#.to_vec());
    }

    #[test]
    fn output_names_are_checked() {
        let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            check_outputs(v(&["out", "dev"])).unwrap(),
            v(&["out", "dev"])
        );
        for bad in [&["out", "out"][..], &["drv"], &["drvPath"], &[""], &[]] {
            assert!(check_outputs(v(bad)).is_err(), "{bad:?} accepted");
        }
    }
}
