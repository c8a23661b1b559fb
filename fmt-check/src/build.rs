//! Building the formatter's tree (`ast`) from rnix's rowan syntax tree, attaching the
//! comments and blank lines between tokens to the tokens they belong to.
//!
//! Tokens are visited strictly in source order, so the trivia after each token can be
//! split into its trailing comment and the leading trivia of the next one.

use rnix::{NodeOrToken, SyntaxKind, SyntaxKind::*, SyntaxNode, SyntaxToken};

use crate::ast::*;
use crate::trivia::{self, Raw};

pub struct Builder<'s> {
    src: &'s str,
    /// Every token of the file in order (trivia included), as plain data: the trivia
    /// scans run over this instead of over rowan cursors, which allocate.
    tokens: Vec<Tok>,
    line_starts: Vec<usize>,
    pending: Trivia,
    strict: bool,
}

/// An unexpected tree shape; only reachable if rnix accepted something it should not.
#[derive(Debug)]
pub struct Unsupported(pub usize, pub String);

type R<T> = Result<T, Unsupported>;

/// A token's kind and byte range.
#[derive(Clone, Copy)]
struct Tok {
    kind: SyntaxKind,
    start: u32,
    end: u32,
}

/// Collect the tokens below `node` (starting at byte `off`) from the green tree, which
/// can be walked without allocating.
fn green_tokens(node: &rowan::GreenNodeData, off: &mut u32, out: &mut Vec<Tok>) {
    for c in node.children() {
        match c {
            NodeOrToken::Node(n) => green_tokens(n, off, out),
            NodeOrToken::Token(t) => {
                let start = *off;
                *off += u32::from(t.text_len());
                out.push(Tok {
                    kind: <rnix::NixLanguage as rowan::Language>::kind_from_raw(t.kind()),
                    start,
                    end: *off,
                });
            }
        }
    }
}

fn is_trivia(k: SyntaxKind) -> bool {
    matches!(k, TOKEN_WHITESPACE | TOKEN_COMMENT)
}

fn significant(node: &SyntaxNode) -> Vec<NodeOrToken<SyntaxNode, SyntaxToken>> {
    node.children_with_tokens()
        .filter(|c| !matches!(c, NodeOrToken::Token(t) if is_trivia(t.kind())))
        .collect()
}

impl<'s> Builder<'s> {
    pub fn new(src: &'s str, root: &SyntaxNode, strict: bool) -> Self {
        let mut tokens = Vec::with_capacity(src.len() / 3);
        let mut off = u32::from(root.text_range().start());
        green_tokens(root.green(), &mut off, &mut tokens);
        let mut line_starts = vec![0];
        for (i, b) in src.bytes().enumerate() {
            if b == b'\n' {
                line_starts.push(i + 1);
            }
        }
        Builder {
            src,
            tokens,
            line_starts,
            pending: Vec::new(),
            strict,
        }
    }

    fn err<T>(&self, at: &SyntaxNode, what: &str) -> R<T> {
        Err(Unsupported(
            usize::from(at.text_range().start()),
            what.to_string(),
        ))
    }

    fn index_of(&self, t: &SyntaxToken) -> usize {
        let r = t.text_range();
        let (s, e) = (u32::from(r.start()), u32::from(r.end()));
        // Only empty tokens could share a start; match the whole range and the kind.
        let mut i = self.tokens.partition_point(|x| x.start < s);
        while i < self.tokens.len() {
            let x = self.tokens[i];
            if x.end == e && x.kind == t.kind() {
                break;
            }
            i += 1;
        }
        i
    }

    fn line_of(&self, off: usize) -> u32 {
        if self.strict {
            return 0;
        }
        (self.line_starts.partition_point(|&x| x <= off)) as u32
    }

    fn col_of(&self, off: usize) -> u32 {
        let ls = self.line_starts[self.line_starts.partition_point(|&x| x <= off) - 1];
        self.src[ls..off].chars().count() as u32 + 1
    }

