//! The layout document: a Wadler-style tree of texts, spacings and groups, and the
//! greedy renderer that decides which groups break. Knows nothing about Nix.
//!
//! Width is measured from the indentation of the line, not from column 0: a line may be
//! `width` characters long after its indentation, whatever the indentation step (this is
//! how the reference behaves).

use std::collections::VecDeque;

/// How two pieces may be separated; ordered so that merging two takes the stronger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Spacing {
    /// Line break or nothing, broken only when needed.
    Softbreak,
    /// Line break or nothing, broken with its group.
    Break,
    /// Always a space.
    Hardspace,
    /// Line break or space, broken only when needed.
    Softspace,
    /// Line break or space, broken with its group.
    Space,
    /// Always a line break.
    Hardline,
    /// An empty line.
    Emptyline,
    /// `n` line breaks.
    Newlines(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupKind {
    Regular,
    /// Expanded first when the enclosing group does not fit.
    Priority,
    /// Lets its priority children belong to the enclosing group.
    Transparent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextKind {
    Regular,
    /// Does not count towards the width.
    Comment,
    /// A `# comment` at the end of a line.
    TrailingComment,
    /// Only printed when its group is expanded (e.g. a trailing comma).
    Trailing,
}

/// A document as built by the pretty printer; `Nest` and `Offset` are resolved into
/// the texts' indentation data before layout.
#[derive(Debug, Clone, PartialEq)]
pub enum D {
    Text(TextKind, String),
    Spacing(Spacing),
    Group(GroupKind, Vec<D>),
    Nest(Vec<D>),
    Offset(u32, Vec<D>),
}

pub type Doc = Vec<D>;

pub fn text(t: impl Into<String>) -> Doc {
    let t = t.into();
    if t.is_empty() {
        vec![]
    } else {
        vec![D::Text(TextKind::Regular, t)]
    }
}
pub fn comment(t: impl Into<String>) -> Doc {
    let t = t.into();
    if t.is_empty() {
        vec![]
    } else {
        vec![D::Text(TextKind::Comment, t)]
    }
}
pub fn trailing_comment(t: impl Into<String>) -> Doc {
    vec![D::Text(TextKind::TrailingComment, t.into())]
}
pub fn trailing(t: impl Into<String>) -> Doc {
    vec![D::Text(TextKind::Trailing, t.into())]
}
pub fn group(d: Doc) -> Doc {
    vec![D::Group(GroupKind::Regular, d)]
}
pub fn group_k(k: GroupKind, d: Doc) -> Doc {
    vec![D::Group(k, d)]
}
pub fn nest(d: Doc) -> Doc {
    vec![D::Nest(d)]
}
pub fn offset(n: u32, d: Doc) -> Doc {
    vec![D::Offset(n, d)]
}
/// Single elements are arrays, not `Doc`s, so that `cat!` can take them without a
/// heap allocation each.
pub fn sp(s: Spacing) -> [D; 1] {
    [D::Spacing(s)]
}
pub fn softline_() -> [D; 1] {
    sp(Spacing::Softbreak)
}
pub fn line_() -> [D; 1] {
    sp(Spacing::Break)
}
pub fn softline() -> [D; 1] {
    sp(Spacing::Softspace)
}
pub fn line() -> [D; 1] {
    sp(Spacing::Space)
}
pub fn hardspace() -> [D; 1] {
    sp(Spacing::Hardspace)
}
pub fn hardline() -> [D; 1] {
    sp(Spacing::Hardline)
}
pub fn emptyline() -> [D; 1] {
    sp(Spacing::Emptyline)
}
pub fn newline() -> [D; 1] {
    sp(Spacing::Newlines(1))
}

/// Concatenation helper: `cat![a, b, c]`.
#[macro_export]
macro_rules! cat {
    ($($e:expr),* $(,)?) => {{
        let mut v: $crate::doc::Doc = Vec::new();
        $( v.extend($e); )*
        v
    }};
}

pub fn sep_by(sep: &[D], items: Vec<Doc>) -> Doc {
    let mut out = Vec::new();
    for (i, it) in items.into_iter().enumerate() {
        if i > 0 {
            out.extend(sep.iter().cloned());
        }
        out.extend(it);
    }
    out
}

pub fn surround(outside: Doc, inner: Doc) -> Doc {
    let mut v = outside.clone();
    v.extend(inner);
    v.extend(outside);
    v
}

pub fn text_width(t: &str) -> i64 {
    t.chars().count() as i64
}

/// Force a document into its one-line form (dissolving groups), failing if it holds a
/// hard line break or exceeds `limit` characters.
pub fn unexpand(limit: Option<i64>, d: &[D]) -> Option<Doc> {
    fn go(budget: &mut Option<i64>, d: &[D], out: &mut Doc) -> bool {
        for e in d {
            if let Some(b) = budget {
                if *b < 0 {
                    return false;
                }
            }
            match e {
                D::Text(_, t) => {
                    if let Some(b) = budget {
                        *b -= text_width(t);
                    }
                    out.push(e.clone());
                }
                D::Spacing(s) => match s {
                    Spacing::Hardspace | Spacing::Space | Spacing::Softspace => {
                        if let Some(b) = budget {
                            *b -= 1;
                        }
                        out.push(D::Spacing(Spacing::Hardspace));
                    }
                    Spacing::Break | Spacing::Softbreak => {}
                    _ => return false,
                },
                D::Group(_, xs) => {
                    if !go(budget, xs, out) {
                        return false;
                    }
                }
                D::Nest(xs) => {
                    let mut inner = Vec::new();
                    if !go(budget, xs, &mut inner) {
                        return false;
                    }
                    out.push(D::Nest(inner));
                }
                D::Offset(n, xs) => {
                    let mut inner = Vec::new();
                    if !go(budget, xs, &mut inner) {
                        return false;
                    }
                    out.push(D::Offset(*n, inner));
                }
            }
        }
        true
    }
    let mut budget = limit;
    let mut out = Vec::new();
    if !go(&mut budget, d, &mut out) {
        return None;
    }
    if let Some(b) = budget {
        if b < 0 {
            return None;
        }
    }
    Some(out)
}

// ---------------------------------------------------------------------------
// Resolved form, after nests and offsets are pushed into the texts.

#[derive(Debug, Clone, PartialEq)]
pub enum E {
    Text {
        nest: u32,
        off: u32,
        kind: TextKind,
        text: String,
    },
    Spacing(Spacing),
    Group(GroupKind, Vec<E>),
}

fn resolve(d: Doc, nest: u32, off: u32, out: &mut Vec<E>) {
    for e in d {
        match e {
            D::Text(kind, text) => out.push(E::Text {
                nest,
                off,
                kind,
                text,
            }),
            D::Spacing(s) => out.push(E::Spacing(s)),
            D::Group(k, xs) => {
                let mut inner = Vec::with_capacity(xs.len());
                resolve(xs, nest, off, &mut inner);
                out.push(E::Group(k, inner));
            }
            D::Nest(xs) => resolve(xs, nest + 1, off, out),
            D::Offset(n, xs) => resolve(xs, nest, off + n, out),
        }
    }
}

fn is_hard(e: &E) -> bool {
    matches!(
        e,
        E::Spacing(
            Spacing::Hardspace | Spacing::Hardline | Spacing::Emptyline | Spacing::Newlines(_)
        )
    )
}

fn is_comment(e: &E) -> bool {
    match e {
        E::Text {
            kind: TextKind::Comment | TextKind::TrailingComment,
            ..
        } => true,
        E::Group(_, inner) => inner.iter().all(|x| is_comment(x) || is_hard(x)),
        _ => false,
    }
}

pub fn merge(a: Spacing, b: Spacing) -> Spacing {
    use Spacing::*;
    let (x, y) = if a > b { (b, a) } else { (a, b) };
    match (x, y) {
        (Break, Softspace) => Space,
        (Break, Hardspace) => Space,
        (Softbreak, Hardspace) => Softspace,
        (Newlines(p), Newlines(q)) => Newlines(p + q),
        (Emptyline, Newlines(q)) => Newlines(q + 2),
        (Hardspace, Newlines(q)) => Newlines(q),
        (_, Newlines(q)) => Newlines(q + 1),
        (_, y) => y,
    }
}

/// Move hard spacings and comments out of group edges, merge neighbouring spacings and
/// texts, drop empty groups. Emitted elements never merge with later ones.
fn fixup(xs: Vec<E>) -> Vec<E> {
    let mut out: Vec<E> = Vec::with_capacity(xs.len());
    let mut q: VecDeque<E> = xs.into();
    while let Some(x) = q.pop_front() {
        match x {
            E::Spacing(a) => match q.front() {
                Some(&E::Spacing(b)) => {
                    q.pop_front();
                    q.push_front(E::Spacing(merge(a, b)));
                }
                Some(E::Group(..)) => {
                    let Some(E::Group(k, inner)) = q.pop_front() else {
                        unreachable!()
                    };
                    if a == Spacing::Hardspace {
                        let mut ni = vec![E::Spacing(Spacing::Hardspace)];
                        ni.extend(inner);
                        q.push_front(E::Group(k, ni));
                        continue;
                    }
                    let (pre, body, post) = split_group(k, inner);
                    if body.is_empty() {
                        for e in post.into_iter().rev() {
                            q.push_front(e);
                        }
                        for e in pre.into_iter().rev() {
                            q.push_front(e);
                        }
                        q.push_front(E::Spacing(a));
                    } else {
                        let mut head = vec![E::Spacing(a)];
                        head.extend(pre);
                        out.extend(fixup(head));
                        out.push(E::Group(k, body));
                        for e in post.into_iter().rev() {
                            q.push_front(e);
                        }
                    }
                }
                _ => out.push(E::Spacing(a)),
            },
            E::Text {
                nest,
                off,
                kind,
                text,
            } => {
                if let Some(&E::Text { kind: k2, .. }) = q.front() {
                    if k2 == kind {
                        if let Some(E::Text { text: t2, .. }) = q.pop_front() {
                            q.push_front(E::Text {
                                nest,
                                off,
                                kind,
                                text: text + &t2,
                            });
                            continue;
                        }
                    }
                }
                out.push(E::Text {
                    nest,
                    off,
                    kind,
                    text,
                });
            }
            E::Group(k, inner) => {
                let (pre, body, post) = split_group(k, inner);
                for e in post.into_iter().rev() {
                    q.push_front(e);
                }
                if body.is_empty() {
                    for e in pre.into_iter().rev() {
                        q.push_front(e);
                    }
                } else {
                    out.extend(fixup(pre));
                    out.push(E::Group(k, body));
                }
            }
        }
    }
    out
}

fn split_group(k: GroupKind, inner: Vec<E>) -> (Vec<E>, Vec<E>, Vec<E>) {
    let mut inner = fixup(inner);
    let mut i = 0;
    while i < inner.len() && (is_hard(&inner[i]) || is_comment(&inner[i])) {
        i += 1;
    }
    let mut j = inner.len();
    while j > i && is_hard(&inner[j - 1]) {
        j -= 1;
    }
    // `split_off` at the ends would still allocate; the common case (nothing to move
    // out of the group) keeps the vector as it is.
    let post = if j == inner.len() {
        Vec::new()
    } else {
        inner.split_off(j)
    };
    let (pre, body) = if i == 0 {
        (Vec::new(), inner)
    } else {
        let body = inner.split_off(i);
        (inner, body)
    };
    (pre, simplify_group(k, body), post)
}

fn simplify_group(k: GroupKind, body: Vec<E>) -> Vec<E> {
    if body.len() == 1 {
        if let E::Group(k2, _) = &body[0] {
            if *k2 == k {
                if let Some(E::Group(_, inner)) = body.into_iter().next() {
                    return inner;
                }
                unreachable!()
            }
        }
    }
    body
}

// ---------------------------------------------------------------------------
// Lookahead walking over a stack of slices (top of stack is what comes next).

/// How many levels a walk keeps inline before spilling to the heap.
const INLINE: usize = 16;

/// The levels a walk has entered or taken over from the base stack; small walks (the
/// common case) never allocate.
#[derive(Clone)]
struct Levels<'a> {
    inline: [&'a [E]; INLINE],
    n: usize,
    spill: Vec<&'a [E]>,
}

impl<'a> Levels<'a> {
    fn new() -> Self {
        Levels {
            inline: [&[]; INLINE],
            n: 0,
            spill: Vec::new(),
        }
    }
    fn push(&mut self, xs: &'a [E]) {
        if self.n < INLINE {
            self.inline[self.n] = xs;
            self.n += 1;
        } else {
            self.spill.push(xs);
        }
    }
    fn pop(&mut self) -> bool {
        if self.spill.pop().is_some() {
            return true;
        }
        if self.n == 0 {
            return false;
        }
        self.n -= 1;
        true
    }
    fn last_mut(&mut self) -> Option<&mut &'a [E]> {
        if let Some(l) = self.spill.last_mut() {
            return Some(l);
        }
        if self.n == 0 {
            None
        } else {
            Some(&mut self.inline[self.n - 1])
        }
    }
    /// Levels from the top down.
    fn iter_rev(&self) -> impl Iterator<Item = &&'a [E]> {
        self.spill
            .iter()
            .rev()
            .chain(self.inline[..self.n].iter().rev())
    }
}

