//! `builtins.parseFlakeRef` and `builtins.flakeRefToString`: conversions between a
//! flake reference written as a URL (`github:NixOS/nixpkgs/23.05?dir=lib`) and its
//! attributes (`{ type = "github"; owner = "NixOS"; ... }`), as C++ Nix makes them.
//! Pure text work: no registry lookup and no file system access, so a bare path
//! (`.`, `/src/x`), whose meaning C++ Nix finds on disk, is refused with a message.

use std::collections::BTreeMap;

use super::fetch_args::InputAttr;
use super::{attrs, string, Registry};
use crate::errors::{ErrorKind, R};
use crate::generators::{force, Co, GenFuture};
use crate::symbol::Symbol;
use crate::value::{Attrs, NixString, Value};
type Map = BTreeMap<String, InputAttr>;

fn err<T>(m: String) -> R<T> {
    Err(ErrorKind::other(m).into())
}

fn s(v: &str) -> InputAttr {
    InputAttr::String(v.to_string())
}

fn is_rev(v: &str) -> bool {
    (v.len() == 40 || v.len() == 64) && v.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_flake_id(v: &str) -> bool {
    let mut c = v.chars();
    c.next().is_some_and(|f| f.is_ascii_alphabetic())
        && c.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

const TARBALL_SUFFIXES: [&str; 7] = [
    ".zip", ".tar", ".tgz", ".tar.gz", ".tar.xz", ".tar.bz2", ".tar.zst",
];

fn has_tarball_suffix(path: &str) -> bool {
    TARBALL_SUFFIXES.iter().any(|s| path.ends_with(s))
}

fn percent_decode(v: &str) -> String {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b[i], hex) {
            (b'%', Some(x)) => {
                out.push(x);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn percent_encode(v: &str, keep: &str) -> String {
    let mut out = String::new();
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || keep.as_bytes().contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A URL taken apart: `scheme:[//authority]path[?query][#fragment]`.
struct Url {
    scheme: String,
    authority: Option<String>,
    path: String,
    query: BTreeMap<String, String>,
}

impl Url {
    fn parse(text: &str) -> Option<Url> {
        let (scheme, rest) = text.split_once(':')?;
        let mut c = scheme.chars();
        if !c.next()?.is_ascii_alphabetic()
            || !c.all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            return None;
        }
        let rest = rest.split('#').next().unwrap_or("");
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match rest.strip_prefix("//") {
            Some(r) => match r.find('/') {
                Some(i) => (Some(r[..i].to_string()), r[i..].to_string()),
                None => (Some(r.to_string()), String::new()),
            },
            None => (None, rest.to_string()),
        };
        let query = query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (percent_decode(k), percent_decode(v))
            })
            .collect();
        Some(Url {
            scheme: scheme.to_string(),
            authority,
            path: percent_decode(&path),
            query,
        })
    }

    /// Without the query.
    fn base(&self) -> String {
        let path = percent_encode(&self.path, "/:@!$&'()*+,;=");
        match &self.authority {
            Some(a) => format!("{}://{a}{path}", self.scheme),
            None => format!("{}:{path}", self.scheme),
        }
    }

    fn render(&self) -> String {
        let mut out = self.base();
        if !self.query.is_empty() {
            out.push('?');
            let q: Vec<String> = self
                .query
                .iter()
                .map(|(k, v)| format!("{}={}", percent_encode(k, ""), percent_encode(v, "/:@")))
                .collect();
            out.push_str(&q.join("&"));
        }
        out
    }
}

/// Query parameters that are integers in the attributes.
fn int_param(name: &str, v: &str) -> R<InputAttr> {
    v.parse::<u64>()
        .map(InputAttr::Int)
        .or_else(|_| err(format!("invalid integer '{v}' for attribute '{name}'")))
}

/// `github:`, `gitlab:`, `sourcehut:`.
fn parse_forge(kind: &str, url: &Url, text: &str) -> R<Map> {
    let parts: Vec<&str> = url.path.split('/').collect();
    if parts.len() < 2 || parts[..2].iter().any(|p| p.is_empty()) {
        return err(format!("URL '{text}' is invalid"));
    }
    let mut m = Map::new();
    m.insert("type".into(), s(kind));
    m.insert("owner".into(), s(parts[0]));
    m.insert("repo".into(), s(parts[1]));
    if parts.len() > 2 {
        let rest = parts[2..].join("/");
        let key = if is_rev(&rest) { "rev" } else { "ref" };
        m.insert(key.into(), s(&rest));
    }
    for (k, v) in &url.query {
        match k.as_str() {
            "rev" | "ref" => {
                if m.contains_key("rev") || m.contains_key("ref") {
                    return err(format!(
                        "URL '{text}' already contains a ref or Git revision"
                    ));
                }
                m.insert(k.clone(), s(v));
            }
            "host" | "narHash" => {
                m.insert(k.clone(), s(v));
            }
            "lastModified" => {
                m.insert(k.clone(), int_param(k, v)?);
            }
            _ => return err(format!("URL '{text}' contains unsupported parameter '{k}'")),
        }
    }
    Ok(m)
}

/// `git+https:`, `git+file:`, `git:`, ... (and `hg+...` for Mercurial).
fn parse_vcs(kind: &str, mut url: Url) -> R<Map> {
    let mut m = Map::new();
    m.insert("type".into(), s(kind));
    let query = std::mem::take(&mut url.query);
    for (k, v) in query {
        match k.as_str() {
            "rev" | "ref" | "keytype" | "publicKey" | "publicKeys" => {
                m.insert(k, InputAttr::String(v));
            }
            "shallow" | "submodules" | "lfs" | "exportIgnore" | "allRefs" | "verifyCommit"
                if kind == "git" =>
            {
                m.insert(k, InputAttr::Bool(v == "1"));
            }
            "revCount" | "lastModified" => {
                let a = int_param(&k, &v)?;
                m.insert(k, a);
            }
            "narHash" => {
                m.insert(k, InputAttr::String(v));
            }
            _ => {
                url.query.insert(k, v);
            }
        }
    }
    if let Some(t) = url.scheme.strip_prefix(&format!("{kind}+")) {
        url.scheme = t.to_string();
    }
    m.insert("url".into(), InputAttr::String(url.render()));
    Ok(m)
}

/// `tarball+https:`, `file+https:`, or a plain `https:` URL (a tarball by its suffix).
fn parse_curl(kind: &str, mut url: Url) -> R<Map> {
    let mut m = Map::new();
    m.insert("type".into(), s(kind));
    let query = std::mem::take(&mut url.query);
    for (k, v) in query {
        match k.as_str() {
            "narHash" | "rev" => {
                m.insert(k, InputAttr::String(v));
            }
            "revCount" | "lastModified" => {
                let a = int_param(&k, &v)?;
                m.insert(k, a);
            }
            _ => {
                url.query.insert(k, v);
            }
        }
    }
    if let Some(t) = url.scheme.strip_prefix(&format!("{kind}+")) {
        url.scheme = t.to_string();
    }
    m.insert("url".into(), InputAttr::String(url.render()));
    Ok(m)
}

/// `flake:nixpkgs/ref/rev` or the bare `nixpkgs/ref/rev`.
fn parse_indirect(path: &str, text: &str) -> R<Map> {
    let parts: Vec<&str> = path.split('/').collect();
    if !is_flake_id(parts[0]) || parts.len() > 3 {
        return err(format!("'{text}' is not a valid URL"));
    }
    let mut m = Map::new();
    m.insert("type".into(), s("indirect"));
    m.insert("id".into(), s(parts[0]));
    match parts[1..] {
        [] => {}
        [x] if is_rev(x) => {
            m.insert("rev".into(), s(x));
        }
        [x] => {
            m.insert("ref".into(), s(x));
        }
        [r, v] if is_rev(v) => {
            m.insert("ref".into(), s(r));
            m.insert("rev".into(), s(v));
        }
        _ => return err(format!("'{text}' is not a valid URL")),
    }
    Ok(m)
}

/// The attributes of a flake reference.
pub fn parse(text: &str) -> R<Map> {
    let (main, query) = text.split_once('?').unwrap_or((text, ""));
    // `dir` belongs to the flake reference, not to the input.
    let mut dir = None;
    let mut kept = Vec::new();
    for p in query.split('&').filter(|p| !p.is_empty()) {
        match p.split_once('=') {
            Some(("dir", v)) => dir = Some(percent_decode(v)),
            _ => kept.push(p),
        }
    }
    let stripped = if kept.is_empty() {
        main.to_string()
    } else {
        format!("{main}?{}", kept.join("&"))
    };
    let mut m = match Url::parse(&stripped) {
        None if main.starts_with('/') || main.starts_with('.') => {
            return Err(ErrorKind::NotBuilt(format!(
                "parseFlakeRef of a bare path ('{text}', which C++ Nix resolves on disk; write 'path:{main}')"
            )).into())
        }
        None => parse_indirect(main, text)?,
        Some(url) => {
            let app = url.scheme.split('+').next().unwrap_or("").to_string();
            match app.as_str() {
                "github" | "gitlab" | "sourcehut" => parse_forge(&app, &url, text)?,
                "git" => parse_vcs("git", url)?,
                "hg" => parse_vcs("hg", url)?,
                "flake" => parse_indirect(&url.path, text)?,
                "path" => {
                    let mut m = Map::new();
                    m.insert("type".into(), s("path"));
                    m.insert("path".into(), InputAttr::String(url.path.clone()));
                    for (k, v) in &url.query {
                        let a = match k.as_str() {
                            "revCount" | "lastModified" => int_param(k, v)?,
                            _ => s(v),
                        };
                        m.insert(k.clone(), a);
                    }
                    m
                }
                "tarball" => parse_curl("tarball", url)?,
                "file" if url.scheme.starts_with("file+") => parse_curl("file", url)?,
                "http" | "https" | "file" if has_tarball_suffix(&url.path) => {
                    parse_curl("tarball", url)?
                }
                "http" | "https" => parse_curl("file", url)?,
                _ => return err(format!("input '{text}' is unsupported")),
            }
        }
    };
    if let Some(d) = dir.filter(|d| !d.is_empty()) {
        m.insert("dir".into(), InputAttr::String(d));
    }
    Ok(m)
}

fn get_str<'a>(m: &'a Map, k: &str) -> R<Option<&'a str>> {
    match m.get(k) {
        None => Ok(None),
        Some(InputAttr::String(v)) => Ok(Some(v)),
        Some(_) => err(format!("attribute '{k}' must be a string")),
    }
}