    /// Raw trivia following token index `i`, and the column of the next token (only
    /// computed, and only needed, when the trivia hold a line comment; 0 otherwise).
    fn raw_after(&self, i: usize) -> (Vec<Raw>, u32) {
        let mut j = i + 1;
        while j < self.tokens.len() && is_trivia(self.tokens[j].kind) {
            j += 1;
        }
        let raw = self.raw_range(i + 1, j);
        let next_col = if !raw.iter().any(|r| matches!(r, Raw::LineComment(..))) {
            0
        } else if j < self.tokens.len() {
            self.col_of(self.tokens[j].start as usize)
        } else {
            self.col_of(self.src.len())
        };
        (raw, next_col)
    }

    /// Raw trivia of the (trivia) tokens `from..to`.
    fn raw_range(&self, from: usize, to: usize) -> Vec<Raw> {
        let mut out = Vec::new();
        for t in &self.tokens[from..to] {
            let text = &self.src[t.start as usize..t.end as usize];
            let off = t.start as usize;
            if t.kind == TOKEN_WHITESPACE {
                let n = text.matches('\n').count() as u32;
                if n > 0 {
                    if let Some(Raw::Newlines(m)) = out.last_mut() {
                        *m += n;
                    } else {
                        out.push(Raw::Newlines(n));
                    }
                }
            } else if let Some(rest) = text.strip_prefix('#') {
                out.push(Raw::LineComment(
                    rest.trim_end().to_string(),
                    self.col_of(off),
                ));
            } else if let Some(d) = crate::directives::own_line_directive(self.src, off, text) {
                out.push(Raw::Directive(d));
            } else {
                let col0 = self.col_of(off) as usize - 1;
                let raw = match trivia::block_comment(text, col0) {
                    Raw::BlockComment(false, ls)
                        if ls.len() == 1
                            && trivia::is_language_identifier(&ls[0])
                            && self.string_follows(off + text.len()) =>
                    {
                        Raw::LanguageAnnotation(ls[0].trim().to_string())
                    }
                    r => r,
                };
                out.push(raw);
            }
        }
        out
    }

    /// Whether a string starts after horizontal space and at most one line break.
    fn string_follows(&self, mut off: usize) -> bool {
        let b = self.src.as_bytes();
        let skip_h = |off: &mut usize| {
            while *off < b.len() && (b[*off] == b' ' || b[*off] == b'\t') {
                *off += 1;
            }
        };
        skip_h(&mut off);
        if off < b.len() && b[off] == b'\r' {
            off += 1;
        }
        if off < b.len() && b[off] == b'\n' {
            off += 1;
        }
        skip_h(&mut off);
        self.src[off..].starts_with('"') || self.src[off..].starts_with("''")
    }

    /// Finish a lexeme whose last token is `last`: returns its trailing comment and queues
    /// the leading trivia of the next lexeme.
    fn after(&mut self, last: &SyntaxToken) -> Option<String> {
        let i = self.index_of(last);
        let (raw, col) = self.raw_after(i);
        let (trail, lead) = trivia::split(&raw, col);
        self.pending.extend(lead);
        trail
    }

    fn ann<T>(&mut self, first: &SyntaxToken, last: &SyntaxToken, value: T) -> Ann<T> {
        let pre = std::mem::take(&mut self.pending);
        let line = self.line_of(usize::from(first.text_range().start()));
        let trail = self.after(last);
        Ann {
            pre,
            value,
            line,
            trail,
        }
    }

    fn leaf(&mut self, t: &SyntaxToken) -> Leaf {
        let text = t.text().to_string();
        self.ann(t, t, text)
    }

    /// Pending comments before an item become an item of their own; a language
    /// annotation stays with the string it annotates.
    fn take_comments<T>(&mut self, items: &mut Vec<Item<T>>) {
        let n = self
            .pending
            .iter()
            .rev()
            .take_while(|t| matches!(t, Trivium::LanguageAnnotation(_)))
            .count();
        let keep = self.pending.split_off(self.pending.len() - n);
        if !self.pending.is_empty() {
            items.push(Item::Comments(std::mem::take(&mut self.pending)));
        }
        self.pending = keep;
    }

