//! Derivations: `derivationStrict` computes the `.drv` and output paths exactly as C++
//! Nix does (through nix-compat), and `derivation` is the same small Nix wrapper C++
//! Nix bundles. Nothing is written: each derivation is handed to EvalIO.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use nix_compat::content_address::ContentAddress;
use nix_compat::derivation::{hashing::DrvHash, Derivation, Output};
use nix_compat::store_path::compute::FileIngestionMethod;
use nix_compat::{HashAlgo, NixHash, StoreDir, StorePath};

use super::strings::{coerce, Coerce};
use super::{attrs, sym, Registry};
use crate::errors::ErrorKind;
use crate::generators::{force, type_error, Co, GenFuture, Request, Response};
use crate::symbol::Symbol;
use crate::value::{Attrs, NixContext, NixString, Value};

/// What `derivation` is, as C++ Nix defines it (derivation.nix).
pub const DERIVATION_NIX: &str = r#"
drvAttrs@{ outputs ? [ "out" ], ... }:
let
  strict = builtins.derivationStrict drvAttrs;
  commonAttrs = drvAttrs // (builtins.listToAttrs outputsList) // {
    all = map (x: x.value) outputsList;
    inherit drvAttrs;
  };
  outputToAttrListElement = outputName: {
    name = outputName;
    value = commonAttrs // {
      outPath = builtins.getAttr outputName strict;
      drvPath = strict.drvPath;
      type = "derivation";
      inherit outputName;
    };
  };
  outputsList = map outputToAttrListElement outputs;
in
(builtins.head outputsList).value
"#;

thread_local! {
    /// Modulo hashes of the derivations computed so far (pure facts about store
    /// paths, so one table serves every evaluation on the thread).
    static KNOWN: RefCell<HashMap<StorePath, (DrvHash, Vec<String>)>> = RefCell::new(HashMap::new());
}

fn err(e: impl std::fmt::Display) -> ErrorKind {
    ErrorKind::other(format!("while computing a derivation: {e}"))
}

const HOW: Coerce = Coerce {
    strong: true,
    copy_paths: true,
};