/// The stack is `base[..nb]` (borrowed, untouched) under `levels`; a base level is
/// copied into `levels` only when the walk reaches it, so starting a lookahead over a
/// deep stack costs nothing.
#[derive(Clone)]
struct Walk<'r, 'a> {
    base: &'r [&'a [E]],
    nb: usize,
    levels: Levels<'a>,
}

impl<'r, 'a> Walk<'r, 'a> {
    fn new(first: &'a [E], rest: &'r [&'a [E]]) -> Self {
        let mut w = Walk::of_rest(rest);
        w.levels.push(first);
        w
    }
    fn of_rest(rest: &'r [&'a [E]]) -> Self {
        Walk {
            base: rest,
            nb: rest.len(),
            levels: Levels::new(),
        }
    }
    /// Next element at the current level, leaving groups closed.
    fn next(&mut self) -> Option<&'a E> {
        loop {
            if let Some(top) = self.levels.last_mut() {
                if let Some((first, tail)) = top.split_first() {
                    *top = tail;
                    return Some(first);
                }
                self.levels.pop();
            } else if self.nb > 0 {
                self.nb -= 1;
                self.levels.push(self.base[self.nb]);
            } else {
                return None;
            }
        }
    }
    fn peek(&self) -> Option<&'a E> {
        for s in self
            .levels
            .iter_rev()
            .chain(self.base[..self.nb].iter().rev())
        {
            if let Some(f) = s.first() {
                return Some(f);
            }
        }
        None
    }
    fn enter(&mut self, xs: &'a [E]) {
        self.levels.push(xs);
    }
    /// Next spacing merged with spacings directly following it.
    fn merged(&mut self, mut s: Spacing) -> Spacing {
        while let Some(E::Spacing(b)) = self.peek() {
            s = merge(s, *b);
            self.next();
        }
        s
    }
}