    /// The whole file.
    pub fn file(&mut self, root: &SyntaxNode) -> R<Whole> {
        // Everything before the first token leads it.
        let j = self
            .tokens
            .iter()
            .position(|t| !is_trivia(t.kind))
            .unwrap_or(self.tokens.len());
        let raw = self.raw_range(0, j);
        self.pending = trivia::all_leading(&raw);
        // Blank lines at the very start carry no meaning.
        let blank = self
            .pending
            .iter()
            .take_while(|t| **t == Trivium::EmptyLine)
            .count();
        self.pending.drain(..blank);
        let Some(expr_node) = root.children().next() else {
            return self.err(root, "empty file");
        };
        let expr = self.expr(&expr_node)?;
        let trivia = std::mem::take(&mut self.pending);
        Ok(Whole { expr, trivia })
    }

    // ----------------------------------------------------------------- expressions

    fn expr(&mut self, n: &SyntaxNode) -> R<Expr> {
        let parts = significant(n);
        match n.kind() {
            NODE_APPLY => {
                let f = self.child_expr(n, &parts, 0)?;
                let a = self.child_expr(n, &parts, 1)?;
                Ok(Expr::Application(Box::new(f), Box::new(a)))
            }
            NODE_BIN_OP => {
                let a = self.child_expr(n, &parts, 0)?;
                let op = self.tok(n, &parts, 1)?;
                let op = self.leaf(&op);
                let b = self.child_expr(n, &parts, 2)?;
                Ok(right_assoc(Expr::Operation(Box::new(a), op, Box::new(b))))
            }
            NODE_UNARY_OP => {
                let op = self.tok(n, &parts, 0)?;
                let kind = op.kind();
                let op = self.leaf(&op);
                let e = self.child_expr(n, &parts, 1)?;
                Ok(if kind == TOKEN_INVERT {
                    Expr::Inversion(op, Box::new(e))
                } else {
                    Expr::Negation(op, Box::new(e))
                })
            }
            NODE_HAS_ATTR => {
                let e = self.child_expr(n, &parts, 0)?;
                let q = self.tok(n, &parts, 1)?;
                let q = self.leaf(&q);
                let path = self.node(n, &parts, 2)?;
                let sels = self.attrpath(&path, false)?;
                Ok(Expr::MemberCheck(Box::new(e), q, sels))
            }
            NODE_LAMBDA => {
                let p = self.node(n, &parts, 0)?;
                let param = self.param(&p)?;
                let colon = self.tok(n, &parts, 1)?;
                let colon = self.leaf(&colon);
                let body = self.child_expr(n, &parts, 2)?;
                Ok(Expr::Abstraction(param, colon, Box::new(body)))
            }
            NODE_WITH | NODE_ASSERT => {
                let kw = self.tok(n, &parts, 0)?;
                let kw = self.leaf(&kw);
                let e0 = self.child_expr(n, &parts, 1)?;
                let semi = self.tok(n, &parts, 2)?;
                let semi = self.leaf(&semi);
                let e1 = self.child_expr(n, &parts, 3)?;
                Ok(if n.kind() == NODE_WITH {
                    Expr::With(kw, Box::new(e0), semi, Box::new(e1))
                } else {
                    Expr::Assert(kw, Box::new(e0), semi, Box::new(e1))
                })
            }
            NODE_IF_ELSE => {
                let i = self.tok(n, &parts, 0)?;
                let i = self.leaf(&i);
                let c = self.child_expr(n, &parts, 1)?;
                let t = self.tok(n, &parts, 2)?;
                let t = self.leaf(&t);
                let e0 = self.child_expr(n, &parts, 3)?;
                let e = self.tok(n, &parts, 4)?;
                let e = self.leaf(&e);
                let e1 = self.child_expr(n, &parts, 5)?;
                Ok(Expr::If(i, Box::new(c), t, Box::new(e0), e, Box::new(e1)))
            }
            NODE_LET_IN => {
                let l = self.tok(n, &parts, 0)?;
                let l = self.leaf(&l);
                let mut items = Vec::new();
                let mut k = 1;
                while k < parts.len() {
                    match &parts[k] {
                        NodeOrToken::Node(b)
                            if matches!(b.kind(), NODE_ATTRPATH_VALUE | NODE_INHERIT) =>
                        {
                            self.take_comments(&mut items);
                            let b = self.binder(b)?;
                            items.push(Item::Item(b));
                            k += 1;
                        }
                        _ => break,
                    }
                }
                self.take_comments(&mut items);
                let i = self.tok(n, &parts, k)?;
                let i = self.leaf(&i);
                let body = self.child_expr(n, &parts, k + 1)?;
                Ok(Expr::Let(l, items, i, Box::new(body)))
            }
            _ => Ok(Expr::Term(self.term(n)?)),
        }
    }

