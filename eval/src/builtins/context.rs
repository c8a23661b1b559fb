//! String context builtins.

use super::{string, Registry};
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};

pub fn register(r: &mut Registry) {
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