fn need_str<'a>(m: &'a Map, k: &str) -> R<&'a str> {
    get_str(m, k)?.map_or_else(|| err(format!("attribute '{k}' is missing")), Ok)
}

fn attr_text(a: &InputAttr) -> String {
    match a {
        InputAttr::String(v) => v.clone(),
        InputAttr::Bool(b) => if *b { "1" } else { "0" }.into(),
        InputAttr::Int(i) => i.to_string(),
    }
}

/// The URL form of a flake reference's attributes.
pub fn to_string(m: &Map) -> R<String> {
    let mut m = m.clone();
    let dir = match m.remove("dir") {
        Some(InputAttr::String(d)) => Some(d),
        Some(_) => return err("attribute 'dir' must be a string".into()),
        None => None,
    };
    let kind = need_str(&m, "type")?.to_string();
    let mut url = match kind.as_str() {
        "github" | "gitlab" | "sourcehut" => {
            let mut path = format!("{}/{}", need_str(&m, "owner")?, need_str(&m, "repo")?);
            let (r, v) = (get_str(&m, "ref")?, get_str(&m, "rev")?);
            if r.is_some() && v.is_some() {
                return err(format!(
                    "{kind} input cannot have both a branch or tag name and a commit hash"
                ));
            }
            if let Some(x) = r.or(v) {
                path.push('/');
                path.push_str(x);
            }
            let mut u = Url {
                scheme: kind.clone(),
                authority: None,
                path,
                query: BTreeMap::new(),
            };
            for k in ["host", "narHash"] {
                if let Some(a) = m.get(k) {
                    u.query.insert(k.into(), attr_text(a));
                }
            }
            u
        }
        "git" | "hg" => {
            let base = need_str(&m, "url")?;
            let mut u = Url::parse(base)
                .ok_or_else(|| ErrorKind::other(format!("invalid URL '{base}'")))?;
            if u.scheme != kind {
                u.scheme = format!("{kind}+{}", u.scheme);
            }
            for (k, a) in &m {
                match (k.as_str(), a) {
                    ("type" | "url", _) => {}
                    (_, InputAttr::Bool(false)) => {}
                    _ => {
                        u.query.insert(k.clone(), attr_text(a));
                    }
                }
            }
            u
        }
        "path" => {
            let mut u = Url {
                scheme: "path".into(),
                authority: None,
                path: need_str(&m, "path")?.to_string(),
                query: BTreeMap::new(),
            };
            for (k, a) in &m {
                if k != "type" && k != "path" {
                    u.query.insert(k.clone(), attr_text(a));
                }
            }
            u
        }
        "tarball" | "file" => {
            let base = need_str(&m, "url")?;
            let mut u = Url::parse(base)
                .ok_or_else(|| ErrorKind::other(format!("invalid URL '{base}'")))?;
            // A prefix is needed where the suffix alone would say otherwise.
            if (kind == "tarball") != has_tarball_suffix(&u.path) {
                u.scheme = format!("{kind}+{}", u.scheme);
            }
            for (k, a) in &m {
                if k != "type" && k != "url" {
                    u.query.insert(k.clone(), attr_text(a));
                }
            }
            u
        }
        "indirect" => {
            let mut path = need_str(&m, "id")?.to_string();
            for k in ["ref", "rev"] {
                if let Some(x) = get_str(&m, k)? {
                    path.push('/');
                    path.push_str(x);
                }
            }
            Url {
                scheme: "flake".into(),
                authority: None,
                path,
                query: BTreeMap::new(),
            }
        }
        other => {
            return err(format!(
                "input type '{other}' is not supported by flakeRefToString"
            ))
        }
    };
    if let Some(d) = dir.filter(|d| !d.is_empty()) {
        url.query.insert("dir".into(), d);
    }
    Ok(url.render())
}

