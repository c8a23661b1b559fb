//! Nix strings: byte strings (not necessarily UTF-8) with an optional string context.
//! The context lives out of line and is absent in the common case.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use crate::symbol::Symbol;

/// String context elements in C++ Nix's encoding: `/nix/store/..` (plain path),
/// `=/nix/store/x.drv` (all outputs of a derivation), `!out!/nix/store/x.drv` (one output).
pub type NixContext = BTreeSet<String>;

struct Inner {
    ctx: Option<Box<NixContext>>,
    bytes: Bytes,
}

/// Strings up to this long (attribute names, most values) live inside the `Rc`'s own
/// allocation instead of a second one.
const INLINE: usize = 22;

enum Bytes {
    Inline(u8, [u8; INLINE]),
    Heap(Box<[u8]>),
}

impl Bytes {
    #[inline]
    fn new(b: impl AsRef<[u8]> + Into<Box<[u8]>>) -> Bytes {
        let s = b.as_ref();
        if s.len() <= INLINE {
            let mut buf = [0; INLINE];
            buf[..s.len()].copy_from_slice(s);
            Bytes::Inline(s.len() as u8, buf)
        } else {
            Bytes::Heap(b.into())
        }
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self {
            Bytes::Inline(n, buf) => &buf[..*n as usize],
            Bytes::Heap(b) => b,
        }
    }
}

#[derive(Clone)]
pub struct NixString(Rc<Inner>);

impl NixString {
    pub fn new(bytes: impl AsRef<[u8]> + Into<Box<[u8]>>, ctx: Option<NixContext>) -> NixString {
        let ctx = ctx.filter(|c| !c.is_empty()).map(Box::new);
        NixString(Rc::new(Inner {
            bytes: Bytes::new(bytes),
            ctx,
        }))
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.bytes.as_slice()
    }

    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        // `from_utf8` checks valid text (nearly every string) faster than the lossy
        // decoder walks it; the result is the same.
        match std::str::from_utf8(self.as_bytes()) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(self.as_bytes()),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    pub fn context(&self) -> Option<&NixContext> {
        self.0.ctx.as_deref()
    }

    pub fn has_context(&self) -> bool {
        self.0.ctx.is_some()
    }

    pub fn len(&self) -> usize {
        self.as_bytes().len()
    }

    pub fn is_empty(&self) -> bool {
        self.as_bytes().is_empty()
    }

    pub fn ptr_eq(&self, other: &NixString) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
    }

    /// The name of `sym` as a string, one shared allocation per name and thread:
    /// `attrNames`, `mapAttrs` and friends turn names into strings over and over.
    pub fn of_symbol(sym: Symbol) -> NixString {
        thread_local! {
            static NAMES: RefCell<Vec<Option<NixString>>> = const { RefCell::new(Vec::new()) };
        }
        NAMES.with(|names| {
            let mut names = names.borrow_mut();
            let i = sym.0 as usize;
            if i >= names.len() {
                names.resize(i + 1, None);
            }
            names[i]
                .get_or_insert_with(|| NixString::from(sym.as_str()))
                .clone()
        })
    }
}

impl From<&str> for NixString {
    fn from(s: &str) -> Self {
        NixString::new(s.as_bytes(), None)
    }
}
impl From<String> for NixString {
    fn from(s: String) -> Self {
        NixString::new(s.into_bytes(), None)
    }
}
impl From<Vec<u8>> for NixString {
    fn from(s: Vec<u8>) -> Self {
        NixString::new(s, None)
    }
}
impl From<&[u8]> for NixString {
    fn from(s: &[u8]) -> Self {
        NixString::new(s, None)
    }
}

/// Builds a string from pieces, merging their contexts.
#[derive(Default)]
pub struct StringBuilder {
    pub bytes: Vec<u8>,
    pub ctx: NixContext,
}

impl StringBuilder {
    pub fn push(&mut self, s: &NixString) {
        self.bytes.extend_from_slice(s.as_bytes());
        if let Some(c) = s.context() {
            self.ctx.extend(c.iter().cloned());
        }
    }
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }
    pub fn finish(self) -> NixString {
        NixString::new(self.bytes, Some(self.ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::NixString;

    #[test]
    fn short_and_long_strings_keep_their_bytes() {
        for n in [0, 1, 21, 22, 23, 100] {
            let b: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let s = NixString::new(b.clone(), None);
            assert_eq!(s.as_bytes(), &b[..]);
            assert_eq!(s.len(), n);
            assert_eq!(NixString::from(&b[..]).as_bytes(), &b[..]);
        }
    }
}