fn derivation_strict(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let set = force(&co, a[0].clone()).await?;
        let set = attrs(&set)?.clone();
        let name = match set.get(sym::name()) {
            Some(n) => coerce(&co, n.clone(), HOW).await?,
            None => {
                return Err(ErrorKind::AttributeMissing {
                    name: "name".into(),
                    suggestion: None,
                })
            }
        };
        let name = name.to_str_lossy().into_owned();
        if name.ends_with(".drv") {
            return Err(ErrorKind::other(format!(
                "derivation names are not allowed to end in '.drv' ('{name}')"
            )));
        }
        let flag = |v: Option<&Value>| v.cloned();
        let ignore_nulls = match flag(set.get(Symbol::intern("__ignoreNulls"))) {
            Some(v) => matches!(force(&co, v).await?, Value::Bool(true)),
            None => false,
        };
        let structured = match flag(set.get(Symbol::intern("__structuredAttrs"))) {
            Some(v) => matches!(force(&co, v).await?, Value::Bool(true)),
            None => false,
        };
        let mut drv = Derivation::default();
        let mut ctx = NixContext::new();
        let mut outputs: Vec<String> = vec!["out".into()];
        let mut json = serde_json::Map::new();
        let mut get_env: BTreeMap<String, String> = BTreeMap::new();
        for (k, v) in set.iter() {
            let key = k.as_str();
            if key == "__ignoreNulls" {
                continue;
            }
            let v = force(&co, v.clone()).await?;
            if ignore_nulls && matches!(v, Value::Null) {
                continue;
            }
            if key == "outputs" {
                let Value::List(l) = &v else {
                    return Err(type_error("a list", &v));
                };
                outputs.clear();
                for o in l.iter() {
                    let o = coerce(&co, o.clone(), HOW)
                        .await?
                        .to_str_lossy()
                        .into_owned();
                    if o == "drv" || o == "drvPath" || o.is_empty() || outputs.contains(&o) {
                        return Err(ErrorKind::other(format!(
                            "invalid derivation output name '{o}'"
                        )));
                    }
                    outputs.push(o);
                }
                if outputs.is_empty() {
                    return Err(ErrorKind::other(
                        "derivation cannot have an empty set of outputs",
                    ));
                }
                if structured {
                    json.insert(
                        key.into(),
                        serde_json::Value::Array(
                            outputs
                                .iter()
                                .map(|o| serde_json::Value::String(o.clone()))
                                .collect(),
                        ),
                    );
                } else {
                    drv.environment
                        .insert(key.as_bytes().to_vec(), outputs.join(" ").into_bytes());
                }
                continue;
            }
            if structured {
                if key == "__structuredAttrs" {
                    continue;
                }
                let mut out = Vec::new();
                super::json::to_json(&co, v.clone(), &mut out, &mut ctx).await?;
                let j: serde_json::Value = serde_json::from_slice(&out).map_err(err)?;
                if matches!(
                    key,
                    "builder" | "system" | "outputHash" | "outputHashAlgo" | "outputHashMode"
                ) {
                    if let serde_json::Value::String(s) = &j {
                        get_env.insert(key.into(), s.clone());
                    }
                }
                if key == "args" {
                    if let Value::List(l) = &v {
                        for e in l.iter() {
                            let s = coerce(&co, e.clone(), HOW).await?;
                            drv.arguments.push(s.as_bytes().to_vec());
                        }
                    }
                }
                json.insert(key.into(), j);
                continue;
            }
            if key == "args" {
                let Value::List(l) = &v else {
                    return Err(type_error("a list", &v));
                };
                for e in l.iter() {
                    let s = coerce(&co, e.clone(), HOW).await?;
                    if let Some(c) = s.context() {
                        ctx.extend(c.iter().cloned());
                    }
                    drv.arguments.push(s.as_bytes().to_vec());
                }
                continue;
            }
            let s = coerce(&co, v, HOW).await?;
            if let Some(c) = s.context() {
                ctx.extend(c.iter().cloned());
            }
            get_env.insert(key.into(), s.to_str_lossy().into_owned());
            drv.environment
                .insert(key.as_bytes().to_vec(), s.as_bytes().to_vec());
        }
        if structured {
            drv.environment.insert(
                b"__json".to_vec(),
                serde_json::to_string(&serde_json::Value::Object(json))
                    .map_err(err)?
                    .into_bytes(),
            );
        }
        drv.builder = get_env
            .get("builder")
            .cloned()
            .unwrap_or_default()
            .into_bytes();
        drv.system = get_env
            .get("system")
            .cloned()
            .unwrap_or_default()
            .into_bytes();
        if drv.builder.is_empty() && set.get(Symbol::intern("builder")).is_none() {
            return Err(ErrorKind::AttributeMissing {
                name: "builder".into(),
                suggestion: None,
            });
        }
        if set.get(Symbol::intern("system")).is_none() {
            return Err(ErrorKind::AttributeMissing {
                name: "system".into(),
                suggestion: None,
            });
        }
        let dir = StoreDir::default();
        // Inputs from the string contexts.
        for c in &ctx {
            if let Some(p) = c.strip_prefix('=') {
                let sp = dir.parse(p.as_bytes()).map_err(err)?;
                let outs = KNOWN
                    .with(|k| k.borrow().get(&sp).map(|(_, o)| o.clone()))
                    .unwrap_or_default();
                drv.input_derivations.entry(sp).or_default().extend(outs);
            } else if let Some(rest) = c.strip_prefix('!') {
                let (out, p) = rest.split_once('!').ok_or_else(|| err("bad context"))?;
                let sp = dir.parse(p.as_bytes()).map_err(err)?;
                drv.input_derivations
                    .entry(sp)
                    .or_insert_with(BTreeSet::new)
                    .insert(out.to_string());
            } else {
                drv.input_sources
                    .insert(dir.parse(c.as_bytes()).map_err(err)?);
            }
        }
        if let Some(hash) = get_env.get("outputHash") {
            if outputs != ["out"] {
                return Err(ErrorKind::other(
                    "multiple outputs are not supported in fixed-output derivations",
                ));
            }
            let algo = match get_env.get("outputHashAlgo").map(|s| s.as_str()) {
                None | Some("") => None,
                Some(a) => Some(a.parse::<HashAlgo>().map_err(err)?),
            };
            let method = match get_env.get("outputHashMode").map(|s| s.as_str()) {
                None | Some("flat") => FileIngestionMethod::Flat,
                Some("recursive") | Some("nar") => FileIngestionMethod::Recursive,
                Some(m) => {
                    return Err(ErrorKind::other(format!(
                        "invalid value '{m}' for 'outputHashMode'"
                    )))
                }
            };
            let hash = NixHash::parse(hash, algo).map_err(err)?;
            drv.outputs.insert(
                "out".into(),
                Output {
                    path: None,
                    ca: Some(ContentAddress::Fixed { method, hash }),
                },
            );
        } else {
            for o in &outputs {
                drv.outputs.insert(o.clone(), Output::default());
            }
        }
        let lookup = |p: &StorePath| KNOWN.with(|k| k.borrow().get(p).map(|(h, _)| *h));
        drv.calculate_output_paths(&dir, &name, lookup)
            .map_err(err)?;
        let drv_path = drv.drv_path(&dir, &name).map_err(err)?;
        let modulo = drv.hash_derivation_modulo(&dir, lookup).map_err(err)?;
        let drv_str = dir.display(&drv_path);
        KNOWN.with(|k| {
            k.borrow_mut()
                .insert(drv_path.clone(), (modulo, outputs.clone()))
        });
        // Hand the derivation to EvalIO (the default keeps nothing).
        if let Response::Caught(e) = co
            .yield_(Request::AddDerivation(drv_str.clone(), drv.to_aterm(&dir)))
            .await
        {
            return Err(e);
        }
        let mut entries = vec![(
            sym::drv_path(),
            Value::String(NixString::new(
                drv_str.clone().into_bytes(),
                Some([format!("={drv_str}")].into()),
            )),
        )];
        for (o, out) in &drv.outputs {
            let p = out
                .path
                .as_ref()
                .map(|p| dir.display(p))
                .unwrap_or_default();
            entries.push((
                Symbol::intern(o),
                Value::String(NixString::new(
                    p.into_bytes(),
                    Some([format!("!{o}!{drv_str}")].into()),
                )),
            ));
        }
        Ok(Value::attrs(Attrs::from_unsorted(entries)))
    })
}

pub fn register(r: &mut Registry) {
    r.gen("derivationStrict", 1, derivation_strict);
}
