//! Context builtins that build derivation contexts: `appendContext` and
//! `addDrvOutputDependencies` (the inverse of `unsafeDiscardOutputDependency`).

use super::{attrs, boolean, list, string, Registry};
use crate::errors::ErrorKind;
use crate::generators::{force, Co, GenFuture};
use crate::value::{NixContext, NixString, Value};

type R<T> = Result<T, ErrorKind>;

fn err(msg: impl Into<String>) -> ErrorKind {
    ErrorKind::other(msg)
}

fn store_path_key(k: &str) -> R<()> {
    nix_compat::StoreDir::default()
        .parse(k.as_bytes())
        .map(|_| ())
        .map_err(|_| err(format!("context key '{k}' is not a store path")))
}

fn append_context(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let s = force(&co, a[0].clone()).await?;
        let s = string(&s)?.clone();
        let spec = force(&co, a[1].clone()).await?;
        let spec = attrs(&spec)?.clone();
        let mut ctx: NixContext = s.context().cloned().unwrap_or_default();
        for (k, info) in spec.iter() {
            let path = k.as_str();
            store_path_key(path)?;
            let info = force(&co, info.clone()).await?;
            let info = attrs(&info)?.clone();
            for (field, v) in info.iter() {
                match field.as_str() {
                    "path" | "allOutputs" => {
                        let on = boolean(&force(&co, v.clone()).await?)?;
                        let all = field.as_str() == "allOutputs";
                        if on && all && !path.ends_with(".drv") {
                            return Err(err(format!(
                                "tried to add all-outputs context of {path}, which is not a derivation, to a string"
                            )));
                        }
                        if on {
                            ctx.insert(if all {
                                format!("={path}")
                            } else {
                                path.to_string()
                            });
                        }
                    }
                    "outputs" => {
                        let outs = force(&co, v.clone()).await?;
                        let outs = list(&outs)?.clone();
                        if !outs.is_empty() && !path.ends_with(".drv") {
                            return Err(err(format!(
                                "tried to add derivation output context of {path}, which is not a derivation, to a string"
                            )));
                        }
                        for o in outs.iter() {
                            let o = force(&co, o.clone()).await?;
                            ctx.insert(format!("!{}!{path}", string(&o)?.to_str_lossy()));
                        }
                    }
                    _ => {}
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
            return Err(err(format!(
                "context of string '{}' must have exactly one element, but has {}",
                s.to_str_lossy(),
                ctx.len()
            )));
        }
        let e = ctx.iter().next().cloned().unwrap_or_default();
        let new = if e.starts_with('=') {
            e
        } else if let Some(rest) = e.strip_prefix('!') {
            return Err(err(format!(
                "`addDrvOutputDependencies` can only act on derivations, not on a derivation output such as '{rest}'"
            )));
        } else if e.ends_with(".drv") {
            format!("={e}")
        } else {
            return Err(err(format!("path '{e}' is not a derivation")));
        };
        Ok(Value::String(NixString::new(s.as_bytes(), Some([new].into_iter().collect()))))
    });
}