    fn tok(
        &self,
        n: &SyntaxNode,
        parts: &[NodeOrToken<SyntaxNode, SyntaxToken>],
        i: usize,
    ) -> R<SyntaxToken> {
        match parts.get(i) {
            Some(NodeOrToken::Token(t)) => Ok(t.clone()),
            _ => self.err(n, "expected a token"),
        }
    }

    fn node(
        &self,
        n: &SyntaxNode,
        parts: &[NodeOrToken<SyntaxNode, SyntaxToken>],
        i: usize,
    ) -> R<SyntaxNode> {
        match parts.get(i) {
            Some(NodeOrToken::Node(c)) => Ok(c.clone()),
            _ => self.err(n, "expected a node"),
        }
    }

    fn child_expr(
        &mut self,
        n: &SyntaxNode,
        parts: &[NodeOrToken<SyntaxNode, SyntaxToken>],
        i: usize,
    ) -> R<Expr> {
        let c = self.node(n, parts, i)?;
        self.expr(&c)
    }

    fn child_term(&mut self, n: &SyntaxNode) -> R<Term> {
        match self.expr(n)? {
            Expr::Term(t) => Ok(t),
            e => Ok(Term::Other(Box::new(e))),
        }
    }

    fn term(&mut self, n: &SyntaxNode) -> R<Term> {
        let parts = significant(n);
        match n.kind() {
            NODE_IDENT | NODE_LITERAL | NODE_CUR_POS | NODE_PATH_SEARCH
                if parts.len() == 1 && matches!(parts[0], NodeOrToken::Token(_)) =>
            {
                let t = self.tok(n, &parts, 0)?;
                if t.kind() == TOKEN_URI {
                    let text = t.text().to_string();
                    let a = self.ann(&t, &t, vec![vec![StrPart::Text(text)]]);
                    return Ok(Term::SimpleString(a));
                }
                Ok(Term::Token(self.leaf(&t)))
            }
            NODE_STRING => self.string(n, &parts),
            NODE_PATH_ABS | NODE_PATH_REL | NODE_PATH_HOME | NODE_PATH_SEARCH => {
                let first = n.first_token().unwrap();
                let last = n.last_token().unwrap();
                let pre = std::mem::take(&mut self.pending);
                let line = self.line_of(usize::from(first.text_range().start()));
                let mut out: Vec<StrPart> = Vec::new();
                for p in &parts {
                    match p {
                        NodeOrToken::Token(t) => push_text(&mut out, t.text()),
                        NodeOrToken::Node(i) if i.kind() == NODE_INTERPOL => {
                            let w = self.interpolation(i)?;
                            out.push(StrPart::Interp(Box::new(w)));
                        }
                        NodeOrToken::Node(i) => return self.err(i, "unexpected node in path"),
                    }
                }
                let trail = self.after(&last);
                Ok(Term::Path(Ann {
                    pre,
                    value: out,
                    line,
                    trail,
                }))
            }
            NODE_PAREN => {
                let o = self.tok(n, &parts, 0)?;
                let o = self.leaf(&o);
                let e = self.child_expr(n, &parts, 1)?;
                let c = self.tok(n, &parts, 2)?;
                let c = self.leaf(&c);
                Ok(Term::Parenthesized(o, Box::new(e), c))
            }
            NODE_LIST => {
                let o = self.tok(n, &parts, 0)?;
                let o = self.leaf(&o);
                let mut items = Vec::new();
                let mut k = 1;
                while k + 1 < parts.len() {
                    let c = self.node(n, &parts, k)?;
                    self.take_comments(&mut items);
                    let t = self.child_term(&c)?;
                    items.push(Item::Item(t));
                    k += 1;
                }
                self.take_comments(&mut items);
                let c = self.tok(n, &parts, k)?;
                let c = self.leaf(&c);
                let mut o = o;
                comment_only_body(&mut o, &mut items);
                Ok(Term::List(o, items, c))
            }
            NODE_ATTR_SET | NODE_LEGACY_LET => {
                let mut k = 0;
                let mut krec = None;
                if let Some(NodeOrToken::Token(t)) = parts.first() {
                    if matches!(t.kind(), TOKEN_REC | TOKEN_LET) {
                        krec = Some(self.leaf(t));
                        k = 1;
                    }
                }
                let o = self.tok(n, &parts, k)?;
                let o = self.leaf(&o);
                k += 1;
                let mut items = Vec::new();
                while k < parts.len() {
                    match &parts[k] {
                        NodeOrToken::Node(b) => {
                            self.take_comments(&mut items);
                            let b = self.binder(b)?;
                            items.push(Item::Item(b));
                            k += 1;
                        }
                        _ => break,
                    }
                }
                self.take_comments(&mut items);
                let c = self.tok(n, &parts, k)?;
                let c = self.leaf(&c);
                let mut o = o;
                comment_only_body(&mut o, &mut items);
                Ok(Term::Set(krec, o, items, c))
            }
            NODE_SELECT => {
                let base_node = self.node(n, &parts, 0)?;
                let base = self.child_term(&base_node)?;
                let dot = self.tok(n, &parts, 1)?;
                let dot = self.leaf(&dot);
                let path = self.node(n, &parts, 2)?;
                let mut sels = self.attrpath(&path, true)?;
                sels[0].dot = Some(dot);
                let default = if parts.len() > 3 {
                    let or = self.tok(n, &parts, 3)?;
                    let or = self.leaf(&or);
                    let d = self.node(n, &parts, 4)?;
                    let d = self.child_term(&d)?;
                    Some((or, Box::new(d)))
                } else {
                    None
                };
                // Merge nested selections without default: `(a.b).c` stays parenthesised,
                // rnix only nests selects when a default is involved.
                match base {
                    Term::Selection(t, mut s0, None) => {
                        s0.extend(sels);
                        Ok(Term::Selection(t, s0, default))
                    }
                    b => Ok(Term::Selection(Box::new(b), sels, default)),
                }
            }
            _ => self.err(n, "unsupported syntax"),
        }
    }

