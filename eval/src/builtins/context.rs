//! String context builtins.

use super::{attrs, list, string, Registry};
use crate::errors::ErrorKind;
use crate::generators::{force, Co, GenFuture};
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};

fn append_context(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let s = force(&co, a[0].clone()).await?;
        let s = string(&s)?.clone();
        let c = force(&co, a[1].clone()).await?;
        let mut ctx = s.context().cloned().unwrap_or_default();
        for (path, info) in attrs(&c)?.iter() {
            let p = path.as_str();
            if !p.starts_with("/nix/store/") {
                return Err(
                    ErrorKind::other(format!("context key '{p}' is not a store path")).into(),
                );
            }
            let info = force(&co, info.clone()).await?;
            let info = attrs(&info)?.clone();
            let flag = |n: &str| info.get(Symbol::intern(n)).cloned();
            if let Some(v) = flag("path") {
                if matches!(force(&co, v).await?, Value::Bool(true)) {
                    ctx.insert(p.to_string());
                }
            }
            if let Some(v) = flag("allOutputs") {
                if matches!(force(&co, v).await?, Value::Bool(true)) {
                    if !p.ends_with(".drv") {
                        return Err(ErrorKind::other(format!("tried to add all-outputs context of {p}, which is not a derivation, to a string")).into());
                    }
                    ctx.insert(format!("={p}"));
                }
            }
            if let Some(v) = flag("outputs") {
                let l = force(&co, v).await?;
                let l = list(&l)?.clone();
                if !l.is_empty() && !p.ends_with(".drv") {
                    return Err(ErrorKind::other(format!("tried to add derivation output context of {p}, which is not a derivation, to a string")).into());
                }
                for o in l.iter() {
                    let o = force(&co, o.clone()).await?;
                    ctx.insert(format!("!{}!{p}", string(&o)?.to_str_lossy()));
                }
            }
        }
        Ok(Value::String(NixString::new(s.as_bytes(), Some(ctx))))
    })
}

pub fn register(r: &mut Registry) {
    r.gen("appendContext", 2, append_context);
    r.plain("addDrvOutputDependencies", 1, |_, a| {
        let s = string(&a[0])?;
        let ctx = s.context().cloned().unwrap_or_default();
        if ctx.len() != 1 {
            return Err(ErrorKind::other(format!(
                "context of string '{}' must have exactly one element, but has {}",
                s.to_str_lossy(),
                ctx.len()
            ))
            .into());
        }
        let e = ctx.iter().next().unwrap();
        if e.starts_with('=') {
            return Ok(a[0].clone());
        }
        if e.starts_with('!') || !e.ends_with(".drv") {
            return Err(ErrorKind::other(format!(
                "`addDrvOutputDependencies` can only act on derivations, not on '{e}'"
            ))
            .into());
        }
        Ok(Value::String(NixString::new(
            s.as_bytes(),
            Some([format!("={e}")].into()),
        )))
    });
    r.plain("hasContext", 1, |_, a| {
        Ok(Value::Bool(string(&a[0])?.has_context()))
    });
    r.plain("unsafeDiscardStringContext", 1, |_, a| {
        Ok(Value::String(NixString::from(string(&a[0])?.as_bytes())))
    });
    r.plain("unsafeDiscardOutputDependency", 1, |_, a| {
        let s = string(&a[0])?;
        let ctx = s.context().map(|c| {
            c.iter()
                .map(|e| {
                    e.strip_prefix('=')
                        .map(|p| p.to_string())
                        .unwrap_or_else(|| e.clone())
                })
                .collect()
        });
        Ok(Value::String(NixString::new(s.as_bytes(), ctx)))
    });
    r.plain("getContext", 1, |_, a| {
        let s = string(&a[0])?;
        let mut paths: std::collections::BTreeMap<String, (bool, bool, Vec<String>)> =
            Default::default();
        for e in s.context().into_iter().flatten() {
            if let Some(p) = e.strip_prefix('=') {
                paths.entry(p.to_string()).or_default().1 = true;
            } else if let Some(rest) = e.strip_prefix('!') {
                if let Some((out, p)) = rest.split_once('!') {
                    paths
                        .entry(p.to_string())
                        .or_default()
                        .2
                        .push(out.to_string());
                }
            } else {
                paths.entry(e.clone()).or_default().0 = true;
            }
        }
        let entries = paths
            .into_iter()
            .map(|(p, (path, all, outs))| {
                let mut info = Vec::new();
                if all {
                    info.push((Symbol::intern("allOutputs"), Value::Bool(true)));
                }
                if !outs.is_empty() {
                    info.push((
                        Symbol::intern("outputs"),
                        Value::list(
                            outs.into_iter()
                                .map(|o| Value::String(NixString::from(o)))
                                .collect(),
                        ),
                    ));
                }
                if path {
                    info.push((Symbol::intern("path"), Value::Bool(true)));
                }
                (Symbol::intern(&p), Value::attrs(Attrs::from_unsorted(info)))
            })
            .collect();
        Ok(Value::attrs(Attrs::from_unsorted(entries)))
    });
}