/// Render `w` on one line within `c` columns into `out`, or fail. `ni` is how much the
/// next line will be indented relative to this one, minus what is already on this line:
/// a trailing comment that would start exactly at the next line's indentation gets one
/// more space, or the next run would read it as a leading comment of that line.
fn fits(mut ni: i64, mut c: i64, mut w: Walk, out: &mut String) -> bool {
    loop {
        if c < 0 {
            return false;
        }
        let Some(x) = w.next() else { return true };
        match x {
            E::Text { kind, text, .. } => match kind {
                TextKind::Regular => {
                    let tw = text_width(text);
                    out.push_str(text);
                    ni -= tw;
                    c -= tw;
                }
                TextKind::Comment => out.push_str(text),
                TextKind::TrailingComment => {
                    if ni == 0 {
                        out.push(' ');
                    }
                    out.push_str(text);
                }
                TextKind::Trailing => {}
            },
            E::Spacing(s) => match w.merged(*s) {
                Spacing::Softbreak | Spacing::Break => {}
                Spacing::Softspace | Spacing::Space | Spacing::Hardspace => {
                    out.push(' ');
                    ni -= 1;
                    c -= 1;
                }
                _ => return false,
            },
            E::Group(_, ys) => w.enter(ys),
        }
    }
}

fn first_line_width(mut w: Walk) -> i64 {
    let mut n = 0;
    while let Some(x) = w.next() {
        match x {
            E::Text {
                kind: TextKind::Comment | TextKind::TrailingComment,
                ..
            } => {}
            E::Text { text, .. } => n += text_width(text),
            E::Spacing(s) => match w.merged(*s) {
                Spacing::Hardspace => n += 1,
                _ => return n,
            },
            E::Group(_, ys) => w.enter(ys),
        }
    }
    n
}