    fn string(
        &mut self,
        n: &SyntaxNode,
        parts: &[NodeOrToken<SyntaxNode, SyntaxToken>],
    ) -> R<Term> {
        let first = n.first_token().unwrap();
        let last = n.last_token().unwrap();
        let indented = first.text() == "''";
        let pre = std::mem::take(&mut self.pending);
        let line = self.line_of(usize::from(first.text_range().start()));
        let mut raw: Vec<StrPart> = Vec::new();
        for p in &parts[1..parts.len().saturating_sub(1)] {
            match p {
                NodeOrToken::Token(t) => push_text(&mut raw, t.text()),
                NodeOrToken::Node(i) => {
                    let w = self.interpolation(i)?;
                    raw.push(StrPart::Interp(Box::new(w)));
                }
            }
        }
        let trail = self.after(&last);
        if !indented {
            let lines = crate::strings::split_lines(raw)
                .into_iter()
                .map(crate::strings::normalize_line)
                .collect();
            return Ok(Term::SimpleString(Ann {
                pre,
                value: lines,
                line,
                trail,
            }));
        }
        let lines = crate::strings::fix_indented(raw);
        if let Some(simple) = crate::strings::indented_as_simple(&lines) {
            return Ok(Term::SimpleString(Ann {
                pre,
                value: simple,
                line,
                trail,
            }));
        }
        Ok(Term::IndentedString(Ann {
            pre,
            value: lines,
            line,
            trail,
        }))
    }

    /// `${ expr }`: the inside is parsed as a whole of its own.
    fn interpolation(&mut self, n: &SyntaxNode) -> R<Whole> {
        let parts = significant(n);
        let open = self.tok(n, &parts, 0)?;
        let saved = std::mem::take(&mut self.pending);
        let i = self.index_of(&open);
        let (raw, _) = self.raw_after(i);
        self.pending = trivia::all_leading(&raw);
        let e = self.child_expr(n, &parts, 1)?;
        let trivia = std::mem::take(&mut self.pending);
        self.pending = saved;
        Ok(Whole { expr: e, trivia })
    }

