//! Nix strings: byte strings (not necessarily UTF-8) with an optional string context.
//! The context lives out of line and is absent in the common case.

use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::mem::ManuallyDrop;
use std::rc::Rc;

use crate::symbol::Symbol;

/// String context elements in C++ Nix's encoding: `/nix/store/..` (plain path),
/// `=/nix/store/x.drv` (all outputs of a derivation), `!out!/nix/store/x.drv` (one output).
pub type NixContext = BTreeSet<String>;

struct Inner {
    /// The attribute name this string was interned as, plus one (zero: not yet):
    /// `x.${n}`, `getAttr`, `listToAttrs` look the same strings up over and over.
    sym: Cell<u32>,
    /// Length of an inline string (at most `INLINE`), or `HEAP`.
    len: u32,
    data: Data,
}

/// Strings up to this long without a context (attribute names, most values) live
/// inside the `Rc`'s own allocation; longer ones, and those with a context, keep their
/// bytes and context in the same space, so a string's `Rc` stays 48 bytes.
const INLINE: usize = 24;
const HEAP: u32 = u32::MAX;

union Data {
    inline: [u8; INLINE],
    heap: ManuallyDrop<Heap>,
}

struct Heap {
    bytes: Box<[u8]>,
    ctx: Option<Box<NixContext>>,
}

impl Inner {
    #[inline]
    fn new(b: impl AsRef<[u8]> + Into<Box<[u8]>>, ctx: Option<Box<NixContext>>) -> Inner {
        let s = b.as_ref();
        let (len, data) = if s.len() <= INLINE && ctx.is_none() {
            let mut buf = [0; INLINE];
            buf[..s.len()].copy_from_slice(s);
            (s.len() as u32, Data { inline: buf })
        } else {
            let heap = Heap {
                bytes: b.into(),
                ctx,
            };
            (
                HEAP,
                Data {
                    heap: ManuallyDrop::new(heap),
                },
            )
        };
        Inner {
            sym: Cell::new(0),
            len,
            data,
        }
    }

    #[inline]
    fn heap(&self) -> Option<&Heap> {
        // SAFETY: `len` says which field `new` wrote.
        (self.len == HEAP).then(|| unsafe { &*self.data.heap })
    }

    #[inline]
    fn as_slice(&self) -> &[u8] {
        match self.heap() {
            Some(h) => &h.bytes,
            // SAFETY: not `HEAP`, so `new` wrote `inline` and `len` bytes of it count.
            None => unsafe { &self.data.inline[..self.len as usize] },
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if self.len == HEAP {
            // SAFETY: `len` says `heap` was written, and it is dropped only here.
            unsafe { ManuallyDrop::drop(&mut self.data.heap) }
        }
    }
}

#[derive(Clone)]
pub struct NixString(Rc<Inner>);

impl NixString {
    pub fn new(bytes: impl AsRef<[u8]> + Into<Box<[u8]>>, ctx: Option<NixContext>) -> NixString {
        let ctx = ctx.filter(|c| !c.is_empty()).map(Box::new);
        NixString(Rc::new(Inner::new(bytes, ctx)))
    }

    #[inline]
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }

