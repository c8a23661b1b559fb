//! The arguments of the fetcher builtins, checked as C++ Nix checks them before it
//! fetches anything. tvix-eval does no network I/O: its own `fetchurl`, `fetchTarball`,
//! `fetchGit` and `fetchTree` validate their argument and then say that fetching is not
//! built; the builder's real fetchers parse their arguments with the same functions.

use std::collections::BTreeMap;

use super::{attrs, hash::parse_hash};
use crate::errors::{ErrorKind, R};
use crate::generators::{force, Co};
use crate::value::Value;

/// Longest store path name C++ Nix accepts.
const MAX_NAME_LEN: usize = 211;

/// What `fetchurl` / `fetchTarball` were asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlFetch {
    pub url: String,
    /// The store path name (checked).
    pub name: String,
    /// The expected SHA-256, if given (empty given as `sha256 = ""` means none).
    pub sha256: Option<Vec<u8>>,
    /// `fetchTarball` unpacks; `fetchurl` does not.
    pub unpack: bool,
}

/// One attribute of a `fetchTree` / `fetchGit` input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputAttr {
    String(String),
    Bool(bool),
    Int(u64),
}

/// A `fetchTree` / `fetchGit` input: given as attributes (with `type`) or as a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeInput {
    Attrs(BTreeMap<String, InputAttr>),
    Url(String),
}

/// C++ Nix's rules for the name part of a store path, with its messages.
pub fn check_store_name(name: &str) -> R<()> {
    let bad = |m: String| Err(ErrorKind::other(m).into());
    if name.is_empty() {
        return bad("name must not be empty".into());
    }
    if name.len() > MAX_NAME_LEN {
        return bad(format!(
            "name '{name}' must be no longer than {MAX_NAME_LEN} characters"
        ));
    }
    for dots in [".", ".."] {
        if name == dots {
            return bad(format!("name '{name}' is not valid"));
        }
        if name.strip_prefix(dots).is_some_and(|r| r.starts_with('-')) {
            return bad(format!(
                "name '{name}' is not valid: first dash-separated component must not be '{dots}'"
            ));
        }
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "+-._?=".contains(*c)))
    {
        return bad(format!("name '{name}' contains illegal character '{c}'"));
    }
    Ok(())
}

/// A string argument that must not refer to store paths.
fn string_no_ctx(v: &Value, what: &str) -> R<String> {
    match v {
        Value::String(s) => {
            if s.context().is_some_and(|c| !c.is_empty()) {
                return Err(ErrorKind::other(format!(
                    "the string '{}' is not allowed to refer to a store path ({what})",
                    s.to_str_lossy()
                ))
                .into());
            }
            Ok(s.to_str_lossy().into_owned())
        }
        other => Err(crate::generators::type_error("a string", other)),
    }
}

fn base_name(url: &str) -> &str {
    let u = url.strip_suffix('/').unwrap_or(url);
    u.rsplit('/').next().unwrap_or(u)
}

/// `channel:NAME` as `fetchTarball` resolves it.
fn resolve_pseudo_url(url: &str) -> String {
    match url.strip_prefix("channel:") {
        Some(c) => format!("https://channels.nixos.org/{c}/nixexprs.tar.xz"),
        None => url.to_string(),
    }
}

/// Check the argument of `fetchurl` (`who` = "fetchurl", no unpacking) or
/// `fetchTarball` (unpacking).
pub async fn url_fetch(co: &Co, arg: Value, who: &str, unpack: bool) -> R<UrlFetch> {
    let arg = force(co, arg).await?;
    let mut url = None;
    let mut sha256 = None;
    let mut name = if unpack { "source" } else { "" }.to_string();
    let mut name_given = false;
    let is_attrs = matches!(arg, Value::Attrs(_));
    if is_attrs {
        for (k, v) in attrs(&arg)?.iter() {
            let v = force(co, v.clone()).await?;
            match k.as_str() {
                "url" => url = Some(string_no_ctx(&v, "the url we should fetch")?),
                "sha256" => {
                    let s = string_no_ctx(&v, "the sha256 of the content we should fetch")?;
                    if !s.is_empty() {
                        let (algo, digest) = parse_hash(&s, Some("sha256"))?;
                        if algo != "sha256" {
                            return Err(ErrorKind::other(format!(
                                "hash '{s}' should have type 'sha256'"
                            ))
                            .into());
                        }
                        sha256 = Some(digest);
                    }
                }
                "name" => {
                    name_given = true;
                    name = string_no_ctx(&v, "the name of the content we should fetch")?;
                }
                other => {
                    return Err(ErrorKind::other(format!(
                        "unsupported argument '{other}' to '{who}'"
                    ))
                    .into())
                }
            }
        }
    } else {
        url = Some(string_no_ctx(&arg, "the url we should fetch")?);
    }
    let Some(mut url) = url else {
        return Err(ErrorKind::other("'url' argument required").into());
    };
    if who == "fetchTarball" {
        url = resolve_pseudo_url(&url);
    }
    if name.is_empty() {
        name = base_name(&url).to_string();
    }
    if let Err(e) = check_store_name(&name) {
        let fix = if name_given {
            format!("Please change the value for the 'name' attribute passed to '{who}', so that it can create a valid store path.")
        } else if is_attrs {
            format!("Please add a valid 'name' attribute to the argument for '{who}', so that it can create a valid store path.")
        } else {
            // Two spaces, as C++ Nix has them.
            format!("Please pass an attribute set with 'url' and 'name' attributes to '{who}',  so that it can create a valid store path.")
        };
        return Err(ErrorKind::other(format!(
            "invalid store path name when fetching URL '{url}': {e}. {fix}"
        ))
        .into());
    }
    Ok(UrlFetch {
        url,
        name,
        sha256,
        unpack,
    })
}