    fn attrpath(&mut self, n: &SyntaxNode, _select: bool) -> R<Vec<Selector>> {
        let parts = significant(n);
        let mut out = Vec::new();
        let mut dot = None;
        for p in &parts {
            match p {
                NodeOrToken::Token(t) if t.kind() == TOKEN_DOT => dot = Some(self.leaf(t)),
                NodeOrToken::Node(a) => {
                    let sel = self.simple_sel(a)?;
                    out.push(Selector {
                        dot: dot.take(),
                        sel,
                    });
                }
                NodeOrToken::Token(_) => return self.err(n, "unexpected token in attribute path"),
            }
        }
        if out.is_empty() {
            return self.err(n, "empty attribute path");
        }
        Ok(out)
    }

    fn simple_sel(&mut self, a: &SyntaxNode) -> R<SimpleSel> {
        let parts = significant(a);
        match a.kind() {
            NODE_IDENT => {
                let t = self.tok(a, &parts, 0)?;
                Ok(SimpleSel::Id(self.leaf(&t)))
            }
            NODE_STRING => match self.string(a, &parts)? {
                Term::SimpleString(s) => Ok(SimpleSel::Str(s)),
                _ => self.err(a, "indented string as attribute name"),
            },
            NODE_DYNAMIC => {
                let first = a.first_token().unwrap();
                let last = a.last_token().unwrap();
                let pre = std::mem::take(&mut self.pending);
                let line = self.line_of(usize::from(first.text_range().start()));
                let w = self.interpolation(a)?;
                let trail = self.after(&last);
                Ok(SimpleSel::Interp(Ann {
                    pre,
                    value: StrPart::Interp(Box::new(w)),
                    line,
                    trail,
                }))
            }
            _ => self.err(a, "unexpected attribute"),
        }
    }

    fn binder(&mut self, b: &SyntaxNode) -> R<Binder> {
        let parts = significant(b);
        match b.kind() {
            NODE_ATTRPATH_VALUE => {
                let path = self.node(b, &parts, 0)?;
                let sels = self.attrpath(&path, false)?;
                let eq = self.tok(b, &parts, 1)?;
                let eq = self.leaf(&eq);
                let e = self.child_expr(b, &parts, 2)?;
                let semi = self.tok(b, &parts, 3)?;
                let semi = self.leaf(&semi);
                Ok(Binder::Assignment(sels, eq, e, semi))
            }
            NODE_INHERIT => {
                let kw = self.tok(b, &parts, 0)?;
                let kw = self.leaf(&kw);
                let mut k = 1;
                let mut from = None;
                if let Some(NodeOrToken::Node(f)) = parts.get(1) {
                    if f.kind() == NODE_INHERIT_FROM {
                        let fp = significant(f);
                        let o = self.tok(f, &fp, 0)?;
                        let o = self.leaf(&o);
                        let e = self.child_expr(f, &fp, 1)?;
                        let c = self.tok(f, &fp, 2)?;
                        let c = self.leaf(&c);
                        from = Some(Term::Parenthesized(o, Box::new(e), c));
                        k = 2;
                    }
                }
                let mut ids = Vec::new();
                while k < parts.len() {
                    match &parts[k] {
                        NodeOrToken::Node(a) => {
                            ids.push(self.simple_sel(a)?);
                            k += 1;
                        }
                        _ => break,
                    }
                }
                let semi = self.tok(b, &parts, k)?;
                let semi = self.leaf(&semi);
                Ok(Binder::Inherit(kw, from, ids, semi))
            }
            _ => self.err(b, "unexpected binding"),
        }
    }