fn attrs_value(m: Map) -> Value {
    Value::attrs(Attrs::from_unsorted(
        m.into_iter()
            .map(|(k, a)| {
                let v = match a {
                    InputAttr::String(v) => Value::String(NixString::from(v)),
                    InputAttr::Bool(b) => Value::Bool(b),
                    InputAttr::Int(i) => Value::Int(i as i64),
                };
                (Symbol::intern(&k), v)
            })
            .collect(),
    ))
}

fn flake_ref_to_string(co: Co, a: Vec<Value>) -> GenFuture {
    Box::pin(async move {
        let set = force(&co, a[0].clone()).await?;
        let mut m = Map::new();
        for (k, v) in attrs(&set)?.iter() {
            let v = force(&co, v.clone()).await?;
            let a = match &v {
                Value::String(x) => InputAttr::String(x.to_str_lossy().into_owned()),
                Value::Path(p) => InputAttr::String(p.to_string_lossy().into_owned()),
                Value::Bool(b) => InputAttr::Bool(*b),
                Value::Int(i) if *i < 0 => {
                    return err(format!("negative value given for flake ref attr {k}: {i}"))
                }
                Value::Int(i) => InputAttr::Int(*i as u64),
                other => {
                    return err(format!(
                        "flake reference attribute sets may only contain integers, Booleans, and strings, but attribute '{k}' is {}",
                        other.describe()
                    ))
                }
            };
            m.insert(k.as_str().to_string(), a);
        }
        Ok(Value::String(NixString::from(to_string(&m)?)))
    })
}