fn first_line_fits(target: i64, max: i64, mut w: Walk) -> bool {
    let mut c = max;
    let mut s = String::new();
    loop {
        if c < 0 {
            return false;
        }
        let Some(x) = w.next() else {
            return max - c <= target;
        };
        match x {
            E::Text {
                kind: TextKind::Regular,
                text,
                ..
            } => c -= text_width(text),
            E::Text { .. } => {}
            E::Spacing(s) => match w.merged(*s) {
                Spacing::Hardspace => c -= 1,
                _ => return max - c <= target,
            },
            E::Group(_, ys) => {
                let flw = first_line_width(w.clone());
                s.clear();
                if fits(0, c - flw, Walk::new(ys, &[]), &mut s) {
                    c -= text_width(&s);
                } else {
                    w.enter(ys);
                }
            }
        }
    }
}

fn next_indent(mut w: Walk) -> (u32, u32) {
    while let Some(x) = w.next() {
        match x {
            E::Text { nest, off, .. } => return (*nest, *off),
            E::Group(_, ys) => {
                w = Walk::new(ys, &[]);
            }
            E::Spacing(_) => {}
        }
    }
    (0, 0)
}

/// Split a group's children into (pre, prio, post) candidates, one per priority group
/// (looking through transparent groups).
fn has_priority(ys: &[E]) -> bool {
    ys.iter().any(|y| match y {
        E::Group(GroupKind::Priority, _) => true,
        E::Group(GroupKind::Transparent, inner) => has_priority(inner),
        _ => false,
    })
}