/// Check the argument of `fetchTree` (`git` = false) or `fetchGit` (`git` = true).
pub async fn tree_fetch(co: &Co, arg: Value, git: bool) -> R<TreeInput> {
    let who = if git { "fetchGit" } else { "fetchTree" };
    let arg = force(co, arg).await?;
    let Value::Attrs(set) = &arg else {
        let url = match &arg {
            Value::Path(p) => p.to_string_lossy().into_owned(),
            Value::String(s) => s.to_str_lossy().into_owned(),
            other => {
                return Err(ErrorKind::other(format!(
                    "cannot coerce {} to a string",
                    other.describe()
                ))
                .into())
            }
        };
        if !git {
            check_url_input(&url)?;
        }
        return Ok(TreeInput::Url(url));
    };
    let mut out = BTreeMap::new();
    match set.get(crate::symbol::Symbol::intern("type")) {
        Some(_) if git => return Err(ErrorKind::other("unexpected argument 'type'").into()),
        Some(t) => {
            let t = force(co, t.clone()).await?;
            out.insert(
                "type".to_string(),
                InputAttr::String(string_no_ctx(&t, "the `type` argument")?),
            );
        }
        None if git => {
            out.insert("type".into(), InputAttr::String("git".into()));
        }
        None => {
            return Err(
                ErrorKind::other(format!("argument 'type' is missing in call to '{who}'")).into(),
            )
        }
    }
    for (k, v) in set.iter() {
        if k.as_str() == "type" {
            continue;
        }
        let v = force(co, v.clone()).await?;
        let a = match &v {
            Value::String(s) => InputAttr::String(s.to_str_lossy().into_owned()),
            Value::Path(p) => InputAttr::String(p.to_string_lossy().into_owned()),
            Value::Bool(b) => InputAttr::Bool(*b),
            Value::Int(i) if *i < 0 => {
                return Err(ErrorKind::other(format!(
                    "negative value given for '{who}' argument '{k}': {i}"
                ))
                .into())
            }
            Value::Int(i) => InputAttr::Int(*i as u64),
            other => {
                return Err(ErrorKind::other(format!(
                "argument '{k}' to '{who}' is {} while a string, Boolean or integer is expected",
                other.describe()
            ))
                .into())
            }
        };
        out.insert(k.as_str().to_string(), a);
    }
    if !git && out.contains_key("name") {
        return Err(ErrorKind::other(format!(
            "argument 'name' isn\u{2019}t supported in call to '{who}'"
        ))
        .into());
    }
    if let (Some(InputAttr::String(t)), Some(InputAttr::String(url))) =
        (out.get("type"), out.get("url"))
    {
        if t == "tarball" {
            check_local_tarball(url)?;
        }
    }
    Ok(TreeInput::Attrs(out))
}

const TARBALL_SUFFIXES: [&str; 7] = [
    ".zip", ".tar", ".tgz", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst",
];

/// The scheme and path of a URL (`scheme:[//authority]path[?query][#fragment]`).
fn scheme_and_path(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once(':')?;
    let mut chars = scheme.chars();
    if !chars.next()?.is_ascii_alphabetic()
        || !chars.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
    {
        return None;
    }
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let path = match rest.strip_prefix("//") {
        Some(r) => r.find('/').map_or("", |i| &r[i..]),
        None => rest,
    };
    Some((scheme, path))
}

/// A URL given to `fetchTree`: a local tarball must be named by an absolute path.
fn check_url_input(url: &str) -> R<()> {
    if let Some((scheme, path)) = scheme_and_path(url) {
        let tarball = scheme == "tarball+file"
            || (scheme == "file" && TARBALL_SUFFIXES.iter().any(|s| path.ends_with(s)));
        if tarball {
            return check_local_tarball(url);
        }
    }
    Ok(())
}

fn check_local_tarball(url: &str) -> R<()> {
    match scheme_and_path(url) {
        Some((scheme, path))
            if (scheme == "file" || scheme.ends_with("+file")) && !path.starts_with('/') =>
        {
            Err(ErrorKind::other(format!(
                "tarball '{url}' must use an absolute path. The 'file' scheme does not support relative paths."
            )).into())
        }
        _ => Ok(()),
    }
}

/// The message of a fetcher that tvix-eval checks but cannot run.
pub fn not_built(who: &str) -> ErrorKind {
    ErrorKind::NotBuilt(format!("{who} (fetchers come with the builder)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_names_follow_cpp_nix() {
        assert!(check_store_name("hello-1.0.tar.gz").is_ok());
        assert!(check_store_name("a+b=c?d_e").is_ok());
        let msg = |n: &str| check_store_name(n).unwrap_err().to_string();
        assert!(msg("~x").contains("contains illegal character '~'"));
        assert!(msg("").contains("must not be empty"));
        assert!(msg(".").contains("is not valid"));
        assert!(msg("..-x").contains("must not be '..'"));
        assert!(msg(&"a".repeat(212)).contains("no longer than 211"));
        assert!(check_store_name(".hidden").is_ok());
        assert!(check_store_name(&"a".repeat(211)).is_ok());
    }

    #[test]
    fn local_tarball_urls_must_be_absolute() {
        assert!(check_url_input("file:./x.tar.gz").is_err());
        assert!(check_url_input("tarball+file:x").is_err());
        assert!(check_url_input("file:///abs/x.tar.gz").is_ok());
        assert!(check_url_input("file:./not-a-tarball.txt").is_ok());
        assert!(check_url_input("https://example.com/x.tar.gz").is_ok());
        assert!(check_url_input("github:NixOS/nix").is_ok());
    }
}