pub fn register(r: &mut Registry) {
    r.plain("parseFlakeRef", 1, |_, a| {
        Ok(attrs_value(parse(&string(&a[0])?.to_str_lossy())?))
    });
    r.gen("flakeRefToString", 1, flake_ref_to_string);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(text: &str) -> String {
        to_string(&parse(text).unwrap()).unwrap()
    }

    #[test]
    fn forge_references() {
        let m = parse("github:NixOS/nixpkgs/23.05?dir=lib").unwrap();
        assert_eq!(m.get("ref"), Some(&s("23.05")));
        assert_eq!(m.get("dir"), Some(&s("lib")));
        let rev = "a".repeat(40);
        let m = parse(&format!("gitlab:o/r/{rev}")).unwrap();
        assert_eq!(m.get("rev"), Some(&s(&rev)));
        assert!(parse("github:NixOS").is_err());
        assert!(parse("github:o/r?foo=1").is_err());
        assert_eq!(
            round_trip("github:NixOS/nixpkgs/23.05?dir=lib"),
            "github:NixOS/nixpkgs/23.05?dir=lib"
        );
    }

    #[test]
    fn git_path_tarball_and_indirect_references() {
        let m = parse("git+https://example.org/r.git?ref=main&shallow=1&x=y").unwrap();
        assert_eq!(m.get("url"), Some(&s("https://example.org/r.git?x=y")));
        assert_eq!(m.get("shallow"), Some(&InputAttr::Bool(true)));
        assert_eq!(
            round_trip("git+https://example.org/r.git?ref=main&shallow=1"),
            "git+https://example.org/r.git?ref=main&shallow=1"
        );
        let m = parse("path:/src/x?lastModified=12").unwrap();
        assert_eq!(m.get("lastModified"), Some(&InputAttr::Int(12)));
        assert_eq!(
            parse("https://e.org/a.tar.gz").unwrap()["type"],
            s("tarball")
        );
        assert_eq!(parse("https://e.org/a").unwrap()["type"], s("file"));
        assert_eq!(
            round_trip("tarball+https://e.org/a"),
            "tarball+https://e.org/a"
        );
        let m = parse("nixpkgs/nixos-23.05").unwrap();
        assert_eq!(m.get("id"), Some(&s("nixpkgs")));
        assert_eq!(
            round_trip("nixpkgs/nixos-23.05"),
            "flake:nixpkgs/nixos-23.05"
        );
        assert!(matches!(
            parse("./here").map_err(|e| *e),
            Err(ErrorKind::NotBuilt(_))
        ));
    }
}