fn count_priority(ys: &[E]) -> usize {
    ys.iter()
        .map(|y| match y {
            E::Group(GroupKind::Priority, _) => 1,
            E::Group(GroupKind::Transparent, inner) => count_priority(inner),
            _ => 0,
        })
        .sum()
}

/// A priority candidate: what precedes it, its contents, what follows it.
type Segments = (Vec<E>, Vec<E>, Vec<E>);

fn priority_groups(ys: &[E]) -> Vec<Segments> {
    if !has_priority(ys) {
        return vec![];
    }
    fn segments(ys: &[E], out: &mut Vec<(bool, Vec<E>)>) {
        for y in ys {
            match y {
                E::Group(GroupKind::Priority, inner) => out.push((true, inner.clone())),
                E::Group(GroupKind::Transparent, inner) => segments(inner, out),
                other => {
                    if let Some((false, last)) = out.last_mut() {
                        last.push(other.clone());
                    } else {
                        out.push((false, vec![other.clone()]));
                    }
                }
            }
        }
    }
    let mut segs = Vec::new();
    segments(ys, &mut segs);
    if !segs.iter().any(|(p, _)| *p) {
        return vec![];
    }
    let mut res: Vec<Segments> = Vec::new();
    for (i, (p, content)) in segs.iter().enumerate() {
        if !*p {
            continue;
        }
        let pre: Vec<E> = segs[..i]
            .iter()
            .flat_map(|(_, c)| c.iter().cloned())
            .collect();
        let post: Vec<E> = segs[i + 1..]
            .iter()
            .flat_map(|(_, c)| c.iter().cloned())
            .collect();
        res.push((pre, content.clone(), post));
    }
    res
}

fn unexpand_shallow(xs: &[E]) -> Vec<E> {
    let mut out = Vec::new();
    for x in xs {
        match x {
            E::Spacing(Spacing::Space | Spacing::Softspace) => {
                out.push(E::Spacing(Spacing::Hardspace))
            }
            E::Spacing(Spacing::Break | Spacing::Softbreak) => {}
            other => out.push(other.clone()),
        }
    }
    out
}

