//! Nix strings: byte strings (not necessarily UTF-8) with an optional string context.
//! The context lives out of line and is absent in the common case.

use std::collections::BTreeSet;
use std::rc::Rc;

/// String context elements in C++ Nix's encoding: `/nix/store/..` (plain path),
/// `=/nix/store/x.drv` (all outputs of a derivation), `!out!/nix/store/x.drv` (one output).
pub type NixContext = BTreeSet<String>;

struct Inner {
    bytes: Box<[u8]>,
    ctx: Option<Box<NixContext>>,
}

#[derive(Clone)]
pub struct NixString(Rc<Inner>);

impl NixString {
    pub fn new(bytes: impl Into<Box<[u8]>>, ctx: Option<NixContext>) -> NixString {
        let ctx = ctx.filter(|c| !c.is_empty()).map(Box::new);
        NixString(Rc::new(Inner {
            bytes: bytes.into(),
            ctx,
        }))
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0.bytes
    }

    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.0.bytes)
    }

    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0.bytes).ok()
    }

    pub fn context(&self) -> Option<&NixContext> {
        self.0.ctx.as_deref()
    }

    pub fn has_context(&self) -> bool {
        self.0.ctx.is_some()
    }

    pub fn len(&self) -> usize {
        self.0.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.bytes.is_empty()
    }

    pub fn ptr_eq(&self, other: &NixString) -> bool {
        Rc::ptr_eq(&self.0, &other.0)
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