    fn param(&mut self, p: &SyntaxNode) -> R<Param> {
        match p.kind() {
            NODE_IDENT_PARAM => {
                let id = p.first_token().unwrap();
                Ok(Param::Id(self.leaf(&id)))
            }
            NODE_PATTERN => {
                let parts = significant(p);
                // Optional bind before or after the braces.
                let mut before: Option<(Leaf, Leaf)> = None;
                let mut k = 0;
                if let Some(NodeOrToken::Node(b)) = parts.first() {
                    if b.kind() == NODE_PAT_BIND {
                        let bp = significant(b);
                        let (id, at) = match (&bp[0], &bp[1]) {
                            (NodeOrToken::Node(i), NodeOrToken::Token(at)) => {
                                let it = i.first_token().unwrap();
                                (self.leaf(&it), self.leaf(at))
                            }
                            _ => return self.err(b, "unexpected pattern binding"),
                        };
                        before = Some((id, at));
                        k = 1;
                    }
                }
                let o = self.tok(p, &parts, k)?;
                let o = self.leaf(&o);
                k += 1;
                let mut attrs = Vec::new();
                while k < parts.len() {
                    match &parts[k] {
                        NodeOrToken::Node(e) if e.kind() == NODE_PAT_ENTRY => {
                            let ep = significant(e);
                            let id_node = self.node(e, &ep, 0)?;
                            let id = id_node.first_token().unwrap();
                            let id = self.leaf(&id);
                            let def = if ep.len() > 1 {
                                let q = self.tok(e, &ep, 1)?;
                                let q = self.leaf(&q);
                                let d = self.child_expr(e, &ep, 2)?;
                                Some(Box::new((q, d)))
                            } else {
                                None
                            };
                            k += 1;
                            let comma = match parts.get(k) {
                                Some(NodeOrToken::Token(c)) if c.kind() == TOKEN_COMMA => {
                                    k += 1;
                                    Some(self.leaf(c))
                                }
                                _ => None,
                            };
                            attrs.push(ParamAttr::Attr(id, def, comma));
                        }
                        NodeOrToken::Token(t) if t.kind() == TOKEN_ELLIPSIS => {
                            attrs.push(ParamAttr::Ellipsis(self.leaf(t)));
                            k += 1;
                        }
                        _ => break,
                    }
                }
                let c = self.tok(p, &parts, k)?;
                let c = self.leaf(&c);
                k += 1;
                let set = Param::Set(o, attrs, c);
                if let Some((id, at)) = before {
                    return Ok(Param::Context(Box::new(Param::Id(id)), at, Box::new(set)));
                }
                if let Some(NodeOrToken::Node(b)) = parts.get(k) {
                    if b.kind() == NODE_PAT_BIND {
                        let bp = significant(b);
                        return match (&bp[0], &bp[1]) {
                            (NodeOrToken::Token(at), NodeOrToken::Node(i)) => {
                                let at = self.leaf(at);
                                let it = i.first_token().unwrap();
                                let id = self.leaf(&it);
                                Ok(Param::Context(Box::new(set), at, Box::new(Param::Id(id))))
                            }
                            _ => self.err(b, "unexpected pattern binding"),
                        };
                    }
                }
                Ok(set)
            }
            _ => self.err(p, "unexpected parameter"),
        }
    }
}

fn push_text(out: &mut Vec<StrPart>, t: &str) {
    if let Some(StrPart::Text(s)) = out.last_mut() {
        s.push_str(t);
    } else {
        out.push(StrPart::Text(t.to_string()));
    }
}

/// `[ # c` followed only by comments: the comment belongs to the (empty) body, so that
/// it is laid out the same way once it sits on its own line.
fn comment_only_body<T>(open: &mut Leaf, items: &mut Vec<Item<T>>) {
    if items.iter().any(|i| matches!(i, Item::Item(_))) {
        return;
    }
    let Some(c) = open.trail.take() else { return };
    let t = Trivium::LineComment(format!(" {c}"));
    match items.first_mut() {
        Some(Item::Comments(ts)) => ts.insert(0, t),
        _ => items.insert(0, Item::Comments(vec![t])),
    }
}

/// Nix's `++`, `//` and `->` group to the right; make sure the tree does too, whatever
/// shape the parser produced.
fn right_assoc(e: Expr) -> Expr {
    match e {
        Expr::Operation(a, op, c) if matches!(op.value.as_str(), "++" | "//" | "->") => match *a {
            Expr::Operation(x, op1, y) if op1.value == op.value => {
                let inner = right_assoc(Expr::Operation(y, op, c));
                Expr::Operation(x, op1, Box::new(inner))
            }
            a => Expr::Operation(Box::new(a), op, c),
        },
        e => e,
    }
}