#[derive(Clone)]
struct State {
    cc: i64,
    indents: Vec<(i64, u32)>,
}

struct Layout {
    tw: i64,
    indent: i64,
    out: String,
    st: State,
    /// Reused buffer for the one-line rendering of a group being tried.
    scratch: String,
}

impl Layout {
    fn put_text(&mut self, nl: u32, off: u32, t: &str) {
        loop {
            let (ci, tnl) = *self.st.indents.last().unwrap();
            if nl > tnl {
                let ni = if self.st.cc == 0 {
                    ci + self.indent
                } else {
                    ci
                };
                self.st.indents.push((ni, nl));
                break;
            } else if nl < tnl {
                if self.st.indents.len() > 1 {
                    self.st.indents.pop();
                } else {
                    break;
                }
            } else {
                break;
            }
        }
        let (ci, _) = *self.st.indents.last().unwrap();
        if self.st.cc == 0 {
            for _ in 0..(ci + off as i64) {
                self.out.push(' ');
            }
        }
        self.out.push_str(t);
        self.st.cc += text_width(t);
    }

    fn put_raw(&mut self, t: &str) {
        self.out.push_str(t);
        self.st.cc += text_width(t);
    }

    fn put_nl(&mut self, n: u32) {
        for _ in 0..n {
            self.out.push('\n');
        }
        self.st.cc = 0;
    }