    pub fn to_str_lossy(&self) -> std::borrow::Cow<'_, str> {
        // `from_utf8` checks valid text (nearly every string) faster than the lossy
        // decoder walks it; the result is the same.
        match std::str::from_utf8(self.as_bytes()) {
            Ok(s) => std::borrow::Cow::Borrowed(s),
            Err(_) => String::from_utf8_lossy(self.as_bytes()),
        }
    }

    /// The attribute name this string spells, interned once per string.
    #[inline]
    pub fn to_symbol(&self) -> Symbol {
        match self.0.sym.get() {
            0 => {
                let sym = Symbol::intern(&self.to_str_lossy());
                self.0.sym.set(sym.0.wrapping_add(1));
                sym
            }
            n => Symbol(n - 1),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()).ok()
    }

    pub fn context(&self) -> Option<&NixContext> {
        self.0.heap()?.ctx.as_deref()
    }

    pub fn has_context(&self) -> bool {
        self.0.heap().is_some_and(|h| h.ctx.is_some())
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

    /// The pieces joined, their contexts merged: sized once, and built in place when
    /// short (interpolation makes many small strings).
    pub fn concat<'a>(pieces: impl Iterator<Item = &'a NixString> + Clone) -> NixString {
        let total: usize = pieces.clone().map(NixString::len).sum();
        let mut ctx: Option<NixContext> = None;
        for c in pieces.clone().filter_map(NixString::context) {
            ctx.get_or_insert_with(NixContext::new)
                .extend(c.iter().cloned());
        }
        if total <= INLINE {
            let mut buf = [0u8; INLINE];
            let mut at = 0;
            for p in pieces {
                buf[at..at + p.len()].copy_from_slice(p.as_bytes());
                at += p.len();
            }
            NixString::new(&buf[..total], ctx)
        } else {
            let mut bytes = Vec::with_capacity(total);
            for p in pieces {
                bytes.extend_from_slice(p.as_bytes());
            }
            NixString::new(bytes, ctx)
        }
    }

    /// An integer's decimal digits, formatted without a heap buffer.
    pub fn of_int(i: i64) -> NixString {
        let mut buf = [0u8; 20];
        let mut at = buf.len();
        let mut n = i.unsigned_abs();
        loop {
            at -= 1;
            buf[at] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        if i < 0 {
            at -= 1;
            buf[at] = b'-';
        }
        NixString::from(&buf[at..])
    }

    /// The name of `sym` as a string, one shared allocation per name and thread:
    /// `attrNames`, `mapAttrs` and friends turn names into strings over and over.
    pub fn of_symbol(sym: Symbol) -> NixString {
        thread_local! {
            static NAMES: RefCell<Vec<Option<NixString>>> = const { RefCell::new(Vec::new()) };
        }
        NAMES.with(|names| {
            let mut names = names.borrow_mut();
            match names.get(sym.0 as usize) {
                Some(Some(s)) => s.clone(),
                _ => Self::first_of_symbol(&mut names, sym),
            }
        })
    }

    /// `of_symbol` the first time for `sym`: out of line, so the common case (a name
    /// made before) is a few instructions to fetch.
    #[cold]
    #[inline(never)]
    fn first_of_symbol(names: &mut Vec<Option<NixString>>, sym: Symbol) -> NixString {
        let i = sym.0 as usize;
        if i >= names.len() {
            names.resize(i + 1, None);
        }
        names[i]
            .get_or_insert_with(|| {
                let s = NixString::from(sym.as_str());
                s.0.sym.set(sym.0.wrapping_add(1));
                s
            })
            .clone()
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
        for n in [0, 1, 16, 23, 24, 25, 100] {
            let b: Vec<u8> = (0..n).map(|i| i as u8).collect();
            let s = NixString::new(b.clone(), None);
            assert_eq!(s.as_bytes(), &b[..]);
            assert_eq!(s.len(), n);
            assert_eq!(NixString::from(&b[..]).as_bytes(), &b[..]);
        }
    }

    #[test]
    fn integers_print_as_decimal() {
        for i in [0, 7, -7, 10, 1234567890, i64::MAX, i64::MIN] {
            assert_eq!(NixString::of_int(i).as_bytes(), i.to_string().as_bytes());
        }
    }

    #[test]
    fn concat_joins_bytes_and_contexts() {
        use super::NixContext;
        let ctx: NixContext = ["/nix/store/a".to_string()].into_iter().collect();
        let a = NixString::new(&b"short-"[..], Some(ctx.clone()));
        for tail in ["x", "a tail long enough to need its own buffer"] {
            let b = NixString::from(tail);
            let c = NixString::concat([&a, &b, &a].into_iter());
            assert_eq!(c.as_bytes(), format!("short-{tail}short-").as_bytes());
            assert_eq!(c.context(), Some(&ctx));
        }
        assert!(NixString::concat([&NixString::from("p")].into_iter())
            .context()
            .is_none());
    }

    #[test]
    fn strings_stay_one_48_byte_allocation() {
        assert_eq!(std::mem::size_of::<super::Inner>(), 32);
    }

    #[test]
    fn symbols_of_strings_match_interning() {
        use crate::symbol::Symbol;
        for name in ["a", "exactly-sixteen!", "a-name-longer-than-sixteen-bytes"] {
            let s = NixString::from(name);
            assert_eq!(s.to_symbol(), Symbol::intern(name));
            // Cached the second time: still the same symbol.
            assert_eq!(s.to_symbol(), Symbol::intern(name));
            let sym = Symbol::intern(name);
            assert_eq!(NixString::of_symbol(sym).to_symbol(), sym);
            assert_eq!(NixString::of_symbol(sym).as_bytes(), name.as_bytes());
        }
    }
}