    fn go<'a>(&mut self, xs: &'a [E], rest: &mut Vec<&'a [E]>) {
        for (i, x) in xs.iter().enumerate() {
            rest.push(&xs[i + 1..]);
            self.go_one(x, rest);
            rest.pop();
        }
    }

    fn go_one<'a>(&mut self, x: &'a E, rest: &mut Vec<&'a [E]>) {
        match x {
            // A trailing comment that would start at the next line's indentation is
            // shifted by one (see `fits`).
            E::Text {
                kind: TextKind::TrailingComment,
                text,
                ..
            } if self.st.cc == self.indent && {
                let line_nl = self.st.indents.last().unwrap().1;
                next_indent(Walk::of_rest(rest)).0 > line_nl
            } =>
            {
                self.put_raw(" ");
                self.put_raw(text);
            }
            E::Text {
                nest, off, text, ..
            } => self.put_text(*nest, *off, text),
            E::Spacing(s) => {
                if self.st.cc == 0 {
                    return;
                }
                match s {
                    Spacing::Break | Spacing::Space | Spacing::Hardline => self.put_nl(1),
                    Spacing::Hardspace => self.put_raw(" "),
                    Spacing::Emptyline => self.put_nl(2),
                    Spacing::Newlines(n) => self.put_nl(*n),
                    Spacing::Softbreak => {
                        let tw = self.tw;
                        if !first_line_fits(tw - self.st.cc, tw, Walk::of_rest(rest)) {
                            self.put_nl(1)
                        }
                    }
                    Spacing::Softspace => {
                        let tw = self.tw;
                        if first_line_fits(tw - self.st.cc - 1, tw, Walk::of_rest(rest)) {
                            self.put_raw(" ")
                        } else {
                            self.put_nl(1)
                        }
                    }
                }
            }
            E::Group(k, ys) => {
                if self.go_group(ys, rest) {
                    return;
                }
                if *k != GroupKind::Transparent && has_priority(ys) {
                    // Candidates in reverse document order. A priority group that is a
                    // direct child is tried on slices of `ys`; only candidates inside
                    // transparent groups need their segments copied out.
                    let mut cands: Vec<Option<usize>> = Vec::new();
                    for (i, y) in ys.iter().enumerate() {
                        match y {
                            E::Group(GroupKind::Priority, _) => cands.push(Some(i)),
                            E::Group(GroupKind::Transparent, inner) => {
                                for _ in 0..count_priority(inner) {
                                    cands.push(None);
                                }
                            }
                            _ => {}
                        }
                    }
                    let mut copied: Option<Vec<Segments>> = None;
                    for (n, cand) in cands.iter().enumerate().rev() {
                        let saved = (self.out.len(), self.st.clone());
                        let mut r2: Vec<&[E]> = rest.to_vec();
                        let ok = match cand {
                            Some(i) => {
                                let E::Group(_, prio) = &ys[*i] else {
                                    unreachable!()
                                };
                                self.go_priority(&ys[..*i], prio, &ys[i + 1..], &mut r2)
                            }
                            None => {
                                let all = copied.get_or_insert_with(|| priority_groups(ys));
                                let (pre, prio, post) = &all[n];
                                self.go_priority(pre, prio, post, &mut r2)
                            }
                        };
                        if ok {
                            return;
                        }
                        self.out.truncate(saved.0);
                        self.st = saved.1;
                    }
                }
                self.go(ys, rest);
            }
        }
    }

    fn go_priority<'a>(
        &mut self,
        pre: &'a [E],
        prio: &'a [E],
        post: &'a [E],
        rest: &mut Vec<&'a [E]>,
    ) -> bool {
        // pre must fit on one line given what follows
        rest.push(post);
        rest.push(prio);
        let ok = self.go_group(pre, rest);
        rest.pop();
        rest.pop();
        if !ok {
            return false;
        }
        let post_compact = unexpand_shallow(post);
        {
            // Safety of lifetimes: post_compact lives for this scope only.
            let mut rest2: Vec<&[E]> = rest.clone();
            rest2.push(&post_compact);
            self.go(prio, &mut rest2);
        }
        self.go_group(post, rest)
    }

    /// Try to print a group on one line; on failure nothing is printed.
    fn go_group<'a>(&mut self, grp: &'a [E], rest: &[&'a [E]]) -> bool {
        if grp.is_empty() {
            return true;
        }
        let flw = first_line_width(Walk::of_rest(rest));
        if self.st.cc == 0 {
            // Drop leading whitespace: we are at the start of a line.
            let stripped_owned: Vec<E>;
            let g: &[E] = match &grp[0] {
                E::Spacing(_) => &grp[1..],
                E::Group(k, inner) if matches!(inner.first(), Some(E::Spacing(_))) => {
                    let mut v = vec![E::Group(*k, inner[1..].to_vec())];
                    v.extend(grp[1..].iter().cloned());
                    stripped_owned = v;
                    &stripped_owned
                }
                _ => grp,
            };
            let (nl, off) = next_indent(Walk::new(g, &[]));
            let last_nl = self.st.indents.last().unwrap().1;
            let line_nl = last_nl + if nl > last_nl { 2 } else { 0 };
            let iwi = if next_indent(Walk::of_rest(rest)).0 > line_nl {
                self.indent
            } else {
                0
            };
            let mut s = std::mem::take(&mut self.scratch);
            s.clear();
            let ok = fits(iwi, self.tw - flw, Walk::new(g, &[]), &mut s);
            if ok {
                self.put_text(nl, off, &s);
            }
            self.scratch = s;
            ok
        } else {
            let line_nl = self.st.indents.last().unwrap().1;
            let iwi = if next_indent(Walk::of_rest(rest)).0 > line_nl {
                self.indent
            } else {
                0
            };
            let mut s = std::mem::take(&mut self.scratch);
            s.clear();
            let ok = fits(
                iwi - self.st.cc,
                self.tw - self.st.cc - flw,
                Walk::new(grp, &[]),
                &mut s,
            );
            if ok {
                self.put_raw(&s);
            }
            self.scratch = s;
            ok
        }
    }
}

/// Lay out a document at `width` with `indent` spaces per level. The result is stripped
/// and ends with one newline.
pub fn layout(doc: Doc, width: usize, indent: usize) -> String {
    let mut resolved = Vec::new();
    resolve(doc, 0, 0, &mut resolved);
    let fixed = vec![E::Group(GroupKind::Regular, fixup(resolved))];
    let mut l = Layout {
        tw: width as i64,
        indent: indent as i64,
        out: String::with_capacity(256),
        scratch: String::new(),
        st: State {
            cc: 0,
            indents: vec![(0, 0)],
        },
    };
    let mut rest = Vec::new();
    l.go(&fixed, &mut rest);
    let trimmed = l.out.trim();
    let mut s = String::with_capacity(trimmed.len() + 1);
    s.push_str(trimmed);
    s.push('\n');
    s
}
